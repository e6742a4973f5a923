//! `tradetrail append [FILE|-]`

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tradetrail_core::{DataDir, Recorder};
use tradetrail_journal::Durability;

use crate::exit::{Exit, BAD_INPUT};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// JSON Lines file of events; `-` or nothing reads stdin
    file: Option<PathBuf>,
    /// Override the configured durability for every event of this run
    #[arg(long, value_parser = parse_durability)]
    durability: Option<Durability>,
    /// Validate only: report every bad line, write nothing
    #[arg(long)]
    dry_run: bool,
}

fn parse_durability(s: &str) -> Result<Durability, String> {
    s.parse()
}

/// Events are sequenced in groups of this many; their receipts are printed (and
/// flushed) as soon as the group is acknowledged.
const GROUP: usize = 1024;

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    let dir = DataDir::resolve(data);
    let (rec, report) = Recorder::open(&dir)?;
    if !report.is_clean() {
        eprintln!(
            "recovered: cut a torn last record of {} bytes from {}",
            report.truncated_bytes,
            report
                .truncated_segment
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        );
    }
    let input: Box<dyn Read> = match args.file.as_deref() {
        None => Box::new(std::io::stdin().lock()),
        Some(p) if p == Path::new("-") => Box::new(std::io::stdin().lock()),
        Some(p) => Box::new(
            std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?,
        ),
    };
    let name = args
        .file
        .as_deref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "stdin".into());

    // Pass 1: validate and serialize every line. Nothing is written unless all are good.
    let mut entries = Vec::new();
    let mut bad = 0usize;
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    for (i, line) in BufReader::new(input).split(b'\n').enumerate() {
        let line = line.with_context(|| format!("reading {name}"))?;
        let lineno = i + 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match rec.prepare_line(&line, args.durability) {
            Ok(e) => entries.push(e),
            Err(errors) => {
                bad += 1;
                for fe in errors.iter() {
                    writeln!(err, "{name}:{lineno}: {}: {}", fe.field, fe.reason)?;
                }
            }
        }
    }
    if bad > 0 {
        writeln!(err, "error: {bad} bad line(s); nothing was written")?;
        return Err(Exit(BAD_INPUT).into());
    }
    if args.dry_run {
        writeln!(
            err,
            "{} event(s) valid; nothing written (--dry-run)",
            entries.len()
        )?;
        return Ok(());
    }

    // Pass 2: append, printing each receipt once it is acknowledged.
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut written = 0usize;
    let mut dups = 0usize;
    let total = entries.len();
    let mut it = entries.into_iter();
    loop {
        let group: Vec<_> = it.by_ref().take(GROUP).collect();
        if group.is_empty() {
            break;
        }
        let tickets = rec.journal().submit_batch(group)?;
        for t in tickets {
            let r = rec.wait(t)?;
            if r.duplicate {
                dups += 1;
                writeln!(
                    out,
                    "{{\"seq\":{},\"hash\":\"{}\",\"duplicate\":true}}",
                    r.seq, r.hash
                )?;
            } else {
                written += 1;
                writeln!(out, "{{\"seq\":{},\"hash\":\"{}\"}}", r.seq, r.hash)?;
            }
        }
        out.flush()?;
    }
    drop(out);
    writeln!(
        err,
        "appended {written} event(s){} of {total}",
        if dups > 0 {
            format!(", {dups} already recorded (same event_id)")
        } else {
            String::new()
        }
    )?;
    Ok(())
}
