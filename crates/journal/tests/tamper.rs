//! Tampering with stored records on a real file system: every change is found by
//! `verify`, which names the first record that can no longer be trusted.
//!
//! Layout used throughout: 50 records, a fixed clock and fixed sizes, so the segments
//! start at seqs 0, 16, 32 and 48 (asserted below). "Record k" means seq k.
//!
//! Which seq `verify` names when a hash link is broken: a mismatch between record P's
//! hash and record L's `prev` means one of the two was changed. When the record after
//! L still links to L, L is intact and P was altered (P is named); when it does not,
//! L itself was altered (L is named); when nothing after L can tell, P is named,
//! because naming L would certify P, which may be the altered one.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::*;
use tradetrail_journal::{
    parse_header, verify, Durability, FsStorage, Journal, JournalOptions, RecordHash, VerifyReport,
};

const RECORDS: u64 = 50;
const SEGMENTS: [u64; 4] = [0, 16, 32, 48];

struct Template {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

fn template() -> Template {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("journal");
    let opts = JournalOptions::default()
        .with_clock(TestClock::new(1_700_000_000_000_000_000, 1_000))
        .with_rotate_daily(false)
        .with_segment_max_bytes(5_000);
    let (j, _) = Journal::create(&dir, "tamper", opts).unwrap();
    for i in 1..RECORDS {
        j.append(entry(i, 100, Durability::Os)).unwrap();
    }
    j.flush().unwrap();
    drop(j);
    assert_eq!(segment_starts(&FsStorage, &dir), SEGMENTS, "layout changed");
    assert_verifies(&FsStorage, &dir, RECORDS);
    Template { _tmp: tmp, dir }
}

/// Copies the template, applies `change` to the copy and verifies it.
fn tampered(t: &Template, change: impl FnOnce(&Path)) -> VerifyReport {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("journal");
    fs::create_dir(&dir).unwrap();
    for e in fs::read_dir(&t.dir).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
    change(&dir);
    verify(&FsStorage, &dir, &|_| {}).unwrap()
}

/// The segment holding `seq`.
fn seg_of(seq: u64) -> u64 {
    *SEGMENTS.iter().rev().find(|&&s| s <= seq).unwrap()
}

/// Rewrites the lines (with their `\n`) of the segment holding `seq`.
fn edit_lines(dir: &Path, seq: u64, f: impl FnOnce(&mut Vec<Vec<u8>>, usize)) {
    let first = seg_of(seq);
    let path = segment_path(dir, first);
    let mut lines: Vec<Vec<u8>> = split_lines(&fs::read(&path).unwrap());
    f(&mut lines, (seq - first) as usize);
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(&l);
        out.push(b'\n');
    }
    fs::write(&path, out).unwrap();
}

/// Replaces the byte at `offset` (from the start of the line) of record `seq`.
fn set_byte(dir: &Path, seq: u64, offset: impl FnOnce(&[u8]) -> usize, to: u8) {
    edit_lines(dir, seq, |lines, i| {
        let at = offset(&lines[i]);
        assert_ne!(lines[i][at], to, "the change must change something");
        lines[i][at] = to;
    });
}

/// An offset inside the body's padding (`xxx...`): the line stays valid JSON.
fn in_body(line: &[u8]) -> usize {
    line.windows(4).position(|w| w == b"xxxx").unwrap() + 2
}

/// An offset inside the `prev` hex digits.
fn in_prev(line: &[u8]) -> usize {
    let h = parse_header(line).unwrap();
    h.body_start - 10
}

fn other_hex(c: u8) -> u8 {
    if c == b'0' {
        b'1'
    } else {
        b'0'
    }
}

fn assert_bad(report: &VerifyReport, seq: u64, reason_has: &str) {
    assert!(!report.ok, "tampering not detected: {report:?}");
    assert_eq!(report.first_bad_seq, Some(seq), "{report:?}");
    assert_eq!(
        report.records, seq,
        "records before the bad one: {report:?}"
    );
    let reason = report.reason.as_deref().unwrap_or("");
    assert!(
        reason.contains(reason_has),
        "reason {reason:?} lacks {reason_has:?}"
    );
}

