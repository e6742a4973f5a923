//! `tradetrail demo`

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use tradetrail_core::demo::{run_demo, DemoOptions};
use tradetrail_core::{DataDir, InitOptions, Recorder, DATA_ENV};
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
}

/// Without `--data` or `$TRADETRAIL_DATA` the demo writes here, away from real data.
const DEMO_DIR: &str = "./tradetrail-demo";

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    let dir = match (data, std::env::var_os(DATA_ENV)) {
        (None, None) => DataDir::new(PathBuf::from(DEMO_DIR)),
        _ => DataDir::resolve(data),
    };
    let rec = if dir.config().exists() {
        let (rec, _) = Recorder::open(&dir)?;
        eprintln!(
            "appending a new simulated day to the journal in {}",
            dir.root().display()
        );
        rec
    } else {
        Recorder::init(
            &dir,
            InitOptions {
                origin: Some("tradetrail.demo/desk-1".into()),
                ..Default::default()
            },
        )?
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

    println!(
        "recorded {} events (seq {}..={}) in {:.2} s, {:.0} events/s, into {}",
        summary.events,
        summary.first_seq,
        summary.last_seq,
        secs,
        summary.events as f64 / secs,
        dir.root().display()
    );
    if summary.duplicates > 0 {
        println!(
            "{} events were already recorded (same event_id) and not written again",
            summary.duplicates
        );
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
    println!();
    println!(
        "  signals          {:>8} generated, {} filtered",
        count("signal.generated"),
        count("signal.filtered")
    );
    println!(
        "  recommendations  {:>8} generated, {} suppressed",
        count("recommendation.generated"),
        count("recommendation.suppressed")
    );
    println!(
        "  risk             {:>8} evaluated, {} rejected",
        count("risk.evaluated"),
        count("risk.rejected")
    );
    println!(
        "  approvals        {:>8} requested, {} approved, {} rejected, {} expired",
        count("approval.requested"),
        count("approval.approved"),
        count("approval.rejected"),
        count("approval.expired")
    );
    println!(
        "  orders           {:>8} submitted, {} accepted, {} rejected, {} cancelled, {} expired, {} modified",
        count("order.submitted"),
        count("order.accepted"),
        count("order.rejected"),
        count("order.cancelled"),
        count("order.expired"),
        count("order.modified")
    );
    println!("  fills            {:>8}", count("order.filled"));
    println!("  positions        {:>8} events", family("position."));
    println!(
        "  accounts         {:>8} snapshots",
        count("account.snapshot")
    );
    println!(
        "  changes          {:>8} param, {} config, {} trading-mode, {} kill-switch",
        count("param.changed"),
        count("config.changed"),
        count("trading.mode_changed"),
        count("trading.kill_switch")
    );
    println!(
        "  operations       {:>8} connection, {} user, {} system, {} orders recovered",
        family("connection."),
        family("user."),
        family("system."),
        count("order.recovered")
    );
    println!();

    let t0 = Instant::now();
    let report = verify(&FsStorage, &dir.journal(), &|_| {})?;
    let vsecs = t0.elapsed().as_secs_f64();
    if report.ok {
        println!(
            "verify: ok, {} records in {} segment(s) checked in {:.2} s; head {}",
            report.records,
            report.segments,
            vsecs,
            report.head_hash.map(|h| h.to_hex()).unwrap_or_default()
        );
        println!(
            "try: tradetrail status --data {0}; tradetrail verify --data {0}",
            dir.root().display()
        );
        Ok(())
    } else {
        println!(
            "verify: FAILED at seq {:?}: {}",
            report.first_bad_seq,
            report.reason.unwrap_or_default()
        );
        Err(Exit(TAMPERED).into())
    }
}
