//! `tradetrail bench nats`: JetStream → journal throughput beside the stream's own
//! accept rate for the same events (the floor, measured in the same run), and the
//! publish → journal-acknowledged latency at a steady rate.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use bytes::Bytes;
use tradetrail_core::{DataDir, InitOptions, Recorder};
use tradetrail_journal::Durability;

use tradetrail_ingest::server::NatsServer;
use tradetrail_ingest::{Error, Metrics, NatsOptions, Result};

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// NATS servers; none: a nats-server started for the run on loopback.
    pub urls: Vec<String>,
    /// Events for the throughput run.
    pub events: u64,
    /// Events per second for the latency runs.
    pub rate: u64,
    /// Seconds of each latency run.
    pub seconds: f64,
    /// Largest batch / most unacknowledged messages.
    pub max_in_flight: usize,
    /// Where the scratch directory goes (the data directories and a started server's
    /// store; removed afterwards).
    pub dir: std::path::PathBuf,
}

/// One figure.
#[derive(Debug, Clone)]
pub struct BenchLine {
    /// What was measured.
    pub what: String,
    /// Events per second, when a rate.
    pub per_sec: Option<f64>,
    /// Latency percentiles in µs (p50, p99, max), when a latency.
    pub latency_us: Option<(f64, f64, f64)>,
    /// Extra words.
    pub note: String,
}

/// A realistic event (about 330 bytes) numbered `n`, with its own event_id.
pub fn bench_event(n: u64, ts: i64) -> String {
    let id = uuid::Uuid::from_u128(0x5eed_0000_0000_4000_8000_0000_0000_0000 | u128::from(n));
    format!(
        r#"{{"type":"order.submitted","ts_event":{ts},"source":"oms-{}","actor":"trader:T-{:02}","event_id":"{id}","trader_id":"T-{:02}","instrument_id":"AAPL.XNAS","entity":{{"kind":"order","id":"O-{n}"}},"data":{{"side":"buy","quantity":"100","order_type":"limit","price":"228.50","time_in_force":"day"}}}}"#,
        n % 4,
        n % 16,
        n % 16
    )
}

fn fresh_stream(tag: &str) -> (String, String) {
    let id = &uuid::Uuid::new_v4().simple().to_string()[..8];
    (
        format!("BENCH_{tag}_{id}").to_ascii_uppercase(),
        format!("bench{id}{tag}"),
    )
}

async fn make_stream(js: &jetstream::Context, name: &str, subject: &str) -> Result<()> {
    js.get_or_create_stream(jetstream::stream::Config {
        name: name.to_owned(),
        subjects: vec![format!("{subject}.>"), format!("dead{subject}")],
        storage: jetstream::stream::StorageType::File,
        ..Default::default()
    })
    .await
    .map(|_| ())
    .map_err(|e| Error::Stream {
        stream: name.to_owned(),
        reason: e.to_string(),
    })?;
    // Dead letters go to a stream of their own.
    js.get_or_create_stream(jetstream::stream::Config {
        name: format!("{name}_DEAD"),
        subjects: vec![format!("dl{subject}")],
        ..Default::default()
    })
    .await
    .map(|_| ())
    .map_err(|e| Error::Stream {
        stream: name.to_owned(),
        reason: e.to_string(),
    })
}

/// Publishes `events` pipelined (at most `window` unacknowledged), each validated by
/// [`tradetrail_ingest::publish_event`]; returns the seconds it took.
async fn publish_all(
    js: &jetstream::Context,
    subject: &str,
    events: &[Bytes],
    window: usize,
) -> Result<f64> {
    let t = Instant::now();
    let mut acks = std::collections::VecDeque::with_capacity(window);
    for (i, e) in events.iter().enumerate() {
        if acks.len() >= window {
            if let Some(a) = acks.pop_front() {
                wait_ack(a, subject).await?;
            }
        }
        acks.push_back(
            tradetrail_ingest::publish_event(js, &format!("{subject}.p{}", i % 4), e.clone())
                .await?,
        );
    }
    for a in acks {
        wait_ack(a, subject).await?;
    }
    Ok(t.elapsed().as_secs_f64())
}

