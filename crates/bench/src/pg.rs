//! `tradetrail bench pg`: the mirror's figures beside a bare binary `COPY` of the same
//! rows into the same table, measured in the same run on the same cluster (the floor:
//! what PostgreSQL accepts when the rows are ready), so ratios hold on a noisy machine.
//!
//! - initial sync, `COPY` and `INSERT`, from a journal of `records` records;
//! - `pg verify` of that mirror;
//! - append throughput with a follower running, beside append without one;
//! - the mirror's lag (appended → visible in PostgreSQL) at a steady rate.
//!
//! Each measurement gets a fresh database (`pg init`), so none inherits another's
//! table.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tradetrail_core::{DataDir, InitOptions, Recorder};
use tradetrail_journal::{for_each_line, Durability, Entry, FsStorage, RecordHash, RecordView};

use tradetrail_pg::testing::TempCluster;
use tradetrail_pg::{
    connect, db, init, sync, verify, Batch, Error, FollowOptions, Follower, Method, Result, Roles,
    SyncOptions,
};

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Records in the journal that is mirrored.
    pub records: u64,
    /// Events per second for the lag run.
    pub rate: u64,
    /// Seconds of the lag run.
    pub seconds: f64,
    /// The follower's interval in the lag and append runs.
    pub interval: Duration,
    /// Where the scratch directory for the data directories goes (removed afterwards).
    pub dir: std::path::PathBuf,
}

/// One figure.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchLine {
    /// What was measured.
    pub what: String,
    /// Records (or events) per second, when a rate.
    pub per_sec: Option<f64>,
    /// Latency percentiles in ms (p50, p99, max), when a latency.
    pub latency_ms: Option<(f64, f64, f64)>,
    /// The comparison with the floor or the target.
    pub note: String,
}

/// The record size the events are padded to (a realistic fill).
const RECORD_SIZE: usize = 400;

/// Runs every measurement on a cluster started for the run (durable settings), with
/// the data directories in a scratch directory under `opts.dir`; `out` gets each line
/// as it is measured.
pub fn run(opts: &BenchOptions, out: impl FnMut(&BenchLine)) -> crate::Result<()> {
    let scratch = crate::scratch_dir(&opts.dir, "tradetrail-bench-pg")?;
    Ok(measure(opts, scratch.path(), out)?)
}

