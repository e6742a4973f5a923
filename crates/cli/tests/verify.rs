//! End to end: `tradetrail verify` on intact, tampered and torn journals, and
//! `tradetrail status`. Runs the real binary.

mod common;

use std::io::Write;

use common::*;

/// An initialized journal with record 0 and `n` custom events (seq 1..=n).
fn journal_with(n: u64) -> Scratch {
    let s = Scratch::new();
    s.init("test/verify");
    let input: String = (1..=n).map(|i| custom_event("v", i) + "\n").collect();
    let r = s
        .tt_stdin(&["append", "--data", &s.data_arg()], input.as_bytes())
        .expect(0);
    assert_eq!(receipts(&r.stdout).len(), n as usize);
    s
}

/// Rewrites the single segment with `f` applied to its lines (each without `\n`).
fn rewrite_lines(s: &Scratch, f: impl FnOnce(&mut Vec<String>)) {
    let seg = s.first_segment();
    assert_eq!(s.segments().len(), 1);
    let mut lines = s.lines();
    f(&mut lines);
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(seg, text).unwrap();
}

/// The byte offset in the segment file of `needle` inside record `seq`'s body.
fn offset_in_record(s: &Scratch, seq: usize, needle: &str) -> usize {
    let lines = s.lines();
    let start: usize = lines[..seq].iter().map(|l| l.len() + 1).sum();
    let line = &lines[seq];
    let body_start = line.len() - body_after_prev(line).len();
    let at = line[body_start..].find(needle).expect("needle in body") + body_start;
    start + at
}

#[test]
fn verify_an_intact_journal() {
    let s = journal_with(5);
    let r = s.on_data("verify", &[]).expect(0);
    assert!(r.stdout.starts_with("ok:"), "{}", r.stdout);
    assert!(r.stdout.contains("6 records"), "{}", r.stdout);
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);

    let (code, v) = s.verify_json();
    assert_eq!(code, Some(0));
    let obj = v.as_object().expect("an object");
    for key in ["ok", "records", "first_bad_seq", "reason"] {
        assert!(obj.contains_key(key), "verify --json has {key}: {v}");
    }
    assert_eq!(v["ok"], true);
    assert_eq!(v["records"], 6);
    assert!(v["first_bad_seq"].is_null(), "{v}");
    assert!(v["reason"].is_null(), "{v}");
    assert_eq!(v["head_hash"], s.status()["head_hash"]);
}

#[test]
fn a_flipped_byte_in_record_3_is_found_at_seq_3() {
    let s = journal_with(5);
    let seg = s.first_segment();
    let mut bytes = std::fs::read(&seg).unwrap();
    // Inside record 3's body: the first letter of its source ("test" -> "uest").
    let at = offset_in_record(&s, 3, "\"source\":\"") + "\"source\":\"".len();
    assert_eq!(bytes[at], b't');
    bytes[at] ^= 0x01;
    std::fs::write(&seg, &bytes).unwrap();

    let (code, v) = s.verify_json();
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["ok"], false);
    assert_eq!(v["first_bad_seq"], 3, "{v}");
    assert!(v["reason"].as_str().is_some_and(|r| !r.is_empty()), "{v}");
    assert_eq!(v["records"], 3, "records before the bad one: {v}");

    let r = s.on_data("verify", &[]).expect(1);
    assert!(r.stdout.contains("FAILED"), "{}", r.stdout);
    assert!(r.stdout.contains("seq 3"), "{}", r.stdout);

    // A journal that fails verification is not opened for writing.
    let r = s.on_data("append", &[]);
    assert_ne!(r.code, Some(0), "{r:?}");
    let r = s.on_data("status", &[]);
    assert_ne!(r.code, Some(0), "{r:?}");
    assert_eq!(std::fs::read(&seg).unwrap(), bytes, "nothing repaired away");
}

#[test]
fn a_changed_digit_in_a_decimal_is_found() {
    let s = journal_with(5);
    let seg = s.first_segment();
    let mut bytes = std::fs::read(&seg).unwrap();
    // custom_event's data.i of record 2 is 2: change it to 3.
    let at = offset_in_record(&s, 2, "\"i\":2") + "\"i\":".len();
    bytes[at] = b'3';
    std::fs::write(&seg, &bytes).unwrap();
    let (code, v) = s.verify_json();
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["first_bad_seq"], 2, "{v}");
}

#[test]
fn a_removed_record_is_found() {
    let s = journal_with(5);
    rewrite_lines(&s, |l| {
        l.remove(3);
    });
    let (code, v) = s.verify_json();
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["first_bad_seq"], 3, "{v}");
}

#[test]
fn reordered_records_are_found() {
    let s = journal_with(5);
    rewrite_lines(&s, |l| l.swap(2, 3));
    let (code, v) = s.verify_json();
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["first_bad_seq"], 2, "{v}");
}

#[test]
fn a_repeated_record_is_found() {
    let s = journal_with(5);
    rewrite_lines(&s, |l| {
        let copy = l[2].clone();
        l.insert(3, copy);
    });
    let (code, v) = s.verify_json();
    assert_eq!(code, Some(1), "{v}");
    // The journal names the record that appears twice.
    assert_eq!(v["first_bad_seq"], 2, "{v}");
    assert!(
        v["reason"].as_str().unwrap().contains("appears again"),
        "{v}"
    );
}

#[test]
fn an_inserted_forged_record_is_found() {
    let s = journal_with(5);
    rewrite_lines(&s, |l| {
        // A forged record 3 that chains onto record 2 (same prev as the real 3).
        let forged = l[3].replacen("\"i\":3", "\"i\":33", 1);
        assert_ne!(forged, l[3]);
        l.insert(3, forged);
    });
    let (code, v) = s.verify_json();
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["first_bad_seq"], 3, "{v}");
}

