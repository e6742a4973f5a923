//! Backups of a journal that is being written: the copy ends on a record boundary,
//! restores, verifies, and is a prefix of the journal.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tradetrail_backup::{backup, restore, BackupOptions, LocalStore, RestoreOptions, Store};
use tradetrail_core::{DataDir, InitOptions, Recorder};
use tradetrail_journal::{Durability, Entry};

fn body(i: u64) -> Vec<u8> {
    format!(
        r#"{{"type":"custom.live","ts_event":{},"source":"test","actor":"system","data":{{"i":{i},"pad":"{}"}}}}"#,
        1_795_000_000_000_000_000u64 + i,
        "x".repeat(40)
    )
    .into_bytes()
}

fn init(tmp: &std::path::Path) -> (DataDir, Recorder) {
    let dir = DataDir::new(tmp.join("data"));
    let rec = Recorder::init(
        &dir,
        InitOptions {
            origin: Some("test/live".into()),
            segment_max_bytes: Some(8192),
            created_at: None,
        },
    )
    .unwrap();
    (dir, rec)
}

/// All journal bytes, concatenated in segment order.
fn journal_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut names: Vec<_> = std::fs::read_dir(dir.join("journal"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".jsonl"))
        .collect();
    names.sort();
    names
        .iter()
        .flat_map(|n| std::fs::read(dir.join("journal").join(n)).unwrap())
        .collect()
}

#[test]
fn a_torn_last_line_is_left_out_of_the_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, rec) = init(tmp.path());
    for i in 0..20 {
        rec.journal()
            .append(Entry::new(body(i), Durability::Os).unwrap())
            .unwrap();
    }
    tradetrail_core::checkpoints::take_checkpoint(&rec).unwrap();
    let records = rec.journal().status().unwrap().records;
    drop(rec);
    // A write in progress: half a line at the end of the active segment.
    let segs =
        tradetrail_journal::list_segments(&tradetrail_journal::FsStorage, &dir.journal()).unwrap();
    let active = &segs.last().unwrap().path;
    let whole = std::fs::read(active).unwrap();
    let mut torn = whole.clone();
    torn.extend_from_slice(br#"{"seq":999,"ts_reco"#);
    std::fs::write(active, &torn).unwrap();

    let store = LocalStore::new(tmp.path().join("bk"));
    let m = backup(&dir, &store, &BackupOptions::default(), &|_, _| {}).unwrap();
    assert_eq!(m.records, records);
    let name = format!("journal/{}", active.file_name().unwrap().to_string_lossy());
    let entry = m.file(&name).unwrap();
    assert_eq!(entry.sealed, Some(false));
    assert_eq!(entry.bytes, whole.len() as u64);
    assert_eq!(store.get(&entry.object).unwrap().unwrap(), whole);

    let dest = tmp.path().join("restored");
    let r = restore(&store, &dest, &RestoreOptions::default(), &|_, _| {}).unwrap();
    assert_eq!(r.records, records);
    let v = tradetrail_journal::verify(
        &tradetrail_journal::FsStorage,
        &dest.join("journal"),
        &|_| {},
    )
    .unwrap();
    assert!(v.ok && v.warnings.is_empty(), "{v:?}");
}

#[test]
fn backups_taken_while_appending_restore_to_a_verified_prefix() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, rec) = init(tmp.path());
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let rec = rec.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) || i < 200 {
                rec.journal()
                    .append(Entry::new(body(i), Durability::Os).unwrap())
                    .unwrap();
                if i % 97 == 0 {
                    tradetrail_core::checkpoints::take_checkpoint(&rec).unwrap();
                }
                i += 1;
                if i > 20_000 {
                    break;
                }
            }
        })
    };
    let store = LocalStore::new(tmp.path().join("bk"));
    let mut sizes = Vec::new();
    for _ in 0..5 {
        let m = backup(&dir, &store, &BackupOptions::default(), &|_, _| {}).unwrap();
        if let Some(c) = &m.checkpoint {
            assert!(c.size <= m.records);
        }
        sizes.push(m.records);
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert!(sizes.windows(2).all(|w| w[0] <= w[1]), "{sizes:?}");

    let dest = tmp.path().join("restored");
    let r = restore(&store, &dest, &RestoreOptions::default(), &|_, _| {}).unwrap();
    assert_eq!(r.records, *sizes.last().unwrap());
    // The restored journal is exactly the start of the live one.
    let restored = journal_bytes(&dest);
    let live = journal_bytes(dir.root());
    assert!(restored.len() <= live.len());
    assert_eq!(restored[..], live[..restored.len()]);
}
