//! `tradetrail replica status --peer DIR|URL`: do two replicas hold the same records?
//! The comparison lives in `tradetrail_store::replica`; this parses and prints.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use tradetrail_core::DataDir;

use crate::exit::{BadInput, Exit, TAMPERED};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Compare this data directory with a peer's, record by record, and their signed
    /// checkpoints at the sizes both signed: exit 0 when one is a prefix of the other
    /// (says which is behind), 1 naming the first seq (or checkpoint size) where they differ
    Status(StatusArgs),
}

#[derive(Debug, clap::Args)]
struct StatusArgs {
    /// The peer replica: its data directory (a copy, a mount, the standby's own), or
    /// the URL of its `tradetrail serve` (http://host:port)
    #[arg(long, value_name = "DIR|URL")]
    peer: String,
    /// With a URL peer: a bearer token of role compliance or admin on it
    #[arg(
        long,
        env = "TRADETRAIL_PEER_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    token: Option<String>,
    /// Print the result as one JSON object
    #[arg(long)]
    json: bool,
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    let What::Status(a) = args.what;
    let local = DataDir::resolve(data);
    let remote = a.peer.starts_with("http://") || a.peer.starts_with("https://");
    let c = if remote {
        let Some(token) = a.token.as_deref() else {
            return Err(BadInput(
                "--token: a URL peer needs a token of role compliance or admin on it \
                 (--token or $TRADETRAIL_PEER_TOKEN)"
                    .into(),
            )
            .into());
        };
        let mut peer =
            tradetrail_server::peer::HttpPeer::new(&a.peer, token).map_err(|reason| {
                tradetrail_store::Error::Peer {
                    peer: a.peer.clone(),
                    reason,
                }
            })?;
        tradetrail_store::replica::compare_tree(&local, &mut peer)?
    } else {
        tradetrail_store::replica::compare(&local, &DataDir::new(&a.peer))?
    };
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
            "checkpoints": {
                "local": c.checkpoints.local,
                "peer": c.checkpoints.peer,
                "sizes": c.checkpoints.sizes,
                "byte_equal": c.checkpoints.byte_equal,
                "other_signatures": c.checkpoints.other_signatures,
                "first_difference": c.checkpoints.first_difference.as_ref().map(|(size, why)| {
                    serde_json::json!({ "size": size, "reason": why })
                }),
            },
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
        writeln!(out, "peer   {} records  {}", c.peer_records, a.peer)?;
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
        write_checkpoints(&mut out, &c.checkpoints)?;
    }
    if c.agree() {
        Ok(())
    } else {
        Err(Exit(TAMPERED).into())
    }
}

/// The checkpoint lines of `replica status`.
fn write_checkpoints(
    out: &mut dyn Write,
    c: &tradetrail_store::replica::CheckpointComparison,
) -> std::io::Result<()> {
    let sizes = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
    if let Some((size, why)) = &c.first_difference {
        return writeln!(out, "checkpoints DIFFER at size {size}: {why}");
    }
    if c.sizes.is_empty() {
        return writeln!(
            out,
            "checkpoints: none at a size both signed (local {}, peer {})",
            c.local, c.peer
        );
    }
    if c.other_signatures.is_empty() {
        return writeln!(
            out,
            "checkpoints: byte-equal signed notes at every size both signed: {}",
            sizes(&c.sizes)
        );
    }
    writeln!(
        out,
        "checkpoints: the same tree heads at every size both signed: {}; byte-equal notes at {}, differently signed at {} (another key or extension lines)",
        sizes(&c.sizes),
        if c.byte_equal.is_empty() { "none".to_string() } else { sizes(&c.byte_equal) },
        sizes(&c.other_signatures)
    )
}
