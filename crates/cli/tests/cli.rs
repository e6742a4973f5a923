//! End to end: `init`, data directory resolution, help, and commands on a directory that
//! was never initialized. Runs the real binary.

mod common;

use common::*;

const ZERO: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[test]
fn init_creates_config_and_record_zero() {
    let s = Scratch::new();
    let r = s.init("test.example/desk-1");
    assert!(r.stdout.contains("test.example/desk-1"), "{}", r.stdout);

    assert!(s.data.join("tradetrail.toml").is_file());
    let seg = s.journal_dir().join("00000000000000000000.jsonl");
    assert!(seg.is_file(), "journal/00000000000000000000.jsonl exists");
    assert_eq!(s.segments(), vec![seg.clone()], "one segment file");
    let config = std::fs::read_to_string(s.data.join("tradetrail.toml")).unwrap();
    assert!(
        config.contains(r#"origin = "test.example/desk-1""#),
        "{config}"
    );

    let text = std::fs::read_to_string(&seg).unwrap();
    assert!(text.ends_with('\n'));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "only record 0: {text}");
    let line = lines[0];
    // seq, ts_recorded and prev are the first three keys, in this order.
    assert!(line.starts_with(r#"{"seq":0,"ts_recorded":"#), "{line}");
    assert!(
        line.contains(&format!(r#","prev":"{ZERO}","type":"journal.created","#)),
        "{line}"
    );
    let rec = parse(line);
    assert_eq!(rec["seq"], 0);
    assert_eq!(rec["prev"], ZERO);
    assert_eq!(rec["type"], "journal.created");
    assert_eq!(rec["data"]["origin"], "test.example/desk-1");
    assert!(rec["data"]["format_version"].is_u64(), "{line}");
    assert!(rec["ts_recorded"].as_u64().unwrap() > 1_600_000_000_000_000_000);

    let st = s.status();
    assert_eq!(st["records"], 1);
    assert_eq!(st["origin"], "test.example/desk-1");
    // The hash init printed is the head hash.
    let head = st["head_hash"].as_str().unwrap();
    assert!(
        r.stdout.contains(head),
        "init prints record 0's hash\n{}",
        r.stdout
    );
    s.on_data("verify", &[]).expect(0);
}

#[test]
fn second_init_exits_2_and_changes_nothing() {
    let s = Scratch::new();
    s.init("test/first");
    let config = std::fs::read(s.data.join("tradetrail.toml")).unwrap();
    let journal = s.journal_snapshot();

    let r = s.on_data("init", &["--origin", "test/second"]).expect(2);
    assert!(r.stderr.contains("already"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    let r = s.on_data("init", &[]).expect(2);
    assert!(r.stderr.contains("already"), "{}", r.stderr);

    assert_eq!(
        std::fs::read(s.data.join("tradetrail.toml")).unwrap(),
        config
    );
    assert_eq!(s.journal_snapshot(), journal);
    assert_eq!(s.status()["origin"], "test/first");
}

#[test]
fn init_into_an_existing_empty_directory_works() {
    let s = Scratch::new();
    std::fs::create_dir_all(&s.data).unwrap();
    s.init("test/empty-dir");
    assert_eq!(s.status()["records"], 1);
}

#[test]
fn init_without_origin_makes_a_unique_one() {
    let a = Scratch::new();
    let b = Scratch::new();
    a.on_data("init", &[]).expect(0);
    b.on_data("init", &[]).expect(0);
    let oa = a.status()["origin"].as_str().unwrap().to_owned();
    let ob = b.status()["origin"].as_str().unwrap().to_owned();
    assert!(!oa.is_empty() && !oa.contains('\n'));
    assert_ne!(oa, ob, "two journals get two origins");
}

#[test]
fn init_with_bad_settings_exits_2_and_writes_nothing() {
    for args in [
        vec!["--origin", ""],
        vec!["--origin", "two\nlines"],
        vec!["--origin", "test/x", "--segment-max-bytes", "100"],
    ] {
        let s = Scratch::new();
        let r = s.on_data("init", &args).expect(2);
        assert!(r.stderr.contains("error"), "{args:?}: {}", r.stderr);
        assert!(
            !s.data.join("tradetrail.toml").exists() && !s.journal_dir().exists(),
            "{args:?}: nothing written"
        );
    }
    // A bad number is a usage error too.
    let s = Scratch::new();
    s.on_data("init", &["--segment-max-bytes", "lots"])
        .expect(2);
    assert!(!s.data.exists());
}

#[test]
fn data_dir_comes_from_flag_then_env_then_default() {
    let s = Scratch::new();
    // No --data, no $TRADETRAIL_DATA: ./tradetrail-data in the working directory.
    s.tt(&["init", "--origin", "test/default"]).expect(0);
    assert!(s.path().join("tradetrail-data/tradetrail.toml").is_file());
    assert!(s
        .path()
        .join("tradetrail-data/journal/00000000000000000000.jsonl")
        .is_file());

    // $TRADETRAIL_DATA.
    let env_dir = s.path().join("from-env");
    let mut c = command(s.path());
    c.env("TRADETRAIL_DATA", &env_dir)
        .args(["init", "--origin", "test/env"]);
    run_cmd(c, None).expect(0);
    assert!(env_dir.join("tradetrail.toml").is_file());
    let mut c = command(s.path());
    c.env("TRADETRAIL_DATA", &env_dir)
        .args(["status", "--json"]);
    let st = parse(run_cmd(c, None).expect(0).stdout.trim());
    assert_eq!(st["origin"], "test/env");

    // --data wins over $TRADETRAIL_DATA.
    let mut c = command(s.path());
    c.env("TRADETRAIL_DATA", &env_dir)
        .args(["status", "--json", "--data", "tradetrail-data"]);
    let st = parse(run_cmd(c, None).expect(0).stdout.trim());
    assert_eq!(st["origin"], "test/default");
}

#[test]
fn commands_on_an_uninitialized_dir_exit_2_and_say_run_init() {
    let s = Scratch::new();
    let input = s.file("one.jsonl", &(custom_event("a", 1) + "\n"));
    // Missing entirely, and existing but empty.
    for empty in [false, true] {
        if empty {
            std::fs::create_dir_all(&s.data).unwrap();
        }
        for (sub, rest) in [
            ("status", vec![]),
            ("status", vec!["--json"]),
            ("append", vec![input.as_str()]),
        ] {
            let r = s.on_data(sub, &rest).expect(2);
            assert!(r.stderr.contains("tradetrail init"), "{sub}: {}", r.stderr);
            assert!(r.stdout.is_empty(), "{sub}: {}", r.stdout);
        }
        assert_eq!(s.data.exists(), empty, "nothing is created");
        assert!(!s.data.join("journal").exists());
    }
}

#[test]
fn verify_on_an_uninitialized_dir_names_init_and_creates_nothing() {
    let s = Scratch::new();
    for json in [false, true] {
        let args: &[&str] = if json { &["--json"] } else { &[] };
        let r = s.on_data("verify", args);
        assert!(matches!(r.code, Some(2 | 3)), "{r:?}");
        assert!(r.stderr.contains("tradetrail init"), "{}", r.stderr);
        assert!(r.stdout.is_empty(), "{}", r.stdout);
    }
    assert!(!s.data.exists(), "verify creates nothing");
}

#[test]
fn verify_on_an_uninitialized_dir_exits_2_like_the_other_commands() {
    let s = Scratch::new();
    s.on_data("verify", &[]).expect(2);
    s.on_data("verify", &["--json"]).expect(2);
    std::fs::create_dir_all(&s.data).unwrap();
    s.on_data("verify", &[]).expect(2);
}

#[test]
fn a_broken_config_exits_2_naming_the_setting() {
    let s = Scratch::new();
    s.init("test/config");
    let path = s.data.join("tradetrail.toml");
    let good = std::fs::read_to_string(&path).unwrap();
    assert!(good.contains("default = \"os\""), "{good}");
    std::fs::write(
        &path,
        good.replace("default = \"os\"", "default = \"sometimes\""),
    )
    .unwrap();
    let r = s.on_data("status", &[]).expect(2);
    assert!(r.stderr.contains("sometimes"), "{}", r.stderr);
    std::fs::write(&path, format!("{good}\nsurprise = 1\n")).unwrap();
    let r = s.on_data("status", &[]).expect(2);
    assert!(r.stderr.contains("surprise"), "{}", r.stderr);
}

#[test]
fn help_lists_every_subcommand_and_option() {
    let s = Scratch::new();
    let r = s.tt(&["--help"]).expect(0);
    for word in [
        "init", "append", "verify", "status", "demo", "bench", "--data",
    ] {
        assert!(
            r.stdout.contains(word),
            "--help mentions {word}\n{}",
            r.stdout
        );
    }
    let r = s.tt(&["append", "--help"]).expect(0);
    for word in ["FILE", "stdin", "--durability", "--dry-run", "--data"] {
        assert!(
            r.stdout.contains(word),
            "append --help mentions {word}\n{}",
            r.stdout
        );
    }
    let r = s.tt(&["init", "--help"]).expect(0);
    for word in ["--origin", "--segment-max-bytes"] {
        assert!(
            r.stdout.contains(word),
            "init --help mentions {word}\n{}",
            r.stdout
        );
    }
    let r = s.tt(&["verify", "--help"]).expect(0);
    assert!(r.stdout.contains("--json"), "{}", r.stdout);
    let r = s.tt(&["status", "--help"]).expect(0);
    assert!(r.stdout.contains("--json"), "{}", r.stdout);
    let r = s.tt(&["demo", "--help"]).expect(0);
    // The demo's own default directory, which is not the other commands'.
    for word in ["--events", "--seed", "./tradetrail-demo"] {
        assert!(
            r.stdout.contains(word),
            "demo --help mentions {word}\n{}",
            r.stdout
        );
    }
    let r = s.tt(&["--version"]).expect(0);
    assert!(r.stdout.starts_with("tradetrail "), "{}", r.stdout);
}

#[test]
fn bad_usage_exits_2() {
    let s = Scratch::new();
    s.tt(&[]).expect(2);
    let r = s.tt(&["frobnicate"]).expect(2);
    assert!(r.stderr.contains("frobnicate"), "{}", r.stderr);
    s.tt(&["status", "--no-such-flag"]).expect(2);
    s.tt(&["demo", "--events", "many"]).expect(2);
    assert!(
        std::fs::read_dir(s.path()).unwrap().next().is_none(),
        "bad usage creates nothing in the working directory"
    );
}

/// stdout closed by the reader (`tradetrail status | head -0`): exit.rs says a closed
/// pipe is not a failure, yet `println!` panics (exit 101).
#[test]
fn a_closed_stdout_is_not_a_panic() {
    let s = Scratch::new();
    s.init("test/pipe");
    for sub in ["status", "verify"] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let mut c = command(s.path());
        c.args([sub, "--data", &s.data_arg()]).stdout(writer);
        let out = c.stderr(std::process::Stdio::piped()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{sub}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{sub}: {stderr}");
    }
}

#[test]
fn completions_and_man_pages_come_from_the_commands() {
    let s = Scratch::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let r = s.tt(&["completions", shell]).expect(0);
        assert!(
            r.stdout.contains("verify-proof"),
            "{shell}: {}",
            &r.stdout[..200.min(r.stdout.len())]
        );
    }
    let r = s.tt(&["completions", "tcsh"]).expect(2);
    assert!(r.stderr.contains("tcsh"), "{}", r.stderr);

    let dir = s.path().join("man1");
    let r = s.tt(&["man", "--dir", &dir.to_string_lossy()]).expect(0);
    assert!(r.stderr.starts_with("wrote "), "{}", r.stderr);
    let query = std::fs::read_to_string(dir.join("tradetrail-query.1")).unwrap();
    assert!(query.contains("after") && query.contains(".TH"), "{query}");
    assert!(dir.join("tradetrail.1").exists());
    assert!(dir.join("tradetrail-pg-sync.1").exists());
}

#[test]
fn append_quiet_prints_one_summary() {
    let s = Scratch::new();
    s.init("test.example/quiet");
    let d = s.data_arg();
    let events: String = (0..5)
        .map(|i| {
            custom_event("q", i).replace(
                r#""actor":"system","#,
                &format!(r#""actor":"system","event_id":"{}","#, uuid(i)),
            ) + "\n"
        })
        .collect();
    let r = s
        .tt_stdin(&["append", "--data", &d, "--quiet"], events.as_bytes())
        .expect(0);
    let v = parse(r.stdout.trim());
    assert_eq!(r.stdout.lines().count(), 1, "{}", r.stdout);
    assert_eq!(v["appended"], 5);
    assert_eq!(v["duplicates"], 0);
    assert_eq!(
        (v["first_seq"].as_u64(), v["last_seq"].as_u64()),
        (Some(1), Some(5))
    );
    let lines = s.lines();
    let last = tradetrail_journal::RecordHash::of_line(lines[5].as_bytes()).to_hex();
    assert_eq!(v["last_hash"], last.as_str());
    // Again: every event already recorded (they carry event_ids).
    let r = s
        .tt_stdin(&["append", "--data", &d, "--quiet"], events.as_bytes())
        .expect(0);
    let v = parse(r.stdout.trim());
    assert_eq!(
        (v["appended"].as_u64(), v["duplicates"].as_u64()),
        (Some(0), Some(5))
    );
    assert_eq!(s.lines().len(), 6);
}

#[test]
fn tables_name_the_trader_and_instrument_and_say_nothing_when_empty() {
    let s = Scratch::new();
    s.on_data("demo", &["--events", "2000"]).expect(0);
    let r = s
        .on_data("query", &["--type", "order.filled", "--limit", "1"])
        .expect(0);
    let rows: Vec<&str> = r.stdout.lines().collect();
    assert!(
        rows[0].contains("trader") && rows[0].contains("instrument"),
        "{}",
        rows[0]
    );
    let rec = &s.records()[rows[1]
        .split_whitespace()
        .next()
        .unwrap()
        .parse::<usize>()
        .unwrap()];
    assert!(
        rows[1].contains(rec["trader_id"].as_str().unwrap()),
        "{}",
        rows[1]
    );
    assert!(
        rows[1].contains(rec["instrument_id"].as_str().unwrap()),
        "{}",
        rows[1]
    );

    // No match: nothing on stdout, the reason on stderr; CSV keeps its header.
    let r = s.on_data("query", &["--type", "order.nothing"]).expect(0);
    assert_eq!(r.stdout, "");
    assert!(r.stderr.contains("no records match"), "{}", r.stderr);
    let r = s
        .on_data("query", &["--type", "order.nothing", "--format", "csv"])
        .expect(0);
    assert_eq!(r.stdout.lines().count(), 1);
    assert!(r.stdout.starts_with("seq,"), "{}", r.stdout);

    let r = s.on_data("positions", &["--account", "NOPE"]).expect(0);
    assert!(
        r.stderr.contains("no position or fill of account NOPE") && r.stderr.contains("U"),
        "{}",
        r.stderr
    );
}
