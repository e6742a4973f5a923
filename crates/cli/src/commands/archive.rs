//! `tradetrail archive`

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use tradetrail_archive::{archive, ArchiveOptions};
use tradetrail_core::DataDir;

use crate::exit::BadInput;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// zstd level for the Parquet files (1 fastest .. 22 smallest; on these records 1 is
    /// both faster and smaller than 3)
    #[arg(long, default_value_t = 1)]
    zstd_level: i32,
    /// Print one JSON object instead of a summary
    #[arg(long)]
    json: bool,
}

/// Maps the archive crate's errors onto the CLI's exit codes (bad input: 2).
pub fn cli_error(e: tradetrail_archive::Error) -> anyhow::Error {
    match e {
        tradetrail_archive::Error::BadInput(s) => BadInput(s).into(),
        tradetrail_archive::Error::Core(c) => c.into(),
        tradetrail_archive::Error::Journal(j) => j.into(),
        e => e.into(),
    }
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    let dir = DataDir::resolve(data);
    if !(1..=22).contains(&args.zstd_level) {
        return Err(BadInput(format!(
            "--zstd-level: {} is not between 1 and 22",
            args.zstd_level
        ))
        .into());
    }
    let opts = ArchiveOptions {
        zstd_level: args.zstd_level,
        ..ArchiveOptions::default()
    };
    let pb = super::progress_bar(0, "archiving");
    if args.json || !std::io::stderr().is_terminal() {
        pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let t0 = Instant::now();
    let report = archive(&dir, &opts, &mut |done, total| {
        pb.set_length(total);
        pb.set_position(done);
    })
    .map_err(cli_error)?;
    pb.finish_and_clear();
    let secs = t0.elapsed().as_secs_f64();
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&report)?)?;
        return Ok(());
    }
    if report.records == 0 {
        writeln!(
            out,
            "nothing to archive: {} sealed segment(s) already archived, archive ends at seq {}",
            report.already_archived, report.end_seq
        )?;
    } else {
        writeln!(
            out,
            "archived {} records from {} segment(s) into {} file(s) in {:.2} s ({:.0} records/s)",
            report.records,
            report.segments,
            report.files,
            secs,
            report.records as f64 / secs.max(1e-9)
        )?;
        writeln!(
            out,
            "size: {} of JSON Lines -> {} of Parquet ({:.1} B/record -> {:.1} B/record)",
            super::human_bytes(report.jsonl_bytes),
            super::human_bytes(report.parquet_bytes),
            report.jsonl_bytes as f64 / report.records as f64,
            report.parquet_bytes as f64 / report.records as f64
        )?;
        writeln!(
            out,
            "archive ends at seq {} (the active segment is archived once sealed)",
            report.end_seq
        )?;
    }
    if report.removed_temps > 0 {
        writeln!(
            out,
            "removed {} temporary file(s) of an interrupted run",
            report.removed_temps
        )?;
    }
    Ok(())
}
