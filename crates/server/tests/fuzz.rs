//! Fuzzing the HTTP ingest body: arbitrary and mutated bodies (single events and JSON
//! Lines batches) through the real router (`tower::ServiceExt::oneshot`) to
//! `POST /v1/events`. The answer must be 200 exactly when every event in the body is
//! valid, a 4xx otherwise, never a 5xx or a panic; and the journal must verify after.
//!
//! A fixed number of cases by default; `TRADETRAIL_FUZZ_SECS=60` runs the test for a
//! minute (see docs/fuzzing.md).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use tower::ServiceExt;
use tradetrail_core::{DataDir, InitOptions, Recorder};
use tradetrail_journal::FsStorage;
use tradetrail_model::Event;
use tradetrail_server::{create_token, router, AppState, Role, ServerOptions};
use tradetrail_testkit::fuzz::{self, Input, Rng};

const EVENTS: &[&str] = &[
    r#"{"type":"order.filled","ts_event":"2026-11-21T14:32:10.123Z","source":"oms","actor":"algo:twap-7","trader_id":"T-1","instrument_id":"AAPL","entity":{"kind":"order","id":"O-1"},"data":{"fill_qty":100,"fill_price":"187.50","trade_id":"X-9","venue":"XNAS"}}"#,
    r#"{"type":"order.submitted","ts_event":1795271530123000000,"source":"oms","actor":"algo:twap-1","event_id":"0b0f5c4e-3c43-4d5e-9a1f-8f9e2d7c6b5a","trader_id":"T-1","instrument_id":"AAPL","entity":{"kind":"order","id":"O-1"},"data":{"side":"buy","quantity":"100","order_type":"market"}}"#,
    r#"{"type":"custom.note","ts_event":1,"source":"s","actor":"system","data":{"text":"hello"}}"#,
    r#"{"type":"risk.rejected","ts_event":1795271530123000000,"source":"risk","actor":"system","data":{"reason":"limit"}}"#,
];

const DICT: &[&[u8]] = &[
    b"\n",
    b"\r\n",
    b"\n\n",
    b" ",
    b"{\"type\":",
    b"\"ts_event\":",
    b"\"data\":",
    b"\"seq\":1,",
    b"\"prev\":\"00\",",
    b"\"order.filled\"",
    b"\"journal.created\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b"null",
];

/// What the server must answer: whether the body holds at least one event and all of
/// them are valid (the rule `post_events` documents: a body that is one JSON value is one
/// event, unless sent as JSON Lines; otherwise each non-blank line is one).
fn all_valid(body: &[u8], lines_only: bool) -> bool {
    if !lines_only && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
        return Event::from_json(body).is_ok();
    }
    let lines: Vec<&[u8]> = body
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .collect();
    !lines.is_empty() && lines.iter().all(|l| Event::from_json(l).is_ok())
}

#[derive(Debug)]
struct Case {
    lines_only: bool,
    body: Input,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn ingest_answers_every_body() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let rec = Recorder::init(
        &DataDir::new(&root),
        InitOptions {
            origin: Some("test.local/fuzz".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let writer = create_token(&root, Role::Writer, None, "gw").unwrap();
    let state = Arc::new(
        AppState::new(
            rec.clone(),
            ServerOptions {
                checkpoint_interval: None,
                ..ServerOptions::default()
            },
        )
        .unwrap(),
    );
    let app = router(state);
    let batch = EVENTS.join("\n");
    let seeds: Vec<&[u8]> = EVENTS
        .iter()
        .map(|e| e.as_bytes())
        .chain([batch.as_bytes()])
        .collect();
    let (mut accepted, mut refused) = (0u64, 0u64);
    // `fuzz::run` is synchronous; each case drives the router on this runtime.
    let handle = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| {
        fuzz::run(
            "server-ingest",
            2_000,
            |rng: &mut Rng| {
                let body = if rng.one_in(6) {
                    fuzz::arbitrary(rng, DICT, 400)
                } else if rng.one_in(4) {
                    // A batch of valid events with odd separators, one line maybe changed.
                    let mut lines: Vec<Vec<u8>> = (0..1 + rng.below(5))
                        .map(|_| rng.pick(EVENTS).as_bytes().to_vec())
                        .collect();
                    if rng.one_in(2) {
                        let i = rng.below(lines.len());
                        lines[i] = fuzz::mutate(rng, &lines[i], &seeds, DICT);
                    }
                    let sep = *rng.pick(&[&b"\n"[..], b"\r\n", b"\n\n", b"\n \t\n"]);
                    lines.join(sep)
                } else {
                    let seed = *rng.pick(&seeds);
                    fuzz::mutate(rng, seed, &seeds, DICT)
                };
                Case {
                    lines_only: rng.one_in(3),
                    body: Input(body),
                }
            },
            |case| {
                let content_type = if case.lines_only {
                    "application/x-ndjson"
                } else {
                    "application/json"
                };
                let req = Request::post("/v1/events")
                    .header(header::AUTHORIZATION, format!("Bearer {writer}"))
                    .header(header::CONTENT_TYPE, content_type)
                    .body(Body::from(case.body.0.clone()))
                    .unwrap();
                let status = handle.block_on(app.clone().oneshot(req)).unwrap().status();
                assert!(
                    status == StatusCode::OK || status.is_client_error(),
                    "answered {status}"
                );
                let expected = all_valid(&case.body.0, case.lines_only);
                // Valid events whose event_id an earlier case used with another body
                // are refused whole as a conflict (409), never half written.
                assert_eq!(
                    status == StatusCode::OK || status == StatusCode::CONFLICT,
                    expected,
                    "answered {status}, expected {}",
                    if expected { "200" } else { "a 4xx" }
                );
                if expected {
                    accepted += 1;
                } else {
                    refused += 1;
                }
            },
        );
    });
    eprintln!("bodies accepted: {accepted}, refused: {refused}");
    assert!(
        accepted > 0 && refused > 0,
        "{accepted} accepted, {refused} refused"
    );
    // Everything accepted was written as a sound journal.
    rec.journal().flush().unwrap();
    let report = tradetrail_journal::verify(&FsStorage, rec.journal().dir(), &|_| {}).unwrap();
    assert!(report.ok, "{report:?}");
    assert!(report.records > accepted, "{report:?}");
}
