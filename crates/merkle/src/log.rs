//! [`MerkleLog`]: the incrementally maintained tree, its roots and its proofs.

use std::path::{Path, PathBuf};

use crate::error::MerkleError;
use crate::hash::{empty_root, leaf_hash, node_bytes, Hash};
use crate::proof::{ConsistencyProof, InclusionProof};
use crate::storage::{self, LevelFiles};

/// An append-only RFC 6962 Merkle tree over leaf hashes, kept as level vectors.
///
/// # Layout and invariants
///
/// `levels[L]` holds the hashes of the complete (perfect) subtrees of `2^L` leaves, left
/// to right: `levels[0]` are the leaf hashes, `levels[L][i]` is MTH of leaves
/// `[i·2^L, (i+1)·2^L)`. For a tree of `n` leaves:
///
/// - `levels[L].len() == n >> L` for every `L`, `levels` is never empty, and no level
///   above 0 is empty (so `levels.len() == max(1, bit length of n)`);
/// - `levels[L][i] == node_hash(levels[L-1][2i], levels[L-1][2i+1])`.
///
/// The right end of every level is the "compact range" (frontier) of the tree: after
/// a push, each level whose length became even gets one new parent. So appending is
/// O(log n) hashes at worst and one hash on average, and the subtrees of any earlier size
/// `m ≤ n` are in the levels too, since a prefix of a perfect-subtree sequence is one.
///
/// Any root or proof is then O(log n) lookups plus O(log n) hashes for the ragged
/// right edge of the tree asked about. The cost is memory: about 2·32 = 64 bytes per
/// leaf (640 MB at 10 million leaves), the same on disk when attached to a directory.
///
/// # Files
///
/// A log made by [`MerkleLog::open`] or [`MerkleLog::save`] is attached to a directory
/// of level files (format in [`crate::storage`]): [`push_leaf_hash`]
/// only changes memory, [`flush`](MerkleLog::flush) appends what is new,
/// [`sync`](MerkleLog::sync) also makes it durable. The files are derived from the
/// journal: when [`open`](MerkleLog::open) reports [`MerkleError::Corrupt`], delete them
/// and rebuild. No lock is taken: one process writes a directory at a time (the
/// journal's writer, which holds its own lock).
///
/// [`push_leaf_hash`]: MerkleLog::push_leaf_hash
#[derive(Debug)]
pub struct MerkleLog {
    levels: Vec<Vec<[u8; 32]>>,
    files: Option<LevelFiles>,
}

impl Default for MerkleLog {
    fn default() -> Self {
        MerkleLog::new()
    }
}

/// The largest power of two strictly less than `n`; `n >= 2`.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// A position in a level vector. Positions are below the vector's length, which is a
/// `usize`, so the conversion never loses bits.
fn pos(x: u64) -> usize {
    x as usize
}

impl MerkleLog {
    /// An empty tree in memory, attached to no directory.
    pub fn new() -> MerkleLog {
        MerkleLog {
            levels: vec![Vec::new()],
            files: None,
        }
    }

    /// Opens the tree stored in `dir`, or an empty one if `dir` is missing or holds no
    /// level files, and attaches to `dir` for later [`flush`](MerkleLog::flush)es.
    ///
    /// Reads every level whole (about 64 bytes per leaf) and checks that the files
    /// agree with each other ([`MerkleError::Corrupt`] when not: delete `dir` and
    /// rebuild from the journal). It cannot know whether the leaves match the journal:
    /// the caller compares [`len`](MerkleLog::len) and the last [`leaf`](MerkleLog::leaf)
    /// with the journal, then appends, [`truncate_to`](MerkleLog::truncate_to)s or
    /// rebuilds.
    pub fn open(dir: impl AsRef<Path>) -> Result<MerkleLog, MerkleError> {
        let dir = dir.as_ref().to_path_buf();
        let levels = storage::read_levels(&dir)?;
        std::fs::create_dir_all(&dir).map_err(|source| MerkleError::Io {
            path: dir.clone(),
            source,
        })?;
        let persisted = levels.iter().map(|l| l.len() as u64).collect();
        Ok(MerkleLog {
            levels,
            files: Some(LevelFiles::new(dir, persisted)),
        })
    }

