//! Every command block in README.md and docs/*.md runs as written.
//!
//! The convention (also in docs/cli.md, *Examples in these docs*):
//!
//! * A fenced block tagged ` ```sh ` (or ` ```bash `) is a shell script: every line runs (comments and
//!   blank lines are fine, a line ending in `\` continues on the next).
//! * A block tagged ` ```console `, or an untagged block holding a line that starts with
//!   `$ `, is a session: the `$ ` lines (and their `\` continuations) run, the other
//!   lines are the output shown, which is not compared.
//! * A command that is meant to fail ends with a comment `# exits N`; it must exit N.
//! * Every other block (` ```text ` for a synopsis with placeholders, ` ```json `, ...)
//!   is not run. An untagged block whose first line is a command without `$ ` is an
//!   error here: tag it ` ```sh ` (it runs) or ` ```text ` (it is a synopsis).
//! * A block that cannot run in a test (a long-running `serve`, `cargo build`, a
//!   benchmark of minutes, the network) is preceded by the line
//!   `<!-- docs-test: skip: REASON -->`; the test prints each one skipped and why.
//!
//! The blocks of one file run in order, in one `bash` process with `set -o pipefail` (so
//! a failing command in a pipeline fails) (so `export` and `cd` carry
//! over), in a fresh scratch directory that holds links to the checkout's `examples/`,
//! `testdata/` and `docs/` (the docs are written from the checkout's root), with the
//! freshly built `tradetrail` first on `PATH` and without `$TRADETRAIL_DATA`, as in a
//! new user's shell: a command without `--data` uses `./tradetrail-data`, which is in
//! the scratch directory (`demo` without `--data` writes `./tradetrail-demo`; with
//! `$TRADETRAIL_DATA` set, the two would agree here and differ for the reader). The first command that exits otherwise than expected stops its
//! file and fails the test with the file, the line, the command and its output.
//!
//! `TRADETRAIL_DOCS_FILE=docs/query.md cargo test -p tradetrail-cli --test docs` runs
//! one file's blocks only (while fixing it).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The longest one file's blocks may take together.
const FILE_TIMEOUT: Duration = Duration::from_secs(90);

const SKIP_MARKER: &str = "<!-- docs-test: skip:";

/// One command to run.
#[derive(Debug)]
struct Cmd {
    /// 1-based line of the command's first line in the file.
    line: usize,
    /// The command, continuation lines included.
    text: String,
    /// The exit code it must end with.
    expect: i32,
}

/// What one file holds.
#[derive(Debug, Default)]
struct Parsed {
    cmds: Vec<Cmd>,
    /// `(line of the fence, reason)` of every block skipped.
    skipped: Vec<(usize, String)>,
    /// Blocks that break the convention.
    errors: Vec<String>,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the checkout's root")
}

