//! C2SP tlog-checkpoint bodies, signed and opened as signed notes.
//!
//! ```text
//! <origin>\n                       non-empty; the log's identity
//! <tree size>\n                    ASCII decimal, no leading zeros ("0" if empty)
//! <root hash>\n                    standard padded base64 of the 32-byte RFC 6962 root
//! [<extension line>\n]...          optional, opaque, each non-empty
//! \n
//! — <key name> <base64(key id ‖ Ed25519 signature)>\n
//! ```

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::error::NoteError;
use crate::key::{KeyPair, VerifierKey};
use crate::note;

/// A signed tree head: the log's origin, the number of records, and the
/// RFC 6962 Merkle root of those records, plus optional extension lines.
///
/// Invariant: the origin is non-empty and every extension line is
/// non-empty, and none of them holds a newline or another control
/// character — so [`Checkpoint::body`] is always a valid checkpoint body
/// and signing cannot fail. Build one with [`Checkpoint::new`] or get one
/// from [`open_note`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: [u8; 32],
    extensions: Vec<String>,
}

fn check_line(field: &'static str, line: &str) -> Result<(), NoteError> {
    let reason = if line.is_empty() {
        "it is empty".to_owned()
    } else if let Some(c) = line.chars().find(|&c| c < ' ') {
        format!("it contains the control character U+{:04X}", c as u32)
    } else {
        return Ok(());
    };
    Err(NoteError::InvalidCheckpoint { field, reason })
}

impl Checkpoint {
    /// A checkpoint with no extension lines.
    ///
    /// The origin must be non-empty and hold no control characters; the
    /// tlog-checkpoint spec recommends a schema-less URL without spaces or
    /// `+`, such as `example.com/journal`.
    pub fn new(origin: &str, size: u64, root: [u8; 32]) -> Result<Checkpoint, NoteError> {
        check_line("origin", origin)?;
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        })
    }

    /// Adds an extension line (non-empty, no control characters).
    ///
    /// The spec calls extension lines opaque and does not recommend them:
    /// monitors cannot audit them. They are signed with the rest.
    pub fn with_extension(mut self, line: &str) -> Result<Checkpoint, NoteError> {
        check_line("extension line", line)?;
        self.extensions.push(line.to_owned());
        Ok(self)
    }

    /// The origin line: which log this is.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The tree size: how many records the root covers.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The RFC 6962 Merkle tree root of the first `size` records.
    pub fn root(&self) -> &[u8; 32] {
        &self.root
    }

    /// The extension lines, in order (usually none).
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The note text: origin, size and root lines, then the extension
    /// lines, each ending in a newline. This is what the signature covers.
    pub fn body(&self) -> String {
        let mut body = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        );
        for line in &self.extensions {
            body.push_str(line);
            body.push('\n');
        }
        body
    }

    /// Parses a checkpoint body (the note text, ending in a newline).
    /// Line numbers in errors count from the start of the note.
    fn parse_body(text: &str) -> Result<Checkpoint, NoteError> {
        let malformed = |line: usize, reason: String| NoteError::Malformed { line, reason };
        let lines: Vec<&str> = text
            .strip_suffix('\n')
            .unwrap_or(text)
            .split('\n')
            .collect();
        if let Some(i) = lines.iter().position(|l| l.is_empty()) {
            return Err(malformed(
                i + 1,
                "empty line in the checkpoint body (a checkpoint has exactly one blank line, \
                 before the signatures)"
                    .to_owned(),
            ));
        }
        if lines.len() < 3 {
            return Err(malformed(
                lines.len() + 1,
                format!(
                    "a checkpoint body needs origin, tree size and root hash lines, found {} line(s)",
                    lines.len()
                ),
            ));
        }

        let origin = lines[0];

        let size_text = lines[1];
        if !size_text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed(
                2,
                format!("tree size {size_text:?} is not a decimal number"),
            ));
        }
        if size_text.len() > 1 && size_text.starts_with('0') {
            return Err(malformed(
                2,
                format!("tree size {size_text:?} has a leading zero"),
            ));
        }
        let size: u64 = size_text.parse().map_err(|_| {
            malformed(
                2,
                format!("tree size {size_text:?} does not fit in 64 bits"),
            )
        })?;

        let root_text = lines[2];
        let root_bytes = STANDARD.decode(root_text).map_err(|e| {
            malformed(
                3,
                format!("root hash {root_text:?} is not standard padded base64: {e}"),
            )
        })?;
        let root: [u8; 32] = root_bytes.as_slice().try_into().map_err(|_| {
            malformed(
                3,
                format!("root hash holds {} bytes, expected 32", root_bytes.len()),
            )
        })?;

        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions: lines[3..].iter().map(|l| (*l).to_owned()).collect(),
        })
    }
}

