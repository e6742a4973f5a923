//! Compliance on a hand-built day: counts, approvers, overrides, changes, kill switches.

mod common;

use common::*;
use serde_json::json;
use tradetrail_model::Event;
use tradetrail_reports::{compliance, ReportFilter};

fn ev(ty: &str, ts: i64, actor: &str) -> Event {
    Event::new(ty, ts, "svc", actor)
}

fn day() -> Journal {
    let j = Journal::new();
    let t = DAY + 15 * H;
    j.record(recommendation(
        t,
        "T-1",
        "S-A",
        "AAPL.XNAS",
        "R-1",
        "buy",
        "100",
    ));
    j.record(recommendation(
        t,
        "T-1",
        "S-A",
        "AAPL.XNAS",
        "R-2",
        "buy",
        "100",
    ));
    // E-1 approved, E-2 rejected (and the order goes in anyway: an override).
    for (id, rec, decision) in [("E-1", "R-1", "approved"), ("E-2", "R-2", "rejected")] {
        j.record(
            ev("risk.evaluated", t + S, "system")
                .with_trader("T-1")
                .with_strategy("S-A")
                .with_entity("evaluation", id)
                .with_ref("recommendation_id", rec)
                .with_data("decision", decision),
        );
    }
    j.record(
        ev("risk.rejected", t + S, "system")
            .with_trader("T-1")
            .with_strategy("S-A")
            .with_entity("evaluation", "E-2")
            .with_data("reason", "notional_limit"),
    );
    // Approvals carry no strategy: they take it from the recommendation they cite.
    for (id, outcome, op) in [
        ("A-1", "approval.approved", "operator:carol"),
        ("A-2", "approval.rejected", "operator:dave"),
    ] {
        j.record(
            ev("approval.requested", t + 2 * S, "trader:T-1")
                .with_trader("T-1")
                .with_entity("approval", id)
                .with_ref("recommendation_id", "R-1"),
        );
        j.record(
            ev(outcome, t + 3 * S, op)
                .with_trader("T-1")
                .with_entity("approval", id)
                .with_ref("approval_id", id)
                .with_ref("recommendation_id", "R-1")
                .with_data("note", "checked"),
        );
    }
    j.record(
        submitted(t + 4 * S, "T-1", "S-A", "AAPL.XNAS", "O-1", "buy", "10")
            .with_ref("evaluation_id", "E-1")
            .with_ref("approval_id", "A-1"),
    );
    j.record(
        submitted(t + 5 * S, "T-1", "S-A", "AAPL.XNAS", "O-2", "buy", "10")
            .with_ref("evaluation_id", "E-2"),
    );
    j.record(
        submitted(t + 6 * S, "T-1", "S-A", "AAPL.XNAS", "O-3", "buy", "10")
            .with_ref("approval_id", "A-2"),
    );
    j.record(
        order(
            "order.rejected",
            t + 7 * S,
            "T-1",
            "S-A",
            "AAPL.XNAS",
            "O-3",
        )
        .with_data("reason", "price band"),
    );
    j.record(order(
        "order.cancelled",
        t + 8 * S,
        "T-1",
        "S-A",
        "AAPL.XNAS",
        "O-1",
    ));
    // T-2 declares an override of its own.
    j.record(submitted(
        t + 9 * S,
        "T-2",
        "S-B",
        "MSFT.XNAS",
        "O-4",
        "sell",
        "5",
    ));
    j.record(
        ev("custom.risk_override", t + 9 * S, "operator:erin")
            .with_trader("T-2")
            .with_strategy("S-B")
            .with_entity("order", "O-4")
            .with_data("reason", "client facilitation"),
    );
    // Changes.
    j.record(
        ev("param.changed", t + 10 * S, "trader:T-1")
            .with_trader("T-1")
            .with_strategy("S-A")
            .with_data("name", "max_position")
            .with_data("old_value", json!(5000))
            .with_data("new_value", json!(4000))
            .with_data("reason", "volatility"),
    );
    j.record(
        ev("config.changed", t + 11 * S, "operator:erin")
            .with_data("name", "risk.max_order_notional")
            .with_data("old_value", "2000000")
            .with_data("new_value", "1500000")
            .with_data("reason", "CRO instruction"),
    );
    j.record(
        ev("trading.mode_changed", t + 12 * S, "operator:carol")
            .with_data("old_mode", "live")
            .with_data("new_mode", "reduce_only")
            .with_data("reason", "review"),
    );
    for (dt, engaged) in [(13 * S, true), (13 * S + 90 * S, false)] {
        j.record(
            ev("trading.kill_switch", t + dt, "operator:dave")
                .with_data("engaged", engaged)
                .with_data("scope", "desk:equities")
                .with_data("reason", "runaway orders"),
        );
    }
    j
}

