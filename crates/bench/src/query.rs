//! `tradetrail bench query`: the investigation figures (docs/benchmarks.md) on a demo
//! journal built for the purpose, each beside its target.
//!
//! Timings are in-process through the library (what the server pays); "cold" lines add
//! opening the index from disk, which is what each CLI call pays on top of starting
//! the process.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tradetrail_core::{human_bytes, DataDir, InitOptions, Recorder};
use tradetrail_demo::{run_demo, DemoOptions};
use tradetrail_query::{Dim, Filter, IndexOptions, Investigator, QueryOptions, Source};

use crate::{Error, Result};

/// What to measure.
#[derive(Debug, Clone)]
pub struct QueryBenchOptions {
    /// Events in the demo journal the queries run on.
    pub events: u64,
    /// Events in each append run (two without the index, two with it kept current
    /// beside); `None`: the smaller of `events` and 500,000.
    pub append_events: Option<u64>,
    /// Trails to time (orders spread over the journal).
    pub trails: usize,
    /// Where the scratch directory goes (removed afterwards); `None`: the system's
    /// temporary directory.
    pub dir: Option<PathBuf>,
    /// Keep the scratch directory for a look afterwards.
    pub keep: bool,
}

/// One measured figure beside its target.
#[derive(Debug, Clone, Serialize)]
pub struct QueryLine {
    /// What was measured.
    pub what: String,
    /// The figure as read.
    pub measured: String,
    /// The target (empty: none).
    pub target: String,
    /// `true` met, `false` missed, absent: no target.
    pub ok: Option<bool>,
    /// The measured value in its unit, for scripts.
    pub value: f64,
    /// The value's unit.
    pub unit: &'static str,
}

/// What the run reports as it goes.
#[derive(Debug, Clone)]
pub enum QueryStep {
    /// The scratch directory is made; the demo journal of `events` events is next.
    Started {
        /// Events in the demo journal.
        events: u64,
        /// The scratch directory.
        root: PathBuf,
    },
    /// A measured line.
    Line(QueryLine),
    /// The scratch directory was kept (`keep`) here.
    Kept(PathBuf),
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn timed_line(what: &str, v_ms: f64, target_ms: Option<f64>, extra: &str) -> QueryLine {
    QueryLine {
        what: what.to_owned(),
        measured: format!("{v_ms:.2} ms{extra}"),
        target: target_ms.map_or(String::new(), |t| format!("<= {t} ms")),
        ok: target_ms.map(|t| v_ms <= t),
        value: v_ms,
        unit: "ms",
    }
}

/// Builds a demo journal; returns the recorder and events per second.
fn demo(root: &Path, name: &str, events: u64) -> Result<(Recorder, DataDir, f64)> {
    let dir = DataDir::new(root.join(name));
    let rec = Recorder::init(
        &dir,
        InitOptions {
            origin: Some(format!("bench.query/{name}")),
            ..Default::default()
        },
    )?;
    let opts = DemoOptions {
        events,
        ..DemoOptions::default()
    };
    let t0 = Instant::now();
    let s = run_demo(&rec, &opts, &|_| {})?;
    let rate = s.events as f64 / t0.elapsed().as_secs_f64();
    Ok((rec, dir, rate))
}

/// Runs `f` `n` times; returns the sorted times in ms.
fn repeat(n: usize, mut f: impl FnMut() -> Result<()>) -> Result<Vec<f64>> {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f()?;
        v.push(ms(t.elapsed()));
    }
    v.sort_by(f64::total_cmp);
    Ok(v)
}

