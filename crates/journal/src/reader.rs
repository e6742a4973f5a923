//! Reading records in `seq` order straight from the segment files.
//!
//! The reader needs no lock and never writes, so it can run beside a process that is
//! appending: it reads complete lines only, and stops at the first incomplete one.
//! It answers from the whole journal or fails: a gap between segments (one removed or
//! truncated) is [`Error::Gap`], never a silently shorter answer.

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
    if let Some(first) = segments.first().map(|s| s.first_seq) {
        if from < first && to.is_none_or(|t| t > from) {
            return Err(Error::Removed { seq: from, first });
        }
    }
    let start = segments
        .partition_point(|s| s.first_seq <= from)
        .saturating_sub(1);
    let mut next = from;
    // The seq after the last line of the segment read before, to catch a gap: a
    // removed or truncated segment must fail the read, never answer from a part.
    let mut after_previous: Option<(u64, &Path)> = None;
    for (i, seg) in segments.iter().enumerate().skip(start) {
        // A gap before `to` fails the read even when this segment starts past `to`.
        if let Some((end, prev)) = after_previous {
            if end != seg.first_seq && to.is_none_or(|t| end < t) {
                return Err(Error::Gap {
                    after: end.saturating_sub(1),
                    next: seg.first_seq,
                    segment: prev.to_path_buf(),
                });
            }
        }
        if to.is_some_and(|t| seg.first_seq >= t) {
            break;
        }
        if segments.get(i + 1).is_some_and(|n| n.first_seq <= from) {
            continue;
        }
        if let Some((end, prev)) = after_previous {
            if end != seg.first_seq {
                return Err(Error::Gap {
                    after: end.saturating_sub(1),
                    next: seg.first_seq,
                    segment: prev.to_path_buf(),
                });
            }
        }
        let data = storage
            .read(&seg.path)
            .map_err(|e| Error::io(storage, "read", &seg.path, e))?;
        let sealed = i + 1 < segments.len();
        if sealed && data.last().is_some_and(|&b| b != b'\n') {
            return Err(Error::Corrupt {
                segment: seg.path.clone(),
                offset: data.len() as u64,
                reason: "sealed segment does not end with a newline: it was truncated".into(),
            });
        }
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
        after_previous = Some((seq, &seg.path));
    }
    Ok(next)
}

/// A read-only look at a journal's shape and head, for when another process holds it
/// open for writing. Reads file sizes and the last complete line only; repairs nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// Records up to the last complete line.
    pub records: u64,
    /// Segment files.
    pub segments: usize,
    /// Bytes across all segments.
    pub bytes: u64,
    /// Hash of the last complete record.
    pub head_hash: crate::RecordHash,
    /// Its `ts_recorded`.
    pub head_ts_recorded: i64,
    /// Bytes after the last complete line (a write in progress, or a torn record).
    pub partial_bytes: u64,
}

/// Looks at a journal without opening it (see [`Inspection`]).
pub fn inspect(storage: &dyn Storage, dir: &Path) -> Result<Inspection> {
    let segments = list_segments(storage, dir)?;
    if segments.is_empty() {
        return Err(Error::NotFound {
            path: dir.to_path_buf(),
        });
    }
    let mut bytes = 0;
    let mut lens = Vec::with_capacity(segments.len());
    for s in &segments {
        let len = storage
            .len(&s.path)
            .map_err(|e| Error::io(storage, "stat", &s.path, e))?;
        bytes += len;
        lens.push(len);
    }
    for (i, s) in segments.iter().enumerate().rev() {
        let len = lens[i];
        let window = len.min(1 << 20);
        let tail = storage
            .read_at(&s.path, len - window, window as usize)
            .map_err(|e| Error::io(storage, "read", &s.path, e))?;
        let Some(end) = memchr::memrchr(b'\n', &tail) else {
            continue;
        };
        let start = memchr::memrchr(b'\n', &tail[..end]).map_or(0, |p| p + 1);
        let line = &tail[start..end];
        let h = parse_header(line).map_err(|r| Error::Corrupt {
            segment: s.path.clone(),
            offset: len - window + start as u64,
            reason: r.into(),
        })?;
        // A damaged line can carry any seq; u64::MAX has no count after it.
        let records = h.seq.checked_add(1).ok_or_else(|| Error::Corrupt {
            segment: s.path.clone(),
            offset: len - window + start as u64,
            reason: "seq is out of range".into(),
        })?;
        return Ok(Inspection {
            records,
            segments: segments.len(),
            bytes,
            head_hash: crate::RecordHash::of_line(line),
            head_ts_recorded: h.ts_recorded,
            partial_bytes: (tail.len() - end - 1) as u64,
        });
    }
    Err(Error::Corrupt {
        segment: segments[0].path.clone(),
        offset: 0,
        reason: "no complete record in the journal".into(),
    })
}
