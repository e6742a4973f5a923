//! The checkpoint note encoding: what is produced, and what is refused.
//!
//! Notes that must be refused for their syntax are *validly signed* here
//! (with `sign_text` over a hand-made body), so each test fails unless the
//! parser itself catches the problem — a signature check alone would pass.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use tradetrail_checkpoint::{
    open_note, sign, sign_text, Checkpoint, KeyId, KeyPair, NoteError, VerifierKey,
};

const ORIGIN: &str = "example.com/journal";

fn key() -> KeyPair {
    KeyPair::from_seed(ORIGIN, &[42u8; 32]).unwrap()
}

fn root() -> [u8; 32] {
    let mut r = [0u8; 32];
    for (i, b) in r.iter_mut().enumerate() {
        *b = i as u8 * 7 + 1;
    }
    r
}

fn checkpoint() -> Checkpoint {
    Checkpoint::new(ORIGIN, 1234, root()).unwrap()
}

fn assert_malformed(note: &str, want_line: usize, want_reason: &str) {
    match open_note(note, &key().verifier()) {
        Err(NoteError::Malformed { line, reason }) => {
            assert_eq!(line, want_line, "{note:?}: {reason}");
            assert!(reason.contains(want_reason), "{note:?}: {reason}");
        }
        other => panic!("{note:?}: expected Malformed at line {want_line}, got {other:?}"),
    }
}

#[test]
fn key_id_depends_on_name_and_key() {
    let a = KeyPair::from_seed("a", &[1; 32]).unwrap();
    let a_other_name = KeyPair::from_seed("b", &[1; 32]).unwrap();
    let a_other_key = KeyPair::from_seed("a", &[2; 32]).unwrap();
    assert_eq!(a.key_id(), KeyId::compute("a", &a.verifier().public_key()));
    assert_ne!(a.key_id(), a_other_name.key_id());
    assert_ne!(a.key_id(), a_other_key.key_id());
    assert_eq!(a.key_id().to_string().len(), 8);
}

#[test]
fn note_is_body_blank_line_and_one_em_dash_signature_line() {
    let key = key();
    let cp = checkpoint();
    let note = sign(&cp, &key);
    let body = format!("{ORIGIN}\n1234\n{}\n", STANDARD.encode(root()));
    assert_eq!(cp.body(), body);
    let sig_line = note.strip_prefix(&format!("{body}\n")).unwrap();
    let rest = sig_line
        .strip_prefix("\u{2014} example.com/journal ")
        .unwrap();
    let sig64 = rest.strip_suffix('\n').unwrap();
    assert!(!sig64.contains(['\n', ' ']));
    let blob = STANDARD.decode(sig64).unwrap();
    assert_eq!(blob.len(), 4 + 64);
    assert_eq!(blob[..4], key.key_id().to_bytes());
    // The signature is over the body including its final newline.
    let expected = ed25519_signature(&key, body.as_bytes());
    assert_eq!(blob[4..], expected);
    // And it is exactly what sign_text gives for the body.
    assert_eq!(sign_text(&body, &key).unwrap(), note);
}

/// Signs with the public API over arbitrary bytes by signing a text and
/// extracting the signature: used to show the signed message is the body.
fn ed25519_signature(key: &KeyPair, message: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(message).unwrap();
    let line = tradetrail_checkpoint::signature_line(text, key);
    let sig64 = line.trim_end().rsplit(' ').next().unwrap();
    STANDARD.decode(sig64).unwrap()[4..].to_vec()
}

#[test]
fn checkpoint_note_round_trips() {
    let key = key();
    for size in [0, 1, 1234, u64::MAX] {
        let cp = Checkpoint::new(ORIGIN, size, root()).unwrap();
        let opened = open_note(&sign(&cp, &key), &key.verifier()).unwrap();
        assert_eq!(opened, cp);
        assert_eq!(opened.size(), size);
        assert_eq!(opened.root(), &root());
        assert_eq!(opened.origin(), ORIGIN);
    }
}

