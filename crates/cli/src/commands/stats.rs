//! `tradetrail stats [--by DIM] [--conversion]`

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use tradetrail_query::render::{printable, write_funnel, write_stats};
use tradetrail_query::{Dim, Format};

use super::query::{bad, open_investigator, FilterArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Count by: type, source, actor, trader, strategy, account, instrument or kind
    #[arg(long, default_value = "type", value_name = "DIM")]
    by: String,
    /// The conversion funnel instead: signals -> recommendations -> risk -> approvals
    /// -> orders -> fills, with the reasons recorded for each drop
    #[arg(long)]
    conversion: bool,
    #[command(flatten)]
    filter: FilterArgs,
    /// table, jsonl (one object per row, e.g. {"type":"order.filled","count":183346}) or csv
    #[arg(long, default_value = "table", value_name = "FORMAT")]
    format: String,
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    let by = Dim::parse(&args.by).map_err(bad)?;
    let format = Format::parse(&args.format).map_err(bad)?;
    let filter = args.filter.to_filter(data)?;
    let inv = open_investigator(data)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if args.conversion {
        let f = inv.conversion(&filter).map_err(bad)?;
        write_funnel(&mut out, &f, format)?;
        out.flush()?;
        if f.signals == 0 {
            eprintln!("no signal.generated records in the range");
        }
        return Ok(());
    }
    let s = inv.stats(by, &filter).map_err(bad)?;
    write_stats(&mut out, &s, format)?;
    out.flush()?;
    for n in &s.notes {
        eprintln!("note: {}", printable(n));
    }
    if s.total == 0 && format != Format::Table {
        eprintln!("no records match");
    }
    Ok(())
}
