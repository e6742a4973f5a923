//! A retention purge keeps the Merkle subtrees of what it removes: the tree rebuilds
//! across the gap with the same roots and proofs for everything that remains, a
//! checkpoint taken before the purge still verifies, proofs about purged records
//! are refused, and a tombstone whose subtrees were altered is caught.

mod common;

use std::sync::Arc;

use common::*;
use tradetrail_archive::{
    apply, archive, archive_dir, verify_all, ArchiveLines, ArchiveOptions, Manifest, MANIFEST_FILE,
};
use tradetrail_checkpoint::{sign, Checkpoint, KeyPair};
use tradetrail_core::checkpoints::{check_against, take_checkpoint, verifier_key};
use tradetrail_core::{Error, Recorder, Tree};
use tradetrail_journal::ColdLines;
use tradetrail_merkle::{ConsistencyProof, Hash, InclusionProof, MerkleLog};

struct Purged {
    f: Fixture,
    /// Records `first..=last` were purged.
    first: u64,
    last: u64,
    /// The checkpoint taken before the purge, and its size.
    note: String,
    cp_size: u64,
    /// Roots at every size before the purge (index = size).
    roots: Vec<Hash>,
}

fn cold(f: &Fixture) -> Arc<dyn ColdLines> {
    Arc::new(ArchiveLines::open(&f.dir).unwrap().expect("an archive"))
}

fn open(f: &Fixture) -> Recorder {
    f.open().with_cold(Some(cold(f)))
}

fn origin(f: &Fixture) -> String {
    tradetrail_core::Config::load(&f.dir.config())
        .unwrap()
        .origin
}

/// Seqs the proofs below are compared at: around every boundary of the purged run.
fn probes(p: &Purged, size: u64) -> Vec<u64> {
    let mut v = vec![0, 1, 2, 3, p.first.saturating_sub(2), p.first - 1];
    v.extend([p.last + 1, p.last + 2, p.last + 7, size - 2, size - 1]);
    v.retain(|&s| s < size && (s < p.first || s > p.last));
    v.sort_unstable();
    v.dedup();
    v
}

/// Day 0 orders, day 1 logs (purged), day 2 orders; a checkpoint before the purge.
fn purged() -> Purged {
    let f = Fixture::new();
    f.write_day(0, 150, |i, ts| order(i, ts, "T-1"));
    f.write_day(1, 170, |i, ts| custom(i, ts, "T-2"));
    f.write_day(2, 150, |i, ts| order(1000 + i, ts, "T-3"));
    f.seal_until(400);
    archive(&f.dir, &ArchiveOptions::default(), &mut |_, _| {}).unwrap();
    let taken = take_checkpoint(&f.open()).unwrap();
    let (tree, _) = Tree::load(&f.open()).unwrap();
    let roots: Vec<Hash> = (0..=tree.size())
        .map(|s| tree.root_at(s).unwrap())
        .collect();
    drop(tree);
    set_retention(&f.dir, "90d", &[("order.*", "6y"), ("custom.*", "30d")]);
    let done = apply(&f.open(), "operator:test").unwrap();
    assert!(done.purge_record.is_some(), "day 1 is purged");
    assert_eq!(done.plan.purge.len(), 1);
    let day = &done.plan.purge[0];
    assert!(day.files.len() >= 2, "the purged day spans several files");
    Purged {
        first: day.first_seq,
        last: day.last_seq,
        note: taken.note,
        cp_size: taken.size,
        roots,
        f,
    }
}

/// The proofs of `tree` at `size` for the probes, and consistency proofs between
/// sizes outside the purged run.
fn proofs(p: &Purged, tree: &Tree, size: u64) -> (Vec<InclusionProof>, Vec<ConsistencyProof>) {
    let inc = probes(p, size)
        .into_iter()
        .map(|s| tree.prove_inclusion(s, Some(size)).unwrap())
        .collect();
    let sizes = [1, p.first - 1, p.first, p.last + 1, p.last + 2, size];
    let mut cons = Vec::new();
    for &old in &sizes {
        for &new in sizes.iter().filter(|&&n| n >= old && n <= size) {
            cons.push(tree.prove_consistency(old, Some(new)).unwrap());
        }
    }
    (inc, cons)
}

