//! The index as derived data: rebuilt after deletion or damage into exactly what was
//! built incrementally; never trusted over the journal; correct after a crash at any
//! point between the journal's write and the index's save (including a real kill -9).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;
use tradetrail_query::{Filter, IndexOptions, Investigator, QueryOptions, Source};

fn dir_source(tmp: &Path) -> Source {
    Source::dir(tmp.join("journal"))
}

/// Opens as the CLI does: from the directory, saving whatever it read.
fn open_dir(tmp: &Path) -> Investigator {
    Investigator::open_with(
        dir_source(tmp),
        index_dir(tmp),
        IndexOptions {
            persist: true,
            flush_rows: 1,
        },
        &|_| {},
    )
    .unwrap()
}

/// Every record through the index, checked against the journal's lines.
fn assert_complete(inv: &Investigator, tmp: &Path) {
    let all = lines(&tmp.join("journal"));
    let (got, _) = inv
        .query(&Filter::default(), &QueryOptions::default())
        .unwrap();
    assert_eq!(got.len(), all.len(), "every record is found");
    for r in &got {
        assert_eq!(r.line, all[r.seq as usize]);
    }
    // And a few answers that use every part of the index.
    let values = parse_all(&all);
    for id in IDS {
        let f = Filter {
            mentions: Some((*id).to_owned()),
            ..Filter::default()
        };
        let (got, _) = inv.query(&f, &QueryOptions::default()).unwrap();
        let got: Vec<u64> = got.iter().map(|r| r.seq).collect();
        assert_eq!(got, brute_parsed(&values, &f), "mentions {id}");
    }
    let f = Filter {
        from: Some(T0 + 100 * SEC),
        to: Some(T0 + 900 * SEC),
        types: vec!["order.*".into()],
        ..Filter::default()
    };
    let (got, _) = inv.query(&f, &QueryOptions::default()).unwrap();
    let got: Vec<u64> = got.iter().map(|r| r.seq).collect();
    assert_eq!(got, brute_parsed(&values, &f));
}

/// A journal built in steps with an index that followed it, saving often.
fn built_incrementally(tmp: &Path, seed: u64) -> (tradetrail_journal::Journal, Investigator) {
    let j = create(tmp);
    let mut g = Gen::new(seed);
    let inv = Investigator::open_with(
        Source::live(j.clone()),
        index_dir(tmp),
        IndexOptions {
            persist: true,
            flush_rows: 37,
        },
        &|_| {},
    )
    .unwrap();
    for step in [5u64, 300, 1, 800, 64, 1200, 2] {
        fill(&j, &mut g, step);
        inv.refresh().unwrap();
    }
    (j, inv)
}

#[test]
fn rebuilt_after_deletion_equals_the_incremental_index() {
    let tmp = tempfile::tempdir().unwrap();
    let (_j, inc) = built_incrementally(tmp.path(), 1);
    let incremental = inc.dump().unwrap();
    assert!(inc.status().runs >= 1);
    drop(inc);
    // Reopened as it is: loaded, not rebuilt.
    let again = open_dir(tmp.path());
    assert!(!again.status().opened.rebuilt);
    assert_eq!(again.dump().unwrap(), incremental);
    drop(again);
    std::fs::remove_dir_all(tmp.path().join("index")).unwrap();
    let rebuilt = open_dir(tmp.path());
    assert!(rebuilt.status().opened.rebuilt);
    assert_eq!(rebuilt.dump().unwrap(), incremental);
    assert_complete(&rebuilt, tmp.path());
}

