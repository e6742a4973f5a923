//! `tradetrail bench nats`: JetStream → journal beside the stream's own rate.

use std::path::PathBuf;

use anyhow::Result;
use tradetrail_bench::nats::{BenchLine, BenchOptions};

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
    let opts = BenchOptions {
        urls: a.url,
        events: a.events,
        rate: a.rate,
        seconds: a.seconds,
        max_in_flight: a.max_in_flight,
        dir: a.dir,
    };
    println!(
        "{:<72} {:>12} {:>28}  note",
        "what", "events/s", "p50 / p99 / max (µs)"
    );
    tradetrail_bench::nats::run(&opts, |l: &BenchLine| {
        let rate = l
            .per_sec
            .map(|r| format!("{r:.0}"))
            .unwrap_or_else(|| "-".into());
        let lat = l
            .latency_us
            .map(|(a, b, c)| format!("{a:.0} / {b:.0} / {c:.0}"))
            .unwrap_or_else(|| "-".into());
        println!("{:<72} {:>12} {:>28}  {}", l.what, rate, lat, l.note);
    })?;
    Ok(())
}
