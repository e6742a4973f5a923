//! A real server on 127.0.0.1:0 over a fresh data directory, with one token per role.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tradetrail_core::{DataDir, InitOptions, Recorder};
use tradetrail_journal::FsStorage;
use tradetrail_server::{create_token, serve, AppState, Role, ServerOptions};
use tradetrail_testkit::FaultStorage;

pub struct TestServer {
    pub base: String,
    pub rec: Recorder,
    pub client: reqwest::Client,
    pub writer: String,
    /// Trader T-1.
    pub alice: String,
    /// Trader T-2.
    pub bob: String,
    pub compliance: String,
    pub admin: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _tmp: tempfile::TempDir,
}

pub async fn start() -> TestServer {
    start_with(ServerOptions {
        checkpoint_interval: None,
        ..ServerOptions::default()
    })
    .await
}

pub async fn start_with(opts: ServerOptions) -> TestServer {
    start_over(opts, None).await
}

/// A server whose journal's storage fails on demand: move the failure point with
/// `set_fail_at(ops())` to fail the next storage operation with `errno`.
pub async fn start_faulty(errno: i32) -> (TestServer, FaultStorage) {
    let fault = FaultStorage::with_errno(Arc::new(FsStorage), u64::MAX, errno);
    let s = start_over(
        ServerOptions {
            checkpoint_interval: None,
            ..ServerOptions::default()
        },
        Some(fault.clone()),
    )
    .await;
    (s, fault)
}

async fn start_over(opts: ServerOptions, fault: Option<FaultStorage>) -> TestServer {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let dir = DataDir::new(&root);
    let mut rec = Recorder::init(
        &dir,
        InitOptions {
            origin: Some("test.local/server".into()),
            ..Default::default()
        },
    )
    .unwrap();
    if let Some(fault) = fault {
        drop(rec);
        rec = Recorder::open_with(&dir, |o| o.with_storage(Arc::new(fault)))
            .unwrap()
            .0;
    }
    let writer = create_token(&root, Role::Writer, None, "gw").unwrap();
    let alice = create_token(&root, Role::Trader, Some("T-1"), "alice").unwrap();
    let bob = create_token(&root, Role::Trader, Some("T-2"), "bob").unwrap();
    let compliance = create_token(&root, Role::Compliance, None, "cco").unwrap();
    let admin = create_token(&root, Role::Admin, None, "root").unwrap();
    let state = Arc::new(AppState::new(rec.clone(), opts).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(state, listener, async {
        let _ = rx.await;
    }));
    TestServer {
        base,
        rec,
        client: reqwest::Client::new(),
        writer,
        alice,
        bob,
        compliance,
        admin,
        stop: Some(tx),
        task: Some(task),
        _tmp: tmp,
    }
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Records in the journal, read from the library (not through the server).
    pub fn records(&self) -> u64 {
        self.rec.journal().status().unwrap().records
    }

    pub async fn post_events(&self, token: &str, body: String) -> reqwest::Response {
        self.client
            .post(self.url("/v1/events"))
            .bearer_auth(token)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, token: Option<&str>, path: &str) -> reqwest::Response {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    /// Stops the server as SIGTERM would and waits until it has flushed.
    pub async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.unwrap().unwrap();
    }

    /// Stops the server as SIGTERM would; how long it took to return, or `None` if it
    /// had not returned after `limit`.
    pub async fn shutdown_within(
        mut self,
        limit: std::time::Duration,
    ) -> Option<std::time::Duration> {
        let start = std::time::Instant::now();
        let _ = self.stop.take().unwrap().send(());
        let task = self.task.take().unwrap();
        match tokio::time::timeout(limit, task).await {
            Ok(done) => {
                done.unwrap().unwrap();
                Some(start.elapsed())
            }
            Err(_) => None,
        }
    }

    /// The server's address.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.base.trim_start_matches("http://").parse().unwrap()
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh UUID-shaped event_id.
pub fn new_id() -> String {
    let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    format!("6f1d2c3a-0000-4000-8000-{n:012x}")
}

/// A valid `order.submitted` event of `trader` as one JSON line.
pub fn order(trader: &str, event_id: &str) -> String {
    serde_json::json!({
        "type": "order.submitted",
        "ts_event": 1_795_700_000_000_000_000i64,
        "event_id": event_id,
        "source": "oms",
        "actor": format!("trader:{trader}"),
        "trader_id": trader,
        "instrument_id": "AAPL.XNAS",
        "entity": {"kind": "order", "id": format!("O-{event_id}")},
        "data": {"side": "buy", "quantity": "100", "order_type": "market"}
    })
    .to_string()
}

/// `n` valid events of `trader`, as a JSON Lines body.
pub fn batch(trader: &str, n: usize) -> String {
    (0..n).map(|_| order(trader, &new_id()) + "\n").collect()
}

/// The error object of a JSON error response, checking it is JSON with that status.
pub async fn error_of(resp: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(resp.status().as_u16(), status, "status");
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert!(ct.starts_with("application/json"), "content-type {ct:?}");
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["status"], status, "{v}");
    assert!(v["error"]["code"].is_string(), "{v}");
    v["error"].clone()
}
