//! `tradetrail bench archive`

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use indicatif::ProgressBar;
use tradetrail_bench::archive::{ArchiveBenchOptions, ArchiveStep};

use super::archive::cli_error;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Records in the journal that is archived
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
    /// Records of synthetic archived history for the one-day window query (0: skip)
    #[arg(long, default_value_t = 5_000_000)]
    history_records: u64,
    /// Days that history spans (one partition each)
    #[arg(long, default_value_t = 365)]
    days: u64,
    /// Directory for scratch data, on the disk to measure (removed afterwards)
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// One JSON object per line
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let opts = ArchiveBenchOptions {
        records: args.records,
        history_records: args.history_records,
        days: args.days,
        dir: args.dir,
    };
    let mut out = std::io::stdout().lock();
    let json = args.json;
    let mut bar: Option<ProgressBar> = None;
    let mut print = |step: ArchiveStep| match step {
        ArchiveStep::HistoryStarted { total } => {
            bar = Some(super::progress_bar(total, "writing synthetic history"));
        }
        ArchiveStep::HistoryWritten(n) => {
            if let Some(pb) = &bar {
                pb.set_position(n);
            }
        }
        ArchiveStep::Figure(f) => {
            if let Some(pb) = bar.take() {
                pb.finish_and_clear();
            }
            if json {
                let _ = writeln!(out, "{}", serde_json::to_string(&f).unwrap_or_default());
            } else {
                let _ = writeln!(
                    out,
                    "{:<58} {:>14.1} {:<10} {}",
                    f.name, f.value, f.unit, f.note
                );
            }
        }
    };
    tradetrail_bench::archive::run(&opts, &mut print).map_err(|e| match e {
        tradetrail_bench::Error::Archive(e) => cli_error(e),
        e => e.into(),
    })
}
