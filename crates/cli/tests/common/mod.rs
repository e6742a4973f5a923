//! Helpers shared by the end-to-end tests: run the real `tradetrail` binary, read the
//! journal's segment files, parse receipts and `status --json`.
//!
//! Every test works in its own temporary directory and runs the binary with that as its
//! working directory and without `$TRADETRAIL_DATA`, so nothing leaks between tests.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use tempfile::TempDir;

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    /// The exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts the exit code, showing the output when it differs.
    #[track_caller]
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit {code}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

/// A `tradetrail` command whose working directory is `cwd`, without `$TRADETRAIL_DATA`.
pub fn command(cwd: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tradetrail"));
    c.current_dir(cwd)
        .env_remove("TRADETRAIL_DATA")
        .env_remove("RUST_BACKTRACE")
        .env("NO_COLOR", "1");
    c
}

/// Runs `c` with `stdin` (empty if `None`) and collects its output.
pub fn run_cmd(mut c: Command, stdin: Option<&[u8]>) -> Run {
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn tradetrail");
    {
        let mut si = child.stdin.take().expect("stdin");
        if let Some(bytes) = stdin {
            // A command may exit without reading its input (a locked journal): then
            // the pipe is closed, which is no failure of the test.
            match si.write_all(bytes) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                r => r.expect("write stdin"),
            }
        }
    }
    let out = child.wait_with_output().expect("wait tradetrail");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

/// A scratch directory for one test; `data` is `<tmp>/data` (not created).
pub struct Scratch {
    pub tmp: TempDir,
    pub data: PathBuf,
}

impl Scratch {
    pub fn new() -> Scratch {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        Scratch { tmp, data }
    }

    /// The scratch directory itself (the binary's working directory).
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// `data` as a string for `--data`.
    pub fn data_arg(&self) -> String {
        self.data.display().to_string()
    }

    /// Runs `tradetrail <args>` in the scratch directory (no stdin).
    pub fn tt(&self, args: &[&str]) -> Run {
        let mut c = command(self.path());
        c.args(args);
        run_cmd(c, None)
    }

    /// Runs `tradetrail <args>` in the scratch directory with `stdin`.
    pub fn tt_stdin(&self, args: &[&str], stdin: &[u8]) -> Run {
        let mut c = command(self.path());
        c.args(args);
        run_cmd(c, Some(stdin))
    }

    /// Runs `tradetrail <sub> --data <data> <rest>`.
    pub fn on_data(&self, sub: &str, rest: &[&str]) -> Run {
        let d = self.data_arg();
        let mut args = vec![sub, "--data", d.as_str()];
        args.extend_from_slice(rest);
        self.tt(&args)
    }

    /// `init --data <data> --origin <origin>`, asserting success.
    pub fn init(&self, origin: &str) -> Run {
        self.on_data("init", &["--origin", origin]).expect(0)
    }

    /// Writes `text` to `<scratch>/<name>` and returns its path as a string.
    pub fn file(&self, name: &str, text: &str) -> String {
        let p = self.path().join(name);
        std::fs::write(&p, text).expect("write input file");
        p.display().to_string()
    }

    /// `<data>/journal`.
    pub fn journal_dir(&self) -> PathBuf {
        self.data.join("journal")
    }

    /// The segment files, in order.
    pub fn segments(&self) -> Vec<PathBuf> {
        segments_of(&self.data)
    }

    /// The first (or only) segment file.
    pub fn first_segment(&self) -> PathBuf {
        self.segments().into_iter().next().expect("a segment file")
    }

    /// Every file under `journal/` with its bytes.
    pub fn journal_snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        snapshot(&self.journal_dir())
    }

    /// Every record line (without `\n`), across segments, in order.
    pub fn lines(&self) -> Vec<String> {
        lines_of(&self.data)
    }

    /// Every record, parsed.
    pub fn records(&self) -> Vec<Value> {
        self.lines().iter().map(|l| parse(l)).collect()
    }

    /// `status --json`, asserting exit 0.
    pub fn status(&self) -> Value {
        let r = self.on_data("status", &["--json"]).expect(0);
        let lines: Vec<&str> = r.stdout.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "status --json prints one line: {}",
            r.stdout
        );
        parse(lines[0])
    }

    /// `verify --json`, returning the exit code and the object.
    pub fn verify_json(&self) -> (Option<i32>, Value) {
        let r = self.on_data("verify", &["--json"]);
        let lines: Vec<&str> = r.stdout.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "verify --json prints one line\n--- stdout\n{}\n--- stderr\n{}",
            r.stdout,
            r.stderr
        );
        (r.code, parse(lines[0]))
    }
}

