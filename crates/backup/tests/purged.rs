//! Backup and restore of a data directory whose archive has purged ranges: the
//! chain and the Merkle tree are bridged across each purge by its tombstone, the
//! restore verifies, and a tombstone with an altered subtree hash is refused.

#[path = "../../archive/tests/common/mod.rs"]
mod common;

use std::sync::Arc;

use common::*;
use tradetrail_archive::{
    apply, archive, archive_dir, verify_all, ArchiveIndex, ArchiveLines, ArchiveOptions, Manifest,
    MANIFEST_FILE,
};
use tradetrail_backup::{backup, restore, BackupOptions, LocalStore, RestoreOptions, Store};
use tradetrail_core::checkpoints::{check_against, take_checkpoint, verifier_key};
use tradetrail_core::{DataDir, Recorder, Tree};

/// Three days, the middle one purged; a checkpoint before the purge and one after.
/// Returns the fixture, the purged range, the note taken before the purge.
fn purged() -> (Fixture, (u64, u64), String) {
    let f = Fixture::new();
    f.write_day(0, 120, |i, ts| order(i, ts, "T-1"));
    f.write_day(1, 140, |i, ts| custom(i, ts, "T-2"));
    f.write_day(2, 120, |i, ts| order(1000 + i, ts, "T-3"));
    f.seal_until(400);
    archive(&f.dir, &ArchiveOptions::default(), &mut |_, _| {}).unwrap();
    let before = take_checkpoint(&f.open()).unwrap().note;
    set_retention(&f.dir, "90d", &[("order.*", "6y"), ("custom.*", "30d")]);
    let done = apply(&f.open(), "operator:test").unwrap();
    assert!(done.purge_record.is_some());
    let day = &done.plan.purge[0];
    take_checkpoint(&f.open()).unwrap();
    (f, (day.first_seq, day.last_seq), before)
}

fn with_cold(dir: &DataDir) -> Recorder {
    let cold = ArchiveLines::open(dir).unwrap().expect("an archive");
    Recorder::open(dir)
        .unwrap()
        .0
        .with_cold(Some(Arc::new(cold)))
}

#[test]
fn a_purged_data_dir_backs_up_restores_and_verifies() {
    let (f, (first, last), note) = purged();
    let tmp = tempfile::tempdir().unwrap();
    let store = LocalStore::new(tmp.path().join("bk"));
    let m = backup(&f.dir, &store, &BackupOptions::default(), &|_, _| {}).unwrap();
    let (root, size) = {
        let rec = with_cold(&f.dir);
        let (tree, _) = Tree::load(&rec).unwrap();
        (tree.root(), tree.size())
    };
    assert_eq!(m.records, size);
    assert_eq!(m.root, root.to_string());
    let cp = m
        .checkpoint
        .as_ref()
        .expect("the checkpoint after the purge");
    assert!(cp.size > last);

    let dest = tmp.path().join("restored");
    let r = restore(&store, &dest, &RestoreOptions::default(), &|_, _| {}).unwrap();
    assert_eq!(r.records, size);
    assert_eq!(r.purged_records, last - first + 1);
    assert_eq!(r.checkpoints_checked, 2);
    assert_eq!(r.checkpoint.as_ref().map(|c| c.0), Some(cp.size));

    // The restored directory verifies, rebuilds its tree to the same root, and the
    // checkpoint from before the purge still checks out.
    let rdir = DataDir::new(&dest);
    let v = verify_all(&rdir, &|_| {}).unwrap();
    assert!(v.ok(), "{v:#?}");
    let rec = with_cold(&rdir);
    let (tree, _) = Tree::load(&rec).unwrap();
    assert_eq!((tree.size(), tree.root()), (size, root));
    assert!(tree.prove_inclusion(first, None).is_err());
    assert!(tree.prove_inclusion(last + 1, None).is_ok());
    let origin = tradetrail_core::Config::load(&rdir.config())
        .unwrap()
        .origin;
    let check = check_against(
        &rdir,
        &origin,
        &note,
        &verifier_key(&rdir).unwrap(),
        rec.cold(),
    )
    .unwrap();
    assert!(check.ok, "{check:?}");
    assert_eq!(check.purged, last - first + 1);
}

/// The first tombstone with subtrees: its manifest's path and an altered copy of it.
fn altered_manifest(dir: &DataDir) -> (std::path::PathBuf, Vec<u8>) {
    let idx = ArchiveIndex::load(&archive_dir(dir)).unwrap();
    let part = idx
        .partitions
        .iter()
        .find(|p| !p.manifest.subtrees.is_empty())
        .expect("a partition with tombstones");
    let path = part.dir.join(MANIFEST_FILE);
    let mut m = Manifest::load(&path).unwrap();
    let blocks = m.subtrees.values_mut().next().unwrap();
    let last = blocks.len() - 1;
    blocks[last].hash.0[31] ^= 0x80;
    let mut text = serde_json::to_vec_pretty(&m).unwrap();
    text.push(b'\n');
    (path, text)
}

#[test]
fn a_tombstone_with_an_altered_subtree_is_refused() {
    let (f, _, _) = purged();
    let tmp = tempfile::tempdir().unwrap();

    // In the backup: the manifest object swapped, its entry updated to match.
    let store = LocalStore::new(tmp.path().join("bk"));
    backup(&f.dir, &store, &BackupOptions::default(), &|_, _| {}).unwrap();
    let (path, text) = altered_manifest(&f.dir);
    let rel = path
        .strip_prefix(f.dir.root())
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let mbytes = store.get("manifest.json").unwrap().unwrap();
    let mut m = tradetrail_backup::Manifest::parse(&mbytes).unwrap();
    let e = m.files.iter_mut().find(|e| e.path == rel).unwrap();
    e.object = "data/altered".into();
    e.bytes = text.len() as u64;
    e.sha256 = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(&text))
    };
    store.put("data/altered", &text).unwrap();
    store
        .put("manifest.json", &serde_json::to_vec_pretty(&m).unwrap())
        .unwrap();
    let dest = tmp.path().join("restored");
    let err = restore(&store, &dest, &RestoreOptions::default(), &|_, _| {}).unwrap_err();
    assert!(
        err.to_string().contains("do not give the Merkle root"),
        "{err}"
    );
    assert!(!dest.exists());

    // In the source: the backup is refused.
    std::fs::write(&path, &text).unwrap();
    let store2 = LocalStore::new(tmp.path().join("bk2"));
    let err = backup(&f.dir, &store2, &BackupOptions::default(), &|_, _| {}).unwrap_err();
    assert!(
        err.to_string().contains("do not give the Merkle root"),
        "{err}"
    );
}
