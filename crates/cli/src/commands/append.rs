//! `tradetrail append [FILE|-]`

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tradetrail_core::{write_receipt_json, DataDir, Prepared};
use tradetrail_journal::{Durability, Receipt, Ticket};

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

/// Events are sequenced in groups of this many; their receipts are printed (and
/// flushed) as soon as the group is acknowledged.
const GROUP: usize = 1024;

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

    // Pass 2: append. This thread sequences group after group (the chain's hashes,
    // which only one thread can compute) while a second one waits for each group to be
    // written and prints its receipts, so writing and printing overlap the hashing. If
    // stdout is closed the appending goes on (the input was accepted whole); only
    // printing stops.
    let total = entries.len();
    let pass2 = || {
        std::thread::scope(|s| -> Result<Acked> {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Ticket>>(IN_FLIGHT);
            let waiter = s.spawn(|| acknowledge(&rec, rx, args.quiet));
            let mut submitted = Ok(());
            let mut group_start = 0usize;
            let mut it = entries.into_iter();
            loop {
                let group: Vec<_> = it.by_ref().take(GROUP).collect();
                if group.is_empty() {
                    break;
                }
                let n = group.len();
                match rec.journal().submit_batch(group) {
                    // A closed channel means the waiter stopped on an error: it says which.
                    Ok(tickets) => {
                        if tx.send(tickets).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        submitted = Err(conflict(e, &name, &[], &linenos, group_start));
                        break;
                    }
                }
                group_start += n;
            }
            drop(tx);
            let acked = waiter
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            submitted?;
            Ok(acked)
        })
    };
    // A large input keeps the Merkle tree level on the other core as it is written,
    // so the checkpoint after it (or the next one) need not read it all back.
    let acked = if total >= FOLLOW_TREE_FROM {
        tradetrail_core::Tree::follow_while(&rec, pass2)
    } else {
        pass2()
    }?;
    let Acked {
        written,
        dups,
        closed,
    } = acked;
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

/// Inputs of this many events or more have the Merkle tree follow the appending.
const FOLLOW_TREE_FROM: usize = 50_000;

/// Groups of tickets submitted while the previous ones are written.
const IN_FLIGHT: usize = 8;

/// What the acknowledging thread saw.
struct Acked {
    written: usize,
    dups: usize,
    /// stdout was closed before every receipt was printed.
    closed: bool,
}

/// Waits for every group of tickets `rx` brings, in order, printing each group's
/// receipts once it is acknowledged (or, `quiet`, one summary line at the end).
fn acknowledge(
    rec: &tradetrail_core::Recorder,
    rx: std::sync::mpsc::Receiver<Vec<Ticket>>,
    quiet: bool,
) -> Result<Acked> {
    let stdout = std::io::stdout();
    let mut out = Receipts {
        out: stdout.lock(),
        buf: Vec::with_capacity(GROUP * 100),
        closed: false,
    };
    let mut written = 0usize;
    let mut dups = 0usize;
    let mut span: Option<(u64, Receipt)> = None;
    for tickets in rx {
        for r in rec.wait_all(tickets)? {
            if r.duplicate {
                dups += 1;
            } else {
                written += 1;
            }
            if quiet {
                let first = span.as_ref().map_or(r.seq, |(f, _)| *f);
                span = Some((first, r));
            } else {
                out.push(&r);
            }
        }
        out.flush()?;
    }
    if quiet {
        let summary = serde_json::json!({
            "appended": written,
            "duplicates": dups,
            "first_seq": span.as_ref().map(|(f, _)| *f),
            "last_seq": span.as_ref().map(|(_, r)| r.seq),
            "last_hash": span.as_ref().map(|(_, r)| r.hash.to_hex()),
        });
        out.buf.extend_from_slice(summary.to_string().as_bytes());
        out.buf.push(b'\n');
        out.flush()?;
    }
    Ok(Acked {
        written,
        dups,
        closed: out.closed,
    })
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

/// Receipt printing that survives a closed stdout: a group's receipts are gathered in
/// one buffer and written at once.
struct Receipts<W: Write> {
    out: W,
    buf: Vec<u8>,
    closed: bool,
}

impl<W: Write> Receipts<W> {
    fn push(&mut self, r: &Receipt) {
        if !self.closed {
            write_receipt_json(&mut self.buf, r);
            self.buf.push(b'\n');
        }
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
