//! The tradetrail HTTP server: events in from any language, answers out, roles enforced.
//!
//! A thin door onto the same library calls as the CLI: a data directory opened whole by
//! [`tradetrail_store::Store`], verified by [`tradetrail_store::verify`], and the
//! [`tradetrail_core::Recorder`], [`tradetrail_core::Tree`] and
//! [`tradetrail_core::checkpoints`] it hands out.
//! The journal is synchronous, so every call into it — and the parsing and validation
//! of event batches — runs on tokio's blocking pool, never on the async workers.
//!
//! Routes, roles, limits and errors are described in `docs/server.md`; the OpenAPI
//! document is served at `/v1/openapi.json`.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use std::sync::Arc;
//! use tradetrail_core::DataDir;
//! use tradetrail_server::{serve, shutdown_signal, AppState, ServerOptions};
//! use tradetrail_store::Store;
//!
//! let rec = Store::open(&DataDir::new("tradetrail-data")).expect("open").into_recorder();
//! let state = Arc::new(AppState::new(rec, ServerOptions::default()).expect("tokens"));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:7070").await?;
//! serve(state, listener, shutdown_signal()).await
//! # }
//! ```

mod console;
mod error;
mod handlers;
mod metrics;
mod openapi;
pub mod peer;
mod queries;
mod reconcile;
pub mod tokens;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tradetrail_core::Recorder;

pub use console::{ConsoleOptions, CSP as CONSOLE_CSP};
pub use error::{ApiError, FieldProblem, LineErrors};
pub use metrics::Metrics;
pub use openapi::document as openapi_document;
pub use reconcile::{Pass, ReconcileSchedule, RunCounts, StatementRun};
pub use tokens::{
    create_token, list_tokens, revoke_token, Caller, Role, TokenError, TokenRecord, TokenStore,
};

use error::ErrorCode;

/// Limits and periodic work of a server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Largest request body accepted, in bytes (413 above it). Default 8 MiB.
    pub max_body_bytes: usize,
    /// Longest a request may take before it is answered 503 `timeout`. Default 30 s.
    pub request_timeout: Duration,
    /// How often to apply the data directory's checkpoint policy (`None`: never).
    /// Default every 10 s.
    pub checkpoint_interval: Option<Duration>,
    /// When to reconcile the statement inbox by itself (`None`: as the data
    /// directory's `[reconciliation.schedule]` says). Default `None`.
    pub reconcile: Option<ReconcileSchedule>,
    /// Longest a client may take to send a complete request head, counted from when
    /// the connection is opened or its previous response was sent — so it is also how
    /// long an idle keep-alive connection is kept. The connection is closed after it.
    /// Default 10 s.
    pub header_read_timeout: Duration,
    /// Most connections served at once. Further connections wait in the listen
    /// backlog, unaccepted (holding no file descriptor of the server), until one
    /// closes. Keep it well below the open-file limit (`ulimit -n`): the journal needs
    /// descriptors too. Default 512.
    pub max_connections: usize,
    /// After a shutdown is asked for (SIGTERM, ctrl-c), how long in-flight requests
    /// may take to finish before their connections are cut; the journal is flushed
    /// either way. Default 10 s.
    pub shutdown_grace: Duration,
    /// The web console's sessions (docs/console.md).
    pub console: ConsoleOptions,
}

impl Default for ServerOptions {
    fn default() -> ServerOptions {
        ServerOptions {
            max_body_bytes: 8 << 20,
            request_timeout: Duration::from_secs(30),
            checkpoint_interval: Some(Duration::from_secs(10)),
            reconcile: None,
            header_read_timeout: Duration::from_secs(10),
            max_connections: 512,
            shutdown_grace: Duration::from_secs(10),
            console: ConsoleOptions::default(),
        }
    }
}

