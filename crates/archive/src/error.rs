//! The archive's error type.

use std::path::PathBuf;

/// Everything that can go wrong while archiving, verifying, planning retention or
/// running SQL. Each variant says what the caller should do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file operation failed. Report it; re-running the command after the cause is
    /// fixed resumes where it stopped (nothing half-written is ever counted).
    #[error("{op} {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The journal refused or failed.
    #[error(transparent)]
    Journal(#[from] tradetrail_journal::Error),
    /// The data directory (configuration, recorder) refused or failed.
    #[error(transparent)]
    Core(#[from] tradetrail_core::Error),
    /// A Parquet file could not be written or read.
    #[error("{path}: {source}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// What the parquet crate said.
        source: parquet::errors::ParquetError,
    },
    /// Building Arrow arrays failed (a bug if it happens: the schema is fixed).
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// A journal record cannot be archived because the journal is not intact there.
    /// Run `tradetrail verify`; nothing was archived past the record before it.
    #[error("record {seq}: {reason}")]
    Chain {
        /// The record.
        seq: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// The archive is not what its manifests say. Run `tradetrail verify`, restore
    /// the partition from a backup.
    #[error("{path}: {reason}")]
    Corrupt {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Bad input from the user (arguments, a retention rule): nothing was written.
    #[error("{0}")]
    BadInput(String),
    /// Object storage could not be reached or refused a request (`archive --to`,
    /// `verify --archive`). Fix the cause and run again: what was uploaded is kept,
    /// and no manifest in the bucket names an object that is not complete.
    #[error(transparent)]
    Store(#[from] tradetrail_objstore::Error),
    /// The archive in the bucket disagrees with the local one (another journal's
    /// archive under the same prefix, an object changed after it was uploaded).
    /// Nothing was overwritten; the message says what to do.
    #[error("{url}: {reason}")]
    Remote {
        /// `s3://bucket/prefix/key`.
        url: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// The upload was stopped before it was done. Run it again: what was uploaded
    /// completely is kept, and nothing half-written is counted.
    #[error("interrupted after {done} bytes were uploaded or checked; run the command again to finish (what was uploaded is kept)")]
    Interrupted {
        /// Bytes uploaded or checked before the stop.
        done: u64,
    },
    /// The SQL engine refused the query or failed running it.
    #[error("sql: {0}")]
    Sql(String),
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            op,
            source,
        }
    }
}

/// The archive's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
