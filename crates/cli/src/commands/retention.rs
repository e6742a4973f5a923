//! `tradetrail retention status | plan | apply`

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use tradetrail_archive::{apply, plan, Plan};
use tradetrail_core::DataDir;
use tradetrail_model::format_time;

use super::archive::cli_error;
use crate::exit::BadInput;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// What is hot (JSONL), archived, held, and due for removal or purge
    Status(ViewArgs),
    /// Exactly what `apply` would remove now, and why everything else stays
    Plan(ViewArgs),
    /// Remove archived JSONL segments past the hot window and purge expired, unheld partitions
    Apply(ApplyArgs),
}

#[derive(Debug, clap::Args)]
struct ViewArgs {
    /// Show the plan as of this instant instead of now (RFC 3339, a date, or ns); `apply` always uses now
    #[arg(long, value_name = "T")]
    as_of: Option<String>,
    /// One JSON object
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct ApplyArgs {
    /// Who applies it [default: operator:$USER]
    #[arg(long)]
    actor: Option<String>,
    /// One JSON object
    #[arg(long)]
    json: bool,
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    let dir = DataDir::resolve(data);
    let mut out = std::io::stdout().lock();
    match args.what {
        What::Status(a) | What::Plan(a) if a.json => {
            let now = as_of(a.as_of)?;
            let p = plan(&dir, now).map_err(cli_error)?;
            writeln!(out, "{}", serde_json::to_string(&p)?)?;
        }
        What::Status(a) => {
            let p = plan(&dir, as_of(a.as_of)?).map_err(cli_error)?;
            print_status(&mut out, &p)?;
        }
        What::Plan(a) => {
            let p = plan(&dir, as_of(a.as_of)?).map_err(cli_error)?;
            print_plan(&mut out, &p)?;
        }
        What::Apply(a) => {
            let rec = super::open_recorder(&dir)?;
            let done = apply(&rec, &super::hold::default_actor(a.actor)).map_err(cli_error)?;
            if a.json {
                writeln!(out, "{}", serde_json::to_string(&done)?)?;
                return Ok(());
            }
            let p = &done.plan;
            if done.finished_earlier > 0 {
                writeln!(
                    out,
                    "finished {} file(s) of a purge an interrupted apply had recorded",
                    done.finished_earlier
                )?;
            }
            for s in &p.remove_segments {
                writeln!(
                    out,
                    "removed {} (seq {}..={}, archived)",
                    s.path.display(),
                    s.first_seq,
                    s.last_seq
                )?;
            }
            for pp in &p.purge {
                writeln!(
                    out,
                    "purged {} (seq {}..={}, {} records)",
                    pp.day, pp.first_seq, pp.last_seq, pp.records
                )?;
            }
            match done.purge_record {
                Some(seq) => writeln!(
                    out,
                    "recorded as journal.retention_purged at seq {seq}: {} records in {} partition(s)",
                    p.purge_records(),
                    p.purge.len()
                )?,
                None if p.remove_segments.is_empty() => writeln!(out, "nothing to remove")?,
                None => writeln!(out, "nothing to purge")?,
            }
        }
    }
    Ok(())
}

fn as_of(t: Option<String>) -> Result<i64> {
    match t {
        None => Ok(now_ns()),
        Some(s) => {
            tradetrail_model::parse_time(&s).map_err(|e| BadInput(format!("--as-of: {e}")).into())
        }
    }
}

fn print_status(out: &mut dyn Write, p: &Plan) -> Result<()> {
    writeln!(out, "as of {}", format_time(p.now))?;
    writeln!(
        out,
        "hot (journal/):   {} records from seq {}; hot window {}",
        p.journal_records, p.journal_first_seq, p.hot_window
    )?;
    writeln!(
        out,
        "archived:         {} records in {} partition(s), up to seq {}; {} sealed segment(s) not archived yet",
        p.archived_records,
        p.partitions,
        p.archive_end.saturating_sub(1),
        p.unarchived_segments
    )?;
    writeln!(out, "purged so far:    {} records", p.purged_records)?;
    writeln!(out, "legal holds:      {} active", p.holds.len())?;
    let held = p.kept.iter().filter(|k| !k.holds.is_empty()).count();
    writeln!(out, "held partitions:  {held}")?;
    writeln!(
        out,
        "due now:          {} segment(s) to leave journal/, {} partition(s) ({} records) to purge",
        p.remove_segments.len(),
        p.purge.len(),
        p.purge_records()
    )?;
    if p.keep.is_empty() {
        writeln!(
            out,
            "rules:            none ([retention.keep] is empty): nothing is ever purged"
        )?;
    } else {
        let rules: Vec<String> = p.keep.iter().map(|(k, v)| format!("{k} {v}")).collect();
        writeln!(out, "rules:            {}", rules.join(", "))?;
    }
    Ok(())
}

fn print_plan(out: &mut dyn Write, p: &Plan) -> Result<()> {
    writeln!(
        out,
        "retention plan as of {} (`retention apply` does exactly this, now):",
        format_time(p.now)
    )?;
    if p.remove_segments.is_empty() && p.purge.is_empty() {
        writeln!(out, "nothing to remove")?;
    }
    for s in &p.remove_segments {
        writeln!(
            out,
            "remove JSONL {} (seq {}..={}, last record {}): archived, past the {} hot window",
            s.path.display(),
            s.first_seq,
            s.last_seq,
            format_time(s.last_ts_recorded),
            p.hot_window
        )?;
    }
    for pp in &p.purge {
        writeln!(
            out,
            "purge {} (seq {}..={}, {} records, {} file(s)): expired on {}",
            pp.day,
            pp.first_seq,
            pp.last_seq,
            pp.records,
            pp.files.len(),
            pp.expired_on
        )?;
    }
    if !p.kept.is_empty() {
        writeln!(out, "kept:")?;
        for k in &p.kept {
            writeln!(out, "  {} ({} records): {}", k.day, k.records, k.reason)?;
        }
    }
    Ok(())
}
