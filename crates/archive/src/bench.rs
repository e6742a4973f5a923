//! The archive's figures for `tradetrail bench archive`: archive throughput beside the
//! machine's floor (reading and splitting the same JSONL bytes), bytes per record, and
//! a one-day window over a year of archived history, pruned by the manifests' and row
//! groups' `ts_event` statistics.

use std::path::{Path, PathBuf};
use std::time::Instant;

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampNanosecondType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use parquet::file::statistics::Statistics;
use tradetrail_core::{DataDir, InitOptions, Recorder};
use tradetrail_journal::{list_segments, Durability, Entry, FsStorage};

use crate::archiver::{archive, write_parquet, ArchiveOptions, ArchiveReport};
use crate::layout::{partition_dir, NS_PER_DAY};
use crate::row::Row;
use crate::schema::col;
use crate::{Error, Result};

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
            .map_err(|e| Error::io("fsync", &s.path, e))?;
    }
    // The floor: read the same JSONL bytes and split them into lines.
    let t = Instant::now();
    let (mut lines, mut bytes) = (0u64, 0u64);
    for s in sealed {
        let data = std::fs::read(&s.path).map_err(|e| Error::io("read", &s.path, e))?;
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
            let root = crate::archive_dir(&dir);
            std::fs::remove_dir_all(&root).map_err(|e| Error::io("remove", &root, e))?;
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
    let check = crate::verify::verify_all(&dir, &|_| {})?;
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
        let rows: Vec<Row<'_>> = lines
            .iter()
            .map(|l| Row::parse(l.as_bytes()).expect("synthetic line"))
            .collect();
        let pdir = partition_dir(root, d as i64 + start / NS_PER_DAY);
        std::fs::create_dir_all(&pdir).map_err(|e| Error::io("create", &pdir, e))?;
        let path = pdir.join(crate::layout::file_name(seq, seq + per_day - 1));
        let f = std::fs::File::create(&path).map_err(|e| Error::io("create", &path, e))?;
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
        let file = std::fs::File::open(path).map_err(|e| Error::io("open", path, e))?;
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
