//! A journal written before validation bounded quantities and prices may hold numbers
//! whose products or sums do not fit a decimal: the books say which record, never panic.

use std::path::Path;

use rust_decimal::Decimal;
use serde_json::{json, Value};
use tradetrail_books::{Books, BooksOptions, Error};
use tradetrail_journal::{Durability, Entry, Journal, JournalOptions};

/// `Decimal::MAX`, as in the issue.
const HUGE: &str = "79228162514264337593543950335";

fn order_body(ty: &str, ts: i64, data: Value) -> String {
    json!({"type": ty, "ts_event": ts, "source": "oms", "actor": "system",
        "trader_id": "T-1", "account_id": "U1", "instrument_id": "AAPL",
        "entity": {"kind": "order", "id": "O-1"}, "data": data})
    .to_string()
}

/// A journal holding `bodies` after its `journal.created` record 0, appended raw:
/// no model validation, as an older version would have written them.
fn journal(dir: &Path, bodies: &[String]) {
    let (j, _) = Journal::create(dir, "test/overflow", JournalOptions::default()).unwrap();
    for b in bodies {
        j.append(Entry::new(b.clone().into_bytes(), Durability::Os).unwrap())
            .unwrap();
    }
}

fn overflow_seq(e: &Error) -> u64 {
    match e {
        Error::Overflow { seq, .. } => *seq,
        other => panic!("not an overflow: {other}"),
    }
}

#[test]
fn the_issues_order_is_an_error_naming_the_fill_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("journal");
    journal(
        &dir,
        &[
            order_body(
                "order.submitted",
                1,
                json!({"side": "buy", "quantity": HUGE, "order_type": "limit", "price": HUGE}),
            ),
            order_body("order.accepted", 2, json!({})),
            order_body(
                "order.filled",
                3,
                json!({"fill_qty": HUGE, "fill_price": HUGE, "trade_id": "X1"}),
            ),
            order_body(
                "order.filled",
                4,
                json!({"fill_qty": HUGE, "fill_price": HUGE, "trade_id": "X2"}),
            ),
        ],
    );
    let err = Books::from_journal(&dir, None, &BooksOptions::default()).unwrap_err();
    // Record 0 is journal.created: the first fill is seq 3.
    assert_eq!(overflow_seq(&err), 3, "{err}");
    let msg = err.to_string();
    assert!(msg.starts_with("record 3: "), "{msg}");
    assert!(msg.contains("data.fill_qty × data.fill_price"), "{msg}");
    assert!(msg.contains("reconciliation.correction"), "{msg}");
}

#[test]
fn a_sum_over_fills_that_overflows_names_the_fill_that_tips_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("journal");
    // Each fill alone fits (5e28 × 1); their sum does not.
    let big = "50000000000000000000000000000";
    journal(
        &dir,
        &[
            order_body(
                "order.submitted",
                1,
                json!({"side": "buy", "quantity": HUGE, "order_type": "market"}),
            ),
            order_body("order.accepted", 2, json!({})),
            order_body(
                "order.filled",
                3,
                json!({"fill_qty": big, "fill_price": "1", "trade_id": "X1"}),
            ),
            order_body(
                "order.filled",
                4,
                json!({"fill_qty": big, "fill_price": "1", "trade_id": "X2"}),
            ),
        ],
    );
    let err = Books::from_journal(&dir, None, &BooksOptions::default()).unwrap_err();
    assert_eq!(overflow_seq(&err), 4, "{err}");

    // The lenient form books what fits and lists what did not.
    let records = tradetrail_books::read_records(&dir, None).unwrap();
    let b = Books::from_records(&records, &BooksOptions::default());
    let overflows = b.overflows();
    assert_eq!(overflows.len(), 1);
    assert_eq!(overflow_seq(&overflows[0]), 4);
    assert_eq!(b.fills().len(), 1, "the overflowing fill is not booked");
    let big: Decimal = big.parse().unwrap();
    assert_eq!(b.position("U1", "AAPL").unwrap().quantity, big);
    assert_eq!(b.order("O-1").unwrap().filled_qty, big);
    assert_eq!(b.cash_of("U1", "USD"), -big);
    // As of before the second fill, nothing overflows.
    assert!(Books::try_from_records(&records, &BooksOptions::at(3)).is_ok());
}

#[test]
fn an_unrealized_pnl_that_overflows_names_the_mark_that_causes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("journal");
    journal(
        &dir,
        &[
            order_body(
                "order.submitted",
                1,
                json!({"side": "buy", "quantity": "1000000000000000000000000000", "order_type": "market"}),
            ),
            order_body("order.accepted", 2, json!({})),
            order_body(
                "order.filled",
                3,
                json!({"fill_qty": "1000000000000000000000000000", "fill_price": "1", "trade_id": "X1"}),
            ),
            json!({"type": "signal.generated", "ts_event": 4, "source": "alpha",
                "actor": "algo:a", "strategy_id": "S", "instrument_id": "AAPL",
                "data": {"direction": "long", "price": HUGE}})
            .to_string(),
        ],
    );
    let err = Books::from_journal(&dir, None, &BooksOptions::default()).unwrap_err();
    assert_eq!(overflow_seq(&err), 4, "{err}");
    assert!(err.to_string().contains("unrealized P&L"), "{err}");
    // Before the mark, the position is fine.
    let b = Books::from_journal(&dir, None, &BooksOptions::at(3)).unwrap();
    assert!(b.overflows().is_empty());
}
