//! A repeated `event_id` (dedup key) is a retry only if the body is the same: then it
//! gets the original receipt; with another body it is refused, naming the record that
//! holds the first body, and nothing of the call is written — wherever that record is
//! (queued, in the active segment, in a sealed one, before a reopen).

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use tradetrail_journal::{Durability, Error, Journal, JournalOptions};
use tradetrail_testkit::MemStorage;

const ID: &str = "67e55044-10b1-426f-9247-bb680e5fe0c8";

fn dir() -> &'static Path {
    Path::new("/data/journal")
}

fn mem_opts(mem: &MemStorage) -> JournalOptions {
    JournalOptions::default()
        .with_storage(Arc::new(mem.clone()))
        .with_clock(TestClock::new(1_700_000_000_000_000_000, 1_000))
        .with_rotate_daily(false)
}

fn assert_conflict(r: Result<impl std::fmt::Debug, Error>, seq: u64, index: usize) {
    match r {
        Err(Error::Conflict { seq: s, index: i }) => {
            assert_eq!((s, i), (seq, index));
        }
        other => panic!("expected a conflict with record {seq} at entry {index}, got {other:?}"),
    }
}

#[test]
fn same_body_is_the_original_receipt_another_body_is_refused() {
    let mem = MemStorage::new();
    let (j, _) = Journal::create(dir(), "conflict", mem_opts(&mem)).unwrap();
    let first = j.append(keyed(1, ID, Durability::Fsync)).unwrap();
    assert_eq!((first.seq, first.duplicate), (1, false));
    j.append(entry(2, 1, Durability::Fsync)).unwrap();
    let before = all_bytes(&mem);

    // The same body, even at another durability: a retry, nothing written.
    assert_duplicate_of(j.append(keyed(1, ID, Durability::Os)).unwrap(), first);
    let t = j.submit(keyed(1, ID, Durability::Fsync)).unwrap();
    assert_duplicate_of(j.wait(t).unwrap(), first);

    // Another body under the same key: refused, naming record 1, by every door.
    assert_conflict(j.append(keyed(3, ID, Durability::Fsync)), 1, 0);
    assert_conflict(j.submit(keyed(3, ID, Durability::Os)), 1, 0);
    let e = j.append(keyed(3, ID, Durability::Fsync)).unwrap_err();
    assert!(e.to_string().contains("record 1"), "{e}");
    assert!(e.to_string().contains("new event_id"), "{e}");
    assert_eq!(all_bytes(&mem), before);
    assert_eq!(j.status().unwrap().records, 3);

    // The journal still takes writes afterwards, and the retry still works.
    assert_duplicate_of(j.append(keyed(1, ID, Durability::Fsync)).unwrap(), first);
    let next = j.append(keyed(4, "order-9", Durability::Fsync)).unwrap();
    assert_eq!((next.seq, next.duplicate), (3, false));
    drop(j);
    assert_verifies(&mem, dir(), 4);
}

#[test]
fn a_batch_with_a_conflict_is_refused_whole() {
    let mem = MemStorage::new();
    let (j, _) = Journal::create(dir(), "conflict", mem_opts(&mem)).unwrap();
    let first = j.append(keyed(1, ID, Durability::Fsync)).unwrap();
    let before = all_bytes(&mem);

    // A new event, a retry, then the conflict: none of them goes in.
    let r = j.append_batch(vec![
        keyed(10, "order-10", Durability::Fsync),
        keyed(1, ID, Durability::Fsync),
        keyed(2, ID, Durability::Fsync),
    ]);
    assert_conflict(r, 1, 2);
    assert_conflict(
        j.submit_batch(vec![
            entry(5, 0, Durability::Os),
            keyed(2, ID, Durability::Os),
        ]),
        1,
        1,
    );
    assert_conflict(j.check_repeats(&[keyed(2, ID, Durability::Os)]), 1, 0);
    assert_eq!(all_bytes(&mem), before);
    assert_eq!(j.status().unwrap().records, 2);

    // Two entries of one batch with one new key and different bodies.
    let pair = || {
        vec![
            keyed(20, "order-20", Durability::Fsync),
            keyed(21, "order-20", Durability::Fsync),
        ]
    };
    assert!(matches!(
        j.check_repeats(&pair()),
        Err(Error::ConflictInBatch { first: 0, index: 1 })
    ));
    let e = j.append_batch(pair()).unwrap_err();
    assert!(
        matches!(e, Error::ConflictInBatch { first: 0, index: 1 }),
        "{e:?}"
    );
    assert_eq!(all_bytes(&mem), before);
    // The key was not taken by the refused batch.
    let r = j.append(keyed(21, "order-20", Durability::Fsync)).unwrap();
    assert_eq!((r.seq, r.duplicate), (2, false));

    // A recorded key twice in one batch, the second with another body: the conflict
    // names the record.
    assert_conflict(
        j.append_batch(vec![
            keyed(1, ID, Durability::Fsync),
            keyed(9, ID, Durability::Fsync),
        ]),
        1,
        1,
    );

    // Repeats with the same body inside one batch are fine, as before.
    let rs = j
        .append_batch(vec![
            keyed(1, ID, Durability::Fsync),
            keyed(30, "order-30", Durability::Fsync),
            keyed(30, "order-30", Durability::Os),
        ])
        .unwrap();
    assert_duplicate_of(rs[0], first);
    assert_eq!((rs[1].seq, rs[1].duplicate), (3, false));
    assert_duplicate_of(rs[2], rs[1]);
    j.check_repeats(&[
        keyed(1, ID, Durability::Os),
        keyed(40, "new", Durability::Os),
    ])
    .unwrap();
    drop(j);
    assert_verifies(&mem, dir(), 4);
}

