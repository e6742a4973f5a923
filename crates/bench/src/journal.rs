//! `tradetrail bench`: the journal's figures beside this machine's own floor.
//!
//! Every figure is measured in the same run as the floor it is compared with — a bare
//! `write` loop and a bare `write`+`fdatasync` loop with the same record and batch
//! sizes on the same file system — so ratios hold on a noisy, shared machine.
//! Latency is append-to-acknowledge, measured open-loop at steady rates (from the
//! instant the event was due, so a stalled writer cannot hide its queue).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tradetrail_journal::{
    verify, Durability, Entry, FsStorage, Journal, JournalOptions, SegmentFile, Storage,
};
use tradetrail_model::Event;

use tradetrail_core::{Error, Result};

use crate::validate::model_lines;

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Events for the saturation runs under `os` durability.
    pub events: u64,
    /// Producer thread counts for the saturation runs.
    pub threads: Vec<usize>,
    /// Size of one record's line in bytes.
    pub record_size: usize,
    /// Seconds for each fsync and steady-rate run.
    pub seconds: f64,
    /// Where to put scratch journals (removed afterwards). Must be on the disk being measured.
    pub dir: PathBuf,
    /// If set, also build a journal of this many records and time opening it.
    pub open_records: Option<u64>,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            events: 1_000_000,
            threads: vec![1, 4],
            record_size: 350,
            seconds: 3.0,
            dir: PathBuf::from("."),
            open_records: None,
        }
    }
}

/// One measured line.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchLine {
    /// Which group: `floor`, `append-os`, `append-fsync`, `steady`, `verify`, `open`, `model`.
    pub group: &'static str,
    /// What was measured.
    pub name: String,
    /// Events (or records) processed.
    pub events: u64,
    /// Throughput.
    pub per_sec: f64,
    /// Latency percentiles in µs, where measured.
    pub p50_us: Option<f64>,
    /// 99th percentile.
    pub p99_us: Option<f64>,
    /// 99.9th percentile.
    pub p999_us: Option<f64>,
    /// Comparison with the floor or the target.
    pub note: String,
}