#[test]
fn damaged_index_files_are_rebuilt() {
    let tmp = tempfile::tempdir().unwrap();
    let (_j, inc) = built_incrementally(tmp.path(), 2);
    let good = inc.dump().unwrap();
    drop(inc);
    let idx = index_dir(tmp.path());
    type Damage = Box<dyn Fn(&Path)>;
    let damages: Vec<(&str, Damage)> = vec![
        (
            "short column",
            Box::new(|d: &Path| {
                let p = d.join("combo.col");
                let len = std::fs::metadata(&p).unwrap().len();
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&p)
                    .unwrap()
                    .set_len(len - 4)
                    .unwrap();
            }),
        ),
        (
            "garbage meta",
            Box::new(|d: &Path| std::fs::write(d.join("meta.json"), b"{not json").unwrap()),
        ),
        (
            "missing run",
            Box::new(|d: &Path| {
                for e in std::fs::read_dir(d).unwrap() {
                    let p = e.unwrap().path();
                    if p.extension().is_some_and(|x| x == "post") {
                        std::fs::remove_file(p).unwrap();
                    }
                }
            }),
        ),
        (
            "short dictionary",
            Box::new(|d: &Path| {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(d.join("strings.bin"))
                    .unwrap()
                    .set_len(3)
                    .unwrap();
            }),
        ),
        (
            "other version",
            Box::new(|d: &Path| {
                let p = d.join("meta.json");
                let s = std::fs::read_to_string(&p)
                    .unwrap()
                    .replace("\"version\":2", "\"version\":99");
                std::fs::write(p, s).unwrap();
            }),
        ),
        (
            "wrong last hash",
            Box::new(|d: &Path| {
                let p = d.join("meta.json");
                let mut v: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
                v["last_hash"] = serde_json::json!("00".repeat(32));
                std::fs::write(p, serde_json::to_vec(&v).unwrap()).unwrap();
            }),
        ),
    ];
    for (what, damage) in damages {
        damage(&idx);
        let inv = open_dir(tmp.path());
        let st = inv.status();
        assert!(st.opened.rebuilt, "{what}: rebuilt");
        assert_eq!(inv.dump().unwrap(), good, "{what}");
        assert_complete(&inv, tmp.path());
    }
}

#[test]
fn an_index_of_another_journal_is_not_trusted() {
    let tmp = tempfile::tempdir().unwrap();
    let (_j, inc) = built_incrementally(tmp.path(), 3);
    drop(inc);
    drop(_j);
    // Another journal with as many records or more, where the old one was.
    let other = tempfile::tempdir().unwrap();
    let j2 = create(other.path());
    let mut g = Gen::new(99);
    fill(&j2, &mut g, 3000);
    drop(j2);
    std::fs::remove_dir_all(tmp.path().join("journal")).unwrap();
    std::fs::rename(other.path().join("journal"), tmp.path().join("journal")).unwrap();
    let inv = open_dir(tmp.path());
    assert!(inv.status().opened.rebuilt);
    assert!(inv.status().opened.reason.unwrap().contains("not the one"));
    assert_complete(&inv, tmp.path());
}

#[test]
fn records_written_after_the_last_save_are_read_on_open() {
    // The process died after the journal acknowledged records and before its index
    // read (or saved) them: the next open reads them from the journal.
    let tmp = tempfile::tempdir().unwrap();
    let (j, inc) = built_incrementally(tmp.path(), 4);
    let mut g = Gen::new(44);
    fill(&j, &mut g, 700);
    drop(inc);
    drop(j);
    let inv = open_dir(tmp.path());
    assert!(!inv.status().opened.rebuilt);
    assert_complete(&inv, tmp.path());
}

#[test]
fn an_interrupted_save_leaves_nothing_that_counts() {
    // Bytes an interrupted save appended past what meta.json counts, a run it wrote
    // but never listed, and its temporary meta: ignored, then cleaned by the next save.
    let tmp = tempfile::tempdir().unwrap();
    let (j, inc) = built_incrementally(tmp.path(), 5);
    let good = inc.dump().unwrap();
    drop(inc);
    let idx = index_dir(tmp.path());
    let mut sizes = Vec::new();
    for e in std::fs::read_dir(&idx).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".col") || name.ends_with(".bin") {
            let len = std::fs::metadata(&p).unwrap().len();
            sizes.push((p.clone(), len));
            use std::io::Write;
            std::fs::OpenOptions::new()
                .append(true)
                .open(&p)
                .unwrap()
                .write_all(&[0xAB; 1000])
                .unwrap();
        }
    }
    std::fs::write(idx.join("run-00000000000fffff.post"), [7u8; 160]).unwrap();
    std::fs::write(idx.join("run-00000000000fffff.fence"), [7u8; 8]).unwrap();
    std::fs::write(idx.join("meta.json.tmp"), b"{\"half").unwrap();
    let inv = Investigator::open_with(
        dir_source(tmp.path()),
        &idx,
        IndexOptions {
            persist: true,
            flush_rows: 1,
        },
        &|_| {},
    )
    .unwrap();
    assert!(
        !inv.status().opened.rebuilt,
        "nothing that counts was damaged"
    );
    assert_eq!(inv.dump().unwrap(), good);
    // The next save trims the files and removes the stray run.
    let mut g = Gen::new(55);
    fill(&j, &mut g, 10);
    inv.refresh().unwrap();
    assert_complete(&inv, tmp.path());
    assert!(!idx.join("run-00000000000fffff.post").exists());
    for (p, before) in sizes {
        let now = std::fs::metadata(&p).unwrap().len();
        assert!(now < before + 1000, "{} was trimmed", p.display());
    }
}

