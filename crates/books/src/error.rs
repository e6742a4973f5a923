//! The books crate's one error type.

use std::path::PathBuf;

/// What went wrong deriving books or reconciling a statement.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The journal could not be read. Report it; `tradetrail verify` says more.
    #[error(transparent)]
    Journal(#[from] tradetrail_journal::Error),
    /// Recording through the data directory failed (validation, I/O, not writable).
    /// Nothing of the batch was written; report and retry once the cause is fixed.
    #[error(transparent)]
    Core(#[from] tradetrail_core::Error),
    /// A journal record is not the JSON the journal writes. Run `tradetrail verify`.
    #[error("record {seq}: {reason}")]
    Record {
        /// The record's seq.
        seq: u64,
        /// Why it could not be read.
        reason: String,
    },
    /// A broker statement is malformed: `location` names the element or line.
    /// Fix the file (or its export settings) and run again; nothing was written.
    #[error("{path}: {location}: {reason}")]
    Statement {
        /// The statement file (or a label when read from memory).
        path: String,
        /// Where: `line 12`, `<Trade> #3 (line 40)`, `trades[2].price`, ...
        location: String,
        /// What is wrong.
        reason: String,
    },
    /// Bad input from the caller (a review id that does not exist, an actor that is
    /// not an actor, ...). Nothing was written.
    #[error("{0}")]
    Invalid(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// The crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
