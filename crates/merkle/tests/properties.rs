//! Property tests: the incremental log against the naive RFC definitions
//! (`common`), and the verifiers against every tampering we can think of.

mod common;

use common::{leaves, ref_mth, ref_path, ref_proof, MemoMth};
use proptest::prelude::*;
use tradetrail_merkle::{verify_consistency, verify_inclusion, Hash, MerkleLog, ProofError};

fn log_of(leaves: &[Hash]) -> MerkleLog {
    let mut log = MerkleLog::new();
    for leaf in leaves {
        log.push_leaf_hash(*leaf);
    }
    log
}

fn flip(proof: &[Hash], element: usize, bit: usize) -> Vec<Hash> {
    let mut p = proof.to_vec();
    p[element].0[bit / 8] ^= 1 << (bit % 8);
    p
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Every prefix root, pushed one leaf at a time, is the RFC MTH of that prefix; so
    /// is `root_at` of every prefix asked for afterwards.
    #[test]
    fn every_prefix_root_is_the_rfc_mth(seed in any::<u64>(), n in 1usize..4000) {
        let d = leaves(seed, n);
        let mut reference = MemoMth::new(&d);
        let mut log = MerkleLog::new();
        prop_assert_eq!(log.root(), ref_mth(&[]));
        for (i, leaf) in d.iter().enumerate() {
            log.push_leaf_hash(*leaf);
            prop_assert_eq!(log.root(), reference.mth(0, i + 1), "root after {} leaves", i + 1);
        }
        for size in 0..=n {
            prop_assert_eq!(log.root_at(size as u64).unwrap(), reference.mth(0, size));
        }
        // Spot-check the memoized reference against the plain one.
        prop_assert_eq!(reference.mth(0, n), ref_mth(&d));
        log.self_check().unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Inclusion proofs are RFC 9162 PATH(m, D[n]) and verify; any bit flipped in any
    /// element, any other index, or any other size checked against that size's root,
    /// fails.
    #[test]
    fn inclusion_proofs_are_the_rfc_paths_and_resist_tampering(
        seed in any::<u64>(),
        n in 1u64..3000,
        picks in prop::collection::vec((any::<u64>(), any::<u64>(), any::<u64>(), 0usize..256), 4),
    ) {
        let d = leaves(seed, n as usize);
        let log = log_of(&d);
        for (a, b, other, bit) in picks {
            let size = 1 + a % n;
            let index = b % size;
            let proof = log.inclusion_proof(index, size).unwrap();
            prop_assert_eq!(&proof, &ref_path(index as usize, &d[..size as usize]));
            let root = log.root_at(size).unwrap();
            let leaf = d[index as usize];
            verify_inclusion(&leaf, index, size, &proof, &root).unwrap();

            if !proof.is_empty() {
                let element = (other % proof.len() as u64) as usize;
                let bad = flip(&proof, element, bit);
                prop_assert!(verify_inclusion(&leaf, index, size, &bad, &root).is_err(),
                    "flipped bit {} of element {}", bit, element);
            }
            prop_assert!(verify_inclusion(&flip(&[leaf], 0, bit)[0], index, size, &proof, &root).is_err());
            prop_assert!(verify_inclusion(&leaf, index, size, &proof, &flip(&[root], 0, bit)[0]).is_err());
            if size > 1 {
                let other_index = (index + 1 + other % (size - 1)) % size;
                prop_assert_ne!(other_index, index);
                prop_assert!(verify_inclusion(&leaf, other_index, size, &proof, &root).is_err(),
                    "verified as index {}", other_index);
            }
            let other_size = 1 + other % n;
            if other_size != size && index < other_size {
                let other_root = log.root_at(other_size).unwrap();
                prop_assert!(verify_inclusion(&leaf, index, other_size, &proof, &other_root).is_err(),
                    "verified against size {}", other_size);
            }
        }
    }

    /// Consistency proofs are RFC 9162 PROOF(m, D[n]) and verify; any bit flipped in any
    /// element, swapped roots, or other sizes checked against their true roots, fail.
    #[test]
    fn consistency_proofs_are_the_rfc_proofs_and_resist_tampering(
        seed in any::<u64>(),
        n in 1u64..3000,
        picks in prop::collection::vec((any::<u64>(), any::<u64>(), any::<u64>(), 0usize..256), 4),
    ) {
        let d = leaves(seed, n as usize);
        let log = log_of(&d);
        for (a, b, other, bit) in picks {
            let new = 1 + a % n;
            let old = 1 + b % new;
            let proof = log.consistency_proof(old, new).unwrap();
            prop_assert_eq!(&proof, &ref_proof(old as usize, &d[..new as usize]));
            let (r1, r2) = (log.root_at(old).unwrap(), log.root_at(new).unwrap());
            verify_consistency(old, new, &r1, &r2, &proof).unwrap();

            if old < new {
                let element = (other % proof.len() as u64) as usize;
                prop_assert!(verify_consistency(old, new, &r1, &r2, &flip(&proof, element, bit)).is_err(),
                    "flipped bit {} of element {}", bit, element);
                prop_assert!(verify_consistency(old, new, &r2, &r1, &proof).is_err());
            }
            prop_assert!(verify_consistency(old, new, &flip(&[r1], 0, bit)[0], &r2, &proof).is_err());
            prop_assert!(verify_consistency(old, new, &r1, &flip(&[r2], 0, bit)[0], &proof).is_err());
            let other_old = 1 + other % new;
            if other_old != old {
                let r = log.root_at(other_old).unwrap();
                prop_assert!(verify_consistency(other_old, new, &r, &r2, &proof).is_err(),
                    "verified from size {}", other_old);
            }
            let other_new = old + other % (n - old + 1);
            if other_new != new {
                let r = log.root_at(other_new).unwrap();
                prop_assert!(verify_consistency(old, other_new, &r1, &r, &proof).is_err(),
                    "verified to size {}", other_new);
            }
        }
    }
}

/// Exhaustive over small trees: every (index, size) and (old, new) pair; every bit of
/// every proof element up to size 8, and every 29th bit above (debug-mode hashing is
/// slow and the bits are not special).
#[test]
fn every_small_proof_and_every_bit_flip() {
    let n = 17;
    let d = leaves(7, n);
    let log = log_of(&d);
    let roots: Vec<Hash> = (0..=n).map(|s| ref_mth(&d[..s])).collect();
    let mut flips = 0;
    for size in 1..=n as u64 {
        let root = log.root_at(size).unwrap();
        let bits: Vec<usize> = (0..256).step_by(if size <= 8 { 1 } else { 29 }).collect();
        for index in 0..size {
            let proof = log.inclusion_proof(index, size).unwrap();
            assert_eq!(proof, ref_path(index as usize, &d[..size as usize]));
            let leaf = d[index as usize];
            verify_inclusion(&leaf, index, size, &proof, &root).unwrap();
            for element in 0..proof.len() {
                for &bit in &bits {
                    let bad = flip(&proof, element, bit);
                    assert!(matches!(
                        verify_inclusion(&leaf, index, size, &bad, &root),
                        Err(ProofError::RootMismatch { .. })
                    ));
                    flips += 1;
                }
            }
            for other in (0..size).filter(|&o| o != index) {
                assert!(verify_inclusion(&leaf, other, size, &proof, &root).is_err());
            }
        }
        for old in 1..=size {
            let proof = log.consistency_proof(old, size).unwrap();
            assert_eq!(proof, ref_proof(old as usize, &d[..size as usize]));
            let r1 = log.root_at(old).unwrap();
            verify_consistency(old, size, &r1, &root, &proof).unwrap();
            for element in 0..proof.len() {
                for &bit in &bits {
                    let bad = flip(&proof, element, bit);
                    assert!(verify_consistency(old, size, &r1, &root, &bad).is_err());
                    flips += 1;
                }
            }
            // Every other pair of sizes, with their own true roots, rejects this proof
            // (an empty proof, old == size, proves every o == s: nothing to check).
            if old == size {
                continue;
            }
            for (o, s) in (1..=n as u64).flat_map(|s| (1..=s).map(move |o| (o, s))) {
                if (o, s) != (old, size) {
                    let (a, b) = (roots[o as usize], roots[s as usize]);
                    assert!(
                        verify_consistency(o, s, &a, &b, &proof).is_err(),
                        "proof {old}->{size} verified as {o}->{s}"
                    );
                }
            }
        }
    }
    assert!(flips > 10_000, "only {flips} flips");
}
