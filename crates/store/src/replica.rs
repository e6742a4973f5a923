//! Comparing two replicas' data directories record by record (`tradetrail replica
//! status`): the longest common prefix, its Merkle root, and the first `seq` where they
//! differ; and their signed checkpoints, size by size: replicas of one stream with the
//! same configuration and key sign byte-equal notes at the same sizes
//! (`ingest nats --replica --checkpoint-every N`).

use std::collections::BTreeMap;

use tradetrail_checkpoint::{open_note, VerifierKey};
use tradetrail_core::checkpoints::{stored_checkpoints, verifier_key};
use tradetrail_core::DataDir;
use tradetrail_journal::{for_each_line_with, FsStorage};
use tradetrail_merkle::{leaf_hash, Hash, MerkleLog};

use crate::{ReadStore, Result, Store};

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
    /// Their signed checkpoints, compared at the sizes both signed.
    pub checkpoints: CheckpointComparison,
}

impl Comparison {
    /// True when one journal is a prefix of the other (or both are equal) and no two
    /// checkpoints of the same size sign different tree heads.
    pub fn agree(&self) -> bool {
        self.first_difference.is_none() && self.checkpoints.first_difference.is_none()
    }
}

/// One side's signed checkpoints: the notes as saved, and the verifier key they are
/// opened with (`None` when the side has none to give).
#[derive(Debug, Clone, Default)]
pub struct SignedNotes {
    /// The notes, byte for byte.
    pub notes: Vec<String>,
    /// The side's verifier key (`name+id+key`).
    pub verifier: Option<String>,
}

impl SignedNotes {
    /// Every checkpoint saved in `dir/checkpoints`, with `dir`'s verifier key.
    pub fn of(dir: &DataDir) -> Result<SignedNotes> {
        let notes = stored_checkpoints(dir)?
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        let verifier = verifier_key(dir).ok().map(|k| k.to_string());
        Ok(SignedNotes { notes, verifier })
    }
}

/// What comparing two replicas' signed checkpoints found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckpointComparison {
    /// Checkpoints this directory holds.
    pub local: usize,
    /// Checkpoints the peer gave (a server gives its latest one).
    pub peer: usize,
    /// The sizes both signed, ascending.
    pub sizes: Vec<u64>,
    /// Of those, the sizes whose two notes are byte-equal.
    pub byte_equal: Vec<u64>,
    /// Of those, the sizes whose notes sign the same tree head (origin, size, root)
    /// but differ in bytes (another key, or another signature by the same key).
    pub other_signatures: Vec<u64>,
    /// The first size both signed where the tree heads differ, or a note does not
    /// open with its side's key, and why.
    pub first_difference: Option<(u64, String)>,
}

/// A note's size (its second line), when it has one, for pairing notes that do not
/// open.
fn note_size(note: &str) -> Option<u64> {
    note.lines().nth(1).and_then(|l| l.parse().ok())
}

/// size -> (note, its opened tree head or why it does not open).
type Opened = BTreeMap<u64, (String, std::result::Result<(String, [u8; 32]), String>)>;

fn open_all(side: &SignedNotes) -> Opened {
    let key = side.verifier.as_deref().map(VerifierKey::parse);
    let mut out = BTreeMap::new();
    for note in &side.notes {
        let opened = match &key {
            None => Err("there is no verifier key to open it with".to_string()),
            Some(Err(e)) => Err(format!("its verifier key is unusable: {e}")),
            Some(Ok(k)) => open_note(note, k)
                .map(|c| (c.size(), c.origin().to_string(), *c.root()))
                .map_err(|e| e.to_string()),
        };
        let (size, head) = match opened {
            Ok((size, origin, root)) => (Some(size), Ok((origin, root))),
            Err(e) => (note_size(note), Err(e)),
        };
        if let Some(size) = size {
            out.insert(size, (note.clone(), head));
        }
    }
    out
}

/// Compares two sides' signed checkpoints at every size both signed: byte-equal
/// notes, the same tree head under other signatures, or different heads (the first
/// such size is named: a replica's history, or its note, was changed).
pub fn compare_checkpoints(local: &SignedNotes, peer: &SignedNotes) -> CheckpointComparison {
    let (a, b) = (open_all(local), open_all(peer));
    let mut c = CheckpointComparison {
        local: local.notes.len(),
        peer: peer.notes.len(),
        ..CheckpointComparison::default()
    };
    for (size, (na, ha)) in &a {
        let Some((nb, hb)) = b.get(size) else {
            continue;
        };
        c.sizes.push(*size);
        if na == nb {
            c.byte_equal.push(*size);
            continue;
        }
        let why = match (ha, hb) {
            (Err(e), _) => Some(format!("the local note does not open with its key: {e}")),
            (_, Err(e)) => Some(format!("the peer's note does not open with its key: {e}")),
            (Ok((oa, _)), Ok((ob, _))) if oa != ob => {
                Some(format!("they sign other origins ({oa:?} and {ob:?})"))
            }
            (Ok((_, ra)), Ok((_, rb))) if ra != rb => Some("they sign different roots".to_string()),
            _ => None,
        };
        match why {
            Some(why) if c.first_difference.is_none() => c.first_difference = Some((*size, why)),
            Some(_) => {}
            None => c.other_signatures.push(*size),
        }
    }
    c
}

