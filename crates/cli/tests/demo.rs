//! End to end: `tradetrail demo` records a simulated day, verifies it, and is
//! deterministic by seed. Runs the real binary.

mod common;

use std::collections::BTreeMap;

use common::*;

fn demo(s: &Scratch, seed: &str) -> Run {
    s.on_data("demo", &["--events", "3000", "--seed", seed])
        .expect(0)
}

#[test]
fn demo_records_verifies_and_is_deterministic_by_seed() {
    let a = Scratch::new();
    let b = Scratch::new();
    let c = Scratch::new();
    // Run the three simulations at once: they are independent.
    let (ra, rb, rc) = std::thread::scope(|t| {
        let ha = t.spawn(|| demo(&a, "7"));
        let hb = t.spawn(|| demo(&b, "7"));
        let hc = t.spawn(|| demo(&c, "8"));
        (ha.join().unwrap(), hb.join().unwrap(), hc.join().unwrap())
    });

    let out = &ra.stdout;
    assert!(out.contains("recorded "), "{out}");
    for word in [
        "signals",
        "orders",
        "fills",
        "positions",
        "approvals",
        "risk",
    ] {
        assert!(out.contains(word), "summary mentions {word}\n{out}");
    }
    assert!(out.contains("verify: ok"), "{out}");
    assert!(rb.stdout.contains("verify: ok"));
    assert!(rc.stdout.contains("verify: ok"));

    // At least the events asked for; the summary's count is what was written.
    let la = a.lines();
    assert!(la.len() > 3000, "{} records", la.len());
    let recorded: u64 = out
        .split("recorded ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("recorded N events");
    assert_eq!(
        recorded as usize,
        la.len() - 1,
        "record 0 plus the demo's events"
    );

    // Same seed, fresh directory: the same events in the same order. Only seq 0's
    // ts_event (the time of init), ts_recorded and the hashes may differ.
    let lb = b.lines();
    assert_eq!(la.len(), lb.len());
    for (i, (x, y)) in la.iter().zip(&lb).enumerate().skip(1) {
        assert_eq!(body_after_prev(x), body_after_prev(y), "record {i}");
    }
    let (r0a, r0b) = (parse(&la[0]), parse(&lb[0]));
    assert_eq!(r0a["type"], "journal.created");
    assert_eq!(r0a["data"], r0b["data"]);

    // Another seed: another day.
    let lc = c.lines();
    let differs = la
        .iter()
        .zip(&lc)
        .skip(2)
        .take(50)
        .any(|(x, y)| body_after_prev(x) != body_after_prev(y));
    assert!(differs, "seed 8 records other events than seed 7");

    // The journal is a real one: verify, status, and the event vocabulary.
    let (code, v) = a.verify_json();
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["records"], la.len());
    let st = a.status();
    assert_eq!(st["records"], la.len());
    assert_eq!(st["origin"], "tradetrail.demo/desk-1");
    let mut by_type: BTreeMap<String, usize> = BTreeMap::new();
    for l in &la[1..] {
        let rec = parse(l);
        assert!(
            rec["event_id"].is_string(),
            "demo events carry an event_id: {l}"
        );
        *by_type
            .entry(rec["type"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    for ty in [
        "signal.generated",
        "risk.evaluated",
        "order.submitted",
        "order.accepted",
        "order.filled",
        "position.updated",
        "account.snapshot",
    ] {
        assert!(
            by_type.get(ty).copied().unwrap_or(0) > 0,
            "{ty} in {by_type:?}"
        );
    }
    // Every demo event is valid input for `append` (the vocabulary is the public one):
    // feed them, with their journal fields removed, to a fresh journal's --dry-run.
    let fresh = Scratch::new();
    fresh.init("test/replay");
    let input: String = la[1..]
        .iter()
        .map(|l| format!("{{{}\n", body_after_prev(l)))
        .collect();
    let r = fresh
        .tt_stdin(
            &["append", "--dry-run", "--data", &fresh.data_arg()],
            input.as_bytes(),
        )
        .expect(0);
    assert!(r.stderr.contains("valid"), "{}", r.stderr);
}

#[test]
fn demo_into_an_existing_journal_appends_a_new_day() {
    let s = Scratch::new();
    s.init("test/existing");
    let r = s
        .on_data("demo", &["--events", "300", "--seed", "3"])
        .expect(0);
    assert!(r.stdout.contains("verify: ok"), "{}", r.stdout);
    let n1 = s.status()["records"].as_u64().unwrap();
    assert!(n1 > 300);
    assert_eq!(
        s.status()["origin"],
        "test/existing",
        "the journal's own origin is kept"
    );
    // The same seed again records new events (new ids), not duplicates.
    let r = s
        .on_data("demo", &["--events", "300", "--seed", "3"])
        .expect(0);
    assert!(r.stdout.contains("verify: ok"), "{}", r.stdout);
    assert!(!r.stdout.contains("already recorded"), "{}", r.stdout);
    let n2 = s.status()["records"].as_u64().unwrap();
    assert_eq!(n2, 2 * n1 - 1);
    s.on_data("verify", &[]).expect(0);
}

#[test]
fn demo_without_data_writes_to_tradetrail_demo() {
    let s = Scratch::new();
    s.tt(&["demo", "--events", "100", "--seed", "1"]).expect(0);
    assert!(s.path().join("tradetrail-demo/tradetrail.toml").is_file());
    assert!(
        !s.path().join("tradetrail-data").exists(),
        "away from real data"
    );
}

#[test]
fn a_second_demo_records_the_next_trading_day_with_new_ids() {
    let s = Scratch::new();
    s.on_data("demo", &["--events", "2000"]).expect(0);
    s.on_data("demo", &["--events", "2000"]).expect(0);
    let starts: Vec<String> = s
        .records()
        .iter()
        .filter(|r| r["type"] == "system.started")
        .map(|r| tradetrail_model::format_time(r["ts_event"].as_i64().unwrap()))
        .collect();
    assert_eq!(starts, ["2026-11-26T14:30:00Z", "2026-11-27T14:30:00Z"]);
    let mut orders: Vec<String> = s
        .records()
        .iter()
        .filter(|r| r["type"] == "order.submitted")
        .map(|r| r["entity"]["id"].as_str().unwrap().to_string())
        .collect();
    let n = orders.len();
    orders.sort();
    orders.dedup();
    assert_eq!(orders.len(), n, "no order id repeats across the two days");
    let r = s.on_data("positions", &[]).expect(0);
    assert!(r.stdout.contains(" 0 anomalies"), "{}", r.stdout);
}
