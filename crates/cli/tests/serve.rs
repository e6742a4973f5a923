//! `tradetrail serve` as a real process: SIGTERM in the middle of a load finishes the
//! batches in flight, flushes and exits 0, and every event it acknowledged is in the
//! journal, which verifies.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{free_port, request, start_server_with, Scratch};

fn start_server(s: &Scratch, port: u16) -> Child {
    start_server_with(s, port, &[])
}

fn event(client: usize, n: usize) -> String {
    format!(
        r#"{{"type":"order.submitted","ts_event":"2026-11-21T14:30:00Z","source":"gw","actor":"trader:T-1","trader_id":"T-1","instrument_id":"AAPL.XNAS","entity":{{"kind":"order","id":"O-{client}-{n}"}},"data":{{"side":"buy","quantity":"10","order_type":"market"}}}}"#
    )
}

#[test]
fn sigterm_during_load_loses_no_acknowledged_event() {
    let s = Scratch::new();
    s.init("test.local/serve");
    let token = s
        .on_data("token", &["create", "--role", "writer", "--name", "gw"])
        .expect(0)
        .stdout
        .trim()
        .to_string();
    let port = free_port();
    let mut server = start_server(&s, port);

    let acked: Arc<Mutex<Vec<(u64, String)>>> = Arc::default();
    let stopped = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..6)
        .map(|c| {
            let (acked, stopped, token) = (acked.clone(), stopped.clone(), token.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stopped.load(Ordering::Relaxed) {
                    let body: String = (0..20).map(|i| event(c, n + i) + "\n").collect();
                    n += 20;
                    match request(port, "POST", "/v1/events", &token, &body) {
                        Some((200, answer)) => {
                            let v: serde_json::Value = serde_json::from_str(&answer).unwrap();
                            let receipts = v["receipts"].as_array().unwrap();
                            assert_eq!(receipts.len(), 20);
                            let mut a = acked.lock().unwrap();
                            for r in receipts {
                                a.push((
                                    r["seq"].as_u64().unwrap(),
                                    r["hash"].as_str().unwrap().to_string(),
                                ));
                            }
                        }
                        // Refused or cut off while stopping: not acknowledged.
                        Some((503, _)) | None => {}
                        Some((status, answer)) => panic!("{status}: {answer}"),
                    }
                }
            })
        })
        .collect();

    // Let the load run, then SIGTERM while requests are in flight.
    let deadline = Instant::now() + Duration::from_secs(20);
    while acked.lock().unwrap().len() < 2_000 {
        assert!(Instant::now() < deadline, "the load did not get going");
        std::thread::sleep(Duration::from_millis(10));
    }
    let pid = server.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = server.wait().unwrap();
    stopped.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    assert_eq!(status.code(), Some(0), "a graceful stop exits 0");

    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 2_000);
    // Every acknowledged event is in the journal with the hash its receipt gave.
    let mut hashes = std::collections::HashMap::new();
    for seg in s.segments() {
        let bytes = std::fs::read(seg).unwrap();
        for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let v: serde_json::Value = serde_json::from_slice(line).unwrap();
            use sha2::Digest;
            let h = hex_of(&sha2::Sha256::digest(line));
            hashes.insert(v["seq"].as_u64().unwrap(), h);
        }
    }
    for (seq, hash) in &acked {
        assert_eq!(hashes.get(seq), Some(hash), "acknowledged seq {seq}");
    }
    s.on_data("verify", &[]).expect(0);
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn sigterm_with_a_stalled_connection_exits_within_the_grace_period() {
    let s = Scratch::new();
    s.init("test.local/serve");
    let port = free_port();
    // A long header timeout, so only the grace period can end the stalled connection.
    let mut server = start_server_with(
        &s,
        port,
        &["--header-timeout", "120", "--shutdown-grace", "1"],
    );
    let mut stalled = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stalled
        .write_all(b"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = start + Duration::from_secs(8);
    let status = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = server.kill();
            panic!("serve still running 8 s after SIGTERM with --shutdown-grace 1");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "a bounded stop still exits 0");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    drop(stalled);
    s.on_data("verify", &[]).expect(0);
}

/// Runs `serve` with `extra` until one request has been logged, stops it, and gives
/// its stderr.
fn logs_of(extra: &[&str]) -> String {
    let s = Scratch::new();
    s.init("test.example/logs");
    let port = free_port();
    let mut c = common::command(s.path());
    c.args([
        "serve",
        "--data",
        &s.data_arg(),
        "--listen",
        &format!("127.0.0.1:{port}"),
    ])
    .args(extra)
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::piped());
    let child = c.spawn().expect("spawn serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    while request(port, "GET", "/healthz", "", "").map(|r| r.0) != Some(200) {
        assert!(Instant::now() < deadline, "the server did not come up");
        std::thread::sleep(Duration::from_millis(20));
    }
    request(port, "GET", "/v1/events", "tt_wrong", "").expect("answer");
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    let out = child.wait_with_output().expect("wait");
    String::from_utf8(out.stderr).expect("UTF-8 logs")
}

#[test]
fn logs_are_plain_text_off_a_terminal_or_json_lines() {
    let text = logs_of(&[]);
    assert!(text.contains("listening"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "no ANSI colours into a file: {text:?}"
    );

    let json = logs_of(&["--log-format", "json"]);
    let lines: Vec<serde_json::Value> = json
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert!(lines.len() >= 2, "{json}");
    assert!(lines
        .iter()
        .all(|l| l["level"].is_string() && l["timestamp"].is_string()));
    assert!(
        lines.iter().any(|l| l["fields"]["status"] == 401),
        "the refused request is logged with its status: {json}"
    );
    let bad = Scratch::new();
    let r = bad.tt(&["serve", "--log-format", "xml"]).expect(2);
    assert!(r.stderr.contains("text or json"), "{}", r.stderr);
}