/// Runs every measurement of `tradetrail bench query` on demo journals built in a
/// scratch directory; `out` gets each step as it happens.
pub fn run(opts: &QueryBenchOptions, out: &mut dyn FnMut(QueryStep)) -> Result<()> {
    let base = opts.dir.clone().unwrap_or_else(std::env::temp_dir);
    let scratch = crate::scratch_dir(&base, "tradetrail-bench-query-")?;
    let root = scratch.path().to_path_buf();
    out(QueryStep::Started {
        events: opts.events,
        root: root.clone(),
    });
    let mut line = |l: QueryLine| out(QueryStep::Line(l));

    // 1. The journal.
    let (rec, dir, rate) = demo(&root, "main", opts.events)?;
    let st = rec.journal().status()?;
    drop(rec);
    line(QueryLine {
        what: format!(
            "demo journal: {} records, {}",
            st.records,
            human_bytes(st.bytes)
        ),
        measured: format!("{rate:.0} events/s"),
        target: String::new(),
        ok: None,
        value: rate,
        unit: "events/s",
    });

    // 2. Index build from scratch, and its size.
    let idx_dir = dir.index().join("query");
    let src = || Source::dir(dir.journal());
    let t0 = Instant::now();
    // Saved whole, as a one-shot `tradetrail query` saves it (the default keeps up to
    // 65,536 records in memory between saves, which a small journal never reaches).
    let index_opts = IndexOptions {
        persist: true,
        flush_rows: 1,
    };
    let inv = Investigator::open_with(src(), &idx_dir, index_opts, &|_| {})?;
    let build = t0.elapsed();
    let status = inv.status();
    line(QueryLine {
        what: format!(
            "index build from scratch ({:.0} records/s)",
            status.rows as f64 / build.as_secs_f64()
        ),
        measured: format!("{:.2} s", build.as_secs_f64()),
        target: "reported".into(),
        ok: None,
        value: build.as_secs_f64(),
        unit: "s",
    });
    line(QueryLine {
        what: format!(
            "index size on disk ({:.1}% of the journal, {:.1} B/record)",
            100.0 * status.disk_bytes as f64 / st.bytes.max(1) as f64,
            status.disk_bytes as f64 / status.rows.max(1) as f64
        ),
        measured: human_bytes(status.disk_bytes),
        target: "reported".into(),
        ok: None,
        value: status.disk_bytes as f64,
        unit: "bytes",
    });

    // 3. Trails of orders spread over the journal.
    let orders = sample_ids(&inv, "order.submitted", opts.trails)?;
    let mut times = Vec::with_capacity(orders.len());
    let mut sizes = 0usize;
    for id in &orders {
        let t = Instant::now();
        let trail = inv.trail(id)?;
        times.push(ms(t.elapsed()));
        sizes += trail.records.len();
    }
    times.sort_by(f64::total_cmp);
    let extra = format!(" p99 {:.2}", pct(&times, 0.99));
    line(timed_line(
        &format!(
            "trail of one order, p50 of {} ({:.1} records each)",
            orders.len(),
            sizes as f64 / orders.len().max(1) as f64
        ),
        pct(&times, 0.5),
        Some(5.0),
        &extra,
    ));
    let recs = sample_ids(&inv, "recommendation.generated", 50)?;
    let rt = repeat_over(&inv, &recs)?;
    line(timed_line(
        "trail from a recommendation, p50",
        pct(&rt, 0.5),
        Some(5.0),
        &format!(" p99 {:.2}", pct(&rt, 0.99)),
    ));

    // 4. A time window filtered by type, to the last row. The demo's day stretches
    // over many days of ts_event as it grows (approvals wait up to a minute), so "one
    // hour of a day" is taken as 1/24 of the journal's ts_event span; and, the harder
    // case, a window long enough that its 'order.*' rows are 1/24 of all records.
    let day = DemoOptions::default().day_start_ns;
    let first = day + (14 * 3600 + 1800) * 1_000_000_000;
    let mut last_sig = Filter::default();
    last_sig.set("type", "signal.generated")?;
    let (tail, _) = inv.query(
        &last_sig,
        &QueryOptions {
            limit: Some(1),
            reverse: true,
            ..Default::default()
        },
    )?;
    let last = tail
        .first()
        .and_then(|r| serde_json::from_slice::<serde_json::Value>(&r.line).ok())
        .and_then(|v| v["ts_event"].as_i64())
        .unwrap_or(first + 3600 * 1_000_000_000);
    let span = (last - first).max(1);
    let mut order_types = Filter::default();
    order_types.set("type", "order.*")?;
    let share = inv.stats(Dim::Type, &order_types)?.total as f64 / status.rows.max(1) as f64;
    // The 50 ms target is set on 1,000,000 events; windows that are a share of the
    // journal grow with it, so beyond that they are reported without a verdict.
    let share_target = (opts.events <= 1_000_000).then_some(50.0);
    for (label, len, target) in [
        ("one hour of ts_event", 3600 * 1_000_000_000, Some(50.0)),
        ("1/24 of the ts_event span", span / 24, share_target),
        (
            "window whose rows are 1/24 of the journal",
            (span as f64 / 24.0 / share.max(1e-9)) as i64,
            share_target,
        ),
    ] {
        let from = first + span / 3;
        let mut f = order_types.clone();
        f.from = Some(from);
        f.to = Some(from + len.max(1));
        let mut rows = 0u64;
        let w = repeat(7, || {
            let mut sink: Vec<u8> = Vec::with_capacity(64 << 20);
            let s = inv.query_each(&f, &QueryOptions::default(), &mut |_, line| {
                sink.extend_from_slice(line);
                sink.push(b'\n');
                Ok(true)
            })?;
            rows = s.returned;
            Ok(())
        })?;
        line(timed_line(
            &format!(
                "{label}, --type 'order.*': {rows} rows (1/{:.0}), to the last row",
                status.rows as f64 / rows.max(1) as f64
            ),
            pct(&w, 0.5),
            target,
            &format!(" max {:.1}", w[w.len() - 1]),
        ));
    }

    // 5. Counts by type over the whole journal.
    let c = repeat(7, || {
        inv.stats(Dim::Type, &Filter::default())
            .map(|_| ())
            .map_err(Into::into)
    })?;
    line(timed_line(
        "counts by type over the whole journal",
        pct(&c, 0.5),
        Some(100.0),
        &format!(" max {:.1}", c[c.len() - 1]),
    ));

    // 6. Other answers, no target.
    let mut sel = Filter::default();
    sel.set("trader", "T-03")?;
    sel.set("instrument", "AAPL.XNAS")?;
    sel.set("source", "broker_gateway")?;
    let q = repeat(7, || {
        inv.query(
            &sel,
            &QueryOptions {
                limit: Some(50),
                reverse: false,
                ..Default::default()
            },
        )
        .map(|_| ())
        .map_err(Into::into)
    })?;
    line(timed_line(
        "--trader --instrument --source --limit 50",
        pct(&q, 0.5),
        None,
        "",
    ));
    let at = first + span / 2;
    let inc = repeat(5, || {
        inv.incident(
            at,
            300 * 1_000_000_000,
            &Filter::default(),
            &QueryOptions::default(),
        )
        .map(|_| ())
        .map_err(Into::into)
    })?;
    line(timed_line(
        "incident ±5m with every record",
        pct(&inc, 0.5),
        None,
        "",
    ));
    let conv = repeat(3, || {
        inv.conversion(&Filter::default())
            .map(|_| ())
            .map_err(Into::into)
    })?;
    line(timed_line(
        "conversion funnel over the whole journal",
        pct(&conv, 0.5),
        None,
        "",
    ));

    // 7. What a CLI call pays: open the saved index, then answer.
    drop(inv);
    let cli_opts = IndexOptions {
        persist: true,
        flush_rows: 1,
    };
    let mut i = 0;
    let cold = repeat(20, || {
        let inv = Investigator::open_with(src(), &idx_dir, cli_opts.clone(), &|_| {})?;
        inv.trail(&orders[i % orders.len()])?;
        i += 1;
        Ok(())
    })?;
    line(timed_line(
        "cold: open the saved index + trail of one order, p50",
        pct(&cold, 0.5),
        Some(5.0),
        &format!(" max {:.2}", cold[cold.len() - 1]),
    ));
    let cold_stats = repeat(5, || {
        let inv = Investigator::open_with(src(), &idx_dir, cli_opts.clone(), &|_| {})?;
        inv.stats(Dim::Type, &Filter::default())?;
        Ok(())
    })?;
    line(timed_line(
        "cold: open the saved index + counts by type",
        pct(&cold_stats, 0.5),
        Some(100.0),
        "",
    ));

    // 8. Appending with the index kept current beside it. Runs alternate (plain,
    // indexed, plain, indexed), each on a fresh data directory after a `sync`, so the
    // write-back of one run does not land on the next; the ratio is of the totals.
    let m = opts.append_events.unwrap_or(opts.events.min(500_000));
    let (mut plain, mut with) = (Vec::new(), Vec::new());
    let mut follow = (0u64, 0u64);
    for round in 0..2 {
        rustix::fs::sync();
        let name = format!("append-plain-{round}");
        let (rec, _, rate) = demo(&root, &name, m)?;
        drop(rec);
        let _ = std::fs::remove_dir_all(root.join(&name));
        plain.push(rate);
        rustix::fs::sync();
        let (rate, refreshes, lag) =
            append_with_index(&root, &format!("append-indexed-{round}"), m)?;
        with.push(rate);
        follow = (follow.0 + refreshes, follow.1.max(lag));
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let ratio = mean(&with) / mean(&plain);
    line(QueryLine {
        what: format!("append {m} demo events, no index (2 runs)"),
        measured: format!("{:.0} events/s", mean(&plain)),
        target: String::new(),
        ok: None,
        value: mean(&plain),
        unit: "events/s",
    });
    line(QueryLine {
        what: format!(
            "  same, index caught up every 1 ms ({} refreshes; lag at end <= {} records)",
            follow.0, follow.1
        ),
        measured: format!("{:.0} events/s ({:.0}%)", mean(&with), ratio * 100.0),
        target: ">= 80%".into(),
        ok: Some(ratio >= 0.8),
        value: ratio,
        unit: "ratio",
    });

    if opts.keep {
        out(QueryStep::Kept(scratch.keep()));
    }
    Ok(())
}

/// Times trails of `ids`; sorted ms.
fn repeat_over(inv: &Investigator, ids: &[String]) -> Result<Vec<f64>> {
    let mut v = Vec::with_capacity(ids.len());
    for id in ids {
        let t = Instant::now();
        inv.trail(id)?;
        v.push(ms(t.elapsed()));
    }
    v.sort_by(f64::total_cmp);
    Ok(v)
}

/// Up to `n` entity ids of records of type `ty`, evenly spread over the journal.
fn sample_ids(inv: &Investigator, ty: &str, n: usize) -> Result<Vec<String>> {
    let mut f = Filter::default();
    f.set("type", ty)?;
    let total = inv
        .stats(Dim::Type, &f)?
        .rows
        .first()
        .map_or(0, |r| r.count);
    let stride = (total / n.max(1) as u64).max(1);
    let mut out = Vec::new();
    let mut i = 0u64;
    inv.query_each(&f, &QueryOptions::default(), &mut |_, line| {
        if i.is_multiple_of(stride) && out.len() < n {
            let v: serde_json::Value = serde_json::from_slice(line).unwrap_or_default();
            if let Some(id) = v.pointer("/entity/id").and_then(|x| x.as_str()) {
                out.push(id.to_owned());
            }
        }
        i += 1;
        Ok(out.len() < n)
    })?;
    Ok(out)
}

/// Appends `m` demo events while another thread keeps a live index current; returns
/// (events/s, refreshes, records the index was behind when the appends ended).
fn append_with_index(root: &Path, name: &str, m: u64) -> Result<(f64, u64, u64)> {
    let dir = DataDir::new(root.join(name));
    let rec = Recorder::init(
        &dir,
        InitOptions {
            origin: Some(format!("bench.query/{name}")),
            ..Default::default()
        },
    )?;
    let inv = Arc::new(Investigator::open(
        Source::live(rec.journal().clone()),
        dir.index().join("query"),
    )?);
    let stop = Arc::new(AtomicBool::new(false));
    let follower = {
        let inv = inv.clone();
        let stop = stop.clone();
        std::thread::spawn(move || -> Result<u64> {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                inv.refresh()?;
                n += 1;
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok(n)
        })
    };
    let t0 = Instant::now();
    let s = run_demo(
        &rec,
        &DemoOptions {
            events: m,
            ..DemoOptions::default()
        },
        &|_| {},
    )?;
    let rate = s.events as f64 / t0.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let refreshes = follower
        .join()
        .map_err(|_| Error::Panicked("the index thread"))??;
    let lag = rec.journal().status()?.written - inv.status().rows;
    drop(inv);
    drop(rec);
    let _ = std::fs::remove_dir_all(dir.root());
    Ok((rate, refreshes, lag))
}