/// Everything the handlers share: the recorder, the tokens, the metrics.
#[derive(Debug)]
pub struct AppState {
    rec: Recorder,
    tokens: TokenStore,
    metrics: Metrics,
    opts: ServerOptions,
    /// The Merkle tree's derived files are written when the tree is loaded: one
    /// loader at a time.
    tree_lock: Mutex<()>,
    /// Set when an append failed because the disk is full.
    disk_full: std::sync::atomic::AtomicBool,
    /// The query index, opened on first use.
    queries: queries::Queries,
    /// When the statement inbox is reconciled.
    schedule: ReconcileSchedule,
    /// One reconciliation pass at a time.
    recon_lock: Mutex<()>,
    /// Told after `order.filled` events are appended (the schedule's `on_fill`).
    fills: tokio::sync::Notify,
    /// What runs beside the server (a PostgreSQL mirror, a stream ingest), reported in
    /// `/metrics` and `/healthz`.
    components: Vec<Arc<dyn tradetrail_core::Component>>,
    /// Set when the server stops: live streams (`GET /v1/events/stream`) end at once
    /// instead of holding their connections for the whole grace period.
    stopping: tokio::sync::watch::Sender<bool>,
    /// The console's signed-in sessions (in memory: a restart signs everyone out).
    sessions: console::Sessions,
    /// The console's last verification: when, and the verdict.
    last_verify: Mutex<Option<(std::time::SystemTime, tradetrail_store::Verdict)>>,
    /// `[time]` of the configuration: the zone of `from`/`to`/`at`/`date` values
    /// without an offset when no `tz=` is given, and the sessions of `session=`.
    time: tradetrail_model::TimeSettings,
}

impl AppState {
    /// State for a server over an open recorder; reads the data directory's tokens.
    pub fn new(rec: Recorder, opts: ServerOptions) -> Result<AppState, TokenError> {
        let tokens = TokenStore::open(rec.data_dir().root())?;
        let schedule = opts.reconcile.clone().unwrap_or_else(|| {
            ReconcileSchedule::from_config(&rec.config().reconciliation.schedule)
        });
        // Checked when the configuration was loaded.
        let time = rec.config().time.settings().unwrap_or_default();
        Ok(AppState {
            rec,
            tokens,
            metrics: Metrics::default(),
            opts,
            tree_lock: Mutex::new(()),
            disk_full: std::sync::atomic::AtomicBool::new(false),
            queries: queries::Queries::default(),
            schedule,
            recon_lock: Mutex::new(()),
            fills: tokio::sync::Notify::new(),
            components: Vec::new(),
            stopping: tokio::sync::watch::Sender::new(false),
            sessions: console::Sessions::default(),
            last_verify: Mutex::new(None),
            time,
        })
    }

    /// Reports `c` in `/metrics` (as `tradetrail_<name>_<gauge>`) and `/healthz`.
    pub fn add_component(&mut self, c: Arc<dyn tradetrail_core::Component>) {
        self.components.push(c);
    }

    /// The recorder underneath.
    pub fn recorder(&self) -> &Recorder {
        &self.rec
    }

    /// The configuration's time settings (`[time]`).
    pub fn time(&self) -> &tradetrail_model::TimeSettings {
        &self.time
    }
}

/// The routes (docs/server.md) that this server answers — the API under `/v1` and the
/// console under `/` (docs/console.md) — with limits, request logs, JSON errors (HTML
/// pages for the console) and the rejection metric.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .merge(console::routes())
        .route(
            "/v1/events",
            get(queries::events).post(handlers::post_events),
        )
        .route("/v1/events/stream", get(queries::events_stream))
        .route("/v1/trail/{id}", get(queries::trail))
        .route("/v1/incident", get(queries::incident))
        .route("/v1/stats", get(queries::stats))
        .route("/v1/reports/{kind}", get(queries::report))
        .route("/v1/verify", get(handlers::verify))
        .route("/v1/reconcile", post(handlers::reconcile))
        .route(
            "/v1/checkpoint",
            get(handlers::get_checkpoint).post(handlers::post_checkpoint),
        )
        .route("/v1/proof/inclusion", get(handlers::inclusion))
        .route("/v1/proof/consistency", get(handlers::consistency))
        .route(
            "/v1/tokens",
            get(handlers::list_tokens).post(handlers::create_token),
        )
        .route("/healthz", get(handlers::healthz))
        .route("/metrics", get(handlers::metrics))
        .route("/v1/openapi.json", get(handlers::openapi))
        .route("/v1/schema", get(handlers::schema))
        .fallback(|| async { ApiError::NotFound("no such route; see /v1/openapi.json".into()) })
        .layer(DefaultBodyLimit::max(state.opts.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            around_request,
        ))
        .with_state(state)
}

