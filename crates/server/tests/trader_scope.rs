//! A trader token reads exactly its own trader's records on every route: its id is a
//! literal, never a pattern (`T-1` does not see `T-10`; an id like `T-1*` is refused
//! when a token is created, and a token stored with one before is refused on use).

mod common;

use common::{error_of, new_id, order, start, start_with, TestServer};
use serde_json::Value;
use tradetrail_server::ServerOptions;

/// Records: seq 1 is T-1's, seq 2 T-10's, seq 3 T-2's. Returns their order ids.
async fn three_traders(s: &TestServer) -> [String; 3] {
    let ids = [new_id(), new_id(), new_id()];
    let body = format!(
        "{}\n{}\n{}\n",
        order("T-1", &ids[0]),
        order("T-10", &ids[1]),
        order("T-2", &ids[2])
    );
    assert_eq!(s.post_events(&s.writer, body).await.status(), 200);
    ids.map(|id| format!("O-{id}"))
}

fn traders_of(v: &Value) -> Vec<String> {
    v["records"]
        .as_array()
        .unwrap_or_else(|| panic!("no records in {v}"))
        .iter()
        .map(|r| r["trader_id"].as_str().unwrap_or("-").to_string())
        .collect()
}

async fn json(r: reqwest::Response) -> Value {
    assert_eq!(r.status(), 200, "status");
    r.json().await.unwrap()
}

/// Makes a trader token whose stored trader id is `id`, written into the store as an
/// older version (which did not refuse pattern characters) would have.
fn stored_trader_token(s: &TestServer, name: &str, id: &str) -> String {
    let root = s.rec.data_dir().root();
    let token = tradetrail_server::create_token(
        root,
        tradetrail_server::Role::Trader,
        Some("placeholder"),
        name,
    )
    .unwrap();
    let path = tradetrail_server::tokens::store_path(root);
    let mut store: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for t in store["tokens"].as_array_mut().unwrap() {
        if t["name"] == name {
            t["trader_id"] = Value::String(id.into());
        }
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&store).unwrap()).unwrap();
    token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trader_token_for_t1_never_sees_t10() {
    let s = start().await;
    let [_, t10_order, _] = three_traders(&s).await;
    let alice = s.alice.clone(); // T-1

    let v = json(s.get(Some(&alice), "/v1/events").await).await;
    assert_eq!(traders_of(&v), ["T-1"], "{v}");
    let v = json(s.get(Some(&alice), "/v1/stats?by=trader").await).await;
    assert_eq!(v["total"], 1, "{v}");
    assert!(!v.to_string().contains("T-10"), "{v}");
    let v = json(
        s.get(
            Some(&alice),
            "/v1/incident?at=1795700000000000000&window=1s",
        )
        .await,
    )
    .await;
    assert_eq!(traders_of(&v), ["T-1"], "{v}");
    let v = json(s.get(Some(&alice), &format!("/v1/trail/{t10_order}")).await).await;
    assert!(!v.to_string().contains("T-10"), "{v}");
    let v = json(s.get(Some(&alice), "/v1/reports/execution").await).await;
    assert_eq!(v["totals"]["orders"], 1, "{v}");
    let e = error_of(s.get(Some(&alice), "/v1/proof/inclusion?seq=2").await, 403).await;
    assert_eq!(e["code"], "forbidden");
    // Naming another trader, or a pattern that would take in T-10, is refused.
    for q in [
        "/v1/events?trader=T-10",
        "/v1/events?trader=T-1*",
        "/v1/stats?trader=T-1*",
        "/v1/reports/execution?trader=T-1*",
    ] {
        error_of(s.get(Some(&alice), q).await, 403).await;
    }
    // compliance sees all three.
    let v = json(s.get(Some(&s.compliance), "/v1/events?type=order.*").await).await;
    assert_eq!(traders_of(&v), ["T-1", "T-10", "T-2"], "{v}");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_pattern_trader_id_is_refused_on_every_route() {
    let s = start().await;
    let [t1_order, t10_order, _] = three_traders(&s).await;
    let legacy = stored_trader_token(&s, "legacy", "T-1*");
    for path in [
        "/v1/events".to_string(),
        "/v1/stats?by=trader".into(),
        "/v1/incident?at=1795700000000000000&window=1s".into(),
        format!("/v1/trail/{t1_order}"),
        format!("/v1/trail/{t10_order}"),
        "/v1/reports/execution".into(),
        "/v1/proof/inclusion?seq=1".into(),
        "/v1/proof/inclusion?seq=2".into(),
    ] {
        let e = error_of(s.get(Some(&legacy), &path).await, 403).await;
        let m = e["message"].as_str().unwrap();
        assert!(
            m.contains("\"T-1*\"") && m.contains("revoke"),
            "{path}: {m}"
        );
    }
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_a_trader_token_with_a_pattern_is_400() {
    let s = start().await;
    for id in ["T-1*", "T-?", "T-[1]", "T-1,T-2"] {
        let r = s
            .client
            .post(s.url("/v1/tokens"))
            .bearer_auth(&s.admin)
            .json(&serde_json::json!({"role": "trader", "trader_id": id, "name": "carol"}))
            .send()
            .await
            .unwrap();
        let e = error_of(r, 400).await;
        assert_eq!(e["code"], "bad_request");
        let m = e["message"].as_str().unwrap();
        assert!(
            m.starts_with(&format!("trader_id {id:?}:")) && m.contains("pattern"),
            "{m}"
        );
    }
    let names = tradetrail_server::list_tokens(s.rec.data_dir().root()).unwrap();
    assert!(names.iter().all(|t| t.name != "carol"), "nothing stored");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_request_over_the_body_limit_is_413() {
    let s = start_with(ServerOptions {
        checkpoint_interval: None,
        max_body_bytes: 1024,
        ..ServerOptions::default()
    })
    .await;
    let r = s
        .client
        .post(s.url("/v1/tokens"))
        .bearer_auth(&s.admin)
        .json(&serde_json::json!({"role": "writer", "name": "x".repeat(4096)}))
        .send()
        .await
        .unwrap();
    let e = error_of(r, 413).await;
    assert_eq!(e["code"], "payload_too_large");
    assert!(e["message"].as_str().unwrap().contains("1024 bytes"), "{e}");
    // Under the limit, the same route still answers as before.
    let r = s
        .client
        .post(s.url("/v1/tokens"))
        .bearer_auth(&s.admin)
        .json(&serde_json::json!({"role": "writer", "name": "gw-2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    s.shutdown().await;
}
