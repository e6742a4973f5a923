//! The read door: `Store::open_read` checks what `Store::open` checks — the journal
//! failing closed, record 0's origin, the newest signed checkpoint — without the
//! journal's lock and without changing anything in the data directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tradetrail_core::checkpoints::take_checkpoint;
use tradetrail_core::{DataDir, InitOptions, Recorder};
use tradetrail_model::Event;
use tradetrail_store::{Error, Store};

fn tick(i: i64) -> Event {
    Event::new(
        "custom.tick",
        1_795_700_000_000_000_000 + i,
        "test",
        "system",
    )
    .with_data("i", i)
}

/// A data directory of records 0..=6, a checkpoint of size 7 (record 7 notes it) and
/// two records more: 10 records.
fn recorded(root: &Path) -> DataDir {
    let dir = DataDir::new(root.join("data"));
    let rec = Recorder::init(&dir, InitOptions::default()).unwrap();
    drop(rec);
    let store = Store::open(&dir).unwrap();
    for i in 1..7 {
        store.recorder().record(&tick(i)).unwrap();
    }
    assert_eq!(take_checkpoint(store.recorder()).unwrap().size, 7);
    for i in 7..9 {
        store.recorder().record(&tick(i)).unwrap();
    }
    dir
}

fn segment(dir: &DataDir) -> PathBuf {
    let mut segs: Vec<PathBuf> = std::fs::read_dir(dir.journal())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    segs.sort();
    assert_eq!(segs.len(), 1, "{segs:?}");
    segs.remove(0)
}

/// Every file under `root`, with the SHA-256 of its bytes; but the read door's memo
/// (`index/read-door.json`, derived data like the query index).
fn files(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else if !p.ends_with("index/read-door.json") {
                let bytes = std::fs::read(&p).unwrap();
                out.insert(p, tradetrail_journal::RecordHash::of_line(&bytes).to_hex());
            }
        }
    }
    out
}

#[test]
fn a_journal_rewritten_under_a_signed_checkpoint_is_refused_as_the_writer_refuses_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = recorded(tmp.path());
    let read = Store::open_read(&dir).unwrap();
    assert_eq!(read.found().records, 10);

    // Record 3 rewritten, every later prev recomputed: the chain holds, the
    // checkpoint of size 7 does not.
    let seg = segment(&dir);
    let forged = tradetrail_testkit::forge::rewrite_record(
        &std::fs::read(&seg).unwrap(),
        3,
        "\"i\":3",
        "\"i\":4",
    );
    std::fs::write(&seg, &forged).unwrap();

    // The reader first (the stored tree no longer matches: it hashes the records in
    // memory), then the writer's door, which rebuilds its stored tree under
    // DIR/index/merkle as it checks, then the reader again, from that tree.
    let first = Store::open_read(&dir).unwrap_err();
    let writer = Store::open(&dir).unwrap_err();
    assert_eq!(first.to_string(), writer.to_string());
    let before = files(dir.root());
    let reader = Store::open_read(&dir).unwrap_err();
    assert!(
        matches!(
            reader,
            Error::Core(tradetrail_core::Error::Contradicts { size: 7, .. })
        ),
        "{reader}"
    );
    assert_eq!(reader.to_string(), writer.to_string());
    assert!(reader.is_damage());
    assert!(
        reader
            .to_string()
            .contains("records below seq 7 were changed"),
        "{reader}"
    );
    // The reporting variant hands the same refusal back beside the store.
    let (read, refused) = Store::open_read_reporting(&dir).unwrap();
    assert_eq!(refused.unwrap().to_string(), writer.to_string());
    assert_eq!(read.data_dir().root(), dir.root());
    assert_eq!(files(dir.root()), before, "nothing was changed");
}

#[test]
fn an_altered_record_and_a_foreign_configuration_are_refused_as_the_writer_refuses_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = recorded(tmp.path());
    let seg = segment(&dir);
    let intact = std::fs::read(&seg).unwrap();
    // Record 8 altered, its successor's prev left as it was.
    let text = String::from_utf8(intact.clone()).unwrap();
    std::fs::write(&seg, text.replacen("\"i\":7", "\"i\":5", 1)).unwrap();
    let writer = Store::open(&dir).unwrap_err();
    let reader = Store::open_read(&dir).unwrap_err();
    assert!(reader.is_damage(), "{reader}");
    assert_eq!(reader.to_string(), writer.to_string());
    assert!(reader.to_string().contains("damaged at seq 8"), "{reader}");

    // A configuration copied from another data directory.
    std::fs::write(&seg, &intact).unwrap();
    let cfg = std::fs::read_to_string(dir.config()).unwrap();
    let origin = Store::open_read(&dir).unwrap().config().origin.clone();
    std::fs::write(dir.config(), cfg.replace(&origin, "test.example/theirs")).unwrap();
    let writer = Store::open(&dir).unwrap_err();
    let reader = Store::open_read(&dir).unwrap_err();
    assert_eq!(reader.to_string(), writer.to_string());
    assert!(reader.to_string().contains("another journal"), "{reader}");

    // Not a data directory at all.
    let none = DataDir::new(tmp.path().join("nothing"));
    let e = Store::open_read(&none).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Core(tradetrail_core::Error::NotInitialized { .. })
        ),
        "{e}"
    );
}

