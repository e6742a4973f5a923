//! Reading ranges of records across segments.

mod common;

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

#[test]
fn a_missing_or_truncated_middle_segment_fails_the_read_instead_of_shortening_it() {
    let mem = tradetrail_testkit::MemStorage::new();
    let dir = std::path::Path::new("/gap/journal");
    let opts = tradetrail_journal::JournalOptions::default()
        .with_storage(std::sync::Arc::new(mem.clone()))
        .with_rotate_daily(false)
        .with_segment_max_bytes(600);
    let (j, _) = tradetrail_journal::Journal::create(dir, "gap", opts).unwrap();
    for i in 1..30 {
        j.append(common::entry(i, 40, tradetrail_journal::Durability::Fsync))
            .unwrap();
    }
    drop(j);
    let starts = common::segment_starts(&mem, dir);
    assert!(starts.len() >= 4, "{starts:?}");
    let count = |m: &tradetrail_testkit::MemStorage| {
        let mut n = 0;
        let r = tradetrail_journal::for_each_line(m, dir, 0, None, |_, _| {
            n += 1;
            Ok(true)
        });
        (r, n)
    };
    assert_eq!(count(&mem).0.unwrap(), 30);

    // A middle segment removed.
    let gone = mem.crash_image(usize::MAX);
    let middle = common::segment_path(dir, starts[1]);
    tradetrail_journal::Storage::remove_file(&gone, &middle).unwrap();
    let (r, _) = count(&gone);
    let err = r.unwrap_err();
    assert!(
        matches!(err, tradetrail_journal::Error::Gap { next, .. } if next == starts[2]),
        "{err:?}"
    );
    // Reading only what lies before the gap still works.
    let mut n = 0;
    tradetrail_journal::for_each_line(&gone, dir, 0, Some(starts[1]), |_, _| {
        n += 1;
        Ok(true)
    })
    .unwrap();
    assert_eq!(n, starts[1]);
    // A range that ends past the gap fails, even where it ends in the next segment.
    let r = tradetrail_journal::for_each_line(&gone, dir, 0, Some(starts[2] + 1), |_, _| Ok(true));
    assert!(
        matches!(r, Err(tradetrail_journal::Error::Gap { .. })),
        "{r:?}"
    );
    let r = tradetrail_journal::for_each_line(&gone, dir, 0, Some(starts[2]), |_, _| Ok(true));
    assert!(
        matches!(r, Err(tradetrail_journal::Error::Gap { .. })),
        "{r:?}"
    );

    // A middle segment cut at a line boundary: the same gap.
    let cut = mem.crash_image(usize::MAX);
    let data = cut.file(&middle).unwrap();
    let first_nl = data.iter().position(|&b| b == b'\n').unwrap();
    cut.set_file(&middle, data[..first_nl + 1].to_vec());
    assert!(matches!(
        count(&cut).0.unwrap_err(),
        tradetrail_journal::Error::Gap { .. }
    ));
    // ... and in the middle of a line.
    let torn = mem.crash_image(usize::MAX);
    torn.set_file(&middle, data[..first_nl + 10].to_vec());
    assert!(matches!(
        count(&torn).0.unwrap_err(),
        tradetrail_journal::Error::Corrupt { .. }
    ));
}

#[test]
fn the_journal_removes_its_sealed_segments_oldest_first_and_forgets_them() {
    let mem = tradetrail_testkit::MemStorage::new();
    let dir = std::path::Path::new("/rm/journal");
    let opts = || {
        tradetrail_journal::JournalOptions::default()
            .with_storage(std::sync::Arc::new(mem.clone()))
            .with_rotate_daily(false)
            .with_segment_max_bytes(600)
    };
    let (j, _) = tradetrail_journal::Journal::create(dir, "rm", opts()).unwrap();
    for i in 1..30 {
        j.append(common::entry(i, 40, tradetrail_journal::Durability::Fsync))
            .unwrap();
    }
    let starts = common::segment_starts(&mem, dir);
    assert!(starts.len() >= 4, "{starts:?}");
    // Up to (not into) the third segment: the first two go.
    let removed = j.remove_sealed_before(starts[2] + 1).unwrap();
    assert_eq!(removed.len(), 2, "{removed:?}");
    assert_eq!(common::segment_starts(&mem, dir), starts[2..].to_vec());
    assert!(matches!(
        j.read_line(0),
        Err(tradetrail_journal::Error::Removed { first, .. }) if first == starts[2]
    ));
    assert!(j.read_line(starts[2]).is_ok());
    // The active segment is never removed, whatever is asked.
    j.remove_sealed_before(u64::MAX).unwrap();
    assert_eq!(common::segment_starts(&mem, dir).len(), 1);
    let r = j
        .append(common::entry(99, 5, tradetrail_journal::Durability::Fsync))
        .unwrap();
    assert_eq!(r.seq, 30);
    drop(j);
    // It reopens as a journal that starts later, and its records are whole.
    let (j, report) = tradetrail_journal::Journal::open(dir, opts()).unwrap();
    assert_eq!(report.records, 31);
    assert!(j.read_line(30).is_ok());
}

/// `Journal::for_each_line` starts at an offset the journal keeps instead of the
/// segment's first byte, and reads exactly what the reader from the files reads.
#[test]
fn the_journal_reads_from_its_kept_offsets_what_the_files_hold() {
    let mem = MemStorage::new();
    let dir = std::path::Path::new("/j");
    let opts = JournalOptions::default()
        .with_storage(Arc::new(mem.clone()))
        .with_segment_max_bytes(200_000)
        .with_rotate_daily(false);
    let (j, _) = Journal::create(dir, "reader-test", opts).unwrap();
    let entries: Vec<Entry> = (0..5000)
        .map(|i| {
            let body = format!(
                r#"{{"type":"custom.x","i":{i},"pad":"{}"}}"#,
                "p".repeat(i % 37)
            );
            Entry::new(body.into_bytes(), Durability::Os).unwrap()
        })
        .collect();
    j.append_batch(entries).unwrap();
    assert!(j.status().unwrap().segments > 2);
    let read = |from: u64, to: Option<u64>, own: bool| {
        let mut got = Vec::new();
        let push = |seq: u64, line: &[u8]| {
            assert_eq!(parse_header(line).unwrap().seq, seq);
            got.push(line.to_vec());
            Ok(true)
        };
        let next = if own {
            j.for_each_line(from, to, push).unwrap()
        } else {
            for_each_line(&mem, dir, from, to, push).unwrap()
        };
        (next, got)
    };
    for (from, to) in [
        (0, None),
        (1023, Some(1025)),
        (1024, None),
        (1025, Some(3000)),
        (2047, Some(2049)),
        (4095, None),
        (4999, None),
        (5000, None),
        (5001, None),
    ] {
        let own = read(from, to, true);
        assert_eq!(own, read(from, to, false), "from {from} to {to:?}");
        let end = to.unwrap_or(5001).min(5001);
        assert_eq!(own.1.len() as u64, end.saturating_sub(from), "from {from}");
    }
}
