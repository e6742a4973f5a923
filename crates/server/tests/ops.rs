//! Checkpoints, proofs, verify, health, metrics, the OpenAPI document and JSON errors.

mod common;

use common::{batch, error_of, start};
use serde_json::Value;
use tradetrail_merkle::{leaf_hash, ConsistencyProof, InclusionProof};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_and_proofs() {
    let s = start().await;
    error_of(s.get(Some(&s.compliance), "/v1/checkpoint").await, 404).await;
    assert_eq!(
        s.post_events(&s.writer, batch("T-1", 5)).await.status(),
        200
    );
    let taken: Value = s
        .client
        .post(s.url("/v1/checkpoint"))
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(taken["size"], 6, "{taken}");
    assert_eq!(taken["receipt"]["seq"], 6);
    let latest: Value = s
        .get(Some(&s.alice), "/v1/checkpoint")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(latest["size"], 6);
    assert_eq!(latest["note"], taken["note"]);
    assert!(latest["verifier_key"]
        .as_str()
        .unwrap()
        .starts_with("test.local/server+"));

    // An inclusion proof at the checkpoint's size verifies against its root, and the
    // record it comes with is the leaf.
    let v: Value = s
        .get(Some(&s.compliance), "/v1/proof/inclusion?seq=3&size=6")
        .await
        .json()
        .await
        .unwrap();
    let proof: InclusionProof = serde_json::from_value(v.clone()).unwrap();
    proof.verify().unwrap();
    assert_eq!(proof.root.to_string(), taken["root"].as_str().unwrap());
    assert_eq!(
        leaf_hash(v["record"].as_str().unwrap().as_bytes()),
        proof.leaf_hash
    );

    assert_eq!(
        s.post_events(&s.writer, batch("T-1", 3)).await.status(),
        200
    );
    let v: Value = s
        .get(Some(&s.admin), "/v1/proof/consistency?old=6")
        .await
        .json()
        .await
        .unwrap();
    let proof: ConsistencyProof = serde_json::from_value(v).unwrap();
    assert_eq!(proof.new, 10);
    assert_eq!(proof.old_root.to_string(), taken["root"].as_str().unwrap());
    proof.verify().unwrap();

    // Bad and out-of-range queries are 400; a record that does not exist is 404.
    let e = error_of(
        s.get(Some(&s.admin), "/v1/proof/inclusion?seq=abc").await,
        400,
    )
    .await;
    assert_eq!(e["code"], "bad_request");
    error_of(s.get(Some(&s.admin), "/v1/proof/inclusion").await, 400).await;
    error_of(
        s.get(Some(&s.admin), "/v1/proof/inclusion?seq=3&size=99")
            .await,
        400,
    )
    .await;
    error_of(
        s.get(Some(&s.admin), "/v1/proof/consistency?old=0").await,
        400,
    )
    .await;
    error_of(
        s.get(Some(&s.admin), "/v1/proof/inclusion?seq=999").await,
        404,
    )
    .await;

    let v: Value = s
        .get(Some(&s.compliance), "/v1/verify")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["ok"], true, "{v}");
    // Every checkpoint the directory holds is checked (the same verdict as the CLI's).
    let cps = v["checkpoints"].as_array().expect("checkpoints");
    assert!(!cps.is_empty(), "{v}");
    assert!(cps.iter().all(|c| c["ok"] == true), "{v}");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_metrics_and_unknown_routes() {
    let s = start().await;
    let h: Value = s.get(None, "/healthz").await.json().await.unwrap();
    assert_eq!(h["status"], "ok");
    assert_eq!(
        s.post_events(&s.writer, batch("T-1", 3)).await.status(),
        200
    );
    s.get(None, "/v1/verify").await; // one rejection: unauthorized
    let r = s.get(None, "/metrics").await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = r.text().await.unwrap();
    for needle in [
        "tradetrail_events_appended_total{type=\"order.submitted\"} 3\n",
        "tradetrail_append_latency_seconds_count 1\n",
        "tradetrail_batch_size_bucket{le=\"5\"} 1\n",
        "tradetrail_rejected_requests_total{reason=\"unauthorized\"} 1\n",
        "tradetrail_journal_records 4\n",
        "tradetrail_journal_bytes ",
        "tradetrail_journal_writable 1\n",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    let e = error_of(s.get(Some(&s.admin), "/v1/nothing-here").await, 404).await;
    assert_eq!(e["code"], "not_found");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_lists_every_route() {
    let s = start().await;
    let doc: Value = s.get(None, "/v1/openapi.json").await.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let routes = [
        ("/v1/events", "post"),
        ("/v1/events", "get"),
        ("/v1/events/stream", "get"),
        ("/v1/trail/{id}", "get"),
        ("/v1/incident", "get"),
        ("/v1/stats", "get"),
        ("/v1/reports/{kind}", "get"),
        ("/v1/verify", "get"),
        ("/v1/reconcile", "post"),
        ("/v1/checkpoint", "get"),
        ("/v1/checkpoint", "post"),
        ("/v1/proof/inclusion", "get"),
        ("/v1/proof/consistency", "get"),
        ("/v1/tokens", "get"),
        ("/v1/tokens", "post"),
        ("/healthz", "get"),
        ("/metrics", "get"),
        ("/v1/openapi.json", "get"),
        ("/v1/schema", "get"),
    ];
    for (path, method) in routes {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path}"
        );
    }
    let listed: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(
        listed,
        routes.len(),
        "the document lists a route the server does not serve"
    );
    s.shutdown().await;
}