fn flip_prev_digit(dir: &Path, seq: u64) {
    edit_lines(dir, seq, |lines, i| {
        let at = in_prev(&lines[i]);
        lines[i][at] = other_hex(lines[i][at]);
    });
}

#[test]
fn untouched_template_verifies() {
    let t = template();
    let r = tampered(&t, |_| {});
    assert!(r.ok, "{r:?}");
    assert_eq!(r.records, RECORDS);
    assert_eq!(r.segments, 4);
}

#[test]
fn flipped_body_byte_names_that_record() {
    let t = template();
    // Inside a segment: record 21 no longer links to 20, 22 still links to 21.
    let r = tampered(&t, |d| set_byte(d, 20, in_body, b'y'));
    assert_bad(&r, 20, "record 20 was altered");
    // A flip that also breaks the JSON is caught on the line itself.
    let r = tampered(&t, |d| set_byte(d, 20, in_body, b'"'));
    assert_bad(&r, 20, "not valid JSON");
    // A byte that is not UTF-8 (serde_json alone would let it through).
    let r = tampered(&t, |d| set_byte(d, 20, in_body, 0xff));
    assert_bad(&r, 20, "not UTF-8");
    // First record of a segment.
    let r = tampered(&t, |d| set_byte(d, 32, in_body, b'y'));
    assert_bad(&r, 32, "record 32 was altered");
    // Last record of a sealed segment: the next segment's first record tells.
    let r = tampered(&t, |d| set_byte(d, 31, in_body, b'y'));
    assert_bad(&r, 31, "record 31 was altered");
    // Second-to-last of a sealed segment: its successor (31) is the segment's last
    // line, so what 31 links to must be looked up in the next segment.
    let r = tampered(&t, |d| set_byte(d, 30, in_body, b'y'));
    assert_bad(&r, 30, "record 30 was altered");
    // Record 0.
    let r = tampered(&t, |d| set_byte(d, 0, |l| l.len() - 5, b'X'));
    assert_bad(&r, 0, "");
}

#[test]
fn flipped_prev_byte_names_that_record() {
    let t = template();
    // Another hex digit: the line parses, but its prev names no record.
    let r = tampered(&t, |d| flip_prev_digit(d, 20));
    assert_bad(&r, 20, "record 20: prev does not match record 19");
    // Not hex at all: the header itself is bad.
    let r = tampered(&t, |d| set_byte(d, 20, in_prev, b'g'));
    assert_bad(&r, 20, "prev is not 64 lowercase hex digits");
    // First record of a segment (the link crosses files).
    let r = tampered(&t, |d| flip_prev_digit(d, 32));
    assert_bad(&r, 32, "record 32: prev does not match record 31");
    // Last record of a sealed segment.
    let r = tampered(&t, |d| flip_prev_digit(d, 31));
    assert_bad(&r, 31, "record 31: prev does not match record 30");
    // Record 0's prev must be zeros.
    let r = tampered(&t, |d| flip_prev_digit(d, 0));
    assert_bad(&r, 0, "prev must be 64 zeros");
}

#[test]
fn changes_to_the_last_two_records_name_the_earlier_one() {
    // Record 49 is the head: nothing after it says whether 48's body or 49's prev
    // changed, so verify names 48 and does not vouch for it.
    let t = template();
    let r = tampered(&t, |d| set_byte(d, 48, in_body, b'y'));
    assert_bad(&r, 48, "record 48");
    let r = tampered(&t, |d| flip_prev_digit(d, 49));
    assert_bad(&r, 48, "record 49");
}

