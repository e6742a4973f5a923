//! The PostgreSQL mirror against a real PostgreSQL: a throwaway cluster per test
//! (skipped, loudly, only when the binaries are not installed).

use postgres::Client;
use tradetrail_core::{DataDir, InitOptions, Recorder};
use tradetrail_journal::{for_each_line_with, FsStorage};
use tradetrail_model::Event;
use tradetrail_pg::testing::TempCluster;
use tradetrail_pg::{connect, init, status, sync, verify, Error, Method, Roles, SyncOptions};
use tradetrail_store::Store;

struct Journal {
    _tmp: tempfile::TempDir,
    dir: DataDir,
    next: usize,
}

impl Journal {
    fn new() -> Journal {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path().join("data"));
        Recorder::init(&dir, InitOptions::default()).unwrap();
        Journal {
            _tmp: tmp,
            dir,
            next: 0,
        }
    }

    /// Appends `n` events, traders T1 and T2 in turn.
    fn append(&mut self, n: usize) {
        let store = Store::open(&self.dir).unwrap();
        for _ in 0..n {
            let i = self.next;
            self.next += 1;
            let ev = Event::new(
                "param.changed",
                1_795_700_000_000_000_000 + i as i64,
                "meta",
                "algo:m1",
            )
            .with_trader(if i.is_multiple_of(2) { "T1" } else { "T2" })
            .with_entity("param", &format!("k{i}"))
            .with_data("name", format!("k{i}"))
            .with_data("old_value", "2")
            .with_data("new_value", "3")
            .with_data("reason", "caf\u{e9} \"quoted\"");
            store.recorder().record(&ev).unwrap();
        }
    }

    fn lines(&self) -> Vec<String> {
        let mut v = Vec::new();
        for_each_line_with(&FsStorage, &self.dir.journal(), None, 0, None, |_, l| {
            v.push(String::from_utf8(l.to_vec()).unwrap());
            Ok(true)
        })
        .unwrap();
        v
    }
}

fn cluster() -> Option<TempCluster> {
    TempCluster::start().unwrap()
}

