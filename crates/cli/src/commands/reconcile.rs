//! `tradetrail reconcile --statement FILE [--format flex|csv|json] [--dry-run] [--output table|jsonl]`

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::json;
use sha2::{Digest, Sha256};
use tradetrail_books::{ReadOptions, Severity, Statement, StatementFormat, Tolerances};
use tradetrail_core::DataDir;

use crate::exit::BadInput;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The broker statement: IBKR Flex Query XML, or the generic CSV/JSON (docs/books.md)
    #[arg(long, value_name = "FILE")]
    statement: PathBuf,
    /// The statement's format: flex, csv or json [default: from the file's extension]
    #[arg(long, value_name = "FORMAT")]
    format: Option<String>,
    /// Compare and print only; append nothing
    #[arg(long)]
    dry_run: bool,
    /// Who runs it: the actor of the appended events
    #[arg(long, default_value = "system", value_name = "ACTOR")]
    actor: String,
    /// How discrepancies come out: table or jsonl
    #[arg(long, default_value = "table", value_name = "OUTPUT")]
    output: String,
}

/// A books error: bad input (a statement, an id, an actor) is exit 2, the rest as is.
pub fn books_err(e: tradetrail_books::Error) -> anyhow::Error {
    match e {
        tradetrail_books::Error::Core(c) => c.into(),
        tradetrail_books::Error::Journal(j) => j.into(),
        e @ (tradetrail_books::Error::Statement { .. }
        | tradetrail_books::Error::Invalid(_)
        | tradetrail_books::Error::FourEyes { .. }) => BadInput(e.to_string()).into(),
        e => e.into(),
    }
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    if !matches!(args.output.as_str(), "table" | "jsonl") {
        return Err(BadInput(format!("--output {:?}: use table or jsonl", args.output)).into());
    }
    let format = args
        .format
        .as_deref()
        .map(StatementFormat::parse)
        .transpose()
        .map_err(books_err)?;
    let dir = DataDir::resolve(data);
    // A dry run only reads: it needs the configuration, not the journal's lock (so it
    // runs beside `serve`).
    let config = dir.load_config()?;
    let rec = if args.dry_run {
        None
    } else {
        Some(super::open_recorder(&dir)?)
    };
    let cfg = &config.reconciliation;
    let read = ReadOptions {
        flex_utc_offset_seconds: cfg.flex_offset_seconds().map_err(BadInput)?,
    };
    let statement = Statement::read(&args.statement, format, &read).map_err(books_err)?;
    let bytes = std::fs::read(&args.statement)?;
    let tol = Tolerances::from(cfg);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let name = args
        .statement
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (recon, actions) = match &rec {
        None => {
            let read = super::open_read(&dir)?;
            let records = tradetrail_books::read_records(&read.data_dir().journal(), read.cold())
                .map_err(books_err)?;
            (
                tradetrail_books::reconcile(&records, &statement, &tol),
                None,
            )
        }
        Some(rec) => {
            let opts = tradetrail_books::RunOptions {
                actor: args.actor.clone(),
                statement_name: name.clone(),
                statement_sha256: hex_of(&bytes),
                now: now_ns(),
            };
            let o = tradetrail_books::run(rec, &statement, &tol, &opts).map_err(books_err)?;
            (o.reconciliation.clone(), Some(o))
        }
    };
    let action = |id: &str| -> String {
        let Some(o) = &actions else {
            return "dry run".into();
        };
        if let Some((_, seq)) = o.corrections.iter().find(|c| c.0 == id) {
            return format!("corrected (seq {seq})");
        }
        if let Some((rid, _, seq)) = o.reviews.iter().find(|r| r.1 == id) {
            return format!("review {rid} (seq {seq})");
        }
        if o.already_reviewed.iter().any(|x| x == id) {
            return format!("already under review {}", tradetrail_books::review_id(id));
        }
        String::new()
    };
    if args.output == "jsonl" {
        for d in &recon.discrepancies {
            let mut v = serde_json::to_value(d)?;
            v["action"] = json!(action(&d.id));
            writeln!(out, "{v}")?;
        }
    } else {
        writeln!(
            out,
            "reconciled {} ({}, {} .. {}) against the books: accounts {}",
            name,
            statement.format.as_str(),
            tradetrail_model::format_time(recon.from),
            tradetrail_model::format_time(recon.to),
            recon.accounts.join(", ")
        )?;
        writeln!(
            out,
            "trades: {} at the broker, {} in the books; matched {} by id, {} by order, {} by attributes",
            recon.broker_trades, recon.our_trades, recon.matched_by_id, recon.matched_by_order, recon.matched_by_attributes
        )?;
        writeln!(
            out,
            "compared {} positions, {} cash lines, {} orders; {} discrepancies: {} minor, {} major",
            recon.positions_compared,
            recon.cash_compared,
            recon.orders_compared,
            recon.discrepancies.len(),
            recon.count(Severity::Minor),
            recon.count(Severity::Major)
        )?;
        if !recon.discrepancies.is_empty() {
            writeln!(out)?;
            // Compared values are never cut: the columns are as wide as their widest
            // value. A value that is a description (a whole trade) is shortened here,
            // since the line under the row gives it whole.
            let value = |s: &Option<String>| {
                let s = s.clone().unwrap_or_default();
                if s.contains(' ') && s.chars().count() > 24 {
                    format!("{}…", s.chars().take(23).collect::<String>())
                } else {
                    s
                }
            };
            let rows: Vec<[String; 9]> = recon
                .discrepancies
                .iter()
                .map(|d| {
                    [
                        d.id.clone(),
                        d.severity.as_str().to_owned(),
                        format!("{}.{}", d.category, d.field),
                        d.account_id.clone(),
                        d.key.clone(),
                        value(&d.broker),
                        value(&d.ours),
                        d.unexplained.map(|x| x.to_string()).unwrap_or_default(),
                        action(&d.id),
                    ]
                })
                .collect();
            let head = [
                "ID",
                "SEV",
                "WHAT",
                "ACCOUNT",
                "KEY",
                "BROKER",
                "OURS",
                "UNEXPLAINED",
                "ACTION",
            ];
            let mut width = head.map(str::len);
            for r in &rows {
                for (w, c) in width.iter_mut().zip(r) {
                    *w = (*w).max(c.chars().count());
                }
            }
            let line = |cells: [&str; 9]| {
                let mut l = String::new();
                for (i, c) in cells.iter().enumerate() {
                    let pad = width[i].saturating_sub(c.chars().count());
                    if i > 0 {
                        l.push_str("  ");
                    }
                    // Compared values and the unexplained amount align right.
                    if (5..=7).contains(&i) {
                        l.push_str(&" ".repeat(pad));
                        l.push_str(c);
                    } else {
                        l.push_str(c);
                        if i + 1 < cells.len() {
                            l.push_str(&" ".repeat(pad));
                        }
                    }
                }
                l
            };
            writeln!(out, "{}", line(head))?;
            for (r, d) in rows.iter().zip(&recon.discrepancies) {
                writeln!(out, "{}", line(r.each_ref().map(String::as_str)))?;
                writeln!(out, "    {}", d.detail)?;
            }
        }
        if let Some(o) = &actions {
            writeln!(out)?;
            writeln!(
                out,
                "appended {} corrections, {} reviews, reconciliation.completed {} (seq {})",
                o.corrections.len(),
                o.reviews.len(),
                o.run_id,
                o.completed_seq
            )?;
        }
    }
    out.flush()?;
    Ok(())
}

fn hex_of(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Now, in ns since the epoch.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}
