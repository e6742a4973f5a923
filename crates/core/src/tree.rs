//! The Merkle tree over the journal, kept as derived data under `DIR/index/merkle`.
//!
//! The tree is never trusted over the journal: on load, its last leaf is compared with
//! the hash of the journal's record at that position, and any mismatch (or damaged
//! level files) rebuilds it from the journal. New records are added by reading the
//! journal from where the tree ends — each record is hashed once, ever — so the append
//! hot path never pays for the tree.

use std::sync::atomic::{AtomicBool, Ordering};

use tradetrail_journal::{for_each_leaf_with, list_segments, ColdLines, FsStorage, Leaf};
use tradetrail_merkle::{leaf_hash, ConsistencyProof, Hash, InclusionProof, MerkleLog};

use crate::{DataDir, Error, Recorder, Result};

/// The tree of a data directory, caught up with its journal.
///
/// Records a retention purge removed are in the tree as the perfect subtrees their
/// tombstones keep (see `tradetrail_merkle::subtree`): every root and proof whose
/// sizes and records lie outside the purged ranges is exact, and the others are
/// refused.
#[derive(Debug)]
pub struct Tree {
    log: MerkleLog,
    purged: Vec<PurgedRun>,
}

/// Records `first..=last`, removed by the purge record at `by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurgedRun {
    /// First purged seq.
    pub first: u64,
    /// Last purged seq.
    pub last: u64,
    /// The `journal.retention_purged` record's seq.
    pub by: u64,
}

/// The purged ranges of the cold tier (one per tombstone, in seq order). A journal
/// that still starts at seq 0 has none, and the cold tier is not asked.
pub fn purged_runs(rec: &Recorder) -> Result<Vec<PurgedRun>> {
    purged_runs_of(&rec.data_dir().journal(), rec.cold())
}

pub(crate) fn purged_runs_of(
    jdir: &std::path::Path,
    cold: Option<&dyn ColdLines>,
) -> Result<Vec<PurgedRun>> {
    let Some(cold) = cold else {
        return Ok(Vec::new());
    };
    let first = list_segments(&FsStorage, jdir)?
        .first()
        .map(|s| s.first_seq);
    if first == Some(0) {
        return Ok(Vec::new());
    }
    Ok(cold
        .ranges()?
        .into_iter()
        .filter_map(|r| {
            r.purged_by.map(|by| PurgedRun {
                first: r.first,
                last: r.last,
                by,
            })
        })
        .collect())
}

/// The purged run holding `seq`.
pub(crate) fn run_holding(runs: &[PurgedRun], seq: u64) -> Option<&PurgedRun> {
    runs.iter().find(|r| r.first <= seq && seq <= r.last)
}

/// The purged run that `size` falls strictly inside (`first < size <= last`): the
/// tree of the first `size` records needs records that are gone.
pub(crate) fn run_inside(runs: &[PurgedRun], size: u64) -> Option<&PurgedRun> {
    runs.iter().find(|r| r.first < size && size <= r.last)
}

/// Pushes a purged range's subtrees onto a tree of its first `range.first` records
/// and checks that they give the root its tombstone recorded (a tampered subtree
/// hash does not).
pub fn push_purged(
    log: &mut MerkleLog,
    range: &tradetrail_journal::ColdRange,
    kept: &tradetrail_journal::PurgedSubtrees,
) -> Result<()> {
    let bad = |reason: String| {
        Error::Journal(tradetrail_journal::Error::Cold {
            seq: range.first,
            reason,
        })
    };
    if log.len() != range.first {
        return Err(bad(format!(
            "the tree holds {} records where the purged records {}..={} begin",
            log.len(),
            range.first,
            range.last
        )));
    }
    for &(start, height, hash) in &kept.subtrees {
        if start != log.len() {
            return Err(bad(format!(
                "the archive's tombstone of records {}..={} lists a subtree at {start} where {} comes next; run `tradetrail verify`",
                range.first,
                range.last,
                log.len()
            )));
        }
        log.push_subtree(height, Hash(hash)).map_err(|e| {
            bad(format!(
                "the archive's tombstone of records {}..={}: {e}; run `tradetrail verify`",
                range.first, range.last
            ))
        })?;
    }
    if log.len() != range.last + 1 || log.root().0 != kept.root {
        return Err(bad(format!(
            "the subtrees the archive keeps for the purged records {}..={} do not give the Merkle root its tombstone recorded: the archive was altered; run `tradetrail verify`",
            range.first, range.last
        )));
    }
    Ok(())
}

