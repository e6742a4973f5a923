//! `tradetrail bench nats`: JetStream → journal beside the stream's own rate.

use std::path::PathBuf;

use anyhow::{Context, Result};
use tradetrail_ingest::bench::{BenchLine, BenchOptions};
use tradetrail_ingest::server::NatsServer;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// NATS servers, comma-separated [default: a nats-server started for the run on loopback]
    #[arg(long, value_delimiter = ',', value_name = "URL[,URL...]")]
    url: Vec<String>,
    /// Events for the throughput runs
    #[arg(long, default_value_t = 200_000)]
    events: u64,
    /// Events per second for the latency runs
    #[arg(long, default_value_t = 10_000)]
    rate: u64,
    /// Seconds of each latency run
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Most messages unacknowledged (and the largest batch)
    #[arg(long, default_value_t = 4096)]
    max_in_flight: usize,
    /// Scratch directory (data directories and the started server's store; removed afterwards)
    #[arg(long, default_value = ".")]
    dir: PathBuf,
}

pub fn run(a: Args) -> Result<()> {
    let scratch = tempfile::Builder::new()
        .prefix("tradetrail-bench-nats")
        .tempdir_in(&a.dir)
        .context("making the scratch directory")?;
    // A server of our own when none is given.
    let server = if a.url.is_empty() {
        Some(NatsServer::start(scratch.path())?)
    } else {
        None
    };
    let urls = match &server {
        Some(s) => vec![s.url()],
        None => a.url,
    };
    let opts = BenchOptions {
        urls,
        events: a.events,
        rate: a.rate,
        seconds: a.seconds,
        max_in_flight: a.max_in_flight,
        dir: scratch.path().to_path_buf(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    println!(
        "{:<72} {:>12} {:>28}  note",
        "what", "events/s", "p50 / p99 / max (µs)"
    );
    runtime.block_on(tradetrail_ingest::bench::run(&opts, |l: &BenchLine| {
        let rate = l
            .per_sec
            .map(|r| format!("{r:.0}"))
            .unwrap_or_else(|| "-".into());
        let lat = l
            .latency_us
            .map(|(a, b, c)| format!("{a:.0} / {b:.0} / {c:.0}"))
            .unwrap_or_else(|| "-".into());
        println!("{:<72} {:>12} {:>28}  {}", l.what, rate, lat, l.note);
    }))?;
    drop(server);
    Ok(())
}
