//! `tradetrail ingest nats` end to end against a real `nats-server` with JetStream
//! (installed with apt-get when missing; the test fails saying how to install it when
//! that cannot be done): producers publish through `tradetrail_ingest::publish_event`,
//! the real binary ingests, and the journal is read back.
//!
//! `TRADETRAIL_SOAK=1` adds a long run: 100,000 events from several producers on a
//! 3-node cluster, the recorder SIGKILLed at random instants and a NATS node restarted.

mod common;

use std::collections::HashMap;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use bytes::Bytes;
use common::{command, Scratch};
use tradetrail_ingest::server::NatsServer;

const STREAM: &str = "AUDIT";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A valid event with event_id `uuid(n)`, from producer `p`.
fn event(p: usize, n: u64) -> String {
    let id = common::uuid(n);
    match n % 3 {
        0 => format!(
            r#"{{"type":"order.submitted","ts_event":{},"source":"p{p}","actor":"trader:T-{p}","event_id":"{id}","trader_id":"T-{p}","instrument_id":"AAPL.XNAS","entity":{{"kind":"order","id":"O-{n}"}},"data":{{"side":"buy","quantity":"100","order_type":"limit","price":"228.50"}}}}"#,
            1_795_000_000_000_000_000u64 + n
        ),
        1 => format!(
            r#"{{"type":"param.changed","ts_event":{},"source":"p{p}","actor":"algo:m{p}","event_id":"{id}","data":{{"name":"k{n}","old_value":"1","new_value":"2","reason":"regime"}}}}"#,
            1_795_000_000_000_000_000u64 + n
        ),
        _ => format!(
            r#"{{"type":"custom.tick","ts_event":{},"source":"p{p}","actor":"system","event_id":"{id}","data":{{"i":{n}}}}}"#,
            1_795_000_000_000_000_000u64 + n
        ),
    }
}

/// Publishes events `range` from `producers` concurrent producers (event n from
/// producer n % producers, to subject audit.p<k>), each one validated first, and waits
/// for the stream's acknowledgements.
fn publish(url: &str, range: std::ops::Range<u64>, producers: usize) {
    runtime().block_on(async {
        let mut tasks = Vec::new();
        for p in 0..producers {
            let url = url.to_string();
            let range = range.clone();
            tasks.push(tokio::spawn(async move {
                let client = tradetrail_ingest::connect(&[url]).await.expect("connect");
                let js = jetstream::new(client);
                let mut acks = Vec::new();
                for n in range.filter(|n| (*n as usize) % producers == p) {
                    let ack = tradetrail_ingest::publish_event(
                        &js,
                        &format!("audit.p{p}"),
                        Bytes::from(event(p, n)),
                    )
                    .await
                    .expect("publish");
                    acks.push(ack);
                    if acks.len() >= 512 {
                        for a in acks.drain(..) {
                            a.await.expect("stream ack");
                        }
                    }
                }
                for a in acks {
                    a.await.expect("stream ack");
                }
            }));
        }
        for t in tasks {
            t.await.expect("producer task");
        }
    });
}

/// Creates the stream (subjects audit.>) and its dead-letter stream by hand, as an
/// operator would.
fn create_streams(url: &str) {
    runtime().block_on(async {
        let client = tradetrail_ingest::connect(&[url.to_string()])
            .await
            .expect("connect");
        let js = jetstream::new(client);
        for (name, subject) in [(STREAM, "audit.>"), ("DEAD", "deadletter.AUDIT")] {
            js.get_or_create_stream(jetstream::stream::Config {
                name: name.into(),
                subjects: vec![subject.into()],
                duplicate_window: Duration::from_secs(120),
                ..Default::default()
            })
            .await
            .expect("create stream");
        }
    });
}

/// Publishes a raw message, bypassing validation (what a broken producer does).
fn publish_raw(url: &str, subject: &str, body: &str) -> u64 {
    runtime().block_on(async {
        let client = tradetrail_ingest::connect(&[url.to_string()])
            .await
            .expect("connect");
        let js = jetstream::new(client);
        js.publish(subject.to_string(), Bytes::from(body.to_string()))
            .await
            .expect("publish")
            .await
            .expect("ack")
            .sequence
    })
}

