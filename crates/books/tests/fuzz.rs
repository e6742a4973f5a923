//! Fuzzing the broker statement readers: arbitrary and mutated bytes into the IBKR Flex
//! XML, generic CSV and generic JSON parsers (`Statement::parse`), Flex trades alone and
//! `parse_flex_time`. Each must answer, never panic; a statement that was read is
//! written back as CSV that reads back the same.
//!
//! Seeds: the real Flex sample in testdata/ibkr-flex, a cut-down copy of it, and small
//! CSV and JSON statements. A fixed number of cases by default;
//! `TRADETRAIL_FUZZ_SECS=60` runs each test for a minute (see docs/fuzzing.md).

use std::path::PathBuf;

use tradetrail_books::flex::{parse_flex_time, parse_trades};
use tradetrail_books::{ReadOptions, Statement, StatementFormat};
use tradetrail_testkit::fuzz::{self, Input, Rng};

fn flex_sample() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/ibkr-flex/activity-2018-11-09.xml");
    std::fs::read_to_string(path).expect("the Flex sample in testdata/ibkr-flex")
}

/// The sample with only its first two `<Trade>` and `<CashReportCurrency>` rows, so a
/// case parses in well under a millisecond.
fn flex_small(full: &str) -> String {
    let (mut trades, mut cash) = (0, 0);
    full.lines()
        .filter(|l| {
            let l = l.trim_start();
            if l.starts_with("<Trade ") {
                trades += 1;
                trades <= 2
            } else if l.starts_with("<CashReportCurrency ") {
                cash += 1;
                cash <= 2
            } else {
                true
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const CSV: &str = "\
record,account,trade_id,order_id,instrument,side,quantity,price,time,commission,currency,multiplier,realized_pnl,status,filled_qty,amount,from,to
period,,,,,,,,,,,,,,,,2026-11-20,2026-11-20T23:59:59Z
trade,U1,T1,O-1,ESZ6,SLD,2,6000.25,2026-11-20T14:00:00.5Z,4.20,USD,50,-12.5,,,,,
trade,U1,T2,,AAPL,buy,100,228.51,2026-11-20T14:31:00Z,,USD,,,,,,,
position,U1,,,ESZ6,,-2,6001,,,USD,50,,,,,,
cash,U1,,,,,,,,,EUR,,,,,-0.10,,
order,U1,,O-1,,,,,,,,,,Canceled,2,,,
";

const JSON: &str = r#"{"period":{"from":"2026-11-20","to":"2026-11-20T23:59:59Z"},
  "trades":[{"account":"U1","trade_id":"T1","instrument":"AAPL","side":"buy","quantity":100,"price":"228.51","time":"2026-11-20T14:31:00Z","commission":"1.00","currency":"USD"},
            {"account":"U1","trade_id":"T2","order_id":"O-2","instrument":"ESZ6","side":"sell","quantity":"2","price":6000.25,"time":"2026-11-20T14:00:00.5Z","multiplier":50,"realized_pnl":"-12.5"}],
  "positions":[{"account":"U1","instrument":"AAPL","quantity":"100","price":"229"}],
  "cash":[{"account":"U1","currency":"USD","amount":"-0.10"}],
  "orders":[{"account":"U1","order_id":"O-2","status":"cancelled","filled_qty":"2"}]}"#;

const DICT: &[&[u8]] = &[
    b"<Trade ",
    b"<Trades>",
    b"</Trades>",
    b"<FlexStatement ",
    b"</FlexStatement>",
    b"<CashReportCurrency ",
    b"/>",
    b"<![CDATA[",
    b"]]>",
    b"<!DOCTYPE x [<!ENTITY a \"aaaaaaaaaa\">]>",
    b"&a;",
    b"&amp;",
    b"&#0;",
    b"&#x110000;",
    b"quantity=\"",
    b"tradePrice=\"",
    b"dateTime=\"",
    b"buySell=\"",
    b"multiplier=\"",
    b"levelOfDetail=\"EXECUTION\" ",
    b"20181109;093100",
    b"2018-11-09, 09:31:00",
    b"99999999;999999",
    b"\"",
    b",",
    b"\n",
    b"trade,",
    b"position,",
    b"cash,",
    b"order,",
    b"period,",
    b"\"trades\":[",
    b"\"positions\":[",
    b"\"quantity\":",
    b"\"price\":",
    b"\"time\":",
    b"{",
    b"}",
    b"[",
    b"]",
];

/// A statement that was read must be written back as CSV that reads back the same:
/// the same records with the same values (compared as numbers: the text may differ, e.g.
/// a Flex commission of `0` is written `-0`, see docs/fuzzing.md), and from then on the
/// same text.
fn check_read_back(st: &Statement) {
    if st
        .trades
        .iter()
        .any(|t| t.price.is_sign_negative() && !t.price.is_zero())
    {
        // Finding (docs/fuzzing.md): the Flex reader takes a negative trade price, the
        // CSV reader refuses one, so such a statement cannot be written back as CSV.
        return;
    }
    let csv = st.to_csv();
    let read = |text: &str| {
        Statement::parse(text, StatementFormat::Csv, "again", &ReadOptions::default())
            .unwrap_or_else(|e| panic!("its own CSV is refused: {e}\n{text}"))
    };
    let again = read(&csv);
    let key = |s: &Statement| {
        (
            s.from,
            s.to,
            s.trades
                .iter()
                .map(|t| {
                    (
                        t.account_id.clone(),
                        t.trade_id.clone(),
                        t.order_id.clone(),
                        t.instrument.clone(),
                        t.side,
                        t.quantity,
                        t.price,
                        t.ts,
                        t.commission,
                        t.currency.clone(),
                        t.multiplier,
                        t.realized_pnl,
                    )
                })
                .collect::<Vec<_>>(),
            s.positions.len(),
            s.cash.iter().map(|c| c.change).collect::<Vec<_>>(),
            s.orders.len(),
        )
    };
    assert_eq!(
        key(&again),
        key(st),
        "CSV does not read back the same values"
    );
    let back = again.to_csv();
    assert_eq!(read(&back).to_csv(), back, "CSV is not a fixed point");
}

#[derive(Debug)]
struct Case {
    format: StatementFormat,
    offset: i32,
    text: Input,
}

#[test]
fn statement_parsers_answer_every_input() {
    let full = flex_sample();
    let small = flex_small(&full);
    let opts = ReadOptions::default();
    for (text, format) in [
        (&full, StatementFormat::Flex),
        (&small, StatementFormat::Flex),
    ] {
        let st = Statement::parse(text, format, "seed", &opts).unwrap();
        assert!(!st.trades.is_empty());
        check_read_back(&st);
    }
    assert_eq!(
        parse_trades(&small, "seed", &opts).unwrap().len(),
        2,
        "cut-down sample"
    );
    for (text, format) in [(CSV, StatementFormat::Csv), (JSON, StatementFormat::Json)] {
        let st = Statement::parse(text, format, "seed", &opts)
            .unwrap_or_else(|e| panic!("seed {format:?}: {e}"));
        check_read_back(&st);
    }
    let flex_seeds: Vec<&[u8]> = vec![small.as_bytes(), small.as_bytes(), full.as_bytes()];
    let others: Vec<&[u8]> = vec![small.as_bytes(), CSV.as_bytes(), JSON.as_bytes()];
    let mut read = [0u64; 3];
    fuzz::run(
        "books-statements",
        2_000,
        |rng: &mut Rng| {
            let format = *rng.pick(&[
                StatementFormat::Flex,
                StatementFormat::Csv,
                StatementFormat::Json,
            ]);
            let seed: &[u8] = match format {
                StatementFormat::Flex => flex_seeds[rng.below(flex_seeds.len())],
                StatementFormat::Csv => CSV.as_bytes(),
                StatementFormat::Json => JSON.as_bytes(),
            };
            let bytes = if rng.one_in(6) {
                fuzz::arbitrary(rng, DICT, 600)
            } else {
                fuzz::mutate(rng, seed, &others, DICT)
            };
            let offset = if rng.one_in(4) {
                *rng.pick(&[i32::MIN, i32::MAX, -86_400 * 400, 86_400 * 400, 1])
            } else {
                -18_000
            };
            Case {
                format,
                offset,
                text: Input(bytes),
            }
        },
        |case| {
            // Statement::read takes bytes and refuses non-UTF-8 with an error; the
            // parsers take text, so invalid bytes arrive as U+FFFD here.
            let text = String::from_utf8_lossy(&case.text.0);
            let opts = ReadOptions {
                flex_utc_offset_seconds: case.offset,
            };
            if let Ok(st) = Statement::parse(&text, case.format, "fuzz", &opts) {
                read[case.format as usize] += 1;
                check_read_back(&st);
            }
            if case.format == StatementFormat::Flex {
                let _ = parse_trades(&text, "fuzz", &opts);
            }
        },
    );
    eprintln!("statements read (flex, csv, json): {read:?}");
    assert!(
        read.iter().all(|&n| n > 0),
        "no mutated statement was read: {read:?}"
    );
}

#[test]
fn flex_times_answer_every_text() {
    let seeds: Vec<&[u8]> = vec![
        b"20181109;093100",
        b"20181109 093100",
        b"2018-11-09;09:31:00",
        b"2018-11-09, 09:31:00",
        b"20181109",
    ];
    fuzz::run(
        "books-flex-time",
        8_000,
        |rng: &mut Rng| {
            let seed = *rng.pick(&seeds);
            let bytes = if rng.one_in(4) {
                fuzz::arbitrary(rng, &seeds, 40)
            } else {
                fuzz::mutate(rng, seed, &seeds, DICT)
            };
            let offset = if rng.one_in(3) {
                rng.u64() as i32
            } else {
                -18_000
            };
            (
                String::from_utf8_lossy(&bytes).into_owned(),
                offset,
                rng.one_in(2),
            )
        },
        |(text, offset, eod)| {
            let _ = parse_flex_time(text, *offset, *eod);
        },
    );
}

/// Found by `flex_times_answer_every_text` (case 556 of the default seed): a date before
/// 1677 (or after 2262) overflowed the i64 of ns since the epoch and panicked ("attempt
/// to multiply with overflow") instead of being refused.
#[test]
fn flex_times_outside_the_i64_range_are_refused() {
    for (text, offset, eod) in [
        ("1018-11-09;09:32:00", -18_000, false),
        ("99991231", 0, true),
        ("16770921;001243", 0, false),
    ] {
        let e = parse_flex_time(text, offset, eod).unwrap_err();
        assert!(e.contains("outside"), "{text}: {e}");
    }
    // The edges that fit still read.
    assert_eq!(
        parse_flex_time("22620411;234716", 0, false),
        Ok(9_223_372_036_000_000_000)
    );
    assert!(parse_flex_time("16770922", 0, false).is_ok());
}

/// Found by `statement_parsers_answer_every_input` (case 28588 of the default seed, in a
/// 60 s run): a Flex trade with a negative `tradePrice` is read, while the generic CSV
/// refuses a negative price ("must not be negative"), so the two readers disagree on the
/// same statement and `to_csv` writes a file `Statement::parse` refuses. Which rule is
/// right (negative prices do occur, e.g. futures in April 2020) is a design decision; see
/// docs/fuzzing.md.
#[test]
#[ignore = "finding: Flex accepts a negative trade price that the CSV reader refuses (docs/fuzzing.md)"]
fn flex_and_csv_agree_on_negative_prices() {
    let full = flex_sample();
    let small = flex_small(&full);
    let i = small.find("tradePrice=\"").unwrap() + "tradePrice=\"".len();
    let negative = format!("{}-{}", &small[..i], &small[i..]);
    let opts = ReadOptions::default();
    let flex = Statement::parse(&negative, StatementFormat::Flex, "flex", &opts);
    let csv = flex
        .as_ref()
        .ok()
        .map(|st| Statement::parse(&st.to_csv(), StatementFormat::Csv, "csv", &opts));
    assert_eq!(
        flex.is_ok(),
        csv.is_some_and(|c| c.is_ok()),
        "Flex read: {}",
        flex.is_ok()
    );
}

/// Found by `statement_parsers_answer_every_input` in a 60 s run: deeply nested elements
/// (the "deep nesting" mutation, `<a>` repeated) overflowed the stack inside roxmltree,
/// which parses nested elements by recursion, and aborted the whole process (the CLI, or
/// the server reconciling its statement inbox). Past 64 levels a Flex file is refused.
#[test]
fn deeply_nested_flex_is_refused_not_a_stack_overflow() {
    let opts = ReadOptions::default();
    for n in [100usize, 1_000, 100_000] {
        let text = format!(
            "<FlexQueryResponse>{}{}</FlexQueryResponse>",
            "<a>".repeat(n),
            "</a>".repeat(n)
        );
        let e = Statement::parse(&text, StatementFormat::Flex, "deep", &opts).unwrap_err();
        assert!(e.to_string().contains("nested more than"), "{e}");
        assert!(parse_trades(&text, "deep", &opts).is_err());
    }
    // Siblings, comments, CDATA and a quoted `>` or `/>` do not count as depth.
    let full = flex_sample();
    let many = full.replacen(
        "<Trades>",
        &format!(
            "<Trades><!-- <a><a> -->{}<![CDATA[<b><b>]]>",
            "<x note=\"y>z\" other='/>'/>".repeat(2_000)
        ),
        1,
    );
    assert_eq!(
        parse_trades(&many, "many", &opts).unwrap().len(),
        parse_trades(&full, "full", &opts).unwrap().len()
    );
}
