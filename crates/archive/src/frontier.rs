//! The RFC 6962 tree of the first N records, kept as its frontier: the roots of the
//! complete subtrees that N decomposes into (at most 64 hashes). Adding leaves one
//! at a time gives the root at every size without keeping the leaves, so a manifest
//! can record the root at its end and the frontier to carry on from.

use serde::{Deserialize, Serialize};
use tradetrail_merkle::{empty_root, leaf_hash, node_hash, Hash};

/// The frontier of the tree of the first `size` leaves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frontier {
    /// Leaves so far.
    pub size: u64,
    /// Roots of the complete subtrees, largest (leftmost) first; one per 1-bit of `size`.
    pub nodes: Vec<Hash>,
}

impl Frontier {
    /// The empty tree.
    pub fn new() -> Frontier {
        Frontier::default()
    }

    /// Checks that the number of nodes fits the size (a damaged manifest otherwise).
    pub fn is_well_formed(&self) -> bool {
        self.nodes.len() == self.size.count_ones() as usize
    }

    /// Adds one record's line (without `\n`).
    pub fn push_line(&mut self, line: &[u8]) {
        self.push_leaf(leaf_hash(line));
    }

    /// Adds one leaf hash.
    pub fn push_leaf(&mut self, leaf: Hash) {
        self.push_subtree(0, leaf)
            .expect("every size is a multiple of 2^0");
    }

    /// Adds the `2^height` leaves of a perfect subtree known by its hash (records a
    /// purge removed). The size must be a multiple of `2^height`; then the subtree
    /// merges with the nodes on the right edge as a leaf does, from level `height`.
    pub fn push_subtree(&mut self, height: u32, hash: Hash) -> Result<(), String> {
        if height >= 63 || !self.size.is_multiple_of(1u64 << height) {
            return Err(format!(
                "a subtree of height {height} cannot follow {} leaves (not a multiple of 2^{height})",
                self.size
            ));
        }
        let mut h = hash;
        let mut s = self.size >> height;
        while s & 1 == 1 {
            let left = self.nodes.pop().expect("one node per 1-bit of size");
            h = node_hash(&left, &h);
            s >>= 1;
        }
        self.nodes.push(h);
        self.size += 1u64 << height;
        Ok(())
    }

    /// MTH of the leaves so far (RFC 6962 §2.1): the complete subtrees folded from
    /// the right.
    pub fn root(&self) -> Hash {
        let mut it = self.nodes.iter().rev();
        let Some(last) = it.next() else {
            return empty_root();
        };
        it.fold(*last, |acc, left| node_hash(left, &acc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradetrail_merkle::MerkleLog;

    #[test]
    fn roots_match_the_merkle_log_at_every_size() {
        let mut log = MerkleLog::new();
        let mut f = Frontier::new();
        assert_eq!(f.root(), log.root());
        for i in 0..300u32 {
            let line = format!("{{\"seq\":{i}}}");
            log.push_line(line.as_bytes());
            f.push_line(line.as_bytes());
            assert_eq!(f.root(), log.root(), "size {}", i + 1);
            assert!(f.is_well_formed());
        }
    }

    #[test]
    fn subtrees_push_like_their_leaves() {
        use tradetrail_merkle::SubtreeBuilder;
        let leaves: Vec<Hash> = (0..200u32)
            .map(|i| leaf_hash(format!("l{i}").as_bytes()))
            .collect();
        for (a, b) in [
            (0u64, 1u64),
            (0, 200),
            (3, 77),
            (64, 128),
            (5, 6),
            (100, 199),
        ] {
            let mut full = Frontier::new();
            let mut holed = Frontier::new();
            let mut sb = SubtreeBuilder::new(a, b);
            for (i, l) in leaves.iter().enumerate().take(b as usize) {
                full.push_leaf(*l);
                if (i as u64) < a {
                    holed.push_leaf(*l);
                } else {
                    sb.push_leaf(*l);
                }
            }
            for s in sb.finish().unwrap() {
                holed.push_subtree(s.height, s.hash).unwrap();
            }
            assert_eq!(holed, full, "[{a},{b})");
        }
        let mut f = Frontier::new();
        f.push_leaf(leaves[0]);
        assert!(f.push_subtree(1, leaves[1]).is_err());
    }
}