fn measure(opts: &BenchOptions, scratch: &Path, mut out: impl FnMut(&BenchLine)) -> Result<()> {
    let cluster = TempCluster::start_durable()?.ok_or_else(|| {
        Error::Cluster("PostgreSQL (initdb, pg_ctl) is not installed: nothing to measure".into())
    })?;
    let admin = cluster.url();
    let fresh = |name: &str| -> Result<String> {
        let mut c = connect(&admin)?;
        c.batch_execute(&format!("CREATE DATABASE {name}"))
            .map_err(db(&admin, format!("creating database {name}")))?;
        let url = cluster.url_db("postgres", name);
        init(&url, &Roles::default())?;
        Ok(url)
    };

    // The journal to mirror.
    let dir = DataDir::new(scratch.join("mirrored"));
    let rec = recorder(&dir)?;
    append(&rec, opts.records)?;
    drop(rec);
    let records = opts.records + 1;

    // The floor: the same rows, parsed and encoded beforehand, copied in batches of the
    // sync's size into a fresh `tradetrail.events`.
    let batch = SyncOptions::default().batch;
    let mut batches = Vec::new();
    let mut current = Batch::default();
    let jdir = dir.journal();
    let mut bad = None;
    for_each_line(&FsStorage, &jdir, 0, None, |seq, line| {
        let pushed =
            RecordView::parse(line).and_then(|v| current.push(&v, &RecordHash::of_line(line)));
        if let Err(reason) = pushed {
            bad = Some(Error::Record {
                path: jdir.clone(),
                seq,
                reason,
            });
            return Ok(false);
        }
        if current.len() >= batch {
            batches.push(std::mem::take(&mut current));
        }
        Ok(true)
    })
    .map_err(|source| Error::Journal {
        path: jdir.clone(),
        source,
    })?;
    if let Some(e) = bad {
        return Err(e);
    }
    batches.push(current);
    let url = fresh("bench_bare")?;
    let mut c = connect(&url)?;
    let t = Instant::now();
    for mut b in batches {
        b.flush(&mut c, Method::Copy, &url)?;
    }
    let bare = records as f64 / t.elapsed().as_secs_f64();
    drop(c);
    out(&BenchLine {
        what: format!("floor: bare binary COPY of the same {records} rows (ready in memory)"),
        per_sec: Some(bare),
        latency_ms: None,
        note: String::new(),
    });

    // Initial sync, both ways.
    let mut copy_url = String::new();
    for method in [Method::Copy, Method::Insert] {
        let name = match method {
            Method::Copy => "bench_copy",
            Method::Insert => "bench_insert",
        };
        let url = fresh(name)?;
        let t = Instant::now();
        let r = sync(
            &dir,
            &url,
            &SyncOptions {
                batch,
                method: Some(method),
                ..SyncOptions::default()
            },
        )?;
        let rate = r.copied as f64 / t.elapsed().as_secs_f64();
        let (how, target) = match method {
            Method::Copy => (
                "binary COPY",
                "; target >= 100,000/s and >= 70% of the floor",
            ),
            Method::Insert => ("INSERT ... unnest (a login under row-level security)", ""),
        };
        out(&BenchLine {
            what: format!("pg sync, initial, {how}"),
            per_sec: Some(rate),
            latency_ms: None,
            note: format!("{:.0}% of the floor{target}", 100.0 * rate / bare),
        });
        if method == Method::Copy {
            copy_url = url;
        }
    }

    // Verify.
    let t = Instant::now();
    let v = verify(&dir, &copy_url)?;
    let rate = v.journal_records as f64 / t.elapsed().as_secs_f64();
    out(&BenchLine {
        what: format!("pg verify, {} rows", v.mirror_rows),
        per_sec: Some(rate),
        latency_ms: None,
        note: format!(
            "{}; target >= 200,000/s",
            if v.ok { "equal" } else { "DIFFERS" }
        ),
    });

    // Append with and without a follower (each on a fresh journal).
    let follow = FollowOptions {
        interval: opts.interval,
        ..FollowOptions::default()
    };
    let alone = {
        let d = DataDir::new(scratch.join("alone"));
        let rec = recorder(&d)?;
        append(&rec, opts.records)?
    };
    out(&BenchLine {
        what: format!("append {} events (os durability), no mirror", opts.records),
        per_sec: Some(alone),
        latency_ms: None,
        note: String::new(),
    });
    let url = fresh("bench_follow")?;
    let d = DataDir::new(scratch.join("followed"));
    let rec = recorder(&d)?;
    let follower = Follower::spawn(&d, &url, follow)
        .map_err(|e| Error::Bench(format!("starting the follower: {e}")))?;
    let with = append(&rec, opts.records)?;
    follower.stop();
    out(&BenchLine {
        what: format!(
            "append {} events (os durability), follower running every {:.1} s",
            opts.records,
            opts.interval.as_secs_f64()
        ),
        per_sec: Some(with),
        latency_ms: None,
        note: format!(
            "{:.0}% of append alone; target >= 90%",
            100.0 * with / alone
        ),
    });

    // Lag at a steady rate.
    let url = fresh("bench_lag")?;
    let d = DataDir::new(scratch.join("lag"));
    let rec = recorder(&d)?;
    let (p50, p99, max, n) = lag(&rec, &d, &url, opts, follow)?;
    out(&BenchLine {
        what: format!(
            "mirror lag at {} events/s for {:.0} s, follower every {:.1} s",
            opts.rate,
            opts.seconds,
            opts.interval.as_secs_f64()
        ),
        per_sec: None,
        latency_ms: Some((p50, p99, max)),
        note: format!("{n} records; target p99 <= 1000 ms"),
    });
    drop(cluster);
    Ok(())
}

/// A fresh data directory's recorder.
fn recorder(dir: &DataDir) -> Result<Recorder> {
    Recorder::init(dir, InitOptions::default())
        .map_err(|e| Error::Bench(format!("creating {}: {e}", dir.root().display())))
}