fn ingest_args<'a>(s: &'a Scratch, url: &'a str, extra: &[&'a str]) -> Vec<String> {
    let mut a: Vec<String> = [
        "ingest",
        "nats",
        "--data",
        &s.data_arg(),
        "--url",
        url,
        "--stream",
        STREAM,
        "--consumer",
        "recorder",
        "--ack-wait",
        "2",
        "--progress-every",
        "1",
    ]
    .iter()
    .map(|x| x.to_string())
    .collect();
    a.extend(extra.iter().map(|x| x.to_string()));
    a
}

fn spawn_ingest(s: &Scratch, url: &str, extra: &[&str]) -> Child {
    let mut c = command(s.path());
    c.args(ingest_args(s, url, extra))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c.spawn().expect("spawn tradetrail ingest")
}

/// Event ids of the producers' records in the journal, with how often each is there.
fn recorded_ids(s: &Scratch) -> HashMap<String, usize> {
    let mut ids = HashMap::new();
    for r in s.records() {
        let t = r["type"].as_str().unwrap_or_default();
        if t.starts_with("journal.") || t == "ingest.rejected" {
            continue;
        }
        *ids.entry(r["event_id"].as_str().unwrap_or_default().to_string())
            .or_insert(0) += 1;
    }
    ids
}

fn assert_exactly_once(s: &Scratch, range: std::ops::Range<u64>) {
    let ids = recorded_ids(s);
    let want = (range.end - range.start) as usize;
    let missing: Vec<u64> = range
        .clone()
        .filter(|n| !ids.contains_key(&common::uuid(*n)))
        .take(10)
        .collect();
    assert!(
        missing.is_empty(),
        "events missing from the journal, e.g. {missing:?}"
    );
    let twice: Vec<(&String, &usize)> = ids.iter().filter(|(_, c)| **c != 1).take(10).collect();
    assert!(
        twice.is_empty(),
        "events recorded more than once: {twice:?}"
    );
    assert_eq!(ids.len(), want, "only the published events are recorded");
    let (code, v) = s.verify_json();
    assert_eq!(code, Some(0), "verify: {v}");
}

/// Runs `ingest --stop-when-drained` to the end, asserting exit 0.
fn drain(s: &Scratch, url: &str) -> common::Run {
    let mut c = command(s.path());
    c.args(ingest_args(s, url, &["--stop-when-drained"]));
    common::run_cmd(c, None).expect(0)
}

