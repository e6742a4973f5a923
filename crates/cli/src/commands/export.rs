//! `tradetrail export (--entity ID | filters) --out DIR`
//!
//! The bundle directory is `--out`: `--from`/`--to` bound time, as in `query`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;
use tradetrail_backup::{check_out, export, ExportOptions, Selection};
use tradetrail_core::DataDir;
use tradetrail_query::Filter;

use super::backup::map_err;
use super::query::{bad, open_investigator};
use crate::exit::BadInput;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The bundle directory to write (must not exist or be empty)
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Export the whole decision chain of this id (order, recommendation, signal, ...), as `trail`
    #[arg(long, value_name = "ID")]
    entity: Option<String>,
    /// Records at or after this time (RFC 3339, a date, or ns since the epoch) [ts_event]
    #[arg(long, value_name = "T")]
    from: Option<String>,
    /// Records before this time (exclusive). The bundle directory is --out, not --to
    #[arg(long, value_name = "T")]
    to: Option<String>,
    /// --from/--to bound ts_recorded instead of ts_event
    #[arg(long)]
    recorded: bool,
    /// Record type pattern (order.*); repeat for any of several
    #[arg(long = "type", value_name = "PATTERN")]
    types: Vec<String>,
    /// trader_id (pattern)
    #[arg(long, value_name = "PATTERN")]
    trader: Vec<String>,
    /// instrument_id (pattern)
    #[arg(long, value_name = "PATTERN")]
    instrument: Vec<String>,
    /// account_id (pattern)
    #[arg(long, value_name = "PATTERN")]
    account: Vec<String>,
    /// strategy_id (pattern)
    #[arg(long, value_name = "PATTERN")]
    strategy: Vec<String>,
    /// Emitting component (pattern)
    #[arg(long, value_name = "PATTERN")]
    source: Vec<String>,
    /// Who caused it (pattern)
    #[arg(long, value_name = "PATTERN")]
    actor: Vec<String>,
}

impl Args {
    /// The selection and its description, every value checked before anything is read.
    fn selection(&self) -> Result<(Selection, String)> {
        let mut f = Filter::default();
        let mut words = Vec::new();
        let mut set = |name: &str, v: &str| -> Result<()> {
            f.set(name, v).map_err(|e| {
                if name == "to" {
                    BadInput(format!(
                        "{e} (--to ends the time range; the bundle directory is --out DIR)"
                    ))
                    .into()
                } else {
                    bad(e)
                }
            })?;
            words.push(format!("--{name} {v}"));
            Ok(())
        };
        let lists = [
            ("type", &self.types),
            ("trader", &self.trader),
            ("instrument", &self.instrument),
            ("account", &self.account),
            ("strategy", &self.strategy),
            ("source", &self.source),
            ("actor", &self.actor),
        ];
        for (name, values) in lists {
            for v in values {
                set(name, v)?;
            }
        }
        if let Some(v) = &self.from {
            set("from", v)?;
        }
        if let Some(v) = &self.to {
            set("to", v)?;
        }
        if self.recorded {
            f.set("recorded", "true").map_err(bad)?;
            words.push("--recorded".into());
        }
        match &self.entity {
            Some(id) if !words.is_empty() => Err(BadInput(format!(
                "--entity {id} exports the whole trail of {id}; it cannot be combined with {}",
                words.join(" ")
            ))
            .into()),
            Some(id) if id.trim().is_empty() => Err(BadInput("--entity: empty id".into()).into()),
            Some(id) => Ok((Selection::Trail(id.clone()), format!("the trail of {id}"))),
            None if words.is_empty() => Err(BadInput(
                "choose the records: --entity ID, or filters such as --from T --to T --trader ID"
                    .into(),
            )
            .into()),
            None => {
                f.check().map_err(bad)?;
                Ok((
                    Selection::Query(Box::new(f)),
                    format!("records with {}", words.join(" ")),
                ))
            }
        }
    }
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    let (selection, description) = args.selection()?;
    check_out(&args.out).map_err(map_err)?;
    let dir = DataDir::resolve(data);
    let inv = open_investigator(data)?;
    let r = export(
        &dir,
        &inv,
        &ExportOptions {
            selection,
            out: args.out.clone(),
            description,
        },
    )
    .map_err(map_err)?;
    for n in &r.notes {
        eprintln!("note: {n}");
    }
    let mut out = std::io::stdout().lock();
    if r.took_checkpoint {
        writeln!(
            out,
            "no saved checkpoint covered the records: signed a new one (tree size {})",
            r.checkpoint.0
        )?;
    }
    writeln!(
        out,
        "exported {} records to {}: records.jsonl, records.csv, report.html, {} proofs against the checkpoint of size {} (root {})",
        r.records,
        r.out.display(),
        r.records,
        r.checkpoint.0,
        r.checkpoint.1
    )?;
    writeln!(
        out,
        "verify offline: see {}",
        r.out.join("README.md").display()
    )?;
    Ok(())
}