/// Appends `n` sample events in batches of 1,000 (os durability); events per second.
fn append(rec: &Recorder, n: u64) -> Result<f64> {
    let body = crate::journal::sample_body(RECORD_SIZE);
    let t = Instant::now();
    let mut left = n;
    while left > 0 {
        let k = left.min(1000);
        let entries = (0..k)
            .map(|_| Entry::from_serialized(body.clone(), Durability::Os))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::Bench(format!("a sample entry: {e}")))?;
        rec.record_batch(entries)
            .map_err(|e| Error::Bench(format!("appending: {e}")))?;
        left -= k;
    }
    Ok(n as f64 / t.elapsed().as_secs_f64())
}

/// Appends at `opts.rate` for `opts.seconds` with a follower running, and watches
/// `max(seq)` in PostgreSQL every millisecond: for each record, the time from its
/// acknowledgement to the first poll that sees it. (p50, p99, max) in ms, and count.
fn lag(
    rec: &Recorder,
    dir: &DataDir,
    url: &str,
    opts: &BenchOptions,
    follow: FollowOptions,
) -> Result<(f64, f64, f64, usize)> {
    let body = crate::journal::sample_body(RECORD_SIZE);
    let acked: Arc<Mutex<VecDeque<(u64, Instant)>>> = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let follower = Follower::spawn(dir, url, follow)
        .map_err(|e| Error::Bench(format!("starting the follower: {e}")))?;
    let watcher = {
        let (acked, done, url) = (acked.clone(), done.clone(), url.to_string());
        std::thread::spawn(move || -> Result<Vec<u64>> {
            let mut c = connect(&url)?;
            let mut lags = Vec::new();
            let mut drained_after_done = false;
            let mut finished_at = None;
            loop {
                let finished = done.load(Ordering::Relaxed);
                if finished {
                    let at = *finished_at.get_or_insert_with(Instant::now);
                    if at.elapsed() > Duration::from_secs(60) {
                        return Err(Error::Bench(
                            "the mirror did not catch up within 60 s of the last append".into(),
                        ));
                    }
                }
                let max: Option<i64> = c
                    .query_one("SELECT max(seq) FROM tradetrail.events", &[])
                    .map_err(db(&url, "watching the mirror"))?
                    .get(0);
                let seen = max.map_or(0, |m| u64::try_from(m).unwrap_or(0) + 1);
                let now = Instant::now();
                let mut q = acked.lock().unwrap_or_else(|e| e.into_inner());
                while q.front().is_some_and(|(seq, _)| *seq < seen) {
                    if let Some((_, at)) = q.pop_front() {
                        lags.push(now.duration_since(at).as_micros() as u64);
                    }
                }
                let empty = q.is_empty();
                drop(q);
                if finished && empty {
                    if drained_after_done {
                        return Ok(lags);
                    }
                    drained_after_done = true;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let gap = Duration::from_secs_f64(1.0 / opts.rate.max(1) as f64);
    let total = (opts.rate as f64 * opts.seconds) as u64;
    let start = Instant::now();
    let mut failed = None;
    for i in 0..total {
        let due = start + gap * u32::try_from(i).unwrap_or(u32::MAX);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let entry = match Entry::from_serialized(body.clone(), Durability::Os) {
            Ok(e) => e,
            Err(e) => {
                failed = Some(Error::Bench(format!("a sample entry: {e}")));
                break;
            }
        };
        match rec.record_batch(vec![entry]) {
            Ok(r) => {
                let now = Instant::now();
                let mut q = acked.lock().unwrap_or_else(|e| e.into_inner());
                q.extend(r.iter().map(|x| (x.seq, now)));
            }
            Err(e) => {
                failed = Some(Error::Bench(format!("appending: {e}")));
                break;
            }
        }
    }
    done.store(true, Ordering::Relaxed);
    let lags = watcher
        .join()
        .map_err(|_| Error::Bench("the lag watcher panicked".into()))?;
    follower.stop();
    if let Some(e) = failed {
        return Err(e);
    }
    let lags = lags?;
    let n = lags.len();
    let max = lags.iter().max().copied().unwrap_or(0) as f64 / 1000.0;
    // `percentiles` takes ns and gives µs: given µs, it gives ms.
    let (p50, p99, _) = crate::journal::percentiles(lags);
    Ok((p50.unwrap_or(0.0), p99.unwrap_or(0.0), max, n))
}
