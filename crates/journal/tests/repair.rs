//! The explicit repair: records after a chosen seq are removed only after a durable
//! copy of every removed byte exists, and a fault at any operation leaves a journal
//! that opens as a prefix, with a copy of whatever left it.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use sha2::{Digest, Sha256};
use tradetrail_journal::{truncate_after, Durability, Error, Journal, JournalOptions, Storage};
use tradetrail_testkit::{FaultStorage, MemStorage};

fn dir() -> &'static Path {
    Path::new("/data/journal")
}
fn aside() -> &'static Path {
    Path::new("/data/repaired/after-2.jsonl")
}

fn opts(storage: Arc<dyn Storage>) -> JournalOptions {
    JournalOptions::default()
        .with_storage(storage)
        .with_clock(TestClock::new(1_700_000_000_000_000_000, 1_000))
        .with_rotate_daily(false)
        .with_segment_max_bytes(600)
}

/// A journal of 12 records over several segments whose record 3 (in a sealed
/// segment) was altered.
fn damaged() -> (MemStorage, Vec<Vec<u8>>) {
    let mem = MemStorage::new();
    let (j, _) = Journal::create(dir(), "repair", opts(Arc::new(mem.clone()))).unwrap();
    for i in 1..12 {
        j.append(entry(i, 40, Durability::Fsync)).unwrap();
    }
    drop(j);
    assert!(segment_starts(&mem, dir()).len() >= 3, "spans segments");
    let lines = all_lines(&mem, dir());
    let seg = list_segment_holding(&mem, 3);
    let mut data = mem.file(&seg).unwrap();
    let line3 = &lines[3];
    let at3 = data
        .windows(line3.len())
        .position(|w| w == &line3[..])
        .unwrap();
    let x = at3 + line3.windows(3).position(|w| w == b"xxx").unwrap();
    data[x] = b'y';
    mem.set_file(&seg, data);
    let lines = all_lines(&mem, dir());
    (mem, lines)
}

fn list_segment_holding(mem: &MemStorage, seq: u64) -> std::path::PathBuf {
    let firsts = segment_starts(mem, dir());
    let first = firsts.iter().rev().find(|&&f| f <= seq).copied().unwrap();
    segment_path(dir(), first)
}

#[test]
fn repair_removes_the_damaged_records_and_keeps_every_removed_byte() {
    let (mem, lines) = damaged();
    // Record 3 is in a sealed segment, which opening does not read: `verify` names it.
    let v = tradetrail_journal::verify(&mem, dir(), &|_| {}).unwrap();
    assert_eq!(v.first_bad_seq, Some(3), "{v:?}");

    let before: Vec<u8> = segment_starts(&mem, dir())
        .iter()
        .flat_map(|&f| mem.file(&segment_path(dir(), f)).unwrap())
        .collect();
    let r = truncate_after(&mem, dir(), 2, aside(), &mut |_| Ok(())).unwrap();
    assert_eq!(r.kept_through, 2);
    assert_eq!(r.removed_lines, 9, "records 3..=11");
    let kept = mem.file(aside()).unwrap();
    let cut = lines[..3].iter().map(|l| l.len() + 1).sum::<usize>();
    assert_eq!(kept, before[cut..], "every removed byte, in order");
    assert_eq!(r.removed_bytes as usize, kept.len());
    assert_eq!(r.removed_sha256, hex::encode(Sha256::digest(&kept)));
    assert!(!r.removed_segments.is_empty());

    let (j, report) = Journal::open(dir(), opts(Arc::new(mem.clone()))).unwrap();
    assert_eq!(report.records, 3);
    assert!(report.is_clean());
    let receipt = j.append(entry(99, 10, Durability::Fsync)).unwrap();
    assert_eq!(receipt.seq, 3);
    drop(j);
    assert_verifies(&mem, dir(), 4);

    // A second repair may not overwrite the first one's copy.
    let again = truncate_after(&mem, dir(), 1, aside(), &mut |_| Ok(())).unwrap_err();
    assert!(again.to_string().contains("already exists"), "{again}");
}

