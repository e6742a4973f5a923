//! Checking only what was appended since an earlier check.
//!
//! A reader that opens a journal many times a second (a query answered in a few
//! milliseconds) cannot check the whole active segment on every open. What it can do,
//! cheaply and failing closed, is compare the journal with a [`Checked`] mark left by
//! an earlier full check: every segment then present is still there, the sealed ones at
//! the same length and the last one at least as long; the record that was last then is
//! still there, byte for byte (its hash); and every record appended since continues the
//! `prev` chain from it. Anything else (a segment removed, cut or grown where it was
//! sealed, a different last record, a broken chain) is not an error here: it says
//! "check fully", which the caller then does.

use std::path::Path;

use crate::chain::RecordHash;
use crate::reader::{lines_in_windows, READ_WINDOW};
use crate::record::parse_header;
use crate::storage::Storage;
use crate::{Error, Result};

/// Where a check of a journal ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checked {
    /// Every segment then, by its first seq, with its length up to its last complete
    /// line.
    pub segments: Vec<(u64, u64)>,
    /// Complete records then.
    pub records: u64,
    /// The hash of the last of them (hex).
    pub head: String,
}

/// What [`check_since`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Since {
    /// The journal is the checked one plus records that continue its chain: the new
    /// mark, and the bytes of an unfinished last line (left in place).
    Appended {
        /// The mark to keep for next time.
        mark: Checked,
        /// Bytes after the last complete line.
        partial_bytes: u64,
    },
    /// The journal is not simply the checked one grown: check it fully.
    CheckFully,
}

/// The mark of `dir` as it is now, for a caller that has just checked it fully.
pub fn mark(storage: &dyn Storage, dir: &Path) -> Result<Checked> {
    Ok(mark_with_partial(storage, dir)?.0)
}

/// [`mark`], and the bytes of an unfinished last line.
fn mark_with_partial(storage: &dyn Storage, dir: &Path) -> Result<(Checked, u64)> {
    let insp = crate::reader::inspect(storage, dir)?;
    let mut segments = insp.lengths;
    if let Some(last) = segments.last_mut() {
        last.1 = last.1.saturating_sub(insp.partial_bytes);
    }
    let mark = Checked {
        segments,
        records: insp.records,
        head: insp.head_hash.to_hex(),
    };
    Ok((mark, insp.partial_bytes))
}

/// Compares `dir` with `was` (see the module doc), reading the last record then and
/// every record after it up to the last complete one now, nothing before. Records
/// written while it runs are left for the next check.
pub fn check_since(storage: &dyn Storage, dir: &Path, was: &Checked) -> Result<Since> {
    let (now, partial_bytes) = mark_with_partial(storage, dir)?;
    let Some(&(last_first, last_len)) = was.segments.last() else {
        return Ok(Since::CheckFully);
    };
    if now.segments.len() < was.segments.len() || now.records < was.records {
        return Ok(Since::CheckFully);
    }
    for (i, (&(first, len), &(now_first, now_len))) in
        was.segments.iter().zip(&now.segments).enumerate()
    {
        let sealed_then = i + 1 < was.segments.len();
        if now_first != first || now_len < len || (sealed_then && now_len != len) {
            return Ok(Since::CheckFully);
        }
    }
    let (Some(head), Some(head_now)) = (
        RecordHash::from_hex(was.head.as_bytes()),
        RecordHash::from_hex(now.head.as_bytes()),
    ) else {
        return Ok(Since::CheckFully);
    };
    // The last record then: the line that ends at `last_len` in its segment, read
    // from a window before it that grows until it holds the whole line.
    let path = dir.join(crate::segment::segment_file_name(last_first));
    let mut back = last_len.min(64 * 1024);
    let (tail, start) = loop {
        let tail = storage
            .read_at(&path, last_len - back, back as usize)
            .map_err(|e| Error::io(storage, "read", &path, e))?;
        let Some(body) = tail.strip_suffix(b"\n") else {
            return Ok(Since::CheckFully);
        };
        match memchr::memrchr(b'\n', body) {
            Some(p) => break (tail, p + 1),
            None if back >= last_len => break (tail, 0),
            None => back = (back * 4).min(last_len),
        }
    };
    let line = &tail[start..tail.len() - 1];
    let head_seq = was.records.saturating_sub(1);
    let head_at = last_len - back + start as u64;
    if RecordHash::of_line(line) != head || parse_header(line).map(|h| h.seq).ok() != Some(head_seq)
    {
        return Ok(Since::CheckFully);
    }
    // Every record since continues the chain from it, up to the last one now.
    let mut prev = head;
    let mut broken = false;
    let end = lines_in_windows(
        storage,
        dir,
        head_seq + 1,
        Some(now.records),
        READ_WINDOW,
        Some((last_first, head_seq, head_at)),
        |_, line| {
            let ok = parse_header(line).is_ok_and(|h| h.prev == prev);
            prev = RecordHash::of_line(line);
            broken = !ok;
            Ok(ok)
        },
    );
    match end {
        Ok(end) if !broken && end.max(was.records) == now.records && prev == head_now => {
            Ok(Since::Appended {
                mark: now,
                partial_bytes,
            })
        }
        // A damaged line, a gap, a broken chain, or a journal that changed while it
        // was read: the full check names what.
        _ => Ok(Since::CheckFully),
    }
}
