//! End to end: recorded text cannot drive the terminal or fake table rows in the
//! human formats, while jsonl and CSV keep it exact; and an OS error is said once.

mod common;

use common::*;

const T0: u64 = 1_795_000_000_000_000_000;

/// An order and its rejection whose reason clears the screen and fakes a row.
fn evil_journal(s: &Scratch) {
    s.init("escapes");
    let submitted = format!(
        r#"{{"type":"order.submitted","ts_event":{T0},"source":"oms","actor":"trader:T-1","trader_id":"T-1","instrument_id":"AAPL","entity":{{"kind":"order","id":"O-1"}},"data":{{"side":"buy","quantity":"1","order_type":"market"}}}}"#
    );
    let rejected = format!(
        r#"{{"type":"order.rejected","ts_event":{},"source":"gw","actor":"system","trader_id":"T-1","instrument_id":"AAPL","entity":{{"kind":"order","id":"O-1"}},"data":{{"reason":"\u001b[2J\n|   fake | row |\r\u009b1m"}}}}"#,
        T0 + 1_000_000
    );
    let input = s.file("evil.jsonl", &format!("{submitted}\n{rejected}\n"));
    s.on_data("append", &[&input]).expect(0);
}

/// No raw control character but the line ends, and the fake row shown escaped.
#[track_caller]
fn assert_escaped(what: &str, out: &str, lines: usize) {
    assert!(!out.contains('\u{1b}'), "{what}: raw ESC in\n{out}");
    assert!(
        !out.chars().any(|c| c.is_control() && c != '\n'),
        "{what}: raw control character in\n{out:?}"
    );
    assert!(
        out.contains("\\u{1b}[2J\\n|   fake | row |\\r\\u{9b}1m"),
        "{what}: reason not shown escaped in\n{out}"
    );
    assert_eq!(out.lines().count(), lines, "{what}: extra lines in\n{out}");
    assert!(
        !out.lines().any(|l| l.starts_with('|')),
        "{what}: a faked row in\n{out}"
    );
}

#[test]
fn query_trail_incident_tables_escape_control_characters() {
    let s = Scratch::new();
    evil_journal(&s);

    // Header + journal.created + 2 records.
    let r = s.on_data("query", &["--format", "table"]).expect(0);
    assert_escaped("query", &r.stdout, 4);

    // Title line, header, 2 records, "gaps: ..." and its lines, notes.
    let r = s.on_data("trail", &["O-1"]).expect(0);
    assert_escaped("trail", &r.stdout, trail_lines(&r.stdout));
    let rows = r
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .count();
    assert_eq!(rows, 2, "{}", r.stdout);

    let at = (T0 + 500_000).to_string();
    let r = s
        .on_data(
            "incident",
            &["--at", &at, "--window", "1s", "--source", "gw*"],
        )
        .expect(0);
    // Heading, group header, 1 group, blank, record header, 1 record.
    assert_escaped("incident", &r.stdout, 6);

    // The machine formats are exact: jsonl is the journal's line; in CSV the data
    // column is the data as JSON, one field on one line.
    let r = s
        .on_data("query", &["--format", "jsonl", "--type", "order.rejected"])
        .expect(0);
    assert_eq!(r.stdout, format!("{}\n", s.lines()[2]));
    assert!(r.stdout.contains(r"\u001b[2J\n|"), "{}", r.stdout);
    let r = s
        .on_data("query", &["--format", "csv", "--type", "order.rejected"])
        .expect(0);
    assert!(r.stdout.contains(r"\u001b[2J\n|"), "{}", r.stdout);
    assert_eq!(r.stdout.lines().count(), 2, "{}", r.stdout);
}

/// The trail story's line count: everything it prints, which must be the title, the
/// header, one line per record and the gap and note lines (counted from their marks).
fn trail_lines(out: &str) -> usize {
    let marks = out
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            t.starts_with("! ") || t.starts_with("gaps:") || t.starts_with("note:")
        })
        .count();
    2 + 2 + marks
}

#[test]
fn the_funnel_escapes_recorded_reasons() {
    let s = Scratch::new();
    evil_journal(&s);
    let r = s.on_data("stats", &["--conversion"]).expect(0);
    assert!(!r.stdout.contains('\u{1b}'), "{}", r.stdout);
    assert!(r.stdout.contains("\\u{1b}[2J\\n|"), "{}", r.stdout);
    assert!(
        !r.stdout.lines().any(|l| l.starts_with('|')),
        "{}",
        r.stdout
    );
}

#[test]
fn an_os_error_is_printed_once() {
    let s = Scratch::new();
    s.init("oserr");
    // The data directory is there, its journal is not: the index lists it.
    std::fs::remove_dir_all(s.journal_dir()).unwrap();
    let r = s.on_data("query", &[]);
    assert_ne!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stderr.matches("os error 2").count(), 1, "{}", r.stderr);

    // A statement that does not exist.
    let s = Scratch::new();
    s.init("oserr");
    let missing = s.path().join("none.xml").display().to_string();
    let r = s.on_data("reconcile", &["--statement", &missing]);
    assert_ne!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stderr.matches("os error 2").count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("none.xml"), "{}", r.stderr);
}
