//! A replica's journal: record 0 at a given time, records at given `ts_recorded`s
//! (never below the previous record's) — equal inputs give equal bytes.

use tradetrail_journal::{parse_header, Durability, Entry, Journal, JournalOptions};

fn body(i: u64) -> Vec<u8> {
    format!("{{\"type\":\"t.x\",\"ts_event\":{i},\"source\":\"s\",\"actor\":\"a\"}}").into_bytes()
}

fn build(dir: &std::path::Path, times: &[i64]) -> Vec<u8> {
    let (j, r0) =
        Journal::create_at(dir, "test/replica", Some(1_000), JournalOptions::default()).unwrap();
    assert_eq!(r0.seq, 0);
    let entries = times
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            Entry::new(body(i as u64), Durability::Os)
                .unwrap()
                .with_ts_recorded(t)
        })
        .collect();
    j.append_batch(entries).unwrap();
    j.flush().unwrap();
    let mut all = Vec::new();
    for seq in 0..=times.len() as u64 {
        all.extend(j.read_line(seq).unwrap());
        all.push(b'\n');
    }
    all
}

#[test]
fn given_times_make_identical_journals_and_stay_monotonic() {
    let tmp = tempfile::tempdir().unwrap();
    // 1_790_000_000 s: the same UTC day for all, so no daily rotation in between.
    let base = 1_790_000_000_000_000_000;
    let times = [base + 5, base + 3, base + 9, base + 9, base + 2];
    let a = build(&tmp.path().join("a"), &times);
    let b = build(&tmp.path().join("b"), &times);
    assert_eq!(a, b, "the same inputs must give the same bytes");
    let ts: Vec<i64> = a
        .split(|&c| c == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| parse_header(l).unwrap().ts_recorded)
        .collect();
    // Record 0 at the given time; then the given times, held up to the previous one.
    assert_eq!(
        ts,
        vec![1_000, base + 5, base + 5, base + 9, base + 9, base + 9]
    );
    // Without a given time, the clock's (now) is used.
    let (j, _) = Journal::create_at(
        &tmp.path().join("c"),
        "x/y",
        None,
        JournalOptions::default(),
    )
    .unwrap();
    let line = j.read_line(0).unwrap();
    assert!(parse_header(&line).unwrap().ts_recorded > base / 2);
}
