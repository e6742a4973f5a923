//! The crate's two error enums.
//!
//! [`MerkleError`] is about this process's own tree and files: a request out of range, a
//! level file that does not match, an I/O failure, an unparsable hash. [`ProofError`] is
//! about a proof received from somebody else: it says why the proof does not verify.
//! They are separate because a caller reacts to them differently: a `ProofError` is a
//! verdict on untrusted input (report it), a `MerkleError` is a local fault.

use std::io;
use std::path::PathBuf;

use crate::hash::Hash;

/// A fault in the local tree, its files or a request made of it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MerkleError {
    /// Reading or writing a level file failed. The tree in memory is unchanged by a
    /// failed write but its files may lag behind it: retry [`crate::MerkleLog::flush`],
    /// or drop the directory and rebuild from the journal.
    #[error("merkle level file {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },

    /// A level file does not match the format or the other levels (torn, truncated,
    /// too long, wrong header). The files are derived data: delete the directory and
    /// rebuild the tree from the journal lines.
    #[error("merkle level file {path} is corrupt: {reason}; rebuild it from the journal")]
    Corrupt {
        /// The file found wanting.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// A leaf index at or past the tree size asked about. A caller bug: report it.
    #[error("leaf index {index} is out of range for a tree of size {size}")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The tree size it was asked against.
        size: u64,
    },

    /// A tree size larger than the log holds. A caller bug, or the log has not caught
    /// up with the journal yet: append the missing leaves first.
    #[error("tree size {size} is larger than the log ({len} leaves)")]
    SizeOutOfRange {
        /// The size asked for.
        size: u64,
        /// The number of leaves the log holds.
        len: u64,
    },

    /// A consistency proof asked for from a larger to a smaller tree, or from the empty
    /// tree (which has no proof: every tree extends it). A caller bug.
    #[error("no consistency proof from size {old} to size {new}: need 0 < old <= new")]
    InvalidSizes {
        /// The old size asked for.
        old: u64,
        /// The new size asked for.
        new: u64,
    },

    /// A subtree appended where the log's length is not a multiple of its leaf count.
    /// A caller bug: subtrees come in the order [`crate::aligned_blocks`] gives.
    #[error("a subtree of 2^{height} leaves cannot start at leaf {len}")]
    Unaligned {
        /// The subtree's height.
        height: u32,
        /// The log's length.
        len: u64,
    },

    /// Text that is not a hash in the expected encoding. Report it to whoever sent it.
    #[error("invalid hash: {reason}")]
    InvalidHash {
        /// What is wrong with the text.
        reason: String,
    },
}

/// Why a proof does not verify. Each variant is a verdict on the proof (or on the sizes
/// and roots it was checked against): report it, never retry it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is at or past the tree size (this includes every index in the
    /// empty tree, which has no leaves to prove).
    #[error("leaf index {index} is out of range for a tree of size {size}")]
    IndexOutOfRange {
        /// The claimed leaf index.
        index: u64,
        /// The claimed tree size.
        size: u64,
    },

    /// The proof has a different number of hashes than the sizes call for. Both RFC
    /// 9162 proofs have a length fixed by the sizes alone, so this is checked first.
    #[error("proof has {found} hashes, the sizes call for {expected}")]
    WrongProofLength {
        /// The number the sizes call for.
        expected: usize,
        /// The number the proof holds.
        found: usize,
    },

    /// The inclusion proof leads to a different root than the one claimed.
    #[error("inclusion proof leads to root {computed}, not the claimed {expected}")]
    RootMismatch {
        /// The root the proof was checked against.
        expected: Hash,
        /// The root the proof leads to.
        computed: Hash,
    },

    /// The consistency proof does not reconstruct the claimed old root.
    #[error("consistency proof leads to old root {computed}, not the claimed {expected}")]
    OldRootMismatch {
        /// The old root the proof was checked against.
        expected: Hash,
        /// The old root the proof leads to.
        computed: Hash,
    },

    /// The consistency proof does not reconstruct the claimed new root.
    #[error("consistency proof leads to new root {computed}, not the claimed {expected}")]
    NewRootMismatch {
        /// The new root the proof was checked against.
        expected: Hash,
        /// The new root the proof leads to.
        computed: Hash,
    },

    /// Two trees of the same size with different roots: they are not the same tree.
    #[error("trees of the same size {size} have different roots")]
    RootsDiffer {
        /// The common size.
        size: u64,
    },

    /// A consistency proof from the empty tree. RFC 9162 §2.1.4 defines proofs only for
    /// `0 < old`; every tree trivially extends the empty one, so there is nothing to
    /// verify and a caller that wants to accept it must say so itself.
    #[error("no consistency proof exists from the empty tree")]
    EmptyOldTree,

    /// The old tree is larger than the new one: a log never shrinks.
    #[error("old size {old} is larger than new size {new}")]
    OldLargerThanNew {
        /// The claimed old size.
        old: u64,
        /// The claimed new size.
        new: u64,
    },
}
