//! The generic CSV/JSON statement: parsed exactly, errors name the line or path.

use rust_decimal::Decimal;
use tradetrail_books::{Error, OrderStatus, ReadOptions, Side, Statement, StatementFormat};

fn parse(text: &str, f: StatementFormat) -> Result<Statement, Error> {
    Statement::parse(text, f, "s", &ReadOptions::default())
}

fn place(e: Error) -> (String, String) {
    match e {
        Error::Statement {
            location, reason, ..
        } => (location, reason),
        other => panic!("expected a statement error, got {other:?}"),
    }
}

const CSV: &str = "\
record,account,trade_id,order_id,instrument,side,quantity,price,time,commission,currency,multiplier,realized_pnl,status,filled_qty,amount,from,to
period,,,,,,,,,,,,,,,,2026-11-20,2026-11-20T23:59:59Z
trade,U1,T1,O-1,ESZ6,SLD,2,6000.25,2026-11-20T14:00:00.5Z,4.20,USD,50,-12.5,,,,,
position,U1,,,ESZ6,,-2,6001,,,USD,50,,,,,,
cash,U1,,,,,,,,,EUR,,,,,-0.10,,
order,U1,,O-1,,,,,,,,,,Canceled,2,,,
";

#[test]
fn csv_reads_every_record_kind() {
    let st = parse(CSV, StatementFormat::Csv).unwrap();
    assert_eq!(st.from, Some(1_795_132_800_000_000_000));
    assert_eq!(st.to, Some(1_795_219_199_000_000_000));
    let t = &st.trades[0];
    assert_eq!(
        (t.side, t.quantity, t.price),
        (Side::Sell, Decimal::TWO, "6000.25".parse().unwrap())
    );
    assert_eq!(t.multiplier, Decimal::from(50));
    assert_eq!(t.realized_pnl, Some("-12.5".parse().unwrap()));
    assert_eq!(t.commission.unwrap().to_string(), "4.20");
    assert_eq!(t.order_id.as_deref(), Some("O-1"));
    assert_eq!(t.ts, 1_795_183_200_500_000_000);
    assert_eq!(t.location, "line 3");
    assert_eq!(st.positions[0].quantity, Decimal::from(-2));
    assert_eq!(st.cash[0].change.to_string(), "-0.10");
    assert_eq!(st.orders[0].status, OrderStatus::Cancelled);
    // Written back and read again: the same statement, apart from where lines are.
    let again = parse(&st.to_csv(), StatementFormat::Csv).unwrap();
    assert_eq!(again.trades[0].price, t.price);
    assert_eq!(again.to_csv(), st.to_csv());
}

#[test]
fn json_reads_the_same_and_names_paths() {
    let json = r#"{"period":{"from":"2026-11-20"},
      "trades":[{"account":"U1","trade_id":"T1","instrument":"AAPL","side":"buy","quantity":100,"price":"228.51","time":"2026-11-20T14:31:00Z"},
                {"account":"U1","trade_id":"T2","instrument":"AAPL","side":"buy","quantity":100,"price":"two","time":"2026-11-20T14:31:00Z"}]}"#;
    let (loc, reason) = place(parse(json, StatementFormat::Json).unwrap_err());
    assert_eq!(loc, "trades[1], price");
    assert!(reason.contains("\"two\""), "{reason}");
    let ok = json.replace("\"two\"", "228.52");
    let st = parse(&ok, StatementFormat::Json).unwrap();
    assert_eq!(st.trades[1].price.to_string(), "228.52");
    assert_eq!(st.trades[0].quantity, Decimal::from(100));
    let (loc, _) =
        place(parse(r#"{"trades":[{"acount":"U1"}]}"#, StatementFormat::Json).unwrap_err());
    assert_eq!(loc, "trades[0].acount");
    let (loc, _) = place(parse("{\"trades\": [", StatementFormat::Json).unwrap_err());
    assert!(loc.starts_with("line 1, column"), "{loc}");
}

#[test]
fn csv_errors_name_line_and_column() {
    let (loc, reason) = place(parse("record,acount\n", StatementFormat::Csv).unwrap_err());
    assert_eq!(loc, "line 1");
    assert!(reason.contains("\"acount\""), "{reason}");
    let bad_kind = CSV.replace("\ncash,", "\ncsh,");
    let (loc, reason) = place(parse(&bad_kind, StatementFormat::Csv).unwrap_err());
    assert_eq!(loc, "line 5, record");
    assert!(reason.contains("\"csh\""), "{reason}");
    let bad_side = CSV.replace(",SLD,", ",sideways,");
    let (loc, _) = place(parse(&bad_side, StatementFormat::Csv).unwrap_err());
    assert_eq!(loc, "line 3, side");
    let no_time = CSV.replace("2026-11-20T14:00:00.5Z", "");
    let (loc, _) = place(parse(&no_time, StatementFormat::Csv).unwrap_err());
    assert_eq!(loc, "line 3, time");
    let negative = CSV.replace(",SLD,2,", ",SLD,-2,");
    let (loc, _) = place(parse(&negative, StatementFormat::Csv).unwrap_err());
    assert_eq!(loc, "line 3, quantity");
    let truncated = &CSV[..CSV.find("USD,50,,,,,,").unwrap()];
    let (loc, reason) = place(parse(truncated, StatementFormat::Csv).unwrap_err());
    assert_eq!(loc, "line 4");
    assert!(reason.contains("fields where the header has"), "{reason}");
    let (loc, _) = place(parse("", StatementFormat::Csv).unwrap_err());
    assert_eq!(loc, "line 1");
}