async fn wait_ack(a: jetstream::context::PublishAckFuture, subject: &str) -> Result<()> {
    a.await.map(|_| ()).map_err(|e| Error::Publish {
        subject: subject.to_owned(),
        reason: e.to_string(),
    })
}

fn scratch_recorder(dir: &std::path::Path, name: &str) -> Result<Recorder> {
    let d = DataDir::new(dir.join(name));
    let _ = std::fs::remove_dir_all(d.root());
    Recorder::init(&d, InitOptions::default())?;
    let store = tradetrail_store::Store::open(&d).map_err(|e| Error::Task(e.to_string()))?;
    Ok(store.into_recorder())
}

/// Runs the benchmark against `opts.urls`, or a nats-server of its own when none is
/// given; each line is handed to `out` as soon as it is measured.
pub fn run(opts: &BenchOptions, out: impl FnMut(&BenchLine)) -> crate::Result<()> {
    let scratch = crate::scratch_dir(&opts.dir, "tradetrail-bench-nats")?;
    let server = if opts.urls.is_empty() {
        Some(NatsServer::start(scratch.path())?)
    } else {
        None
    };
    let urls = match &server {
        Some(s) => vec![s.url()],
        None => opts.urls.clone(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(crate::Error::Runtime)?;
    runtime.block_on(measure(opts, &urls, scratch.path(), out))?;
    drop(server);
    Ok(())
}

async fn measure(
    opts: &BenchOptions,
    urls: &[String],
    scratch: &std::path::Path,
    mut out: impl FnMut(&BenchLine),
) -> Result<()> {
    let client = tradetrail_ingest::connect(urls).await?;
    let js = jetstream::new(client.clone());
    let window = opts.max_in_flight.max(256);

    // 1. The floor: the stream alone accepting the events.
    let ts = 1_795_000_000_000_000_000i64;
    let events: Vec<Bytes> = (0..opts.events)
        .map(|n| Bytes::from(bench_event(n, ts + n as i64)))
        .collect();
    let (stream, subject) = fresh_stream("T");
    make_stream(&js, &stream, &subject).await?;
    let secs = publish_all(&js, &subject, &events, window).await?;
    let floor = opts.events as f64 / secs;
    out(&BenchLine {
        what: "publish to the stream alone (validated, Nats-Msg-Id, acks awaited)".into(),
        per_sec: Some(floor),
        latency_us: None,
        note: format!("{} events, window {window}", opts.events),
    });

    // 2. JetStream → journal, os durability.
    for durability in [Durability::Os, Durability::Fsync] {
        let rec = scratch_recorder(scratch, &format!("bench-nats-{durability:?}"))?;
        let mut o = NatsOptions::new(urls.to_vec(), &stream, &format!("rec{durability:?}"));
        o.max_in_flight = opts.max_in_flight;
        o.dead_letter = Some(format!("dl{subject}"));
        o.durability = Some(durability);
        o.progress_every = Duration::from_secs(3600);
        let metrics = Arc::new(Metrics::default());
        let done = Arc::new(AtomicBool::new(false));
        let t = Instant::now();
        let m = metrics.clone();
        let want = opts.events;
        let d2 = done.clone();
        let stop = async move {
            while m.snapshot().recorded + m.snapshot().duplicates < want {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            d2.store(true, Ordering::Relaxed);
        };
        let got = tradetrail_ingest::run(rec, &o, metrics.clone(), stop, |_| {}).await?;
        let secs = t.elapsed().as_secs_f64();
        let rate = got.recorded as f64 / secs;
        out(&BenchLine {
            what: format!(
                "stream → journal ({} durability)",
                durability_name(durability)
            ),
            per_sec: Some(rate),
            latency_us: None,
            note: format!(
                "{} events, {} batches; {:.0}% of the stream's own rate",
                got.recorded,
                got.batches,
                100.0 * rate / floor
            ),
        });
        if !done.load(Ordering::Relaxed) {
            return Err(Error::Task("the ingest stopped before every event".into()));
        }
        let _ = std::fs::remove_dir_all(scratch.join(format!("bench-nats-{durability:?}")));
    }

    // 3. Latency at a steady rate: publish while ingesting.
    for durability in [Durability::Os, Durability::Fsync] {
        let (stream, subject) = fresh_stream("L");
        make_stream(&js, &stream, &subject).await?;
        let rec = scratch_recorder(scratch, "bench-nats-latency")?;
        let mut o = NatsOptions::new(urls.to_vec(), &stream, "rec");
        o.max_in_flight = opts.max_in_flight;
        o.dead_letter = Some(format!("dl{subject}"));
        o.durability = Some(durability);
        o.progress_every = Duration::from_secs(3600);
        let metrics = Arc::new(Metrics::default());
        metrics.keep_latencies();
        let total = (opts.rate as f64 * opts.seconds) as u64;
        let m = metrics.clone();
        let stop = async move {
            while m.snapshot().recorded < total {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        };
        let js2 = js.clone();
        let rate = opts.rate.max(1);
        let subj = subject.clone();
        let publisher = tokio::spawn(async move {
            let t = Instant::now();
            let mut acks = Vec::new();
            for n in 0..total {
                // Steady: event n leaves at n / rate seconds.
                let at = Duration::from_secs_f64(n as f64 / rate as f64);
                if let Some(wait) = at.checked_sub(t.elapsed()) {
                    tokio::time::sleep(wait).await;
                }
                let ev = Bytes::from(bench_event(1_000_000_000 + n, ts));
                acks.push(tradetrail_ingest::publish_event(&js2, &format!("{subj}.p"), ev).await?);
                if acks.len() > 1024 {
                    for a in acks.drain(..) {
                        wait_ack(a, &subj).await?;
                    }
                }
            }
            for a in acks {
                wait_ack(a, &subj).await?;
            }
            Ok::<(), Error>(())
        });
        tradetrail_ingest::run(rec, &o, metrics.clone(), stop, |_| {}).await?;
        publisher.await.map_err(|e| Error::Task(e.to_string()))??;
        let lat = metrics.take_latencies();
        let journaled = percentiles(lat.iter().map(|l| l.journaled).collect());
        let delivered = percentiles(lat.iter().map(|l| l.delivered).collect());
        out(&BenchLine {
            what: format!(
                "publish → journal-acknowledged at {} events/s ({} durability)",
                opts.rate,
                durability_name(durability)
            ),
            per_sec: None,
            latency_us: Some(journaled),
            note: format!("{} events, from the stream's timestamp", lat.len()),
        });
        out(&BenchLine {
            what: "  of which: until the recorder had the message in hand".into(),
            per_sec: None,
            latency_us: Some(delivered),
            note: "NATS's delivery, and the wait for the batch before it".into(),
        });
        let _ = std::fs::remove_dir_all(scratch.join("bench-nats-latency"));
    }
    let _ = client.flush().await;
    Ok(())
}

/// p50, p99 and max of latencies in ns, in µs.
fn percentiles(mut ns: Vec<u64>) -> (f64, f64, f64) {
    ns.sort_unstable();
    let pct = |p: f64| -> f64 {
        if ns.is_empty() {
            return 0.0;
        }
        let i = ((ns.len() as f64 * p).ceil() as usize).clamp(1, ns.len()) - 1;
        ns[i] as f64 / 1000.0
    };
    (pct(0.50), pct(0.99), pct(1.0))
}

fn durability_name(d: Durability) -> &'static str {
    match d {
        Durability::Os => "os",
        Durability::Fsync => "fsync",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_taken_from_the_sorted_latencies() {
        let ns: Vec<u64> = (1..=100).rev().map(|i| i * 1000).collect();
        assert_eq!(percentiles(ns), (50.0, 99.0, 100.0));
        assert_eq!(percentiles(Vec::new()), (0.0, 0.0, 0.0));
    }
}
