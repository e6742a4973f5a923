//! One door, fail closed: every entrance gives the same verdict for the same data
//! directory, damage is never repaired silently, and checkpoints bind the future.
//!
//! Each damage kind is checked through the CLI (`verify --json`, and the writing
//! commands that must refuse), the server (`GET /v1/verify`, on a server that was
//! running when the files were changed) and the library (`tradetrail_store`).

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tradetrail_core::DataDir;

fn order(i: u64) -> String {
    format!(
        r#"{{"type":"order.submitted","ts_event":{},"source":"oms","actor":"trader:T-03","trader_id":"T-03","instrument_id":"AAPL.XNAS","entity":{{"kind":"order","id":"O-{i}"}},"data":{{"side":"buy","quantity":"1","order_type":"market"}}}}"#,
        1_795_000_000_000_000_000u64 + i
    ) + "\n"
}

fn orders(r: std::ops::Range<u64>) -> String {
    r.map(order).collect()
}

/// A new data directory of `origin` with orders `r` appended; the input file's path.
fn with_orders(origin: &str, r: std::ops::Range<u64>) -> (Scratch, String) {
    let s = Scratch::new();
    s.init(origin);
    let input = s.file("in.jsonl", &orders(r));
    s.on_data("append", &[input.as_str()]).expect(0);
    (s, input)
}

/// A new admin token for the server.
fn admin_token(s: &Scratch) -> String {
    s.on_data("token", &["create", "--role", "admin", "--name", "auditor"])
        .expect(0)
        .stdout
        .trim()
        .to_string()
}

/// The only segment of a small journal.
fn segment(s: &Scratch) -> std::path::PathBuf {
    let segs = s.segments();
    assert_eq!(segs.len(), 1, "{segs:?}");
    segs[0].clone()
}

/// `data` with record `seq`'s `"quantity":"1"` changed to `"9"`.
fn alter(data: &[u8], seq: usize) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = data.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    let l = &mut lines[seq];
    let at = l
        .windows(14)
        .position(|w| w == br#""quantity":"1""#)
        .expect("an order");
    l[at + 12] = b'9';
    lines.join(&b'\n')
}

