//! The two error types of this crate.
//!
//! They are split by what the caller does next. A [`KeyError`] is a setup
//! problem — a mistyped verifier key, a key file with loose permissions, a
//! disk error — that an operator fixes before trying again. A [`NoteError`]
//! is the outcome of checking a checkpoint someone handed us: apart from
//! [`NoteError::InvalidCheckpoint`] and [`NoteError::InvalidText`], which
//! reject our own input before signing, every variant means "do not trust
//! this checkpoint", and a verifier reports it as tampering or corruption.

use std::path::PathBuf;

use crate::key::KeyId;

/// What is wrong with a key string, a key file or key generation.
///
/// Messages never contain private key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key name breaks the signed-note rules: it must be non-empty and
    /// contain no whitespace, no `+` and no control characters.
    ///
    /// Choose another name (a schema-less URL such as `example.com/journal`
    /// is recommended).
    #[error("invalid key name {name:?}: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },

    /// A verifier key (`<name>+<id>+<base64>`) or signer key
    /// (`PRIVATE+KEY+<name>+<id>+<base64>`) string is not well formed.
    ///
    /// Check that the whole string was copied; report it to whoever gave it.
    #[error("malformed {kind}: {reason}")]
    Malformed {
        /// `"verifier key"` or `"signer key"`.
        kind: &'static str,
        /// What is wrong, without echoing secret material.
        reason: String,
    },

    /// The key data names a signature algorithm other than Ed25519 (0x01).
    ///
    /// This crate only handles Ed25519 keys; use a key of that type.
    #[error("{kind} uses signature algorithm 0x{found:02x}; only Ed25519 (0x01) is supported")]
    UnknownAlgorithm {
        /// `"verifier key"` or `"signer key"`.
        kind: &'static str,
        /// The algorithm byte found.
        found: u8,
    },

    /// The key data after the algorithm byte has the wrong length.
    ///
    /// The string was truncated or extended; obtain it again.
    #[error("{kind} holds {found} key bytes after the algorithm byte, expected {expected}")]
    WrongLength {
        /// `"verifier key"` or `"signer key"`.
        kind: &'static str,
        /// 32 for Ed25519.
        expected: usize,
        /// What the string holds.
        found: usize,
    },

    /// The 32 bytes are not a valid Ed25519 public key (not a curve point).
    ///
    /// The verifier key is corrupt; obtain it again.
    #[error("{kind} does not hold a valid Ed25519 public key")]
    InvalidPublicKey {
        /// `"verifier key"`.
        kind: &'static str,
    },

    /// The key id written in the string is not the one computed from the
    /// name and the public key: the name, the id or the key was altered.
    ///
    /// Obtain the key string again from its owner.
    #[error("{kind} states key id {stated} but its name and key give {computed}")]
    KeyIdMismatch {
        /// `"verifier key"` or `"signer key"`.
        kind: &'static str,
        /// The id written in the string.
        stated: KeyId,
        /// The id computed from the name and the public key.
        computed: KeyId,
    },

    /// The operating system's random number generator failed.
    ///
    /// Retry; if it persists the machine has no usable entropy source.
    #[error("cannot draw a random key seed from the operating system: {reason}")]
    Random {
        /// The underlying error, as text.
        reason: String,
    },

    /// Reading or writing a key file failed.
    ///
    /// Check the path, the disk and the permissions, then retry.
    #[error("{path}: {source}", path = path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// The signing key file can be read or written by the group or others.
    ///
    /// Restrict it (`chmod 600 <path>`) and retry; the key may have leaked,
    /// so consider whether it must be replaced.
    #[error(
        "{path} has mode {mode:03o}, so users other than its owner can access the signing key; \
         run `chmod 600 {path}`",
        path = path.display()
    )]
    InsecurePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits (`mode & 0o777`).
        mode: u32,
    },

    /// A signing key file already exists where a new key was to be saved.
    ///
    /// Replacing a signing key makes every checkpoint signed so far
    /// unverifiable with the new verifier key, so it is never done silently:
    /// load the existing key, or move the file away first on purpose.
    #[error("{path} already exists; refusing to replace a signing key", path = path.display())]
    AlreadyExists {
        /// The existing key file.
        path: PathBuf,
    },

    /// A key file's content is not a valid key string.
    ///
    /// The file is corrupt or not a key file; restore it from backup.
    #[error("{path}: {source}", path = path.display())]
    InFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong with its content.
        #[source]
        source: Box<KeyError>,
    },
}

/// Why a signed note or checkpoint was not accepted, or could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The note breaks the signed-note or tlog-checkpoint syntax at `line`
    /// (1-based, counting every line of the note).
    ///
    /// Do not trust the checkpoint; report it as corrupt.
    #[error("malformed note, line {line}: {reason}")]
    Malformed {
        /// 1-based line number in the note.
        line: usize,
        /// What is wrong there.
        reason: String,
    },

    /// The note is well formed, but none of its signatures is by the
    /// expected key (same name and same key id). Signatures by other keys
    /// are ignored, as the signed-note spec requires.
    ///
    /// Do not trust the checkpoint: it was signed by someone else, or the
    /// verifier key given is not the journal's.
    #[error("no signature by key {name}+{key_id} in the note")]
    NoSignatureByKey {
        /// The expected key's name.
        name: String,
        /// The expected key's id.
        key_id: KeyId,
    },

    /// A signature line names the expected key, but the signature does not
    /// verify over the note text: text or signature was altered.
    ///
    /// Do not trust the checkpoint; report it as tampered with.
    #[error("signature on line {line} by key {name}+{key_id} does not verify")]
    BadSignature {
        /// 1-based line number of the signature line.
        line: usize,
        /// The key's name.
        name: String,
        /// The key's id.
        key_id: KeyId,
    },

    /// A checkpoint field given for signing breaks the tlog-checkpoint
    /// rules (for example an empty origin, or an extension line holding a
    /// newline).
    ///
    /// Fix the input; nothing was signed.
    #[error("invalid checkpoint {field}: {reason}")]
    InvalidCheckpoint {
        /// `"origin"` or `"extension line"`.
        field: &'static str,
        /// Which rule it breaks.
        reason: String,
    },

    /// Text given for signing cannot be a signed-note text (it must be
    /// non-empty, end in a newline and hold no control characters other
    /// than newline).
    ///
    /// Fix the input; nothing was signed.
    #[error("text cannot be signed as a note: {reason}")]
    InvalidText {
        /// Which rule it breaks.
        reason: String,
    },
}
