//! `tradetrail init`

use std::path::Path;

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
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    let dir = DataDir::resolve(data);
    let rec = Recorder::init(
        &dir,
        InitOptions {
            origin: args.origin,
            segment_max_bytes: args.segment_max_bytes,
        },
    )?;
    let st = rec.journal().status()?;
    println!("initialized {}", dir.root().display());
    println!("origin      {}", rec.config().origin);
    println!("record 0    journal.created, hash {}", st.head_hash);
    println!("config      {}", dir.config().display());
    Ok(())
}
