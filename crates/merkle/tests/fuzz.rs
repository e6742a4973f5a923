//! Fuzzing the proof verifiers: arbitrary and mutated proofs, sizes and indices into
//! `verify_inclusion`, `root_from_inclusion` and `verify_consistency`, and arbitrary text
//! into the proof JSON and hash readers. Each must answer, never panic, and a proof that
//! was changed must not verify.
//!
//! A fixed number of cases by default; `TRADETRAIL_FUZZ_SECS=60` runs each test for a
//! minute (see docs/fuzzing.md).

use tradetrail_merkle::{
    root_from_inclusion, verify_consistency, verify_inclusion, ConsistencyProof, Hash,
    InclusionProof, MerkleLog,
};
use tradetrail_testkit::fuzz::{self, Input, Rng};

const LEAVES: u64 = 70;

fn log() -> MerkleLog {
    let mut log = MerkleLog::new();
    for i in 0..LEAVES {
        log.push_line(format!("{{\"seq\":{i}}}").as_bytes());
    }
    log
}

/// A proof (honest or changed) with the claims it is checked against.
#[derive(Debug, Clone)]
struct Case {
    kind: Kind,
    a: u64,
    b: u64,
    hash: Hash,
    root: Hash,
    proof: Vec<Hash>,
    /// Whether the case is an untouched honest proof (which must verify).
    honest: bool,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Inclusion,
    Consistency,
}

fn random_hash(rng: &mut Rng) -> Hash {
    let mut h = [0u8; 32];
    h.iter_mut().for_each(|b| *b = rng.u64() as u8);
    Hash(h)
}

fn generate(rng: &mut Rng, log: &MerkleLog) -> Case {
    let inclusion = rng.one_in(2);
    let (a, b) = if inclusion {
        let size = 1 + rng.below(LEAVES as usize) as u64;
        (rng.below(size as usize) as u64, size)
    } else {
        let new = 1 + rng.below(LEAVES as usize) as u64;
        (1 + rng.below(new as usize) as u64, new)
    };
    let mut c = if inclusion {
        Case {
            kind: Kind::Inclusion,
            a,
            b,
            hash: log.leaf(a).unwrap(),
            root: log.root_at(b).unwrap(),
            proof: log.inclusion_proof(a, b).unwrap(),
            honest: true,
        }
    } else {
        Case {
            kind: Kind::Consistency,
            a,
            b,
            hash: log.root_at(a).unwrap(),
            root: log.root_at(b).unwrap(),
            proof: log.consistency_proof(a, b).unwrap(),
            honest: true,
        }
    };
    if rng.one_in(8) {
        return c;
    }
    c.honest = false;
    for _ in 0..=rng.below(3) {
        match rng.below(9) {
            0 => c.a = rng.edgy_u64(),
            1 => c.b = rng.edgy_u64(),
            2 if !c.proof.is_empty() => {
                let i = rng.below(c.proof.len());
                c.proof[i].0[rng.below(32)] ^= 1 << rng.below(8);
            }
            3 => {
                let at = rng.below(c.proof.len() + 1);
                let h = random_hash(rng);
                c.proof.insert(at, h);
            }
            4 if !c.proof.is_empty() => {
                c.proof.remove(rng.below(c.proof.len()));
            }
            5 => c.hash.0[rng.below(32)] ^= 1 << rng.below(8),
            6 => c.root.0[rng.below(32)] ^= 1 << rng.below(8),
            7 if c.proof.len() > 1 => {
                let (i, j) = (rng.below(c.proof.len()), rng.below(c.proof.len()));
                c.proof.swap(i, j);
            }
            _ => {
                let n = rng.below(70);
                c.proof = (0..n).map(|_| random_hash(rng)).collect();
            }
        }
    }
    c
}

