//! The reports crate's error type.

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

/// The reports crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
