//! `tradetrail query`, and what `trail`, `incident` and `stats` share with it: the
//! filter flags, the output flags, and opening the query index of a data directory.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget};
use tradetrail_core::DataDir;
use tradetrail_query::render::{printable, RecordWriter};
use tradetrail_query::{
    Cursor, Filter, Format, IndexOptions, Investigator, QueryOptions, QuerySummary, TimeZone,
};

use crate::exit::BadInput;

/// Conditions on records; all must hold.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct FilterArgs {
    /// Records at or after this time (RFC 3339, a date, or ns since the epoch) [ts_event]
    #[arg(long, value_name = "T")]
    from: Option<String>,
    /// Records before this time (exclusive)
    #[arg(long, value_name = "T")]
    to: Option<String>,
    /// --from/--to bound ts_recorded (when the journal took the record) instead of ts_event
    #[arg(long)]
    recorded: bool,
    #[command(flatten)]
    tz: TzArg,
    #[command(flatten)]
    fields: FieldArgs,
}

/// `--tz`: the zone of time values without an offset.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TzArg {
    /// Read dates and times without an offset in this zone, and show times in it (IANA name such as America/New_York, +02:00, or UTC) [default: the configuration's time.zone, else UTC]
    #[arg(long, value_name = "ZONE")]
    tz: Option<String>,
}

impl TzArg {
    /// The zone: `--tz`, else the data directory's `time.zone`, else UTC.
    pub fn zone(&self, data: Option<&Path>) -> Result<tradetrail_model::Zone> {
        super::zone(data, self.tz.as_deref())
    }
}

/// Conditions on fields (no time range): `incident` takes these with its own window.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct FieldArgs {
    /// Record type; `*` matches anything (order.*); repeat or comma-separate for any of several
    #[arg(long = "type", value_name = "PATTERN")]
    types: Vec<String>,
    /// Emitting component (pattern)
    #[arg(long, value_name = "PATTERN")]
    source: Vec<String>,
    /// Who caused it: trader:T-03, algo:*, operator:* (pattern)
    #[arg(long, value_name = "PATTERN")]
    actor: Vec<String>,
    /// trader_id (pattern)
    #[arg(long, value_name = "PATTERN")]
    trader: Vec<String>,
    /// strategy_id (pattern)
    #[arg(long, value_name = "PATTERN")]
    strategy: Vec<String>,
    /// account_id (pattern)
    #[arg(long, value_name = "PATTERN")]
    account: Vec<String>,
    /// instrument_id (pattern)
    #[arg(long, value_name = "PATTERN")]
    instrument: Vec<String>,
    /// entity.kind: order, position, ... (pattern)
    #[arg(long, value_name = "PATTERN")]
    kind: Vec<String>,
    /// Records about this entity (entity.id, exactly)
    #[arg(long, value_name = "ID")]
    entity: Option<String>,
    /// Records that name this id as entity.id or in refs
    #[arg(long, value_name = "ID")]
    mentions: Option<String>,
    /// Free text: records whose data contains it (its JSON text, ignoring ASCII case)
    #[arg(long, value_name = "TEXT")]
    text: Option<String>,
    /// Operational log lines (log.*) at or above this level: debug, info, warning, error, critical
    #[arg(long, value_name = "LEVEL", conflicts_with = "types")]
    level: Option<String>,
    /// Operational log lines of this category (order, connection, ...)
    #[arg(long, value_name = "CATEGORY", conflicts_with_all = ["entity", "kind"])]
    category: Option<String>,
}

impl FilterArgs {
    /// The filter, with every value checked (bad ones exit 2); times without an offset
    /// are read in `--tz`, else the data directory's zone.
    pub fn to_filter(&self, data: Option<&Path>) -> Result<Filter> {
        let zone = self.tz.zone(data)?;
        let mut f = self.fields.to_filter()?;
        let mut set = |name: &str, v: &str| f.set_in(name, v, &zone).map_err(bad);
        if let Some(v) = &self.from {
            set("from", v)?;
        }
        if let Some(v) = &self.to {
            set("to", v)?;
        }
        if self.recorded {
            set("recorded", "true")?;
        }
        f.check().map_err(bad)?;
        Ok(f)
    }
}