/// `data` with record `seq` altered and every later `prev` recomputed: a rewrite that
/// the chain alone cannot catch.
fn rewrite(data: &[u8], seq: usize) -> Vec<u8> {
    tradetrail_testkit::forge::rewrite_record(
        data,
        seq as u64,
        r#""quantity":"1""#,
        r#""quantity":"9""#,
    )
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The verdict of the library door, as JSON.
fn library_verdict(data: &Path) -> Value {
    let v = tradetrail_store::verify(&DataDir::new(data), &|_| {}, &|_, _| {}).unwrap();
    serde_json::to_value(&v).unwrap()
}

#[test]
fn recovery_never_cuts_an_acknowledged_record_and_repair_is_explicit_and_recorded() {
    let s = Scratch::new();
    s.init("test.example/one-door");
    let input = s.file("in.jsonl", &orders(1..4));
    s.on_data("append", &["--durability", "fsync", input.as_str()])
        .expect(0);
    let seg = segment(&s);
    let intact = std::fs::read(&seg).unwrap();
    let damaged = alter(&intact, 2);
    std::fs::write(&seg, &damaged).unwrap();

    // Every door refuses or reports, naming seq 2, and changes nothing.
    let (code, v) = s.verify_json();
    assert_eq!(code, Some(1));
    assert_eq!(v["first_bad_seq"], 2, "{v}");
    for (sub, args) in [
        ("status", vec![]),
        ("append", vec![input.as_str()]),
        ("checkpoint", vec![]),
        ("export", vec!["--entity", "O-1", "--out", "bundle"]),
        ("query", vec![]),
    ] {
        let r = s.on_data(sub, &args);
        assert_eq!(
            std::fs::read(&seg).unwrap(),
            damaged,
            "`{sub}` must not change the journal"
        );
        let r = r.expect(1);
        assert!(r.stderr.contains("damaged at seq 2"), "{sub}: {}", r.stderr);
        assert!(
            r.stderr.contains("repair --truncate-after 1"),
            "{}",
            r.stderr
        );
    }
    let err = tradetrail_store::Store::open(&DataDir::new(s.path().join("data"))).unwrap_err();
    assert!(err.is_damage(), "{err}");
    assert_eq!(std::fs::read(&seg).unwrap(), damaged);

    // The explicit repair: refused without a reason, then done and recorded.
    s.on_data("repair", &["--truncate-after", "1", "--reason", ""])
        .expect(2);
    // Not at or after the damage: what is kept must verify.
    let r = s
        .on_data("repair", &["--truncate-after", "2", "--reason", "x"])
        .expect(2);
    assert!(
        r.stderr.contains("keep at most through record 1"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(&seg).unwrap(), damaged);
    let r = s
        .on_data(
            "repair",
            &[
                "--truncate-after",
                "1",
                "--reason",
                "record 2 altered on disk; INC-7",
                "--actor",
                "operator:carol",
                "--json",
            ],
        )
        .expect(0);
    let out = parse(r.stdout.trim());
    assert_eq!(out["removed_lines"], 2, "{out}");
    let removed = &damaged[intact
        .split(|&b| b == b'\n')
        .take(2)
        .map(|l| l.len() + 1)
        .sum::<usize>()..];
    let kept = std::fs::read(out["kept_at"].as_str().unwrap()).unwrap();
    assert_eq!(kept, removed, "the removed bytes are kept aside, exactly");
    assert_eq!(out["removed_sha256"], hex(&Sha256::digest(removed)));
    s.on_data("verify", &[]).expect(0);
    let last = s.records().pop().unwrap();
    assert_eq!(last["type"], "journal.repaired");
    assert_eq!(last["seq"], 2);
    assert_eq!(last["actor"], "operator:carol");
    assert_eq!(last["data"]["removed_from_seq"], 2);
    assert_eq!(last["data"]["removed_sha256"], out["removed_sha256"]);
    // And the journal takes records again.
    s.on_data("append", &[input.as_str()]).expect(0);
    // A journal that verifies has nothing to repair.
    let r = s
        .on_data("repair", &["--truncate-after", "1", "--reason", "x"])
        .expect(2);
    assert!(r.stderr.contains("nothing to repair"), "{}", r.stderr);
}

#[test]
fn a_partial_last_line_is_the_only_thing_opening_removes() {
    let (s, input) = with_orders("test.example/partial", 1..3);
    let seg = segment(&s);
    let mut data = std::fs::read(&seg).unwrap();
    let whole = data.len();
    let partial = br#"{"seq":3,"ts_recorded":17"#;
    data.extend_from_slice(partial);
    std::fs::write(&seg, &data).unwrap();
    // A read door reports it and leaves it.
    let st = s.status();
    assert_eq!(st["partial_bytes"], partial.len(), "{st}");
    assert_eq!(std::fs::read(&seg).unwrap().len(), data.len());
    // A writing door cuts it, says so, and carries on.
    let r = s.on_data("append", &[input.as_str()]).expect(0);
    let said = format!("unfinished last line of {} bytes", partial.len());
    assert!(r.stderr.contains(&said), "{}", r.stderr);
    assert!(std::fs::read(&seg).unwrap().len() > whole);
    s.on_data("verify", &[]).expect(0);
}

#[test]
fn checkpoints_bind_the_future_through_every_door() {
    let (s, _) = with_orders("test.example/bind", 1..7);
    s.on_data("checkpoint", &[]).expect(0); // size 7, recorded as record 7
    let more = s.file("more.jsonl", &orders(7..9));
    s.on_data("append", &[more.as_str()]).expect(0);
    let seg = segment(&s);
    let intact = std::fs::read(&seg).unwrap();
    let n = intact.iter().filter(|&&b| b == b'\n').count();
    assert_eq!(n, 10);

    // Truncated below the signed size: verify names the checkpoint; append and
    // checkpoint refuse rather than hand out acknowledged seqs again.
    let cut: usize = intact
        .split(|&b| b == b'\n')
        .take(5)
        .map(|l| l.len() + 1)
        .sum();
    std::fs::write(&seg, &intact[..cut]).unwrap();
    let (code, v) = s.verify_json();
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["journal"]["ok"], true, "the chain alone is intact: {v}");
    assert_eq!(v["first_bad_seq"], 5, "{v}");
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("checkpoints/00000000000000000007.txt"),
        "{v}"
    );
    for sub in ["append", "checkpoint"] {
        let args: Vec<&str> = if sub == "append" {
            vec![more.as_str()]
        } else {
            vec![]
        };
        let r = s.on_data(sub, &args).expect(1);
        assert!(
            r.stderr.contains("contradicts the signed checkpoint"),
            "{sub}: {}",
            r.stderr
        );
    }
    assert_eq!(
        std::fs::read(&seg).unwrap(),
        &intact[..cut],
        "nothing was written"
    );

    // Rewritten below the signed size with every later prev recomputed.
    std::fs::write(&seg, rewrite(&intact, 3)).unwrap();
    let (code, v) = s.verify_json();
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["journal"]["ok"], true, "the chain was recomputed: {v}");
    assert!(
        v["reason"].as_str().unwrap().contains("were changed"),
        "{v}"
    );
    let r = s.on_data("append", &[more.as_str()]).expect(1);
    assert!(
        r.stderr.contains("contradicts the signed checkpoint"),
        "{}",
        r.stderr
    );

    // With the checkpoint file removed, the journal.checkpoint record still binds.
    std::fs::remove_dir_all(s.path().join("data/checkpoints")).unwrap();
    let (code, v) = s.verify_json();
    assert_eq!(code, Some(1), "{v}");
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("journal.checkpoint record 7"),
        "{v}"
    );
}