/// The leaf hashes of records `from..from + CHUNK` of `side` (fewer at its end). Reads
/// lines as stored: a record altered further back than the read door checks (without
/// a signed checkpoint over it) is compared too, and named where the sides differ.
fn leaves(side: &ReadStore, from: u64) -> Result<Vec<Hash>> {
    let mut out = Vec::new();
    for_each_line_with(
        &FsStorage,
        &side.data_dir().journal(),
        side.cold(),
        from,
        Some(from + CHUNK),
        |_, line| {
            out.push(leaf_hash(line));
            Ok(true)
        },
    )?;
    Ok(out)
}

/// Compares two data directories record by record. Both are opened through the read
/// door ([`Store::open_read`]: a wrong path is an error, not "empty"; a damaged
/// journal, or one that contradicts its newest signed checkpoint, is refused with the
/// error [`Store::open`] gives); neither is opened for writing, so a live one can be
/// compared, up to what it has written.
pub fn compare(local: &DataDir, peer: &DataDir) -> Result<Comparison> {
    let local = &Store::open_read(local)?;
    let peer = &Store::open_read(peer)?;
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
        checkpoints: compare_checkpoints(
            &SignedNotes::of(local.data_dir())?,
            &SignedNotes::of(peer.data_dir())?,
        ),
    })
}

fn count_from(dir: &ReadStore, mut from: u64) -> Result<u64> {
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
    /// The signed checkpoints the peer gives (all, or its latest), with its key.
    fn checkpoints(&mut self) -> std::result::Result<SignedNotes, String>;
}

/// Compares this data directory with a peer known by its tree: the roots at the
/// smaller size are compared; when they differ, a binary search over sizes (log2 of
/// the size questions to the peer) finds the first seq where the two differ. This
/// directory is opened through the read door, as by [`compare`].
pub fn compare_tree(local: &DataDir, peer: &mut dyn PeerTree) -> Result<Comparison> {
    let local = &Store::open_read(local)?;
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
    let peer_notes = peer.checkpoints().map_err(|reason| crate::Error::Peer {
        peer: described.clone(),
        reason,
    })?;
    Ok(Comparison {
        local_records,
        peer_records,
        common: lo,
        common_root: local_root(lo)?,
        first_difference: hi.map(|_| lo),
        checkpoints: compare_checkpoints(&SignedNotes::of(local.data_dir())?, &peer_notes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradetrail_checkpoint::{sign, Checkpoint, KeyPair};

    fn notes(key: &KeyPair, heads: &[(u64, u8)]) -> SignedNotes {
        SignedNotes {
            notes: heads
                .iter()
                .map(|&(size, root)| {
                    let cp = Checkpoint::new("test.example/replica", size, [root; 32]).unwrap();
                    sign(&cp, key)
                })
                .collect(),
            verifier: Some(key.verifier().to_string()),
        }
    }

    #[test]
    fn checkpoints_compared_size_by_size() {
        let k = KeyPair::from_seed("desk", &[7; 32]).unwrap();
        let other = KeyPair::from_seed("desk", &[8; 32]).unwrap();
        // Byte-equal at the sizes both signed; the others are not compared.
        let c = compare_checkpoints(
            &notes(&k, &[(10, 1), (20, 2), (30, 3)]),
            &notes(&k, &[(10, 1), (20, 2), (40, 4)]),
        );
        assert_eq!((c.local, c.peer), (3, 3));
        assert_eq!(c.sizes, vec![10, 20]);
        assert_eq!(c.byte_equal, vec![10, 20]);
        assert!(c.other_signatures.is_empty() && c.first_difference.is_none());
        // Another key, the same heads: not byte-equal, not a difference.
        let c = compare_checkpoints(&notes(&k, &[(10, 1)]), &notes(&other, &[(10, 1)]));
        assert_eq!(c.other_signatures, vec![10]);
        assert!(c.byte_equal.is_empty() && c.first_difference.is_none());
        // Different roots at 20 and 30: the first is named.
        let c = compare_checkpoints(
            &notes(&k, &[(10, 1), (20, 2), (30, 3)]),
            &notes(&other, &[(10, 1), (20, 9), (30, 9)]),
        );
        assert_eq!(
            c.first_difference,
            Some((20, "they sign different roots".to_string()))
        );
        // A peer note that its key does not open (signed by another): named.
        let mut forged = notes(&other, &[(10, 1)]);
        forged.verifier = Some(k.verifier().to_string());
        let c = compare_checkpoints(&notes(&k, &[(10, 2)]), &forged);
        let (size, why) = c.first_difference.unwrap();
        assert_eq!(size, 10);
        assert!(why.starts_with("the peer's note does not open"), "{why}");
    }
}
