//! `tradetrail seal --actor A --reason R`: seal the active segment.

use std::path::Path;

use anyhow::Result;
use tradetrail_core::DataDir;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Who seals it, e.g. operator:carol
    #[arg(long, value_name = "ACTOR")]
    actor: String,
    /// Why
    #[arg(long, value_name = "TEXT")]
    reason: String,
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    let dir = DataDir::resolve(data);
    let rec = super::open_recorder(&dir)?;
    let r = rec.seal(&args.actor, &args.reason)?;
    println!(
        "sealed: records 0..={} are in sealed segments; journal.sealed (seq {}) starts the new active one",
        r.seq.saturating_sub(1),
        r.seq
    );
    Ok(())
}
