//! End to end: a writing command against a journal whose lock another process holds
//! (as `serve` does) exits 3 at once and points to the HTTP API.

mod common;

use std::time::{Duration, Instant};

use common::{custom_event, Scratch};

#[test]
fn a_locked_journal_exits_3_at_once_and_points_to_the_server() {
    let s = Scratch::new();
    s.init("test/locked");
    // Hold the journal's lock as the server does.
    let lock = std::fs::File::open(s.journal_dir().join("LOCK")).unwrap();
    lock.try_lock().unwrap();

    let started = Instant::now();
    let input = custom_event("locked", 1) + "\n";
    let r = s
        .tt_stdin(&["append", "--data", &s.data_arg()], input.as_bytes())
        .expect(3);
    assert!(started.elapsed() < Duration::from_secs(10), "it waited");
    assert!(r.stderr.contains("is locked"), "{}", r.stderr);
    assert!(r.stderr.contains("POST /v1/events"), "{}", r.stderr);
    assert_eq!(r.stderr.matches("is locked").count(), 1, "{}", r.stderr);
    drop(lock);
    s.tt_stdin(&["append", "--data", &s.data_arg()], input.as_bytes())
        .expect(0);
}
