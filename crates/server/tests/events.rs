//! POST /v1/events: single events, batches validated whole, retries, limits, concurrency.

mod common;

use std::collections::BTreeSet;

use common::{batch, error_of, new_id, order, start, start_with};
use serde_json::Value;
use tradetrail_server::ServerOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_event_and_a_batch_get_receipts_in_order() {
    let s = start().await;
    // One pretty-printed JSON event, sent as application/json.
    let one: Value = serde_json::from_str(&order("T-1", &new_id())).unwrap();
    let r = s
        .client
        .post(s.url("/v1/events"))
        .bearer_auth(&s.writer)
        .json(&one)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let receipts = v["receipts"].as_array().unwrap();
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0]["seq"], 1);
    assert_eq!(receipts[0]["hash"].as_str().unwrap().len(), 64);
    assert!(receipts[0].get("duplicate").is_none());

    let r = s.post_events(&s.writer, batch("T-1", 3)).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let seqs: Vec<u64> = v["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [2, 3, 4]);
    // The receipt's hash is the hash of the record's line, as the journal has it.
    let line = s.rec.journal().read_line(4).unwrap();
    assert_eq!(
        v["receipts"][2]["hash"],
        tradetrail_journal::RecordHash::of_line(&line).to_hex()
    );
    assert_eq!(s.records(), 5);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_with_bad_lines_writes_nothing_and_names_every_problem() {
    let s = start().await;
    let before = s.records();
    let mut wrong_types: Value = serde_json::from_str(&order("T-1", &new_id())).unwrap();
    wrong_types["ts_event"] = Value::Bool(true);
    wrong_types["data"]["quantity"] = Value::String("-5".into());
    let body = format!(
        "{}\n{}\n\n{}\n{{not json\n",
        order("T-1", &new_id()),
        wrong_types,
        order("T-1", &new_id()),
    );
    let e = error_of(s.post_events(&s.writer, body).await, 400).await;
    assert_eq!(e["code"], "invalid_events");
    let lines = e["lines"].as_array().unwrap();
    let numbers: Vec<u64> = lines.iter().map(|l| l["line"].as_u64().unwrap()).collect();
    assert_eq!(numbers, [2, 5], "{e}");
    let fields: Vec<&str> = lines[0]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"ts_event"), "{fields:?}");
    assert!(fields.contains(&"data.quantity"), "{fields:?}");
    assert!(lines[0]["errors"][0]["reason"].as_str().unwrap().len() > 3);
    assert_eq!(lines[1]["errors"][0]["field"], "event");
    assert_eq!(s.records(), before, "nothing may be written");

    // Malformed JSON alone, an empty body, and a JSON array are 400 JSON errors too.
    let r = s
        .client
        .post(s.url("/v1/events"))
        .bearer_auth(&s.writer)
        .header("content-type", "application/json")
        .body("{\"type\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r, 400).await["code"], "invalid_events");
    let e = error_of(s.post_events(&s.writer, "\n\n".into()).await, 400).await;
    assert_eq!(e["code"], "bad_request");
    let e = error_of(s.post_events(&s.writer, "[1,2]".into()).await, 400).await;
    assert_eq!(e["code"], "invalid_events");
    assert_eq!(s.records(), before);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_batch_writes_nothing_twice() {
    let s = start().await;
    let body = batch("T-1", 4);
    let first: Value = s
        .post_events(&s.writer, body.clone())
        .await
        .json()
        .await
        .unwrap();
    let after_first = s.records();
    let second: Value = s.post_events(&s.writer, body).await.json().await.unwrap();
    assert_eq!(s.records(), after_first, "the retry wrote something");
    for (a, b) in first["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .zip(second["receipts"].as_array().unwrap())
    {
        assert_eq!(a["seq"], b["seq"]);
        assert_eq!(a["hash"], b["hash"]);
        assert_eq!(b["duplicate"], true);
    }
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_is_413_json() {
    let s = start_with(ServerOptions {
        max_body_bytes: 4096,
        checkpoint_interval: None,
        ..ServerOptions::default()
    })
    .await;
    let before = s.records();
    let e = error_of(s.post_events(&s.writer, batch("T-1", 30)).await, 413).await;
    assert_eq!(e["code"], "payload_too_large");
    assert_eq!(s.records(), before);
    // Under the limit it is fine.
    assert_eq!(
        s.post_events(&s.writer, batch("T-1", 2)).await.status(),
        200
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_get_distinct_contiguous_receipts_and_the_journal_verifies() {
    let s = std::sync::Arc::new(start().await);
    let mut tasks = Vec::new();
    for w in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..10 {
                let r = s.post_events(&s.writer, batch(&format!("T-{w}"), 5)).await;
                assert_eq!(r.status(), 200);
                let v: Value = r.json().await.unwrap();
                let seqs: Vec<u64> = v["receipts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["seq"].as_u64().unwrap())
                    .collect();
                assert_eq!(seqs.len(), 5);
                assert!(
                    seqs.windows(2).all(|w| w[1] == w[0] + 1),
                    "not contiguous: {seqs:?}"
                );
                got.extend(seqs);
            }
            got
        }));
    }
    let mut all = BTreeSet::new();
    for t in tasks {
        for seq in t.await.unwrap() {
            assert!(all.insert(seq), "seq {seq} given twice");
        }
    }
    assert_eq!(all, (1..=400).collect::<BTreeSet<u64>>());
    let v: Value = s
        .get(Some(&s.compliance), "/v1/verify")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["records"], 401);
    std::sync::Arc::try_unwrap(s).ok().unwrap().shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_and_flushes() {
    let s = start().await;
    let inflight = {
        let client = s.client.clone();
        let url = s.url("/v1/events");
        let token = s.writer.clone();
        tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .body(batch("T-1", 200))
                .send()
                .await
                .ok()
                .map(|r| r.status().as_u16())
        })
    };
    // Let the request start, then stop the server while it may be in flight.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let rec = s.rec.clone();
    s.shutdown().await;
    let status = inflight.await.unwrap();
    let st = rec.journal().status().unwrap();
    // The batch is written whole or not at all, and if answered 200 it is there.
    assert!(st.records == 1 || st.records == 201, "{}", st.records);
    if status == Some(200) {
        assert_eq!(st.records, 201);
    }
    assert_eq!(st.synced, st.written, "everything written was flushed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_event_id_with_another_body_is_409_naming_the_first_record() {
    let s = start().await;
    let id = new_id();
    let first: Value = s
        .post_events(&s.writer, order("T-1", &id) + "\n")
        .await
        .json()
        .await
        .unwrap();
    let seq = first["receipts"][0]["seq"].as_u64().unwrap();
    let records = s.records();
    // The same event_id for another trader's order: another body.
    let other = order("T-2", &id);

    // Alone, as application/json.
    let one: Value = serde_json::from_str(&other).unwrap();
    let r = s
        .client
        .post(s.url("/v1/events"))
        .bearer_auth(&s.writer)
        .json(&one)
        .send()
        .await
        .unwrap();
    let e = error_of(r, 409).await;
    assert_eq!(e["code"], "event_id_conflict", "{e}");
    assert_eq!(e["seq"], seq, "{e}");
    assert_eq!(e["line"], 1, "{e}");
    assert_eq!(e["event_id"], id.as_str(), "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains(&format!("record {seq}")),
        "{e}"
    );

    // Second line of a batch: the whole batch is refused.
    let body = batch("T-1", 1) + &other + "\n" + &batch("T-1", 1);
    let e = error_of(s.post_events(&s.writer, body).await, 409).await;
    assert_eq!(
        (e["seq"].as_u64(), e["line"].as_u64()),
        (Some(seq), Some(2)),
        "{e}"
    );
    assert_eq!(s.records(), records, "nothing of the batch was written");

    // Two lines of one request with a new event_id and different bodies.
    let id2 = new_id();
    let body = order("T-1", &id2) + "\n\n" + &order("T-3", &id2) + "\n";
    let e = error_of(s.post_events(&s.writer, body).await, 409).await;
    assert_eq!(e["line"], 3, "{e}");
    assert!(e.get("seq").is_none(), "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("line 1 of this request"),
        "{e}"
    );
    assert_eq!(s.records(), records);

    // The identical retry is still the original receipt.
    let again: Value = s
        .post_events(&s.writer, order("T-1", &id) + "\n")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["receipts"][0]["seq"], seq);
    assert_eq!(again["receipts"][0]["duplicate"], true);
    assert_eq!(s.records(), records);
    s.shutdown().await;
}

