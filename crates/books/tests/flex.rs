//! The real IBKR Flex sample: every trade's fields; malformed and truncated files.

use std::path::PathBuf;

use rust_decimal::Decimal;
use tradetrail_books::flex::{parse_flex_time, parse_trades};
use tradetrail_books::{Error, ReadOptions, Side, Statement, StatementFormat};

fn sample_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/ibkr-flex/activity-2018-11-09.xml")
}

fn sample() -> String {
    std::fs::read_to_string(sample_path()).expect("the Flex sample in testdata/ibkr-flex")
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn t(s: &str) -> i64 {
    parse_flex_time(s, 0, false).unwrap()
}

/// (account, currency, category, symbol, multiplier, tradeID, dateTime, quantity, tradePrice,
///  ibCommission, commission currency, fifoPnlRealized, buySell, ibOrderID, ibExecID, orderReference)
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

#[test]
fn every_trade_of_the_sample() {
    let text = sample();
    let trades = parse_trades(&text, "sample", &ReadOptions::default()).unwrap();
    // Written out by hand from the file, one line per <Trade>.
    let expected = EXPECTED;
    assert_eq!(trades.len(), expected.len());
    for (i, (got, e)) in trades.iter().zip(expected.iter()).enumerate() {
        let ctx = format!("trade #{}", i + 1);
        assert_eq!(got.account_id, e.0, "{ctx}");
        assert_eq!(got.currency, e.1, "{ctx}");
        assert_eq!(got.asset_category, e.2, "{ctx}");
        assert_eq!(got.symbol, e.3, "{ctx}");
        assert_eq!(got.multiplier, d(e.4), "{ctx}");
        assert_eq!(got.trade_id, e.5, "{ctx}");
        assert_eq!(got.date_time, t(e.6), "{ctx}");
        assert_eq!(got.quantity, d(e.7), "{ctx}");
        assert_eq!(got.trade_price, d(e.8), "{ctx}");
        assert_eq!(got.ib_commission, d(e.9), "{ctx}");
        assert_eq!(got.ib_commission_currency, e.10, "{ctx}");
        assert_eq!(got.fifo_pnl_realized, Some(d(e.11)), "{ctx}");
        assert_eq!(got.buy_sell, e.12, "{ctx}");
        assert_eq!(got.ib_order_id, e.13, "{ctx}");
        assert_eq!(got.ib_exec_id, e.14, "{ctx}");
        assert_eq!(got.order_reference, e.15, "{ctx}");
        assert_eq!(got.level_of_detail, "EXECUTION", "{ctx}");
    }
    // The first trade in full, including the fields not in the table.
    let f = &trades[0];
    assert_eq!(f.description, "ENSCO PLC-CL A");
    assert_eq!(f.conid, "107375361");
    assert_eq!(f.exchange, "IBKRATS");
    assert_eq!(f.transaction_type, "ExchTrade");
    assert_eq!(f.order_type, "LMT");
    assert_eq!(f.proceeds, Some(d("13283")));
    assert_eq!(f.net_cash, Some(d("13272.589321")));
    assert_eq!(f.fx_rate_to_base, Some(d("0.88221")));
    assert_eq!(f.date_time, 1_541_755_860_000_000_000); // 2018-11-09T09:31:00Z
}

#[test]
fn the_sample_as_a_statement() {
    let st = Statement::read(
        &sample_path(),
        None,
        &ReadOptions {
            flex_utc_offset_seconds: -5 * 3600,
        },
    )
    .unwrap();
    assert_eq!(st.format, StatementFormat::Flex);
    assert_eq!(st.trades.len(), EXPECTED.len());
    // 2018-11-09 00:00 New York (−05:00) is 05:00 UTC.
    assert_eq!(st.from, Some(1_541_739_600_000_000_000));
    assert_eq!(
        st.to,
        Some(1_541_739_600_000_000_000 + 86_400_000_000_000 - 1)
    );
    let first = &st.trades[0];
    assert_eq!(first.side, Side::Sell);
    assert_eq!(first.quantity, d("2000"));
    assert_eq!(first.commission, Some(d("10.410679")));
    assert_eq!(first.exec_id.as_deref(), Some("0000fed1.5be58c36.01.01"));
    assert_eq!(
        first.ts,
        1_541_755_860_000_000_000 + 5 * 3600 * 1_000_000_000
    );
    assert!(st.positions.is_empty(), "the sample has no OpenPositions");
    // Cash per currency, BASE_SUMMARY left out.
    let currencies: Vec<&str> = st.cash.iter().map(|c| c.currency.as_str()).collect();
    assert!(!currencies.contains(&"BASE_SUMMARY"));
    assert_eq!(st.cash.len(), 4, "{currencies:?}");
}

fn err_of(text: &str) -> (String, String) {
    match Statement::parse(
        text,
        StatementFormat::Flex,
        "f.xml",
        &ReadOptions::default(),
    ) {
        Err(Error::Statement {
            location, reason, ..
        }) => (location, reason),
        other => panic!("expected a statement error, got {other:?}"),
    }
}

#[test]
fn truncated_and_malformed_flex_name_the_place() {
    let text = sample();
    let cut = &text[..text.len() / 2];
    let (loc, reason) = err_of(cut);
    // Where the file stops, not line 1, column 1.
    let rows = cut.matches('\n').count() + 1;
    let col = cut.rsplit('\n').next().unwrap().chars().count() + 1;
    assert!(rows > 1, "the cut should be past line 1");
    assert_eq!(
        loc,
        format!("line {rows}, column {col} (the end of the file)")
    );
    assert!(reason.contains("looks truncated"), "{reason}");
    // A file cut inside its first tag too.
    let (loc, reason) = err_of(&text[..20]);
    assert_eq!(loc, "line 1, column 21 (the end of the file)");
    assert!(reason.contains("looks truncated"), "{reason}");
    // Malformed, not truncated: the place of the fault.
    let (loc, reason) = err_of(&text.replacen("<FlexStatements", "<FlexStatements <", 1));
    assert!(
        loc.starts_with("line ") && !loc.contains("end of the file"),
        "{loc}"
    );
    assert!(reason.contains("not well-formed XML"), "{reason}");

    let bad_price = text.replacen("tradePrice=\"6.6415\"", "tradePrice=\"6,6415\"", 1);
    let (loc, reason) = err_of(&bad_price);
    assert!(loc.starts_with("<Trade> #1 (line "), "{loc}");
    assert!(loc.ends_with("attribute tradePrice"), "{loc}");
    assert!(reason.contains("6,6415"), "{reason}");

    let no_id = text.replacen("tradeID=\"2268125234\"", "tradeID=\"\"", 1);
    let (loc, reason) = err_of(&no_id);
    assert!(loc.contains("attribute tradeID"), "{loc}");
    assert_eq!(reason, "missing or empty");

    let (loc, _) = err_of("<html><body/></html>");
    assert_eq!(loc, "<html> (line 1)");
    let (_, reason) = err_of("<FlexQueryResponse></FlexQueryResponse>");
    assert!(reason.contains("no <FlexStatement>"), "{reason}");
}

#[test]
fn flex_times() {
    assert_eq!(
        parse_flex_time("20181109;093100", 0, false),
        parse_flex_time("2018-11-09;09:31:00", 0, false)
    );
    assert_eq!(
        parse_flex_time("20181109 093100", 3600, false).unwrap(),
        t("20181109;083100")
    );
    assert!(parse_flex_time("20181332;000000", 0, false).is_err());
    assert!(parse_flex_time("yesterday", 0, false).is_err());
}
const EXPECTED: &[Row] = &[
    (
        "U1234567",
        "USD",
        "STK",
        "ESV",
        "1",
        "2268125234",
        "20181109;093100",
        "-2000",
        "6.6415",
        "-10.410679",
        "USD",
        "0",
        "SELL",
        "1115450435",
        "0000fed1.5be58c36.01.01",
        "",
    ),
    (
        "U1234567F",
        "EUR",
        "OPT",
        "C ODAX DEC 18 12000",
        "5",
        "90006095",
        "20181109;111821",
        "2",
        "55",
        "-3.4",
        "EUR",
        "0",
        "BUY",
        "61097941",
        "00011d8a.5be5656c.01.01",
        "OptTrader",
    ),
    (
        "U1234567F",
        "GBP",
        "OPT",
        "ESX DEC18 69.5 P",
        "1000",
        "89942249",
        "20181109;035954",
        "-1",
        "0.9",
        "-1.7",
        "GBP",
        "0",
        "SELL",
        "61042419",
        "000113ee.5be4d634.01.01",
        "",
    ),
    (
        "U1234567F",
        "EUR",
        "FUT",
        "FDAX DEC 18",
        "25",
        "89949032",
        "20181109;045806",
        "1",
        "11463",
        "-2",
        "EUR",
        "0",
        "BUY",
        "61048999",
        "00011d8a.5be53d8e.01.01",
        "Index",
    ),
    (
        "U1234567F",
        "EUR",
        "FUT",
        "FDAX DEC 18",
        "25",
        "89949034",
        "20181109;045806",
        "1",
        "11463",
        "-2",
        "EUR",
        "0",
        "BUY",
        "61048999",
        "00011d8a.5be53d8d.01.01",
        "Index",
    ),
    (
        "U1234567F",
        "EUR",
        "FUT",
        "FDAX DEC 18",
        "25",
        "89949939",
        "20181109;050736",
        "-1",
        "11474",
        "-2",
        "EUR",
        "0",
        "SELL",
        "61049347",
        "00011d8a.5be53e92.01.01",
        "Index",
    ),
    (
        "U1234567F",
        "EUR",
        "FUT",
        "FDAX DEC 18",
        "25",
        "89949943",
        "20181109;050736",
        "-1",
        "11474",
        "-2",
        "EUR",
        "0",
        "SELL",
        "61049347",
        "00011d8a.5be53e93.01.01",
        "Index",
    ),
    (
        "U1234567",
        "USD",
        "FUT",
        "YM   DEC 18",
        "5",
        "609176948",
        "20181109;100010",
        "1",
        "26048",
        "-2.03",
        "USD",
        "0",
        "BUY",
        "427452992",
        "0000ee43.5be4c9bf.01.01",
        "Index",
    ),
    (
        "U1234567",
        "USD",
        "FUT",
        "YM   DEC 18",
        "5",
        "609177054",
        "20181109;100010",
        "1",
        "26048",
        "-2.03",
        "USD",
        "0",
        "BUY",
        "427452992",
        "0000ee43.5be4c9c0.01.01",
        "Index",
    ),
    (
        "U1234567",
        "USD",
        "FUT",
        "YM   DEC 18",
        "5",
        "609185173",
        "20181109;100955",
        "-1",
        "26000",
        "-2.03",
        "USD",
        "0",
        "SELL",
        "427458511",
        "0000ee43.5be4ca9d.01.01",
        "Index",
    ),
    (
        "U1234567",
        "USD",
        "FUT",
        "YM   DEC 18",
        "5",
        "609185441",
        "20181109;101014",
        "-1",
        "26002",
        "-2.03",
        "USD",
        "0",
        "SELL",
        "427458685",
        "0000ee43.5be4cab8.01.01",
        "Index",
    ),
    (
        "U1234567",
        "USD",
        "FOP",
        "GBUZ8 P1250",
        "62500",
        "609207094",
        "20181109;104047",
        "1",
        "0.0017",
        "-2.47",
        "USD",
        "0",
        "BUY",
        "427471843",
        "0000ffb6.5be4d905.03.01",
        "",
    ),
    (
        "U1234567",
        "USD",
        "FOP",
        "GBUZ8 P1310",
        "62500",
        "609207103",
        "20181109;104047",
        "-1",
        "0.017",
        "-2.47",
        "USD",
        "0",
        "SELL",
        "427471850",
        "0000ffb6.5be4d905.02.01",
        "",
    ),
    (
        "U1234567",
        "USD",
        "FOP",
        "LNEZ8 C3600",
        "10000",
        "609169173",
        "20181109;094835",
        "1",
        "0.2",
        "-2.37",
        "USD",
        "0",
        "BUY",
        "427448563",
        "0000ebd2.5be4d35e.01.01",
        "",
    ),
    (
        "U1234567",
        "USD",
        "FOP",
        "LOF9 P6000",
        "1000",
        "609195107",
        "20181109;102355",
        "-1",
        "2.4",
        "-2.37",
        "USD",
        "0",
        "SELL",
        "427464203",
        "0000e9a5.5be51cb5.01.01",
        "OptTrader",
    ),
];
