//! Opening a journal after a crash: an unfinished last line is cut off exactly,
//! anything else — a damaged or altered complete record — is refused untouched (and
//! a read-only check reports the same); rotation, the clock and idempotency survive
//! a reopen.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use tradetrail_journal::{
    parse_header, Durability, Entry, Error, Journal, JournalOptions, Receipt, RecordHash,
};
use tradetrail_testkit::MemStorage;

const NS_PER_DAY: i64 = 86_400 * 1_000_000_000;

fn dir() -> &'static Path {
    Path::new("/data/journal")
}

fn mem_opts(mem: &MemStorage) -> JournalOptions {
    JournalOptions::default()
        .with_storage(Arc::new(mem.clone()))
        .with_clock(TestClock::new(1_700_000_000_000_000_000, 1_000))
        .with_rotate_daily(false)
}

/// A copy of every file of `mem` (all of them synced), to damage without touching `mem`.
fn copy_of(mem: &MemStorage) -> MemStorage {
    mem.crash_image(usize::MAX)
}

/// The byte range `[start, end)` of the last line of `data`, `end` being its `\n`.
fn last_line_range(data: &[u8]) -> (usize, usize) {
    let end = data.len() - 1;
    assert_eq!(data[end], b'\n');
    let start = data[..end]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    (start, end)
}

/// Reopens `damaged` and checks it recovered to exactly `keep` bytes of the active
/// segment and `records` records, then appends one more and verifies.
fn check_repair(damaged: MemStorage, active: &Path, keep: &[u8], records: u64, cut: u64) {
    let (j, report) = Journal::open(dir(), mem_opts(&damaged)).expect("a torn tail is repaired");
    assert_eq!(report.records, records, "{report:?}");
    assert_eq!(report.truncated_bytes, cut, "{report:?}");
    assert_eq!(report.is_clean(), cut == 0);
    if cut > 0 {
        assert_eq!(report.truncated_segment.as_deref(), Some(active));
    } else {
        assert_eq!(report.truncated_segment, None);
    }
    assert_eq!(damaged.file(active).unwrap(), keep, "recovered bytes");
    // The chain resumes from the last good record.
    let lines = all_lines(&damaged, dir());
    let head = RecordHash::of_line(lines.last().unwrap());
    let r = j.append(entry(999, 3, Durability::Fsync)).unwrap();
    assert_eq!(r.seq, records);
    let new_line = j.read_line(records).unwrap();
    assert_eq!(parse_header(&new_line).unwrap().prev, head);
    assert_eq!(RecordHash::of_line(&new_line), r.hash);
    drop(j);
    assert_verifies(&damaged, dir(), records + 1);
}

#[test]
fn torn_tail_at_every_byte_of_the_last_record() {
    let mem = MemStorage::new();
    let (j, _) = Journal::create(dir(), "torn", mem_opts(&mem)).unwrap();
    for i in 1..6 {
        j.append(entry(i, 40, Durability::Fsync)).unwrap();
    }
    drop(j);
    let active = segment_path(dir(), 0);
    let full = mem.file(&active).unwrap();
    let (start, end) = last_line_range(&full);
    assert!(
        end - start > 150,
        "the last record is long enough to be interesting"
    );

    let mut cases = 0;
    for nuls in [0usize, 1, 13, 4096] {
        // `cut == start` loses nothing but the NULs; `cut == end` is the whole line
        // but its `\n`; `cut == end + 1` is the complete record followed by NULs.
        for cut in start..=end + 1 {
            let mut data = full[..cut].to_vec();
            data.resize(cut + nuls, 0);
            let damaged = copy_of(&mem);
            damaged.set_file(&active, data.clone());
            let (keep, records) = if cut == end + 1 { (cut, 6) } else { (start, 5) };
            let cut_bytes = (data.len() - keep) as u64;
            check_repair(damaged, &active, &full[..keep], records, cut_bytes);
            cases += 1;
        }
    }
    assert_eq!(cases, 4 * (end - start + 2));
}

