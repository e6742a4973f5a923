//! Ingest from NATS JetStream into a tradetrail journal, and publish to it.
//!
//! [`run`] is a durable pull consumer with explicit acks. It takes what the server
//! has delivered (at most `max_in_flight` unacknowledged messages, enforced by the
//! server through the consumer's `max_ack_pending`), validates every message
//! ([`tradetrail_model::normalize`], the same validation as `tradetrail append`),
//! appends the valid ones as one batch through the [`Recorder`] and waits until the
//! journal acknowledges them under their durability policy; only then is each message
//! acknowledged to NATS. So:
//!
//! - a message is never acknowledged before its event is journaled; if the recorder
//!   dies, the server delivers the unacknowledged messages again;
//! - a redelivered message is recorded once: its `event_id` (required, and sent by
//!   producers as `Nats-Msg-Id` too) deduplicates it, and a repeat with the same
//!   body is a success (the original receipt);
//! - a message that cannot be recorded — it fails validation, lacks an `event_id`, or
//!   reuses an `event_id` with another body — is published unchanged to the
//!   dead-letter subject (with headers naming the reason, the original subject and the
//!   stream sequence), and an `ingest.rejected` record naming it is appended; it is
//!   acknowledged only after both. The record's `event_id` is a function of the stream
//!   and the sequence, so a redelivered bad message is recorded once too.
//!
//! The producer side, [`publish_event`], validates an event the same way before it
//! publishes it, with `Nats-Msg-Id: <event_id>` (the stream deduplicates within its
//! duplicate window, the journal for ever).

mod error;
pub mod server;
pub mod subject;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer::pull, consumer::PullConsumer};
use async_nats::HeaderMap;
use bytes::Bytes;
use futures_util::{FutureExt, StreamExt};
use sha2::{Digest, Sha256};
use tradetrail_core::Recorder;
use tradetrail_journal::{Durability, Entry, Receipt};
use tradetrail_model::Event;

pub use error::{Error, Result};

/// The record type written for each message that went to the dead-letter subject.
pub const REJECTED_TYPE: &str = "ingest.rejected";
/// The `source` of `ingest.rejected` records.
pub const REJECTED_SOURCE: &str = "tradetrail-ingest";
/// Dead-letter header: why the message was not recorded.
pub const HEADER_REASON: &str = "Tradetrail-Reason";
/// Dead-letter header: the subject the message was published to.
pub const HEADER_SUBJECT: &str = "Tradetrail-Subject";
/// Dead-letter header: the stream the message came from.
pub const HEADER_STREAM: &str = "Tradetrail-Stream";
/// Dead-letter header: the message's sequence in that stream.
pub const HEADER_STREAM_SEQ: &str = "Tradetrail-Stream-Seq";
/// Bodies up to this size are kept in the `ingest.rejected` record (a longer one is
/// named by its SHA-256 alone; the dead letter holds it whole).
pub const MAX_BODY_IN_RECORD: usize = 16 * 1024;

/// What [`run`] consumes and how.
#[derive(Debug, Clone)]
pub struct NatsOptions {
    /// NATS servers (`nats://host:port`); the client moves between them.
    pub urls: Vec<String>,
    /// The JetStream stream.
    pub stream: String,
    /// The durable consumer's name (its position survives restarts).
    pub consumer: String,
    /// The stream's subjects when it is created (`create_stream`); empty: `<stream
    /// in lowercase>.>`.
    pub subjects: Vec<String>,
    /// Where messages that cannot be recorded go; `None`: `deadletter.<stream>`.
    pub dead_letter: Option<String>,
    /// At most this many messages delivered and not yet acknowledged (the consumer's
    /// `max_ack_pending`) and per batch.
    pub max_in_flight: usize,
    /// Create the stream (and a `<stream>_DEAD` stream for dead letters) when missing.
    pub create_stream: bool,
    /// How long the server waits for an ack before delivering a message again (set
    /// when the consumer is created).
    pub ack_wait: Duration,
    /// Override the configured durability for every event.
    pub durability: Option<Durability>,
    /// Stop once the consumer has nothing pending and nothing unacknowledged.
    pub stop_when_drained: bool,
    /// How often [`run`] hands a [`Progress`] to its callback.
    pub progress_every: Duration,
    /// Replica mode: the journal's records are a function of the stream alone (see
    /// [`run`]), so that recorders initialised alike and fed the same stream hold the
    /// same bytes.
    pub replica: bool,
    /// Replica mode: a signed checkpoint right after the record of every message
    /// whose stream sequence is a multiple of this (0: none). Its `journal.checkpoint`
    /// record carries that message's stream time, so replicas with the same key sign
    /// and journal byte-identical checkpoints at the same tree sizes.
    pub checkpoint_every: u64,
}

impl NatsOptions {
    /// Options with the defaults for everything but the servers, stream and consumer.
    pub fn new(urls: Vec<String>, stream: &str, consumer: &str) -> NatsOptions {
        NatsOptions {
            urls,
            stream: stream.to_owned(),
            consumer: consumer.to_owned(),
            subjects: Vec::new(),
            dead_letter: None,
            max_in_flight: 4096,
            create_stream: false,
            ack_wait: Duration::from_secs(30),
            durability: None,
            stop_when_drained: false,
            progress_every: Duration::from_secs(5),
            replica: false,
            checkpoint_every: 0,
        }
    }

    /// The stream's subjects as created.
    pub fn stream_subjects(&self) -> Vec<String> {
        if self.subjects.is_empty() {
            vec![format!("{}.>", self.stream.to_ascii_lowercase())]
        } else {
            self.subjects.clone()
        }
    }

    /// The dead-letter subject.
    pub fn dead_letter_subject(&self) -> String {
        self.dead_letter
            .clone()
            .unwrap_or_else(|| format!("deadletter.{}", self.stream))
    }

