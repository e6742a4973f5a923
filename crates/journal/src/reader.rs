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

/// Bytes of a segment read at a time: large enough that a read costs little per line,
/// small enough that reading a journal of any size needs only this much memory.
pub(crate) const READ_WINDOW: usize = 4 << 20;

/// Calls `f(seq, line)` for every complete record with `from <= seq < to` (all records
/// from `from` on when `to` is `None`), in order. `line` excludes the `\n`. Returns the
/// seq after the last record visited. Stops early when `f` returns `Ok(false)`.
pub fn for_each_line(
    storage: &dyn Storage,
    dir: &Path,
    from: u64,
    to: Option<u64>,
    f: impl FnMut(u64, &[u8]) -> Result<bool>,
) -> Result<u64> {
    lines_in_windows(storage, dir, from, to, READ_WINDOW, None, f)
}

/// Where a record is known to begin, so that a read need not start at its segment's
/// first byte: the segment (by its first seq), the record's seq, its byte offset.
pub(crate) type StartHint = (u64, u64, u64);

/// [`for_each_line`], reading each segment `window` bytes at a time; in the segment
/// `hint` names, from the record it names (which must not be after `from`).
pub(crate) fn lines_in_windows(
    storage: &dyn Storage,
    dir: &Path,
    from: u64,
    to: Option<u64>,
    window: usize,
    hint: Option<StartHint>,
    mut f: impl FnMut(u64, &[u8]) -> Result<bool>,
) -> Result<u64> {
    let window_at_start = window.max(1);
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
        let sealed = i + 1 < segments.len();
        // The segment is read in windows of `READ_WINDOW` bytes (one that ends inside a
        // line is read again from that line's start, and grows for a line longer than
        // it), up to the length it had when reading began: a segment being appended to
        // meanwhile is read as it was then.
        let len = storage
            .len(&seg.path)
            .map_err(|e| Error::io(storage, "read", &seg.path, e))?;
        let (mut seq, mut at) = match hint {
            Some((first, seq, offset)) if first == seg.first_seq && seq <= from => (seq, offset),
            _ => (seg.first_seq, 0),
        };
        let mut window = window_at_start;
        while at < len {
            let want = usize::try_from(len - at).map_or(window, |left| left.min(window));
            let data = storage
                .read_at(&seg.path, at, want)
                .map_err(|e| Error::io(storage, "read", &seg.path, e))?;
            let mut pos = 0usize;
            while let Some(nl) = memchr::memchr(b'\n', &data[pos..]) {
                if to.is_some_and(|t| seq >= t) {
                    return Ok(next);
                }
                let line = &data[pos..pos + nl];
                if seq >= from {
                    let h = parse_header(line).map_err(|r| Error::Corrupt {
                        segment: seg.path.clone(),
                        offset: at + pos as u64,
                        reason: r.into(),
                    })?;
                    if h.seq != seq {
                        return Err(Error::Corrupt {
                            segment: seg.path.clone(),
                            offset: at + pos as u64,
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
            let end = at + data.len() as u64;
            if end >= len || data.len() < want {
                // The end of the segment: what follows the last `\n` is an unfinished
                // line, which only the active segment may have.
                if sealed && pos < data.len() {
                    return Err(Error::Corrupt {
                        segment: seg.path.clone(),
                        offset: end,
                        reason: "sealed segment does not end with a newline: it was truncated"
                            .into(),
                    });
                }
                break;
            }
            if pos == 0 {
                // One line longer than the window: read it whole.
                window = window.saturating_mul(2);
            }
            at += pos as u64;
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
    /// Each segment's first seq and its length in bytes, in order.
    pub lengths: Vec<(u64, u64)>,
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
        // A window before the end that grows until it holds the last complete line
        // whole (or the whole segment).
        let mut window = len.min(64 << 10);
        let (tail, end) = loop {
            let tail = storage
                .read_at(&s.path, len - window, window as usize)
                .map_err(|e| Error::io(storage, "read", &s.path, e))?;
            let end = memchr::memrchr(b'\n', &tail);
            let whole = end.is_some_and(|e| memchr::memrchr(b'\n', &tail[..e]).is_some());
            if whole || window == len {
                break (tail, end);
            }
            window = window.saturating_mul(16).min(len);
        };
        let Some(end) = end else {
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
            lengths: segments.iter().map(|s| s.first_seq).zip(lens).collect(),
        });
    }
    Err(Error::Corrupt {
        segment: segments[0].path.clone(),
        offset: 0,
        reason: "no complete record in the journal".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::segment_file_name;
    use crate::{Durability, Entry, FsStorage, Journal, JournalOptions};

    /// Every window size gives the same lines as one read of the whole segment,
    /// including windows that end inside a line and ones smaller than any line.
    #[test]
    fn windows_of_any_size_read_the_same_lines() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("j");
        let opts = JournalOptions::default()
            .with_segment_max_bytes(3000)
            .with_rotate_daily(false);
        let (j, _) = Journal::create(&dir, "windows", opts).unwrap();
        for i in 0..120 {
            let body = format!(
                r#"{{"type":"custom.x","i":{i},"pad":"{}"}}"#,
                "p".repeat(i * 7 % 300)
            );
            j.append(Entry::new(body.into_bytes(), Durability::Os).unwrap())
                .unwrap();
        }
        drop(j);
        let read = |window: usize, from: u64, to: Option<u64>| {
            let mut got = Vec::new();
            let next = lines_in_windows(&FsStorage, &dir, from, to, window, None, |seq, line| {
                got.push((seq, line.to_vec()));
                Ok(true)
            })
            .unwrap();
            (next, got)
        };
        let whole = read(usize::MAX, 0, None);
        assert_eq!(whole.1.len(), 121);
        for window in [1, 2, 50, 99, 100, 101, 377, 1024, 4096] {
            assert_eq!(read(window, 0, None), whole, "window {window}");
            assert_eq!(read(window, 40, Some(90)), read(usize::MAX, 40, Some(90)));
        }
    }

    /// An unfinished last line is not read from the active segment, and fails a
    /// sealed one, whatever the window.
    #[test]
    fn an_unfinished_line_ends_the_active_segment_and_fails_a_sealed_one() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("j");
        let opts = JournalOptions::default()
            .with_segment_max_bytes(1500)
            .with_rotate_daily(false);
        let (j, _) = Journal::create(&dir, "windows", opts).unwrap();
        for i in 0..30 {
            let body = format!(r#"{{"type":"custom.x","i":{i}}}"#);
            j.append(Entry::new(body.into_bytes(), Durability::Os).unwrap())
                .unwrap();
        }
        drop(j);
        let segments = list_segments(&FsStorage, &dir).unwrap();
        assert!(segments.len() >= 2);
        let last = &segments[segments.len() - 1].path;
        let mut bytes = std::fs::read(last).unwrap();
        bytes.extend_from_slice(br#"{"seq":99,"ts_rec"#);
        std::fs::write(last, &bytes).unwrap();
        for window in [7, 64, 4096] {
            let next = lines_in_windows(&FsStorage, &dir, 0, None, window, None, |_, _| Ok(true));
            assert_eq!(next.unwrap(), 31, "window {window}");
        }
        let first = dir.join(segment_file_name(segments[0].first_seq));
        let mut sealed = std::fs::read(&first).unwrap();
        sealed.pop();
        std::fs::write(&first, &sealed).unwrap();
        for window in [7, 64, 4096] {
            let err = lines_in_windows(&FsStorage, &dir, 0, None, window, None, |_, _| Ok(true))
                .unwrap_err()
                .to_string();
            assert!(err.contains("does not end with a newline"), "{err}");
        }
    }
}
