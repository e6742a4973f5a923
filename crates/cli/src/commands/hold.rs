//! `tradetrail hold add | list | release`

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use tradetrail_archive::{
    add_hold, archive_dir, list_holds, release_hold, ArchiveIndex, HoldScope,
};
use tradetrail_core::DataDir;

use super::archive::cli_error;
use crate::exit::BadInput;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Place a legal hold: records matching every criterion given are never purged
    Add(AddArgs),
    /// Every hold, active and released
    List(ListArgs),
    /// Release a hold (by its id: the seq of the record that placed it)
    Release(ReleaseArgs),
}

#[derive(Debug, clap::Args)]
struct AddArgs {
    /// An entity id (order, recommendation, ...): records about it or referring to it
    #[arg(long)]
    entity: Option<String>,
    /// A trader id
    #[arg(long)]
    trader: Option<String>,
    /// An instrument id
    #[arg(long)]
    instrument: Option<String>,
    /// Records whose ts_event is at or after T (RFC 3339, a date, or ns)
    #[arg(long, value_name = "T")]
    from: Option<String>,
    /// Records whose ts_event is before T
    #[arg(long, value_name = "T")]
    to: Option<String>,
    /// Why (e.g. "SEC inquiry 2026-17")
    #[arg(long)]
    reason: String,
    /// Who places it [default: operator:$USER]
    #[arg(long)]
    actor: Option<String>,
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    /// Only holds in force
    #[arg(long)]
    active: bool,
    /// One JSON object per hold
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct ReleaseArgs {
    /// The hold's id
    #[arg(long)]
    id: u64,
    /// Why it ends
    #[arg(long)]
    reason: String,
    /// Who releases it [default: operator:$USER]
    #[arg(long)]
    actor: Option<String>,
}

/// `operator:$USER`, the default actor of operator commands.
pub fn default_actor(given: Option<String>) -> String {
    given.unwrap_or_else(|| {
        let user = std::env::var("USER")
            .ok()
            .filter(|u| !u.is_empty() && !u.contains(char::is_whitespace));
        format!("operator:{}", user.unwrap_or_else(|| "unknown".into()))
    })
}

fn time_arg(name: &str, v: Option<String>) -> Result<Option<i64>> {
    v.map(|s| tradetrail_model::parse_time(&s).map_err(|e| BadInput(format!("{name}: {e}")).into()))
        .transpose()
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    let dir = DataDir::resolve(data);
    let mut out = std::io::stdout().lock();
    match args.what {
        What::Add(a) => {
            let scope = HoldScope {
                entity: a.entity,
                trader_id: a.trader,
                instrument_id: a.instrument,
                from: time_arg("--from", a.from)?,
                to: time_arg("--to", a.to)?,
            };
            scope.validate().map_err(cli_error)?;
            let rec = super::open_recorder(&dir)?;
            let r = add_hold(&rec, scope.clone(), &a.reason, &default_actor(a.actor))
                .map_err(cli_error)?;
            writeln!(
                out,
                "hold {} placed: {} ({})",
                r.seq,
                scope.describe(),
                a.reason
            )?;
        }
        What::List(a) => {
            let idx = ArchiveIndex::load(&archive_dir(&dir)).map_err(cli_error)?;
            let holds = list_holds(&dir, &idx).map_err(cli_error)?;
            let holds: Vec<_> = holds
                .into_iter()
                .filter(|h| !a.active || h.active())
                .collect();
            if a.json {
                for h in &holds {
                    writeln!(out, "{}", serde_json::to_string(h)?)?;
                }
                return Ok(());
            }
            if holds.is_empty() {
                writeln!(out, "no holds")?;
            } else {
                writeln!(
                    out,
                    "{:<8} {:<18} {:<32} actor | scope | reason",
                    "ID", "STATUS", "PLACED (UTC)"
                )?;
            }
            for h in &holds {
                let status = match h.released_by {
                    None => "ACTIVE".to_string(),
                    Some(s) => format!("released by {s}"),
                };
                writeln!(
                    out,
                    "{:<8} {:<18} {:<32} {} | {} | {}",
                    h.id,
                    status,
                    tradetrail_model::format_time(h.placed_at),
                    h.actor,
                    h.scope.describe(),
                    h.reason
                )?;
            }
        }
        What::Release(a) => {
            let rec = super::open_recorder(&dir)?;
            let r =
                release_hold(&rec, a.id, &a.reason, &default_actor(a.actor)).map_err(cli_error)?;
            writeln!(out, "hold {} released by record {}", a.id, r.seq)?;
        }
    }
    Ok(())
}