/// Adds the leaves of records `from..to` to `log`, which holds the first `from`:
/// each line hashed, each purged range as its subtrees (checked against its
/// tombstone's root by [`push_purged`]), counted in `purged`. Returns the seq after
/// the last record added; on an error `log` keeps what was added before it.
///
/// Lines are hashed in batches on every core (a leaf's hash needs only its line; the
/// tree above the leaves is built in order as they are pushed).
pub(crate) fn extend_log(
    log: &mut MerkleLog,
    jdir: &std::path::Path,
    cold: Option<&dyn ColdLines>,
    from: u64,
    to: u64,
    purged: &mut u64,
) -> Result<u64> {
    let mut bad = None;
    let mut batch = Leaves::default();
    let end = for_each_leaf_with(&FsStorage, jdir, cold, from, Some(to), |leaf| {
        match leaf {
            Leaf::Line(_, line) => {
                batch.push(line);
                if batch.spans.len() >= Leaves::BATCH {
                    batch.hash_into(log, crate::par::cores());
                }
            }
            Leaf::Purged(range, kept) => {
                batch.hash_into(log, crate::par::cores());
                if let Err(e) = push_purged(log, range, kept) {
                    bad = Some(e);
                    return Ok(false);
                }
                *purged += range.last - range.first + 1;
            }
        }
        Ok(true)
    });
    batch.hash_into(log, crate::par::cores());
    let end = end?;
    match bad {
        Some(e) => Err(e),
        None => Ok(end),
    }
}

/// Adds the leaves of records `from..to`, all still in `journal/`, to `log` (which
/// holds the first `from`), read through the open journal from the offsets it keeps,
/// hashed on up to `threads` threads. Returns the seq after the last record added.
fn extend_from_journal(
    log: &mut MerkleLog,
    journal: &tradetrail_journal::Journal,
    from: u64,
    to: u64,
    threads: usize,
) -> Result<u64> {
    let mut batch = Leaves::default();
    let end = journal.for_each_line(from, Some(to), |_, line| {
        batch.push(line);
        if batch.spans.len() >= Leaves::BATCH {
            batch.hash_into(log, threads);
        }
        Ok(true)
    });
    batch.hash_into(log, threads);
    Ok(end?)
}

/// The body of [`Tree::follow_while`]'s thread: extends the stored tree to what the
/// journal has written until `done`, then once more, and saves it.
fn follow(rec: &Recorder, done: &AtomicBool) -> Result<()> {
    let (mut tree, _) = Tree::load(rec)?;
    loop {
        let finished = done.load(Ordering::Acquire);
        let written = rec.journal().status()?.written;
        let from = tree.log.len();
        if written > from {
            extend_from_journal(&mut tree.log, rec.journal(), from, written, 1)?;
        }
        if finished {
            break;
        }
        if written.saturating_sub(from) < Leaves::BATCH as u64 {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }
    tree.log.flush()?;
    Ok(())
}

/// Lines gathered to be hashed as leaves together.
#[derive(Default)]
struct Leaves {
    bytes: Vec<u8>,
    /// Each line's place in `bytes`.
    spans: Vec<std::ops::Range<usize>>,
}

impl Leaves {
    /// Lines per batch: about 6 MiB of demo records.
    const BATCH: usize = 16 * 1024;
    /// Below this many leaves per thread a thread costs more than it saves.
    const MIN_PER_THREAD: usize = 2048;

    fn push(&mut self, line: &[u8]) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(line);
        self.spans.push(start..self.bytes.len());
    }

    /// Hashes the gathered lines (on every core when there are enough) and pushes
    /// their leaves onto `log` in order; empties the batch.
    fn hash_into(&mut self, log: &mut MerkleLog, threads: usize) {
        let bytes = &self.bytes;
        let parts = crate::par::map_chunks(&self.spans, threads, Self::MIN_PER_THREAD, |spans| {
            spans
                .iter()
                .map(|span| leaf_hash(&bytes[span.clone()]))
                .collect::<Vec<Hash>>()
        });
        for leaf in parts.into_iter().flatten() {
            log.push_leaf_hash(leaf);
        }
        self.bytes.clear();
        self.spans.clear();
    }
}

