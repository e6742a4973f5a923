//! `tradetrail-tracing`: a [`tracing_subscriber::Layer`] that records a Rust service's
//! `tracing` events as operational log lines beside its audit trail, in the same data
//! directory and with the same shape as the Python package's `tradetrail.LogHandler`.
//!
//! ```no_run
//! use tracing_subscriber::prelude::*;
//! use tradetrail_tracing::{layer, Options};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let recorder: tradetrail_core::Recorder = unimplemented!();
//! // `recorder`: `tradetrail_store::Store::open(&dir)?.into_recorder()`
//! let (log_layer, guard) = layer(&recorder, Options::default().source("oms"))?;
//! tracing_subscriber::registry().with(log_layer).init();
//!
//! tracing::warn!(category = "order", order_id = "O-7", trader_id = "T-03", "order rejected");
//! guard.flush(); // waits until every line emitted so far is recorded
//! drop(guard);   // records what is queued and stops the writer thread
//! # Ok(())
//! # }
//! ```
//!
//! Each event becomes one record:
//!
//! ```json
//! {"type":"log.warning","ts_event":...,"source":"oms","actor":"system","event_id":"...",
//!  "trader_id":"T-03","entity":{"kind":"log","id":"order"},
//!  "data":{"message":"order rejected","logger":"oms::orders","context":{"order_id":"O-7"}}}
//! ```
//!
//! - the level is the type: `TRACE` and `DEBUG` → `log.debug`, `INFO` → `log.info`,
//!   `WARN` → `log.warning`, `ERROR` → `log.error`;
//! - the category is the entity's id: the event's `category` field, else the category
//!   of the longest [`Options::target`] prefix its target starts with, else
//!   [`Options::category`] (`"system"`);
//! - the `message` is `data.message`, the target `data.logger`; the fields `trader_id`,
//!   `strategy_id`, `account_id`, `instrument_id` go to the envelope, `user_id` and
//!   `session_id` to `data`, an error value (`error = &e as &dyn Error`) to
//!   `data.exception` (with its causes) and every other field to `data.context`;
//! - a line below its category's minimum level is not recorded: the levels of
//!   [`Options::levels`], else the data directory's `[log]` section (`level` and
//!   `[log.categories]` in `tradetrail.toml`).
//!
//! Emitting never waits for the disk: lines go into a bounded queue that a writer
//! thread records in batches (`durability = "os"`). When the queue is full,
//! [`OnFull::Block`] (the default) makes the emitting thread wait for room, losing
//! nothing; [`OnFull::Drop`] drops the line, counts it ([`LogStats::dropped`]) and the
//! writer records a `log.dropped` record with the count, so a drop is never silent.
//! The [`LogGuard`] flushes on [`LogGuard::flush`] and, when dropped, records what is
//! queued and stops the writer.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{JoinHandle, ThreadId};
use std::time::Duration;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;
use tradetrail_core::{LogConfig, Recorder};
use tradetrail_journal::Durability;
use tradetrail_model::{log_level_rank, Event, LOG_LEVELS};

/// Why a layer could not be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An option is not valid: `field` names it (`source`, `actor`, `levels`, ...).
    #[error("tradetrail-tracing option {field}: {reason}")]
    BadOption {
        /// The option.
        field: &'static str,
        /// What is wrong and what to give instead.
        reason: String,
    },
    /// The writer thread could not be started (the system refused a thread).
    #[error("tradetrail-tracing: starting the writer thread: {0}")]
    Spawn(#[source] std::io::Error),
}

/// What an emitting thread does when the queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnFull {
    /// Wait for room: nothing is lost, the emitting thread slows to the writer's pace.
    #[default]
    Block,
    /// Drop the line, count it in [`LogStats::dropped`] and record a `log.dropped`
    /// record with the count.
    Drop,
}

/// How the layer records. `Options::default()` then the builder methods.
#[derive(Debug, Clone)]
pub struct Options {
    source: Option<String>,
    actor: String,
    category: String,
    targets: Vec<(String, String)>,
    levels: Option<LogConfig>,
    user_id: Option<String>,
    session_id: Option<String>,
    queue_size: usize,
    batch_size: usize,
    on_full: OnFull,
    start: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            source: None,
            actor: "system".into(),
            category: "system".into(),
            targets: Vec::new(),
            levels: None,
            user_id: None,
            session_id: None,
            queue_size: 10_000,
            batch_size: 1000,
            on_full: OnFull::Block,
            start: true,
        }
    }
}

