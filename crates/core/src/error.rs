//! Errors of the tradetrail core.

use std::path::PathBuf;

/// What can go wrong above the journal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The journal failed (I/O, disk full, corruption, poisoned). See its variants.
    #[error(transparent)]
    Journal(#[from] tradetrail_journal::Error),
    /// An event failed validation: every field and reason.
    #[error("invalid event: {0}")]
    Invalid(#[from] tradetrail_model::ValidationErrors),
    /// A file outside the journal (configuration) could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// `tradetrail.toml` is not valid. Fix the named setting.
    #[error("{path}: {reason}")]
    Config {
        /// The configuration file.
        path: PathBuf,
        /// The setting and what is wrong with it.
        reason: String,
    },
    /// The Merkle tree's derived files could not be read or written.
    #[error("merkle tree: {0}")]
    Merkle(#[from] tradetrail_merkle::MerkleError),
    /// A proof did not verify.
    #[error("proof does not verify: {0}")]
    Proof(#[from] tradetrail_merkle::ProofError),
    /// A key file is missing, unreadable, malformed or not private enough.
    #[error("signing key: {0}")]
    Key(#[from] tradetrail_checkpoint::KeyError),
    /// A checkpoint note is malformed or not signed by the expected key.
    #[error("checkpoint: {0}")]
    Note(#[from] tradetrail_checkpoint::NoteError),
    /// An argument of a call is not acceptable: fix the named field.
    #[error("{field}: {reason}")]
    BadArgument {
        /// The argument.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A seq or size outside the journal. Ask for one inside it.
    #[error("{reason}")]
    OutOfRange {
        /// What is out of range.
        reason: String,
    },
    /// The journal contradicts a checkpoint this data directory signed: it holds
    /// fewer records than the checkpoint covers, or other ones. Nothing may be
    /// appended or signed on top of it. Run `tradetrail verify` and restore from a
    /// backup.
    #[error(
        "the journal contradicts the signed checkpoint {checkpoint} (tree size {size}): {reason}; \
         nothing was written: run `tradetrail verify` and restore from a backup"
    )]
    Contradicts {
        /// The checkpoint file.
        checkpoint: PathBuf,
        /// Its tree size.
        size: u64,
        /// How the journal contradicts it.
        reason: String,
    },
    /// `tradetrail.toml` names another origin than the journal's record 0: the
    /// configuration belongs to another journal. Put the right file back.
    #[error(
        "{config}: origin {configured:?} is not this journal's ({recorded:?}, in record 0): \
         the configuration belongs to another journal"
    )]
    OriginMismatch {
        /// The configuration file.
        config: PathBuf,
        /// The origin it names.
        configured: String,
        /// The origin record 0 names.
        recorded: String,
    },
    /// A checkpoint file given to a command is not one of this journal's: unreadable,
    /// malformed, not signed by its key, or for another origin. Give the right file.
    #[error("--checkpoint {path}: {reason}")]
    CheckpointFile {
        /// The file given.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An input's `event_id` is recorded already, or repeated earlier in the input,
    /// with another body. Nothing of the input was written: give the event an
    /// `event_id` of its own (a retry must repeat the recorded event exactly).
    #[error(
        "entry {index}: {} is already used by {first} with a different body; nothing was \
         written: give this event an event_id of its own (a retry must repeat the first \
         event exactly)",
        event_id.as_deref().map_or_else(|| "its event_id".to_string(), |id| format!("event_id {id}"))
    )]
    Repeated {
        /// The refused entry's position in the input (0-based).
        index: usize,
        /// Its `event_id`, when it could be read back.
        event_id: Option<String>,
        /// Where the first body with that `event_id` is.
        first: FirstBody,
    },
    /// The receipts of an append could not be handed on (their output failed). What
    /// was submitted before is recorded; see `tradetrail status` for where it ends.
    #[error("receipts could not be written: {0}")]
    Receipts(#[source] std::io::Error),
    /// A bug or an impossible state; report it.
    #[error("internal error: {0}")]
    Internal(String),
    /// `init` found an existing data directory.
    #[error("{path} already holds a tradetrail journal")]
    AlreadyInitialized {
        /// The data directory.
        path: PathBuf,
    },
    /// The data directory has no journal.
    #[error("{path} is not a tradetrail data directory (no tradetrail.toml); run `tradetrail init --data {path}` first")]
    NotInitialized {
        /// The data directory.
        path: PathBuf,
    },
}

/// Where the first body of a repeated `event_id` is ([`Error::Repeated`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstBody {
    /// In the journal, as this record.
    Record(u64),
    /// Earlier in the same input, at this position (0-based).
    Input(usize),
}

impl std::fmt::Display for FirstBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FirstBody::Record(seq) => write!(f, "record {seq}"),
            FirstBody::Input(i) => write!(f, "entry {i} of the input"),
        }
    }
}

/// The core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
