//! Daily, monthly and tax-lot figures on three hand-built days, checked against the
//! P&L worked out by hand in the comments.

mod common;

use common::*;
use tradetrail_reports::performance::sharpe;
use tradetrail_reports::tax::is_long_term;
use tradetrail_reports::{daily, monthly, parse_date, tax, ReportFilter};

/// One order: submitted, accepted, filled at once.
#[allow(clippy::too_many_arguments)]
fn trade(
    j: &Journal,
    ts: i64,
    id: &str,
    instrument: &str,
    side: &str,
    qty: &str,
    price: &str,
    commission: &str,
) {
    j.record(submitted(ts, "T-1", "S-A", instrument, id, side, qty));
    j.record(order(
        "order.accepted",
        ts + MS,
        "T-1",
        "S-A",
        instrument,
        id,
    ));
    j.record(filled(
        ts + 2 * MS,
        "T-1",
        "S-A",
        instrument,
        id,
        qty,
        price,
        &format!("X-{id}"),
        commission,
    ));
}

/// Day 1: buy 100 AAPL @ 100 (comm 1.00), sell 60 @ 101 (0.60): a lot of 60 closes,
///   gross 60, its commission (0.01 + 0.01) × 60 = 1.20, net 58.80. 40 left, marked
///   at 101: unrealized +40.
/// Day 2: sell 40 @ 99 (0.40): gross −40, commission 0.80, net −40.80; buy 10 MSFT
///   @ 50 (0.10), marked at 55 by a recommendation: unrealized 50 (AAPL's 40 gone).
/// Day 3: sell 10 MSFT @ 52 (0.10): gross 20, commission 0.20, net 19.80; flat.
fn three_days() -> Journal {
    let j = Journal::new();
    let d1 = DAY + 14 * H;
    trade(&j, d1, "O-1", "AAPL.XNAS", "buy", "100", "100.00", "1.00");
    trade(
        &j,
        d1 + H,
        "O-2",
        "AAPL.XNAS",
        "sell",
        "60",
        "101.00",
        "0.60",
    );
    let d2 = d1 + D;
    trade(&j, d2, "O-3", "AAPL.XNAS", "sell", "40", "99.00", "0.40");
    trade(&j, d2 + H, "O-4", "MSFT.XNAS", "buy", "10", "50", "0.10");
    j.record(recommendation(
        d2 + 2 * H,
        "T-1",
        "S-A",
        "MSFT.XNAS",
        "R-1",
        "buy",
        "55",
    ));
    trade(&j, d2 + D, "O-5", "MSFT.XNAS", "sell", "10", "52", "0.10");
    j
}

fn three_day_range() -> ReportFilter {
    ReportFilter::range(Some(DAY), Some(DAY + 3 * D))
}

