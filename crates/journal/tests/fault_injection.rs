//! I/O faults: count the storage operations of a clean run, then fail operation k for
//! every k. A failure while creating is an error (never a panic); after that, the
//! first failed write or sync poisons the journal, every later call says so, and a
//! reopen over the same files is clean and holds everything acknowledged.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use tradetrail_journal::{
    dedup_key_of, Durability, Entry, Error, Journal, JournalOptions, RecordHash, Storage,
};
use tradetrail_testkit::{FaultStorage, MemStorage};

fn dir() -> &'static Path {
    Path::new("/fault/journal")
}

fn opts(storage: Arc<dyn Storage>) -> JournalOptions {
    JournalOptions::default()
        .with_storage(storage)
        .with_clock(TestClock::new(1_700_000_000_000_000_000, 1_000))
        .with_rotate_daily(false)
        .with_segment_max_bytes(800)
}

#[derive(Debug, Clone)]
struct Ack {
    seq: u64,
    hash: RecordHash,
    body: Option<Vec<u8>>,
}

enum Outcome {
    /// `create` failed.
    CreateFailed(Error),
    /// The workload failed at some call after `create`.
    Failed(Journal, Error),
    /// Everything succeeded.
    Done(Journal),
}

fn ack(acks: &mut Vec<Ack>, r: tradetrail_journal::Receipt, b: &[u8]) {
    assert!(!r.duplicate);
    acks.push(Ack {
        seq: r.seq,
        hash: r.hash,
        body: Some(b.to_vec()),
    });
}

/// A deterministic single-threaded workload touching every kind of call: appends of
/// both durabilities, submit/wait, batches, flush, rotations and a keyed append
/// (whose first use reads the journal to load the dedup index).
fn workload(storage: Arc<dyn Storage>, acks: &mut Vec<Ack>) -> Outcome {
    let j = match Journal::create(dir(), "fault", opts(storage)) {
        Ok((j, r0)) => {
            acks.push(Ack {
                seq: 0,
                hash: r0.hash,
                body: None,
            });
            j
        }
        Err(e) => return Outcome::CreateFailed(e),
    };
    let mut i = 0u64;
    let mut next = |pad: usize| {
        i += 1;
        body(i, pad)
    };
    macro_rules! step {
        ($e:expr) => {
            match $e {
                Ok(x) => x,
                Err(e) => return Outcome::Failed(j, e),
            }
        };
    }
    for round in 0..4 {
        for d in [Durability::Os, Durability::Fsync, Durability::Os] {
            let b = next(60 + round * 20);
            let r = step!(j.append(Entry::new(b.clone(), d).unwrap()));
            ack(acks, r, &b);
        }
        let (b1, b2) = (next(10), next(200));
        let t1 = step!(j.submit(Entry::new(b1.clone(), Durability::Os).unwrap()));
        let t2 = step!(j.submit(Entry::new(b2.clone(), Durability::Fsync).unwrap()));
        let r1 = step!(j.wait(t1));
        let r2 = step!(j.wait(t2));
        ack(acks, r1, &b1);
        ack(acks, r2, &b2);
        let bs: Vec<Vec<u8>> = (0..3).map(|_| next(90)).collect();
        let entries = bs
            .iter()
            .zip([Durability::Os, Durability::Fsync, Durability::Os])
            .map(|(b, d)| Entry::new(b.clone(), d).unwrap())
            .collect();
        let rs = step!(j.append_batch(entries));
        for (r, b) in rs.into_iter().zip(&bs) {
            ack(acks, r, b);
        }
        let b = next(5);
        let t = step!(j.submit(Entry::new(b.clone(), Durability::Os).unwrap()));
        step!(j.flush());
        let r = step!(j.wait(t));
        ack(acks, r, &b);
        if round == 1 {
            let id = "evt-1";
            let b = body_with_id(1_000, id);
            let e = Entry::new(b.clone(), Durability::Fsync)
                .unwrap()
                .with_dedup_key(dedup_key_of(id));
            let r = step!(j.append(e));
            ack(acks, r, &b);
        }
    }
    Outcome::Done(j)
}

