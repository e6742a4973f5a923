//! Trade matching by order id and by attributes, missing-at-broker, order statuses and
//! positions from a Flex OpenPositions section, on hand-built records.

use rust_decimal::Decimal;
use serde_json::json;
use tradetrail_books::{
    reconcile, ReadOptions, Record, Severity, Statement, StatementFormat, Tolerances,
};

fn rec(seq: u64, ts: i64, ty: &str, order: &str, data: serde_json::Value) -> Record {
    let line = json!({"seq": seq, "ts_event": ts, "type": ty, "actor": "system", "trader_id": "T-1",
        "account_id": "U1", "instrument_id": "AAPL.XNAS", "entity": {"kind": "order", "id": order}, "data": data});
    Record::parse(line.to_string().as_bytes()).unwrap()
}

const S: i64 = 1_000_000_000;
const T0: i64 = 1_795_183_200 * S; // 2026-11-20T14:00:00Z

fn records() -> Vec<Record> {
    vec![
        rec(
            1,
            T0,
            "order.submitted",
            "O-1",
            json!({"side": "buy", "quantity": "100", "order_type": "market"}),
        ),
        rec(2, T0 + S, "order.accepted", "O-1", json!({})),
        rec(
            3,
            T0 + 2 * S,
            "order.filled",
            "O-1",
            json!({"fill_qty": "100", "fill_price": "228.50", "trade_id": "OUR-1", "commission": "0.35"}),
        ),
        rec(
            4,
            T0 + 10 * S,
            "order.submitted",
            "O-2",
            json!({"side": "sell", "quantity": "40", "order_type": "limit", "price": "229"}),
        ),
        rec(5, T0 + 11 * S, "order.accepted", "O-2", json!({})),
        rec(
            6,
            T0 + 12 * S,
            "order.filled",
            "O-2",
            json!({"fill_qty": "40", "fill_price": "229.00", "trade_id": "OUR-2", "commission": "0.35"}),
        ),
        rec(
            7,
            T0 + 20 * S,
            "order.submitted",
            "O-3",
            json!({"side": "sell", "quantity": "10", "order_type": "market"}),
        ),
        rec(8, T0 + 21 * S, "order.accepted", "O-3", json!({})),
        rec(
            9,
            T0 + 22 * S,
            "order.filled",
            "O-3",
            json!({"fill_qty": "10", "fill_price": "230.00", "trade_id": "OUR-3", "commission": "0.35"}),
        ),
        rec(
            10,
            T0 + 30 * S,
            "order.submitted",
            "O-4",
            json!({"side": "buy", "quantity": "5", "order_type": "limit", "price": "200"}),
        ),
        rec(11, T0 + 31 * S, "order.accepted", "O-4", json!({})),
    ]
}

