//! End to end: `query`, `trail`, `incident`, `stats` on a small demo journal. Runs the
//! real binary.

mod common;

use common::*;
use serde_json::Value;

fn demo(s: &Scratch) {
    s.on_data("demo", &["--events", "3000"]).expect(0);
}

fn jsonl(stdout: &str) -> Vec<Value> {
    stdout.lines().map(parse).collect()
}

#[test]
fn query_jsonl_is_the_journal_byte_for_byte() {
    let s = Scratch::new();
    demo(&s);
    let lines = s.lines();
    let r = s.on_data("query", &["--format", "jsonl"]).expect(0);
    assert_eq!(r.stdout, lines.join("\n") + "\n");

    let r = s
        .on_data(
            "query",
            &["--type", "order.*", "--limit", "5", "--format", "jsonl"],
        )
        .expect(0);
    let want: Vec<&String> = lines
        .iter()
        .filter(|l| parse(l)["type"].as_str().unwrap().starts_with("order."))
        .take(5)
        .collect();
    assert_eq!(r.stdout.lines().collect::<Vec<_>>(), want);

    let r = s
        .on_data(
            "query",
            &[
                "--type",
                "order.filled",
                "--reverse",
                "--limit",
                "2",
                "--format",
                "jsonl",
            ],
        )
        .expect(0);
    let want: Vec<&String> = lines
        .iter()
        .rev()
        .filter(|l| parse(l)["type"] == "order.filled")
        .take(2)
        .collect();
    assert_eq!(r.stdout.lines().collect::<Vec<_>>(), want);

    // Combined filters, checked by hand.
    let r = s
        .on_data(
            "query",
            &[
                "--trader",
                "T-03",
                "--source",
                "broker_gateway",
                "--actor",
                "system",
                "--format",
                "jsonl",
            ],
        )
        .expect(0);
    let want: Vec<&String> = lines
        .iter()
        .filter(|l| {
            let v = parse(l);
            v["trader_id"] == "T-03" && v["source"] == "broker_gateway" && v["actor"] == "system"
        })
        .collect();
    assert!(!want.is_empty());
    assert_eq!(r.stdout.lines().collect::<Vec<_>>(), want);
}

#[test]
fn query_table_and_csv() {
    let s = Scratch::new();
    demo(&s);
    let r = s
        .on_data("query", &["--type", "order.submitted", "--limit", "3"])
        .expect(0);
    let rows: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(rows.len(), 4, "a header and three rows:\n{}", r.stdout);
    assert!(
        rows[0].contains("seq") && rows[0].contains("details"),
        "{}",
        rows[0]
    );
    assert!(
        rows[1].contains("order.submitted") && rows[1].contains("order O-"),
        "{}",
        rows[1]
    );

    let r = s
        .on_data(
            "query",
            &["--type", "order.filled", "--limit", "4", "--format", "csv"],
        )
        .expect(0);
    let rows: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(rows.len(), 5, "{}", r.stdout);
    assert!(
        rows[0].starts_with("seq,ts_event,ts_recorded,type,"),
        "{}",
        rows[0]
    );
    assert!(rows[1].contains(",order.filled,"), "{}", rows[1]);

    // Nothing matches: nothing on stdout (no lone header), the reason on stderr.
    let r = s.on_data("query", &["--type", "order.filed"]).expect(0);
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr.contains("did you mean order.filled"),
        "{}",
        r.stderr
    );
}

