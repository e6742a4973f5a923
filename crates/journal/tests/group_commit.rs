//! Group commit under many producers: each `fsync` waiter parks on its own and is
//! unparked by the sync that covers it. These runs check that nobody is left asleep
//! (a watchdog fails the test instead of hanging), that syncs are shared, that every
//! producer gets its own record's receipt, and that a failed sync wakes everyone.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use tradetrail_journal::{Durability, Error, Journal, JournalOptions, Receipt};
use tradetrail_testkit::MemStorage;

const PRODUCERS: u64 = 64;
const EACH: u64 = 25;

fn dir() -> &'static Path {
    Path::new("/j")
}

/// Runs `f` on its own thread and fails the test if it takes longer than a minute: a
/// producer left parked would otherwise hang the suite.
fn within_a_minute<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(v) => v,
        Err(_) => panic!("producers still waiting after a minute: one was never woken"),
    }
}

/// `PRODUCERS` threads append `EACH` records each; producer `t` uses `durability(t)`.
/// Returns each acknowledged record's receipt and body, and each error.
fn run(
    mem: &MemStorage,
    durability: fn(u64) -> Durability,
) -> (Vec<(Receipt, Vec<u8>)>, Vec<Error>) {
    let opts = JournalOptions::default().with_storage(Arc::new(SlowSync(mem.clone())));
    let (j, _) = Journal::create(dir(), "group-commit", opts).expect("create");
    let acks = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(Mutex::new(Vec::new()));
    let (a, e) = (acks.clone(), errors.clone());
    within_a_minute(move || {
        std::thread::scope(|s| {
            for t in 0..PRODUCERS {
                let (j, a, e) = (j.clone(), &a, &e);
                s.spawn(move || {
                    for i in 0..EACH {
                        let b = body(1_000 * (t + 1) + i, ((t * 7 + i) % 50) as usize);
                        let entry = tradetrail_journal::Entry::new(b.clone(), durability(t))
                            .expect("entry");
                        match j.append(entry) {
                            Ok(r) => a.lock().expect("acks").push((r, b)),
                            Err(err) => {
                                e.lock().expect("errors").push(err);
                                return;
                            }
                        }
                    }
                });
            }
        });
    });
    let acks = std::mem::take(&mut *acks.lock().expect("acks"));
    let errors = std::mem::take(&mut *errors.lock().expect("errors"));
    (acks, errors)
}

/// Every acknowledged receipt names its own record: a distinct seq whose line holds
/// the body sent and hashes to the receipt's hash.
fn assert_receipts_hold(mem: &MemStorage, acks: &[(Receipt, Vec<u8>)]) {
    let lines = all_lines(mem, dir());
    let mut seqs = BTreeSet::new();
    for (r, b) in acks {
        assert!(seqs.insert(r.seq), "seq {} acknowledged twice", r.seq);
        let line = lines
            .get(r.seq as usize)
            .unwrap_or_else(|| panic!("acknowledged seq {} is not in the journal", r.seq));
        assert_line_is(line, r.seq, r.hash, b);
    }
}

#[test]
fn many_fsync_producers_share_syncs_and_each_gets_its_own_receipt() {
    let mem = MemStorage::new();
    let (acks, errors) = run(&mem, |_| Durability::Fsync);
    assert!(errors.is_empty(), "{errors:?}");
    let records = PRODUCERS * EACH;
    assert_eq!(acks.len() as u64, records);
    assert_receipts_hold(&mem, &acks);
    // Every acknowledged record is durable: the image a crash leaves holds them all.
    let image = mem.crash_image(0);
    assert_verifies(&image, dir(), records + 1);
    // Shared: with 64 producers and a 300 µs sync, far fewer syncs than records (one
    // sync per record would be `records` plus record 0's).
    let syncs = mem.syncs();
    assert!(
        syncs * 4 < records,
        "{syncs} syncs for {records} records: group commit is not grouping"
    );
}

#[test]
fn fsync_and_os_producers_together_all_return() {
    let mem = MemStorage::new();
    let durability = |t: u64| {
        if t.is_multiple_of(2) {
            Durability::Fsync
        } else {
            Durability::Os
        }
    };
    let (acks, errors) = run(&mem, durability);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(acks.len() as u64, PRODUCERS * EACH);
    assert_receipts_hold(&mem, &acks);
    let image = mem.crash_image(0);
    let durable = all_lines(&image, dir()).len() as u64;
    // The `fsync` producers' records (even producers' bodies) all survive a crash.
    for (r, b) in &acks {
        let t = (record_number(b) / 1_000) - 1;
        if t.is_multiple_of(2) {
            assert!(r.seq < durable, "fsync'd seq {} lost in a crash", r.seq);
        }
    }
}

#[test]
fn a_failed_sync_wakes_every_parked_producer() {
    let mem = MemStorage::new();
    // Record 0's sync, then a few shared ones, then every sync fails.
    mem.fail_syncs_after(6);
    let (acks, errors) = run(&mem, |_| Durability::Fsync);
    // Every producer returned (the watchdog did not fire), and each that stopped early
    // stopped on the failure, as an I/O error or the poison it left.
    assert_eq!(
        errors.len() as u64,
        PRODUCERS,
        "every producer sees the failure"
    );
    for e in &errors {
        assert!(
            matches!(root_cause(e), Error::Io { .. }),
            "not the sync's failure: {e:?}"
        );
    }
    assert!((acks.len() as u64) < PRODUCERS * EACH);
    assert_receipts_hold(&mem, &acks);
    // Only what a sync covered was acknowledged.
    let image = mem.crash_image(0);
    let durable = all_lines(&image, dir()).len() as u64;
    for (r, _) in &acks {
        assert!(
            r.seq < durable,
            "seq {} acknowledged but not durable",
            r.seq
        );
    }
}

/// The number `body` was made with (its `data.i`, see `common::body`).
fn record_number(b: &[u8]) -> u64 {
    let v: serde_json::Value = serde_json::from_slice(b).expect("json body");
    v["data"]["i"].as_u64().expect("data.i")
}
