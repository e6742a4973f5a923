//! `tradetrail trail ID`

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use tradetrail_query::render::{printable, write_trail};
use tradetrail_query::Format;

use super::query::{bad, open_investigator, OutputArgs, TzArg};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// An order, recommendation, signal, evaluation or approval id (O-123, R-77, ...)
    id: String,
    #[command(flatten)]
    tz: TzArg,
    #[command(flatten)]
    output: OutputArgs,
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    let format = args.output.format()?;
    if args.id.trim().is_empty() {
        return Err(crate::exit::BadInput("ID: empty id".into()).into());
    }
    let inv = open_investigator(data)?;
    let trail = inv.trail(&args.id).map_err(bad)?;
    if trail.records.is_empty() {
        eprintln!("no record names {}", printable(&args.id));
        return Ok(());
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    write_trail(
        &mut out,
        &trail,
        format,
        args.output.zone(&args.tz.zone(data)?),
    )?;
    out.flush()?;
    if format != Format::Table {
        // The rows stay journal records; the story's remarks go to stderr.
        for g in &trail.gaps {
            eprintln!("gap at seq {}: {}", g.seq, printable(&g.message));
        }
        for n in &trail.notes {
            eprintln!("note: {}", printable(n));
        }
    }
    Ok(())
}
