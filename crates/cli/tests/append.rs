//! End to end: `tradetrail append` — receipts, stdin, whole-batch rejection with every bad
//! line named, idempotency by `event_id`, durability override. Runs the real binary.

mod common;

use common::*;
use serde_json::Value;

/// Five valid events of several types; every one carries an `event_id`. Decimals are
/// given both as JSON numbers and as strings.
fn good_events() -> Vec<String> {
    vec![
        format!(
            r#"{{"type":"order.submitted","ts_event":"2026-11-20T14:30:01.5Z","source":"oms","actor":"trader:T-03","event_id":"{}","trader_id":"T-03","instrument_id":"AAPL.XNAS","entity":{{"kind":"order","id":"O-123"}},"refs":{{"recommendation_id":"R-77"}},"data":{{"side":"buy","quantity":"100","order_type":"limit","price":"228.50"}}}}"#,
            uuid(1)
        ),
        format!(
            r#"{{"type":"order.filled","ts_event":1795185001600000000,"source":"oms","actor":"algo:twap-7","event_id":"{}","trader_id":"T-03","instrument_id":"AAPL.XNAS","entity":{{"kind":"order","id":"O-123"}},"data":{{"fill_qty":60,"fill_price":"228.50","trade_id":"X-1","cum_qty":60,"leaves_qty":"40","commission":1.25}}}}"#,
            uuid(2)
        ),
        format!(
            r#"{{"type":"order.filled","ts_event":1795185001700000000,"source":"oms","actor":"algo:twap-7","event_id":"{}","trader_id":"T-03","instrument_id":"AAPL.XNAS","entity":{{"kind":"order","id":"O-123"}},"data":{{"fill_qty":"40","fill_price":228.123456789012345678,"trade_id":"X-2"}}}}"#,
            uuid(3)
        ),
        format!(
            r#"{{"type":"signal.generated","ts_event":1795185000000000000,"source":"signal_engine","actor":"algo:momentum_v3","event_id":"{}","strategy_id":"momentum_v3","instrument_id":"AAPL.XNAS","entity":{{"kind":"signal","id":"S-1"}},"data":{{"direction":"long","strength":0.75}}}}"#,
            uuid(4)
        ),
        format!(
            r#"{{"type":"param.changed","ts_event":1795185002000000000,"source":"risk_ui","actor":"operator:carol","event_id":"{}","data":{{"name":"max_position","old_value":100,"new_value":"200","reason":"volatility regime"}}}}"#,
            uuid(5)
        ),
        format!(
            r#"{{"type":"custom.x","ts_event":1795185003000000000,"source":"my_bot","actor":"system","event_id":"{}","data":{{"anything":[1,{{"nested":null}}],"free":"form"}}}}"#,
            uuid(6)
        ),
    ]
}

