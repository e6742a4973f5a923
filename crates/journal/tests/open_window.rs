//! Opening a journal whose active segment is larger than the window over which opening
//! checks the `prev` chain: a torn tail is still repaired, damage inside the window is
//! still refused, and damage before it is left for `verify` (which names it).

use std::path::Path;
use std::sync::Arc;

use tradetrail_journal::{verify, Durability, Entry, Error, Journal, JournalOptions};
use tradetrail_testkit::MemStorage;

const SEG: &str = "/j/00000000000000000000.jsonl";

/// About 12 MiB in one segment.
fn big_journal() -> MemStorage {
    let mem = MemStorage::new();
    let opts = JournalOptions::default()
        .with_storage(Arc::new(mem.clone()))
        .with_rotate_daily(false);
    let (j, _) = Journal::create(Path::new("/j"), "window", opts).unwrap();
    for b in 0..40 {
        let entries = (0..1000)
            .map(|i| {
                let body = format!(
                    r#"{{"type":"custom.x","b":{b},"i":{i},"pad":"{}"}}"#,
                    "p".repeat(250)
                );
                Entry::new(body.into_bytes(), Durability::Os).unwrap()
            })
            .collect();
        j.append_batch(entries).unwrap();
    }
    j.flush().unwrap();
    drop(j);
    assert!(mem.file(Path::new(SEG)).unwrap().len() > 11 * 1024 * 1024);
    mem
}

fn open(mem: &MemStorage) -> Result<(Journal, tradetrail_journal::RecoveryReport), Error> {
    let opts = JournalOptions::default()
        .with_storage(Arc::new(mem.clone()))
        .with_rotate_daily(false);
    Journal::open(Path::new("/j"), opts)
}

/// Byte offset of the start of the line holding `seq`.
fn line_start(data: &[u8], seq: usize) -> usize {
    let mut pos = 0;
    for _ in 0..seq {
        pos += data[pos..].iter().position(|&b| b == b'\n').unwrap() + 1;
    }
    pos
}

#[test]
fn torn_tail_of_a_big_segment_is_repaired_and_the_chain_resumes() {
    let mem = big_journal();
    let mut data = mem.file(Path::new(SEG)).unwrap();
    let len = data.len();
    data.extend_from_slice(b"{\"seq\":40001,\"ts_reco");
    mem.set_file(Path::new(SEG), data);
    let (j, report) = open(&mem).unwrap();
    assert_eq!(report.truncated_bytes, 21);
    assert_eq!(report.records, 40_001);
    j.append(Entry::new(br#"{"type":"custom.after"}"#.to_vec(), Durability::Fsync).unwrap())
        .unwrap();
    drop(j);
    assert!(mem.file(Path::new(SEG)).unwrap().len() > len);
    assert!(verify(&mem, Path::new("/j"), &|_| {}).unwrap().ok);
}

#[test]
fn a_broken_link_inside_the_window_is_refused() {
    let mem = big_journal();
    let mut data = mem.file(Path::new(SEG)).unwrap();
    // Alter a record near the end: the next record's prev no longer matches.
    let at = line_start(&data, 39_990) + 60;
    data[at] ^= 0x01;
    mem.set_file(Path::new(SEG), data);
    let err = open(&mem).map(|_| ()).unwrap_err();
    assert!(
        matches!(err, Error::Damaged { seq: 39_990, .. }),
        "the altered record is named: {err:?}"
    );
}

#[test]
fn a_broken_link_before_the_window_is_left_to_verify() {
    let mem = big_journal();
    let mut data = mem.file(Path::new(SEG)).unwrap();
    let at = line_start(&data, 100) + 200; // inside record 100's body
    assert_ne!(data[at], b'\n');
    data[at] ^= 0x01;
    mem.set_file(Path::new(SEG), data);
    let (j, report) = open(&mem).unwrap();
    assert_eq!(report.records, 40_001);
    drop(j);
    let v = verify(&mem, Path::new("/j"), &|_| {}).unwrap();
    assert!(!v.ok);
    assert_eq!(v.first_bad_seq, Some(100));
}
