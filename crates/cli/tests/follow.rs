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

/// `GET path` on the server, kept open: the status, and the stream's lines as they
/// come (decoded from the chunked body by a thread); `shutdown` disconnects.
fn open_stream(port: u16, path: &str, token: &str) -> (u16, Receiver<String>, std::net::TcpStream) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).expect("send");
    let mut r = std::io::BufReader::new(s.try_clone().expect("clone"));
    let mut status_line = String::new();
    r.read_line(&mut status_line).expect("status line");
    let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut chunked = false;
    loop {
        let mut h = String::new();
        r.read_line(&mut h).expect("header");
        if h.trim().is_empty() {
            break;
        }
        chunked |= h
            .to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked");
    }
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let mut pending = Vec::new();
        loop {
            let data = if chunked {
                let mut size = String::new();
                if r.read_line(&mut size).unwrap_or(0) == 0 {
                    break;
                }
                let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
                    break;
                };
                if n == 0 {
                    break;
                }
                let mut buf = vec![0; n + 2];
                if r.read_exact(&mut buf).is_err() {
                    break;
                }
                buf.truncate(n);
                buf
            } else {
                let mut buf = vec![0; 4096];
                match r.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf[..n].to_vec(),
                }
            };
            pending.extend_from_slice(&data);
            while let Some(i) = pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = pending.drain(..=i).collect();
                let text = String::from_utf8_lossy(&line[..i]).into_owned();
                if tx.send(text).is_err() {
                    return;
                }
            }
        }
    });
    (status, rx, s)
}

/// Collects lines from `rx` until there are `want.len()` (10 s at most), and checks them.
#[track_caller]
fn expect_lines(rx: &Receiver<String>, seen: &mut Vec<String>, want: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.len() < want.len() {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(l) => seen.push(l),
            Err(_) => break,
        }
    }
    assert_eq!(seen.as_slice(), want, "the stream's lines");
}

#[test]
fn events_stream_sends_each_new_match_once_and_scopes_a_trader() {
    let s = Scratch::new();
    s.init("follow-test");
    let token = |args: &[&str]| {
        let mut a = vec!["create"];
        a.extend_from_slice(args);
        s.on_data("token", &a).expect(0).stdout.trim().to_string()
    };
    let writer = token(&["--role", "writer", "--name", "gw"]);
    let compliance = token(&["--role", "compliance", "--name", "c"]);
    let trader = token(&["--role", "trader", "--trader", "T-2", "--name", "t2"]);
    let port = free_port();
    let mut server = start_server_with(&s, port, &[]);
    let post = |events: &[String]| {
        let body: String = events.iter().map(|e| e.clone() + "\n").collect();
        let answer = request(port, "POST", "/v1/events", &writer, &body);
        assert_eq!(answer.as_ref().map(|a| a.0), Some(200), "{answer:?}");
    };
    post(&[filled(1), custom_event("other", 1)]);

    let (status, all_rx, all_conn) =
        open_stream(port, "/v1/events/stream?type=order.filled", &compliance);
    assert_eq!(status, 200);
    let (status, t2_rx, t2_conn) = open_stream(port, "/v1/events/stream", &trader);
    assert_eq!(status, 200);
    let mut all_seen = Vec::new();
    let mut t2_seen = Vec::new();
    expect_lines(&all_rx, &mut all_seen, &filled_lines(&s));

    let t2 = filled(3).replace(r#""trader_id":"T-1""#, r#""trader_id":"T-2""#);
    post(&[custom_event("other", 2), filled(2), t2]);
    expect_lines(&all_rx, &mut all_seen, &filled_lines(&s));
    post(&[filled(4)]);
    let want = filled_lines(&s);
    assert_eq!(want.len(), 4);
    expect_lines(&all_rx, &mut all_seen, &want);
    // The trader's stream has its own record only.
    let own: Vec<String> = want
        .iter()
        .filter(|l| parse(l)["trader_id"] == "T-2")
        .cloned()
        .collect();
    assert_eq!(own.len(), 1);
    expect_lines(&t2_rx, &mut t2_seen, &own);

    // A cursor from the past resumes after it; a stream backwards is refused.
    let cursor = seq(&want[1]);
    let (status, rx, conn) = open_stream(
        port,
        &format!("/v1/events/stream?type=order.filled&after={cursor}"),
        &compliance,
    );
    assert_eq!(status, 200);
    expect_lines(&rx, &mut Vec::new(), &want[2..]);
    let (status, _, _) = open_stream(port, "/v1/events/stream?before=3", &compliance);
    assert_eq!(status, 400);
    let (status, _, _) = open_stream(port, "/v1/events/stream?trader=T-1", &trader);
    assert_eq!(status, 403);
    let (status, _, _) = open_stream(port, "/v1/events/stream", &writer);
    assert_eq!(status, 403);

    for c in [t2_conn, conn] {
        let _ = c.shutdown(std::net::Shutdown::Both);
    }
    // Stopping the server ends an open stream at once (not after the grace period).
    let start = Instant::now();
    let term = std::process::Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("run kill");
    assert!(term.success());
    assert_eq!(wait_exit(&mut server), Some(0));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(matches!(
        all_rx.recv_timeout(Duration::from_secs(5)),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected)
    ));
    drop(all_conn);
}
