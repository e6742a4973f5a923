//! Reconciliation of the statement inbox: on demand (`POST /v1/reconcile`), on the
//! timer, and once after a burst of fills; statements reconciled once, bad ones
//! rejected with a reason.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{new_id, start, start_with, TestServer};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tradetrail_books::{generate_statement, read_records, Planted, Record};
use tradetrail_demo::{run_demo, DemoOptions};
use tradetrail_server::{ReconcileSchedule, ServerOptions};

/// Records a simulated day through the library and returns the generic CSV
/// statement of it with the planted discrepancies.
fn day_and_statement(s: &TestServer) -> (String, Vec<Planted>) {
    run_demo(
        &s.rec,
        &DemoOptions {
            events: 1500,
            ..DemoOptions::default()
        },
        &|_| {},
    )
    .unwrap();
    let records = read_records(&s.rec.data_dir().journal(), None).unwrap();
    let (st, planted) = generate_statement(&records, true).expect("the day has fills");
    assert_eq!(planted.len(), 4, "{planted:#?}");
    (st.to_csv(), planted)
}

fn root(s: &TestServer) -> PathBuf {
    s.rec.data_dir().root().to_path_buf()
}

fn inbox(s: &TestServer) -> PathBuf {
    root(s).join("statements/inbox")
}

/// Writes a statement into the inbox the way a drop should: under a `.part` name,
/// then renamed.
fn drop_statement(s: &TestServer, name: &str, text: &str) {
    let dir = inbox(s);
    std::fs::create_dir_all(&dir).unwrap();
    let part = dir.join(format!("{name}.part"));
    std::fs::write(&part, text).unwrap();
    std::fs::rename(&part, dir.join(name)).unwrap();
}

fn records(s: &TestServer) -> Vec<Record> {
    read_records(&s.rec.data_dir().journal(), None).unwrap()
}

fn of_type<'a>(records: &'a [Record], t: &str) -> Vec<&'a Record> {
    records.iter().filter(|r| r.event_type == t).collect()
}