fn jsonl(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// Checks receipts against the journal: one per event, in order, seq contiguous from
/// `first_seq`; receipt n's hash is record n+1's `prev`, and the last is the head hash.
#[track_caller]
fn check_receipts(s: &Scratch, rs: &[Value], first_seq: u64) {
    let records = s.records();
    for (i, r) in rs.iter().enumerate() {
        let obj = r.as_object().expect("receipt is an object");
        assert_eq!(r["seq"], first_seq + i as u64, "{r}");
        let hash = r["hash"].as_str().expect("hash is a string");
        assert!(is_hash(hash), "64 lowercase hex: {hash}");
        assert!(
            obj.keys()
                .all(|k| ["seq", "hash", "duplicate"].contains(&k.as_str())),
            "{r}"
        );
        let seq = r["seq"].as_u64().unwrap() as usize;
        if let Some(next) = records.get(seq + 1) {
            assert_eq!(
                next["prev"],
                hash,
                "record {}'s prev is receipt {seq}'s hash",
                seq + 1
            );
        }
    }
    let st = s.status();
    let last = rs.last().expect("at least one receipt");
    if last["seq"].as_u64().unwrap() + 1 == st["records"].as_u64().unwrap() {
        assert_eq!(
            st["head_hash"], last["hash"],
            "the last receipt's hash is the head hash"
        );
    }
}

#[test]
fn append_file_prints_one_receipt_per_event_in_order() {
    let s = Scratch::new();
    s.init("test/append");
    let events = good_events();
    let file = s.file("events.jsonl", &jsonl(&events));
    let r = s.on_data("append", &[&file]).expect(0);
    let rs = receipts(&r.stdout);
    assert_eq!(rs.len(), events.len(), "{}", r.stdout);
    for line in r.stdout.lines() {
        // The exact receipt form: {"seq":n,"hash":"<64 hex>"}.
        assert!(
            line.starts_with(r#"{"seq":"#) && line.ends_with(r#""}"#),
            "{line}"
        );
        assert!(!line.contains("duplicate"), "{line}");
    }
    check_receipts(&s, &rs, 1);
    assert!(r.stderr.contains("appended 6"), "{}", r.stderr);

    let records = s.records();
    assert_eq!(records.len(), 7);
    let lines = s.lines();
    for (i, (rec, line)) in records.iter().zip(&lines).enumerate() {
        assert!(
            line.starts_with(&format!(r#"{{"seq":{i},"ts_recorded":"#)),
            "seq, ts_recorded, prev come first: {line}"
        );
        let after_ts = &line[line.find(",\"prev\":").expect("prev")..];
        assert!(after_ts.starts_with(",\"prev\":\""), "{line}");
        assert!(body_after_prev(line).starts_with(r#""type":"#), "{line}");
        if i > 0 {
            assert!(
                rec["ts_recorded"].as_u64() >= records[i - 1]["ts_recorded"].as_u64(),
                "ts_recorded never decreases"
            );
        }
    }
    // What was stored, field by field.
    assert_eq!(records[1]["type"], "order.submitted");
    assert_eq!(
        records[1]["ts_event"], 1_795_185_001_500_000_000u64,
        "RFC 3339 is stored as ns"
    );
    assert_eq!(records[1]["event_id"], uuid(1));
    assert_eq!(records[1]["refs"]["recommendation_id"], "R-77");
    assert_eq!(records[1]["data"]["price"], "228.50", "scale kept");
    assert_eq!(
        records[2]["data"]["fill_qty"], "60",
        "a decimal number is stored as a string"
    );
    assert_eq!(records[2]["data"]["commission"], "1.25");
    assert_eq!(records[2]["data"]["leaves_qty"], "40");
    assert!(
        lines[3].contains(r#""fill_price":"228.123456789012345678""#),
        "decimals are exact, never through f64: {}",
        lines[3]
    );
    assert_eq!(records[4]["data"]["strength"], "0.75");
    assert_eq!(records[5]["type"], "param.changed");
    assert_eq!(records[5]["data"]["reason"], "volatility regime");
    assert_eq!(records[6]["type"], "custom.x");
    assert_eq!(
        records[6]["data"]["anything"][1]["nested"],
        Value::Null,
        "custom data kept as given"
    );

    let (code, v) = s.verify_json();
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["records"], 7);
    assert_eq!(v["head_hash"], rs[5]["hash"]);
}

#[test]
fn append_reads_stdin_with_dash_and_without_argument() {
    let s = Scratch::new();
    s.init("test/stdin");
    let d = s.data_arg();
    let a = jsonl(&[custom_event("a", 1), custom_event("a", 2)]);
    let r = s
        .tt_stdin(&["append", "--data", &d, "-"], a.as_bytes())
        .expect(0);
    let rs = receipts(&r.stdout);
    assert_eq!(rs.len(), 2);
    check_receipts(&s, &rs, 1);

    // No argument; CRLF line ends and blank lines are fine; no trailing newline either.
    let b = format!(
        "{}\r\n\n   \n{}",
        custom_event("b", 3),
        custom_event("b", 4)
    );
    let r = s
        .tt_stdin(&["append", "--data", &d], b.as_bytes())
        .expect(0);
    let rs = receipts(&r.stdout);
    assert_eq!(rs.len(), 2, "{}", r.stdout);
    check_receipts(&s, &rs, 3);
    assert_eq!(s.records()[4]["type"], "custom.b");

    // Empty input: nothing to do, success.
    let r = s.tt_stdin(&["append", "--data", &d], b"").expect(0);
    assert!(r.stdout.is_empty());
    assert_eq!(s.status()["records"], 5);
    s.on_data("verify", &[]).expect(0);
}

#[test]
fn bad_lines_are_all_named_and_nothing_is_written() {
    let s = Scratch::new();
    s.init("test/bad");
    let good_file = s.file("good.jsonl", &jsonl(&[custom_event("seed", 0)]));
    s.on_data("append", &[&good_file]).expect(0);
    let before_journal = s.journal_snapshot();
    let before_status = s.status();

    let lines = [
        /* 1 */ custom_event("ok", 1),
        /* 2 */ custom_event("ok", 2),
        /* 3 */
        r#"{"type":"order.filed","ts_event":1,"source":"oms","actor":"system","trader_id":"T","instrument_id":"I","entity":{"kind":"order","id":"O"},"data":{"fill_qty":"1","fill_price":"1","trade_id":"x"}}"#.to_owned(),
        /* 4 */ r#"{"type":"custom.y","ts_event":1,"source":"s"}"#.to_owned(),
        /* 5 */
        r#"{"type":"order.submitted","ts_event":1,"source":"oms","actor":"trader:T","trader_id":"T","instrument_id":"I","entity":{"kind":"order","id":"O"},"data":{"side":"buy","quantity":-5,"order_type":"market"}}"#.to_owned(),
        /* 6 */ String::new(),
        /* 7 */ r#"{"type":"journal.created","ts_event":1,"source":"s","actor":"system"}"#.to_owned(),
        /* 8 */ r#"{"type":"custom.z", "#.to_owned(),
        /* 9 */ r#"{"seq":7,"type":"custom.z","ts_event":1,"source":"s","actor":"system"}"#.to_owned(),
        /* 10 */ custom_event("ok", 3),
    ];
    let file = s.file("bad.jsonl", &jsonl(&lines));
    let r = s.on_data("append", &[&file]).expect(2);
    assert!(r.stdout.is_empty(), "no receipts: {}", r.stdout);
    let err = &r.stderr;
    let expect = [
        (":3: type:", Some("\"order.filled\"")),
        (":4: actor:", Some("required")),
        (":5: data.quantity:", Some("greater than 0")),
        (":7: type:", Some("journal")),
        (":8: event:", Some("JSON")),
        (":9: seq:", None),
    ];
    for (prefix, reason) in expect {
        let line = err
            .lines()
            .find(|l| l.contains(prefix))
            .unwrap_or_else(|| panic!("stderr names {prefix}\n{err}"));
        assert!(line.contains("bad.jsonl"), "names the file: {line}");
        if let Some(reason) = reason {
            assert!(line.contains(reason), "{prefix} says {reason}: {line}");
        }
    }
    assert!(err.contains("did you mean \"order.filled\""), "{err}");
    for good in [":1:", ":2:", ":6:", ":10:"] {
        assert!(!err.contains(good), "line {good} is fine\n{err}");
    }
    assert!(err.contains("6 bad line"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");

    assert_eq!(
        s.journal_snapshot(),
        before_journal,
        "segment files byte-identical"
    );
    let after_status = s.status();
    assert_eq!(after_status["records"], before_status["records"]);
    assert_eq!(after_status["head_hash"], before_status["head_hash"]);

    // From stdin the lines are named `stdin:N:`.
    let d = s.data_arg();
    let r = s
        .tt_stdin(&["append", "--data", &d], jsonl(&lines).as_bytes())
        .expect(2);
    assert!(r.stderr.contains("stdin:3: type:"), "{}", r.stderr);
    assert_eq!(s.journal_snapshot(), before_journal);

    // --dry-run reports the same and writes nothing either way.
    let r = s.on_data("append", &["--dry-run", &file]).expect(2);
    assert!(r.stderr.contains(":5: data.quantity:"), "{}", r.stderr);
    let ok = s.file("ok.jsonl", &jsonl(&[custom_event("ok", 1)]));
    let r = s.on_data("append", &["--dry-run", &ok]).expect(0);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert_eq!(s.journal_snapshot(), before_journal);
}

#[test]
fn a_single_bad_line_at_the_end_rejects_the_whole_batch() {
    let s = Scratch::new();
    s.init("test/last-bad");
    let before = s.journal_snapshot();
    let mut lines: Vec<String> = (0..1500).map(|i| custom_event("ok", i)).collect();
    lines.push(r#"{"type":"custom.ok","ts_event":1,"source":"s","actor":"bob"}"#.to_owned());
    let file = s.file("many.jsonl", &jsonl(&lines));
    let r = s.on_data("append", &[&file]).expect(2);
    assert!(r.stderr.contains(":1501: actor:"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
    assert_eq!(s.journal_snapshot(), before);
}

#[test]
fn appending_the_same_file_twice_returns_the_original_receipts() {
    let s = Scratch::new();
    s.init("test/idem");
    let events = good_events();
    let file = s.file("events.jsonl", &jsonl(&events));
    let first = receipts(&s.on_data("append", &[&file]).expect(0).stdout);
    let snapshot = s.journal_snapshot();
    assert_eq!(s.status()["records"], 7);

    // A second process reopens the journal and must find the ids already recorded.
    for round in 0..2 {
        let r = s.on_data("append", &[&file]).expect(0);
        let again = receipts(&r.stdout);
        assert_eq!(again.len(), first.len(), "round {round}: {}", r.stdout);
        for (a, b) in first.iter().zip(&again) {
            assert_eq!(b["seq"], a["seq"], "round {round}");
            assert_eq!(b["hash"], a["hash"], "round {round}");
            assert_eq!(b["duplicate"], true, "round {round}: {b}");
        }
        assert!(r.stderr.contains("6 already recorded"), "{}", r.stderr);
        assert_eq!(s.status()["records"], 7);
        assert_eq!(s.journal_snapshot(), snapshot, "nothing written");
    }

    // Mixed: two new events around an old one; only the new ones are written.
    let mixed = vec![
        custom_event("new", 1),
        events[2].clone(),
        format!(
            r#"{{"type":"custom.new","ts_event":2,"source":"s","actor":"system","event_id":"{}"}}"#,
            uuid(99)
        ),
    ];
    let r = s
        .tt_stdin(
            &["append", "--data", &s.data_arg()],
            jsonl(&mixed).as_bytes(),
        )
        .expect(0);
    let rs = receipts(&r.stdout);
    assert_eq!(rs.len(), 3);
    assert_eq!(rs[0]["seq"], 7);
    assert_eq!(rs[0].get("duplicate"), None);
    assert_eq!(rs[1]["seq"], first[2]["seq"]);
    assert_eq!(rs[1]["hash"], first[2]["hash"]);
    assert_eq!(rs[1]["duplicate"], true);
    assert_eq!(rs[2]["seq"], 8);
    assert_eq!(rs[2].get("duplicate"), None);
    assert_eq!(s.status()["records"], 9);
    assert_eq!(s.status()["head_hash"], rs[2]["hash"]);
    s.on_data("verify", &[]).expect(0);
}

#[test]
fn a_repeated_event_id_within_one_input_is_written_once() {
    let s = Scratch::new();
    s.init("test/idem-one");
    let e = format!(
        r#"{{"type":"custom.a","ts_event":1,"source":"s","actor":"system","event_id":"{}"}}"#,
        uuid(7)
    );
    let r = s
        .tt_stdin(
            &["append", "--data", &s.data_arg()],
            jsonl(&[e.clone(), e]).as_bytes(),
        )
        .expect(0);
    let rs = receipts(&r.stdout);
    assert_eq!(rs.len(), 2);
    assert_eq!(rs[0]["seq"], 1);
    assert_eq!(rs[0].get("duplicate"), None);
    assert_eq!(rs[1]["seq"], 1);
    assert_eq!(rs[1]["hash"], rs[0]["hash"]);
    assert_eq!(rs[1]["duplicate"], true);
    assert_eq!(s.status()["records"], 2);
}

#[test]
fn events_without_event_id_are_appended_again() {
    let s = Scratch::new();
    s.init("test/no-id");
    let file = s.file("e.jsonl", &jsonl(&[custom_event("a", 1)]));
    let a = receipts(&s.on_data("append", &[&file]).expect(0).stdout);
    let b = receipts(&s.on_data("append", &[&file]).expect(0).stdout);
    assert_eq!(a[0]["seq"], 1);
    assert_eq!(b[0]["seq"], 2);
    assert_eq!(b[0].get("duplicate"), None);
    assert_eq!(s.status()["records"], 3);
}

#[test]
fn durability_override() {
    let s = Scratch::new();
    s.init("test/durability");
    let events = good_events();
    let file = s.file("events.jsonl", &jsonl(&events));
    let r = s
        .on_data("append", &["--durability", "fsync", &file])
        .expect(0);
    let rs = receipts(&r.stdout);
    assert_eq!(rs.len(), events.len());
    check_receipts(&s, &rs, 1);

    let more = s.file("more.jsonl", &jsonl(&[custom_event("os", 1)]));
    let r = s
        .on_data("append", &["--durability", "os", &more])
        .expect(0);
    assert_eq!(receipts(&r.stdout)[0]["seq"], 7);

    let before = s.journal_snapshot();
    let other = s.file("other.jsonl", &jsonl(&[custom_event("bogus", 1)]));
    let r = s
        .on_data("append", &["--durability", "bogus", &other])
        .expect(2);
    assert!(r.stderr.contains("bogus"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
    assert_eq!(s.journal_snapshot(), before, "nothing written");
    s.on_data("verify", &[]).expect(0);
}

#[test]
fn a_missing_input_file_fails_naming_it_and_writes_nothing() {
    let s = Scratch::new();
    s.init("test/missing-input");
    let before = s.journal_snapshot();
    let missing = s.path().join("nope.jsonl").display().to_string();
    let r = s.on_data("append", &[&missing]);
    // Currently 3 (an I/O failure); 2 (bad usage) would be as defensible.
    assert!(matches!(r.code, Some(2 | 3)), "{r:?}");
    assert!(r.stderr.contains("nope.jsonl"), "{}", r.stderr);
    assert_eq!(s.journal_snapshot(), before);
}

#[test]
fn segments_rotate_and_the_chain_crosses_them() {
    let s = Scratch::new();
    s.on_data(
        "init",
        &["--origin", "test/rotate", "--segment-max-bytes", "4096"],
    )
    .expect(0);
    let lines: Vec<String> = (0..100).map(|i| custom_event("fill", i)).collect();
    let r = s
        .tt_stdin(
            &["append", "--data", &s.data_arg()],
            jsonl(&lines).as_bytes(),
        )
        .expect(0);
    let rs = receipts(&r.stdout);
    assert_eq!(rs.len(), 100);
    let segs = s.segments();
    assert!(segs.len() > 1, "rotated into {} segments", segs.len());
    check_receipts(&s, &rs, 1);
    let st = s.status();
    assert_eq!(st["segments"], segs.len());
    // 100 events, and the checkpoint the policy takes when a segment was sealed.
    assert!(
        r.stderr.contains("checkpoint: signed tree size 101"),
        "{}",
        r.stderr
    );
    assert_eq!(st["records"], 102);
    // Segment files are named by their first seq.
    let mut next = 0u64;
    for seg in &segs {
        let name = seg.file_stem().unwrap().to_str().unwrap();
        assert_eq!(name, format!("{next:020}"));
        next += std::fs::read_to_string(seg).unwrap().lines().count() as u64;
    }
    let (code, v) = s.verify_json();
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["records"], 102);
    assert_eq!(v["segments"], segs.len());
}

/// `tradetrail append big.jsonl | head -1`: once stdout is closed the receipts cannot be
/// printed, but every event of the input (all validated) must still be appended — or the
/// run must fail loudly. Today it exits 0 silently after the first group of 1024.
#[test]
fn a_closed_stdout_does_not_silently_drop_events() {
    let s = Scratch::new();
    s.init("test/pipe");
    let lines: Vec<String> = (0..3000).map(|i| custom_event("p", i)).collect();
    let file = s.file("many.jsonl", &jsonl(&lines));
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut c = command(s.path());
    c.args(["append", "--data", &s.data_arg(), &file])
        .stdout(writer);
    let out = c.stderr(std::process::Stdio::piped()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let records = s.status()["records"].as_u64().unwrap();
    assert!(
        records == 3001 || out.status.code() != Some(0),
        "exit {:?} with {} of 3000 events written; stderr: {stderr}",
        out.status.code(),
        records - 1
    );
}

/// Two `append` processes on one data directory at once. Each must either append all its
/// events after the other's or fail cleanly; the journal must stay intact and every
/// acknowledged receipt must be in it. Today both succeed and overwrite each other.
#[test]
fn concurrent_appends_do_not_corrupt_the_journal() {
    let s = Scratch::new();
    s.init("test/concurrent");
    let lines: Vec<String> = (0..5000).map(|i| custom_event("c", i)).collect();
    let file = s.file("c.jsonl", &jsonl(&lines));
    let spawn = || {
        let mut c = command(s.path());
        c.args(["append", "--data", &s.data_arg(), &file])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        c.spawn().unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    let (code, v) = s.verify_json();
    assert_eq!(
        code,
        Some(0),
        "journal intact after two concurrent appends: {v}"
    );
    let lines = s.lines();
    for out in &outs {
        if out.status.code() != Some(0) {
            continue;
        }
        let rs = receipts(&String::from_utf8_lossy(&out.stdout));
        assert_eq!(rs.len(), 5000);
        for r in &rs {
            let seq = r["seq"].as_u64().unwrap() as usize;
            assert!(
                seq < lines.len(),
                "acknowledged seq {seq} is in the journal"
            );
            if seq + 1 < lines.len() {
                assert_eq!(
                    parse(&lines[seq + 1])["prev"],
                    r["hash"],
                    "receipt {seq} is the stored record"
                );
            }
        }
    }
}

/// A `custom.a` event with `event_id` `uuid(id)` and data value `v`.
fn event_with_id(id: u64, v: u64) -> String {
    format!(
        r#"{{"type":"custom.a","ts_event":1,"source":"s","actor":"system","event_id":"{}","data":{{"v":{v}}}}}"#,
        uuid(id)
    )
}

#[test]
fn a_reused_event_id_with_another_body_is_refused_naming_the_first_record() {
    let s = Scratch::new();
    s.init("test/conflict");
    let first = s.file("first.jsonl", &jsonl(&[event_with_id(7, 1)]));
    let r = s.on_data("append", &[&first]).expect(0);
    assert_eq!(receipts(&r.stdout)[0]["seq"], 1);
    let before = s.journal_snapshot();

    // A new event, then the reused id with another body: exit 2, nothing written.
    let second = s.file(
        "second.jsonl",
        &jsonl(&[custom_event("new", 1), event_with_id(7, 2)]),
    );
    let r = s.on_data("append", &[&second]).expect(2);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(r.stderr.contains("second.jsonl:2:"), "{}", r.stderr);
    assert!(r.stderr.contains(&uuid(7)), "{}", r.stderr);
    assert!(r.stderr.contains("record 1"), "{}", r.stderr);
    assert!(r.stderr.contains("nothing was written"), "{}", r.stderr);
    assert_eq!(s.journal_snapshot(), before);
    // --dry-run finds it too.
    let r = s.on_data("append", &["--dry-run", &second]).expect(2);
    assert!(r.stderr.contains("record 1"), "{}", r.stderr);

    // The identical retry still gets the original receipt.
    let r = s.on_data("append", &[&first]).expect(0);
    let rs = receipts(&r.stdout);
    assert_eq!(
        (rs[0]["seq"].as_u64(), &rs[0]["duplicate"]),
        (Some(1), &Value::Bool(true))
    );
    assert_eq!(s.journal_snapshot(), before);
}

#[test]
fn a_reused_event_id_within_one_input_is_refused_naming_both_lines() {
    let s = Scratch::new();
    s.init("test/conflict-in");
    let before = s.journal_snapshot();
    let file = s.file(
        "in.jsonl",
        &jsonl(&[
            event_with_id(8, 1),
            custom_event("x", 1),
            event_with_id(8, 2),
        ]),
    );
    let r = s.on_data("append", &[&file]).expect(2);
    assert!(r.stderr.contains("in.jsonl:3:"), "{}", r.stderr);
    assert!(r.stderr.contains("also on line 1"), "{}", r.stderr);
    assert!(r.stderr.contains(&uuid(8)), "{}", r.stderr);
    assert_eq!(s.journal_snapshot(), before);
}

#[test]
fn a_conflict_late_in_a_long_input_rejects_all_of_it() {
    // More events than one submitted group: the conflict at the end must stop the
    // groups before it as well.
    let s = Scratch::new();
    s.init("test/conflict-late");
    let first = s.file("first.jsonl", &jsonl(&[event_with_id(9, 1)]));
    s.on_data("append", &[&first]).expect(0);
    let before = s.journal_snapshot();
    let mut lines: Vec<String> = (0..1500).map(|i| custom_event("ok", i)).collect();
    lines.push(event_with_id(9, 2));
    let file = s.file("many.jsonl", &jsonl(&lines));
    let r = s.on_data("append", &[&file]).expect(2);
    assert!(r.stderr.contains("many.jsonl:1501:"), "{}", r.stderr);
    assert!(r.stderr.contains("record 1"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
    assert_eq!(s.journal_snapshot(), before);
}

/// More lines than one validating thread takes: the input is split over threads.
const LARGE: usize = 5000;

#[test]
fn bad_lines_of_a_large_file_are_named_in_input_order_and_nothing_is_written() {
    let s = Scratch::new();
    s.init("test/large-bad");
    let before = s.journal_snapshot();
    let mut lines: Vec<String> = (0..LARGE as u64).map(|i| custom_event("ok", i)).collect();
    // Line 10 lacks its actor, line 4321 is not JSON, line 4322 has a bad type.
    lines[9] = r#"{"type":"custom.ok","ts_event":1,"source":"s"}"#.to_owned();
    lines[4320] = r#"{"type":"custom.ok","#.to_owned();
    lines[4321] = r#"{"type":"Bad","ts_event":1,"source":"s","actor":"system"}"#.to_owned();
    let file = s.file("large-bad.jsonl", &jsonl(&lines));
    let r = s.on_data("append", &[&file]).expect(2);
    assert!(r.stdout.is_empty(), "no receipts: {}", r.stdout);
    let named: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("large-bad.jsonl:"))
        .collect();
    assert_eq!(named.len(), 3, "{}", r.stderr);
    for (got, want) in named.iter().zip([
        "large-bad.jsonl:10: actor: ",
        "large-bad.jsonl:4321: event: ",
        "large-bad.jsonl:4322: type: ",
    ]) {
        assert!(
            got.contains(want),
            "in input order, `FILE:LINE: field: reason`: {got}"
        );
    }
    assert!(
        r.stderr.contains("3 bad line(s); nothing was written"),
        "{}",
        r.stderr
    );
    assert_eq!(s.journal_snapshot(), before, "nothing written");
}

#[test]
fn a_large_file_gets_receipts_in_input_order_with_consecutive_seqs() {
    let s = Scratch::new();
    s.init("test/large");
    // A byte-order mark before line 1, and blank lines (one with a CR) here and there.
    let mut text = String::from("\u{feff}");
    for i in 0..LARGE as u64 {
        text.push_str(&custom_event("ok", i));
        text.push('\n');
        if i % 1000 == 999 {
            text.push_str(if i % 2000 == 999 { "\n" } else { " \r\n" });
        }
    }
    let file = s.file("large.jsonl", &text);
    let r = s.on_data("append", &[&file]).expect(0);
    let rs = receipts(&r.stdout);
    assert_eq!(rs.len(), LARGE);
    for line in r.stdout.lines() {
        assert!(
            line.starts_with(r#"{"seq":"#) && line.ends_with(r#""}"#) && !line.contains(' '),
            "{line}"
        );
    }
    check_receipts(&s, &rs, 1);
    // Record n holds the input's n-th event: the order of the input is kept.
    let records = s.records();
    assert_eq!(records.len(), LARGE + 1);
    for (i, rec) in records.iter().skip(1).enumerate() {
        assert_eq!(rec["data"]["i"], i as u64, "record {}", i + 1);
    }
    assert!(
        r.stderr.contains(&format!("appended {LARGE} event(s)")),
        "{}",
        r.stderr
    );
}

#[test]
fn a_reused_event_id_late_in_a_large_file_names_both_input_lines() {
    let s = Scratch::new();
    s.init("test/large-conflict");
    let before = s.journal_snapshot();
    let mut lines: Vec<String> = (0..LARGE as u64).map(|i| custom_event("ok", i)).collect();
    lines[99] = event_with_id(11, 1);
    lines[4099] = event_with_id(11, 2);
    // A blank line before both moves them to 101 and 4101.
    lines.insert(0, String::new());
    let file = s.file("large-conflict.jsonl", &jsonl(&lines));
    let r = s.on_data("append", &[&file]).expect(2);
    assert!(
        r.stderr.contains("large-conflict.jsonl:4101:"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("also on line 101"), "{}", r.stderr);
    assert!(r.stderr.contains(&uuid(11)), "{}", r.stderr);
    assert!(r.stdout.is_empty());
    assert_eq!(s.journal_snapshot(), before);
}
