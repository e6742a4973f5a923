//! `serve --pg-verify-every`: [`verify`] on a schedule, its last result in
//! `/metrics` (`tradetrail_pg_verify_*`) and `/healthz` (`pg_verify` degraded when the
//! mirror differs from the journal or cannot be checked), and an error in the log for
//! every run that finds a difference.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tradetrail_core::DataDir;

use crate::background::Background;

use crate::{verify, VerifyReport};

/// The last run's outcome.
#[derive(Debug, Default)]
struct Last {
    /// The report of the last run that reached the end.
    report: Option<VerifyReport>,
    /// Why the last run could not finish (database down, journal unreadable).
    failed: Option<String>,
    /// When the last run ended, either way.
    at: Option<Instant>,
    /// How long it took.
    seconds: f64,
}

/// What the scheduled verifier has found, shared with `/metrics` and `/healthz`.
#[derive(Debug)]
struct VerifyState {
    url: String,
    runs: AtomicU64,
    differing_runs: AtomicU64,
    last: Mutex<Last>,
}

impl VerifyState {
    fn last(&self) -> std::sync::MutexGuard<'_, Last> {
        self.last.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl tradetrail_core::Component for VerifyState {
    fn name(&self) -> &'static str {
        "pg_verify"
    }

    fn report(&self, _journal_records: u64) -> tradetrail_core::ComponentReport {
        use tradetrail_core::Gauge;
        let last = self.last();
        let mut gauges = vec![
            Gauge::count(
                "runs_total",
                "Scheduled `pg verify` runs that reached the end.",
                self.runs.load(Ordering::Relaxed),
            ),
            Gauge::count(
                "differing_runs_total",
                "Scheduled `pg verify` runs that found the mirror differing from the journal.",
                self.differing_runs.load(Ordering::Relaxed),
            ),
        ];
        if let Some(r) = &last.report {
            gauges.extend([
                Gauge::level(
                    "ok",
                    "1 when the last scheduled `pg verify` found the mirror equal to the journal, else 0.",
                    if r.ok { 1.0 } else { 0.0 },
                ),
                Gauge::level(
                    "changed_rows",
                    "Rows whose line or hash differ from the journal, at the last run.",
                    r.changed_count as f64,
                ),
                Gauge::level(
                    "missing_rows",
                    "Journal records with no row (below the mirror's last seq), at the last run.",
                    r.missing_count as f64,
                ),
                Gauge::level(
                    "extra_rows",
                    "Rows that are no journal record, at the last run.",
                    r.extra_count as f64,
                ),
                Gauge::level(
                    "duration_seconds",
                    "How long the last scheduled `pg verify` took.",
                    last.seconds,
                ),
            ]);
        }
        if let Some(at) = last.at {
            gauges.push(Gauge::level(
                "seconds_since_run",
                "Seconds since the last scheduled `pg verify` ended.",
                at.elapsed().as_secs_f64(),
            ));
        }
        let (healthy, detail) = match (&last.failed, &last.report) {
            (Some(why), _) => (false, format!("{}: could not verify: {why}", self.url)),
            (None, Some(r)) if r.ok => (
                true,
                format!("{}: equal to the journal ({} rows)", self.url, r.equal),
            ),
            (None, Some(r)) => (false, differs(r)),
            (None, None) => (true, format!("{}: first run not done yet", self.url)),
        };
        tradetrail_core::ComponentReport {
            healthy,
            detail,
            gauges,
        }
    }
}

/// One line for a report that differs.
fn differs(r: &VerifyReport) -> String {
    if let Some(why) = &r.journal_refused {
        return format!(
            "{}: the journal is refused: {why} (run `tradetrail verify`)",
            r.url
        );
    }
    let first = r
        .changed
        .first()
        .map(|c| c.seq)
        .or(r.missing.first().map(|m| m.first))
        .or(r.extra.first().map(|s| u64::try_from(*s).unwrap_or(0)));
    format!(
        "{}: DIFFERS from the journal: {} changed, {} missing, {} extra{} (run `tradetrail pg verify`)",
        r.url,
        r.changed_count,
        r.missing_count,
        r.extra_count,
        first.map_or(String::new(), |s| format!("; first at seq {s}"))
    )
}

/// [`verify`] every `every` on its own thread, from the first run right after start.
#[derive(Debug)]
pub struct Verifier(Background<VerifyState>);

impl Verifier {
    /// Starts verifying `url` against `dir`'s journal every `every`.
    pub fn spawn(dir: &DataDir, url: &str, every: Duration) -> std::io::Result<Verifier> {
        let state = VerifyState {
            url: crate::redact(url),
            runs: AtomicU64::new(0),
            differing_runs: AtomicU64::new(0),
            last: Mutex::new(Last::default()),
        };
        let (dir, url) = (dir.clone(), url.to_string());
        Background::spawn("pg-verify", state, move |flag, shared| {
            while !flag.load(Ordering::Relaxed) {
                let t = Instant::now();
                let result = verify(&dir, &url);
                let mut last = shared.last();
                last.at = Some(Instant::now());
                last.seconds = t.elapsed().as_secs_f64();
                match result {
                    Ok(r) => {
                        shared.runs.fetch_add(1, Ordering::Relaxed);
                        if r.ok {
                            tracing::info!(url = %r.url, rows = r.equal, "pg verify: the mirror equals the journal");
                        } else {
                            shared.differing_runs.fetch_add(1, Ordering::Relaxed);
                            tracing::error!(detail = %differs(&r), "pg verify: the mirror DIFFERS from the journal");
                        }
                        last.failed = None;
                        last.report = Some(r);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "pg verify: could not run; trying again at the next interval");
                        last.failed = Some(e.to_string());
                    }
                }
                drop(last);
                crate::follow::sleep_unless(flag, every);
            }
        })
        .map(Verifier)
    }

    /// What the verifier reports to `/metrics` and `/healthz`.
    pub fn component(&self) -> Arc<dyn tradetrail_core::Component> {
        self.0.component()
    }

    /// Stops the verifier after its current run and waits for it.
    pub fn stop(self) {
        self.0.stop();
    }
}
