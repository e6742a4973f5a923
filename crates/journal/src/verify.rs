//! `verify`: re-read every segment and check everything the format promises.
//!
//! Per line: framing (`\n`-terminated UTF-8 JSON), the header shape, `seq`
//! continuity, the `prev` link to the line before, `ts_recorded` never decreasing,
//! and the journal's own records (`seq` 0 is `journal.created`, and only it).
//! Segments are checked in parallel and stitched together at their boundaries.
//! Verify never writes: a torn last line (a record that was never acknowledged) is
//! reported as a warning; the next open for writing cuts it off.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::de::IgnoredAny;

use crate::chain::RecordHash;
use crate::record::{parse_header, record_type};
use crate::segment::list_segments;
use crate::storage::Storage;
use crate::{Error, Result};

/// Types under `journal.` that the journal itself writes.
pub const JOURNAL_TYPES: &[&str] = &[
    "journal.created",
    "journal.checkpoint",
    "journal.retention_purged",
    "journal.repaired",
    "journal.sealed",
];

/// The outcome of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    /// True when every check passed.
    pub ok: bool,
    /// Records checked and found good (up to the first bad one).
    pub records: u64,
    /// The first record that is not what it should be.
    pub first_bad_seq: Option<u64>,
    /// Why it is bad.
    pub reason: Option<String>,
    /// Things that are not tampering, such as a torn last line that was never acknowledged.
    pub warnings: Vec<String>,
    /// Segment files read.
    pub segments: usize,
    /// Bytes read.
    pub bytes: u64,
    /// Hash of the last good record.
    #[serde(serialize_with = "ser_hash")]
    pub head_hash: Option<RecordHash>,
}

fn ser_hash<S: serde::Serializer>(h: &Option<RecordHash>, s: S) -> Result<S::Ok, S::Error> {
    match h {
        Some(h) => s.serialize_str(&h.to_hex()),
        None => s.serialize_none(),
    }
}

#[derive(Debug, Default, Clone)]
struct Problem {
    seq: u64,
    reason: String,
}

/// What one segment looks like on its own.
#[derive(Debug, Default)]
struct SegmentCheck {
    first: Option<Line>,
    /// Whether the second line's prev is the hash of the first; `None` when the segment
    /// has one line, so only the next segment can tell.
    first_link_ok: Option<bool>,
    last: Option<Line>,
    /// Good records before `problem`.
    count: u64,
    problem: Option<Problem>,
    /// Set when `problem` is a broken link into the segment's last line: `problem`
    /// names the record before it (P) until the next segment's first record shows
    /// whether that last line (L) was altered instead.
    undecided: Option<(Line, Problem)>,
    torn_tail: Option<u64>,
    bytes: u64,
}

#[derive(Debug, Clone, Copy)]
struct Line {
    seq: u64,
    prev: RecordHash,
    hash: RecordHash,
    ts: i64,
}

/// Where a journal whose oldest segments were removed must begin: the record before
/// its first one is held elsewhere (the Parquet archive), which vouches for its hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    /// The seq the journal's first segment must start at.
    pub seq: u64,
    /// The hash of record `seq - 1`: the first record's `prev`.
    pub prev: RecordHash,
    /// The `ts_recorded` of record `seq - 1`.
    pub ts_recorded: i64,
}

/// Verifies the journal in `dir`. `progress` is called with bytes checked so far.
/// Returns `Err` only when the files cannot be read; tampering is reported in the
/// [`VerifyReport`].
pub fn verify(
    storage: &dyn Storage,
    dir: &Path,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<VerifyReport> {
    verify_from(storage, dir, None, progress)
}

/// Like [`verify`], for a journal that starts at `anchor.seq` instead of 0 (its
/// older segments were archived and removed): the first record must carry that seq
/// and link to the anchor's hash. `records` in the report counts from there.
pub fn verify_from(
    storage: &dyn Storage,
    dir: &Path,
    anchor: Option<&Anchor>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<VerifyReport> {
    if !storage
        .exists(dir)
        .map_err(|e| Error::io(storage, "stat", dir, e))?
    {
        return Err(Error::NotFound {
            path: dir.to_path_buf(),
        });
    }
    let segments = list_segments(storage, dir)?;
    let n = segments.len();
    let results: Vec<Mutex<Option<Result<SegmentCheck>>>> =
        (0..n).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let done_bytes = std::sync::atomic::AtomicU64::new(0);
    let threads = std::thread::available_parallelism()
        .map(|p| p.get())
        .unwrap_or(1)
        .min(n.max(1));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let seg = &segments[i];
                let r = storage
                    .read(&seg.path)
                    .map_err(|e| Error::io(storage, "read", &seg.path, e))
                    .map(|data| check_segment(&data, seg.first_seq, i + 1 == n));
                if let Ok(c) = &r {
                    let total = done_bytes.fetch_add(c.bytes, Ordering::Relaxed) + c.bytes;
                    progress(total);
                }
                *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
            });
        }
    });
    let mut checks = Vec::with_capacity(n);
    for r in results {
        let r = r.into_inner().unwrap_or_else(|p| p.into_inner());
        checks.push(r.expect("every segment was checked")?);
    }
    Ok(stitch(
        &segments.iter().map(|s| s.path.clone()).collect::<Vec<_>>(),
        checks,
        anchor,
    ))
}

