//! Keeping the mirror current: [`sync`] again and again, as `pg sync --follow` and
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

use crate::{sync, Error, Result, SyncOptions, SyncReport};

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

/// Runs [`sync`] every `interval` until `stop` is set, telling `on_pass` after every
/// pass. Returns `Ok` when stopped, or the error that ended it (see the module doc).
pub fn follow(
    dir: &DataDir,
    url: &str,
    opts: &FollowOptions,
    stop: &AtomicBool,
    on_pass: &mut dyn FnMut(&Pass),
) -> Result<()> {
    let mut backoff = opts.interval;
    while !stop.load(Ordering::Relaxed) {
        let wait = match sync(dir, url, &opts.sync) {
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
fn sleep_unless(stop: &AtomicBool, d: Duration) {
    let end = Instant::now() + d;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now >= end {
            return;
        }
        std::thread::sleep((end - now).min(Duration::from_millis(50)));
    }
}

/// A follower on its own thread, its passes logged (`tracing`): what `serve --pg-url`
/// runs beside the server.
#[derive(Debug)]
pub struct Follower {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Follower {
    /// Starts following `url` from `dir`'s journal.
    pub fn spawn(dir: &DataDir, url: &str, opts: FollowOptions) -> std::io::Result<Follower> {
        let stop = Arc::new(AtomicBool::new(false));
        let (dir, url, flag) = (dir.clone(), url.to_string(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("pg-mirror".into())
            .spawn(move || {
                let ended = follow(&dir, &url, &opts, &flag, &mut |pass| match pass {
                    Pass::Synced(r) if r.copied > 0 => {
                        tracing::info!(url = %r.url, copied = r.copied, last_seq = ?r.last_seq, "pg mirror: copied");
                    }
                    Pass::Synced(_) => {}
                    Pass::Failed { error, retry_in } => {
                        tracing::warn!(%error, retry_in_s = retry_in.as_secs_f64(), "pg mirror: pass failed; trying again");
                    }
                });
                if let Err(error) = ended {
                    tracing::error!(%error, "pg mirror: stopped, not retried (the server goes on; fix the cause and restart it)");
                }
            })?;
        Ok(Follower { stop, thread })
    }

    /// Stops the follower after its current pass and waits for it.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}