#[test]
fn it_reads_beside_a_recorder_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = recorded(tmp.path());
    // A recorder holds the directory (its lock) and carries on recording.
    let store = Store::open(&dir).unwrap();
    assert!(matches!(
        Store::open(&dir).unwrap_err(),
        Error::Core(tradetrail_core::Error::Journal(
            tradetrail_journal::Error::Locked { .. }
        ))
    ));
    store.recorder().record(&tick(9)).unwrap();
    // Without the stored Merkle tree, the guard hashes the records in memory and
    // writes no tree back.
    std::fs::remove_dir_all(dir.index()).unwrap();
    let before = files(dir.root());
    let read = Store::open_read(&dir).unwrap();
    assert_eq!(read.found().records, 11);
    assert_eq!(files(dir.root()), before, "opening changed nothing");
    assert!(!dir.index().join("merkle").exists());
    let inv = read.investigator().unwrap();
    assert_eq!(inv.status().rows, 11);
    assert_eq!(read.tree().unwrap().size(), 11);
    // The recorder was not disturbed.
    assert_eq!(store.recorder().record(&tick(10)).unwrap().seq, 11);
    drop(store);

    // An unfinished last line (a write in progress, or cut short) is left in place
    // and not read; a writer cuts it.
    let seg = segment(&dir);
    let mut bytes = std::fs::read(&seg).unwrap();
    let whole = bytes.len();
    bytes.extend_from_slice(br#"{"seq":12,"ts_recorded":17"#);
    std::fs::write(&seg, &bytes).unwrap();
    let read = Store::open_read(&dir).unwrap();
    assert_eq!(read.found().records, 12);
    assert_eq!(read.found().partial_bytes, (bytes.len() - whole) as u64);
    assert_eq!(read.found().truncated_bytes, 0);
    assert_eq!(std::fs::read(&seg).unwrap(), bytes);
    let store = Store::open(&dir).unwrap();
    assert_eq!(
        store.recovery().truncated_bytes,
        (bytes.len() - whole) as u64
    );
}

/// After a full check the door remembers where the journal ended; later opens read
/// only the records appended since (and the last one checked), and anything but an
/// append sends them back to the full check, which refuses as the writer does.
#[test]
fn later_opens_check_only_what_was_appended_and_a_rewrite_is_still_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = recorded(tmp.path());
    let first = Store::open_read(&dir).unwrap();
    assert!(
        first.found().scanned_bytes > 0,
        "the first open checks fully"
    );
    assert!(dir.index().join("read-door.json").exists());
    let again = Store::open_read(&dir).unwrap();
    assert_eq!(
        again.found().scanned_bytes,
        0,
        "nothing new: nothing read again"
    );
    assert_eq!(again.found().records, 10);

    // Appended by a recorder: the new records are checked, nothing before them.
    let store = Store::open(&dir).unwrap();
    for i in 9..12 {
        store.recorder().record(&tick(i)).unwrap();
    }
    let grown = Store::open_read(&dir).unwrap();
    assert_eq!(grown.found().records, 13);
    assert_eq!(grown.found().scanned_bytes, 0);
    drop(store);

    // Record 3 rewritten under the checkpoint of size 7 and the chain recomputed:
    // the last record is no longer the one checked, so the door checks fully.
    let seg = segment(&dir);
    let intact = std::fs::read(&seg).unwrap();
    let forged = tradetrail_testkit::forge::rewrite_record(&intact, 3, "\"i\":3", "\"i\":4");
    std::fs::write(&seg, &forged).unwrap();
    let reader = Store::open_read(&dir).unwrap_err();
    let writer = Store::open(&dir).unwrap_err();
    assert_eq!(reader.to_string(), writer.to_string());
    assert!(
        matches!(
            reader,
            Error::Core(tradetrail_core::Error::Contradicts { size: 7, .. })
        ),
        "{reader}"
    );

    // A record appended after the last one checked that does not continue its chain.
    std::fs::write(&seg, &intact).unwrap();
    assert_eq!(Store::open_read(&dir).unwrap().found().records, 13);
    let text = String::from_utf8(intact.clone()).unwrap();
    let last = text.trim_end().rsplit('\n').next().unwrap().to_string();
    let mut bad = intact.clone();
    bad.extend_from_slice(last.replacen("\"seq\":12", "\"seq\":13", 1).as_bytes());
    bad.push(b'\n');
    std::fs::write(&seg, &bad).unwrap();
    let reader = Store::open_read(&dir).unwrap_err();
    assert!(reader.is_damage(), "{reader}");
    assert_eq!(
        reader.to_string(),
        Store::open(&dir).unwrap_err().to_string()
    );
}
