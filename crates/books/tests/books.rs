//! Positions, cash and P&L against hand-computed examples.

use rust_decimal::Decimal;
use serde_json::{json, Value};
use tradetrail_books::{AnomalyKind, Books, BooksOptions, OrderStatus, Record};

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// Builds records in seq order; ts_event = seq × 1000 unless given.
#[derive(Default)]
struct Trail {
    records: Vec<Record>,
}

impl Trail {
    fn push(&mut self, ty: &str, order: &str, account: &str, inst: &str, data: Value) -> &mut Self {
        let seq = self.records.len() as u64 + 1;
        let line = json!({"seq": seq, "ts_event": seq as i64 * 1000, "type": ty, "actor": "system",
            "trader_id": "T-1", "account_id": account, "instrument_id": inst,
            "entity": {"kind": "order", "id": order}, "data": data});
        self.records
            .push(Record::parse(line.to_string().as_bytes()).unwrap());
        self
    }
    fn order(
        &mut self,
        order: &str,
        account: &str,
        inst: &str,
        side: &str,
        qty: &str,
        extra: Value,
    ) -> &mut Self {
        let mut data = json!({"side": side, "quantity": qty, "order_type": "market"});
        for (k, v) in extra.as_object().unwrap() {
            data[k] = v.clone();
        }
        self.push("order.submitted", order, account, inst, data);
        self.push("order.accepted", order, account, inst, json!({}))
    }
    #[allow(clippy::too_many_arguments)]
    fn fill(
        &mut self,
        order: &str,
        account: &str,
        inst: &str,
        qty: &str,
        px: &str,
        trade: &str,
        comm: &str,
        extra: Value,
    ) -> &mut Self {
        let mut data =
            json!({"fill_qty": qty, "fill_price": px, "trade_id": trade, "commission": comm});
        for (k, v) in extra.as_object().unwrap() {
            data[k] = v.clone();
        }
        self.push("order.filled", order, account, inst, data)
    }
    fn books(&self) -> Books {
        Books::from_records(&self.records, &BooksOptions::default())
    }
}

#[test]
fn partial_fills_average_cost_and_fifo_realized() {
    let mut t = Trail::default();
    t.order("O-1", "U1", "AAPL", "buy", "300", json!({}))
        .fill("O-1", "U1", "AAPL", "100", "10.00", "X1", "1.00", json!({}))
        .fill("O-1", "U1", "AAPL", "200", "11.00", "X2", "2.00", json!({}))
        .order("O-2", "U1", "AAPL", "sell", "150", json!({}))
        .fill("O-2", "U1", "AAPL", "150", "12.00", "X3", "1.50", json!({}));
    let b = t.books();
    assert_eq!(b.order("O-1").unwrap().status, OrderStatus::Filled);
    assert_eq!(
        b.order("O-1").unwrap().avg_fill_price.unwrap().round_dp(6),
        d("10.666667")
    );
    let p = b.position("U1", "AAPL").unwrap();
    // 150 left, all from the 11.00 lot.
    assert_eq!(p.quantity, d("150"));
    assert_eq!(p.avg_cost, d("11"));
    // FIFO: 100 × (12 − 10) + 50 × (12 − 11) = 250.
    assert_eq!(p.realized_pnl, d("250"));
    assert_eq!(p.commission, d("4.50"));
    let lots = b.closed_lots();
    assert_eq!(lots.len(), 2);
    assert_eq!(
        (lots[0].quantity, lots[0].open_price, lots[0].gross_pnl),
        (d("100"), d("10.00"), d("200"))
    );
    assert_eq!(lots[0].open_trade_id, "X1");
    assert_eq!(lots[0].close_trade_id, "X3");
    // Commission of lot 0: all of X1 (1.00) + 100/150 of X3 (1.00) = 2.00.
    assert_eq!(lots[0].commission, d("2"));
    assert_eq!(lots[0].net_pnl, d("198"));
    assert_eq!((lots[1].quantity, lots[1].gross_pnl), (d("50"), d("50")));
    // 50/200 of X2 (0.50) + 50/150 of X3 (0.50).
    assert_eq!(lots[1].commission.round_dp(10), d("1"));
    assert_eq!(lots[0].open_ts, 3000);
    assert_eq!(lots[0].close_ts, 7000);
    // Cash: −1000 −2200 +1800 − 4.50.
    assert_eq!(b.cash_of("U1", "USD"), d("-1404.50"));
    // Unrealized against the last price seen (the 12.00 fill): 150 × (12 − 11).
    assert_eq!(p.unrealized_pnl, Some(d("150")));
}

#[test]
fn flip_from_long_to_short() {
    let mut t = Trail::default();
    t.order("O-1", "U1", "MSFT", "buy", "100", json!({}))
        .fill("O-1", "U1", "MSFT", "100", "50", "X1", "0", json!({}))
        .order("O-2", "U1", "MSFT", "sell", "250", json!({}))
        .fill("O-2", "U1", "MSFT", "250", "52", "X2", "0", json!({}))
        .order("O-3", "U1", "MSFT", "buy", "50", json!({}))
        .fill("O-3", "U1", "MSFT", "50", "49", "X3", "0", json!({}));
    let b = t.books();
    let p = b.position("U1", "MSFT").unwrap();
    // Long 100 closed at +2 (200); short 150 opened at 52; 50 covered at 49 (+150).
    assert_eq!(p.quantity, d("-100"));
    assert_eq!(p.avg_cost, d("52"));
    assert_eq!(p.realized_pnl, d("350"));
    let lots = b.closed_lots();
    assert_eq!(lots.len(), 2);
    assert_eq!(lots[0].direction, "long");
    assert_eq!(lots[1].direction, "short");
    assert_eq!(
        (
            lots[1].quantity,
            lots[1].open_price,
            lots[1].close_price,
            lots[1].gross_pnl
        ),
        (d("50"), d("52"), d("49"), d("150"))
    );
    assert_eq!(p.unrealized_pnl, Some(d("300"))); // −100 × (49 − 52)
    assert_eq!(b.cash_of("U1", "USD"), d("-5000") + d("13000") - d("2450"));
}

