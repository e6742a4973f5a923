//! `pg status` and `pg verify`: the mirror against the journal.

use postgres::fallible_iterator::FallibleIterator;
use postgres::IsolationLevel;
use tradetrail_core::DataDir;
use tradetrail_journal::{FsStorage, RecordHash, RecordView};
use tradetrail_store::Store;

use crate::{connect, db, redact, require_schema, Error, Result};

/// The most rows of each kind [`VerifyReport`] lists (the counts are always whole).
pub const DETAIL_LIMIT: usize = 1000;

/// The mirror's position against the journal's head.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Status {
    /// The URL, password removed.
    pub url: String,
    /// Rows in `tradetrail.events` (as the connecting role sees them).
    pub rows: u64,
    /// The mirror's last seq (`None`: empty).
    pub last_mirrored_seq: Option<u64>,
    /// The journal's last seq.
    pub journal_head_seq: u64,
    /// Journal records after the mirror's last seq.
    pub lag: u64,
    /// Seconds since the oldest record the mirror does not hold was recorded (its
    /// `ts_recorded`); 0 when the mirror holds every record.
    pub lag_seconds: f64,
    /// Why the read door refuses the journal (damaged, or contradicting the newest
    /// checkpoint it signed: what `pg sync` would refuse with), reported rather than
    /// refused; `None` when it passes.
    pub journal_refused: Option<String>,
}

/// The mirror's row count and last seq, and the journal's head (read without the
/// journal's lock, from its last complete line). The data directory is opened through
/// the read door, reporting what it finds ([`Status::journal_refused`]).
pub fn status(dir: &DataDir, url: &str) -> Result<Status> {
    let (read, refused) = Store::open_read_reporting(dir)?;
    let shown = redact(url);
    let mut client = connect(url)?;
    require_schema(&mut client, &shown)?;
    let row = client
        .query_one("SELECT count(*), max(seq) FROM tradetrail.events", &[])
        .map_err(db(&shown, "counting tradetrail.events"))?;
    let rows: i64 = row.get(0);
    let last: Option<i64> = row.get(1);
    let jdir = dir.journal();
    let head = tradetrail_journal::inspect(&FsStorage, &jdir)
        .map_err(|source| Error::Journal {
            path: jdir.clone(),
            source,
        })?
        .records
        .saturating_sub(1);
    let last = last.map(|s| u64::try_from(s).unwrap_or(0));
    let lag = match last {
        Some(l) => head.saturating_sub(l),
        None => head + 1,
    };
    let lag_seconds = if lag == 0 {
        0.0
    } else {
        let next = last.map_or(0, |l| l + 1);
        let mut recorded = None;
        crate::held::Held::open(&read)?.for_each(next, |_, line| {
            recorded = RecordView::parse(line).ok().map(|v| v.ts_recorded);
            Ok(false)
        })?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        recorded.map_or(0.0, |t| now.saturating_sub(t).max(0) as f64 / 1e9)
    };
    Ok(Status {
        url: shown,
        rows: u64::try_from(rows).unwrap_or(0),
        last_mirrored_seq: last,
        journal_head_seq: head,
        lag,
        lag_seconds,
        journal_refused: refused.map(|e| e.to_string()),
    })
}

/// A row whose `line` or `hash` is not the journal's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Changed {
    /// The seq.
    pub seq: u64,
    /// `line` differs from the journal's record.
    pub line: bool,
    /// `hash` differs from the SHA-256 of the journal's record.
    pub hash: bool,
}

/// A run of seqs, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SeqRange {
    /// First seq.
    pub first: u64,
    /// Last seq.
    pub last: u64,
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    /// The URL, password removed.
    pub url: String,
    /// No row differs, none is missing, none is extra.
    pub ok: bool,
    /// Journal records read.
    pub journal_records: u64,
    /// Rows in the mirror.
    pub mirror_rows: u64,
    /// The mirror's last seq (`None`: empty).
    pub last_mirrored_seq: Option<u64>,
    /// Rows that equal their record.
    pub equal: u64,
    /// Rows that differ (listed up to [`DETAIL_LIMIT`]; `changed_count` is whole).
    pub changed: Vec<Changed>,
    /// How many rows differ.
    pub changed_count: u64,
    /// Journal records up to the mirror's last seq that have no row, as runs.
    pub missing: Vec<SeqRange>,
    /// How many records are missing.
    pub missing_count: u64,
    /// Rows whose seq is no journal record (listed up to [`DETAIL_LIMIT`]).
    pub extra: Vec<i64>,
    /// How many rows are extra.
    pub extra_count: u64,
    /// Journal records after the mirror's last seq: not copied yet (`pg sync`), not a
    /// difference.
    pub behind: u64,
    /// Rows the mirror keeps for records a retention purge removed from the journal
    /// and archive (not followed: `pg sync --follow-purges`). Nothing is left to check
    /// them against; they are no difference.
    pub purged_kept: u64,
    /// Why the read door refuses the journal (damaged, or contradicting the newest
    /// checkpoint it signed), reported rather than refused: the comparison is still
    /// made (the mirror may hold the records as they were), and `ok` is false.
    pub journal_refused: Option<String>,
}

