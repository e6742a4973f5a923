//! Reading ranges of records across segments.

use std::sync::Arc;

use tradetrail_journal::{for_each_line, parse_header, Durability, Entry, Journal, JournalOptions};
use tradetrail_testkit::MemStorage;

#[test]
fn ranges_across_segments_match_what_was_written() {
    let mem = MemStorage::new();
    let dir = std::path::Path::new("/j");
    let opts = JournalOptions::default()
        .with_storage(Arc::new(mem.clone()))
        .with_segment_max_bytes(4096)
        .with_rotate_daily(false);
    let (j, _) = Journal::create(dir, "reader-test", opts).unwrap();
    let mut lines = vec![j.read_line(0).unwrap()];
    for i in 0..300 {
        let body = format!(
            r#"{{"type":"custom.x","i":{i},"pad":"{}"}}"#,
            "p".repeat(i % 50)
        );
        j.append(Entry::new(body.into_bytes(), Durability::Os).unwrap())
            .unwrap();
        lines.push(j.read_line(i as u64 + 1).unwrap());
    }
    assert!(j.status().unwrap().segments > 5);
    for (from, to) in [
        (0, None),
        (0, Some(1)),
        (17, Some(18)),
        (55, Some(200)),
        (299, None),
        (301, None),
        (120, Some(120)),
    ] {
        let mut got = Vec::new();
        let next = for_each_line(&mem, dir, from, to, |seq, line| {
            assert_eq!(parse_header(line).unwrap().seq, seq);
            got.push(line.to_vec());
            Ok(true)
        })
        .unwrap();
        let end = to.unwrap_or(301).min(301) as usize;
        let want: Vec<Vec<u8>> = lines[(from as usize).min(end)..end].to_vec();
        assert_eq!(got, want, "from {from} to {to:?}");
        assert_eq!(next, if want.is_empty() { from } else { end as u64 });
    }
    // Stopping early.
    let mut n = 0;
    let next = for_each_line(&mem, dir, 10, None, |_, _| {
        n += 1;
        Ok(n < 5)
    })
    .unwrap();
    assert_eq!((n, next), (5, 15));
}
