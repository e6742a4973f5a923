//! `tradetrail bench`

use std::path::PathBuf;

use std::io::Write;

use anyhow::Result;
use tradetrail_bench::journal::{run_bench, BenchLine, BenchOptions};

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    what: Option<What>,
    /// Events for each saturation run acknowledged when written to the OS
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Producer thread counts for the saturation runs (comma separated)
    #[arg(long, value_delimiter = ',', default_values_t = vec![1usize, 4])]
    threads: Vec<usize>,
    /// Seconds for each fsync and steady-rate run
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Bytes per record line
    #[arg(long, default_value_t = 350)]
    record_size: usize,
    /// Directory for scratch journals, on the disk to measure (removed afterwards)
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// Also build a journal of this many records and time opening it (e.g. 10000000)
    #[arg(long, value_name = "N")]
    open_records: Option<u64>,
    /// Print one JSON object per line instead of a table
    #[arg(long)]
    json: bool,
}

/// Other figures than the journal's own.
#[derive(Debug, clap::Subcommand)]
enum What {
    /// Queries, trails, counts and index build on a demo journal, beside their targets
    Query(super::bench_query::Args),
    /// Ingest over loopback HTTP (1, 8, 64 clients; batch 1 and 100) beside the library's own append
    Http(super::bench_http::Args),
    /// Archive throughput beside reading the same JSONL, Parquet vs JSONL size, and a one-day window over a year of archive
    Archive(super::bench_archive::Args),
    /// Validation and normalization of one event per thread, beside the memory floor
    Validate(ValidateArgs),
    /// NATS JetStream → journal beside the stream's own accept rate; latency at a steady rate
    Nats(super::bench_nats::Args),
    /// The PostgreSQL mirror (initial sync, verify, lag, append beside it) beside a bare COPY of the same rows
    Pg(super::bench_pg::Args),
    /// Steady fsync'd latency with overlapping syncs and with blocks written in advance, beside the journal and the bare fdatasync
    Sync(SyncArgs),
}

#[derive(Debug, clap::Args)]
struct SyncArgs {
    /// Events per second of the steady runs
    #[arg(long, default_value_t = 10_000.0)]
    rate: f64,
    /// Producer threads of the steady runs
    #[arg(long, default_value_t = 32)]
    producers: usize,
    /// Seconds of each run
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Bytes per record line
    #[arg(long, default_value_t = 350)]
    record_size: usize,
    /// Directory for scratch files, on the disk to measure (removed afterwards)
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// Print one JSON object per line instead of a table
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct ValidateArgs {
    /// Events to validate for each line
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Bytes per event (as the producer sends it)
    #[arg(long, default_value_t = 350)]
    event_size: usize,
    /// Print one JSON object per line instead of a table
    #[arg(long)]
    json: bool,
}

fn fmt_us(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.1}")).unwrap_or_else(|| "-".into())
}

pub fn run(args: Args) -> Result<()> {
    match args.what {
        Some(What::Query(a)) => return super::bench_query::run(a),
        Some(What::Http(a)) => return super::bench_http::run(a),
        Some(What::Archive(a)) => return super::bench_archive::run(a),
        Some(What::Nats(a)) => return super::bench_nats::run(a),
        Some(What::Pg(a)) => return super::bench_pg::run(a),
        Some(What::Sync(a)) => {
            if !(a.rate > 0.0 && a.rate.is_finite()) {
                return Err(crate::exit::BadInput(format!(
                    "--rate: {} is not a positive number of events per second",
                    a.rate
                ))
                .into());
            }
            let opts = tradetrail_bench::sync::SyncOptions {
                dir: a.dir,
                rate: a.rate,
                producers: a.producers.max(1),
                seconds: a.seconds,
                record_size: a.record_size,
            };
            let mut out = Table::new(
                a.json,
                &format!(
                    "{} B records, fsync'd; latency in us (due to acknowledged)",
                    opts.record_size
                ),
            )?;
            tradetrail_bench::sync::run_sync_bench(&opts, &mut |l| out.line(l))?;
            return Ok(());
        }
        Some(What::Validate(a)) => {
            let lines = tradetrail_bench::validate::model_lines(a.event_size, a.events);
            let mut out = Table::new(a.json, "validation per thread, on one core")?;
            for l in &lines {
                out.line(l);
            }
            return Ok(());
        }
        None => {}
    }
    let opts = BenchOptions {
        events: args.events,
        threads: args.threads,
        record_size: args.record_size,
        seconds: args.seconds,
        dir: args.dir,
        open_records: args.open_records,
    };
    let mut out = Table::new(
        args.json,
        &format!(
            "{} B records; latency in us (append to acknowledge)",
            opts.record_size
        ),
    )?;
    run_bench(&opts, &mut |l| out.line(l))?;
    Ok(())
}

/// The bench's output: a table (or JSON Lines), one line per measurement as it ends.
struct Table {
    out: std::io::StdoutLock<'static>,
    json: bool,
}

impl Table {
    fn new(json: bool, title: &str) -> Result<Table> {
        let mut out = std::io::stdout().lock();
        if !json {
            writeln!(
                out,
                "tradetrail bench: {title}; the floor is this machine, measured now"
            )?;
            writeln!(
                out,
                "{:<13} {:<58} {:>10} {:>13} {:>9} {:>9} {:>9}",
                "group", "what", "events", "per second", "p50", "p99", "p99.9"
            )?;
        }
        Ok(Table { out, json })
    }

    /// Prints one line; a closed pipe stops the printing, not the measurement.
    fn line(&mut self, l: &BenchLine) {
        let out = &mut self.out;
        if self.json {
            let _ = writeln!(out, "{}", serde_json::to_string(l).unwrap_or_default());
        } else {
            let _ = writeln!(
                out,
                "{:<13} {:<58} {:>10} {:>13.0} {:>9} {:>9} {:>9}",
                l.group,
                l.name,
                l.events,
                l.per_sec,
                fmt_us(l.p50_us),
                fmt_us(l.p99_us),
                fmt_us(l.p999_us)
            );
            if !l.note.is_empty() {
                let _ = writeln!(out, "{:<13} -> {}", "", l.note);
            }
        }
    }
}