/// Per-request timeout, a JSON body on every error, the rejection metric and one
/// structured log line per request.
async fn around_request(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let resp = match tokio::time::timeout(st.opts.request_timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::Unavailable {
            code: "timeout",
            message: format!(
                "the request took longer than {} s; a batch may still be written: retry it with the same event_ids",
                st.opts.request_timeout.as_secs_f64()
            ),
        }
        .into_response(),
    };
    let resp = json_errors(resp, st.opts.max_body_bytes);
    if let Some(ErrorCode(code)) = resp.extensions().get::<ErrorCode>() {
        st.metrics.rejected(code);
    }
    tracing::info!(
        target: "tradetrail::http",
        %method,
        path,
        status = resp.status().as_u16(),
        micros = start.elapsed().as_micros() as u64,
        "request"
    );
    resp
}

/// Replaces an error answered by the framework itself (method not allowed, an
/// extractor's rejection) with the server's JSON error of the same kind.
fn json_errors(resp: Response, max_body_bytes: usize) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error())
        || resp.extensions().get::<ErrorCode>().is_some()
        || resp
            .extensions()
            .get::<console::ConsoleResponse>()
            .is_some()
    {
        return resp;
    }
    match status {
        StatusCode::NOT_FOUND => ApiError::NotFound("not found".into()),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(max_body_bytes),
        s if s.is_client_error() => ApiError::BadRequest("malformed request".into()),
        _ => ApiError::Internal,
    }
    .into_response()
}

/// Serves until `shutdown` completes, then lets in-flight requests (and the batches
/// they are writing) finish for up to [`ServerOptions::shutdown_grace`], cuts the
/// connections still open after it, and flushes the journal to disk before returning.
///
/// Connections are limited ([`ServerOptions::max_connections`]) and must send each
/// request head within [`ServerOptions::header_read_timeout`], so clients that connect
/// and send nothing, or half a request, can neither exhaust the server's file
/// descriptors nor hold up its shutdown.
pub async fn serve(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    warn_pattern_tokens(&state);
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let policy = state.opts.checkpoint_interval.map(|every| {
        let st = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop_rx.changed() => break,
                }
                let st = st.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    let _g = st.tree_lock.lock().unwrap_or_else(|e| e.into_inner());
                    match tradetrail_core::checkpoints::checkpoint_if_due(&st.rec) {
                        Ok(Some(t)) => tracing::info!(size = t.size, "checkpoint taken (policy)"),
                        Ok(None) => {}
                        Err(e) => tracing::warn!(error = %e, "a checkpoint was due but not taken"),
                    }
                })
                .await;
            }
        })
    });
    let reconciler = tokio::spawn(reconcile::scheduler(state.clone(), stop_tx.subscribe()));
    let app = router(state.clone());
    let mut conns = accept_until(&state.opts, listener, app, shutdown, stop_tx.subscribe()).await;
    // The listener is closed: no new connections. Tell the open ones to finish.
    let _ = stop_tx.send(true);
    state.stopping.send_replace(true);
    let deadline = tokio::time::Instant::now() + state.opts.shutdown_grace;
    let open = conns.len();
    let drained = tokio::time::timeout_at(deadline, async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open,
            cut = conns.len(),
            grace_ms = state.opts.shutdown_grace.as_millis() as u64,
            "connections still open after the shutdown grace period were closed"
        );
        conns.abort_all();
        while conns.join_next().await.is_some() {}
    }
    if let Some(task) = policy {
        if tokio::time::timeout_at(deadline, task).await.is_err() {
            tracing::warn!("a checkpoint was still being taken at shutdown; not waiting for it");
        }
    }
    if tokio::time::timeout_at(deadline, reconciler).await.is_err() {
        tracing::warn!("a reconciliation was still running at shutdown; not waiting for it");
    }
    let st = state.clone();
    let flushed = tokio::task::spawn_blocking(move || st.rec.journal().flush()).await;
    match flushed {
        Ok(Ok(())) => tracing::info!("journal flushed; server stopped"),
        Ok(Err(e)) => tracing::error!(error = %e, "flushing the journal at shutdown failed"),
        Err(e) => tracing::error!(error = %e, "flushing the journal at shutdown panicked"),
    }
    Ok(())
}

