//! End to end: signing keys, signed checkpoints, Merkle proofs and the auditor's checks
//! (`init`, `key show`, `checkpoint`, `prove`, `verify-proof`, `verify --checkpoint`).
//! Runs the real binary.
//!
//! Everything the binary claims is checked here independently of tradetrail's code, as
//! docs/proofs.md says an outside verifier would: RFC 6962 hashing and proofs, the RFC
//! 9162 verification algorithms, C2SP key ids and Ed25519 signatures are all recomputed
//! in this file with `sha2`, `base64` and `ed25519-dalek`.

mod common;

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};

use common::*;

// ---------------------------------------------------------------------------------------
// An independent RFC 6962 / RFC 9162 implementation.

type H = [u8; 32];

fn sha256(parts: &[&[u8]]) -> H {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// `SHA-256(0x00 ‖ line)`.
fn leaf(line: &[u8]) -> H {
    sha256(&[&[0x00], line])
}

/// `SHA-256(0x01 ‖ a ‖ b)`.
fn node(a: &H, b: &H) -> H {
    sha256(&[&[0x01], a, b])
}

/// The largest power of two strictly below `n` (n >= 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH over leaf hashes (RFC 6962 §2.1), naively recursive.
fn mth(leaves: &[H]) -> H {
    match leaves.len() {
        0 => sha256(&[b""]),
        1 => leaves[0],
        n => {
            let k = split(n);
            node(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

/// The audit path PATH(m, D[n]) (RFC 6962 §2.1.1).
fn audit_path(m: usize, leaves: &[H]) -> Vec<H> {
    let n = leaves.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = split(n);
    let (mut p, sibling) = if m < k {
        (audit_path(m, &leaves[..k]), mth(&leaves[k..]))
    } else {
        (audit_path(m - k, &leaves[k..]), mth(&leaves[..k]))
    };
    p.push(sibling);
    p
}

/// The consistency proof PROOF(m, D[n]) = SUBPROOF(m, D[n], true) (RFC 6962 §2.1.2).
fn consistency_path(m: usize, leaves: &[H]) -> Vec<H> {
    fn sub(m: usize, leaves: &[H], whole: bool) -> Vec<H> {
        let n = leaves.len();
        if m == n {
            return if whole { Vec::new() } else { vec![mth(leaves)] };
        }
        let k = split(n);
        let (mut p, other) = if m <= k {
            (sub(m, &leaves[..k], whole), mth(&leaves[k..]))
        } else {
            (sub(m - k, &leaves[k..], false), mth(&leaves[..k]))
        };
        p.push(other);
        p
    }
    sub(m, leaves, true)
}

/// RFC 9162 §2.1.3.2, as written in docs/proofs.md §2.
fn rfc_verify_inclusion(leaf: &H, seq: u64, size: u64, proof: &[H], root: &H) -> bool {
    if seq >= size {
        return false;
    }
    let (mut f, mut s) = (seq, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = node(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && r == *root
}

/// RFC 9162 §2.1.4.2, as written in docs/proofs.md §3.
fn rfc_verify_consistency(old: u64, new: u64, old_root: &H, new_root: &H, proof: &[H]) -> bool {
    if old == 0 || old > new {
        return false;
    }
    if old == new {
        return proof.is_empty() && old_root == new_root;
    }
    let mut p = proof.to_vec();
    if old.is_power_of_two() {
        p.insert(0, *old_root);
    }
    let Some(first) = p.first().copied() else {
        return false;
    };
    let (mut f, mut s) = (old - 1, new - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (first, first);
    for c in &p[1..] {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            fr = node(c, &fr);
            sr = node(c, &sr);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            sr = node(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && fr == *old_root && sr == *new_root
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 64 lowercase hex digits to 32 bytes.
#[track_caller]
fn unhex(s: &str) -> H {
    assert!(is_hash(s), "not 64 lowercase hex digits: {s:?}");
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

#[track_caller]
fn hash_field(v: &Value, key: &str) -> H {
    unhex(
        v[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} is a string: {v}")),
    )
}

#[track_caller]
fn hash_list(v: &Value, key: &str) -> Vec<H> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} is an array: {v}"))
        .iter()
        .map(|h| unhex(h.as_str().expect("a hex string")))
        .collect()
}

/// The leaf hashes of every record line of a data directory.
fn leaves_of(s: &Scratch) -> Vec<H> {
    s.lines().iter().map(|l| leaf(l.as_bytes())).collect()
}

// ---------------------------------------------------------------------------------------
// Independent parsing of notes and verifier keys (docs/proofs.md §4).

/// A verifier key `<name>+<8 hex>+<base64(0x01 ‖ key)>`, split and decoded.
struct Vkey {
    name: String,
    id_hex: String,
    public: [u8; 32],
}

#[track_caller]
fn parse_vkey(s: &str) -> Vkey {
    let mut parts = s.splitn(3, '+');
    let (Some(name), Some(id_hex), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
        panic!("verifier key has three '+'-separated parts: {s:?}");
    };
    assert!(
        id_hex.len() == 8
            && id_hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "key id is 8 lowercase hex digits: {s:?}"
    );
    let data = STANDARD.decode(b64).expect("key is standard base64");
    assert_eq!(data.len(), 33, "0x01 then 32 key bytes: {s:?}");
    assert_eq!(data[0], 0x01, "algorithm byte is Ed25519: {s:?}");
    Vkey {
        name: name.to_owned(),
        id_hex: id_hex.to_owned(),
        public: data[1..].try_into().unwrap(),
    }
}

/// `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[..4]`.
fn key_id(name: &str, public: &[u8; 32]) -> [u8; 4] {
    let d = sha256(&[name.as_bytes(), &[0x0a, 0x01], public]);
    [d[0], d[1], d[2], d[3]]
}

/// A signed checkpoint note, checked for exactly the shape of docs/proofs.md §4.
struct Note {
    /// The signed body: origin, size and root lines, each ending in `\n`.
    body: String,
    origin: String,
    size: u64,
    root: H,
    sig_name: String,
    /// key id ‖ signature.
    sig: Vec<u8>,
}

#[track_caller]
fn parse_note(text: &str) -> Note {
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(
        lines.len(),
        6,
        "origin, size, root, blank, one signature line, each ending in \\n: {text:?}"
    );
    assert_eq!(lines[3], "", "a blank line after the body: {text:?}");
    assert_eq!(lines[5], "", "the note ends with \\n: {text:?}");
    let size: u64 = lines[1].parse().expect("size is decimal");
    assert_eq!(size.to_string(), lines[1], "size is canonical decimal");
    let root_bytes = STANDARD.decode(lines[2]).expect("root is standard base64");
    let root: H = root_bytes.as_slice().try_into().expect("root is 32 bytes");
    assert_eq!(STANDARD.encode(root), lines[2], "root is padded base64");
    let sig_line = lines[4]
        .strip_prefix("\u{2014} ")
        .unwrap_or_else(|| panic!("signature line starts with an em dash and a space: {text:?}"));
    let (name, b64) = sig_line.split_once(' ').expect("— <name> <base64>");
    let sig = STANDARD.decode(b64).expect("signature is standard base64");
    assert_eq!(
        sig.len(),
        68,
        "4-byte key id then a 64-byte Ed25519 signature"
    );
    Note {
        body: format!("{}\n{}\n{}\n", lines[0], lines[1], lines[2]),
        origin: lines[0].to_owned(),
        size,
        root,
        sig_name: name.to_owned(),
        sig,
    }
}

/// Checks the note's signature by `vkey` with ed25519-dalek directly.
fn signature_verifies(note: &Note, vkey: &Vkey) -> bool {
    if note.sig_name != vkey.name || note.sig[..4] != key_id(&vkey.name, &vkey.public) {
        return false;
    }
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&vkey.public) else {
        return false;
    };
    let sig = ed25519_dalek::Signature::from_slice(&note.sig[4..]).expect("64 bytes");
    key.verify_strict(note.body.as_bytes(), &sig).is_ok()
}

// ---------------------------------------------------------------------------------------
// Driving the binary.

const ORIGIN: &str = "test.example/proofs";

/// Appends custom events number `from..to`, asserting every receipt.
fn append_events(s: &Scratch, from: u64, to: u64) {
    let input: String = (from..to).map(|i| custom_event("p", i) + "\n").collect();
    let r = s
        .tt_stdin(&["append", "--data", &s.data_arg()], input.as_bytes())
        .expect(0);
    assert_eq!(receipts(&r.stdout).len() as u64, to - from, "{}", r.stdout);
}

/// An initialized journal with record 0 and `n` custom events (seq 1..=n).
fn journal_with(n: u64) -> Scratch {
    let s = Scratch::new();
    s.init(ORIGIN);
    append_events(&s, 1, n + 1);
    s
}

/// `key show`, asserting one line, without the newline.
fn vkey_of(s: &Scratch) -> String {
    let r = s.on_data("key", &["show"]).expect(0);
    assert!(r.stdout.ends_with('\n'), "{:?}", r.stdout);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "key show prints one line: {:?}", r.stdout);
    lines[0].to_owned()
}

/// `checkpoint`, asserting exit 0; the note as printed.
fn checkpoint(s: &Scratch) -> String {
    s.on_data("checkpoint", &[]).expect(0).stdout
}

/// The saved checkpoint file of tree size `size`.
fn checkpoint_path(s: &Scratch, size: u64) -> std::path::PathBuf {
    s.data.join("checkpoints").join(format!("{size:020}.txt"))
}

/// `prove inclusion --seq SEQ [--size SIZE] --json`, parsed.
fn prove_inclusion(s: &Scratch, seq: u64, size: Option<u64>) -> Value {
    let seq = seq.to_string();
    let size = size.map(|n| n.to_string());
    let mut args = vec!["inclusion", "--seq", &seq, "--json"];
    if let Some(n) = &size {
        args.extend(["--size", n]);
    }
    let r = s.on_data("prove", &args).expect(0);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one JSON line: {}", r.stdout);
    parse(lines[0])
}

/// `prove consistency --old OLD [--new NEW] --json`, parsed.
fn prove_consistency(s: &Scratch, old: u64, new: Option<u64>) -> Value {
    let old = old.to_string();
    let new = new.map(|n| n.to_string());
    let mut args = vec!["consistency", "--old", &old, "--json"];
    if let Some(n) = &new {
        args.extend(["--new", n]);
    }
    let r = s.on_data("prove", &args).expect(0);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one JSON line: {}", r.stdout);
    parse(lines[0])
}

/// The keys of a JSON object, in order.
fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

/// Checks an inclusion proof against the journal's lines with the independent code: the
/// fields, the leaf hash, the root, the exact audit path and the RFC 9162 verification.
#[track_caller]
fn check_inclusion(p: &Value, lines: &[String], leaves: &[H], seq: u64, size: u64) {
    assert_eq!(
        keys(p),
        ["seq", "size", "leaf_hash", "root", "proof"],
        "{p}"
    );
    assert_eq!(p["seq"], seq, "{p}");
    assert_eq!(p["size"], size, "{p}");
    let leaf_hash = hash_field(p, "leaf_hash");
    let root = hash_field(p, "root");
    let proof = hash_list(p, "proof");
    assert_eq!(
        leaf_hash,
        leaf(lines[seq as usize].as_bytes()),
        "leaf_hash {p}"
    );
    assert_eq!(root, mth(&leaves[..size as usize]), "root {p}");
    assert_eq!(
        proof,
        audit_path(seq as usize, &leaves[..size as usize]),
        "the RFC 6962 audit path: {p}"
    );
    assert!(
        rfc_verify_inclusion(&leaf_hash, seq, size, &proof, &root),
        "RFC 9162 verification: {p}"
    );
}

/// As [`check_inclusion`] for a consistency proof.
#[track_caller]
fn check_consistency(p: &Value, leaves: &[H], old: u64, new: u64) {
    assert_eq!(
        keys(p),
        ["old", "new", "old_root", "new_root", "proof"],
        "{p}"
    );
    assert_eq!(p["old"], old, "{p}");
    assert_eq!(p["new"], new, "{p}");
    let old_root = hash_field(p, "old_root");
    let new_root = hash_field(p, "new_root");
    let proof = hash_list(p, "proof");
    assert_eq!(old_root, mth(&leaves[..old as usize]), "old_root {p}");
    assert_eq!(new_root, mth(&leaves[..new as usize]), "new_root {p}");
    assert_eq!(
        proof,
        consistency_path(old as usize, &leaves[..new as usize]),
        "the RFC 6962 consistency proof: {p}"
    );
    assert!(
        rfc_verify_consistency(old, new, &old_root, &new_root, &proof),
        "RFC 9162 verification: {p}"
    );
}

/// Copies a directory tree (keeping file modes).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// A fresh scratch directory whose data directory is a copy of `s`'s.
fn copy_of(s: &Scratch) -> Scratch {
    let c = Scratch::new();
    copy_dir(&s.data, &c.data);
    c
}

/// Replaces the only segment's contents with `lines`, each followed by `\n`.
fn write_lines(s: &Scratch, lines: &[String]) {
    assert_eq!(s.segments().len(), 1, "a single-segment journal");
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(s.first_segment(), text).unwrap();
}

/// Sets each line's `prev` from `from` on to the SHA-256 of the line before it, as a
/// forger who rewrote history would.
fn relink(lines: &mut [String], from: usize) {
    for i in from.max(1)..lines.len() {
        let prev = hex(&sha256(&[lines[i - 1].as_bytes()]));
        let at = lines[i].find(",\"prev\":\"").expect("a prev field") + ",\"prev\":\"".len();
        lines[i].replace_range(at..at + 64, &prev);
    }
}

/// `verify --checkpoint CP [--key K] --json`: exit code and the one JSON object.
fn verify_cp_json(s: &Scratch, cp: &str, key: Option<&str>) -> (Option<i32>, Value) {
    let mut args = vec!["--checkpoint", cp, "--json"];
    if let Some(k) = key {
        args.extend(["--key", k]);
    }
    let r = s.on_data("verify", &args);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "verify --json prints one line\n--- stdout\n{}\n--- stderr\n{}",
        r.stdout,
        r.stderr
    );
    (r.code, parse(lines[0]))
}

/// Asserts `verify --checkpoint` fails (exit 1) in both output forms, and returns the
/// reason from the JSON.
#[track_caller]
fn assert_checkpoint_fails(s: &Scratch, cp: &str, key: Option<&str>) -> String {
    let mut args = vec!["--checkpoint", cp];
    if let Some(k) = key {
        args.extend(["--key", k]);
    }
    let r = s.on_data("verify", &args).expect(1);
    assert!(
        r.stdout.contains("checkpoint: FAILED: "),
        "says why\n--- stdout\n{}\n--- stderr\n{}",
        r.stdout,
        r.stderr
    );
    let (code, v) = verify_cp_json(s, cp, key);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["checkpoint"]["ok"], false, "{v}");
    let reason = v["checkpoint"]["reason"]
        .as_str()
        .unwrap_or_else(|| panic!("a reason: {v}"))
        .to_owned();
    assert!(!reason.is_empty(), "{v}");
    assert!(
        r.stdout.contains(&reason),
        "the text names the same reason\n{}\n{reason}",
        r.stdout
    );
    reason
}

/// `verify-proof` on the given contents (written to files in the scratch directory).
fn verify_proof(s: &Scratch, note: &str, key: &str, record: &str, proof: &str) -> Run {
    let cp = s.file("vp-checkpoint.txt", note);
    let rec = s.file("vp-record.json", record);
    let pr = s.file("vp-proof.json", proof);
    s.tt(&[
        "verify-proof",
        "--checkpoint",
        &cp,
        "--key",
        key,
        "--record",
        &rec,
        "--proof",
        &pr,
    ])
}

// ---------------------------------------------------------------------------------------
// 1. Keys.

#[test]
fn init_creates_the_signing_key_and_key_show_prints_its_verifier_key() {
    use std::os::unix::fs::PermissionsExt as _;

    let s = Scratch::new();
    s.init(ORIGIN);
    let keys = s.data.join("keys");
    let signing = keys.join("signing.key");
    let vkey_file = keys.join("verifier.vkey");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&signing), 0o600, "signing.key is private");
    assert_eq!(mode(&keys), 0o700, "keys/ is private");
    assert!(vkey_file.is_file());

    let vkey = vkey_of(&s);
    assert_eq!(
        std::fs::read_to_string(&vkey_file).unwrap(),
        format!("{vkey}\n"),
        "key show prints verifier.vkey"
    );
    let k = parse_vkey(&vkey);
    assert_eq!(k.name, ORIGIN, "the key is named after the origin");
    assert_eq!(
        k.id_hex,
        hex(&key_id(&k.name, &k.public)),
        "key id = SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key)[..4]"
    );
    assert!(
        ed25519_dalek::VerifyingKey::from_bytes(&k.public).is_ok(),
        "a valid Ed25519 public key"
    );
    // The secret never reaches the public file or stdout.
    let secret = std::fs::read_to_string(&signing).unwrap();
    assert!(secret.starts_with("PRIVATE+KEY+"), "signer key format");
    // PRIVATE+KEY+<name>+<id>+<base64 key>: the key data is the fifth field, and
    // standard base64 may itself contain '+', so split at most four times.
    let secret_b64 = secret.trim().splitn(5, '+').nth(4).unwrap();
    assert!(secret_b64.len() >= 40, "the whole key data: {secret_b64}");
    assert!(!vkey.contains(secret_b64));

    // Each journal has its own key.
    let other = Scratch::new();
    other.init(ORIGIN);
    assert_ne!(parse_vkey(&vkey_of(&other)).public, k.public);
}

#[test]
fn key_show_on_an_uninitialized_dir_exits_2_and_says_run_init() {
    let s = Scratch::new();
    let r = s.on_data("key", &["show"]).expect(2);
    assert!(r.stderr.contains("tradetrail init"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
    assert!(!s.data.exists(), "creates nothing");
}

// ---------------------------------------------------------------------------------------
// 2. Checkpoints.

#[test]
fn checkpoint_prints_saves_and_records_a_signed_tree_head() {
    let s = journal_with(6);
    let before = s.lines();
    let vkey = parse_vkey(&vkey_of(&s));

    let r = s.on_data("checkpoint", &[]).expect(0);
    let text = r.stdout;
    let note = parse_note(&text);
    assert_eq!(note.origin, ORIGIN);
    assert_eq!(
        note.size,
        before.len() as u64,
        "covers every record before it"
    );
    assert_eq!(note.sig_name, ORIGIN, "signed under the origin's key name");
    assert_eq!(
        hex(&note.sig[..4]),
        vkey.id_hex,
        "the signature names the key id"
    );
    assert!(
        signature_verifies(&note, &vkey),
        "Ed25519 over the body, checked with ed25519-dalek"
    );
    let leaves: Vec<H> = before.iter().map(|l| leaf(l.as_bytes())).collect();
    assert_eq!(
        note.root,
        mth(&leaves),
        "RFC 6962 root of the first size lines"
    );
    assert!(
        r.stderr.contains(&format!("{:020}.txt", note.size)),
        "{}",
        r.stderr
    );

    // Saved byte for byte.
    let saved = std::fs::read(checkpoint_path(&s, note.size)).unwrap();
    assert_eq!(saved, text.as_bytes());

    // Recorded in the journal, right after the records it covers.
    let after = s.lines();
    assert_eq!(after.len(), before.len() + 1, "one record appended");
    assert_eq!(&after[..before.len()], &before[..], "nothing else changed");
    let rec = parse(after.last().unwrap());
    assert_eq!(rec["seq"], note.size, "{rec}");
    assert_eq!(rec["type"], "journal.checkpoint", "{rec}");
    assert_eq!(rec["data"]["size"], note.size, "{rec}");
    assert_eq!(rec["data"]["root"], hex(&note.root), "{rec}");
    assert_eq!(rec["data"]["key_id"], vkey.id_hex, "{rec}");
    assert_eq!(rec["data"]["note"], text.as_str(), "{rec}");
    s.on_data("verify", &[]).expect(0);

    // A second checkpoint covers the first one's record too, and the two are consistent.
    append_events(&s, 100, 105);
    let text2 = checkpoint(&s);
    let note2 = parse_note(&text2);
    assert_eq!(note2.size, note.size + 1 + 5);
    assert!(signature_verifies(&note2, &vkey));
    let leaves = leaves_of(&s);
    assert_eq!(note2.root, mth(&leaves[..note2.size as usize]));
    assert_eq!(
        std::fs::read(checkpoint_path(&s, note2.size)).unwrap(),
        text2.as_bytes()
    );
    assert_eq!(
        std::fs::read(checkpoint_path(&s, note.size)).unwrap(),
        text.as_bytes(),
        "the first checkpoint is kept"
    );
    let c = prove_consistency(&s, note.size, Some(note2.size));
    check_consistency(&c, &leaves, note.size, note2.size);
    assert_eq!(hash_field(&c, "old_root"), note.root);
    assert_eq!(hash_field(&c, "new_root"), note2.root);
    s.on_data("verify", &[]).expect(0);
}

#[test]
fn checkpoint_on_an_uninitialized_dir_exits_2() {
    let s = Scratch::new();
    let r = s.on_data("checkpoint", &[]).expect(2);
    assert!(r.stdout.is_empty());
    assert!(!s.data.exists());
}

// ---------------------------------------------------------------------------------------
// 3. `prove`.

/// Records in the journal the exhaustive proof tests use: 1 + 12, so sizes cross 1, 2, 4
/// and 8 and end off a power of two.
const SMALL: u64 = 13;

#[test]
fn inclusion_proofs_are_rfc6962_for_every_seq_and_size() {
    let s = journal_with(SMALL - 1);
    let lines = s.lines();
    let leaves = leaves_of(&s);
    assert_eq!(lines.len() as u64, SMALL);
    for size in 1..=SMALL {
        for seq in 0..size {
            let p = prove_inclusion(&s, seq, Some(size));
            check_inclusion(&p, &lines, &leaves, seq, size);
        }
    }
    // The default size is every record.
    let p = prove_inclusion(&s, 5, None);
    check_inclusion(&p, &lines, &leaves, 5, SMALL);

    // The independent verifier is not vacuous.
    let leaf5 = hash_field(&p, "leaf_hash");
    let root = hash_field(&p, "root");
    let mut proof = hash_list(&p, "proof");
    assert!(!rfc_verify_inclusion(&leaf5, 4, SMALL, &proof, &root));
    assert!(!rfc_verify_inclusion(&leaf5, 5, 8, &proof, &root));
    proof[1][7] ^= 1;
    assert!(!rfc_verify_inclusion(&leaf5, 5, SMALL, &proof, &root));
}

#[test]
fn prove_inclusion_text_output_and_record_out() {
    let s = journal_with(SMALL - 1);
    let lines = s.lines();
    let out = s.path().join("rec.json");
    let out_arg = out.display().to_string();
    let r = s
        .on_data(
            "prove",
            &["inclusion", "--seq", "7", "--record-out", &out_arg],
        )
        .expect(0);
    let p = prove_inclusion(&s, 7, None);
    assert!(
        r.stdout.contains("seq 7") && r.stdout.contains(&format!("size {SMALL}")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(p["leaf_hash"].as_str().unwrap())
            && r.stdout.contains(p["root"].as_str().unwrap()),
        "{}",
        r.stdout
    );
    for h in p["proof"].as_array().unwrap() {
        assert!(r.stdout.contains(h.as_str().unwrap()), "{}", r.stdout);
    }
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        format!("{}\n", lines[7]),
        "--record-out writes the line as stored, with its newline"
    );
}

#[test]
fn prove_inclusion_out_of_range_exits_2() {
    let s = journal_with(SMALL - 1);
    let n = SMALL.to_string();
    let over = (SMALL + 1).to_string();
    for args in [
        vec!["inclusion", "--seq", "0", "--size", &over],
        vec!["inclusion", "--seq", "3", "--size", "3"],
        vec!["inclusion", "--seq", "5", "--size", "2"],
        vec!["inclusion", "--seq", "0", "--size", "0"],
        vec!["inclusion", "--seq", &n],
        vec!["inclusion", "--seq", &over, "--json"],
    ] {
        let r = s.on_data("prove", &args).expect(2);
        assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
        assert!(r.stderr.contains("error"), "{args:?}: {}", r.stderr);
    }
}

#[test]
fn consistency_proofs_are_rfc6962_for_every_pair_of_sizes() {
    let s = journal_with(SMALL - 1);
    let leaves = leaves_of(&s);
    for new in 1..=SMALL {
        for old in 1..=new {
            let p = prove_consistency(&s, old, Some(new));
            check_consistency(&p, &leaves, old, new);
        }
    }
    let p = prove_consistency(&s, 6, None);
    check_consistency(&p, &leaves, 6, SMALL);

    // The independent verifier is not vacuous.
    let (o, n) = (hash_field(&p, "old_root"), hash_field(&p, "new_root"));
    let mut proof = hash_list(&p, "proof");
    assert!(!rfc_verify_consistency(6, SMALL, &n, &o, &proof));
    assert!(!rfc_verify_consistency(5, SMALL, &o, &n, &proof));
    proof[0][0] ^= 1;
    assert!(!rfc_verify_consistency(6, SMALL, &o, &n, &proof));
}

#[test]
fn consistency_defaults_to_the_last_two_checkpoints_and_verifies_offline() {
    let s = journal_with(10);
    // One checkpoint: no earlier one to start from, so --old is asked for.
    let old_note = checkpoint(&s);
    let r = s.on_data("prove", &["consistency", "--json"]).expect(2);
    assert!(r.stderr.contains("--old-checkpoint"), "{}", r.stderr);
    append_events(&s, 50, 53);
    let new_note = checkpoint(&s);
    let (old, new) = (parse_note(&old_note).size, parse_note(&new_note).size);
    assert_eq!((old, new), (11, 15));
    append_events(&s, 60, 62); // past the newest checkpoint: not the default size
    let leaves = leaves_of(&s);
    let r = s.on_data("prove", &["consistency", "--json"]).expect(0);
    assert!(r.stderr.contains("the saved checkpoint"), "{}", r.stderr);
    let p = parse(r.stdout.trim());
    check_consistency(&p, &leaves, old, new);
    // The same proof from the checkpoint files an auditor holds.
    let old_cp = s.file("old.txt", &old_note);
    let new_cp = s.file("cp.txt", &new_note);
    let r = s
        .on_data(
            "prove",
            &[
                "consistency",
                "--old-checkpoint",
                &old_cp,
                "--new-checkpoint",
                &new_cp,
                "--json",
            ],
        )
        .expect(0);
    assert_eq!(parse(r.stdout.trim()), p);
    let vkey = vkey_of(&s);
    let proof = s.file("p.json", &p.to_string());
    let check = |old_cp: &str, new_cp: &str, proof: &str, code: i32| {
        s.tt(&[
            "verify-proof",
            "--old-checkpoint",
            old_cp,
            "--checkpoint",
            new_cp,
            "--key",
            &vkey,
            "--proof",
            proof,
        ])
        .expect(code)
    };
    let ok = check(&old_cp, &new_cp, &proof, 0);
    assert!(
        ok.stdout.starts_with("ok: ") && ok.stdout.contains("size 15 extends"),
        "{}",
        ok.stdout
    );
    // A changed proof hash: exit 1.
    let bad = edit_proof(&p.to_string(), |v| {
        let h = v["proof"][0].as_str().unwrap().to_owned();
        v["proof"][0] = Value::String(flip_hex(&h));
    });
    let bad = s.file("bad.json", &bad);
    assert!(check(&old_cp, &new_cp, &bad, 1)
        .stdout
        .starts_with("FAILED"));
    // A root that is not the checkpoint's: exit 1.
    let bad = edit_proof(&p.to_string(), |v| {
        let h = v["new_root"].as_str().unwrap().to_owned();
        v["new_root"] = Value::String(flip_hex(&h));
    });
    let bad = s.file("bad2.json", &bad);
    assert!(check(&old_cp, &new_cp, &bad, 1)
        .stdout
        .starts_with("FAILED"));
    // Checkpoints swapped, or a proof of other sizes: exit 2, not "tampered".
    let r = check(&new_cp, &old_cp, &proof, 2);
    assert!(r.stderr.contains("give the older one"), "{}", r.stderr);
    let other = prove_consistency(&s, 3, Some(new));
    let other = s.file("other.json", &other.to_string());
    let r = check(&old_cp, &new_cp, &other, 2);
    assert!(r.stderr.contains("from tree size 3 to 15"), "{}", r.stderr);
    assert!(r.stderr.contains("hint: "), "{}", r.stderr);
}

#[test]
fn prove_consistency_out_of_range_exits_2() {
    let s = journal_with(SMALL - 1);
    let over = (SMALL + 1).to_string();
    for args in [
        vec!["consistency", "--old", "0", "--json"],
        vec!["consistency", "--old", "0", "--new", "5"],
        vec!["consistency", "--old", "6", "--new", "5"],
        vec!["consistency", "--old", &over],
        vec!["consistency", "--old", "1", "--new", &over],
    ] {
        let r = s.on_data("prove", &args).expect(2);
        assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
    }
}

// ---------------------------------------------------------------------------------------
// 4. `verify-proof`, offline.

/// What an auditor holds: a journal of 1 + 10 records, checkpointed (size 11, its record
/// is seq 11), two more events, then record 4's line and its proof at the checkpoint's size.
struct Audit {
    s: Scratch,
    note: String,
    vkey: String,
    record: String,
    proof: String,
}

fn audit() -> Audit {
    let s = journal_with(10);
    let note = checkpoint(&s);
    assert_eq!(parse_note(&note).size, 11);
    append_events(&s, 50, 52);
    let vkey = vkey_of(&s);
    let rec = s.path().join("record.json");
    let rec_arg = rec.display().to_string();
    let r = s
        .on_data(
            "prove",
            &[
                "inclusion",
                "--seq",
                "4",
                "--size",
                "11",
                "--json",
                "--record-out",
                &rec_arg,
            ],
        )
        .expect(0);
    let proof = r.stdout;
    let record = std::fs::read_to_string(&rec).unwrap();
    Audit {
        s,
        note,
        vkey,
        record,
        proof,
    }
}

/// The proof JSON with `f` applied.
fn edit_proof(proof: &str, f: impl FnOnce(&mut Value)) -> String {
    let mut v = parse(proof.trim());
    f(&mut v);
    serde_json::to_string(&v).unwrap()
}

/// Flips the last hex digit of a hash string.
fn flip_hex(h: &str) -> String {
    let mut s = h.to_owned();
    let last = s.pop().unwrap();
    s.push(if last == '0' { '1' } else { '0' });
    s
}

#[test]
fn verify_proof_accepts_a_record_in_a_signed_checkpoint() {
    let a = audit();
    let s = &a.s;
    // The auditor's own check first: everything in the files is consistent.
    let p = parse(a.proof.trim());
    let note = parse_note(&a.note);
    let line = a.record.strip_suffix('\n').unwrap();
    assert_eq!(line, s.lines()[4]);
    assert!(signature_verifies(&note, &parse_vkey(&a.vkey)));
    assert_eq!(hash_field(&p, "root"), note.root);
    assert!(rfc_verify_inclusion(
        &leaf(line.as_bytes()),
        4,
        11,
        &hash_list(&p, "proof"),
        &note.root
    ));

    let r = verify_proof(s, &a.note, &a.vkey, &a.record, &a.proof).expect(0);
    assert!(r.stdout.starts_with("ok: record 4 "), "{}", r.stdout);
    assert!(r.stdout.contains(ORIGIN), "{}", r.stdout);
    assert!(r.stdout.contains("size 11"), "{}", r.stdout);

    // The key may be given as a file; the record without its newline.
    let key_file = s.data.join("keys").join("verifier.vkey");
    verify_proof(
        s,
        &a.note,
        &key_file.display().to_string(),
        &a.record,
        &a.proof,
    )
    .expect(0);
    verify_proof(s, &a.note, &a.vkey, line, &a.proof).expect(0);

    // Every record of the checkpoint verifies the same way, with no data directory.
    let lines = s.lines();
    std::fs::remove_dir_all(s.data.join("index")).unwrap();
    let proofs: Vec<String> = (0..11)
        .map(|seq| {
            s.on_data(
                "prove",
                &[
                    "inclusion",
                    "--seq",
                    &seq.to_string(),
                    "--size",
                    "11",
                    "--json",
                ],
            )
            .expect(0)
            .stdout
        })
        .collect();
    let elsewhere = Scratch::new();
    for (seq, proof) in proofs.iter().enumerate() {
        verify_proof(&elsewhere, &a.note, &a.vkey, &lines[seq], proof).expect(0);
    }
}

#[test]
fn verify_proof_exits_1_for_every_corruption() {
    let a = audit();
    let s = &a.s;
    let lines = s.lines();
    let other = Scratch::new();
    other.init("test.example/other");
    let other_note = checkpoint(&other);
    let other_vkey = vkey_of(&other);
    // A second journal under the very same origin (and key name), with its own key.
    let twin = journal_with(10);
    let twin_note = checkpoint(&twin);
    let twin_vkey = vkey_of(&twin);
    assert_eq!(parse_note(&twin_note).size, 11);

    let record5 = format!("{}\n", lines[5]);
    let changed_record = a.record.replacen("\"i\":4", "\"i\":5", 1);
    assert_ne!(changed_record, a.record);
    let proof_elems = parse(a.proof.trim())["proof"].as_array().unwrap().len();
    assert!(proof_elems >= 3, "{}", a.proof);

    let mut cases: Vec<(String, String, String, String, String)> = Vec::new();
    let mut case = |name: &str, note: &str, key: &str, record: &str, proof: &str| {
        cases.push((
            name.to_owned(),
            note.to_owned(),
            key.to_owned(),
            record.to_owned(),
            proof.to_owned(),
        ));
    };
    // The record.
    case(
        "a record byte changed",
        &a.note,
        &a.vkey,
        &changed_record,
        &a.proof,
    );
    let leaf_of_changed = hex(&leaf(changed_record.trim_end().as_bytes()));
    let proof_for_changed = edit_proof(&a.proof, |v| v["leaf_hash"] = leaf_of_changed.into());
    case(
        "a record byte changed and leaf_hash to match",
        &a.note,
        &a.vkey,
        &changed_record,
        &proof_for_changed,
    );
    case("another record", &a.note, &a.vkey, &record5, &a.proof);
    let proof_for_5 = edit_proof(&a.proof, |v| {
        v["seq"] = 5.into();
        v["leaf_hash"] = hex(&leaf(lines[5].as_bytes())).into();
    });
    case(
        "another record, the proof relabelled for it",
        &a.note,
        &a.vkey,
        &record5,
        &proof_for_5,
    );
    // The proof.
    let mut element_cases = Vec::new();
    for i in 0..proof_elems {
        element_cases.push(edit_proof(&a.proof, |v| {
            let h = v["proof"][i].as_str().unwrap().to_owned();
            v["proof"][i] = flip_hex(&h).into();
        }));
    }
    for (i, p) in element_cases.iter().enumerate() {
        case(
            &format!("proof element {i} changed"),
            &a.note,
            &a.vkey,
            &a.record,
            p,
        );
    }
    let dropped = edit_proof(&a.proof, |v| {
        v["proof"].as_array_mut().unwrap().pop();
    });
    case(
        "a proof element dropped",
        &a.note,
        &a.vkey,
        &a.record,
        &dropped,
    );
    let extra = edit_proof(&a.proof, |v| {
        let first = v["proof"][0].clone();
        v["proof"].as_array_mut().unwrap().push(first);
    });
    case("a proof element added", &a.note, &a.vkey, &a.record, &extra);
    let swapped = edit_proof(&a.proof, |v| v["proof"].as_array_mut().unwrap().swap(0, 1));
    case(
        "proof elements swapped",
        &a.note,
        &a.vkey,
        &a.record,
        &swapped,
    );
    let root_changed = edit_proof(&a.proof, |v| {
        let h = v["root"].as_str().unwrap().to_owned();
        v["root"] = flip_hex(&h).into();
    });
    case(
        "the proof's root changed",
        &a.note,
        &a.vkey,
        &a.record,
        &root_changed,
    );
    let seq_changed = edit_proof(&a.proof, |v| v["seq"] = 6.into());
    case(
        "the proof's seq changed",
        &a.note,
        &a.vkey,
        &a.record,
        &seq_changed,
    );
    // (A proof for another size than the checkpoint's is not evidence of anything:
    // `verify_proof_of_another_size_exits_2_and_says_which_sizes`.)
    let at_10 = prove_inclusion(s, 4, Some(10)).to_string();
    let size_relabelled = edit_proof(&at_10, |v| {
        v["size"] = 11.into();
        v["root"] = hex(&parse_note(&a.note).root).into();
    });
    case(
        "a proof for size 10 relabelled as 11",
        &a.note,
        &a.vkey,
        &a.record,
        &size_relabelled,
    );
    // The checkpoint and the key.
    case(
        "another journal's checkpoint, this journal's key",
        &other_note,
        &a.vkey,
        &a.record,
        &a.proof,
    );
    case(
        "this journal's checkpoint, another journal's key",
        &a.note,
        &other_vkey,
        &a.record,
        &a.proof,
    );
    case(
        "a same-origin journal's checkpoint, this journal's key",
        &twin_note,
        &a.vkey,
        &a.record,
        &a.proof,
    );
    case(
        "a same-origin journal's checkpoint and key",
        &twin_note,
        &twin_vkey,
        &a.record,
        &a.proof,
    );
    let n = parse_note(&a.note);
    let note_lines: Vec<&str> = a.note.split('\n').collect();
    let with_line = |i: usize, text: &str| {
        let mut l = note_lines.clone();
        l[i] = text;
        l.join("\n")
    };
    case(
        "the checkpoint's size changed",
        &with_line(1, "12"),
        &a.vkey,
        &a.record,
        &a.proof,
    );
    let mut root = n.root;
    root[0] ^= 0x80;
    let root_b64 = STANDARD.encode(root);
    case(
        "the checkpoint's root changed",
        &with_line(2, &root_b64),
        &a.vkey,
        &a.record,
        &a.proof,
    );
    case(
        "the checkpoint's origin changed",
        &with_line(0, "test.example/proofz"),
        &a.vkey,
        &a.record,
        &a.proof,
    );
    let mut sig = n.sig.clone();
    sig[40] ^= 1;
    let sig_line = format!("\u{2014} {} {}", n.sig_name, STANDARD.encode(&sig));
    case(
        "a signature byte changed",
        &with_line(4, &sig_line),
        &a.vkey,
        &a.record,
        &a.proof,
    );

    for (name, note, key, record, proof) in &cases {
        let r = verify_proof(s, note, key, record, proof);
        assert_eq!(
            r.code,
            Some(1),
            "{name}: expected exit 1\n--- stdout\n{}\n--- stderr\n{}",
            r.stdout,
            r.stderr
        );
        assert!(r.stdout.starts_with("FAILED: "), "{name}: {}", r.stdout);
    }
    // The untouched inputs still pass, so each case failed for its own change.
    verify_proof(s, &a.note, &a.vkey, &a.record, &a.proof).expect(0);
}

#[test]
fn verify_proof_exits_2_for_malformed_input() {
    let a = audit();
    let s = &a.s;
    let no_blank = a.note.replacen("\n\n", "\n", 1);
    assert_ne!(no_blank, a.note);
    let body_only = a.note.split("\n\n").next().unwrap().to_owned() + "\n";
    let k = parse_vkey(&a.vkey);
    let wrong_id = format!(
        "{}+{}+{}",
        k.name,
        if k.id_hex == "00000000" {
            "00000001"
        } else {
            "00000000"
        },
        a.vkey.splitn(3, '+').nth(2).unwrap()
    );
    let two_lines = format!("{}{}", a.record, a.record);
    let cases: Vec<(&str, &str, &str, &str, &str)> = vec![
        ("non-JSON proof", &a.note, &a.vkey, &a.record, "not json\n"),
        ("empty proof", &a.note, &a.vkey, &a.record, ""),
        (
            "a proof hash that is not hex",
            &a.note,
            &a.vkey,
            &a.record,
            r#"{"seq":4,"size":11,"leaf_hash":"xyz","root":"00","proof":[]}"#,
        ),
        ("a proof without fields", &a.note, &a.vkey, &a.record, "{}"),
        (
            "a note without the blank line",
            &no_blank,
            &a.vkey,
            &a.record,
            &a.proof,
        ),
        (
            "a note without signatures",
            &body_only,
            &a.vkey,
            &a.record,
            &a.proof,
        ),
        ("an empty note", "", &a.vkey, &a.record, &a.proof),
        ("a garbage key", &a.note, "garbage", &a.record, &a.proof),
        ("an empty key", &a.note, "", &a.record, &a.proof),
        (
            "a key with the wrong key id",
            &a.note,
            &wrong_id,
            &a.record,
            &a.proof,
        ),
        (
            "a record of two lines",
            &a.note,
            &a.vkey,
            &two_lines,
            &a.proof,
        ),
    ];
    for (name, note, key, record, proof) in cases {
        let r = verify_proof(s, note, key, record, proof);
        assert_eq!(
            r.code,
            Some(2),
            "{name}: expected exit 2\n--- stdout\n{}\n--- stderr\n{}",
            r.stdout,
            r.stderr
        );
        assert!(r.stderr.contains("error"), "{name}: {}", r.stderr);
    }
    // Missing files.
    let cp = s.file("cp.txt", &a.note);
    let rec = s.file("rec.json", &a.record);
    let pr = s.file("pr.json", &a.proof);
    let missing = s.path().join("missing").display().to_string();
    for (c, r, p) in [
        (&missing, &rec, &pr),
        (&cp, &missing, &pr),
        (&cp, &rec, &missing),
    ] {
        s.tt(&[
            "verify-proof",
            "--checkpoint",
            c,
            "--key",
            &a.vkey,
            "--record",
            r,
            "--proof",
            p,
        ])
        .expect(2);
    }
}

// ---------------------------------------------------------------------------------------
// 5. `verify --checkpoint`.

/// A journal of 1 + 10 records, checkpointed at size 11 (the checkpoint's own record is
/// seq 11), then 5 more events (seq 12..=16). Returns the scratch and the checkpoint
/// file, copied out of the data directory as an auditor would keep it.
fn grown() -> (Scratch, String) {
    let s = journal_with(10);
    let note = checkpoint(&s);
    assert_eq!(parse_note(&note).size, 11);
    append_events(&s, 20, 25);
    assert_eq!(s.lines().len(), 17);
    let cp = s.file("old.txt", &note);
    (s, cp)
}

#[test]
fn verify_checkpoint_passes_when_the_journal_only_grew() {
    let (s, cp) = grown();
    let r = s.on_data("verify", &["--checkpoint", &cp]).expect(0);
    assert!(r.stdout.contains("only grew"), "{}", r.stdout);
    assert!(r.stdout.contains("first 11 records"), "{}", r.stdout);
    let (code, v) = verify_cp_json(&s, &cp, None);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["records"], 17, "{v}");
    assert_eq!(v["checkpoint"]["ok"], true, "{v}");
    assert_eq!(v["checkpoint"]["size"], 11, "{v}");
    assert!(v["checkpoint"]["reason"].is_null(), "{v}");
    // With the key given explicitly, as an auditor would.
    let vkey = vkey_of(&s);
    let (code, v) = verify_cp_json(&s, &cp, Some(&vkey));
    assert_eq!(code, Some(0), "{v}");
    // A checkpoint of the whole journal passes too.
    let head = checkpoint(&s);
    assert_eq!(parse_note(&head).size, 17);
    let head_cp = s.file("head.txt", &head);
    s.on_data("verify", &["--checkpoint", &head_cp]).expect(0);
}

#[test]
fn verify_checkpoint_finds_a_truncation_and_so_does_plain_verify() {
    let (s, cp) = grown();
    let c = copy_of(&s);
    let lines = c.lines();
    write_lines(&c, &lines[..8]);
    // The chain that is left is intact, but the checkpoint the directory holds binds
    // it: plain verify fails too, naming where the records end.
    let (code, v) = c.verify_json();
    assert_eq!((code, &v["ok"]), (Some(1), &Value::Bool(false)), "{v}");
    assert_eq!(v["journal"]["ok"], true, "{v}");
    assert_eq!(v["first_bad_seq"], 8, "{v}");

    let reason = assert_checkpoint_fails(&c, &cp, None);
    assert!(reason.contains("truncated"), "{reason}");
    let (_, v) = verify_cp_json(&c, &cp, None);
    assert_eq!(v["checkpoint"]["size"], 11, "{v}");
    assert_eq!(v["checkpoint"]["records"], 8, "{v}");

    // Cut just one record short of the checkpoint: still caught.
    let c = copy_of(&s);
    write_lines(&c, &lines[..10]);
    c.on_data("verify", &[]).expect(1);
    assert!(assert_checkpoint_fails(&c, &cp, None).contains("truncated"));

    // Records after the checkpoint are not its business: cutting exactly to its size
    // passes (a later checkpoint would catch that).
    let c = copy_of(&s);
    write_lines(&c, &lines[..11]);
    c.on_data("verify", &["--checkpoint", &cp]).expect(0);
}

#[test]
fn verify_checkpoint_finds_history_rewritten_with_recomputed_hashes() {
    let (s, cp) = grown();
    let c = copy_of(&s);
    let mut lines = c.lines();
    let old = lines[3].clone();
    lines[3] = old.replacen("\"i\":3}", "\"i\":333}", 1);
    assert_ne!(lines[3], old);
    relink(&mut lines, 4);
    write_lines(&c, &lines);
    // The chain holds; the checkpoint the directory holds does not.
    let (code, v) = c.verify_json();
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["journal"]["ok"], true, "{v}");

    let reason = assert_checkpoint_fails(&c, &cp, None);
    assert!(reason.contains("changed"), "{reason}");
    let note = std::fs::read_to_string(&cp).unwrap();
    assert!(
        reason.contains(&hex(&parse_note(&note).root)),
        "names the checkpoint's root: {reason}"
    );

    // The operator cannot produce a proof for the rewritten record that the auditor's
    // checkpoint accepts. The tool refuses to prove anything from a history that
    // contradicts a checkpoint it signed; with the saved checkpoints removed too, it
    // proves, and the proof fails against the auditor's copy.
    let r = c
        .on_data(
            "prove",
            &["inclusion", "--seq", "3", "--size", "11", "--json"],
        )
        .expect(1);
    assert!(
        r.stderr.contains("contradicts the signed checkpoint"),
        "{}",
        r.stderr
    );
    std::fs::remove_dir_all(c.path().join("data/checkpoints")).unwrap();
    let rec = c.path().join("rec.json");
    let rec_arg = rec.display().to_string();
    let proof = c
        .on_data(
            "prove",
            &[
                "inclusion",
                "--seq",
                "3",
                "--size",
                "11",
                "--json",
                "--record-out",
                &rec_arg,
            ],
        )
        .expect(0)
        .stdout;
    let record = std::fs::read_to_string(&rec).unwrap();
    assert!(record.contains("\"i\":333"), "{record}");
    verify_proof(&c, &note, &vkey_of(&s), &record, &proof).expect(1);

    // Rewriting a record after the checkpoint's range is not this checkpoint's to see.
    let c = copy_of(&s);
    let mut lines = c.lines();
    lines[14] = lines[14].replacen("\"i\":", "\"i\":9", 1);
    relink(&mut lines, 15);
    write_lines(&c, &lines);
    c.on_data("verify", &[]).expect(0);
    c.on_data("verify", &["--checkpoint", &cp]).expect(0);
}

#[test]
fn verify_checkpoint_finds_a_tail_cut_and_rewritten_through_the_tool() {
    let (s, cp) = grown();
    let c = copy_of(&s);
    let lines = c.lines();
    write_lines(&c, &lines[..7]);
    // The tool refuses to extend a history cut below a checkpoint it signed.
    let input: String = (1000..1012).map(|i| custom_event("p", i) + "\n").collect();
    let r = c
        .tt_stdin(&["append", "--data", &c.data_arg()], input.as_bytes())
        .expect(1);
    assert!(
        r.stderr.contains("contradicts the signed checkpoint"),
        "{}",
        r.stderr
    );
    // An operator who also removes the saved checkpoints (the journal.checkpoint record
    // went with the cut) can append with the tool: a valid chain, longer than before,
    // with every hash honestly computed. Only a checkpoint kept elsewhere catches it.
    std::fs::remove_dir_all(c.path().join("data/checkpoints")).unwrap();
    append_events(&c, 1000, 1012);
    assert_eq!(c.lines().len(), 19);
    c.on_data("verify", &[]).expect(0);
    let reason = assert_checkpoint_fails(&c, &cp, None);
    assert!(reason.contains("changed"), "{reason}");
}

#[test]
fn verify_checkpoint_rejects_a_checkpoint_of_another_journal() {
    let (s, cp) = grown();
    let vkey = vkey_of(&s);
    let other = journal_with(10);
    // Re-init under another origin: `journal_with` uses ORIGIN.
    let foreign = Scratch::new();
    foreign.init("test.example/foreign");
    append_events(&foreign, 1, 5);
    let foreign_cp = foreign.file("f.txt", &checkpoint(&foreign));
    let foreign_vkey = vkey_of(&foreign);
    let twin_cp = other.file("t.txt", &checkpoint(&other));
    let twin_vkey = vkey_of(&other);

    // Signed by another key than this journal's.
    let reason = assert_checkpoint_fails(&s, &foreign_cp, None);
    assert!(reason.contains("signature"), "{reason}");
    let reason = assert_checkpoint_fails(&s, &twin_cp, None);
    assert!(reason.contains("signature"), "{reason}");
    // Verified with its own key: its origin is not this journal's.
    let reason = assert_checkpoint_fails(&s, &foreign_cp, Some(&foreign_vkey));
    assert!(reason.contains("origin"), "{reason}");
    // Same origin, its own key: its records are not this journal's.
    let reason = assert_checkpoint_fails(&s, &twin_cp, Some(&twin_vkey));
    assert!(reason.contains("changed"), "{reason}");
    // This journal's checkpoint with another journal's key.
    let reason = assert_checkpoint_fails(&s, &cp, Some(&foreign_vkey));
    assert!(reason.contains("signature"), "{reason}");
    let reason = assert_checkpoint_fails(&s, &cp, Some(&twin_vkey));
    assert!(reason.contains("signature"), "{reason}");
    // And the same checkpoint with the right key passes.
    s.on_data("verify", &["--checkpoint", &cp, "--key", &vkey])
        .expect(0);
}

#[test]
fn verify_checkpoint_with_a_tampered_checkpoint_exits_1() {
    let (s, cp) = grown();
    let note = std::fs::read_to_string(&cp).unwrap();
    let changed_size = s.file("size.txt", &note.replacen("\n11\n", "\n10\n", 1));
    let reason = assert_checkpoint_fails(&s, &changed_size, None);
    assert!(reason.contains("signature"), "{reason}");
    let n = parse_note(&note);
    let mut root = n.root;
    root[31] ^= 0x04;
    let changed_root = s.file(
        "root.txt",
        &note.replacen(&STANDARD.encode(n.root), &STANDARD.encode(root), 1),
    );
    let reason = assert_checkpoint_fails(&s, &changed_root, None);
    assert!(reason.contains("signature"), "{reason}");
}

#[test]
fn verify_checkpoint_with_malformed_input_exits_2() {
    let (s, cp) = grown();
    let note = std::fs::read_to_string(&cp).unwrap();
    let no_blank = s.file("noblank.txt", &note.replacen("\n\n", "\n", 1));
    let garbage = s.file("garbage.txt", "hello\n");
    let missing = s.path().join("missing.txt").display().to_string();
    for path in [&no_blank, &garbage, &missing] {
        let r = s.on_data("verify", &["--checkpoint", path]).expect(2);
        assert!(r.stderr.contains("error"), "{}", r.stderr);
    }
    s.on_data("verify", &["--checkpoint", &cp, "--key", "garbage"])
        .expect(2);
}

#[test]
fn verify_checkpoint_on_a_journal_missing_a_record_exits_1_with_a_report() {
    let (s, cp) = grown();
    let lines = s.lines();
    // A record deleted (the chain is broken, so plain verify already fails).
    let c = copy_of(&s);
    let mut cut = lines.clone();
    cut.remove(5);
    write_lines(&c, &cut);
    c.on_data("verify", &[]).expect(1);
    assert_checkpoint_fails(&c, &cp, None);
    // A record whose seq was damaged.
    let c = copy_of(&s);
    let mut bad = lines.clone();
    bad[5] = bad[5].replacen("{\"seq\":5,", "{\"seq\":X,", 1);
    write_lines(&c, &bad);
    c.on_data("verify", &[]).expect(1);
    let r = c.on_data("verify", &["--checkpoint", &cp, "--json"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(r.stdout.lines().count(), 1, "{r:?}");
}

// ---------------------------------------------------------------------------------------
// 6. Across segments.

#[test]
fn proofs_and_checkpoints_across_segments() {
    let s = Scratch::new();
    s.on_data("init", &["--origin", ORIGIN, "--segment-max-bytes", "4096"])
        .expect(0);
    // Sealing a segment takes a checkpoint by policy (`checkpoints.at_seal`), so the
    // sizes are read from the journal rather than assumed.
    append_events(&s, 1, 151);
    let n1 = s.lines().len() as u64;
    let mid_note = checkpoint(&s);
    let mid = parse_note(&mid_note);
    assert_eq!(mid.size, n1);
    append_events(&s, 151, 301);
    let n2 = s.lines().len() as u64;
    let head_note = checkpoint(&s);
    let head = parse_note(&head_note);
    assert_eq!(head.size, n2);

    let lines = s.lines();
    let leaves = leaves_of(&s);
    let total = lines.len() as u64;
    assert_eq!(total, n2 + 1);
    assert_eq!(mid.root, mth(&leaves[..n1 as usize]));
    assert_eq!(head.root, mth(&leaves[..n2 as usize]));
    let vkey = vkey_of(&s);
    let k = parse_vkey(&vkey);
    assert!(signature_verifies(&mid, &k));
    assert!(signature_verifies(&head, &k));

    // Every saved checkpoint, the policy's included, is signed, has the root of its
    // size, and is recorded in the journal at seq = size.
    let saved: Vec<_> = std::fs::read_dir(s.data.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(saved.len() > 2, "policy checkpoints at seals: {saved:?}");
    for path in &saved {
        let text = std::fs::read_to_string(path).unwrap();
        let n = parse_note(&text);
        assert!(signature_verifies(&n, &k), "{}", path.display());
        assert_eq!(
            n.root,
            mth(&leaves[..n.size as usize]),
            "{}",
            path.display()
        );
        let rec = parse(&lines[n.size as usize]);
        assert_eq!(rec["type"], "journal.checkpoint", "{rec}");
        assert_eq!(rec["data"]["note"], text.as_str(), "{rec}");
        s.on_data("verify", &["--checkpoint", &path.display().to_string()])
            .expect(0);
    }

    // Segment boundaries, from the file names (the first seq of each segment).
    let firsts: Vec<u64> = s
        .segments()
        .iter()
        .map(|p| {
            p.file_stem()
                .unwrap()
                .to_str()
                .unwrap()
                .parse()
                .expect("segment named by its first seq")
        })
        .collect();
    assert!(firsts.len() >= 8, "many segments: {firsts:?}");
    let mut seqs: Vec<u64> = firsts
        .iter()
        .flat_map(|&f| [f.saturating_sub(1), f])
        .chain([n1 - 1, n1, n2 - 1, n2])
        .collect();
    seqs.sort();
    seqs.dedup();

    for &seq in &seqs {
        // (Without --size, proofs are at the newest checkpoint's size.)
        let p = prove_inclusion(&s, seq, Some(total));
        check_inclusion(&p, &lines, &leaves, seq, total);
        if seq < n2 {
            let p = prove_inclusion(&s, seq, Some(n2));
            check_inclusion(&p, &lines, &leaves, seq, n2);
            assert_eq!(hash_field(&p, "root"), head.root);
            verify_proof(
                &s,
                &head_note,
                &vkey,
                &format!("{}\n", lines[seq as usize]),
                &p.to_string(),
            )
            .expect(0);
        }
        if seq < n1 {
            let p = prove_inclusion(&s, seq, Some(n1));
            check_inclusion(&p, &lines, &leaves, seq, n1);
            assert_eq!(hash_field(&p, "root"), mid.root);
        }
    }
    for &old in firsts.iter().filter(|&&f| f > 0) {
        let p = prove_consistency(&s, old, Some(total));
        check_consistency(&p, &leaves, old, total);
    }
    let p = prove_consistency(&s, n1, Some(n2));
    check_consistency(&p, &leaves, n1, n2);
    assert_eq!(hash_field(&p, "old_root"), mid.root);
    assert_eq!(hash_field(&p, "new_root"), head.root);

    let mid_cp = s.file("mid.txt", &mid_note);
    let head_cp = s.file("head.txt", &head_note);
    s.on_data("verify", &["--checkpoint", &mid_cp]).expect(0);
    s.on_data("verify", &["--checkpoint", &head_cp]).expect(0);

    // Whole segments removed from the end: the chain that is left is intact, but the
    // head checkpoint sees the truncation; the mid one, still covered, passes.
    let c = copy_of(&s);
    let segs = c.segments();
    for seg in &segs[segs.len() - 3..] {
        std::fs::remove_file(seg).unwrap();
    }
    // The head checkpoint is also saved in the directory: plain verify fails too.
    c.on_data("verify", &[]).expect(1);
    let reason = assert_checkpoint_fails(&c, &head_cp, None);
    assert!(reason.contains("truncated"), "{reason}");
    let (code, v) = verify_cp_json(&c, &mid_cp, None);
    assert_eq!(code, Some(1), "the saved head checkpoint still fails: {v}");
    assert_eq!(v["checkpoint"]["ok"], true, "the mid one is covered: {v}");
}

// ---------------------------------------------------------------------------------------
// The README's sequence, as written: checkpoint, prove, verify-proof.

/// Runs `script` with `sh` in the scratch directory, with the freshly built binary first
/// on PATH and `$TRADETRAIL_DATA` the scratch data directory (no `--data` anywhere).
fn sh(s: &Scratch, script: &str) -> Run {
    let bin = Path::new(env!("CARGO_BIN_EXE_tradetrail"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = std::process::Command::new("sh");
    c.arg("-c")
        .arg(script)
        .current_dir(s.path())
        .env("PATH", path)
        .env("TRADETRAIL_DATA", &s.data)
        .env("NO_COLOR", "1");
    run_cmd(c, None)
}

#[test]
fn the_readmes_checkpoint_prove_verify_proof_sequence_verifies() {
    let s = journal_with(60);
    // Exactly the README's lines ("Using it"), in a shell, with VKEY filled in.
    let r = sh(
        &s,
        "tradetrail checkpoint > cp.txt\n\
         tradetrail prove inclusion --seq 42 --json --record-out line.json > p.json\n\
         tradetrail verify-proof --checkpoint cp.txt --key \"$(tradetrail key show)\" --record line.json --proof p.json",
    )
    .expect(0);
    assert!(
        r.stdout.contains(
            "ok: record 42 is in test.example/proofs as of the signed checkpoint of size 61"
        ),
        "{}",
        r.stdout
    );
    // The checkpoint appended its own record, so the journal is one past the checkpoint;
    // the proof is the checkpoint's size, not the journal's.
    assert_eq!(s.lines().len(), 62);
    let note = parse_note(&std::fs::read_to_string(s.path().join("cp.txt")).unwrap());
    let p = parse(
        std::fs::read_to_string(s.path().join("p.json"))
            .unwrap()
            .trim(),
    );
    assert_eq!(note.size, 61);
    assert_eq!(p["size"], 61, "{p}");
    assert_eq!(hash_field(&p, "root"), note.root);
    assert!(
        r.stderr
            .contains("proof at tree size 61, the newest saved checkpoint's"),
        "prove says which size it chose: {}",
        r.stderr
    );
    // And it is a real proof of that record (checked independently).
    let line = std::fs::read_to_string(s.path().join("line.json")).unwrap();
    assert_eq!(line.trim_end(), s.lines()[42]);
    assert!(rfc_verify_inclusion(
        &leaf(line.trim_end().as_bytes()),
        42,
        61,
        &hash_list(&p, "proof"),
        &note.root
    ));
}

#[test]
fn prove_with_checkpoint_proves_at_that_notes_size_and_the_default_is_the_newest() {
    let s = journal_with(20);
    let r = sh(&s, "tradetrail checkpoint > old.txt").expect(0);
    assert!(r.stderr.contains("tree size 21"), "{}", r.stderr);
    append_events(&s, 100, 110);
    sh(&s, "tradetrail checkpoint > new.txt").expect(0);
    // new.txt: 21 + the checkpoint record + 10 events = 32.
    let old = parse(
        sh(
            &s,
            "tradetrail prove inclusion --seq 5 --checkpoint old.txt --json",
        )
        .expect(0)
        .stdout
        .trim(),
    );
    assert_eq!(old["size"], 21, "{old}");
    let newest = parse(
        sh(&s, "tradetrail prove inclusion --seq 5 --json")
            .expect(0)
            .stdout
            .trim(),
    );
    assert_eq!(newest["size"], 32, "{newest}");
    // Each verifies against its own checkpoint.
    sh(
        &s,
        "tradetrail prove inclusion --seq 5 --checkpoint old.txt --json --record-out l.json > p.json && \
         tradetrail verify-proof --checkpoint old.txt --key \"$(tradetrail key show)\" --record l.json --proof p.json",
    )
    .expect(0);
    // `--size` still wins, and cannot be combined with --checkpoint.
    let sized = parse(
        sh(&s, "tradetrail prove inclusion --seq 5 --size 7 --json")
            .expect(0)
            .stdout
            .trim(),
    );
    assert_eq!(sized["size"], 7, "{sized}");
    sh(
        &s,
        "tradetrail prove inclusion --seq 5 --size 7 --checkpoint old.txt",
    )
    .expect(2);
    // A record written after the newest checkpoint: exit 2, saying what to do.
    let r = sh(&s, "tradetrail prove inclusion --seq 32").expect(2);
    assert!(
        r.stderr
            .contains("--seq 32: record 32 was written after the newest saved checkpoint")
            && r.stderr.contains("tradetrail checkpoint > cp.txt"),
        "{}",
        r.stderr
    );
    // A checkpoint of another journal is refused, naming the flag and the file.
    let other = journal_with(3);
    sh(&other, "tradetrail checkpoint > theirs.txt").expect(0);
    std::fs::copy(other.path().join("theirs.txt"), s.path().join("theirs.txt")).unwrap();
    let r = sh(
        &s,
        "tradetrail prove inclusion --seq 1 --checkpoint theirs.txt",
    )
    .expect(2);
    assert!(
        r.stderr.contains("--checkpoint theirs.txt: "),
        "{}",
        r.stderr
    );
    let r = sh(
        &s,
        "tradetrail prove inclusion --seq 1 --checkpoint missing.txt",
    )
    .expect(2);
    assert!(
        r.stderr.contains("--checkpoint missing.txt: "),
        "{}",
        r.stderr
    );
}

#[test]
fn verify_proof_of_another_size_exits_2_and_says_which_sizes() {
    let s = journal_with(60);
    sh(&s, "tradetrail checkpoint > cp.txt").expect(0);
    for size in ["40", "62"] {
        let r = sh(
            &s,
            &format!(
                "tradetrail prove inclusion --seq 12 --size {size} --json --record-out line.json > p.json && \
                 tradetrail verify-proof --checkpoint cp.txt --key \"$(tradetrail key show)\" --record line.json --proof p.json"
            ),
        )
        .expect(2);
        assert!(
            r.stderr.contains(&format!(
                "the proof is for tree size {size} but the checkpoint is for tree size 61"
            )),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr
                .contains("tradetrail prove inclusion --seq 12 --checkpoint cp.txt --json"),
            "says how to get a matching proof: {}",
            r.stderr
        );
        assert!(
            !r.stdout.contains("FAILED"),
            "not a failed check: {}",
            r.stdout
        );
    }
}