#[test]
fn trail_tells_the_story_of_an_order() {
    let s = Scratch::new();
    demo(&s);
    let records = s.records();
    let order = records
        .iter()
        .find(|v| v["type"] == "order.submitted" && v["refs"].get("approval_id").is_some())
        .expect("an order that needed an approval");
    let id = order["entity"]["id"].as_str().unwrap();
    let rec_id = order["refs"]["recommendation_id"].as_str().unwrap();
    let sig = order["refs"]["signal_id"].as_str().unwrap();
    let r = s.on_data("trail", &[id, "--format", "jsonl"]).expect(0);
    let lines = s.lines();
    let got: Vec<&str> = r.stdout.lines().collect();
    for l in &got {
        assert!(lines.iter().any(|x| x == l), "a journal line: {l}");
    }
    let types: Vec<String> = jsonl(&r.stdout)
        .iter()
        .map(|v| v["type"].as_str().unwrap().to_owned())
        .collect();
    for t in [
        "signal.generated",
        "recommendation.generated",
        "risk.evaluated",
        "approval.requested",
        "approval.approved",
        "order.submitted",
    ] {
        assert!(types.iter().any(|x| x == t), "{t} in {types:?}");
    }
    // Every record of the order is there.
    let own = records.iter().filter(|v| v["entity"]["id"] == id).count();
    let in_trail = jsonl(&r.stdout)
        .iter()
        .filter(|v| v["entity"]["id"] == id)
        .count();
    assert_eq!(own, in_trail);
    // From the recommendation or the signal: the same trail.
    for from in [rec_id, sig] {
        let again = s.on_data("trail", &[from, "--format", "jsonl"]).expect(0);
        assert_eq!(again.stdout, r.stdout, "trail of {from}");
    }
    let table = s.on_data("trail", &[id]).expect(0);
    assert!(
        table.stdout.starts_with(&format!("trail of {id}: ")),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains("gaps:"), "{}", table.stdout);
    assert!(table.stdout.contains("since"), "{}", table.stdout);
}

#[test]
fn an_unknown_id_is_empty_and_exits_0() {
    let s = Scratch::new();
    demo(&s);
    let r = s.on_data("trail", &["O-does-not-exist"]).expect(0);
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr.contains("no record names O-does-not-exist"),
        "{}",
        r.stderr
    );
    let r = s
        .on_data("query", &["--entity", "O-does-not-exist"])
        .expect(0);
    assert!(r.stderr.contains("no records match"), "{}", r.stderr);
}

#[test]
fn incident_counts_cover_its_records() {
    let s = Scratch::new();
    demo(&s);
    let records = s.records();
    let at = records[records.len() / 2]["ts_event"].as_i64().unwrap();
    let at = at.to_string();
    let r = s
        .on_data(
            "incident",
            &["--at", &at, "--window", "20s", "--format", "jsonl"],
        )
        .expect(0);
    let got = jsonl(&r.stdout);
    assert!(!got.is_empty());
    let lo = at.parse::<i64>().unwrap() - 20_000_000_000;
    let hi = at.parse::<i64>().unwrap() + 20_000_000_000;
    let want = records
        .iter()
        .filter(|v| (lo..=hi).contains(&v["ts_event"].as_i64().unwrap()))
        .count();
    assert_eq!(got.len(), want);
    let counts = s
        .on_data(
            "incident",
            &[
                "--at", &at, "--window", "20s", "--counts", "--format", "jsonl",
            ],
        )
        .expect(0);
    let total: u64 = jsonl(&counts.stdout)
        .iter()
        .map(|v| {
            assert!(v["source"].is_string() && v["type"].is_string(), "{v}");
            v["count"].as_u64().unwrap()
        })
        .sum();
    assert_eq!(total as usize, want);
    let table = s
        .on_data("incident", &["--at", &at, "--window", "20s"])
        .expect(0);
    assert!(table.stdout.starts_with("incident at "), "{}", table.stdout);
}

#[test]
fn stats_by_type_and_the_funnel() {
    let s = Scratch::new();
    demo(&s);
    let records = s.records();
    let r = s
        .on_data("stats", &["--by", "type", "--format", "jsonl"])
        .expect(0);
    let rows = jsonl(&r.stdout);
    let total: u64 = rows.iter().map(|v| v["count"].as_u64().unwrap()).sum();
    assert_eq!(total as usize, records.len());
    let filled = records
        .iter()
        .filter(|v| v["type"] == "order.filled")
        .count() as u64;
    assert!(
        rows.contains(&serde_json::json!({"type": "order.filled", "count": filled})),
        "{rows:?}"
    );
    let r = s
        .on_data("stats", &["--by", "trader", "--format", "csv"])
        .expect(0);
    assert!(r.stdout.starts_with("trader,count\n"), "{}", r.stdout);
    let r = s.on_data("stats", &["--conversion"]).expect(0);
    for stage in [
        "signals generated",
        "recommendations",
        "risk evaluated",
        "orders submitted",
        "orders filled",
        "filtered",
    ] {
        assert!(r.stdout.contains(stage), "{stage}:\n{}", r.stdout);
    }
    let r = s
        .on_data("stats", &["--conversion", "--format", "jsonl"])
        .expect(0);
    let first = &jsonl(&r.stdout)[0];
    let signals = records
        .iter()
        .filter(|v| v["type"] == "signal.generated")
        .count() as u64;
    assert_eq!(
        first,
        &serde_json::json!({"stage": "signals", "count": signals, "unaccounted": first["unaccounted"]})
    );
}