#[test]
fn cli_server_and_library_give_one_verdict_for_each_damage() {
    let (s, _) = with_orders("test.example/cross-door", 1..7);
    s.on_data("checkpoint", &[]).expect(0);
    let more = s.file("more.jsonl", &orders(7..9));
    s.on_data("append", &[more.as_str()]).expect(0);
    let token = admin_token(&s);
    let seg = segment(&s);
    let intact = std::fs::read(&seg).unwrap();
    let cut: usize = intact
        .split(|&b| b == b'\n')
        .take(5)
        .map(|l| l.len() + 1)
        .sum();

    let port = free_port();
    let mut server = start_server_with(&s, port, &[]);
    let cases: Vec<(&str, Vec<u8>, bool)> = vec![
        ("intact", intact.clone(), true),
        ("altered", alter(&intact, 2), false),
        ("rewritten", rewrite(&intact, 3), false),
        ("truncated", intact[..cut].to_vec(), false),
    ];
    for (name, bytes, ok) in cases {
        // Changed under the running server, as an intruder would.
        std::fs::write(&seg, &bytes).unwrap();
        same_verdict_through_every_door(&s, port, &token, name, ok);
    }
    std::fs::write(&seg, &intact).unwrap();
    let _ = server.kill();
    let _ = server.wait();
}

/// The CLI's `verify --json`, the library's verdict and `GET /v1/verify` are one and
/// the same JSON, with `ok` as expected.
fn same_verdict_through_every_door(s: &Scratch, port: u16, token: &str, name: &str, ok: bool) {
    let (code, cli) = s.verify_json();
    let lib = library_verdict(&s.path().join("data"));
    let (status, body) = request(port, "GET", "/v1/verify", token, "").expect("answer");
    assert_eq!(status, 200, "{name}: {body}");
    let http: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(cli["ok"], ok, "{name}: {cli}");
    assert_eq!(code, Some(if ok { 0 } else { 1 }), "{name}");
    assert_eq!(cli, lib, "{name}: CLI and library");
    assert_eq!(cli, http, "{name}: CLI and server");
}

