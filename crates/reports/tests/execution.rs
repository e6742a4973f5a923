//! Execution quality on a hand-built day, checked against figures computed here from
//! the prices recorded.

mod common;

use common::*;
use rust_decimal::Decimal;
use tradetrail_reports::{execution, ReportFilter};

/// Slippage in bps, written out again from the definition: cost positive.
fn bps(side: i64, fill: &str, reference: &str) -> Decimal {
    let (f, r) = (dec(fill), dec(reference));
    Decimal::from(side) * (f - r) / r * Decimal::from(10_000)
}

fn day() -> Journal {
    let j = Journal::new();
    let t = DAY + 15 * H;
    // O-1: T-1 buys 100 AAPL on recommendation R-1 at 100.00; arrival 100.02 given.
    j.record(recommendation(
        t - S,
        "T-1",
        "S-A",
        "AAPL.XNAS",
        "R-1",
        "buy",
        "100.00",
    ));
    j.record(
        submitted(t, "T-1", "S-A", "AAPL.XNAS", "O-1", "buy", "100")
            .with_ref("recommendation_id", "R-1")
            .with_data("arrival_price", "100.02"),
    );
    j.record(order(
        "order.accepted",
        t + 2 * MS,
        "T-1",
        "S-A",
        "AAPL.XNAS",
        "O-1",
    ));
    j.record(filled(
        t + 10 * MS,
        "T-1",
        "S-A",
        "AAPL.XNAS",
        "O-1",
        "60",
        "100.05",
        "X1",
        "0.60",
    ));
    j.record(filled(
        t + 30 * MS,
        "T-1",
        "S-A",
        "AAPL.XNAS",
        "O-1",
        "40",
        "100.10",
        "X2",
        "0.40",
    ));
    // O-2: T-2 sells 50 MSFT on R-2 at 200; no trade before it, so no arrival price.
    j.record(recommendation(
        t,
        "T-2",
        "S-B",
        "MSFT.XNAS",
        "R-2",
        "sell",
        "200",
    ));
    j.record(
        submitted(t + S, "T-2", "S-B", "MSFT.XNAS", "O-2", "sell", "50")
            .with_ref("recommendation_id", "R-2"),
    );
    j.record(order(
        "order.accepted",
        t + S + 4 * MS,
        "T-2",
        "S-B",
        "MSFT.XNAS",
        "O-2",
    ));
    j.record(filled(
        t + S + 50 * MS,
        "T-2",
        "S-B",
        "MSFT.XNAS",
        "O-2",
        "50",
        "199.90",
        "X3",
        "0.50",
    ));
    // O-3: T-1 buys 10 AAPL without a recommendation: arrival = the last AAPL trade, 100.10.
    j.record(submitted(
        t + 2 * S,
        "T-1",
        "S-A",
        "AAPL.XNAS",
        "O-3",
        "buy",
        "10",
    ));
    j.record(order(
        "order.accepted",
        t + 2 * S + 6 * MS,
        "T-1",
        "S-A",
        "AAPL.XNAS",
        "O-3",
    ));
    j.record(filled(
        t + 2 * S + 20 * MS,
        "T-1",
        "S-A",
        "AAPL.XNAS",
        "O-3",
        "10",
        "100.00",
        "X4",
        "0.10",
    ));
    // O-4: T-2's KO order rejected by the venue.
    j.record(submitted(
        t + 3 * S,
        "T-2",
        "S-B",
        "KO.XNYS",
        "O-4",
        "buy",
        "100",
    ));
    j.record(
        order(
            "order.rejected",
            t + 3 * S + MS,
            "T-2",
            "S-B",
            "KO.XNYS",
            "O-4",
        )
        .with_data("reason", "insufficient margin")
        .with_data("error_code", "201")
        .with_data("rejection_source", "venue"),
    );
    // O-5: T-1 buys 200 AAPL, 50 filled, the rest cancelled.
    j.record(submitted(
        t + 4 * S,
        "T-1",
        "S-A",
        "AAPL.XNAS",
        "O-5",
        "buy",
        "200",
    ));
    j.record(order(
        "order.accepted",
        t + 4 * S + 3 * MS,
        "T-1",
        "S-A",
        "AAPL.XNAS",
        "O-5",
    ));
    j.record(filled(
        t + 4 * S + 15 * MS,
        "T-1",
        "S-A",
        "AAPL.XNAS",
        "O-5",
        "50",
        "100.00",
        "X5",
        "0.50",
    ));
    j.record(
        order(
            "order.cancelled",
            t + 4 * S + 90 * MS,
            "T-1",
            "S-A",
            "AAPL.XNAS",
            "O-5",
        )
        .with_data("reason", "no longer wanted"),
    );
    // An order of the next day: outside a one-day range.
    j.record(submitted(
        DAY + D + H,
        "T-1",
        "S-A",
        "AAPL.XNAS",
        "O-6",
        "buy",
        "1",
    ));
    j
}

fn one_day() -> ReportFilter {
    ReportFilter::range(Some(DAY), Some(DAY + D))
}