#[test]
fn bad_input_exits_2() {
    let s = Scratch::new();
    demo(&s);
    for (args, needle) in [
        (vec!["query", "--from", "yesterday"], "--from"),
        (
            vec![
                "query",
                "--from",
                "2026-11-26T15:00Z",
                "--to",
                "2026-11-26T15:00Z",
            ],
            "empty",
        ),
        (vec!["query", "--format", "xml"], "--format"),
        (vec!["stats", "--by", "colour"], "--by"),
        (
            vec!["incident", "--at", "2026-11-26T15:00Z", "--window", "5"],
            "--window",
        ),
        (vec!["incident", "--at", "soon"], "--at"),
        (vec!["query", "--type", ""], "--type"),
    ] {
        let r = s.on_data(args[0], &args[1..]).expect(2);
        assert!(r.stderr.contains(needle), "{args:?}: {}", r.stderr);
    }
    let blank = Scratch::new();
    let r = blank.on_data("query", &[]).expect(2);
    assert!(
        r.stderr.contains("not a tradetrail data directory"),
        "{}",
        r.stderr
    );
}

#[test]
fn the_index_follows_appends_and_survives_deletion() {
    let s = Scratch::new();
    demo(&s);
    let before = s.on_data("stats", &["--format", "jsonl"]).expect(0).stdout;
    // Appended by another process after the index was saved.
    let ev = r#"{"type":"custom.late","ts_event":"2026-11-26T15:00:00Z","source":"late","actor":"system","entity":{"kind":"order","id":"O-late"},"data":{}}"#;
    s.tt_stdin(
        &["append", "--data", &s.data_arg()],
        format!("{ev}\n").as_bytes(),
    )
    .expect(0);
    let r = s
        .on_data("query", &["--entity", "O-late", "--format", "jsonl"])
        .expect(0);
    assert_eq!(r.stdout.lines().count(), 1);
    assert!(r.stdout.contains("custom.late"));
    let after = s.on_data("stats", &["--format", "jsonl"]).expect(0).stdout;
    assert_ne!(before, after);
    std::fs::remove_dir_all(s.data.join("index").join("query")).unwrap();
    let rebuilt = s.on_data("stats", &["--format", "jsonl"]).expect(0).stdout;
    assert_eq!(rebuilt, after);
    assert!(s.data.join("index/query/meta.json").is_file());
}

/// Runs `query --json` with `args` and returns the answer.
fn query_json(s: &Scratch, args: &[&str]) -> (Value, String) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let r = s.on_data("query", &all).expect(0);
    (parse(r.stdout.trim_end()), r.stderr)
}

fn answer_seqs(v: &Value) -> Vec<u64> {
    v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect()
}