impl FieldArgs {
    pub fn to_filter(&self) -> Result<Filter> {
        let mut f = Filter::default();
        let lists = [
            ("type", &self.types),
            ("source", &self.source),
            ("actor", &self.actor),
            ("trader", &self.trader),
            ("strategy", &self.strategy),
            ("account", &self.account),
            ("instrument", &self.instrument),
            ("kind", &self.kind),
        ];
        for (name, values) in lists {
            for v in values {
                set_checked(&mut f, name, v)?;
            }
        }
        if let Some(v) = &self.entity {
            set_checked(&mut f, "entity", v)?;
        }
        if let Some(v) = &self.mentions {
            set_checked(&mut f, "mentions", v)?;
        }
        if let Some(v) = &self.text {
            set_checked(&mut f, "text", v)?;
        }
        if let Some(v) = &self.level {
            set_checked(&mut f, "level", v)?;
        }
        if let Some(v) = &self.category {
            set_checked(&mut f, "category", v)?;
        }
        Ok(f)
    }
}

fn set_checked(f: &mut Filter, name: &str, v: &str) -> Result<()> {
    f.set(name, v).map_err(bad)
}

/// A library error in the question becomes exit 2; anything else stays as it is.
pub fn bad(e: tradetrail_query::Error) -> anyhow::Error {
    if e.is_bad_input() {
        BadInput(e.to_string()).into()
    } else {
        e.into()
    }
}

/// How rows come out.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// table (for reading), jsonl (the journal's lines, byte for byte) or csv
    #[arg(long, default_value = "table", value_name = "FORMAT")]
    format: String,
    /// Show times in this machine's time zone instead of --tz / time.zone / UTC (table and csv)
    #[arg(long)]
    local: bool,
}

impl OutputArgs {
    pub fn format(&self) -> Result<Format> {
        Format::parse(&self.format).map_err(bad)
    }
    /// How times are shown: `--local`, else in `zone` (`--tz`, else the
    /// configuration's `time.zone`; UTC by default).
    pub fn zone(&self, zone: &tradetrail_model::Zone) -> TimeZone {
        if self.local {
            TimeZone::Local
        } else {
            TimeZone::of(zone)
        }
    }
}

/// Opens the query index of a data directory through the read door (the journal read
/// without its lock: a server may be appending), and catches it up; a spinner shows a
/// long (re)build.
pub fn open_investigator(data: Option<&Path>) -> Result<Investigator> {
    let read = super::open_read(&DataDir::resolve(data))?;
    let pb = ProgressBar::new_spinner();
    pb.set_style(super::counting_style(
        "{spinner} indexing the journal: {human_pos} records ({rate}/s)",
    ));
    if !std::io::stderr().is_terminal() {
        pb.set_draw_target(ProgressDrawTarget::hidden());
    }
    let opts = IndexOptions {
        persist: true,
        // A one-shot process saves whatever it read, for the next call.
        flush_rows: 1,
    };
    let shown = std::cell::Cell::new(false);
    let inv = Investigator::open_with(read.source(), read.query_index(), opts, &|n| {
        if !shown.get() {
            shown.set(true);
            pb.enable_steady_tick(Duration::from_millis(200));
        }
        pb.set_position(n);
    })
    .map_err(bad)?;
    pb.finish_and_clear();
    let st = inv.status();
    if st.opened.rebuilt && st.rows > 100_000 {
        eprintln!(
            "built the query index: {} records, {} under {}",
            st.rows,
            super::human_bytes(st.disk_bytes),
            st.dir.display()
        );
    }
    if let Some(w) = &st.warning {
        eprintln!("warning: {w}");
    }
    Ok(inv)
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    filter: FilterArgs,
    /// At most this many records (default: every match); a page that stops here says so on stderr, with the --after to continue
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Newest first (with --limit: the last N)
    #[arg(long)]
    reverse: bool,
    #[command(flatten)]
    page: PageArgs,
    /// Print one JSON object, as GET /v1/events answers: {"records":[…],"summary":{"returned","notes","truncated","next"}}
    #[arg(long, conflicts_with_all = ["format", "local"])]
    json: bool,
    #[command(flatten)]
    output: OutputArgs,
    /// Keep running and print matching records as they are recorded, like tail -f, until Ctrl-C: first the matches already there (after --after; with --limit N, only the last N), then each new one, polling every 200 ms
    #[arg(long, conflicts_with_all = ["reverse", "before", "json"])]
    follow: bool,
}

