//! End to end: positions, reconcile and review through the real binary.

mod common;

use common::*;
use serde_json::Value;

fn demo_with_statement(s: &Scratch) -> String {
    let st = s.path().join("broker.csv").display().to_string();
    let run = s
        .on_data("demo", &["--events", "3000", "--statement", &st])
        .expect(0);
    assert!(
        run.stdout.contains("with 4 planted discrepancies"),
        "{}",
        run.stdout
    );
    st
}

#[test]
fn reconcile_a_generated_day_then_review() {
    let s = Scratch::new();
    let st = demo_with_statement(&s);
    let before = s.lines().len();
    let dry = s
        .on_data("reconcile", &["--statement", &st, "--dry-run"])
        .expect(0);
    assert!(
        dry.stdout.contains("4 discrepancies: 2 minor, 2 major"),
        "{}",
        dry.stdout
    );
    assert_eq!(s.lines().len(), before, "a dry run appends nothing");
    // The values compared are printed whole, however long, in columns that line up:
    // every row's UNEXPLAINED ends where its header does. (A statement whose USD cash
    // change is -246,545,140.9012: the table once cut it to `-246545140.90…`.)
    let text = std::fs::read_to_string(&st).unwrap();
    let big: String = text
        .lines()
        .map(|l| {
            if l.starts_with("cash,") && l.contains(",USD,") {
                let mut cells: Vec<&str> = l.split(',').collect();
                cells[16] = "-246545140.9012";
                cells.join(",")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        big.contains("-246545140.9012"),
        "the cash amount is column 17"
    );
    let big_st = s.path().join("broker-big.csv");
    std::fs::write(&big_st, big).unwrap();
    let dry = s
        .on_data(
            "reconcile",
            &["--statement", big_st.to_str().unwrap(), "--dry-run"],
        )
        .expect(0);
    let cash = dry
        .stdout
        .lines()
        .find(|l| l.contains("cash.change") && l.contains("-246545140.9012"))
        .unwrap_or_else(|| panic!("the whole cash value in {}", dry.stdout));
    assert!(!cash.contains('…'), "{cash}");
    let header = dry
        .stdout
        .lines()
        .find(|l| l.starts_with("ID "))
        .expect("a header");
    let end = header.find("UNEXPLAINED").unwrap() + "UNEXPLAINED".len();
    for row in dry.stdout.lines().filter(|l| l.starts_with("D-")) {
        let at = row.char_indices().nth(end - 1).map(|(i, _)| i).unwrap();
        assert!(
            row[..=at].ends_with(|c: char| c.is_ascii_digit()) && row[at + 1..].starts_with("  "),
            "{header}\n{row}"
        );
    }

    let run = s
        .on_data(
            "reconcile",
            &["--statement", &st, "--format", "csv", "--output", "jsonl"],
        )
        .expect(0);
    let found: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut what: Vec<(String, String)> = found
        .iter()
        .map(|d| {
            (
                format!(
                    "{}.{}",
                    d["category"].as_str().unwrap(),
                    d["field"].as_str().unwrap()
                ),
                d["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    what.sort();
    assert_eq!(
        what,
        [
            ("cash.change".to_string(), "minor".to_string()),
            ("trade.missing_in_books".to_string(), "major".to_string()),
            ("trade.missing_in_books".to_string(), "major".to_string()),
            ("trade.price".to_string(), "minor".to_string()),
        ]
    );
    // 2 corrections, 2 reviews, 1 completed.
    let recs = s.records();
    let types: Vec<&str> = recs[before..]
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    let count = |t: &str| types.iter().filter(|x| **x == t).count();
    assert_eq!(
        (
            count("reconciliation.correction"),
            count("review.requested"),
            count("reconciliation.completed")
        ),
        (2, 2, 1)
    );
    let done = recs.last().unwrap();
    assert_eq!(done["type"], "reconciliation.completed");
    assert_eq!(done["data"]["minor"], 2);
    assert_eq!(done["data"]["major"], 2);
    assert_eq!(done["data"]["corrections"], 2);
    assert_eq!(done["data"]["reviews_requested"], 2);
    let fix = recs[before..]
        .iter()
        .find(|r| r["data"]["target"] == "fill")
        .unwrap();
    let corrected = fix["refs"]["correction_of"].as_u64().unwrap() as usize;
    assert_eq!(recs[corrected]["type"], "order.filled");
    assert_eq!(recs[corrected]["data"]["trade_id"], fix["data"]["trade_id"]);
    s.on_data("verify", &[]).expect(0);

    // Reviews.
    let list = s
        .on_data("review", &["list", "--format", "jsonl"])
        .expect(0);
    let reviews: Vec<Value> = list
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(reviews.len(), 2);
    let id = reviews[0]["id"].as_str().unwrap().to_string();
    let show = s.on_data("review", &["show", &id]).expect(0);
    assert!(
        show.stdout.contains("status          open"),
        "{}",
        show.stdout
    );
    let bad = s
        .on_data("review", &["resolve", &id, "--by", "carol", "--note", "x"])
        .expect(2);
    assert!(bad.stderr.contains("actor"), "{}", bad.stderr);
    // Four eyes: the run's actor (`system`, the default) requested it and may not
    // resolve it too; nothing is written.
    let n = s.records().len();
    let own = s
        .on_data("review", &["resolve", &id, "--by", "system", "--note", "x"])
        .expect(2);
    assert!(own.stderr.contains("four eyes"), "{}", own.stderr);
    assert_eq!(s.records().len(), n);
    s.on_data(
        "review",
        &[
            "resolve",
            &id,
            "--by",
            "operator:carol",
            "--note",
            "booked the missing fill",
        ],
    )
    .expect(0);
    let last = s.records().pop().unwrap();
    assert_eq!(last["type"], "review.resolved");
    assert_eq!(last["actor"], "operator:carol");
    assert_eq!(last["data"]["note"], "booked the missing fill");
    assert_eq!(last["entity"]["id"], id.as_str());
    let again = s
        .on_data(
            "review",
            &["resolve", &id, "--actor", "operator:carol", "--note", "x"],
        )
        .expect(2);
    assert!(
        again.stderr.contains("already resolved"),
        "{}",
        again.stderr
    );
    let open = s.on_data("review", &["list"]).expect(0);
    assert!(open.stdout.contains("1 review(s)"), "{}", open.stdout);
    let missing = s.on_data("review", &["show", "REV-nope"]).expect(2);
    assert!(missing.stderr.contains("REV-nope"), "{}", missing.stderr);

    // A second run: nothing minor left, the majors are already under review.
    let second = s.on_data("reconcile", &["--statement", &st]).expect(0);
    assert!(
        second.stdout.contains("2 discrepancies: 0 minor, 2 major"),
        "{}",
        second.stdout
    );
    assert!(
        second.stdout.contains("already under review"),
        "{}",
        second.stdout
    );
    assert!(
        second.stdout.contains("appended 0 corrections, 0 reviews"),
        "{}",
        second.stdout
    );
    s.on_data("verify", &[]).expect(0);
}

#[test]
fn positions_as_of_and_formats() {
    let s = Scratch::new();
    s.init("test/positions");
    let events = [
        r#"{"type":"order.submitted","ts_event":"2026-11-20T14:00:00Z","source":"oms","actor":"trader:T-1","trader_id":"T-1","account_id":"U1","instrument_id":"ESZ6","entity":{"kind":"order","id":"O-1"},"data":{"side":"buy","quantity":"4","order_type":"market","multiplier":"50"}}"#,
        r#"{"type":"order.accepted","ts_event":"2026-11-20T14:00:01Z","source":"gw","actor":"system","trader_id":"T-1","account_id":"U1","instrument_id":"ESZ6","entity":{"kind":"order","id":"O-1"}}"#,
        r#"{"type":"order.filled","ts_event":"2026-11-20T14:00:02Z","source":"gw","actor":"system","trader_id":"T-1","account_id":"U1","instrument_id":"ESZ6","entity":{"kind":"order","id":"O-1"},"data":{"fill_qty":"4","fill_price":"6000","trade_id":"X1","commission":"8"}}"#,
        r#"{"type":"order.submitted","ts_event":"2026-11-20T15:00:00Z","source":"oms","actor":"trader:T-1","trader_id":"T-1","account_id":"U1","instrument_id":"ESZ6","entity":{"kind":"order","id":"O-2"},"data":{"side":"sell","quantity":"6","order_type":"market","multiplier":"50"}}"#,
        r#"{"type":"order.accepted","ts_event":"2026-11-20T15:00:01Z","source":"gw","actor":"system","trader_id":"T-1","account_id":"U1","instrument_id":"ESZ6","entity":{"kind":"order","id":"O-2"}}"#,
        r#"{"type":"order.filled","ts_event":"2026-11-20T15:00:02Z","source":"gw","actor":"system","trader_id":"T-1","account_id":"U1","instrument_id":"ESZ6","entity":{"kind":"order","id":"O-2"},"data":{"fill_qty":"6","fill_price":"6010","trade_id":"X2","commission":"12"}}"#,
    ];
    s.tt_stdin(
        &["append", "--data", &s.data_arg()],
        events.join("\n").as_bytes(),
    )
    .expect(0);
    let row = |at: &str| -> Value {
        let r = s
            .on_data("positions", &["--at", at, "--format", "jsonl"])
            .expect(0);
        serde_json::from_str(r.stdout.lines().next().expect("one position")).unwrap()
    };
    let p = row("2026-11-20T14:30:00Z");
    assert_eq!(p["quantity"], "4");
    assert_eq!(p["avg_cost"], "6000");
    // Flipped: 4 closed at +10 × 50, short 2 at 6010.
    let p = row("2026-11-20T16:00:00Z");
    assert_eq!(p["quantity"], "-2");
    assert_eq!(p["avg_cost"], "6010");
    assert_eq!(p["realized_pnl"], "2000");
    assert_eq!(p["multiplier"], "50");
    let none = s
        .on_data(
            "positions",
            &["--at", "2026-11-20T13:00:00Z", "--format", "csv"],
        )
        .expect(0);
    assert_eq!(
        none.stdout.lines().count(),
        1,
        "header only: {}",
        none.stdout
    );
    let cash = s
        .on_data("positions", &["--cash", "--format", "csv"])
        .expect(0);
    // −4×6000×50 + 6×6010×50 − 20.
    assert!(cash.stdout.contains("U1,USD,602980"), "{}", cash.stdout);
    let other = s
        .on_data("positions", &["--account", "U9", "--format", "jsonl"])
        .expect(0);
    assert!(other.stdout.is_empty());
    s.on_data("positions", &["--at", "yesterday-ish"]).expect(2);
}

#[test]
fn bad_statements_are_refused_whole_naming_the_place() {
    let s = Scratch::new();
    let _ = demo_with_statement(&s);
    let before = s.lines().len();
    let csv = s.file(
        "bad.csv",
        "record,account,trade_id,instrument,side,quantity,price,time\ntrade,U1,T1,AAPL,buy,10,1.5,2026-11-20T14:00:00Z\ntrade,U1,T2,AAPL,buy,ten,1.5,2026-11-20T14:00:00Z\n",
    );
    let r = s.on_data("reconcile", &["--statement", &csv]).expect(2);
    assert!(r.stderr.contains("line 3, quantity"), "{}", r.stderr);
    let cut = s.file(
        "cut.csv",
        "record,account,trade_id,instrument,side,quantity,price,time\ntrade,U1,T1,AAPL,buy,10\n",
    );
    let r = s.on_data("reconcile", &["--statement", &cut]).expect(2);
    assert!(r.stderr.contains("line 2"), "{}", r.stderr);
    let sample = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/ibkr-flex/activity-2018-11-09.xml"
    ))
    .unwrap();
    let cut = &sample[..sample.len() * 2 / 3];
    let xml = s.file("cut.xml", cut);
    let r = s.on_data("reconcile", &["--statement", &xml]).expect(2);
    // Where the file ends, not line 1.
    let rows = cut.matches('\n').count() + 1;
    assert!(
        r.stderr.contains("looks truncated") && r.stderr.contains(&format!("line {rows}, column ")),
        "{}",
        r.stderr
    );
    let unknown = s.file("x.txt", "hello");
    let r = s.on_data("reconcile", &["--statement", &unknown]).expect(2);
    assert!(r.stderr.contains("format"), "{}", r.stderr);
    assert_eq!(
        s.lines().len(),
        before,
        "nothing written for bad statements"
    );
}

#[test]
fn a_dry_run_reconciles_beside_a_running_server() {
    let s = Scratch::new();
    let st = demo_with_statement(&s);
    let port = free_port();
    let mut server = start_server_with(&s, port, &[]);
    let dry = s
        .on_data("reconcile", &["--statement", &st, "--dry-run"])
        .expect(0);
    assert!(dry.stdout.contains("4 discrepancies"), "{}", dry.stdout);
    // Recording the result needs the lock the server holds: refused, with the way out.
    let run = s.on_data("reconcile", &["--statement", &st]).expect(3);
    assert!(
        run.stderr.contains("locked") && run.stderr.contains("hint:"),
        "{}",
        run.stderr
    );
    server.kill().unwrap();
    server.wait().unwrap();
}
