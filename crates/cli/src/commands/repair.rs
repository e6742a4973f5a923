//! `tradetrail repair`: the explicit, recorded way past damage (docs/cli.md).

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use tradetrail_core::DataDir;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The last record to keep: every record after it is removed from the journal
    /// (`verify` names the first bad seq; keep the one before it)
    #[arg(long, value_name = "SEQ")]
    truncate_after: u64,
    /// Why, in words an auditor will read (recorded in the journal.repaired record)
    #[arg(long)]
    reason: String,
    /// Who decided, e.g. operator:alice (recorded as the record's actor)
    #[arg(long, default_value = "operator:unknown")]
    actor: String,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    let dir = DataDir::resolve(data);
    let (done, receipt) = tradetrail_store::repair(
        &dir,
        &tradetrail_store::Repair {
            keep_through: args.truncate_after,
            actor: args.actor,
            reason: args.reason,
        },
    )?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let v = serde_json::json!({
            "kept_through": done.kept_through,
            "removed_lines": done.removed_lines,
            "removed_bytes": done.removed_bytes,
            "removed_sha256": done.removed_sha256,
            "kept_at": done.kept_at,
            "record": {"seq": receipt.seq, "hash": receipt.hash.to_hex()},
        });
        writeln!(out, "{v}")?;
        return Ok(());
    }
    writeln!(
        out,
        "removed {} line(s), {} bytes after seq {} (sha256 {}); kept at {}",
        done.removed_lines,
        done.removed_bytes,
        done.kept_through,
        done.removed_sha256,
        done.kept_at.display()
    )?;
    writeln!(
        out,
        "recorded as journal.repaired at seq {} (hash {})",
        receipt.seq, receipt.hash
    )?;
    Ok(())
}
