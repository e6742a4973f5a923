//! Paging `GET /v1/events` (and `/v1/incident`) by `seq`: an answer that stops at its
//! limit says so and gives the next page, and following `next_url` to the end reads
//! every match exactly once, in order, even while records are appended.

mod common;

use common::{batch, error_of, start, TestServer};
use serde_json::Value;

fn seqs(v: &Value) -> Vec<u64> {
    v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect()
}

async fn get_json(s: &TestServer, path: &str) -> Value {
    let resp = s.get(Some(&s.compliance), path).await;
    assert_eq!(resp.status(), 200, "{path}");
    resp.json().await.unwrap()
}

/// The seqs of the journal's records whose `trader_id` is `trader`, read directly.
fn journal_seqs_of(s: &TestServer, trader: &str) -> Vec<u64> {
    let n = s.records();
    (0..n)
        .filter(|&seq| {
            let line = s.rec.journal().read_line(seq).unwrap();
            let v: Value = serde_json::from_slice(&line).unwrap();
            v["trader_id"] == trader
        })
        .collect()
}

/// Posts `n` orders of trader T-1 with one of T-2 after every fourth, in batches.
async fn post_mixed(s: &TestServer, n: usize) {
    let mut left = n;
    while left > 0 {
        let k = left.min(400);
        let mut body = String::new();
        for i in 0..k {
            body.push_str(&batch("T-1", 1));
            if i % 4 == 3 {
                body.push_str(&batch("T-2", 1));
            }
        }
        assert_eq!(s.post_events(&s.writer, body).await.status(), 200);
        left -= k;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn following_next_reads_every_match_once_in_order() {
    let s = start().await;
    post_mixed(&s, 2500).await;
    let want = journal_seqs_of(&s, "T-1");
    assert_eq!(want.len(), 2500);

    // The first page: the default limit, and it says it is not the last.
    let first = get_json(&s, "/v1/events?trader=T-1").await;
    assert_eq!(seqs(&first).len(), 1000, "default page size");
    assert_eq!(first["summary"]["returned"], 1000);
    assert_eq!(first["summary"]["truncated"], true, "{}", first["summary"]);
    assert_eq!(first["summary"]["next"]["after"], want[999]);
    assert_eq!(
        first["next_url"],
        format!("/v1/events?trader=T-1&after={}", want[999])
    );

    let mut got: Vec<u64> = Vec::new();
    let mut pages = 0;
    let mut path = "/v1/events?trader=T-1".to_string();
    loop {
        let page = get_json(&s, &path).await;
        pages += 1;
        got.extend(seqs(&page));
        match page["next_url"].as_str() {
            Some(next) => {
                assert_eq!(page["summary"]["truncated"], true);
                path = next.to_string();
            }
            None => {
                assert_eq!(page["summary"]["truncated"], false, "{}", page["summary"]);
                assert!(page["summary"]["next"].is_null());
                break;
            }
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(got, want, "every T-1 record exactly once, in seq order");

    // Newest first, in pages of 700: the same records, reversed, via `before`.
    let mut back: Vec<u64> = Vec::new();
    let mut path = "/v1/events?trader=T-1&reverse=true&limit=700".to_string();
    loop {
        let page = get_json(&s, &path).await;
        back.extend(seqs(&page));
        match page["next_url"].as_str() {
            Some(next) => {
                assert!(page["summary"]["next"]["before"].is_u64(), "{page}");
                path = next.to_string();
            }
            None => break,
        }
    }
    let mut rev = want.clone();
    rev.reverse();
    assert_eq!(back, rev);

    // A page that ends exactly at the last match is the last one.
    let exact = get_json(&s, "/v1/events?trader=T-1&limit=2500").await;
    assert_eq!(seqs(&exact).len(), 2500);
    assert_eq!(exact["summary"]["truncated"], false);
    assert!(exact["next_url"].is_null());
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_stay_exact_while_records_are_appended() {
    let s = start().await;
    post_mixed(&s, 1500).await;
    let mut got: Vec<u64> = Vec::new();
    let mut path = "/v1/events?type=order.submitted&trader=T-1&limit=600".to_string();
    let mut appended = 0;
    loop {
        let page = get_json(&s, &path).await;
        let page_seqs = seqs(&page);
        assert!(page_seqs.len() <= 600);
        got.extend(page_seqs);
        // Between pages, more matching (and non-matching) records arrive, all with
        // the same ts_event as the rest: a cursor by time could not tell them apart.
        if appended < 3 {
            post_mixed(&s, 350).await;
            appended += 1;
        }
        match page["next_url"].as_str() {
            Some(next) => path = next.to_string(),
            None => break,
        }
    }
    let want = journal_seqs_of(&s, "T-1");
    assert_eq!(want.len(), 1500 + 3 * 350);
    assert_eq!(got, want, "every T-1 record exactly once, in seq order");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_and_cursors_are_checked() {
    let s = start().await;
    post_mixed(&s, 8).await;
    let over = error_of(
        s.get(Some(&s.compliance), "/v1/events?limit=10001").await,
        400,
    )
    .await;
    let msg = over["message"].as_str().unwrap();
    assert!(msg.starts_with("limit:"), "{over}");
    assert!(msg.contains("10000"), "names the maximum: {over}");
    let zero = error_of(s.get(Some(&s.compliance), "/v1/events?limit=0").await, 400).await;
    assert!(
        zero["message"].as_str().unwrap().starts_with("limit:"),
        "{zero}"
    );
    let bad = error_of(s.get(Some(&s.compliance), "/v1/events?after=x").await, 400).await;
    assert!(
        bad["message"].as_str().unwrap().starts_with("after:"),
        "{bad}"
    );
    let bad = error_of(
        s.get(Some(&s.compliance), "/v1/events?before=-1").await,
        400,
    )
    .await;
    assert!(
        bad["message"].as_str().unwrap().starts_with("before:"),
        "{bad}"
    );
    // The maximum itself is taken.
    let max = get_json(&s, "/v1/events?limit=10000").await;
    assert_eq!(max["summary"]["truncated"], false);

    // `after` and `before` bound a page on their own too.
    let mid = get_json(&s, "/v1/events?after=3&before=7").await;
    assert_eq!(seqs(&mid), [4, 5, 6]);

    // An incident's records page the same way.
    let inc = get_json(&s, "/v1/incident?at=1795700000000000000&window=1s&limit=4").await;
    assert_eq!(seqs(&inc), [1, 2, 3, 4]);
    assert_eq!(inc["total"], 10);
    assert_eq!(inc["truncated"], true);
    assert_eq!(inc["next"]["after"], 4);
    let next = inc["next_url"].as_str().unwrap();
    assert!(next.starts_with("/v1/incident?"), "{next}");
    let rest = get_json(&s, next).await;
    assert_eq!(seqs(&rest), [5, 6, 7, 8]);
    let last = get_json(&s, rest["next_url"].as_str().unwrap()).await;
    assert_eq!(seqs(&last), [9, 10]);
    assert_eq!(last["truncated"], false);
    s.shutdown().await;
}