#[test]
fn a_torn_last_line_is_a_warning_then_repaired_by_the_next_writer() {
    let s = journal_with(5);
    let seg = s.first_segment();
    let intact = std::fs::read(&seg).unwrap();
    let status_before = s.status();

    // Half of a plausible next record, without its newline.
    let lines = s.lines();
    let fake = lines[5].replacen("\"seq\":5,", "\"seq\":6,", 1);
    let half = &fake.as_bytes()[..fake.len() / 2];
    std::fs::OpenOptions::new()
        .append(true)
        .open(&seg)
        .unwrap()
        .write_all(half)
        .unwrap();

    // verify only reads: ok, with a warning on stderr, and the file untouched.
    let r = s.on_data("verify", &[]).expect(0);
    assert!(r.stdout.starts_with("ok:"), "{}", r.stdout);
    assert!(r.stderr.contains("warning"), "{}", r.stderr);
    assert!(r.stderr.contains("torn"), "{}", r.stderr);
    let (code, v) = s.verify_json();
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["records"], 6);
    assert_eq!(v["warnings"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(
        std::fs::read(&seg).unwrap().len(),
        intact.len() + half.len()
    );

    // status only reads too: it reports the unfinished line and leaves it.
    let r = s.on_data("status", &[]).expect(0);
    assert!(r.stdout.contains("unfinished"), "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!("{} bytes", half.len())),
        "{}",
        r.stdout
    );
    assert_eq!(
        std::fs::read(&seg).unwrap().len(),
        intact.len() + half.len()
    );
    // The next writer cuts exactly the torn bytes, and says so.
    let r = s.on_data("checkpoint", &[]).expect(0);
    assert!(r.stderr.contains("unfinished last line"), "{}", r.stderr);
    assert_eq!(
        std::fs::read(&seg).unwrap()[..intact.len()],
        intact[..],
        "exactly the torn bytes were cut"
    );

    let r = s.on_data("verify", &[]).expect(0);
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    let st = s.status();
    assert_eq!(st["partial_bytes"], 0);
    assert_eq!(
        st["records"].as_u64(),
        status_before["records"].as_u64().map(|r| r + 1),
        "the checkpoint's record"
    );
}

#[test]
fn status_json_reports_an_unfinished_line_and_leaves_it() {
    let s = journal_with(2);
    let seg = s.first_segment();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&seg)
        .unwrap()
        .write_all(br#"{"seq":3,"ts_rec"#)
        .unwrap();
    let before = std::fs::read(&seg).unwrap();
    let st = s.status();
    assert_eq!(st["partial_bytes"], 16);
    assert_eq!(st["records"], 3);
    assert_eq!(
        std::fs::read(&seg).unwrap(),
        before,
        "status changes nothing"
    );
}

#[test]
fn append_after_a_torn_tail_repairs_it_and_continues_the_chain() {
    let s = journal_with(3);
    let head = s.status()["head_hash"].clone();
    let seg = s.first_segment();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&seg)
        .unwrap()
        .write_all(b"{\"seq\":4,\"ts_recorded\":17")
        .unwrap();
    let input = custom_event("after", 1) + "\n";
    let r = s
        .tt_stdin(&["append", "--data", &s.data_arg()], input.as_bytes())
        .expect(0);
    assert!(r.stderr.contains("recovered"), "{}", r.stderr);
    let rs = receipts(&r.stdout);
    assert_eq!(rs[0]["seq"], 4);
    let records = s.records();
    assert_eq!(records.len(), 5);
    assert_eq!(records[4]["prev"], head);
    assert_eq!(records[4]["type"], "custom.after");
    let r = s.on_data("verify", &[]).expect(0);
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
}

#[test]
fn status_reports_records_segments_bytes_head_and_durability() {
    let s = journal_with(4);
    let st = s.status();
    let obj = st.as_object().expect("an object");
    for key in [
        "data",
        "origin",
        "records",
        "segments",
        "bytes",
        "head_seq",
        "head_hash",
        "head_ts_recorded",
        "durability",
        "segment_max_bytes",
        "rotate_daily",
    ] {
        assert!(obj.contains_key(key), "status --json has {key}: {st}");
    }
    assert_eq!(st["origin"], "test/verify");
    assert_eq!(st["records"], 5);
    assert_eq!(st["head_seq"], 4);
    assert_eq!(st["segments"], 1);
    let size = std::fs::metadata(s.first_segment()).unwrap().len();
    assert_eq!(st["bytes"], size);
    assert!(is_hash(st["head_hash"].as_str().unwrap()), "{st}");
    let records = s.records();
    assert_eq!(st["head_ts_recorded"], records[4]["ts_recorded"]);
    assert_eq!(st["durability"]["default"], "os");
    let fsync: Vec<&str> = st["durability"]["fsync"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(fsync.contains(&"order.*"), "{st}");
    assert_eq!(st["segment_max_bytes"], 64 * 1024 * 1024);

    // The table form says the same things.
    let r = s.on_data("status", &[]).expect(0);
    for word in [
        "records",
        "segments",
        "bytes",
        "head",
        "durability",
        "test/verify",
    ] {
        assert!(
            r.stdout.contains(word),
            "status mentions {word}\n{}",
            r.stdout
        );
    }
    assert!(
        r.stdout.contains(st["head_hash"].as_str().unwrap()),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("recovered"), "{}", r.stdout);

    // status and verify change nothing.
    let snap = s.journal_snapshot();
    s.on_data("status", &[]).expect(0);
    s.on_data("verify", &[]).expect(0);
    assert_eq!(s.journal_snapshot(), snap);
}
