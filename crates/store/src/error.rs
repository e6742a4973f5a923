//! The door's error type.

use std::path::PathBuf;

/// Everything that can keep a data directory from being opened, verified or repaired.
/// Each variant says what the caller should do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The journal refused or failed (a damaged record is
    /// [`tradetrail_journal::Error::Damaged`]: run `verify`, restore or `repair`).
    #[error(transparent)]
    Journal(#[from] tradetrail_journal::Error),
    /// The data directory (configuration, recorder, checkpoints) refused or failed.
    #[error(transparent)]
    Core(#[from] tradetrail_core::Error),
    /// The archive could not be read as the journal's cold tier. Run `tradetrail verify`.
    #[error("the archive of {path}: {source}")]
    Archive {
        /// The data directory.
        path: PathBuf,
        /// What the archive said.
        source: Box<tradetrail_archive::Error>,
    },
    /// The query index could not be read to check it (not damage, which is a failed
    /// check: permissions, I/O). Fix the cause; the index may be deleted at any time.
    #[error("checking the query index: {0}")]
    Index(Box<tradetrail_query::Error>),
    /// A repair was refused. Nothing was changed.
    #[error("repair refused: {0}")]
    Repair(String),
    /// A peer replica could not be asked (unreachable, refused the token, answered
    /// something else than a tradetrail server would). Check `--peer` and `--token`.
    #[error("the peer {peer}: {reason}")]
    Peer {
        /// The peer, as given.
        peer: String,
        /// What went wrong.
        reason: String,
    },
}

impl Error {
    /// True when the error means the data directory is damaged or was tampered
    /// with (exit 1 in the CLI), as opposed to a usage or I/O problem.
    pub fn is_damage(&self) -> bool {
        matches!(
            self,
            Error::Core(
                tradetrail_core::Error::Contradicts { .. }
                    | tradetrail_core::Error::OriginMismatch { .. }
            ) | Error::Journal(tradetrail_journal::Error::Damaged { .. })
                | Error::Journal(tradetrail_journal::Error::Corrupt { .. })
                | Error::Journal(tradetrail_journal::Error::Gap { .. })
                | Error::Core(tradetrail_core::Error::Journal(
                    tradetrail_journal::Error::Damaged { .. }
                        | tradetrail_journal::Error::Corrupt { .. }
                        | tradetrail_journal::Error::Gap { .. }
                ))
        )
    }
}

impl From<tradetrail_archive::Error> for Error {
    fn from(e: tradetrail_archive::Error) -> Error {
        match e {
            tradetrail_archive::Error::Journal(j) => Error::Journal(j),
            tradetrail_archive::Error::Core(c) => Error::Core(c),
            e => Error::Archive {
                path: PathBuf::new(),
                source: Box::new(e),
            },
        }
    }
}

/// The door's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
