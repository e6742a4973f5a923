//! The reports crate's error type, and the checked arithmetic that reports it.

use rust_decimal::Decimal;

/// What can go wrong making a report.
///
/// Each variant says what the caller should do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request is wrong: an unparseable date, month or year, an empty range, an
    /// unknown report kind or format, flags that contradict each other. Nothing was
    /// read. Fix the input (CLI exit 2, HTTP 400).
    #[error("{field}: {reason}")]
    BadInput {
        /// The flag or parameter at fault (`--date`, `--month`, `kind`, ...).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading the journal through the query index failed; see the inner error
    /// (a bad filter is reported as [`Error::BadInput`] by [`Error::is_bad_input`]).
    #[error(transparent)]
    Query(#[from] tradetrail_query::Error),
    /// Writing the report failed (a closed pipe, a full disk). Report it.
    #[error("writing the report: {0}")]
    Io(#[from] std::io::Error),
    /// A record's numbers are too large to compute with: `what` overflows a decimal
    /// (±7.9 × 10^28). Validation refuses such values now (quantities and prices are at
    /// most 10^12), but a journal written by an older version may hold them, and the
    /// journal is append-only. Append a `reconciliation.correction` of the fill
    /// (`target` `fill`, `field` `quantity`, `price` or `commission`, `broker_value` the
    /// right figure), which the books use instead, or report on a range before the
    /// record (CLI exit 3, HTTP 500 with the message in the server's log).
    #[error(
        "record {seq}: {what} overflows a decimal (±7.9e28); the report cannot be computed \
         past it: append a reconciliation.correction of the fill, or report on a range before it"
    )]
    Overflow {
        /// The record whose numbers overflow (for a figure summed over many records,
        /// the last record added to it).
        seq: u64,
        /// The computation and the fields in it.
        what: String,
    },
    /// The books could not be derived; see the inner error.
    #[error(transparent)]
    Books(tradetrail_books::Error),
    /// A chart could not be drawn. A bug: report it with the report's request.
    #[error("drawing the chart {chart:?}: {reason}")]
    Chart {
        /// The chart's title.
        chart: String,
        /// What the charting library said.
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

    /// True for errors in the request rather than in the data or the machine.
    pub fn is_bad_input(&self) -> bool {
        match self {
            Error::BadInput { .. } => true,
            Error::Query(e) => e.is_bad_input(),
            _ => false,
        }
    }
}

impl From<tradetrail_books::Error> for Error {
    fn from(e: tradetrail_books::Error) -> Error {
        match e {
            tradetrail_books::Error::Overflow { seq, what } => Error::Overflow { seq, what },
            other => Error::Books(other),
        }
    }
}

/// `a + b`, or the overflow of record `seq` computing `what`.
pub(crate) fn add(a: Decimal, b: Decimal, seq: u64, what: &str) -> Result<Decimal> {
    a.checked_add(b).ok_or_else(|| Error::Overflow {
        seq,
        what: format!("{what} ({a} + {b})"),
    })
}

/// `a − b`, or the overflow of record `seq` computing `what`.
pub(crate) fn sub(a: Decimal, b: Decimal, seq: u64, what: &str) -> Result<Decimal> {
    a.checked_sub(b).ok_or_else(|| Error::Overflow {
        seq,
        what: format!("{what} ({a} − {b})"),
    })
}

/// `a × b`, or the overflow of record `seq` computing `what`.
pub(crate) fn mul(a: Decimal, b: Decimal, seq: u64, what: &str) -> Result<Decimal> {
    a.checked_mul(b).ok_or_else(|| Error::Overflow {
        seq,
        what: format!("{what} ({a} × {b})"),
    })
}

/// `a ÷ b`, or the overflow of record `seq` computing `what` (`b` must not be zero).
pub(crate) fn div(a: Decimal, b: Decimal, seq: u64, what: &str) -> Result<Decimal> {
    a.checked_div(b).ok_or_else(|| Error::Overflow {
        seq,
        what: format!("{what} ({a} ÷ {b})"),
    })
}

/// The reports crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