    fn check(&self) -> Result<()> {
        let bad = |field, reason: String| Err(Error::Options { field, reason });
        if self.urls.is_empty() {
            return bad("--url", "give at least one nats://host:port".into());
        }
        if self.stream.is_empty() || self.stream.contains(['.', ' ', '*', '>', '\t']) {
            return bad(
                "--stream",
                format!(
                    "{:?} is not a stream name (no dots, spaces or wildcards)",
                    self.stream
                ),
            );
        }
        if self.consumer.is_empty() || self.consumer.contains(['.', ' ', '*', '>', '\t']) {
            return bad(
                "--consumer",
                format!(
                    "{:?} is not a consumer name (no dots, spaces or wildcards)",
                    self.consumer
                ),
            );
        }
        if self.max_in_flight == 0 {
            return bad("--max-in-flight", "must be at least 1".into());
        }
        if self.checkpoint_every > 0 && !self.replica {
            return bad(
                "--checkpoint-every",
                "only with --replica (elsewhere [checkpoints] in tradetrail.toml says when checkpoints are taken)".into(),
            );
        }
        let dead = self.dead_letter_subject();
        if !subject::is_literal(&dead) {
            return bad(
                "--dead-letter",
                format!("{dead:?} is not a literal subject (no wildcards, no empty tokens)"),
            );
        }
        Ok(())
    }
}

/// Counters of a running ingest, shared with whoever shows them (the CLI's progress
/// line, a server's metrics).
#[derive(Debug, Default)]
pub struct Metrics {
    received: AtomicU64,
    recorded: AtomicU64,
    duplicates: AtomicU64,
    rejected: AtomicU64,
    acked: AtomicU64,
    batches: AtomicU64,
    lag: AtomicU64,
    errors: AtomicU64,
    latencies: Mutex<Option<Vec<Latency>>>,
}

/// One journaled message's latency, in ns from its stream timestamp (the moment the
/// stream stored it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latency {
    /// Until the recorder had it in hand (NATS's delivery, and any wait for the batch
    /// before it).
    pub delivered: u64,
    /// Until the journal acknowledged its event under its durability.
    pub journaled: u64,
}

/// A snapshot of [`Metrics`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Messages taken from the stream (redeliveries counted again).
    pub received: u64,
    /// Events newly written to the journal.
    pub recorded: u64,
    /// Messages whose event was already in the journal (a redelivery): acked, nothing written.
    pub duplicates: u64,
    /// Messages sent to the dead-letter subject (each with an `ingest.rejected` record).
    pub rejected: u64,
    /// Messages acknowledged to NATS.
    pub acked: u64,
    /// Batches journaled.
    pub batches: u64,
    /// The consumer's `num_pending` when last asked: messages in the stream not yet
    /// delivered to it.
    pub lag: u64,
    /// NATS errors met and survived (disconnects, failed pulls or acks).
    pub errors: u64,
}

impl tradetrail_core::Component for Metrics {
    fn name(&self) -> &'static str {
        "ingest"
    }

    fn report(&self, _journal_records: u64) -> tradetrail_core::ComponentReport {
        use tradetrail_core::Gauge;
        let s = self.snapshot();
        tradetrail_core::ComponentReport {
            healthy: true,
            detail: format!(
                "{} recorded, {} duplicates, {} rejected, {} acked, {} pending in the stream, {} errors survived",
                s.recorded, s.duplicates, s.rejected, s.acked, s.lag, s.errors
            ),
            gauges: vec![
                Gauge::count("received_total", "Messages taken from the stream (redeliveries again).", s.received),
                Gauge::count("recorded_total", "Events from the stream newly written to the journal.", s.recorded),
                Gauge::count("duplicates_total", "Redelivered messages whose event was already recorded.", s.duplicates),
                Gauge::count("rejected_total", "Messages sent to the dead-letter subject.", s.rejected),
                Gauge::count("acked_total", "Messages acknowledged to the stream.", s.acked),
                Gauge::count("errors_total", "Stream errors met and survived.", s.errors),
                Gauge::level("lag_messages", "Messages in the stream not yet delivered to the consumer.", s.lag as f64),
            ],
        }
    }
}

impl Metrics {
    /// The counters now.
    pub fn snapshot(&self) -> Snapshot {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Snapshot {
            received: g(&self.received),
            recorded: g(&self.recorded),
            duplicates: g(&self.duplicates),
            rejected: g(&self.rejected),
            acked: g(&self.acked),
            batches: g(&self.batches),
            lag: g(&self.lag),
            errors: g(&self.errors),
        }
    }

    /// From now on, keep each journaled message's [`Latency`] for
    /// [`Metrics::take_latencies`].
    pub fn keep_latencies(&self) {
        if let Ok(mut l) = self.latencies.lock() {
            *l = Some(Vec::new());
        }
    }

    /// The latencies kept since [`Metrics::keep_latencies`] (and stop keeping them).
    pub fn take_latencies(&self) -> Vec<Latency> {
        self.latencies
            .lock()
            .ok()
            .and_then(|mut l| l.take())
            .unwrap_or_default()
    }

    fn add(a: &AtomicU64, n: usize) {
        a.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// What the progress callback gets: the counters, and the rate since the last call.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// The counters.
    pub snapshot: Snapshot,
    /// Events recorded per second since the previous progress.
    pub rate: f64,
}

impl std::fmt::Display for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.snapshot;
        write!(
            f,
            "ingest: recorded={} duplicates={} rejected={} acked={} lag={} rate={:.0}/s errors={}",
            s.recorded, s.duplicates, s.rejected, s.acked, s.lag, self.rate, s.errors
        )
    }
}

