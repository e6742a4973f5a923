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
    /// A record's numbers are too large for the books' arithmetic: `what` (e.g.
    /// `data.fill_qty × data.fill_price × multiplier`) overflows a decimal (±7.9 × 10^28).
    /// Validation refuses such values (quantities and prices are at most 10^12), but a
    /// journal written by an older version may hold them, and the journal is
    /// append-only. Nothing was derived. Append a `reconciliation.correction` of its fill (`target` `fill`, `field`
    /// `quantity`, `price` or `commission`, `broker_value` the right figure), which the
    /// books use instead, or ask for the books as of an instant before the record.
    #[error(
        "record {seq}: {what} overflows a decimal (±7.9e28); the books cannot be derived \
         past it: append a reconciliation.correction of the fill, or ask for an instant before it"
    )]
    Overflow {
        /// The record whose numbers overflow (`u64::MAX` for a fill that is not in the
        /// journal, e.g. a broker's trade added by a reconciliation).
        seq: u64,
        /// The computation and the fields in it, e.g. `data.fill_qty × data.fill_price × multiplier`.
        what: String,
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
    /// Four eyes: the actor resolving a review is the one who requested it. Another
    /// person must resolve it. Nothing was written.
    #[error(
        "review {id}: {actor} requested it and may not also resolve it (four eyes): \
         another person must resolve it"
    )]
    FourEyes {
        /// The review.
        id: String,
        /// Who requested it and tried to resolve it.
        actor: String,
    },
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

impl Error {
    /// An [`Error::Overflow`] of record `seq`.
    pub(crate) fn overflow(seq: u64, what: impl Into<String>) -> Error {
        Error::Overflow {
            seq,
            what: what.into(),
        }
    }
}
