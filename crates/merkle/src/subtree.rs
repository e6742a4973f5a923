//! Runs of leaves known only by the roots of the perfect subtrees they split into.
//!
//! When a retention purge removes records, their lines are gone, but the tree over
//! the whole journal must still give the same roots and proofs for everything that
//! remains. A run of leaves `[start, end)` splits into its *aligned blocks*: the
//! largest perfect subtrees `[s, s + 2^h)` with `s` a multiple of `2^h` that tile it,
//! left to right (at most two per height). Keeping one hash per block — O(log n)
//! hashes per run — is enough: the RFC 9162 recursion, asked about any size, leaf or
//! pair of sizes outside the run, only ever needs the run's nodes at or above those
//! blocks (a node below a block would have a parent inside the run, which is then
//! itself inside a block). Runs that touch compose: the blocks of two neighbouring
//! runs serve the run they make together.

use serde::{Deserialize, Serialize};

use crate::hash::{node_hash, Hash};

/// The perfect subtree of leaves `[start, start + 2^height)`, by its hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subtree {
    /// Its first leaf; a multiple of `2^height`.
    pub start: u64,
    /// log2 of its leaf count.
    pub height: u32,
    /// MTH of its leaves.
    pub hash: Hash,
}

impl Subtree {
    /// Leaves it covers.
    pub fn leaves(&self) -> u64 {
        1u64 << self.height
    }

    /// The leaf after its last.
    pub fn end(&self) -> u64 {
        self.start + self.leaves()
    }
}

/// The aligned blocks `(start, height)` that tile `[start, end)`, left to right.
pub fn aligned_blocks(start: u64, end: u64) -> Vec<(u64, u32)> {
    let mut out = Vec::new();
    let mut at = start;
    while at < end {
        let align = if at == 0 { 63 } else { at.trailing_zeros() };
        // The largest height that both `at` allows and still fits before `end`.
        let fits = 63 - (end - at).leading_zeros();
        let h = align.min(fits);
        out.push((at, h));
        at += 1u64 << h;
    }
    out
}

/// Computes the aligned blocks of `[start, end)` from its leaf hashes, fed in order.
#[derive(Debug)]
pub struct SubtreeBuilder {
    blocks: Vec<(u64, u32)>,
    next: usize,
    /// Perfect subtrees of the block being filled, largest first.
    stack: Vec<(u32, Hash)>,
    done: Vec<Subtree>,
}

impl SubtreeBuilder {
    /// A builder for the run `[start, end)`.
    pub fn new(start: u64, end: u64) -> SubtreeBuilder {
        SubtreeBuilder {
            blocks: aligned_blocks(start, end),
            next: 0,
            stack: Vec::new(),
            done: Vec::new(),
        }
    }

    /// Adds the next leaf hash. Leaves past the run's end are ignored.
    pub fn push_leaf(&mut self, leaf: Hash) {
        let Some(&(start, height)) = self.blocks.get(self.next) else {
            return;
        };
        let mut node = (0u32, leaf);
        while let Some(&(h, left)) = self.stack.last() {
            if h != node.0 {
                break;
            }
            self.stack.pop();
            node = (h + 1, node_hash(&left, &node.1));
        }
        if node.0 == height {
            self.done.push(Subtree {
                start,
                height,
                hash: node.1,
            });
            self.next += 1;
        } else {
            self.stack.push(node);
        }
    }

