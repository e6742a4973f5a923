//! The key directory: modes, refusals and round trips.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use tradetrail_checkpoint::{
    open_note, sign, Checkpoint, KeyError, KeyPair, VerifierKey, SIGNING_KEY_FILE,
    VERIFIER_KEY_FILE,
};

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn save_writes_a_private_signing_key_and_a_public_verifier_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    let pair = KeyPair::generate("example.com/journal").unwrap();
    pair.save(&dir).unwrap();

    assert_eq!(mode(&dir), 0o700);
    let signing = dir.join(SIGNING_KEY_FILE);
    let verifier = dir.join(VERIFIER_KEY_FILE);
    assert_eq!(mode(&signing), 0o600);
    assert_eq!(mode(&verifier), 0o644);
    assert_eq!(
        fs::read_to_string(&signing).unwrap(),
        format!("{}\n", pair.signer_key().as_str())
    );
    assert_eq!(
        fs::read_to_string(&verifier).unwrap(),
        format!("{}\n", pair.verifier())
    );
    // Nothing else is left behind (no temporary files).
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, [SIGNING_KEY_FILE, VERIFIER_KEY_FILE]);
}

#[test]
fn load_round_trips_and_signs_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let pair = KeyPair::generate("example.com/journal").unwrap();
    pair.save(tmp.path()).unwrap();
    let loaded = KeyPair::load(tmp.path()).unwrap();
    assert_eq!(loaded.verifier(), pair.verifier());
    assert_eq!(loaded.signer_key().as_str(), pair.signer_key().as_str());

    let cp = Checkpoint::new("example.com/journal", 9, [3; 32]).unwrap();
    // Ed25519 is deterministic: the same key gives the same note.
    assert_eq!(sign(&cp, &loaded), sign(&cp, &pair));
    let vkey = VerifierKey::load_file(&tmp.path().join(VERIFIER_KEY_FILE)).unwrap();
    assert_eq!(open_note(&sign(&cp, &loaded), &vkey).unwrap(), cp);
}

#[test]
fn load_refuses_a_key_readable_by_others() {
    let tmp = tempfile::tempdir().unwrap();
    let pair = KeyPair::generate("example.com/journal").unwrap();
    pair.save(tmp.path()).unwrap();
    let signing = tmp.path().join(SIGNING_KEY_FILE);
    for loose in [0o644, 0o640, 0o604, 0o620, 0o602, 0o610, 0o601] {
        chmod(&signing, loose);
        match KeyPair::load(tmp.path()) {
            Err(e @ KeyError::InsecurePermissions { .. }) => {
                let KeyError::InsecurePermissions { ref path, mode } = e else {
                    unreachable!()
                };
                assert_eq!(path, &signing);
                assert_eq!(mode, loose);
                let msg = e.to_string();
                assert!(
                    msg.contains(&format!("run `chmod 600 {}`", signing.display())),
                    "{msg}"
                );
                assert!(msg.contains(&format!("{loose:03o}")), "{msg}");
            }
            other => panic!("mode {loose:o}: {other:?}"),
        }
    }
    for tight in [0o600, 0o400] {
        chmod(&signing, tight);
        assert_eq!(
            KeyPair::load(tmp.path()).unwrap().verifier(),
            pair.verifier()
        );
    }
}

#[test]
fn save_refuses_to_replace_a_signing_key() {
    let tmp = tempfile::tempdir().unwrap();
    let first = KeyPair::generate("example.com/journal").unwrap();
    first.save(tmp.path()).unwrap();
    let second = KeyPair::generate("example.com/journal").unwrap();
    match second.save(tmp.path()) {
        Err(KeyError::AlreadyExists { path }) => {
            assert_eq!(path, tmp.path().join(SIGNING_KEY_FILE))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        KeyPair::load(tmp.path()).unwrap().verifier(),
        first.verifier()
    );
    assert_eq!(
        VerifierKey::load_file(&tmp.path().join(VERIFIER_KEY_FILE)).unwrap(),
        first.verifier()
    );
}

#[test]
fn save_clears_a_temporary_file_left_by_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let stale = tmp.path().join(format!(".{SIGNING_KEY_FILE}.tmp"));
    fs::write(&stale, "half a key").unwrap();
    chmod(&stale, 0o644);
    let pair = KeyPair::generate("example.com/journal").unwrap();
    pair.save(tmp.path()).unwrap();
    assert!(!stale.exists());
    assert_eq!(mode(&tmp.path().join(SIGNING_KEY_FILE)), 0o600);
    assert_eq!(
        KeyPair::load(tmp.path()).unwrap().verifier(),
        pair.verifier()
    );
}

#[test]
fn load_names_the_file_when_it_is_missing_or_corrupt() {
    let tmp = tempfile::tempdir().unwrap();
    let signing = tmp.path().join(SIGNING_KEY_FILE);
    match KeyPair::load(tmp.path()) {
        Err(KeyError::Io { path, source }) => {
            assert_eq!(path, signing);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }

    let pair = KeyPair::generate("example.com/journal").unwrap();
    pair.save(tmp.path()).unwrap();
    // Flip one character of the key data: the key id no longer matches.
    let mut text = fs::read_to_string(&signing).unwrap();
    let last = text.len() - 3;
    let c = text.as_bytes()[last];
    let flipped = if c == b'A' { "B" } else { "A" };
    text.replace_range(last..last + 1, flipped);
    fs::write(&signing, &text).unwrap();
    chmod(&signing, 0o600);
    match KeyPair::load(tmp.path()) {
        Err(KeyError::InFile { path, source }) => {
            assert_eq!(path, signing);
            assert!(
                matches!(
                    *source,
                    KeyError::KeyIdMismatch { .. } | KeyError::Malformed { .. }
                ),
                "{source:?}"
            );
        }
        other => panic!("{other:?}"),
    }
}
