//! End to end: `backup`, `restore` (and what it refuses), incremental backups, an
//! interrupted backup, and a round trip through a local S3-compatible server (moto).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{custom_event, parse, snapshot, Scratch};
use serde_json::Value;

/// A data directory with several sealed segments, an active one and a checkpoint.
fn journal_with_segments(s: &Scratch, events: u64) {
    s.on_data(
        "init",
        &["--origin", "test/backup", "--segment-max-bytes", "4096"],
    )
    .expect(0);
    append(s, 0, events);
    s.on_data("checkpoint", &[]).expect(0);
    append(s, events, 5);
}

fn append(s: &Scratch, from: u64, n: u64) {
    let input: String = (from..from + n)
        .map(|i| custom_event("backup.test", i) + "\n")
        .collect();
    s.tt_stdin(&["append", "--data", &s.data_arg()], input.as_bytes())
        .expect(0);
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

/// `backup --to DIR --json`: the manifest written.
fn backup(s: &Scratch, to: &Path, extra: &[&str]) -> Value {
    let t = p(to);
    let mut args = vec!["--to", t.as_str(), "--json"];
    args.extend_from_slice(extra);
    parse(&s.on_data("backup", &args).expect(0).stdout)
}

/// The files backup copies, as they are in the data directory now.
/// Every file under an archive directory except the archiver's lock, as `rel` paths.
fn archive_files(dir: &Path, rel: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if e.path().is_dir() {
            out.extend(archive_files(&e.path(), &format!("{rel}/{name}")));
        } else if name != "_lock" {
            out.push(format!("{rel}/{name}"));
        }
    }
    out.sort();
    out
}

fn backed_up_files(data: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for (sub, keep) in [
        (
            "journal",
            (|n: &str| n.ends_with(".jsonl")) as fn(&str) -> bool,
        ),
        ("checkpoints", |n: &str| n.ends_with(".txt")),
        ("keys", |n: &str| n == "verifier.vkey"),
    ] {
        for (name, bytes) in snapshot(&data.join(sub)) {
            if keep(&name) {
                out.insert(format!("{sub}/{name}"), bytes);
            }
        }
    }
    out.insert(
        "tradetrail.toml".into(),
        std::fs::read(data.join("tradetrail.toml")).unwrap(),
    );
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

fn files(m: &Value) -> &Vec<Value> {
    m["files"].as_array().expect("files")
}

fn entry<'a>(m: &'a Value, path: &str) -> &'a Value {
    files(m)
        .iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("{path} in the manifest"))
}

/// `restore --from BACKUP --data DEST [extra]`.
fn restore(s: &Scratch, from: &Path, dest: &Path, extra: &[&str]) -> common::Run {
    let (f, d) = (p(from), p(dest));
    let mut args = vec!["restore", "--from", f.as_str(), "--data", d.as_str()];
    args.extend_from_slice(extra);
    s.tt(&args)
}

/// Asserts a refused restore: exit 1, the file and reason named, and nothing left
/// under the destination's name or as a staging directory beside it.
#[track_caller]
fn assert_refused(s: &Scratch, from: &Path, file: &str, reason: &str, extra: &[&str]) {
    let dest = s.path().join("refused");
    let r = restore(s, from, &dest, extra).expect(1);
    assert!(
        r.stderr.contains(file) && r.stderr.contains(reason),
        "expected {file:?} and {reason:?} in:\n{}",
        r.stderr
    );
    assert!(!dest.exists(), "a refused restore left {}", dest.display());
    let leftovers: Vec<_> = std::fs::read_dir(s.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("restoring"))
        .collect();
    assert!(leftovers.is_empty(), "staging left behind: {leftovers:?}");
}

