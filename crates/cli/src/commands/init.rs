//! `tradetrail init`

use std::path::Path;

use std::io::Write;

use anyhow::Result;
use tradetrail_core::{DataDir, InitOptions, Recorder};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The journal's origin (first line of its checkpoints) [default: unique, from host name and a random id]
    #[arg(long)]
    origin: Option<String>,
    /// Seal a segment and start the next one past this many bytes
    #[arg(long, value_name = "BYTES")]
    segment_max_bytes: Option<u64>,
    /// Record 0's time instead of now (RFC 3339, a date, or ns since the epoch): replicas
    /// of one stream are initialised with the same --origin and --created-at, so their
    /// journals start with the same record 0 (docs/ingest.md)
    #[arg(long, value_name = "TIME", value_parser = parse_created_at)]
    created_at: Option<i64>,
}

fn parse_created_at(s: &str) -> Result<i64, String> {
    let t = tradetrail_model::parse_time(s)?;
    if t < 0 {
        return Err(format!(
            "{s:?} is before 1970; give a time at or after the epoch"
        ));
    }
    Ok(t)
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let dir = DataDir::resolve(data);
    let rec = Recorder::init(
        &dir,
        InitOptions {
            origin: args.origin,
            segment_max_bytes: args.segment_max_bytes,
            created_at: args.created_at,
        },
    )?;
    let st = rec.journal().status()?;
    writeln!(out, "initialized {}", dir.root().display())?;
    writeln!(out, "origin      {}", rec.config().origin)?;
    writeln!(out, "record 0    journal.created, hash {}", st.head_hash)?;
    writeln!(out, "config      {}", dir.config().display())?;
    Ok(())
}
