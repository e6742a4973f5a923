//! `tradetrail bench http`: events in over loopback HTTP, beside the library's own
//! append in the same run; afterwards every receipt is checked against the journal.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use tradetrail_bench::http::{run_http_bench, HttpBenchLine, HttpBenchOptions};
use tradetrail_journal::Durability;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seconds for each run
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Concurrent clients, each with its own connection (comma separated)
    #[arg(long, value_delimiter = ',', default_values_t = vec![1usize, 8, 64])]
    clients: Vec<usize>,
    /// Events per request (comma separated)
    #[arg(long, value_delimiter = ',', default_values_t = vec![1usize, 100])]
    batches: Vec<usize>,
    /// Durabilities to measure (comma separated: os, fsync)
    #[arg(long, value_delimiter = ',', default_values_t = vec!["os".to_string(), "fsync".to_string()])]
    durability: Vec<String>,
    /// Bytes per record line
    #[arg(long, default_value_t = 350)]
    record_size: usize,
    /// Directory for the scratch data directory, on the disk to measure (removed afterwards)
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// Print one JSON object per line instead of a table
    #[arg(long)]
    json: bool,
}

fn fmt_us(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.1}")).unwrap_or_else(|| "-".into())
}

pub fn run(args: Args) -> Result<()> {
    let mut durabilities = Vec::new();
    for d in &args.durability {
        durabilities.push(match d.as_str() {
            "os" => Durability::Os,
            "fsync" => Durability::Fsync,
            other => {
                return Err(anyhow::Error::new(crate::exit::BadInput(format!(
                    "--durability: unknown durability {other:?}; use os or fsync"
                ))))
            }
        });
    }
    if args.clients.contains(&0) || args.batches.contains(&0) {
        return Err(anyhow::Error::new(crate::exit::BadInput(
            "--clients and --batches: every value must be at least 1".into(),
        )));
    }
    if !args.seconds.is_finite() || args.seconds <= 0.0 {
        return Err(anyhow::Error::new(crate::exit::BadInput(
            "--seconds: must be more than 0".into(),
        )));
    }
    let opts = HttpBenchOptions {
        seconds: args.seconds,
        clients: args.clients,
        batches: args.batches,
        durabilities,
        record_size: args.record_size,
        dir: args.dir,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let json = args.json;
    if !json {
        writeln!(
            out,
            "tradetrail bench http: {} B records over loopback; latency in us per request (or library call); \"of library\" = HTTP events/s over the library's at the same durability and batch",
            opts.record_size
        )?;
        writeln!(
            out,
            "{:<8} {:<44} {:>9} {:>12} {:>9} {:>9} {:>9} {:>10}",
            "group", "what", "events", "per second", "p50", "p99", "p99.9", "of library"
        )?;
    }
    let mut print = |l: &HttpBenchLine| {
        if json {
            let _ = writeln!(out, "{}", serde_json::to_string(l).unwrap_or_default());
        } else {
            let _ = writeln!(
                out,
                "{:<8} {:<44} {:>9} {:>12.0} {:>9} {:>9} {:>9} {:>10}",
                l.group,
                l.what,
                l.events,
                l.per_second,
                fmt_us(l.p50_us),
                fmt_us(l.p99_us),
                fmt_us(l.p999_us),
                l.of_library
                    .map(|r| format!("{:.0}%", r * 100.0))
                    .unwrap_or_else(|| "-".into()),
            );
        }
        let _ = out.flush();
    };
    let checked = run_http_bench(&opts, &mut print)?;
    if !json {
        println!("afterwards: the journal verifies and holds all {checked} acknowledged events (each receipt's seq hashes to its receipt)");
    }
    Ok(())
}
