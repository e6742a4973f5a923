//! `tradetrail schema`: the type table, the JSON Schema generated from it, checked with
//! an independent validator (Python's `jsonschema`) against every event the demo
//! records and against the bad events `append` refuses; and docs/events.md is the
//! generated Markdown.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use common::*;
use serde_json::{json, Value};

/// Validates each line of `events` against `schema` with Python's `jsonschema`
/// (draft 2020-12, after checking the schema itself); `None` when it is not installed.
const VALIDATE_PY: &str = r#"
import json, sys
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(schema)
v = Draft202012Validator(schema)
for line in open(sys.argv[2]):
    errs = list(v.iter_errors(json.loads(line)))
    if errs:
        e = errs[0]
        print("bad " + "/".join(str(p) for p in e.absolute_path) + ": " + e.message.replace("\n", " ")[:300])
    else:
        print("ok")
"#;

fn python_jsonschema() -> bool {
    Command::new("python3")
        .args(["-c", "import jsonschema"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// One verdict per event: `Ok(())` or `Err(why)`.
fn schema_verdicts(s: &Scratch, schema: &str, events: &[String]) -> Vec<Result<(), String>> {
    let schema_file = s.file("schema.json", schema);
    let events_file = s.file("to-check.jsonl", &(events.join("\n") + "\n"));
    let script = s.file("validate.py", VALIDATE_PY);
    let out = Command::new("python3")
        .args([&script, &schema_file, &events_file])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "the validator failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let verdicts: Vec<Result<(), String>> = text
        .lines()
        .map(|l| match l {
            "ok" => Ok(()),
            bad => Err(bad.to_string()),
        })
        .collect();
    assert_eq!(verdicts.len(), events.len());
    verdicts
}

/// The line numbers (1-based) `append --dry-run` refuses in `events`.
fn append_refuses(s: &Scratch, name: &str, events: &[String]) -> BTreeSet<usize> {
    let file = s.file(name, &(events.join("\n") + "\n"));
    let r = s.on_data("append", &["--dry-run", &file]);
    let prefix = format!("{file}:");
    let mut bad = BTreeSet::new();
    for line in r.stderr.lines() {
        if let Some(rest) = line.strip_prefix(&prefix) {
            let n: usize = rest.split(':').next().unwrap().parse().unwrap();
            bad.insert(n);
        }
    }
    if bad.is_empty() {
        assert_eq!(r.code, Some(0), "{}", r.stderr);
    } else {
        assert_eq!(r.code, Some(2), "{}", r.stderr);
    }
    bad
}

fn order_filled() -> Value {
    json!({
        "type": "order.filled",
        "ts_event": 1_795_700_000_000_000_000i64,
        "source": "gw",
        "actor": "system",
        "event_id": "67e55044-10b1-426f-9247-bb680e5fe0c8",
        "trader_id": "T-1",
        "instrument_id": "AAPL.XNAS",
        "entity": {"kind": "order", "id": "O-1"},
        "data": {"fill_qty": "100", "fill_price": "187.50", "trade_id": "X-1"}
    })
}

fn order_submitted() -> Value {
    json!({
        "type": "order.submitted",
        "ts_event": "2026-11-21T14:32:10.123Z",
        "source": "oms",
        "actor": "trader:T-1",
        "trader_id": "T-1",
        "instrument_id": "AAPL.XNAS",
        "entity": {"kind": "order", "id": "O-2"},
        "data": {"side": "BUY", "quantity": 100, "order_type": "limit", "price": "187.5"}
    })
}

fn without_event_id(line: &str) -> String {
    let mut v = parse(line);
    v.as_object_mut().unwrap().remove("event_id");
    v.to_string()
}

/// `base` with `f` applied.
fn with(base: Value, f: impl FnOnce(&mut Value)) -> String {
    let mut v = base;
    f(&mut v);
    v.to_string()
}

#[test]
fn the_schema_accepts_what_append_accepts_and_refuses_what_it_refuses() {
    let s = Scratch::new();
    s.on_data("demo", &["--events", "3000"]).expect(0);
    let schema = s.tt(&["schema", "--json-schema"]).expect(0).stdout;
    let parsed: Value = serde_json::from_str(&schema).unwrap();
    assert_eq!(
        parsed["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    // The server serves the same document (see the server's tests); this one is the
    // library's.
    let from_lib = tradetrail_model::json_schema();
    assert_eq!(parsed, from_lib);

    // Every producer event the demo recorded: the bodies after the journal's header.
    let bodies: Vec<String> = s
        .lines()
        .iter()
        .map(|l| format!("{{{}", body_after_prev(l)))
        .filter(|b| !parse(b)["type"].as_str().unwrap().starts_with("journal."))
        .collect();
    assert!(bodies.len() > 2000, "{}", bodies.len());
    let types: BTreeSet<String> = bodies
        .iter()
        .map(|b| parse(b)["type"].as_str().unwrap().to_string())
        .collect();
    let known: BTreeSet<String> = tradetrail_model::known_types()
        .iter()
        .map(|t| t.to_string())
        .collect();
    assert!(
        types.intersection(&known).count() >= 15,
        "the demo covers many known types: {types:?}"
    );

    // Bad events, each refused by `append` for one reason; the schema must refuse each.
    let bad: Vec<(&str, String)> = vec![
        (
            "missing required data field",
            with(order_filled(), |v| {
                v["data"].as_object_mut().unwrap().remove("fill_qty");
            }),
        ),
        (
            "missing data altogether",
            with(order_filled(), |v| {
                v.as_object_mut().unwrap().remove("data");
            }),
        ),
        (
            "wrong type name",
            with(order_filled(), |v| v["type"] = "order.filed".into()),
        ),
        (
            "reserved type",
            with(order_filled(), |v| v["type"] = "journal.created".into()),
        ),
        (
            "malformed type",
            with(order_filled(), |v| v["type"] = "Order.Filled".into()),
        ),
        (
            "wrong kind of value: bool for a decimal",
            with(order_filled(), |v| v["data"]["fill_qty"] = true.into()),
        ),
        (
            "wrong kind of value: not a decimal",
            with(order_filled(), |v| v["data"]["fill_price"] = "abc".into()),
        ),
        (
            "a positive decimal that is zero",
            with(order_filled(), |v| v["data"]["fill_qty"] = "0.00".into()),
        ),
        (
            "a positive decimal that is negative",
            with(order_filled(), |v| v["data"]["fill_qty"] = "-5".into()),
        ),
        (
            "a choice not offered",
            with(order_submitted(), |v| v["data"]["side"] = "hold".into()),
        ),
        (
            "null for an optional field",
            with(order_filled(), |v| v["data"]["cum_qty"] = Value::Null),
        ),
        (
            "journal-assigned seq",
            with(order_filled(), |v| v["seq"] = 5.into()),
        ),
        (
            "journal-assigned prev",
            with(order_filled(), |v| v["prev"] = "00".into()),
        ),
        (
            "unknown envelope key",
            with(order_filled(), |v| v["colour"] = "red".into()),
        ),
        (
            "missing envelope field",
            with(order_filled(), |v| {
                v.as_object_mut().unwrap().remove("source");
            }),
        ),
        (
            "missing envelope field the type needs",
            with(order_filled(), |v| {
                v.as_object_mut().unwrap().remove("trader_id");
            }),
        ),
        (
            "entity of another kind",
            with(order_filled(), |v| v["entity"]["kind"] = "position".into()),
        ),
        (
            "entity with another key",
            with(order_filled(), |v| v["entity"]["extra"] = "x".into()),
        ),
        (
            "event_id not a UUID",
            with(order_filled(), |v| v["event_id"] = "my-id-1".into()),
        ),
        (
            "event_id a UUID without hyphens",
            with(order_filled(), |v| {
                v["event_id"] = "67e5504410b1426f9247bb680e5fe0c8".into()
            }),
        ),
        (
            "not an actor",
            with(order_filled(), |v| v["actor"] = "bob".into()),
        ),
        (
            "negative ts_event",
            with(order_filled(), |v| v["ts_event"] = (-1).into()),
        ),
        (
            "fractional ts_event",
            with(order_filled(), |v| v["ts_event"] = 1.5.into()),
        ),
        (
            "ts_event without a zone",
            with(order_filled(), |v| {
                v["ts_event"] = "2026-11-21T14:32:10".into()
            }),
        ),
        (
            "an id with a control character",
            with(order_filled(), |v| v["trader_id"] = "T\u{1b}1".into()),
        ),
        (
            "an id over 128 characters",
            with(order_filled(), |v| v["trader_id"] = "T".repeat(129).into()),
        ),
        (
            "a limit order without a price",
            with(order_submitted(), |v| {
                v["data"].as_object_mut().unwrap().remove("price");
            }),
        ),
        (
            "a modification that changes nothing",
            with(order_filled(), |v| {
                v["type"] = "order.modified".into();
                v["data"] = json!({"note": "x"});
            }),
        ),
        (
            "refs.correction_of missing",
            with(order_filled(), |v| {
                v["type"] = "correction.recorded".into();
                v["data"] = json!({"reason": "typo"});
            }),
        ),
        (
            "refs.correction_of not a seq",
            with(order_filled(), |v| {
                v["type"] = "correction.recorded".into();
                v["refs"] = json!({"correction_of": "12"});
                v["data"] = json!({"reason": "typo"});
            }),
        ),
        (
            "a quantity over 10^12, as a number",
            with(order_filled(), |v| {
                v["data"]["fill_qty"] = 2_000_000_000_000u64.into()
            }),
        ),
    ];
    // One event_id may name one body only: keep it where it is the point.
    let bad: Vec<(&str, String)> = bad
        .into_iter()
        .map(|(why, l)| match why.starts_with("event_id") {
            true => (why, l),
            false => (why, without_event_id(&l)),
        })
        .collect();
    let bad_lines: Vec<String> = bad.iter().map(|(_, l)| l.clone()).collect();
    let refused = append_refuses(&s, "bad.jsonl", &bad_lines);
    let all: BTreeSet<usize> = (1..=bad.len()).collect();
    assert_eq!(refused, all, "append refuses every bad event");

    // Events append accepts in less obvious forms: the schema must accept them too.
    let good: Vec<String> = vec![
        order_filled().to_string(),
        order_submitted().to_string(),
        with(order_submitted(), |v| {
            v["data"]["order_type"] = "Stop_Limit".into();
            v["data"]["stop_price"] = 180.into();
            v["data"]["my_own_field"] = json!({"anything": [1, null]});
        }),
        with(order_filled(), |v| {
            v["data"]["cum_qty"] = "-0".into();
            v["data"]["commission"] = (-0.35).into();
            v["data"]["fill_price"] = "1.875e2".into();
            v["refs"] = json!({"recommendation_id": "R-1", "batch": 7});
        }),
        with(order_filled(), |v| {
            v["type"] = "correction.recorded".into();
            v["refs"] = json!({"correction_of": 12});
            v["data"] = json!({"reason": "typo"});
        }),
        json!({"type": "custom.my_thing.v2", "ts_event": 0, "source": "me", "actor": "service:x",
               "data": {"anything": null}})
        .to_string(),
        json!({"type": "system.started", "ts_event": "2026-11-21T14:32+01:00", "source": "me",
               "actor": "operator:ann"})
        .to_string(),
    ];
    let good: Vec<String> = good
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                l.clone()
            } else {
                without_event_id(l)
            }
        })
        .collect();
    assert!(append_refuses(&s, "good.jsonl", &good).is_empty());
    if !python_jsonschema() {
        eprintln!("python3 with jsonschema not found: the schema was not checked by an independent validator; skipped");
        return;
    }

    let mut events = bodies.clone();
    events.extend(good.iter().cloned());
    let n_accept = events.len();
    events.extend(bad_lines.iter().cloned());
    let verdicts = schema_verdicts(&s, &schema, &events);
    for (event, verdict) in events[..n_accept].iter().zip(&verdicts[..n_accept]) {
        assert!(verdict.is_ok(), "the schema refuses {event}: {verdict:?}");
    }
    for ((why, event), verdict) in bad.iter().zip(&verdicts[n_accept..]) {
        assert!(
            verdict.is_err(),
            "the schema accepts a bad event ({why}): {event}"
        );
    }
}

#[test]
fn the_type_table_is_printed_and_docs_events_md_is_the_generated_text() {
    let s = Scratch::new();
    let r = s.tt(&["schema"]).expect(0);
    for ty in tradetrail_model::known_types() {
        assert!(r.stdout.contains(&format!("\n{ty}\n")), "{ty} listed");
    }
    assert!(r.stdout.contains("data.fill_qty"), "{}", r.stdout);
    assert!(r.stdout.contains("custom.*"), "open families listed");
    let table: Value = parse(s.tt(&["schema", "--json"]).expect(0).stdout.trim_end());
    assert_eq!(
        table["types"].as_array().unwrap().len(),
        tradetrail_model::known_types().len()
    );
    s.tt(&["schema", "--json", "--markdown"]).expect(2);

    let md = s.tt(&["schema", "--markdown"]).expect(0).stdout;
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/events.md");
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == md,
        "docs/events.md differs from `tradetrail schema --markdown`; regenerate it with \
         `tradetrail schema --markdown > docs/events.md`"
    );
}
