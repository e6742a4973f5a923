//! Opening a journal after a clean shutdown or a crash.
//!
//! Opening reads only the last segment (bounded by the rotation size) and the last
//! line of the segment before it, never the whole journal:
//!
//! 1. list `journal/*.jsonl`; the last one is the *active* segment;
//! 2. walk its lines, checking framing, `seq` continuity, the `prev` chain and the
//!    absence of NUL bytes (what a file system leaves after a crash in blocks whose
//!    data never reached the disk);
//! 3. if the lines stop being valid, everything from that point to the end must be a
//!    single torn record (no complete line after it, trailing NULs allowed): it is cut
//!    off and reported. Anything else is corruption in the middle of the journal, which
//!    opening refuses to touch — `verify` names it;
//! 4. the head (`seq`, hash, `ts_recorded`) of the last good record resumes the chain.

use std::path::{Path, PathBuf};

use serde::de::IgnoredAny;

use crate::chain::RecordHash;
use crate::record::parse_header;
use crate::segment::{list_segments, SegmentName};
use crate::storage::Storage;
use crate::{Error, Result};

/// What opening the journal found and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Segment files found.
    pub segments: usize,
    /// Records in the journal after recovery.
    pub records: u64,
    /// Bytes of a torn last record that were cut off (0 after a clean shutdown).
    pub truncated_bytes: u64,
    /// The segment that was cut, if any.
    pub truncated_segment: Option<PathBuf>,
    /// Bytes of the active segment read to open the journal.
    pub scanned_bytes: u64,
}

impl RecoveryReport {
    /// True when nothing had to be repaired.
    pub fn is_clean(&self) -> bool {
        self.truncated_bytes == 0
    }
}

/// The state the writer resumes from.
#[derive(Debug)]
pub(crate) struct Recovered {
    pub segments: Vec<SegmentName>,
    pub next_seq: u64,
    pub last_hash: RecordHash,
    pub last_ts: i64,
    /// Bytes in the active segment after any truncation.
    pub active_len: u64,
    /// `ts_recorded` of the active segment's first record (None if it is empty).
    pub active_first_ts: Option<i64>,
    /// (seq, offset) of every `SPARSE_EVERY`-th record of the active segment.
    pub sparse: Vec<(u64, u64)>,
    pub report: RecoveryReport,
}

/// Bytes at the end of the active segment over which opening checks the `prev` chain.
pub(crate) const CHAIN_CHECK_BYTES: usize = 8 * 1024 * 1024;

/// One record in `SPARSE_EVERY` has its byte offset remembered, to find records by seq.
pub(crate) const SPARSE_EVERY: u64 = 1024;

/// The last complete line (without `\n`) of a file, read from the end.
pub(crate) fn last_line(storage: &dyn Storage, path: &Path) -> Result<Option<Vec<u8>>> {
    let len = storage
        .len(path)
        .map_err(|e| Error::io(storage, "stat", path, e))?;
    let mut window: u64 = 64 * 1024;
    loop {
        let start = len.saturating_sub(window);
        let buf = storage
            .read_at(path, start, (len - start) as usize)
            .map_err(|e| Error::io(storage, "read", path, e))?;
        let Some(body) = buf.strip_suffix(b"\n") else {
            if buf.is_empty() {
                return Ok(None);
            }
            return Err(Error::Corrupt {
                segment: path.to_path_buf(),
                offset: len,
                reason: "sealed segment does not end with a newline".into(),
            });
        };
        match memchr::memrchr(b'\n', body) {
            Some(i) => return Ok(Some(body[i + 1..].to_vec())),
            None if start == 0 => return Ok(Some(body.to_vec())),
            None => window *= 4,
        }
    }
}

/// The first complete line (without `\n`) of a file.
fn first_line(storage: &dyn Storage, path: &Path) -> Result<Option<Vec<u8>>> {
    let mut window = 64 * 1024;
    loop {
        let buf = storage
            .read_at(path, 0, window)
            .map_err(|e| Error::io(storage, "read", path, e))?;
        if let Some(nl) = memchr::memchr(b'\n', &buf) {
            return Ok(Some(buf[..nl].to_vec()));
        }
        if buf.len() < window {
            return Ok(None);
        }
        window *= 4;
    }
}

