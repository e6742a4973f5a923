//! `tradetrail append [FILE|-]`

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tradetrail_core::{write_receipt_json, Appended, DataDir, FirstBody, Prepared, APPEND_GROUP};
use tradetrail_journal::{Durability, Receipt};

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
    /// Print one summary line instead of a receipt per event:
    /// {"appended":N,"duplicates":N,"first_seq":S,"last_seq":S,"last_hash":"…"}
    #[arg(long)]
    quiet: bool,
}

fn parse_durability(s: &str) -> Result<Durability, String> {
    s.parse()
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    let dir = DataDir::resolve(data);
    let rec = super::open_recorder(&dir)?;
    let name = args
        .file
        .as_deref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "stdin".into());
    let input: Box<dyn Read> = match args.file.as_deref() {
        Some(p) if p != Path::new("-") => Box::new(std::fs::File::open(p).map_err(|e| {
            anyhow::Error::new(BadInput(format!("cannot open {}: {e}", p.display())))
        })?),
        _ => Box::new(std::io::stdin().lock()),
    };

    // Pass 1: validate and serialize every line (on every core, the input read in
    // large blocks). Nothing is written unless all are good.
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    let prepared = rec
        .prepare_reader(input, args.durability)
        .with_context(|| format!("reading {name}"))?;
    let Prepared {
        entries,
        lines: linenos,
    } = match prepared {
        Ok(p) => p,
        Err(bad) => {
            let mut report = std::io::BufWriter::new(&mut err);
            for b in &bad {
                for fe in b.errors.iter() {
                    writeln!(report, "{name}:{}: {}: {}", b.line, fe.field, fe.reason)?;
                }
            }
            writeln!(
                report,
                "error: {} bad line(s); nothing was written",
                bad.len()
            )?;
            report.flush()?;
            return Err(Exit(BAD_INPUT).into());
        }
    };
    if args.dry_run {
        // What the append would refuse for a repeated event_id, checked as it would be.
        rec.check_input_repeats(&entries)
            .map_err(|e| conflict(e, &name, &linenos))?;
        writeln!(
            err,
            "{} event(s) valid; nothing written (--dry-run)",
            entries.len()
        )?;
        return Ok(());
    }

    // Pass 2: append, printing each group's receipts as soon as it is acknowledged.
    // If stdout is closed the appending goes on (the input was accepted whole); only
    // printing stops.
    let total = entries.len();
    let mut out = Receipts {
        out: std::io::stdout(),
        buf: Vec::with_capacity(APPEND_GROUP * 100),
        closed: false,
        quiet: args.quiet,
        span: None,
    };
    let appended = rec
        .append_input(entries, |receipts| out.group(receipts))
        .map_err(|e| conflict(e, &name, &linenos))?;
    out.finish(appended)?;
    let Appended {
        written,
        duplicates: dups,
    } = appended;
    let closed = out.closed;
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
/// are.
fn conflict(e: tradetrail_core::Error, name: &str, linenos: &[usize]) -> anyhow::Error {
    let line = |i: usize| linenos.get(i).copied().unwrap_or(0);
    let tradetrail_core::Error::Repeated {
        index,
        event_id,
        first,
    } = &e
    else {
        return e.into();
    };
    let id = event_id
        .as_deref()
        .map_or_else(|| "its event_id".to_string(), |id| format!("event_id {id}"));
    let msg = match first {
        FirstBody::Record(seq) => format!(
            "{name}:{}: {id} is already used by record {seq} with a different body; \
             nothing was written: give this event a new event_id (a retry must repeat \
             the recorded event exactly)",
            line(*index),
        ),
        FirstBody::Input(first) => format!(
            "{name}:{}: {id} is also on line {} with a different body; nothing was \
             written: give each event an event_id of its own",
            line(*index),
            line(*first),
        ),
    };
    anyhow::Error::new(BadInput(msg))
}

/// Receipt printing that survives a closed stdout: a group's receipts are gathered in
/// one buffer and written at once; `quiet`, one summary line at the end instead.
struct Receipts<W: Write> {
    out: W,
    buf: Vec<u8>,
    closed: bool,
    quiet: bool,
    /// `quiet`: the first seq and the last receipt seen.
    span: Option<(u64, Receipt)>,
}

impl<W: Write> Receipts<W> {
    fn group(&mut self, receipts: &[Receipt]) -> std::io::Result<()> {
        for r in receipts {
            if self.quiet {
                let first = self.span.as_ref().map_or(r.seq, |(f, _)| *f);
                self.span = Some((first, *r));
            } else if !self.closed {
                write_receipt_json(&mut self.buf, r);
                self.buf.push(b'\n');
            }
        }
        self.flush()
    }

    /// `quiet`: the summary line.
    fn finish(&mut self, appended: Appended) -> std::io::Result<()> {
        if !self.quiet {
            return Ok(());
        }
        let span = self.span.as_ref();
        let summary = serde_json::json!({
            "appended": appended.written,
            "duplicates": appended.duplicates,
            "first_seq": span.map(|(f, _)| *f),
            "last_seq": span.map(|(_, r)| r.seq),
            "last_hash": span.map(|(_, r)| r.hash.to_hex()),
        });
        self.buf.extend_from_slice(summary.to_string().as_bytes());
        self.buf.push(b'\n');
        self.flush()
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let r = self
            .out
            .write_all(&self.buf)
            .and_then(|()| self.out.flush());
        self.buf.clear();
        match r {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            other => other,
        }
    }
}