impl Options {
    /// The records' `source` (an id); by default each event's target.
    pub fn source(mut self, source: &str) -> Options {
        self.source = Some(source.into());
        self
    }
    /// The records' `actor` (`system`, `service:<id>`, ...); default `system`.
    pub fn actor(mut self, actor: &str) -> Options {
        self.actor = actor.into();
        self
    }
    /// The category of events that name none and match no [`Options::target`];
    /// default `system`.
    pub fn category(mut self, category: &str) -> Options {
        self.category = category.into();
        self
    }
    /// Events whose target is `prefix` or starts with `prefix::` take `category`
    /// (the longest matching prefix wins; an event's own `category` field beats it).
    pub fn target(mut self, prefix: &str, category: &str) -> Options {
        self.targets.push((prefix.into(), category.into()));
        self
    }
    /// Minimum levels instead of the data directory's `[log]` section.
    pub fn levels(mut self, levels: LogConfig) -> Options {
        self.levels = Some(levels);
        self
    }
    /// `data.user_id` of every record.
    pub fn user_id(mut self, id: &str) -> Options {
        self.user_id = Some(id.into());
        self
    }
    /// `data.session_id` of every record.
    pub fn session_id(mut self, id: &str) -> Options {
        self.session_id = Some(id.into());
        self
    }
    /// Lines the queue holds (default 10,000; at least 1).
    pub fn queue_size(mut self, n: usize) -> Options {
        self.queue_size = n;
        self
    }
    /// Lines recorded per batch at most (default 1,000; at least 1).
    pub fn batch_size(mut self, n: usize) -> Options {
        self.batch_size = n;
        self
    }
    /// What happens when the queue is full (default [`OnFull::Block`]).
    pub fn on_full(mut self, on_full: OnFull) -> Options {
        self.on_full = on_full;
        self
    }
    /// `false`: queue lines without recording them until [`LogGuard::start`].
    pub fn start(mut self, start: bool) -> Options {
        self.start = start;
        self
    }
}

/// Counts of lines, since the layer was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogStats {
    /// Lines put in the queue.
    pub queued: u64,
    /// Lines recorded.
    pub recorded: u64,
    /// Lines dropped because the queue was full ([`OnFull::Drop`]); each drop is
    /// reported in a `log.dropped` record.
    pub dropped: u64,
    /// Lines the journal refused (the reason goes to stderr).
    pub failed: u64,
    /// Lines emitted after the writer stopped (the guard was dropped): not recorded,
    /// reported once on stderr.
    pub after_close: u64,
}

/// One line on its way to the writer: what the emitting thread collected.
struct Line {
    level: usize,
    ts_event: i64,
    category: String,
    target: String,
    message: String,
    context: Map<String, Value>,
    exception: Option<String>,
    envelope: [Option<String>; 4],
    user_id: Option<String>,
    session_id: Option<String>,
}

enum Msg {
    Line(Box<Line>),
    Flush(mpsc::Sender<()>),
    Stop,
}

#[derive(Default)]
struct Counters {
    queued: AtomicU64,
    recorded: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
    after_close: AtomicU64,
    /// Drops not yet reported in a `log.dropped` record.
    unreported: AtomicU64,
    warned_closed: AtomicBool,
}

/// What the layer, the guard and the writer share.
struct Shared {
    tx: SyncSender<Msg>,
    on_full: OnFull,
    counters: Counters,
    /// Per category, and for the rest, the lowest rank recorded.
    minimums: BTreeMap<String, usize>,
    default_minimum: Option<usize>,
    category: String,
    targets: Vec<(String, String)>,
    source: Option<String>,
    actor: String,
    user_id: Option<String>,
    session_id: Option<String>,
    batch_size: usize,
    /// The writer thread: its own events never wait on the queue it empties.
    writer: OnceLock<ThreadId>,
}

const ENVELOPE: [&str; 4] = ["trader_id", "strategy_id", "account_id", "instrument_id"];

impl Shared {
    fn minimum(&self, category: &str) -> Option<usize> {
        self.minimums
            .get(category)
            .copied()
            .or(self.default_minimum)
    }

    fn category_of_target(&self, target: &str) -> Option<&str> {
        self.targets
            .iter()
            .filter(|(p, _)| {
                target == p
                    || target
                        .strip_prefix(p.as_str())
                        .is_some_and(|r| r.starts_with("::"))
            })
            .max_by_key(|(p, _)| p.len())
            .map(|(_, c)| c.as_str())
    }