#[test]
fn daily_rows_match_the_hand_computation() {
    let j = three_days();
    let r = daily(&j.investigator(), &three_day_range()).unwrap();
    let rows: Vec<_> = r
        .days
        .iter()
        .map(|d| {
            let f = &d.figures;
            (
                d.date.as_str(),
                f.trades,
                f.volume.to_string(),
                f.notional.to_string(),
                f.realized_gross.to_string(),
                f.commission.to_string(),
                f.unrealized_change.to_string(),
                f.gross_pnl.to_string(),
                f.net_pnl.to_string(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "2026-11-02",
                2,
                "160".into(),
                "16060.00".into(),
                "60.00".into(),
                "1.60".into(),
                "40.00".into(),
                "100.00".into(),
                "98.40".into()
            ),
            (
                "2026-11-03",
                2,
                "50".into(),
                "4460.00".into(),
                "-40.00".into(),
                "0.50".into(),
                "10.00".into(),
                "-30.00".into(),
                "-30.50".into()
            ),
            (
                "2026-11-04",
                1,
                "10".into(),
                "520.00".into(),
                "20.00".into(),
                "0.10".into(),
                "-50.00".into(),
                "-30.00".into(),
                "-30.10".into()
            ),
        ]
    );
    let d1 = &r.days[0].figures;
    assert_eq!((d1.closed_lots, d1.wins, d1.losses), (1, 1, 0));
    assert_eq!(d1.win_rate, Some(dec("1.0000")));
    assert_eq!(d1.largest_win, Some(dec("58.80")));
    assert_eq!(r.days[1].figures.largest_loss, Some(dec("-40.80")));

    assert_eq!(r.totals.len(), 1);
    let t = &r.totals[0];
    let f = &t.figures;
    assert_eq!((f.trades, f.closed_lots, f.wins, f.losses), (5, 3, 2, 1));
    assert_eq!(f.realized_gross, dec("40.00"));
    assert_eq!(f.commission, dec("2.20"));
    assert_eq!(
        f.unrealized_change,
        dec("0.00"),
        "flat at the end: all unrealized came back"
    );
    assert_eq!(f.net_pnl, dec("37.80"));
    assert_eq!(f.win_rate, Some(dec("0.6667")));
    assert_eq!(f.avg_win, Some(dec("39.30")), "(58.80 + 19.80) / 2");
    assert_eq!(f.avg_loss, Some(dec("-40.80")));
    assert_eq!(f.largest_win, Some(dec("58.80")));
    assert_eq!(f.largest_loss, Some(dec("-40.80")));
    assert_eq!(
        (t.best_day, t.worst_day),
        (Some(dec("98.40")), Some(dec("-30.50")))
    );
    // Cumulative 98.40, 67.90, 37.80: down 60.60 from the peak.
    assert_eq!(t.max_drawdown, dec("60.60"));
    // Sharpe, independently in floating point: mean / sample sd × √252.
    let x = [98.40f64, -30.50, -30.10];
    let m = x.iter().sum::<f64>() / 3.0;
    let sd = (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / 2.0).sqrt();
    let expect = m / sd * 252f64.sqrt();
    let got: f64 = t.sharpe.unwrap().to_string().parse().unwrap();
    assert!((got - expect).abs() < 1e-3, "sharpe {got} vs {expect}");

    // The realized equity curve ends at realized gross − commissions.
    let last = r.equity_curve.last().unwrap();
    assert_eq!(last.cumulative, dec("37.80"));
}

#[test]
fn one_day_alone_and_a_month() {
    let j = three_days();
    let inv = j.investigator();
    let d2 = parse_date("--date", "2026-11-03").unwrap();
    let from = d2.midnight().assume_utc().unix_timestamp() * S;
    let r = daily(&inv, &ReportFilter::range(Some(from), Some(from + D))).unwrap();
    assert_eq!(r.days.len(), 1);
    // The day's unrealized change is against the previous day's end, read from before the range.
    assert_eq!(r.days[0].figures.unrealized_change, dec("10.00"));
    assert_eq!(r.days[0].figures.net_pnl, dec("-30.50"));
    assert_eq!(r.totals[0].sharpe, None, "one day has no Sharpe ratio");

    let (f, t) = tradetrail_reports::parse_month("--month", "2026-11").unwrap();
    let m = monthly(&inv, &ReportFilter::range(Some(f), Some(t))).unwrap();
    assert_eq!(m.months.len(), 1);
    let s = &m.months[0].summary;
    assert_eq!(m.months[0].month, "2026-11");
    assert_eq!((s.days, s.trading_days), (3, 3));
    assert_eq!(s.figures.net_pnl, dec("37.80"));
    assert_eq!(s.max_drawdown, dec("60.60"));
}

#[test]
fn tax_lots_with_dates_holding_and_shorts() {
    let j = three_days();
    // A short: sell 10 XOM @ 20 on day 1, buy back @ 18 on day 3: gain 20.
    trade(
        &j,
        DAY + 16 * H,
        "O-6",
        "XOM.XNYS",
        "sell",
        "10",
        "20",
        "0.10",
    );
    trade(
        &j,
        DAY + 2 * D + 16 * H,
        "O-7",
        "XOM.XNYS",
        "buy",
        "10",
        "18",
        "0.10",
    );
    let (f, t) = tradetrail_reports::parse_year("--year", "2026").unwrap();
    let r = tax(&j.investigator(), &ReportFilter::range(Some(f), Some(t))).unwrap();
    let lots: Vec<_> = r
        .lots
        .iter()
        .map(|l| {
            (
                l.instrument_id.as_str(),
                l.direction.as_str(),
                l.quantity.to_string(),
                l.open_date.as_str(),
                l.close_date.as_str(),
                l.holding_days,
                l.proceeds.to_string(),
                l.cost_basis.to_string(),
                l.gain.to_string(),
                l.net_gain.to_string(),
            )
        })
        .collect();
    assert_eq!(
        lots,
        [
            (
                "AAPL.XNAS",
                "long",
                "60".into(),
                "2026-11-02",
                "2026-11-02",
                0,
                "6060.00".into(),
                "6000.00".into(),
                "60.00".into(),
                "58.80".into()
            ),
            (
                "AAPL.XNAS",
                "long",
                "40".into(),
                "2026-11-02",
                "2026-11-03",
                1,
                "3960.00".into(),
                "4000.00".into(),
                "-40.00".into(),
                "-40.80".into()
            ),
            (
                "MSFT.XNAS",
                "long",
                "10".into(),
                "2026-11-03",
                "2026-11-04",
                1,
                "520.00".into(),
                "500.00".into(),
                "20.00".into(),
                "19.80".into()
            ),
            (
                "XOM.XNYS",
                "short",
                "10".into(),
                "2026-11-02",
                "2026-11-04",
                2,
                "200.00".into(),
                "180.00".into(),
                "20.00".into(),
                "19.80".into()
            ),
        ]
    );
    assert!(r.lots.iter().all(|l| l.term == "short"));
    assert_eq!(r.totals.len(), 1);
    assert_eq!(r.totals[0].lots, 4);
    assert_eq!(r.totals[0].gain, dec("60.00"));
    assert_eq!(r.totals[0].net_gain, dec("57.60"));
    // A year without closes has no lots.
    let (f, t) = tradetrail_reports::parse_year("--year", "2025").unwrap();
    assert!(
        tax(&j.investigator(), &ReportFilter::range(Some(f), Some(t)))
            .unwrap()
            .lots
            .is_empty()
    );
}

#[test]
fn long_term_means_more_than_a_year() {
    let d = |s| parse_date("--date", s).unwrap();
    assert!(!is_long_term(d("2025-01-15"), d("2026-01-15")));
    assert!(is_long_term(d("2025-01-15"), d("2026-01-16")));
    assert!(!is_long_term(d("2024-02-29"), d("2025-03-01")));
    assert!(is_long_term(d("2024-02-29"), d("2025-03-02")));
}

#[test]
fn sharpe_needs_two_days_and_some_variation() {
    assert_eq!(sharpe(&[dec("5")]), None);
    assert_eq!(sharpe(&[dec("5"), dec("5")]), None);
    // mean 2, sd √2 → 2/√2·√252 = √504 ≈ 22.4499.
    assert_eq!(sharpe(&[dec("1"), dec("3")]), Some(dec("22.4499")));
}

/// Three fills: Tuesday 2026-11-24 18:00 New York (after the close, 23:00Z),
/// Wednesday 10:00 (15:00Z), Wednesday 21:00 (02:00Z on Thursday). UTC days: three
/// rows; New York days: the 24th and the 25th; XNYS trading days: Wednesday (from
/// Tuesday's close) and Thursday.
#[test]
fn daily_rows_in_a_zone_and_by_trading_day() {
    use tradetrail_reports::{run, ReportKind, ReportRequest};
    let t = |s: &str| tradetrail_model::parse_time(s).unwrap();
    let j = Journal::new();
    trade(
        &j,
        t("2026-11-24T23:00Z"),
        "O-1",
        "AAPL.XNAS",
        "buy",
        "10",
        "100",
        "0.10",
    );
    trade(
        &j,
        t("2026-11-25T15:00Z"),
        "O-2",
        "AAPL.XNAS",
        "buy",
        "10",
        "101",
        "0.10",
    );
    trade(
        &j,
        t("2026-11-26T02:00Z"),
        "O-3",
        "AAPL.XNAS",
        "sell",
        "20",
        "102",
        "0.20",
    );
    let inv = j.investigator();
    let time = tradetrail_model::TimeSettings {
        zone: tradetrail_model::Zone::utc(),
        sessions: vec![tradetrail_model::Session::parse(
            "s",
            "XNYS",
            "America/New_York",
            "09:30",
            "16:00",
            None,
        )
        .unwrap()],
        default_session: None,
    };
    let rows = |flags: &[(&str, &str)]| {
        let mut req = ReportRequest::with_time(ReportKind::Daily, time.clone());
        for (k, v) in flags {
            req.set(k, v).unwrap();
        }
        let r = daily(&inv, &req.filter).unwrap();
        r.days
            .iter()
            .map(|d| (d.date.clone(), d.figures.trades))
            .collect::<Vec<_>>()
    };
    let s = |d: &str, n: u64| (d.to_owned(), n);
    assert_eq!(
        rows(&[]),
        [s("2026-11-24", 1), s("2026-11-25", 1), s("2026-11-26", 1)]
    );
    assert_eq!(
        rows(&[("tz", "America/New_York")]),
        [s("2026-11-24", 1), s("2026-11-25", 2)]
    );
    assert_eq!(
        rows(&[("session", "XNYS")]),
        [s("2026-11-25", 2), s("2026-11-26", 1)]
    );
    // --date in the zone: the local day, both of Wednesday's New York fills.
    assert_eq!(
        rows(&[("tz", "America/New_York"), ("date", "2026-11-25")]),
        [s("2026-11-25", 2)]
    );
    assert_eq!(
        rows(&[("date", "2026-11-25"), ("session", "XNYS")]),
        [s("2026-11-25", 2)]
    );
    // The JSON says which days, and keeps the instants absolute.
    let mut req = ReportRequest::with_time(ReportKind::Tax, time.clone());
    req.set("session", "XNYS").unwrap();
    let report = run(&inv, &req).unwrap();
    let mut json = Vec::new();
    tradetrail_reports::write(&mut json, &report, tradetrail_reports::Format::Json, None).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v["filter"]["days"]["session"], "XNYS");
    assert_eq!(v["filter"]["days"]["zone"], "America/New_York");
    // The lot opened Tuesday evening (Wednesday's trading day) and closed Wednesday
    // evening after the close (Thursday's).
    let lot = &v["lots"][0];
    assert_eq!(
        (lot["open_date"].as_str(), lot["close_date"].as_str()),
        (Some("2026-11-25"), Some("2026-11-26"))
    );
    assert_eq!(
        lot["open_ts"].as_i64(),
        Some(t("2026-11-24T23:00Z") + 2 * MS)
    );
}
