//! A generated day against a statement with planted discrepancies: exactly those are
//! found, with the right severities; the appended records verify; a second run finds
//! only what is still under review.

use std::collections::BTreeSet;

use rust_decimal::Decimal;
use tradetrail_books::{
    generate_statement, read_records, run, Books, BooksOptions, ReadOptions, RunOptions, Severity,
    Statement, StatementFormat, Tolerances,
};
use tradetrail_core::{DataDir, InitOptions, Recorder};
use tradetrail_demo::{run_demo, DemoOptions};

fn demo_dir(events: u64) -> (tempfile::TempDir, Recorder) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path().join("data"));
    let rec = Recorder::init(
        &dir,
        InitOptions {
            origin: Some("test/books".into()),
            ..Default::default()
        },
    )
    .unwrap();
    run_demo(
        &rec,
        &DemoOptions {
            events,
            ..DemoOptions::default()
        },
        &|_| {},
    )
    .unwrap();
    (tmp, rec)
}

fn opts() -> RunOptions {
    RunOptions {
        actor: "system".into(),
        statement_name: "broker.csv".into(),
        statement_sha256: "0".repeat(64),
        now: 1_795_800_000_000_000_000,
    }
}

#[test]
fn planted_discrepancies_are_found_corrected_and_reviewed() {
    let (_tmp, rec) = demo_dir(4000);
    let records = read_records(&rec.data_dir().journal(), None).unwrap();
    let books = Books::from_records(&records, &BooksOptions::default());
    assert!(books.anomalies().is_empty(), "{:?}", books.anomalies());
    let (statement, planted) = generate_statement(&records, true).unwrap();
    assert_eq!(planted.len(), 4);
    // Through the file format and back.
    let csv = statement.to_csv();
    let parsed = Statement::parse(
        &csv,
        StatementFormat::Csv,
        "broker.csv",
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(parsed.trades.len(), statement.trades.len());
    assert_eq!(parsed.trades[3].price, statement.trades[3].price);
    assert_eq!(
        parsed.cash,
        statement
            .cash
            .iter()
            .cloned()
            .map(|mut c| {
                c.location = parsed
                    .cash
                    .iter()
                    .find(|p| p.account_id == c.account_id && p.currency == c.currency)
                    .unwrap()
                    .location
                    .clone();
                c
            })
            .collect::<Vec<_>>()
    );

    let out = run(&rec, &parsed, &Tolerances::default(), &opts()).unwrap();
    let found: BTreeSet<(String, String, String, Severity)> = out
        .reconciliation
        .discrepancies
        .iter()
        .map(|d| {
            (
                d.category.to_string(),
                d.field.clone(),
                d.key.clone(),
                d.severity,
            )
        })
        .collect();
    let expected: BTreeSet<(String, String, String, Severity)> = planted
        .iter()
        .map(|p| {
            let sev = if p.severity == "minor" {
                Severity::Minor
            } else {
                Severity::Major
            };
            (
                p.category.to_string(),
                p.field.to_string(),
                p.key.clone(),
                sev,
            )
        })
        .collect();
    assert_eq!(found, expected, "{:#?}", out.reconciliation.discrepancies);
    assert_eq!(out.corrections.len(), 2);
    assert_eq!(out.reviews.len(), 2);
    assert_eq!(
        out.reconciliation.matched_by_id,
        out.reconciliation.our_trades
    );
    // The cash discrepancy is the fee only; the price one a cent.
    let cash = out
        .reconciliation
        .discrepancies
        .iter()
        .find(|d| d.category == "cash")
        .unwrap();
    assert_eq!(cash.unexplained, Some(Decimal::new(-1250, 2)));
    let price = out
        .reconciliation
        .discrepancies
        .iter()
        .find(|d| d.field == "price")
        .unwrap();
    assert_eq!(price.difference, Some(Decimal::new(1, 2)));

    // The appended records verify.
    let report = tradetrail_journal::verify(
        &tradetrail_journal::FsStorage,
        &rec.data_dir().journal(),
        &|_| {},
    )
    .unwrap();
    assert!(report.ok);

    // The books now carry the corrections.
    let records = read_records(&rec.data_dir().journal(), None).unwrap();
    let after = Books::from_records(&records, &BooksOptions::default());
    let fixed = after.fill(&price.key).unwrap();
    assert_eq!(
        fixed.price,
        price.broker.as_deref().unwrap().parse::<Decimal>().unwrap()
    );
    assert_eq!(
        fixed.corrected_by,
        vec![out.corrections.iter().find(|c| c.0 == price.id).unwrap().1]
    );
    assert_eq!(after.corrections().len(), 2);

    // Again: the minor ones are gone, the major ones are already under review.
    let again = run(&rec, &parsed, &Tolerances::default(), &opts()).unwrap();
    assert!(
        again.corrections.is_empty(),
        "{:#?}",
        again.reconciliation.discrepancies
    );
    assert!(again.reviews.is_empty());
    assert_eq!(again.already_reviewed.len(), 2);
    assert_eq!(again.reconciliation.count(Severity::Minor), 0);
}

#[test]
fn a_clean_statement_has_no_discrepancies_and_tolerances_decide_severity() {
    let (_tmp, rec) = demo_dir(2000);
    let records = read_records(&rec.data_dir().journal(), None).unwrap();
    let (clean, planted) = generate_statement(&records, false).unwrap();
    assert!(planted.is_empty());
    let r = tradetrail_books::reconcile(&records, &clean, &Tolerances::default());
    assert!(r.discrepancies.is_empty(), "{:#?}", r.discrepancies);
    assert!(r.positions_compared > 0 && r.cash_compared > 0 && r.orders_compared > 0);

    // With a zero price bound the cent is major; with a 10.00 cash bound the fee is major.
    let (planted_st, _) = generate_statement(&records, true).unwrap();
    let strict = Tolerances {
        price_minor: Decimal::ZERO,
        cash_minor: Decimal::TEN,
        ..Tolerances::default()
    };
    let r = tradetrail_books::reconcile(&records, &planted_st, &strict);
    assert_eq!(r.count(Severity::Minor), 0);
    assert_eq!(r.count(Severity::Major), 4);
}
