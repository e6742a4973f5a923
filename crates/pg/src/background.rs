//! A mirror task on a thread of its own beside the server (the follower, the
//! scheduled verify): started at a lower priority than appends, stopped by a flag,
//! reporting to `/metrics` and `/healthz` through its shared state.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// How much lower than the server's own threads the mirror's threads run (a nice
/// value): on a busy machine appends keep the CPU, and the mirror catches up when it is
/// free. On an idle machine it changes nothing.
const NICER: i32 = 10;

/// Lowers the calling thread's priority by [`NICER`] (Linux: a thread's nice value is
/// its own). Failing to is no reason not to mirror; it is logged.
fn yield_to_appends() {
    let tid = rustix::thread::gettid();
    let now = rustix::process::getpriority_process(Some(tid)).unwrap_or(0);
    if let Err(e) = rustix::process::setpriority_process(Some(tid), (now + NICER).min(19)) {
        tracing::debug!(error = %e, "pg mirror: could not lower the thread's priority");
    }
}

/// A running task and the state it shares.
#[derive(Debug)]
pub(crate) struct Background<S> {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
    state: Arc<S>,
}

impl<S: tradetrail_core::Component + Send + Sync + 'static> Background<S> {
    /// Runs `task(stop, state)` on a thread named `name`, at a lower priority; the task
    /// returns once `stop` is set.
    pub(crate) fn spawn(
        name: &str,
        state: S,
        task: impl FnOnce(&AtomicBool, &S) + Send + 'static,
    ) -> std::io::Result<Background<S>> {
        let stop = Arc::new(AtomicBool::new(false));
        let state = Arc::new(state);
        let (flag, shared) = (stop.clone(), state.clone());
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                yield_to_appends();
                task(&flag, &shared);
            })?;
        Ok(Background {
            stop,
            thread,
            state,
        })
    }

    /// What the task reports to `/metrics` and `/healthz`.
    pub(crate) fn component(&self) -> Arc<dyn tradetrail_core::Component> {
        self.state.clone()
    }

    /// Sets the stop flag and waits for the task to return.
    pub(crate) fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}
