//! The tracing layer against a real journal in a temporary data directory.

use std::path::Path;

use serde_json::{json, Value};
use tracing_subscriber::prelude::*;
use tradetrail_core::{DataDir, InitOptions, LogConfig, Recorder};
use tradetrail_store::Store;
use tradetrail_tracing::{layer, Error, OnFull, Options};

/// A fresh data directory, with `extra` appended to its tradetrail.toml, opened
/// through the one door.
fn open(tmp: &Path, extra: &str) -> (DataDir, Recorder) {
    let dir = DataDir::new(tmp.join("data"));
    drop(
        Recorder::init(
            &dir,
            InitOptions {
                origin: Some("test/tracing".into()),
                ..Default::default()
            },
        )
        .unwrap(),
    );
    if !extra.is_empty() {
        let mut text = std::fs::read_to_string(dir.config()).unwrap();
        text.push_str(extra);
        std::fs::write(dir.config(), text).unwrap();
    }
    let rec = Store::open(&dir).unwrap().into_recorder();
    (dir, rec)
}

/// Every record after record 0, parsed.
fn records(rec: &Recorder) -> Vec<Value> {
    let n = rec.journal().status().unwrap().records;
    (1..n)
        .map(|seq| serde_json::from_slice(&rec.read_line(seq).unwrap()).unwrap())
        .collect()
}

fn category(r: &Value) -> &str {
    r["entity"]["id"].as_str().unwrap_or("")
}

#[derive(Debug)]
struct Refused;
impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("venue refused the order")
    }
}
impl std::error::Error for Refused {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&Insufficient)
    }
}
#[derive(Debug)]
struct Insufficient;
impl std::fmt::Display for Insufficient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("insufficient margin")
    }
}
impl std::error::Error for Insufficient {}

#[test]
fn each_event_is_a_log_record_of_the_python_handlers_shape() {
    let tmp = tempfile::tempdir().unwrap();
    let (_dir, rec) = open(tmp.path(), "");
    let opts = Options::default()
        .source("oms")
        .actor("service:oms")
        .target("oms::net", "connection")
        .user_id("u-1");
    let (l, guard) = layer(&rec, opts).unwrap();
    let subscriber = tracing_subscriber::registry().with(l);
    tracing::subscriber::with_default(subscriber, || {
        tracing::warn!(
            target: "oms::orders",
            category = "order",
            trader_id = "T-03",
            instrument_id = "AAPL.XNAS",
            order_id = "O-7",
            qty = 100,
            px = 228.5,
            urgent = true,
            session_id = "s-9",
            error = &Refused as &dyn std::error::Error,
            "order {} rejected",
            "O-7"
        );
        tracing::info!(target: "oms::net::fix", "logged on");
        tracing::debug!(target: "oms::netx", "");
        tracing::trace!(target: "oms", "tick");
        tracing::error!(target: "oms", "boom");
    });
    drop(guard);
    let rs = records(&rec);
    assert_eq!(rs.len(), 5, "{rs:#?}");
    let w = &rs[0];
    let mut w_no_ids = w.clone();
    let obj = w_no_ids.as_object_mut().unwrap();
    let event_id = obj.remove("event_id").unwrap();
    assert_eq!(event_id.as_str().unwrap().len(), 36);
    assert!(obj.remove("ts_event").unwrap().as_i64().unwrap() > 1_700_000_000_000_000_000);
    // The journal's header.
    assert_eq!(obj.remove("seq"), Some(json!(1)));
    assert!(obj.remove("ts_recorded").is_some() && obj.remove("prev").is_some());
    assert_eq!(
        w_no_ids,
        json!({
            "type": "log.warning",
            "source": "oms",
            "actor": "service:oms",
            "trader_id": "T-03",
            "instrument_id": "AAPL.XNAS",
            "entity": {"kind": "log", "id": "order"},
            "data": {
                "message": "order O-7 rejected",
                "logger": "oms::orders",
                "context": {
                    "order_id": "O-7",
                    "qty": 100,
                    "px": 228.5,
                    "urgent": true,
                    "error": "venue refused the order: insufficient margin"
                },
                "exception": "venue refused the order: insufficient margin",
                "user_id": "u-1",
                "session_id": "s-9"
            }
        })
    );
    // The target's category, by its longest prefix; `oms::netx` is not under `oms::net`.
    assert_eq!(
        (rs[1]["type"].as_str(), category(&rs[1])),
        (Some("log.info"), "connection")
    );
    assert_eq!(
        (rs[2]["type"].as_str(), category(&rs[2])),
        (Some("log.debug"), "system")
    );
    assert_eq!(rs[2]["data"]["message"], "(empty)");
    assert_eq!(rs[3]["type"], "log.debug", "TRACE is recorded as debug");
    assert_eq!(rs[4]["type"], "log.error");
    assert!(rs[1]["data"].get("context").is_none());

    // `query --level warning --category order` finds it through the index.
    let inv = tradetrail_store::investigator(&rec).unwrap();
    let mut f = tradetrail_query::Filter::default();
    let utc = tradetrail_model::Zone::default();
    f.set_in("level", "warning", &utc).unwrap();
    f.set_in("category", "order", &utc).unwrap();
    let (found, _) = inv
        .query(&f, &tradetrail_query::QueryOptions::default())
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        serde_json::from_slice::<Value>(&found[0].line).unwrap()["event_id"],
        event_id
    );
}

