//! The Merkle tree as derived data: built from the journal, kept in step, rebuilt when
//! it does not match, and its proofs verify.

use tradetrail_core::{DataDir, InitOptions, Recorder, Tree};
use tradetrail_demo::{run_demo, DemoOptions};
use tradetrail_merkle::{leaf_hash, verify_consistency, verify_inclusion};

fn demo(tmp: &tempfile::TempDir, events: u64) -> (DataDir, Recorder) {
    let dir = DataDir::new(tmp.path().join("d"));
    let rec = Recorder::init(
        &dir,
        InitOptions {
            origin: Some("tree/test".into()),
            ..Default::default()
        },
    )
    .unwrap();
    run_demo(
        &rec,
        &DemoOptions {
            events,
            ..Default::default()
        },
        &|_| {},
    )
    .unwrap();
    (dir, rec)
}

#[test]
fn proofs_verify_against_the_records() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, rec) = demo(&tmp, 2_000);
    let (tree, load) = Tree::load(&rec).unwrap();
    assert!(
        !load.rebuilt,
        "nothing was stored, so nothing was discarded"
    );
    let n = rec.journal().status().unwrap().records;
    assert_eq!(tree.size(), n);
    assert_eq!(load.added, n);
    for seq in [0, 1, 2, 500, 1023, 1024, n - 1] {
        let p = tree.prove_inclusion(seq, None).unwrap();
        let line = rec.journal().read_line(seq).unwrap();
        assert_eq!(p.leaf_hash, leaf_hash(&line));
        verify_inclusion(&p.leaf_hash, seq, n, &p.proof, &tree.root()).unwrap();
        // The same proof does not hold for another record.
        let other = leaf_hash(&rec.journal().read_line((seq + 1) % n).unwrap());
        assert!(verify_inclusion(&other, seq, n, &p.proof, &tree.root()).is_err());
    }
    for old in [1, 2, 3, 1000, n - 1, n] {
        let c = tree.prove_consistency(old, None).unwrap();
        verify_consistency(old, n, &tree.root_at(old).unwrap(), &tree.root(), &c.proof).unwrap();
    }
    assert!(tree.prove_inclusion(n, None).is_err());
    assert!(tree.prove_inclusion(5, Some(n + 1)).is_err());
    assert!(tree.prove_consistency(0, None).is_err());
    assert!(tree.prove_consistency(10, Some(5)).is_err());
}

#[test]
fn the_tree_follows_the_journal_and_is_rebuilt_when_it_does_not_match() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, rec) = demo(&tmp, 1_000);
    let (tree, _) = Tree::load(&rec).unwrap();
    let (size1, root1) = (tree.size(), tree.root());
    drop(tree);

    // More records: only they are added, and the old tree is a prefix.
    run_demo(
        &rec,
        &DemoOptions {
            events: 500,
            seed: 9,
            ..Default::default()
        },
        &|_| {},
    )
    .unwrap();
    let (tree, load) = Tree::load(&rec).unwrap();
    assert!(!load.rebuilt);
    assert_eq!(load.added, tree.size() - size1);
    assert_eq!(tree.root_at(size1).unwrap(), root1);
    let (size2, root2) = (tree.size(), tree.root());
    drop(tree);

    // Deleting the derived data rebuilds the same tree.
    std::fs::remove_dir_all(dir.index()).unwrap();
    let (tree, load) = Tree::load(&rec).unwrap();
    assert_eq!(load.added, size2);
    assert_eq!((tree.size(), tree.root()), (size2, root2));
    drop(tree);

    // Damaged level files are not trusted.
    let level0 = dir.index().join("merkle").join("level-00.bin");
    let mut bytes = std::fs::read(&level0).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&level0, bytes).unwrap();
    let (tree, load) = Tree::load(&rec).unwrap();
    assert!(load.rebuilt);
    assert_eq!(tree.root(), root2);
}