/// Runs every measurement; `progress` receives a line as each finishes.
pub fn run_bench(
    opts: &BenchOptions,
    progress: &mut dyn FnMut(&BenchLine),
) -> Result<Vec<BenchLine>> {
    let scratch = tempfile::Builder::new()
        .prefix("tradetrail-bench-")
        .tempdir_in(&opts.dir)
        .map_err(|source| Error::Io {
            path: opts.dir.clone(),
            source,
        })?;
    let mut lines = Vec::new();
    let mut emit = |l: BenchLine, lines: &mut Vec<BenchLine>| {
        progress(&l);
        lines.push(l);
    };
    let body = sample_body(opts.record_size);
    let line_len = body.len() + 125; // the header the journal adds

    // Floors.
    let floor_w1 = floor_write(scratch.path(), line_len, 1, opts.events.min(400_000))?;
    emit(floor_w1.clone(), &mut lines);
    let floor_w64 = floor_write(scratch.path(), line_len, 64, opts.events)?;
    emit(floor_w64.clone(), &mut lines);
    let floor_sync1 = floor_fsync(scratch.path(), line_len, 1, opts.seconds)?;
    emit(floor_sync1.clone(), &mut lines);

    // Model: validation + serialization, the producer-side work.
    for l in model_lines(opts.record_size, 200_000) {
        emit(l, &mut lines);
    }

    // Saturation, acknowledged when written to the OS.
    let mut biggest: Option<PathBuf> = None;
    for &t in &opts.threads {
        let dir = scratch.path().join(format!("os-{t}"));
        let (mut l, _) = saturate(&dir, &body, t, opts.events, Durability::Os, None)?;
        l.note = format!(
            "{:.2}x the bare write loop with 1 record per write; target >= 1,000,000/s",
            l.per_sec / floor_w1.per_sec
        );
        emit(l, &mut lines);
        biggest = Some(dir);
    }
    {
        let dir = scratch.path().join("os-pipelined");
        let mut l = saturate_pipelined(&dir, &body, opts.events, 256)?;
        l.note = format!(
            "{:.2}x the bare write loop with 1 record per write; each event submitted and acknowledged on its own; target >= 1,000,000/s",
            l.per_sec / floor_w1.per_sec
        );
        emit(l, &mut lines);
    }
    {
        let dir = scratch.path().join("os-batch");
        let l = saturate_batches(&dir, &body, opts.events, 256)?;
        let mut l = l;
        l.note = format!(
            "{:.2}x the bare write loop with 64 records per write",
            l.per_sec / floor_w64.per_sec
        );
        emit(l, &mut lines);
    }

    // Saturation, acknowledged when fdatasync'd: many producers, group commit.
    for &t in &[1usize, 16, 64] {
        let dir = scratch.path().join(format!("fsync-{t}"));
        let counter = Arc::new(SyncCounter::default());
        let storage = Arc::new(CountingStorage {
            counter: counter.clone(),
        });
        let (mut l, secs) = saturate_for(&dir, &body, t, opts.seconds, Durability::Fsync, storage)?;
        let syncs = counter.syncs.load(Ordering::Relaxed).max(1);
        let batch = (l.events as f64 / syncs as f64).max(1.0);
        let floor = floor_fsync(
            scratch.path(),
            line_len,
            batch.round() as usize,
            opts.seconds.min(secs.max(0.5)),
        )?;
        l.note = format!(
            "{:.1} events per fdatasync; {:.0}% of a bare write+fdatasync loop with that batch ({:.0}/s); target >= 80%",
            batch,
            100.0 * l.per_sec / floor.per_sec,
            floor.per_sec
        );
        emit(l, &mut lines);
    }

    // Steady rates, latency from the instant each event was due.
    let dir = scratch.path().join("steady-os");
    let mut l = steady(&dir, &body, 1, 100_000.0, opts.seconds, Durability::Os)?;
    l.note = "target p99 <= 20 us".into();
    emit(l, &mut lines);
    let dir = scratch.path().join("steady-fsync");
    let mut l = steady(&dir, &body, 32, 10_000.0, opts.seconds, Durability::Fsync)?;
    l.note = format!(
        "p99 is {:.2}x the bare fdatasync p99 ({:.0} us); target <= 1.5x",
        l.p99_us.unwrap_or(0.0) / floor_sync1.p99_us.unwrap_or(1.0),
        floor_sync1.p99_us.unwrap_or(0.0)
    );
    emit(l, &mut lines);

    // Verify, and the Merkle tree over the same journal.
    if let Some(dir) = biggest.as_ref() {
        for l in tree_lines(dir)? {
            emit(l, &mut lines);
        }
    }
    if let Some(dir) = biggest {
        let t0 = Instant::now();
        let report = verify(&FsStorage, &dir, &|_| {})?;
        let secs = t0.elapsed().as_secs_f64();
        emit(
            BenchLine {
                group: "verify",
                name: format!(
                    "verify ({} segments, {} MB)",
                    report.segments,
                    report.bytes / 1_000_000
                ),
                events: report.records,
                per_sec: report.records as f64 / secs,
                p50_us: None,
                p99_us: None,
                p999_us: None,
                note: format!("ok={}; target >= 1,000,000 records/s", report.ok),
            },
            &mut lines,
        );
    }
    if let Some(n) = opts.open_records {
        emit(
            open_line(&scratch.path().join("open"), &body, n)?,
            &mut lines,
        );
    }
    Ok(lines)
}

/// A realistic `order.filled` event, the benches' sample record.
pub fn sample_fill() -> Event {
    Event::new(
        "order.filled",
        1_795_700_000_123_456_789,
        "broker_gateway",
        "system",
    )
    .with_trader("T-03")
    .with_instrument("AAPL.XNAS")
    .with_entity("order", "O-123456")
    .with_data("fill_qty", "100")
    .with_data("fill_price", "228.51")
    .with_data("trade_id", "100123456.0")
}

/// [`sample_fill`]'s body padded so the full line is about `record_size` bytes.
pub fn sample_body(record_size: usize) -> Vec<u8> {
    let mut e = sample_fill();
    // The journal adds a header of about 125 bytes; pad the body to reach the size.
    let base = e.to_body().len() + 125;
    if base + 10 < record_size {
        e = e.with_data("venue", "X".repeat(record_size - base - 10));
    }
    e.to_body()
}