fn emit_levels() {
    for category in ["order", "connection", "system"] {
        tracing::debug!(category, "d");
        tracing::info!(category, "i");
        tracing::warn!(category, "w");
    }
}

fn kept(rec: &Recorder) -> Vec<(String, String)> {
    records(rec)
        .iter()
        .map(|r| {
            (
                category(r).to_owned(),
                r["data"]["message"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn per_category_levels_come_from_tradetrail_toml() {
    let tmp = tempfile::tempdir().unwrap();
    let (_dir, rec) = open(
        tmp.path(),
        "\n[log]\nlevel = \"info\"\n\n[log.categories]\norder = \"debug\"\nconnection = \"warning\"\n",
    );
    let (l, guard) = layer(&rec, Options::default()).unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(l), emit_levels);
    guard.flush();
    assert_eq!(
        kept(&rec),
        pairs(&[
            ("order", "d"),
            ("order", "i"),
            ("order", "w"),
            ("connection", "w"),
            ("system", "i"),
            ("system", "w"),
        ])
    );
    assert_eq!(guard.stats().recorded, 6);
}

#[test]
fn levels_given_in_options_beat_the_configuration() {
    let tmp = tempfile::tempdir().unwrap();
    let (_dir, rec) = open(tmp.path(), "\n[log]\nlevel = \"warning\"\n");
    let mut levels = LogConfig::default();
    levels.categories.insert("system".into(), "debug".into());
    let (l, guard) = layer(&rec, Options::default().levels(levels)).unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(l), emit_levels);
    drop(guard);
    assert_eq!(
        kept(&rec),
        pairs(&[
            ("order", "d"),
            ("order", "i"),
            ("order", "w"),
            ("connection", "d"),
            ("connection", "i"),
            ("connection", "w"),
            ("system", "d"),
            ("system", "i"),
            ("system", "w"),
        ])
    );
}

#[test]
fn a_full_queue_in_drop_mode_counts_and_records_the_drops() {
    let tmp = tempfile::tempdir().unwrap();
    let (_dir, rec) = open(tmp.path(), "");
    let opts = Options::default()
        .source("oms")
        .queue_size(3)
        .on_full(OnFull::Drop)
        .start(false);
    let (l, guard) = layer(&rec, opts).unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(l.clone()), || {
        for i in 0..10 {
            tracing::info!(n = i, "line {i}");
        }
    });
    let s = l.stats();
    assert_eq!((s.queued, s.dropped, s.recorded), (3, 7, 0));
    guard.start().unwrap();
    guard.flush();
    let rs = records(&rec);
    let messages: Vec<&str> = rs[..3]
        .iter()
        .map(|r| r["data"]["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["line 0", "line 1", "line 2"]);
    assert_eq!(rs.len(), 4, "{rs:#?}");
    assert_eq!(rs[3]["type"], "log.dropped");
    assert_eq!(rs[3]["data"]["dropped"], "7", "a decimal, as text");
    assert_eq!(rs[3]["source"], "oms");
    let s = guard.stats();
    assert_eq!((s.queued, s.dropped, s.recorded, s.failed), (3, 7, 3, 0));
}

#[test]
fn a_full_queue_in_block_mode_loses_nothing_and_the_journal_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, rec) = open(tmp.path(), "");
    let opts = Options::default().queue_size(1).batch_size(7);
    let (l, guard) = layer(&rec, opts).unwrap();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(l.clone()));
    std::thread::scope(|s| {
        for t in 0..4 {
            let dispatch = dispatch.clone();
            s.spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    for i in 0..500 {
                        tracing::info!(thread = t, i, "line");
                    }
                })
            });
        }
    });
    drop(guard);
    let rs = records(&rec);
    assert_eq!(rs.len(), 2000);
    let mut seen: Vec<(i64, i64)> = rs
        .iter()
        .map(|r| {
            let c = &r["data"]["context"];
            (c["thread"].as_i64().unwrap(), c["i"].as_i64().unwrap())
        })
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 2000, "every line once");
    let s = l.stats();
    assert_eq!(
        (s.queued, s.recorded, s.dropped, s.failed),
        (2000, 2000, 0, 0)
    );

    // After the guard is gone, lines are counted, not recorded.
    tracing::dispatcher::with_default(&dispatch, || tracing::info!("late"));
    assert_eq!(l.stats().after_close, 1);
    assert_eq!(records(&rec).len(), 2000);

    drop(rec);
    let verdict = tradetrail_store::verify(&dir, &|_| {}, &|_, _| {}).unwrap();
    assert!(verdict.ok, "{verdict:?}");
}

