//! Opening a journal after a clean shutdown or a crash — failing closed.
//!
//! Opening reads only the last segment (bounded by the rotation size) and the last
//! line of the segment before it, never the whole journal:
//!
//! 1. list `journal/*.jsonl`; the last one is the *active* segment;
//! 2. the bytes after its last newline are the only thing a crash can leave (a line
//!    whose write did not finish, possibly padded with NULs): they were never
//!    acknowledged. Opening for writing cuts them off and reports it; a read-only
//!    check reports them and changes nothing;
//! 3. every complete line before them is checked: framing, `seq` continuity, the
//!    `prev` chain over the last [`CHAIN_CHECK_BYTES`], `ts_recorded` never
//!    decreasing, no NUL bytes, and the last line valid JSON as a whole. A complete
//!    line that fails is damage or tampering, never a torn write — it may hold an
//!    acknowledged record — so opening refuses with [`Error::Damaged`] (the first bad
//!    seq and why) and touches nothing. Only an explicit, recorded repair
//!    ([`crate::repair::truncate_after`]) gets past it;
//! 4. the head (`seq`, hash, `ts_recorded`) of the last record resumes the chain.

use std::path::{Path, PathBuf};

use serde::de::IgnoredAny;

use crate::chain::RecordHash;
use crate::record::parse_header;
use crate::segment::{list_segments, SegmentName};
use crate::storage::Storage;
use crate::{Error, Result};

/// Whether opening may cut an unfinished last line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenMode {
    /// Opening for writing: the unfinished line is cut off (and reported).
    Repair,
    /// A read-only check: nothing is changed.
    ReadOnly,
}

/// What opening the journal found and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Segment files found.
    pub segments: usize,
    /// Complete records in the journal.
    pub records: u64,
    /// Bytes after the last newline of the last segment: a write that never
    /// finished, so a record that was never acknowledged (0 after a clean shutdown).
    pub partial_bytes: u64,
    /// The segment holding them, if any.
    pub partial_segment: Option<PathBuf>,
    /// Of those, the bytes that opening cut off (0 for a read-only check, which
    /// changes nothing).
    pub truncated_bytes: u64,
    /// The segment that was cut, if any.
    pub truncated_segment: Option<PathBuf>,
    /// Bytes of the active segment read to open the journal.
    pub scanned_bytes: u64,
}