/// Connects to the servers (the client moves between them on a disconnect and keeps
/// trying for ever).
pub async fn connect(urls: &[String]) -> Result<async_nats::Client> {
    async_nats::ConnectOptions::new()
        .name("tradetrail-ingest")
        .max_reconnects(None)
        .connection_timeout(Duration::from_secs(5))
        .connect(urls)
        .await
        .map_err(|e| Error::Connect {
            urls: urls.join(","),
            reason: e.to_string(),
        })
}

/// Consumes `opts.stream` through the durable consumer `opts.consumer` into `rec`
/// until `stop` resolves (or, with `stop_when_drained`, nothing is left), as the crate
/// doc says. Messages delivered but not yet journaled when it stops are not
/// acknowledged: the server delivers them again. Returns the final counters.
///
/// A journal failure ends it with an error (nothing of that batch acknowledged); NATS
/// failures (a server restarting, a failed pull or ack) are counted in `errors` and
/// survived.
///
/// With `opts.replica`, what is journaled is a function of the stream alone: messages
/// are journaled strictly in stream order (the next one expected starts after the
/// consumer's ack floor; a message delivered out of order — a redelivery after a
/// crash comes late — is preceded by the missing ones, read from the stream by
/// sequence; one below the expected sequence is journaled already and only
/// acknowledged); each record's `ts_recorded` is its message's stream timestamp (held
/// up to the previous record's); and a bad message's `ingest.rejected` record takes
/// the message's place in that order. The journal must be written by this ingest alone
/// (no other door, no timer checkpoints).
pub async fn run(
    rec: Recorder,
    opts: &NatsOptions,
    metrics: Arc<Metrics>,
    stop: impl Future<Output = ()>,
    mut progress: impl FnMut(&Progress),
) -> Result<Snapshot> {
    opts.check()?;
    let client = connect(&opts.urls).await?;
    let js = jetstream::new(client.clone());
    let dead = opts.dead_letter_subject();
    tokio::pin!(stop);
    // A cluster electing a leader (a node just restarted) answers with errors for a
    // moment: a few tries before giving up.
    let mut tries = 0;
    let mut consumer = loop {
        let setup = async {
            prepare_stream(&js, opts, &dead).await?;
            consumer(&js, opts).await
        };
        match setup.await {
            Ok(c) => break c,
            Err(e @ Error::Options { .. }) => return Err(e),
            Err(e) if tries >= 5 => return Err(e),
            Err(e) => {
                tries += 1;
                eprintln!("ingest: {e}; trying again");
                tokio::select! {
                    _ = &mut stop => return Ok(metrics.snapshot()),
                    _ = tokio::time::sleep(Duration::from_millis(400)) => {}
                }
            }
        }
    };
    let next = if opts.replica {
        first_expected(&js, &mut consumer, opts).await?
    } else {
        0
    };
    let ctx = Ctx {
        os_only: os_only(&rec, opts.durability),
        rec,
        js: js.clone(),
        stream: opts.stream.clone(),
        dead,
        durability: opts.durability,
        metrics: metrics.clone(),
        replica: opts.replica.then(|| AtomicU64::new(next)),
        checkpoint_every: opts.checkpoint_every,
    };

    let mut tick = tokio::time::interval(Duration::from_millis(200));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_progress = (Instant::now(), 0u64);
    let mut report = |metrics: &Metrics, force: bool| {
        let now = Instant::now();
        let elapsed = now.duration_since(last_progress.0);
        if force || elapsed >= opts.progress_every {
            let snapshot = metrics.snapshot();
            let rate =
                (snapshot.recorded - last_progress.1) as f64 / elapsed.as_secs_f64().max(1e-9);
            progress(&Progress { snapshot, rate });
            last_progress = (now, snapshot.recorded);
        }
    };
    let batch_max = opts.max_in_flight;
    // The lag (and, with `stop_when_drained`, the end) comes from the consumer's info:
    // asked for in a task of its own, so that its round trip to the server never holds
    // up the messages waiting to be journaled.
    let (drained_tx, mut drained) = tokio::sync::watch::channel(None);
    let watcher = AbortOnDrop(tokio::spawn(watch_consumer(
        consumer.clone(),
        metrics.clone(),
        drained_tx,
    )));

    'connect: loop {
        let mut messages = match consumer
            .stream()
            .max_messages_per_batch(batch_max)
            .heartbeat(Duration::from_secs(2))
            .expires(Duration::from_secs(5))
            .messages()
            .await
        {
            Ok(m) => m,
            Err(e) => {
                Metrics::add(&metrics.errors, 1);
                eprintln!("ingest: pulling from {}: {e}; retrying", opts.stream);
                tokio::select! {
                    _ = &mut stop => break 'connect,
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
                if let Ok(c) = get_consumer(&js, opts).await {
                    consumer = c;
                }
                continue 'connect;
            }
        };
        loop {
            let first = tokio::select! {
                biased;
                _ = &mut stop => break 'connect,
                m = messages.next() => m,
                Ok(()) = drained.changed(), if opts.stop_when_drained => {
                    // Only an answer given after the last batch was acknowledged.
                    if *drained.borrow_and_update() == Some(metrics.batches.load(Ordering::Relaxed)) {
                        break 'connect;
                    }
                    continue;
                }
                _ = tick.tick() => {
                    report(&metrics, false);
                    continue;
                }
            };
            let mut batch = Vec::new();
            match first {
                None => continue 'connect,
                Some(Err(e)) => {
                    Metrics::add(&metrics.errors, 1);
                    eprintln!("ingest: {e}; going on");
                    use pull::MessagesErrorKind as K;
                    if matches!(e.kind(), K::ConsumerDeleted | K::NoResponders) {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        if let Ok(c) = get_consumer(&js, opts).await {
                            consumer = c;
                        }
                        continue 'connect;
                    }
                    continue;
                }
                Some(Ok(m)) => batch.push(m),
            }
            // Whatever else has arrived, up to the bound, without waiting.
            while batch.len() < batch_max {
                match messages.next().now_or_never() {
                    Some(Some(Ok(m))) => batch.push(m),
                    _ => break,
                }
            }
            let taken = now_ns();
            if ctx.replica.is_some() {
                ctx.process_in_order(batch).await?;
            } else {
                ctx.process(batch, taken).await?;
            }
            report(&metrics, false);
        }
    }
    drop(watcher);
    // Acks are sent by the client in the background: make sure they left.
    if client.flush().await.is_err() {
        Metrics::add(&metrics.errors, 1);
    }
    if let Ok(info) = consumer.info().await {
        metrics.lag.store(info.num_pending, Ordering::Relaxed);
    }
    report(&metrics, true);
    Ok(metrics.snapshot())
}

