//! Overlapping syncs, measured: what this disk gives a steady stream of `fsync`'d
//! events when a sync may start while another is in flight, and when the file's blocks
//! are written before the records (so that a sync carries no metadata: no new block,
//! no new file size).
//!
//! The journal appends to a growing file with one `fdatasync` at a time. An event that
//! arrives while a sync is in flight waits for the rest of it and then for its own, so
//! its latency can reach two syncs. The models here run the same group commit on a
//! plain file, with one or two syncs in flight, on a file that grows and on one whose
//! blocks were written in advance, beside the journal itself and the bare floor, in one
//! run (docs/benchmarks.md, *Durable latency*).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use tradetrail_core::Result;
use tradetrail_journal::Durability;

use crate::journal::{
    floor_fsync, io_err, pace, percentiles, record_line, sample_body, steady, sync_floor, BenchLine,
};
use crate::scratch_dir;

/// What to measure.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Where to put the scratch files (removed afterwards): on the disk to measure.
    pub dir: PathBuf,
    /// Events per second of the steady runs.
    pub rate: f64,
    /// Producer threads of the steady runs.
    pub producers: usize,
    /// Seconds of each run.
    pub seconds: f64,
    /// Bytes per record line.
    pub record_size: usize,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            dir: PathBuf::from("."),
            rate: 10_000.0,
            producers: 32,
            seconds: 3.0,
            record_size: 350,
        }
    }
}

/// Bytes written in advance for the preallocated runs (more than a run writes).
const PREALLOCATED: u64 = 256 << 20;

/// Runs the floors, the models and the journal; `progress` receives each line.
pub fn run_sync_bench(
    opts: &SyncOptions,
    progress: &mut dyn FnMut(&BenchLine),
) -> crate::Result<Vec<BenchLine>> {
    let scratch = scratch_dir(&opts.dir, "tradetrail-bench-sync-")?;
    let dir = scratch.path();
    let body = sample_body(opts.record_size);
    let line_len = body.len() + 125;
    let mut lines = Vec::new();
    let mut emit = |l: BenchLine, lines: &mut Vec<BenchLine>| {
        progress(&l);
        lines.push(l);
    };
    let floor = floor_fsync(dir, line_len, 1, opts.seconds)?;
    let floor_p99 = floor.p99_us.unwrap_or(1.0);
    emit(floor, &mut lines);
    let pre = floor_preallocated(dir, line_len, opts.seconds)?;
    emit(pre, &mut lines);
    let ratio = |l: &mut BenchLine| {
        l.note = format!(
            "p99 is {:.2}x the bare fdatasync p99 ({floor_p99:.0} us); target <= 1.5x",
            l.p99_us.unwrap_or(0.0) / floor_p99
        );
    };
    for (preallocated, in_flight) in [(false, 1), (false, 2), (true, 1), (true, 2)] {
        let mut l = model(dir, line_len, opts, preallocated, in_flight)?;
        ratio(&mut l);
        emit(l, &mut lines);
    }
    let mut l = steady(
        &dir.join("journal"),
        &body,
        opts.producers,
        opts.rate,
        opts.seconds,
        Durability::Fsync,
    )?;
    ratio(&mut l);
    emit(l, &mut lines);
    Ok(lines)
}

/// A file of `len` zero bytes, written and synced: its blocks exist before any record.
fn preallocated(path: &Path, len: u64) -> Result<File> {
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(path)
        .map_err(io_err(path))?;
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..len.div_ceil(1 << 20) {
        f.write_all(&zeros).map_err(io_err(path))?;
    }
    f.sync_all().map_err(io_err(path))?;
    Ok(f)
}

/// The floor of a preallocated file: one record written in place and synced at a time.
fn floor_preallocated(dir: &Path, line_len: usize, seconds: f64) -> Result<BenchLine> {
    let path = dir.join("floor-preallocated");
    let f = preallocated(&path, PREALLOCATED)?;
    let rec = record_line(line_len);
    let mut at = 0u64;
    let line = sync_floor(
        &path,
        "bare write+fdatasync in place (blocks written before)".into(),
        1,
        seconds,
        || {
            if at + rec.len() as u64 > PREALLOCATED {
                return Ok(false);
            }
            f.write_all_at(&rec, at)?;
            f.sync_data()?;
            at += rec.len() as u64;
            Ok(true)
        },
    );
    drop(f);
    let _ = std::fs::remove_file(&path);
    line
}