/// Opening `damaged` for writing and checking it read-only both refuse with
/// `Error::Damaged` naming `seq` (and `offset` when given), and nothing is changed.
fn expect_damaged(damaged: &MemStorage, active: &Path, seq: u64, offset: Option<usize>) -> Error {
    let before = damaged.file(active).unwrap();
    let err = match Journal::open(dir(), mem_opts(damaged)) {
        Ok((_, report)) => panic!("opened a journal damaged at seq {seq}: {report:?}"),
        Err(e) => e,
    };
    assert!(
        matches!(&err, Error::Damaged { seq: s, segment, offset: o, .. }
            if *s == seq && segment == active && offset.is_none_or(|x| *o == x as u64)),
        "expected damage at seq {seq} offset {offset:?}: {err:?}"
    );
    assert!(err.to_string().contains("repair --truncate-after"), "{err}");
    assert_eq!(
        damaged.file(active).unwrap(),
        before,
        "open must change nothing"
    );
    let read_only = tradetrail_journal::check_open(damaged, dir()).unwrap_err();
    assert_eq!(
        read_only.to_string(),
        err.to_string(),
        "both doors give one verdict"
    );
    assert_eq!(
        damaged.file(active).unwrap(),
        before,
        "the check changes nothing"
    );
    err
}

#[test]
fn a_complete_last_record_with_lost_or_garbled_middle_is_refused_untouched() {
    // The line is complete (it ends in `\n`): it may have been acknowledged, so a run
    // of NULs or bytes that are not JSON inside it are damage, not a torn write.
    let mem = MemStorage::new();
    let (j, _) = Journal::create(dir(), "garbled", mem_opts(&mem)).unwrap();
    for i in 1..4 {
        j.append(entry(i, 60, Durability::Fsync)).unwrap();
    }
    drop(j);
    let active = segment_path(dir(), 0);
    let full = mem.file(&active).unwrap();
    let (start, end) = last_line_range(&full);
    let body_start = start + parse_header(&full[start..end]).unwrap().body_start;
    let mut cases = 0;
    for at in (start + 1..end - 8).step_by(7) {
        let mut nul = full.clone();
        nul[at..at + 8].fill(0);
        let damaged = copy_of(&mem);
        damaged.set_file(&active, nul);
        expect_damaged(&damaged, &active, 3, Some(start));
        cases += 1;
    }
    for at in (body_start + 12..end - 1).step_by(5) {
        let mut garbled = full.clone();
        garbled[at] = 0xff; // not UTF-8, so not JSON; no NUL, header intact
        let damaged = copy_of(&mem);
        damaged.set_file(&active, garbled);
        expect_damaged(&damaged, &active, 3, Some(start));
        cases += 1;
    }
    assert!(cases > 20);
}

#[test]
fn an_altered_record_before_an_acknowledged_one_is_never_cut_as_torn() {
    // The case that used to launder tampering: three fsync'd records, one byte of
    // record 2 changed. Record 3 no longer links to it, and it is the last line; it
    // was acknowledged, so opening must refuse, naming record 2, and keep record 3.
    let mem = MemStorage::new();
    let (j, _) = Journal::create(dir(), "launder", mem_opts(&mem)).unwrap();
    let receipts: Vec<Receipt> = (1..4)
        .map(|i| j.append(entry(i, 30, Durability::Fsync)).unwrap())
        .collect();
    assert_eq!(receipts.last().unwrap().seq, 3);
    drop(j);
    let active = segment_path(dir(), 0);
    let full = mem.file(&active).unwrap();
    let line2 = full.split(|&b| b == b'\n').nth(2).unwrap().to_vec();
    let at2 = full.windows(line2.len()).position(|w| w == line2).unwrap();
    for edit in [b'y', b'"'] {
        // A changed value, and an edit that breaks record 2's JSON.
        let mut d = full.clone();
        let at = at2 + line2.windows(3).position(|w| w == b"xxx").unwrap();
        d[at] = edit;
        let damaged = copy_of(&mem);
        damaged.set_file(&active, d.clone());
        for _ in 0..2 {
            // Opening twice changes nothing either.
            expect_damaged(&damaged, &active, 2, Some(at2));
        }
        assert_eq!(damaged.file(&active).unwrap(), d);
        assert_eq!(
            all_lines(&damaged, dir()).len(),
            4,
            "record 3 is still there"
        );
    }
}

