//! A naive reference: the RFC 6962 §2.1 definitions written as literally as possible,
//! sharing no code with the crate beyond the `Hash` type. Used to compute expected
//! values that no published vector covers.

#![allow(dead_code)]

use sha2::{Digest, Sha256};
use tradetrail_merkle::Hash;

fn sha256(parts: &[&[u8]]) -> Hash {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    Hash(h.finalize().into())
}

/// SHA-256(0x00 ‖ leaf).
pub fn ref_leaf(leaf: &[u8]) -> Hash {
    sha256(&[&[0x00], leaf])
}

/// SHA-256(0x01 ‖ left ‖ right).
pub fn ref_node(left: &Hash, right: &Hash) -> Hash {
    sha256(&[&[0x01], &left.0, &right.0])
}

/// The largest power of two smaller than n (n > 1).
fn k_of(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH(D[n]) over leaf hashes, straight from the definition.
pub fn ref_mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => sha256(&[]),
        1 => d[0],
        n => {
            let k = k_of(n);
            ref_node(&ref_mth(&d[..k]), &ref_mth(&d[k..]))
        }
    }
}

/// PATH(m, D[n]) (RFC 6962 §2.1.1).
pub fn ref_path(m: usize, d: &[Hash]) -> Vec<Hash> {
    let n = d.len();
    if n == 1 {
        return Vec::new();
    }
    let k = k_of(n);
    if m < k {
        let mut p = ref_path(m, &d[..k]);
        p.push(ref_mth(&d[k..]));
        p
    } else {
        let mut p = ref_path(m - k, &d[k..]);
        p.push(ref_mth(&d[..k]));
        p
    }
}

/// PROOF(m, D[n]) = SUBPROOF(m, D[n], true) (RFC 6962 §2.1.2).
pub fn ref_proof(m: usize, d: &[Hash]) -> Vec<Hash> {
    ref_subproof(m, d, true)
}

fn ref_subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { Vec::new() } else { vec![ref_mth(d)] };
    }
    let k = k_of(n);
    if m <= k {
        let mut p = ref_subproof(m, &d[..k], b);
        p.push(ref_mth(&d[k..]));
        p
    } else {
        let mut p = ref_subproof(m - k, &d[k..], false);
        p.push(ref_mth(&d[..k]));
        p
    }
}

/// Distinct leaf hashes for tests: leaf i is the hash of "leaf-<seed>-<i>".
pub fn leaves(seed: u64, n: usize) -> Vec<Hash> {
    (0..n)
        .map(|i| ref_leaf(format!("leaf-{seed}-{i}").as_bytes()))
        .collect()
}

/// Decodes hex (test vectors only; panics on bad input).
pub fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

pub fn h(s: &str) -> Hash {
    Hash(unhex(s).try_into().expect("32 bytes"))
}

/// MTH(D[start:end]) by the same literal recursion as [`ref_mth`], memoized on the
/// range, so that the roots of every prefix of a few thousand leaves stay cheap.
pub struct MemoMth<'a> {
    d: &'a [Hash],
    memo: std::collections::HashMap<(usize, usize), Hash>,
}

impl<'a> MemoMth<'a> {
    pub fn new(d: &'a [Hash]) -> Self {
        MemoMth {
            d,
            memo: std::collections::HashMap::new(),
        }
    }

    pub fn mth(&mut self, start: usize, end: usize) -> Hash {
        if let Some(h) = self.memo.get(&(start, end)) {
            return *h;
        }
        let h = match end - start {
            0 => sha256(&[]),
            1 => self.d[start],
            n => {
                let k = k_of(n);
                let left = self.mth(start, start + k);
                let right = self.mth(start + k, end);
                ref_node(&left, &right)
            }
        };
        self.memo.insert((start, end), h);
        h
    }
}