impl RecoveryReport {
    /// True when there was no unfinished line.
    pub fn is_clean(&self) -> bool {
        self.partial_bytes == 0
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

/// What opening `journal_dir` for writing would find, changing nothing and taking no
/// lock: the read doors' check. An unfinished last line is reported in
/// [`RecoveryReport::partial_bytes`] (and left in place); a damaged or altered
/// complete record is [`Error::Damaged`], as it would be for a writer.
pub fn check_open(storage: &dyn Storage, journal_dir: &Path) -> Result<RecoveryReport> {
    Ok(recover(storage, journal_dir, OpenMode::ReadOnly)?.report)
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

pub(crate) fn recover(
    storage: &dyn Storage,
    journal_dir: &Path,
    mode: OpenMode,
) -> Result<Recovered> {
    let segments = list_segments(storage, journal_dir)?;
    let Some(active) = segments.last().cloned() else {
        return Err(Error::NotFound {
            path: journal_dir.to_path_buf(),
        });
    };
    // Where the chain stands before the active segment.
    let (mut expected_seq, mut prev_hash, mut last_ts) = if segments.len() >= 2 {
        let before = &segments[segments.len() - 2];
        let line = last_line(storage, &before.path)?.ok_or_else(|| Error::Damaged {
            seq: before.first_seq,
            segment: before.path.clone(),
            offset: 0,
            reason: "sealed segment is empty".into(),
        })?;
        let h = parse_header(&line).map_err(|r| Error::Damaged {
            seq: active.first_seq.saturating_sub(1),
            segment: before.path.clone(),
            offset: 0,
            reason: format!("last record of sealed segment: {r}"),
        })?;
        (h.seq + 1, RecordHash::of_line(&line), h.ts_recorded)
    } else if active.first_seq > 0 {
        // The older segments were archived and removed: the chain resumes from what
        // the first record says of the one before it (`verify` checks that against
        // the archive).
        let first = first_line(storage, &active.path)?.ok_or_else(|| Error::Damaged {
            seq: active.first_seq,
            segment: active.path.clone(),
            offset: 0,
            reason: format!(
                "the journal's only segment starts at seq {} and holds no complete record",
                active.first_seq
            ),
        })?;
        let h = parse_header(&first).map_err(|r| Error::Damaged {
            seq: active.first_seq,
            segment: active.path.clone(),
            offset: 0,
            reason: format!("first record: {r}"),
        })?;
        (active.first_seq, h.prev, h.ts_recorded)
    } else {
        (0, RecordHash::ZERO, 0)
    };
    if active.first_seq != expected_seq {
        return Err(Error::Damaged {
            seq: expected_seq.min(active.first_seq),
            segment: active.path.clone(),
            offset: 0,
            reason: format!(
                "segment should start at seq {expected_seq} but its name says {}: records are missing or a segment was added",
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
    // The only thing a crash can leave: bytes after the last newline (a line whose
    // write did not finish, possibly padded with NULs by the file system). Everything
    // before it is complete lines, each of which was (or may have been) acknowledged.
    let complete_len = memchr::memrchr(b'\n', &data).map_or(0, |i| i + 1);
    let partial = data.len() - complete_len;
    let lines = &data[..complete_len];
    let damaged = |pos: usize, seq: u64, reason: String| Error::Damaged {
        seq,
        segment: active.path.clone(),
        offset: pos as u64,
        reason,
    };

    let mut pos = 0usize;
    let mut last_line_range = None;
    let mut active_first_ts = None;
    let mut sparse = Vec::new();
    // The `prev` chain is checked over the last CHAIN_CHECK_BYTES of the segment, where
    // a crash or a hurried edit is most likely; before that, framing, `seq`,
    // `ts_recorded` and NUL bytes are checked (cheap), and `verify` checks the rest.
    // This keeps opening a journal with a full 64 MiB active segment well under 100 ms.
    let chain_from = lines.len().saturating_sub(CHAIN_CHECK_BYTES);
    // Whether `prev_hash` holds the hash of the line before `pos`.
    let mut prev_known = true;
    let mut before: Option<(usize, usize)> = None;
    while pos < lines.len() {
        let Some(nl) = memchr::memchr(b'\n', &lines[pos..]) else {
            break; // unreachable: `lines` ends with a newline
        };
        let line = &lines[pos..pos + nl];
        if memchr::memchr(0, line).is_some() {
            return Err(damaged(
                pos,
                expected_seq,
                format!("record {expected_seq} holds NUL bytes"),
            ));
        }
        let h = parse_header(line)
            .map_err(|r| damaged(pos, expected_seq, format!("record {expected_seq}: {r}")))?;
        if h.seq != expected_seq {
            return Err(damaged(
                pos,
                expected_seq,
                format!("expected record {expected_seq}, found seq {}", h.seq),
            ));
        }
        let check_chain = pos >= chain_from;
        if check_chain && !prev_known {
            if let Some((s, e)) = before {
                prev_hash = RecordHash::of_line(&lines[s..e]);
            }
            prev_known = true;
        }
        if check_chain && h.prev != prev_hash {
            // Named as `verify` names it: if the next record links to this one, this
            // one is intact and the record before was altered; if it does not, this
            // one was; with no next record there is no telling, so the one before
            // is named (naming this one would vouch for it).
            let after = &lines[pos + nl + 1..];
            let next_links = memchr::memchr(b'\n', after)
                .and_then(|n| parse_header(&after[..n]).ok())
                .map(|n| n.prev == RecordHash::of_line(line));
            return Err(match (next_links, expected_seq.checked_sub(1)) {
                (Some(false), _) | (_, None) => damaged(
                    pos,
                    expected_seq,
                    format!("record {expected_seq}: prev does not match the record before"),
                ),
                (_, Some(p)) => damaged(
                    before.map_or(pos, |b| b.0),
                    p,
                    format!(
                        "record {p} was altered: its hash does not match the prev of record {expected_seq}"
                    ),
                ),
            });
        }
        if h.ts_recorded < last_ts {
            return Err(damaged(
                pos,
                expected_seq,
                format!("record {expected_seq}: ts_recorded is earlier than the record before"),
            ));
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
    }
    if !prev_known {
        if let Some((s, e)) = before {
            prev_hash = RecordHash::of_line(&lines[s..e]);
        }
    }
    // The last complete line is the one the next record links to: it must be valid
    // UTF-8 JSON as a whole, not only in its header (serde_json does not check strings
    // it ignores, hence the separate UTF-8 check).
    if let Some((s, e)) = last_line_range {
        let line = &lines[s..e];
        if std::str::from_utf8(line).is_err() || serde_json::from_slice::<IgnoredAny>(line).is_err()
        {
            let seq = expected_seq - 1;
            return Err(damaged(
                s,
                seq,
                format!("record {seq} is a complete line that is not valid JSON"),
            ));
        }
    }
    if partial > 0 {
        report.partial_bytes = partial as u64;
        report.partial_segment = Some(active.path.clone());
        if mode == OpenMode::Repair {
            storage
                .truncate(&active.path, complete_len as u64)
                .map_err(|e| Error::io(storage, "truncate", &active.path, e))?;
            report.truncated_bytes = partial as u64;
            report.truncated_segment = Some(active.path.clone());
        }
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
        active_len: complete_len as u64,
        active_first_ts,
        sparse,
        report,
    })
}