/// Streams the mirror (one snapshot, ordered by seq) and the journal (from seq 0,
/// records that left `journal/` from the archive) side by side and reports every row
/// whose `line` or `hash` is not the journal's, every record up to the mirror's last
/// seq that has no row, and every row that is no journal record. The journal is read
/// after the mirror's snapshot is taken, so a row copied meanwhile is never counted
/// as extra. Read the mirror as a role that sees every row (the writer, compliance,
/// or an administrator): a trader role's view is missing other traders' rows. The
/// data directory is opened through the read door, reporting what it finds
/// ([`VerifyReport::journal_refused`]).
pub fn verify(dir: &DataDir, url: &str) -> Result<VerifyReport> {
    let (read, refused) = Store::open_read_reporting(dir)?;
    let shown = redact(url);
    let mut client = connect(url)?;
    require_schema(&mut client, &shown)?;
    let mut tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(db(&shown, "starting a read-only snapshot"))?;
    let row = tx
        .query_one("SELECT count(*), max(seq) FROM tradetrail.events", &[])
        .map_err(db(&shown, "counting tradetrail.events"))?;
    let mirror_rows = u64::try_from(row.get::<_, i64>(0)).unwrap_or(0);
    let last: Option<i64> = row.get(1);
    let mut rows = tx
        .query_raw(
            "SELECT seq, pg_catalog.sha256(pg_catalog.convert_to(line, 'UTF8')), hash FROM tradetrail.events ORDER BY seq",
            std::iter::empty::<i64>(),
        )
        .map_err(db(&shown, "reading tradetrail.events"))?;
    let mut r = VerifyReport {
        url: shown.clone(),
        ok: false,
        journal_records: 0,
        mirror_rows,
        last_mirrored_seq: last.map(|s| u64::try_from(s).unwrap_or(0)),
        equal: 0,
        changed: Vec::new(),
        changed_count: 0,
        missing: Vec::new(),
        missing_count: 0,
        extra: Vec::new(),
        extra_count: 0,
        behind: 0,
        purged_kept: 0,
        journal_refused: refused.map(|e| e.to_string()),
    };
    let held = crate::held::Held::open(&read)?;
    // (seq, SHA-256 of the row's line, the row's hash): PostgreSQL hashes each line on
    // its side, so 32 bytes travel instead of the line, and its core does that work.
    // Equal hashes mean equal lines (SHA-256 has no known collision); the server is
    // trusted to report its rows either way.
    let mut pending: Option<(i64, Vec<u8>, String)> = None;
    let mut failed: Option<Error> = None;
    let mut exhausted = false;
    held.for_each(0, |seq, line| {
        r.journal_records += 1;
        let want = i64::try_from(seq).unwrap_or(i64::MAX);
        // Rows before this record are no record at all.
        loop {
            if pending.is_none() && !exhausted {
                match rows.next() {
                    Ok(Some(row)) => pending = Some((row.get(0), row.get(1), row.get(2))),
                    Ok(None) => {
                        // Polling a finished stream again fails: remember its end.
                        exhausted = true;
                        break;
                    }
                    Err(e) => {
                        failed = Some(db(&shown, "reading tradetrail.events")(e));
                        return Ok(false);
                    }
                }
            }
            match &pending {
                Some((s, _, _)) if *s < want => {
                    extra(&mut r, &held, *s);
                    pending = None;
                }
                _ => break,
            }
        }
        match pending.take() {
            Some((s, mline_sha, mhash)) if s == want => {
                let h = RecordHash::of_line(line);
                let mut hex = [0u8; 64];
                h.write_hex(&mut hex);
                let line_differs = mline_sha[..] != h.0[..];
                let hash_differs = mhash.as_bytes() != hex;
                if line_differs || hash_differs {
                    r.changed_count += 1;
                    if r.changed.len() < DETAIL_LIMIT {
                        r.changed.push(Changed {
                            seq,
                            line: line_differs,
                            hash: hash_differs,
                        });
                    }
                } else {
                    r.equal += 1;
                }
            }
            other => {
                pending = other;
                if last.is_some_and(|l| want < l) {
                    r.missing_count += 1;
                    match r.missing.last_mut() {
                        Some(run) if run.last + 1 == seq => run.last = seq,
                        _ => {
                            if r.missing.len() < DETAIL_LIMIT {
                                r.missing.push(SeqRange {
                                    first: seq,
                                    last: seq,
                                });
                            }
                        }
                    }
                } else {
                    r.behind += 1;
                }
            }
        }
        Ok(true)
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    // Rows after the journal's last record.
    if let Some((s, _, _)) = pending.take() {
        extra(&mut r, &held, s);
    }
    while !exhausted {
        match rows.next() {
            Ok(Some(row)) => extra(&mut r, &held, row.get(0)),
            Ok(None) => exhausted = true,
            Err(e) => return Err(db(&shown, "reading tradetrail.events")(e)),
        }
    }
    drop(rows);
    tx.commit().map_err(db(&shown, "ending the snapshot"))?;
    r.ok = r.changed_count == 0
        && r.missing_count == 0
        && r.extra_count == 0
        && r.journal_refused.is_none();
    Ok(r)
}

/// Counts and lists a row that is no journal record (or counts one kept for a
/// purged record).
fn extra(r: &mut VerifyReport, held: &crate::held::Held, seq: i64) {
    if u64::try_from(seq).is_ok_and(|s| held.run_holding(s).is_some()) {
        r.purged_kept += 1;
        return;
    }
    r.extra_count += 1;
    if r.extra.len() < DETAIL_LIMIT {
        r.extra.push(seq);
    }
}