fn mirror_lines(c: &mut Client) -> Vec<(i64, String)> {
    c.query("SELECT seq, line FROM tradetrail.events ORDER BY seq", &[])
        .unwrap()
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

fn assert_mirrors(c: &mut Client, j: &Journal) {
    let want: Vec<(i64, String)> = j
        .lines()
        .into_iter()
        .enumerate()
        .map(|(i, l)| (i as i64, l))
        .collect();
    assert_eq!(mirror_lines(c), want);
}

/// The error text of a statement that must fail.
fn refused(c: &mut Client, sql: &str) -> String {
    match c.batch_execute(sql) {
        Ok(()) => panic!("{sql} was allowed"),
        Err(e) => tradetrail_pg::describe(&e),
    }
}

#[test]
fn sync_copies_every_line_and_resumes_with_the_new_ones() {
    let Some(pg) = cluster() else { return };
    let url = pg.url();
    let mut j = Journal::new();
    j.append(40);

    let first = init(&url, &Roles::default()).unwrap();
    assert_eq!(first.applied, vec![1, 2, 3]);
    assert_eq!(first.created_roles.len(), 4);
    let again = init(&url, &Roles::default()).unwrap();
    assert!(again.applied.is_empty() && again.created_roles.is_empty());

    let s = status(&j.dir, &url).unwrap();
    assert_eq!(
        (s.rows, s.last_mirrored_seq, s.journal_head_seq, s.lag),
        (0, None, 40, 41)
    );

    // Small batches: several transactions.
    // As a superuser: binary COPY.
    let r = sync(
        &j.dir,
        &url,
        &SyncOptions {
            batch: 7,
            ..SyncOptions::default()
        },
    )
    .unwrap();
    assert_eq!((r.copied, r.first_seq, r.last_seq), (41, Some(0), Some(40)));
    assert_eq!(r.method, Method::Copy);
    let mut c = connect(&url).unwrap();
    assert_mirrors(&mut c, &j);

    // The envelope columns come from the line.
    let row = c
        .query_one(
            "SELECT type, trader_id, entity_kind, entity_id, data->>'reason', ts_event_ns, hash, prev,
                    (extract(epoch from ts_event) * 1e6)::bigint
             FROM tradetrail.events WHERE seq = 3",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, &str>(0), "param.changed");
    assert_eq!(row.get::<_, &str>(1), "T1");
    assert_eq!(row.get::<_, &str>(2), "param");
    assert_eq!(row.get::<_, &str>(3), "k2");
    assert_eq!(row.get::<_, &str>(4), "caf\u{e9} \"quoted\"");
    assert_eq!(row.get::<_, i64>(5), 1_795_700_000_000_000_002);
    let lines = j.lines();
    let hash = tradetrail_journal::RecordHash::of_line(lines[3].as_bytes()).to_hex();
    assert_eq!(row.get::<_, &str>(6), hash);
    let prev = tradetrail_journal::RecordHash::of_line(lines[2].as_bytes()).to_hex();
    assert_eq!(row.get::<_, &str>(7), prev);
    assert_eq!(row.get::<_, i64>(8), 1_795_700_000_000_000);

    // Nothing new: nothing copied.
    let r = sync(&j.dir, &url, &SyncOptions::default()).unwrap();
    assert_eq!((r.copied, r.last_seq), (0, Some(40)));

    j.append(25);
    let s = status(&j.dir, &url).unwrap();
    assert_eq!(
        (s.rows, s.last_mirrored_seq, s.journal_head_seq, s.lag),
        (41, Some(40), 65, 25)
    );
    let v = verify(&j.dir, &url).unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!((v.equal, v.behind), (41, 25));

    let r = sync(&j.dir, &url, &SyncOptions::default()).unwrap();
    assert_eq!(
        (r.copied, r.first_seq, r.last_seq),
        (25, Some(41), Some(65))
    );
    assert_mirrors(&mut c, &j);
    let v = verify(&j.dir, &url).unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(
        (v.equal, v.behind, v.journal_records, v.mirror_rows),
        (66, 0, 66, 66)
    );

    // Up to date, but the last row's line changed behind the guards (its hash column
    // left as it was): the next sync refuses to continue, nothing new or not.
    c.batch_execute(
        "ALTER TABLE tradetrail.events DISABLE TRIGGER events_append_only;
         UPDATE tradetrail.events SET line = line || ' ' WHERE seq = 65;
         ALTER TABLE tradetrail.events ENABLE ALWAYS TRIGGER events_append_only;",
    )
    .unwrap();
    let e = sync(&j.dir, &url, &SyncOptions::default()).unwrap_err();
    assert!(matches!(e, Error::Diverged { seq: 65, .. }), "{e}");
}

#[test]
fn the_writer_only_inserts_and_the_triggers_hold_even_in_replica_mode() {
    let Some(pg) = cluster() else { return };
    let url = pg.url();
    let mut j = Journal::new();
    j.append(10);
    init(&url, &Roles::default()).unwrap();
    let mut admin = connect(&url).unwrap();
    admin
        .batch_execute("CREATE ROLE syncer LOGIN IN ROLE tradetrail_writer")
        .unwrap();
    // The writer copies (under row-level security, as itself) ...
    let r = sync(
        &j.dir,
        &pg.url_as("syncer"),
        &SyncOptions {
            batch: 4,
            ..SyncOptions::default()
        },
    )
    .unwrap();
    assert_eq!(r.copied, 11);
    assert_eq!(r.method, Method::Insert);
    assert_mirrors(&mut admin, &j);
    assert!(verify(&j.dir, &pg.url_as("syncer")).unwrap().ok);
    // With BYPASSRLS the same login copies with binary COPY, and the rows are the same.
    admin.batch_execute("ALTER ROLE syncer BYPASSRLS").unwrap();
    j.append(6);
    let r = sync(
        &j.dir,
        &pg.url_as("syncer"),
        &SyncOptions {
            batch: 4,
            ..SyncOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        (r.copied, r.first_seq, r.method),
        (6, Some(11), Method::Copy)
    );
    assert_mirrors(&mut admin, &j);
    assert!(verify(&j.dir, &pg.url_as("syncer")).unwrap().ok);

    // ... and may change nothing.
    let mut w = connect(&pg.url_as("syncer")).unwrap();
    for sql in [
        "UPDATE tradetrail.events SET line = 'x' WHERE seq = 1",
        "DELETE FROM tradetrail.events WHERE seq = 1",
        "TRUNCATE tradetrail.events",
        "ALTER TABLE tradetrail.events DISABLE TRIGGER events_append_only",
        "DROP TABLE tradetrail.events",
        "INSERT INTO tradetrail.trader_roles VALUES ('syncer', 'T1')",
    ] {
        let e = refused(&mut w, sql);
        assert!(
            e.contains("permission denied") || e.contains("must be owner"),
            "{sql}: {e}"
        );
    }
    // The owner's guards: the triggers refuse even a superuser that does not switch
    // them off, in replica mode too (ENABLE ALWAYS).
    for replica in [false, true] {
        if replica {
            admin
                .batch_execute("SET session_replication_role = replica")
                .unwrap();
        }
        for sql in [
            "UPDATE tradetrail.events SET line = 'x' WHERE seq = 1",
            "DELETE FROM tradetrail.events WHERE seq = 1",
            "TRUNCATE tradetrail.events",
        ] {
            let e = refused(&mut admin, sql);
            assert!(e.contains("tradetrail.events is append-only"), "{sql}: {e}");
        }
    }
    assert_mirrors(&mut admin, &j);
    // The owner cannot log in.
    let Err(e) = connect(&pg.url_as("tradetrail_owner")) else {
        panic!("the owner logged in")
    };
    assert!(matches!(e, Error::Connect { .. }), "{e}");
}

#[test]
fn a_trader_role_sees_only_the_rows_of_its_traders() {
    let Some(pg) = cluster() else { return };
    let url = pg.url();
    let mut j = Journal::new();
    j.append(9);
    init(&url, &Roles::default()).unwrap();
    sync(&j.dir, &url, &SyncOptions::default()).unwrap();
    let mut c = connect(&url).unwrap();
    c.batch_execute(
        "CREATE ROLE alice IN ROLE tradetrail_trader;
         CREATE ROLE bob IN ROLE tradetrail_trader;
         CREATE ROLE desk_t2 NOLOGIN;
         CREATE ROLE carol IN ROLE tradetrail_trader, desk_t2;
         CREATE ROLE auditor IN ROLE tradetrail_compliance;
         INSERT INTO tradetrail.trader_roles VALUES ('alice', 'T1'), ('desk_t2', 'T2'),
             ('dropped_role', 'T2');",
    )
    .unwrap();
    let seen = |c: &mut Client, role: &str| -> Vec<String> {
        c.batch_execute(&format!("SET ROLE {role}")).unwrap();
        let v = c
            .query(
                "SELECT coalesce(trader_id, '-') FROM tradetrail.events ORDER BY seq",
                &[],
            )
            .unwrap()
            .into_iter()
            .map(|r| r.get(0))
            .collect();
        c.batch_execute("RESET ROLE").unwrap();
        v
    };
    assert_eq!(seen(&mut c, "alice"), vec!["T1"; 5]);
    assert!(seen(&mut c, "bob").is_empty());
    // Through a role it is a member of.
    assert_eq!(seen(&mut c, "carol"), vec!["T2"; 4]);
    assert_eq!(seen(&mut c, "auditor").len(), 10);
    // A setting cannot widen it; the mapping is not theirs to change.
    c.batch_execute("SET ROLE alice").unwrap();
    c.batch_execute("SET tradetrail.trader_id = 'T2'").unwrap();
    let n: i64 = c
        .query_one(
            "SELECT count(*) FROM tradetrail.events WHERE trader_id = 'T2'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
    let e = refused(
        &mut c,
        "INSERT INTO tradetrail.trader_roles VALUES ('alice', 'T2')",
    );
    assert!(e.contains("permission denied"), "{e}");
    let e = refused(&mut c, "UPDATE tradetrail.events SET line = 'x'");
    assert!(e.contains("permission denied"), "{e}");
}

#[test]
fn verify_names_changed_missing_and_extra_rows_by_seq() {
    let Some(pg) = cluster() else { return };
    let url = pg.url();
    let mut j = Journal::new();
    j.append(30);
    init(&url, &Roles::default()).unwrap();
    sync(&j.dir, &url, &SyncOptions::default()).unwrap();
    assert!(verify(&j.dir, &url).unwrap().ok);

    // An administrator switches the guard off and edits.
    let mut c = connect(&url).unwrap();
    c.batch_execute(
        "ALTER TABLE tradetrail.events DISABLE TRIGGER events_append_only;
         UPDATE tradetrail.events SET line = replace(line, 'algo:m1', 'algo:m2') WHERE seq = 5;
         UPDATE tradetrail.events SET hash = repeat('0', 64) WHERE seq = 7;
         DELETE FROM tradetrail.events WHERE seq IN (10, 11, 20);
         ALTER TABLE tradetrail.events ENABLE ALWAYS TRIGGER events_append_only;
         INSERT INTO tradetrail.events (seq, ts_recorded, ts_recorded_ns, type, line, hash, prev)
             VALUES (31, now(), 0, 'forged', '{}', 'h', 'p'),
                    (40, now(), 0, 'forged', '{}', 'h', 'p');",
    )
    .unwrap();
    let v = verify(&j.dir, &url).unwrap();
    assert!(!v.ok);
    let changed: Vec<(u64, bool, bool)> =
        v.changed.iter().map(|c| (c.seq, c.line, c.hash)).collect();
    assert_eq!(changed, vec![(5, true, false), (7, false, true)]);
    let missing: Vec<(u64, u64)> = v.missing.iter().map(|r| (r.first, r.last)).collect();
    assert_eq!(missing, vec![(10, 11), (20, 20)]);
    assert_eq!(v.missing_count, 3);
    assert_eq!(v.extra, vec![31, 40]);
    assert_eq!((v.extra_count, v.behind, v.equal), (2, 0, 31 - 5));

    // The journal grew to seq 31: that row is now a record that differs, not extra;
    // sync refuses to continue a mirror whose last row is no record of the journal.
    j.append(1);
    let v = verify(&j.dir, &url).unwrap();
    assert_eq!(
        v.changed.iter().map(|c| c.seq).collect::<Vec<_>>(),
        vec![5, 7, 31]
    );
    assert_eq!(v.extra, vec![40]);
    let e = sync(&j.dir, &url, &SyncOptions::default()).unwrap_err();
    assert!(matches!(e, Error::Diverged { seq: 40, .. }), "{e}");
    assert!(e.is_damage());
}

#[test]
fn clear_errors_without_the_password() {
    let Some(pg) = cluster() else { return };
    let j = Journal::new();
    let e = sync(&j.dir, &pg.url(), &SyncOptions::default()).unwrap_err();
    assert!(matches!(e, Error::NotInitialized { .. }), "{e}");
    let bad = "postgres://someone:s3cret@127.0.0.1:1/db";
    let e = status(&j.dir, bad).unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, Error::Connect { .. }), "{text}");
    assert!(
        text.contains("postgres://someone:***@127.0.0.1:1/db"),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");
    // The URL form with the socket directory works too.
    init(&pg.url_form(), &Roles::default()).unwrap();
    let custom = Roles {
        owner: "other_owner".into(),
        ..Roles::default()
    };
    let e = init(&pg.url(), &custom).unwrap_err();
    assert!(e.is_bad_input(), "{e}");
}

/// The journal's only segment.
fn segment(dir: &DataDir) -> std::path::PathBuf {
    let segs = tradetrail_journal::list_segments(&FsStorage, &dir.journal()).unwrap();
    assert_eq!(segs.len(), 1, "{segs:?}");
    segs[0].path.clone()
}

#[test]
fn sync_reads_beside_a_recorder_and_refuses_a_journal_rewritten_under_a_signed_checkpoint() {
    let Some(pg) = cluster() else { return };
    let url = pg.url();
    let mut j = Journal::new();
    j.append(6);
    init(&url, &Roles::default()).unwrap();

    // A recorder holds the directory open (its lock), records and signs a checkpoint
    // of size 7 (record 7 notes it) while the mirror is synced beside it.
    let store = Store::open(&j.dir).unwrap();
    let cp = tradetrail_core::checkpoints::take_checkpoint(store.recorder()).unwrap();
    assert_eq!(cp.size, 7);
    let r = sync(&j.dir, &url, &SyncOptions::default()).unwrap();
    assert_eq!((r.copied, r.last_seq), (8, Some(7)));
    store
        .recorder()
        .record(&Event::new("custom.tick", 1, "test", "system").with_data("i", 1))
        .unwrap();
    let r = sync(&j.dir, &url, &SyncOptions::default()).unwrap();
    assert_eq!((r.copied, r.last_seq), (1, Some(8)));
    let v = verify(&j.dir, &url).unwrap();
    assert!(v.ok && v.journal_refused.is_none(), "{v:?}");
    drop(store);
    let mut c = connect(&url).unwrap();
    let mirrored = mirror_lines(&mut c);

    // Record 3 rewritten and every later prev recomputed: the chain holds, the
    // signed checkpoint does not.
    let seg = segment(&j.dir);
    let forged = tradetrail_testkit::forge::rewrite_record(
        &std::fs::read(&seg).unwrap(),
        3,
        "\"k2\"",
        "\"k9\"",
    );
    std::fs::write(&seg, &forged).unwrap();
    let door = Store::open(&j.dir).unwrap_err();
    assert!(
        door.to_string()
            .contains("contradicts the signed checkpoint"),
        "{door}"
    );

    // sync refuses with the door's error, before the mirror is touched.
    let e = sync(&j.dir, &url, &SyncOptions::default()).unwrap_err();
    assert!(matches!(e, Error::Store(_)), "{e}");
    assert_eq!(e.to_string(), door.to_string());
    assert!(e.is_damage());
    assert_eq!(mirror_lines(&mut c), mirrored, "nothing was copied");
    // So does the follower, at once (damage is not retried).
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut passes = 0;
    let e = tradetrail_pg::follow(
        &j.dir,
        &url,
        &tradetrail_pg::FollowOptions::default(),
        &stop,
        &mut |_| passes += 1,
    )
    .unwrap_err();
    assert_eq!((e.to_string(), passes), (door.to_string(), 0));

    // status and verify report it rather than refuse: verify still compares, and the
    // mirror holds the records as they were signed.
    let s = status(&j.dir, &url).unwrap();
    assert_eq!(
        s.journal_refused.as_deref(),
        Some(door.to_string().as_str())
    );
    assert_eq!((s.last_mirrored_seq, s.lag), (Some(8), 0));
    let v = verify(&j.dir, &url).unwrap();
    assert!(!v.ok);
    assert_eq!(
        v.journal_refused.as_deref(),
        Some(door.to_string().as_str())
    );
    assert_eq!(
        v.changed.iter().map(|c| c.seq).collect::<Vec<_>>(),
        (3..=8).collect::<Vec<_>>()
    );
}
