//! The archive's figures for `tradetrail bench archive`: archive throughput beside the
//! machine's floor (reading and splitting the same JSONL bytes), bytes per record, and
//! a one-day window over a year of archived history, pruned by the manifests' and row
//! groups' `ts_event` statistics (and, built with the `sql` feature, through `sql`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampNanosecondType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use parquet::file::statistics::Statistics;
use tradetrail_core::{DataDir, InitOptions, Recorder};
use tradetrail_journal::{list_segments, Durability, Entry, FsStorage};

use tradetrail_archive::layout::{file_name, partition_dir, NS_PER_DAY};
use tradetrail_archive::schema::col;
use tradetrail_archive::{
    archive, archive_dir, verify_all, write_parquet, ArchiveOptions, ArchiveReport, Error, Result,
    Row,
};

/// One line of figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchFigure {
    /// What was measured.
    pub name: String,
    /// The figure.
    pub value: f64,
    /// Its unit.
    pub unit: &'static str,
    /// Context (the floor, the size).
    pub note: String,
}

fn fig(
    name: impl Into<String>,
    value: f64,
    unit: &'static str,
    note: impl Into<String>,
) -> BenchFigure {
    BenchFigure {
        name: name.into(),
        value,
        unit,
        note: note.into(),
    }
}

/// A failed file operation, as the archive reports its own.
fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
    Error::Io {
        path: path.into(),
        op,
        source,
    }
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct ArchiveBenchOptions {
    /// Records in the journal that is archived.
    pub records: u64,
    /// Records of synthetic archived history for the one-day window (0: skip it).
    pub history_records: u64,
    /// Days that history spans (one partition each).
    pub days: u64,
    /// Where the scratch directory goes (removed afterwards), on the disk to measure.
    pub dir: PathBuf,
}

/// What the run reports as it goes.
#[derive(Debug, Clone)]
pub enum ArchiveStep {
    /// A measured figure.
    Figure(BenchFigure),
    /// Writing the synthetic history begins (`total` records).
    HistoryStarted {
        /// Records to write.
        total: u64,
    },
    /// Records of synthetic history written so far.
    HistoryWritten(u64),
}