#[test]
fn repair_refuses_what_it_cannot_do_and_changes_nothing() {
    let (mem, lines) = damaged();
    let n = lines.len() as u64;
    // Nothing after the last record.
    let err = truncate_after(&mem, dir(), n - 1, aside(), &mut |_| Ok(())).unwrap_err();
    assert!(err.to_string().contains("nothing to remove"), "{err}");
    // A record that is not there.
    let err = truncate_after(&mem, dir(), n + 5, aside(), &mut |_| Ok(())).unwrap_err();
    assert!(err.to_string().contains("not a complete line"), "{err}");
    assert_eq!(mem.file(aside()), None);
    assert_eq!(all_lines(&mem, dir()).len() as u64, n);
    // The journal is open elsewhere: the lock is taken first.
    let real = tempfile::tempdir().unwrap();
    let jdir = real.path().join("journal");
    let (j, _) = Journal::create(&jdir, "locked", JournalOptions::default()).unwrap();
    j.append(entry(1, 5, Durability::Fsync)).unwrap();
    let err = truncate_after(
        &tradetrail_journal::FsStorage,
        &jdir,
        0,
        &real.path().join("aside.jsonl"),
        &mut |_| Ok(()),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err:?}");
}

#[test]
fn a_fault_at_any_operation_leaves_a_prefix_and_a_copy_of_what_left() {
    let (mem, lines) = damaged();
    let counter = FaultStorage::new(Arc::new(copy(&mem)), u64::MAX);
    truncate_after(&counter, dir(), 2, aside(), &mut |_| Ok(())).unwrap();
    let ops = counter.ops();
    assert!(ops > 5);
    for k in 0..ops {
        let image = copy(&mem);
        let fault = FaultStorage::new(Arc::new(image.clone()), k);
        let outcome = truncate_after(&fault, dir(), 2, aside(), &mut |_| Ok(()));
        assert!(outcome.is_err(), "operation {k} failed, so must the repair");
        let now = all_lines(&image, dir());
        assert!(now.len() >= 3 && now.len() <= lines.len(), "op {k}");
        assert_eq!(
            now[..],
            lines[..now.len()],
            "a prefix of the journal (op {k})"
        );
        if now.len() < lines.len() {
            let kept = image
                .file(aside())
                .expect("removed bytes were copied first");
            let gone: Vec<u8> = lines[now.len()..]
                .iter()
                .flat_map(|l| l.iter().copied().chain([b'\n']))
                .collect();
            assert!(kept.ends_with(&gone), "op {k}: the copy holds what left");
        }
    }
}

/// The caller hears what will go once the copy is durable, and before anything goes;
/// when it fails, nothing is removed.
#[test]
fn the_caller_hears_what_will_be_removed_before_anything_is() {
    let (mem, lines) = damaged();
    let pristine = copy(&mem);
    let mut heard = None;
    let err = truncate_after(&mem, dir(), 2, aside(), &mut |r| {
        heard = Some(r.clone());
        Err(Error::InvalidEntry {
            reason: "stop".into(),
        })
    })
    .unwrap_err();
    assert!(matches!(err, Error::InvalidEntry { .. }), "{err:?}");
    let heard = heard.expect("the hook ran");
    assert_eq!(heard.kept_through, 2);
    assert_eq!(heard.removed_lines as usize, lines.len() - 3);
    // Nothing removed; the copy is there.
    assert_eq!(all_lines(&mem, dir()), lines);
    assert_eq!(
        mem.file(aside()).map(|b| b.len() as u64),
        Some(heard.removed_bytes)
    );
    // What the hook heard is what a completed repair returns.
    let done = truncate_after(&pristine, dir(), 2, aside(), &mut |_| Ok(())).unwrap();
    assert_eq!(done, heard);
}

fn copy(mem: &MemStorage) -> MemStorage {
    mem.crash_image(usize::MAX)
}
