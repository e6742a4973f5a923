//! Self-describing proofs, as they travel in JSON.

use serde::{Deserialize, Serialize};

use crate::error::ProofError;
use crate::hash::Hash;
use crate::verify::{verify_consistency, verify_inclusion};

/// An inclusion proof for the record `seq` (leaf `seq`) in the tree of `size` leaves.
///
/// JSON: `{"seq":…,"size":…,"leaf_hash":"<hex>","root":"<hex>","proof":["<hex>",…]}`.
///
/// [`verify`](InclusionProof::verify) checks the proof against its own `root`; a
/// verifier must also check that `root` is one it trusts (a signed checkpoint of the
/// same `size`), and that `leaf_hash` is the hash of the line it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// The leaf index: the record's `seq`.
    pub seq: u64,
    /// The tree size the proof is for.
    pub size: u64,
    /// The leaf hash of the record's line.
    pub leaf_hash: Hash,
    /// The root of the tree of `size` leaves.
    pub root: Hash,
    /// Sibling hashes from the leaf up to the root.
    pub proof: Vec<Hash>,
}

impl InclusionProof {
    /// Verifies the proof against its own `root` (RFC 9162 §2.1.3.2).
    pub fn verify(&self) -> Result<(), ProofError> {
        verify_inclusion(
            &self.leaf_hash,
            self.seq,
            self.size,
            &self.proof,
            &self.root,
        )
    }
}

/// A consistency proof that the tree of `old` leaves is a prefix of the tree of `new`.
///
/// JSON: `{"old":…,"new":…,"old_root":"<hex>","new_root":"<hex>","proof":["<hex>",…]}`.
///
/// [`verify`](ConsistencyProof::verify) checks the proof against its own roots; a
/// verifier must also check that both roots are ones it trusts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// The old tree size.
    pub old: u64,
    /// The new tree size.
    pub new: u64,
    /// The root of the old tree.
    pub old_root: Hash,
    /// The root of the new tree.
    pub new_root: Hash,
    /// The RFC 9162 §2.1.4.1 proof hashes.
    pub proof: Vec<Hash>,
}

impl ConsistencyProof {
    /// Verifies the proof against its own roots (RFC 9162 §2.1.4.2).
    pub fn verify(&self) -> Result<(), ProofError> {
        verify_consistency(
            self.old,
            self.new,
            &self.old_root,
            &self.new_root,
            &self.proof,
        )
    }
}
