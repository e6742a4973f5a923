//! Records that left `journal/` for the archive (the cold tier) are mirrored and
//! verified like the others, byte for byte, against a real throwaway PostgreSQL.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use tradetrail_archive::{apply, archive, ArchiveOptions};
use tradetrail_core::{DataDir, InitOptions, Recorder};
use tradetrail_journal::{for_each_line, Clock, FsStorage};
use tradetrail_model::Event;
use tradetrail_pg::testing::TempCluster;
use tradetrail_pg::{connect, init, sync, verify, Roles, SyncOptions};

const DAY: i64 = 86_400 * 1_000_000_000;
/// 2030-01-01: after the real time `init` writes record 0 at.
const T0: i64 = 1_893_456_000 * 1_000_000_000;

#[derive(Debug, Default)]
struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now_ns(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

fn write_day(dir: &DataDir, clock: &Arc<TestClock>, day: i64, n: usize) {
    let c = clock.clone();
    let rec = Recorder::open_with(dir, move |o| o.with_clock(c))
        .unwrap()
        .0;
    for i in 0..n {
        let ts = T0 + day * DAY + i as i64 * 1_000_000_000;
        clock.0.store(ts.max(clock.now_ns()), Ordering::SeqCst);
        let ev = Event::new("custom.log", ts, "engine", "system")
            .with_trader("T-1")
            .with_data("message", format!("day {day} line {i} with some text"));
        rec.record(&ev).unwrap();
    }
}

#[test]
fn records_in_the_archive_are_mirrored_from_it() {
    let Some(pg) = TempCluster::start().unwrap() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path().join("data"));
    Recorder::init(
        &dir,
        InitOptions {
            origin: Some("test.example/pg-cold".into()),
            segment_max_bytes: Some(16 * 1024),
            ..Default::default()
        },
    )
    .unwrap();
    let clock = Arc::new(TestClock::default());
    clock.0.store(T0, Ordering::SeqCst);
    for day in 0..3 {
        write_day(&dir, &clock, day, 120);
    }
    write_day(&dir, &clock, 199, 1);
    write_day(&dir, &clock, 200, 1);
    archive(&dir, &ArchiveOptions::default(), &mut |_, _| {}).unwrap();
    let mut before = Vec::new();
    for_each_line(&FsStorage, &dir.journal(), 0, None, |_, l| {
        before.push(String::from_utf8(l.to_vec()).unwrap());
        Ok(true)
    })
    .unwrap();
    let mut cfg = tradetrail_core::Config::load(&dir.config()).unwrap();
    cfg.retention.hot_window = "90d".into();
    std::fs::write(dir.config(), cfg.to_toml()).unwrap();
    let c = clock.clone();
    let rec = Recorder::open_with(&dir, move |o| o.with_clock(c))
        .unwrap()
        .0;
    apply(&rec, "operator:test").unwrap();
    drop(rec);
    let first = tradetrail_journal::list_segments(&FsStorage, &dir.journal()).unwrap()[0].first_seq;
    assert!(
        first > 100,
        "the first days left journal/ (it starts at {first})"
    );

    let url = pg.url();
    init(&url, &Roles::default()).unwrap();
    let r = sync(&dir, &url, &SyncOptions::default()).unwrap();
    let mut m = connect(&url).unwrap();
    let lines: Vec<String> = m
        .query("SELECT line FROM tradetrail.events ORDER BY seq", &[])
        .unwrap()
        .into_iter()
        .map(|r| r.get(0))
        .collect();
    // Everything written before the removal, then the retention record(s) after it.
    assert_eq!(lines[..before.len()], before[..]);
    assert_eq!(r.copied as usize, lines.len());
    let v = verify(&dir, &url).unwrap();
    assert!(v.ok && v.behind == 0, "{v:?}");

    // A retention purge removes the first days' custom.log records. The mirror keeps
    // their rows unless told to follow it.
    cfg.retention.keep.insert("custom.*".into(), "30d".into());
    std::fs::write(dir.config(), cfg.to_toml()).unwrap();
    let c = clock.clone();
    let rec = Recorder::open_with(&dir, move |o| o.with_clock(c))
        .unwrap()
        .0;
    let applied = apply(&rec, "operator:test").unwrap();
    let by = applied.purge_record.expect("a purge");
    drop(rec);
    let rows = |m: &mut postgres::Client| -> i64 {
        m.query_one("SELECT count(*) FROM tradetrail.events", &[])
            .unwrap()
            .get(0)
    };
    let r = sync(&dir, &url, &SyncOptions::default()).unwrap();
    assert!(r.copied >= 1 && r.last_seq >= Some(by), "{r:?}");
    assert_eq!(r.purged_rows_deleted, 0);
    // As many as the purge record says it removed.
    let purged: i64 = m
        .query_one(
            "SELECT (data->>'records')::bigint FROM tradetrail.events WHERE seq = $1 AND type = 'journal.retention_purged'",
            &[&i64::try_from(by).unwrap()],
        )
        .unwrap()
        .get(0);
    assert!(purged >= 240, "{purged}");
    let v = verify(&dir, &url).unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!((v.purged_kept, v.extra_count), (purged as u64, 0), "{v:?}");

    // The writer may not delete a run that no mirrored purge record names.
    let mut admin = connect(&url).unwrap();
    admin
        .batch_execute("CREATE ROLE syncer LOGIN IN ROLE tradetrail_writer")
        .unwrap();
    let mut w = connect(&pg.url_as("syncer")).unwrap();
    let by_i = i64::try_from(by).unwrap();
    let e = w
        .query_one("SELECT tradetrail.follow_purge($1, 5, 6)", &[&by_i])
        .unwrap_err();
    assert!(
        tradetrail_pg::describe(&e).contains("no mirrored journal.retention_purged record"),
        "{e}"
    );
    assert!(w
        .batch_execute("DELETE FROM tradetrail.events WHERE seq = 5")
        .is_err());
    assert!(admin
        .batch_execute("DELETE FROM tradetrail.events WHERE seq = 5")
        .is_err_and(|e| tradetrail_pg::describe(&e).contains("append-only")));

    // Followed: the rows go, each run is recorded once, and the mirror verifies.
    let follow = SyncOptions {
        follow_purges: true,
        ..SyncOptions::default()
    };
    let held = rows(&mut m);
    let r = sync(&dir, &pg.url_as("syncer"), &follow).unwrap();
    assert_eq!((r.copied, r.purged_rows_deleted), (0, purged as u64));
    assert_eq!(rows(&mut m), held - purged);
    let followed = m
        .query_one(
            "SELECT count(*), sum(rows_deleted)::bigint, min(purge_seq), max(purge_seq) FROM tradetrail.followed_purges",
            &[],
        )
        .unwrap();
    assert!(followed.get::<_, i64>(0) >= 2);
    assert_eq!(followed.get::<_, i64>(1), purged);
    assert_eq!(followed.get::<_, i64>(2), by_i);
    assert_eq!(followed.get::<_, i64>(3), by_i);
    let v = verify(&dir, &url).unwrap();
    assert!(v.ok && v.purged_kept == 0 && v.extra_count == 0, "{v:?}");
    let again = sync(&dir, &url, &follow).unwrap();
    assert_eq!((again.copied, again.purged_rows_deleted), (0, 0));
}