#[test]
fn a_queued_first_record_is_compared_too() {
    let mem = MemStorage::new();
    let (j, _) = Journal::create(dir(), "conflict", mem_opts(&mem)).unwrap();
    // Pipelined: the first is sequenced but not waited for.
    let t = j.submit(keyed(1, ID, Durability::Os)).unwrap();
    assert_conflict(j.submit(keyed(2, ID, Durability::Os)), t.seq(), 0);
    let again = j.submit(keyed(1, ID, Durability::Os)).unwrap();
    let first = j.wait(t).unwrap();
    assert_duplicate_of(j.wait(again).unwrap(), first);
    assert_eq!(j.status().unwrap().records, 2);
}

#[test]
fn conflicts_are_found_in_sealed_segments_and_across_a_reopen() {
    let mem = MemStorage::new();
    let opts = mem_opts(&mem).with_segment_max_bytes(600);
    let (j, _) = Journal::create(dir(), "conflict", opts.clone()).unwrap();
    let first = j.append(keyed(1, ID, Durability::Fsync)).unwrap();
    for i in 2..40 {
        j.append(entry(i, 40, Durability::Os)).unwrap();
    }
    let segs = segment_starts(&mem, dir());
    assert!(segs.len() >= 4, "{segs:?}");
    assert!(
        segs[1] > first.seq,
        "record 1 is in a sealed segment: {segs:?}"
    );
    let before = all_bytes(&mem);
    assert_conflict(j.append(keyed(2, ID, Durability::Fsync)), 1, 0);
    assert_duplicate_of(j.append(keyed(1, ID, Durability::Fsync)).unwrap(), first);
    assert_eq!(all_bytes(&mem), before);
    drop(j);

    // After a reopen the key comes from the lazily loaded index.
    let (j, _) = Journal::open(dir(), opts.clone()).unwrap();
    assert_conflict(j.append(keyed(2, ID, Durability::Fsync)), 1, 0);
    assert_conflict(
        j.append_batch(vec![
            entry(50, 0, Durability::Fsync),
            keyed(2, ID, Durability::Fsync),
        ]),
        1,
        1,
    );
    assert_eq!(all_bytes(&mem), before);
    assert_duplicate_of(j.append(keyed(1, ID, Durability::Fsync)).unwrap(), first);
    drop(j);
    assert_verifies(&mem, dir(), 40);
}

#[test]
fn concurrent_producers_reusing_one_event_id_get_one_record() {
    let mem = MemStorage::new();
    let (j, _) = Journal::create(dir(), "conflict", mem_opts(&mem)).unwrap();
    // Eight threads race with one event_id: two bodies among them. Exactly one record
    // is written; the others are duplicates of it or conflicts with it.
    let results: Vec<_> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..8u64)
            .map(|t| {
                let j = j.clone();
                s.spawn(move || j.append(keyed(t % 2, ID, Durability::Os)))
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(j.status().unwrap().records, 2);
    let written: Vec<_> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .filter(|r| !r.duplicate)
        .collect();
    assert_eq!(written.len(), 1, "{results:?}");
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let conflicts = results
        .iter()
        .filter(|r| matches!(r, Err(Error::Conflict { seq: 1, index: 0 })))
        .count();
    assert_eq!((ok, conflicts), (4, 4), "{results:?}");
}