#[test]
fn after_retention_every_door_reads_the_archive_and_agrees() {
    let s = Scratch::new();
    s.on_data(
        "init",
        &[
            "--origin",
            "test.example/retained",
            "--segment-max-bytes",
            "4096",
        ],
    )
    .expect(0);
    let events: String = (0..200)
        .map(|i| {
            format!(
                r#"{{"type":"custom.note","event_id":"00000000-0000-4000-8000-{i:012}","ts_event":{},"source":"test","actor":"system","data":{{"i":{i}}}}}"#,
                1_795_000_000_000_000_000u64 + i
            ) + "\n"
        })
        .collect();
    let first = s.file("first.jsonl", &events);
    s.on_data("append", &[first.as_str()]).expect(0);
    s.on_data("archive", &[]).expect(0);
    // What retention does to journal/: the oldest segments leave, the archive keeps them.
    let segs = s.segments();
    for p in &segs[..segs.len() / 2] {
        std::fs::remove_file(p).unwrap();
    }
    let token = admin_token(&s);
    let port = free_port();
    let mut server = start_server_with(&s, port, &[]);
    same_verdict_through_every_door(&s, port, &token, "after retention", true);
    // The books read the records that left journal/ through the door's cold tier
    // (without it, a journal that starts past seq 0 cannot be read from the start).
    s.on_data("positions", &[]).expect(0);
    s.on_data("review", &["list"]).expect(0);
    // The library door deduplicates against the archive as the CLI does: the first
    // event again is a duplicate of record 1, not a new record.
    let _ = server.kill();
    let _ = server.wait();
    let store = tradetrail_store::Store::open(&DataDir::new(s.path().join("data"))).unwrap();
    let line = events.lines().next().unwrap();
    let ev = tradetrail_model::Event::from_json(line.as_bytes()).unwrap();
    let r = store.recorder().record(&ev).unwrap();
    assert!(r.duplicate, "{r:?}");
    assert_eq!(r.seq, 1);
}

#[test]
fn a_configuration_from_another_journal_is_refused() {
    let s = Scratch::new();
    s.init("test.example/mine");
    let cfg = s.path().join("data/tradetrail.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replace("test.example/mine", "test.example/theirs"),
    )
    .unwrap();
    let input = s.file("in.jsonl", &orders(1..2));
    let r = s.on_data("append", &[input.as_str()]).expect(1);
    assert!(
        r.stderr.contains("belongs to another journal"),
        "{}",
        r.stderr
    );
    assert_eq!(s.lines().len(), 1, "nothing was written");
}

#[test]
fn reads_answer_from_the_whole_journal_or_fail_naming_the_gap() {
    let s = Scratch::new();
    s.on_data(
        "init",
        &[
            "--origin",
            "test.example/gap",
            "--segment-max-bytes",
            "4096",
        ],
    )
    .expect(0);
    let input = s.file("in.jsonl", &orders(1..120));
    s.on_data("append", &[input.as_str()]).expect(0);
    let segs = s.segments();
    assert!(segs.len() >= 4, "{segs:?}");
    // O-100 is in a later segment than the one removed.
    let r = s.on_data("trail", &["O-100"]).expect(0);
    assert!(r.stdout.contains("O-100"), "{}", r.stdout);
    std::fs::remove_file(&segs[1]).unwrap();
    let _ = std::fs::remove_dir_all(s.path().join("data/index"));
    for (sub, args) in [
        ("query", vec!["--format", "jsonl"]),
        ("stats", vec!["--by", "type"]),
        ("trail", vec!["O-100"]),
    ] {
        let r = s.on_data(sub, &args).expect(1);
        assert!(r.stderr.contains("do not meet"), "{sub}: {}", r.stderr);
        assert!(
            r.stdout.is_empty(),
            "{sub} answered from part: {}",
            r.stdout
        );
    }
    let (code, v) = s.verify_json();
    assert_eq!(code, Some(1), "{v}");
}