/// Every 200 ms: the consumer's lag into `metrics`, and, once nothing is pending and
/// nothing unacknowledged (every message the stream had when asked is journaled and
/// acknowledged), the number of batches journaled when that was asked into `drained`.
async fn watch_consumer(
    consumer: PullConsumer,
    metrics: Arc<Metrics>,
    drained: tokio::sync::watch::Sender<Option<u64>>,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let batches = metrics.batches.load(Ordering::Relaxed);
        if let Ok(info) = consumer.get_info().await {
            metrics.lag.store(info.num_pending, Ordering::Relaxed);
            if info.num_pending == 0 && info.num_ack_pending == 0 {
                drained.send_replace(Some(batches));
            }
        }
    }
}

/// A spawned task, aborted when this is dropped (however [`run`] ends).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Checks (or creates) the stream and the dead-letter stream.
async fn prepare_stream(js: &jetstream::Context, opts: &NatsOptions, dead: &str) -> Result<()> {
    let stream_err = |reason: String| Error::Stream {
        stream: opts.stream.clone(),
        reason,
    };
    let subjects = match js.get_stream(&opts.stream).await {
        Ok(mut s) => s
            .info()
            .await
            .map_err(|e| stream_err(e.to_string()))?
            .config
            .subjects
            .clone(),
        Err(e) if !opts.create_stream => {
            return Err(stream_err(format!(
                "{e} (create it, or give --create-stream to create it with subjects {})",
                opts.stream_subjects().join(",")
            )))
        }
        Err(_) => {
            let config = jetstream::stream::Config {
                name: opts.stream.clone(),
                subjects: opts.stream_subjects(),
                storage: jetstream::stream::StorageType::File,
                duplicate_window: Duration::from_secs(120),
                ..Default::default()
            };
            js.get_or_create_stream(config)
                .await
                .map_err(|e| stream_err(e.to_string()))?
                .cached_info()
                .config
                .subjects
                .clone()
        }
    };
    // A dead letter that lands in the stream it came from would be consumed again.
    if let Some(p) = subjects.iter().find(|p| subject::matches(p, dead)) {
        return Err(Error::Options {
            field: "--dead-letter",
            reason: format!(
                "{dead} is one of stream {}'s subjects ({p}), so dead letters would be \
                 ingested again; choose a subject outside it",
                opts.stream
            ),
        });
    }
    match js.stream_by_subject(dead).await {
        Ok(_) => Ok(()),
        Err(_) if opts.create_stream => {
            let config = jetstream::stream::Config {
                name: format!("{}_DEAD", opts.stream),
                subjects: vec![dead.to_owned()],
                storage: jetstream::stream::StorageType::File,
                duplicate_window: Duration::from_secs(120),
                ..Default::default()
            };
            js.get_or_create_stream(config)
                .await
                .map(|_| ())
                .map_err(|e| Error::DeadLetter {
                    subject: dead.to_owned(),
                    reason: format!("creating a stream for it: {e}"),
                })
        }
        Err(e) => Err(Error::DeadLetter {
            subject: dead.to_owned(),
            reason: format!(
                "no stream keeps it ({e}); create one, or give --create-stream to create {}_DEAD",
                opts.stream
            ),
        }),
    }
}

fn consumer_config(opts: &NatsOptions) -> pull::Config {
    pull::Config {
        durable_name: Some(opts.consumer.clone()),
        ack_policy: jetstream::consumer::AckPolicy::Explicit,
        ack_wait: opts.ack_wait,
        max_ack_pending: i64::try_from(opts.max_in_flight).unwrap_or(i64::MAX),
        deliver_policy: jetstream::consumer::DeliverPolicy::All,
        ..Default::default()
    }
}

async fn get_consumer(js: &jetstream::Context, opts: &NatsOptions) -> Result<PullConsumer> {
    let err = |reason: String| Error::Consumer {
        stream: opts.stream.clone(),
        consumer: opts.consumer.clone(),
        reason,
    };
    let stream = js
        .get_stream(&opts.stream)
        .await
        .map_err(|e| err(e.to_string()))?;
    stream
        .get_or_create_consumer(&opts.consumer, consumer_config(opts))
        .await
        .map_err(|e| err(e.to_string()))
}

async fn consumer(js: &jetstream::Context, opts: &NatsOptions) -> Result<PullConsumer> {
    let mut c = get_consumer(js, opts).await?;
    let info = c.info().await.map_err(|e| Error::Consumer {
        stream: opts.stream.clone(),
        consumer: opts.consumer.clone(),
        reason: e.to_string(),
    })?;
    if info.config.ack_policy != jetstream::consumer::AckPolicy::Explicit {
        return Err(Error::Consumer {
            stream: opts.stream.clone(),
            consumer: opts.consumer.clone(),
            reason: "its ack policy is not explicit: a message could be acknowledged before \
                     it is journaled; delete it and let ingest create it"
                .into(),
        });
    }
    Ok(c)
}

