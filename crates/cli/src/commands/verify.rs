//! `tradetrail verify`

use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

use std::io::Write;

use anyhow::Result;
use tradetrail_core::DataDir;
use tradetrail_journal::{verify, FsStorage, Storage};

use crate::exit::{Exit, TAMPERED};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one JSON object: {"ok","records","first_bad_seq","reason",...}
    #[arg(long)]
    json: bool,
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let dir = DataDir::resolve(data);
    let jdir = dir.journal();
    let total: u64 = tradetrail_journal::list_segments(&FsStorage, &jdir)
        .map(|segs| {
            segs.iter()
                .map(|s| FsStorage.len(&s.path).unwrap_or(0))
                .sum()
        })
        .unwrap_or(0);
    let pb = super::progress_bar(total, "verifying");
    if args.json || !std::io::stderr().is_terminal() {
        pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let t0 = Instant::now();
    let report = verify(&FsStorage, &jdir, &|bytes| pb.set_position(bytes))?;
    let secs = t0.elapsed().as_secs_f64();
    pb.finish_and_clear();
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&report)?)?;
    } else {
        for w in &report.warnings {
            eprintln!("warning: {w}");
        }
        if report.ok {
            writeln!(
                out,
                "ok: {} records in {} segment(s), {} verified in {:.2} s ({:.0} records/s)",
                report.records,
                report.segments,
                super::human_bytes(report.bytes),
                secs,
                report.records as f64 / secs.max(1e-9)
            )?;
            if let Some(h) = report.head_hash {
                writeln!(out, "head: seq {} hash {h}", report.records - 1)?;
            }
        } else {
            writeln!(
                out,
                "FAILED: first bad seq {}: {}",
                report
                    .first_bad_seq
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "?".into()),
                report.reason.as_deref().unwrap_or("unknown")
            )?;
            writeln!(out, "{} records before it are intact", report.records)?;
        }
    }
    if report.ok {
        Ok(())
    } else {
        Err(Exit(TAMPERED).into())
    }
}