#[test]
fn per_trader_and_strategy() {
    let j = day();
    let r = compliance(
        &j.investigator(),
        &ReportFilter::range(Some(DAY), Some(DAY + D)),
    )
    .unwrap();
    let keys: Vec<(&str, &str)> = r
        .rows
        .iter()
        .map(|r| (r.trader_id.as_str(), r.strategy_id.as_str()))
        .collect();
    assert_eq!(keys, [("-", "-"), ("T-1", "S-A"), ("T-2", "S-B")]);
    let a = &r.rows[1];
    assert_eq!((a.orders, a.order_rejects, a.cancels), (3, 1, 1));
    assert_eq!((a.risk_evaluations, a.risk_rejections), (2, 1));
    assert_eq!(
        (
            a.approvals_requested,
            a.approvals_approved,
            a.approvals_rejected,
            a.approvals_expired
        ),
        (2, 1, 1, 0)
    );
    assert_eq!(a.approvers.get("operator:carol"), Some(&1));
    assert_eq!(a.approvers.get("operator:dave"), Some(&1));
    assert_eq!(a.overrides, 2, "O-2 despite E-2, O-3 despite refused A-2");
    assert_eq!(a.changes, 1);
    let desk = &r.rows[0];
    assert_eq!((desk.changes, desk.kill_switches), (2, 2));
    assert_eq!(r.rows[2].overrides, 1);
    assert_eq!(r.totals.orders, 4);
    assert_eq!(r.totals.overrides, 3);
    assert_eq!(
        r.risk_rejection_reasons,
        [("notional_limit".to_string(), 1)]
    );

    let kinds: Vec<(&str, &str)> = r
        .overrides
        .iter()
        .map(|o| (o.kind.as_str(), o.entity_id.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("risk_rejected", "O-2"),
            ("approval_refused", "O-3"),
            ("declared", "O-4")
        ]
    );
    assert_eq!(r.overrides[2].actor, "operator:erin");

    let approvals: Vec<(&str, &str, &str, &str)> = r
        .approvals
        .iter()
        .map(|a| {
            (
                a.approval_id.as_str(),
                a.outcome.as_str(),
                a.by.as_str(),
                a.strategy_id.as_str(),
            )
        })
        .collect();
    assert_eq!(
        approvals,
        [
            ("A-1", "approved", "operator:carol", "S-A"),
            ("A-2", "rejected", "operator:dave", "S-A")
        ]
    );

    let changes: Vec<(&str, &str, &str, &str)> = r
        .changes
        .iter()
        .map(|c| {
            (
                c.name.as_str(),
                c.old_value.as_str(),
                c.new_value.as_str(),
                c.reason.as_str(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("max_position", "5000", "4000", "volatility"),
            (
                "risk.max_order_notional",
                "2000000",
                "1500000",
                "CRO instruction"
            ),
            ("trading_mode", "live", "reduce_only", "review"),
        ]
    );
    assert_eq!(r.kill_switches.len(), 2);
    assert!(r.kill_switches[0].engaged);
    assert_eq!(r.kill_switches[1].engaged_for_ns, Some(90 * S));
}

#[test]
fn a_trader_sees_only_their_own_records() {
    let j = day();
    let r = compliance(
        &j.investigator(),
        &ReportFilter::default().for_trader("T-2"),
    )
    .unwrap();
    assert_eq!(r.rows.len(), 1);
    assert_eq!(r.rows[0].trader_id, "T-2");
    assert!(
        r.changes.is_empty(),
        "desk-wide changes are not T-2's records"
    );
    assert!(r.kill_switches.is_empty());
    assert_eq!(r.overrides.len(), 1);
}