    fn send(&self, line: Line) {
        let c = &self.counters;
        let msg = Msg::Line(Box::new(line));
        let own = self.writer.get() == Some(&std::thread::current().id());
        let sent = if self.on_full == OnFull::Block && !own {
            self.tx
                .send(msg)
                .map_err(|_| TrySendError::Disconnected(()))
        } else {
            self.tx.try_send(msg).map_err(|e| match e {
                TrySendError::Full(_) => TrySendError::Full(()),
                TrySendError::Disconnected(_) => TrySendError::Disconnected(()),
            })
        };
        match sent {
            Ok(()) => {
                c.queued.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Full(())) => {
                c.dropped.fetch_add(1, Ordering::Relaxed);
                c.unreported.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(())) => {
                c.after_close.fetch_add(1, Ordering::Relaxed);
                if !c.warned_closed.swap(true, Ordering::Relaxed) {
                    eprintln!(
                        "tradetrail-tracing: a log line was emitted after the LogGuard was dropped; \
                         it and later ones are not recorded (LogStats::after_close counts them)"
                    );
                }
            }
        }
    }

    fn stats(&self) -> LogStats {
        let c = &self.counters;
        LogStats {
            queued: c.queued.load(Ordering::Relaxed),
            recorded: c.recorded.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            after_close: c.after_close.load(Ordering::Relaxed),
        }
    }
}

/// The layer: add it to a `tracing_subscriber::registry()`.
#[derive(Clone)]
pub struct TradetrailLayer {
    shared: Arc<Shared>,
}

impl TradetrailLayer {
    /// Counts of lines so far.
    pub fn stats(&self) -> LogStats {
        self.shared.stats()
    }
}

/// Keeps the writer running; dropping it records what is queued and stops the writer.
pub struct LogGuard {
    shared: Arc<Shared>,
    rec: Recorder,
    /// The receiver until the writer starts.
    rx: Mutex<Option<Receiver<Msg>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl LogGuard {
    /// Starts the writer, if [`Options::start`] was `false` (once; later calls do
    /// nothing).
    pub fn start(&self) -> Result<(), Error> {
        let Some(rx) = self.rx.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return Ok(());
        };
        let shared = self.shared.clone();
        let rec = self.rec.clone();
        let handle = std::thread::Builder::new()
            .name("tradetrail-log-writer".into())
            .spawn(move || write_loop(rx, &shared, &rec))
            .map_err(Error::Spawn)?;
        *self.worker.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        Ok(())
    }

    /// Waits until every line queued before this call is recorded (or failed), and
    /// any drop so far is reported. Returns at once when the writer is not started.
    pub fn flush(&self) {
        if self
            .worker
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none()
        {
            return;
        }
        let (tx, rx) = mpsc::channel();
        if self.shared.tx.send(Msg::Flush(tx)).is_ok() {
            let _ = rx.recv();
        }
    }

    /// Counts of lines so far.
    pub fn stats(&self) -> LogStats {
        self.shared.stats()
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        // Lines queued before `start` are recorded too.
        if let Err(e) = self.start() {
            eprintln!("tradetrail-tracing: queued log lines not recorded: {e}");
            return;
        }
        let worker = self.worker.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(w) = worker {
            if self.shared.tx.send(Msg::Stop).is_ok() {
                let _ = w.join();
            }
        }
    }
}

/// Makes the layer and its guard, recording into `rec`'s journal (open it with
/// `tradetrail_store::Store::open(&dir)?.into_recorder()`). Bad options are refused
/// here, naming the option.
pub fn layer(rec: &Recorder, opts: Options) -> Result<(TradetrailLayer, LogGuard), Error> {
    if opts.queue_size == 0 {
        return Err(Error::BadOption {
            field: "queue_size",
            reason: "must be at least 1".into(),
        });
    }
    if opts.batch_size == 0 {
        return Err(Error::BadOption {
            field: "batch_size",
            reason: "must be at least 1".into(),
        });
    }
    let levels = match opts.levels {
        Some(l) => {
            l.check().map_err(|reason| Error::BadOption {
                field: "levels",
                reason,
            })?;
            l
        }
        None => rec.config().log.clone(),
    };
    // The envelope's options are checked as an event's are, with the model's messages.
    let mut probe = Event::new(
        "log.info",
        0,
        opts.source.as_deref().unwrap_or("probe"),
        &opts.actor,
    )
    .with_entity("log", &opts.category)
    .with_data("message", "probe");
    for (field, v) in [("user_id", &opts.user_id), ("session_id", &opts.session_id)] {
        if let Some(v) = v {
            probe = probe.with_data(field, v.as_str());
        }
    }
    for (_, c) in &opts.targets {
        probe.entity = Some(tradetrail_model::Entity {
            kind: "log".into(),
            id: c.clone(),
        });
        check_probe(&probe)?;
    }
    check_probe(&probe)?;
    let rank = |name: &str| log_level_rank(name).unwrap_or(0);
    let (tx, rx) = mpsc::sync_channel(opts.queue_size);
    let shared = Arc::new(Shared {
        tx,
        on_full: opts.on_full,
        counters: Counters::default(),
        minimums: levels
            .categories
            .iter()
            .map(|(c, l)| (c.clone(), rank(l)))
            .collect(),
        default_minimum: levels.level.as_deref().map(rank),
        category: opts.category,
        targets: opts.targets,
        source: opts.source,
        actor: opts.actor,
        user_id: opts.user_id,
        session_id: opts.session_id,
        batch_size: opts.batch_size,
        writer: OnceLock::new(),
    });
    let guard = LogGuard {
        shared: shared.clone(),
        rec: rec.clone(),
        rx: Mutex::new(Some(rx)),
        worker: Mutex::new(None),
    };
    if opts.start {
        guard.start()?;
    }
    Ok((TradetrailLayer { shared }, guard))
}