/// Where a page starts, by `seq` (the cursor a truncated answer gives).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PageArgs {
    /// Only records with a greater seq: the next page after a truncated answer
    #[arg(long, value_name = "SEQ")]
    pub after: Option<u64>,
    /// Only records with a smaller seq: the next page of a truncated --reverse answer
    #[arg(long, value_name = "SEQ")]
    pub before: Option<u64>,
}

/// The options of a page: `--limit` (at least 1), `--after`, `--before`.
pub fn page_options(limit: Option<usize>, reverse: bool, page: &PageArgs) -> Result<QueryOptions> {
    if limit == Some(0) {
        return Err(BadInput("--limit: must be at least 1".into()).into());
    }
    Ok(QueryOptions {
        limit,
        reverse,
        after: page.after,
        before: page.before,
    })
}

/// Says on stderr that an answer stopped at its limit, and how to go on.
pub fn truncation_note(limit: Option<usize>, next: Option<Cursor>) {
    let (Some(limit), Some(next)) = (limit, next) else {
        return;
    };
    let (name, seq) = next.param();
    eprintln!(
        "note: stopped at --limit {limit}; more records match: continue with --{name} {seq} \
         (and the same filters and --limit)"
    );
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    if args.follow {
        return follow(data, args);
    }
    let filter = args.filter.to_filter(data)?;
    let format = args.output.format()?;
    let opts = page_options(args.limit, args.reverse, &args.page)?;
    let inv = open_investigator(data)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let to_stdout = |e: std::io::Error| tradetrail_query::Error::Io {
        path: "stdout".into(),
        source: e,
    };
    let mut sink = if args.json {
        Sink::Json(&mut out, false)
    } else {
        Sink::Rows(RecordWriter::new(
            &mut out,
            format,
            args.output.zone(&args.filter.tz.zone(data)?),
        ))
    };
    let summary = inv
        .query_each(&filter, &opts, &mut |seq, line| {
            match &mut sink {
                Sink::Rows(w) => w.write(seq, line),
                Sink::Json(out, started) => json_record(&mut **out, started, line),
            }
            .map_err(to_stdout)?;
            Ok(true)
        })
        .map_err(|e| match e {
            // A closed pipe ends the output; it is not a failure (see exit.rs).
            tradetrail_query::Error::Io { path, source } if path.as_os_str() == "stdout" => {
                anyhow::Error::from(source)
            }
            e => bad(e),
        })?;
    match sink {
        Sink::Rows(mut w) => w.finish()?,
        Sink::Json(out, started) => json_finish(out, started, &summary)?,
    }
    out.flush()?;
    for n in &summary.notes {
        eprintln!("note: {}", printable(n));
    }
    if summary.returned == 0 {
        eprintln!("no records match");
    }
    truncation_note(opts.limit, summary.next);
    Ok(())
}

