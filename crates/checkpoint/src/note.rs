//! C2SP signed notes with Ed25519 signatures, for any text.
//!
//! ```text
//! <text: one or more lines, each ending in \n>
//! \n                                            the separating blank line
//! — <key name> <base64(key id ‖ signature)>\n   one or more signature lines
//! ```
//!
//! The dash is U+2014 EM DASH followed by a space. The signature is over the
//! text, including its final newline and excluding the blank line. The text
//! is separated from the signatures by the *last* blank line of the note, so
//! the text may itself hold blank lines (a checkpoint body may not; see
//! [`crate::checkpoint`]). A note holds no control characters other than
//! newline, and is UTF-8 (which `&str` guarantees).
//!
//! Opening a note with one verifier key follows the spec: signature lines by
//! other keys (a different name *or* a different key id) are ignored, every
//! line by the given key must verify, and at least one must be there.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::error::NoteError;
use crate::key::{check_key_name, KeyId, KeyPair, VerifierKey};

/// The start of every signature line: U+2014 EM DASH, then a space.
pub const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// At most this many signature lines are read; a note with more is
/// rejected. The spec asks verifiers to accept at least 16; this is the
/// limit of the Go implementation.
pub const MAX_SIGNATURES: usize = 100;

/// Signs `text` with `key` and returns the whole note: the text, a blank
/// line, and the signature line.
///
/// `text` must be non-empty, end with a newline and hold no control
/// characters other than newline.
pub fn sign_text(text: &str, key: &KeyPair) -> Result<String, NoteError> {
    let invalid = |reason: &str| NoteError::InvalidText {
        reason: reason.to_owned(),
    };
    if !text.ends_with('\n') {
        return Err(invalid("it does not end with a newline"));
    }
    if let Some(c) = text.chars().find(|&c| c < ' ' && c != '\n') {
        return Err(invalid(&format!(
            "it contains the control character U+{:04X}",
            c as u32
        )));
    }
    Ok(sign_checked_text(text, key))
}

/// Signs text already known to satisfy [`sign_text`]'s rules.
pub(crate) fn sign_checked_text(text: &str, key: &KeyPair) -> String {
    let line = signature_line(text, key);
    let mut note = String::with_capacity(text.len() + 1 + line.len());
    note.push_str(text);
    note.push('\n');
    note.push_str(&line);
    note
}

/// The signature line `— <name> <base64(key id ‖ signature)>\n` of `key`
/// over `text`.
pub fn signature_line(text: &str, key: &KeyPair) -> String {
    let mut blob = [0u8; 68];
    blob[..4].copy_from_slice(&key.key_id().to_bytes());
    blob[4..].copy_from_slice(&key.sign_bytes(text.as_bytes()));
    format!(
        "{SIGNATURE_PREFIX}{} {}\n",
        key.name(),
        STANDARD.encode(blob)
    )
}

/// A note split into its text and signature lines, syntax checked but not
/// verified.
pub(crate) struct ParsedNote<'a> {
    /// The signed text, including its final newline.
    pub text: &'a str,
    /// The signature lines, in order.
    pub signatures: Vec<SignatureLine<'a>>,
}

/// One parsed signature line.
pub(crate) struct SignatureLine<'a> {
    /// 1-based line number in the note.
    pub line: usize,
    pub name: &'a str,
    pub key_id: KeyId,
    /// The signature bytes after the key id (at least one byte).
    pub signature: Vec<u8>,
}

fn malformed(line: usize, reason: impl Into<String>) -> NoteError {
    NoteError::Malformed {
        line,
        reason: reason.into(),
    }
}

/// Splits and syntax-checks a signed note.
pub(crate) fn parse(note: &str) -> Result<ParsedNote<'_>, NoteError> {
    // No control characters other than newline, anywhere.
    let mut line = 1;
    for c in note.chars() {
        if c == '\n' {
            line += 1;
        } else if c < ' ' {
            return Err(malformed(
                line,
                format!("control character U+{:04X}", c as u32),
            ));
        }
    }
    let last_line = note.matches('\n').count() + usize::from(!note.ends_with('\n'));
    if !note.ends_with('\n') {
        return Err(malformed(
            last_line.max(1),
            "the note does not end with a newline",
        ));
    }
    let split = note.rfind("\n\n").ok_or_else(|| {
        malformed(
            last_line,
            "no blank line separating the text from the signatures",
        )
    })?;
    let text = &note[..=split];
    let text_lines = text.matches('\n').count();
    let block = &note[split + 2..];
    if block.is_empty() {
        return Err(malformed(
            text_lines + 1,
            "no signature lines after the blank line",
        ));
    }

    let mut signatures = Vec::new();
    for (i, raw) in block.split_terminator('\n').enumerate() {
        let line = text_lines + 2 + i;
        if signatures.len() == MAX_SIGNATURES {
            return Err(malformed(
                line,
                format!("more than {MAX_SIGNATURES} signature lines"),
            ));
        }
        let body = raw.strip_prefix(SIGNATURE_PREFIX).ok_or_else(|| {
            malformed(
                line,
                "a signature line must start with an em dash (U+2014) and a space",
            )
        })?;
        let (name, sig64) = body.split_once(' ').ok_or_else(|| {
            malformed(
                line,
                "a signature line must be '— <key name> <base64 signature>'",
            )
        })?;
        check_key_name(name).map_err(|e| malformed(line, e.to_string()))?;
        // Strict decoding: canonical padding, no trailing bits, no spaces.
        // Each signature has exactly one encoding, so no byte of the line
        // can change without changing what it says.
        let blob = STANDARD.decode(sig64).map_err(|e| {
            malformed(
                line,
                format!("signature is not standard padded base64: {e}"),
            )
        })?;
        if blob.len() < 5 {
            return Err(malformed(
                line,
                format!(
                    "signature holds {} bytes; it must hold a 4-byte key id and a signature",
                    blob.len()
                ),
            ));
        }
        let key_id = KeyId::from_bytes([blob[0], blob[1], blob[2], blob[3]]);
        signatures.push(SignatureLine {
            line,
            name,
            key_id,
            signature: blob[4..].to_vec(),
        });
    }
    Ok(ParsedNote { text, signatures })
}