#[test]
fn backup_then_restore_is_byte_identical_with_the_same_checkpoint_root() {
    let s = Scratch::new();
    journal_with_segments(&s, 60);
    assert!(s.segments().len() >= 3, "the test needs several segments");
    // Archive files are copied as they are; the query index is not (it is rebuilt).
    s.on_data("archive", &[]).expect(0);
    let archived = archive_files(&s.data.join("archive"), "archive");
    let parquet = archived
        .iter()
        .find(|k| k.ends_with(".parquet"))
        .expect("archive wrote a Parquet file")
        .clone();
    assert!(archived.iter().any(|k| k.ends_with("/_manifest.json")));
    s.on_data("query", &["--limit", "1"]).expect(0);
    assert!(s.data.join("index/query").exists());
    let bk = s.path().join("bk");
    let m = backup(&s, &bk, &[]);
    assert_eq!(entry(&m, &parquet)["kind"], "archive");
    assert!(files(&m)
        .iter()
        .all(|f| !f["path"].as_str().unwrap().starts_with("index/")));
    assert_eq!(m["keys"], "verifier-only");
    assert!(!bk.join("data/keys/signing.key").exists());
    let records = s.lines().len() as u64;
    assert_eq!(m["records"], records);

    let dest = s.path().join("restored");
    let r = restore(&s, &bk, &dest, &[]).expect(0);
    assert!(
        r.stdout.contains(&format!("{records} records")),
        "{}",
        r.stdout
    );

    // The journal, the checkpoints and the configuration, byte for byte; no index.
    let mut original = backed_up_files(&s.data);
    let restored = backed_up_files(&dest);
    assert_eq!(
        original.keys().collect::<Vec<_>>(),
        restored.keys().collect::<Vec<_>>()
    );
    original.retain(|k, v| restored.get(k) != Some(v));
    assert!(original.is_empty(), "files differ: {:?}", original.keys());
    assert!(!dest.join("index").exists());
    for rel in &archived {
        assert_eq!(
            std::fs::read(dest.join(rel)).unwrap(),
            std::fs::read(s.data.join(rel)).unwrap()
        );
    }

    // The restored directory opens, verifies, and its tree has the signed root at the
    // checkpoint's size, checked with the original's key.
    let cp = m["checkpoint"]["path"].as_str().unwrap().to_string();
    let key = p(&s.data.join("keys/verifier.vkey"));
    let d = p(&dest);
    let v = s
        .tt(&[
            "verify",
            "--data",
            &d,
            "--checkpoint",
            &p(&dest.join(&cp)),
            "--key",
            &key,
        ])
        .expect(0);
    assert!(v.stdout.contains("checkpoint: ok"), "{}", v.stdout);
    let st = parse(&s.tt(&["status", "--data", &d, "--json"]).expect(0).stdout);
    assert_eq!(st["records"], records);
    assert_eq!(st["head_hash"], m["head_hash"]);
    // The same root as the source's tree at the checkpoint's size.
    let size = m["checkpoint"]["size"].as_u64().unwrap().to_string();
    let src_root = parse(
        &s.on_data(
            "prove",
            &["inclusion", "--seq", "0", "--size", &size, "--json"],
        )
        .expect(0)
        .stdout,
    )["root"]
        .clone();
    let dst_root = parse(
        &s.tt(&[
            "prove",
            "--data",
            &d,
            "inclusion",
            "--seq",
            "0",
            "--size",
            &size,
            "--json",
        ])
        .expect(0)
        .stdout,
    )["root"]
        .clone();
    assert_eq!(src_root, dst_root);
    assert_eq!(src_root, m["checkpoint"]["root"]);

    // A destination that is not empty is bad input, and is left alone.
    let r = restore(&s, &bk, &dest, &[]).expect(2);
    assert!(r.stderr.contains("not empty"), "{}", r.stderr);
    assert_eq!(s.tt(&["verify", "--data", &d]).code, Some(0));
}