/// Signs `checkpoint` with `key` and returns the signed note: the body, a
/// blank line and one signature line.
///
/// The tlog-checkpoint spec recommends that the key name equal the origin;
/// that is the caller's choice and is not enforced.
pub fn sign(checkpoint: &Checkpoint, key: &KeyPair) -> String {
    note::sign_checked_text(&checkpoint.body(), key)
}

/// Opens a signed checkpoint note: checks the signed-note and checkpoint
/// syntax strictly, then that `verifier` signed the body.
///
/// Signature lines by other keys (another name or another key id, such as
/// witness cosignatures) are ignored; every line by `verifier` must
/// verify, and there must be at least one.
pub fn open_note(note: &str, verifier: &VerifierKey) -> Result<Checkpoint, NoteError> {
    let parsed = note::parse(note)?;
    let checkpoint = Checkpoint::parse_body(parsed.text)?;
    parsed.verify(verifier)?;
    Ok(checkpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_the_three_lines_then_extensions() {
        let cp = Checkpoint::new("example.com/log", 7, [0u8; 32])
            .unwrap()
            .with_extension("x=1")
            .unwrap();
        assert_eq!(
            cp.body(),
            "example.com/log\n7\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nx=1\n"
        );
    }

    #[test]
    fn constructor_rejects_what_cannot_be_a_line() {
        for bad in ["", "a\nb", "a\rb"] {
            assert!(
                matches!(
                    Checkpoint::new(bad, 0, [0; 32]),
                    Err(NoteError::InvalidCheckpoint {
                        field: "origin",
                        ..
                    })
                ),
                "{bad:?}"
            );
            let cp = Checkpoint::new("o", 0, [0; 32]).unwrap();
            assert!(
                matches!(
                    cp.with_extension(bad),
                    Err(NoteError::InvalidCheckpoint {
                        field: "extension line",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn parse_body_reads_back_body() {
        let cp = Checkpoint::new("go.sum database tree", u64::MAX, [0xab; 32])
            .unwrap()
            .with_extension("— looks like a signature but is not")
            .unwrap();
        assert_eq!(Checkpoint::parse_body(&cp.body()).unwrap(), cp);
    }

    #[test]
    fn parse_body_names_the_bad_line() {
        let root = STANDARD.encode([1u8; 32]);
        let cases = [
            (format!("\n1\n{root}\n"), 1, "empty line"),
            (format!("o\n01\n{root}\n"), 2, "leading zero"),
            (format!("o\n00\n{root}\n"), 2, "leading zero"),
            (format!("o\n+1\n{root}\n"), 2, "not a decimal"),
            (format!("o\n-1\n{root}\n"), 2, "not a decimal"),
            (format!("o\n 1\n{root}\n"), 2, "not a decimal"),
            (format!("o\n\n{root}\n"), 2, "empty line"),
            (format!("o\n18446744073709551616\n{root}\n"), 2, "64 bits"),
            ("o\n1\nAAAA\n".to_owned(), 3, "expected 32"),
            (
                format!("o\n1\n{}\n", root.trim_end_matches('=')),
                3,
                "base64",
            ),
            (format!("o\n1\n{}\n", root.replace('A', "-")), 3, "base64"),
            (format!("o\n1\n{root}\n\next\n"), 4, "empty line"),
            ("o\n1\n".to_owned(), 3, "needs origin"),
        ];
        for (body, want_line, want_reason) in cases {
            match Checkpoint::parse_body(&body) {
                Err(NoteError::Malformed { line, reason }) => {
                    assert_eq!(line, want_line, "{body:?}: {reason}");
                    assert!(reason.contains(want_reason), "{body:?}: {reason}");
                }
                other => panic!("{body:?}: {other:?}"),
            }
        }
        assert_eq!(
            Checkpoint::parse_body(&format!("o\n0\n{root}\n"))
                .unwrap()
                .size(),
            0
        );
    }
}
