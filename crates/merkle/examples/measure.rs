//! A quick measurement, not a benchmark suite: builds a log of N leaves and times the
//! build, roots and proofs at that size, then a save and an open of the level files.
//!
//! ```text
//! cargo run --release -p tradetrail-merkle --example measure -- 10000000
//! cargo run --release -p tradetrail-merkle --example measure -- 10000000 --no-files
//! ```
//!
//! The level files (about 64 bytes per leaf) go to a temporary directory that is
//! removed at the end.

use std::hint::black_box;
use std::time::{Duration, Instant};

use tradetrail_merkle::{leaf_hash, verify_consistency, verify_inclusion, MerkleLog};

/// xorshift64*: enough to spread the probes, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn per_call(total: Duration, calls: u32) -> String {
    format!("{:.2} µs", total.as_secs_f64() * 1e6 / f64::from(calls))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: u64 = args
        .iter()
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let with_files = !args.iter().any(|a| a == "--no-files");
    let probes = 10_000u32;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);

    let t = Instant::now();
    let leaves: Vec<_> = (0..n)
        .map(|i| leaf_hash(format!("{{\"seq\":{i}}}").as_bytes()))
        .collect();
    println!("leaf hashes:        {n} in {:.2?}", t.elapsed());

    let t = Instant::now();
    let mut log = MerkleLog::new();
    for leaf in &leaves {
        log.push_leaf_hash(*leaf);
    }
    let build = t.elapsed();
    println!(
        "build (push_leaf_hash): {n} leaves in {build:.2?} ({} per push)",
        per_call(
            build,
            u32::try_from(n.min(u64::from(u32::MAX))).unwrap_or(u32::MAX)
        )
    );

    let t = Instant::now();
    for _ in 0..probes {
        black_box(log.root());
    }
    println!("root():             {}", per_call(t.elapsed(), probes));

    let t = Instant::now();
    for _ in 0..probes {
        let size = 1 + rng.below(n);
        black_box(log.root_at(size).unwrap());
    }
    println!("root_at(random):    {}", per_call(t.elapsed(), probes));

    let t = Instant::now();
    for _ in 0..probes {
        let index = rng.below(n);
        black_box(log.inclusion_proof(index, n).unwrap());
    }
    println!(
        "inclusion_proof(random, n):          {}",
        per_call(t.elapsed(), probes)
    );

    let t = Instant::now();
    for _ in 0..probes {
        let size = 1 + rng.below(n);
        let index = rng.below(size);
        black_box(log.inclusion_proof(index, size).unwrap());
    }
    println!(
        "inclusion_proof(random, random):     {}",
        per_call(t.elapsed(), probes)
    );

    let t = Instant::now();
    for _ in 0..probes {
        let old = 1 + rng.below(n);
        black_box(log.consistency_proof(old, n).unwrap());
    }
    println!(
        "consistency_proof(random, n):        {}",
        per_call(t.elapsed(), probes)
    );

    let t = Instant::now();
    for _ in 0..probes {
        let new = 1 + rng.below(n);
        let old = 1 + rng.below(new);
        black_box(log.consistency_proof(old, new).unwrap());
    }
    println!(
        "consistency_proof(random, random):   {}",
        per_call(t.elapsed(), probes)
    );

    let root = log.root();
    let index = rng.below(n);
    let proof = log.inclusion_proof(index, n).unwrap();
    let t = Instant::now();
    for _ in 0..probes {
        verify_inclusion(&leaves[index as usize], index, n, &proof, &root).unwrap();
    }
    println!(
        "verify_inclusion:   {} ({} hashes)",
        per_call(t.elapsed(), probes),
        proof.len()
    );

    let old = 1 + rng.below(n - 1);
    let old_root = log.root_at(old).unwrap();
    let proof = log.consistency_proof(old, n).unwrap();
    let t = Instant::now();
    for _ in 0..probes {
        verify_consistency(old, n, &old_root, &root, &proof).unwrap();
    }
    println!(
        "verify_consistency: {} ({} hashes)",
        per_call(t.elapsed(), probes),
        proof.len()
    );

    if with_files {
        let dir = tempfile::tempdir().expect("temporary directory");
        let t = Instant::now();
        log.save(dir.path()).expect("save");
        println!("save + sync:        {:.2?}", t.elapsed());
        drop(log);
        let t = Instant::now();
        let reopened = MerkleLog::open(dir.path()).expect("open");
        println!("open:               {:.2?}", t.elapsed());
        assert_eq!(reopened.root(), root);
    }
}
