//! Reconciliation of the broker statements dropped in an inbox: on a schedule (every
//! N seconds, daily at a UTC time, after a burst of fills) and on demand
//! (`POST /v1/reconcile`).
//!
//! The server holds the data directory's lock, so `tradetrail reconcile` cannot run
//! while it serves; the server runs the same library call ([`tradetrail_books::run`])
//! itself. Each pass takes the inbox's statement files oldest first:
//!
//! - a statement whose SHA-256 is already the `statement_sha256` of a
//!   `reconciliation.completed` record is not reconciled again: it moves to
//!   `processed/` (result `skipped`);
//! - a statement that reads and reconciles appends its corrections, reviews and
//!   `reconciliation.completed`, and moves to `processed/` (result `ok`);
//! - a statement that cannot be read (unknown extension, not UTF-8, malformed) moves to
//!   `rejected/` with `NAME.error.txt` beside it giving the reason (result `rejected`);
//! - when the journal cannot take the run (disk full, poisoned) the file stays in the
//!   inbox for the next pass and the pass stops (result `failed`).
//!
//! `processed/` and `rejected/` are siblings of the inbox. Hidden files and names
//! ending `.tmp` or `.part` are left alone: write a statement under such a name and
//! rename it into the inbox when it is complete. One pass runs at a time, on the
//! blocking pool.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use sha2::{Digest, Sha256};
use tradetrail_books::{ReadOptions, Severity, Statement, StatementFormat, Tolerances};
use tradetrail_core::ReconciliationSchedule;

use crate::AppState;

/// When the server reconciles its inbox by itself. [`Default`]: never (only on
/// `POST /v1/reconcile`), inbox `statements/inbox`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileSchedule {
    /// The inbox; a relative path is taken from the data directory.
    pub inbox: PathBuf,
    /// Every this long (`None`: never).
    pub every: Option<Duration>,
    /// Daily at this many seconds after UTC midnight (`None`: never).
    pub daily_at: Option<u32>,
    /// After `order.filled` appends, once fills pause this long (`None`: never).
    pub on_fill: Option<Duration>,
}

impl Default for ReconcileSchedule {
    fn default() -> ReconcileSchedule {
        ReconcileSchedule::from_config(&ReconciliationSchedule::default())
    }
}

impl ReconcileSchedule {
    /// From `[reconciliation.schedule]` (already checked when the configuration was
    /// loaded; an unreadable `daily_at` is treated as absent).
    pub fn from_config(c: &ReconciliationSchedule) -> ReconcileSchedule {
        ReconcileSchedule {
            inbox: c.inbox.clone(),
            every: (c.every_seconds > 0).then(|| Duration::from_secs(c.every_seconds)),
            daily_at: c.daily_at_seconds().ok().flatten(),
            on_fill: c
                .on_fill
                .then(|| Duration::from_secs(c.on_fill_debounce_seconds.max(1))),
        }
    }

    fn is_on(&self) -> bool {
        self.every.is_some() || self.daily_at.is_some() || self.on_fill.is_some()
    }
}

/// What became of one statement file in a pass.
#[derive(Debug, Clone, Serialize)]
pub struct StatementRun {
    /// The file's name in the inbox.
    pub file: String,
    /// `ok`, `skipped` (already reconciled), `rejected` (unreadable statement) or
    /// `failed` (the journal could not take the run; the file stays in the inbox).
    pub result: &'static str,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    /// Where the file is now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved_to: Option<String>,
    /// Why it was rejected, skipped or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The run's id (`RC-…`): of this run, or of the earlier one for `skipped`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Seq of the run's `reconciliation.completed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_seq: Option<u64>,
    /// Counts of a run (`ok` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts: Option<RunCounts>,
}

/// The counts of one reconciliation run.
#[derive(Debug, Clone, Serialize)]
pub struct RunCounts {
    /// Statement format read.
    pub format: &'static str,
    /// Trades at the broker.
    pub broker_trades: usize,
    /// Trades in the books over the statement's period.
    pub our_trades: usize,
    /// Discrepancies found.
    pub discrepancies: usize,
    /// Of which minor.
    pub minor: usize,
    /// Of which major.
    pub major: usize,
    /// `reconciliation.correction` events appended.
    pub corrections: usize,
    /// `review.requested` events appended.
    pub reviews_requested: usize,
    /// Major discrepancies already under review.
    pub already_reviewed: usize,
}

