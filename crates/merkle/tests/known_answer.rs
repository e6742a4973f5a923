//! Known-answer tests against published RFC 6962 vectors.
//!
//! Source of every hex value below: github.com/transparency-dev/merkle
//! - `testonly/constants.go` (LeafInputs, NodeHashes, RootHashes), and
//! - `proof/verify_test.go` (inclusionProofs, consistencyProofs, roots, and the
//!   corruptions of `corruptInclusionProof` / `corruptConsistencyProof`), and
//! - `testdata/consistency/1/happy-path.json` (the same 1 → 8 proof in base64).
//!
//! In `verify_test.go` the inclusion vectors name the leaf 1-based (`leaf: 1` is index
//! 0) and `roots[i]` is the root of the tree of `i + 1` leaves.

mod common;

use common::{h, ref_leaf, ref_mth, unhex};
use tradetrail_merkle::{
    empty_root, leaf_hash, root_from_inclusion, verify_consistency, verify_inclusion,
    ConsistencyProof, Hash, InclusionProof, MerkleError, MerkleLog, ProofError,
};

const LEAF_INPUTS: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// RootHashes()[1..=8]: roots of the trees of 1..=8 leaves.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// NodeHashes(): level by level, the perfect subtrees of the 8-leaf tree.
const NODE_HASHES: [&[&str]; 4] = [
    &[
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    &[
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    &[
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
];

const EMPTY_ROOT: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/// `sha256SomeHash` of verify_test.go: a 32-byte value that is no node of the tree.
const SOME_HASH: &str = "abacaba000000000000000000000000000000000000000000060061e00123456";

/// (leaf index, tree size, proof): verify_test.go `inclusionProofs`, valid entries only
/// (its `{0, 0, nil}` is the deliberately invalid first entry), index made 0-based.
const INCLUSION: [(u64, u64, &[&str]); 5] = [
    (0, 1, &[]),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// (old size, new size, proof): verify_test.go `consistencyProofs`.
const CONSISTENCY: [(u64, u64, &[&str]); 5] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

fn hashes(hex: &[&str]) -> Vec<Hash> {
    hex.iter().map(|s| h(s)).collect()
}

fn root(size: u64) -> Hash {
    h(ROOTS[size as usize - 1])
}

fn vector_log() -> MerkleLog {
    let mut log = MerkleLog::new();
    for input in LEAF_INPUTS {
        log.push_line(&unhex(input));
    }
    log
}

#[test]
fn leaf_and_node_hashes_match_the_vectors() {
    let log = vector_log();
    for (i, input) in LEAF_INPUTS.iter().enumerate() {
        assert_eq!(leaf_hash(&unhex(input)), h(NODE_HASHES[0][i]), "leaf {i}");
        assert_eq!(log.leaf(i as u64), Some(h(NODE_HASHES[0][i])));
    }
    assert_eq!(log.leaf(8), None);
    // Every perfect subtree of level L is the root of its own 2^L leaves.
    for (level, row) in NODE_HASHES.iter().enumerate() {
        for (i, hex) in row.iter().enumerate() {
            let mut sub = MerkleLog::new();
            for input in &LEAF_INPUTS[i << level..(i + 1) << level] {
                sub.push_line(&unhex(input));
            }
            assert_eq!(sub.root(), h(hex), "level {level} node {i}");
        }
    }
}

#[test]
fn roots_of_every_size_match_the_vectors() {
    assert_eq!(MerkleLog::new().root(), h(EMPTY_ROOT));
    assert_eq!(empty_root(), h(EMPTY_ROOT));
    let mut log = MerkleLog::new();
    for (i, input) in LEAF_INPUTS.iter().enumerate() {
        log.push_line(&unhex(input));
        assert_eq!(
            log.root(),
            h(ROOTS[i]),
            "incremental root of size {}",
            i + 1
        );
    }
    assert_eq!(log.root_at(0).unwrap(), h(EMPTY_ROOT));
    for size in 1..=8u64 {
        assert_eq!(log.root_at(size).unwrap(), root(size), "root_at({size})");
    }
    assert!(matches!(
        log.root_at(9),
        Err(MerkleError::SizeOutOfRange { size: 9, len: 8 })
    ));
}

#[test]
fn the_naive_reference_matches_the_vectors() {
    // The reference used by the property tests must itself be right.
    let leaves: Vec<Hash> = LEAF_INPUTS.iter().map(|s| ref_leaf(&unhex(s))).collect();
    for size in 1..=8 {
        assert_eq!(ref_mth(&leaves[..size]), h(ROOTS[size - 1]));
    }
    assert_eq!(ref_mth(&[]), h(EMPTY_ROOT));
    for (index, size, proof) in INCLUSION {
        let got = common::ref_path(index as usize, &leaves[..size as usize]);
        assert_eq!(got, hashes(proof));
    }
    for (old, new, proof) in CONSISTENCY {
        let got = common::ref_proof(old as usize, &leaves[..new as usize]);
        assert_eq!(got, hashes(proof));
    }
}

#[test]
fn generated_inclusion_proofs_equal_the_published_ones_and_verify() {
    let log = vector_log();
    for (index, size, proof) in INCLUSION {
        let expected = hashes(proof);
        assert_eq!(
            log.inclusion_proof(index, size).unwrap(),
            expected,
            "{index}/{size}"
        );
        let leaf = h(NODE_HASHES[0][index as usize]);
        assert_eq!(
            root_from_inclusion(&leaf, index, size, &expected).unwrap(),
            root(size)
        );
        verify_inclusion(&leaf, index, size, &expected, &root(size)).unwrap();
    }
}

/// verify_test.go `corruptInclusionProof`, with one change: a hash here is always 32
/// bytes, so "garbage" (an empty slice there) is the all-zero hash.
fn corrupt_inclusion(
    index: u64,
    size: u64,
    proof: &[Hash],
    root: Hash,
    leaf: Hash,
) -> Vec<(u64, u64, Hash, Hash, Vec<Hash>, String)> {
    let some = h(SOME_HASH);
    let garbage = Hash([0; 32]);
    let p = proof.to_vec();
    let with = |v: Vec<Hash>| v;
    let mut out = vec![
        (
            index.wrapping_sub(1),
            size,
            root,
            leaf,
            p.clone(),
            "index - 1".to_string(),
        ),
        (index + 1, size, root, leaf, p.clone(), "index + 1".into()),
        (index ^ 2, size, root, leaf, p.clone(), "index ^ 2".into()),
        (index, size * 2, root, leaf, p.clone(), "size * 2".into()),
        (index, size / 2, root, leaf, p.clone(), "size / 2".into()),
        (
            index,
            size,
            root,
            ref_leaf(b"WrongLeaf"),
            p.clone(),
            "wrong leaf".into(),
        ),
        (
            index,
            size,
            h(EMPTY_ROOT),
            leaf,
            p.clone(),
            "empty root".into(),
        ),
        (index, size, some, leaf, p.clone(), "random root".into()),
        (
            index,
            size,
            root,
            leaf,
            with([&p[..], &[garbage]].concat()),
            "trailing garbage".into(),
        ),
        (
            index,
            size,
            root,
            leaf,
            with([&p[..], &[root]].concat()),
            "trailing root".into(),
        ),
        (
            index,
            size,
            root,
            leaf,
            with([&[garbage], &p[..]].concat()),
            "preceding garbage".into(),
        ),
        (
            index,
            size,
            root,
            leaf,
            with([&[root], &p[..]].concat()),
            "preceding root".into(),
        ),
    ];
    for i in 0..p.len() {
        let mut wrong = p.clone();
        wrong[i].0[0] ^= 8;
        out.push((
            index,
            size,
            root,
            leaf,
            wrong,
            format!("modified proof[{i}] bit 3"),
        ));
    }
    if !p.is_empty() {
        out.push((
            index,
            size,
            root,
            leaf,
            p[..p.len() - 1].to_vec(),
            "removed component".into(),
        ));
    }
    if p.len() > 1 {
        let wrong = [&[p[0], some], &p[1..]].concat();
        out.push((index, size, root, leaf, wrong, "inserted component".into()));
    }
    out
}

#[test]
fn corrupted_inclusion_proofs_are_rejected() {
    let mut probes = 0;
    for (index, size, proof) in INCLUSION {
        let leaf = h(NODE_HASHES[0][index as usize]);
        for (i, s, r, l, p, desc) in
            corrupt_inclusion(index, size, &hashes(proof), root(size), leaf)
        {
            let result = verify_inclusion(&l, i, s, &p, &r);
            assert!(result.is_err(), "{index}/{size}: {desc} verified");
            probes += 1;
        }
    }
    assert!(probes > 60, "only {probes} probes ran");
}

#[test]
fn inclusion_edge_cases_say_what_is_wrong() {
    let some = h(SOME_HASH);
    let empty = h(EMPTY_ROOT);
    // verify_test.go TestVerifyInclusion: no index is in an empty tree, and an index
    // past the size is out of range, whatever the hashes.
    for (index, size) in [(0, 0), (1, 0), (2, 1)] {
        for (leaf, root) in [(some, empty), (empty, empty), (some, some)] {
            assert_eq!(
                verify_inclusion(&leaf, index, size, &[], &root),
                Err(ProofError::IndexOutOfRange { index, size })
            );
        }
    }
    // (0, 1) with an empty proof: the leaf must be the root.
    assert!(matches!(
        verify_inclusion(&some, 0, 1, &[], &empty),
        Err(ProofError::RootMismatch { .. })
    ));
    // TestVerifyInclusionSingleEntry: in a 1-leaf tree root == leaf hash, proof empty.
    let data = leaf_hash(b"data");
    verify_inclusion(&data, 0, 1, &[], &data).unwrap();
    assert_eq!(
        verify_inclusion(&data, 0, 1, &[data], &data),
        Err(ProofError::WrongProofLength {
            expected: 0,
            found: 1
        })
    );
    // A wrong proof length is reported as such, not as a root mismatch.
    let (index, size, proof) = INCLUSION[1];
    let leaf = h(NODE_HASHES[0][0]);
    assert_eq!(
        verify_inclusion(&leaf, index, size, &hashes(&proof[..2]), &root(size)),
        Err(ProofError::WrongProofLength {
            expected: 3,
            found: 2
        })
    );
    assert_eq!(
        verify_inclusion(&leaf, index, size, &hashes(proof), &some),
        Err(ProofError::RootMismatch {
            expected: some,
            computed: root(size)
        })
    );
}

#[test]
fn generated_consistency_proofs_equal_the_published_ones_and_verify() {
    let log = vector_log();
    for (old, new, proof) in CONSISTENCY {
        let expected = hashes(proof);
        assert_eq!(
            log.consistency_proof(old, new).unwrap(),
            expected,
            "{old}->{new}"
        );
        verify_consistency(old, new, &root(old), &root(new), &expected).unwrap();
    }
}

/// verify_test.go `corruptConsistencyProof` ("garbage" is the all-zero hash, and the
/// wrong roots are a leaf hash rather than a short string).
fn corrupt_consistency(
    old: u64,
    new: u64,
    r1: Hash,
    r2: Hash,
    p: &[Hash],
) -> Vec<(u64, u64, Hash, Hash, Vec<Hash>, String)> {
    let garbage = Hash([0; 32]);
    let wrong = ref_leaf(b"WrongRoot");
    let p = p.to_vec();
    let mut out = vec![
        (old - 1, new, r1, r2, p.clone(), "size1 - 1".to_string()),
        (old + 1, new, r1, r2, p.clone(), "size1 + 1".into()),
        (old ^ 2, new, r1, r2, p.clone(), "size1 ^ 2".into()),
        (old, new * 2, r1, r2, p.clone(), "size2 * 2".into()),
        (old, new / 2, r1, r2, p.clone(), "size2 / 2".into()),
        (old, new, wrong, r2, p.clone(), "wrong root1".into()),
        (old, new, r1, wrong, p.clone(), "wrong root2".into()),
        (old, new, r2, r1, p.clone(), "swapped roots".into()),
        (old, new, r1, r2, Vec::new(), "empty proof".into()),
        (
            old,
            new,
            r1,
            r2,
            [&p[..], &[garbage]].concat(),
            "trailing garbage".into(),
        ),
        (
            old,
            new,
            r1,
            r2,
            [&p[..], &[r1]].concat(),
            "trailing root1".into(),
        ),
        (
            old,
            new,
            r1,
            r2,
            [&p[..], &[r2]].concat(),
            "trailing root2".into(),
        ),
        (
            old,
            new,
            r1,
            r2,
            [&[garbage], &p[..]].concat(),
            "preceding garbage".into(),
        ),
        (
            old,
            new,
            r1,
            r2,
            [&[r1], &p[..]].concat(),
            "preceding root1".into(),
        ),
        (
            old,
            new,
            r1,
            r2,
            [&[r2], &p[..]].concat(),
            "preceding root2".into(),
        ),
        (
            old,
            new,
            r1,
            r2,
            [&[p[0]], &p[..]].concat(),
            "preceding proof[0]".into(),
        ),
        (
            old,
            new,
            r1,
            r2,
            p[..p.len() - 1].to_vec(),
            "truncated proof".into(),
        ),
    ];
    for i in 0..p.len() {
        let mut wrong = p.clone();
        wrong[i].0[0] ^= 16;
        out.push((
            old,
            new,
            r1,
            r2,
            wrong,
            format!("modified proof[{i}] bit 4"),
        ));
    }
    out
}

#[test]
fn corrupted_consistency_proofs_are_rejected() {
    let mut probes = 0;
    for (old, new, proof) in CONSISTENCY {
        if proof.is_empty() {
            continue; // As in verify_test.go: only non-trivial proofs are corrupted.
        }
        for (o, n, r1, r2, p, desc) in
            corrupt_consistency(old, new, root(old), root(new), &hashes(proof))
        {
            let result = verify_consistency(o, n, &r1, &r2, &p);
            assert!(result.is_err(), "{old}->{new}: {desc} verified");
            probes += 1;
        }
    }
    assert!(probes > 70, "only {probes} probes ran");
}

#[test]
fn consistency_edge_cases_say_what_is_wrong() {
    let r1 = ref_leaf(b"don't care 1");
    let r2 = ref_leaf(b"don't care 2");
    let empty = h(EMPTY_ROOT);
    // verify_test.go TestVerifyConsistency, adapted: we reject old size 0 (documented
    // on `verify_consistency`) where the Go verifier accepts it with an empty proof.
    assert_eq!(
        verify_consistency(0, 0, &r1, &r1, &[]),
        Err(ProofError::EmptyOldTree)
    );
    assert_eq!(
        verify_consistency(0, 1, &r1, &r2, &[]),
        Err(ProofError::EmptyOldTree)
    );
    assert_eq!(
        verify_consistency(1, 1, &r1, &r2, &[]),
        Err(ProofError::RootsDiffer { size: 1 })
    );
    verify_consistency(1, 1, &r2, &r2, &[]).unwrap();
    assert_eq!(
        verify_consistency(1, 0, &r1, &r2, &[]),
        Err(ProofError::OldLargerThanNew { old: 1, new: 0 })
    );
    assert_eq!(
        verify_consistency(2, 1, &r1, &r2, &[]),
        Err(ProofError::OldLargerThanNew { old: 2, new: 1 })
    );
    assert_eq!(
        verify_consistency(1, 2, &r1, &r2, &[]),
        Err(ProofError::WrongProofLength {
            expected: 1,
            found: 0
        })
    );
    assert_eq!(
        verify_consistency(1, 1, &empty, &empty, &[empty]),
        Err(ProofError::WrongProofLength {
            expected: 0,
            found: 1
        })
    );
    // Which root is wrong is said.
    let proof = hashes(CONSISTENCY[2].2);
    assert!(matches!(
        verify_consistency(6, 8, &r1, &root(8), &proof),
        Err(ProofError::OldRootMismatch { expected, computed }) if expected == r1 && computed == root(6)
    ));
    assert!(matches!(
        verify_consistency(6, 8, &root(6), &r2, &proof),
        Err(ProofError::NewRootMismatch { expected, computed }) if expected == r2 && computed == root(8)
    ));
}

#[test]
fn published_base64_consistency_proof_verifies() {
    // testdata/consistency/1/happy-path.json
    let b64 = |s: &str| Hash::from_base64(s).unwrap();
    let root1 = b64("bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=");
    let root2 = b64("XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=");
    let proof = [
        b64("lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c="),
        b64("Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4="),
        b64("a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ="),
    ];
    assert_eq!(root1, root(1));
    assert_eq!(root2, root(8));
    assert_eq!(proof.to_vec(), hashes(CONSISTENCY[1].2));
    verify_consistency(1, 8, &root1, &root2, &proof).unwrap();
    assert_eq!(
        root2.to_base64(),
        "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg="
    );
}

#[test]
fn proofs_serialize_with_hex_and_the_agreed_field_names() {
    let log = vector_log();
    let proof = log.prove_inclusion(5, 8).unwrap();
    let json = serde_json::to_string(&proof).unwrap();
    let expected = format!(
        r#"{{"seq":5,"size":8,"leaf_hash":"{}","root":"{}","proof":["{}","{}","{}"]}}"#,
        NODE_HASHES[0][5], ROOTS[7], INCLUSION[2].2[0], INCLUSION[2].2[1], INCLUSION[2].2[2]
    );
    assert_eq!(json, expected);
    let back: InclusionProof = serde_json::from_str(&json).unwrap();
    assert_eq!(back, proof);
    back.verify().unwrap();

    let proof = log.prove_consistency(6, 8).unwrap();
    let json = serde_json::to_string(&proof).unwrap();
    let expected = format!(
        r#"{{"old":6,"new":8,"old_root":"{}","new_root":"{}","proof":["{}","{}","{}"]}}"#,
        ROOTS[5], ROOTS[7], CONSISTENCY[2].2[0], CONSISTENCY[2].2[1], CONSISTENCY[2].2[2]
    );
    assert_eq!(json, expected);
    let back: ConsistencyProof = serde_json::from_str(&json).unwrap();
    assert_eq!(back, proof);
    back.verify().unwrap();

    // A tampered or non-canonical JSON proof is refused.
    let tampered = json.replace(CONSISTENCY[2].2[0], SOME_HASH);
    let tampered: ConsistencyProof = serde_json::from_str(&tampered).unwrap();
    assert!(matches!(
        tampered.verify(),
        Err(ProofError::OldRootMismatch { .. })
    ));
    let upper = json.replace(ROOTS[5], &ROOTS[5].to_uppercase());
    assert!(serde_json::from_str::<ConsistencyProof>(&upper).is_err());
}

#[test]
fn log_refuses_requests_out_of_range() {
    let log = vector_log();
    assert!(matches!(
        log.inclusion_proof(8, 8),
        Err(MerkleError::IndexOutOfRange { index: 8, size: 8 })
    ));
    assert!(matches!(
        log.inclusion_proof(0, 9),
        Err(MerkleError::SizeOutOfRange { size: 9, len: 8 })
    ));
    assert!(matches!(
        log.consistency_proof(0, 8),
        Err(MerkleError::InvalidSizes { old: 0, new: 8 })
    ));
    assert!(matches!(
        log.consistency_proof(5, 4),
        Err(MerkleError::InvalidSizes { old: 5, new: 4 })
    ));
    assert!(matches!(
        log.consistency_proof(5, 9),
        Err(MerkleError::SizeOutOfRange { size: 9, len: 8 })
    ));
    assert_eq!(log.consistency_proof(8, 8).unwrap(), Vec::<Hash>::new());
}