/// Waits until the journal holds more than `records` records (the recorder is working).
fn wait_for_records(s: &Scratch, records: usize, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    // The ingest process is writing: count complete lines only.
    while common::complete_lines_in(&s.data) <= records {
        if let Ok(Some(st)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            panic!("ingest exited early: {st}: {err}");
        }
        assert!(Instant::now() < deadline, "ingest recorded nothing in 60 s");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn stop_gracefully(mut child: Child) -> String {
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(killed.success());
    let status = child.wait().expect("wait");
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    assert_eq!(
        status.code(),
        Some(0),
        "ingest stops with 0 on SIGTERM: {err}"
    );
    err
}

fn server(s: &Scratch) -> NatsServer {
    NatsServer::start(&s.path().join("nats")).unwrap_or_else(|e| panic!("{e}"))
}

fn setup() -> (Scratch, NatsServer) {
    let s = Scratch::new();
    std::fs::create_dir_all(s.path().join("nats")).expect("mkdir");
    let nats = server(&s);
    s.init("tradetrail.test/ingest");
    (s, nats)
}

#[test]
fn events_from_several_producers_are_recorded_exactly_once_and_verify() {
    let (s, nats) = setup();
    let url = nats.url();
    // --create-stream makes AUDIT (audit.>) and AUDIT_DEAD.
    let r = {
        let mut c = command(s.path());
        c.args(ingest_args(
            &s,
            &url,
            &["--create-stream", "--stop-when-drained"],
        ));
        common::run_cmd(c, None)
    };
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    publish(&url, 0..3000, 4);
    // Publishing again within the duplicate window changes nothing (Nats-Msg-Id).
    publish(&url, 0..100, 2);
    let r = drain(&s, &url);
    assert!(r.stderr.contains("3000 recorded"), "{}", r.stderr);
    assert_exactly_once(&s, 0..3000);
    // Redelivery is idempotent: a second consumer gets every message again, and each
    // is acknowledged as a duplicate (the same event_id and body), nothing written.
    let before = s.lines();
    let mut c = command(s.path());
    let mut args = ingest_args(&s, &url, &["--stop-when-drained"]);
    let at = args
        .iter()
        .position(|a| a == "recorder")
        .expect("consumer arg");
    args[at] = "replay".into();
    // Long enough that no message is delivered a third time while its batch is read.
    let at = args
        .iter()
        .position(|a| a == "--ack-wait")
        .expect("ack-wait arg");
    args[at + 1] = "60".into();
    c.args(args);
    let r = common::run_cmd(c, None).expect(0);
    assert!(
        r.stderr
            .contains("0 recorded, 3000 duplicates, 0 rejected, 3000 acked"),
        "{}",
        r.stderr
    );
    assert_eq!(s.lines(), before, "a redelivery writes nothing");
    // Every record holds the producer's event as published (the canonical body).
    let recs = s.records();
    let by_id: HashMap<&str, &serde_json::Value> = recs
        .iter()
        .filter_map(|r| r["event_id"].as_str().map(|id| (id, r)))
        .collect();
    for n in [0u64, 1, 2, 2999] {
        let want = common::parse(&event((n as usize) % 4, n));
        let got = by_id[common::uuid(n).as_str()];
        assert_eq!(got["source"], want["source"]);
        assert_eq!(got["data"]["i"], want["data"]["i"]);
        assert_eq!(got["type"], want["type"]);
    }
}

#[test]
fn a_bad_message_goes_to_the_dead_letter_subject_with_its_reason_and_a_record() {
    let (s, nats) = setup();
    let url = nats.url();
    create_streams(&url);
    publish(&url, 0..500, 2);
    let bad = r#"{"type":"order.teleported","ts_event":1,"source":"p9","actor":"system","event_id":"00000000-0000-4000-8000-ffffffffffff"}"#;
    let bad_seq = publish_raw(&url, "audit.p9", bad);
    let no_id = r#"{"type":"custom.tick","ts_event":1,"source":"p9","actor":"system"}"#;
    let no_id_seq = publish_raw(&url, "audit.p9", no_id);
    // The same event_id as event 7 with another body: a conflict.
    let conflict = event(1, 7)
        .replace("\"i\":7", "\"i\":8")
        .replace("k7", "k8");
    let conflict_seq = publish_raw(&url, "audit.p1", &conflict);
    publish(&url, 500..1000, 2);
    drain(&s, &url);
    assert_exactly_once(&s, 0..1000);

    // The dead letters: body unchanged, headers naming reason, subject and stream seq.
    let dead = runtime().block_on(async {
        let client = tradetrail_ingest::connect(std::slice::from_ref(&url))
            .await
            .expect("connect");
        let js = jetstream::new(client);
        let stream = js.get_stream("DEAD").await.expect("dead stream");
        let mut out = Vec::new();
        for seq in 1..=3u64 {
            let m = stream.get_raw_message(seq).await.expect("dead letter");
            out.push(m);
        }
        assert!(
            stream.get_raw_message(4).await.is_err(),
            "three dead letters only"
        );
        out
    });
    let mut by_seq = HashMap::new();
    for m in &dead {
        let h = m.headers.clone();
        let seq: u64 = h
            .get(tradetrail_ingest::HEADER_STREAM_SEQ)
            .expect("seq header")
            .as_str()
            .parse()
            .expect("a number");
        assert_eq!(
            h.get(tradetrail_ingest::HEADER_STREAM).map(|v| v.as_str()),
            Some(STREAM)
        );
        by_seq.insert(
            seq,
            (
                String::from_utf8(m.payload.to_vec()).expect("utf-8"),
                h.get(tradetrail_ingest::HEADER_REASON)
                    .expect("reason")
                    .as_str()
                    .to_string(),
                h.get(tradetrail_ingest::HEADER_SUBJECT)
                    .expect("subject")
                    .as_str()
                    .to_string(),
            ),
        );
    }
    let (body, reason, subject) = &by_seq[&bad_seq];
    assert_eq!(body, bad);
    assert_eq!(subject, "audit.p9");
    assert!(reason.contains("order.teleported"), "{reason}");
    assert!(
        by_seq[&no_id_seq].1.contains("event_id"),
        "{}",
        by_seq[&no_id_seq].1
    );
    assert!(
        by_seq[&conflict_seq].1.contains("different body"),
        "{}",
        by_seq[&conflict_seq].1
    );

    // One ingest.rejected record for each, naming stream, seq, subject and reason.
    let rejected: Vec<serde_json::Value> = s
        .records()
        .into_iter()
        .filter(|r| r["type"] == "ingest.rejected")
        .collect();
    assert_eq!(rejected.len(), 3, "{rejected:?}");
    let rec = rejected
        .iter()
        .find(|r| r["data"]["stream_seq"].as_str() == Some(bad_seq.to_string().as_str()))
        .expect("the bad message's record");
    assert_eq!(rec["data"]["stream"], STREAM);
    assert_eq!(rec["data"]["subject"], "audit.p9");
    assert_eq!(rec["data"]["body"], bad);
    assert_eq!(
        rec["data"]["reason"].as_str(),
        Some(by_seq[&bad_seq].1.as_str())
    );

    // Running again changes nothing: everything was acked.
    let before = s.lines().len();
    drain(&s, &url);
    assert_eq!(s.lines().len(), before);
}

#[test]
fn a_recorder_killed_mid_ingest_loses_nothing_and_records_nothing_twice() {
    let (s, nats) = setup();
    let url = nats.url();
    create_streams(&url);
    publish(&url, 0..5000, 3);
    // Small batches, so that the kill lands between batches and inside one.
    let mut child = spawn_ingest(
        &s,
        &url,
        &["--max-in-flight", "64", "--durability", "fsync"],
    );
    wait_for_records(&s, 400, &mut child);
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    let mut child = spawn_ingest(&s, &url, &["--max-in-flight", "64"]);
    wait_for_records(&s, 2000, &mut child);
    let _ = child.kill();
    let _ = child.wait();
    let r = drain(&s, &url);
    eprintln!("after two SIGKILLs: {}", r.stderr);
    assert!(r.stderr.contains("0 rejected"), "{}", r.stderr);
    assert_exactly_once(&s, 0..5000);
}

#[test]
fn ingest_resumes_after_the_nats_server_restarts() {
    let (s, mut nats) = setup();
    let url = nats.url();
    create_streams(&url);
    publish(&url, 0..2000, 2);
    let mut child = spawn_ingest(&s, &url, &["--max-in-flight", "128"]);
    wait_for_records(&s, 300, &mut child);
    nats.kill();
    std::thread::sleep(Duration::from_millis(300));
    nats.restart().unwrap_or_else(|e| panic!("{e}"));
    publish(&url, 2000..3000, 2);
    // The running recorder (the same process) takes up the rest.
    let deadline = Instant::now() + Duration::from_secs(90);
    while recorded_ids(&s).len() < 3000 {
        if let Ok(Some(st)) = child.try_wait() {
            panic!("ingest exited: {st}");
        }
        assert!(
            Instant::now() < deadline,
            "ingest did not resume after the restart"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let err = stop_gracefully(child);
    assert!(err.contains("ingest: stopped"), "{err}");
    assert_exactly_once(&s, 0..3000);
}

#[test]
fn serve_ingest_nats_runs_the_same_loop_inside_the_server() {
    let (s, nats) = setup();
    let url = nats.url();
    create_streams(&url);
    publish(&url, 0..1000, 2);
    let port = common::free_port();
    let server = common::start_server_with(&s, port, &["--ingest-nats", &url]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while recorded_ids(&s).len() < 1000 {
        assert!(
            Instant::now() < deadline,
            "serve --ingest-nats recorded too little"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The loop's counters are in the server's /metrics and /healthz.
    let recorded = || -> f64 {
        let (_, metrics) = common::request(port, "GET", "/metrics", "", "").expect("metrics");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix("tradetrail_ingest_recorded_total "))
            .and_then(|v| v.parse().ok())
            .expect("tradetrail_ingest_recorded_total in /metrics")
    };
    // Counted just after the journal's acknowledgement: wait for the last batch's.
    while recorded() < 1000.0 {
        assert!(Instant::now() < deadline, "metrics: {}", recorded());
        std::thread::sleep(Duration::from_millis(20));
    }
    let (_, health) = common::request(port, "GET", "/healthz", "", "").expect("healthz");
    let health: serde_json::Value = serde_json::from_str(&health).expect("JSON");
    assert_eq!(health["components"]["ingest"]["healthy"], true, "{health}");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(killed.success());
    let mut server = server;
    let status = server.wait().expect("wait");
    assert_eq!(status.code(), Some(0));
    assert_exactly_once(&s, 0..1000);
    // Everything was acknowledged: a later ingest finds nothing new.
    let r = drain(&s, &url);
    assert!(
        r.stderr.contains("0 recorded, 0 duplicates"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_dead_letter_subject_inside_the_stream_is_refused() {
    let (s, nats) = setup();
    let url = nats.url();
    create_streams(&url);
    let mut c = command(s.path());
    c.args(ingest_args(
        &s,
        &url,
        &["--dead-letter", "audit.dead", "--stop-when-drained"],
    ));
    let r = common::run_cmd(c, None).expect(2);
    assert!(
        r.stderr.contains("--dead-letter") || r.stderr.contains("audit.dead"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("ingested"), "{}", r.stderr);
}

/// `TRADETRAIL_SOAK=1`: 100,000 events from 4 producers into a 3-node cluster
/// (stream replicated 3 times) while the recorder is SIGKILLed at random instants and
/// restarted and one NATS node is killed and restarted; a bad message mixed in.
#[test]
fn soak_cluster_kills_and_restarts() {
    if std::env::var_os("TRADETRAIL_SOAK").is_none() {
        eprintln!("soak skipped: set TRADETRAIL_SOAK=1 to run it");
        return;
    }
    let s = Scratch::new();
    s.init("tradetrail.test/soak");
    let mut nodes =
        NatsServer::start_cluster(&s.path().join("nats")).unwrap_or_else(|e| panic!("{e}"));
    let urls: Vec<String> = nodes.iter().map(|n| n.url()).collect();
    let url = urls.join(",");
    // The cluster needs a moment to elect its meta leader: retry stream creation.
    runtime().block_on(async {
        let client = tradetrail_ingest::connect(&urls).await.expect("connect");
        let js = jetstream::new(client);
        for (name, subject) in [(STREAM, "audit.>"), ("DEAD", "deadletter.AUDIT")] {
            let mut tries = 0;
            loop {
                match js
                    .get_or_create_stream(jetstream::stream::Config {
                        name: name.into(),
                        subjects: vec![subject.into()],
                        num_replicas: 3,
                        duplicate_window: Duration::from_secs(120),
                        ..Default::default()
                    })
                    .await
                {
                    Ok(_) => break,
                    Err(e) => {
                        tries += 1;
                        assert!(tries < 100, "stream creation: {e}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        }
    });
    let total = 100_000u64;
    let first = urls[0].clone();
    let producer = std::thread::spawn(move || publish(&first, 0..total, 4));
    let bad_seq = publish_raw(&urls[1], "audit.bad", "{not json");
    let mut rng = 0x9e3779b97f4a7c15u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut kills = 0;
    for round in 0..8 {
        let mut child = spawn_ingest(&s, &url, &["--max-in-flight", "1024"]);
        let have = common::complete_lines_in(&s.data);
        wait_for_records(&s, have, &mut child);
        std::thread::sleep(Duration::from_millis(100 + next() % 900));
        if round == 3 {
            nodes[2].kill();
            std::thread::sleep(Duration::from_millis(500));
            nodes[2].restart().unwrap_or_else(|e| panic!("{e}"));
        }
        let _ = child.kill();
        let _ = child.wait();
        kills += 1;
    }
    producer.join().expect("producer");
    let r = drain(&s, &url);
    eprintln!(
        "soak: {kills} SIGKILLs; final run: {}",
        r.stderr.lines().last().unwrap_or("")
    );
    assert_exactly_once(&s, 0..total);
    let rejected: Vec<serde_json::Value> = s
        .records()
        .into_iter()
        .filter(|r| r["type"] == "ingest.rejected")
        .collect();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["data"]["stream_seq"], bad_seq.to_string());
}

/// A replica's data directory: the same origin and record-0 time for every replica.
fn replica_scratch() -> Scratch {
    let s = Scratch::new();
    s.on_data(
        "init",
        &[
            "--origin",
            "tradetrail.test/replica",
            "--created-at",
            "2026-01-01T00:00:00Z",
        ],
    )
    .expect(0);
    s
}

/// `ingest nats --replica` on `s` through consumer `consumer`.
fn replica_command(
    s: &Scratch,
    url: &str,
    consumer: &str,
    extra: &[&str],
) -> std::process::Command {
    let mut c = command(s.path());
    let d = s.data_arg();
    c.args([
        "ingest",
        "nats",
        "--data",
        &d,
        "--url",
        url,
        "--stream",
        STREAM,
        "--consumer",
        consumer,
        "--replica",
        "--ack-wait",
        "2",
        "--progress-every",
        "1",
    ])
    .args(extra);
    c
}

#[test]
fn two_replicas_of_one_stream_hold_the_same_bytes_even_after_a_sigkill() {
    let a = replica_scratch();
    let b = replica_scratch();
    // The same signing key: equal configuration gives equal checkpoints.
    std::fs::remove_dir_all(b.data.join("keys")).expect("rm keys");
    let cp = std::process::Command::new("cp")
        .args(["-a"])
        .arg(a.data.join("keys"))
        .arg(b.data.join("keys"))
        .status()
        .expect("cp");
    assert!(cp.success());
    std::fs::create_dir_all(a.path().join("nats")).expect("mkdir");
    let nats = server(&a);
    let url = nats.url();
    create_streams(&url);
    publish(&url, 0..1500, 3);
    let bad_seq = publish_raw(
        &url,
        "audit.p0",
        r#"{"type":"order.submitted","ts_event":"x"}"#,
    );
    publish(&url, 1500..3000, 3);

    // A: small batches, SIGKILLed mid-way and restarted (redeliveries come late: the
    // missing messages are read from the stream), then drained.
    let mut child = replica_command(
        &a,
        &url,
        "a",
        &[
            "--max-in-flight",
            "64",
            "--durability",
            "fsync",
            "--checkpoint-every",
            "500",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn ingest");
    wait_for_records(&a, 900, &mut child);
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    let r = common::run_cmd(
        replica_command(
            &a,
            &url,
            "a",
            &[
                "--max-in-flight",
                "100",
                "--stop-when-drained",
                "--checkpoint-every",
                "500",
            ],
        ),
        None,
    )
    .expect(0);
    eprintln!("A after a SIGKILL: {}", r.stderr);
    // B: one run, large batches (other batch boundaries than A's).
    let r = common::run_cmd(
        replica_command(
            &b,
            &url,
            "b",
            &[
                "--max-in-flight",
                "4096",
                "--stop-when-drained",
                "--checkpoint-every",
                "500",
            ],
        ),
        None,
    )
    .expect(0);
    eprintln!("B: {}", r.stderr);

    assert_exactly_once(&a, 0..3000);
    assert_exactly_once(&b, 0..3000);
    let (ja, jb) = (
        common::snapshot(&a.journal_dir()),
        common::snapshot(&b.journal_dir()),
    );
    let segs = |m: &std::collections::BTreeMap<String, Vec<u8>>| {
        m.iter()
            .filter(|(k, _)| k.ends_with(".jsonl"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(segs(&ja).len(), segs(&jb).len());
    assert!(segs(&ja) == segs(&jb), "the replicas' segment files differ");
    // Byte-identical signed checkpoints at the same sizes: one after the record of
    // each stream message 500, 1000, ..., 3000 (its journal.checkpoint record right
    // after it), though A was killed mid-way and their batches differ.
    let (ca, cb) = (
        common::snapshot(&a.data.join("checkpoints")),
        common::snapshot(&b.data.join("checkpoints")),
    );
    let names: Vec<&str> = ca.keys().map(String::as_str).collect();
    for size in [501u64, 1002, 1503, 2004, 2505, 3006] {
        let name = format!("{size:020}.txt");
        assert!(
            names.iter().any(|n| n.ends_with(&name)),
            "{name}: {names:?}"
        );
    }
    assert_eq!(ca.len(), 6, "{names:?}");
    assert!(ca == cb, "the replicas' checkpoints differ");
    // Record 0, 3000 events, one rejection and 6 checkpoint records; the rejection
    // in its stream place (after 3 checkpoints).
    let records = a.records();
    assert_eq!(records.len(), 3008);
    assert_eq!(bad_seq, 1501);
    assert_eq!(
        records[1504]["type"], "ingest.rejected",
        "{}",
        records[1504]
    );
    assert_eq!(records[1504]["data"]["stream_seq"], "1501");
    for size in [501usize, 1002, 1503, 2004, 2505, 3006] {
        assert_eq!(
            records[size]["type"], "journal.checkpoint",
            "{}",
            records[size]
        );
        assert_eq!(records[size]["data"]["size"], size as u64);
        assert_eq!(
            records[size]["ts_recorded"],
            records[size - 1]["ts_recorded"]
        );
    }

    // replica status: identical, and so are the signed checkpoints.
    let r = a
        .on_data("replica", &["status", "--peer", &b.data_arg()])
        .expect(0);
    assert!(r.stdout.contains("identical"), "{}", r.stdout);
    assert!(
        r.stdout.contains(
            "checkpoints: byte-equal signed notes at every size both signed: 501, 1002, 1503, 2004, 2505, 3006"
        ),
        "{}",
        r.stdout
    );
    let r = a
        .on_data("replica", &["status", "--peer", &b.data_arg(), "--json"])
        .expect(0);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(
        v["checkpoints"]["byte_equal"].as_array().map(Vec::len),
        Some(6),
        "{v}"
    );
    assert_eq!(
        v["checkpoints"]["first_difference"],
        serde_json::Value::Null,
        "{v}"
    );
    // A copy of B whose note at size 1503 was altered (its root): the records agree,
    // the checkpoints do not; exit 1 naming the size.
    let e = Scratch::new();
    let cp = std::process::Command::new("cp")
        .args(["-a", &b.data_arg(), &e.data_arg()])
        .status()
        .expect("cp");
    assert!(cp.success());
    let note = e.data.join("checkpoints").join(format!("{:020}.txt", 1503));
    let text = std::fs::read_to_string(&note).expect("note");
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let first = lines[2].remove(0);
    lines[2].insert(0, if first == 'A' { 'B' } else { 'A' });
    std::fs::write(&note, lines.join("\n")).expect("write");
    let r = a.on_data("replica", &["status", "--peer", &e.data_arg()]);
    assert_eq!(r.code, Some(1), "{} {}", r.stdout, r.stderr);
    assert!(r.stdout.contains("identical"), "{}", r.stdout);
    assert!(
        r.stdout.contains(
            "checkpoints DIFFER at size 1503: the peer's note does not open with its key"
        ),
        "{}",
        r.stdout
    );
    // The same through a peer's server: D, a copy of B that other doors wrote to
    // (an append and a token: one record more; B signed a checkpoint 2 records before
    // its end, so the append takes no automatic one).
    let d = Scratch::new();
    let cp = std::process::Command::new("cp")
        .args(["-a", &b.data_arg(), &d.data_arg()])
        .status()
        .expect("cp");
    assert!(cp.success());
    let dd = d.data_arg();
    d.tt_stdin(
        &["append", "--data", &dd, "-"],
        common::custom_event("custom.extra", 1).as_bytes(),
    )
    .expect(0);
    let token = d
        .on_data(
            "token",
            &["create", "--role", "compliance", "--name", "peer"],
        )
        .expect(0)
        .stdout
        .trim()
        .to_string();
    let port = common::free_port();
    let mut server = common::start_server_with(&d, port, &[]);
    let url = format!("http://127.0.0.1:{port}");
    let r = a
        .on_data("replica", &["status", "--peer", &url, "--token", &token])
        .expect(0);
    assert!(
        r.stdout.contains("local is behind by 1 records"),
        "{}",
        r.stdout
    );
    // A server gives its latest checkpoint (3006, B's): byte-equal with A's.
    assert!(
        r.stdout
            .contains("checkpoints: byte-equal signed notes at every size both signed: 3006"),
        "{}",
        r.stdout
    );
    let r = a.on_data("replica", &["status", "--peer", &url]);
    assert_eq!(r.code, Some(2), "a URL peer needs a token: {}", r.stderr);
    // B behind A: A holds one more record (a checkpoint); A is still a prefix-superset.
    let ca = a.on_data("checkpoint", &[]).expect(0);
    let r = a
        .on_data("replica", &["status", "--peer", &b.data_arg()])
        .expect(0);
    assert!(
        r.stdout.contains("peer is behind by 1 records"),
        "{}",
        r.stdout
    );
    // A's checkpoint record and D's extra event hold the same seq: they differ there,
    // found by a binary search over the peer's roots.
    let r = a.on_data("replica", &["status", "--peer", &url, "--token", &token]);
    assert_eq!(r.code, Some(1), "{} {}", r.stdout, r.stderr);
    assert!(r.stdout.contains("DIFFER at seq 3008"), "{}", r.stdout);
    let _ = server.kill();
    let _ = server.wait();
    let cb = b.on_data("checkpoint", &[]).expect(0);
    // Equal sizes give equal roots (the signatures are each directory's own).
    let head = |n: &str| n.lines().take(3).collect::<Vec<_>>().join("\n");
    assert_eq!(head(&ca.stdout), head(&cb.stdout));

    // A copy of B with one record altered: named by its seq; verify fails on it.
    let c = Scratch::new();
    let cp = std::process::Command::new("cp")
        .args(["-a", &b.data_arg(), &c.data_arg()])
        .status()
        .expect("cp");
    assert!(cp.success());
    let seg = c
        .segments()
        .into_iter()
        .find(|p| {
            std::fs::read_to_string(p)
                .expect("read")
                .contains("\"seq\":2345,")
        })
        .expect("the segment holding seq 2345");
    let text = std::fs::read_to_string(&seg).expect("read");
    let at = text.find("\"seq\":2345,").expect("record 2345");
    let line_end = at + text[at..].find('\n').expect("line end");
    let digit = at + text[at..line_end].rfind("\"source\":\"p").expect("source") + 11;
    let mut bytes = text.into_bytes();
    bytes[digit] = if bytes[digit] == b'9' { b'8' } else { b'9' };
    std::fs::write(&seg, bytes).expect("write");
    // The read door refuses the copy as a writer would, naming the altered record (the
    // next one's prev no longer matches it), before anything is compared.
    let r = a
        .on_data("replica", &["status", "--peer", &c.data_arg()])
        .expect(1);
    assert!(r.stderr.contains("damaged at seq 2345"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    let (code, v) = c.verify_json();
    assert_eq!(code, Some(1), "verify on the tampered copy: {v}");
}
