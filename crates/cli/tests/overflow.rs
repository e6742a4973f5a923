//! The issue's journal: an order with quantity and price `Decimal::MAX` and two fills,
//! written before validation bounded them (appended raw here). `append` now refuses
//! such an event; the readers fail with exit 3 naming the record, never exit 101.

mod common;

use common::*;
use tradetrail_core::{DataDir, Recorder};
use tradetrail_journal::{Durability, Entry};

const HUGE: &str = "79228162514264337593543950335";

fn body(ty: &str, ts: &str, data: &str) -> String {
    format!(
        r#"{{"type":"{ty}","ts_event":{ts},"source":"oms","actor":"system","trader_id":"T-1","account_id":"U1","instrument_id":"AAPL","entity":{{"kind":"order","id":"O-1"}},"data":{{{data}}}}}"#
    )
}

/// A data directory holding the issue's records; returns the seq of the first fill.
fn issue_dir(s: &Scratch) -> u64 {
    s.init("test/overflow");
    let (rec, _) = Recorder::open(&DataDir::new(&s.data)).unwrap();
    let mut seqs = Vec::new();
    for (ty, ts, data) in [
        (
            "order.submitted",
            "1795700000000000000",
            format!(r#""side":"buy","quantity":"{HUGE}","order_type":"limit","price":"{HUGE}""#),
        ),
        ("order.accepted", "1795700001000000000", String::new()),
        (
            "order.filled",
            "1795700002000000000",
            format!(r#""fill_qty":"{HUGE}","fill_price":"{HUGE}","trade_id":"X1""#),
        ),
        (
            "order.filled",
            "1795700003000000000",
            format!(r#""fill_qty":"{HUGE}","fill_price":"{HUGE}","trade_id":"X2""#),
        ),
    ] {
        let entry = Entry::new(body(ty, ts, &data).into_bytes(), Durability::Os).unwrap();
        seqs.push(rec.journal().append(entry).unwrap().seq);
    }
    seqs[2]
}

#[test]
fn append_refuses_the_issues_order_naming_the_fields() {
    let s = Scratch::new();
    s.init("test/overflow");
    let line = body(
        "order.submitted",
        "1795700000000000000",
        &format!(r#""side":"buy","quantity":"{HUGE}","order_type":"limit","price":"{HUGE}""#),
    );
    let run = s
        .tt_stdin(&["append", "--data", &s.data_arg()], line.as_bytes())
        .expect(2);
    assert!(
        run.stderr.contains("data.quantity: must be at most 10^12"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("data.price: must be at most 10^12"),
        "{}",
        run.stderr
    );
}

#[test]
fn positions_and_reports_exit_3_naming_the_record() {
    let s = Scratch::new();
    let fill = issue_dir(&s);
    let named = format!("record {fill}: ");
    for args in [
        vec!["positions"],
        vec!["report", "daily"],
        vec!["report", "monthly"],
        vec!["report", "tax"],
    ] {
        let run = s.on_data(args[0], &args[1..]).expect(3);
        assert!(
            run.stderr.contains(&named) && run.stderr.contains("overflows a decimal"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "{args:?}: {}", run.stderr);
    }
    // Execution sums the filled quantities as it reads them: the second fill tips it.
    let run = s.on_data("report", &["execution"]).expect(3);
    assert!(
        run.stderr.contains(&format!("record {}: ", fill + 1)),
        "{}",
        run.stderr
    );
    // As of before the fills, the books can be derived.
    s.on_data("positions", &["--at", "1795700001000000000"])
        .expect(0);
}

#[test]
fn trail_tells_the_story_with_the_overflow_as_a_gap() {
    let s = Scratch::new();
    let fill = issue_dir(&s);
    let run = s.on_data("trail", &["O-1", "--format", "jsonl"]).expect(0);
    assert_eq!(run.stdout.lines().count(), 4, "{}", run.stdout);
    assert!(
        run.stderr
            .contains(&format!("gap at seq {}: fill of {HUGE}", fill + 1)),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("±7.9e28"), "{}", run.stderr);
}
