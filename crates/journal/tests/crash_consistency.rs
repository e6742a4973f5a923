//! Crash consistency, the redb way: stop durability at sync point N for every N a
//! clean run reaches, take the durable image (plus a few partial unsynced tails), and
//! check that the reopened journal holds every acknowledged record byte for byte, is
//! a prefix of what was written, verifies, and takes appends again.

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use tradetrail_journal::{Durability, Error, Journal, JournalOptions, RecordHash, Storage};
use tradetrail_testkit::MemStorage;

const RECORDS: u64 = 30;
const THREADS: u64 = 4;
const PER_THREAD: u64 = 8;
/// Extra unsynced bytes kept per file in the crash images (0 = only what was synced).
const EXTRA: [usize; 6] = [0, 1, 57, 300, 1_000, usize::MAX];

fn dir() -> &'static Path {
    Path::new("/crash/journal")
}

fn opts(mem: &MemStorage) -> JournalOptions {
    opts_on(Arc::new(mem.clone()))
}

fn opts_on(storage: Arc<dyn Storage>) -> JournalOptions {
    JournalOptions::default()
        .with_storage(storage)
        .with_clock(TestClock::new(1_700_000_000_000_000_000, 1_000))
        .with_rotate_daily(false)
        .with_segment_max_bytes(900)
}

/// An acknowledged record: its seq, hash and (for appended ones) body.
#[derive(Debug, Clone)]
struct Ack {
    seq: u64,
    hash: RecordHash,
    body: Option<Vec<u8>>,
}

/// What one run under a sync limit acknowledged.
struct Run {
    mem: MemStorage,
    created: bool,
    acks: Vec<Ack>,
}

fn create(opts: JournalOptions, acks: &mut Vec<Ack>) -> Option<Journal> {
    match Journal::create(dir(), "crash", opts) {
        Ok((j, r0)) => {
            acks.push(Ack {
                seq: 0,
                hash: r0.hash,
                body: None,
            });
            Some(j)
        }
        Err(e) => {
            assert!(matches!(root_cause(&e), Error::Io { .. }), "{e:?}");
            None
        }
    }
}

fn assert_failure_poisons(j: &Journal, e: &Error) {
    assert!(matches!(root_cause(e), Error::Io { .. }), "{e:?}");
    let again = j
        .append(entry(0, 1, Durability::Os))
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(again, Error::Poisoned { .. }), "{again:?}");
}

fn run_single(limit: Option<u64>) -> Run {
    let mem = MemStorage::new();
    if let Some(n) = limit {
        mem.fail_syncs_after(n);
    }
    let mut acks = Vec::new();
    let Some(j) = create(opts(&mem), &mut acks) else {
        return Run {
            mem,
            created: false,
            acks,
        };
    };
    for i in 1..=RECORDS {
        let b = body(i, (i as usize * 37) % 120);
        match j.append(tradetrail_journal::Entry::new(b.clone(), Durability::Fsync).unwrap()) {
            Ok(r) => {
                assert_eq!(r.seq, i);
                acks.push(Ack {
                    seq: r.seq,
                    hash: r.hash,
                    body: Some(b),
                });
            }
            Err(e) => {
                assert_failure_poisons(&j, &e);
                break;
            }
        }
    }
    Run {
        mem,
        created: true,
        acks,
    }
}

fn run_threads(limit: Option<u64>) -> Run {
    let mem = MemStorage::new();
    if let Some(n) = limit {
        mem.fail_syncs_after(n);
    }
    let mut acks = Vec::new();
    let slow = Arc::new(SlowSync(mem.clone()));
    let Some(j) = create(opts_on(slow), &mut acks) else {
        return Run {
            mem,
            created: false,
            acks,
        };
    };
    let shared = Mutex::new(acks);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (j, shared) = (j.clone(), &shared);
            s.spawn(move || {
                for i in 0..PER_THREAD {
                    let n = 1_000 * (t + 1) + i;
                    let b = body(n, (n as usize * 13) % 90);
                    let e = tradetrail_journal::Entry::new(b.clone(), Durability::Fsync).unwrap();
                    match j.append(e) {
                        Ok(r) => shared.lock().unwrap().push(Ack {
                            seq: r.seq,
                            hash: r.hash,
                            body: Some(b),
                        }),
                        Err(e) => {
                            assert!(matches!(root_cause(&e), Error::Io { .. }), "{e:?}");
                            break;
                        }
                    }
                }
            });
        }
    });
    let mut acks = shared.into_inner().unwrap();
    acks.sort_by_key(|a| a.seq);
    let n = acks.len();
    acks.dedup_by_key(|a| a.seq);
    assert_eq!(acks.len(), n, "two acknowledgements for one seq");
    Run {
        mem,
        created: true,
        acks,
    }
}

