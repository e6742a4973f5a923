//! The transparency-log maths of tradetrail: an RFC 6962 / RFC 9162 §2.1 Merkle tree
//! over the journal's lines, its inclusion and consistency proofs, strict verifiers, and
//! the tree's derived on-disk form.
//!
//! Record `seq` n of the journal is leaf n. The leaf hash is SHA-256(0x00 ‖ line) with
//! the line taken without its trailing `\n` ([`leaf_hash`]); an interior node is
//! SHA-256(0x01 ‖ left ‖ right) ([`node_hash`]); the empty tree's root is SHA-256("")
//! ([`empty_root`]). This crate knows nothing of trading or of the journal's files: it
//! is fed lines or leaf hashes.
//!
//! - [`MerkleLog`] keeps the hashes of every perfect subtree, level by level, so an
//!   append is O(log n) and the root of any earlier size, an inclusion proof or a
//!   consistency proof is O(log n) lookups and hashes, whatever the history. It can be
//!   attached to a directory of append-only level files (derived data, rebuilt from
//!   the journal when they do not match).
//! - [`verify_inclusion`] and [`verify_consistency`] follow RFC 9162 §2.1.3.2 and
//!   §2.1.4.2 step by step and reject with a [`ProofError`] that says what is wrong.
//! - [`struct@Hash`] prints as lowercase hex and converts to and from standard base64;
//!   [`InclusionProof`] and [`ConsistencyProof`] serialize to JSON with hex strings.
//!
//! ```
//! use tradetrail_merkle::{leaf_hash, verify_consistency, verify_inclusion, MerkleLog};
//!
//! let lines: [&[u8]; 5] = [b"{\"seq\":0}", b"{\"seq\":1}", b"{\"seq\":2}", b"{\"seq\":3}", b"{\"seq\":4}"];
//! let mut log = MerkleLog::new();
//! for line in &lines[..3] {
//!     log.push_line(line);
//! }
//! let old_root = log.root();
//! for line in &lines[3..] {
//!     log.push_line(line);
//! }
//!
//! // Record 1 is in the tree of 5 records...
//! let proof = log.inclusion_proof(1, 5).unwrap();
//! assert!(verify_inclusion(&leaf_hash(lines[1]), 1, 5, &proof, &log.root()).is_ok());
//! assert!(verify_inclusion(&leaf_hash(lines[2]), 1, 5, &proof, &log.root()).is_err());
//!
//! // ...and the tree of 3 records is a prefix of it.
//! assert_eq!(log.root_at(3).unwrap(), old_root);
//! let proof = log.consistency_proof(3, 5).unwrap();
//! assert!(verify_consistency(3, 5, &old_root, &log.root(), &proof).is_ok());
//!
//! // Proofs travel as JSON with lowercase hex hashes.
//! let json = serde_json::to_string(&log.prove_inclusion(1, 5).unwrap()).unwrap();
//! assert!(json.starts_with(r#"{"seq":1,"size":5,"leaf_hash":""#));
//! ```
//!
//! # Why not the `ct-merkle` crate
//!
//! `ct-merkle` 0.3 (crates.io) was evaluated and not used. Its verifiers are sound, but:
//! it depends on `digest` 0.11 while the workspace uses `sha2` 0.10, so it would pull a
//! second SHA-2 stack; its tree (`MemoryBackedTree`) keeps the leaf *values* and proves
//! only against its current size, with no roots or proofs for earlier sizes, no leaf
//! hashes pushed directly and no persistence; its free functions name nodes by an
//! in-order index that we would translate to our level layout anyway; and proofs are
//! opaque byte strings. What remains to write by hand is about 200 lines of RFC
//! recursion, which the tests check against the published transparency-dev vectors and
//! a naive implementation of the RFC definitions.
//!
//! # Measuring
//!
//! `cargo run --release -p tradetrail-merkle --example measure -- 10000000` builds a
//! log of that many leaves and prints the build time and the mean time of roots and
//! proofs at that size. Nothing in the tests asserts a timing.

mod error;
mod hash;
mod log;
mod proof;
pub mod storage;
pub mod subtree;
mod verify;

pub use error::{MerkleError, ProofError};
pub use hash::{empty_root, leaf_hash, node_hash, Hash, HASH_LEN};
pub use log::MerkleLog;
pub use proof::{ConsistencyProof, InclusionProof};
pub use subtree::{aligned_blocks, Subtree, SubtreeBuilder};
pub use verify::{root_from_inclusion, verify_consistency, verify_inclusion};