pub(crate) fn recover(storage: &dyn Storage, journal_dir: &Path) -> Result<Recovered> {
    let segments = list_segments(storage, journal_dir)?;
    let Some(active) = segments.last().cloned() else {
        return Err(Error::NotFound {
            path: journal_dir.to_path_buf(),
        });
    };
    // Where the chain stands before the active segment.
    let (mut expected_seq, mut prev_hash, mut last_ts) = if segments.len() >= 2 {
        let before = &segments[segments.len() - 2];
        let line = last_line(storage, &before.path)?.ok_or_else(|| Error::Corrupt {
            segment: before.path.clone(),
            offset: 0,
            reason: "sealed segment is empty".into(),
        })?;
        let h = parse_header(&line).map_err(|r| Error::Corrupt {
            segment: before.path.clone(),
            offset: 0,
            reason: format!("last record of sealed segment: {r}"),
        })?;
        (h.seq + 1, RecordHash::of_line(&line), h.ts_recorded)
    } else if active.first_seq > 0 {
        // The older segments were archived and removed: the chain resumes from what
        // the first record says of the one before it (`verify` checks that against
        // the archive).
        let first = first_line(storage, &active.path)?.ok_or_else(|| Error::Corrupt {
            segment: active.path.clone(),
            offset: 0,
            reason: format!(
                "the journal's only segment starts at seq {} and holds no complete record",
                active.first_seq
            ),
        })?;
        let h = parse_header(&first).map_err(|r| Error::Corrupt {
            segment: active.path.clone(),
            offset: 0,
            reason: format!("first record: {r}"),
        })?;
        (active.first_seq, h.prev, h.ts_recorded)
    } else {
        (0, RecordHash::ZERO, 0)
    };
    if active.first_seq != expected_seq {
        return Err(Error::Corrupt {
            segment: active.path.clone(),
            offset: 0,
            reason: format!(
                "segment should start at seq {expected_seq} but its name says {}",
                active.first_seq
            ),
        });
    }

    let data = storage
        .read(&active.path)
        .map_err(|e| Error::io(storage, "read", &active.path, e))?;
    let mut report = RecoveryReport {
        segments: segments.len(),
        scanned_bytes: data.len() as u64,
        ..RecoveryReport::default()
    };
    let mut pos = 0usize;
    let mut last_line_range = None;
    let mut active_first_ts = None;
    let mut sparse = Vec::new();
    // The `prev` chain is checked over the last CHAIN_CHECK_BYTES of the segment, where
    // a crash can have left unsynced blocks; before that, framing, `seq`, `ts_recorded`
    // and NUL bytes are checked (cheap), and `verify` checks the rest. This keeps opening
    // a journal with a full 64 MiB active segment well under 100 ms.
    let chain_from = data.len().saturating_sub(CHAIN_CHECK_BYTES);
    // Whether `prev_hash` holds the hash of the line before `pos`.
    let mut prev_known = true;
    let mut before: Option<(usize, usize)> = None;
    // Walk complete, valid lines.
    let bad_at = loop {
        if pos == data.len() {
            break None;
        }
        let Some(nl) = memchr::memchr(b'\n', &data[pos..]) else {
            break Some((pos, "incomplete last line"));
        };
        let line = &data[pos..pos + nl];
        if memchr::memchr(0, line).is_some() {
            break Some((pos, "NUL bytes in line"));
        }
        let h = match parse_header(line) {
            Ok(h) => h,
            Err(r) => break Some((pos, r)),
        };
        if h.seq != expected_seq {
            break Some((pos, "seq out of order"));
        }
        let check_chain = pos >= chain_from;
        if check_chain && !prev_known {
            if let Some((s, e)) = before {
                prev_hash = RecordHash::of_line(&data[s..e]);
            }
            prev_known = true;
        }
        if check_chain && h.prev != prev_hash {
            break Some((pos, "prev does not match the previous record"));
        }
        if h.ts_recorded < last_ts {
            break Some((pos, "ts_recorded went backwards"));
        }
        if h.seq % SPARSE_EVERY == 0 {
            sparse.push((h.seq, pos as u64));
        }
        active_first_ts.get_or_insert(h.ts_recorded);
        if check_chain {
            prev_hash = RecordHash::of_line(line);
        } else {
            prev_known = false;
        }
        before = Some((pos, pos + nl));
        last_ts = h.ts_recorded;
        expected_seq += 1;
        last_line_range = Some((pos, pos + nl));
        pos += nl + 1;
    };

    if !prev_known {
        if let Some((s, e)) = before {
            prev_hash = RecordHash::of_line(&data[s..e]);
        }
    }
    let mut good_len = pos;
    // The last complete line must also be valid JSON: a crash can leave a line whose
    // framing survived but whose middle did not.
    if let Some((s, e)) = last_line_range {
        // (UTF-8 is checked separately: serde_json does not check strings it ignores.)
        let valid = |line: &[u8]| {
            std::str::from_utf8(line).is_ok() && serde_json::from_slice::<IgnoredAny>(line).is_ok()
        };
        if bad_at.is_none() && !valid(&data[s..e]) {
            // Treat it as the torn record: step back one line.
            good_len = s;
            expected_seq -= 1;
            let (prev_seq_hash, prev_ts) = restore_before(&data[..s], storage, &segments)?;
            prev_hash = prev_seq_hash;
            last_ts = prev_ts;
            if sparse.last().map(|x| x.0) == Some(expected_seq) {
                sparse.pop();
            }
            if s == 0 {
                active_first_ts = None;
            }
        }
    }
    if let Some((at, reason)) = bad_at {
        let rest = &data[at..];
        let trimmed_len = rest.len() - rest.iter().rev().take_while(|&&b| b == 0).count();
        let rest = &rest[..trimmed_len];
        let newlines = memchr::memchr_iter(b'\n', rest).count();
        let single_record = newlines == 0 || (newlines == 1 && rest.last() == Some(&b'\n'));
        if !single_record {
            return Err(Error::Corrupt {
                segment: active.path.clone(),
                offset: at as u64,
                reason: format!(
                    "{reason}, and complete records follow: this is not a torn tail; \
                     run `tradetrail verify` and restore from backup"
                ),
            });
        }
    }
    if good_len < data.len() {
        storage
            .truncate(&active.path, good_len as u64)
            .map_err(|e| Error::io(storage, "truncate", &active.path, e))?;
        report.truncated_bytes = (data.len() - good_len) as u64;
        report.truncated_segment = Some(active.path.clone());
    }
    if expected_seq == 0 {
        return Err(Error::Corrupt {
            segment: active.path.clone(),
            offset: 0,
            reason: "the journal has no records: `init` did not finish; remove the directory and run init again".into(),
        });
    }
    report.records = expected_seq;
    Ok(Recovered {
        segments,
        next_seq: expected_seq,
        last_hash: prev_hash,
        last_ts,
        active_len: good_len as u64,
        active_first_ts,
        sparse,
        report,
    })
}

/// Hash and `ts_recorded` of the record just before the end of `before` (the active
/// segment up to a dropped line), or of the previous segment's last record.
fn restore_before(
    before: &[u8],
    storage: &dyn Storage,
    segments: &[SegmentName],
) -> Result<(RecordHash, i64)> {
    if let Some(body) = before.strip_suffix(b"\n") {
        let start = memchr::memrchr(b'\n', body).map_or(0, |i| i + 1);
        let line = &body[start..];
        let h = parse_header(line).expect("line was parsed during the scan");
        return Ok((RecordHash::of_line(line), h.ts_recorded));
    }
    if segments.len() >= 2 {
        let p = &segments[segments.len() - 2].path;
        if let Some(line) = last_line(storage, p)? {
            if let Ok(h) = parse_header(&line) {
                return Ok((RecordHash::of_line(&line), h.ts_recorded));
            }
        }
    }
    Ok((RecordHash::ZERO, 0))
}
