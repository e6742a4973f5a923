//! How a journal is opened: rotation, durability, storage and clock.

use std::fmt::Debug;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::storage::{FsStorage, Storage};

/// When an append is acknowledged.
///
/// Ordered from weakest to strongest, so a batch waits for the strongest of its entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Durability {
    /// Acknowledged once written to the operating system (`write` returned). Survives a
    /// crash of the process, not of the machine.
    #[default]
    Os,
    /// Acknowledged once `fdatasync` returned for it (group commit: one sync covers
    /// every record written before it). Survives a crash of the machine.
    Fsync,
}

impl Durability {
    /// The name used in configuration and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Os => "os",
            Durability::Fsync => "fsync",
        }
    }
}

impl FromStr for Durability {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "os" => Ok(Durability::Os),
            "fsync" => Ok(Durability::Fsync),
            other => Err(format!(
                "unknown durability {other:?} (expected \"os\" or \"fsync\")"
            )),
        }
    }
}

/// A source of wall-clock time, so tests can step it back or across midnight.
pub trait Clock: Send + Sync + Debug {
    /// ns since the Unix epoch, UTC.
    fn now_ns(&self) -> i64;
}

/// The system's real-time clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ns(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
            Err(_) => 0,
        }
    }
}

/// Options for creating or opening a journal.
#[derive(Debug, Clone)]
pub struct JournalOptions {
    /// A segment is sealed and a new one started once it would grow past this many
    /// bytes (a single record larger than this gets a segment of its own).
    pub segment_max_bytes: u64,
    /// Also start a new segment at the first record of each UTC day.
    pub rotate_daily: bool,
    /// Where the bytes go.
    pub storage: Arc<dyn Storage>,
    /// Where `ts_recorded` comes from.
    pub clock: Arc<dyn Clock>,
}

impl Default for JournalOptions {
    fn default() -> Self {
        JournalOptions {
            segment_max_bytes: 64 * 1024 * 1024,
            rotate_daily: true,
            storage: Arc::new(FsStorage),
            clock: Arc::new(SystemClock),
        }
    }
}

impl JournalOptions {
    /// Replaces the storage (tests put fault-injecting doubles here).
    pub fn with_storage(mut self, storage: Arc<dyn Storage>) -> Self {
        self.storage = storage;
        self
    }
    /// Replaces the clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
    /// Sets the segment size limit.
    pub fn with_segment_max_bytes(mut self, bytes: u64) -> Self {
        self.segment_max_bytes = bytes;
        self
    }
    /// Turns rotation at UTC midnight on or off.
    pub fn with_rotate_daily(mut self, on: bool) -> Self {
        self.rotate_daily = on;
        self
    }
}