#[test]
fn two_processes_share_one_index() {
    // A live follower (a server) and directory readers (CLI calls) take turns saving.
    let tmp = tempfile::tempdir().unwrap();
    let j = create(tmp.path());
    let live = Investigator::open_with(
        Source::live(j.clone()),
        index_dir(tmp.path()),
        IndexOptions {
            persist: true,
            flush_rows: 50,
        },
        &|_| {},
    )
    .unwrap();
    let mut g = Gen::new(6);
    for round in 0..8 {
        fill(&j, &mut g, 130 + round * 17);
        if round % 2 == 0 {
            live.refresh().unwrap();
        }
        let cli = Investigator::open_with(
            dir_source(tmp.path()),
            index_dir(tmp.path()),
            IndexOptions {
                persist: true,
                flush_rows: 1,
            },
            &|_| {},
        )
        .unwrap();
        assert_complete(&cli, tmp.path());
        assert_complete(&live, tmp.path());
    }
    let shared = live.dump().unwrap();
    std::fs::remove_dir_all(tmp.path().join("index")).unwrap();
    assert_eq!(open_dir(tmp.path()).dump().unwrap(), shared);
}

/// The child of `killed_at_random_instants`: appends and keeps a live index saving
/// often, until killed. Runs only when the parent asks for it.
#[test]
fn child_appends_and_indexes_until_killed() {
    let Ok(dir) = std::env::var("TRADETRAIL_QUERY_CHILD_DIR") else {
        return;
    };
    let tmp = Path::new(&dir);
    let j = tradetrail_journal::Journal::open(&tmp.join("journal"), opts())
        .unwrap()
        .0;
    let inv = Investigator::open_with(
        Source::live(j.clone()),
        index_dir(tmp),
        IndexOptions {
            persist: true,
            flush_rows: 20,
        },
        &|_| {},
    )
    .unwrap();
    let mut g = Gen::new(std::process::id() as u64);
    // The parent kills it within a second; should the parent die first, stop anyway
    // rather than fill the disk.
    let parent = std::os::unix::process::parent_id();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline && std::os::unix::process::parent_id() == parent {
        let n = 1 + g.below(60);
        fill(&j, &mut g, n);
        inv.refresh().unwrap();
    }
}

#[test]
fn killed_at_random_instants() {
    let tmp = tempfile::tempdir().unwrap();
    drop(create(tmp.path()));
    let rounds: u64 = std::env::var("TRADETRAIL_QUERY_KILL_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let mut g = Gen::new(8);
    for round in 0..rounds {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "child_appends_and_indexes_until_killed",
                "--exact",
                "--nocapture",
            ])
            .env("TRADETRAIL_QUERY_CHILD_DIR", tmp.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(150 + g.below(400)));
        child.kill().unwrap();
        child.wait().unwrap();
        // Reopen the journal as the writer would (cutting a torn tail), then query.
        drop(
            tradetrail_journal::Journal::open(&tmp.path().join("journal"), opts())
                .unwrap()
                .0,
        );
        let inv = open_dir(tmp.path());
        assert_complete(&inv, tmp.path());
        let kept = inv.dump().unwrap();
        drop(inv);
        std::fs::remove_dir_all(tmp.path().join("index")).unwrap();
        let rebuilt = open_dir(tmp.path());
        assert_eq!(rebuilt.dump().unwrap(), kept, "round {round}");
    }
}

/// A rotation cut short by a crash leaves an empty segment file named for the next
/// record. Catching up must stop there (it once spun on it for ever), and take the
/// records once they are written into it.
#[test]
fn an_empty_last_segment_is_the_end_not_a_loop() {
    let tmp = tempfile::tempdir().unwrap();
    let j = create(tmp.path());
    let mut g = Gen::new(11);
    fill(&j, &mut g, 200);
    let next = j.status().unwrap().records;
    drop(j);
    let empty = tmp
        .path()
        .join("journal")
        .join(tradetrail_journal::segment_file_name(next));
    std::fs::write(&empty, b"").unwrap();
    let root = tmp.path().to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let inv = open_dir(&root);
        assert_complete(&inv, &root);
        tx.send(inv.status().rows).unwrap();
    });
    let indexed = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("catching up over an empty last segment must finish");
    assert_eq!(indexed, next);
    // The journal opens over it and goes on writing into it; the index follows.
    let j = tradetrail_journal::Journal::open(&tmp.path().join("journal"), opts())
        .unwrap()
        .0;
    fill(&j, &mut g, 30);
    drop(j);
    let inv = open_dir(tmp.path());
    assert_complete(&inv, tmp.path());
    assert_eq!(inv.status().rows, next + 30);
}