/// One delivered message, as the journal side needs it.
#[derive(Debug)]
struct Delivered {
    subject: String,
    stream_seq: u64,
    /// The stream's timestamp, ns since the epoch.
    published: i64,
    msg_id: Option<String>,
    headers: Option<HeaderMap>,
    payload: Bytes,
}

/// What became of a message.
#[derive(Debug, Clone)]
enum Outcome {
    Recorded(Receipt),
    Rejected(String),
}

struct Ctx {
    rec: Recorder,
    js: jetstream::Context,
    stream: String,
    dead: String,
    durability: Option<Durability>,
    metrics: Arc<Metrics>,
    /// Replica mode: the stream sequence to journal next (everything below it is
    /// journaled).
    replica: Option<AtomicU64>,
    /// See [`NatsOptions::checkpoint_every`].
    checkpoint_every: u64,
    /// Every event is acknowledged under `os` durability (see [`os_only`]).
    os_only: bool,
}

/// The largest batch journaled on the async task itself (when [`os_only`]): a few
/// hundred microseconds of work at most.
const INLINE_BATCH: usize = 256;

/// Whether every event `rec` journals with `durability` is acknowledged once written
/// to the OS (never waits for an fsync).
fn os_only(rec: &Recorder, durability: Option<Durability>) -> bool {
    match durability {
        Some(d) => d == Durability::Os,
        None => {
            let policy = &rec.config().durability;
            policy.fsync.is_empty() && policy.default == Durability::Os
        }
    }
}

/// Replica mode: where the journal resumes — after the consumer's ack floor (every
/// message up to it was acknowledged, so journaled), and not before the stream's first
/// message.
async fn first_expected(
    js: &jetstream::Context,
    consumer: &mut PullConsumer,
    opts: &NatsOptions,
) -> Result<u64> {
    let err = |reason: String| Error::Consumer {
        stream: opts.stream.clone(),
        consumer: opts.consumer.clone(),
        reason,
    };
    let floor = consumer
        .info()
        .await
        .map_err(|e| err(e.to_string()))?
        .ack_floor
        .stream_sequence;
    let first = js
        .get_stream(&opts.stream)
        .await
        .map_err(|e| err(e.to_string()))?
        .info()
        .await
        .map_err(|e| err(e.to_string()))?
        .state
        .first_sequence;
    Ok((floor + 1).max(first))
}

impl Ctx {
    /// Replica mode: journals a batch strictly in stream order (filling a gap from the
    /// stream), rejection records in their messages' places, every record at its
    /// message's stream time; then acks every message of the batch.
    async fn process_in_order(&self, batch: Vec<jetstream::Message>) -> Result<()> {
        let Some(next) = &self.replica else {
            return self.process(batch, now_ns()).await;
        };
        Metrics::add(&self.metrics.received, batch.len());
        let expected = next.load(Ordering::Acquire);
        let mut fresh: Vec<Delivered> = batch
            .iter()
            .map(|m| self.delivered(m))
            .filter(|d| d.stream_seq >= expected)
            .collect();
        fresh.sort_by_key(|d| d.stream_seq);
        fresh.dedup_by_key(|d| d.stream_seq);
        let below = batch.len() - fresh.len();
        // Messages missing before the first delivered one (delivered to a recorder that
        // died, to come again only after the ack wait) are read from the stream.
        let mut ordered = Vec::with_capacity(fresh.len());
        let mut want = expected;
        for d in fresh {
            while want < d.stream_seq {
                match self.fetch(want).await {
                    Ok(Some(f)) => ordered.push(f),
                    Ok(None) => {}
                    Err(e) => {
                        Metrics::add(&self.metrics.errors, 1);
                        eprintln!(
                            "ingest: {e}; the batch is not acknowledged and will be delivered again"
                        );
                        return Ok(());
                    }
                }
                want += 1;
            }
            want = d.stream_seq + 1;
            ordered.push(d);
        }
        let rec = self.rec.clone();
        let durability = self.durability;
        let (ordered, checked) = tokio::task::spawn_blocking(move || {
            let checked = check_in_order(&rec, &ordered, durability);
            (ordered, checked)
        })
        .await
        .map_err(|e| Error::Task(e.to_string()))?;
        let checked = checked?;
        let rejected: Vec<(&Delivered, &str)> = ordered
            .iter()
            .zip(&checked)
            .filter_map(|(d, c)| c.as_ref().err().map(|r| (d, r.as_str())))
            .collect();
        if !rejected.is_empty() {
            if let Err(e) = self.dead_letters(&rejected).await {
                Metrics::add(&self.metrics.errors, 1);
                eprintln!("ingest: {e}; the batch is not acknowledged and will be delivered again");
                return Ok(());
            }
        }
        let n_rejected = rejected.len();
        // Cut at the checkpoint points: each run of entries ends with the message after
        // which a checkpoint is due (if one is), stamped with its stream time.
        let every = self.checkpoint_every;
        let mut runs: Vec<(Vec<Entry>, Option<i64>)> = vec![(Vec::new(), None)];
        for (d, c) in ordered.iter().zip(checked) {
            let entry = match c {
                Ok(e) => e,
                Err(reason) => self.rejection_entry(d, &reason)?,
            };
            if let Some(run) = runs.last_mut() {
                run.0.push(entry.with_ts_recorded(d.published));
                if every > 0 && d.stream_seq % every == 0 {
                    run.1 = Some(d.published);
                    runs.push((Vec::new(), None));
                }
            }
        }
        let rec = self.rec.clone();
        let receipts = tokio::task::spawn_blocking(move || record_runs(&rec, runs))
            .await
            .map_err(|e| Error::Task(e.to_string()))??;
        let dups = receipts.iter().filter(|r| r.duplicate).count();
        if let Some(last) = ordered.last() {
            next.store(last.stream_seq + 1, Ordering::Release);
        }
        let written = receipts.len() - dups;
        Metrics::add(&self.metrics.recorded, written.saturating_sub(n_rejected));
        Metrics::add(&self.metrics.duplicates, dups + below);
        Metrics::add(&self.metrics.rejected, n_rejected);
        Metrics::add(&self.metrics.batches, 1);
        let mut acked = 0;
        for m in &batch {
            if m.info().is_err() {
                // No stream sequence: cannot be placed; the server delivers it again.
                continue;
            }
            match m.ack().await {
                Ok(()) => acked += 1,
                Err(_) => Metrics::add(&self.metrics.errors, 1),
            }
        }
        Metrics::add(&self.metrics.acked, acked);
        Ok(())
    }

