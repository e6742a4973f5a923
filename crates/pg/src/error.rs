//! What can go wrong, each naming what and where.

use std::path::PathBuf;

/// The result of this crate's functions.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error of the PostgreSQL mirror. URLs in messages never carry a password.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database could not be reached or refused the login.
    #[error("connecting to PostgreSQL at {url}: {reason}")]
    Connect {
        /// The URL, password removed.
        url: String,
        /// The client's error, in full (see [`describe`]).
        reason: String,
    },
    /// A statement failed.
    #[error("PostgreSQL at {url}: {what}: {reason}")]
    Db {
        /// The URL, password removed.
        url: String,
        /// What was being done.
        what: String,
        /// The client's error, in full (see [`describe`]).
        reason: String,
    },
    /// The URL could not be parsed.
    #[error("invalid PostgreSQL URL {url}: {reason}")]
    Url {
        /// The URL, password removed.
        url: String,
        /// The parser's error.
        reason: String,
    },
    /// `pg init` has not been run against this database.
    #[error("PostgreSQL at {url}: there is no tradetrail.events table (run `tradetrail pg init --url ...` first, as an administrator)")]
    NotInitialized {
        /// The URL, password removed.
        url: String,
    },
    /// The database was set up by a newer tradetrail, or its set-up contradicts the
    /// one asked for.
    #[error("PostgreSQL at {url}: {reason}")]
    Setup {
        /// The URL, password removed.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// A role name that is not a plain lowercase identifier.
    #[error("invalid role name {name:?} for the {what} role: use lowercase letters, digits and _, starting with a letter or _ (at most 63)")]
    RoleName {
        /// Which role (owner, writer, compliance, trader).
        what: &'static str,
        /// The name given.
        name: String,
    },
    /// Another `pg sync` holds the mirror.
    #[error("PostgreSQL at {url}: another `tradetrail pg sync` is copying into this mirror; try again when it has finished")]
    Busy {
        /// The URL, password removed.
        url: String,
    },
    /// The data directory could not be read through the one door.
    #[error("{0}")]
    Store(#[from] tradetrail_store::Error),
    /// Reading the journal failed.
    #[error("reading the journal at {}: {source}", path.display())]
    Journal {
        /// The journal directory.
        path: PathBuf,
        /// The journal's error.
        #[source]
        source: tradetrail_journal::Error,
    },
    /// A journal record that cannot be mirrored as it is: not a record, or its `prev`
    /// does not name the record before it.
    #[error("the journal at {}: record {seq}: {reason}", path.display())]
    Record {
        /// The journal directory.
        path: PathBuf,
        /// The record's seq.
        seq: u64,
        /// What is wrong.
        reason: String,
    },
    /// The mirror already disagrees with the journal where `sync` would continue it.
    #[error("PostgreSQL at {url}: the mirror disagrees with the journal at seq {seq}: {reason}; nothing was copied (run `tradetrail pg verify`)")]
    Diverged {
        /// The URL, password removed.
        url: String,
        /// The seq where they disagree.
        seq: u64,
        /// How.
        reason: String,
    },
    /// A benchmark's own set-up or work failed.
    #[error("benchmark: {0}")]
    Bench(String),
    /// Starting or stopping a throwaway test cluster failed.
    #[error("test cluster: {0}")]
    Cluster(String),
}

impl Error {
    /// Whether this error is damage or tampering found (exit 1): a journal record that
    /// is not what it should be, or a mirror that contradicts the journal.
    pub fn is_damage(&self) -> bool {
        match self {
            Error::Record { .. } | Error::Diverged { .. } => true,
            Error::Store(e) => e.is_damage(),
            _ => false,
        }
    }

    /// Whether this error is bad usage or input (exit 2).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Error::Url { .. }
                | Error::NotInitialized { .. }
                | Error::Setup { .. }
                | Error::RoleName { .. }
        )
    }
}

/// A client error with everything it carries: the server's severity, message,
/// SQLSTATE, detail and hint, or the chain of causes (the client's own text for a
/// server error is only `db error`).
pub fn describe(e: &postgres::Error) -> String {
    if let Some(d) = e.as_db_error() {
        let mut s = format!(
            "{}: {} (SQLSTATE {})",
            d.severity(),
            d.message(),
            d.code().code()
        );
        if let Some(detail) = d.detail() {
            s.push_str(&format!("; detail: {detail}"));
        }
        if let Some(hint) = d.hint() {
            s.push_str(&format!("; hint: {hint}"));
        }
        return s;
    }
    let mut s = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cause = c.source();
    }
    s
}