/// The segment files of a data directory, in order (their names sort by first seq).
pub fn segments_of(data: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(data.join("journal"))
        .expect("read journal dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    v.sort();
    v
}

/// Every file under `dir` (not recursive) with its bytes.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| {
            let p = e.expect("dir entry").path();
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            let bytes = std::fs::read(&p).expect("read file");
            (name, bytes)
        })
        .collect()
}

/// How many complete record lines a data directory holds now, while another process
/// may be writing (a line being written is not counted; use [`lines_of`] once the
/// writer stopped).
pub fn complete_lines_in(data: &Path) -> usize {
    segments_of(data)
        .iter()
        .map(|seg| {
            std::fs::read(seg)
                .map(|b| b.iter().filter(|&&c| c == b'\n').count())
                .unwrap_or(0)
        })
        .sum()
}

/// Every record line of a data directory, across segments, in order.
pub fn lines_of(data: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for seg in segments_of(data) {
        let text = std::fs::read_to_string(&seg).expect("segment is UTF-8");
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "{} ends with a complete line",
            seg.display()
        );
        out.extend(text.lines().map(str::to_owned));
    }
    out
}

/// Parses one JSON value, with the text in the panic message.
#[track_caller]
pub fn parse(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

/// The receipts printed by `append`, one JSON object per stdout line.
pub fn receipts(stdout: &str) -> Vec<Value> {
    json_lines(stdout)
}

/// One JSON value per line of `stdout` (a `--json` run's output).
pub fn json_lines(stdout: &str) -> Vec<Value> {
    stdout.lines().map(parse).collect()
}

/// Whether `s` is 64 lowercase hex digits.
pub fn is_hash(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The part of a record line after its `prev` field: the producer's event as stored.
#[track_caller]
pub fn body_after_prev(line: &str) -> &str {
    let i = line
        .find(",\"prev\":\"")
        .unwrap_or_else(|| panic!("no prev in {line}"));
    let start = i + ",\"prev\":\"".len() + 64 + 1;
    assert_eq!(
        &line[start..start + 1],
        ",",
        "prev is 64 hex digits then a comma: {line}"
    );
    &line[start + 1..]
}

/// A valid `custom.*` event line (no `event_id`).
pub fn custom_event(ty: &str, i: u64) -> String {
    format!(
        r#"{{"type":"custom.{ty}","ts_event":{},"source":"test","actor":"system","data":{{"i":{i}}}}}"#,
        1_795_000_000_000_000_000u64 + i
    )
}

/// A deterministic UUID (version 4 layout) for event number `i`.
pub fn uuid(i: u64) -> String {
    format!("00000000-0000-4000-8000-{i:012x}")
}

/// One HTTP/1.1 request on a fresh connection; the status and body, or `None` when the
/// connection failed or was closed before a whole answer (the server stopping).
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    token: &str,
    body: &str,
) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .ok()?;
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut answer = Vec::new();
    std::io::Read::read_to_end(&mut s, &mut answer).ok()?;
    let text = String::from_utf8(answer).ok()?;
    let (head, rest) = text.split_once("\r\n\r\n")?;
    let status: u16 = head.split(' ').nth(1)?.parse().ok()?;
    // Bodies come whole (Content-Length) or chunked; a JSON body is found either way.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut r = rest;
        loop {
            let (size, tail) = r.split_once("\r\n")?;
            let n = usize::from_str_radix(size.trim(), 16).ok()?;
            if n == 0 {
                break;
            }
            out.push_str(tail.get(..n)?);
            r = tail.get(n + 2..)?;
        }
        out
    } else {
        rest.to_string()
    };
    Some((status, body))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `tradetrail serve` on `port` over the scratch data directory (policy
/// checkpoints off) and waits until `/healthz` answers.
pub fn start_server_with(s: &Scratch, port: u16, extra: &[&str]) -> std::process::Child {
    let mut c = command(s.path());
    c.args([
        "serve",
        "--data",
        &s.data_arg(),
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--checkpoint-interval",
        "0",
    ])
    .args(extra)
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null());
    let child = c.spawn().expect("spawn tradetrail serve");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while request(port, "GET", "/healthz", "", "").map(|r| r.0) != Some(200) {
        assert!(
            std::time::Instant::now() < deadline,
            "the server did not come up"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child
}
