//! A journal that cannot take writes: 503 with the reason, on POST and on /healthz.

mod common;

use common::{batch, error_of, start_faulty};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_full_is_503_with_the_reason() {
    let (s, fault) = start_faulty(28).await; // ENOSPC
    assert_eq!(s.get(None, "/healthz").await.status(), 200);
    assert_eq!(
        s.post_events(&s.writer, batch("T-1", 2)).await.status(),
        200
    );
    let before = s.records();
    fault.set_fail_at(fault.ops());
    let e = error_of(s.post_events(&s.writer, batch("T-1", 2)).await, 503).await;
    assert_eq!(e["code"], "not_writable");
    let msg = e["message"].as_str().unwrap();
    assert!(msg.starts_with("disk full"), "{msg}");
    assert!(!msg.contains("/tmp"), "internals leaked: {msg}");
    // Every later write is refused the same way, and health says why.
    let e = error_of(s.post_events(&s.writer, batch("T-1", 1)).await, 503).await;
    assert!(e["message"].as_str().unwrap().starts_with("disk full"));
    let e = error_of(s.get(None, "/healthz").await, 503).await;
    assert!(
        e["message"].as_str().unwrap().starts_with("disk full"),
        "{e}"
    );
    let text = s.get(None, "/metrics").await.text().await.unwrap();
    assert!(text.contains("tradetrail_journal_writable 0\n"));
    assert!(
        text.contains("tradetrail_rejected_requests_total{reason=\"not_writable\"} 3\n"),
        "{text}"
    );
    assert!(s.rec.journal().status().unwrap().written <= before + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_io_error_poisons_and_is_503() {
    let (s, fault) = start_faulty(5).await; // EIO
    assert_eq!(
        s.post_events(&s.writer, batch("T-1", 2)).await.status(),
        200
    );
    fault.set_fail_at(fault.ops());
    let e = error_of(s.post_events(&s.writer, batch("T-1", 1)).await, 503).await;
    assert_eq!(e["code"], "not_writable");
    let e = error_of(s.get(None, "/healthz").await, 503).await;
    assert!(e["message"].as_str().unwrap().contains("poisoned"), "{e}");
}