    /// Message `seq` of the stream, read by sequence; `None` when the stream no longer
    /// holds it (deleted, or aged out).
    async fn fetch(&self, seq: u64) -> Result<Option<Delivered>> {
        let err = |reason: String| Error::Stream {
            stream: self.stream.clone(),
            reason: format!("reading message {seq}: {reason}"),
        };
        let stream = self
            .js
            .get_stream(&self.stream)
            .await
            .map_err(|e| err(e.to_string()))?;
        match stream.get_raw_message(seq).await {
            Ok(m) => {
                let msg_id = m.headers.get("Nats-Msg-Id").map(|v| v.as_str().to_owned());
                Ok(Some(Delivered {
                    subject: m.subject.to_string(),
                    stream_seq: m.sequence,
                    published: i64::try_from(m.time.unix_timestamp_nanos()).unwrap_or(0),
                    msg_id,
                    headers: Some(m.headers),
                    payload: m.payload,
                }))
            }
            Err(e)
                if e.kind()
                    == async_nats::jetstream::stream::RawMessageErrorKind::NoMessageFound =>
            {
                Ok(None)
            }
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// Journals a batch, sends its dead letters, then acks every message.
    /// `taken`: when the batch was taken from the client (ns since the epoch).
    async fn process(&self, batch: Vec<jetstream::Message>, taken: i64) -> Result<()> {
        Metrics::add(&self.metrics.received, batch.len());
        let delivered: Vec<Delivered> = batch.iter().map(|m| self.delivered(m)).collect();
        let durability = self.durability;
        // A small batch under `os` durability is a write to the page cache: done here,
        // it spares two hand-offs between threads (to a blocking thread and back), each
        // a wait for a core on a busy machine. Anything that may wait for the disk, or
        // take long, goes to a blocking thread.
        let (delivered, outcomes) = if delivered.len() <= INLINE_BATCH && self.os_only {
            let outcomes = journal_batch(&self.rec, &delivered, durability);
            (delivered, outcomes)
        } else {
            let rec = self.rec.clone();
            tokio::task::spawn_blocking(move || {
                let outcomes = journal_batch(&rec, &delivered, durability);
                (delivered, outcomes)
            })
            .await
            .map_err(|e| Error::Task(e.to_string()))?
        };
        let outcomes = outcomes?;
        let now = now_ns();
        let mut rejected = Vec::new();
        let mut recorded = 0;
        let mut dups = 0;
        for (d, o) in delivered.iter().zip(&outcomes) {
            match o {
                Outcome::Recorded(r) if r.duplicate => dups += 1,
                Outcome::Recorded(_) => recorded += 1,
                Outcome::Rejected(reason) => rejected.push((d, reason.as_str())),
            }
        }
        if let Ok(mut l) = self.metrics.latencies.lock() {
            if let Some(l) = l.as_mut() {
                l.extend(delivered.iter().map(|d| Latency {
                    delivered: u64::try_from(taken - d.published).unwrap_or(0),
                    journaled: u64::try_from(now - d.published).unwrap_or(0),
                }));
            }
        }
        if !rejected.is_empty() {
            // Dead letters first (each waited for: the stream that keeps them has them),
            // then their records; a failure here acks nothing of the batch.
            if let Err(e) = self.dead_letters(&rejected).await {
                Metrics::add(&self.metrics.errors, 1);
                eprintln!("ingest: {e}; the batch is not acknowledged and will be delivered again");
                return Ok(());
            }
            let entries: Vec<Entry> = rejected
                .iter()
                .map(|(d, reason)| self.rejection_entry(d, reason))
                .collect::<Result<_>>()?;
            let rec = self.rec.clone();
            tokio::task::spawn_blocking(move || record_all(&rec, entries))
                .await
                .map_err(|e| Error::Task(e.to_string()))??;
        }
        Metrics::add(&self.metrics.recorded, recorded);
        Metrics::add(&self.metrics.duplicates, dups);
        Metrics::add(&self.metrics.rejected, rejected.len());
        Metrics::add(&self.metrics.batches, 1);
        let mut acked = 0;
        for m in &batch {
            match m.ack().await {
                Ok(()) => acked += 1,
                Err(_) => Metrics::add(&self.metrics.errors, 1),
            }
        }
        Metrics::add(&self.metrics.acked, acked);
        Ok(())
    }

    fn delivered(&self, m: &jetstream::Message) -> Delivered {
        let (stream_seq, published) = match m.info() {
            Ok(i) => (
                i.stream_sequence,
                i64::try_from(i.published.unix_timestamp_nanos()).unwrap_or(0),
            ),
            Err(_) => (0, 0),
        };
        let msg_id = m
            .headers
            .as_ref()
            .and_then(|h| h.get("Nats-Msg-Id"))
            .map(|v| v.as_str().to_owned());
        Delivered {
            subject: m.subject.to_string(),
            stream_seq,
            published,
            msg_id,
            headers: m.headers.clone(),
            payload: m.payload.clone(),
        }
    }

    async fn dead_letters(&self, rejected: &[(&Delivered, &str)]) -> Result<()> {
        let mut acks = Vec::with_capacity(rejected.len());
        for (d, reason) in rejected {
            let mut headers = d.headers.clone().unwrap_or_default();
            headers.insert(HEADER_REASON, header_value(reason).as_str());
            headers.insert(HEADER_SUBJECT, d.subject.as_str());
            headers.insert(HEADER_STREAM, self.stream.as_str());
            headers.insert(HEADER_STREAM_SEQ, d.stream_seq.to_string().as_str());
            // The dead-letter stream drops a repeat sent within its duplicate window.
            headers.insert(
                "Nats-Msg-Id",
                format!("{}:{}", self.stream, d.stream_seq).as_str(),
            );
            let ack = self
                .js
                .publish_with_headers(self.dead.clone(), headers, d.payload.clone())
                .await
                .map_err(|e| Error::Publish {
                    subject: self.dead.clone(),
                    reason: e.to_string(),
                })?;
            acks.push(ack);
        }
        for ack in acks {
            ack.await.map_err(|e| Error::Publish {
                subject: self.dead.clone(),
                reason: e.to_string(),
            })?;
        }
        Ok(())
    }

    /// The `ingest.rejected` record of a message: the same for every delivery of it.
    fn rejection_entry(&self, d: &Delivered, reason: &str) -> Result<Entry> {
        let mut ev = Event::new(
            REJECTED_TYPE,
            d.published.max(0),
            REJECTED_SOURCE,
            "service:tradetrail-ingest",
        )
        .with_event_id(rejection_id(&self.stream, d.stream_seq))
        .with_data("stream", self.stream.as_str())
        .with_data("stream_seq", d.stream_seq.to_string())
        .with_data("subject", d.subject.as_str())
        .with_data("reason", reason)
        .with_data("body_sha256", hex_sha256(&d.payload))
        .with_data("dead_letter_subject", self.dead.as_str());
        if let Ok(text) = std::str::from_utf8(&d.payload) {
            if !text.is_empty() && text.len() <= MAX_BODY_IN_RECORD {
                ev = ev.with_data("body", text);
            }
        }
        ev.validate()
            .map_err(|e| Error::Journal(tradetrail_core::Error::from(e)))?;
        Ok(self.rec.prepare(&ev, self.durability))
    }
}

/// Validates every message, appends the valid ones as one batch and waits for the
/// journal's acknowledgement; a message that cannot be recorded gets its reason.
fn journal_batch(
    rec: &Recorder,
    delivered: &[Delivered],
    durability: Option<Durability>,
) -> Result<Vec<Outcome>> {
    let mut outcomes: Vec<Option<Outcome>> = vec![None; delivered.len()];
    let mut entries = Vec::with_capacity(delivered.len());
    let mut index = Vec::with_capacity(delivered.len());
    for (i, d) in delivered.iter().enumerate() {
        match prepare(rec, d, durability) {
            Ok(e) => {
                entries.push(e);
                index.push(i);
            }
            Err(reason) => outcomes[i] = Some(Outcome::Rejected(reason)),
        }
    }
    // An event_id already recorded (or earlier in the batch) with another body is
    // taken out, with its reason, until the rest can be appended.
    loop {
        match rec.journal().check_repeats(&entries) {
            Ok(()) => break,
            Err(tradetrail_journal::Error::Conflict { seq, index: at }) => {
                let i = index.remove(at);
                entries.remove(at);
                outcomes[i] = Some(Outcome::Rejected(format!(
                    "event_id is already recorded at seq {seq} with a different body (a \
                     producer reused it for another event)"
                )));
            }
            Err(tradetrail_journal::Error::ConflictInBatch { first, index: at }) => {
                let i = index.remove(at);
                entries.remove(at);
                outcomes[i] = Some(Outcome::Rejected(format!(
                    "event_id is also used, with a different body, by stream seq {} (a \
                     producer reused it for another event)",
                    delivered[index[first]].stream_seq
                )));
            }
            Err(e) => return Err(Error::Journal(e.into())),
        }
    }
    let receipts = rec.record_batch(entries)?;
    for (i, r) in index.into_iter().zip(receipts) {
        outcomes[i] = Some(Outcome::Recorded(r));
    }
    outcomes
        .into_iter()
        .map(|o| o.ok_or_else(|| Error::Task("a message was left without an outcome".into())))
        .collect()
}

/// Replica mode: each message's entry, or why it cannot be recorded, in order; writes
/// nothing. A message whose `event_id` is recorded (or used earlier in the run) with
/// another body is refused, as in [`journal_batch`].
fn check_in_order(
    rec: &Recorder,
    delivered: &[Delivered],
    durability: Option<Durability>,
) -> Result<Vec<std::result::Result<Entry, String>>> {
    let mut out: Vec<std::result::Result<Entry, String>> = delivered
        .iter()
        .map(|d| prepare(rec, d, durability))
        .collect();
    loop {
        let (index, entries): (Vec<usize>, Vec<Entry>) = out
            .iter()
            .enumerate()
            .filter_map(|(i, o)| o.as_ref().ok().map(|e| (i, e.clone())))
            .unzip();
        match rec.journal().check_repeats(&entries) {
            Ok(()) => return Ok(out),
            Err(tradetrail_journal::Error::Conflict { seq, index: at }) => {
                out[index[at]] = Err(format!(
                    "event_id is already recorded at seq {seq} with a different body (a \
                     producer reused it for another event)"
                ));
            }
            Err(tradetrail_journal::Error::ConflictInBatch { first, index: at }) => {
                out[index[at]] = Err(format!(
                    "event_id is also used, with a different body, by stream seq {} (a \
                     producer reused it for another event)",
                    delivered[index[first]].stream_seq
                ));
            }
            Err(e) => return Err(Error::Journal(e.into())),
        }
    }
}

/// Appends entries, taking out those whose `event_id` is already recorded with another
/// body (an `ingest.rejected` record written before, under another reason text).
/// Records each run of entries; after a run that ends at a checkpoint point, signs a
/// checkpoint stamped with its time, unless one follows that record already (a
/// redelivery after a crash finds the journal as far as it got: the checkpoint is
/// taken when the crash came between the record and its checkpoint).
fn record_runs(rec: &Recorder, runs: Vec<(Vec<Entry>, Option<i64>)>) -> Result<Vec<Receipt>> {
    let mut out = Vec::new();
    for (entries, checkpoint_at) in runs {
        let n = entries.len();
        let receipts = record_all(rec, entries)?;
        let last = (receipts.len() == n).then(|| receipts.last()).flatten();
        if let (Some(at), Some(last)) = (checkpoint_at, last) {
            let written = rec
                .journal()
                .status()
                .map_err(|e| Error::Journal(e.into()))?
                .written;
            if written == last.seq + 1 {
                tradetrail_core::checkpoints::take_checkpoint_at(rec, Some(at))?;
            }
        }
        out.extend(receipts);
    }
    Ok(out)
}

fn record_all(rec: &Recorder, mut entries: Vec<Entry>) -> Result<Vec<Receipt>> {
    loop {
        match rec.journal().check_repeats(&entries) {
            Ok(()) => break,
            Err(
                tradetrail_journal::Error::Conflict { index, .. }
                | tradetrail_journal::Error::ConflictInBatch { index, .. },
            ) => {
                entries.remove(index);
            }
            Err(e) => return Err(Error::Journal(e.into())),
        }
    }
    Ok(rec.record_batch(entries)?)
}

/// One message's entry, or why it cannot be recorded.
fn prepare(
    rec: &Recorder,
    d: &Delivered,
    durability: Option<Durability>,
) -> std::result::Result<Entry, String> {
    let body = d.payload.trim_ascii();
    let n = tradetrail_model::normalize(body).map_err(|e| format!("invalid event: {e}"))?;
    let Some(id) = n.event_id() else {
        return Err(
            "event_id: required for ingest from a stream (redelivery is \
                    deduplicated by it); give every event a UUID event_id"
                .into(),
        );
    };
    if let Some(h) = &d.msg_id {
        if !h.eq_ignore_ascii_case(&id.to_string()) {
            return Err(format!(
                "the Nats-Msg-Id header {h:?} differs from the event_id {id}"
            ));
        }
    }
    Ok(rec.prepare_normalized(n, durability))
}

/// The `event_id` of the `ingest.rejected` record for message `seq` of `stream`: a
/// UUID (version 8) from the SHA-256 of both, so every delivery gives the same one.
pub fn rejection_id(stream: &str, seq: u64) -> uuid::Uuid {
    let digest = Sha256::digest(format!("tradetrail-ingest/{stream}/{seq}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

fn hex_sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A header value on one line.
fn header_value(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Validates `event` (one JSON object, as `tradetrail append` takes it) and publishes
/// it unchanged to `subject` with `Nats-Msg-Id: <event_id>`; an invalid event, or one
/// without `event_id`, is refused and nothing is published. Returns the server's
/// acknowledgement to wait for (await it to know the stream has the event; many can
/// be in flight at once).
pub async fn publish_event(
    js: &jetstream::Context,
    subject: &str,
    event: Bytes,
) -> Result<jetstream::context::PublishAckFuture> {
    let n = tradetrail_model::normalize(event.trim_ascii()).map_err(Error::Invalid)?;
    let id = n.event_id().ok_or(Error::MissingEventId)?;
    let mut headers = HeaderMap::new();
    headers.insert("Nats-Msg-Id", id.to_string().as_str());
    js.publish_with_headers(subject.to_owned(), headers, event)
        .await
        .map_err(|e| Error::Publish {
            subject: subject.to_owned(),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejection_ids_are_stable_uuids() {
        let a = rejection_id("AUDIT", 7);
        assert_eq!(a, rejection_id("AUDIT", 7));
        assert_ne!(a, rejection_id("AUDIT", 8));
        assert_ne!(a, rejection_id("AUDIT2", 7));
        assert_eq!(a.get_version_num(), 8);
    }

    #[test]
    fn only_an_all_os_policy_journals_on_the_task() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let d = tradetrail_core::DataDir::new(tmp.path().join("data"));
        tradetrail_core::Recorder::init(&d, tradetrail_core::InitOptions::default()).expect("init");
        let rec = tradetrail_store::Store::open(&d)
            .expect("open")
            .into_recorder();
        assert!(os_only(&rec, Some(Durability::Os)));
        assert!(!os_only(&rec, Some(Durability::Fsync)));
        // The default policy fsyncs some types: those batches must not block the task.
        assert!(!rec.config().durability.fsync.is_empty());
        assert!(!os_only(&rec, None));
    }

    #[test]
    fn options_are_checked() {
        let mut o = NatsOptions::new(vec!["nats://127.0.0.1:4222".into()], "AUDIT", "rec");
        assert!(o.check().is_ok());
        assert_eq!(o.dead_letter_subject(), "deadletter.AUDIT");
        assert_eq!(o.stream_subjects(), vec!["audit.>".to_string()]);
        o.dead_letter = Some("audit.*".into());
        assert!(matches!(
            o.check(),
            Err(Error::Options {
                field: "--dead-letter",
                ..
            })
        ));
        o.dead_letter = None;
        o.stream = "A.B".into();
        assert!(matches!(
            o.check(),
            Err(Error::Options {
                field: "--stream",
                ..
            })
        ));
    }
}
