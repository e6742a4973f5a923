//! A journal written before validation bounded quantities and prices may hold the
//! issue's order (quantity and price `Decimal::MAX`, two fills): every report that
//! computes with them fails naming the record, and none panics.

mod common;

use common::{Journal, DAY, H};
use serde_json::json;
use tradetrail_journal::{Durability, Entry};
use tradetrail_reports::{daily, execution, monthly, tax, Error, ReportFilter};

const HUGE: &str = "79228162514264337593543950335";

/// Appends a raw body, bypassing the model's validation as an older version did.
fn raw(j: &Journal, ty: &str, ts: i64, data: serde_json::Value) -> u64 {
    let body = json!({"type": ty, "ts_event": ts, "source": "oms", "actor": "system",
        "trader_id": "T-1", "strategy_id": "S-1", "account_id": "U1", "instrument_id": "AAPL",
        "entity": {"kind": "order", "id": "O-1"}, "data": data});
    j.rec
        .journal()
        .append(Entry::new(body.to_string().into_bytes(), Durability::Os).unwrap())
        .unwrap()
        .seq
}

fn issue_journal() -> (Journal, u64) {
    let j = Journal::new();
    raw(
        &j,
        "order.submitted",
        DAY + H,
        json!({"side": "buy", "quantity": HUGE, "order_type": "limit", "price": HUGE}),
    );
    raw(&j, "order.accepted", DAY + H + 1, json!({}));
    let first = raw(
        &j,
        "order.filled",
        DAY + H + 2,
        json!({"fill_qty": HUGE, "fill_price": HUGE, "trade_id": "X1"}),
    );
    raw(
        &j,
        "order.filled",
        DAY + H + 3,
        json!({"fill_qty": HUGE, "fill_price": HUGE, "trade_id": "X2"}),
    );
    (j, first)
}

fn assert_overflow_at(r: Result<impl std::fmt::Debug, Error>, seq: u64) {
    match r {
        Err(e @ Error::Overflow { .. }) => {
            let Error::Overflow { seq: s, .. } = &e else {
                unreachable!()
            };
            assert_eq!(*s, seq, "{e}");
            assert!(e.to_string().starts_with(&format!("record {seq}: ")), "{e}");
            assert!(!e.is_bad_input());
        }
        other => panic!("expected an overflow at record {seq}, got {other:?}"),
    }
}

#[test]
fn every_report_on_the_issues_order_names_the_fill() {
    let (j, fill) = issue_journal();
    let inv = j.investigator();
    let all = ReportFilter::default();
    assert_overflow_at(daily(&inv, &all), fill);
    assert_overflow_at(monthly(&inv, &all), fill);
    assert_overflow_at(tax(&inv, &all), fill);
    // Execution sums filled quantities as it reads the fills: the second one tips it.
    assert_overflow_at(execution(&inv, &all), fill + 1);
    // The message says what to do.
    let e = daily(&inv, &all).unwrap_err().to_string();
    assert!(e.contains("data.fill_qty × data.fill_price"), "{e}");
    assert!(e.contains("reconciliation.correction"), "{e}");
}

#[test]
fn sums_that_overflow_name_the_fill_that_tips_them() {
    // Each fill fits alone; the second one makes the day's volume overflow.
    let j = Journal::new();
    let big = "50000000000000000000000000000";
    raw(
        &j,
        "order.submitted",
        DAY + H,
        json!({"side": "buy", "quantity": big, "order_type": "market"}),
    );
    raw(&j, "order.accepted", DAY + H + 1, json!({}));
    raw(
        &j,
        "order.filled",
        DAY + H + 2,
        json!({"fill_qty": "1", "fill_price": big, "trade_id": "X1"}),
    );
    let second = raw(
        &j,
        "order.filled",
        DAY + H + 3,
        json!({"fill_qty": "1", "fill_price": big, "trade_id": "X2"}),
    );
    let inv = j.investigator();
    let all = ReportFilter::default();
    assert_overflow_at(daily(&inv, &all), second);
    assert_overflow_at(monthly(&inv, &all), second);
    // Before the second fill, the same records make a report.
    let before = ReportFilter::range(None, Some(DAY + H + 3));
    assert!(daily(&inv, &before).is_ok());
}