    /// Reads the tree stored in `dir` (an empty one if `dir` is missing) without
    /// attaching to it: nothing in `dir` is created or written, and what is pushed or
    /// [truncated](MerkleLog::truncate_to) afterwards stays in memory. For readers
    /// beside the process that writes `dir`; checked as [`open`](MerkleLog::open)
    /// checks (a file being appended to meanwhile reads as [`MerkleError::Corrupt`]).
    pub fn read(dir: impl AsRef<Path>) -> Result<MerkleLog, MerkleError> {
        Ok(MerkleLog {
            levels: storage::read_levels(dir.as_ref())?,
            files: None,
        })
    }

    /// Writes the whole tree to `dir` afresh (removing any level files there first),
    /// syncs it, and attaches the log to `dir` for later flushes. Use it to store a
    /// tree rebuilt in memory.
    pub fn save(&mut self, dir: impl AsRef<Path>) -> Result<(), MerkleError> {
        let dir = dir.as_ref().to_path_buf();
        storage::clear_dir(&dir)?;
        let mut files = LevelFiles::new(dir, Vec::new());
        files.append(&self.levels)?;
        files.sync()?;
        self.files = Some(files);
        Ok(())
    }

    /// The directory this log is attached to, if any.
    pub fn dir(&self) -> Option<&Path> {
        self.files.as_ref().map(LevelFiles::dir)
    }

    /// Appends to the level files what was pushed since the last flush, without
    /// syncing. Does nothing for a log attached to no directory.
    ///
    /// After an error the tree in memory is whole and a later flush retries from the
    /// last hash known to be written.
    pub fn flush(&mut self) -> Result<(), MerkleError> {
        match &mut self.files {
            Some(files) => files.append(&self.levels),
            None => Ok(()),
        }
    }

    /// [`flush`](MerkleLog::flush)es, then syncs the files (and, when files were
    /// created, the directory) to stable storage.
    pub fn sync(&mut self) -> Result<(), MerkleError> {
        self.flush()?;
        match &mut self.files {
            Some(files) => files.sync(),
            None => Ok(()),
        }
    }

    /// The number of leaves.
    pub fn len(&self) -> u64 {
        self.levels[0].len() as u64
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// The hash of leaf `index`, if the tree has it.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.levels[0].get(i))
            .map(|h| Hash(*h))
    }

    /// Appends one journal line (without its `\n`) as the next leaf.
    pub fn push_line(&mut self, line: &[u8]) {
        self.push_leaf_hash(leaf_hash(line));
    }

    /// Appends a leaf hash (see [`leaf_hash`]) as the next leaf.
    pub fn push_leaf_hash(&mut self, leaf: Hash) {
        self.levels[0].push(leaf.0);
        self.add_parents(0);
    }

    /// After a node was pushed onto `levels[level]`: each level whose length became
    /// even gets the parent of its last two nodes.
    fn add_parents(&mut self, mut level: usize) {
        while self.levels[level].len().is_multiple_of(2) {
            let row = &self.levels[level];
            let parent = node_bytes(&row[row.len() - 2], &row[row.len() - 1]);
            if self.levels.len() == level + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[level + 1].push(parent);
            level += 1;
        }
    }

