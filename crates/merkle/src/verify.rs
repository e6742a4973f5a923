//! Strict verifiers for RFC 9162 inclusion (§2.1.3.2) and consistency (§2.1.4.2) proofs.
//!
//! The loops below are the RFC's numbered steps, written in the same order with the
//! same names (`fn`, `sn`, `r`, `fr`, `sr`). Before running them each verifier checks
//! the proof length against the one the sizes call for, so a proof with a missing,
//! extra or shuffled-in hash is rejected with [`ProofError::WrongProofLength`] rather
//! than by a root mismatch: both are failures, the first says more.

use crate::error::ProofError;
use crate::hash::{node_hash, Hash};

/// The number of hashes in an inclusion proof for `index` in a tree of `size` leaves.
///
/// `inner` is the height of the lowest subtree holding both the leaf and the last leaf
/// of the tree; above it the path walks the right border, taking one hash for every
/// left sibling (a set bit of `index >> inner`).
///
/// Requires `index < size`.
pub(crate) fn inclusion_proof_len(index: u64, size: u64) -> usize {
    debug_assert!(index < size);
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}

/// The number of hashes in a consistency proof from `old` to `new` leaves.
///
/// It is the inclusion proof length of leaf `old - 1` in the new tree, less the levels
/// below the largest perfect subtree that ends the old tree (`old`'s trailing zeros),
/// plus that subtree's own hash unless it is the whole old tree (`old` a power of two,
/// when the verifier uses `old_root` in its place).
///
/// Requires `0 < old < new`.
pub(crate) fn consistency_proof_len(old: u64, new: u64) -> usize {
    debug_assert!(0 < old && old < new);
    let inner = 64 - ((old - 1) ^ (new - 1)).leading_zeros();
    let border = (old - 1).checked_shr(inner).unwrap_or(0).count_ones();
    let shift = old.trailing_zeros();
    let seed = usize::from(!old.is_power_of_two());
    (inner.saturating_sub(shift) + border) as usize + seed
}

/// Computes the root that an inclusion proof leads to (RFC 9162 §2.1.3.2 steps 1–4).
///
/// The caller must compare the result against a root it trusts; [`verify_inclusion`]
/// does both.
pub fn root_from_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    // Step 1: the leaf must be in the tree.
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_proof_len(index, size);
    if proof.len() != expected {
        return Err(ProofError::WrongProofLength {
            expected,
            found: proof.len(),
        });
    }
    // Steps 2 and 3.
    let mut fn_ = index;
    let mut sn = size - 1;
    let mut r = *leaf_hash;
    // Step 4.
    for p in proof {
        if sn == 0 {
            // Unreachable after the length check; kept so the loop is the RFC's.
            return Err(ProofError::WrongProofLength {
                expected,
                found: proof.len(),
            });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 5, first half: the path must have reached the root.
    if sn != 0 {
        return Err(ProofError::WrongProofLength {
            expected,
            found: proof.len(),
        });
    }
    Ok(r)
}

/// Verifies that `leaf_hash` is leaf `index` of the tree of `size` leaves whose root is
/// `root` (RFC 9162 §2.1.3.2).
///
/// Fails with [`ProofError::IndexOutOfRange`] when `index >= size` (so always for the
/// empty tree), [`ProofError::WrongProofLength`] when the proof is not exactly as long
/// as the sizes call for, and [`ProofError::RootMismatch`] otherwise.
///
/// As in RFC 9162, `size` is bound to the proof only through `root`: a proof for leaf 0
/// of a 5-leaf tree also verifies as leaf 0 of a 6-leaf tree *against the 5-leaf root*.
/// So `root` must come from a checkpoint that names `size` itself.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let computed = root_from_inclusion(leaf_hash, index, size, proof)?;
    if computed != *root {
        return Err(ProofError::RootMismatch {
            expected: *root,
            computed,
        });
    }
    Ok(())
}

/// Verifies that the tree of `new_size` leaves with root `new_root` extends the tree of
/// `old_size` leaves with root `old_root` (RFC 9162 §2.1.4.2).
///
/// - `old_size == 0` fails with [`ProofError::EmptyOldTree`]: the RFC defines proofs
///   only for a non-empty old tree, and every tree extends the empty one, so a caller
///   that starts from nothing has nothing to check and must decide that itself.
/// - `old_size > new_size` fails with [`ProofError::OldLargerThanNew`].
/// - `old_size == new_size` needs an empty proof and equal roots
///   ([`ProofError::WrongProofLength`], [`ProofError::RootsDiffer`]).
/// - Otherwise the proof must be exactly as long as the sizes call for and must
///   reconstruct both roots ([`ProofError::OldRootMismatch`],
///   [`ProofError::NewRootMismatch`]).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::OldLargerThanNew {
            old: old_size,
            new: new_size,
        });
    }
    if old_size == 0 {
        return Err(ProofError::EmptyOldTree);
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::WrongProofLength {
                expected: 0,
                found: proof.len(),
            });
        }
        if old_root != new_root {
            return Err(ProofError::RootsDiffer { size: old_size });
        }
        return Ok(());
    }
    let expected = consistency_proof_len(old_size, new_size);
    let wrong_length = ProofError::WrongProofLength {
        expected,
        found: proof.len(),
    };
    // Step 1: an empty path fails (for 0 < old < new the expected length is >= 1).
    if proof.len() != expected || proof.is_empty() {
        return Err(wrong_length);
    }
    // Step 2: when the old tree is a perfect subtree its root starts the path.
    let seed = old_size.is_power_of_two().then_some(old_root);
    let mut path = seed.into_iter().chain(proof);
    // Steps 3 and 4.
    let mut fn_ = old_size - 1;
    let mut sn = new_size - 1;
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 5. `path` is not empty: `proof` is not.
    let first = *path.next().ok_or(wrong_length.clone())?;
    let mut fr = first;
    let mut sr = first;
    // Step 6.
    for c in path {
        if sn == 0 {
            return Err(wrong_length);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 7.
    if sn != 0 {
        return Err(wrong_length);
    }
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch {
            expected: *old_root,
            computed: fr,
        });
    }
    if sr != *new_root {
        return Err(ProofError::NewRootMismatch {
            expected: *new_root,
            computed: sr,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proof_lengths_match_the_published_vectors() {
        // Lengths of the transparency-dev/merkle proof/verify_test.go vectors.
        assert_eq!(inclusion_proof_len(0, 1), 0);
        assert_eq!(inclusion_proof_len(0, 8), 3);
        assert_eq!(inclusion_proof_len(5, 8), 3);
        assert_eq!(inclusion_proof_len(2, 3), 1);
        assert_eq!(inclusion_proof_len(1, 5), 3);
        assert_eq!(consistency_proof_len(1, 8), 3);
        assert_eq!(consistency_proof_len(6, 8), 3);
        assert_eq!(consistency_proof_len(2, 5), 2);
        assert_eq!(consistency_proof_len(6, 7), 3);
    }

    #[test]
    fn lengths_do_not_overflow_at_the_top_of_u64() {
        assert_eq!(inclusion_proof_len(u64::MAX - 1, u64::MAX), 63);
        assert_eq!(inclusion_proof_len(0, u64::MAX), 64);
        assert_eq!(consistency_proof_len(1, u64::MAX), 64);
        assert_eq!(consistency_proof_len(u64::MAX - 1, u64::MAX), 64);
    }
}
