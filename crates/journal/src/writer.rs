//! The writer: one sequencer, any number of producers, group commit.
//!
//! Producers call [`Journal::submit`] (or [`Journal::append`], which submits and
//! waits). Under one mutex the *sequencer* assigns `seq`, `ts_recorded` and `prev`,
//! hashes the line and appends it to a pending buffer — a few hundred nanoseconds.
//! Producers do everything else (validation, serialization) on their own threads
//! before they get there.
//!
//! Writing and syncing are done by whichever waiting producer finds the role free
//! (leader/follower group commit, as in databases' write groups), so an uncontended
//! append does its own `write` without a thread hand-off, and under load one `write`
//! and one `fdatasync` cover every record that arrived meanwhile:
//!
//! * the *writer* takes all pending bytes and writes them (rotating segments on the
//!   way), then publishes `written`;
//! * the *syncer* snapshots `written`, calls `fdatasync`, then publishes `synced`.
//!
//! The two roles are separate, so records waiting only for the OS are not held behind
//! a sync in progress. Invariant: `synced <= written <= next_seq`, and every record
//! below `written` is in the file in `seq` order.
//!
//! Waiting is cheap for the many: a producer waiting for `fsync` parks its own thread
//! with the record it waits for, and the sync that covers it unparks exactly it; it
//! reads `synced` from an atomic and returns without taking the lock again. One
//! waiter that a sync does not cover is unparked to take the next role. (A condition
//! variable shared by everyone would queue every waiter of a sync for the mutex.)

use std::collections::{BTreeMap, HashMap};
use std::mem;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::chain::RecordHash;
use crate::dedup::{self, ColdKeys, DedupKey};
use crate::flusher::{Flusher, FLUSH_BYTES};
use crate::options::{Durability, JournalOptions};
use crate::record::{self, parse_header};
use crate::recovery::{self, OpenMode, RecoveryReport, SPARSE_EVERY};
use crate::segment::{list_segments, segment_file_name};
use crate::storage::{DirLock, SegmentFile, Storage};
use crate::{Error, Result};

const NS_PER_DAY: i64 = 86_400 * 1_000_000_000;
/// Estimated header length, used to decide rotation before the line is built.
const HEADER_ESTIMATE: u64 = 120;

/// One event to append: a JSON object body (the producer's fields, `"type"` first),
/// how durable it must be before it is acknowledged, and an optional idempotency key.
#[derive(Debug, Clone)]
pub struct Entry {
    body: Vec<u8>,
    durability: Durability,
    dedup_key: Option<DedupKey>,
    /// A `ts_recorded` given by the caller instead of the clock's (replicas take the
    /// stream's timestamp); still never below the previous record's.
    ts_recorded: Option<i64>,
}

impl Entry {
    /// Checks the body — a single-line JSON object whose first key is `"type"`, valid
    /// JSON and UTF-8, without NUL bytes — and wraps it. Runs on the caller's thread.
    pub fn new(body: Vec<u8>, durability: Durability) -> Result<Entry> {
        record::check_body_json(&body).map_err(|reason| Error::InvalidEntry { reason })?;
        Ok(Entry {
            body,
            durability,
            dedup_key: None,
            ts_recorded: None,
        })
    }

    /// Like [`Entry::new`] but skips the JSON parse, for bodies written by a serializer
    /// that only produces valid JSON (such as `tradetrail-model`'s `Event::to_body`).
    /// The framing checks still run. A body that is not JSON after all is stored, and
    /// `verify` will report it as corruption: use [`Entry::new`] unless you are sure.
    pub fn from_serialized(body: Vec<u8>, durability: Durability) -> Result<Entry> {
        record::check_body(&body).map_err(|reason| Error::InvalidEntry { reason })?;
        Ok(Entry {
            body,
            durability,
            dedup_key: None,
            ts_recorded: None,
        })
    }

    /// A repeated key with the same body returns the first record's receipt and writes
    /// nothing; with a different body the entry is refused ([`Error::Conflict`]).
    pub fn with_dedup_key(mut self, key: DedupKey) -> Entry {
        self.dedup_key = Some(key);
        self
    }

    /// Records the entry with this `ts_recorded` (ns since the epoch) instead of the
    /// journal clock's time — a replica takes it from its stream, so that two
    /// journals fed the same stream hold the same bytes. The journal's guarantee
    /// stands: a time below the previous record's becomes the previous record's.
    pub fn with_ts_recorded(mut self, ts: i64) -> Entry {
        self.ts_recorded = Some(ts);
        self
    }

    /// The `ts_recorded` given with [`Entry::with_ts_recorded`], if any.
    pub fn given_ts_recorded(&self) -> Option<i64> {
        self.ts_recorded
    }

    /// The body bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The durability this entry waits for.
    pub fn durability(&self) -> Durability {
        self.durability
    }

    /// The body's `"type"` (checked when the entry was made).
    pub fn record_type(&self) -> &str {
        record::record_type_of_body(&self.body).unwrap_or_default()
    }
}

/// Proof that a record was accepted: its position and the hash of its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    /// The record's `seq`.
    pub seq: u64,
    /// SHA-256 of the record's line (the next record's `prev`).
    pub hash: RecordHash,
    /// True when this was a repeated idempotency key and nothing new was written.
    pub duplicate: bool,
}

/// A submitted entry that may not be acknowledged yet. Pass it to [`Journal::wait`].
#[derive(Debug, Clone, Copy)]
#[must_use = "a submitted entry is acknowledged only by waiting on its ticket"]
pub struct Ticket {
    seq: u64,
    hash: RecordHash,
    durability: Durability,
    duplicate: bool,
    /// The record's `ts_recorded`; `None` for a duplicate (the original's is on disk).
    ts_recorded: Option<i64>,
}

impl Ticket {
    /// The `seq` the record got (or, for a duplicate, the original record's).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The `ts_recorded` the record got, known when it was sequenced; `None` for a
    /// duplicate (read the original record's line for its time).
    pub fn ts_recorded(&self) -> Option<i64> {
        self.ts_recorded
    }
}

