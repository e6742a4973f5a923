//! `tradetrail append [FILE|-]`

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tradetrail_core::DataDir;
use tradetrail_journal::Durability;

use crate::exit::{BadInput, Exit, BAD_INPUT};

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
    let rec = super::open_recorder(&dir)?;
    let input: Box<dyn Read> = match args.file.as_deref() {
        None => Box::new(std::io::stdin().lock()),
        Some(p) if p == Path::new("-") => Box::new(std::io::stdin().lock()),
        Some(p) => Box::new(std::fs::File::open(p).map_err(|e| {
            anyhow::Error::new(BadInput(format!("cannot open {}: {e}", p.display())))
        })?),
    };
    let name = args
        .file
        .as_deref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "stdin".into());

    // Pass 1: validate and serialize every line. Nothing is written unless all are good.
    let mut entries = Vec::new();
    // The input line number of each entry, to name it in a conflict.
    let mut linenos = Vec::new();
    let mut bad = 0usize;
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    for (i, line) in BufReader::new(input).split(b'\n').enumerate() {
        let mut line = line.with_context(|| format!("reading {name}"))?;
        let lineno = i + 1;
        if lineno == 1 && line.starts_with(b"\xef\xbb\xbf") {
            line.drain(..3); // a UTF-8 byte-order mark is not part of the first event
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match rec.prepare_line(&line, args.durability) {
            Ok(e) => {
                entries.push(e);
                linenos.push(lineno);
            }
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
    // An event_id already used with another body (in the journal or earlier in the
    // input) refuses the whole input, although it is submitted in groups below.
    rec.journal()
        .check_repeats(&entries)
        .map_err(|e| conflict(e, &name, &entries, &linenos, 0))?;
    if args.dry_run {
        writeln!(
            err,
            "{} event(s) valid; nothing written (--dry-run)",
            entries.len()
        )?;
        return Ok(());
    }

    // Pass 2: append, printing each receipt once it is acknowledged. If stdout is
    // closed the appending goes on (the input was accepted whole); only printing stops.
    let stdout = std::io::stdout();
    let mut out = Receipts {
        out: std::io::BufWriter::new(stdout.lock()),
        closed: false,
    };
    let mut written = 0usize;
    let mut dups = 0usize;
    let total = entries.len();
    let mut group_start = 0usize;
    let mut it = entries.into_iter();
    loop {
        let group: Vec<_> = it.by_ref().take(GROUP).collect();
        if group.is_empty() {
            break;
        }
        let n = group.len();
        let tickets = rec
            .journal()
            .submit_batch(group)
            .map_err(|e| conflict(e, &name, &[], &linenos, group_start))?;
        group_start += n;
        for t in tickets {
            let r = rec.wait(t)?;
            if r.duplicate {
                dups += 1;
                out.line(format_args!(
                    "{{\"seq\":{},\"hash\":\"{}\",\"duplicate\":true}}",
                    r.seq, r.hash
                ))?;
            } else {
                written += 1;
                out.line(format_args!(
                    "{{\"seq\":{},\"hash\":\"{}\"}}",
                    r.seq, r.hash
                ))?;
            }
        }
        out.flush()?;
    }
    let closed = out.closed;
    drop(out);
    super::checkpoint_if_due(&rec);
    if closed {
        writeln!(
            err,
            "stdout was closed: receipts after that point were not printed"
        )?;
    }
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

/// A refused repeat of an `event_id` as bad input (exit 2), naming the input line, the
/// `event_id` and the record (or line) that holds its first body; other errors as they
/// are. `offset` is the input position of the call's first entry.
fn conflict(
    e: tradetrail_journal::Error,
    name: &str,
    entries: &[tradetrail_journal::Entry],
    linenos: &[usize],
    offset: usize,
) -> anyhow::Error {
    use tradetrail_journal::Error as J;
    let line = |i: usize| linenos.get(offset + i).copied().unwrap_or(0);
    let id = |i: usize| {
        entries
            .get(i)
            .and_then(|e| serde_json::from_slice::<serde_json::Value>(e.body()).ok())
            .and_then(|v| {
                v.get("event_id")
                    .and_then(|id| id.as_str())
                    .map(str::to_owned)
            })
            .map(|id| format!("event_id {id}"))
            .unwrap_or_else(|| "its event_id".into())
    };
    let msg = match &e {
        J::Conflict { seq, index } => format!(
            "{name}:{}: {} is already used by record {seq} with a different body; \
             nothing was written: give this event a new event_id (a retry must repeat \
             the recorded event exactly)",
            line(*index),
            id(*index),
        ),
        J::ConflictInBatch { first, index } => format!(
            "{name}:{}: {} is also on line {} with a different body; nothing was \
             written: give each event an event_id of its own",
            line(*index),
            id(*index),
            line(*first),
        ),
        _ => return e.into(),
    };
    anyhow::Error::new(BadInput(msg))
}

/// Receipt printing that survives a closed stdout.
struct Receipts<W: Write> {
    out: W,
    closed: bool,
}

impl<W: Write> Receipts<W> {
    fn line(&mut self, args: std::fmt::Arguments<'_>) -> std::io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let r = writeln!(self.out, "{args}");
        self.absorb_closed(r)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let r = self.out.flush();
        self.absorb_closed(r)
    }

    fn absorb_closed(&mut self, r: std::io::Result<()>) -> std::io::Result<()> {
        match r {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            other => other,
        }
    }
}