/// A tree that followed the appending on its own thread is the tree a rebuild from
/// the journal gives, leaf for leaf, and the next load adds nothing.
#[test]
fn a_tree_that_followed_the_appending_equals_a_rebuild() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, rec) = demo(&tmp, 500);
    // More than one batch of leaves, in several bursts while the follower runs.
    Tree::follow_while(&rec, || {
        for burst in 0..6 {
            let lines: Vec<String> = (0..7_000)
                .map(|i| {
                    format!(
                        r#"{{"type":"param.changed","ts_event":{},"source":"meta","actor":"algo:m1","data":{{"name":"k{burst}","old_value":"{i}","new_value":"{}","reason":"burst {burst}"}}}}"#,
                        1_795_700_000_000_000_000i64 + i,
                        i + 1
                    )
                })
                .collect();
            let numbered: Vec<(usize, &[u8])> = lines
                .iter()
                .enumerate()
                .map(|(i, l)| (i + 1, l.as_bytes()))
                .collect();
            let entries = rec.prepare_lines(&numbered, None).unwrap();
            rec.journal().append_batch(entries).unwrap();
        }
    });
    let n = rec.journal().status().unwrap().records;
    assert!(n > 40_000, "{n}");
    let (followed, load) = Tree::load(&rec).unwrap();
    assert!(!load.rebuilt);
    assert_eq!(load.added, 0, "the follower left nothing for the next load");
    assert_eq!(followed.size(), n);
    std::fs::remove_dir_all(dir.index().join("merkle")).unwrap();
    let (rebuilt, load) = Tree::load(&rec).unwrap();
    assert_eq!(load.added, n);
    assert_eq!(rebuilt.root(), followed.root());
    for size in [1, 1024, 20_000, n] {
        assert_eq!(
            rebuilt.root_at(size).unwrap(),
            followed.root_at(size).unwrap()
        );
    }
}

#[test]
fn a_reader_loads_the_same_tree_without_writing_the_stored_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, rec) = demo(&tmp, 1_500);
    let merkle = dir.index().join("merkle");
    let files = || -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<_> = std::fs::read_dir(&merkle)
            .map(|d| {
                d.map(|e| {
                    let p = e.unwrap().path();
                    (p.display().to_string(), std::fs::read(&p).unwrap())
                })
                .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    let n = rec.journal().status().unwrap().records;
    // Nothing stored: built in memory, nothing written.
    let (read, load) = Tree::load_read_only(&dir, None, n).unwrap();
    assert!(!merkle.exists());
    assert_eq!((read.size(), load.added), (n, n));
    // A stored tree behind the journal: read, extended in memory, left as it was.
    let (stored, _) = Tree::load(&rec).unwrap();
    let before = files();
    assert!(!before.is_empty());
    run_demo(
        &rec,
        &DemoOptions {
            events: 300,
            ..Default::default()
        },
        &|_| {},
    )
    .unwrap();
    let m = rec.journal().status().unwrap().records;
    let (read, load) = Tree::load_read_only(&dir, None, m).unwrap();
    assert_eq!((read.size(), load.added, load.rebuilt), (m, m - n, false));
    assert_eq!(files(), before, "the stored tree was not written");
    let (writer, _) = Tree::load(&rec).unwrap();
    assert_eq!(read.root(), writer.root());
    assert_eq!(read.root_at(n).unwrap(), stored.root());
    // Up to an earlier size (what a reader found complete): cut in memory.
    let (short, _) = Tree::load_read_only(&dir, None, n).unwrap();
    assert_eq!(short.root(), stored.root());
    // A stored tree that does not match the journal is set aside, not removed.
    let level0 = merkle.join("level-00.bin");
    let mut bytes = std::fs::read(&level0).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&level0, &bytes).unwrap();
    let after = files();
    let (read, load) = Tree::load_read_only(&dir, None, m).unwrap();
    assert!(load.rebuilt);
    assert_eq!(read.root(), writer.root());
    assert_eq!(files(), after);
}