/// p50, p99 and p99.9 of latencies in ns, in µs (`None` for no samples).
pub fn percentiles(mut ns: Vec<u64>) -> (Option<f64>, Option<f64>, Option<f64>) {
    if ns.is_empty() {
        return (None, None, None);
    }
    ns.sort_unstable();
    let at = |q: f64| ns[((ns.len() as f64 * q) as usize).min(ns.len() - 1)] as f64 / 1000.0;
    (Some(at(0.50)), Some(at(0.99)), Some(at(0.999)))
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn floor_write(dir: &Path, line_len: usize, batch: usize, n: u64) -> Result<BenchLine> {
    let path = dir.join(format!("floor-write-{batch}"));
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io_err(&path))?;
    let buf: Vec<u8> = record_line(line_len).repeat(batch);
    let iters = (n as usize).div_ceil(batch);
    let t0 = Instant::now();
    for _ in 0..iters {
        f.write_all(&buf).map_err(io_err(&path))?;
    }
    let secs = t0.elapsed().as_secs_f64();
    drop(f);
    let _ = std::fs::remove_file(&path);
    let events = (iters * batch) as u64;
    Ok(BenchLine {
        group: "floor",
        name: format!("bare write, {batch} record(s) of {line_len} B per write"),
        events,
        per_sec: events as f64 / secs,
        p50_us: None,
        p99_us: None,
        p999_us: None,
        note: String::new(),
    })
}

pub(crate) fn floor_fsync(
    dir: &Path,
    line_len: usize,
    batch: usize,
    seconds: f64,
) -> Result<BenchLine> {
    let path = dir.join(format!("floor-fsync-{batch}"));
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io_err(&path))?;
    let buf: Vec<u8> = record_line(line_len).repeat(batch.max(1));
    let line = sync_floor(
        &path,
        format!("bare write+fdatasync, {batch} record(s) per sync"),
        batch,
        seconds,
        || {
            (&f).write_all(&buf)?;
            f.sync_data()?;
            Ok(true)
        },
    );
    drop(f);
    let _ = std::fs::remove_file(&path);
    line
}

/// One record's line of `line_len` bytes (at least the newline) for the floors.
pub(crate) fn record_line(line_len: usize) -> Vec<u8> {
    let mut rec = vec![b'x'; line_len.max(1)];
    if let Some(last) = rec.last_mut() {
        *last = b'\n';
    }
    rec
}

/// A floor of syncs: runs `step` (a write of `batch` records and its sync, in `path`)
/// for `seconds` or until it returns false, timing each step.
pub(crate) fn sync_floor(
    path: &Path,
    name: String,
    batch: usize,
    seconds: f64,
    mut step: impl FnMut() -> std::io::Result<bool>,
) -> Result<BenchLine> {
    let mut lat = Vec::new();
    let t0 = Instant::now();
    while t0.elapsed().as_secs_f64() < seconds {
        let s = Instant::now();
        if !step().map_err(io_err(path))? {
            break;
        }
        lat.push(s.elapsed().as_nanos() as u64);
    }
    let secs = t0.elapsed().as_secs_f64();
    let events = (lat.len() * batch.max(1)) as u64;
    let (p50, p99, p999) = percentiles(lat);
    Ok(BenchLine {
        group: "floor",
        name,
        events,
        per_sec: events as f64 / secs,
        p50_us: p50,
        p99_us: p99,
        p999_us: p999,
        note: "latency is per write+fdatasync".into(),
    })
}

fn new_journal(dir: &Path, storage: Option<Arc<dyn Storage>>) -> Result<Journal> {
    let mut opts = JournalOptions::default();
    if let Some(s) = storage {
        opts = opts.with_storage(s);
    }
    let (j, _) = Journal::create(dir, "bench", opts)?;
    Ok(j)
}

/// How long each producer of a saturation run appends.
#[derive(Clone, Copy)]
enum Stop {
    /// This many appends per producer.
    Count(u64),
    /// Until this instant.
    Deadline(Instant),
}

/// `threads` producers append `body` back to back; returns every append's latency (ns)
/// and the wall time.
fn run_producers(
    j: &Journal,
    body: &[u8],
    threads: usize,
    durability: Durability,
    stop: Stop,
) -> Result<(Vec<u64>, f64)> {
    let t0 = Instant::now();
    let lats: Vec<Vec<u64>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                let j = j.clone();
                s.spawn(move || -> Result<Vec<u64>> {
                    let mut lat = Vec::new();
                    let mut done = 0u64;
                    loop {
                        match stop {
                            Stop::Count(n) if done >= n => break,
                            Stop::Deadline(t) if Instant::now() >= t => break,
                            _ => {}
                        }
                        let e = Entry::new(body.to_vec(), durability)?;
                        let st = Instant::now();
                        j.append(e)?;
                        lat.push(st.elapsed().as_nanos() as u64);
                        done += 1;
                    }
                    Ok(lat)
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().expect("bench thread panicked"))
            .collect::<Result<Vec<_>>>()
    })?;
    Ok((
        lats.into_iter().flatten().collect(),
        t0.elapsed().as_secs_f64(),
    ))
}

