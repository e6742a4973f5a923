//! The simulated trading day: deterministic, and a coherent story.

use std::collections::{HashMap, HashSet};

use tradetrail_core::{DataDir, InitOptions, Recorder};
use tradetrail_demo::{run_demo, DemoOptions};
use tradetrail_journal::{verify, FsStorage};

fn run(seed: u64, events: u64) -> (tempfile::TempDir, Vec<serde_json::Value>, Vec<String>) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path().join("d"));
    let rec = Recorder::init(
        &dir,
        InitOptions {
            origin: Some("demo/test".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let summary = run_demo(
        &rec,
        &DemoOptions {
            events,
            seed,
            ..Default::default()
        },
        &|_| {},
    )
    .unwrap();
    assert!(summary.events >= events);
    assert_eq!(summary.duplicates, 0);
    let report = verify(&FsStorage, &dir.journal(), &|_| {}).unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.records, summary.events + 1);
    let mut values = Vec::new();
    let mut bodies = Vec::new();
    let mut lines = Vec::new();
    for seg in tradetrail_journal::list_segments(&FsStorage, &dir.journal()).unwrap() {
        let data = std::fs::read_to_string(&seg.path).unwrap();
        lines.extend(data.lines().map(str::to_string));
    }
    assert_eq!(lines.len() as u64, report.records);
    // Reading through the journal gives the same bytes.
    assert_eq!(
        rec.journal().read_line(report.records / 2).unwrap(),
        lines[(report.records / 2) as usize].as_bytes()
    );
    for text in lines.into_iter().skip(1) {
        // Everything after the journal-assigned header.
        bodies.push(text[text.find(",\"type\"").unwrap()..].to_string());
        values.push(serde_json::from_str(&text).unwrap());
    }
    (tmp, values, bodies)
}

#[test]
fn same_seed_same_events() {
    let (_a, _, first) = run(7, 3000);
    let (_b, _, second) = run(7, 3000);
    assert_eq!(first, second);
    let (_c, _, other) = run(8, 3000);
    assert_ne!(first, other);
}

#[test]
fn the_day_is_a_coherent_story() {
    let (_t, events, _) = run(42, 20_000);
    let mut types: HashMap<String, usize> = HashMap::new();
    let mut submitted = HashSet::new();
    let mut accepted = HashSet::new();
    let mut finished = HashSet::new();
    let mut recommendations = HashSet::new();
    let mut evaluations = HashSet::new();
    let mut approved = HashSet::new();
    let mut kill_engaged = 0i64;
    for e in &events {
        let ty = e["type"].as_str().unwrap();
        *types.entry(ty.to_string()).or_default() += 1;
        let entity = e["entity"]["id"].as_str().unwrap_or("").to_string();
        match ty {
            "recommendation.generated" => {
                assert!(e["refs"]["signal_id"].is_string());
                recommendations.insert(entity);
            }
            "risk.evaluated" => {
                assert!(recommendations.contains(e["refs"]["recommendation_id"].as_str().unwrap()));
                evaluations.insert(entity);
            }
            "approval.approved" => {
                approved.insert(entity);
            }
            "order.submitted" => {
                assert!(
                    evaluations.contains(e["refs"]["evaluation_id"].as_str().unwrap()),
                    "order without a risk evaluation: {e}"
                );
                if let Some(a) = e["refs"]["approval_id"].as_str() {
                    assert!(
                        approved.contains(a),
                        "order on an approval that was not granted: {e}"
                    );
                }
                assert!(submitted.insert(entity));
            }
            "order.accepted" | "order.rejected" => {
                assert!(submitted.contains(&entity));
                if ty == "order.accepted" {
                    accepted.insert(entity);
                } else {
                    finished.insert(entity);
                }
            }
            "order.filled" => {
                assert!(accepted.contains(&entity), "fill without acceptance: {e}");
                assert!(
                    !finished.contains(&entity),
                    "fill after the order ended: {e}"
                );
            }
            "order.cancelled" | "order.expired" => {
                assert!(accepted.contains(&entity));
                assert!(finished.insert(entity));
            }
            "trading.kill_switch" => {
                kill_engaged += if e["data"]["engaged"] == true { 1 } else { -1 };
                assert!((0..=1).contains(&kill_engaged));
            }
            _ => {}
        }
        let ts = e["ts_event"].as_i64().unwrap();
        assert!(ts >= DemoOptions::default().day_start_ns);
    }
    for t in [
        "signal.generated",
        "signal.filtered",
        "recommendation.generated",
        "recommendation.suppressed",
        "risk.evaluated",
        "risk.rejected",
        "approval.requested",
        "approval.approved",
        "approval.rejected",
        "approval.expired",
        "order.submitted",
        "order.accepted",
        "order.rejected",
        "order.filled",
        "order.cancelled",
        "order.expired",
        "position.opened",
        "position.updated",
        "account.snapshot",
        "param.changed",
        "config.changed",
    ] {
        assert!(
            types.get(t).copied().unwrap_or(0) > 0,
            "the day has no {t}: {types:?}"
        );
    }
    // Partial fills: some order has more than one fill.
    let mut fills: HashMap<&str, usize> = HashMap::new();
    for e in &events {
        if e["type"] == "order.filled" {
            *fills
                .entry(e["entity"]["id"].as_str().unwrap())
                .or_default() += 1;
        }
    }
    assert!(fills.values().any(|&n| n > 1));
}

#[test]
fn commissions_are_a_brokers_not_a_flat_share_rate() {
    // FX at a share rate charged 35 bps (525 USD on 150,000 EUR); a broker charges
    // about 0.2 bps. Every fill's commission is checked against the rate of its market.
    let (_t, values, _) = run(11, 20_000);
    let dec = |v: &serde_json::Value| v.as_str().unwrap().parse::<f64>().unwrap();
    let mut seen = HashSet::new();
    for v in values.iter().filter(|v| v["type"] == "order.filled") {
        let inst = v["instrument_id"].as_str().unwrap();
        let (qty, px, fee) = (
            dec(&v["data"]["fill_qty"]),
            dec(&v["data"]["fill_price"]),
            dec(&v["data"]["commission"]),
        );
        let value = qty * px;
        let (market, want) = if inst.ends_with(".IDEALPRO") {
            ("fx", (value * 0.00002).max(2.0))
        } else if inst.ends_with(".XCME") {
            ("futures", qty * 2.25)
        } else if inst.ends_with(".XETR") || inst.ends_with(".XAMS") {
            ("eu shares", (value * 0.0005).max(1.25))
        } else {
            ("us shares", (qty * 0.0035).max(0.35).min(value * 0.01))
        };
        assert!(
            (fee - want).abs() <= 0.005 + 1e-9,
            "{inst}: {qty} at {px} paid {fee}, expected about {want}"
        );
        if market == "fx" && value > 100_000.0 {
            // Past the minimum: well under one basis point.
            assert!(fee / value * 10_000.0 < 1.0, "{inst}: {fee} on {value}");
        }
        seen.insert(market);
    }
    assert_eq!(seen.len(), 4, "{seen:?}");
}