#[test]
fn deleted_record_is_missing() {
    let t = template();
    let r = tampered(&t, |d| edit_lines(d, 20, |l, i| drop(l.remove(i))));
    assert_bad(&r, 20, "record 20 is missing");
    // The first record of a segment (the file name still says 16).
    let r = tampered(&t, |d| edit_lines(d, 16, |l, i| drop(l.remove(i))));
    assert_bad(&r, 16, "record 16 is missing");
    // The last record of a sealed segment.
    let r = tampered(&t, |d| edit_lines(d, 31, |l, i| drop(l.remove(i))));
    assert_bad(&r, 31, "record 31 is missing");
    let r = tampered(&t, |d| edit_lines(d, 0, |l, i| drop(l.remove(i))));
    assert_bad(&r, 0, "record 0 is missing");
}

#[test]
fn inserted_forged_record_is_found() {
    let t = template();
    // A well-formed forgery that even links to record 19: it takes seq 20, so the real
    // record 20 after it is where the chain stops making sense. Seq 20 is named: the
    // record verify reads as 20 is the forgery.
    let r = tampered(&t, |d| {
        edit_lines(d, 20, |lines, i| {
            let prev = RecordHash::of_line(&lines[i - 1]);
            let forged = format!(
                r#"{{"seq":20,"ts_recorded":1700000000000021000,"prev":"{prev}","type":"order.filled","ts_event":1,"source":"x","actor":"system","data":{{}}}}"#
            );
            lines.insert(i, forged.into_bytes());
        })
    });
    assert_bad(&r, 20, "record 20 appears again");
    // A forgery that does not link: it is named by its own broken prev.
    let r = tampered(&t, |d| {
        edit_lines(d, 20, |lines, i| {
            let forged = format!(
                r#"{{"seq":20,"ts_recorded":1700000000000021000,"prev":"{}","type":"order.filled","ts_event":1,"source":"x","actor":"system","data":{{}}}}"#,
                "ab".repeat(32)
            );
            lines.insert(i, forged.into_bytes());
        })
    });
    assert_bad(&r, 20, "record 20: prev does not match record 19");
}

#[test]
fn duplicated_record_is_found() {
    let t = template();
    let r = tampered(&t, |d| {
        edit_lines(d, 20, |lines, i| {
            let copy = lines[i].clone();
            lines.insert(i + 1, copy);
        })
    });
    assert_bad(&r, 20, "record 20 appears again where 21 should be");
    // Duplicated across a segment boundary: 31 copied to the start of the next file.
    let r = tampered(&t, |d| {
        let last31 = split_lines(&fs::read(segment_path(d, 16)).unwrap())[15].clone();
        edit_lines(d, 32, |lines, _| lines.insert(0, last31));
    });
    assert_bad(&r, 31, "record 31 appears again where 32 should be");
}

#[test]
fn swapped_records_are_found() {
    let t = template();
    let r = tampered(&t, |d| edit_lines(d, 20, |l, i| l.swap(i, i + 1)));
    assert_bad(&r, 20, "record 20 is missing (found seq 21 in its place)");
}

#[test]
fn truncated_sealed_segment_is_found() {
    let t = template();
    // Cut at a line boundary: records 30 and 31 are gone.
    let r = tampered(&t, |d| edit_lines(d, 30, |l, i| l.truncate(i)));
    assert_bad(&r, 30, "record 30 is missing (found seq 32 in its place)");
    // Cut inside record 31: a sealed segment may not end in a torn line.
    let r = tampered(&t, |d| {
        let p = segment_path(d, 16);
        let data = fs::read(&p).unwrap();
        fs::write(&p, &data[..data.len() - 40]).unwrap();
    });
    assert_bad(&r, 31, "sealed segment ends in an incomplete line");
    // Cut to nothing.
    let r = tampered(&t, |d| fs::write(segment_path(d, 16), b"").unwrap());
    assert_bad(&r, 16, "is empty");
}

#[test]
fn removed_segment_file_is_found() {
    let t = template();
    let r = tampered(&t, |d| fs::remove_file(segment_path(d, 16)).unwrap());
    assert_bad(&r, 16, "record 16 is missing (found seq 32 in its place)");
    // The first segment, which holds journal.created.
    let r = tampered(&t, |d| fs::remove_file(segment_path(d, 0)).unwrap());
    assert_bad(&r, 0, "record 0 is missing (found seq 16 in its place)");
    // The first segment emptied rather than removed.
    let r = tampered(&t, |d| fs::write(segment_path(d, 0), b"").unwrap());
    assert!(!r.ok, "{r:?}");
    assert_eq!(r.first_bad_seq, Some(0), "{r:?}");
}