    /// Appends the `2^height` leaves of a perfect subtree known only by its hash (records
    /// a retention purge removed; see [`crate::subtree`]). The log's length must be a
    /// multiple of `2^height`. The levels below `height` get zero placeholders for
    /// those leaves (which [`open`](MerkleLog::open) and
    /// [`self_check`](MerkleLog::self_check) recognize as such), so the layout stays
    /// dense: every root and proof whose sizes and leaves lie outside such runs is
    /// exact, and the caller must not ask for others (it knows the runs; the log does
    /// not keep them).
    pub fn push_subtree(&mut self, height: u32, hash: Hash) -> Result<(), MerkleError> {
        let len = self.len();
        let h = height as usize;
        if height >= 63 || !len.is_multiple_of(1u64 << height) {
            return Err(MerkleError::Unaligned { height, len });
        }
        while self.levels.len() <= h {
            self.levels.push(Vec::new());
        }
        for (level, row) in self.levels.iter_mut().enumerate().take(h) {
            row.resize(row.len() + (1usize << (h - level)), [0; 32]);
        }
        self.levels[h].push(hash.0);
        self.add_parents(h);
        Ok(())
    }

    /// The hash of the perfect subtree of leaves `[start, start + 2^height)`, if the
    /// log holds it (`start` a multiple of `2^height`, the subtree complete).
    pub fn subtree_hash(&self, start: u64, height: u32) -> Option<Hash> {
        if height >= 64 || !start.is_multiple_of(1u64 << height) {
            return None;
        }
        self.levels
            .get(height as usize)?
            .get(pos(start >> height))
            .map(|h| Hash(*h))
    }

    /// Cuts the tree back to its first `size` leaves, in memory and in its files (not
    /// synced). For a journal found shorter than the tree after a crash.
    pub fn truncate_to(&mut self, size: u64) -> Result<(), MerkleError> {
        self.check_size(size)?;
        for (level, row) in self.levels.iter_mut().enumerate() {
            row.truncate(pos(size >> level));
        }
        while self.levels.len() > 1 && self.levels.last().is_some_and(Vec::is_empty) {
            self.levels.pop();
        }
        match &mut self.files {
            Some(files) => files.truncate(size),
            None => Ok(()),
        }
    }

    /// The root of the current tree, `MTH(D[0:n])`; SHA-256("") when empty.
    pub fn root(&self) -> Hash {
        if self.is_empty() {
            return empty_root();
        }
        Hash(self.range_hash(0, self.len()))
    }

    /// The root of the tree of the first `size` leaves, for any `size <= len()`.
    pub fn root_at(&self, size: u64) -> Result<Hash, MerkleError> {
        self.check_size(size)?;
        if size == 0 {
            return Ok(empty_root());
        }
        Ok(Hash(self.range_hash(0, size)))
    }

