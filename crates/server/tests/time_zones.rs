//! `tz=` and `session=` over HTTP, and the configuration's `[time]` as their default.

mod common;

use std::sync::Arc;

use common::error_of;
use tradetrail_core::{DataDir, InitOptions, Recorder};
use tradetrail_server::{create_token, serve, AppState, Role, ServerOptions};

fn submitted(ts: &str, n: u32) -> String {
    serde_json::json!({
        "type": "order.submitted",
        "ts_event": ts,
        "event_id": format!("6f1d2c3a-0000-4000-8000-{n:012x}"),
        "source": "oms",
        "actor": "trader:T-1",
        "trader_id": "T-1",
        "instrument_id": "AAPL.XNAS",
        "entity": {"kind": "order", "id": format!("O-{n}")},
        "data": {"side": "buy", "quantity": "100", "order_type": "market"}
    })
    .to_string()
        + "\n"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tz_and_session_parameters_and_the_configured_default() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let dir = DataDir::new(&root);
    drop(
        Recorder::init(
            &dir,
            InitOptions {
                origin: Some("test.local/tz".into()),
                ..Default::default()
            },
        )
        .unwrap(),
    );
    // The data directory's days are New York's; XNYS sessions are configured.
    let cfg = std::fs::read_to_string(dir.config()).unwrap();
    let cfg = cfg.replace("zone = \"UTC\"", "zone = \"America/New_York\"")
        + "\n[[time.sessions]]\nvenue = \"XNYS\"\nzone = \"America/New_York\"\nopen = \"09:30\"\nclose = \"16:00\"\n";
    std::fs::write(dir.config(), cfg).unwrap();
    let (rec, _) = Recorder::open(&dir).unwrap();
    let token = create_token(&root, Role::Compliance, None, "cco").unwrap();
    let writer = create_token(&root, Role::Writer, None, "gw").unwrap();
    let state = Arc::new(AppState::new(rec, ServerOptions::default()).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(state, listener, async {
        let _ = rx.await;
    }));
    let client = reqwest::Client::new();
    // Tuesday 18:00 New York (after the close, 23:00Z), Wednesday 10:00 (15:00Z),
    // Wednesday 21:00 (02:00Z Thursday).
    let body = submitted("2026-11-24T23:00:00Z", 1)
        + &submitted("2026-11-25T15:00:00Z", 2)
        + &submitted("2026-11-26T02:00:00Z", 3);
    let r = client
        .post(format!("{base}/v1/events"))
        .bearer_auth(&writer)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let get = |path: String| {
        let (client, token, base) = (client.clone(), token.clone(), base.clone());
        async move {
            client
                .get(format!("{base}{path}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
        }
    };
    let orders = |v: &serde_json::Value| v["totals"]["orders"].as_u64().unwrap();
    // The configured zone: 2026-11-25 is New York's Wednesday (two orders).
    let v: serde_json::Value = get("/v1/reports/compliance?date=2026-11-25".into())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(orders(&v), 2, "{v}");
    assert_eq!(v["filter"]["days"]["zone"], "America/New_York", "{v}");
    // tz= overrides it: the UTC day holds one.
    let v: serde_json::Value = get("/v1/reports/compliance?tz=UTC&date=2026-11-25".into())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(orders(&v), 1, "{v}");
    // session=: Wednesday's trading day runs from Tuesday's close.
    let v: serde_json::Value = get("/v1/reports/compliance?date=2026-11-25&session=XNYS".into())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(orders(&v), 2, "{v}");
    assert_eq!(v["filter"]["from"], 1_795_554_000_000_000_000i64, "{v}");
    // Record queries: from/to without an offset are read in tz= (after them, too).
    let v: serde_json::Value =
        get("/v1/events?from=2026-11-25T09:30&to=2026-11-25T23:00&tz=America/New_York".into())
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(v["records"].as_array().unwrap().len(), 2, "{v}");
    let v: serde_json::Value = get("/v1/events?from=2026-11-25T09:30&to=2026-11-25T23:00".into())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["records"].as_array().unwrap().len(),
        2,
        "the configured zone: {v}"
    );
    let v: serde_json::Value =
        get("/v1/events?from=2026-11-25T09:30&to=2026-11-25T23:00&tz=UTC".into())
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(v["records"].as_array().unwrap().len(), 1, "{v}");
    // A bad zone is a 400 naming the parameter.
    let e = error_of(get("/v1/events?tz=Mars/Base".into()).await, 400).await;
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .starts_with("tz: \"Mars/Base\" is not a time zone"),
        "{e}"
    );
    let e = error_of(get("/v1/reports/daily?session=XLON".into()).await, 400).await;
    assert!(e["message"].as_str().unwrap().contains("XNYS"), "{e}");
    let _ = tx.send(());
    task.await.unwrap().unwrap();
}