#[test]
fn multipliers_and_two_currencies() {
    let mut t = Trail::default();
    t.order("O-1", "U1", "ESZ6", "buy", "3", json!({"multiplier": "50"}))
        .fill("O-1", "U1", "ESZ6", "3", "6000.25", "F1", "6.30", json!({}))
        .order(
            "O-2",
            "U1",
            "ESZ6",
            "sell",
            "3",
            json!({"multiplier": "50"}),
        )
        .fill("O-2", "U1", "ESZ6", "3", "5990.00", "F2", "6.30", json!({}))
        .order("O-3", "U1", "SAP", "buy", "10", json!({}))
        .fill(
            "O-3",
            "U1",
            "SAP",
            "10",
            "224.60",
            "E1",
            "1.20",
            json!({"currency": "EUR"}),
        )
        .order("O-4", "U1", "SAP", "sell", "4", json!({}))
        .fill(
            "O-4",
            "U1",
            "SAP",
            "4",
            "230.10",
            "E2",
            "1.00",
            json!({"currency": "EUR", "commission_currency": "USD"}),
        );
    let b = t.books();
    let es = b.position("U1", "ESZ6").unwrap();
    assert_eq!(es.quantity, Decimal::ZERO);
    assert_eq!(es.multiplier, d("50"));
    assert_eq!(es.realized_pnl, d("-1537.50")); // −10.25 × 3 × 50
    let sap = b.position("U1", "SAP").unwrap();
    assert_eq!(sap.currency, "EUR");
    assert_eq!(sap.realized_pnl, d("22.00")); // 4 × 5.50
    assert_eq!(
        b.cash_of("U1", "EUR"),
        d("-2246.00") + d("920.40") - d("1.20")
    );
    assert_eq!(
        b.cash_of("U1", "USD"),
        d("-1537.50") - d("12.60") - d("1.00")
    );
    let r = b.realized_by_currency().unwrap();
    assert_eq!(r[&("U1".to_string(), "USD".to_string())], d("-1537.50"));
    assert_eq!(r[&("U1".to_string(), "EUR".to_string())], d("22.00"));
}

#[test]
fn as_of_an_instant() {
    let mut t = Trail::default();
    t.order("O-1", "U1", "AAPL", "buy", "100", json!({}))
        .fill("O-1", "U1", "AAPL", "40", "10", "X1", "0", json!({}))
        .fill("O-1", "U1", "AAPL", "60", "10", "X2", "0", json!({}));
    let b = Books::from_records(&t.records, &BooksOptions::at(3000));
    assert_eq!(b.position("U1", "AAPL").unwrap().quantity, d("40"));
    assert_eq!(b.order("O-1").unwrap().status, OrderStatus::PartiallyFilled);
    assert_eq!(b.order("O-1").unwrap().leaves_qty(), d("60"));
    let b = Books::from_records(&t.records, &BooksOptions::at(1500));
    assert!(b.position("U1", "AAPL").is_none());
    assert_eq!(b.order("O-1").unwrap().status, OrderStatus::Submitted);
}

#[test]
fn impossible_transitions_are_flagged_and_money_still_moves() {
    let mut t = Trail::default();
    t.order("O-1", "U1", "AAPL", "buy", "100", json!({})).push(
        "order.cancelled",
        "O-1",
        "U1",
        "AAPL",
        json!({"reason": "user"}),
    );
    t.fill("O-1", "U1", "AAPL", "10", "10", "X1", "0", json!({}));
    // Overfill and a fill without acceptance.
    t.push(
        "order.submitted",
        "O-2",
        "U1",
        "AAPL",
        json!({"side": "sell", "quantity": "5", "order_type": "market"}),
    );
    t.fill(
        "O-2",
        "U1",
        "AAPL",
        "8",
        "11",
        "X2",
        "0",
        json!({"cum_qty": "8"}),
    );
    // A cancel after the fill completed.
    t.push("order.cancelled", "O-2", "U1", "AAPL", json!({}));
    // An order never submitted.
    t.push("order.accepted", "O-9", "U1", "AAPL", json!({}));
    let b = t.books();
    let kinds: Vec<(String, AnomalyKind)> = b
        .anomalies()
        .iter()
        .map(|a| (a.order_id.clone(), a.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("O-1".to_string(), AnomalyKind::FillAfterTerminal),
            ("O-2".to_string(), AnomalyKind::FillWithoutAcceptance),
            ("O-2".to_string(), AnomalyKind::Overfill),
            ("O-2".to_string(), AnomalyKind::TransitionAfterTerminal),
            ("O-9".to_string(), AnomalyKind::UnknownOrder),
        ]
    );
    assert_eq!(b.anomalies()[0].seq, 4);
    assert_eq!(b.order("O-1").unwrap().status, OrderStatus::Cancelled);
    assert_eq!(b.order("O-2").unwrap().status, OrderStatus::Filled);
    assert_eq!(b.position("U1", "AAPL").unwrap().quantity, d("2"));
}