    /// The RFC 9162 §2.1.3.1 inclusion proof of leaf `index` in the tree of the first
    /// `size` leaves: sibling hashes from the leaf up to the root.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, MerkleError> {
        self.check_size(size)?;
        if index >= size {
            return Err(MerkleError::IndexOutOfRange { index, size });
        }
        let mut out = Vec::with_capacity(64);
        self.path(index, 0, size, &mut out);
        Ok(out)
    }

    /// The RFC 9162 §2.1.4.1 consistency proof that the tree of `old` leaves is a
    /// prefix of the tree of `new` leaves. Empty when `old == new`; an error for
    /// `old == 0` (no proof exists: see [`crate::ProofError::EmptyOldTree`]).
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, MerkleError> {
        self.check_size(new)?;
        if old == 0 || old > new {
            return Err(MerkleError::InvalidSizes { old, new });
        }
        let mut out = Vec::with_capacity(64);
        if old < new {
            self.subproof(old, 0, new, true, &mut out);
        }
        Ok(out)
    }

    /// [`inclusion_proof`](MerkleLog::inclusion_proof) with the leaf hash and root, ready
    /// to serialize.
    pub fn prove_inclusion(&self, seq: u64, size: u64) -> Result<InclusionProof, MerkleError> {
        let proof = self.inclusion_proof(seq, size)?;
        Ok(InclusionProof {
            seq,
            size,
            leaf_hash: Hash(self.levels[0][pos(seq)]),
            root: self.root_at(size)?,
            proof,
        })
    }

    /// [`consistency_proof`](MerkleLog::consistency_proof) with both roots, ready to
    /// serialize.
    pub fn prove_consistency(&self, old: u64, new: u64) -> Result<ConsistencyProof, MerkleError> {
        let proof = self.consistency_proof(old, new)?;
        Ok(ConsistencyProof {
            old,
            new,
            old_root: self.root_at(old)?,
            new_root: self.root_at(new)?,
            proof,
        })
    }

    /// Recomputes every node above the leaves from the two below it; O(n) hashes.
    /// [`MerkleError::Corrupt`] names the first level that disagrees.
    pub fn self_check(&self) -> Result<(), MerkleError> {
        let n = self.len();
        for level in 1..self.levels.len() {
            let (below, row) = (&self.levels[level - 1], &self.levels[level]);
            let bad = if row.len() as u64 != n >> level {
                Some(format!("{} hashes for {n} leaves", row.len()))
            } else {
                // All-zero children are placeholders under a pushed subtree.
                row.iter()
                    .enumerate()
                    .filter(|(i, _)| below[2 * i] != [0; 32] || below[2 * i + 1] != [0; 32])
                    .find(|(i, h)| node_bytes(&below[2 * i], &below[2 * i + 1]) != **h)
                    .map(|(i, _)| format!("hash {i} is not the hash of its two children"))
            };
            if let Some(reason) = bad {
                let path = match &self.files {
                    Some(files) => files.path(level),
                    None => PathBuf::from(storage::level_file_name(level)),
                };
                return Err(MerkleError::Corrupt { path, reason });
            }
        }
        Ok(())
    }

    fn check_size(&self, size: u64) -> Result<(), MerkleError> {
        if size > self.len() {
            return Err(MerkleError::SizeOutOfRange {
                size,
                len: self.len(),
            });
        }
        Ok(())
    }

    /// MTH of leaves `[start, end)`, a range the RFC recursion reaches: `start` is a
    /// multiple of the largest power of two not above `end - start`.
    ///
    /// The range splits into perfect subtrees, one per set bit of its length, largest
    /// first; its MTH folds them from the right: H(p1, H(p2, … pk)).
    fn range_hash(&self, start: u64, end: u64) -> [u8; 32] {
        debug_assert!(start < end);
        let mut remaining = end - start;
        let mut at = end;
        let mut acc: Option<[u8; 32]> = None;
        while remaining != 0 {
            let level = remaining.trailing_zeros() as usize;
            at -= 1 << level;
            let piece = &self.levels[level][pos(at >> level)];
            acc = Some(match acc {
                None => *piece,
                Some(right) => node_bytes(piece, &right),
            });
            remaining &= remaining - 1;
        }
        debug_assert_eq!(at, start);
        acc.unwrap_or_else(|| empty_root().0)
    }

    /// RFC 9162 §2.1.3.1 PATH(m, D[start:end]), appended to `out` leaf first.
    fn path(&self, m: u64, start: u64, end: u64, out: &mut Vec<Hash>) {
        let n = end - start;
        if n == 1 {
            return;
        }
        let k = split_point(n);
        if m < k {
            self.path(m, start, start + k, out);
            out.push(Hash(self.range_hash(start + k, end)));
        } else {
            self.path(m - k, start + k, end, out);
            out.push(Hash(self.range_hash(start, start + k)));
        }
    }

    /// RFC 9162 §2.1.4.1 SUBPROOF(m, D[start:end], b), appended to `out`.
    fn subproof(&self, m: u64, start: u64, end: u64, b: bool, out: &mut Vec<Hash>) {
        let n = end - start;
        if m == n {
            if !b {
                out.push(Hash(self.range_hash(start, end)));
            }
            return;
        }
        let k = split_point(n);
        if m <= k {
            self.subproof(m, start, start + k, b, out);
            out.push(Hash(self.range_hash(start + k, end)));
        } else {
            self.subproof(m - k, start + k, end, false, out);
            out.push(Hash(self.range_hash(start, start + k)));
        }
    }
}