#[test]
fn query_pages_by_seq_and_says_where_to_go_on() {
    let s = Scratch::new();
    demo(&s);
    let lines = s.lines();
    let seq_of = |l: &String| parse(l)["seq"].as_u64().unwrap();
    let orders: Vec<u64> = lines
        .iter()
        .filter(|l| parse(l)["type"].as_str().unwrap().starts_with("order."))
        .map(seq_of)
        .collect();
    assert!(orders.len() > 1000, "{}", orders.len());

    // A page that stops at its limit says so on stderr, with the flag to go on.
    let r = s
        .on_data(
            "query",
            &["--type", "order.*", "--limit", "500", "--format", "jsonl"],
        )
        .expect(0);
    assert_eq!(r.stdout.lines().count(), 500);
    let hint = format!("continue with --after {}", orders[499]);
    assert!(r.stderr.contains(&hint), "{}", r.stderr);
    // Without --limit every match comes out, and nothing says it stopped.
    let r = s
        .on_data("query", &["--type", "order.*", "--format", "jsonl"])
        .expect(0);
    assert_eq!(r.stdout.lines().count(), orders.len());
    assert!(!r.stderr.contains("continue with"), "{}", r.stderr);

    // Following `summary.next` with --after reads every match once, in order, while
    // records that match are appended between pages.
    let mut got = Vec::new();
    let mut after: Option<u64> = None;
    let mut added = Vec::new();
    for page in 0.. {
        let cursor = after.map(|a| a.to_string());
        let mut args = vec!["--type", "order.*,custom.*", "--limit", "500"];
        if let Some(c) = &cursor {
            args.extend(["--after", c]);
        }
        let (v, stderr) = query_json(&s, &args);
        assert!(answer_seqs(&v).len() <= 500);
        got.extend(answer_seqs(&v));
        if page < 2 {
            let events: String = (0..3)
                .map(|i| custom_event("paged", page * 10 + i) + "\n")
                .collect();
            let file = s.file(&format!("more-{page}.jsonl"), &events);
            let r = s.on_data("append", &[&file]).expect(0);
            added.extend(
                receipts(&r.stdout)
                    .iter()
                    .map(|x| x["seq"].as_u64().unwrap()),
            );
        }
        if v["summary"]["truncated"] == true {
            let next = v["summary"]["next"]["after"].as_u64().unwrap();
            assert_eq!(Some(&next), got.last());
            assert!(stderr.contains(&format!("--after {next}")), "{stderr}");
            after = Some(next);
        } else {
            assert!(v["summary"]["next"].is_null(), "{v}");
            break;
        }
    }
    let mut want = orders.clone();
    want.extend(&added);
    assert_eq!(added.len(), 6);
    assert_eq!(got, want, "every match exactly once, in seq order");

    // Newest first, the cursor is --before.
    let (v, stderr) = query_json(&s, &["--type", "order.*", "--reverse", "--limit", "3"]);
    let last3: Vec<u64> = orders.iter().rev().take(3).copied().collect();
    assert_eq!(answer_seqs(&v), last3);
    assert_eq!(v["summary"]["next"]["before"], last3[2]);
    assert!(
        stderr.contains(&format!("--before {}", last3[2])),
        "{stderr}"
    );
    let before = last3[2].to_string();
    let (v, _) = query_json(
        &s,
        &[
            "--type",
            "order.*",
            "--reverse",
            "--limit",
            "3",
            "--before",
            &before,
        ],
    );
    let next3: Vec<u64> = orders.iter().rev().skip(3).take(3).copied().collect();
    assert_eq!(answer_seqs(&v), next3);

    // --limit 0 would be a page that never ends.
    let r = s.on_data("query", &["--limit", "0"]).expect(2);
    assert!(r.stderr.contains("--limit"), "{}", r.stderr);
    let r = s.on_data("query", &["--after", "x"]).expect(2);
    assert!(r.stderr.contains("--after"), "{}", r.stderr);
}

#[test]
fn free_text_finds_records_by_what_their_data_says() {
    let s = Scratch::new();
    demo(&s);
    let lines = s.lines();
    let data_has = |l: &str, needle: &str| {
        parse(l)
            .get("data")
            .map(|d| d.to_string().to_ascii_lowercase().contains(needle))
            .unwrap_or(false)
    };
    for (args, needle, ty) in [
        (vec!["--text", "LIMIT"], "limit", None),
        (
            vec!["--text", "\"Rejected\"", "--type", "risk.*"],
            "\"rejected\"",
            Some("risk."),
        ),
    ] {
        let mut a = args.clone();
        a.extend(["--format", "jsonl"]);
        let r = s.on_data("query", &a).expect(0);
        let want: Vec<&String> = lines
            .iter()
            .filter(|l| data_has(l, needle))
            .filter(|l| ty.is_none_or(|t| parse(l)["type"].as_str().unwrap().starts_with(t)))
            .collect();
        assert!(
            !want.is_empty() && want.len() < lines.len(),
            "{args:?}: {}",
            want.len()
        );
        assert_eq!(r.stdout.lines().collect::<Vec<_>>(), want, "{args:?}");
    }
    let r = s.on_data("query", &["--text", " "]).expect(2);
    assert!(r.stderr.contains("--text"), "{}", r.stderr);
    let r = s
        .on_data("stats", &["--conversion", "--text", "x"])
        .expect(2);
    assert!(r.stderr.contains("free text"), "{}", r.stderr);
}