/// What `status` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalStatus {
    /// Records in the journal (the next `seq`).
    pub records: u64,
    /// Segment files.
    pub segments: usize,
    /// Bytes across all segments.
    pub bytes: u64,
    /// Hash of the last record.
    pub head_hash: RecordHash,
    /// `ts_recorded` of the last record.
    pub head_ts_recorded: i64,
    /// Records written to the OS.
    pub written: u64,
    /// Records known to be on disk (fdatasync'd).
    pub synced: u64,
    /// The error that poisoned the journal, if any.
    pub poisoned: Option<String>,
}

#[derive(Debug)]
struct Chunk {
    /// Set when this chunk starts a new segment whose first record is this seq.
    new_segment: Option<u64>,
    bytes: Vec<u8>,
    /// One past the last seq in this chunk.
    end: u64,
}

/// The cold tier as deduplication sees it: its keys, and its lines (for the hash a
/// duplicate's receipt carries). Printable.
#[derive(Clone)]
struct ColdKeysSlot(ColdKeys, Arc<dyn crate::ColdLines>);

impl std::fmt::Debug for ColdKeysSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ColdKeys")
    }
}

#[derive(Debug)]
enum DedupState {
    NotLoaded,
    Loading,
    Ready,
}

#[derive(Debug)]
struct State {
    next_seq: u64,
    last_hash: RecordHash,
    last_ts: i64,
    seg_first_seq: u64,
    seg_len: u64,
    seg_day: Option<i64>,
    pending: Vec<Chunk>,
    /// One past the last seq that must be fsync'd before its acknowledgement.
    fsync_wanted: u64,
    written: u64,
    synced: u64,
    writing: bool,
    syncing: bool,
    /// Threads asleep on `Inner::written_cv`.
    waiters_os: usize,
    /// `fsync` waiters asleep, each parked on its own (see [`Parked`]).
    parked: Vec<Parked>,
    /// What the sync in flight covers (records below it).
    inflight_target: u64,
    poisoned: Option<Arc<Error>>,
    file: Arc<dyn SegmentFile>,
    /// First seq of the segment `file` writes (for naming it in errors).
    file_first_seq: u64,
    /// First seq of each segment, in order.
    segments: Vec<u64>,
    /// seq -> (segment first seq, byte offset), for every `SPARSE_EVERY`-th record known.
    sparse: BTreeMap<u64, (u64, u64)>,
    dedup: HashMap<DedupKey, u64>,
    dedup_state: DedupState,
    /// Where the keys of records that left `journal/` come from, if anywhere.
    cold_keys: Option<ColdKeysSlot>,
    /// Emptied chunk buffers, reused so the hot path does not allocate.
    spare: Vec<Vec<u8>>,
    /// Bytes written to the OS that no `fdatasync` has covered yet.
    unsynced_bytes: u64,
    /// Records that were in the journal when it was opened (the dedup loader reads these).
    opened_at: u64,
    /// The next record starts a new segment ([`Journal::append_sealing`]).
    seal_next: bool,
}

/// An `fsync` waiter asleep until `synced` reaches `end` (see the module's doc).
#[derive(Debug)]
struct Parked {
    end: u64,
    thread: std::thread::Thread,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    opts: JournalOptions,
    state: Mutex<State>,
    /// Waiters for `written` (and for the dedup index).
    written_cv: Condvar,
    /// `State::written`, readable without the lock, for a brief spin before sleeping.
    written_hint: AtomicU64,
    /// `State::synced`, readable without the lock: a parked waiter's test.
    synced_hint: AtomicU64,
    flusher: Flusher,
    /// Held while the journal is open: one appending process per journal.
    _lock: DirLock,
}

/// A hash-chained, append-only journal of JSON records. Cheap to clone; every clone
/// appends to the same journal.
#[derive(Debug, Clone)]
pub struct Journal {
    inner: Arc<Inner>,
}

impl Journal {
    /// Creates a new journal in `dir` (created if missing) and writes record 0,
    /// `journal.created`, naming `origin`. Record 0 is synced before this returns.
    pub fn create(dir: &Path, origin: &str, opts: JournalOptions) -> Result<(Journal, Receipt)> {
        Journal::create_at(dir, origin, None, opts)
    }

    /// Like [`Journal::create`], with record 0's `ts_event` and `ts_recorded` set to
    /// `created_at` (ns since the epoch, at least 0) instead of the clock's time when
    /// given: two journals created with the same origin and time start with the same
    /// record 0, byte for byte (replicas of one stream).
    pub fn create_at(
        dir: &Path,
        origin: &str,
        created_at: Option<i64>,
        opts: JournalOptions,
    ) -> Result<(Journal, Receipt)> {
        let storage = opts.storage.as_ref();
        if storage
            .exists(dir)
            .map_err(|e| Error::io(storage, "stat", dir, e))?
            && !list_segments(storage, dir)?.is_empty()
        {
            return Err(Error::AlreadyExists {
                path: dir.to_path_buf(),
            });
        }
        storage
            .create_dir_all(dir)
            .map_err(|e| Error::io(storage, "mkdir", dir, e))?;
        let lock = take_lock(storage, dir)?;
        let now = created_at.unwrap_or_else(|| opts.clock.now_ns()).max(0);
        let body = format!(
            "{{\"type\":\"journal.created\",\"ts_event\":{now},\"source\":\"tradetrail\",\"actor\":\"system\",\"data\":{{\"origin\":{},\"format_version\":{}}}}}",
            serde_json::Value::String(origin.to_string()),
            crate::FORMAT_VERSION
        );
        let mut line = Vec::new();
        let hash = record::encode(&mut line, 0, now, &RecordHash::ZERO, body.as_bytes());
        let path = dir.join(segment_file_name(0));
        let f = storage
            .open_append(&path)
            .map_err(|e| Error::io(storage, "create", &path, e))?;
        f.append(&line)
            .map_err(|e| Error::io(storage, "write", &path, e))?;
        f.sync_data()
            .map_err(|e| Error::io(storage, "fdatasync", &path, e))?;
        storage
            .sync_dir(dir)
            .map_err(|e| Error::io(storage, "fsync dir", dir, e))?;
        if let Some(parent) = dir.parent() {
            if !parent.as_os_str().is_empty() {
                storage
                    .sync_dir(parent)
                    .map_err(|e| Error::io(storage, "fsync dir", parent, e))?;
            }
        }
        drop(f);
        let (journal, _) = Journal::open_locked(dir, opts, lock)?;
        Ok((
            journal,
            Receipt {
                seq: 0,
                hash,
                duplicate: false,
            },
        ))
    }

