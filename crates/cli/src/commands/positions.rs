//! `tradetrail positions [--at T] [--account ID] [--all] [--cash] [--format table|jsonl|csv]`

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use rust_decimal::Decimal;
use serde_json::json;
use tradetrail_books::{Books, BooksOptions};
use tradetrail_core::DataDir;
use tradetrail_query::numfmt;
use tradetrail_query::render::{csv_row, printable};

use super::reconcile::books_err;
use crate::exit::BadInput;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// As of this instant (RFC 3339, a date, or ns since the epoch; without an offset, in --tz), on ts_event
    #[arg(long, value_name = "T")]
    at: Option<String>,
    #[command(flatten)]
    tz: super::query::TzArg,
    /// Only this account
    #[arg(long, value_name = "ID")]
    account: Option<String>,
    /// Include flat positions (instruments traded, now at zero)
    #[arg(long)]
    all: bool,
    /// Cash by account and currency instead of positions
    #[arg(long)]
    cash: bool,
    /// table, jsonl (one object per row) or csv
    #[arg(long, default_value = "table", value_name = "FORMAT")]
    format: String,
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    let format = args.format.as_str();
    if !matches!(format, "table" | "jsonl" | "csv") {
        return Err(BadInput(format!("--format {format:?}: use table, jsonl or csv")).into());
    }
    let zone = args.tz.zone(data)?;
    let at = args
        .at
        .as_deref()
        .map(|t| {
            tradetrail_model::parse_time_in(t, &zone).map_err(|e| BadInput(format!("--at: {e}")))
        })
        .transpose()?;
    let read = super::open_read(&DataDir::resolve(data))?;
    let opts = BooksOptions {
        at,
        ..BooksOptions::default()
    };
    let books = Books::from_data_dir(read.data_dir(), read.cold(), &opts).map_err(books_err)?;
    let keep = |a: &str| args.account.as_deref().is_none_or(|x| x == a);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let as_of = at.map_or(
        "now (everything recorded)".to_string(),
        tradetrail_model::format_time,
    );
    if args.cash {
        let rows: Vec<_> = books
            .cash()
            .into_iter()
            .filter(|c| keep(&c.account_id))
            .collect();
        match format {
            "jsonl" => {
                for c in &rows {
                    writeln!(
                        out,
                        "{}",
                        json!({"account": c.account_id, "currency": c.currency, "cash": c.amount.to_string()})
                    )?;
                }
            }
            "csv" => {
                write!(out, "{}", csv_row(&["account", "currency", "cash"]))?;
                for c in &rows {
                    let amount = c.amount.to_string();
                    write!(out, "{}", csv_row(&[&c.account_id, &c.currency, &amount]))?;
                }
            }
            _ => {
                writeln!(out, "cash moved by trading, as of {as_of}")?;
                writeln!(out, "{:<10} {:<4} {:>18}", "ACCOUNT", "CCY", "CASH")?;
                for c in &rows {
                    writeln!(
                        out,
                        "{:<10} {:<4} {:>18}",
                        printable(&c.account_id),
                        printable(&c.currency),
                        numfmt::money(c.amount)
                    )?;
                }
            }
        }
        out.flush()?;
        return Ok(());
    }
    let rows: Vec<_> = books
        .positions()
        .iter()
        .filter(|p| keep(&p.account_id) && (args.all || !p.quantity.is_zero()))
        .collect();
    match format {
        "jsonl" => {
            for p in &rows {
                let v = p.row_json();
                writeln!(out, "{v}")?;
            }
        }
        "csv" => {
            write!(
                out,
                "{}",
                csv_row(&[
                    "account",
                    "instrument",
                    "quantity",
                    "avg_cost",
                    "mark",
                    "unrealized_pnl",
                    "realized_pnl",
                    "commission",
                    "currency",
                    "multiplier",
                    "fills"
                ])
            )?;
            for p in &rows {
                let cells = [
                    p.account_id.clone(),
                    p.instrument_id.clone(),
                    p.quantity.to_string(),
                    p.avg_cost.round_dp(8).to_string(),
                    p.mark_price.map(|d| d.to_string()).unwrap_or_default(),
                    p.unrealized_pnl
                        .map(|d| d.round_dp(8).to_string())
                        .unwrap_or_default(),
                    p.realized_pnl.round_dp(8).to_string(),
                    p.commission.to_string(),
                    p.currency.clone(),
                    p.multiplier.to_string(),
                    p.fills.to_string(),
                ];
                let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
                write!(out, "{}", csv_row(&cells))?;
            }
        }
        _ => {
            writeln!(out, "positions as of {as_of}")?;
            writeln!(
                out,
                "{:<10} {:<16} {:>14} {:>12} {:>12} {:>16} {:>16} {:>12} {:<4} {:>5}",
                "ACCOUNT",
                "INSTRUMENT",
                "QTY",
                "AVG_COST",
                "MARK",
                "UNREALIZED",
                "REALIZED",
                "COMMISSION",
                "CCY",
                "MULT"
            )?;
            for p in &rows {
                writeln!(
                    out,
                    "{:<10} {:<16} {:>14} {:>12} {:>12} {:>16} {:>16} {:>12} {:<4} {:>5}",
                    printable(&p.account_id),
                    printable(&p.instrument_id),
                    numfmt::quantity(p.quantity),
                    numfmt::fixed(p.avg_cost, 4),
                    p.mark_price
                        .map(|d| numfmt::price(d, d.normalize().scale().max(2)))
                        .unwrap_or_default(),
                    p.unrealized_pnl.map(numfmt::money).unwrap_or_default(),
                    numfmt::money(p.realized_pnl),
                    numfmt::money(p.commission),
                    printable(&p.currency),
                    p.multiplier
                )?;
            }
            writeln!(out)?;
            let mut totals =
                std::collections::BTreeMap::<(String, String), (Decimal, Decimal)>::new();
            for p in books.positions().iter().filter(|p| keep(&p.account_id)) {
                let t = totals
                    .entry((p.account_id.clone(), p.currency.clone()))
                    .or_default();
                let overflow = || {
                    anyhow::anyhow!(
                        "the P&L total of account {} in {} overflows a decimal (the journal holds amounts beyond what validation now accepts)",
                        printable(&p.account_id),
                        printable(&p.currency)
                    )
                };
                t.0 = t.0.checked_add(p.realized_pnl).ok_or_else(overflow)?;
                t.1 =
                    t.1.checked_add(p.unrealized_pnl.unwrap_or_default())
                        .ok_or_else(overflow)?;
            }
            for ((a, c), (r, u)) in totals {
                writeln!(
                    out,
                    "{} {}: realized {} unrealized {} cash {}",
                    printable(&a),
                    printable(&c),
                    numfmt::money(r),
                    numfmt::money(u),
                    numfmt::money(books.cash_of(&a, &c))
                )?;
            }
            let orders = books
                .orders()
                .values()
                .filter(|o| o.account_id.as_deref().is_none_or(keep))
                .count();
            writeln!(
                out,
                "{} orders, {} fills, {} closed lots, {} anomalies, {} corrections applied",
                orders,
                books.fills().iter().filter(|f| keep(&f.account_id)).count(),
                books
                    .closed_lots()
                    .iter()
                    .filter(|l| keep(&l.account_id))
                    .count(),
                books.anomalies().len(),
                books.corrections().len()
            )?;
        }
    }
    out.flush()?;
    if let Some(account) = &args.account {
        let mut known: Vec<&str> = books
            .positions()
            .iter()
            .map(|p| p.account_id.as_str())
            .chain(books.fills().iter().map(|f| f.account_id.as_str()))
            .collect();
        known.sort_unstable();
        known.dedup();
        if !known.contains(&account.as_str()) {
            let list = if known.is_empty() {
                "none".to_string()
            } else {
                known
                    .iter()
                    .take(10)
                    .map(|a| printable(a).into_owned())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            eprintln!(
                "note: no position or fill of account {} is recorded (accounts recorded: {list})",
                printable(account)
            );
        }
    }
    for a in books.anomalies().iter().take(5) {
        eprintln!(
            "anomaly: seq {} order {}: {} ({})",
            a.seq,
            printable(&a.order_id),
            a.kind.as_str(),
            printable(&a.detail)
        );
    }
    Ok(())
}