/// Accepts connections until `shutdown` completes, at most `max_connections` at a
/// time, each served on its own task; returns those tasks. Each task stops its
/// connection gracefully (the request in flight is answered, then it closes) when
/// `stop` changes.
async fn accept_until(
    opts: &ServerOptions,
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinSet<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;

    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(opts.header_read_timeout)
        .keep_alive(true);
    let slots = Arc::new(tokio::sync::Semaphore::new(
        opts.max_connections
            .clamp(1, tokio::sync::Semaphore::MAX_PERMITS),
    ));
    let mut conns = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // Reap finished connections so the set stays small.
        while conns.try_join_next().is_some() {}
        // Wait for a free slot before accepting: connections beyond the limit stay in
        // the kernel's backlog, not in the server's descriptor table.
        let slot = tokio::select! {
            biased;
            _ = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => slot,
        };
        let Ok(slot) = slot else { break };
        let accepted = tokio::select! {
            biased;
            _ = &mut shutdown => break,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of descriptors or memory, or a connection reset before it was
                // accepted: say so and carry on, pausing so as not to spin.
                tracing::warn!(error = %e, "accepting a connection failed");
                drop(slot);
                tokio::select! {
                    biased;
                    _ = &mut shutdown => break,
                    _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                }
                continue;
            }
        };
        // Each request knows the address it came from (`ConnectInfo`): the console
        // counts failed sign-ins per address.
        let svc = tower::ServiceExt::map_request(
            app.clone(),
            move |mut req: axum::http::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                req
            },
        );
        let conn = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc));
        let mut stop = stop.clone();
        conns.spawn(async move {
            let _slot = slot;
            let mut conn = std::pin::pin!(conn);
            let result = tokio::select! {
                r = conn.as_mut() => r,
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection closed with an error");
            }
        });
    }
    conns
}

/// Warns about trader tokens whose trader id is not a literal id (stored before such
/// ids were refused): the server refuses them (403) until an admin replaces them.
fn warn_pattern_tokens(state: &AppState) {
    let Ok(tokens) = list_tokens(state.rec.data_dir().root()) else {
        return;
    };
    for t in tokens {
        if let Some(id) = t.trader_id.as_deref() {
            if let Err(reason) = tokens::literal_trader_id(id) {
                tracing::warn!(
                    name = t.name,
                    trader_id = id,
                    reason,
                    "this trader token is refused (403) until an admin revokes it and creates it again with the exact trader id"
                );
            }
        }
    }
}

/// Runs a server on its own multi-threaded runtime until ctrl-c or SIGTERM: the
/// entry point for `tradetrail serve`, which needs no runtime of its own.
pub fn run(state: Arc<AppState>, listen: &str) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("tradetrail-server")
        .build()?;
    let result = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot listen on {listen}: {e}"))
        })?;
        tracing::info!(
            addr = %listener.local_addr()?,
            data = %state.rec.data_dir().root().display(),
            "listening"
        );
        serve(state, listener, shutdown_signal()).await
    });
    // Work still on the blocking pool (a batch whose client was cut off) must not
    // keep the process alive: a record not fully written was never acknowledged.
    rt.shutdown_timeout(Duration::from_secs(1));
    result
}

/// Completes on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutdown requested: finishing in-flight requests");
}

/// How the server's log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One readable line per event; colours only when stderr is a terminal.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `fields`, `target`), for log
    /// collectors.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<LogFormat, String> {
        match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("unknown log format {other:?}: use text or json")),
        }
    }
}

/// Structured logs on stderr; `RUST_LOG` adjusts the level (default `info`). Text
/// logs carry ANSI colours only when stderr is a terminal, so a log file or a
/// collector gets plain text.
pub fn init_logging(format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
    };
}