/// One pass over the inbox.
#[derive(Debug, Clone, Serialize)]
pub struct Pass {
    /// What started it: `manual`, `interval`, `daily`, `fill` (joined with `+` when
    /// several were due at once).
    pub trigger: String,
    /// The inbox read.
    pub inbox: String,
    /// Every statement file taken, oldest first.
    pub statements: Vec<StatementRun>,
}

/// The inbox of `st`'s data directory.
pub(crate) fn inbox_of(st: &AppState) -> PathBuf {
    st.rec.data_dir().root().join(&st.schedule.inbox)
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Statement files waiting in `inbox`, oldest first (modification time, then name).
fn waiting(inbox: &Path) -> std::io::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(inbox) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let lower = name.to_ascii_lowercase();
        if name.starts_with('.') || lower.ends_with(".tmp") || lower.ends_with(".part") {
            continue;
        }
        let meta = entry.metadata()?;
        if !meta.is_file() {
            continue;
        }
        let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        files.push((modified, name, entry.path()));
    }
    files.sort();
    Ok(files.into_iter().map(|(_, _, p)| p).collect())
}

/// `dir/name`, or `dir/stem-N.ext` with the first N that does not exist yet.
fn free_name(dir: &Path, name: &str) -> PathBuf {
    let first = dir.join(name);
    if !first.exists() {
        return first;
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s, format!(".{e}")),
        _ => (name, String::new()),
    };
    (2u64..)
        .map(|n| dir.join(format!("{stem}-{n}{ext}")))
        .find(|p| !p.exists())
        .expect("some name is free")
}

/// Moves `file` into `inbox/../<to>/`; returns the new path.
fn move_to(inbox: &Path, file: &Path, to: &str) -> std::io::Result<PathBuf> {
    let dir = inbox.parent().unwrap_or(inbox).join(to);
    std::fs::create_dir_all(&dir)?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let target = free_name(&dir, &name);
    std::fs::rename(file, &target)?;
    Ok(target)
}

/// Reconciles every statement waiting in the inbox. Never two at once: a second
/// caller waits for the first pass to end (and then usually finds nothing new).
pub(crate) fn run_inbox(st: &AppState, trigger: &str) -> Pass {
    let _one = st.recon_lock.lock().unwrap_or_else(|e| e.into_inner());
    let inbox = inbox_of(st);
    let mut pass = Pass {
        trigger: trigger.to_string(),
        inbox: inbox.display().to_string(),
        statements: Vec::new(),
    };
    for t in trigger.split('+') {
        st.metrics.reconcile_pass(t);
    }
    let files = match waiting(&inbox) {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(inbox = %inbox.display(), error = %e, "cannot read the statement inbox");
            return pass;
        }
    };
    if files.is_empty() {
        tracing::debug!(trigger, inbox = %inbox.display(), "reconciliation: no statement waiting");
        return pass;
    }
    // Statements reconciled before, by their SHA-256: (run id, seq).
    let mut done: HashMap<String, (String, u64)> = match tradetrail_books::read_records_where(
        &st.rec.data_dir().journal(),
        st.rec.cold(),
        |t| t == "reconciliation.completed",
    ) {
        Ok(records) => records
            .iter()
            .filter_map(|r| {
                let sha = r.text("statement_sha256")?.to_string();
                let id = r
                    .entity_id("reconciliation")
                    .unwrap_or_default()
                    .to_string();
                Some((sha, (id, r.seq)))
            })
            .collect(),
        Err(e) => {
            tracing::error!(error = %e, "reconciliation: cannot read the journal");
            return pass;
        }
    };
    let cfg = &st.rec.config().reconciliation;
    let read = ReadOptions {
        flex_utc_offset_seconds: cfg.flex_offset_seconds().unwrap_or(0),
    };
    let tol = Tolerances::from(cfg);
    for file in files {
        let out = one(st, &inbox, &file, &read, &tol, &mut done);
        st.metrics.reconciliation(out.result);
        let stop = out.result == "failed";
        pass.statements.push(out);
        if stop {
            break;
        }
    }
    pass
}

fn rejected(inbox: &Path, file: &Path, mut out: StatementRun, reason: String) -> StatementRun {
    tracing::warn!(statement = %file.display(), reason, "statement rejected");
    match move_to(inbox, file, "rejected") {
        Ok(to) => {
            let note = to.with_file_name(format!(
                "{}.error.txt",
                to.file_name().unwrap_or_default().to_string_lossy()
            ));
            let text = format!(
                "{}: rejected at {}\n{reason}\n",
                out.file,
                tradetrail_model::format_time(now_ns())
            );
            if let Err(e) = std::fs::write(&note, text) {
                tracing::error!(file = %note.display(), error = %e, "cannot write the rejection note");
            }
            out.moved_to = Some(to.display().to_string());
        }
        Err(e) => {
            tracing::error!(statement = %file.display(), error = %e, "cannot move a rejected statement out of the inbox")
        }
    }
    out.result = "rejected";
    out.reason = Some(reason);
    out
}

