//! `tradetrail demo`

use std::path::{Path, PathBuf};
use std::time::Instant;

use std::io::Write;

use anyhow::Result;
use tradetrail_core::{DataDir, InitOptions, Recorder, DATA_ENV};
use tradetrail_demo::{run_demo, DemoOptions};
use tradetrail_journal::{verify, FsStorage};

use crate::exit::{Exit, TAMPERED};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// About how many events to record
    #[arg(long, default_value_t = 100_000)]
    events: u64,
    /// Seed of the simulation: the same seed records the same events
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Also write a broker statement of the day (generic CSV) with planted discrepancies
    #[arg(long, value_name = "FILE")]
    statement: Option<PathBuf>,
}

/// Without `--data` or `$TRADETRAIL_DATA` the demo writes here, away from real data.
const DEMO_DIR: &str = "./tradetrail-demo";

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let dir = match (data, std::env::var_os(DATA_ENV)) {
        (None, None) => DataDir::new(PathBuf::from(DEMO_DIR)),
        _ => DataDir::resolve(data),
    };
    let rec = if dir.config().exists() {
        let rec = super::open_recorder(&dir)?;
        eprintln!(
            "appending a new simulated day to the journal in {}",
            dir.root().display()
        );
        rec
    } else {
        let rec = Recorder::init(
            &dir,
            InitOptions {
                origin: Some("tradetrail.demo/desk-1".into()),
                ..Default::default()
            },
        )?;
        // The venues' sessions, for `report --session XNYS` (docs/configuration.md).
        tradetrail_demo::write_demo_time(&dir)?;
        rec
    };
    let opts = DemoOptions {
        events: args.events,
        seed: args.seed,
        ..DemoOptions::default()
    };
    let pb = super::progress_bar(args.events, "recording");
    let t0 = Instant::now();
    let summary = run_demo(&rec, &opts, &|n| pb.set_position(n))?;
    let secs = t0.elapsed().as_secs_f64();
    pb.finish_and_clear();

    writeln!(
        out,
        "recorded {} events (seq {}..={}) in {:.2} s, {:.0} events/s, into {}",
        summary.events,
        summary.first_seq,
        summary.last_seq,
        secs,
        summary.events as f64 / secs,
        dir.root().display()
    )?;
    if summary.duplicates > 0 {
        writeln!(
            out,
            "{} events were already recorded (same event_id) and not written again",
            summary.duplicates
        )?;
    }
    let count = |t: &str| summary.by_type.get(t).copied().unwrap_or(0);
    let family = |f: &str| {
        summary
            .by_type
            .iter()
            .filter(|(k, _)| k.starts_with(f))
            .map(|(_, v)| *v)
            .sum::<u64>()
    };
    writeln!(out)?;
    writeln!(
        out,
        "  signals          {:>8} generated, {} filtered",
        count("signal.generated"),
        count("signal.filtered")
    )?;
    writeln!(
        out,
        "  recommendations  {:>8} generated, {} suppressed",
        count("recommendation.generated"),
        count("recommendation.suppressed")
    )?;
    writeln!(
        out,
        "  risk             {:>8} evaluated, {} rejected",
        count("risk.evaluated"),
        count("risk.rejected")
    )?;
    writeln!(
        out,
        "  approvals        {:>8} requested, {} approved, {} rejected, {} expired",
        count("approval.requested"),
        count("approval.approved"),
        count("approval.rejected"),
        count("approval.expired")
    )?;
    writeln!(
        out,
        "  orders           {:>8} submitted, {} accepted, {} rejected, {} cancelled, {} expired, {} modified",
        count("order.submitted"),
        count("order.accepted"),
        count("order.rejected"),
        count("order.cancelled"),
        count("order.expired"),
        count("order.modified")
    )?;
    writeln!(out, "  fills            {:>8}", count("order.filled"))?;
    writeln!(out, "  positions        {:>8} events", family("position."))?;
    writeln!(
        out,
        "  accounts         {:>8} snapshots",
        count("account.snapshot")
    )?;
    writeln!(
        out,
        "  changes          {:>8} param, {} config, {} trading-mode, {} kill-switch",
        count("param.changed"),
        count("config.changed"),
        count("trading.mode_changed"),
        count("trading.kill_switch")
    )?;
    writeln!(
        out,
        "  operations       {:>8} connection, {} user, {} system, {} orders recovered",
        family("connection."),
        family("user."),
        family("system."),
        count("order.recovered")
    )?;
    writeln!(out)?;

    super::checkpoint_if_due(&rec);
    let t0 = Instant::now();
    let report = verify(&FsStorage, &dir.journal(), &|_| {})?;
    let vsecs = t0.elapsed().as_secs_f64();
    if report.ok {
        writeln!(
            out,
            "verify: ok, {} records in {} segment(s) checked in {:.2} s; head {}",
            report.records,
            report.segments,
            vsecs,
            report.head_hash.map(|h| h.to_hex()).unwrap_or_default()
        )?;
        writeln!(
            out,
            "try: tradetrail status --data {0}; tradetrail verify --data {0}",
            dir.root().display()
        )?;
        if let Some(path) = &args.statement {
            super::demo_statement::write(&dir, path, &mut out)?;
        }
        Ok(())
    } else {
        writeln!(
            out,
            "verify: FAILED at seq {:?}: {}",
            report.first_bad_seq,
            report.reason.unwrap_or_default()
        )?;
        Err(Exit(TAMPERED).into())
    }
}
