//! `tradetrail schema`: the event types, from the validator's own table
//! (`tradetrail_model::schema`).

use std::io::Write;

use anyhow::Result;

#[derive(Debug, clap::Args)]
#[group(multiple = false)]
pub struct Args {
    /// Print one JSON Schema (draft 2020-12) that accepts the events append accepts
    #[arg(long)]
    json_schema: bool,
    /// Print the table as Markdown (docs/events.md)
    #[arg(long)]
    markdown: bool,
    /// Print the table as JSON: {"envelope","types","open_families","reserved_family"}
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let text = if args.json_schema {
        serde_json::to_string_pretty(&tradetrail_model::json_schema())? + "\n"
    } else if args.json {
        serde_json::to_string(&tradetrail_model::type_table())? + "\n"
    } else if args.markdown {
        tradetrail_model::schema::markdown()
    } else {
        tradetrail_model::schema::text()
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}