fn stitch(paths: &[PathBuf], checks: Vec<SegmentCheck>, anchor: Option<&Anchor>) -> VerifyReport {
    let base = anchor.map_or(0, |a| a.seq);
    let mut report = VerifyReport {
        ok: true,
        records: 0,
        first_bad_seq: None,
        reason: None,
        warnings: Vec::new(),
        segments: checks.len(),
        bytes: checks.iter().map(|c| c.bytes).sum(),
        head_hash: None,
    };
    if checks.is_empty() {
        report.ok = false;
        report.first_bad_seq = Some(0);
        report.reason = Some("the journal has no segment files".into());
        return report;
    }
    let mut prev_last: Option<Line> = None;
    for (i, c) in checks.iter().enumerate() {
        let next_first = checks.get(i + 1).and_then(|n| n.first);
        // The journal starts at record 0 (a removed first segment is not a shorter
        // journal), or where its anchor says, linked to the anchor's hash.
        if let (None, Some(f)) = (prev_last, c.first) {
            if f.seq != base {
                return fail(report, base, seq_problem(base, f.seq));
            }
            if let Some(a) = anchor {
                if f.prev != a.prev || f.ts < a.ts_recorded {
                    return fail(
                        report,
                        base,
                        Problem {
                            seq: f.seq,
                            reason: format!(
                                "record {}: does not follow record {} as the archive holds it ({})",
                                f.seq,
                                f.seq.wrapping_sub(1),
                                if f.prev != a.prev {
                                    "prev differs"
                                } else {
                                    "ts_recorded is earlier"
                                }
                            ),
                        },
                    );
                }
            }
        }
        // The boundary with the segment before.
        if let (Some(p), Some(f)) = (prev_last, c.first) {
            let boundary = if f.seq != p.seq + 1 {
                Some(seq_problem(p.seq + 1, f.seq))
            } else if f.prev != p.hash {
                // Which side changed? If the record after this segment's first still
                // links to it, the first record is intact and the previous one was
                // altered. If nothing follows, name the earlier record: it cannot be
                // vouched for either.
                let first_intact = c
                    .first_link_ok
                    .or_else(|| next_first.map(|n| n.prev == f.hash))
                    .unwrap_or(true);
                Some(if first_intact {
                    Problem {
                        seq: p.seq,
                        reason: format!(
                            "record {} was altered: its hash does not match the prev of record {}",
                            p.seq, f.seq
                        ),
                    }
                } else {
                    Problem {
                        seq: f.seq,
                        reason: format!("record {}: prev does not match record {}", f.seq, p.seq),
                    }
                })
            } else if f.ts < p.ts {
                Some(Problem {
                    seq: f.seq,
                    reason: format!(
                        "record {}: ts_recorded is earlier than record {}'s",
                        f.seq, p.seq
                    ),
                })
            } else {
                None
            };
            if let Some(pb) = boundary {
                return fail(report, base, pb);
            }
        } else if prev_last.is_some()
            && c.first.is_none()
            && c.problem.is_none()
            && i + 1 < checks.len()
        {
            return fail(
                report,
                base,
                Problem {
                    seq: prev_last.map_or(0, |p| p.seq + 1),
                    reason: format!("segment {} is empty", paths[i].display()),
                },
            );
        }
        report.records += c.count;
        if let Some((last, altered_last)) = &c.undecided {
            // The segment's last line L did not link to the line before it. If the next
            // segment's first record does not link to L either, L is the altered one.
            if next_first.is_some_and(|n| n.prev != last.hash) {
                return fail(report, base, altered_last.clone());
            }
        }
        if let Some(pb) = &c.problem {
            return fail(report, base, pb.clone());
        }
        if let Some(torn) = c.torn_tail {
            report.warnings.push(format!(
                "{}: the last {torn} bytes are a torn record that was never acknowledged; \
                 the next open for writing will cut it off",
                paths[i].display()
            ));
        }
        if c.last.is_some() {
            prev_last = c.last;
        }
    }
    report.head_hash = prev_last.map(|l| l.hash);
    if report.records == 0 {
        return fail(
            report,
            base,
            Problem {
                seq: base,
                reason: "the journal has no records".into(),
            },
        );
    }
    report
}

fn fail(mut report: VerifyReport, base: u64, pb: Problem) -> VerifyReport {
    report.ok = false;
    report.records = report.records.min(pb.seq.saturating_sub(base));
    report.first_bad_seq = Some(pb.seq);
    report.reason = Some(pb.reason);
    report
}

fn seq_problem(expected: u64, found: u64) -> Problem {
    if found > expected {
        Problem {
            seq: expected,
            reason: format!("record {expected} is missing (found seq {found} in its place)"),
        }
    } else {
        Problem {
            seq: found,
            reason: format!("record {found} appears again where {expected} should be"),
        }
    }
}