/// Every call that appends must now fail as `Poisoned` by the same cause.
fn assert_poisoned_by(j: &Journal, first: &Error) {
    let cause = root_cause(first).to_string();
    let check = |what: &str, r: Result<(), Error>| match r {
        Err(Error::Poisoned { cause: c }) => {
            assert_eq!(c.to_string(), cause, "{what}: poisoned by something else");
            if let Error::Poisoned { cause: first_cause } = first {
                assert!(Arc::ptr_eq(&c, first_cause), "{what}: not the same failure");
            }
        }
        other => panic!("{what} after a failure: {other:?}"),
    };
    for _ in 0..2 {
        check("append", j.append(entry(1, 1, Durability::Os)).map(drop));
        check(
            "append fsync",
            j.append(entry(1, 1, Durability::Fsync)).map(drop),
        );
        check("submit", j.submit(entry(1, 1, Durability::Os)).map(drop));
        check(
            "append_batch",
            j.append_batch(vec![entry(1, 1, Durability::Os)]).map(drop),
        );
        check("flush", j.flush());
    }
}

/// Reopens the underlying storage without faults and checks it.
fn assert_clean_reopen(mem: &MemStorage, acks: &[Ack], ctx: &str) {
    let (j, report) = Journal::open(dir(), opts(Arc::new(mem.clone())))
        .unwrap_or_else(|e| panic!("{ctx}: reopen failed: {e}"));
    assert!(report.is_clean(), "{ctx}: {report:?}");
    let lines = all_lines(mem, dir());
    assert_eq!(lines.len() as u64, report.records, "{ctx}");
    for a in acks {
        let line = lines
            .get(a.seq as usize)
            .unwrap_or_else(|| panic!("{ctx}: acknowledged record {} lost", a.seq));
        match &a.body {
            Some(b) => assert_line_is(line, a.seq, a.hash, b),
            None => assert_eq!(RecordHash::of_line(line), a.hash),
        }
    }
    assert_verifies(mem, dir(), report.records);
    let r = j.append(entry(9, 9, Durability::Fsync)).unwrap();
    assert_eq!(r.seq, report.records, "{ctx}");
    drop(j);
    assert_verifies(mem, dir(), report.records + 1);
}

fn is_read_op(e: &Error) -> bool {
    matches!(root_cause(e), Error::Io { op, .. } if ["read", "stat", "list"].contains(op))
}

