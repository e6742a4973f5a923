//! The query index is bound to the journal: an edited index file is never answered
//! from (the issue "reads answer from a partial view": `query` returned 900 of 1,000
//! matches and `stats` counted 101 `journal.created` after combo.col was edited).

mod common;

use common::*;
use serde_json::Value;

fn count_of(stats: &str, ty: &str) -> u64 {
    stats
        .lines()
        .map(parse)
        .find(|v| v["type"] == ty)
        .and_then(|v| v["count"].as_u64())
        .unwrap_or(0)
}

#[test]
fn an_edited_column_file_is_rebuilt_not_answered_from() {
    let s = Scratch::new();
    s.init("index-bound");
    let events: Vec<String> = (0..1000).map(|i| custom_event("hit", i)).collect();
    let file = s.file("events.jsonl", &(events.join("\n") + "\n"));
    s.on_data("append", &[&file]).expect(0);

    let query = |s: &Scratch| {
        s.on_data("query", &["--type", "custom.hit", "--format", "jsonl"])
            .expect(0)
    };
    let r = query(&s);
    assert_eq!(r.stdout.lines().count(), 1000);
    let stats = s
        .on_data("stats", &["--by", "type", "--format", "jsonl"])
        .expect(0)
        .stdout;
    assert_eq!(count_of(&stats, "journal.created"), 1);
    assert_eq!(count_of(&stats, "custom.hit"), 1000);

    // Records 1..=100 get record 0's combo (journal.created), as in the issue.
    let col = s.data.join("index/query/combo.col");
    let mut bytes = std::fs::read(&col).unwrap();
    assert_eq!(bytes.len(), 1001 * 4, "one u32 per record");
    let first: [u8; 4] = bytes[..4].try_into().unwrap();
    assert_ne!(&bytes[4..8], &first, "record 1 is another type");
    for row in 1..=100 {
        bytes[row * 4..row * 4 + 4].copy_from_slice(&first);
    }
    std::fs::write(&col, &bytes).unwrap();

    let r = query(&s);
    assert_eq!(
        r.stdout.lines().count(),
        1000,
        "every match, from a rebuilt index\n{}",
        r.stderr
    );
    let lines = s.lines();
    assert_eq!(
        r.stdout,
        lines[1..].join("\n") + "\n",
        "the journal's lines"
    );
    let stats = s
        .on_data("stats", &["--by", "type", "--format", "jsonl"])
        .expect(0)
        .stdout;
    assert_eq!(count_of(&stats, "journal.created"), 1);
    assert_eq!(count_of(&stats, "custom.hit"), 1000);
    let total: u64 = stats
        .lines()
        .map(parse)
        .map(|v: Value| v["count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 1001);
}

#[test]
fn the_rebuild_says_why_on_stderr() {
    let s = Scratch::new();
    s.init("index-bound");
    let events: Vec<String> = (0..10).map(|i| custom_event("hit", i)).collect();
    let file = s.file("events.jsonl", &(events.join("\n") + "\n"));
    s.on_data("append", &[&file]).expect(0);
    let r = s.on_data("query", &["--type", "custom.hit"]).expect(0);
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    let col = s.data.join("index/query/ts_event.col");
    let mut bytes = std::fs::read(&col).unwrap();
    bytes[3 * 8] ^= 1;
    std::fs::write(&col, &bytes).unwrap();
    let r = s.on_data("query", &["--type", "custom.hit"]).expect(0);
    assert!(
        r.stderr.contains("warning: the query index was damaged")
            && r.stderr.contains("ts_event.col"),
        "{}",
        r.stderr
    );
    // Rebuilt once: the next call is quiet.
    let r = s.on_data("query", &["--type", "custom.hit"]).expect(0);
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
}