fn saturation_line(durability: Durability, threads: usize, lat: Vec<u64>, secs: f64) -> BenchLine {
    let events = lat.len() as u64;
    let (p50, p99, p999) = percentiles(lat);
    BenchLine {
        group: if durability == Durability::Os {
            "append-os"
        } else {
            "append-fsync"
        },
        name: format!("append, {threads} producer thread(s), saturation"),
        events,
        per_sec: events as f64 / secs,
        p50_us: p50,
        p99_us: p99,
        p999_us: p999,
        note: String::new(),
    }
}

fn saturate(
    dir: &Path,
    body: &[u8],
    threads: usize,
    n: u64,
    durability: Durability,
    storage: Option<Arc<dyn Storage>>,
) -> Result<(BenchLine, f64)> {
    let j = new_journal(dir, storage)?;
    let (lat, secs) = run_producers(
        &j,
        body,
        threads,
        durability,
        Stop::Count(n / threads as u64),
    )?;
    Ok((saturation_line(durability, threads, lat, secs), secs))
}

fn saturate_batches(dir: &Path, body: &[u8], n: u64, batch: usize) -> Result<BenchLine> {
    let j = new_journal(dir, None)?;
    let iters = (n as usize).div_ceil(batch);
    let mut lat = Vec::with_capacity(iters);
    let t0 = Instant::now();
    for _ in 0..iters {
        let entries = (0..batch)
            .map(|_| Entry::new(body.to_vec(), Durability::Os))
            .collect::<tradetrail_journal::Result<Vec<_>>>()?;
        let st = Instant::now();
        j.append_batch(entries)?;
        lat.push(st.elapsed().as_nanos() as u64);
    }
    let secs = t0.elapsed().as_secs_f64();
    let events = (iters * batch) as u64;
    let (p50, p99, p999) = percentiles(lat);
    Ok(BenchLine {
        group: "append-os",
        name: format!("append_batch of {batch}, 1 producer thread, saturation"),
        events,
        per_sec: events as f64 / secs,
        p50_us: p50,
        p99_us: p99,
        p999_us: p999,
        note: String::new(),
    })
}

/// One producer that submits every event on its own and keeps up to `window` of them
/// in flight, waiting for the oldest when the window is full: the asynchronous API a
/// hot path uses (`Journal::submit`, then `Journal::wait` off the critical path).
/// Latency is from each event's submit to the return of its wait.
fn saturate_pipelined(dir: &Path, body: &[u8], n: u64, window: usize) -> Result<BenchLine> {
    let j = new_journal(dir, None)?;
    let mut lat = Vec::with_capacity(n as usize);
    let mut in_flight = std::collections::VecDeque::with_capacity(window);
    let t0 = Instant::now();
    for _ in 0..n {
        let e = Entry::new(body.to_vec(), Durability::Os)?;
        if in_flight.len() == window {
            let (st, ticket): (Instant, _) = in_flight.pop_front().expect("full window");
            j.wait(ticket)?;
            lat.push(st.elapsed().as_nanos() as u64);
        }
        let st = Instant::now();
        in_flight.push_back((st, j.submit(e)?));
    }
    for (st, ticket) in in_flight {
        j.wait(ticket)?;
        lat.push(st.elapsed().as_nanos() as u64);
    }
    let secs = t0.elapsed().as_secs_f64();
    let (p50, p99, p999) = percentiles(lat);
    Ok(BenchLine {
        group: "append-os",
        name: format!("submit + wait, 1 producer thread, {window} in flight"),
        events: n,
        per_sec: n as f64 / secs,
        p50_us: p50,
        p99_us: p99,
        p999_us: p999,
        note: String::new(),
    })
}

fn saturate_for(
    dir: &Path,
    body: &[u8],
    threads: usize,
    seconds: f64,
    durability: Durability,
    storage: Arc<dyn Storage>,
) -> Result<(BenchLine, f64)> {
    let j = new_journal(dir, Some(storage))?;
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let (lat, secs) = run_producers(&j, body, threads, durability, Stop::Deadline(deadline))?;
    Ok((saturation_line(durability, threads, lat, secs), secs))
}

