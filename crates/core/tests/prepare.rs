//! `Recorder::prepare_lines`: many lines into entries on several threads, all or
//! nothing, bad lines named by their input line numbers in input order.

use tradetrail_core::{split_lines, DataDir, InitOptions, Recorder, MIN_LINES_PER_THREAD};
use tradetrail_journal::Durability;

fn init(tmp: &tempfile::TempDir) -> Recorder {
    let dir = DataDir::new(tmp.path().join("data"));
    Recorder::init(
        &dir,
        InitOptions {
            origin: Some("test/prepare".into()),
            ..Default::default()
        },
    )
    .unwrap()
}

/// A valid event whose data carries `i`; every other one is an `order.filled` (fsync'd
/// by default), the rest `custom.*` (not).
fn event(i: usize) -> String {
    if i.is_multiple_of(2) {
        format!(
            r#"{{"type":"order.filled","ts_event":{},"source":"oms","actor":"system","trader_id":"T-1","instrument_id":"AAPL.XNAS","entity":{{"kind":"order","id":"O-{i}"}},"data":{{"fill_qty":"1","fill_price":"2.5","trade_id":"X-{i}"}}}}"#,
            1_795_000_000_000_000_000u64 + i as u64
        )
    } else {
        format!(
            r#"{{"type":"custom.n","ts_event":{},"source":"s","actor":"system","data":{{"i":{i}}}}}"#,
            1_795_000_000_000_000_000u64 + i as u64
        )
    }
}

/// `n` lines of input: line k (1-based) holds `event(k)`.
fn input(n: usize) -> String {
    (1..=n).map(|k| event(k) + "\n").collect()
}

#[test]
fn entries_come_back_in_input_order_whatever_the_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = init(&tmp);
    let n = 5 * MIN_LINES_PER_THREAD + 3; // chunks of unequal length on 2, 3 and 8 threads
    let text = input(n);
    let lines = split_lines(text.as_bytes());
    assert_eq!(lines.len(), n);
    let one_by_one: Vec<_> = lines
        .iter()
        .map(|(_, l)| rec.prepare_line(l, None).unwrap())
        .collect();
    for threads in [1, 2, 3, 8] {
        let entries = rec.prepare_lines_with(&lines, None, threads).unwrap();
        assert_eq!(entries.len(), n, "{threads} threads");
        for (k, (a, b)) in entries.iter().zip(&one_by_one).enumerate() {
            assert_eq!(a.body(), b.body(), "entry {k}, {threads} threads");
            assert_eq!(a.durability(), b.durability(), "entry {k}");
        }
        // The configured durability follows each entry's own type.
        assert_eq!(
            entries[0].durability(),
            Durability::Os,
            "line 1 is custom.n"
        );
        assert_eq!(
            entries[1].durability(),
            Durability::Fsync,
            "line 2 is order.filled"
        );
    }
    // The override applies to every entry.
    let entries = rec.prepare_lines(&lines, Some(Durability::Os)).unwrap();
    assert!(entries.iter().all(|e| e.durability() == Durability::Os));
    assert_eq!(rec.prepare_lines(&[], None).unwrap().len(), 0);
}

#[test]
fn every_bad_line_is_reported_in_input_order_from_every_chunk() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = init(&tmp);
    let n = 4 * MIN_LINES_PER_THREAD;
    let mut lines: Vec<String> = (1..=n).map(event).collect();
    // Bad lines in the first, a middle and the last chunk, and two next to each other.
    let bad = [
        3,
        2 * MIN_LINES_PER_THREAD + 1,
        2 * MIN_LINES_PER_THREAD + 2,
        n,
    ];
    for &k in &bad {
        lines[k - 1] = format!(r#"{{"type":"custom.n","ts_event":{k},"source":"s"}}"#);
    }
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let numbered = split_lines(text.as_bytes());
    for threads in [1, 2, 4, 8] {
        let got = rec
            .prepare_lines_with(&numbered, None, threads)
            .unwrap_err();
        let at: Vec<usize> = got.iter().map(|b| b.line).collect();
        assert_eq!(at, bad, "{threads} threads");
        for b in &got {
            assert_eq!(b.errors.iter().count(), 1, "line {}", b.line);
            assert!(
                b.errors.get("actor").is_some(),
                "line {}: {:?}",
                b.line,
                b.errors
            );
        }
    }
    // Blank lines count: the same bad line moved down by two blank lines is named so.
    let text = format!("{}\n\n\n{}\n", event(1), lines[2]);
    let got = rec
        .prepare_lines(&split_lines(text.as_bytes()), None)
        .unwrap_err();
    assert_eq!(got.iter().map(|b| b.line).collect::<Vec<_>>(), [4]);
}

#[test]
fn reading_in_blocks_gives_what_the_whole_input_gives() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = init(&tmp);
    // A byte-order mark, blank lines, CRLF, a line longer than the smaller blocks and
    // no `\n` after the last line.
    let mut text = String::from("\u{feff}");
    for k in 1..=2500 {
        text.push_str(&event(k));
        text.push_str(match k % 7 {
            0 => "\r\n",
            3 => "\n\n \n",
            _ => "\n",
        });
    }
    text.push_str(&event(2501));
    let whole = rec
        .prepare_lines(&split_lines(text.as_bytes()), None)
        .unwrap();
    let numbers: Vec<usize> = split_lines(text.as_bytes()).iter().map(|l| l.0).collect();
    assert_eq!(whole.len(), 2501);
    for block in [1, 2, 3, 7, 200, 4096, 1 << 20] {
        let got = rec
            .prepare_reader_in_blocks(text.as_bytes(), None, block)
            .unwrap()
            .unwrap();
        assert_eq!(got.lines, numbers, "block {block}");
        assert_eq!(got.entries.len(), whole.len(), "block {block}");
        for (a, b) in got.entries.iter().zip(&whole) {
            assert_eq!(a.body(), b.body(), "block {block}");
        }
    }
}

#[test]
fn reading_in_blocks_names_every_bad_line_by_its_input_line() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = init(&tmp);
    let mut lines: Vec<String> = (1..=3000).map(event).collect();
    for k in [1, 1500, 2999] {
        lines[k - 1] = format!(r#"{{"type":"custom.n","ts_event":{k},"source":"s"}}"#);
    }
    // The byte-order mark does not hide line 1's problem, nor shift the numbers.
    let text = format!("\u{feff}{}\n", lines.join("\n"));
    for block in [5, 1000, 1 << 20] {
        let bad = rec
            .prepare_reader_in_blocks(text.as_bytes(), None, block)
            .unwrap()
            .unwrap_err();
        let at: Vec<usize> = bad.iter().map(|b| b.line).collect();
        assert_eq!(at, [1, 1500, 2999], "block {block}");
        assert!(bad.iter().all(|b| b.errors.get("actor").is_some()));
    }
    // An input that cannot be read is an error of its own.
    struct Broken;
    impl std::io::Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk on fire"))
        }
    }
    let e = rec.prepare_reader(Broken, None).unwrap_err();
    assert!(e.to_string().contains("disk on fire"));
}