fn check_probe(probe: &Event) -> Result<(), Error> {
    probe.validate().map_err(|errs| {
        let first = errs.0.first();
        let field = match first.map(|e| e.field.as_str()) {
            Some("source") => "source",
            Some("actor") => "actor",
            Some("entity.id") | Some("entity") => "category",
            Some("data.user_id") => "user_id",
            Some("data.session_id") => "session_id",
            _ => "options",
        };
        Error::BadOption {
            field,
            reason: errs
                .0
                .iter()
                .map(|e| format!("{}: {}", e.field, e.reason))
                .collect::<Vec<_>>()
                .join("; "),
        }
    })
}

/// The tradetrail level of a `tracing` level (its rank in [`LOG_LEVELS`]).
fn rank_of(level: &Level) -> usize {
    match *level {
        Level::TRACE | Level::DEBUG => 0,
        Level::INFO => 1,
        Level::WARN => 2,
        Level::ERROR => 3,
    }
}

/// Collects an event's fields.
#[derive(Default)]
struct Fields {
    message: Option<String>,
    category: Option<String>,
    logger: Option<String>,
    context: Map<String, Value>,
    exception: Option<String>,
    envelope: [Option<String>; 4],
    user_id: Option<String>,
    session_id: Option<String>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        let name = field.name();
        let text = || match &value {
            Value::String(s) => s.clone(),
            v => v.to_string(),
        };
        match name {
            "message" => self.message = Some(text()),
            "category" => self.category = Some(text()),
            "user_id" => self.user_id = Some(text()),
            "session_id" => self.session_id = Some(text()),
            // Events bridged from the `log` crate (tracing-log) carry their origin so.
            "log.target" => self.logger = Some(text()),
            "log.module_path" | "log.file" | "log.line" => {}
            _ => match ENVELOPE.iter().position(|e| *e == name) {
                Some(i) => self.envelope[i] = Some(text()),
                None => {
                    self.context.insert(name.to_owned(), value);
                }
            },
        }
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        self.put(field, Value::String(value.to_string()));
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        self.put(field, Value::String(value.to_string()));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        // JSON has no NaN or infinity: those are kept as text.
        let v = serde_json::Number::from_f64(value)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(value.to_string()));
        self.put(field, v);
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::Bool(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        let mut cause = value.source();
        while let Some(c) = cause {
            text.push_str(": ");
            text.push_str(&c.to_string());
            cause = c.source();
        }
        if self.exception.is_none() {
            self.exception = Some(text.clone());
        }
        self.put(field, Value::String(text));
    }
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl<S: Subscriber> Layer<S> for TradetrailLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let shared = &self.shared;
        let meta = event.metadata();
        let level = rank_of(meta.level());
        let mut f = Fields::default();
        event.record(&mut f);
        let category = f
            .category
            .take()
            .or_else(|| shared.category_of_target(meta.target()).map(str::to_owned))
            .unwrap_or_else(|| shared.category.clone());
        if shared.minimum(&category).is_some_and(|m| level < m) {
            return;
        }
        let message = f
            .message
            .take()
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| "(empty)".into());
        shared.send(Line {
            level,
            ts_event: now_ns(),
            category,
            target: f.logger.take().unwrap_or_else(|| meta.target().to_owned()),
            message,
            context: f.context,
            exception: f.exception,
            envelope: f.envelope,
            user_id: f.user_id,
            session_id: f.session_id,
        });
    }
}