    /// Opens an existing journal for appending. An unfinished last line (what a crash
    /// leaves) is cut off and reported; a damaged or altered complete record is refused
    /// with [`Error::Damaged`] and nothing is changed (see `recovery`).
    pub fn open(dir: &Path, opts: JournalOptions) -> Result<(Journal, RecoveryReport)> {
        let storage = opts.storage.as_ref();
        if !storage
            .exists(dir)
            .map_err(|e| Error::io(storage, "stat", dir, e))?
        {
            return Err(Error::NotFound {
                path: dir.to_path_buf(),
            });
        }
        let lock = take_lock(storage, dir)?;
        Journal::open_locked(dir, opts, lock)
    }

    fn open_locked(
        dir: &Path,
        opts: JournalOptions,
        lock: DirLock,
    ) -> Result<(Journal, RecoveryReport)> {
        let storage = opts.storage.as_ref();
        let rec = recovery::recover(storage, dir, OpenMode::Repair)?;
        let active_first = rec.segments.last().map(|s| s.first_seq).unwrap_or(0);
        let active_path = dir.join(segment_file_name(active_first));
        let file: Arc<dyn SegmentFile> = Arc::from(
            storage
                .open_append(&active_path)
                .map_err(|e| Error::io(storage, "open", &active_path, e))?,
        );
        let sparse = rec
            .sparse
            .iter()
            .map(|&(seq, off)| (seq, (active_first, off)))
            .collect();
        let state = State {
            next_seq: rec.next_seq,
            last_hash: rec.last_hash,
            last_ts: rec.last_ts,
            seg_first_seq: active_first,
            file_first_seq: active_first,
            seg_len: rec.active_len,
            seg_day: rec.active_first_ts.map(|t| t.div_euclid(NS_PER_DAY)),
            pending: Vec::new(),
            fsync_wanted: 0,
            written: rec.next_seq,
            synced: rec.next_seq,
            writing: false,
            syncing: false,
            waiters_os: 0,
            parked: Vec::new(),
            inflight_target: 0,
            poisoned: None,
            file,
            segments: rec.segments.iter().map(|s| s.first_seq).collect(),
            sparse,
            dedup: HashMap::new(),
            seal_next: false,
            dedup_state: DedupState::NotLoaded,
            cold_keys: None,
            spare: Vec::new(),
            unsynced_bytes: 0,
            opened_at: rec.next_seq,
        };
        let journal = Journal {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                opts,
                state: Mutex::new(state),
                written_cv: Condvar::new(),
                written_hint: AtomicU64::new(rec.next_seq),
                synced_hint: AtomicU64::new(rec.next_seq),
                flusher: Flusher::default(),
                _lock: lock,
            }),
        };
        Ok((journal, rec.report))
    }

    /// The journal directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The options the journal was opened with.
    pub fn options(&self) -> &JournalOptions {
        &self.inner.opts
    }

    /// Appends one entry and waits until it is acknowledged under its durability.
    pub fn append(&self, entry: Entry) -> Result<Receipt> {
        let ticket = self.submit(entry)?;
        self.wait(ticket)
    }

    /// Appends `entry` as the first record of a new segment, so that the segment
    /// before it is sealed (it never changes again, and `archive` takes it). When
    /// another record is sequenced first, that one starts the new segment instead;
    /// either way every record before the call is in a sealed segment. A journal whose
    /// active segment is empty gains no empty segment.
    pub fn append_sealing(&self, entry: Entry) -> Result<Receipt> {
        self.lock().seal_next = true;
        self.append(entry)
    }

    /// Appends entries as one contiguous run of `seq`s and waits until all are
    /// acknowledged. Receipts come back in the order of `entries`.
    pub fn append_batch(&self, entries: Vec<Entry>) -> Result<Vec<Receipt>> {
        let tickets = self.submit_batch(entries)?;
        self.wait_all(tickets)
    }

    /// Waits for every ticket of a batch at once: one drive to the furthest of them at
    /// the strongest durability any asks for, then their receipts, in order.
    pub fn wait_all(&self, tickets: Vec<Ticket>) -> Result<Vec<Receipt>> {
        let strongest = tickets
            .iter()
            .map(|t| t.durability)
            .max()
            .unwrap_or_default();
        let end = tickets.iter().map(|t| t.seq + 1).max().unwrap_or(0);
        self.drive(self.lock(), end, strongest)?;
        tickets.into_iter().map(|t| self.receipt(t)).collect()
    }

    /// Sequences one entry without waiting for it to be written. The record's place is
    /// fixed, but nothing is promised until [`Journal::wait`] returns for the ticket.
    ///
    /// An entry whose key names a recorded event is compared with that record first:
    /// the same body gives a duplicate ticket, another body [`Error::Conflict`].
    pub fn submit(&self, entry: Entry) -> Result<Ticket> {
        let (mut st, mut checked) = self.lock_checked(std::slice::from_ref(&entry))?;
        Ok(self.sequence(&mut st, entry, &mut checked, false))
    }

    /// Sequences several entries under one lock, as a contiguous run of `seq`s.
    ///
    /// All or nothing: if any entry repeats a recorded `event_id` (or an earlier entry's)
    /// with a different body, none is sequenced ([`Error::Conflict`],
    /// [`Error::ConflictInBatch`]).
    pub fn submit_batch(&self, entries: Vec<Entry>) -> Result<Vec<Ticket>> {
        let (mut st, mut checked) = self.lock_checked(&entries)?;
        let remember = entries.len() > 1;
        Ok(entries
            .into_iter()
            .map(|e| self.sequence(&mut st, e, &mut checked, remember))
            .collect())
    }

    /// Checks, writing nothing, what [`Journal::submit_batch`] would refuse `entries`
    /// for because of their keys: an entry that repeats a recorded `event_id`, or an
    /// earlier entry's, with a different body. For a caller that takes one input all or
    /// nothing but submits it in several batches (while it is the only writer, the
    /// answer stays true until it submits).
    pub fn check_repeats(&self, entries: &[Entry]) -> Result<()> {
        let (_st, _) = self.lock_checked(entries)?;
        Ok(())
    }

    /// Takes the lock, with the dedup index loaded, once every entry whose key names a
    /// recorded event has been compared with that record's body and found the same
    /// (the returned map holds those keys with the record's seq and hash). A different
    /// body is [`Error::Conflict`]; two entries of `entries` with one key and different
    /// bodies are [`Error::ConflictInBatch`] (or `Conflict`, when the key is recorded).
    ///
    /// Only repeats pay: an entry whose key is new costs a hash lookup. A repeat's first
    /// record is read outside the lock (waiting for it to be written if it is still
    /// queued), from its segment or the cold tier; keys recorded meanwhile by other
    /// callers are caught when the lock is taken again.
    fn lock_checked(&self, entries: &[Entry]) -> Result<(MutexGuard<'_, State>, Checked)> {
        let mut checked = Checked::new();
        let mut st = self.lock();
        if !entries.iter().any(|e| e.dedup_key.is_some()) {
            self.check_poison(&st)?;
            return Ok((st, checked));
        }
        loop {
            st = self.ensure_dedup_loaded(st)?;
            self.check_poison(&st)?;
            let repeats: Vec<(usize, DedupKey, u64)> = entries
                .iter()
                .enumerate()
                .filter_map(|(i, e)| {
                    let key = e.dedup_key?;
                    if checked.contains_key(&key) {
                        return None;
                    }
                    st.dedup.get(&key).map(|&seq| (i, key, seq))
                })
                .collect();
            if repeats.is_empty() {
                break;
            }
            drop(st);
            for (index, key, seq) in repeats {
                if checked.contains_key(&key) {
                    // A second entry with this key: compared with the first below.
                    continue;
                }
                let line = self.stored_line(seq)?;
                if !same_body(&line, &entries[index].body) {
                    return Err(Error::Conflict { seq, index });
                }
                checked.insert(key, (seq, RecordHash::of_line(&line)));
            }
            st = self.lock();
        }
        if entries.len() > 1 {
            check_repeats_within(entries, &checked)?;
        }
        Ok((st, checked))
    }

    /// Waits until a submitted entry is acknowledged under its durability.
    pub fn wait(&self, ticket: Ticket) -> Result<Receipt> {
        let st = self.lock();
        self.drive(st, ticket.seq + 1, ticket.durability)?;
        self.receipt(ticket)
    }

    /// The receipt of a ticket whose record is acknowledged (a duplicate's hash read
    /// from the original record when the ticket does not carry it).
    fn receipt(&self, ticket: Ticket) -> Result<Receipt> {
        let hash = if ticket.duplicate && ticket.hash == RecordHash::ZERO {
            RecordHash::of_line(&self.stored_line(ticket.seq)?)
        } else {
            ticket.hash
        };
        Ok(Receipt {
            seq: ticket.seq,
            hash,
            duplicate: ticket.duplicate,
        })
    }

    /// Removes the sealed segments that hold only records below `before` (their
    /// records live on elsewhere: retention removes segments only after the archive
    /// holds them). Never the active segment. Oldest first, so a crash in between
    /// leaves a journal that starts later, never one with a hole; then the directory
    /// is synced. Records that left are [`Error::Removed`] to `read_line` from then on
    /// (readers with a cold tier read them there). Returns the files removed.
    pub fn remove_sealed_before(&self, before: u64) -> Result<Vec<PathBuf>> {
        let storage = self.inner.opts.storage.as_ref();
        // What follows a removed segment must be durable first: after a crash the
        // journal's chain resumes from the next segment's first record.
        self.flush()?;
        let mut st = self.lock();
        if let Some(e) = &st.poisoned {
            return Err(Error::Poisoned { cause: e.clone() });
        }
        // Segment i can go when segment i + 1 starts at or before `before` and its
        // first record is synced (a rotation only planned, or written but not yet
        // synced, does not count).
        let synced = st.synced;
        let n = st
            .segments
            .windows(2)
            .take_while(|w| w[1] <= before && w[1] < synced)
            .count();
        let mut removed = Vec::with_capacity(n);
        for _ in 0..n {
            let path = self.inner.dir.join(segment_file_name(st.segments[0]));
            storage
                .remove_file(&path)
                .map_err(|e| Error::io(storage, "remove", &path, e))?;
            st.segments.remove(0);
            removed.push(path);
        }
        if let Some(&first) = st.segments.first() {
            st.sparse.retain(|&seq, _| seq >= first);
        }
        drop(st);
        if !removed.is_empty() {
            storage
                .sync_dir(&self.inner.dir)
                .map_err(|e| Error::io(storage, "sync", &self.inner.dir, e))?;
        }
        Ok(removed)
    }

    /// Writes and syncs everything submitted so far.
    pub fn flush(&self) -> Result<()> {
        let st = self.lock();
        let end = st.next_seq;
        self.drive(st, end, Durability::Fsync)
    }

    /// Records, segments, bytes, head and durability progress.
    pub fn status(&self) -> Result<JournalStatus> {
        let (segments, records, head_hash, head_ts, written, synced, poisoned, active_len) = {
            let st = self.lock();
            (
                st.segments.clone(),
                st.next_seq,
                st.last_hash,
                st.last_ts,
                st.written,
                st.synced,
                st.poisoned.as_ref().map(|e| e.to_string()),
                st.seg_len,
            )
        };
        let storage = self.inner.opts.storage.as_ref();
        let mut bytes = active_len;
        for first in &segments[..segments.len().saturating_sub(1)] {
            if *first >= written {
                // Planned for records not written yet (or never, after a failure):
                // there may be no file to measure.
                continue;
            }
            let p = self.inner.dir.join(segment_file_name(*first));
            bytes += storage
                .len(&p)
                .map_err(|e| Error::io(storage, "stat", &p, e))?;
        }
        Ok(JournalStatus {
            records,
            segments: segments.len(),
            bytes,
            head_hash,
            head_ts_recorded: head_ts,
            written,
            synced,
            poisoned,
        })
    }

    /// The line of the record a repeated key names: waits until it is written if it is
    /// still queued, then reads it from its segment, or from the cold tier if it has
    /// left `journal/`.
    fn stored_line(&self, seq: u64) -> Result<Vec<u8>> {
        self.drive(self.lock(), seq + 1, Durability::Os)?;
        match self.read_line(seq) {
            Err(e @ Error::Removed { .. }) => {
                let Some(ColdKeysSlot(_, cold)) = self.lock().cold_keys.clone() else {
                    return Err(e);
                };
                let mut got = None;
                cold.read(&[seq], &mut |s, line| {
                    if s == seq {
                        got = Some(line.to_vec());
                    }
                    Ok(())
                })?;
                got.ok_or(e)
            }
            r => r,
        }
    }

    /// Reads the line (without `\n`) of a written record.
    pub fn read_line(&self, seq: u64) -> Result<Vec<u8>> {
        let (seg_first, start_seq, offset) = {
            let st = self.lock();
            if seq >= st.written {
                return Err(Error::NoSuchRecord {
                    seq,
                    len: st.written,
                });
            }
            let Some(idx) = st.segments.partition_point(|&f| f <= seq).checked_sub(1) else {
                return Err(Error::Removed {
                    seq,
                    first: st.segments.first().copied().unwrap_or(0),
                });
            };
            let seg_first = st.segments[idx];
            match st.sparse.range(..=seq).next_back() {
                Some((&s, &(sf, off))) if sf == seg_first => (seg_first, s, off),
                _ => (seg_first, seg_first, 0),
            }
        };
        let storage = self.inner.opts.storage.as_ref();
        let path = self.inner.dir.join(segment_file_name(seg_first));
        let mut offset = offset;
        let mut cur = start_seq;
        let mut carry: Vec<u8> = Vec::new();
        loop {
            let buf = storage
                .read_at(&path, offset, 64 * 1024)
                .map_err(|e| Error::io(storage, "read", &path, e))?;
            if buf.is_empty() {
                return Err(Error::Corrupt {
                    segment: path,
                    offset,
                    reason: format!("record {seq} not found where the index says"),
                });
            }
            offset += buf.len() as u64;
            carry.extend_from_slice(&buf);
            let mut start = 0;
            while let Some(nl) = memchr::memchr(b'\n', &carry[start..]) {
                if cur == seq {
                    let line = carry[start..start + nl].to_vec();
                    let h = parse_header(&line).map_err(|r| Error::Corrupt {
                        segment: path.clone(),
                        offset,
                        reason: r.into(),
                    })?;
                    if h.seq != seq {
                        return Err(Error::Corrupt {
                            segment: path,
                            offset,
                            reason: format!("expected record {seq}, found {}", h.seq),
                        });
                    }
                    return Ok(line);
                }
                cur += 1;
                start += nl + 1;
            }
            carry.drain(..start);
        }
    }

    /// [`crate::for_each_line`] over this journal's records `from..to` (to the last
    /// written when `to` is `None`), the read starting at the nearest record before
    /// `from` whose offset the journal keeps (one in [`SPARSE_EVERY`]) instead of at
    /// its segment's first byte: a reader that follows the journal reads each record
    /// about once.
    pub fn for_each_line(
        &self,
        from: u64,
        to: Option<u64>,
        f: impl FnMut(u64, &[u8]) -> Result<bool>,
    ) -> Result<u64> {
        let (to, hint) = {
            let st = self.lock();
            let to = to.map_or(st.written, |t| t.min(st.written));
            let seg = st.segments.partition_point(|&f| f <= from).checked_sub(1);
            let hint = seg.map(|i| st.segments[i]).and_then(|seg_first| {
                match st.sparse.range(..=from).next_back() {
                    Some((&s, &(sf, off))) if sf == seg_first => Some((seg_first, s, off)),
                    _ => None,
                }
            });
            (to, hint)
        };
        crate::reader::lines_in_windows(
            self.inner.opts.storage.as_ref(),
            &self.inner.dir,
            from,
            Some(to),
            crate::reader::READ_WINDOW,
            hint,
            f,
        )
    }

    /// Makes deduplication cover the records that have left `journal/` (after the hot
    /// window) for the cold tier `lines`: `keys` lists their keys, and is called when
    /// the index is loaded — at once, if it already is; a duplicate of such a record
    /// gets its hash from `lines`. Without it a repeated `event_id` is caught only while its
    /// first record is still in a segment file.
    pub fn set_cold_dedup(&self, lines: Arc<dyn crate::ColdLines>, keys: ColdKeys) -> Result<()> {
        let mut st = self.lock();
        if let DedupState::Ready = st.dedup_state {
            let first = st.segments.first().copied().unwrap_or(0);
            drop(st);
            let loaded = keys(first)?;
            st = self.lock();
            for (k, seq) in loaded {
                st.dedup.entry(k).or_insert(seq);
            }
        }
        st.cold_keys = Some(ColdKeysSlot(keys, lines));
        Ok(())
    }

    /// Loads the idempotency keys of records written before this journal was opened
    /// (done lazily at the first keyed append; call this to do it ahead of time).
    pub fn load_dedup_index(&self) -> Result<()> {
        let st = self.lock();
        let _st = self.ensure_dedup_loaded(st)?;
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the file inconsistent (all I/O is
        // outside the lock), so continue with the state as it is.
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check_poison(&self, st: &State) -> Result<()> {
        match &st.poisoned {
            Some(cause) => Err(Error::Poisoned {
                cause: cause.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Assigns seq/ts/prev, builds the line and queues it. Runs under the lock, after
    /// [`Journal::lock_checked`] found the entry's key new or its body the same as the
    /// recorded one's. With `remember`, a record made here joins `checked`, so a later
    /// entry of the call with its key gets its hash without reading it back.
    fn sequence(
        &self,
        st: &mut State,
        entry: Entry,
        checked: &mut Checked,
        remember: bool,
    ) -> Ticket {
        if let Some(key) = entry.dedup_key {
            if let Some(&orig) = st.dedup.get(&key) {
                // The hash is known for every checked key; ZERO makes `wait` read it.
                let hash = match checked.get(&key) {
                    Some(&(seq, hash)) if seq == orig => hash,
                    _ => RecordHash::ZERO,
                };
                return Ticket {
                    seq: orig,
                    hash,
                    durability: entry.durability,
                    duplicate: true,
                    ts_recorded: None,
                };
            }
        }
        let seq = st.next_seq;
        let ts = match entry.ts_recorded {
            None => self.inner.opts.clock.now_ns(),
            Some(t) => t,
        }
        .max(st.last_ts);
        let day = ts.div_euclid(NS_PER_DAY);
        let estimate = entry.body.len() as u64 + HEADER_ESTIMATE;
        let rotate = st.seg_len > 0
            && (st.seal_next
                || st.seg_len + estimate > self.inner.opts.segment_max_bytes
                || (self.inner.opts.rotate_daily && st.seg_day != Some(day)));
        st.seal_next = false;
        if rotate || st.pending.is_empty() {
            st.pending.push(Chunk {
                new_segment: rotate.then_some(seq),
                bytes: st
                    .spare
                    .pop()
                    .unwrap_or_else(|| Vec::with_capacity(64 * 1024)),
                end: seq,
            });
        }
        if rotate {
            st.seg_first_seq = seq;
            st.seg_len = 0;
            st.segments.push(seq);
        }
        if st.seg_len == 0 {
            st.seg_day = Some(day);
        }
        if seq.is_multiple_of(SPARSE_EVERY) {
            let at = (st.seg_first_seq, st.seg_len);
            st.sparse.insert(seq, at);
        }
        let prev = st.last_hash;
        let chunk = st.pending.last_mut().expect("a chunk was pushed above");
        let before = chunk.bytes.len();
        let hash = record::encode(&mut chunk.bytes, seq, ts, &prev, &entry.body);
        chunk.end = seq + 1;
        st.seg_len += (chunk.bytes.len() - before) as u64;
        st.next_seq = seq + 1;
        st.last_hash = hash;
        st.last_ts = ts;
        if entry.durability == Durability::Fsync {
            st.fsync_wanted = seq + 1;
        }
        if let Some(key) = entry.dedup_key {
            st.dedup.insert(key, seq);
            if remember {
                checked.insert(key, (seq, hash));
            }
        }
        Ticket {
            seq,
            hash,
            durability: entry.durability,
            duplicate: false,
            ts_recorded: Some(ts),
        }
    }

    /// Waits until every seq below `end` is acknowledged under `durability`, taking the
    /// writer or syncer role whenever it is free.
    fn drive<'a>(
        &'a self,
        mut st: MutexGuard<'a, State>,
        end: u64,
        durability: Durability,
    ) -> Result<()> {
        let mut spun = false;
        loop {
            let done = match durability {
                Durability::Os => st.written >= end,
                Durability::Fsync => st.synced >= end,
            };
            if done {
                return Ok(());
            }
            self.check_poison(&st)?;
            if !st.writing && !st.pending.is_empty() {
                st.writing = true;
                let chunks = mem::take(&mut st.pending);
                let file = st.file.clone();
                drop(st);
                let mut outcome = self.write_chunks(chunks, file);
                st = self.lock();
                st.writing = false;
                st.unsynced_bytes += outcome.bytes;
                for mut b in outcome.buffers.drain(..) {
                    if st.spare.len() < 4 && b.capacity() <= 4 * 1024 * 1024 {
                        b.clear();
                        st.spare.push(b);
                    }
                }
                if st.unsynced_bytes >= FLUSH_BYTES && !st.syncing {
                    self.wake_flusher();
                }
                if let Some((f, first)) = outcome.file {
                    st.file = f;
                    st.file_first_seq = first;
                }
                st.written = st.written.max(outcome.written);
                self.inner.written_hint.store(st.written, Ordering::Release);
                let sealed = outcome.sealed > st.synced;
                self.set_synced(&mut st, outcome.sealed);
                if let Some(e) = outcome.error {
                    st.poisoned.get_or_insert_with(|| Arc::new(e));
                }
                self.notify_written(&mut st, sealed);
                continue;
            }
            let sync_needed = st.synced < st.written
                && (durability == Durability::Fsync || st.fsync_wanted > st.synced);
            if !st.syncing && sync_needed {
                st = self.sync_role(st);
                continue;
            }
            // A write takes a microsecond or two: waiting for it by spinning is cheaper
            // than a sleep and a wake-up through the kernel. Once per call.
            if durability == Durability::Os && st.writing && !spun {
                spun = true;
                drop(st);
                for i in 0..4096u32 {
                    if self.inner.written_hint.load(Ordering::Acquire) >= end {
                        break;
                    }
                    if i % 256 == 255 {
                        std::thread::yield_now();
                    } else {
                        std::hint::spin_loop();
                    }
                }
                st = self.lock();
                continue;
            }
            // Sleep until what this call waits for moves; role hand-offs are signalled
            // to one waiter at a time (see `notify_written` / `notify_synced`).
            st = match durability {
                Durability::Os => {
                    st.waiters_os += 1;
                    let mut st = self
                        .inner
                        .written_cv
                        .wait(st)
                        .unwrap_or_else(|p| p.into_inner());
                    st.waiters_os -= 1;
                    st
                }
                Durability::Fsync => {
                    let me = std::thread::current();
                    let id = me.id();
                    st.parked.push(Parked { end, thread: me });
                    drop(st);
                    std::thread::park();
                    if self.inner.synced_hint.load(Ordering::Acquire) >= end {
                        return Ok(());
                    }
                    // Asked to take a role, poisoned, or woken spuriously (then still
                    // in the list: out of it, so that it is never there twice).
                    let mut st = self.lock();
                    st.parked.retain(|p| p.thread.id() != id);
                    st
                }
            };
        }
    }

    /// Takes the syncer role: syncs everything written so far, outside the lock.
    fn sync_role<'a>(&'a self, mut st: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        st.syncing = true;
        st.inflight_target = st.written;
        let target = st.written;
        let target_bytes = st.unsynced_bytes;
        let file = st.file.clone();
        let seg = st.file_first_seq;
        drop(st);
        let res = file.sync_data();
        let mut st = self.lock();
        st.syncing = false;
        match res {
            Ok(()) => {
                self.set_synced(&mut st, target);
                st.unsynced_bytes -= target_bytes.min(st.unsynced_bytes);
            }
            Err(e) => {
                let path = self.inner.dir.join(segment_file_name(seg));
                let err = Error::io(self.inner.opts.storage.as_ref(), "fdatasync", path, e);
                st.poisoned.get_or_insert_with(|| Arc::new(err));
            }
        }
        self.notify_synced(&mut st);
        st
    }

    /// Moves `synced` up to `to` (never down) and publishes it to parked waiters.
    fn set_synced(&self, st: &mut State, to: u64) {
        st.synced = st.synced.max(to);
        self.inner.synced_hint.store(st.synced, Ordering::Release);
    }

    fn wake_flusher(&self) {
        let weak = Arc::downgrade(&self.inner);
        self.inner.flusher.wake_with(|handle| {
            let spawned = std::thread::Builder::new()
                .name("tradetrail-flush".into())
                .spawn(move || {
                    handle.run(weak, |inner| {
                        let j = Journal { inner };
                        j.background_sync();
                    })
                });
            // Without the thread, seals simply sync more at rotation.
            drop(spawned);
        });
    }

    /// Syncs what is written if no one else is syncing. Errors poison the journal as
    /// usual; the next caller sees them.
    fn background_sync(&self) {
        let st = self.lock();
        if st.syncing || st.poisoned.is_some() || st.synced >= st.written {
            return;
        }
        drop(self.sync_role(st));
    }

    /// After the writer role is released: wake every `os` waiter (their records may be
    /// written now), and one `fsync` waiter if a sync or a write needs a taker.
    fn notify_written(&self, st: &mut State, sealed: bool) {
        if st.poisoned.is_some() {
            return self.notify_everyone(st);
        }
        if st.waiters_os > 0 {
            self.inner.written_cv.notify_all();
        }
        if sealed {
            // Sealing a segment synced it: whoever waits on those records may be done.
            return self.notify_everyone(st);
        }
        let sync_wanted = !st.syncing && st.synced < st.written;
        // (An `os` waiter woken above may find its own record written and leave, so the
        // pending records of `fsync` waiters need one of them awake as well.)
        let write_wanted = !st.pending.is_empty();
        if sync_wanted || write_wanted {
            self.wake_one_for_next_sync(st);
        }
    }

    /// Wakes one parked `fsync` waiter that the sync in flight (if any) does not cover,
    /// to take the writer or syncer role.
    fn wake_one_for_next_sync(&self, st: &mut State) {
        let covered = |p: &Parked| st.syncing && p.end <= st.inflight_target;
        if let Some(i) = st.parked.iter().position(|p| !covered(p)) {
            st.parked.swap_remove(i).thread.unpark();
        }
    }

    /// After a sync finished: unpark the `fsync` waiters it covered, one more to start
    /// the next sync if records wait for it, and one `os` waiter if pending records need
    /// a writer.
    fn notify_synced(&self, st: &mut State) {
        if st.poisoned.is_some() {
            return self.notify_everyone(st);
        }
        self.unpark_covered(st);
        if st.synced < st.written || !st.pending.is_empty() {
            self.wake_one_for_next_sync(st);
        }
        if st.waiters_os > 0 && !st.writing && !st.pending.is_empty() {
            self.inner.written_cv.notify_one();
        }
    }

    /// Unparks every `fsync` waiter whose records are synced.
    fn unpark_covered(&self, st: &mut State) {
        let synced = st.synced;
        let mut i = 0;
        while i < st.parked.len() {
            if st.parked[i].end <= synced {
                st.parked.swap_remove(i).thread.unpark();
            } else {
                i += 1;
            }
        }
    }

    fn notify_everyone(&self, st: &mut State) {
        if st.waiters_os > 0 {
            self.inner.written_cv.notify_all();
        }
        for p in st.parked.drain(..) {
            p.thread.unpark();
        }
    }

    /// Writes queued chunks in order, sealing and opening segments where they start.
    fn write_chunks(&self, chunks: Vec<Chunk>, mut file: Arc<dyn SegmentFile>) -> WriteOutcome {
        let storage = self.inner.opts.storage.as_ref();
        let dir = &self.inner.dir;
        let mut out = WriteOutcome::default();
        let mut current_first = None;
        for chunk in chunks {
            out.bytes += chunk.bytes.len() as u64;
            if let Some(first) = chunk.new_segment {
                // Seal: the finished segment must be durable before the next one exists,
                // so recovery only ever has to look at the last segment.
                let old = current_first.unwrap_or_else(|| self.segment_before(first));
                if let Err(e) = file.sync_data() {
                    out.error = Some(Error::io(
                        storage,
                        "fdatasync",
                        dir.join(segment_file_name(old)),
                        e,
                    ));
                    return out;
                }
                out.sealed = first;
                let path = dir.join(segment_file_name(first));
                match storage.open_append(&path) {
                    Ok(f) => file = Arc::from(f),
                    Err(e) => {
                        out.error = Some(Error::io(storage, "create", path, e));
                        return out;
                    }
                }
                if let Err(e) = storage.sync_dir(dir) {
                    out.error = Some(Error::io(storage, "fsync dir", dir, e));
                    return out;
                }
                out.file = Some((file.clone(), first));
                current_first = Some(first);
            }
            if let Err(e) = file.append(&chunk.bytes) {
                let seg = current_first.unwrap_or_else(|| self.segment_of(chunk.end - 1));
                out.error = Some(Error::io(
                    storage,
                    "write",
                    dir.join(segment_file_name(seg)),
                    e,
                ));
                return out;
            }
            out.written = chunk.end;
            out.buffers.push(chunk.bytes);
        }
        out
    }

    fn segment_of(&self, seq: u64) -> u64 {
        let st = self.lock();
        let idx = st.segments.partition_point(|&f| f <= seq);
        st.segments[idx.saturating_sub(1)]
    }

    fn segment_before(&self, first: u64) -> u64 {
        self.segment_of(first.saturating_sub(1))
    }

    /// Makes sure the idempotency keys of older records are known before a keyed
    /// append is sequenced. Loads them in the calling thread; others wait.
    fn ensure_dedup_loaded<'a>(
        &'a self,
        mut st: MutexGuard<'a, State>,
    ) -> Result<MutexGuard<'a, State>> {
        loop {
            match st.dedup_state {
                DedupState::Ready => return Ok(st),
                DedupState::Loading => {
                    st.waiters_os += 1;
                    st = self
                        .inner
                        .written_cv
                        .wait(st)
                        .unwrap_or_else(|p| p.into_inner());
                    st.waiters_os -= 1;
                }
                DedupState::NotLoaded => {
                    st.dedup_state = DedupState::Loading;
                    let upto = st.opened_at;
                    let segments = st.segments.clone();
                    let cold = st.cold_keys.clone();
                    drop(st);
                    let loaded = dedup::load(
                        self.inner.opts.storage.as_ref(),
                        &self.inner.dir,
                        &segments,
                        upto,
                        SPARSE_EVERY,
                    )
                    .and_then(|mut l| {
                        if let Some(ColdKeysSlot(cold, _)) = cold {
                            let first = segments.first().copied().unwrap_or(0);
                            l.keys.extend(cold(first)?);
                        }
                        Ok(l)
                    });
                    st = self.lock();
                    match loaded {
                        Ok(l) => {
                            for (k, seq) in l.keys {
                                st.dedup.entry(k).or_insert(seq);
                            }
                            for (seq, at) in l.sparse {
                                st.sparse.entry(seq).or_insert(at);
                            }
                            st.dedup_state = DedupState::Ready;
                        }
                        Err(e) => {
                            st.dedup_state = DedupState::NotLoaded;
                            self.notify_everyone(&mut st);
                            return Err(e);
                        }
                    }
                    self.notify_everyone(&mut st);
                }
            }
        }
    }
}

/// Keys of one call known to be safe to sequence: `key -> (seq, hash)` of the record
/// that holds the key's body.
type Checked = HashMap<DedupKey, (u64, RecordHash)>;

/// Whether a stored line (without `\n`) carries exactly `body`: the line is the
/// journal's header followed by `body` without its opening `{` (see [`record::encode`]).
fn same_body(line: &[u8], body: &[u8]) -> bool {
    match (parse_header(line), body.split_first()) {
        (Ok(h), Some((_, rest))) => line.get(h.body_start..) == Some(rest),
        _ => false,
    }
}

/// Refuses two entries of one call that share a key but not a body. `checked` names
/// the record of a key that is already recorded, so the error can point at it.
fn check_repeats_within(entries: &[Entry], checked: &Checked) -> Result<()> {
    use std::collections::hash_map::Entry as Slot;
    let mut first: HashMap<DedupKey, usize> = HashMap::new();
    for (index, e) in entries.iter().enumerate() {
        let Some(key) = e.dedup_key else { continue };
        match first.entry(key) {
            Slot::Vacant(v) => {
                v.insert(index);
            }
            Slot::Occupied(o) => {
                let f = *o.get();
                if entries[f].body != e.body {
                    return Err(match checked.get(&key) {
                        Some(&(seq, _)) => Error::Conflict { seq, index },
                        None => Error::ConflictInBatch { first: f, index },
                    });
                }
            }
        }
    }
    Ok(())
}

#[derive(Default)]
struct WriteOutcome {
    written: u64,
    bytes: u64,
    buffers: Vec<Vec<u8>>,
    sealed: u64,
    file: Option<(Arc<dyn SegmentFile>, u64)>,
    error: Option<Error>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.flusher.stop();
        // Entries submitted but never waited for are still written on a clean drop.
        let st = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        if st.poisoned.is_some() {
            return;
        }
        let mut file = st.file.clone();
        for chunk in mem::take(&mut st.pending) {
            if let Some(first) = chunk.new_segment {
                if file.sync_data().is_err() {
                    return;
                }
                match self
                    .opts
                    .storage
                    .open_append(&self.dir.join(segment_file_name(first)))
                {
                    Ok(f) => file = Arc::from(f),
                    Err(_) => return,
                }
                if self.opts.storage.sync_dir(&self.dir).is_err() {
                    return;
                }
            }
            if file.append(&chunk.bytes).is_err() {
                return;
            }
        }
        let _ = file.sync_data();
    }
}

pub(crate) fn take_lock(storage: &dyn Storage, dir: &Path) -> Result<DirLock> {
    storage.lock_dir(dir).map_err(|e| {
        if e.kind() == std::io::ErrorKind::WouldBlock {
            Error::Locked {
                path: dir.to_path_buf(),
            }
        } else {
            Error::io(storage, "lock", dir.join(crate::storage::LOCK_FILE), e)
        }
    })
}