/// What loading the tree did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TreeLoad {
    /// Leaves added from the journal.
    pub added: u64,
    /// The stored tree was damaged or did not match the journal, and was discarded.
    pub rebuilt: bool,
}

impl Tree {
    /// Opens the stored tree and brings it up to every record written so far.
    pub fn load(rec: &Recorder) -> Result<(Tree, TreeLoad)> {
        let size = rec.journal().status()?.written;
        load_tree(
            rec.data_dir(),
            rec.cold(),
            Some(rec.journal()),
            size,
            Stored::Kept,
            &|seq| rec.read_line(seq),
        )
    }

    /// The tree of the first `size` records of `dir` (complete lines of its journal,
    /// records that left it from `cold`) for a reader that does not hold the journal:
    /// the stored tree under `DIR/index/merkle` is read and checked against the journal
    /// as [`Tree::load`] checks it, but nothing is written there — records after it are
    /// hashed in memory, and a stored tree that does not match the journal (or is being
    /// written meanwhile) is set aside and the tree rebuilt in memory.
    pub fn load_read_only(
        dir: &DataDir,
        cold: Option<&dyn ColdLines>,
        size: u64,
    ) -> Result<(Tree, TreeLoad)> {
        load_tree(dir, cold, None, size, Stored::ReadOnly, &|seq| {
            crate::read_line_in(dir, cold, seq)
        })
    }

    /// Runs `work` while a thread of its own keeps the stored tree level with the
    /// journal, adding each record soon after it is written (read once, from the
    /// offsets the journal keeps, and hashed on that thread): a checkpoint taken after
    /// a long append then finds the tree ready instead of reading and hashing every
    /// record at the end. The follower only saves work for the next [`Tree::load`],
    /// which checks the stored tree against the journal as always; if it fails, that
    /// load does the work instead.
    pub fn follow_while<R>(rec: &Recorder, work: impl FnOnce() -> R) -> R {
        /// Tells the follower to finish when dropped, so that it stops even when
        /// `work` panics (the scope waits for it either way).
        struct Finish<'a>(&'a AtomicBool);
        impl Drop for Finish<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Release);
            }
        }
        let done = AtomicBool::new(false);
        std::thread::scope(|s| {
            let follower = std::thread::Builder::new().spawn_scoped(s, || follow(rec, &done));
            let out = {
                let _finish = Finish(&done);
                work()
            };
            if let Ok(f) = follower {
                // The follower's own failure is not the work's: the next load redoes it.
                let _ = f.join();
            }
            out
        })
    }

    /// The purged ranges the tree spans by their subtrees (or, for a tree stored
    /// before the purge, by leaves whose records are gone).
    pub fn purged(&self) -> &[PurgedRun] {
        &self.purged
    }

    fn check_size(&self, what: &str, size: u64) -> Result<()> {
        match run_inside(&self.purged, size) {
            Some(r) => Err(out_of_range(format!(
                "{what} {size} falls inside records {}..={}, which retention purged (the journal.retention_purged record at seq {}): the tree of the first {size} records needs records that are gone; sizes {} and {} can be asked for",
                r.first, r.last, r.by, r.first, r.last + 1
            ))),
            None => Ok(()),
        }
    }

    /// Leaves in the tree (= records covered).
    pub fn size(&self) -> u64 {
        self.log.len()
    }

    /// The root of the first `size` records.
    pub fn root_at(&self, size: u64) -> Result<Hash> {
        if size > self.size() {
            return Err(out_of_range(format!(
                "size {size} is beyond the journal's {} records",
                self.size()
            )));
        }
        self.check_size("size", size)?;
        Ok(self.log.root_at(size)?)
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Hash {
        self.log.root()
    }

    /// Proof that record `seq` is in the tree of the first `size` records (default: all).
    pub fn prove_inclusion(&self, seq: u64, size: Option<u64>) -> Result<InclusionProof> {
        let size = size.unwrap_or(self.size());
        if size > self.size() {
            return Err(out_of_range(format!(
                "--size {size} is beyond the journal's {} records",
                self.size()
            )));
        }
        if seq >= size {
            return Err(out_of_range(format!(
                "--seq {seq} is not below the tree size {size}"
            )));
        }
        if let Some(r) = run_holding(&self.purged, seq) {
            return Err(out_of_range(format!(
                "record {seq} was purged by retention (the journal.retention_purged record at seq {} removed records {}..={}): it has no inclusion proof",
                r.by, r.first, r.last
            )));
        }
        self.check_size("--size", size)?;
        Ok(self.log.prove_inclusion(seq, size)?)
    }

    /// Proof that the tree of the first `old` records is a prefix of the first `new`.
    pub fn prove_consistency(&self, old: u64, new: Option<u64>) -> Result<ConsistencyProof> {
        let new = new.unwrap_or(self.size());
        if new > self.size() {
            return Err(out_of_range(format!(
                "--new {new} is beyond the journal's {} records",
                self.size()
            )));
        }
        if old == 0 || old > new {
            return Err(out_of_range(format!(
                "--old must be between 1 and --new ({new}), got {old}"
            )));
        }
        self.check_size("--old", old)?;
        self.check_size("--new", new)?;
        Ok(self.log.prove_consistency(old, new)?)
    }
}

