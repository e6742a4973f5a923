//! The journal's error type.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use crate::storage::Storage;

/// Everything that can go wrong in the journal.
///
/// Each variant says what the caller should do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file operation failed. Halt appending and report; reopening after the
    /// cause is fixed repairs any torn tail.
    #[error("{op} {path}: {source}")]
    Io {
        /// The file or directory the operation was on.
        path: PathBuf,
        /// What was being done (`write`, `fdatasync`, `open`, ...).
        op: &'static str,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The file system is full. Free space (or grow the volume) and reopen; nothing
    /// acknowledged was lost.
    #[error("disk full writing {path}: {available} bytes free on that file system")]
    DiskFull {
        /// The file that could not be written.
        path: PathBuf,
        /// Free bytes on the file system when the write failed (as the kernel
        /// reports them to an unprivileged user; 0 when they could not be read).
        available: u64,
    },
    /// An earlier write or sync failed, so the journal refuses every further call
    /// until it is reopened. The original failure is carried along.
    #[error(
        "the journal stopped accepting records after a failure (reopen it to recover): {cause}"
    )]
    Poisoned {
        /// The failure that poisoned the journal.
        cause: Arc<Error>,
    },
    /// Stored bytes are not a valid journal. Do not append; run verify and report.
    #[error("corrupt journal in {segment} at byte {offset}: {reason}")]
    Corrupt {
        /// The segment file.
        segment: PathBuf,
        /// Byte offset inside the segment where the problem starts.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A complete record is damaged or was changed: it does not parse, does not chain
    /// to the record before, or records are missing. A crash cannot do this (it only
    /// leaves an unfinished last line), so the record may have been acknowledged.
    /// Opening for writing refuses and changes nothing. Run `tradetrail verify`, then
    /// restore from a backup or remove the damaged records with an explicit, recorded
    /// `tradetrail repair --truncate-after SEQ`.
    #[error(
        "the journal is damaged at seq {seq}: {reason} ({segment}, byte {offset}); nothing was changed: \
         run `tradetrail verify`, then restore from a backup or remove the damaged records with \
         `tradetrail repair --truncate-after {keep} --reason ...`",
        keep = seq.saturating_sub(1)
    )]
    Damaged {
        /// The first record that is not what it should be.
        seq: u64,
        /// The segment file.
        segment: PathBuf,
        /// Byte offset inside the segment where that record starts.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// Records are missing between two segments: one was removed or truncated. A read
    /// that would cross the gap fails rather than answer from part of the journal.
    /// Run `tradetrail verify`, then restore the segment from a backup.
    #[error(
        "the journal's segments do not meet: {segment} ends at seq {after} but the next segment starts at seq {next}; \
         records are missing there, so nothing is answered from part of the journal: \
         run `tradetrail verify` and restore from a backup"
    )]
    Gap {
        /// The last seq before the gap.
        after: u64,
        /// The first seq after it.
        next: u64,
        /// The segment the gap follows.
        segment: PathBuf,
    },
    /// The caller gave an entry the journal cannot store. Fix the caller.
    #[error("invalid entry: {reason}")]
    InvalidEntry {
        /// Why it was refused.
        reason: String,
    },
    /// Entry `index` of the call (0 for a single entry) carries the idempotency key
    /// (`event_id`) of record `seq` with another body: the `event_id` is already used
    /// by a different event. Nothing of the call was written. Fix the producer — give
    /// this event an `event_id` of its own — and never retry the entry as it is: it is
    /// refused every time. (A retry of the recorded event must repeat its body exactly;
    /// then it gets the original receipt.)
    #[error(
        "entry {index} reuses the event_id of record {seq} with a different body; nothing was \
         written: give this event a new event_id (retrying it unchanged is refused again)"
    )]
    Conflict {
        /// The record that holds the first body for this `event_id`.
        seq: u64,
        /// The refused entry's position in the call (0 for a single entry).
        index: usize,
    },
    /// Entries `first` and `index` of one batch carry the same idempotency key
    /// (`event_id`) with different bodies. Nothing of the batch was written. Fix the
    /// producer: give each event an `event_id` of its own.
    #[error(
        "entries {first} and {index} of the batch share an event_id but not a body; nothing \
         was written: give each event an event_id of its own"
    )]
    ConflictInBatch {
        /// The earlier entry with the key (0-based).
        first: usize,
        /// The later entry with the key and another body (0-based).
        index: usize,
    },
    /// `create` was asked to make a journal where one already exists.
    #[error("a journal already exists at {path}")]
    AlreadyExists {
        /// The journal directory.
        path: PathBuf,
    },
    /// `open` found no journal at the path. Run `init` first.
    #[error("no journal at {path} (run `tradetrail init` first)")]
    NotFound {
        /// The journal directory that was looked for.
        path: PathBuf,
    },
    /// Another process (or another handle in this one) has the journal open for
    /// appending. Close it, or read without opening (`verify`).
    #[error("{path} is locked: another process has this journal open for writing")]
    Locked {
        /// The journal directory.
        path: PathBuf,
    },
    /// The record is older than the journal's first segment: its segment was
    /// archived and removed after the hot window. Read it from the archive.
    #[error("record {seq} is no longer in the journal, which now starts at seq {first}; older records are in the archive (DIR/archive)")]
    Removed {
        /// The sequence number asked for.
        seq: u64,
        /// The first seq the journal still holds.
        first: u64,
    },
    /// The record left the journal and its archive could not give it back: the
    /// archive is missing, damaged or does not hold it. Run `tradetrail verify`.
    #[error("record {seq}: {reason}")]
    Cold {
        /// The sequence number that could not be read.
        seq: u64,
        /// Why.
        reason: String,
    },
    /// The record was removed by a retention purge (the purge record at
    /// `purged_by` lists its range and hashes). Nothing can be read for it.
    #[error("record {seq} was purged by retention (see the journal.retention_purged record at seq {purged_by})")]
    Purged {
        /// The sequence number asked for.
        seq: u64,
        /// The seq of the purge record.
        purged_by: u64,
    },
    /// A record with this sequence number does not exist (yet).
    #[error("no record with seq {seq} (the journal holds {len} records)")]
    NoSuchRecord {
        /// The sequence number asked for.
        seq: u64,
        /// How many records the journal holds.
        len: u64,
    },
}

impl Error {
    /// Wraps an I/O error with its place, turning "no space" into [`Error::DiskFull`].
    pub(crate) fn io(
        storage: &dyn Storage,
        op: &'static str,
        path: impl Into<PathBuf>,
        source: io::Error,
    ) -> Error {
        let path = path.into();
        if is_disk_full(&source) {
            let dir = path.parent().unwrap_or(&path);
            let available = storage.available_space(dir).unwrap_or(0);
            return Error::DiskFull { path, available };
        }
        Error::Io { path, op, source }
    }

    /// True when this error (or the error that poisoned the journal) is a full disk.
    pub fn is_disk_full(&self) -> bool {
        match self {
            Error::DiskFull { .. } => true,
            Error::Poisoned { cause } => cause.is_disk_full(),
            _ => false,
        }
    }
}

fn is_disk_full(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    ) || e.raw_os_error() == Some(28)
}

/// The journal's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
