//! Comparing two replicas' data directories record by record (`tradetrail replica
//! status`): the longest common prefix, its Merkle root, and the first `seq` where they
//! differ.

use tradetrail_core::DataDir;
use tradetrail_journal::{for_each_line_with, FsStorage};
use tradetrail_merkle::{leaf_hash, Hash, MerkleLog};

use crate::Result;

/// Records compared per read of each side.
const CHUNK: u64 = 65_536;

/// What [`compare`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// Records in this directory's journal (with its archive).
    pub local_records: u64,
    /// Records in the peer's.
    pub peer_records: u64,
    /// Records equal, byte for byte, from seq 0 on (the common prefix's size).
    pub common: u64,
    /// The Merkle root of the common prefix (what a checkpoint of that size signs on
    /// both sides).
    pub common_root: Hash,
    /// The first seq both hold and hold differently; `None` when one is a prefix of
    /// the other.
    pub first_difference: Option<u64>,
}

impl Comparison {
    /// True when one journal is a prefix of the other (or both are equal).
    pub fn agree(&self) -> bool {
        self.first_difference.is_none()
    }
}

/// The leaf hashes of records `from..from + CHUNK` of `dir` (fewer at its end). Reads
/// lines as stored, without checking the chain: a tampered replica is compared too.
fn leaves(dir: &DataDir, from: u64) -> Result<Vec<Hash>> {
    let cold = crate::cold_tier(dir)?;
    let mut out = Vec::new();
    for_each_line_with(
        &FsStorage,
        &dir.journal(),
        cold.as_deref(),
        from,
        Some(from + CHUNK),
        |_, line| {
            out.push(leaf_hash(line));
            Ok(true)
        },
    )?;
    Ok(out)
}

/// Compares two data directories record by record (neither is opened for writing;
/// a live one can be compared, up to what it has written).
pub fn compare(local: &DataDir, peer: &DataDir) -> Result<Comparison> {
    // Both must be data directories: a wrong path is an error, not "empty".
    local.load_config()?;
    peer.load_config()?;
    let mut log = MerkleLog::new();
    let mut from = 0;
    let mut first_difference = None;
    let (mut local_records, mut peer_records);
    loop {
        let a = leaves(local, from)?;
        let b = leaves(peer, from)?;
        local_records = from + a.len() as u64;
        peer_records = from + b.len() as u64;
        let same = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
        for h in &a[..same] {
            log.push_leaf_hash(*h);
        }
        if same < a.len().min(b.len()) {
            first_difference = Some(from + same as u64);
            break;
        }
        if a.len() as u64 != CHUNK || b.len() as u64 != CHUNK {
            break;
        }
        from += CHUNK;
    }
    if first_difference.is_some() {
        // Count the rest of each side, for the report.
        local_records = count_from(local, local_records)?;
        peer_records = count_from(peer, peer_records)?;
    }
    Ok(Comparison {
        local_records,
        peer_records,
        common: log.len(),
        common_root: log.root(),
        first_difference,
    })
}

fn count_from(dir: &DataDir, mut from: u64) -> Result<u64> {
    loop {
        let n = leaves(dir, from)?.len() as u64;
        from += n;
        if n < CHUNK {
            return Ok(from);
        }
    }
}