#[test]
fn the_tree_rebuilds_across_a_purge_with_the_same_roots_and_proofs() {
    let p = purged();
    let f = &p.f;
    let c = verify_all(&f.dir, &|_| {}).unwrap();
    assert!(c.ok(), "{c:#?}");
    let a = c.archive.as_ref().unwrap();
    assert_eq!(a.purged_records, p.last - p.first + 1);
    assert_eq!(a.purged_with_subtrees, a.purged_records);

    // The purge record and the tombstones hold the subtrees.
    let idx = tradetrail_archive::ArchiveIndex::load(&archive_dir(&f.dir)).unwrap();
    let purges = tradetrail_archive::purge_records(&f.dir, &idx).unwrap();
    let (_, d) = purges.iter().next().unwrap();
    for r in &d.ranges {
        assert_eq!(
            r.subtrees.len(),
            tradetrail_merkle::aligned_blocks(r.first_seq, r.last_seq + 1).len()
        );
        let (part, _) = idx.files().find(|(_, e)| e.file == r.file).unwrap();
        assert_eq!(part.manifest.subtrees_of(&r.file), r.subtrees.as_slice());
    }

    // The tree stored before the purge, and proofs from it (it still holds the leaves).
    let rec = open(f);
    let (stored, load) = Tree::load(&rec).unwrap();
    assert!(!load.rebuilt);
    let size = stored.size();
    assert_eq!(
        size,
        p.roots.len() as u64,
        "one record since: the purge record"
    );
    let before = proofs(&p, &stored, p.cp_size);
    let now = proofs(&p, &stored, size);
    let root = stored.root();
    drop(stored);

    // Deleted: rebuilt from archive + journal, the purged run from its subtrees.
    std::fs::remove_dir_all(f.dir.index().join("merkle")).unwrap();
    let (tree, load) = Tree::load(&rec).unwrap();
    assert_eq!(
        load.added, size,
        "every leaf again, the purged run as subtrees"
    );
    assert_eq!((tree.size(), tree.root()), (size, root));
    for s in (0..p.roots.len() as u64).filter(|&s| s <= p.first || s > p.last) {
        assert_eq!(tree.root_at(s).unwrap(), p.roots[s as usize], "size {s}");
    }
    assert_eq!(proofs(&p, &tree, p.cp_size), before);
    assert_eq!(proofs(&p, &tree, size), now);
    assert_eq!(
        tree.purged().iter().map(|r| r.first).min(),
        Some(p.first),
        "{:?}",
        tree.purged()
    );

    // The stored tree with subtrees in it opens again as it is.
    drop(tree);
    let (tree, load) = Tree::load(&rec).unwrap();
    assert_eq!((load.rebuilt, load.added), (false, 0));
    assert_eq!(tree.root(), root);

    // Proofs about purged records, and sizes inside a purged file, are refused.
    for seq in [p.first, p.first + 1, p.last] {
        let e = tree.prove_inclusion(seq, None).unwrap_err();
        assert!(
            matches!(&e, Error::OutOfRange { reason } if reason.contains("purged by retention")),
            "{e}"
        );
    }
    let e = tree.root_at(p.first + 1).unwrap_err();
    assert!(
        matches!(&e, Error::OutOfRange { reason } if reason.contains("falls inside records")),
        "{e}"
    );
    assert!(tree.prove_consistency(p.first + 1, None).is_err());
    assert!(tree.prove_consistency(1, Some(p.last)).is_err());
    assert!(tree.prove_inclusion(0, Some(p.first + 3)).is_err());
    drop(tree);

    // A stored tree that ends inside the purged run is cut back and carried on.
    let mut log = MerkleLog::open(f.dir.index().join("merkle")).unwrap();
    log.truncate_to(p.first + 5).unwrap();
    log.sync().unwrap();
    drop(log);
    let (tree, load) = Tree::load(&rec).unwrap();
    assert!(!load.rebuilt);
    assert_eq!(load.added, size - p.first);
    assert_eq!(tree.root(), root);
    assert_eq!(proofs(&p, &tree, size), now);
}

#[test]
fn a_checkpoint_from_before_the_purge_still_verifies() {
    let p = purged();
    let f = &p.f;
    let vkey = verifier_key(&f.dir).unwrap();
    let c = cold(f);
    let check = check_against(&f.dir, &origin(f), &p.note, &vkey, Some(c.as_ref())).unwrap();
    assert!(check.ok, "{check:?}");
    assert_eq!(check.records, p.cp_size);
    assert_eq!(check.purged, p.last - p.first + 1);

    // Checkpoints at the run's edges can be checked; one strictly inside cannot.
    let key = KeyPair::load(&f.dir.keys()).unwrap();
    let note_at = |size: u64| {
        let cp = Checkpoint::new(&origin(f), size, p.roots[size as usize].0).unwrap();
        sign(&cp, &key)
    };
    for size in [p.first, p.last + 1] {
        let check =
            check_against(&f.dir, &origin(f), &note_at(size), &vkey, Some(c.as_ref())).unwrap();
        assert!(check.ok, "size {size}: {check:?}");
    }
    let inside = check_against(
        &f.dir,
        &origin(f),
        &note_at(p.first + 3),
        &vkey,
        Some(c.as_ref()),
    )
    .unwrap();
    assert!(!inside.ok && inside.uncheckable, "{inside:?}");
    assert!(
        inside
            .reason
            .as_deref()
            .unwrap()
            .contains("cannot be checked record by record"),
        "{inside:?}"
    );
    // A wrong root at a checkable size still fails.
    let cp = Checkpoint::new(&origin(f), p.last + 1, [7; 32]).unwrap();
    let wrong = check_against(
        &f.dir,
        &origin(f),
        &sign(&cp, &key),
        &vkey,
        Some(c.as_ref()),
    )
    .unwrap();
    assert!(!wrong.ok && !wrong.uncheckable, "{wrong:?}");
}