fn out_of_range(reason: String) -> Error {
    Error::OutOfRange { reason }
}

/// Whether loading keeps the stored tree up to date (the journal's writer) or only
/// reads it (a reader beside the writer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stored {
    Kept,
    ReadOnly,
}

/// The tree of the first `size` records of `dir`: the stored tree, cut back to the
/// journal and checked against its last record, then extended from the journal (or
/// rebuilt from seq 0 when it does not match). `read_line` reads one record's line;
/// `journal`, the journal when it is open here, reads new records from where the tree
/// ends.
fn load_tree(
    dir: &DataDir,
    cold: Option<&dyn ColdLines>,
    journal: Option<&tradetrail_journal::Journal>,
    size: u64,
    stored: Stored,
    read_line: &dyn Fn(u64) -> Result<Vec<u8>>,
) -> Result<(Tree, TreeLoad)> {
    let tdir = dir.index().join("merkle");
    let jdir = dir.journal();
    let mut load = TreeLoad::default();
    // Damaged or missing level files are not an error: the tree is rebuilt.
    let purged = purged_runs_of(&jdir, cold)?;
    let mut log = match stored {
        Stored::Kept => MerkleLog::open(&tdir).ok(),
        Stored::ReadOnly => MerkleLog::read(&tdir).ok(),
    };
    if let Some(l) = log.as_mut() {
        if l.len() > size && l.truncate_to(size).is_err() {
            log = None;
        }
    }
    if let Some(l) = log.as_mut() {
        // A stored tree that ends inside or at the end of a purged range cannot be
        // checked against its last record (gone): cut it back to where the run
        // of purged ranges begins, and carry on from there with the subtrees.
        let len = l.len();
        if let Some(i) = purged
            .iter()
            .position(|r| r.first < len && len <= r.last + 1)
        {
            let mut start = purged[i].first;
            for r in purged[..i].iter().rev() {
                if r.last + 1 != start {
                    break;
                }
                start = r.first;
            }
            if l.truncate_to(start).is_err() {
                log = None;
            }
        }
    }
    if let Some(l) = &log {
        // The stored tree must end where the journal says it does.
        if !l.is_empty() {
            let last = l.len() - 1;
            let line = read_line(last)?;
            if l.leaf(last) != Some(leaf_hash(&line)) {
                log = None;
            }
        }
    }
    let mut log = match log {
        Some(l) => l,
        None => {
            load.rebuilt = true;
            let mut l = MerkleLog::new();
            if stored == Stored::Kept {
                let _ = std::fs::remove_dir_all(&tdir);
                l.save(&tdir)?;
            }
            l
        }
    };
    let from = log.len();
    let hot_first = list_segments(&FsStorage, &jdir)?
        .first()
        .map(|s| s.first_seq);
    match journal {
        // Only records still in journal/ to add: read them through the open journal
        // from where the tree ends, not from the start of their segment.
        Some(j) if hot_first.is_some_and(|h| h <= from) && purged.iter().all(|r| r.last < from) => {
            extend_from_journal(&mut log, j, from, size, crate::par::cores())?;
        }
        // From seq 0 on a rebuild: records that left journal/ come from the archive,
        // purged ones as the subtrees their tombstones keep.
        _ => {
            extend_log(&mut log, &jdir, cold, from, size, &mut 0)?;
        }
    }
    load.added = log.len() - from;
    if log.len() != size {
        return Err(Error::Internal(format!(
            "the journal has {size} records but only {} could be read for the tree",
            log.len()
        )));
    }
    // A read-only log is attached to no directory: this writes nothing.
    log.sync()?;
    Ok((Tree { log, purged }, load))
}
