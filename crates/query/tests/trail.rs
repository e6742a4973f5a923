//! Trails: closure over hand-built chains (cycles, shared ids, corrections), the gaps
//! they flag, and the rule checked against a brute-force closure on random journals.

mod common;

use std::collections::{BTreeSet, HashSet};

use common::*;
use serde_json::Value;
use tradetrail_query::trail::{CHAIN_KINDS, FANOUT_LIMIT};
use tradetrail_query::{GapKind, Investigator, Source};

fn ev(ty: &str, kind: &str, id: &str, refs: &[(&str, &str)], data: &str) -> String {
    let refs: Vec<String> = refs
        .iter()
        .map(|(k, v)| format!(r#""{k}":"{v}""#))
        .collect();
    let refs = if refs.is_empty() {
        String::new()
    } else {
        format!(r#","refs":{{{}}}"#, refs.join(","))
    };
    format!(
        r#"{{"type":"{ty}","ts_event":{},"source":"t","actor":"system","entity":{{"kind":"{kind}","id":"{id}"}}{refs},"data":{{{data}}}}}"#,
        T0
    )
}

struct Fixture {
    _tmp: tempfile::TempDir,
    inv: Investigator,
    j: tradetrail_journal::Journal,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let j = create(tmp.path());
    let inv = Investigator::open(Source::live(j.clone()), index_dir(tmp.path())).unwrap();
    Fixture { _tmp: tmp, inv, j }
}

impl Fixture {
    fn add(&self, body: String) -> u64 {
        append(&self.j, &body)
    }
    fn trail(&self, id: &str) -> Vec<u64> {
        self.inv
            .trail(id)
            .unwrap()
            .records
            .iter()
            .map(|r| r.seq)
            .collect()
    }
}

#[test]
fn one_chain_from_any_of_its_ids_and_not_its_neighbours() {
    let f = fixture();
    // The chain's seqs, in order (the journal's record 0 is journal.created).
    let mut chain = vec![f.add(ev("signal.generated", "signal", "S-1", &[], ""))];
    chain.push(f.add(ev(
        "recommendation.generated",
        "recommendation",
        "R-1",
        &[("signal_id", "S-1")],
        "",
    )));
    chain.push(f.add(ev(
        "risk.evaluated",
        "evaluation",
        "E-1",
        &[("recommendation_id", "R-1")],
        r#""decision":"approved""#,
    )));
    chain.push(f.add(ev(
        "approval.requested",
        "approval",
        "A-1",
        &[("recommendation_id", "R-1"), ("evaluation_id", "E-1")],
        "",
    )));
    // A neighbour's story in between, on the same instrument and account.
    let s2 = f.add(ev("signal.generated", "signal", "S-2", &[], ""));
    let r2 = f.add(ev(
        "recommendation.generated",
        "recommendation",
        "R-2",
        &[("signal_id", "S-2")],
        "",
    ));
    chain.push(f.add(ev(
        "approval.approved",
        "approval",
        "A-1",
        &[("approval_id", "A-1"), ("recommendation_id", "R-1")],
        "",
    )));
    chain.push(f.add(ev(
        "order.submitted",
        "order",
        "O-1",
        &[
            ("recommendation_id", "R-1"),
            ("evaluation_id", "E-1"),
            ("signal_id", "S-1"),
            ("approval_id", "A-1"),
        ],
        r#""quantity":"100""#,
    )));
    let o2 = f.add(ev(
        "order.submitted",
        "order",
        "O-2",
        &[("recommendation_id", "R-2")],
        r#""quantity":"5""#,
    ));
    chain.push(f.add(ev(
        "order.accepted",
        "order",
        "O-1",
        &[("order_id", "O-1")],
        "",
    )));
    chain.push(f.add(ev(
        "order.filled",
        "order",
        "O-1",
        &[("order_id", "O-1")],
        r#""fill_qty":"60""#,
    )));
    // Positions are shared by every order on the instrument: leaves.
    chain.push(f.add(ev(
        "position.updated",
        "position",
        "P-U1-AAPL",
        &[("order_id", "O-1")],
        "",
    )));
    let o2f = f.add(ev(
        "order.filled",
        "order",
        "O-2",
        &[("order_id", "O-2")],
        r#""fill_qty":"5""#,
    ));
    let p2 = f.add(ev(
        "position.updated",
        "position",
        "P-U1-AAPL",
        &[("order_id", "O-2")],
        "",
    ));
    chain.push(f.add(ev(
        "order.filled",
        "order",
        "O-1",
        &[("order_id", "O-1")],
        r#""fill_qty":"40""#,
    )));
    chain.push(f.add(ev(
        "position.updated",
        "position",
        "P-U1-AAPL",
        &[("order_id", "O-1")],
        "",
    )));
    let snapshot = f.add(ev("account.snapshot", "account", "U1", &[], ""));
    for id in ["O-1", "R-1", "S-1", "E-1", "A-1"] {
        assert_eq!(f.trail(id), chain, "trail of {id}");
    }
    let t = f.inv.trail("O-1").unwrap();
    assert!(t.gaps.is_empty(), "{:?}", t.gaps);
    let other = f.trail("O-2");
    assert_eq!(other, vec![s2, r2, o2, o2f, p2]);
    assert!(!other.contains(&snapshot));
    // Starting from the shared position itself: its own records, nothing followed.
    let p = f.trail("P-U1-AAPL");
    assert_eq!(p.len(), 3);
    // Records come back byte for byte.
    let t = f.inv.trail("R-1").unwrap();
    let dir = f.j.dir().to_path_buf();
    let all = lines(&dir);
    for r in &t.records {
        assert_eq!(r.line, all[r.seq as usize]);
    }
}

#[test]
fn cycles_terminate() {
    let f = fixture();
    let a = f.add(ev(
        "order.submitted",
        "order",
        "O-1",
        &[("order_id", "O-2"), ("evaluation_id", "E-9")],
        "",
    ));
    let b = f.add(ev(
        "order.submitted",
        "order",
        "O-2",
        &[("order_id", "O-1"), ("evaluation_id", "E-9")],
        "",
    ));
    let c = f.add(ev(
        "order.accepted",
        "order",
        "O-2",
        &[("order_id", "O-2")],
        "",
    ));
    let d = f.add(ev(
        "risk.evaluated",
        "evaluation",
        "E-9",
        &[("order_id", "O-1"), ("evaluation_id", "E-9")],
        "",
    ));
    let unrelated = f.add(ev("order.submitted", "order", "O-3", &[], ""));
    for id in ["O-1", "O-2", "E-9"] {
        assert_eq!(f.trail(id), vec![a, b, c, d], "{id}");
    }
    assert_eq!(f.trail("O-3"), vec![unrelated]);
}

#[test]
fn a_widely_shared_id_is_not_followed() {
    let f = fixture();
    let mut bodies = Vec::new();
    for i in 0..=FANOUT_LIMIT {
        bodies.push(ev(
            "order.submitted",
            "order",
            &format!("O-{i}"),
            &[("basket_id", "B-1")],
            "",
        ));
    }
    let entries = bodies
        .into_iter()
        .map(|b| {
            tradetrail_journal::Entry::new(b.into_bytes(), tradetrail_journal::Durability::Os)
                .unwrap()
        })
        .collect();
    f.j.append_batch(entries).unwrap();
    let fill = f.add(ev(
        "order.filled",
        "order",
        "O-7",
        &[("order_id", "O-7")],
        "",
    ));
    let t = f.inv.trail("O-7").unwrap();
    let seqs: Vec<u64> = t.records.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, vec![8, fill], "O-7's own records only");
    assert!(
        t.notes
            .iter()
            .any(|n| n.contains("B-1") && n.contains("not followed")),
        "{:?}",
        t.notes
    );
}

#[test]
fn corrections_join_the_trail() {
    let f = fixture();
    let sub = f.add(ev(
        "order.submitted",
        "order",
        "O-1",
        &[("evaluation_id", "E-1")],
        "",
    ));
    let fill = f.add(ev("order.filled", "order", "O-1", &[], ""));
    let fix = f.add(format!(
        r#"{{"type":"correction.recorded","ts_event":{T0},"source":"ops","actor":"operator:o","refs":{{"correction_of":{fill}}},"data":{{"reason":"wrong price"}}}}"#
    ));
    let fix2 = f.add(format!(
        r#"{{"type":"correction.recorded","ts_event":{T0},"source":"ops","actor":"operator:o","refs":{{"correction_of":{fix}}},"data":{{}}}}"#
    ));
    let _elsewhere = f.add(format!(
        r#"{{"type":"correction.recorded","ts_event":{T0},"source":"ops","actor":"operator:o","refs":{{"correction_of":0}},"data":{{}}}}"#
    ));
    assert_eq!(f.trail("O-1"), vec![sub, fill, fix, fix2]);
}

#[test]
fn gaps_in_the_story_are_flagged() {
    let f = fixture();
    // Risk approved E-1; approval A-1 rejected; recommendation R-3 suppressed.
    f.add(ev(
        "risk.evaluated",
        "evaluation",
        "E-1",
        &[],
        r#""decision":"approved""#,
    ));
    f.add(ev(
        "risk.evaluated",
        "evaluation",
        "E-2",
        &[],
        r#""decision":"rejected""#,
    ));
    f.add(ev(
        "approval.rejected",
        "approval",
        "A-1",
        &[("approval_id", "A-1")],
        "",
    ));
    f.add(ev(
        "recommendation.suppressed",
        "recommendation",
        "R-3",
        &[],
        "",
    ));
    // O-1: no evaluation at all; filled after its cancel; overfilled.
    f.add(ev(
        "order.submitted",
        "order",
        "O-1",
        &[],
        r#""quantity":"100""#,
    ));
    f.add(ev(
        "order.filled",
        "order",
        "O-1",
        &[],
        r#""fill_qty":"60""#,
    ));
    f.add(ev("order.cancelled", "order", "O-1", &[], ""));
    let late = f.add(ev(
        "order.filled",
        "order",
        "O-1",
        &[],
        r#""fill_qty":"50""#,
    ));
    let t = f.inv.trail("O-1").unwrap();
    let kinds: HashSet<GapKind> = t.gaps.iter().map(|g| g.kind).collect();
    assert_eq!(
        kinds,
        HashSet::from([
            GapKind::NoRiskEvaluation,
            GapKind::FillAfterEnd,
            GapKind::Overfill
        ])
    );
    assert!(t
        .gaps
        .iter()
        .any(|g| g.seq == late && g.kind == GapKind::FillAfterEnd));
    // O-2: on a rejected evaluation and a rejected approval.
    f.add(ev(
        "order.submitted",
        "order",
        "O-2",
        &[("evaluation_id", "E-2"), ("approval_id", "A-1")],
        "",
    ));
    let kinds: HashSet<GapKind> = f
        .inv
        .trail("O-2")
        .unwrap()
        .gaps
        .iter()
        .map(|g| g.kind)
        .collect();
    assert_eq!(
        kinds,
        HashSet::from([GapKind::RiskRejected, GapKind::NotApproved])
    );
    // O-3: cites an evaluation the journal does not have; on a suppressed recommendation.
    f.add(ev(
        "order.submitted",
        "order",
        "O-3",
        &[("evaluation_id", "E-404"), ("recommendation_id", "R-3")],
        "",
    ));
    let t = f.inv.trail("O-3").unwrap();
    let kinds: HashSet<GapKind> = t.gaps.iter().map(|g| g.kind).collect();
    assert_eq!(
        kinds,
        HashSet::from([GapKind::NoRiskEvaluation, GapKind::Suppressed])
    );
    assert!(
        t.gaps.iter().any(|g| g.message.contains("E-404")),
        "{:?}",
        t.gaps
    );
    // O-4: a fill with no submission; an approval approved only after the order.
    f.add(ev("order.filled", "order", "O-4", &[], r#""fill_qty":"1""#));
    f.add(ev(
        "order.submitted",
        "order",
        "O-5",
        &[("evaluation_id", "E-1"), ("approval_id", "A-5")],
        "",
    ));
    f.add(ev(
        "approval.approved",
        "approval",
        "A-5",
        &[("approval_id", "A-5")],
        "",
    ));
    let kinds: Vec<GapKind> = f
        .inv
        .trail("O-4")
        .unwrap()
        .gaps
        .iter()
        .map(|g| g.kind)
        .collect();
    assert_eq!(kinds, vec![GapKind::FillWithoutOrder]);
    let kinds: Vec<GapKind> = f
        .inv
        .trail("O-5")
        .unwrap()
        .gaps
        .iter()
        .map(|g| g.kind)
        .collect();
    assert_eq!(kinds, vec![GapKind::NotApproved]);
}

#[test]
fn an_unknown_id_is_an_empty_trail() {
    let f = fixture();
    f.add(ev("order.submitted", "order", "O-1", &[], ""));
    let t = f.inv.trail("O-404").unwrap();
    assert!(t.records.is_empty() && t.gaps.is_empty());
}

/// The rule, by brute force: fixpoint over every record until nothing changes.
fn closure(values: &[Value], start: &str) -> BTreeSet<u64> {
    let ids_of = |v: &Value| -> Vec<String> {
        let mut out = Vec::new();
        if let Some(e) = v.pointer("/entity/id").and_then(Value::as_str) {
            out.push(e.to_owned());
        }
        if let Some(m) = v.get("refs").and_then(Value::as_object) {
            for (k, x) in m {
                if k == "correction_of" {
                    continue;
                }
                match x {
                    Value::String(s) => out.push(s.clone()),
                    Value::Number(n) => out.push(n.to_string()),
                    _ => {}
                }
            }
        }
        out
    };
    let mut s: HashSet<String> = HashSet::from([start.to_owned()]);
    let mut found = BTreeSet::new();
    loop {
        let before = (s.len(), found.len());
        for (i, v) in values.iter().enumerate() {
            let ids = ids_of(v);
            if !ids.iter().any(|x| s.contains(x)) {
                continue;
            }
            found.insert(i as u64);
            let chain = v
                .pointer("/entity/kind")
                .and_then(Value::as_str)
                .is_some_and(|k| CHAIN_KINDS.contains(&k));
            if chain {
                s.extend(ids);
            }
        }
        if (s.len(), found.len()) == before {
            break;
        }
    }
    loop {
        let before = found.len();
        for (i, v) in values.iter().enumerate() {
            if let Some(c) = v.pointer("/refs/correction_of").and_then(Value::as_u64) {
                if found.contains(&c) {
                    found.insert(i as u64);
                }
            }
        }
        if found.len() == before {
            break;
        }
    }
    found
}

#[test]
fn the_rule_matches_a_brute_force_closure_on_random_journals() {
    for seed in 0..6u64 {
        let tmp = tempfile::tempdir().unwrap();
        let j = create(tmp.path());
        let mut g = Gen::new(seed);
        fill(&j, &mut g, 400 + seed * 150);
        let inv = Investigator::open(Source::live(j), index_dir(tmp.path())).unwrap();
        let values = parse_all(&lines(&tmp.path().join("journal")));
        for id in IDS.iter().chain(&["missing", "U1"]) {
            let got: BTreeSet<u64> = inv
                .trail(id)
                .unwrap()
                .records
                .iter()
                .map(|r| r.seq)
                .collect();
            assert_eq!(got, closure(&values, id), "seed {seed}, trail of {id}");
        }
    }
}

/// The issue's order (quantity and price `Decimal::MAX`, two fills), appended raw as an
/// older version could: the trail is told, and the fill whose quantity makes the sum
/// overflow is a gap naming it, not a panic.
#[test]
fn fills_whose_sum_overflows_a_decimal_are_a_gap_not_a_panic() {
    const HUGE: &str = "79228162514264337593543950335";
    let f = fixture();
    let submitted = f.add(ev(
        "order.submitted",
        "order",
        "O-1",
        &[],
        &format!(r#""side":"buy","quantity":"{HUGE}","order_type":"limit","price":"{HUGE}""#),
    ));
    f.add(ev("order.accepted", "order", "O-1", &[], ""));
    let fill = |t: &str| format!(r#""fill_qty":"{HUGE}","fill_price":"{HUGE}","trade_id":"{t}""#);
    let first = f.add(ev("order.filled", "order", "O-1", &[], &fill("X1")));
    let second = f.add(ev("order.filled", "order", "O-1", &[], &fill("X2")));
    let trail = f.inv.trail("O-1").unwrap();
    let seqs: Vec<u64> = trail.records.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, vec![submitted, submitted + 1, first, second]);
    let overflow: Vec<&tradetrail_query::Gap> = trail
        .gaps
        .iter()
        .filter(|g| g.kind == GapKind::Overflow)
        .collect();
    assert_eq!(overflow.len(), 1, "{:?}", trail.gaps);
    assert_eq!(overflow[0].seq, second);
    assert!(
        overflow[0].message.contains("±7.9e28"),
        "{}",
        overflow[0].message
    );
    // The first fill equals the order's quantity: no overfill is claimed.
    assert!(trail.gaps.iter().all(|g| g.kind != GapKind::Overfill));
}
