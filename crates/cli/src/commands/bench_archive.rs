//! `tradetrail bench archive`

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use tradetrail_archive::bench::{
    bench_archive, pruned_window_count, synthetic_history, BenchFigure,
};

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
    let mut out = std::io::stdout().lock();
    let json = args.json;
    let mut print = |f: BenchFigure| {
        if json {
            let _ = writeln!(out, "{}", serde_json::to_string(&f).unwrap_or_default());
        } else {
            let _ = writeln!(
                out,
                "{:<58} {:>14.1} {:<10} {}",
                f.name, f.value, f.unit, f.note
            );
        }
    };
    let scratch = tempfile::Builder::new()
        .prefix("tradetrail-bench-archive")
        .tempdir_in(&args.dir)?;
    bench_archive(scratch.path(), args.records, &mut print).map_err(cli_error)?;
    if args.history_records == 0 {
        return Ok(());
    }
    let root = scratch.path().join("history");
    let pb = super::progress_bar(args.history_records, "writing synthetic history");
    let t = Instant::now();
    let files = synthetic_history(&root, args.history_records, args.days, &mut |n| {
        pb.set_position(n)
    })
    .map_err(cli_error)?;
    pb.finish_and_clear();
    let written = t.elapsed().as_secs_f64();
    let bytes: u64 = files
        .iter()
        .map(|(p, _, _)| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum();
    print(BenchFigure {
        name: format!(
            "synthetic history: {} records over {} days",
            args.history_records, args.days
        ),
        value: args.history_records as f64 / written,
        unit: "records/s",
        note: format!(
            "{} of Parquet, {:.1} B/record",
            super::human_bytes(bytes),
            bytes as f64 / args.history_records as f64
        ),
    });
    // A one-day window in the middle of the year.
    let (_, lo, _) = files[files.len() / 2];
    let (from, to) = (lo, lo + 86_400_000_000_000);
    let t = Instant::now();
    let (n, groups) = pruned_window_count(&files, from, to).map_err(cli_error)?;
    print(BenchFigure {
        name: "one-day window, parquet crate, pruned (count)".into(),
        value: t.elapsed().as_secs_f64() * 1000.0,
        unit: "ms",
        note: format!("{n} records in the window; {groups} row group(s) read"),
    });
    sql_window(&files, from, to, &mut print)?;
    Ok(())
}

#[cfg(feature = "sql")]
fn sql_window(
    files: &[(PathBuf, i64, i64)],
    from: i64,
    to: i64,
    print: &mut dyn FnMut(BenchFigure),
) -> Result<()> {
    let paths: Vec<PathBuf> = files.iter().map(|f| f.0.clone()).collect();
    let q = format!(
        "SELECT type, count(*) AS n FROM events WHERE ts_event >= to_timestamp_nanos({from}) AND ts_event < to_timestamp_nanos({to}) GROUP BY type"
    );
    let t = Instant::now();
    let batches = tradetrail_archive::run_sql_on_files(&paths, &q).map_err(cli_error)?;
    let n: usize = batches.iter().map(|b| b.num_rows()).sum();
    print(BenchFigure {
        name: "one-day window, `sql` (DataFusion), counts by type".into(),
        value: t.elapsed().as_secs_f64() * 1000.0,
        unit: "ms",
        note: format!(
            "{n} types; includes starting the engine and reading {} footers",
            files.len()
        ),
    });
    Ok(())
}

#[cfg(not(feature = "sql"))]
fn sql_window(
    _: &[(PathBuf, i64, i64)],
    _: i64,
    _: i64,
    print: &mut dyn FnMut(BenchFigure),
) -> Result<()> {
    print(BenchFigure {
        name: "one-day window, `sql`".into(),
        value: 0.0,
        unit: "-",
        note: "built without --features sql".into(),
    });
    Ok(())
}
