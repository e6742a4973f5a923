//! A repair that a crash interrupts between its cut and its `journal.repaired` record
//! is recorded by the next open: the journal never loses records without saying so.

use std::path::{Path, PathBuf};

use tradetrail_core::{DataDir, InitOptions, Recorder};
use tradetrail_model::Event;
use tradetrail_store::{repair, Repair, Store, REPAIRED_TYPE};

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

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A data directory of 5 events whose record 3 was altered.
fn damaged(root: &Path) -> DataDir {
    let dir = DataDir::new(root.join("data"));
    let rec = Recorder::init(&dir, InitOptions::default()).unwrap();
    for i in 0..5 {
        let e = Event::new("custom.tick", i, "test", "system").with_data("i", i);
        rec.record(&e).unwrap();
    }
    drop(rec);
    let seg = segment(&dir);
    let text = std::fs::read_to_string(&seg)
        .unwrap()
        .replacen("\"i\":2", "\"i\":9", 1);
    std::fs::write(&seg, text).unwrap();
    dir
}

#[test]
fn a_repair_interrupted_before_its_record_is_recorded_by_the_next_open() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = damaged(tmp.path());
    assert!(Store::open(&dir).unwrap_err().is_damage());
    let ask = Repair {
        keep_through: 2,
        actor: "operator:alice".into(),
        reason: "record 3 altered; no backup".into(),
    };
    let (repaired, receipt) = repair(&dir, &ask).unwrap();
    assert_eq!(receipt.seq, 3);
    let seg = segment(&dir);
    let after = lines(&seg);
    let record = after.last().unwrap().clone();
    assert!(record.contains(REPAIRED_TYPE), "{record}");

    // The state a crash after the cut leaves: the journal ends at record 2, the copy
    // is aside, and the note of the record to make is there (its body is the
    // record's body).
    let body = format!("{{{}", &record[record.find("\"type\":").unwrap()..]);
    let kept_at = repaired.kept_at.file_name().unwrap().to_string_lossy();
    let stem = kept_at.strip_suffix(".jsonl").unwrap();
    let note = dir
        .root()
        .join("repaired")
        .join(format!("{stem}.pending.json"));
    std::fs::write(&note, &body).unwrap();
    let cut: String = after[..after.len() - 1]
        .iter()
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&seg, cut).unwrap();

    // `verify` (read-only) names the note.
    let v = tradetrail_store::verify(&dir, &|_| {}, &|_, _| {}).unwrap();
    assert!(
        v.warnings
            .iter()
            .any(|w| w.contains("pending.json") && w.contains("interrupted")),
        "{:?}",
        v.warnings
    );
    // The next open records it, once, and the journal verifies.
    let store = Store::open(&dir).unwrap();
    let st = store.recorder().journal().status().unwrap();
    assert_eq!(st.records, 4, "records 0..=2 and the repair record");
    drop(store);
    assert!(!note.exists(), "the note is removed once recorded");
    let now = lines(&segment(&dir));
    let last = now.last().unwrap();
    assert!(last.contains(REPAIRED_TYPE), "{last}");
    assert_eq!(
        &last[last.find("\"type\":").unwrap()..],
        &body[1..],
        "the record written down before the cut"
    );
    let v = tradetrail_store::verify(&dir, &|_| {}, &|_, _| {}).unwrap();
    assert!(v.ok && v.warnings.is_empty(), "{v:?}");
    // Opening again adds nothing.
    drop(Store::open(&dir).unwrap());
    assert_eq!(lines(&segment(&dir)).len(), now.len());
}

#[test]
fn a_note_whose_cut_never_happened_is_dropped_and_a_damaged_journal_keeps_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = damaged(tmp.path());
    // A crash before the cut: the note is there, the journal is still damaged.
    let folder = dir.root().join("repaired");
    std::fs::create_dir_all(&folder).unwrap();
    let note = folder.join("1-after-2.pending.json");
    std::fs::write(
        &note,
        br#"{"type":"journal.repaired","ts_event":1,"source":"tradetrail","actor":"operator:a","data":{"truncated_after":2}}"#,
    )
    .unwrap();
    assert!(Store::open(&dir).unwrap_err().is_damage());
    assert!(note.exists(), "kept while the journal is damaged");
    // The repair itself runs and records once; the stale note is then dropped by the
    // next open (the journal goes on past record 2).
    let ask = Repair {
        keep_through: 2,
        actor: "operator:alice".into(),
        reason: "record 3 altered".into(),
    };
    repair(&dir, &ask).unwrap();
    drop(Store::open(&dir).unwrap());
    assert!(!note.exists());
    let repaired_records = lines(&segment(&dir))
        .iter()
        .filter(|l| l.contains(REPAIRED_TYPE))
        .count();
    assert_eq!(repaired_records, 1);
}
