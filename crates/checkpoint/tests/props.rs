//! Property tests: round trips, and that no single-byte change survives.
//!
//! Which bytes of a checkpoint note could the spec let us ignore? None:
//! the text is signed; the signature line's name and key id select the key
//! (changing either turns our signature into an unknown key's, so no
//! signature by our key remains); the base64 is decoded strictly (one
//! encoding per value, so any changed character changes the bytes or is
//! refused); the dash, spaces and newlines are syntax. Hence every
//! single-byte substitution must be rejected.

use proptest::prelude::*;
use tradetrail_checkpoint::{open_note, sign, Checkpoint, KeyPair, VerifierKey};

fn origin() -> impl Strategy<Value = String> {
    // Anything without control characters, including spaces, '+', '—'.
    prop_oneof!["[a-z0-9.-]{1,20}(/[a-z0-9]{1,10})?", "[^\\x00-\\x1f]{1,30}",]
}

fn key_name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9./_-]{1,24}"
}

fn extension() -> impl Strategy<Value = String> {
    "[^\\x00-\\x1f]{1,20}"
}

prop_compose! {
    fn signed()(
        origin in origin(),
        size in any::<u64>(),
        root in any::<[u8; 32]>(),
        extensions in prop::collection::vec(extension(), 0..3),
        name in key_name(),
        seed in any::<[u8; 32]>(),
    ) -> (Checkpoint, KeyPair, String) {
        let mut cp = Checkpoint::new(&origin, size, root).unwrap();
        for line in &extensions {
            cp = cp.with_extension(line).unwrap();
        }
        let key = KeyPair::from_seed(&name, &seed).unwrap();
        let note = sign(&cp, &key);
        (cp, key, note)
    }
}

proptest! {
    #[test]
    fn sign_then_open_round_trips((cp, key, note) in signed()) {
        let opened = open_note(&note, &key.verifier()).unwrap();
        prop_assert_eq!(&opened, &cp);
        // Through the verifier key string, as an auditor would hold it.
        let vkey: VerifierKey = key.verifier().to_string().parse().unwrap();
        prop_assert_eq!(open_note(&note, &vkey).unwrap(), cp);
    }

    #[test]
    fn no_single_byte_change_verifies(
        (_cp, key, note) in signed(),
        at in any::<prop::sample::Index>(),
        replacement in prop_oneof![3 => 0u8..0x80, 1 => any::<u8>()],
    ) {
        let mut bytes = note.into_bytes();
        let i = at.index(bytes.len());
        prop_assume!(bytes[i] != replacement);
        bytes[i] = replacement;
        // Invalid UTF-8 cannot reach open_note: rejected by the type.
        if let Ok(altered) = String::from_utf8(bytes) {
            let result = open_note(&altered, &key.verifier());
            prop_assert!(result.is_err(), "byte {} changed and still opens: {:?}", i, altered);
        }
    }

    #[test]
    fn arbitrary_input_never_panics(input in "\\PC{0,200}|[a-z\\n\u{2014} =+/0-9A-Z]{0,200}") {
        let key = KeyPair::from_seed("k", &[5; 32]).unwrap();
        let _ = open_note(&input, &key.verifier());
        let _ = VerifierKey::parse(&input);
        let _ = KeyPair::from_signer_key(&input);
    }
}
