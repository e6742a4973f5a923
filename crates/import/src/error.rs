//! What can go wrong, each naming the row, the field and what to do.

/// The result of this crate's functions.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A row that cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BadRow {
    /// Its number in the source (1-based: data rows of a CSV, lines of JSON Lines,
    /// rows of a table in the order read).
    pub row: usize,
    /// Its original id, when it has one.
    pub id: Option<String>,
    /// The event field (or source column) at fault.
    pub field: String,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for BadRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.id {
            Some(id) => write!(
                f,
                "row {} (id {id}): {}: {}",
                self.row, self.field, self.reason
            ),
            None => write!(f, "row {}: {}: {}", self.row, self.field, self.reason),
        }
    }
}

/// An import that did not happen.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The mapping file is not valid; nothing was read or written.
    #[error("the mapping file: {0}")]
    Mapping(String),
    /// The source could not be read (not CSV, not JSON Lines, ...); nothing written.
    #[error("reading the source: {0}")]
    Source(String),
    /// Rows that do not make valid events; nothing was written.
    #[error("{} row(s) cannot be imported; nothing was written:\n{}", .0.len(), .0.iter().map(|b| b.to_string()).collect::<Vec<_>>().join("\n"))]
    BadRows(Vec<BadRow>),
    /// The recorder refused or failed.
    #[error(transparent)]
    Recorder(#[from] tradetrail_core::Error),
    /// The journal refused (an event_id reused with another body) or failed.
    #[error(transparent)]
    Journal(#[from] tradetrail_journal::Error),
    /// A bug: what tradetrail builds itself was not valid.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Whether the input was at fault (exit 2) rather than the machine (exit 3).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Error::Mapping(_)
                | Error::Source(_)
                | Error::BadRows(_)
                | Error::Journal(tradetrail_journal::Error::Conflict { .. })
                | Error::Journal(tradetrail_journal::Error::ConflictInBatch { .. })
        )
    }
}
