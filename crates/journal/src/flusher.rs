//! Background flushing of records acknowledged under `os` durability.
//!
//! Records acknowledged when written to the OS sit in the page cache until something
//! syncs them. Left alone, a whole segment's worth can pile up, and sealing it at
//! rotation (which must sync it) would then stall every producer for as long as the
//! disk takes to write tens of megabytes. So once `FLUSH_BYTES` are unsynced the writer
//! wakes this thread, which takes the syncer role like any waiting producer would —
//! without holding up the writer. Started on first need, so small journals (and tests)
//! never have the thread.

use std::sync::{Arc, Condvar, Mutex, Weak};

/// Unsynced bytes that wake the flusher.
pub(crate) const FLUSH_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, Default)]
struct Signal {
    wake: bool,
    stop: bool,
    started: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Flusher {
    signal: Arc<(Mutex<Signal>, Condvar)>,
}

impl Flusher {
    /// Asks for a background sync, starting the thread the first time.
    pub(crate) fn wake_with(&self, start: impl FnOnce(FlusherHandle)) {
        let (m, cv) = &*self.signal;
        let mut s = m.lock().unwrap_or_else(|p| p.into_inner());
        s.wake = true;
        if !s.started {
            s.started = true;
            start(FlusherHandle {
                signal: self.signal.clone(),
            });
        }
        cv.notify_one();
    }

    /// Stops the thread (when the journal is dropped).
    pub(crate) fn stop(&self) {
        let (m, cv) = &*self.signal;
        m.lock().unwrap_or_else(|p| p.into_inner()).stop = true;
        cv.notify_one();
    }
}

/// What the flusher thread holds.
pub(crate) struct FlusherHandle {
    signal: Arc<(Mutex<Signal>, Condvar)>,
}

impl FlusherHandle {
    /// Runs until stopped or until `target` is gone, calling `sync` on each wake-up.
    pub(crate) fn run<T>(self, target: Weak<T>, sync: impl Fn(Arc<T>)) {
        let (m, cv) = &*self.signal;
        loop {
            {
                let mut s = m.lock().unwrap_or_else(|p| p.into_inner());
                while !s.wake && !s.stop {
                    s = cv.wait(s).unwrap_or_else(|p| p.into_inner());
                }
                if s.stop {
                    return;
                }
                s.wake = false;
            }
            let Some(t) = target.upgrade() else { return };
            sync(t);
        }
    }
}
