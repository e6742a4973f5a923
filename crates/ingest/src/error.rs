//! What can go wrong while ingesting, each variant saying where and what to do.

use tradetrail_model::ValidationErrors;

/// An ingest error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The options were refused before anything was connected or written.
    #[error("{field}: {reason}")]
    Options {
        /// The option (as the CLI names it).
        field: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// No NATS server of the list could be reached.
    #[error(
        "cannot connect to NATS at {urls}: {reason} (is nats-server running with JetStream, -js?)"
    )]
    Connect {
        /// The server list as given.
        urls: String,
        /// The client's error.
        reason: String,
    },
    /// The stream is not there (and `--create-stream` was not given), or could not be
    /// made.
    #[error("stream {stream}: {reason}")]
    Stream {
        /// The stream name.
        stream: String,
        /// What the server said, and what to do.
        reason: String,
    },
    /// The durable consumer could not be made or read.
    #[error("consumer {consumer} on stream {stream}: {reason}")]
    Consumer {
        /// The stream name.
        stream: String,
        /// The consumer name.
        consumer: String,
        /// What the server said.
        reason: String,
    },
    /// The dead-letter subject cannot keep what is sent to it.
    #[error("dead-letter subject {subject}: {reason}")]
    DeadLetter {
        /// The dead-letter subject.
        subject: String,
        /// Why, and what to do.
        reason: String,
    },
    /// The journal refused or failed: nothing of the batch was acknowledged to NATS, so
    /// its messages are delivered again after a restart.
    #[error(
        "journal: {0} (no message of the batch was acknowledged to NATS; they are delivered again)"
    )]
    Journal(#[from] tradetrail_core::Error),
    /// A journal task could not be run or ended in a panic.
    #[error("journal task: {0}")]
    Task(String),
    /// An event refused before publishing (producer side): nothing was published.
    #[error("event refused, nothing published: {0}")]
    Invalid(ValidationErrors),
    /// An event without `event_id` (producer side): nothing was published.
    #[error(
        "event_id: required to publish to a stream (the recorder deduplicates redelivery by \
         it, and it is sent as Nats-Msg-Id); nothing published"
    )]
    MissingEventId,
    /// Publishing failed (producer side, or a dead letter).
    #[error("publish to {subject}: {reason}")]
    Publish {
        /// The subject.
        subject: String,
        /// The client's or server's error.
        reason: String,
    },
}

/// A result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