/// Reopens every crash image of `run` and checks it.
fn check_images(run: &Run, what: &str) {
    let written = all_lines(&run.mem, dir());
    for extra in EXTRA {
        let image = run.mem.crash_image(extra);
        let ctx = format!("{what}, crash image +{extra}");
        let (j, report) = match Journal::open(dir(), opts(&image)) {
            Ok(x) => x,
            Err(e) => {
                // Only possible if even record 0 never became durable: nothing was
                // acknowledged, and `init` can simply run again.
                assert!(
                    !run.created,
                    "{ctx}: acknowledged journal does not open: {e}"
                );
                assert!(matches!(e, Error::NotFound { .. }), "{ctx}: {e:?}");
                let (j, _) = Journal::create(dir(), "again", opts(&image)).unwrap();
                drop(j);
                assert_verifies(&image, dir(), 1);
                continue;
            }
        };
        let lines = all_lines(&image, dir());
        assert_eq!(lines.len() as u64, report.records, "{ctx}");
        // A prefix of what was written...
        assert!(lines.len() <= written.len(), "{ctx}");
        for (i, l) in lines.iter().enumerate() {
            assert_eq!(l, &written[i], "{ctx}: record {i} is not what was written");
        }
        // ...holding every acknowledged record.
        for a in &run.acks {
            let line = lines
                .get(a.seq as usize)
                .unwrap_or_else(|| panic!("{ctx}: acknowledged record {} lost", a.seq));
            match &a.body {
                Some(b) => assert_line_is(line, a.seq, a.hash, b),
                None => assert_eq!(RecordHash::of_line(line), a.hash, "{ctx}"),
            }
        }
        assert_verifies(&image, dir(), report.records);
        // And it takes appends again, chained on the recovered head.
        let r = j.append(entry(7, 10, Durability::Fsync)).unwrap();
        assert_eq!(r.seq, report.records, "{ctx}");
        drop(j);
        assert_verifies(&image, dir(), report.records + 1);
    }
}

#[test]
fn every_sync_point_single_writer() {
    let clean = run_single(None);
    assert_eq!(clean.acks.len() as u64, RECORDS + 1);
    let total = clean.mem.syncs();
    assert!(
        segment_starts(&clean.mem, dir()).len() >= 5,
        "rotations are exercised"
    );
    assert!(total > RECORDS, "one sync per fsync'd append at least");
    for n in 0..=total {
        let run = run_single(Some(n));
        if n == total {
            assert_eq!(run.acks.len(), clean.acks.len());
        }
        check_images(&run, &format!("single writer, syncs stop after {n}"));
    }
}

#[test]
fn every_sync_point_several_writers() {
    let clean = run_threads(None);
    assert_eq!(clean.acks.len() as u64, THREADS * PER_THREAD + 1);
    check_images(&clean, "several writers, no failure");
    // Group commit makes the count vary from run to run; go a little past it.
    let total = clean.mem.syncs() + 3;
    for n in 0..=total {
        let run = run_threads(Some(n));
        check_images(&run, &format!("several writers, syncs stop after {n}"));
    }
}

/// Appends `os` records until `bytes` have been written or an append fails.
fn append_os_bytes(j: &Journal, bytes: usize) -> (Vec<Ack>, Option<Error>) {
    let mut acks = Vec::new();
    let mut written = 0;
    let mut i = 0;
    while written < bytes {
        i += 1;
        let b = body(i, 1_000);
        written += b.len() + 120;
        match j.append(tradetrail_journal::Entry::new(b.clone(), Durability::Os).unwrap()) {
            Ok(r) => acks.push(Ack {
                seq: r.seq,
                hash: r.hash,
                body: Some(b),
            }),
            Err(e) => return (acks, Some(e)),
        }
    }
    (acks, None)
}

/// Polls `f` for up to 10 s.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn os_records_are_flushed_in_the_background() {
    // Megabytes of `os` records in one big segment, and nobody asks for a sync: the
    // writer's background flush makes them durable anyway.
    let mem = MemStorage::new();
    let opts = opts(&mem).with_segment_max_bytes(1 << 30);
    let (j, _) = Journal::create(dir(), "flush", opts).unwrap();
    let (acks, err) = append_os_bytes(&j, 12 << 20);
    assert!(err.is_none(), "{err:?}");
    let mut synced = 0;
    eventually("a background sync", || {
        synced = j.status().unwrap().synced;
        synced > 1
    });
    let image = mem.crash_image(0);
    drop(j);
    let (_j, report) = Journal::open(dir(), opts_on(Arc::new(image.clone()))).unwrap();
    assert!(report.records >= synced, "{report:?} < synced {synced}");
    let lines = all_lines(&image, dir());
    for a in acks.iter().take(report.records as usize - 1) {
        assert_line_is(
            &lines[a.seq as usize],
            a.seq,
            a.hash,
            a.body.as_ref().unwrap(),
        );
    }
    assert_verifies(&image, dir(), report.records);
}

#[test]
fn background_flush_failure_poisons() {
    let mem = MemStorage::new();
    let opts = opts(&mem).with_segment_max_bytes(1 << 30);
    let (j, _) = Journal::create(dir(), "flush", opts).unwrap();
    mem.fail_syncs_after(mem.syncs()); // every sync from now on fails
    let (acks, err) = append_os_bytes(&j, 12 << 20);
    // The failure is seen by whoever comes next: an append, or status.
    if err.is_none() {
        eventually("the failed background sync to poison the journal", || {
            j.status().unwrap().poisoned.is_some()
        });
    }
    let e = j.append(entry(0, 1, Durability::Os)).map(drop).unwrap_err();
    assert!(
        matches!(&e, Error::Poisoned { cause } if matches!(&**cause, Error::Io { op: "fdatasync", .. })),
        "{e:?}"
    );
    assert!(!acks.is_empty());
    drop(j);
    // A crash now keeps record 0 only; nothing fsync'd was lost, and it verifies.
    let image = mem.crash_image(0);
    let (_j, report) = Journal::open(dir(), opts_on(Arc::new(image.clone()))).unwrap();
    assert_eq!(report.records, 1);
    assert_verifies(&image, dir(), 1);
}
