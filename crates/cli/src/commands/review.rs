//! `tradetrail review list [--all] | show ID | resolve ID --actor ACTOR --note TEXT`

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use tradetrail_books::review::{resolve, reviews};
use tradetrail_books::ReviewStatus;
use tradetrail_core::DataDir;
use tradetrail_query::render::printable;

use super::reconcile::{books_err, now_ns};
use crate::exit::BadInput;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Open reviews (with --all, resolved ones too)
    List {
        /// Resolved reviews too
        #[arg(long)]
        all: bool,
        /// table or jsonl
        #[arg(long, default_value = "table", value_name = "FORMAT")]
        format: String,
    },
    /// One review: the discrepancy, the values, and its resolution
    Show {
        /// The review id (REV-...)
        id: String,
    },
    /// Resolve an open review: appends review.resolved with the actor and the note
    Resolve {
        /// The review id (REV-...)
        id: String,
        /// Who resolves it, e.g. operator:carol (--by is the older name)
        #[arg(long = "actor", visible_alias = "by", value_name = "ACTOR")]
        by: String,
        /// How it was resolved
        #[arg(long, value_name = "TEXT")]
        note: String,
    },
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    let dir = DataDir::resolve(data);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.command {
        Sub::List { all, format } => {
            if !matches!(format.as_str(), "table" | "jsonl") {
                return Err(BadInput(format!("--format {format:?}: use table or jsonl")).into());
            }
            let read = super::open_read(&dir)?;
            let list: Vec<_> = reviews(read.data_dir(), read.cold())
                .map_err(books_err)?
                .into_iter()
                .filter(|r| all || r.status == ReviewStatus::Open)
                .collect();
            if format == "jsonl" {
                for r in &list {
                    writeln!(out, "{}", serde_json::to_string(r)?)?;
                }
            } else {
                writeln!(
                    out,
                    "{:<17} {:<9} {:<28} {:<10} {:<20} REQUESTED",
                    "ID", "STATUS", "WHAT", "ACCOUNT", "KEY"
                )?;
                for r in &list {
                    writeln!(
                        out,
                        "{:<17} {:<9} {:<28} {:<10} {:<20} {}",
                        printable(&r.id),
                        match r.status {
                            ReviewStatus::Open => "open",
                            ReviewStatus::Resolved => "resolved",
                        },
                        printable(&format!(
                            "{}.{}",
                            r.field("category").unwrap_or("?"),
                            r.field("field").unwrap_or("?")
                        )),
                        printable(r.account_id.as_deref().unwrap_or("-")),
                        printable(r.field("key").unwrap_or("-")),
                        tradetrail_model::format_time(r.requested_at)
                    )?;
                }
                writeln!(out, "{} review(s)", list.len())?;
            }
        }
        Sub::Show { id } => {
            let read = super::open_read(&dir)?;
            let all = reviews(read.data_dir(), read.cold()).map_err(books_err)?;
            let r = all.iter().find(|r| r.id == id).ok_or_else(|| {
                BadInput(format!(
                    "review {id:?} does not exist (tradetrail review list shows the ids)"
                ))
            })?;
            writeln!(out, "review          {}", printable(&r.id))?;
            writeln!(
                out,
                "status          {}",
                match r.status {
                    ReviewStatus::Open => "open",
                    ReviewStatus::Resolved => "resolved",
                }
            )?;
            writeln!(
                out,
                "requested       {} by {} (seq {})",
                tradetrail_model::format_time(r.requested_at),
                printable(&r.requested_by),
                r.requested_seq
            )?;
            writeln!(
                out,
                "account         {}",
                printable(r.account_id.as_deref().unwrap_or("-"))
            )?;
            writeln!(
                out,
                "instrument      {}",
                printable(r.instrument_id.as_deref().unwrap_or("-"))
            )?;
            for k in [
                "discrepancy_id",
                "run_id",
                "category",
                "field",
                "key",
                "broker_value",
                "our_value",
                "difference",
                "unexplained",
                "severity",
                "broker_location",
                "detail",
            ] {
                if let Some(v) = r.request.get(k) {
                    let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    writeln!(out, "{k:<15} {}", printable(&v))?;
                }
            }
            if let (Some(by), Some(at)) = (&r.resolved_by, r.resolved_at) {
                writeln!(
                    out,
                    "resolved        {} by {} (seq {})",
                    tradetrail_model::format_time(at),
                    printable(by),
                    r.resolved_seq.unwrap_or_default()
                )?;
                writeln!(
                    out,
                    "note            {}",
                    printable(r.note.as_deref().unwrap_or(""))
                )?;
            }
        }
        Sub::Resolve { id, by, note } => {
            let rec = super::open_recorder(&dir)?;
            let (r, receipt) = resolve(&rec, &id, &by, &note, now_ns()).map_err(books_err)?;
            writeln!(
                out,
                "resolved {} by {} (review.resolved, seq {})",
                printable(&r.id),
                printable(&by),
                receipt.seq
            )?;
        }
    }
    out.flush()?;
    Ok(())
}
