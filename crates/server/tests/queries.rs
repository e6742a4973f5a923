//! The query routes, and a trader's scope over them.

mod common;

use common::{error_of, new_id, order, start};
use serde_json::Value;

fn seqs(v: &Value) -> Vec<u64> {
    v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_answer_and_traders_see_only_their_own() {
    let s = start().await;
    let body = format!(
        "{}\n{}\n{}\n",
        order("T-1", &new_id()),
        order("T-2", &new_id()),
        order("T-1", &new_id())
    );
    assert_eq!(s.post_events(&s.writer, body).await.status(), 200);

    let all: Value = s
        .get(Some(&s.compliance), "/v1/events?type=order.*")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seqs(&all), [1, 2, 3], "{all}");
    assert_eq!(all["records"][1]["trader_id"], "T-2");
    let line = s.rec.journal().read_line(2).unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&line).unwrap(),
        all["records"][1],
        "records are the journal's own"
    );
    let newest: Value = s
        .get(Some(&s.admin), "/v1/events?limit=1&reverse=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seqs(&newest), [3]);

    // A trader sees only its own records, whatever it asks.
    let mine: Value = s
        .get(Some(&s.alice), "/v1/events")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seqs(&mine), [1, 3]);
    let mine: Value = s
        .get(Some(&s.alice), "/v1/events?trader=T-1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seqs(&mine), [1, 3]);
    error_of(s.get(Some(&s.alice), "/v1/events?trader=T-2").await, 403).await;
    error_of(s.get(Some(&s.alice), "/v1/events?trader=T-*").await, 403).await;
    let bobs: Value = s
        .get(Some(&s.bob), "/v1/events")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seqs(&bobs), [2]);

    let st: Value = s
        .get(Some(&s.compliance), "/v1/stats?by=trader")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(st["total"], 4, "{st}"); // with journal.created
    let st: Value = s.get(Some(&s.bob), "/v1/stats").await.json().await.unwrap();
    assert_eq!(st["total"], 1, "{st}");

    let inc: Value = s
        .get(
            Some(&s.alice),
            "/v1/incident?at=1795700000000000000&window=1s",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seqs(&inc), [1, 3], "{inc}");

    // Bad filters are 400 JSON, naming the parameter.
    let e = error_of(s.get(Some(&s.admin), "/v1/events?colour=red").await, 400).await;
    assert!(e["message"].as_str().unwrap().starts_with("colour"), "{e}");
    error_of(
        s.get(Some(&s.admin), "/v1/events?from=yesterday-ish").await,
        400,
    )
    .await;
    error_of(s.get(Some(&s.admin), "/v1/events?limit=many").await, 400).await;
    error_of(s.get(Some(&s.admin), "/v1/stats?by=colour").await, 400).await;
    error_of(s.get(Some(&s.admin), "/v1/incident").await, 400).await;
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trader_trail_keeps_only_its_records() {
    let s = start().await;
    // Two traders' orders of the same id (a shared blotter id, for the test).
    let mut a: Value = serde_json::from_str(&order("T-1", &new_id())).unwrap();
    a["entity"]["id"] = "O-77".into();
    let mut b: Value = serde_json::from_str(&order("T-2", &new_id())).unwrap();
    b["entity"]["id"] = "O-77".into();
    assert_eq!(
        s.post_events(&s.writer, format!("{a}\n{b}\n"))
            .await
            .status(),
        200
    );
    let all: Value = s
        .get(Some(&s.compliance), "/v1/trail/O-77")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seqs(&all), [1, 2], "{all}");
    let mine: Value = s
        .get(Some(&s.alice), "/v1/trail/O-77")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seqs(&mine), [1], "{mine}");
    s.shutdown().await;
}
