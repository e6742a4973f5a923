//! Errors of backup, restore and export.

use std::path::PathBuf;

/// What can go wrong. Each variant says what the caller should do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The backup (or the source being backed up, or the journal being exported) does
    /// not verify: a record, a hash, a checkpoint or the manifest is not what it should
    /// be. Nothing was restored or written. Report it; do not trust that copy.
    #[error("{file}: {reason}")]
    Refused {
        /// The file (as named in the backup or the data directory) that failed.
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A request the caller must change: a bad location, a destination that is not
    /// empty, a selection that matches nothing. Nothing was written.
    #[error("{what}: {reason}")]
    BadInput {
        /// The argument or input at fault.
        what: String,
        /// Why.
        reason: String,
    },
    /// A local file could not be read or written. Fix the cause and run again.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The object store failed (network, credentials, bucket). Fix the cause and run
    /// again; a backup whose manifest was not written is not taken for a complete one.
    #[error("{location}: {reason}")]
    Store {
        /// The store and object.
        location: String,
        /// The store's error.
        reason: String,
    },
    /// The data directory could not be opened or read.
    #[error(transparent)]
    Core(#[from] tradetrail_core::Error),
    /// The journal could not be read.
    #[error(transparent)]
    Journal(#[from] tradetrail_journal::Error),
    /// The data directory could not be opened through the one door (damaged, or
    /// contradicting a signed checkpoint). Run `tradetrail verify`.
    #[error(transparent)]
    Door(#[from] tradetrail_store::Error),
    /// The query index failed.
    #[error(transparent)]
    Query(#[from] tradetrail_query::Error),
}

impl Error {
    pub(crate) fn refused(file: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::Refused {
            file: file.into(),
            reason: reason.into(),
        }
    }
    pub(crate) fn bad(what: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::BadInput {
            what: what.into(),
            reason: reason.into(),
        }
    }
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