#[test]
fn verifiers_answer_every_proof() {
    let log = log();
    let roots: Vec<Hash> = (0..=LEAVES).map(|n| log.root_at(n).unwrap()).collect();
    let (mut ok, mut changed_ok, mut other_size) = (0u64, 0u64, 0u64);
    fuzz::run(
        "merkle-proofs",
        20_000,
        |rng: &mut Rng| generate(rng, &log),
        |c| {
            let result = match c.kind {
                Kind::Inclusion => {
                    let r = verify_inclusion(&c.hash, c.a, c.b, &c.proof, &c.root);
                    // The two entry points agree.
                    let computed = root_from_inclusion(&c.hash, c.a, c.b, &c.proof);
                    assert_eq!(r.is_ok(), computed.as_ref().is_ok_and(|h| *h == c.root));
                    r
                }
                Kind::Consistency => verify_consistency(c.a, c.b, &c.hash, &c.root, &c.proof),
            };
            if c.honest {
                assert!(result.is_ok(), "an honest proof is refused: {result:?}");
                ok += 1;
            } else if result.is_ok() {
                // A changed case may verify only with genuine hashes: the leaf and the
                // roots must be ones the log has. As RFC 9162 says (and
                // `verify_inclusion` documents), sizes are bound to a proof only
                // through its roots, so a proof may also verify under another size with
                // the same path shape; that is why roots come from signed checkpoints
                // that name their size. Those are counted, not refused.
                changed_ok += 1;
                let (leaf_ok, old_ok) = match c.kind {
                    Kind::Inclusion => (log.leaf(c.a) == Some(c.hash), true),
                    // Equal sizes with equal roots are consistent whatever the root
                    // (there is nothing to prove), so only a real extension is checked.
                    Kind::Consistency if c.a == c.b => {
                        assert!(c.proof.is_empty() && c.hash == c.root, "{c:?}");
                        return;
                    }
                    Kind::Consistency => (true, roots.contains(&c.hash)),
                };
                assert!(leaf_ok && old_ok, "forged leaf or old root {c:?}");
                assert!(roots.contains(&c.root), "forged root {c:?}");
                let size_of = |h: &Hash| roots.iter().position(|r| r == h).unwrap() as u64;
                let claimed = match c.kind {
                    Kind::Inclusion => c.b == size_of(&c.root),
                    Kind::Consistency => c.b == size_of(&c.root) && c.a == size_of(&c.hash),
                };
                if !claimed {
                    other_size += 1;
                }
            }
        },
    );
    assert!(ok > 0);
    eprintln!(
        "changed cases that verified: {changed_ok}, of which under a size other than their root's: {other_size}"
    );
}

const DICT: &[&[u8]] = &[
    b"{\"seq\":",
    b"\"size\":",
    b"\"leaf_hash\":",
    b"\"root\":",
    b"\"proof\":",
    b"\"old\":",
    b"\"new\":",
    b"\"old_root\":",
    b"\"new_root\":",
    b"\"0000000000000000000000000000000000000000000000000000000000000000\"",
    b"\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"",
    b"[",
    b"]",
    b",",
    b"}",
];

#[test]
fn proof_json_and_hash_text_answer_every_input() {
    let log = log();
    let seeds: Vec<Vec<u8>> = vec![
        serde_json::to_vec(&log.prove_inclusion(5, 70).unwrap()).unwrap(),
        serde_json::to_vec(&log.prove_inclusion(0, 1).unwrap()).unwrap(),
        serde_json::to_vec(&log.prove_consistency(3, 70).unwrap()).unwrap(),
        serde_json::to_vec(&log.prove_consistency(64, 70).unwrap()).unwrap(),
    ];
    let refs: Vec<&[u8]> = seeds.iter().map(Vec::as_slice).collect();
    let roots: Vec<Hash> = (0..=LEAVES).map(|n| log.root_at(n).unwrap()).collect();
    fuzz::run(
        "merkle-json",
        5_000,
        |rng: &mut Rng| {
            Input(if rng.one_in(5) {
                fuzz::arbitrary(rng, DICT, 300)
            } else {
                let seed = *rng.pick(&refs);
                fuzz::mutate(rng, seed, &refs, DICT)
            })
        },
        |Input(bytes)| {
            // As in the test above: what verifies holds genuine hashes (a size other
            // than the root's may pass with the same path shape; see docs/fuzzing.md).
            if let Ok(p) = serde_json::from_slice::<InclusionProof>(bytes) {
                if p.verify().is_ok() {
                    assert_eq!(Some(p.leaf_hash), log.leaf(p.seq), "forged {p:?}");
                    assert!(roots.contains(&p.root), "forged {p:?}");
                }
            }
            if let Ok(p) = serde_json::from_slice::<ConsistencyProof>(bytes) {
                if p.verify().is_ok() && p.old != p.new {
                    assert!(roots.contains(&p.old_root), "forged {p:?}");
                    assert!(roots.contains(&p.new_root), "forged {p:?}");
                }
            }
            let text = String::from_utf8_lossy(bytes);
            if let Ok(h) = text.parse::<Hash>() {
                assert_eq!(h.to_string().parse::<Hash>().unwrap(), h);
            }
            if let Ok(h) = Hash::from_base64(&text) {
                assert_eq!(h.to_base64(), text, "base64 is not read strictly");
            }
        },
    );
}