#[test]
fn dropping_the_guard_records_what_is_queued() {
    let tmp = tempfile::tempdir().unwrap();
    let (_dir, rec) = open(tmp.path(), "");
    let (l, guard) = layer(&rec, Options::default().start(false)).unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(l), || {
        for i in 0..5 {
            tracing::error!(i, "queued before the writer started");
        }
    });
    assert!(records(&rec).is_empty());
    drop(guard);
    assert_eq!(records(&rec).len(), 5);
}

#[test]
fn a_line_the_model_refuses_is_counted_and_the_rest_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let (_dir, rec) = open(tmp.path(), "");
    let (l, guard) = layer(&rec, Options::default()).unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(l), || {
        tracing::info!(
            category = "bad\ncategory",
            "refused: a control character in an id"
        );
        tracing::info!("recorded");
    });
    guard.flush();
    let rs = records(&rec);
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0]["data"]["message"], "recorded");
    let s = guard.stats();
    assert_eq!((s.recorded, s.failed), (1, 1));
}

#[test]
fn bad_options_are_refused_naming_the_option() {
    let tmp = tempfile::tempdir().unwrap();
    let (_dir, rec) = open(tmp.path(), "");
    let field = |opts: Options| match layer(&rec, opts) {
        Err(Error::BadOption { field, reason }) => (field, reason),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("accepted"),
    };
    let (f, reason) = field(Options::default().actor("bob"));
    assert_eq!(f, "actor");
    assert!(reason.contains("is not an actor"), "{reason}");
    assert_eq!(field(Options::default().queue_size(0)).0, "queue_size");
    assert_eq!(field(Options::default().batch_size(0)).0, "batch_size");
    assert_eq!(field(Options::default().target("x", "")).0, "category");
    let levels = LogConfig {
        level: Some("loud".into()),
        ..LogConfig::default()
    };
    let (f, reason) = field(Options::default().levels(levels));
    assert_eq!(f, "levels");
    assert_eq!(
        reason,
        "log.level: use one of debug, info, warning, error, critical, not \"loud\""
    );
}
