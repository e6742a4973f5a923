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

/// A peer replica seen through its Merkle tree: its size, and its root at any size up
/// to that (a `tradetrail serve` answers both: `tradetrail_server::peer::HttpPeer`).
pub trait PeerTree {
    /// Where the peer is, for messages.
    fn describe(&self) -> String;
    /// The peer's records now (the comparison is made up to this size).
    fn size(&mut self) -> std::result::Result<u64, String>;
    /// The root of the peer's first `size` records, `1 <= size <= self.size()`.
    fn root_at(&mut self, size: u64) -> std::result::Result<Hash, String>;
}

/// Compares this data directory with a peer known by its tree: the roots at the
/// smaller size are compared; when they differ, a binary search over sizes (log2 of
/// the size questions to the peer) finds the first seq where the two differ.
pub fn compare_tree(local: &DataDir, peer: &mut dyn PeerTree) -> Result<Comparison> {
    local.load_config()?;
    let described = peer.describe();
    let peer_records = peer.size().map_err(|reason| crate::Error::Peer {
        peer: described.clone(),
        reason,
    })?;
    let mut log = MerkleLog::new();
    let mut from = 0;
    loop {
        let a = leaves(local, from)?;
        for h in &a {
            log.push_leaf_hash(*h);
        }
        if (a.len() as u64) < CHUNK {
            break;
        }
        from += CHUNK;
    }
    let local_records = log.len();
    let n = local_records.min(peer_records);
    let peer_root = |peer: &mut dyn PeerTree, size: u64| {
        peer.root_at(size).map_err(|reason| crate::Error::Peer {
            peer: described.clone(),
            reason,
        })
    };
    let local_root = |size: u64| {
        log.root_at(size)
            .map_err(|e| crate::Error::Core(tradetrail_core::Error::Merkle(e)))
    };
    // Sizes known equal (lo) and known different (hi).
    let (mut lo, mut hi) = (0u64, None);
    if n > 0 {
        if peer_root(peer, n)? == local_root(n)? {
            lo = n;
        } else {
            hi = Some(n);
        }
    }
    if let Some(mut h) = hi {
        while h - lo > 1 {
            let mid = lo + (h - lo) / 2;
            if peer_root(peer, mid)? == local_root(mid)? {
                lo = mid;
            } else {
                h = mid;
            }
        }
    }
    Ok(Comparison {
        local_records,
        peer_records,
        common: lo,
        common_root: local_root(lo)?,
        first_difference: hi.map(|_| lo),
    })
}