/// The exit code a `# exits N` comment asks for (0 without one).
fn expected_exit(text: &str) -> i32 {
    match text.rfind("# exits ") {
        Some(i) => {
            let digits: String = text[i + "# exits ".len()..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            digits.parse().unwrap_or(0)
        }
        None => 0,
    }
}

/// Whether a line starts like a command rather than like output or a diagram.
fn looks_like_command(line: &str) -> bool {
    let first = line.split_whitespace().next().unwrap_or("");
    ["tradetrail", "cargo", "curl", "export", "python3", "python"].contains(&first)
}

/// How far `line` opens (+) or closes (-) a compound command (`for`/`while`/`if` ...
/// `done`/`fi`, `{` ... `}`).
fn depth_change(line: &str) -> i32 {
    let t = line.trim();
    let first = t.split_whitespace().next().unwrap_or("");
    let opens = i32::from(["for", "while", "until", "if", "case"].contains(&first))
        + i32::from(t.ends_with('{'));
    let closes = i32::from(["done", "fi", "esac", "}"].contains(&first))
        + i32::from(t.ends_with("; done") || t.ends_with("; fi"));
    opens - closes
}

/// Joins the `\`-continued lines of `lines` starting at `i`, and the lines of a
/// compound command up to its end; returns the text and the index after the last line
/// used.
fn joined(lines: &[&str], mut i: usize, first: &str) -> (String, usize) {
    let mut text = first.to_string();
    let mut depth = depth_change(first);
    while (text.trim_end().ends_with('\\') || depth > 0) && i + 1 < lines.len() {
        i += 1;
        text.push('\n');
        text.push_str(lines[i]);
        depth += depth_change(lines[i]);
    }
    (text, i + 1)
}

fn parse_file(name: &str, content: &str) -> Parsed {
    let lines: Vec<&str> = content.lines().collect();
    let mut out = Parsed::default();
    let mut i = 0;
    while i < lines.len() {
        let Some(tag) = lines[i].trim_start().strip_prefix("```") else {
            i += 1;
            continue;
        };
        let tag = tag.trim().to_string();
        let fence = i + 1;
        let skip = (i > 0)
            .then(|| lines[i - 1].trim())
            .and_then(|l| l.strip_prefix(SKIP_MARKER))
            .map(|r| r.trim_end_matches("-->").trim().to_string());
        let start = i + 1;
        let mut end = start;
        while end < lines.len() && !lines[end].trim_start().starts_with("```") {
            end += 1;
        }
        let body = &lines[start..end];
        i = end + 1;
        let session =
            tag == "console" || (tag.is_empty() && body.iter().any(|l| l.starts_with("$ ")));
        let script = tag == "sh" || tag == "bash";
        if !session && !script {
            if tag.is_empty() {
                if let Some(l) = body.iter().find(|l| !l.trim().is_empty()) {
                    if looks_like_command(l) {
                        out.errors.push(format!(
                            "{name}:{fence}: an untagged block starting with a command ({l:?}): tag it ```sh (it runs) or ```text (a synopsis, not run)"
                        ));
                    }
                }
            }
            continue;
        }
        if let Some(reason) = skip {
            if reason.is_empty() {
                out.errors
                    .push(format!("{name}:{fence}: a skipped block must say why"));
            }
            out.skipped.push((fence, reason));
            continue;
        }
        let mut j = 0;
        while j < body.len() {
            let line = body[j];
            let cmd = if session {
                line.strip_prefix("$ ")
            } else {
                let t = line.trim();
                (!t.is_empty() && !t.starts_with('#')).then_some(line)
            };
            match cmd {
                Some(first) => {
                    let (text, next) = joined(body, j, first);
                    out.cmds.push(Cmd {
                        line: start + j + 1,
                        expect: expected_exit(&text),
                        text,
                    });
                    j = next;
                }
                None => j += 1,
            }
        }
    }
    out
}

/// The script that runs `cmds` in order and stops at the first unexpected exit,
/// saying which on stderr (`@@docs-test fail INDEX CODE`).
fn script_of(cmds: &[Cmd]) -> String {
    let mut s = String::from("set -o pipefail\n");
    for (n, c) in cmds.iter().enumerate() {
        s.push_str(&format!(
            "echo @@docs-test run {n}; echo @@docs-test run {n} >&2\n{}\n__rc=$?\n\
             if [ \"$__rc\" -ne {} ]; then echo \"@@docs-test fail {n} $__rc\" >&2; exit 0; fi\n",
            c.text, c.expect
        ));
    }
    s.push_str("echo @@docs-test done >&2\n");
    s
}

/// The part of `out` after the last `@@docs-test run N` marker for `n`.
fn output_of(out: &str, n: usize) -> String {
    let marker = format!("@@docs-test run {n}\n");
    let after = out.rfind(&marker).map_or(out, |i| &out[i + marker.len()..]);
    let text: String = after
        .lines()
        .filter(|l| !l.starts_with("@@docs-test"))
        .collect::<Vec<_>>()
        .join("\n");
    let chars: Vec<char> = text.chars().collect();
    let tail = chars.len().saturating_sub(3000);
    chars[tail..].iter().collect()
}

/// Runs one file's commands; `Err` says which failed and how.
fn run_file(name: &str, cmds: &[Cmd]) -> Result<(), String> {
    let root = repo_root();
    let tmp = tempfile::tempdir().expect("scratch directory");
    for link in ["examples", "testdata", "docs"] {
        std::os::unix::fs::symlink(root.join(link), tmp.path().join(link))
            .expect("link into the checkout");
    }
    let bin = Path::new(env!("CARGO_BIN_EXE_tradetrail"));
    let path = format!(
        "{}:{}",
        bin.parent().expect("the binary's directory").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let script = tmp.path().join("docs-test.sh");
    std::fs::write(&script, script_of(cmds)).expect("write the script");
    let stdout = tmp.path().join("docs-test.stdout");
    let stderr = tmp.path().join("docs-test.stderr");
    let mut child = Command::new("bash")
        .arg(&script)
        .current_dir(tmp.path())
        .env("PATH", path)
        .env_remove("TRADETRAIL_DATA")
        .env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).expect("stdout file"))
        .stderr(std::fs::File::create(&stderr).expect("stderr file"))
        .spawn()
        .expect("spawn bash");
    let t0 = Instant::now();
    let timed_out = loop {
        if child.try_wait().expect("wait for sh").is_some() {
            break false;
        }
        if t0.elapsed() > FILE_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break true;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = std::fs::read_to_string(&stdout).unwrap_or_default();
    let err = std::fs::read_to_string(&stderr).unwrap_or_default();
    let last_run = err
        .lines()
        .rev()
        .filter_map(|l| l.strip_prefix("@@docs-test run "))
        .find_map(|n| n.trim().parse::<usize>().ok());
    let describe = |n: usize, what: String| {
        let c = &cmds[n];
        format!(
            "{name}:{}: {what}\n    $ {}\n--- stdout\n{}\n--- stderr\n{}",
            c.line,
            c.text,
            output_of(&out, n),
            output_of(&err, n)
        )
    };
    if timed_out {
        return Err(match last_run {
            Some(n) => describe(n, format!("still running after {FILE_TIMEOUT:?}")),
            None => format!("{name}: timed out before the first command"),
        });
    }
    if let Some(fail) = err
        .lines()
        .find_map(|l| l.strip_prefix("@@docs-test fail "))
    {
        let mut parts = fail.split_whitespace();
        let n: usize = parts.next().and_then(|p| p.parse().ok()).expect("index");
        let code = parts.next().unwrap_or("?");
        return Err(describe(
            n,
            format!("exited {code}, expected {}", cmds[n].expect),
        ));
    }
    if !err.lines().any(|l| l == "@@docs-test done") {
        return Err(format!(
            "{name}: the script stopped early (a command ended the shell?)\n--- stderr\n{err}"
        ));
    }
    Ok(())
}

/// The documentation files: README.md and docs/*.md.
fn doc_files() -> Vec<PathBuf> {
    let root = repo_root();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    files.insert(0, root.join("README.md"));
    files
}

#[test]
fn every_command_block_in_the_docs_runs_as_written() {
    let root = repo_root();
    let mut parsed = Vec::new();
    let mut errors = Vec::new();
    for path in doc_files() {
        let name = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .display()
            .to_string();
        if let Ok(only) = std::env::var("TRADETRAIL_DOCS_FILE") {
            if name != only {
                continue;
            }
        }
        let content = std::fs::read_to_string(&path).expect("read a doc");
        let p = parse_file(&name, &content);
        for (line, reason) in &p.skipped {
            eprintln!("skipped {name}:{line}: {reason}");
        }
        errors.extend(p.errors.iter().cloned());
        parsed.push((name, p.cmds));
    }
    let total: usize = parsed.iter().map(|(_, c)| c.len()).sum();
    if std::env::var_os("TRADETRAIL_DOCS_FILE").is_none() {
        assert!(
            total >= 50,
            "only {total} commands found: is the parser right?"
        );
    }
    // Two files at a time: the machine has few cores and each file runs a shell.
    let failures: Vec<String> = std::thread::scope(|scope| {
        let chunks: Vec<Vec<&(String, Vec<Cmd>)>> = {
            let mut a = Vec::new();
            let mut b = Vec::new();
            for (i, f) in parsed.iter().enumerate() {
                if i % 2 == 0 {
                    a.push(f)
                } else {
                    b.push(f)
                }
            }
            vec![a, b]
        };
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|files| {
                scope.spawn(move || {
                    files
                        .into_iter()
                        .filter(|(_, cmds)| !cmds.is_empty())
                        .filter_map(|(name, cmds)| {
                            let t0 = Instant::now();
                            let r = run_file(name, cmds);
                            eprintln!(
                                "ran {name}: {} command(s) in {:.1} s",
                                cmds.len(),
                                t0.elapsed().as_secs_f64()
                            );
                            r.err()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a runner thread"))
            .collect()
    });
    errors.extend(failures);
    assert!(
        errors.is_empty(),
        "{} doc problem(s):\n\n{}",
        errors.len(),
        errors.join("\n\n")
    );
}

// The parser itself, on a small document.

#[test]
fn the_parser_follows_the_convention() {
    let doc = "\
text
```sh
tradetrail init   # a comment
# a whole-line comment
tradetrail verify --checkpoint x \\
    --key y          # exits 1
```
```console
$ tradetrail status
ok: 3 records
$ tradetrail verify   # exits 1
FAILED
```
```
$ tradetrail stats
```
```
output only
```
```text
tradetrail query [--limit N]
```
<!-- docs-test: skip: runs until stopped -->
```sh
tradetrail serve
```
```sh
for f in a b; do
  tradetrail show $f
done
```
```
tradetrail hold list
```
";
    let p = parse_file("x.md", doc);
    let got: Vec<(usize, &str, i32)> = p
        .cmds
        .iter()
        .map(|c| (c.line, c.text.as_str(), c.expect))
        .collect();
    assert_eq!(
        got,
        vec![
            (3, "tradetrail init   # a comment", 0),
            (
                5,
                "tradetrail verify --checkpoint x \\\n    --key y          # exits 1",
                1
            ),
            (9, "tradetrail status", 0),
            (11, "tradetrail verify   # exits 1", 1),
            (15, "tradetrail stats", 0),
            (28, "for f in a b; do\n  tradetrail show $f\ndone", 0),
        ]
    );
    assert_eq!(p.skipped, vec![(24, "runs until stopped".to_string())]);
    assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
    assert!(
        p.errors[0].starts_with("x.md:32: an untagged block"),
        "{:?}",
        p.errors
    );
}
