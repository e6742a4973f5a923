//! Real process kills, the sled way: this test binary re-runs itself as a child that
//! appends with `fsync` durability and prints every acknowledgement; the parent kills
//! it with SIGKILL at a random instant, reopens the journal and checks that every
//! acknowledged record is there, byte for byte, and that the journal verifies.
//!
//! 3 rounds by default; `TRADETRAIL_KILL_ROUNDS=1000 cargo test -p tradetrail-journal
//! --test kill -- --nocapture` for the long run (about 8 minutes in debug; give it its
//! own `CARGO_TARGET_DIR` if other builds run meanwhile, or a rebuild may replace the
//! test binary the child is started from).

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use tradetrail_journal::{
    Durability, Entry, Error, FsStorage, Journal, JournalOptions, RecordHash,
};

/// Set (to the journal directory) in the child's environment only.
const CHILD_DIR: &str = "TRADETRAIL_KILL_CHILD_DIR";
const CHILD_TEST: &str = "child_appender";
const THREADS: u64 = 2;

fn opts() -> JournalOptions {
    // Small segments, so kills also land around rotations.
    JournalOptions::default().with_segment_max_bytes(16 * 1024)
}

/// The child's side. In a normal test run (no `CHILD_DIR`) it does nothing.
#[test]
fn child_appender() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let (j, _) = Journal::open(Path::new(&dir), opts()).expect("child opens the journal");
    let deadline = Instant::now() + Duration::from_secs(30); // if the parent is gone
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let j = j.clone();
            s.spawn(move || {
                let mut i = 0u64;
                while Instant::now() < deadline {
                    i += 1;
                    let n = t * 1_000_000_000 + i;
                    let b = body(n, (n as usize * 7919) % 600);
                    let r = j.append(Entry::new(b, Durability::Fsync).unwrap()).unwrap();
                    // One write per line, flushed before the next append.
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "ACK {} {} {}", r.seq, r.hash, n).unwrap();
                    out.flush().unwrap();
                }
            });
        }
    });
}

/// A pseudo-random delay from the clock's nanoseconds (no `rand` dependency).
fn jitter(round: u64, max_ms: u64) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    let mut x = nanos ^ round.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    Duration::from_micros(x % (max_ms * 1_000))
}

/// Parses `ACK <seq> <hash> <n>` anywhere in a line (libtest may print on it too).
fn parse_ack(line: &str) -> Option<(u64, RecordHash, u64)> {
    let rest = &line[line.find("ACK ")? + 4..];
    let mut parts = rest.split_whitespace();
    let seq = parts.next()?.parse().ok()?;
    let hash = RecordHash::from_hex(parts.next()?.as_bytes())?;
    let n = parts.next()?.parse().ok()?;
    Some((seq, hash, n))
}

/// Runs the child until a random instant after its first acknowledgement, kills it
/// and returns what it acknowledged.
fn kill_round(dir: &Path, round: u64) -> Vec<(u64, RecordHash, u64)> {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(&exe)
        .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("round {round}: spawn {}: {e}", exe.display()));
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut acks = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(a) = parse_ack(&line) {
                if acks.is_empty() {
                    let _ = tx.send(());
                }
                acks.push(a);
            }
        }
        acks
    });
    // Wait for the child to be appending, then let it run a little.
    if rx.recv_timeout(Duration::from_secs(60)).is_err() {
        let _ = child.kill();
        panic!("the child never acknowledged anything");
    }
    // While it appends, nobody else may open the journal for writing.
    match Journal::open(dir, opts()) {
        Err(Error::Locked { path }) => assert_eq!(path, dir),
        Err(e) => panic!("second writer: {e:?}"),
        Ok(_) => panic!("a second writer opened a journal the child has open"),
    }
    std::thread::sleep(jitter(round, 150));
    child.kill().expect("SIGKILL the child"); // Child::kill is SIGKILL on Unix
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "the child was killed, not finished: {status:?}"
    );
    reader.join().unwrap()
}

/// Rounds that share one journal; the long run starts a fresh one after each epoch so
/// the checks after every round stay bounded (the journal would otherwise keep growing
/// and every round re-reads all of it).
const ROUNDS_PER_JOURNAL: u64 = 25;

#[test]
fn sigkill_loses_nothing_acknowledged() {
    let rounds: u64 = std::env::var("TRADETRAIL_KILL_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let tmp = tempfile::tempdir().unwrap();
    let (mut total_acked, mut repaired) = (0, 0);
    let mut round = 0;
    for epoch in 0.. {
        if round == rounds {
            break;
        }
        let dir = tmp.path().join(format!("journal-{epoch}"));
        drop(Journal::create(&dir, "kill", opts()).unwrap());
        // Every acknowledgement of every round on this journal: seq -> (hash, body number).
        let mut acked: BTreeMap<u64, (RecordHash, u64)> = BTreeMap::new();
        while round < rounds && round < (epoch + 1) * ROUNDS_PER_JOURNAL {
            let acks = kill_round(&dir, round);
            assert!(!acks.is_empty());
            for (seq, hash, n) in acks {
                let before = acked.insert(seq, (hash, n));
                assert!(
                    before.is_none(),
                    "round {round}: seq {seq} acknowledged twice"
                );
            }
            let (j, report) = Journal::open(&dir, opts()).expect("reopen after SIGKILL");
            if !report.is_clean() {
                repaired += 1;
            }
            let last = *acked.keys().next_back().unwrap();
            assert!(
                report.records > last,
                "round {round}: {report:?}, last ack {last}"
            );
            drop(j);
            let lines = all_lines(&FsStorage, &dir);
            for (&seq, &(hash, n)) in &acked {
                let line = &lines[seq as usize];
                assert_line_is(line, seq, hash, &body(n, (n as usize * 7919) % 600));
            }
            assert_verifies(&FsStorage, &dir, report.records);
            round += 1;
        }
        total_acked += acked.len();
        if rounds > ROUNDS_PER_JOURNAL {
            eprintln!("kill: {round}/{rounds} rounds done");
        }
    }
    eprintln!(
        "kill: {rounds} rounds, {total_acked} acknowledged records checked, \
         {repaired} reopens repaired a tail"
    );
}