/// The record of one line: the shape the Python `LogHandler` writes.
fn event_of(shared: &Shared, line: Line) -> Event {
    let level = LOG_LEVELS.get(line.level).copied().unwrap_or("debug");
    let source = shared.source.as_deref().unwrap_or(&line.target);
    let mut ev = Event::new(
        &format!("log.{level}"),
        line.ts_event,
        source,
        &shared.actor,
    )
    .with_event_id(uuid::Uuid::new_v4())
    .with_entity("log", &line.category)
    .with_data("message", line.message)
    .with_data("logger", line.target.as_str());
    if !line.context.is_empty() {
        ev = ev.with_data("context", Value::Object(line.context));
    }
    if let Some(e) = line.exception {
        ev = ev.with_data("exception", e);
    }
    for (key, v) in [
        ("user_id", line.user_id.or_else(|| shared.user_id.clone())),
        (
            "session_id",
            line.session_id.or_else(|| shared.session_id.clone()),
        ),
    ] {
        if let Some(v) = v {
            ev = ev.with_data(key, v);
        }
    }
    let [trader, strategy, account, instrument] = line.envelope;
    ev.trader_id = trader;
    ev.strategy_id = strategy;
    ev.account_id = account;
    ev.instrument_id = instrument;
    ev
}

/// Records one batch (and the report of any drops), counting what was recorded.
fn write(shared: &Shared, rec: &Recorder, batch: Vec<Line>) {
    let c = &shared.counters;
    let dropped = c.unreported.swap(0, Ordering::Relaxed);
    let mut entries = Vec::with_capacity(batch.len() + 1);
    let mut ts_last = None;
    for line in batch {
        ts_last = Some(line.ts_event);
        let ev = event_of(shared, line);
        match ev.validate() {
            Ok(()) => entries.push(rec.prepare(&ev, Some(Durability::Os))),
            Err(errs) => {
                c.failed.fetch_add(1, Ordering::Relaxed);
                eprintln!(
                    "tradetrail-tracing: a {} line not recorded: {}",
                    ev.event_type,
                    errs.0
                        .iter()
                        .map(|e| format!("{}: {}", e.field, e.reason))
                        .collect::<Vec<_>>()
                        .join("; ")
                );
            }
        }
    }
    let lines = entries.len() as u64;
    if dropped > 0 {
        let ev = Event::new(
            "log.dropped",
            ts_last.unwrap_or_else(now_ns),
            shared.source.as_deref().unwrap_or("rust"),
            &shared.actor,
        )
        .with_event_id(uuid::Uuid::new_v4())
        .with_data("dropped", dropped)
        .with_data(
            "reason",
            "the tracing layer's queue was full (OnFull::Drop)",
        )
        .with_data("category", shared.category.as_str());
        entries.push(rec.prepare(&ev, Some(Durability::Os)));
    }
    if entries.is_empty() {
        return;
    }
    match rec.record_batch(entries) {
        Ok(_) => {
            c.recorded.fetch_add(lines, Ordering::Relaxed);
        }
        Err(e) => {
            c.failed.fetch_add(lines, Ordering::Relaxed);
            // The drops stay to be reported by the next batch.
            c.unreported.fetch_add(dropped, Ordering::Relaxed);
            eprintln!("tradetrail-tracing: {lines} log lines not recorded: {e}");
        }
    }
}

/// The writer: takes what is queued, up to a batch, and records it; a report of drops
/// goes out at the latest a fifth of a second after them.
fn write_loop(rx: Receiver<Msg>, shared: &Shared, rec: &Recorder) {
    // Before anything is recorded: from here on this thread's own events (from code
    // under `record_batch`) are offered to the queue without waiting on it.
    let _ = shared.writer.set(std::thread::current().id());
    loop {
        let first = match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => {
                write(shared, rec, Vec::new());
                return;
            }
        };
        let mut batch = Vec::new();
        let mut acks = Vec::new();
        let mut stop = false;
        let mut next = first;
        while let Some(m) = next.take() {
            match m {
                Msg::Line(l) => batch.push(*l),
                Msg::Flush(ack) => acks.push(ack),
                Msg::Stop => stop = true,
            }
            if batch.len() >= shared.batch_size || stop || !acks.is_empty() {
                break;
            }
            next = rx.try_recv().ok();
        }
        write(shared, rec, batch);
        for a in acks {
            let _ = a.send(());
        }
        if stop {
            // Anything sent after Stop (by other threads, racing) is recorded too.
            let rest: Vec<Line> = rx
                .try_iter()
                .filter_map(|m| match m {
                    Msg::Line(l) => Some(*l),
                    _ => None,
                })
                .collect();
            write(shared, rec, rest);
            return;
        }
    }
}