#[test]
fn totals_match_the_hand_computation() {
    let j = day();
    let r = execution(&j.investigator(), &one_day()).unwrap();
    let t = &r.totals;
    assert_eq!(
        (
            t.orders,
            t.accepted,
            t.rejected,
            t.filled,
            t.cancelled,
            t.expired,
            t.fills
        ),
        (5, 4, 1, 3, 1, 0, 5)
    );
    assert_eq!(t.ordered_qty, dec("460"));
    assert_eq!(t.filled_qty, dec("210"));
    assert_eq!(t.fill_ratio, Some((dec("210") / dec("460")).round_dp(4)));
    assert_eq!(t.fill_ratio.unwrap().to_string(), "0.4565");

    // Decision: fills of O-1 (against 100.00) and O-2 (sell against 200); weighted by notional.
    let w = [
        (bps(1, "100.05", "100.00"), dec("60") * dec("100.05")),
        (bps(1, "100.10", "100.00"), dec("40") * dec("100.10")),
        (bps(-1, "199.90", "200"), dec("50") * dec("199.90")),
    ];
    assert_eq!(w[0].0, dec("5"));
    assert_eq!(w[2].0, dec("5"), "selling below the decision is a cost");
    let expect =
        w.iter().map(|(b, n)| b * n).sum::<Decimal>() / w.iter().map(|(_, n)| *n).sum::<Decimal>();
    assert_eq!(t.slippage_vs_decision_bps, Some(expect.round_dp(2)));
    assert_eq!(t.fills_with_decision, 3);

    // Arrival: O-1 against its given 100.02, O-3 against the last AAPL trade (100.10),
    // O-5 against the last AAPL trade before it (O-3's, 100.00); O-2 has none.
    let w = [
        (bps(1, "100.05", "100.02"), dec("60") * dec("100.05")),
        (bps(1, "100.10", "100.02"), dec("40") * dec("100.10")),
        (bps(1, "100.00", "100.10"), dec("10") * dec("100.00")),
        (bps(1, "100.00", "100.00"), dec("50") * dec("100.00")),
    ];
    let expect =
        w.iter().map(|(b, n)| b * n).sum::<Decimal>() / w.iter().map(|(_, n)| *n).sum::<Decimal>();
    assert_eq!(t.slippage_vs_arrival_bps, Some(expect.round_dp(2)));
    assert_eq!(t.fills_with_arrival, 4);

    // Submit → accept: 2, 4, 6, 3 ms; nearest rank p50 = 2nd of 4 = 3 ms, p90 = 4th = 6 ms.
    assert_eq!(t.accept_latency.count, 4);
    assert_eq!(t.accept_latency.p50_ns, Some(3 * MS));
    assert_eq!(t.accept_latency.p90_ns, Some(6 * MS));
    assert_eq!(t.accept_latency.max_ns, Some(6 * MS));
    // Submit → first fill: 10, 50, 20, 15 ms.
    assert_eq!(t.fill_latency.p50_ns, Some(15 * MS));
    assert_eq!(t.fill_latency.p90_ns, Some(50 * MS));
    assert_eq!(t.fill_latency.p99_ns, Some(50 * MS));

    assert_eq!(r.reject_reasons.len(), 1);
    assert_eq!(r.reject_reasons[0].reason, "insufficient margin");
    assert_eq!(r.reject_reasons[0].error_code.as_deref(), Some("201"));
    assert_eq!(r.reject_reasons[0].count, 1);
    // Every fill with a decision price is in the histogram once.
    assert_eq!(
        r.histogram_vs_decision.iter().map(|b| b.count).sum::<u64>(),
        3
    );
    assert_eq!(
        r.histogram_vs_arrival.iter().map(|b| b.count).sum::<u64>(),
        4
    );
}

#[test]
fn groups_by_venue_trader_and_strategy() {
    let j = day();
    let r = execution(&j.investigator(), &one_day()).unwrap();
    let venues: Vec<(&str, u64)> = r
        .by_venue
        .iter()
        .map(|g| (g.key.as_str(), g.orders))
        .collect();
    assert_eq!(venues, [("XNAS", 4), ("XNYS", 1)]);
    let traders: Vec<(&str, u64, u64)> = r
        .by_trader
        .iter()
        .map(|g| (g.key.as_str(), g.orders, g.rejected))
        .collect();
    assert_eq!(traders, [("T-1", 3, 0), ("T-2", 2, 1)]);
    let t2 = &r.by_trader[1];
    assert_eq!(t2.slippage_vs_decision_bps, Some(dec("5.00")));
    assert_eq!(t2.fill_ratio, Some(dec("0.3333")), "50 of 150");
    let strategies: Vec<&str> = r.by_strategy.iter().map(|g| g.key.as_str()).collect();
    assert_eq!(strategies, ["S-A", "S-B"]);
}

#[test]
fn a_trader_sees_only_their_orders_and_ranges_bound_submissions() {
    let j = day();
    let inv = j.investigator();
    let r = execution(&inv, &one_day().for_trader("T-2")).unwrap();
    assert_eq!(r.totals.orders, 2);
    assert_eq!(
        r.by_trader
            .iter()
            .map(|g| g.key.as_str())
            .collect::<Vec<_>>(),
        ["T-2"]
    );
    // A trader id that looks like a pattern matches nothing, not everyone.
    let r = execution(&inv, &one_day().for_trader("T-*")).unwrap();
    assert_eq!(r.totals.orders, 0);
    // Without a range, the next day's order counts too.
    let r = execution(&inv, &ReportFilter::default()).unwrap();
    assert_eq!(r.totals.orders, 6);
}