#[test]
fn fail_every_operation_once() {
    let mem = MemStorage::new();
    let counter = FaultStorage::new(Arc::new(mem.clone()), u64::MAX);
    let mut clean_acks = Vec::new();
    let Outcome::Done(j) = workload(Arc::new(counter.clone()), &mut clean_acks) else {
        panic!("the clean run failed");
    };
    let total = counter.ops();
    drop(j);
    // Dropping the journal syncs once more; a failure there has no one to report to.
    assert_eq!(counter.ops(), total + 1);
    assert!(
        segment_starts(&mem, dir()).len() >= 4,
        "rotations are exercised"
    );
    assert!(total > 50, "{total} operations");

    let (mut create_failures, mut poisonings, mut read_failures) = (0, 0, 0);
    for k in 0..=total {
        let ctx = format!("operation {k} of {total} failed");
        let mem = MemStorage::new();
        let fault = FaultStorage::new(Arc::new(mem.clone()), k);
        let mut acks = Vec::new();
        match workload(Arc::new(fault.clone()), &mut acks) {
            Outcome::Done(j) => {
                assert_eq!(k, total, "{ctx}: nothing noticed");
                drop(j); // the failing sync
                assert_clean_reopen(&mem, &acks, &ctx);
            }
            Outcome::CreateFailed(e) => {
                create_failures += 1;
                assert!(matches!(e, Error::Io { .. }), "{ctx}: {e:?}");
                // Nothing was acknowledged. Depending on where it stopped there is no
                // journal, an empty first segment (init did not finish), or a
                // complete record 0 (the failure came after it was durable).
                match Journal::open(dir(), opts(Arc::new(mem.clone()))) {
                    Ok(_) => drop(assert_verifies(&mem, dir(), 1)),
                    Err(Error::NotFound { .. }) => {}
                    Err(Error::Corrupt { reason, .. }) => {
                        assert!(reason.contains("did not finish"), "{ctx}: {reason}");
                    }
                    Err(e) => panic!("{ctx}: {e:?}"),
                };
            }
            Outcome::Failed(j, e) => {
                if is_read_op(&e) {
                    // Loading the dedup index failed: nothing was written, so the
                    // journal is not poisoned and the next call goes through.
                    read_failures += 1;
                    assert!(j.status().unwrap().poisoned.is_none(), "{ctx}");
                    let b = body(77, 7);
                    let r = j
                        .append(Entry::new(b.clone(), Durability::Fsync).unwrap())
                        .unwrap();
                    ack(&mut acks, r, &b);
                } else {
                    poisonings += 1;
                    assert!(
                        matches!(root_cause(&e), Error::Io { op, .. } if ["write", "fdatasync", "create", "fsync dir"].contains(op)),
                        "{ctx}: {e:?}"
                    );
                    assert_poisoned_by(&j, &e);
                }
                drop(j);
                assert_clean_reopen(&mem, &acks, &ctx);
            }
        }
    }
    assert!(create_failures >= 5, "{create_failures}");
    assert!(poisonings > 30, "{poisonings}");
    assert!(read_failures >= 1, "{read_failures}");
}

