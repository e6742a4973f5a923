//! `tradetrail bench pg`: the PostgreSQL mirror beside a bare binary COPY of the same
//! rows, on a throwaway cluster started for the run (the logic is in
//! `tradetrail_bench::pg`).

use std::path::PathBuf;

use anyhow::Result;
use tradetrail_bench::pg::{BenchLine, BenchOptions};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Records in the mirrored journal (and events in the append runs)
    #[arg(long, default_value_t = 200_000)]
    records: u64,
    /// Events per second for the lag run
    #[arg(long, default_value_t = 10_000)]
    rate: u64,
    /// Seconds of the lag run
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// The follower's seconds between passes (as `serve --pg-interval`)
    #[arg(long, default_value_t = 0.2)]
    interval: f64,
    /// Print one JSON object per line instead of a table
    #[arg(long)]
    json: bool,
    /// Scratch directory (data directories; removed afterwards)
    #[arg(long, default_value = ".")]
    dir: PathBuf,
}

pub fn run(a: Args) -> Result<()> {
    let follow = super::pg::follow_options(1, a.interval, "--interval")?;
    let opts = BenchOptions {
        records: a.records,
        rate: a.rate,
        seconds: a.seconds,
        interval: follow.interval,
        dir: a.dir,
    };
    if !a.json {
        println!(
            "{:<88} {:>12} {:>26}  note",
            "what", "records/s", "p50 / p99 / max (ms)"
        );
    }
    tradetrail_bench::pg::run(&opts, |l: &BenchLine| {
        if a.json {
            println!("{}", serde_json::to_string(l).unwrap_or_default());
            return;
        }
        let rate = l
            .per_sec
            .map(|r| tradetrail_query::numfmt::count(r.round() as u64))
            .unwrap_or_else(|| "-".into());
        let lat = l
            .latency_ms
            .map(|(a, b, c)| format!("{a:.0} / {b:.0} / {c:.0}"))
            .unwrap_or_else(|| "-".into());
        println!("{:<88} {:>12} {:>26}  {}", l.what, rate, lat, l.note);
    })?;
    Ok(())
}
