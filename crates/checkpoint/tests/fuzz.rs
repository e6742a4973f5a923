//! Fuzzing the checkpoint readers: arbitrary and mutated text into `open_note`,
//! `open_text`, `VerifierKey::parse` and `KeyPair::from_signer_key`. Each must answer,
//! never panic; a changed note may only open if it still carries the signed checkpoint.
//!
//! A fixed number of cases by default; `TRADETRAIL_FUZZ_SECS=60` runs each test for a
//! minute (see docs/fuzzing.md).

use tradetrail_checkpoint::note::{open_text, sign_text};
use tradetrail_checkpoint::{open_note, sign, Checkpoint, KeyPair, VerifierKey};
use tradetrail_testkit::fuzz::{self, Rng};

const DICT: &[&[u8]] = &[
    b"\n",
    b"\n\n",
    "\u{2014} ".as_bytes(),
    b"example.com/log",
    b"+",
    b" ",
    b"=",
    b"PRIVATE+KEY+",
    b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    b"18446744073709551615",
    b"18446744073709551616",
    b"00",
    b"-1",
];

fn keys() -> (KeyPair, KeyPair) {
    (
        KeyPair::from_seed("example.com/log", &[7; 32]).unwrap(),
        KeyPair::from_seed("witness", &[9; 32]).unwrap(),
    )
}

#[test]
fn notes_and_keys_answer_every_text() {
    let (key, witness) = keys();
    let verifier = key.verifier();
    let cp = Checkpoint::new("example.com/log", 42, [0x5a; 32])
        .unwrap()
        .with_extension("ext=1")
        .unwrap();
    let note = sign(&cp, &key);
    // A second signature by another key (a witness cosignature) is ignored.
    let cosigned = format!(
        "{}{}",
        note,
        sign(&cp, &witness).rsplit_once("\n\n").unwrap().1
    );
    let text_note = sign_text("hello\nworld\n", &key).unwrap();
    let vkey = verifier.to_string();
    let skey = key.signer_key().to_string();
    let seeds: Vec<Vec<u8>> = vec![
        note.clone().into_bytes(),
        cosigned.clone().into_bytes(),
        text_note.into_bytes(),
        vkey.clone().into_bytes(),
        skey.clone().into_bytes(),
    ];
    assert_eq!(open_note(&cosigned, &verifier).unwrap(), cp);
    let refs: Vec<&[u8]> = seeds.iter().map(Vec::as_slice).collect();
    let mut opened = 0u64;
    fuzz::run(
        "checkpoint-notes",
        2_000,
        |rng: &mut Rng| {
            let bytes = if rng.one_in(6) {
                fuzz::arbitrary(rng, DICT, 300)
            } else {
                let seed = *rng.pick(&refs);
                fuzz::mutate(rng, seed, &refs, DICT)
            };
            // The readers take text; invalid UTF-8 becomes U+FFFD, as a caller's
            // `from_utf8_lossy` would make it.
            String::from_utf8_lossy(&bytes).into_owned()
        },
        |text| {
            if let Ok(c) = open_note(text, &verifier) {
                // Nothing but the signed body opens: no forgery by any change.
                assert_eq!(c, cp, "a changed note opened as another checkpoint");
                opened += 1;
            }
            if let Ok(body) = open_text(text, &verifier) {
                assert!(
                    body == cp.body() || body == "hello\nworld\n",
                    "a changed note opened as other text: {body:?}"
                );
            }
            if let Ok(k) = VerifierKey::parse(text) {
                // What is accepted is the canonical form (one encoding per key).
                assert_eq!(k.to_string(), *text);
            }
            if let Ok(k) = KeyPair::from_signer_key(text) {
                assert_eq!(&*k.signer_key(), text);
            }
        },
    );
    assert!(opened > 0, "no case kept the note openable");
}
