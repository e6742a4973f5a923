//! End to end: `query --follow`, a live view. Runs the real binary: a follower on a
//! data directory while other processes append to it.

mod common;

use std::io::BufRead;
use std::process::{Child, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use common::*;

/// A valid `order.filled` event (trade `i`).
fn filled(i: u64) -> String {
    format!(
        r#"{{"type":"order.filled","ts_event":{},"source":"gw","actor":"system","trader_id":"T-1","account_id":"U1","instrument_id":"ESZ6","entity":{{"kind":"order","id":"O-{i}"}},"data":{{"fill_qty":"1","fill_price":"6000","trade_id":"X{i}"}}}}"#,
        1_795_000_000_000_000_000u64 + i
    )
}

/// Appends `events` with a separate `tradetrail append` process.
fn append(s: &Scratch, events: &[String]) {
    let d = s.data_arg();
    s.tt_stdin(
        &["append", "--data", &d],
        (events.join("\n") + "\n").as_bytes(),
    )
    .expect(0);
}

/// The journal's `order.filled` lines, in seq order.
fn filled_lines(s: &Scratch) -> Vec<String> {
    s.lines()
        .into_iter()
        .filter(|l| parse(l)["type"] == "order.filled")
        .collect()
}

/// A follower on the scratch data directory with `extra` arguments, and its stdout
/// lines as they come.
struct Follower {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Follower {
    fn start(s: &Scratch, extra: &[&str]) -> Follower {
        let mut c = command(s.path());
        c.args(["query", "--data", &s.data_arg(), "--follow"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = c.spawn().expect("spawn tradetrail query --follow");
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Follower {
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Waits (10 s at most) until `want` lines in all were printed, and checks them.
    #[track_caller]
    fn expect(&mut self, want: &[String]) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.seen.len() < want.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => self.seen.push(l),
                Err(_) => break,
            }
        }
        assert_eq!(self.seen, want, "the follower's lines");
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `seq` of a journal line.
fn seq(line: &str) -> u64 {
    parse(line)["seq"].as_u64().expect("seq")
}

#[test]
fn follow_prints_each_new_match_once_in_seq_order() {
    let s = Scratch::new();
    s.init("follow-test");
    // Already there before the follower starts.
    append(&s, &[filled(1), custom_event("other", 1), filled(2)]);
    let mut f = Follower::start(&s, &["--type", "order.filled", "--format", "jsonl"]);
    f.expect(&filled_lines(&s));
    assert_eq!(f.seen.len(), 2);

    // Two more rounds, matching and not, each by another process.
    append(
        &s,
        &[
            custom_event("other", 2),
            filled(3),
            custom_event("other", 3),
        ],
    );
    f.expect(&filled_lines(&s));
    append(
        &s,
        &[filled(4), filled(5), custom_event("other", 4), filled(6)],
    );
    let want = filled_lines(&s);
    assert_eq!(want.len(), 6);
    f.expect(&want);

    // A last match: anything printed twice, or not matching, would come before it.
    append(&s, &[custom_event("other", 5), filled(7)]);
    let want = filled_lines(&s);
    f.expect(&want);
    let seqs: Vec<u64> = f.seen.iter().map(|l| seq(l)).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "seq order: {seqs:?}");
    f.stop();
}

#[test]
fn follow_after_resumes_past_the_cursor_and_limit_shows_the_last_matches() {
    let s = Scratch::new();
    s.init("follow-test");
    append(
        &s,
        &[filled(1), custom_event("other", 1), filled(2), filled(3)],
    );
    let all = filled_lines(&s);
    let cursor = seq(&all[1]);

    let mut f = Follower::start(
        &s,
        &[
            "--type",
            "order.filled",
            "--format",
            "jsonl",
            "--after",
            &cursor.to_string(),
        ],
    );
    f.expect(&all[2..]);
    // --limit 1: only the last existing match, then the new ones.
    let mut g = Follower::start(
        &s,
        &[
            "--type",
            "order.filled",
            "--format",
            "jsonl",
            "--limit",
            "1",
        ],
    );
    g.expect(&all[2..]);

    append(&s, &[custom_event("other", 2), filled(4)]);
    let all = filled_lines(&s);
    f.expect(&all[2..]);
    g.expect(&all[2..]);
    assert!(f.seen.iter().all(|l| seq(l) > cursor));
    f.stop();
    g.stop();
}

#[test]
fn follow_ends_quietly_on_ctrl_c_and_on_a_closed_stdout() {
    let s = Scratch::new();
    s.init("follow-test");
    append(&s, &[filled(1)]);

    // Ctrl-C: exit 0, after what was printed.
    let mut f = Follower::start(&s, &["--type", "order.filled", "--format", "jsonl"]);
    f.expect(&filled_lines(&s));
    let killed = std::process::Command::new("kill")
        .args(["-INT", &f.child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success());
    assert_eq!(wait_exit(&mut f.child), Some(0));

    // A reader that goes away (`| head -1`): exit 0 even with nothing more to print.
    let mut c = command(s.path());
    c.args([
        "query",
        "--data",
        &s.data_arg(),
        "--follow",
        "--format",
        "jsonl",
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn");
    let out = child.stdout.take().expect("stdout");
    let mut first = String::new();
    std::io::BufReader::new(out)
        .read_line(&mut first)
        .expect("read a line");
    assert!(first.starts_with(r#"{"seq":0,"#), "{first}");
    // The reader (and so the pipe) is dropped here.
    assert_eq!(wait_exit(&mut child), Some(0));
}

/// The exit code of `child`, waiting 10 s at most (then it is killed and `None`).
fn wait_exit(child: &mut Child) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            return st.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn follow_runs_beside_a_server_that_holds_the_write_lock() {
    let s = Scratch::new();
    s.init("follow-test");
    let token = s
        .on_data("token", &["create", "--role", "writer", "--name", "gw"])
        .expect(0)
        .stdout
        .trim()
        .to_string();
    let port = free_port();
    let mut server = start_server_with(&s, port, &[]);
    let mut f = Follower::start(&s, &["--type", "order.filled", "--format", "jsonl"]);
    for round in 0..2u64 {
        let body: String = [
            filled(10 * round + 1),
            custom_event("other", round),
            filled(10 * round + 2),
        ]
        .iter()
        .map(|e| e.clone() + "\n")
        .collect();
        let answer = request(port, "POST", "/v1/events", &token, &body);
        assert_eq!(answer.as_ref().map(|a| a.0), Some(200), "{answer:?}");
        f.expect(&filled_lines(&s));
    }
    assert_eq!(f.seen.len(), 4);
    f.stop();
    let _ = server.kill();
    let _ = server.wait();
}
