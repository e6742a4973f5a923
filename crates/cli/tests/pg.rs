//! End to end: `tradetrail pg init | sync | status | verify` against a real, throwaway
//! PostgreSQL (skipped, loudly, only when the binaries are not installed). Runs the
//! real binary.

mod common;

use common::*;
use tradetrail_pg::testing::TempCluster;

fn events(from: u64, n: u64) -> Vec<u8> {
    let mut s = String::new();
    for i in from..from + n {
        s.push_str(&custom_event("pg", i));
        s.push('\n');
    }
    s.into_bytes()
}

#[test]
fn init_sync_status_verify_and_their_exit_codes() {
    let Some(pg) = TempCluster::start().unwrap() else {
        return;
    };
    let url = pg.url_form();
    let s = Scratch::new();
    s.init("test.example/pg");
    let d = s.data_arg();
    s.tt_stdin(&["append", "--data", &d], &events(0, 12))
        .expect(0);

    // Not set up yet: bad input, with the way out.
    let r = s.on_data("pg", &["sync", "--url", &url]).expect(2);
    assert!(r.stderr.contains("tradetrail pg init"), "{}", r.stderr);

    let r = s.tt(&["pg", "init", "--url", &url]).expect(0);
    assert!(
        r.stdout.contains("applied schema version 1"),
        "{}",
        r.stdout
    );
    let r = s.tt(&["pg", "init", "--url", &url]).expect(0);
    assert!(r.stdout.contains("up to date"), "{}", r.stdout);

    let r = s.on_data("pg", &["sync", "--url", &url]).expect(0);
    assert!(
        r.stdout
            .contains("copied 13 rows (seq 0..=12, binary COPY); last mirrored seq 12"),
        "{}",
        r.stdout
    );
    s.tt_stdin(&["append", "--data", &d], &events(12, 3))
        .expect(0);
    let r = s
        .on_data("pg", &["status", "--url", &url, "--json"])
        .expect(0);
    let st = parse(&r.stdout);
    assert_eq!(st["rows"], 13);
    assert_eq!(st["last_mirrored_seq"], 12);
    assert_eq!(st["journal_head_seq"], 15);
    assert_eq!(st["lag"], 3);
    // The oldest unmirrored record was recorded moments ago.
    let lag_s = st["lag_seconds"].as_f64().unwrap();
    assert!((0.0..600.0).contains(&lag_s) && lag_s > 0.0, "{lag_s}");
    // Lag is no difference.
    let r = s.on_data("pg", &["verify", "--url", &url]).expect(0);
    assert!(
        r.stdout.contains("3 journal records after seq 12"),
        "{}",
        r.stdout
    );
    let r = s
        .on_data("pg", &["sync", "--url", &url, "--method", "insert"])
        .expect(0);
    assert!(
        r.stdout.contains("copied 3 rows (seq 13..=15, INSERT)"),
        "{}",
        r.stdout
    );
    let r = s.on_data("pg", &["verify", "--url", &url]).expect(0);
    assert!(r.stdout.starts_with("OK: "), "{}", r.stdout);

    // An administrator edits behind the guards: exit 1, each row named.
    let mut c = tradetrail_pg::connect(&pg.url()).unwrap();
    c.batch_execute(
        "ALTER TABLE tradetrail.events DISABLE TRIGGER events_append_only;
         UPDATE tradetrail.events SET line = replace(line, '\"i\":4', '\"i\":40') WHERE seq = 5;
         DELETE FROM tradetrail.events WHERE seq = 9;
         ALTER TABLE tradetrail.events ENABLE ALWAYS TRIGGER events_append_only;",
    )
    .unwrap();
    let r = s.on_data("pg", &["verify", "--url", &url]).expect(1);
    assert!(
        r.stdout.contains("CHANGED seq 5: line differs"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("MISSING seq 9:"), "{}", r.stdout);
    assert!(r.stdout.contains("DIFFERS: "), "{}", r.stdout);
    let r = s
        .on_data("pg", &["verify", "--url", &url, "--json"])
        .expect(1);
    let v = parse(&r.stdout);
    assert_eq!(v["ok"], false);
    assert_eq!(v["changed"][0]["seq"], 5);
    assert_eq!(v["missing"][0]["first"], 9);

    // Unreachable: exit 3, the URL named without its password.
    let r = s
        .on_data(
            "pg",
            &[
                "status",
                "--url",
                "postgres://sync:hunter2@127.0.0.1:1/audit",
            ],
        )
        .expect(3);
    assert!(
        r.stderr
            .contains("connecting to PostgreSQL at postgres://sync:***@127.0.0.1:1/audit"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("hunter2"), "{}", r.stderr);
}

/// The number of rows in the mirror (`None` while it cannot be read).
fn mirrored(url: &str) -> Option<i64> {
    let mut c = tradetrail_pg::connect(url).ok()?;
    c.query_one("SELECT count(*) FROM tradetrail.events", &[])
        .ok()
        .map(|r| r.get(0))
}

fn health(port: u16) -> serde_json::Value {
    request(port, "GET", "/healthz", "", "")
        .map(|(_, b)| serde_json::from_str(&b).unwrap_or_default())
        .unwrap_or_default()
}

/// A sample's value in `/metrics` (the line that starts with `name `).
fn metric(port: u16, name: &str) -> Option<f64> {
    let (_, text) = request(port, "GET", "/metrics", "", "")?;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !cond() {
        assert!(
            std::time::Instant::now() < end,
            "gave up waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn wait_rows(url: &str, n: i64) {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while mirrored(url) != Some(n) {
        assert!(
            std::time::Instant::now() < end,
            "the mirror has {:?} rows, waited for {n}",
            mirrored(url)
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn serve_keeps_the_mirror_current_and_sync_follow_does_too() {
    let Some(pg) = TempCluster::start().unwrap() else {
        return;
    };
    let url = pg.url_form();
    let s = Scratch::new();
    s.init("test.example/pg-follow");
    s.tt(&["pg", "init", "--url", &url]).expect(0);
    let token = s
        .on_data("token", &["create", "--role", "writer", "--name", "gw"])
        .expect(0)
        .stdout
        .trim()
        .lines()
        .last()
        .unwrap()
        .to_string();
    let port = free_port();
    let mut server = start_server_with(&s, port, &["--pg-url", &url, "--pg-interval", "0.05"]);
    let body = String::from_utf8(events(0, 20)).unwrap();
    let (status, _) = request(port, "POST", "/v1/events", &token, &body).unwrap();
    assert_eq!(status, 200);
    wait_rows(&pg.url(), 21);
    wait_for(
        "a healthy, caught-up mirror in /healthz and /metrics",
        || {
            health(port)["components"]["pg_mirror"]["healthy"] == true
                && metric(port, "tradetrail_pg_mirror_lag_records") == Some(0.0)
        },
    );
    assert_eq!(
        metric(port, "tradetrail_pg_mirror_copied_total"),
        Some(21.0)
    );
    // Stopped while the database is down, appends still answer.
    pg.stop().unwrap();
    let body = String::from_utf8(events(20, 5)).unwrap();
    let (status, _) = request(port, "POST", "/v1/events", &token, &body).unwrap();
    assert_eq!(status, 200, "appends never wait for PostgreSQL");
    wait_for("the mirror reported down", || {
        let h = health(port);
        h["status"] == "ok" && h["degraded"] == serde_json::json!(["pg_mirror"])
    });
    assert_eq!(metric(port, "tradetrail_pg_mirror_lag_records"), Some(5.0));
    assert_eq!(
        metric(
            port,
            "tradetrail_component_healthy{component=\"pg_mirror\"}"
        ),
        Some(0.0)
    );
    pg.restart().unwrap();
    wait_rows(&pg.url(), 26);
    wait_for("the mirror healthy again", || {
        health(port)["degraded"] == serde_json::json!([])
    });
    server.kill().unwrap();
    server.wait().unwrap();
    s.on_data("pg", &["verify", "--url", &url]).expect(0);

    // `pg sync --follow` runs until it is stopped, printing what it copied.
    s.tt_stdin(&["append", "--data", &s.data_arg()], &events(25, 4))
        .expect(0);
    let mut c = command(s.path());
    c.args([
        "pg",
        "sync",
        "--follow",
        "--interval",
        "0.05",
        "--url",
        &url,
        "--data",
    ])
    .arg(s.data_arg())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let child = c.spawn().unwrap();
    wait_rows(&pg.url(), 30);
    let pid = child.id().to_string();
    std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "copied 4 rows (seq 26..=29)\n"
    );
    let r = s
        .on_data("pg", &["sync", "--url", &url, "--interval", "1"])
        .expect(2);
    assert!(r.stderr.contains("--follow"), "{}", r.stderr);
}

#[test]
fn serve_verifies_the_mirror_on_a_schedule_and_reports_tampering() {
    let Some(pg) = TempCluster::start().unwrap() else {
        return;
    };
    let url = pg.url_form();
    let s = Scratch::new();
    s.init("test.example/pg-verify");
    s.tt(&["pg", "init", "--url", &url]).expect(0);
    s.tt_stdin(&["append", "--data", &s.data_arg()], &events(0, 12))
        .expect(0);
    let port = free_port();
    let mut server = start_server_with(
        &s,
        port,
        &[
            "--pg-url",
            &url,
            "--pg-interval",
            "0.05",
            "--pg-verify-every",
            "1",
        ],
    );
    wait_rows(&pg.url(), 13);
    wait_for("a verify run that finds the mirror equal", || {
        metric(port, "tradetrail_pg_verify_ok") == Some(1.0)
            && metric(port, "tradetrail_pg_verify_extra_rows") == Some(0.0)
    });
    assert_eq!(health(port)["degraded"], serde_json::json!([]));

    // A superuser changes a row behind the guards' back.
    let mut c = tradetrail_pg::connect(&pg.url()).unwrap();
    c.batch_execute(
        "ALTER TABLE tradetrail.events DISABLE TRIGGER events_append_only;
         UPDATE tradetrail.events SET line = line || ' ' WHERE seq = 5;
         ALTER TABLE tradetrail.events ENABLE ALWAYS TRIGGER events_append_only;",
    )
    .unwrap();
    wait_for("a verify run that finds the change", || {
        metric(port, "tradetrail_pg_verify_ok") == Some(0.0)
    });
    assert_eq!(metric(port, "tradetrail_pg_verify_changed_rows"), Some(1.0));
    assert!(metric(port, "tradetrail_pg_verify_differing_runs_total").is_some_and(|n| n >= 1.0));
    let h = health(port);
    assert_eq!(h["status"], "ok");
    assert_eq!(h["degraded"], serde_json::json!(["pg_verify"]));
    let detail = h["components"]["pg_verify"]["detail"].as_str().unwrap();
    assert!(
        detail.contains("DIFFERS") && detail.contains("1 changed") && detail.contains("seq 5"),
        "{detail}"
    );
    server.kill().unwrap();
    server.wait().unwrap();
    // The command line names the same row.
    let r = s.on_data("pg", &["verify", "--url", &url]).expect(1);
    assert!(r.stdout.contains("CHANGED seq 5"), "{}", r.stdout);
}