/// The group commit of a model run: records written, records synced, syncs in flight.
#[derive(Default)]
struct Group {
    written: u64,
    synced: u64,
    in_flight: usize,
    failed: Option<std::io::ErrorKind>,
}

/// Open loop at `opts.rate` from `opts.producers` threads: each event is written under
/// the lock, then waits until a sync that started after its write has finished,
/// starting one itself while fewer than `in_flight` are running.
fn model(
    dir: &Path,
    line_len: usize,
    opts: &SyncOptions,
    preallocate: bool,
    in_flight: usize,
) -> Result<BenchLine> {
    let path = dir.join(format!("model-{preallocate}-{in_flight}"));
    let total = (opts.rate * opts.seconds) as u64;
    let file = if preallocate {
        preallocated(&path, (total + 1) * line_len as u64)?
    } else {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io_err(&path))?
    };
    let file = Arc::new(file);
    let group = Arc::new((Mutex::new(Group::default()), Condvar::new()));
    let interval = Duration::from_secs_f64(1.0 / opts.rate.max(1.0));
    let producers = opts.producers.max(1) as u64;
    let start = Instant::now() + Duration::from_millis(20);
    let rec = record_line(line_len);
    let results: Vec<std::thread::Result<Vec<u64>>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..producers)
            .map(|k| {
                let (file, group, rec) = (&file, &group, &rec);
                s.spawn(move || {
                    let mut lat = Vec::new();
                    let mut i = k;
                    while i < total {
                        let due = start + interval.mul_f64(i as f64);
                        pace(due);
                        if !one_event(file, group, rec, preallocate, in_flight) {
                            break;
                        }
                        lat.push(due.elapsed().as_nanos() as u64);
                        i += producers;
                    }
                    lat
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join()).collect()
    });
    let secs = start.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&path);
    let mut lat = Vec::new();
    for r in results {
        lat.extend(r.map_err(|_| {
            tradetrail_core::Error::Internal("a sync model producer panicked".into())
        })?);
    }
    let failed = group.0.lock().unwrap_or_else(|p| p.into_inner()).failed;
    if let Some(kind) = failed {
        return Err(io_err(&path)(std::io::Error::from(kind)));
    }
    let events = lat.len() as u64;
    let (p50, p99, p999) = percentiles(lat);
    Ok(BenchLine {
        group: "sync-model",
        name: format!(
            "steady {:.0}/s, {} producers, {} sync(s) at once, {}",
            opts.rate,
            producers,
            in_flight,
            if preallocate { "in place" } else { "growing" }
        ),
        events,
        per_sec: events as f64 / secs,
        p50_us: p50,
        p99_us: p99,
        p999_us: p999,
        note: String::new(),
    })
}

/// One event of a model run; false once a write or sync failed.
fn one_event(
    file: &File,
    group: &(Mutex<Group>, Condvar),
    rec: &[u8],
    preallocate: bool,
    in_flight: usize,
) -> bool {
    let (m, cv) = group;
    let mut g = m.lock().unwrap_or_else(|p| p.into_inner());
    let wrote = if preallocate {
        file.write_all_at(rec, g.written * rec.len() as u64)
    } else {
        (&*file).write_all(rec)
    };
    if let Err(e) = wrote {
        g.failed = Some(e.kind());
        cv.notify_all();
        return false;
    }
    g.written += 1;
    let mine = g.written;
    loop {
        if g.failed.is_some() {
            return false;
        }
        if g.synced >= mine {
            return true;
        }
        if g.in_flight < in_flight {
            g.in_flight += 1;
            let target = g.written;
            drop(g);
            let synced = file.sync_data();
            g = m.lock().unwrap_or_else(|p| p.into_inner());
            g.in_flight -= 1;
            match synced {
                Ok(()) => g.synced = g.synced.max(target),
                Err(e) => g.failed = Some(e.kind()),
            }
            cv.notify_all();
            continue;
        }
        g = cv.wait(g).unwrap_or_else(|p| p.into_inner());
    }
}