#[test]
fn keys_are_copied_only_when_asked_and_the_manifest_says_so() {
    let s = Scratch::new();
    journal_with_segments(&s, 10);
    let bk = s.path().join("bk");
    let m = backup(&s, &bk, &["--include-keys"]);
    assert_eq!(m["keys"], "included");
    assert_eq!(entry(&m, "keys/signing.key")["kind"], "secret");
    let dest = s.path().join("restored");
    restore(&s, &bk, &dest, &[]).expect(0);
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(dest.join("keys/signing.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // The restored directory can sign again with the same key.
    let d = p(&dest);
    s.tt(&["checkpoint", "--data", &d]).expect(0);
}

#[test]
fn a_second_backup_copies_only_new_and_changed_files() {
    let s = Scratch::new();
    journal_with_segments(&s, 40);
    let bk = s.path().join("bk");
    let first = backup(&s, &bk, &[]);
    let n1 = files(&first).len() as u64;
    assert_eq!(first["copied_files"], n1);
    assert_eq!(first["reused_files"], 0);

    // Nothing changed: nothing copied.
    let again = backup(&s, &bk, &[]);
    assert_eq!(again["copied_files"], 0);
    assert_eq!(again["reused_files"], n1);
    assert_eq!(again["copied_bytes"], 0);

    // New records: the new segments, the grown active one and any new checkpoint.
    let before = backed_up_files(&s.data);
    append(&s, 1000, 30);
    let after = backed_up_files(&s.data);
    let expected_copied = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .count() as u64;
    assert!(expected_copied >= 2 && expected_copied < after.len() as u64);
    let third = backup(&s, &bk, &[]);
    assert_eq!(third["copied_files"], expected_copied);
    assert_eq!(third["reused_files"], after.len() as u64 - expected_copied);
    // Sealed segments of the first backup were kept, not copied again.
    for f in files(&first).iter().filter(|f| f["sealed"] == true) {
        assert_eq!(
            entry(&third, f["path"].as_str().unwrap())["object"],
            f["object"]
        );
    }
    // The backup holds exactly the objects its manifest names (old copies removed).
    let objects: Vec<String> = snapshot_tree(&bk.join("data"));
    let mut named: Vec<String> = files(&third)
        .iter()
        .map(|f| {
            f["object"]
                .as_str()
                .unwrap()
                .trim_start_matches("data/")
                .to_string()
        })
        .collect();
    named.sort();
    assert_eq!(objects, named);

    let dest = s.path().join("restored");
    restore(&s, &bk, &dest, &[]).expect(0);
    assert_eq!(backed_up_files(&dest), after);
}

/// Every file under `dir`, relative, sorted.
fn snapshot_tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, d: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                walk(root, &e.path(), out);
            } else {
                out.push(p(e.path().strip_prefix(root).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// A backup to tamper with, its manifest, and a fresh copy maker.
struct Tamper {
    s: Scratch,
    bk: PathBuf,
    m: Value,
}

impl Tamper {
    fn new() -> Tamper {
        let s = Scratch::new();
        journal_with_segments(&s, 40);
        let bk = s.path().join("bk");
        let m = backup(&s, &bk, &[]);
        Tamper { s, bk, m }
    }

    fn copy(&self, name: &str) -> PathBuf {
        let c = self.s.path().join(name);
        copy_dir(&self.bk, &c);
        c
    }

    fn sealed_segment(&self) -> Value {
        files(&self.m)
            .iter()
            .find(|f| f["sealed"] == true && f["first_seq"].as_u64() > Some(0))
            .expect("a sealed segment after the first")
            .clone()
    }

    /// Rewrites the manifest of backup `c` with `f` applied.
    fn edit_manifest(c: &Path, f: impl FnOnce(&mut Value)) {
        let path = c.join("manifest.json");
        let mut m = parse(&std::fs::read_to_string(&path).unwrap());
        f(&mut m);
        std::fs::write(path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    }
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

#[test]
fn a_backup_with_a_flipped_byte_is_refused() {
    let t = Tamper::new();
    let seg = t.sealed_segment();
    let c = t.copy("flipped");
    let obj = c.join(seg["object"].as_str().unwrap());
    let mut b = std::fs::read(&obj).unwrap();
    let i = b.len() / 2;
    b[i] ^= 0x01;
    std::fs::write(&obj, &b).unwrap();
    assert_refused(&t.s, &c, seg["path"].as_str().unwrap(), "SHA-256", &[]);
}

#[test]
fn a_changed_record_is_refused_even_with_the_manifest_hash_updated() {
    let t = Tamper::new();
    let seg = t.sealed_segment();
    let c = t.copy("rewritten");
    let obj = c.join(seg["object"].as_str().unwrap());
    let text = std::fs::read_to_string(&obj).unwrap();
    // Change one record's data; its hash no longer matches the next record's prev.
    let changed = text.replacen("\"i\":", "\"i\":9", 1);
    assert_ne!(text, changed);
    std::fs::write(&obj, &changed).unwrap();
    let path = seg["path"].as_str().unwrap().to_string();
    Tamper::edit_manifest(&c, |m| {
        for f in m["files"].as_array_mut().unwrap() {
            if f["path"] == path.as_str() {
                f["bytes"] = changed.len().into();
                f["sha256"] = sha256_hex(changed.as_bytes()).into();
            }
        }
    });
    assert_refused(&t.s, &c, &path, "chain is broken", &[]);
}

#[test]
fn a_backup_missing_a_segment_is_refused() {
    let t = Tamper::new();
    let seg = t.sealed_segment();
    let c = t.copy("deleted");
    std::fs::remove_file(c.join(seg["object"].as_str().unwrap())).unwrap();
    assert_refused(
        &t.s,
        &c,
        seg["path"].as_str().unwrap(),
        "missing from the backup",
        &[],
    );

    // Removing it from the manifest as well leaves a hole in the seq range.
    let path = seg["path"].as_str().unwrap().to_string();
    Tamper::edit_manifest(&c, |m| {
        m["files"]
            .as_array_mut()
            .unwrap()
            .retain(|f| f["path"] != path.as_str());
    });
    assert_refused(&t.s, &c, "journal/", "are missing", &[]);
}

#[test]
fn an_altered_manifest_is_refused() {
    let t = Tamper::new();
    let c = t.copy("manifest-records");
    let records = t.m["records"].as_u64().unwrap();
    Tamper::edit_manifest(&c, |m| m["records"] = (records + 1).into());
    assert_refused(&t.s, &c, "manifest.json", "record count", &[]);

    let c = t.copy("manifest-head");
    Tamper::edit_manifest(&c, |m| m["head_hash"] = "00".repeat(32).into());
    assert_refused(&t.s, &c, "manifest.json", "head hash", &[]);

    let c = t.copy("manifest-sha");
    let seg = t.sealed_segment();
    let path = seg["path"].as_str().unwrap().to_string();
    Tamper::edit_manifest(&c, |m| {
        for f in m["files"].as_array_mut().unwrap() {
            if f["path"] == path.as_str() {
                f["sha256"] = "ab".repeat(32).into();
            }
        }
    });
    assert_refused(&t.s, &c, &path, "SHA-256", &[]);

    let c = t.copy("manifest-garbage");
    std::fs::write(c.join("manifest.json"), b"{\"format\": 7").unwrap();
    assert_refused(&t.s, &c, "manifest.json", "not a backup manifest", &[]);
}

#[test]
fn a_bad_checkpoint_signature_is_refused() {
    let t = Tamper::new();
    let cp = t.m["checkpoint"]["path"].as_str().unwrap().to_string();
    let c = t.copy("bad-signature");
    let obj = c.join(entry(&t.m, &cp)["object"].as_str().unwrap());
    let note = std::fs::read_to_string(&obj).unwrap();
    // Change one base64 character of the signature (the last line), keep the length.
    let sig_at = note.trim_end().len() - 5;
    let mut bytes = note.into_bytes();
    bytes[sig_at] = if bytes[sig_at] == b'A' { b'B' } else { b'A' };
    std::fs::write(&obj, &bytes).unwrap();
    Tamper::edit_manifest(&c, |m| {
        for f in m["files"].as_array_mut().unwrap() {
            if f["path"] == cp.as_str() {
                f["sha256"] = sha256_hex(&bytes).into();
            }
        }
    });
    assert_refused(&t.s, &c, &cp, "signature does not verify", &[]);

    // The untouched backup, checked with another journal's key, is refused too.
    let other = Scratch::new();
    other.init("test/other");
    let key = p(&other.data.join("keys/verifier.vkey"));
    assert_refused(
        &t.s,
        &t.bk,
        "checkpoints/",
        "signature does not verify",
        &["--key", &key],
    );
    // ... and with the right key given explicitly, it restores.
    let key = p(&t.s.data.join("keys/verifier.vkey"));
    restore(&t.s, &t.bk, &t.s.path().join("ok"), &["--key", &key]).expect(0);
}

#[test]
fn an_interrupted_backup_is_not_restorable_as_complete() {
    let t = Tamper::new();
    // A first backup that stopped before its manifest was written.
    let c = t.copy("interrupted");
    std::fs::remove_file(c.join("manifest.json")).unwrap();
    assert_refused(&t.s, &c, "manifest.json", "not a complete backup", &[]);

    // A second backup that stopped after copying objects: the previous manifest still
    // restores exactly the previous backup, and the next backup removes the strays.
    let stray =
        t.bk.join("data/journal/00000000000000000000.jsonl.0123456789abcdef");
    std::fs::write(&stray, b"half a copy").unwrap();
    std::fs::write(t.bk.join("data/journal/.x.tmp-1"), b"torn").unwrap();
    let dest = t.s.path().join("previous");
    restore(&t.s, &t.bk, &dest, &[]).expect(0);
    let st = parse(
        &t.s.tt(&["status", "--data", &p(&dest), "--json"])
            .expect(0)
            .stdout,
    );
    assert_eq!(st["records"], t.m["records"]);
    backup(&t.s, &t.bk, &[]);
    assert!(!stray.exists());
    assert!(!t.bk.join("data/journal/.x.tmp-1").exists());
}

#[test]
fn a_source_whose_sealed_segment_changed_is_not_backed_up_over_the_good_copy() {
    let t = Tamper::new();
    let seg = t.sealed_segment();
    let path = t.s.data.join(seg["path"].as_str().unwrap());
    let mut b = std::fs::read(&path).unwrap();
    let i = b.len() / 3;
    b[i] ^= 0x02;
    std::fs::write(&path, &b).unwrap();
    let r = t.s.on_data("backup", &["--to", &p(&t.bk)]).expect(1);
    assert!(
        r.stderr.contains(seg["path"].as_str().unwrap()),
        "{}",
        r.stderr
    );
    // The previous backup is intact.
    restore(&t.s, &t.bk, &t.s.path().join("intact"), &[]).expect(0);
}

/// A moto S3 server on a free local port (tradetrail-testkit's), stopped on drop.
struct Moto(tradetrail_testkit::moto::Moto);

impl Moto {
    fn start() -> Moto {
        Moto(tradetrail_testkit::moto::Moto::start())
    }

    fn create_bucket(&self, bucket: &str) {
        self.0.create_bucket(bucket)
    }

    fn command(&self, s: &Scratch, args: &[&str]) -> common::Run {
        let mut c = common::command(s.path());
        c.args(args)
            .envs(self.0.env())
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN");
        common::run_cmd(c, None)
    }
}

#[test]
fn s3_round_trip_against_a_local_moto_server() {
    let moto = Moto::start();
    moto.create_bucket("tt-backups");
    let s = Scratch::new();
    journal_with_segments(&s, 40);
    let d = s.data_arg();
    let url = "s3://tt-backups/desk-1/nightly";
    let m = parse(
        &moto
            .command(&s, &["backup", "--data", &d, "--to", url, "--json"])
            .expect(0)
            .stdout,
    );
    let n = files(&m).len() as u64;
    assert_eq!(m["copied_files"], n);
    // Incremental on S3 too.
    let again = parse(
        &moto
            .command(&s, &["backup", "--data", &d, "--to", url, "--json"])
            .expect(0)
            .stdout,
    );
    assert_eq!(again["copied_files"], 0);
    assert_eq!(again["reused_files"], n);

    let dest = s.path().join("from-s3");
    let dd = p(&dest);
    moto.command(&s, &["restore", "--from", url, "--data", &dd])
        .expect(0);
    assert_eq!(backed_up_files(&dest), backed_up_files(&s.data));
    s.tt(&["verify", "--data", &dd]).expect(0);

    // A prefix with no backup is refused as incomplete, and nothing is created.
    let none = s.path().join("none");
    let r = moto
        .command(
            &s,
            &[
                "restore",
                "--from",
                "s3://tt-backups/elsewhere",
                "--data",
                &p(&none),
            ],
        )
        .expect(1);
    assert!(r.stderr.contains("manifest.json"), "{}", r.stderr);
    assert!(!none.exists());
}

#[test]
fn without_its_keys_a_restored_directory_says_how_to_sign_again() {
    let s = Scratch::new();
    journal_with_segments(&s, 10);
    let bk = s.path().join("bk");
    backup(&s, &bk, &[]);
    let dest = s.path().join("restored");
    restore(&s, &bk, &dest, &[]).expect(0);
    let d = p(&dest);
    let r = s.tt(&["checkpoint", "--data", &d]).expect(3);
    assert_eq!(
        r.stderr.matches("signing.key").count(),
        2,
        "once, then the hint: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains("hint: ") && r.stderr.contains("--include-keys"),
        "{}",
        r.stderr
    );

    let missing = s.path().join("no-such-backup");
    let r = restore(&s, &missing, &s.path().join("r2"), &[]).expect(2);
    assert!(r.stderr.contains("no such directory"), "{}", r.stderr);
    assert!(!s.path().join("r2").exists());
}
