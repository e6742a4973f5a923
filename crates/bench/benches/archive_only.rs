//! The archive step alone, on a journal built once and kept, for profiling on a
//! shared machine: wall time and process CPU time per run.
//!
//! ```sh
//! TT_BENCH_DIR=/tmp/tt-archive-bench TT_BENCH_RECORDS=1000000 TT_BENCH_RUNS=3 \
//!   cargo test --release -p tradetrail-bench --bench archive_only -- --ignored --nocapture
//! ```

use std::time::Instant;

use tradetrail_archive::{archive, ArchiveOptions};
use tradetrail_bench::archive::sample_body;
use tradetrail_core::{DataDir, InitOptions, Recorder};
use tradetrail_journal::{list_segments, Durability, Entry, FsStorage};

/// utime + stime of this process, in seconds (clock ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    let (u, s) = cpu_split();
    u + s
}

/// (utime, stime) of this process, in seconds.
fn cpu_split() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 of stat; `after` starts at field 3.
    (tick(11) / 100.0, tick(12) / 100.0)
}

/// Minor page faults of this process so far.
fn minor_faults() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    f.get(7).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0)
}

fn build(dir: &DataDir, records: u64) {
    let _ = std::fs::remove_dir_all(dir.root());
    let rec = Recorder::init(dir, InitOptions::default()).unwrap();
    let mut batch = Vec::with_capacity(10_000);
    let base = rec.journal().options().clock.now_ns();
    for i in 0..records {
        let body = sample_body(i, base + i as i64 * 1000);
        batch.push(Entry::from_serialized(body.into_bytes(), Durability::Os).unwrap());
        if batch.len() == 10_000 {
            rec.record_batch(std::mem::take(&mut batch)).unwrap();
        }
    }
    rec.record_batch(batch).unwrap();
    rec.journal().flush().unwrap();
    drop(rec);
    let (rec, _) = Recorder::open_with(dir, |o| o.with_segment_max_bytes(4096)).unwrap();
    let body = sample_body(2, rec.journal().options().clock.now_ns());
    rec.record_batch(vec![Entry::from_serialized(
        body.into_bytes(),
        Durability::Fsync,
    )
    .unwrap()])
        .unwrap();
}

#[test]
#[ignore]
fn archive_only() {
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    let root = std::path::PathBuf::from(env("TT_BENCH_DIR", "/tmp/tt-archive-bench"));
    let records: u64 = env("TT_BENCH_RECORDS", "1000000").parse().unwrap();
    let runs: usize = env("TT_BENCH_RUNS", "3").parse().unwrap();
    let level: i32 = env("TT_BENCH_ZSTD", "1").parse().unwrap();
    let dir = DataDir::new(root.join(format!("journal-{records}")));
    let marker = root.join(format!("built-{records}"));
    if !marker.exists() {
        std::fs::create_dir_all(&root).unwrap();
        build(&dir, records);
        std::fs::write(&marker, b"").unwrap();
    }
    let segs = list_segments(&FsStorage, &dir.journal()).unwrap();
    let t = Instant::now();
    let mut lines = 0u64;
    for s in &segs[..segs.len() - 1] {
        let data = std::fs::read(&s.path).unwrap();
        lines += memchr::memchr_iter(b'\n', &data).count() as u64;
    }
    let floor = lines as f64 / t.elapsed().as_secs_f64();
    let opts = ArchiveOptions {
        zstd_level: level,
        ..ArchiveOptions::default()
    };
    for _ in 0..runs {
        let _ = std::fs::remove_dir_all(dir.root().join("archive"));
        let (t, c, (u0, s0), f0) = (Instant::now(), cpu_seconds(), cpu_split(), minor_faults());
        let r = archive(&dir, &opts, &mut |_, _| {}).unwrap();
        let (wall, cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
        let (u1, s1) = cpu_split();
        println!(
            "  user {:.2}s sys {:.2}s minor faults {:.0}",
            u1 - u0,
            s1 - s0,
            minor_faults() - f0
        );
        println!(
            "archive: {:.0} records/s (floor {floor:.0}/s, ratio {:.3}), wall {wall:.2}s, cpu {cpu:.2}s = {:.2} us/record, {:.1} B/record",
            r.records as f64 / wall,
            r.records as f64 / wall / floor,
            cpu * 1e6 / r.records as f64,
            r.parquet_bytes as f64 / r.records as f64
        );
    }
}

/// ns per line of the steps of the archive's per-record work, on one segment, single
/// thread (best of 5).
#[test]
#[ignore]
fn steps_only() {
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    let root = std::path::PathBuf::from(env("TT_BENCH_DIR", "/tmp/tt-archive-bench"));
    let records: u64 = env("TT_BENCH_RECORDS", "1000000").parse().unwrap();
    let dir = DataDir::new(root.join(format!("journal-{records}")));
    let segs = list_segments(&FsStorage, &dir.journal()).unwrap();
    let data = std::fs::read(&segs[0].path).unwrap();
    let lines: Vec<&[u8]> = data
        .split(|&c| c == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let n = lines.len() as f64;
    let best = |f: &mut dyn FnMut() -> u64| {
        let mut b = f64::MAX;
        let mut sink = 0;
        for _ in 0..5 {
            let t = Instant::now();
            sink += f();
            b = b.min(t.elapsed().as_secs_f64() * 1e9 / n);
        }
        std::hint::black_box(sink);
        b
    };
    let parse = best(&mut || {
        lines
            .iter()
            .map(|l| tradetrail_archive::Row::parse(l).unwrap().seq)
            .sum()
    });
    let sha = best(&mut || {
        lines
            .iter()
            .map(|l| tradetrail_journal::RecordHash::of_line(l).0[0] as u64)
            .sum()
    });
    let leaf = best(&mut || {
        lines
            .iter()
            .map(|l| tradetrail_merkle::leaf_hash(l).0[0] as u64)
            .sum()
    });
    let rows: Vec<tradetrail_archive::Row<'_>> = lines
        .iter()
        .map(|l| tradetrail_archive::Row::parse(l).unwrap())
        .collect();
    let order = tradetrail_archive::file_order(&rows);
    let batch = best(&mut || {
        order
            .chunks(65536)
            .map(|p| {
                tradetrail_archive::build_batch(&rows, p)
                    .unwrap()
                    .num_rows() as u64
            })
            .sum()
    });
    let write = best(&mut || {
        let (v, _, _) = tradetrail_archive::write_parquet(
            Vec::new(),
            &rows,
            &ArchiveOptions::default(),
            vec![],
        )
        .unwrap();
        v.len() as u64
    });
    println!(
        "ns/line: parse {parse:.0}, chain sha {sha:.0}, leaf sha {leaf:.0}, build_batch {batch:.0}, write_parquet (sort+batch+encode+zstd) {write:.0}"
    );
}
