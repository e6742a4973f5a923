//! The Merkle tree over the journal, kept as derived data under `DIR/index/merkle`.
//!
//! The tree is never trusted over the journal: on load, its last leaf is compared with
//! the hash of the journal's record at that position, and any mismatch (or damaged
//! level files) rebuilds it from the journal. New records are added by reading the
//! journal from where the tree ends — each record is hashed once, ever — so the append
//! hot path never pays for the tree.

use tradetrail_journal::{for_each_line_with, FsStorage};
use tradetrail_merkle::{leaf_hash, ConsistencyProof, Hash, InclusionProof, MerkleLog};

use crate::{Error, Recorder, Result};

/// The tree of a data directory, caught up with its journal.
#[derive(Debug)]
pub struct Tree {
    log: MerkleLog,
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
        let dir = rec.data_dir().index().join("merkle");
        let size = rec.journal().status()?.written;
        let mut load = TreeLoad::default();
        // Damaged or missing level files are not an error: the tree is rebuilt.
        let mut log = MerkleLog::open(&dir).ok();
        if let Some(l) = log.as_mut() {
            if l.len() > size && l.truncate_to(size).is_err() {
                log = None;
            }
        }
        if let Some(l) = &log {
            // The stored tree must end where the journal says it does.
            if !l.is_empty() {
                let last = l.len() - 1;
                let line = rec.read_line(last)?;
                if l.leaf(last) != Some(leaf_hash(&line)) {
                    log = None;
                }
            }
        }
        let mut log = match log {
            Some(l) => l,
            None => {
                load.rebuilt = true;
                let _ = std::fs::remove_dir_all(&dir);
                let mut l = MerkleLog::new();
                l.save(&dir)?;
                l
            }
        };
        let from = log.len();
        // From seq 0 on a rebuild: records that left journal/ come from the archive.
        for_each_line_with(
            &FsStorage,
            &rec.data_dir().journal(),
            rec.cold(),
            from,
            Some(size),
            |_, line| {
                log.push_line(line);
                Ok(true)
            },
        )?;
        load.added = log.len() - from;
        if log.len() != size {
            return Err(Error::Internal(format!(
                "the journal has {size} records but only {} could be read for the tree",
                log.len()
            )));
        }
        log.sync()?;
        Ok((Tree { log }, load))
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
        Ok(self.log.prove_consistency(old, new)?)
    }
}

fn out_of_range(reason: String) -> Error {
    Error::OutOfRange { reason }
}