async fn post_reconcile(s: &TestServer) -> Value {
    let resp = s
        .client
        .post(s.url("/v1/reconcile"))
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// The value of one series of `/metrics` (0 when absent).
async fn metric(s: &TestServer, series: &str) -> u64 {
    let text = s.get(None, "/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0, |v| v.trim().parse().unwrap())
}

/// Waits until `cond` holds, polling; panics with `what` after a generous deadline.
async fn wait_for<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(90);
    while !cond().await {
        assert!(Instant::now() < deadline, "gave up waiting: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn verifies(s: &TestServer) {
    let v: Value = s
        .get(Some(&s.compliance), "/v1/verify")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["ok"], true, "{v}");
}

fn sha_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The run of `broker.csv` appended exactly what the planted discrepancies call for.
fn assert_one_run_of(s: &TestServer, csv: &str, planted: &[Planted]) -> Vec<Record> {
    let all = records(s);
    let completed = of_type(&all, "reconciliation.completed");
    assert_eq!(completed.len(), 1, "one run");
    let c = completed[0];
    assert_eq!(c.text("statement"), Some("broker.csv"));
    assert_eq!(c.text("statement_sha256"), Some(sha_hex(csv).as_str()));
    assert_eq!(c.text("format"), Some("csv"));
    assert_eq!(c.actor, "system");
    let minor = planted.iter().filter(|p| p.severity == "minor").count();
    let major = planted.len() - minor;
    assert_eq!(of_type(&all, "reconciliation.correction").len(), minor);
    assert_eq!(of_type(&all, "review.requested").len(), major);
    assert_eq!(c.data["corrections"], minor);
    assert_eq!(c.data["reviews_requested"], major);
    // Each planted break is found under its key.
    for p in planted {
        assert!(
            all.iter().any(|r| {
                (r.event_type == "reconciliation.correction" || r.event_type == "review.requested")
                    && r.text("key") == Some(p.key.as_str())
                    && r.text("field") == Some(p.field)
            }),
            "planted {p:?} not recorded"
        );
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_demand_reconciles_once_and_rejects_bad_statements() {
    let s = start().await;
    let (csv, planted) = day_and_statement(&s);

    // Nothing waiting: an empty pass.
    let v = post_reconcile(&s).await;
    assert_eq!(v["trigger"], "manual");
    assert_eq!(v["statements"], serde_json::json!([]));

    drop_statement(&s, "broker.csv", &csv);
    // A truncated statement: cut in the middle of its fourth line.
    let lines: Vec<&str> = csv.lines().collect();
    let cut = format!("{}\n{}", lines[..3].join("\n"), &lines[3][..15]);
    drop_statement(&s, "bad.csv", &cut);
    // A name whose format cannot be told.
    drop_statement(&s, "notes.pdf", "not a statement");
    // Hidden and half-written files are left alone.
    std::fs::write(inbox(&s).join("late.csv.part"), "half").unwrap();

    let before = s.records();
    let v = post_reconcile(&s).await;
    let runs = v["statements"].as_array().unwrap();
    assert_eq!(runs.len(), 3, "{v:#}");
    let by = |f: &str| runs.iter().find(|r| r["file"] == f).unwrap().clone();

    let ok = by("broker.csv");
    assert_eq!(ok["result"], "ok", "{ok:#}");
    assert_eq!(ok["sha256"], sha_hex(&csv));
    assert!(ok["run_id"].as_str().unwrap().starts_with("RC-"));
    assert_eq!(ok["counts"]["discrepancies"], 4);
    let all = assert_one_run_of(&s, &csv, &planted);
    assert_eq!(
        ok["completed_seq"].as_u64().unwrap(),
        all.iter()
            .find(|r| r.event_type == "reconciliation.completed")
            .unwrap()
            .seq
    );
    assert_eq!(
        s.records(),
        before + 5,
        "2 corrections, 2 reviews, completed"
    );
    let processed = root(&s).join("statements/processed");
    assert!(!inbox(&s).join("broker.csv").exists());
    assert_eq!(
        std::fs::read_to_string(processed.join("broker.csv")).unwrap(),
        csv
    );

    let rejected = root(&s).join("statements/rejected");
    let bad = by("bad.csv");
    assert_eq!(bad["result"], "rejected", "{bad:#}");
    let reason = bad["reason"].as_str().unwrap();
    assert!(reason.starts_with("bad.csv: line 4: "), "{reason}");
    assert!(rejected.join("bad.csv").exists());
    let note = std::fs::read_to_string(rejected.join("bad.csv.error.txt")).unwrap();
    assert!(note.contains(reason), "{note}");
    let pdf = by("notes.pdf");
    assert_eq!(pdf["result"], "rejected");
    assert!(
        pdf["reason"].as_str().unwrap().contains("format"),
        "{pdf:#}"
    );
    assert!(rejected.join("notes.pdf.error.txt").exists());
    assert!(inbox(&s).join("late.csv.part").exists());

    // Again: nothing waiting, nothing appended.
    let v = post_reconcile(&s).await;
    assert_eq!(v["statements"], serde_json::json!([]));
    assert_eq!(s.records(), before + 5);

    // The same statement dropped again under another name: skipped, not reconciled
    // twice, and moved beside the first.
    drop_statement(&s, "broker-copy.csv", &csv);
    let v = post_reconcile(&s).await;
    let again = &v["statements"][0];
    assert_eq!(again["result"], "skipped", "{v:#}");
    assert_eq!(again["run_id"], ok["run_id"]);
    assert!(again["reason"]
        .as_str()
        .unwrap()
        .contains("already reconciled"));
    assert!(processed.join("broker-copy.csv").exists());
    assert_eq!(s.records(), before + 5);

    // A second statement of the same name does not overwrite the first in processed/.
    drop_statement(&s, "broker.csv", &csv.replace("\n", "\r\n"));
    let v = post_reconcile(&s).await;
    assert_eq!(v["statements"][0]["result"], "ok", "{v:#}");
    assert!(processed.join("broker-2.csv").exists());
    assert_eq!(
        std::fs::read_to_string(processed.join("broker.csv")).unwrap(),
        csv
    );

    assert_eq!(
        metric(&s, "tradetrail_reconciliations_total{result=\"ok\"}").await,
        2
    );
    assert_eq!(
        metric(&s, "tradetrail_reconciliations_total{result=\"rejected\"}").await,
        2
    );
    assert_eq!(
        metric(&s, "tradetrail_reconciliations_total{result=\"skipped\"}").await,
        1
    );
    assert_eq!(
        metric(&s, "tradetrail_reconcile_passes_total{trigger=\"manual\"}").await,
        5
    );
    verifies(&s).await;
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timer_reconciles_what_is_dropped() {
    let s = start_with(ServerOptions {
        checkpoint_interval: None,
        reconcile: Some(ReconcileSchedule {
            every: Some(Duration::from_millis(200)),
            ..ReconcileSchedule::default()
        }),
        ..ServerOptions::default()
    })
    .await;
    let (csv, planted) = day_and_statement(&s);
    // Passes over an empty inbox come and go.
    wait_for("a pass over the empty inbox", || async {
        metric(
            &s,
            "tradetrail_reconcile_passes_total{trigger=\"interval\"}",
        )
        .await
            >= 1
    })
    .await;
    drop_statement(&s, "broker.csv", &csv);
    let processed = root(&s).join("statements/processed/broker.csv");
    wait_for("broker.csv reconciled by the timer", || async {
        processed.exists()
    })
    .await;
    assert!(!inbox(&s).join("broker.csv").exists());
    assert_one_run_of(&s, &csv, &planted);
    let after = s.records();

    // Later passes find nothing new and append nothing.
    let passes = metric(
        &s,
        "tradetrail_reconcile_passes_total{trigger=\"interval\"}",
    )
    .await;
    wait_for("two more passes", || async {
        metric(
            &s,
            "tradetrail_reconcile_passes_total{trigger=\"interval\"}",
        )
        .await
            >= passes + 2
    })
    .await;
    assert_eq!(s.records(), after);
    assert_one_run_of(&s, &csv, &planted);

    // A malformed JSON statement goes to rejected/ with its reason.
    drop_statement(&s, "broken.json", "{\"trades\": [ {\"account\": ");
    let note = root(&s).join("statements/rejected/broken.json.error.txt");
    wait_for("broken.json rejected", || async { note.exists() }).await;
    let text = std::fs::read_to_string(&note).unwrap();
    assert!(text.contains("broken.json"), "{text}");
    assert_eq!(
        metric(&s, "tradetrail_reconciliations_total{result=\"rejected\"}").await,
        1
    );
    assert_eq!(s.records(), after);
    verifies(&s).await;
    s.shutdown().await;
}

/// An `order.filled` event of an order of trader T-1.
fn fill(order: &str, trade: &str) -> String {
    serde_json::json!({
        "type": "order.filled",
        "ts_event": 1_795_700_000_000_000_000i64,
        "event_id": new_id(),
        "source": "oms",
        "actor": "trader:T-1",
        "trader_id": "T-1",
        "account_id": "U-FILLS",
        "instrument_id": "AAPL.XNAS",
        "entity": {"kind": "order", "id": order},
        "data": {"fill_qty": "10", "fill_price": "190.25", "trade_id": trade}
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_fills_makes_one_run() {
    let debounce = Duration::from_secs(2);
    let s = start_with(ServerOptions {
        checkpoint_interval: None,
        reconcile: Some(ReconcileSchedule {
            on_fill: Some(debounce),
            ..ReconcileSchedule::default()
        }),
        ..ServerOptions::default()
    })
    .await;
    let (csv, _) = day_and_statement(&s);
    drop_statement(&s, "broker.csv", &csv);
    let fills = "tradetrail_reconcile_passes_total{trigger=\"fill\"}";
    // Events other than fills start nothing.
    let r = s
        .post_events(&s.writer, common::order("T-1", &new_id()))
        .await;
    assert_eq!(r.status(), 200);

    // A burst: five requests, the fills of one order.
    let started = Instant::now();
    for i in 0..5 {
        let r = s
            .post_events(&s.writer, fill("O-BURST", &format!("X-BURST-{i}")))
            .await;
        assert_eq!(r.status(), 200);
    }
    assert!(
        started.elapsed() < debounce,
        "the burst took {:?}, longer than the debounce; the test cannot tell one burst from several",
        started.elapsed()
    );
    let processed = root(&s).join("statements/processed/broker.csv");
    wait_for("a run after the burst", || async {
        metric(&s, fills).await >= 1 && processed.exists()
    })
    .await;
    // Give a second run every chance to happen: it must not.
    tokio::time::sleep(debounce * 3).await;
    assert_eq!(metric(&s, fills).await, 1, "one run for the burst");
    assert_eq!(of_type(&records(&s), "reconciliation.completed").len(), 1);

    // A later fill makes another run (the inbox is empty by then: nothing appended).
    let before = s.records();
    let r = s.post_events(&s.writer, fill("O-LATE", "X-LATE")).await;
    assert_eq!(r.status(), 200);
    wait_for("a run after the late fill", || async {
        metric(&s, fills).await >= 2
    })
    .await;
    assert_eq!(s.records(), before + 1);
    verifies(&s).await;
    s.shutdown().await;
}