fn processed(inbox: &Path, file: &Path, mut out: StatementRun) -> StatementRun {
    match move_to(inbox, file, "processed") {
        Ok(to) => out.moved_to = Some(to.display().to_string()),
        // Its SHA-256 is recorded: the next pass skips it.
        Err(e) => {
            tracing::error!(statement = %file.display(), error = %e, "cannot move a reconciled statement out of the inbox")
        }
    }
    out
}

fn one(
    st: &AppState,
    inbox: &Path,
    file: &Path,
    read: &ReadOptions,
    tol: &Tolerances,
    done: &mut HashMap<String, (String, u64)>,
) -> StatementRun {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut out = StatementRun {
        file: name.clone(),
        result: "ok",
        sha256: String::new(),
        moved_to: None,
        reason: None,
        run_id: None,
        completed_seq: None,
        counts: None,
    };
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Taken away since the inbox was listed.
            out.result = "skipped";
            out.reason = Some("the file was removed from the inbox before it was read".into());
            return out;
        }
        Err(e) => {
            tracing::error!(statement = %file.display(), error = %e, "cannot read a statement");
            out.result = "failed";
            out.reason = Some(format!("cannot read the file: {e}"));
            return out;
        }
    };
    out.sha256 = sha256_hex(&bytes);
    if let Some((run_id, seq)) = done.get(&out.sha256) {
        tracing::info!(statement = %file.display(), run_id, seq, "statement already reconciled: not again");
        out.result = "skipped";
        out.reason = Some(format!(
            "already reconciled: reconciliation.completed {run_id} (seq {seq}) has this statement_sha256"
        ));
        out.run_id = Some(run_id.clone());
        out.completed_seq = Some(*seq);
        return processed(inbox, file, out);
    }
    let Some(format) = StatementFormat::from_path(file) else {
        return rejected(
            inbox,
            file,
            out,
            format!("{name}: cannot tell the statement format from the name; name it .xml (IBKR Flex Query), .csv or .json (docs/books.md)"),
        );
    };
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            let reason = format!("{name}: byte {}: not UTF-8 text", e.valid_up_to());
            return rejected(inbox, file, out, reason);
        }
    };
    let statement = match Statement::parse(text, format, &name, read) {
        Ok(s) => s,
        Err(e) => return rejected(inbox, file, out, e.to_string()),
    };
    let opts = tradetrail_books::RunOptions {
        actor: "system".into(),
        statement_name: name.clone(),
        statement_sha256: out.sha256.clone(),
        now: now_ns(),
    };
    match tradetrail_books::run(&st.rec, &statement, tol, &opts) {
        Ok(o) => {
            let r = &o.reconciliation;
            let counts = RunCounts {
                format: format.as_str(),
                broker_trades: r.broker_trades,
                our_trades: r.our_trades,
                discrepancies: r.discrepancies.len(),
                minor: r.count(Severity::Minor),
                major: r.count(Severity::Major),
                corrections: o.corrections.len(),
                reviews_requested: o.reviews.len(),
                already_reviewed: o.already_reviewed.len(),
            };
            tracing::info!(
                statement = %file.display(),
                run_id = o.run_id,
                seq = o.completed_seq,
                discrepancies = counts.discrepancies,
                corrections = counts.corrections,
                reviews = counts.reviews_requested,
                "statement reconciled"
            );
            done.insert(out.sha256.clone(), (o.run_id.clone(), o.completed_seq));
            out.run_id = Some(o.run_id);
            out.completed_seq = Some(o.completed_seq);
            out.counts = Some(counts);
            processed(inbox, file, out)
        }
        Err(
            e @ (tradetrail_books::Error::Statement { .. } | tradetrail_books::Error::Invalid(_)),
        ) => rejected(inbox, file, out, e.to_string()),
        Err(e) => {
            if let tradetrail_books::Error::Core(tradetrail_core::Error::Journal(j)) = &e {
                if j.is_disk_full() {
                    st.disk_full
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                }
            }
            tracing::error!(statement = %file.display(), error = %e, "reconciliation failed; the statement stays in the inbox");
            out.result = "failed";
            out.reason = Some(format!("the journal did not take the run: {e}"));
            out
        }
    }
}