#[test]
fn matched_by_order_and_by_attributes_then_the_rest() {
    // The broker uses its own trade ids. OUR-1 is found by order id (with a commission
    // off by 0.40: minor); OUR-2 by attributes (price within 50 bps, 30 s later, price
    // off by 0.02: major); OUR-3 the broker does not have. O-4 expired at the broker.
    let csv = format!(
        "record,account,trade_id,order_id,instrument,side,quantity,price,time,commission,status\n\
         period,,,,,,,,,,\n\
         trade,U1,B-9001,O-1,AAPL,buy,100,228.50,{t1},0.75,\n\
         trade,U1,B-9002,,AAPL,sell,40,229.02,{t2},0.35,\n\
         order,U1,,O-4,,,,,,,expired\n\
         position,U1,,,AAPL,,60,,,,\n\
         cash,U1,,,,,,,,,\n",
        t1 = T0 + 2 * S,
        t2 = T0 + 42 * S,
    )
    .replace("period,,,,,,,,,,\n", "")
    .replace("cash,U1,,,,,,,,,\n", "");
    let st =
        Statement::parse(&csv, StatementFormat::Csv, "b.csv", &ReadOptions::default()).unwrap();
    let r = reconcile(&records(), &st, &Tolerances::default());
    assert_eq!(
        (r.matched_by_id, r.matched_by_order, r.matched_by_attributes),
        (0, 1, 1)
    );
    let got: Vec<(String, String, Severity, Option<Decimal>)> = r
        .discrepancies
        .iter()
        .map(|d| {
            (
                format!("{}.{}", d.category, d.field),
                d.key.clone(),
                d.severity,
                d.unexplained,
            )
        })
        .collect();
    let dec = |s: &str| Some(s.parse::<Decimal>().unwrap());
    assert_eq!(
        got,
        [
            (
                "trade.commission".to_string(),
                "OUR-1".to_string(),
                Severity::Minor,
                dec("0.40")
            ),
            (
                "trade.price".to_string(),
                "OUR-2".to_string(),
                Severity::Major,
                dec("0.02")
            ),
            (
                "trade.missing_at_broker".to_string(),
                "OUR-3".to_string(),
                Severity::Major,
                dec("10")
            ),
            (
                "order.status".to_string(),
                "O-4".to_string(),
                Severity::Minor,
                None
            ),
        ],
        "{:#?}",
        r.discrepancies
    );
    // The position (ours 50; the broker 60, explained by OUR-3) is not a break.
    assert_eq!(r.positions_compared, 1);
    // Tighter attribute matching: OUR-2 no longer pairs, both sides are missing.
    let tight = Tolerances {
        match_price_bps: Decimal::new(5, 1),
        ..Tolerances::default()
    };
    let r = reconcile(&records(), &st, &tight);
    assert_eq!(r.matched_by_attributes, 0);
    assert_eq!(
        r.discrepancies
            .iter()
            .filter(|d| d.field.starts_with("missing"))
            .count(),
        3
    );
}

#[test]
fn an_unexplained_position_is_a_major_break() {
    let csv = format!(
        "record,account,trade_id,order_id,instrument,side,quantity,price,time\n\
         trade,U1,OUR-1,,AAPL.XNAS,buy,100,228.50,{t}\n\
         trade,U1,OUR-2,,AAPL.XNAS,sell,40,229.00,{t2}\n\
         trade,U1,OUR-3,,AAPL.XNAS,sell,10,230.00,{t3}\n\
         position,U1,,,AAPL.XNAS,,75,,\n",
        t = T0 + 2 * S,
        t2 = T0 + 12 * S,
        t3 = T0 + 22 * S
    );
    let st =
        Statement::parse(&csv, StatementFormat::Csv, "b.csv", &ReadOptions::default()).unwrap();
    let r = reconcile(&records(), &st, &Tolerances::default());
    assert_eq!(r.matched_by_id, 3);
    assert_eq!(r.discrepancies.len(), 1, "{:#?}", r.discrepancies);
    let d = &r.discrepancies[0];
    assert_eq!(
        (d.category, d.field.as_str(), d.severity),
        ("position", "quantity", Severity::Major)
    );
    assert_eq!(
        (d.broker.as_deref(), d.ours.as_deref()),
        (Some("75"), Some("50"))
    );
    assert_eq!(d.unexplained, Some(Decimal::from(25)));
}