    /// The blocks, once every leaf of the run was pushed; `None` before that.
    pub fn finish(self) -> Option<Vec<Subtree>> {
        (self.next == self.blocks.len()).then_some(self.done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use crate::MerkleLog;

    #[test]
    fn blocks_tile_the_run_and_are_aligned_and_maximal() {
        for start in 0..70u64 {
            for end in start..140u64 {
                let blocks = aligned_blocks(start, end);
                let mut at = start;
                for (i, &(s, h)) in blocks.iter().enumerate() {
                    assert_eq!(s, at);
                    assert_eq!(s % (1 << h), 0, "[{start},{end}) block {s}/{h}");
                    // Maximal: doubling it would break alignment or pass the end.
                    let bigger = s % (1 << (h + 1)) == 0 && s + (2 << h) <= end;
                    assert!(!bigger, "[{start},{end}) block {s}/{h} is not maximal");
                    at += 1 << h;
                    assert!(i < 2 * 64);
                }
                assert_eq!(at, end.max(start));
            }
        }
    }

    #[test]
    fn built_blocks_match_the_log() {
        let mut log = MerkleLog::new();
        let leaves: Vec<Hash> = (0..200u32)
            .map(|i| leaf_hash(format!("line {i}").as_bytes()))
            .collect();
        for l in &leaves {
            log.push_leaf_hash(*l);
        }
        for (start, end) in [(0, 1), (0, 200), (3, 77), (64, 128), (5, 6), (100, 199)] {
            let mut b = SubtreeBuilder::new(start, end);
            for l in &leaves[start as usize..end as usize] {
                b.push_leaf(*l);
            }
            let got = b.finish().expect("all leaves pushed");
            assert_eq!(got.len(), aligned_blocks(start, end).len());
            for s in got {
                assert_eq!(
                    Some(s.hash),
                    log.subtree_hash(s.start, s.height),
                    "[{start},{end}) block {}/{}",
                    s.start,
                    s.height
                );
            }
        }
        let mut short = SubtreeBuilder::new(0, 10);
        short.push_leaf(leaves[0]);
        assert!(short.finish().is_none());
    }

    /// A log with a run replaced by its blocks gives the same roots and proofs as the
    /// full log wherever sizes and leaves avoid the inside of the run.
    #[test]
    fn a_log_with_a_run_of_subtrees_proves_what_lies_outside_it() {
        let n = 90u64;
        let leaves: Vec<Hash> = (0..n)
            .map(|i| leaf_hash(format!("r{i}").as_bytes()))
            .collect();
        let mut full = MerkleLog::new();
        leaves.iter().for_each(|l| full.push_leaf_hash(*l));
        for (a, b) in [(0u64, 37u64), (5, 6), (13, 64), (40, 90), (1, 89)] {
            let mut b_ = SubtreeBuilder::new(a, b);
            leaves[a as usize..b as usize]
                .iter()
                .for_each(|l| b_.push_leaf(*l));
            let blocks = b_.finish().unwrap();
            let mut holed = MerkleLog::new();
            leaves[..a as usize]
                .iter()
                .for_each(|l| holed.push_leaf_hash(*l));
            for s in &blocks {
                holed.push_subtree(s.height, s.hash).unwrap();
            }
            leaves[b as usize..]
                .iter()
                .for_each(|l| holed.push_leaf_hash(*l));
            assert_eq!(holed.len(), n);
            let outside = |x: u64| x <= a || x >= b;
            for size in (1..=n).filter(|&s| outside(s)) {
                assert_eq!(holed.root_at(size).unwrap(), full.root_at(size).unwrap());
                for leaf in (0..size).filter(|&l| l < a || l >= b) {
                    assert_eq!(
                        holed.inclusion_proof(leaf, size).unwrap(),
                        full.inclusion_proof(leaf, size).unwrap(),
                        "run [{a},{b}) leaf {leaf} size {size}"
                    );
                }
                for old in (1..=size).filter(|&s| outside(s)) {
                    assert_eq!(
                        holed.consistency_proof(old, size).unwrap(),
                        full.consistency_proof(old, size).unwrap(),
                        "run [{a},{b}) {old} -> {size}"
                    );
                }
            }
        }
        let mut log = MerkleLog::new();
        log.push_leaf_hash(leaves[0]);
        assert!(
            log.push_subtree(1, leaves[1]).is_err(),
            "1 is not a multiple of 2"
        );
    }

    /// A log holding subtrees is saved, reopened and self-checked like any other:
    /// the zero placeholders under a subtree are not mistaken for damage.
    #[test]
    fn a_log_with_subtrees_reopens_from_its_files() {
        let leaves: Vec<Hash> = (0..200u32)
            .map(|i| leaf_hash(format!("p{i}").as_bytes()))
            .collect();
        let mut full = MerkleLog::new();
        leaves.iter().for_each(|l| full.push_leaf_hash(*l));
        let dir = std::env::temp_dir().join(format!("tt-subtree-{}", std::process::id()));
        for (a, b, end) in [
            (128u64, 192u64, 192u64),
            (100, 199, 200),
            (3, 77, 77),
            (64, 128, 130),
        ] {
            let mut sb = SubtreeBuilder::new(a, b);
            leaves[a as usize..b as usize]
                .iter()
                .for_each(|l| sb.push_leaf(*l));
            let mut log = MerkleLog::new();
            leaves[..a as usize]
                .iter()
                .for_each(|l| log.push_leaf_hash(*l));
            for s in sb.finish().unwrap() {
                log.push_subtree(s.height, s.hash).unwrap();
            }
            leaves[b as usize..end as usize]
                .iter()
                .for_each(|l| log.push_leaf_hash(*l));
            log.self_check().unwrap();
            log.save(&dir).unwrap();
            let back = MerkleLog::open(&dir).unwrap();
            assert_eq!(back.len(), end);
            assert_eq!(
                back.root(),
                full.root_at(end).unwrap(),
                "[{a},{b}) to {end}"
            );
            back.self_check().unwrap();
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
