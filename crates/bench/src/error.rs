//! What can stop a bench: the measured library's own error (shown as it is), or the
//! bench's scratch space.

use std::path::PathBuf;

/// A bench that could not finish. The library variants display the library's error
/// unchanged and keep it as the source, so callers can tell bad input from damage.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The scratch directory could not be made: `--dir` must be a writable directory
    /// (on the disk to measure).
    #[error("creating a scratch directory in {}: {source}", dir.display())]
    Scratch {
        /// The directory it was to be made in.
        dir: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The bench's worker thread panicked (a bug: report it).
    #[error("{0} panicked")]
    Panicked(&'static str),
    /// The async runtime of a bench could not start.
    #[error("starting the async runtime: {0}")]
    Runtime(std::io::Error),
    /// The data directory, recorder or journal.
    #[error("{0}")]
    Core(#[from] tradetrail_core::Error),
    /// The journal.
    #[error("{0}")]
    Journal(#[from] tradetrail_journal::Error),
    /// The query index.
    #[error("{0}")]
    Query(#[from] tradetrail_query::Error),
    /// The archive.
    #[error("{0}")]
    Archive(#[from] tradetrail_archive::Error),
    /// The PostgreSQL mirror.
    #[error("{0}")]
    Pg(#[from] tradetrail_pg::Error),
    /// Ingest from NATS.
    #[error("{0}")]
    Nats(#[from] tradetrail_ingest::Error),
    /// The nats-server started for the run.
    #[error("{0}")]
    NatsServer(#[from] tradetrail_ingest::server::ServerError),
}

/// A bench's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