#[test]
fn flex_open_positions_and_cash() {
    let xml = r#"<FlexQueryResponse queryName="q" type="AF"><FlexStatements count="1">
<FlexStatement accountId="U1" fromDate="20261120" toDate="20261120">
<CashReport>
<CashReportCurrency accountId="U1" currency="BASE_SUMMARY" startingCash="0" endingCash="0"/>
<CashReportCurrency accountId="U1" currency="USD" startingCash="1000" endingCash="-22347.75"/>
</CashReport>
<Trades>
<Trade accountId="U1" currency="USD" symbol="AAPL" multiplier="1" tradeID="OUR-1" dateTime="20261120;140002" quantity="100" tradePrice="228.50" ibCommission="-0.35" buySell="BUY" levelOfDetail="EXECUTION"/>
<Trade accountId="U1" currency="USD" symbol="AAPL" tradeID="OUR-2" dateTime="20261120;140012" quantity="-40" tradePrice="229.00" ibCommission="-0.35" buySell="SELL"/>
<Trade accountId="U1" currency="USD" symbol="AAPL" tradeID="OUR-3" dateTime="20261120;140022" quantity="-10" tradePrice="230.00" ibCommission="-0.35" buySell="SELL"/>
<Trade accountId="U1" currency="USD" symbol="AAPL" tradeID="ORD" dateTime="20261120;140022" quantity="-50" tradePrice="1" buySell="SELL" levelOfDetail="ORDER"/>
</Trades>
<OpenPositions>
<OpenPosition accountId="U1" symbol="AAPL" position="50" markPrice="230.10" currency="USD" multiplier="1" levelOfDetail="SUMMARY"/>
</OpenPositions>
</FlexStatement></FlexStatements></FlexQueryResponse>"#;
    let st =
        Statement::parse(xml, StatementFormat::Flex, "f.xml", &ReadOptions::default()).unwrap();
    assert_eq!(st.trades.len(), 3, "ORDER-level rows are summaries");
    assert_eq!(st.positions.len(), 1);
    assert_eq!(st.positions[0].mark_price, Some("230.10".parse().unwrap()));
    assert_eq!(st.cash.len(), 1);
    assert_eq!(st.cash[0].change, "-23347.75".parse::<Decimal>().unwrap());
    let r = reconcile(&records(), &st, &Tolerances::default());
    assert_eq!(r.matched_by_id, 3);
    // Ours: −22850 + 9160 + 2300 − 1.05 = −11391.05; the broker's −23347.75 leaves
    // −11956.70 unexplained: major.
    assert_eq!(r.discrepancies.len(), 1, "{:#?}", r.discrepancies);
    let d = &r.discrepancies[0];
    assert_eq!((d.category, d.severity), ("cash", Severity::Major));
    assert_eq!(d.ours.as_deref(), Some("-11391.05"));
    assert_eq!(d.unexplained, Some("-11956.70".parse().unwrap()));
    assert_eq!(
        d.broker_location.as_deref(),
        Some("<CashReportCurrency> #2 (line 5)")
    );
}

#[test]
fn a_side_difference_is_one_break_not_four() {
    // The broker has OUR-3 as a buy of 10 where the books have a sell. The books are
    // derived again with the broker's side, so the position (100 - 40 + 10 = 70) and
    // the cash it moves are explained by the one trade break.
    let csv = format!(
        "record,account,trade_id,order_id,instrument,side,quantity,price,time,currency,amount\n\
         trade,U1,OUR-1,,AAPL.XNAS,buy,100,228.50,{t},,\n\
         trade,U1,OUR-2,,AAPL.XNAS,sell,40,229.00,{t2},,\n\
         trade,U1,OUR-3,,AAPL.XNAS,buy,10,230.00,{t3},,\n\
         position,U1,,,AAPL.XNAS,,70,,,,\n\
         cash,U1,,,,,,,,USD,{cash}\n",
        t = T0 + 2 * S,
        t2 = T0 + 12 * S,
        t3 = T0 + 22 * S,
        cash = "-15991.05",
    );
    let st =
        Statement::parse(&csv, StatementFormat::Csv, "b.csv", &ReadOptions::default()).unwrap();
    let r = reconcile(&records(), &st, &Tolerances::default());
    assert_eq!(r.matched_by_id, 3);
    let got: Vec<String> = r
        .discrepancies
        .iter()
        .map(|d| format!("{}.{} {}", d.category, d.field, d.key))
        .collect();
    assert_eq!(got, ["trade.side OUR-3"], "{:#?}", r.discrepancies);
    let d = &r.discrepancies[0];
    assert_eq!(d.severity, Severity::Major);
    assert_eq!(
        (d.broker.as_deref(), d.ours.as_deref()),
        (Some("buy"), Some("sell"))
    );
    // The same statement with the books' side for OUR-3 but a position of 70: that
    // position is not explained by any trade break, so it is its own break.
    let csv = csv.replace(",buy,10,", ",sell,10,");
    let st =
        Statement::parse(&csv, StatementFormat::Csv, "b.csv", &ReadOptions::default()).unwrap();
    let r = reconcile(&records(), &st, &Tolerances::default());
    let got: Vec<String> = r
        .discrepancies
        .iter()
        .map(|d| format!("{}.{}", d.category, d.field))
        .collect();
    assert!(got.contains(&"position.quantity".to_string()), "{got:?}");
    assert!(!got.contains(&"trade.side".to_string()), "{got:?}");
}