#[test]
fn extension_lines_are_preserved_and_signed() {
    let key = key();
    let cp = checkpoint()
        .with_extension("timestamp=1700000000")
        .unwrap()
        .with_extension("— not a signature")
        .unwrap();
    let note = sign(&cp, &key);
    let opened = open_note(&note, &key.verifier()).unwrap();
    assert_eq!(
        opened.extensions(),
        ["timestamp=1700000000", "— not a signature"]
    );
    assert_eq!(opened, cp);
    // Extensions are covered by the signature.
    let altered = note.replacen("timestamp=1700000000", "timestamp=1700000001", 1);
    assert!(matches!(
        open_note(&altered, &key.verifier()),
        Err(NoteError::BadSignature { line: 7, .. })
    ));
    // By default there are none.
    assert!(checkpoint().extensions().is_empty());
}

#[test]
fn missing_final_newline_is_rejected() {
    let note = sign(&checkpoint(), &key());
    let cut = note.strip_suffix('\n').unwrap();
    assert_malformed(cut, 5, "does not end with a newline");
}

#[test]
fn two_blank_lines_are_rejected() {
    let key = key();
    let body = checkpoint().body();
    let sig_line = tradetrail_checkpoint::signature_line(&body, &key);
    assert_malformed(&format!("{body}\n\n{sig_line}"), 4, "empty line");
    // A blank line between two signature lines makes the first one part of
    // the text: also an empty line in the body.
    let twice = format!("{body}\n{sig_line}\n{sig_line}");
    assert_malformed(&twice, 4, "empty line");
    // A trailing blank line leaves no signature lines after the last one.
    assert_malformed(&format!("{body}\n{sig_line}\n"), 6, "no signature lines");
}

#[test]
fn no_blank_line_is_rejected() {
    let key = key();
    let body = checkpoint().body();
    let sig_line = tradetrail_checkpoint::signature_line(&body, &key);
    assert_malformed(&format!("{body}{sig_line}"), 4, "no blank line");
}

#[test]
fn crlf_is_rejected() {
    let note = sign(&checkpoint(), &key()).replace('\n', "\r\n");
    assert_malformed(&note, 1, "U+000D");
}

#[test]
fn malformed_signature_lines_are_rejected_even_with_a_good_signature() {
    let key = key();
    let note = sign(&checkpoint(), &key);
    let cases = [
        (format!("{note}- {ORIGIN} AAAAAAAA\n"), "em dash"),
        (format!("{note}\u{2014}{ORIGIN} AAAAAAAA\n"), "em dash"),
        (format!("{note}\u{2014} {ORIGIN}\n"), "<key name>"),
        (format!("{note}\u{2014} a+b AAAAAAAA\n"), "'+'"),
        (format!("{note}\u{2014} {ORIGIN} AAAAAA=\n"), "base64"),
        (format!("{note}\u{2014} {ORIGIN} AAAAAAA\n"), "base64"),
        (format!("{note}\u{2014} {ORIGIN} AAAAAAAA \n"), "base64"),
        (format!("{note}\u{2014} {ORIGIN} AAAA\n"), "3 bytes"),
    ];
    for (bad, reason) in cases {
        assert_malformed(&bad, 6, reason);
    }
}

#[test]
fn wrong_key_name_or_key_id_is_no_signature_by_key() {
    let key = key();
    let note = sign(&checkpoint(), &key);
    // Same Ed25519 key under another name: another key id too.
    let renamed = KeyPair::from_seed("example.com/other", &[42u8; 32]).unwrap();
    // Same name, another Ed25519 key: another key id.
    let rekeyed = KeyPair::from_seed(ORIGIN, &[43u8; 32]).unwrap();
    for other in [renamed.verifier(), rekeyed.verifier()] {
        match open_note(&note, &other) {
            Err(NoteError::NoSignatureByKey { name, key_id }) => {
                assert_eq!(name, other.name());
                assert_eq!(key_id, other.key_id());
            }
            res => panic!("{other}: {res:?}"),
        }
    }
}

#[test]
fn other_keys_signatures_are_ignored_but_ours_must_all_verify() {
    let key = key();
    let witness = KeyPair::from_seed("witness.example", &[7u8; 32]).unwrap();
    let body = checkpoint().body();
    let ours = tradetrail_checkpoint::signature_line(&body, &key);
    let theirs = tradetrail_checkpoint::signature_line(&body, &witness);
    let garbage = format!("\u{2014} unknown.example {}\n", STANDARD.encode([9u8; 40]));

    let note = format!("{body}\n{theirs}{garbage}{ours}");
    assert_eq!(open_note(&note, &key.verifier()).unwrap(), checkpoint());
    assert_eq!(open_note(&note, &witness.verifier()).unwrap(), checkpoint());

    // A second line by our key that does not verify rejects the whole note,
    // even though another line by our key does.
    let other_body = Checkpoint::new(ORIGIN, 1, root()).unwrap().body();
    let stale = tradetrail_checkpoint::signature_line(&other_body, &key);
    let note = format!("{body}\n{ours}{stale}");
    assert!(matches!(
        open_note(&note, &key.verifier()),
        Err(NoteError::BadSignature { line: 6, .. })
    ));
}