#[test]
fn restore_with_a_key_refuses_a_rewritten_backup_whose_checkpoint_files_were_removed() {
    let (s, _) = with_orders("test.example/restore", 1..7);
    s.on_data("checkpoint", &[]).expect(0); // record 7 notes it
    let more = s.file("more.jsonl", &orders(7..9));
    s.on_data("append", &[more.as_str()]).expect(0);
    let vkey = s.on_data("key", &["show"]).expect(0).stdout;
    let vkey = vkey.trim().to_string();
    let b = s.path().join("B");
    let b_arg = b.display().to_string();
    s.on_data("backup", &["--to", &b_arg]).expect(0);

    // The intruder rewrites record 3 in the backup, recomputes every later prev, the
    // segment's hash in the manifest, removes the checkpoint files (and their entries),
    // and fixes the manifest's head hash and root by reading them off restore's own
    // refusals.
    let seg_rel = "journal/00000000000000000000.jsonl";
    let seg = b.join("data").join(seg_rel);
    let rewritten = rewrite(&std::fs::read(&seg).unwrap(), 3);
    std::fs::write(&seg, &rewritten).unwrap();
    std::fs::remove_dir_all(b.join("data/checkpoints")).unwrap();
    let mpath = b.join("manifest.json");
    let mut m: Value = serde_json::from_slice(&std::fs::read(&mpath).unwrap()).unwrap();
    m["checkpoint"] = Value::Null;
    let files = m["files"].as_array_mut().unwrap();
    files.retain(|f| f["kind"] != "checkpoint");
    for f in files.iter_mut().filter(|f| f["path"] == seg_rel) {
        f["sha256"] = hex(&Sha256::digest(&rewritten)).into();
        f["bytes"] = rewritten.len().into();
    }
    let restore = |m: &Value, dest: &str| {
        std::fs::write(&mpath, serde_json::to_vec(m).unwrap()).unwrap();
        s.tt(&["restore", "--from", &b_arg, "--data", dest, "--key", &vkey])
    };
    let mut last = None;
    for round in 0..4 {
        let r = restore(&m, &format!("r{round}"));
        let said = |what: &str| {
            r.stderr
                .split(&format!("{what} of the restored journal is "))
                .nth(1)
                .and_then(|t| t.split(' ').next())
                .map(str::to_owned)
        };
        if let Some(h) = said("the head hash") {
            m["head_hash"] = h.into();
        } else if let Some(root) = said("the Merkle root") {
            m["root"] = root.into();
        } else {
            last = Some(r);
            break;
        }
    }
    let r = last.expect("the manifest was made consistent");
    assert_ne!(
        r.code,
        Some(0),
        "a rewritten backup was restored: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains("journal.checkpoint record 7"),
        "the signed note inside the journal contradicts the records: {}",
        r.stderr
    );
    assert!(!s.path().join("r3").join("journal").exists());

    // And a backup that carries no checkpoint at all is refused with --key.
    let t = Scratch::new();
    t.init("test.example/no-checkpoint");
    let input = t.file("in.jsonl", &orders(1..3));
    t.on_data("append", &[input.as_str()]).expect(0);
    let tvkey = t
        .on_data("key", &["show"])
        .expect(0)
        .stdout
        .trim()
        .to_string();
    let tb = t.path().join("B").display().to_string();
    t.on_data("backup", &["--to", &tb]).expect(0);
    let r = t.tt(&["restore", "--from", &tb, "--data", "r", "--key", &tvkey]);
    assert_ne!(r.code, Some(0));
    assert!(
        r.stderr.contains("no checkpoint signed by the given key"),
        "{}",
        r.stderr
    );
    // Without --key (trusting the backup's own key) it restores.
    t.tt(&["restore", "--from", &tb, "--data", "r2"]).expect(0);
}

