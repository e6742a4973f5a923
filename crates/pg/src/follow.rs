//! Keeping the mirror current: [`crate::sync`] again and again, as `pg sync --follow` and
//! `serve --pg-url` do.
//!
//! The journal never waits for PostgreSQL: the follower is only another reader of the
//! journal. When the database is down or refuses a statement, the pass fails, the
//! follower waits (doubling from the interval up to `max_backoff`) and tries again,
//! and the next pass that connects copies everything recorded meanwhile, in seq order
//! from the mirror's last row. Damage and contradictions ([`Error::is_damage`]) and
//! bad set-up ([`Error::is_bad_input`]) end it: retrying cannot fix them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tradetrail_core::DataDir;
use tradetrail_store::{ReadStore, Store};

use crate::background::Background;

use crate::{Error, Result, Session, SyncOptions, SyncReport};

/// How the follower paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowOptions {
    /// How `sync` copies.
    pub sync: SyncOptions,
    /// The wait between passes.
    pub interval: Duration,
    /// The longest wait after failed passes.
    pub max_backoff: Duration,
}

impl Default for FollowOptions {
    fn default() -> FollowOptions {
        FollowOptions {
            sync: SyncOptions::default(),
            interval: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// One pass of the follower, as its caller hears of it.
#[derive(Debug)]
pub enum Pass {
    /// The pass reached the journal's end.
    Synced(SyncReport),
    /// The pass failed and will be tried again after `retry_in`.
    Failed {
        /// Why.
        error: Error,
        /// The wait before the next pass.
        retry_in: Duration,
    },
}

/// Whether a failed pass may succeed when tried again.
fn transient(e: &Error) -> bool {
    !(e.is_damage() || e.is_bad_input())
}

/// Runs [`Session::sync`] every `interval` until `stop` is set, telling `on_pass` after every
/// pass. Returns `Ok` when stopped, or the error that ended it (see the module doc).
pub fn follow(
    dir: &DataDir,
    url: &str,
    opts: &FollowOptions,
    stop: &AtomicBool,
    on_pass: &mut dyn FnMut(&Pass),
) -> Result<()> {
    let mut backoff = opts.interval;
    // One connection (and its sync lock) across passes; a failed pass drops it and the
    // next one connects again. Likewise the data directory, opened through the read
    // door (its checks, the signed checkpoint's included, are made when it is opened:
    // the passes after it check each record copied against the one before).
    let mut session: Option<Session> = None;
    let mut read: Option<ReadStore> = None;
    while !stop.load(Ordering::Relaxed) {
        let pass = match read.take() {
            Some(r) => Ok(r),
            None => Store::open_read(dir).map_err(Error::from),
        }
        .and_then(|r| {
            let s = match session.take() {
                Some(s) => Ok(s),
                None => Session::open(url, &opts.sync),
            };
            let report = s.and_then(|mut s| {
                let report = s.sync(&r, &opts.sync)?;
                session = Some(s);
                Ok(report)
            })?;
            read = Some(r);
            Ok(report)
        });
        let wait = match pass {
            Ok(report) => {
                on_pass(&Pass::Synced(report));
                backoff = opts.interval;
                opts.interval
            }
            Err(error) if transient(&error) => {
                let retry_in = backoff;
                on_pass(&Pass::Failed { error, retry_in });
                backoff = (backoff * 2).min(opts.max_backoff.max(opts.interval));
                retry_in
            }
            Err(error) => return Err(error),
        };
        sleep_unless(stop, wait);
    }
    Ok(())
}

/// Sleeps for `d`, waking early when `stop` is set.
pub(crate) fn sleep_unless(stop: &AtomicBool, d: Duration) {
    let end = Instant::now() + d;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now >= end {
            return;
        }
        std::thread::sleep((end - now).min(Duration::from_millis(50)));
    }
}

/// What a running [`Follower`] has done, shared with whoever reports on it.
#[derive(Debug)]
struct MirrorState {
    url: String,
    copied: std::sync::atomic::AtomicU64,
    failed_passes: std::sync::atomic::AtomicU64,
    /// The mirror's last seq + 1 (0: nothing known yet).
    next_seq: std::sync::atomic::AtomicU64,
    /// `None` while the last pass succeeded; else why it failed (or why it stopped).
    problem: std::sync::Mutex<Option<String>>,
    last_success: std::sync::Mutex<Option<Instant>>,
}

impl MirrorState {
    fn heard(&self, pass: &Pass) {
        let set_problem = |p: Option<String>| {
            *self.problem.lock().unwrap_or_else(|e| e.into_inner()) = p;
        };
        match pass {
            Pass::Synced(r) => {
                self.copied.fetch_add(r.copied, Ordering::Relaxed);
                if let Some(last) = r.last_seq {
                    self.next_seq.store(last + 1, Ordering::Relaxed);
                }
                *self.last_success.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
                set_problem(None);
            }
            Pass::Failed { error, .. } => {
                self.failed_passes.fetch_add(1, Ordering::Relaxed);
                set_problem(Some(error.to_string()));
            }
        }
    }
}

impl tradetrail_core::Component for MirrorState {
    fn name(&self) -> &'static str {
        "pg_mirror"
    }

    fn report(&self, journal_records: u64) -> tradetrail_core::ComponentReport {
        use tradetrail_core::Gauge;
        let next = self.next_seq.load(Ordering::Relaxed);
        let lag = journal_records.saturating_sub(next);
        let since = self
            .last_success
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map(|t| t.elapsed().as_secs_f64());
        let problem = self
            .problem
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut gauges =
            vec![
            Gauge::level(
                "lag_records",
                "Journal records the PostgreSQL mirror does not hold yet.",
                lag as f64,
            ),
            Gauge::count(
                "copied_total",
                "Rows copied into the PostgreSQL mirror by this server.",
                self.copied.load(Ordering::Relaxed),
            ),
            Gauge::count(
                "failed_passes_total",
                "Mirror passes that failed (database down, statement refused) and were retried.",
                self.failed_passes.load(Ordering::Relaxed),
            ),
            Gauge::level(
                "up",
                "1 when the last mirror pass reached PostgreSQL, else 0.",
                if problem.is_none() && since.is_some() { 1.0 } else { 0.0 },
            ),
        ];
        if let Some(s) = since {
            gauges.push(Gauge::level(
                "seconds_since_success",
                "Seconds since a mirror pass last reached the journal's end.",
                s,
            ));
        }
        let detail = match (&problem, since) {
            (Some(p), _) => p.clone(),
            (None, Some(_)) => format!("{}: {lag} records behind", self.url),
            (None, None) => format!("{}: first pass not done yet", self.url),
        };
        tradetrail_core::ComponentReport {
            healthy: problem.is_none(),
            detail,
            gauges,
        }
    }
}

/// A follower on its own thread, its passes logged (`tracing`): what `serve --pg-url`
/// runs beside the server. [`Follower::component`] reports its lag and failures.
#[derive(Debug)]
pub struct Follower(Background<MirrorState>);

impl Follower {
    /// Starts following `url` from `dir`'s journal.
    pub fn spawn(dir: &DataDir, url: &str, opts: FollowOptions) -> std::io::Result<Follower> {
        let state = MirrorState {
            url: crate::redact(url),
            copied: Default::default(),
            failed_passes: Default::default(),
            next_seq: Default::default(),
            problem: Default::default(),
            last_success: Default::default(),
        };
        let (dir, url) = (dir.clone(), url.to_string());
        Background::spawn("pg-mirror", state, move |flag, shared| {
            let ended = follow(&dir, &url, &opts, flag, &mut |pass| {
                shared.heard(pass);
                match pass {
                    Pass::Synced(r) if r.copied > 0 => {
                        tracing::info!(url = %r.url, copied = r.copied, last_seq = ?r.last_seq, "pg mirror: copied");
                    }
                    Pass::Synced(_) => {}
                    Pass::Failed { error, retry_in } => {
                        tracing::warn!(%error, retry_in_s = retry_in.as_secs_f64(), "pg mirror: pass failed; trying again");
                    }
                }
            });
            if let Err(error) = ended {
                tracing::error!(%error, "pg mirror: stopped, not retried (the server goes on; fix the cause and restart it)");
                *shared.problem.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(format!("stopped: {error}"));
            }
        })
        .map(Follower)
    }

    /// What the follower reports to `/metrics` and `/healthz`.
    pub fn component(&self) -> Arc<dyn tradetrail_core::Component> {
        self.0.component()
    }

    /// Stops the follower after its current pass and waits for it.
    pub fn stop(self) {
        self.0.stop();
    }
}
