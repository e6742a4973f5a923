//! Reading records in `seq` order straight from the segment files.
//!
//! The reader needs no lock and never writes, so it can run beside a process that is
//! appending: it reads complete lines only, and stops at the first incomplete one.

use std::path::Path;

use crate::record::parse_header;
use crate::segment::list_segments;
use crate::storage::Storage;
use crate::{Error, Result};

/// Calls `f(seq, line)` for every complete record with `from <= seq < to` (all records
/// from `from` on when `to` is `None`), in order. `line` excludes the `\n`. Returns the
/// seq after the last record visited. Stops early when `f` returns `Ok(false)`.
pub fn for_each_line(
    storage: &dyn Storage,
    dir: &Path,
    from: u64,
    to: Option<u64>,
    mut f: impl FnMut(u64, &[u8]) -> Result<bool>,
) -> Result<u64> {
    let segments = list_segments(storage, dir)?;
    let start = segments
        .partition_point(|s| s.first_seq <= from)
        .saturating_sub(1);
    let mut next = from;
    for (i, seg) in segments.iter().enumerate().skip(start) {
        if to.is_some_and(|t| seg.first_seq >= t) {
            break;
        }
        if segments.get(i + 1).is_some_and(|n| n.first_seq <= from) {
            continue;
        }
        let data = storage
            .read(&seg.path)
            .map_err(|e| Error::io(storage, "read", &seg.path, e))?;
        let mut pos = 0usize;
        let mut seq = seg.first_seq;
        while let Some(nl) = memchr::memchr(b'\n', &data[pos..]) {
            if to.is_some_and(|t| seq >= t) {
                return Ok(next);
            }
            let line = &data[pos..pos + nl];
            if seq >= from {
                let h = parse_header(line).map_err(|r| Error::Corrupt {
                    segment: seg.path.clone(),
                    offset: pos as u64,
                    reason: r.into(),
                })?;
                if h.seq != seq {
                    return Err(Error::Corrupt {
                        segment: seg.path.clone(),
                        offset: pos as u64,
                        reason: format!("expected seq {seq}, found {}", h.seq),
                    });
                }
                if !f(seq, line)? {
                    return Ok(seq + 1);
                }
                next = seq + 1;
            }
            seq += 1;
            pos += nl + 1;
        }
    }
    Ok(next)
}
