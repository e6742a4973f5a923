//! The query crate's error type.

use std::path::PathBuf;

/// What can go wrong answering a question.
///
/// Each variant says what the caller should do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The question itself is wrong: an unparseable time, an empty range, an unknown
    /// dimension, a bad window. Nothing was read. Fix the input (CLI exit 2, HTTP 400).
    #[error("{field}: {reason}")]
    BadInput {
        /// The argument or parameter at fault (`--from`, `window`, `by`, ...).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading the journal failed (I/O, or bytes that are not a journal). Run
    /// `tradetrail verify` and report; the index never answers past the journal.
    #[error(transparent)]
    Journal(#[from] tradetrail_journal::Error),
    /// The index's own files could not be read or written (not damage, which is
    /// repaired by a rebuild: permissions, a full disk). Fix the cause; the index
    /// under `DIR/index/query` may be deleted at any time.
    #[error("query index {path}: {source}")]
    Io {
        /// The index file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The journal has no record where the index says one is: the journal changed
    /// under a running reader in a way appending cannot (restored, truncated). Reopen,
    /// which revalidates and rebuilds the index.
    #[error("the journal changed under the query index: {reason}")]
    Stale {
        /// What did not match.
        reason: String,
    },
}

impl Error {
    /// A [`Error::BadInput`] for `field`.
    pub fn bad_input(field: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::BadInput {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// True for errors in the question rather than in the data or the machine.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, Error::BadInput { .. })
    }
}

/// The query crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