/// Seconds from now until the next `at` seconds after UTC midnight, at least `min`.
fn until_daily(at: u32, min: u64) -> Duration {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let sod = now.as_secs() % 86_400;
    let mut wait = (u64::from(at) + 86_400 - sod) % 86_400;
    if wait < min {
        wait += 86_400;
    }
    Duration::from_secs(wait).saturating_sub(Duration::from_nanos(u64::from(now.subsec_nanos())))
}

/// Runs passes when they are due until `stop` changes. Does nothing when the
/// schedule is off.
pub(crate) async fn scheduler(st: Arc<AppState>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let s = st.schedule.clone();
    if !s.is_on() {
        return;
    }
    tracing::info!(
        inbox = %inbox_of(&st).display(),
        every_seconds = s.every.map(|d| d.as_secs_f64()),
        daily_at_utc = s.daily_at.map(|a| format!("{:02}:{:02}", a / 3600, a % 3600 / 60)),
        on_fill_debounce_seconds = s.on_fill.map(|d| d.as_secs_f64()),
        "reconciliation schedule"
    );
    let start = Instant::now();
    let mut next_every = s.every.map(|d| start + d);
    let mut next_daily = s.daily_at.map(|a| start + until_daily(a, 0));
    // After a fill: due once fills pause for the debounce, and at the latest six
    // debounces after the first fill of a burst that does not pause.
    let mut fill_due: Option<Instant> = None;
    let mut first_fill: Option<Instant> = None;
    loop {
        let next = [next_every, next_daily, fill_due]
            .into_iter()
            .flatten()
            .min();
        let sleep = async move {
            match next {
                Some(t) => tokio::time::sleep_until(t.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = stop.changed() => break,
            _ = st.fills.notified(), if s.on_fill.is_some() => {
                let d = s.on_fill.unwrap_or_default();
                let now = Instant::now();
                let first = *first_fill.get_or_insert(now);
                fill_due = Some((now + d).min(first + d * 6));
                continue;
            }
            _ = sleep => {}
        }
        let now = Instant::now();
        let mut triggers = Vec::new();
        if next_every.is_some_and(|t| t <= now) {
            triggers.push("interval");
            next_every = s.every.map(|d| now + d);
        }
        if next_daily.is_some_and(|t| t <= now) {
            triggers.push("daily");
            next_daily = s.daily_at.map(|a| now + until_daily(a, 60));
        }
        if fill_due.is_some_and(|t| t <= now) {
            triggers.push("fill");
            fill_due = None;
            first_fill = None;
        }
        if triggers.is_empty() {
            continue;
        }
        let trigger = triggers.join("+");
        let st2 = st.clone();
        match tokio::task::spawn_blocking(move || run_inbox(&st2, &trigger)).await {
            Ok(pass) if !pass.statements.is_empty() => tracing::info!(
                trigger = pass.trigger,
                statements = pass.statements.len(),
                "reconciliation pass done"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "a reconciliation pass panicked"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_names_and_daily_waits() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(free_name(tmp.path(), "a.csv"), tmp.path().join("a.csv"));
        std::fs::write(tmp.path().join("a.csv"), "").unwrap();
        std::fs::write(tmp.path().join("a-2.csv"), "").unwrap();
        assert_eq!(free_name(tmp.path(), "a.csv"), tmp.path().join("a-3.csv"));
        std::fs::write(tmp.path().join("noext"), "").unwrap();
        assert_eq!(free_name(tmp.path(), "noext"), tmp.path().join("noext-2"));
        for at in [0, 3600, 86_340] {
            let w = until_daily(at, 0);
            assert!(w <= Duration::from_secs(86_400), "{w:?}");
            let w = until_daily(at, 60);
            assert!(w >= Duration::from_secs(59), "{w:?}");
            assert!(w <= Duration::from_secs(86_400 + 60), "{w:?}");
        }
    }

    #[test]
    fn schedule_from_config() {
        let off = ReconcileSchedule::default();
        assert!(!off.is_on());
        assert_eq!(off.inbox, PathBuf::from("statements/inbox"));
        let c = ReconciliationSchedule {
            every_seconds: 3600,
            daily_at: Some("21:30".into()),
            on_fill: true,
            on_fill_debounce_seconds: 7,
            ..ReconciliationSchedule::default()
        };
        let s = ReconcileSchedule::from_config(&c);
        assert_eq!(s.every, Some(Duration::from_secs(3600)));
        assert_eq!(s.daily_at, Some(77_400));
        assert_eq!(s.on_fill, Some(Duration::from_secs(7)));
    }
}
