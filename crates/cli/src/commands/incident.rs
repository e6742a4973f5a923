//! `tradetrail incident --at T --window 5m`

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use tradetrail_query::render::{printable, write_incident};
use tradetrail_query::{parse_time_in, parse_window};

use super::query::{
    bad, open_investigator, page_options, truncation_note, FieldArgs, OutputArgs, PageArgs, TzArg,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The instant (RFC 3339, a date, or ns since the epoch; without an offset, in --tz)
    #[arg(long, value_name = "T")]
    at: String,
    #[command(flatten)]
    tz: TzArg,
    /// How far either side of --at: 500ms, 30s, 5m, 2h, 1h30m
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    window: String,
    #[command(flatten)]
    fields: FieldArgs,
    /// At most this many records (the counts cover them all); a page that stops here says so on stderr, with the --after to continue
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Only records with a greater seq: the next page after a truncated answer
    #[arg(long, value_name = "SEQ")]
    after: Option<u64>,
    /// Only the counts by source and type
    #[arg(long)]
    counts: bool,
    #[command(flatten)]
    output: OutputArgs,
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    let zone = args.tz.zone(data)?;
    let at = parse_time_in("--at", &args.at, &zone).map_err(bad)?;
    let window = parse_window("--window", &args.window).map_err(bad)?;
    let filter = args.fields.to_filter()?;
    let format = args.output.format()?;
    let inv = open_investigator(data)?;
    let page = PageArgs {
        after: args.after,
        before: None,
    };
    let opts = page_options(args.limit, false, &page)?;
    let inc = inv.incident(at, window, &filter, &opts).map_err(bad)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    write_incident(&mut out, &inc, format, args.output.zone(&zone), args.counts)?;
    out.flush()?;
    for n in &inc.notes {
        eprintln!("note: {}", printable(n));
    }
    if inc.total == 0 {
        eprintln!("no records within the window");
    }
    truncation_note(opts.limit, inc.next);
    Ok(())
}
