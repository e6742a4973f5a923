//! A journal whose oldest segments were removed (after archiving): verify from an
//! anchor, open, append, and refuse reads of removed records.

mod common;

use common::*;
use tradetrail_journal::{
    for_each_line, list_segments, parse_header, verify, verify_from, Anchor, Durability, Error,
    FsStorage, Journal, JournalOptions, RecordHash,
};

fn anchor_before(lines: &[Vec<u8>], first: u64) -> Anchor {
    let line = &lines[(first - 1) as usize];
    Anchor {
        seq: first,
        prev: RecordHash::of_line(line),
        ts_recorded: parse_header(line).unwrap().ts_recorded,
    }
}

#[test]
fn verify_open_and_append_after_the_oldest_segments_are_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("journal");
    let opts = || JournalOptions::default().with_segment_max_bytes(4096);
    let (j, _) = Journal::create(&dir, "test/anchored", opts()).unwrap();
    for i in 0..200 {
        j.append(entry(i, 40, Durability::Os)).unwrap();
    }
    drop(j);
    let lines = all_lines(&FsStorage, &dir);
    let segs = list_segments(&FsStorage, &dir).unwrap();
    assert!(segs.len() >= 4);
    for s in &segs[..2] {
        std::fs::remove_file(&s.path).unwrap();
    }
    let first = segs[2].first_seq;

    let plain = verify(&FsStorage, &dir, &|_| {}).unwrap();
    assert!(!plain.ok && plain.first_bad_seq == Some(0), "{plain:?}");
    let a = anchor_before(&lines, first);
    let r = verify_from(&FsStorage, &dir, Some(&a), &|_| {}).unwrap();
    assert!(r.ok, "{r:?}");
    assert_eq!(r.records, lines.len() as u64 - first);
    let wrong = Anchor {
        prev: RecordHash([9; 32]),
        ..a
    };
    let r = verify_from(&FsStorage, &dir, Some(&wrong), &|_| {}).unwrap();
    assert_eq!((r.ok, r.first_bad_seq, r.records), (false, Some(first), 0));
    let early = Anchor {
        seq: first - 1,
        ..a
    };
    let r = verify_from(&FsStorage, &dir, Some(&early), &|_| {}).unwrap();
    assert_eq!(r.first_bad_seq, Some(first - 1), "{r:?}");

    let e = for_each_line(&FsStorage, &dir, 0, None, |_, _| Ok(true)).unwrap_err();
    assert!(
        matches!(e, Error::Removed { seq: 0, first: f } if f == first),
        "{e}"
    );

    let (j, _) = Journal::open(&dir, opts()).unwrap();
    assert!(matches!(j.read_line(1), Err(Error::Removed { seq: 1, .. })));
    assert_eq!(j.read_line(first).unwrap(), lines[first as usize]);
    let r = j.append(entry(500, 40, Durability::Fsync)).unwrap();
    assert_eq!(r.seq, lines.len() as u64);
    drop(j);
    assert!(verify_from(&FsStorage, &dir, Some(&a), &|_| {}).unwrap().ok);

    // Only the active segment left: opening resumes from its first record.
    let segs = list_segments(&FsStorage, &dir).unwrap();
    for s in &segs[..segs.len() - 1] {
        std::fs::remove_file(&s.path).unwrap();
    }
    let last_first = segs.last().unwrap().first_seq;
    let lines = all_lines(&FsStorage, &dir);
    let (j, rep) = Journal::open(&dir, opts()).unwrap();
    assert_eq!(rep.records, last_first + lines.len() as u64);
    let r = j.append(entry(501, 40, Durability::Fsync)).unwrap();
    assert_eq!(r.seq, last_first + lines.len() as u64);
}