fn check_segment(data: &[u8], name_first_seq: u64, is_last: bool) -> SegmentCheck {
    let mut c = SegmentCheck {
        bytes: data.len() as u64,
        ..SegmentCheck::default()
    };
    let mut pos = 0usize;
    let mut prev: Option<Line> = None;
    let mut lines_seen = 0u64;
    while pos < data.len() {
        let expected = prev.map_or(name_first_seq, |p| p.seq + 1);
        let Some(nl) = memchr::memchr(b'\n', &data[pos..]) else {
            if is_last {
                c.torn_tail = Some((data.len() - pos) as u64);
            } else {
                c.problem = Some(Problem {
                    seq: expected,
                    reason: format!("sealed segment ends in an incomplete line at byte {pos}"),
                });
            }
            break;
        };
        let raw = &data[pos..pos + nl];
        let line = match check_line(raw, expected) {
            Ok(l) => l,
            Err(pb) => {
                c.problem = Some(pb);
                break;
            }
        };
        if let Some(p) = prev {
            if line.prev != p.hash {
                // Look one record further to see which of the two was changed: if the
                // next record links to this one, this one is intact and `p` was altered;
                // if it does not, this one was. If there is no telling, name `p`:
                // naming this one would vouch for `p`.
                let altered_prev = Problem {
                    seq: p.seq,
                    reason: format!(
                        "record {} was altered: its hash does not match the prev of record {}",
                        p.seq, line.seq
                    ),
                };
                let altered_this = Problem {
                    seq: line.seq,
                    reason: format!("record {}: prev does not match record {}", line.seq, p.seq),
                };
                c.problem = Some(match next_prev(&data[pos + nl + 1..]) {
                    NextPrev::Prev(h) if h == line.hash => altered_prev,
                    NextPrev::Prev(_) => altered_this,
                    NextPrev::Unreadable => altered_prev,
                    NextPrev::NoLine => {
                        // This is the segment's last line: the next segment decides.
                        c.undecided = Some((line, altered_this));
                        altered_prev
                    }
                });
                break;
            }
            if line.ts < p.ts {
                c.problem = Some(Problem {
                    seq: line.seq,
                    reason: format!(
                        "record {}: ts_recorded is earlier than record {}'s",
                        line.seq, p.seq
                    ),
                });
                break;
            }
        }
        if lines_seen == 0 {
            c.first = Some(line);
            c.first_link_ok = match next_prev(&data[pos + nl + 1..]) {
                NextPrev::Prev(np) => Some(np == line.hash),
                NextPrev::Unreadable => Some(true),
                NextPrev::NoLine => None,
            };
        }
        lines_seen += 1;
        c.count += 1;
        c.last = Some(line);
        prev = Some(line);
        pos += nl + 1;
    }
    c
}

/// What the line after a given one says about it.
enum NextPrev {
    /// The `prev` of the next complete line.
    Prev(RecordHash),
    /// The next complete line does not parse.
    Unreadable,
    /// There is no next complete line in this segment.
    NoLine,
}

/// The `prev` of the first complete line in `rest`.
fn next_prev(rest: &[u8]) -> NextPrev {
    let Some(nl) = memchr::memchr(b'\n', rest) else {
        return NextPrev::NoLine;
    };
    match parse_header(&rest[..nl]) {
        Ok(h) => NextPrev::Prev(h.prev),
        Err(_) => NextPrev::Unreadable,
    }
}

fn check_line(raw: &[u8], expected: u64) -> Result<Line, Problem> {
    let bad = |reason: String| Problem {
        seq: expected,
        reason,
    };
    let h = parse_header(raw).map_err(|r| bad(format!("record {expected}: {r}")))?;
    if h.seq != expected {
        return Err(seq_problem(expected, h.seq));
    }
    // serde_json does not check UTF-8 inside strings it ignores, so check it here.
    if std::str::from_utf8(raw).is_err() {
        return Err(bad(format!("record {expected} is not UTF-8")));
    }
    if let Err(e) = serde_json::from_slice::<IgnoredAny>(raw) {
        return Err(bad(format!("record {expected} is not valid JSON: {e}")));
    }
    let ty = record_type(raw).unwrap_or("");
    if expected == 0 && ty != "journal.created" {
        return Err(bad(format!(
            "record 0 must be journal.created, found {ty:?}"
        )));
    }
    if expected == 0 && h.prev != RecordHash::ZERO {
        return Err(bad("record 0: prev must be 64 zeros".into()));
    }
    if expected != 0 && ty == "journal.created" {
        return Err(bad(format!(
            "record {expected}: journal.created may only be record 0"
        )));
    }
    if ty.starts_with("journal.") && !JOURNAL_TYPES.contains(&ty) {
        return Err(bad(format!(
            "record {expected}: unknown journal type {ty:?}"
        )));
    }
    Ok(Line {
        seq: h.seq,
        prev: h.prev,
        hash: RecordHash::of_line(raw),
        ts: h.ts_recorded,
    })
}
