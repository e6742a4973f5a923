//! `tradetrail bench query`: the investigation figures (docs/benchmarks.md) on a demo
//! journal built for the purpose, each printed beside its target (the measuring is
//! `tradetrail_bench::query`).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use tradetrail_bench::query::{QueryBenchOptions, QueryLine, QueryStep};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Events in the demo journal the queries run on
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Events in each append run (two without the index, two with it kept current beside)
    /// [default: the smaller of --events and 500,000]
    #[arg(long, value_name = "N")]
    append_events: Option<u64>,
    /// Trails to time (orders spread over the journal)
    #[arg(long, default_value_t = 200)]
    trails: usize,
    /// Directory for the scratch data directories (removed afterwards)
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Keep the scratch data directory (its path is printed) for a look afterwards
    #[arg(long)]
    keep: bool,
    /// Print one JSON object per line instead of a table
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let opts = QueryBenchOptions {
        events: args.events,
        append_events: args.append_events,
        trails: args.trails,
        dir: args.dir,
        keep: args.keep,
    };
    let json = args.json;
    let stdout = std::io::stdout();
    let say = |s: &str| {
        if !json {
            let _ = writeln!(stdout.lock(), "{s}");
        }
    };
    let line = |l: &QueryLine| {
        let mut out = stdout.lock();
        if json {
            let _ = writeln!(out, "{}", serde_json::to_string(l).unwrap_or_default());
        } else {
            let verdict = match l.ok {
                Some(true) => "ok",
                Some(false) => "MISSED",
                None => "",
            };
            let _ = writeln!(
                out,
                "{:<58} {:>22}   {:<16} {}",
                l.what, l.measured, l.target, verdict
            );
        }
    };
    tradetrail_bench::query::run(&opts, &mut |step| match step {
        QueryStep::Started { events, root } => {
            say(&format!(
                "tradetrail bench query: {events} demo events in {}",
                root.display()
            ));
            say(&format!(
                "{:<58} {:>22}   {:<16}",
                "what", "measured", "target"
            ));
        }
        QueryStep::Line(l) => line(&l),
        QueryStep::Kept(path) => say(&format!("kept {}", path.display())),
    })?;
    Ok(())
}