/// Changes the first subtree hash of the first tombstone in its manifest.
fn tamper_subtree(f: &Fixture) -> std::path::PathBuf {
    let idx = tradetrail_archive::ArchiveIndex::load(&archive_dir(&f.dir)).unwrap();
    let (part, entry) = idx
        .files()
        .find(|(p, e)| e.purged_by.is_some() && !p.manifest.subtrees_of(&e.file).is_empty())
        .expect("a tombstone with subtrees");
    let mpath = part.dir.join(MANIFEST_FILE);
    let mut m = Manifest::load(&mpath).unwrap();
    let blocks = m.subtrees.get_mut(&entry.file).unwrap();
    blocks[0].hash.0[0] ^= 1;
    m.save(&part.dir).unwrap();
    mpath
}

#[test]
fn a_tampered_subtree_hash_is_caught() {
    let p = purged();
    let f = &p.f;
    tamper_subtree(f);
    let c = verify_all(&f.dir, &|_| {}).unwrap();
    assert!(!c.ok());
    let a = c.archive.as_ref().unwrap();
    assert!(!a.ok, "{a:#?}");
    assert!(a.first_bad_seq.unwrap() >= p.first && a.first_bad_seq.unwrap() <= p.last);

    // The checkpoint check and a rebuild of the tree refuse it too.
    let vkey = verifier_key(&f.dir).unwrap();
    let cold = cold(f);
    let check = check_against(&f.dir, &origin(f), &p.note, &vkey, Some(cold.as_ref())).unwrap();
    assert!(!check.ok, "{check:?}");
    let rec = open(f);
    std::fs::remove_dir_all(f.dir.index().join("merkle")).unwrap();
    let e = Tree::load(&rec).unwrap_err();
    assert!(e.to_string().contains("do not give the Merkle root"), "{e}");
}

#[test]
fn a_tombstone_whose_subtrees_agree_with_a_forged_root_is_still_caught() {
    // Alter the subtree and the purge record cannot follow (it is in the chain):
    // removing the subtrees from the manifest is caught the same way.
    let p = purged();
    let f = &p.f;
    let idx = tradetrail_archive::ArchiveIndex::load(&archive_dir(&f.dir)).unwrap();
    let part = idx
        .partitions
        .iter()
        .find(|q| !q.manifest.subtrees.is_empty())
        .unwrap();
    let mut m = part.manifest.clone();
    m.subtrees.clear();
    m.save(&part.dir).unwrap();
    let c = verify_all(&f.dir, &|_| {}).unwrap();
    let a = c.archive.as_ref().unwrap();
    assert!(!a.ok, "{a:#?}");
    assert!(
        a.reason
            .as_deref()
            .unwrap()
            .contains("does not list this file"),
        "{a:#?}"
    );
    // A manifest naming subtrees for a file that is not a tombstone does not load.
    let mut m = part.manifest.clone();
    let (name, blocks) = m
        .subtrees
        .iter()
        .next()
        .map(|(k, v)| (k.clone(), v.clone()))
        .unwrap();
    m.subtrees.insert("nope.parquet".into(), blocks.clone());
    m.save(&part.dir).unwrap();
    let e = Manifest::load(&part.dir.join(MANIFEST_FILE)).unwrap_err();
    assert!(e.to_string().contains("subtrees"), "{e}");
    // Nor does one whose subtrees do not tile the file's range.
    let mut m = part.manifest.clone();
    m.subtrees.get_mut(&name).unwrap().pop();
    m.save(&part.dir).unwrap();
    let e = Manifest::load(&part.dir.join(MANIFEST_FILE)).unwrap_err();
    assert!(e.to_string().contains("aligned blocks"), "{e}");
}