impl ParsedNote<'_> {
    /// Checks the signatures against `verifier`: lines by other keys are
    /// ignored; every line by `verifier` must verify; at least one must.
    pub(crate) fn verify(&self, verifier: &VerifierKey) -> Result<(), NoteError> {
        let mut verified = false;
        for sig in &self.signatures {
            if sig.name != verifier.name() || sig.key_id != verifier.key_id() {
                continue;
            }
            if !verifier.verifies(self.text.as_bytes(), &sig.signature) {
                return Err(NoteError::BadSignature {
                    line: sig.line,
                    name: sig.name.to_owned(),
                    key_id: sig.key_id,
                });
            }
            verified = true;
        }
        if verified {
            Ok(())
        } else {
            Err(NoteError::NoSignatureByKey {
                name: verifier.name().to_owned(),
                key_id: verifier.key_id(),
            })
        }
    }
}

/// Opens a signed note: checks its syntax and that `verifier` signed it,
/// and returns the signed text (including its final newline).
///
/// Signatures by other keys are ignored; a signature by `verifier` that
/// does not verify rejects the whole note.
pub fn open_text<'a>(note: &'a str, verifier: &VerifierKey) -> Result<&'a str, NoteError> {
    let parsed = parse(note)?;
    parsed.verify(verifier)?;
    Ok(parsed.text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> KeyPair {
        KeyPair::from_seed("example.com/log", &[1u8; 32]).unwrap()
    }

    #[test]
    fn signature_line_is_em_dash_space_name_space_base64_newline() {
        let key = key();
        let line = signature_line("hello\n", &key);
        assert!(line.starts_with("\u{2014} example.com/log "), "{line:?}");
        assert_eq!(&line.as_bytes()[..4], &[0xE2, 0x80, 0x94, b' ']);
        assert!(line.ends_with('\n'));
        let sig64 = line.trim_end().rsplit(' ').next().unwrap();
        let blob = STANDARD.decode(sig64).unwrap();
        assert_eq!(blob.len(), 68);
        assert_eq!(blob[..4], key.key_id().to_bytes());
        // 68 bytes encode to 92 base64 characters ending in one '='.
        assert_eq!(sig64.len(), 92);
        assert!(sig64.ends_with('=') && !sig64.ends_with("=="));
    }

    #[test]
    fn sign_text_refuses_text_that_cannot_be_a_note_text() {
        let key = key();
        for bad in ["", "no newline", "a\rb\n", "tab\there\n"] {
            assert!(
                matches!(sign_text(bad, &key), Err(NoteError::InvalidText { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn text_may_hold_blank_lines_the_last_one_separates() {
        let key = key();
        let text = "a\n\nb\n";
        let note = sign_text(text, &key).unwrap();
        assert_eq!(open_text(&note, &key.verifier()).unwrap(), text);
    }

    #[test]
    fn malformed_lines_are_named() {
        let key = key();
        let note = sign_text("a\nb\n", &key).unwrap();
        let with_junk = format!("{note}junk\n");
        match open_text(&with_junk, &key.verifier()) {
            Err(NoteError::Malformed { line, reason }) => {
                assert_eq!(line, 5);
                assert!(reason.contains("em dash"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        let with_cr = note.replacen('b', "\r", 1);
        assert!(matches!(
            open_text(&with_cr, &key.verifier()),
            Err(NoteError::Malformed { line: 2, .. })
        ));
    }

    #[test]
    fn too_many_signature_lines_are_rejected() {
        let key = key();
        let note = sign_text("a\n", &key).unwrap();
        let line = &note[3..];
        let many = format!("a\n\n{}", line.repeat(MAX_SIGNATURES));
        assert!(open_text(&many, &key.verifier()).is_ok());
        let too_many = format!("a\n\n{}", line.repeat(MAX_SIGNATURES + 1));
        assert!(matches!(
            open_text(&too_many, &key.verifier()),
            Err(NoteError::Malformed { line, .. }) if line == 3 + MAX_SIGNATURES
        ));
    }
}
