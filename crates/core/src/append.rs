//! Appending a whole prepared input, the pipeline behind `tradetrail append FILE`.
//!
//! The input was validated all or nothing ([`Recorder::prepare_reader`]); here its
//! `event_id`s are checked against the journal as one, then this thread sequences the
//! entries group after group (the chain's hashes, which only one thread can compute)
//! while a second thread waits for each group to be acknowledged and hands its
//! receipts on, so writing and handing on overlap the hashing. A large input has the
//! Merkle tree follow it on the other core ([`Tree::follow_while`]).

use std::sync::mpsc;

use tradetrail_journal::{Entry, Error as JournalError, Receipt, Ticket};

use crate::{Error, FirstBody, Recorder, Result, Tree};

/// Entries sequenced at a time; each group's receipts are handed on as soon as the
/// group is acknowledged.
pub const APPEND_GROUP: usize = 1024;

/// Groups submitted while earlier ones are still being written.
const IN_FLIGHT: usize = 8;

/// Inputs of this many entries or more have the Merkle tree follow the appending, so
/// that the next checkpoint need not read them back.
const FOLLOW_TREE_FROM: usize = 50_000;

/// What [`Recorder::append_input`] recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Appended {
    /// New records written.
    pub written: usize,
    /// Entries whose `event_id` was recorded already with the same body: their
    /// receipts name the first record and nothing new was written.
    pub duplicates: usize,
}

impl Recorder {
    /// Appends a prepared input as one, handing each group's receipts, in input
    /// order, to `on_receipts` as soon as the group is acknowledged under its
    /// durability (on a second thread, while the next groups are sequenced).
    ///
    /// Before anything is written, every entry whose `event_id` is recorded already,
    /// or repeated earlier in the input, is compared with the first body: a different
    /// body refuses the whole input with [`Error::Repeated`], and nothing is written.
    ///
    /// When `on_receipts` fails, no further group is submitted and its error is
    /// returned as [`Error::Receipts`]; the groups submitted before it (at most a
    /// few thousand entries) are still written.
    pub fn append_input<F>(&self, entries: Vec<Entry>, on_receipts: F) -> Result<Appended>
    where
        F: FnMut(&[Receipt]) -> std::io::Result<()> + Send,
    {
        self.check_input_repeats(&entries)?;
        let journal = self.journal();
        let total = entries.len();
        let pass = || {
            std::thread::scope(|s| -> Result<Appended> {
                let (tx, rx) = mpsc::sync_channel::<Vec<Ticket>>(IN_FLIGHT);
                let waiter = s.spawn(|| self.acknowledge(rx, on_receipts));
                let mut submitted = Ok(());
                let mut start = 0usize;
                let mut it = entries.into_iter();
                loop {
                    let group: Vec<Entry> = it.by_ref().take(APPEND_GROUP).collect();
                    if group.is_empty() {
                        break;
                    }
                    let n = group.len();
                    match journal.submit_batch(group) {
                        // A closed channel means the waiter stopped on an error: it says which.
                        Ok(tickets) => {
                            if tx.send(tickets).is_err() {
                                break;
                            }
                        }
                        Err(e) => {
                            submitted = Err(repeated(e, &[], start));
                            break;
                        }
                    }
                    start += n;
                }
                drop(tx);
                let appended = waiter
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
                submitted?;
                Ok(appended)
            })
        };
        if total >= FOLLOW_TREE_FROM {
            Tree::follow_while(self, pass)
        } else {
            pass()
        }
    }

    /// What [`Recorder::append_input`] would refuse `entries` for, writing nothing: an
    /// `event_id` recorded already, or repeated earlier in the input, with another
    /// body ([`Error::Repeated`]).
    pub fn check_input_repeats(&self, entries: &[Entry]) -> Result<()> {
        self.journal()
            .check_repeats(entries)
            .map_err(|e| repeated(e, entries, 0))
    }

    /// Waits for every group of tickets `rx` brings, in order, handing each group's
    /// receipts to `on_receipts`.
    fn acknowledge<F>(
        &self,
        rx: mpsc::Receiver<Vec<Ticket>>,
        mut on_receipts: F,
    ) -> Result<Appended>
    where
        F: FnMut(&[Receipt]) -> std::io::Result<()>,
    {
        let mut done = Appended::default();
        for tickets in rx {
            let receipts = self.wait_all(tickets)?;
            let dups = receipts.iter().filter(|r| r.duplicate).count();
            done.duplicates += dups;
            done.written += receipts.len() - dups;
            on_receipts(&receipts).map_err(Error::Receipts)?;
        }
        Ok(done)
    }
}

/// A journal's refusal of a repeated `event_id` as [`Error::Repeated`], with the
/// input positions (`offset` is that of the call's first entry) and the `event_id`
/// read from `entries` where they are at hand; other errors as they are.
fn repeated(e: JournalError, entries: &[Entry], offset: usize) -> Error {
    let event_id = |i: usize| {
        entries
            .get(i)
            .and_then(|e| serde_json::from_slice::<serde_json::Value>(e.body()).ok())
            .and_then(|v| v.get("event_id")?.as_str().map(str::to_owned))
    };
    match e {
        JournalError::Conflict { seq, index } => Error::Repeated {
            index: offset + index,
            event_id: event_id(index),
            first: FirstBody::Record(seq),
        },
        JournalError::ConflictInBatch { first, index } => Error::Repeated {
            index: offset + index,
            event_id: event_id(index),
            first: FirstBody::Input(offset + first),
        },
        other => other.into(),
    }
}
