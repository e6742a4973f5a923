//! `archive`, `verify` over the archive, `hold`, `retention` and `sql` end to end.

mod common;

use common::*;

/// A data directory with small segments and `n` custom events appended.
fn with_events(n: u64) -> Scratch {
    let s = Scratch::new();
    s.on_data(
        "init",
        &[
            "--origin",
            "test.example/archive",
            "--segment-max-bytes",
            "4096",
        ],
    )
    .expect(0);
    let input: String = (0..n)
        .map(|i| {
            format!(
                r#"{{"type":"custom.note","ts_event":{},"source":"test","actor":"system","trader_id":"T-{}","entity":{{"kind":"order","id":"O-{i}"}},"data":{{"i":{i}}}}}"#,
                1_795_000_000_000_000_000u64 + i,
                i % 3
            ) + "\n"
        })
        .collect();
    let f = s.file("in.jsonl", &input);
    s.on_data("append", &[f.as_str()]).expect(0);
    s
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn parquet_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = walk(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    out.sort();
    out
}

#[test]
fn archive_then_verify_then_archive_again() {
    let s = with_events(300);
    let r = s.on_data("archive", &[]).expect(0);
    assert!(r.stdout.starts_with("archived "), "{}", r.stdout);
    assert!(r.stdout.contains("B/record"), "{}", r.stdout);
    let files = parquet_files(&s.data.join("archive"));
    assert!(!files.is_empty());
    let rel = files[0]
        .strip_prefix(s.data.join("archive"))
        .unwrap()
        .display()
        .to_string();
    assert!(
        rel.starts_with("year=") && rel.contains("/month=") && rel.contains("/day="),
        "{rel}"
    );
    assert!(files[0].parent().unwrap().join("_manifest.json").exists());
    let r = s.on_data("archive", &[]).expect(0);
    assert!(r.stdout.starts_with("nothing to archive"), "{}", r.stdout);
    let r = s.on_data("verify", &[]).expect(0);
    assert!(r.stdout.contains("archive: ok"), "{}", r.stdout);
    assert!(
        r.stdout.contains("byte-identical to the journal"),
        "{}",
        r.stdout
    );
    let (code, v) = s.verify_json();
    assert_eq!(code, Some(0));
    assert_eq!(v["archive"]["ok"], true);
    assert!(v["archive"]["records"].as_u64().unwrap() > 0);

    // A flipped byte in an archive file: verify exits 1 and says where.
    let mut bytes = std::fs::read(&files[0]).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0x20;
    std::fs::write(&files[0], &bytes).unwrap();
    let r = s.on_data("verify", &[]).expect(1);
    assert!(r.stdout.contains("archive: FAILED"), "{}", r.stdout);
    assert!(r.stdout.contains("SHA-256"), "{}", r.stdout);
}

#[test]
fn holds_are_records_and_bad_ones_write_nothing() {
    let s = with_events(20);
    let before = s.lines();
    let r = s.on_data("hold", &["add", "--reason", "x"]).expect(2);
    assert!(
        r.stderr.contains("at least one of --entity"),
        "{}",
        r.stderr
    );
    let r = s
        .on_data(
            "hold",
            &[
                "add",
                "--entity",
                "O-1",
                "--from",
                "yesterday",
                "--reason",
                "x",
            ],
        )
        .expect(2);
    assert!(r.stderr.contains("--from"), "{}", r.stderr);
    assert_eq!(s.lines(), before, "nothing written");
    let r = s
        .on_data(
            "hold",
            &[
                "add",
                "--entity",
                "O-123",
                "--reason",
                "SEC inquiry 2026-17",
                "--actor",
                "operator:alice",
            ],
        )
        .expect(0);
    assert!(r.stdout.starts_with("hold "), "{}", r.stdout);
    let id: u64 = r.stdout.split_whitespace().nth(1).unwrap().parse().unwrap();
    let rec = &s.records()[id as usize];
    assert_eq!(rec["type"], "review.legal_hold_added");
    assert_eq!(rec["data"]["scope"]["entity"], "O-123");
    assert_eq!(rec["actor"], "operator:alice");
    let r = s.on_data("hold", &["list"]).expect(0);
    assert!(
        r.stdout.contains("ACTIVE")
            && r.stdout.contains("entity O-123")
            && r.stdout.contains("SEC inquiry 2026-17"),
        "{}",
        r.stdout
    );
    let r = s.on_data("retention", &["status"]).expect(0);
    assert!(
        r.stdout.contains("legal holds:      1 active"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("nothing is ever purged"), "{}", r.stdout);
    s.on_data(
        "hold",
        &["release", "--id", &id.to_string(), "--reason", "closed"],
    )
    .expect(0);
    let r = s
        .on_data(
            "hold",
            &["release", "--id", &id.to_string(), "--reason", "again"],
        )
        .expect(2);
    assert!(r.stderr.contains("already released"), "{}", r.stderr);
    let r = s.on_data("hold", &["list", "--active"]).expect(0);
    assert_eq!(r.stdout.trim(), "no holds");
}

#[test]
fn retention_plan_and_apply_on_recent_data_remove_nothing_and_bad_rules_are_refused() {
    let s = with_events(200);
    s.on_data("archive", &[]).expect(0);
    let r = s.on_data("retention", &["plan"]).expect(0);
    assert!(r.stdout.contains("nothing to remove"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("within the hot window of 90d: its segment ends on")
            && r.stdout.contains("may leave journal/ after"),
        "{}",
        r.stdout
    );
    // As of ten years on: segments past the hot window would leave journal/, but with
    // no rule, nothing would ever be purged; what stays says why (the newest sealed
    // segment, not the hot window).
    let r = s
        .on_data("retention", &["plan", "--as-of", "2040-01-01"])
        .expect(0);
    assert!(r.stdout.contains("remove JSONL"), "{}", r.stdout);
    assert!(!r.stdout.contains("within the hot window"), "{}", r.stdout);
    assert!(r.stdout.contains("the newest sealed one"), "{}", r.stdout);
    assert!(!r.stdout.contains("purge 2"), "{}", r.stdout);
    let before = s.journal_snapshot();
    let r = s.on_data("retention", &["apply"]).expect(0);
    assert!(r.stdout.contains("nothing to remove"), "{}", r.stdout);
    assert_eq!(s.journal_snapshot(), before);
    let cfg = std::fs::read_to_string(s.data.join("tradetrail.toml")).unwrap();
    assert!(
        cfg.contains("[retention]") && cfg.contains("hot_window = \"90d\""),
        "{cfg}"
    );
    std::fs::write(
        s.data.join("tradetrail.toml"),
        cfg.replace(
            "[retention.keep]\n",
            "[retention.keep]\n\"order.*\" = \"six years\"\n",
        ),
    )
    .unwrap();
    let r = s.on_data("retention", &["plan"]).expect(2);
    assert!(
        r.stderr.contains("retention.keep.\"order.*\""),
        "{}",
        r.stderr
    );
}

#[test]
fn sql_over_archive_and_live_journal() {
    let s = with_events(200);
    s.on_data("archive", &[]).expect(0);
    let r = s.on_data(
        "sql",
        &["SELECT count(*) AS n FROM events", "--format", "csv"],
    );
    if cfg!(feature = "sql") {
        let r = r.expect(0);
        // Every record (200 events, journal.created, checkpoints), from the archive and
        // the active segment together, each once.
        let total = s.lines().len();
        assert!(total > 201);
        assert_eq!(r.stdout, format!("n\n{total}\n"));
        let r = s
            .on_data("sql", &["SELECT trader_id, count(*) AS n FROM events WHERE type = 'custom.note' GROUP BY 1 ORDER BY 1", "--format", "jsonl"])
            .expect(0);
        let rows: Vec<serde_json::Value> = r.stdout.lines().map(parse).collect();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0]["trader_id"], "T-0");
        assert_eq!(rows[0]["n"], 67);
        let r = s
            .on_data("sql", &["SELECT max(seq) AS top FROM events"])
            .expect(0);
        assert!(
            r.stdout.contains(&format!("| {} ", total - 1)),
            "{}",
            r.stdout
        );
        let r = s.on_data("sql", &["SELEC nonsense"]).expect(2);
        assert!(r.stderr.contains("sql:"), "{}", r.stderr);
    } else {
        let r = r.expect(2);
        assert!(r.stderr.contains("--features sql"), "{}", r.stderr);
    }
}

/// `sql` over a data directory goes through the read door like every other reader:
/// a record altered in the journal is refused, naming it, before any query runs.
#[cfg(feature = "sql")]
#[test]
fn sql_refuses_an_altered_journal() {
    let s = with_events(200);
    s.on_data("archive", &[]).expect(0);
    let seg = s.segments().pop().expect("a segment");
    let data = std::fs::read(&seg).unwrap();
    let text = String::from_utf8(data.clone()).unwrap();
    let line = text
        .lines()
        .nth(1)
        .expect("two records in the active segment");
    let at = text.find(line).unwrap() + line.rfind("\"i\":").expect("an event") + 4;
    let mut altered = data.clone();
    altered[at] = if altered[at] == b'7' { b'8' } else { b'7' };
    std::fs::write(&seg, &altered).unwrap();
    let r = s
        .on_data("sql", &["SELECT count(*) AS n FROM events"])
        .expect(1);
    assert!(r.stderr.contains("damaged at seq"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert_eq!(std::fs::read(&seg).unwrap(), altered, "nothing was changed");
}

/// After the oldest segments left `journal/` (what `retention apply` does past the
/// hot window; removed by hand here, since apply only uses the real clock), every
/// command that reads from seq 0 reads those records from the archive and answers as
/// before; with the archive gone they refuse, naming where the journal starts.
#[test]
fn commands_read_records_that_left_the_journal_from_the_archive() {
    let s = with_events(400);
    let cp = s.on_data("checkpoint", &[]).expect(0).stdout;
    let cp = s.file("cp.txt", &cp);
    s.on_data("archive", &[]).expect(0);
    let query = |s: &Scratch| s.on_data("query", &["--format", "jsonl"]).expect(0).stdout;
    let stats = |s: &Scratch| s.on_data("stats", &["--by", "trader"]).expect(0).stdout;
    let before = (
        query(&s),
        stats(&s),
        s.on_data("trail", &["O-7"]).expect(0).stdout,
    );
    assert_eq!(
        before.0.lines().count(),
        403,
        "the 400 events and the journal's own records"
    );
    let segs = s.segments();
    assert!(segs.len() > 6, "{segs:?}");
    for p in &segs[..segs.len() / 2] {
        std::fs::remove_file(p).unwrap();
    }
    // Rebuilt from the archive and the journal, the derived data answers the same.
    std::fs::remove_dir_all(s.data.join("index")).unwrap();
    let r = s.on_data("verify", &["--checkpoint", &cp]).expect(0);
    assert!(r.stdout.contains("checkpoint: ok"), "{}", r.stdout);
    let after = (
        query(&s),
        stats(&s),
        s.on_data("trail", &["O-7"]).expect(0).stdout,
    );
    assert_eq!(after, before);
    let r = s
        .on_data("prove", &["inclusion", "--seq", "3", "--json"])
        .expect(0);
    let proof: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(proof["seq"], 3);
    s.on_data("checkpoint", &[]).expect(0);
    // A backup of it restores, checked from seq 0 through the archive, to the same
    // records; a backup whose archive lost a file is refused.
    let bk = s.path().join("bk").display().to_string();
    let restored = s.path().join("restored").display().to_string();
    s.on_data("backup", &["--to", &bk]).expect(0);
    s.tt(&["restore", "--from", &bk, "--data", &restored])
        .expect(0);
    let r = s
        .tt(&["query", "--data", &restored, "--format", "jsonl"])
        .expect(0);
    assert_eq!(r.stdout, query(&s));
    let objects = parquet_files(&s.path().join("bk"));
    std::fs::remove_file(&objects[0]).unwrap();
    let again = s.path().join("restored2").display().to_string();
    let r = s.tt(&["restore", "--from", &bk, "--data", &again]);
    assert_ne!(r.code, Some(0), "{}", r.stderr);
    assert!(!std::path::Path::new(&again).exists());
    // Without the archive: a clear refusal, not an answer from half the journal.
    std::fs::rename(s.data.join("archive"), s.path().join("archive.away")).unwrap();
    std::fs::remove_dir_all(s.data.join("index")).unwrap();
    let r = s.on_data("query", &[]).expect(3);
    assert!(
        r.stderr.contains("older records are in the archive"),
        "{}",
        r.stderr
    );
    let r = s.on_data("prove", &["inclusion", "--seq", "3"]).expect(3);
    assert!(
        r.stderr.contains("older records are in the archive"),
        "{}",
        r.stderr
    );
}

/// The archive tests' fixture: records over several days with a clock the test sets,
/// so a retention purge can run (the CLI's `retention apply` uses the real clock).
#[path = "../../archive/tests/common/mod.rs"]
mod history;

#[test]
fn a_purged_journal_still_proves_verifies_its_old_checkpoint_backs_up_and_restores() {
    use history::*;
    let f = Fixture::new();
    f.write_day(0, 120, |i, ts| order(i, ts, "T-1"));
    f.write_day(1, 140, |i, ts| custom(i, ts, "T-2"));
    f.write_day(2, 120, |i, ts| order(1000 + i, ts, "T-3"));
    f.seal_until(400);
    tradetrail_archive::archive(
        &f.dir,
        &tradetrail_archive::ArchiveOptions::default(),
        &mut |_, _| {},
    )
    .unwrap();
    let s = Scratch::new();
    let data = f.dir.root().display().to_string();
    let tt = |sub: &str, rest: &[&str]| {
        let mut args = vec![sub, "--data", data.as_str()];
        args.extend_from_slice(rest);
        s.tt(&args)
    };
    let note = tt("checkpoint", &[]).expect(0).stdout;
    let old = s.file("old.txt", &note);
    let size: u64 = note.lines().nth(1).unwrap().parse().unwrap();
    let proof_at = |s: u64| {
        tt(
            "prove",
            &[
                "inclusion",
                "--seq",
                "3",
                "--size",
                &s.to_string(),
                "--json",
            ],
        )
        .expect(0)
        .stdout
    };
    let proof_before = proof_at(size);
    set_retention(&f.dir, "90d", &[("order.*", "6y"), ("custom.*", "30d")]);
    let done = tradetrail_archive::apply(&f.open(), "operator:test").unwrap();
    let day = &done.plan.purge[0];
    let (first, last) = (day.first_seq, day.last_seq);

    // The tree is rebuilt across the purge: same proof for a remaining record, a
    // clear refusal for a purged one, and the old checkpoint still verifies.
    std::fs::remove_dir_all(f.dir.index()).unwrap();
    let r = tt("verify", &["--checkpoint", &old]).expect(0);
    assert!(r.stdout.contains("checkpoint: ok"), "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!(
            "checkpoint: {} of them were purged",
            last - first + 1
        )),
        "{}",
        r.stdout
    );
    let again = proof_at(size);
    assert_eq!(again, proof_before);
    let r = tt("prove", &["inclusion", "--seq", &first.to_string()]).expect(2);
    assert!(r.stderr.contains("purged by retention"), "{}", r.stderr);
    let r = tt("prove", &["consistency", "--old", &(first + 1).to_string()]).expect(2);
    assert!(r.stderr.contains("falls inside records"), "{}", r.stderr);

    // Backup and restore, and the restored copy verifies against the old checkpoint.
    let bk = s.path().join("bk").display().to_string();
    let restored = s.path().join("restored").display().to_string();
    tt("backup", &["--to", &bk]).expect(0);
    let r = s
        .tt(&["restore", "--from", &bk, "--data", &restored])
        .expect(0);
    assert!(r.stdout.contains("purged: "), "{}", r.stdout);
    let r = s
        .tt(&["verify", "--data", &restored, "--checkpoint", &old])
        .expect(0);
    assert!(r.stdout.contains("checkpoint: ok"), "{}", r.stdout);

    // An altered subtree hash in a tombstone: verify fails.
    let idx =
        tradetrail_archive::ArchiveIndex::load(&tradetrail_archive::archive_dir(&f.dir)).unwrap();
    let part = idx
        .partitions
        .iter()
        .find(|p| !p.manifest.subtrees.is_empty())
        .unwrap();
    let mut m = part.manifest.clone();
    m.subtrees.values_mut().next().unwrap()[0].hash.0[5] ^= 4;
    m.save(&part.dir).unwrap();
    let r = tt("verify", &[]).expect(1);
    assert!(r.stdout.contains("archive: FAILED"), "{}", r.stdout);
}

/// `archive --to s3://...` and `verify --archive s3://...` against a local moto server.
#[test]
fn archive_to_object_storage_then_verify_it_there() {
    let moto = tradetrail_testkit::moto::Moto::start();
    moto.create_bucket("tt-lake");
    let s = with_events(300);
    let run = |args: &[&str]| {
        let mut c = command(s.path());
        c.args(args)
            .envs(moto.env())
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN");
        run_cmd(c, None)
    };
    let d = s.data_arg();
    let url = "s3://tt-lake/desk-1/";
    // A location that is not object storage is refused before anything is archived.
    let r = run(&["archive", "--data", &d, "--to", "/tmp/not-s3"]).expect(2);
    assert!(r.stderr.contains("s3://bucket/prefix"), "{}", r.stderr);
    assert!(!s.data.join("archive").exists());

    let r = run(&["archive", "--data", &d, "--to", url, "--json"]).expect(0);
    let v = parse(&r.stdout);
    let files = parquet_files(&s.data.join("archive"));
    assert!(v["records"].as_u64().unwrap() > 0);
    assert_eq!(v["upload"]["uploaded_files"], files.len() as u64);
    assert_eq!(v["upload"]["end_seq"], v["end_seq"]);
    let r = run(&["archive", "--data", &d, "--to", url]).expect(0);
    assert!(
        r.stdout.contains("s3://tt-lake/desk-1: up to date"),
        "{}",
        r.stdout
    );

    let r = run(&["verify", "--archive", url]).expect(0);
    assert!(
        r.stdout.starts_with(&format!(
            "archive s3://tt-lake/desk-1: ok, {} records in {} file(s)",
            v["end_seq"],
            files.len()
        )),
        "{}",
        r.stdout
    );
    let local = s.on_data("verify", &[]).expect(0);
    let root_line = |out: &str| {
        out.lines()
            .find(|l| l.starts_with("archive: Merkle root"))
            .map(str::to_string)
    };
    assert_eq!(root_line(&r.stdout), root_line(&local.stdout));

    // One byte of one object changed in the bucket: exit 1, naming the object.
    let rel = files[1]
        .strip_prefix(s.data.join("archive"))
        .unwrap()
        .display()
        .to_string();
    let bucket = tradetrail_archive::Bucket::open_with(url, &moto.env()).unwrap();
    let mut bytes = bucket.get(&rel).unwrap().unwrap().to_vec();
    let n = bytes.len();
    bytes[n / 3] ^= 0x20;
    bucket.put(&rel, bytes).unwrap();
    let r = run(&["verify", "--archive", url, "--json"]).expect(1);
    let j = parse(&r.stdout);
    assert_eq!(j["ok"], false);
    assert!(
        j["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("s3://tt-lake/desk-1/{rel}")),
        "{j}"
    );
    let r = run(&["verify", "--archive", "s3:///x"]).expect(2);
    assert!(r.stderr.contains("no bucket"), "{}", r.stderr);
}

#[test]
fn seal_lets_archive_take_everything_recorded_so_far() {
    let s = Scratch::new();
    s.init("test.example/seal");
    let input: String = (0..20).map(|i| custom_event("n", i) + "\n").collect();
    let f = s.file("in.jsonl", &input);
    s.on_data("append", &[f.as_str()]).expect(0);
    // One active segment: nothing to archive.
    let r = s.on_data("archive", &["--json"]).expect(0);
    assert_eq!(parse(&r.stdout)["records"], 0);

    let r = s
        .on_data(
            "seal",
            &["--actor", "operator:carol", "--reason", "month end"],
        )
        .expect(0);
    assert!(
        r.stdout.contains("records 0..=20 are in sealed segments"),
        "{}",
        r.stdout
    );
    assert_eq!(s.segments().len(), 2);
    let sealed = &s.records()[21];
    assert_eq!(sealed["type"], "journal.sealed");
    assert_eq!(sealed["actor"], "operator:carol");
    assert_eq!(sealed["data"]["reason"], "month end");
    let r = s.on_data("archive", &["--json"]).expect(0);
    let v = parse(&r.stdout);
    assert_eq!(
        (v["records"].as_u64(), v["end_seq"].as_u64()),
        (Some(21), Some(21))
    );

    // archive --seal does both; a sealed journal still verifies.
    let more: String = (20..25).map(|i| custom_event("n", i) + "\n").collect();
    let g = s.file("more.jsonl", &more);
    s.on_data("append", &[g.as_str()]).expect(0);
    let r = s.on_data("archive", &["--seal", "--json"]).expect(0);
    let recs = s.records();
    let last_seal = recs
        .iter()
        .rposition(|r| r["type"] == "journal.sealed")
        .unwrap();
    assert!(last_seal > 21, "archive --seal sealed again");
    // Everything before the new seal is archived.
    assert_eq!(parse(&r.stdout)["end_seq"], last_seal, "{}", r.stdout);
    s.on_data("verify", &[]).expect(0);

    let r = s
        .on_data("seal", &["--actor", "carol", "--reason", "x"])
        .expect(2);
    assert!(r.stderr.contains("actor"), "{}", r.stderr);
    let r = s
        .on_data("seal", &["--actor", "operator:carol", "--reason", " "])
        .expect(2);
    assert!(
        r.stderr.contains("reason: must be non-empty"),
        "{}",
        r.stderr
    );
    assert_eq!(s.records().len(), recs.len(), "refused seals write nothing");
}

/// `[archive] remote`: `archive` uploads there; once the local Parquet files and the
/// oldest segments are gone, `trail`, `query` and `prove inclusion` read those records
/// from the bucket and answer as before; an object changed in the bucket is refused,
/// naming it.
#[test]
fn trail_query_and_proofs_read_archived_records_from_object_storage() {
    let moto = tradetrail_testkit::moto::Moto::start();
    moto.create_bucket("tt-cold");
    let s = with_events(400);
    let run = |args: &[&str]| {
        let mut c = command(s.path());
        c.args(args)
            .arg("--data")
            .arg(s.data_arg())
            .envs(moto.env())
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN");
        run_cmd(c, None)
    };
    let config = s.data.join("tradetrail.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("{text}\n[archive]\nremote = \"s3://tt-cold/desk-1/\"\n"),
    )
    .unwrap();
    let r = run(&["archive", "--json"]).expect(0);
    let v = parse(&r.stdout);
    let files = parquet_files(&s.data.join("archive"));
    assert_eq!(v["upload"]["uploaded_files"], files.len() as u64, "{v}");
    assert_eq!(v["upload"]["zone"], "UTC", "{v}");
    let query = || run(&["query", "--format", "jsonl"]).expect(0).stdout;
    let trail = || run(&["trail", "O-7"]).expect(0).stdout;
    let proof = || {
        let r = run(&["prove", "inclusion", "--seq", "3", "--json"]).expect(0);
        let p: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        (p["seq"].clone(), p["root"].clone(), p["leaf_hash"].clone())
    };
    let before = (query(), trail(), proof());
    assert_eq!(before.0.lines().count(), 402);
    assert!(before.1.contains("O-7"), "{}", before.1);

    let segs = s.segments();
    assert!(segs.len() > 6, "{segs:?}");
    for p in &segs[..segs.len() / 2] {
        std::fs::remove_file(p).unwrap();
    }
    for p in &files {
        std::fs::remove_file(p).unwrap();
    }
    std::fs::remove_dir_all(s.data.join("index")).unwrap();
    assert_eq!((query(), trail(), proof()), before);
    let r = run(&["verify"]).expect(0);
    assert!(r.stdout.contains("archive"), "{}", r.stdout);

    // The object holding seq 3 changed in the bucket: refused, naming it.
    let rel = files[0]
        .strip_prefix(s.data.join("archive"))
        .unwrap()
        .display()
        .to_string();
    let bucket = tradetrail_archive::Bucket::open_with("s3://tt-cold/desk-1", &moto.env()).unwrap();
    let mut bytes = bucket.get(&rel).unwrap().unwrap().to_vec();
    let n = bytes.len();
    bytes[n / 2] ^= 0x10;
    bucket.put(&rel, bytes).unwrap();
    std::fs::remove_dir_all(s.data.join("index")).unwrap();
    let r = run(&["prove", "inclusion", "--seq", "3"]);
    assert_ne!(r.code, Some(0), "{}", r.stdout);
    assert!(
        r.stderr.contains(&format!("s3://tt-cold/desk-1/{rel}"))
            && r.stderr.contains("does not match its manifest"),
        "{}",
        r.stderr
    );
    let r = run(&["verify"]).expect(1);
    assert!(r.stdout.contains(&rel), "{}", r.stdout);
}

/// `sql --archive s3://...` (feature `sql`) against a local moto server: the archive
/// that `archive --to` uploaded, queried in place, gives the rows the local archive
/// gives; an object cut short in the bucket is refused, naming it.
#[cfg(feature = "sql")]
#[test]
fn sql_over_the_archive_on_object_storage() {
    let moto = tradetrail_testkit::moto::Moto::start();
    moto.create_bucket("tt-sql");
    let s = with_events(300);
    let run = |args: &[&str]| {
        let mut c = command(s.path());
        c.args(args)
            .envs(moto.env())
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN");
        run_cmd(c, None)
    };
    let d = s.data_arg();
    let url = "s3://tt-sql/desk-1/";
    let r = run(&["archive", "--data", &d, "--to", url, "--json"]).expect(0);
    let end = parse(&r.stdout)["end_seq"].as_u64().unwrap();
    assert!(end > 200, "{end}");
    let archive_dir = s.data.join("archive");
    let local_dir = archive_dir.to_string_lossy().into_owned();

    let q = "SELECT count(*) AS n, min(seq) AS lo, max(seq) AS hi FROM events";
    let r = run(&["sql", "--archive", url, "--format", "csv", q]).expect(0);
    assert_eq!(r.stdout, format!("n,lo,hi\n{end},0,{}\n", end - 1));
    let rows = "SELECT seq, type, trader_id, entity_id, prev, line FROM events ORDER BY seq";
    let remote = run(&["sql", "--archive", url, "--format", "jsonl", rows]).expect(0);
    let local = run(&["sql", "--archive", &local_dir, "--format", "jsonl", rows]).expect(0);
    assert_eq!(remote.stdout.lines().count() as u64, end);
    assert_eq!(remote.stdout, local.stdout);
    let by_trader = "SELECT trader_id, count(*) AS n FROM events WHERE type = 'custom.note' GROUP BY 1 ORDER BY 1";
    let r = run(&["sql", "--archive", url, by_trader]).expect(0);
    assert!(r.stdout.contains("| T-0       |"), "{}", r.stdout);

    // An object cut short in the bucket: refused before the query runs, naming it.
    let files = parquet_files(&archive_dir);
    let rel = files[0]
        .strip_prefix(&archive_dir)
        .unwrap()
        .display()
        .to_string();
    let bucket = tradetrail_archive::Bucket::open_with(url, &moto.env()).unwrap();
    let bytes = bucket.get(&rel).unwrap().unwrap().to_vec();
    bucket.put(&rel, bytes[..bytes.len() / 2].to_vec()).unwrap();
    let r = run(&["sql", "--archive", url, q]).expect(3);
    assert!(
        r.stderr.contains(&format!("s3://tt-sql/desk-1/{rel}"))
            && r.stderr.contains("its manifest says"),
        "{}",
        r.stderr
    );
    let r = run(&["sql", "--archive", "s3://tt-sql/none", q]).expect(2);
    assert!(r.stderr.contains("no archive here"), "{}", r.stderr);
}