#[test]
fn enospc_is_disk_full_naming_the_file() {
    // Find the operation number of a plain append's write.
    let mem = MemStorage::new();
    let counter = FaultStorage::new(Arc::new(mem.clone()), u64::MAX);
    let (j, _) = Journal::create(dir(), "full", opts(Arc::new(counter.clone()))).unwrap();
    j.append(entry(1, 10, Durability::Fsync)).unwrap();
    let write_op = counter.ops();
    j.append(entry(2, 10, Durability::Os)).unwrap();
    assert_eq!(
        counter.ops(),
        write_op + 1,
        "an Os append is exactly one write"
    );
    drop(j);

    let mem = MemStorage::new();
    let fault = FaultStorage::with_errno(Arc::new(mem.clone()), write_op, 28);
    let (j, _) = Journal::create(dir(), "full", opts(Arc::new(fault))).unwrap();
    let r1 = j.append(entry(1, 10, Durability::Fsync)).unwrap();
    let e = j
        .append(entry(2, 10, Durability::Os))
        .map(drop)
        .unwrap_err();
    assert!(e.is_disk_full(), "{e:?}");
    let segment = segment_path(dir(), 0);
    assert!(
        matches!(root_cause(&e), Error::DiskFull { path, available } if path == &segment && *available > 0),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(msg.contains(&segment.display().to_string()), "{msg}");
    assert!(msg.contains("bytes free"), "{msg}");
    assert_poisoned_by(&j, &e);
    let later = j.append(entry(3, 1, Durability::Os)).map(drop).unwrap_err();
    assert!(later.is_disk_full());
    drop(j);
    let acks = vec![Ack {
        seq: 1,
        hash: r1.hash,
        body: Some(body(1, 10)),
    }];
    assert_clean_reopen(&mem, &acks, "ENOSPC");
}

#[test]
fn capacity_reached_mid_record_then_reopen_repairs() {
    let mem = MemStorage::new();
    let (j, _) = Journal::create(dir(), "full", opts(Arc::new(mem.clone()))).unwrap();
    let mut acks = Vec::new();
    for i in 1..4 {
        let b = body(i, 50);
        let r = j
            .append(Entry::new(b.clone(), Durability::Fsync).unwrap())
            .unwrap();
        ack(&mut acks, r, &b);
    }
    let used: u64 = mem
        .paths()
        .iter()
        .map(|p| mem.file(p).unwrap().len() as u64)
        .sum();
    mem.set_capacity(used + 400); // room for one record and part of the next
    let mut failure = None;
    for i in 4..10 {
        let b = body(i, 150);
        match j.append(Entry::new(b.clone(), Durability::Os).unwrap()) {
            Ok(r) => ack(&mut acks, r, &b),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let e = failure.expect("the capacity was reached");
    assert_eq!(acks.len(), 4, "one more record fitted");
    assert!(e.is_disk_full(), "{e:?}");
    assert!(
        matches!(root_cause(&e), Error::DiskFull { available: 0, .. }),
        "{e:?}"
    );
    assert_poisoned_by(&j, &e);
    drop(j);

    // The file now ends in a partial record.
    let segs = segment_starts(&mem, dir());
    let active = segment_path(dir(), *segs.last().unwrap());
    let data = mem.file(&active).unwrap();
    assert_ne!(
        data.last(),
        Some(&b'\n'),
        "a torn record was left by the partial write"
    );
    let torn = data.len() - data.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    assert!(torn > 0);

    // Reopening (still full) cuts it off, which also frees its bytes.
    let (j, report) = Journal::open(dir(), opts(Arc::new(mem.clone()))).unwrap();
    assert_eq!(report.truncated_bytes, torn as u64);
    assert_eq!(report.truncated_segment.as_deref(), Some(active.as_path()));
    assert_eq!(report.records, 5);
    let lines = all_lines(&mem, dir());
    for a in &acks {
        assert_line_is(
            &lines[a.seq as usize],
            a.seq,
            a.hash,
            a.body.as_ref().unwrap(),
        );
    }
    assert_verifies(&mem, dir(), 5);
    // Still full: refused cleanly again, and nothing torn is left behind for long.
    let e = j
        .append(entry(10, 150, Durability::Os))
        .map(drop)
        .unwrap_err();
    assert!(e.is_disk_full(), "{e:?}");
    drop(j);
    // Space freed: reopen, repair, append.
    mem.set_capacity(u64::MAX);
    let (j, _) = Journal::open(dir(), opts(Arc::new(mem.clone()))).unwrap();
    assert_eq!(j.append(entry(11, 10, Durability::Fsync)).unwrap().seq, 5);
    drop(j);
    assert_verifies(&mem, dir(), 6);
}

#[test]
fn status_reports_the_poison_after_a_failed_rotation() {
    // A batch that rotates twice, failing when the first new segment is created: the
    // second new segment was planned but never made. `status` must still answer and
    // name the failure (it is how an operator sees why appends stop).
    let mem = MemStorage::new();
    let counter = FaultStorage::new(Arc::new(mem.clone()), u64::MAX);
    let (j, _) = Journal::create(dir(), "status", opts(Arc::new(counter.clone()))).unwrap();
    j.append(entry(1, 600, Durability::Os)).unwrap();
    let before_batch = counter.ops();
    drop(j);

    let mem = MemStorage::new();
    let fault = FaultStorage::new(Arc::new(mem.clone()), u64::MAX);
    let (j, _) = Journal::create(dir(), "status", opts(Arc::new(fault.clone()))).unwrap();
    j.append(entry(1, 600, Durability::Os)).unwrap();
    // Op before_batch seals segment 0 (sync), +1 creates segment 2: fail that.
    fault.set_fail_at(before_batch + 1);
    let big = || entry(2, 700, Durability::Os);
    let e = j
        .append_batch(vec![big(), big(), big()])
        .map(drop)
        .unwrap_err();
    assert!(
        matches!(root_cause(&e), Error::Io { op: "create", .. }),
        "{e:?}"
    );
    let status = j.status().expect("status works on a poisoned journal");
    assert_eq!(status.poisoned, Some(root_cause(&e).to_string()));
    assert_eq!((status.written, status.synced), (2, 2), "{status:?}");
}