#[test]
fn torn_last_line_is_a_warning() {
    let t = template();
    let r = tampered(&t, |d| {
        let p = segment_path(d, 48);
        let mut data = fs::read(&p).unwrap();
        data.extend_from_slice(br#"{"seq":50,"ts_recorded":17000000"#);
        fs::write(&p, data).unwrap();
    });
    assert!(r.ok, "{r:?}");
    assert_eq!(r.records, RECORDS);
    assert_eq!(r.first_bad_seq, None);
    assert_eq!(r.warnings.len(), 1, "{r:?}");
    assert!(r.warnings[0].contains("torn record"), "{r:?}");

    // The next open for writing cuts it off and the chain goes on.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("journal");
    fs::create_dir(&dir).unwrap();
    for e in fs::read_dir(&t.dir).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
    let p = segment_path(&dir, 48);
    let mut data = fs::read(&p).unwrap();
    data.extend_from_slice(b"{\"seq\":50,\"ts_rec");
    fs::write(&p, data).unwrap();
    let opts = JournalOptions::default().with_storage(Arc::new(FsStorage));
    let (j, rep) = Journal::open(&dir, opts).unwrap();
    assert_eq!(rep.truncated_bytes, 17);
    assert_eq!(j.append(entry(50, 1, Durability::Fsync)).unwrap().seq, 50);
    drop(j);
    assert_verifies(&FsStorage, &dir, 51);
}

#[test]
fn single_record_segment_is_judged_by_the_next_segment() {
    // A record as large as a segment gets a segment of its own: [0..=3] [4] [5..].
    // Whether record 4 or its neighbour changed can then only be told from segment 5.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("journal");
    let opts = JournalOptions::default()
        .with_clock(TestClock::new(1_700_000_000_000_000_000, 1_000))
        .with_rotate_daily(false)
        .with_segment_max_bytes(1_500);
    let (j, _) = Journal::create(&dir, "single", opts).unwrap();
    for i in 1..4 {
        j.append(entry(i, 100, Durability::Os)).unwrap();
    }
    j.append(entry(4, 1_500, Durability::Os)).unwrap();
    for i in 5..8 {
        j.append(entry(i, 100, Durability::Os)).unwrap();
    }
    drop(j);
    assert_eq!(segment_starts(&FsStorage, &dir), vec![0, 4, 5]);
    let t = Template { _tmp: tmp, dir };
    let edit = |d: &Path, seg: u64, idx: usize, f: &dyn Fn(&mut Vec<u8>)| {
        let p = segment_path(d, seg);
        let mut lines = split_lines(&fs::read(&p).unwrap());
        f(&mut lines[idx]);
        let out: Vec<u8> = lines
            .into_iter()
            .flat_map(|mut l| {
                l.push(b'\n');
                l
            })
            .collect();
        fs::write(&p, out).unwrap();
    };
    // Record 4's prev changed: segment 5 no longer links to it, so 4 is named.
    let r = tampered(&t, |d| {
        edit(d, 4, 0, &|l| {
            let at = in_prev(l);
            l[at] = other_hex(l[at]);
        })
    });
    assert_bad(&r, 4, "record 4: prev does not match record 3");
    // Record 3's body changed: record 4 is still what segment 5 links to, so 3 is named.
    let r = tampered(&t, |d| {
        edit(d, 0, 3, &|l| {
            let at = in_body(l);
            l[at] = b'y';
        })
    });
    assert_bad(&r, 3, "record 3 was altered");
    // Record 4's body changed: segment 5 does not link to it, its own prev is fine.
    let r = tampered(&t, |d| {
        edit(d, 4, 0, &|l| {
            let at = in_body(l);
            l[at] = b'y';
        })
    });
    assert_bad(&r, 4, "record 4 was altered");
}