#[test]
fn corruption_before_the_last_record_is_refused_untouched() {
    let mem = MemStorage::new();
    let (j, _) = Journal::create(dir(), "corrupt", mem_opts(&mem)).unwrap();
    for i in 1..8 {
        j.append(entry(i, 30, Durability::Fsync)).unwrap();
    }
    drop(j);
    let active = segment_path(dir(), 0);
    let full = mem.file(&active).unwrap();
    let starts: Vec<usize> = std::iter::once(0)
        .chain(
            full.iter()
                .enumerate()
                .filter(|(_, &b)| b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .collect();
    let line = |k: usize| &full[starts[k]..starts[k + 1] - 1];

    let expect_refusal = |data: Vec<u8>, seq: u64, offset: Option<usize>, reason_has: &str| {
        let damaged = copy_of(&mem);
        damaged.set_file(&active, data.clone());
        let err = expect_damaged(&damaged, &active, seq, offset);
        assert!(err.to_string().contains(reason_has), "{err}");
        assert_eq!(
            damaged.file(&active).unwrap(),
            data,
            "open must not cut good data"
        );
    };

    // A changed prev digit in record 5: the chain breaks at record 5.
    let mut d = full.clone();
    let at = starts[5] + parse_header(line(5)).unwrap().body_start - 10;
    d[at] = if d[at] == b'0' { b'1' } else { b'0' };
    expect_refusal(d, 5, Some(starts[5]), "prev does not match");
    // A changed body byte in record 5: record 6 no longer links to it.
    let mut d = full.clone();
    let at = starts[5] + line(5).windows(3).position(|w| w == b"xxx").unwrap();
    d[at] = b'y';
    expect_refusal(d, 5, Some(starts[5]), "record 5 was altered");
    // A block of NULs inside record 4.
    let mut d = full.clone();
    d[starts[4] + 20..starts[4] + 40].fill(0);
    expect_refusal(d, 4, Some(starts[4]), "NUL");
    // Record 3 deleted.
    let mut d = full[..starts[3]].to_vec();
    d.extend_from_slice(&full[starts[4]..]);
    expect_refusal(d, 3, Some(starts[3]), "found seq 4");
    // Record 5 torn in the middle of the file, complete records after it.
    let mut d = full[..starts[5] + 30].to_vec();
    d.extend_from_slice(&full[starts[6]..]);
    expect_refusal(d, 5, Some(starts[5]), "");
}

#[test]
fn bodies_that_recovery_would_cut_are_refused_up_front() {
    // NUL bytes and non-UTF-8 are what recovery takes for crash damage, so the journal
    // must never acknowledge a record containing them.
    for bad in [
        &b"{\"type\":\"custom.x\",\"data\":{\"s\":\"a\0b\"}}"[..],
        &b"{\"type\":\"custom.x\",\"data\":{\"s\":\"caf\xe9\"}}"[..],
    ] {
        let err = Entry::new(bad.to_vec(), Durability::Fsync)
            .map(|_| ())
            .unwrap_err();
        assert!(matches!(err, Error::InvalidEntry { .. }), "{err:?}");
    }
    // UTF-8 beyond ASCII is fine, and survives a reopen as the last record.
    let mem = MemStorage::new();
    let (j, _) = Journal::create(dir(), "utf8", mem_opts(&mem)).unwrap();
    let body = "{\"type\":\"custom.x\",\"data\":{\"s\":\"café €\"}}"
        .as_bytes()
        .to_vec();
    let r = j
        .append(Entry::new(body.clone(), Durability::Fsync).unwrap())
        .unwrap();
    drop(j);
    let (_j, report) = Journal::open(dir(), mem_opts(&mem)).unwrap();
    assert!(report.is_clean());
    assert_line_is(&all_lines(&mem, dir())[1], 1, r.hash, &body);
}

/// Appends records until a new segment has just been started by record `seq`,
/// returning that seq (the first of the new segment).
fn append_until_rotation(j: &Journal, mem: &MemStorage, durability: Durability) -> u64 {
    let before = segment_starts(mem, dir()).len();
    for i in 0..1000 {
        let r = j.append(entry(i, 50, durability)).unwrap();
        let starts = segment_starts(mem, dir());
        if starts.len() > before {
            assert_eq!(*starts.last().unwrap(), r.seq);
            return r.seq;
        }
    }
    panic!("no rotation")
}

#[test]
fn torn_tail_in_a_fresh_segment() {
    let mem = MemStorage::new();
    let opts = mem_opts(&mem).with_segment_max_bytes(700);
    let (j, _) = Journal::create(dir(), "fresh", opts.clone()).unwrap();
    let first = append_until_rotation(&j, &mem, Durability::Fsync);
    j.append(entry(first + 1, 50, Durability::Fsync)).unwrap();
    drop(j);
    assert!(first >= 2, "several records per segment");
    let active = segment_path(dir(), first);
    let full = mem.file(&active).unwrap();
    let (second, end) = last_line_range(&full);

    // The segment's only record torn at every byte: the segment ends up empty and the
    // chain resumes from the sealed segment's last record.
    for cut in 0..second {
        let damaged = copy_of(&mem);
        damaged.set_file(&active, full[..cut].to_vec());
        check_repair(damaged, &active, b"", first, cut as u64);
    }
    // Its second record torn at every byte.
    for cut in second..=end {
        let damaged = copy_of(&mem);
        damaged.set_file(&active, full[..cut].to_vec());
        check_repair(
            damaged,
            &active,
            &full[..second],
            first + 1,
            (cut - second) as u64,
        );
    }
    // An empty fresh segment (plus NULs) recovers to the segment before it.
    let damaged = copy_of(&mem);
    damaged.set_file(&active, vec![0; 100]);
    check_repair(damaged, &active, b"", first, 100);
}

#[test]
fn empty_active_segment_after_rotation() {
    // Crash after the new segment was created and its directory entry synced, before
    // any of its records were synced: the durable image has an empty last segment.
    let mem = MemStorage::new();
    let opts = mem_opts(&mem).with_segment_max_bytes(700);
    let (j, _) = Journal::create(dir(), "empty", opts.clone()).unwrap();
    let sealed = append_until_rotation(&j, &mem, Durability::Fsync);
    let first = append_until_rotation(&j, &mem, Durability::Os);
    let image = mem.crash_image(0);
    drop(j);
    let active = segment_path(dir(), first);
    assert_eq!(
        image.file(&active).unwrap(),
        b"",
        "the new segment exists, empty"
    );
    assert_eq!(segment_starts(&image, dir()), vec![0, sealed, first]);
    // verify accepts an empty last segment.
    assert_verifies(&image, dir(), first);

    let (j, report) = Journal::open(dir(), mem_opts(&image).with_segment_max_bytes(700)).unwrap();
    assert!(report.is_clean());
    assert_eq!(report.records, first);
    assert_eq!(report.segments, 3);
    let r = j.append(entry(1, 50, Durability::Fsync)).unwrap();
    assert_eq!(r.seq, first);
    drop(j);
    // The record went into the empty segment rather than a third one.
    assert_eq!(segment_starts(&image, dir()), vec![0, sealed, first]);
    assert_eq!(split_lines(&image.file(&active).unwrap()).len(), 1);
    assert_verifies(&image, dir(), first + 1);
}

fn ts_of(line: &[u8]) -> i64 {
    parse_header(line).unwrap().ts_recorded
}

#[test]
fn ts_recorded_never_decreases_when_the_clock_steps_back() {
    let mem = MemStorage::new();
    let clock = TestClock::new(5_000, 0);
    let opts = mem_opts(&mem).with_clock(clock.clone());
    let (j, _) = Journal::create(dir(), "clock", opts.clone()).unwrap();
    let mut expected = vec![5_000];
    for (set, recorded) in [
        (6_000, 6_000),
        (1_000, 6_000),
        (7_000, 7_000),
        (6_999, 7_000),
        (-5, 7_000),
    ] {
        clock.set(set);
        j.append(entry(1, 1, Durability::Os)).unwrap();
        expected.push(recorded);
    }
    drop(j);
    // After a reopen the floor is the last record's ts_recorded, read from disk.
    clock.set(3);
    let (j, _) = Journal::open(dir(), opts).unwrap();
    j.append(entry(2, 1, Durability::Fsync)).unwrap();
    expected.push(7_000);
    clock.set(7_001);
    j.append(entry(3, 1, Durability::Fsync)).unwrap();
    expected.push(7_001);
    drop(j);
    let ts: Vec<i64> = all_lines(&mem, dir()).iter().map(|l| ts_of(l)).collect();
    assert_eq!(ts, expected);
    assert_verifies(&mem, dir(), expected.len() as u64);
}

#[test]
fn rotation_at_utc_midnight() {
    let midnight = 20_000 * NS_PER_DAY; // 2024-10-04T00:00:00Z
    let mem = MemStorage::new();
    // Each reading of the clock advances it 1 ms; record 0 is 2.5 ms before midnight.
    let clock = TestClock::new(midnight - 2_500_000, 1_000_000);
    let opts = mem_opts(&mem)
        .with_clock(clock.clone())
        .with_rotate_daily(true);
    let (j, _) = Journal::create(dir(), "midnight", opts.clone()).unwrap();
    for i in 1..6 {
        j.append(entry(i, 5, Durability::Fsync)).unwrap();
    }
    drop(j);
    // Records 0..=2 are before midnight, 3..=5 after: two segments, split at 3.
    assert_eq!(segment_starts(&mem, dir()), vec![0, 3]);
    for (seg, range) in [(0, 0..3), (3, 3..6)] {
        let lines = split_lines(&mem.file(&segment_path(dir(), seg)).unwrap());
        let seqs: Vec<u64> = lines.iter().map(|l| parse_header(l).unwrap().seq).collect();
        assert_eq!(seqs, range.collect::<Vec<_>>());
        for l in &lines {
            assert_eq!(
                ts_of(l) >= midnight,
                seg == 3,
                "record in the wrong day's segment"
            );
        }
    }
    assert_verifies(&mem, dir(), 6);

    // Reopened the same day, the journal keeps writing to that day's segment...
    let (j, _) = Journal::open(dir(), opts.clone()).unwrap();
    j.append(entry(6, 5, Durability::Fsync)).unwrap();
    assert_eq!(segment_starts(&mem, dir()), vec![0, 3]);
    // ...a clock stepping back over midnight does not start a new segment (ts_recorded
    // is held at the last value, still on the new day)...
    clock.set(midnight - 10);
    j.append(entry(7, 5, Durability::Fsync)).unwrap();
    assert_eq!(segment_starts(&mem, dir()), vec![0, 3]);
    drop(j);
    // ...and the next midnight rotates again, also right after a reopen.
    clock.set(midnight + NS_PER_DAY);
    let (j, _) = Journal::open(dir(), opts).unwrap();
    let r = j.append(entry(8, 5, Durability::Fsync)).unwrap();
    drop(j);
    assert_eq!(segment_starts(&mem, dir()), vec![0, 3, r.seq]);
    assert_eq!(r.seq, 8);
    assert_verifies(&mem, dir(), 9);
}

#[test]
fn repeated_dedup_key_returns_the_original_receipt() {
    let mem = MemStorage::new();
    let (j, _) = Journal::create(dir(), "dedup", mem_opts(&mem)).unwrap();
    let id = "67e55044-10b1-426f-9247-bb680e5fe0c8";
    let first = j.append(keyed(1, id, Durability::Fsync)).unwrap();
    assert!(!first.duplicate);
    j.append(entry(2, 1, Durability::Fsync)).unwrap();
    let before = all_bytes(&mem);

    // Same key and body, even with another durability: nothing is written. (Another
    // body is refused: see dedup_conflict.rs.)
    assert_duplicate_of(j.append(keyed(1, id, Durability::Os)).unwrap(), first);
    let t = j.submit(keyed(1, id, Durability::Fsync)).unwrap();
    assert_eq!(t.seq(), first.seq);
    assert_duplicate_of(j.wait(t).unwrap(), first);
    assert_eq!(all_bytes(&mem), before);
    assert_eq!(j.status().unwrap().records, 3);

    // In a batch: a known key, a new key, and the new key again.
    let rs = j
        .append_batch(vec![
            keyed(1, id, Durability::Fsync),
            keyed(6, "order-7", Durability::Fsync),
            keyed(6, "order-7", Durability::Os),
        ])
        .unwrap();
    assert_duplicate_of(rs[0], first);
    assert_eq!((rs[1].seq, rs[1].duplicate), (3, false));
    assert_duplicate_of(rs[2], rs[1]);
    assert_eq!(j.status().unwrap().records, 4);
    drop(j);
    assert_verifies(&mem, dir(), 4);
}

#[test]
fn dedup_keys_are_reloaded_from_disk_across_segments() {
    let mem = MemStorage::new();
    let opts = mem_opts(&mem).with_segment_max_bytes(600);
    let (j, _) = Journal::create(dir(), "dedup", opts.clone()).unwrap();
    let mut originals = Vec::new();
    for i in 1..40u64 {
        let r = if i % 5 == 0 {
            let id = format!("evt-{i}");
            let r = j.append(keyed(i, &id, Durability::Fsync)).unwrap();
            originals.push((id, r));
            r
        } else {
            j.append(entry(i, 40, Durability::Os)).unwrap()
        };
        assert_eq!(r.seq, i);
    }
    drop(j);
    let segments = segment_starts(&mem, dir());
    assert!(
        segments.len() >= 5,
        "keys are spread over segments: {segments:?}"
    );
    let before = all_bytes(&mem);

    // Lazily loaded at the first keyed append after a reopen.
    let (j, _) = Journal::open(dir(), opts.clone()).unwrap();
    for (n, (id, original)) in originals.iter().enumerate() {
        let durability = if n % 2 == 0 {
            Durability::Os
        } else {
            Durability::Fsync
        };
        assert_duplicate_of(
            j.append(keyed(original.seq, id, durability)).unwrap(),
            *original,
        );
    }
    assert_eq!(all_bytes(&mem), before);
    // A new key is written, and is itself a duplicate from then on.
    let fresh = j.append(keyed(101, "evt-new", Durability::Fsync)).unwrap();
    assert_eq!((fresh.seq, fresh.duplicate), (40, false));
    assert_duplicate_of(
        j.append(keyed(101, "evt-new", Durability::Os)).unwrap(),
        fresh,
    );
    drop(j);

    // Loaded ahead of time, after another reopen.
    let (j, _) = Journal::open(dir(), opts).unwrap();
    j.load_dedup_index().unwrap();
    assert_duplicate_of(
        j.append(keyed(5, "evt-5", Durability::Os)).unwrap(),
        originals[0].1,
    );
    assert_duplicate_of(
        j.append(keyed(101, "evt-new", Durability::Os)).unwrap(),
        fresh,
    );
    assert_eq!(j.status().unwrap().records, 41);
    drop(j);
    assert_verifies(&mem, dir(), 41);
}