/// A batch larger than one validating thread takes (validated over several threads):
/// bad lines named in order from every part, nothing written; valid, receipts in order
/// with consecutive seqs, each the hash of its record, and the metrics count by type.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_batch_is_validated_whole_and_answered_in_order() {
    let s = start().await;
    let n = 3 * tradetrail_core::MIN_LINES_PER_THREAD + 1;
    let before = s.records();
    let mut lines: Vec<String> = (0..n).map(|_| order("T-1", &new_id())).collect();
    lines[1] = lines[1].replace("\"source\":\"oms\",", "");
    lines[n - 2] = "{not json".into();
    let body = format!("\u{feff}{}\n", lines.join("\n"));
    let e = error_of(s.post_events(&s.writer, body).await, 400).await;
    let got: Vec<(u64, &str)> = e["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["line"].as_u64().unwrap(),
                l["errors"][0]["field"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [(2, "source"), (n as u64 - 1, "event")], "{e}");
    assert_eq!(s.records(), before, "nothing may be written");

    let r = s.post_events(&s.writer, batch("T-1", n)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let v: Value = r.json().await.unwrap();
    let receipts = v["receipts"].as_array().unwrap();
    let seqs: Vec<u64> = receipts
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    let want: Vec<u64> = (before..before + n as u64).collect();
    assert_eq!(seqs, want);
    for (i, r) in receipts.iter().enumerate().step_by(97) {
        let line = s.rec.journal().read_line(before + i as u64).unwrap();
        assert_eq!(
            r["hash"],
            tradetrail_journal::RecordHash::of_line(&line).to_hex()
        );
    }
    let metrics = s.get(None, "/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(&format!(
            "tradetrail_events_appended_total{{type=\"order.submitted\"}} {n}\n"
        )),
        "{metrics}"
    );
    s.shutdown().await;
}
