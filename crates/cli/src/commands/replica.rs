//! `tradetrail replica status --peer DIR`: do two replicas hold the same records?
//! The comparison lives in `tradetrail_store::replica`; this parses and prints.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;
use tradetrail_core::DataDir;

use crate::exit::{Exit, TAMPERED};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Compare this data directory with a peer's, record by record: exit 0 when one is
    /// a prefix of the other (says which is behind), 1 naming the first seq where they differ
    Status(StatusArgs),
}

#[derive(Debug, clap::Args)]
struct StatusArgs {
    /// The peer replica's data directory (a copy, a mount, or the standby's own)
    #[arg(long, value_name = "DIR")]
    peer: PathBuf,
    /// Print the result as one JSON object
    #[arg(long)]
    json: bool,
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    let What::Status(a) = args.what;
    let local = DataDir::resolve(data);
    let peer = DataDir::new(&a.peer);
    let c = tradetrail_store::replica::compare(&local, &peer)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let behind = match c.local_records.cmp(&c.peer_records) {
        std::cmp::Ordering::Less => "local",
        std::cmp::Ordering::Greater => "peer",
        std::cmp::Ordering::Equal => "neither",
    };
    if a.json {
        let v = serde_json::json!({
            "local_records": c.local_records,
            "peer_records": c.peer_records,
            "same_records": c.common,
            "root": c.common_root.to_string(),
            "first_difference": c.first_difference,
            "agree": c.agree(),
            "behind": if c.agree() { Some(behind) } else { None },
        });
        writeln!(out, "{v}")?;
    } else {
        writeln!(
            out,
            "local  {} records  {}",
            c.local_records,
            local.root().display()
        )?;
        writeln!(
            out,
            "peer   {} records  {}",
            c.peer_records,
            peer.root().display()
        )?;
        match c.first_difference {
            None => {
                writeln!(
                    out,
                    "same records up to seq {} (size {}, root {})",
                    c.common.saturating_sub(1),
                    c.common,
                    c.common_root
                )?;
                match behind {
                    "neither" => writeln!(out, "identical")?,
                    side => writeln!(
                        out,
                        "{side} is behind by {} records",
                        c.local_records.abs_diff(c.peer_records)
                    )?,
                }
            }
            Some(seq) => {
                writeln!(
                    out,
                    "DIFFER at seq {seq}: the same records up to seq {} (size {}, root {}), then different",
                    c.common.saturating_sub(1),
                    c.common,
                    c.common_root
                )?;
            }
        }
    }
    if c.agree() {
        Ok(())
    } else {
        Err(Exit(TAMPERED).into())
    }
}