/// Open loop: producer `k` of `threads` sends events `k, k+threads, ...` each at its due
/// instant; latency is acknowledgement minus due instant.
/// Returns at `due`: asleep until shortly before it, then spinning, so that an
/// open-loop producer sends each event on time.
pub(crate) fn pace(due: Instant) {
    loop {
        let now = Instant::now();
        if now >= due {
            return;
        }
        if due - now > Duration::from_micros(200) {
            std::thread::sleep(due - now - Duration::from_micros(100));
        } else {
            std::hint::spin_loop();
        }
    }
}

pub(crate) fn steady(
    dir: &Path,
    body: &[u8],
    threads: usize,
    rate: f64,
    seconds: f64,
    durability: Durability,
) -> Result<BenchLine> {
    let j = new_journal(dir, None)?;
    let total = (rate * seconds) as u64;
    let interval = 1e9 / rate;
    let t0 = Instant::now() + Duration::from_millis(20);
    let lats: Vec<Vec<u64>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|k| {
                let j = j.clone();
                s.spawn(move || -> Result<Vec<u64>> {
                    let mut lat = Vec::new();
                    let mut i = k as u64;
                    while i < total {
                        let due = t0 + Duration::from_nanos((i as f64 * interval) as u64);
                        let e = Entry::new(body.to_vec(), durability)?;
                        pace(due);
                        j.append(e)?;
                        lat.push(due.elapsed().as_nanos() as u64);
                        i += threads as u64;
                    }
                    Ok(lat)
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().expect("bench thread panicked"))
            .collect::<Result<Vec<_>>>()
    })?;
    let secs = t0.elapsed().as_secs_f64();
    let all: Vec<u64> = lats.into_iter().flatten().collect();
    let events = all.len() as u64;
    let (p50, p99, p999) = percentiles(all);
    Ok(BenchLine {
        group: "steady",
        name: format!(
            "steady {} events/s, {}, {threads} producer(s)",
            rate as u64,
            durability.as_str()
        ),
        events,
        per_sec: events as f64 / secs,
        p50_us: p50,
        p99_us: p99,
        p999_us: p999,
        note: String::new(),
    })
}

/// Building the tree from the journal, proofs at its full size, and signing a checkpoint.
fn tree_lines(dir: &Path) -> Result<Vec<BenchLine>> {
    use tradetrail_merkle::MerkleLog;
    let mut log = MerkleLog::new();
    let t0 = Instant::now();
    tradetrail_journal::for_each_line(&FsStorage, dir, 0, None, |_, line| {
        log.push_line(line);
        Ok(true)
    })?;
    let build = t0.elapsed().as_secs_f64();
    let n = log.len();
    let line = |name: String, events: u64, per_sec: f64, lat: Vec<u64>, note: String| {
        let (p50, p99, p999) = percentiles(lat);
        BenchLine {
            group: "tree",
            name,
            events,
            per_sec,
            p50_us: p50,
            p99_us: p99,
            p999_us: p999,
            note,
        }
    };
    let mut out = vec![line(
        format!("build the Merkle tree from the journal ({n} leaves)"),
        n,
        n as f64 / build,
        Vec::new(),
        "each record is hashed once, off the append path; >= 80% of append throughput keeps up"
            .into(),
    )];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut lat = Vec::new();
    for _ in 0..2000 {
        let seq = next() % n;
        let t = Instant::now();
        let p = log.inclusion_proof(seq, n).map_err(Error::from)?;
        lat.push(t.elapsed().as_nanos() as u64);
        std::hint::black_box(p);
    }
    out.push(line(
        format!("inclusion proof at size {n}"),
        2000,
        rate_of(&lat),
        lat,
        "target <= 1 ms (p99)".into(),
    ));
    let mut lat = Vec::new();
    for _ in 0..2000 {
        let old = 1 + next() % n;
        let t = Instant::now();
        let p = log.consistency_proof(old, n).map_err(Error::from)?;
        lat.push(t.elapsed().as_nanos() as u64);
        std::hint::black_box(p);
    }
    out.push(line(
        format!("consistency proof to size {n}"),
        2000,
        rate_of(&lat),
        lat,
        "target <= 1 ms (p99)".into(),
    ));
    let key = tradetrail_checkpoint::KeyPair::generate("bench.local/tradetrail")?;
    let mut lat = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let cp = tradetrail_checkpoint::Checkpoint::new("bench.local/tradetrail", n, log.root().0)?;
        let note = tradetrail_checkpoint::sign(&cp, &key);
        lat.push(t.elapsed().as_nanos() as u64);
        std::hint::black_box(note);
    }
    out.push(line(
        "root + sign a checkpoint note (Ed25519)".into(),
        200,
        rate_of(&lat),
        lat,
        "target <= 10 ms; `tradetrail checkpoint` adds one fsync'd append".into(),
    ));
    Ok(out)
}