#[test]
fn verify_checks_the_query_index_too() {
    let (s, _) = with_orders("test.example/index", 1..50);
    s.on_data("query", &["--format", "jsonl"]).expect(0);
    let col = s.path().join("data/index/query/ts_event.col");
    let mut bytes = std::fs::read(&col).expect("the query built its index");
    let (code, v) = s.verify_json();
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["index"]["ok"], true, "{v}");
    assert!(v["index"]["rows"].as_u64().unwrap() >= 50, "{v}");
    bytes[9] ^= 0x40;
    std::fs::write(&col, &bytes).unwrap();
    let (code, v) = s.verify_json();
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["index"]["ok"], false, "{v}");
    assert_eq!(v["journal"]["ok"], true, "{v}");
    assert!(v["first_bad_seq"].is_null(), "the records are intact: {v}");
    assert!(
        v["reason"].as_str().unwrap().contains("ts_event.col"),
        "{v}"
    );
    // The next read rebuilds it, and verify is satisfied again.
    s.on_data("query", &["--format", "jsonl"]).expect(0);
    s.on_data("verify", &[]).expect(0);
}

#[test]
fn readers_open_through_the_read_door_beside_a_recorder_and_refuse_a_rewritten_journal() {
    let (s, _) = with_orders("test.example/read-door", 1..7);
    s.on_data("checkpoint", &[]).expect(0); // size 7, recorded as record 7
    let more = s.file("more.jsonl", &orders(7..9));
    s.on_data("append", &[more.as_str()]).expect(0);
    // A replica: a copy of the directory as it is now.
    let peer = Scratch::new();
    let cp = std::process::Command::new("cp")
        .args(["-a", &s.data_arg(), &peer.data_arg()])
        .status()
        .expect("cp");
    assert!(cp.success());
    let peer_arg = peer.data_arg();
    let readers: Vec<(&str, Vec<&str>)> = vec![
        ("query", vec!["--format", "jsonl"]),
        ("trail", vec!["O-3"]),
        ("stats", vec!["--by", "type"]),
        ("positions", vec![]),
        ("review", vec!["list"]),
        ("replica", vec!["status", "--peer", peer_arg.as_str()]),
    ];

    // Beside a running server (it holds the journal's lock), every reader answers.
    let port = free_port();
    let mut server = start_server_with(&s, port, &[]);
    assert_eq!(
        s.on_data("append", &[more.as_str()]).code,
        Some(3),
        "a second writer is refused"
    );
    for (sub, args) in &readers {
        let r = s.on_data(sub, args).expect(0);
        assert!(!r.stdout.is_empty(), "{sub}");
    }
    let r = s.on_data("query", &["--format", "jsonl"]).expect(0);
    assert_eq!(r.stdout.lines().count(), 10, "{}", r.stdout);
    let _ = server.kill();
    let _ = server.wait();

    // Record 3 rewritten, every later prev recomputed: the chain holds, the signed
    // checkpoint does not. Every reader refuses with the writer's error, answering
    // nothing; replica status refuses from either side.
    let seg = segment(&s);
    std::fs::write(&seg, rewrite(&std::fs::read(&seg).unwrap(), 3)).unwrap();
    let tampered = std::fs::read(&seg).unwrap();
    let writer = s.on_data("append", &[more.as_str()]).expect(1);
    assert!(
        writer.stderr.contains("contradicts the signed checkpoint"),
        "{}",
        writer.stderr
    );
    let s_arg = s.data_arg();
    let from_peer = peer.on_data("replica", &["status", "--peer", s_arg.as_str()]);
    for (sub, r) in readers
        .iter()
        .map(|(sub, args)| (*sub, s.on_data(sub, args)))
        .chain([("replica (from the peer)", from_peer)])
    {
        let r = r.expect(1);
        assert_eq!(r.stderr, writer.stderr, "{sub}: the writer's error");
        assert!(r.stdout.is_empty(), "{sub} answered: {}", r.stdout);
    }
    assert_eq!(
        std::fs::read(&seg).unwrap(),
        tampered,
        "nothing was changed"
    );
    // verify and status keep reporting as they did.
    let (code, v) = s.verify_json();
    assert_eq!(code, Some(1), "{v}");
    assert!(
        v["reason"].as_str().unwrap().contains("were changed"),
        "{v}"
    );
    assert_eq!(s.status()["records"], 10);
}
