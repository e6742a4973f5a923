//! `follow` (what `pg sync --follow` and `serve --pg-url` run) against a real
//! PostgreSQL that is stopped and started under it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tradetrail_core::{DataDir, InitOptions, Recorder};
use tradetrail_journal::{for_each_line_with, FsStorage};
use tradetrail_model::Event;
use tradetrail_pg::testing::TempCluster;
use tradetrail_pg::{connect, follow, init, Error, FollowOptions, Pass, Roles, SyncOptions};
use tradetrail_store::Store;

fn journal(n: usize) -> (tempfile::TempDir, DataDir) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path().join("data"));
    Recorder::init(&dir, InitOptions::default()).unwrap();
    append(&dir, 0, n);
    (tmp, dir)
}

fn append(dir: &DataDir, from: usize, n: usize) {
    let store = Store::open(dir).unwrap();
    for i in from..from + n {
        let ev = Event::new(
            "param.changed",
            1_795_700_000_000_000_000 + i as i64,
            "meta",
            "algo:m1",
        )
        .with_data("name", format!("k{i}"))
        .with_data("old_value", "2")
        .with_data("new_value", "3")
        .with_data("reason", "regime");
        store.recorder().record(&ev).unwrap();
    }
}

fn lines(dir: &DataDir) -> Vec<(i64, String)> {
    let mut v = Vec::new();
    for_each_line_with(&FsStorage, &dir.journal(), None, 0, None, |seq, l| {
        v.push((seq as i64, String::from_utf8(l.to_vec()).unwrap()));
        Ok(true)
    })
    .unwrap();
    v
}

fn mirror(url: &str) -> Option<Vec<(i64, String)>> {
    let mut c = connect(url).ok()?;
    let rows = c
        .query("SELECT seq, line FROM tradetrail.events ORDER BY seq", &[])
        .ok()?;
    Some(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Waits (at most a minute: a bound, not a measurement) until `cond` holds.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < end, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[derive(Default)]
struct Heard {
    synced: Vec<u64>,
    failed: Vec<String>,
}

#[test]
fn the_mirror_follows_the_journal_through_a_database_outage() {
    let Some(pg) = TempCluster::start().unwrap() else {
        return;
    };
    let url = pg.url();
    init(&url, &Roles::default()).unwrap();
    let (_tmp, dir) = journal(30);

    let stop = Arc::new(AtomicBool::new(false));
    let heard = Arc::new(Mutex::new(Heard::default()));
    let follower = {
        let (dir, url, stop, heard) = (dir.clone(), url.clone(), stop.clone(), heard.clone());
        std::thread::spawn(move || {
            let opts = FollowOptions {
                sync: SyncOptions {
                    batch: 16,
                    ..SyncOptions::default()
                },
                interval: Duration::from_millis(20),
                max_backoff: Duration::from_millis(200),
            };
            follow(&dir, &url, &opts, &stop, &mut |p| {
                let mut h = heard.lock().unwrap();
                match p {
                    Pass::Synced(r) => h.synced.push(r.copied),
                    Pass::Failed { error, .. } => h.failed.push(error.to_string()),
                }
            })
        })
    };
    wait_for("the first 31 records", || {
        mirror(&url).map(|m| m.len()) == Some(31)
    });

    // Appends go on while the database is down; the follower keeps failing and
    // retrying, then copies everything once it is back.
    pg.stop().unwrap();
    append(&dir, 30, 40);
    wait_for("a failed pass", || !heard.lock().unwrap().failed.is_empty());
    pg.restart().unwrap();
    append(&dir, 70, 5);
    wait_for("the last record", || {
        mirror(&url).map(|m| m.len()) == Some(76)
    });

    stop.store(true, Ordering::Relaxed);
    follower.join().unwrap().unwrap();
    assert_eq!(mirror(&url).unwrap(), lines(&dir));
    let h = heard.lock().unwrap();
    assert!(
        h.failed.iter().all(|e| e.contains("PostgreSQL")),
        "{:?}",
        h.failed
    );
    // The test cluster runs with synchronous_commit off, so a stop "as if it crashed"
    // may lose the last commits; the follower copies those rows again from the
    // mirror's real last row. The mirror above is still the journal, exactly.
    assert!(h.synced.iter().sum::<u64>() >= 76);
}

#[test]
fn a_mirror_of_another_journal_ends_the_follower() {
    let Some(pg) = TempCluster::start().unwrap() else {
        return;
    };
    let url = pg.url();
    init(&url, &Roles::default()).unwrap();
    let (_a, first) = journal(5);
    tradetrail_pg::sync(&first, &url, &SyncOptions::default()).unwrap();
    let (_b, other) = journal(8);
    let stop = AtomicBool::new(false);
    let mut passes = 0;
    let err = follow(&other, &url, &FollowOptions::default(), &stop, &mut |_| {
        passes += 1
    })
    .unwrap_err();
    assert!(matches!(err, Error::Diverged { seq: 5, .. }), "{err}");
    assert_eq!(passes, 0, "damage is not retried");
}