fn open_line(dir: &Path, body: &[u8], n: u64) -> Result<BenchLine> {
    {
        let j = new_journal(dir, None)?;
        let mut left = n.saturating_sub(1);
        while left > 0 {
            let k = left.min(4096);
            let entries = (0..k)
                .map(|_| Entry::new(body.to_vec(), Durability::Os))
                .collect::<tradetrail_journal::Result<Vec<_>>>()?;
            j.append_batch(entries)?;
            left -= k;
        }
        j.flush()?;
    }
    let mut times = Vec::new();
    let mut records = 0;
    for _ in 0..5 {
        let t0 = Instant::now();
        let (j, report) = Journal::open(dir, JournalOptions::default())?;
        times.push(t0.elapsed().as_nanos() as u64);
        records = report.records;
        drop(j);
    }
    let (p50, _, _) = percentiles(times.clone());
    let worst = times.iter().max().copied().unwrap_or(0) as f64 / 1000.0;
    Ok(BenchLine {
        group: "open",
        name: format!("open a journal of {records} records (median of 5)"),
        events: records,
        per_sec: 0.0,
        p50_us: p50,
        p99_us: Some(worst),
        p999_us: None,
        note: "p99 column shows the slowest of the 5 opens; target < 100 ms".into(),
    })
}

#[derive(Debug, Default)]
struct SyncCounter {
    syncs: AtomicU64,
}

/// The file system, counting `fdatasync` calls (to report the group-commit batch size).
#[derive(Debug)]
struct CountingStorage {
    counter: Arc<SyncCounter>,
}

#[derive(Debug)]
struct CountingFile {
    inner: Box<dyn SegmentFile>,
    counter: Arc<SyncCounter>,
}

impl SegmentFile for CountingFile {
    fn append(&self, buf: &[u8]) -> std::io::Result<()> {
        self.inner.append(buf)
    }
    fn sync_data(&self) -> std::io::Result<()> {
        self.counter.syncs.fetch_add(1, Ordering::Relaxed);
        self.inner.sync_data()
    }
}

impl Storage for CountingStorage {
    fn create_dir_all(&self, p: &Path) -> std::io::Result<()> {
        FsStorage.create_dir_all(p)
    }
    fn list_dir(&self, p: &Path) -> std::io::Result<Vec<String>> {
        FsStorage.list_dir(p)
    }
    fn exists(&self, p: &Path) -> std::io::Result<bool> {
        FsStorage.exists(p)
    }
    fn len(&self, p: &Path) -> std::io::Result<u64> {
        FsStorage.len(p)
    }
    fn read_at(&self, p: &Path, o: u64, l: usize) -> std::io::Result<Vec<u8>> {
        FsStorage.read_at(p, o, l)
    }
    fn read(&self, p: &Path) -> std::io::Result<Vec<u8>> {
        FsStorage.read(p)
    }
    fn open_append(&self, p: &Path) -> std::io::Result<Box<dyn SegmentFile>> {
        Ok(Box::new(CountingFile {
            inner: FsStorage.open_append(p)?,
            counter: self.counter.clone(),
        }))
    }
    fn truncate(&self, p: &Path, l: u64) -> std::io::Result<()> {
        FsStorage.truncate(p, l)
    }
    fn sync_dir(&self, p: &Path) -> std::io::Result<()> {
        FsStorage.sync_dir(p)
    }
    fn remove_file(&self, p: &Path) -> std::io::Result<()> {
        FsStorage.remove_file(p)
    }
    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        FsStorage.rename(from, to)
    }
    fn available_space(&self, p: &Path) -> std::io::Result<u64> {
        FsStorage.available_space(p)
    }
}

/// Operations per second of timed runs back to back: their count over their summed
/// time (one run at a time, so this is 1 / mean latency).
fn rate_of(lat_ns: &[u64]) -> f64 {
    let total: u64 = lat_ns.iter().sum();
    if total == 0 {
        return 0.0;
    }
    lat_ns.len() as f64 * 1e9 / total as f64
}