/// Runs every measurement of `tradetrail bench archive`; `out` gets each step as it
/// happens.
pub fn run(opts: &ArchiveBenchOptions, out: &mut dyn FnMut(ArchiveStep)) -> crate::Result<()> {
    let scratch = crate::scratch_dir(&opts.dir, "tradetrail-bench-archive")?;
    let mut print = |f: BenchFigure| out(ArchiveStep::Figure(f));
    bench_archive(scratch.path(), opts.records, &mut print)?;
    if opts.history_records == 0 {
        return Ok(());
    }
    let root = scratch.path().join("history");
    out(ArchiveStep::HistoryStarted {
        total: opts.history_records,
    });
    let t = Instant::now();
    let files = synthetic_history(&root, opts.history_records, opts.days, &mut |n| {
        out(ArchiveStep::HistoryWritten(n))
    })?;
    let written = t.elapsed().as_secs_f64();
    let bytes: u64 = files
        .iter()
        .map(|(p, _, _)| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum();
    out(ArchiveStep::Figure(BenchFigure {
        name: format!(
            "synthetic history: {} records over {} days",
            opts.history_records, opts.days
        ),
        value: opts.history_records as f64 / written,
        unit: "records/s",
        note: format!(
            "{} of Parquet, {:.1} B/record",
            tradetrail_core::human_bytes(bytes),
            bytes as f64 / opts.history_records as f64
        ),
    }));
    // A one-day window in the middle of the year.
    let Some(&(_, lo, _)) = files.get(files.len() / 2) else {
        return Ok(());
    };
    let (from, to) = (lo, lo + 86_400_000_000_000);
    let t = Instant::now();
    let (n, groups) = pruned_window_count(&files, from, to)?;
    out(ArchiveStep::Figure(BenchFigure {
        name: "one-day window, parquet crate, pruned (count)".into(),
        value: t.elapsed().as_secs_f64() * 1000.0,
        unit: "ms",
        note: format!("{n} records in the window; {groups} row group(s) read"),
    }));
    out(ArchiveStep::Figure(sql_window(&files, from, to)?));
    Ok(())
}

/// The same window through `sql` (DataFusion), counts by type.
#[cfg(feature = "sql")]
fn sql_window(files: &[(PathBuf, i64, i64)], from: i64, to: i64) -> Result<BenchFigure> {
    let paths: Vec<PathBuf> = files.iter().map(|f| f.0.clone()).collect();
    let q = format!(
        "SELECT type, count(*) AS n FROM events WHERE ts_event >= to_timestamp_nanos({from}) AND ts_event < to_timestamp_nanos({to}) GROUP BY type"
    );
    let t = Instant::now();
    let batches = tradetrail_archive::run_sql_on_files(&paths, &q)?;
    let n: usize = batches.iter().map(|b| b.num_rows()).sum();
    Ok(BenchFigure {
        name: "one-day window, `sql` (DataFusion), counts by type".into(),
        value: t.elapsed().as_secs_f64() * 1000.0,
        unit: "ms",
        note: format!(
            "{n} types; includes starting the engine and reading {} footers",
            files.len()
        ),
    })
}

/// Without the `sql` feature: a line that says so.
#[cfg(not(feature = "sql"))]
fn sql_window(_: &[(PathBuf, i64, i64)], _: i64, _: i64) -> Result<BenchFigure> {
    Ok(BenchFigure {
        name: "one-day window, `sql`".into(),
        value: 0.0,
        unit: "-",
        note: "built without --features sql".into(),
    })
}

/// A realistic event line body: orders, fills, signals and risk checks.
pub fn sample_body(i: u64, ts_event: i64) -> String {
    let trader = i % 12;
    let inst = [
        "AAPL.XNAS",
        "MSFT.XNAS",
        "ESZ6.XCME",
        "EURUSD.IDEALPRO",
        "NVDA.XNAS",
    ][(i % 5) as usize];
    match i % 4 {
        0 => format!(
            r#"{{"type":"order.submitted","ts_event":{ts_event},"source":"oms","actor":"trader:T-{trader:02}","trader_id":"T-{trader:02}","strategy_id":"S-{}","account_id":"ACC-1","instrument_id":"{inst}","entity":{{"kind":"order","id":"O-{i}"}},"refs":{{"recommendation_id":"R-{i}"}},"data":{{"side":"buy","quantity":"{}","order_type":"limit","price":"{}.25","time_in_force":"day"}}}}"#,
            i % 7,
            100 + i % 900,
            100 + i % 50
        ),
        1 => format!(
            r#"{{"type":"order.filled","ts_event":{ts_event},"source":"gateway","actor":"system","trader_id":"T-{trader:02}","instrument_id":"{inst}","entity":{{"kind":"order","id":"O-{}"}},"refs":{{"order_id":"O-{}"}},"data":{{"fill_qty":"{}","fill_price":"{}.26","trade_id":"X-{i}","liquidity":"maker"}}}}"#,
            i - 1,
            i - 1,
            100 + i % 900,
            100 + i % 50
        ),
        2 => format!(
            r#"{{"type":"signal.generated","ts_event":{ts_event},"source":"alpha","actor":"algo:momo-{}","strategy_id":"S-{}","instrument_id":"{inst}","entity":{{"kind":"signal","id":"SG-{i}"}},"data":{{"direction":"long","strength":"0.{}"}}}}"#,
            i % 3,
            i % 7,
            i % 97
        ),
        _ => format!(
            r#"{{"type":"risk.evaluated","ts_event":{ts_event},"source":"risk_engine","actor":"system","trader_id":"T-{trader:02}","instrument_id":"{inst}","entity":{{"kind":"order","id":"O-{}"}},"data":{{"outcome":"pass","checks":["notional","position"]}}}}"#,
            i - 3
        ),
    }
}

/// Whole archive runs `bench archive` times (the median is reported).
const ARCHIVE_RUNS: usize = 3;

/// Builds a journal of `records` events under `scratch`, archives it, and measures.
pub fn bench_archive(scratch: &Path, records: u64, out: &mut dyn FnMut(BenchFigure)) -> Result<()> {
    let dir = DataDir::new(scratch.join("bench-archive"));
    let _ = std::fs::remove_dir_all(dir.root());
    let rec = Recorder::init(&dir, InitOptions::default())?;
    let mut batch = Vec::with_capacity(10_000);
    let base = rec.journal().options().clock.now_ns();
    for i in 0..records {
        let body = sample_body(i, base + i as i64 * 1000);
        batch.push(Entry::from_serialized(body.into_bytes(), Durability::Os)?);
        if batch.len() == 10_000 {
            rec.record_batch(std::mem::take(&mut batch))?;
        }
    }
    // One more segment so that every record above is in a sealed one.
    rec.record_batch(batch)?;
    rec.journal().flush()?;
    drop(rec);
    seal(&dir)?;
    let segs = list_segments(&FsStorage, &dir.journal())?;
    let sealed = &segs[..segs.len() - 1];
    // The journal was written with `Durability::Os` a moment ago: make it durable
    // before measuring, as sealed segments are by the time anyone archives them, so
    // the kernel's writeback of it does not run during the timings below. The pages
    // stay cached, for the floor and the archive alike.
    for s in sealed {
        std::fs::File::open(&s.path)
            .and_then(|f| f.sync_all())
            .map_err(|e| io("fsync", &s.path, e))?;
    }
    // The floor: read the same JSONL bytes and split them into lines.
    let t = Instant::now();
    let (mut lines, mut bytes) = (0u64, 0u64);
    for s in sealed {
        let data = std::fs::read(&s.path).map_err(|e| io("read", &s.path, e))?;
        lines += memchr::memchr_iter(b'\n', &data).count() as u64;
        bytes += data.len() as u64;
    }
    let floor = lines as f64 / t.elapsed().as_secs_f64();
    // Three whole runs from an empty archive; the median is the figure, and the note
    // gives all three (a shared machine's noise is as large as most changes).
    let mut rates = Vec::with_capacity(ARCHIVE_RUNS);
    let mut r = ArchiveReport::default();
    for run in 0..ARCHIVE_RUNS {
        if run > 0 {
            let root = archive_dir(&dir);
            std::fs::remove_dir_all(&root).map_err(|e| io("remove", &root, e))?;
        }
        let t = Instant::now();
        r = archive(&dir, &ArchiveOptions::default(), &mut |_, _| {})?;
        rates.push(r.records as f64 / t.elapsed().as_secs_f64());
    }
    let runs: Vec<String> = rates.iter().map(|x| format!("{x:.0}")).collect();
    rates.sort_by(f64::total_cmp);
    out(fig(
        "archive (JSONL -> zstd Parquet, verified chain, manifests)",
        rates[rates.len() / 2],
        "records/s",
        format!(
            "{} records, median of {ARCHIVE_RUNS} runs ({}); floor: read + split the same JSONL {:.0} records/s",
            r.records,
            runs.join(", "),
            floor
        ),
    ));
    out(fig(
        "JSONL size",
        bytes as f64 / lines as f64,
        "B/record",
        "",
    ));
    out(fig(
        "Parquet size (zstd 1, all columns + original line)",
        r.parquet_bytes as f64 / r.records as f64,
        "B/record",
        format!(
            "{:.1}x smaller",
            r.jsonl_bytes as f64 / r.parquet_bytes.max(1) as f64
        ),
    ));
    let t = Instant::now();
    let check = verify_all(&dir, &|_| {})?;
    out(fig(
        "verify journal + archive",
        check.archive.as_ref().map_or(0, |a| a.records) as f64 / t.elapsed().as_secs_f64(),
        "records/s",
        if check.ok() { "ok" } else { "FAILED" },
    ));
    let _ = std::fs::remove_dir_all(dir.root());
    Ok(())
}

/// Seals the active segment by writing one record on a journal opened with a tiny
/// segment limit.
fn seal(dir: &DataDir) -> Result<()> {
    let (rec, _) = Recorder::open_with(dir, |o| o.with_segment_max_bytes(4096))?;
    let body = sample_body(2, rec.journal().options().clock.now_ns());
    rec.record_batch(vec![Entry::from_serialized(
        body.into_bytes(),
        Durability::Fsync,
    )?])?;
    Ok(())
}

/// Writes `records` synthetic archived records spread over `days` day partitions
/// (one file each) under `root`; returns the files with their ts_event range.
pub fn synthetic_history(
    root: &Path,
    records: u64,
    days: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<(PathBuf, i64, i64)>> {
    let per_day = records / days.max(1);
    let start = 1_767_225_600_000_000_000i64; // 2026-01-01
    let mut files = Vec::new();
    let mut seq = 0u64;
    for d in 0..days {
        let day_start = start + d as i64 * NS_PER_DAY;
        let step = NS_PER_DAY / per_day.max(1) as i64;
        let lines: Vec<String> = (0..per_day)
            .map(|k| {
                let ts = day_start + k as i64 * step;
                let body = sample_body(seq + k, ts);
                format!(
                    r#"{{"seq":{},"ts_recorded":{},"prev":"{}",{}"#,
                    seq + k,
                    ts + 1000,
                    "0".repeat(64),
                    &body[1..]
                )
            })
            .collect();
        let rows = lines
            .iter()
            .map(|l| Row::parse(l.as_bytes()))
            .collect::<std::result::Result<Vec<Row<'_>>, String>>()
            .map_err(|reason| Error::Corrupt {
                path: root.to_path_buf(),
                reason: format!("a synthetic line does not parse: {reason}"),
            })?;
        let pdir = partition_dir(root, d as i64 + start / NS_PER_DAY);
        std::fs::create_dir_all(&pdir).map_err(|e| io("create", &pdir, e))?;
        let path = pdir.join(file_name(seq, seq + per_day - 1));
        let f = std::fs::File::create(&path).map_err(|e| io("create", &path, e))?;
        write_parquet(
            std::io::BufWriter::new(f),
            &rows,
            &ArchiveOptions::default(),
            vec![],
        )?;
        files.push((path, day_start, day_start + (per_day as i64 - 1) * step));
        seq += per_day;
        progress(seq);
    }
    Ok(files)
}

/// Counts the records whose `ts_event` is in `[from, to)`, reading only files whose
/// range overlaps and, in them, only row groups whose statistics overlap. Returns the
/// count and the row groups read.
pub fn pruned_window_count(
    files: &[(PathBuf, i64, i64)],
    from: i64,
    to: i64,
) -> Result<(u64, usize)> {
    let mut n = 0u64;
    let mut groups = 0usize;
    for (path, lo, hi) in files {
        if *hi < from || *lo >= to {
            continue;
        }
        let pq = |source| Error::Parquet {
            path: path.clone(),
            source,
        };
        let file = std::fs::File::open(path).map_err(|e| io("open", path, e))?;
        let b = ParquetRecordBatchReaderBuilder::try_new(file).map_err(pq)?;
        let schema = b.parquet_schema();
        let ts_idx = (0..schema.num_columns())
            .find(|&i| schema.column(i).name() == col::TS_EVENT)
            .ok_or_else(|| Error::Corrupt {
                path: path.clone(),
                reason: "no ts_event column".into(),
            })?;
        let keep: Vec<usize> = b
            .metadata()
            .row_groups()
            .iter()
            .enumerate()
            .filter(|(_, rg)| match rg.column(ts_idx).statistics() {
                Some(Statistics::Int64(s)) => {
                    s.min_opt().is_none_or(|m| *m < to) && s.max_opt().is_none_or(|m| *m >= from)
                }
                _ => true,
            })
            .map(|(i, _)| i)
            .collect();
        groups += keep.len();
        let mask = ProjectionMask::leaves(schema, [ts_idx]);
        let reader = b
            .with_row_groups(keep)
            .with_projection(mask)
            .build()
            .map_err(pq)?;
        for batch in reader {
            let batch = batch.map_err(|e| Error::Corrupt {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            let ts = batch.column(0).as_primitive::<TimestampNanosecondType>();
            n += ts
                .iter()
                .flatten()
                .filter(|t| *t >= from && *t < to)
                .count() as u64;
        }
    }
    Ok((n, groups))
}
