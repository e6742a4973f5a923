//! Signed checkpoints for the tradetrail journal.
//!
//! A checkpoint states "the log `origin` held `size` records, and the RFC
//! 6962 Merkle root over them was `root`", signed with the journal's
//! Ed25519 key. Kept by an auditor, it later proves the journal only grew:
//! a consistency proof from the saved checkpoint to today's must verify.
//!
//! The formats are the public ones, so any conforming tool checks our
//! checkpoints and we check theirs:
//!
//! - the body is a C2SP `tlog-checkpoint` (origin, tree size, base64 root,
//!   optional extension lines) — [`Checkpoint`];
//! - it is wrapped in a C2SP `signed-note` with Ed25519 signatures, the
//!   format of `golang.org/x/mod/sumdb/note` — [`sign`], [`open_note`], and
//!   for arbitrary text [`sign_text`], [`open_text`];
//! - keys travel as note key strings: the public `<name>+<key id>+<base64>`
//!   ([`VerifierKey`]) and the secret `PRIVATE+KEY+<name>+<key id>+<base64>`
//!   ([`KeyPair`]), with key id = SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public
//!   key)[..4] ([`KeyId`]);
//! - [`KeyPair::save`] and [`KeyPair::load`] keep them in a key directory
//!   (`signing.key` mode 0600, `verifier.vkey`).
//!
//! This crate knows nothing of trading or of journal files: the caller
//! supplies the origin, the size and the root.
//!
//! ```
//! use tradetrail_checkpoint::{open_note, sign, Checkpoint, KeyPair, VerifierKey};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The journal's key; `keypair.save(dir)` would keep it in `dir/signing.key`.
//! let keypair = KeyPair::generate("example.com/journal")?;
//! // The public half, as a string an auditor can keep.
//! let vkey = keypair.verifier().to_string();
//!
//! let root = [0x5a; 32]; // from the Merkle tree of the first 42 records
//! let checkpoint = Checkpoint::new("example.com/journal", 42, root)?;
//! let note = sign(&checkpoint, &keypair);
//! assert!(note.starts_with("example.com/journal\n42\nWlpa"));
//! assert!(note.contains("\n\n\u{2014} example.com/journal "));
//!
//! // The auditor opens it with the verifier key alone.
//! let verifier: VerifierKey = vkey.parse()?;
//! let opened = open_note(&note, &verifier)?;
//! assert_eq!(opened, checkpoint);
//! assert_eq!(opened.size(), 42);
//!
//! // Any change is caught.
//! let forged = note.replacen("\n42\n", "\n43\n", 1);
//! assert!(open_note(&forged, &verifier).is_err());
//! # Ok(())
//! # }
//! ```

pub mod checkpoint;
pub mod error;
pub mod key;
pub mod keyfile;
pub mod note;

pub use checkpoint::{open_note, sign, Checkpoint};
pub use error::{KeyError, NoteError};
pub use key::{check_key_name, KeyId, KeyPair, VerifierKey};
pub use keyfile::{SIGNING_KEY_FILE, VERIFIER_KEY_FILE};
pub use note::{open_text, sign_text, signature_line};
pub use zeroize::Zeroizing;