#[test]
fn altered_body_is_bad_signature() {
    let key = key();
    let note = sign(&checkpoint(), &key);
    let altered = note.replacen("example.com/journal\n", "example.com/journaL\n", 1);
    let err = open_note(&altered, &key.verifier()).unwrap_err();
    assert!(matches!(err, NoteError::BadSignature { line: 5, .. }));
    assert!(err.to_string().contains("does not verify"), "{err}");
}

#[test]
fn bad_body_fields_are_rejected_although_signed() {
    let key = key();
    let root64 = STANDARD.encode(root());
    let short64 = STANDARD.encode(&root()[..31]);
    let long64 = STANDARD.encode([1u8; 33]);
    // root() ends in 0xd3 0xda: its last base64 group is "09o="; "09p="
    // carries the same bytes with a non-zero trailing bit.
    assert!(root64.ends_with("09o="), "{root64}");
    let noncanonical = root64.replace("09o=", "09p=");
    // A root whose standard encoding has '+' and '/', in the URL-safe alphabet.
    let url_safe = STANDARD
        .encode([0xfb; 32])
        .replace('+', "-")
        .replace('/', "_");
    assert!(url_safe.contains('-') && url_safe.contains('_'));
    let cases = [
        (format!("\n5\n{root64}\n"), 1, "empty line"),
        (format!("{ORIGIN}\n05\n{root64}\n"), 2, "leading zero"),
        (format!("{ORIGIN}\n0x5\n{root64}\n"), 2, "not a decimal"),
        (format!("{ORIGIN}\n٥\n{root64}\n"), 2, "not a decimal"),
        (format!("{ORIGIN}\n5\n{short64}\n"), 3, "31 bytes"),
        (format!("{ORIGIN}\n5\n{long64}\n"), 3, "33 bytes"),
        (
            format!("{ORIGIN}\n5\n{}\n", root64.trim_end_matches('=')),
            3,
            "base64",
        ),
        (format!("{ORIGIN}\n5\n{noncanonical}\n"), 3, "base64"),
        (format!("{ORIGIN}\n5\n{url_safe}\n"), 3, "base64"),
        (
            format!("{ORIGIN}\n5\n"),
            3,
            "needs origin, tree size and root",
        ),
        (format!("{ORIGIN}\n"), 2, "needs origin, tree size and root"),
    ];
    for (body, line, reason) in cases {
        let note = sign_text(&body, &key).unwrap();
        assert_malformed(&note, line, reason);
    }
    // The well-formed version of the same body opens.
    let good = sign_text(&format!("{ORIGIN}\n5\n{root64}\n"), &key).unwrap();
    assert_eq!(open_note(&good, &key.verifier()).unwrap().size(), 5);
}

#[test]
fn verifier_key_string_round_trips_and_is_what_opens() {
    let key = key();
    let vkey = key.verifier().to_string();
    assert!(vkey.starts_with(&format!("{ORIGIN}+{}+", key.key_id())));
    let parsed: VerifierKey = vkey.parse().unwrap();
    let note = sign(&checkpoint(), &key);
    assert_eq!(open_note(&note, &parsed).unwrap(), checkpoint());
}

#[test]
fn errors_name_what_is_wrong() {
    let err = Checkpoint::new("", 0, [0; 32]).unwrap_err();
    assert_eq!(err.to_string(), "invalid checkpoint origin: it is empty");
    let note = sign(&checkpoint(), &key());
    let err = open_note(note.strip_suffix('\n').unwrap(), &key().verifier()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "malformed note, line 5: the note does not end with a newline"
    );
    let other = KeyPair::from_seed("x", &[0; 32]).unwrap().verifier();
    let err = open_note(&note, &other).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("no signature by key x+{} in the note", other.key_id())
    );
}