/// Where records go: rows in a format, or `--json`'s one object (and whether its
/// first record is out).
enum Sink<'w> {
    Rows(RecordWriter<'w>),
    Json(&'w mut dyn Write, bool),
}

/// `--json`, streamed: `{"records":[` the journal's lines, comma separated …
fn json_record(out: &mut dyn Write, started: &mut bool, line: &[u8]) -> std::io::Result<()> {
    out.write_all(if *started { b"," } else { b"{\"records\":[" })?;
    *started = true;
    out.write_all(line)
}

/// … `],"summary":{…}}`.
fn json_finish(out: &mut dyn Write, started: bool, summary: &QuerySummary) -> Result<()> {
    if !started {
        out.write_all(b"{\"records\":[")?;
    }
    out.write_all(b"],\"summary\":")?;
    serde_json::to_writer(&mut *out, summary)?;
    out.write_all(b"}\n")?;
    Ok(())
}

/// How often `--follow` looks for new records.
const FOLLOW_EVERY: Duration = Duration::from_millis(200);

/// `query --follow`: the library's live view polled until Ctrl-C (or SIGTERM) or a
/// closed stdout; every batch is flushed as soon as it is written.
fn follow(data: Option<&Path>, args: Args) -> Result<()> {
    let filter = args.filter.to_filter(data)?;
    let format = args.output.format()?;
    if args.limit == Some(0) {
        return Err(BadInput("--limit: must be at least 1".into()).into());
    }
    let inv = open_investigator(data)?;
    let mut view = inv
        .follow(filter, args.page.after, args.limit)
        .map_err(bad)?;
    let stop = stop_flag();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut w = RecordWriter::new(
        &mut out,
        format,
        args.output.zone(&args.filter.tz.zone(data)?),
    );
    let to_stdout = |e: std::io::Error| tradetrail_query::Error::Io {
        path: "stdout".into(),
        source: e,
    };
    let mut first = true;
    loop {
        let batch = view
            .poll(&mut |seq, line| {
                w.write(seq, line).map_err(to_stdout)?;
                Ok(!stop.load(Ordering::Relaxed))
            })
            .map_err(|e| match e {
                // A closed pipe ends the view; it is not a failure (see exit.rs).
                tradetrail_query::Error::Io { path, source } if path.as_os_str() == "stdout" => {
                    anyhow::Error::from(source)
                }
                e => bad(e),
            })?;
        if first {
            // The table or CSV header shows at once, even before the first match.
            w.finish()?;
            for n in &batch.notes {
                eprintln!("note: {}", printable(n));
            }
            if let Some(before) = batch.earlier_before {
                eprintln!(
                    "note: showed the last {} matches; earlier ones: --before {before} \
                     (without --follow)",
                    batch.returned
                );
            }
            first = false;
        }
        w.flush()?;
        // Wait for the next poll, in slices, so that Ctrl-C and a reader that went
        // away end the view promptly.
        let until = std::time::Instant::now() + FOLLOW_EVERY;
        loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            if stdout_closed() {
                return Ok(());
            }
            let now = std::time::Instant::now();
            if now >= until {
                break;
            }
            std::thread::sleep((until - now).min(Duration::from_millis(50)));
        }
    }
}

/// A flag that Ctrl-C (SIGINT) or SIGTERM sets, instead of ending the process at
/// once: a small runtime on its own thread waits for the signals. When that cannot
/// be set up, the signals keep their default effect.
pub fn stop_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = flag.clone();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                let _ = ready_tx.send(());
                return;
            };
            rt.block_on(async {
                let int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt());
                let term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
                let _ = ready_tx.send(());
                match (int, term) {
                    (Ok(mut int), Ok(mut term)) => {
                        tokio::select! {
                            _ = int.recv() => {}
                            _ = term.recv() => {}
                        }
                    }
                    (Ok(mut int), Err(_)) => {
                        int.recv().await;
                    }
                    _ => std::future::pending::<()>().await,
                }
            });
            set.store(true, Ordering::Relaxed);
        });
    if spawned.is_ok() {
        // Handlers are in place before the first record is printed.
        let _ = ready_rx.recv_timeout(Duration::from_secs(2));
    }
    flag
}

/// True when nobody reads stdout any more (a pipe whose reader closed), found
/// without writing: `tail -f` does the same, so a view with nothing to print still
/// ends with its reader.
fn stdout_closed() -> bool {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    let out = std::io::stdout();
    let mut fds = [PollFd::new(&out, PollFlags::empty())];
    let zero = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    match poll(&mut fds, Some(&zero)) {
        Ok(n) if n > 0 => fds[0].revents().intersects(PollFlags::ERR | PollFlags::HUP),
        _ => false,
    }
}
