//! Deduplication by `event_id` still catches a repeated event after its first record
//! left `journal/` for the archive.

mod common;

use common::*;

fn events(ids: std::ops::Range<u64>) -> String {
    ids.map(|i| {
        format!(
            r#"{{"type":"custom.note","event_id":"00000000-0000-4000-8000-{i:012}","ts_event":{},"source":"test","actor":"system","data":{{"i":{i}}}}}"#,
            1_795_000_000_000_000_000u64 + i
        ) + "\n"
    })
    .collect()
}

fn receipts(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_repeated_event_id_is_caught_after_its_record_left_the_journal() {
    let s = Scratch::new();
    s.on_data(
        "init",
        &[
            "--origin",
            "test.example/dedup",
            "--segment-max-bytes",
            "4096",
        ],
    )
    .expect(0);
    let first = s.file("first.jsonl", &events(0..200));
    let r = s.on_data("append", &[first.as_str()]).expect(0);
    let original: Vec<u64> = receipts(&r.stdout)
        .iter()
        .map(|v| v["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(original.len(), 200);
    s.on_data("archive", &[]).expect(0);
    let segs = s.segments();
    assert!(segs.len() > 6, "{segs:?}");
    for p in &segs[..segs.len() / 2] {
        std::fs::remove_file(p).unwrap();
    }
    // The same 200 events again, and 10 new ones: the 200 are duplicates, answered
    // with the seq of their first record whether it is in the archive or the journal.
    let again = s.file("again.jsonl", &(events(0..200) + &events(200..210)));
    let r = s.on_data("append", &[again.as_str()]).expect(0);
    let got = receipts(&r.stdout);
    assert_eq!(got.len(), 210);
    for (i, v) in got[..200].iter().enumerate() {
        assert_eq!(v["duplicate"], true, "event {i}: {v}");
        assert_eq!(v["seq"].as_u64(), Some(original[i]), "event {i}");
    }
    assert!(got[200..].iter().all(|v| v.get("duplicate").is_none()));
    // What is in the journal plus the archive: each event once.
    let q = s.on_data("query", &["--format", "jsonl"]).expect(0).stdout;
    let notes = q.lines().filter(|l| l.contains("custom.note")).count();
    assert_eq!(notes, 210);
}

#[test]
fn a_reused_event_id_is_refused_after_its_record_left_the_journal() {
    let s = Scratch::new();
    s.on_data(
        "init",
        &[
            "--origin",
            "test.example/conflict",
            "--segment-max-bytes",
            "4096",
        ],
    )
    .expect(0);
    let first = s.file("first.jsonl", &events(0..200));
    let r = s.on_data("append", &[first.as_str()]).expect(0);
    let seq0 = receipts(&r.stdout)[0]["seq"].as_u64().unwrap();
    s.on_data("archive", &[]).expect(0);
    let segs = s.segments();
    assert!(segs.len() > 6, "{segs:?}");
    for p in &segs[..segs.len() / 2] {
        std::fs::remove_file(p).unwrap();
    }
    let before = s.journal_snapshot();
    // Event 0 (now only in the archive) again, its data changed.
    let changed = events(0..1).replace(r#""i":0"#, r#""i":1000"#);
    assert_ne!(changed, events(0..1));
    let file = s.file("changed.jsonl", &changed);
    let r = s.on_data("append", &[file.as_str()]).expect(2);
    assert!(
        r.stderr.contains(&format!("record {seq0} ")),
        "{}",
        r.stderr
    );
    assert_eq!(s.journal_snapshot(), before);
    // Unchanged, it is the original receipt.
    let same = s.file("same.jsonl", &events(0..1));
    let r = s.on_data("append", &[same.as_str()]).expect(0);
    let got = receipts(&r.stdout);
    assert_eq!(got[0]["duplicate"], true);
    assert_eq!(got[0]["seq"].as_u64(), Some(seq0));
}
