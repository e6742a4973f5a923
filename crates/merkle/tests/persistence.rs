//! The level files: save, reopen, append, truncate, and damage detection.

mod common;

use std::fs::{self, OpenOptions};
use std::path::Path;

use common::{leaves, MemoMth};
use proptest::prelude::*;
use tradetrail_merkle::storage::{level_file_name, HEADER_LEN};
use tradetrail_merkle::{Hash, MerkleError, MerkleLog};

fn log_of(leaves: &[Hash]) -> MerkleLog {
    let mut log = MerkleLog::new();
    for leaf in leaves {
        log.push_leaf_hash(*leaf);
    }
    log
}

/// Asserts that `log` is the tree of `d`: same size, every prefix root, and every node.
fn assert_is_tree_of(log: &MerkleLog, d: &[Hash]) {
    assert_eq!(log.len(), d.len() as u64);
    let mut reference = MemoMth::new(d);
    for size in 0..=d.len() {
        assert_eq!(
            log.root_at(size as u64).unwrap(),
            reference.mth(0, size),
            "size {size}"
        );
    }
    for (i, leaf) in d.iter().enumerate() {
        assert_eq!(log.leaf(i as u64), Some(*leaf));
    }
    log.self_check().unwrap();
}

fn level_path(dir: &Path, level: usize) -> std::path::PathBuf {
    dir.join(level_file_name(level))
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).unwrap().len()
}

fn set_len(path: &Path, len: u64) {
    OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

fn assert_corrupt(dir: &Path, level: usize) {
    match MerkleLog::open(dir) {
        Err(MerkleError::Corrupt { path, reason }) => {
            assert_eq!(path, level_path(dir, level), "reason: {reason}");
        }
        other => panic!("expected Corrupt at level {level}, got {other:?}"),
    }
}

#[test]
fn save_reopen_append_equals_a_fresh_build() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("index/merkle");
    let d = leaves(1, 300);

    let mut log = log_of(&d[..123]);
    log.save(&dir).unwrap();
    assert_eq!(log.dir(), Some(dir.as_path()));
    // Level L holds 123 >> L hashes behind its header.
    for level in 0..7 {
        assert_eq!(
            file_len(&level_path(&dir, level)),
            HEADER_LEN + 32 * (123u64 >> level)
        );
    }
    assert!(!level_path(&dir, 7).exists());
    drop(log);

    let mut log = MerkleLog::open(&dir).unwrap();
    assert_is_tree_of(&log, &d[..123]);
    for leaf in &d[123..200] {
        log.push_leaf_hash(*leaf);
    }
    log.flush().unwrap();
    for leaf in &d[200..] {
        log.push_leaf_hash(*leaf);
    }
    log.sync().unwrap();
    drop(log);

    let log = MerkleLog::open(&dir).unwrap();
    assert_is_tree_of(&log, &d);
    assert_eq!(log.root(), log_of(&d).root());
}

#[test]
fn unflushed_leaves_are_not_on_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let d = leaves(2, 20);
    let mut log = MerkleLog::open(tmp.path()).unwrap();
    assert!(log.is_empty());
    for leaf in &d[..10] {
        log.push_leaf_hash(*leaf);
    }
    log.flush().unwrap();
    for leaf in &d[10..] {
        log.push_leaf_hash(*leaf);
    }
    drop(log); // never flushed the last ten
    let log = MerkleLog::open(tmp.path()).unwrap();
    assert_is_tree_of(&log, &d[..10]);
}

#[test]
fn opening_a_missing_or_empty_directory_gives_the_empty_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("not-yet");
    let mut log = MerkleLog::open(&dir).unwrap();
    assert!(log.is_empty());
    assert_eq!(log.root(), common::ref_mth(&[]));
    log.sync().unwrap();
    assert_eq!(file_len(&level_path(&dir, 0)), HEADER_LEN);
    assert!(MerkleLog::open(&dir).unwrap().is_empty());
}

#[test]
fn truncate_to_cuts_memory_and_files_and_appending_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let d = leaves(3, 100);
    let other = leaves(4, 100);
    let mut log = log_of(&d);
    log.save(tmp.path()).unwrap();

    log.truncate_to(37).unwrap();
    assert_is_tree_of(&log, &d[..37]);
    assert!(matches!(
        log.truncate_to(38),
        Err(MerkleError::SizeOutOfRange { size: 38, len: 37 })
    ));
    log.sync().unwrap();
    drop(log);

    let mut log = MerkleLog::open(tmp.path()).unwrap();
    assert_is_tree_of(&log, &d[..37]);
    // The journal went on differently after the crash: new leaves from 37 on.
    let mut expected = d[..37].to_vec();
    expected.extend_from_slice(&other[37..70]);
    for leaf in &other[37..70] {
        log.push_leaf_hash(*leaf);
    }
    log.sync().unwrap();
    drop(log);
    let mut log = MerkleLog::open(tmp.path()).unwrap();
    assert_is_tree_of(&log, &expected);

    log.truncate_to(0).unwrap();
    log.sync().unwrap();
    drop(log);
    let log = MerkleLog::open(tmp.path()).unwrap();
    assert!(log.is_empty());
}

#[test]
fn torn_level_file_is_detected() {
    for level in [0, 1, 3] {
        let tmp = tempfile::tempdir().unwrap();
        log_of(&leaves(5, 50)).save(tmp.path()).unwrap();
        let path = level_path(tmp.path(), level);
        set_len(&path, file_len(&path) - 5);
        assert_corrupt(tmp.path(), level);
    }
}

#[test]
fn level_file_short_by_whole_hashes_is_detected() {
    let tmp = tempfile::tempdir().unwrap();
    log_of(&leaves(5, 50)).save(tmp.path()).unwrap();
    // Level 2 holds 12 hashes; cut it to 11.
    let path = level_path(tmp.path(), 2);
    set_len(&path, file_len(&path) - 32);
    assert_corrupt(tmp.path(), 2);
}

#[test]
fn level_zero_cut_by_two_whole_hashes_is_detected() {
    // 50 leaves -> 48: level 1 then holds one hash too many.
    let tmp = tempfile::tempdir().unwrap();
    log_of(&leaves(5, 50)).save(tmp.path()).unwrap();
    let path = level_path(tmp.path(), 0);
    set_len(&path, file_len(&path) - 64);
    assert_corrupt(tmp.path(), 1);
}

#[test]
fn missing_upper_level_is_detected() {
    let tmp = tempfile::tempdir().unwrap();
    log_of(&leaves(5, 50)).save(tmp.path()).unwrap();
    fs::remove_file(level_path(tmp.path(), 5)).unwrap(); // the top level (50 >> 5 = 1)
    assert_corrupt(tmp.path(), 5);

    let tmp = tempfile::tempdir().unwrap();
    log_of(&leaves(5, 50)).save(tmp.path()).unwrap();
    fs::remove_file(level_path(tmp.path(), 2)).unwrap();
    assert_corrupt(tmp.path(), 2);
}

#[test]
fn bad_header_is_detected() {
    let tmp = tempfile::tempdir().unwrap();
    log_of(&leaves(5, 50)).save(tmp.path()).unwrap();
    let path = level_path(tmp.path(), 1);
    let mut bytes = fs::read(&path).unwrap();
    bytes[0] ^= 1;
    fs::write(&path, &bytes).unwrap();
    assert_corrupt(tmp.path(), 1);

    // A level file copied under another level's name.
    let tmp = tempfile::tempdir().unwrap();
    log_of(&leaves(5, 64)).save(tmp.path()).unwrap();
    fs::copy(level_path(tmp.path(), 3), level_path(tmp.path(), 2)).unwrap();
    assert_corrupt(tmp.path(), 2);
}

#[test]
fn mismatched_right_edge_is_detected_on_open_and_any_node_by_self_check() {
    let tmp = tempfile::tempdir().unwrap();
    log_of(&leaves(5, 50)).save(tmp.path()).unwrap();
    let path = level_path(tmp.path(), 0);
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1; // leaf 49, under level 1's last node (leaves 48 and 49)
    fs::write(&path, &bytes).unwrap();
    assert_corrupt(tmp.path(), 1);

    let tmp = tempfile::tempdir().unwrap();
    log_of(&leaves(5, 50)).save(tmp.path()).unwrap();
    let path = level_path(tmp.path(), 0);
    let mut bytes = fs::read(&path).unwrap();
    bytes[HEADER_LEN as usize + 3 * 32] ^= 1; // leaf 3: left of every right edge
    fs::write(&path, &bytes).unwrap();
    let log = MerkleLog::open(tmp.path()).unwrap();
    match log.self_check() {
        Err(MerkleError::Corrupt { path, .. }) => assert_eq!(path, level_path(tmp.path(), 1)),
        other => panic!("self_check missed a bad leaf: {other:?}"),
    }
}

#[test]
fn save_replaces_a_larger_tree() {
    let tmp = tempfile::tempdir().unwrap();
    log_of(&leaves(6, 300)).save(tmp.path()).unwrap();
    let d = leaves(7, 5);
    log_of(&d).save(tmp.path()).unwrap();
    assert!(!level_path(tmp.path(), 8).exists());
    assert_is_tree_of(&MerkleLog::open(tmp.path()).unwrap(), &d);
}

#[derive(Debug, Clone)]
enum Op {
    Push(usize),
    Flush,
    Sync,
    Reopen,
    Truncate(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1usize..70).prop_map(Op::Push),
        1 => Just(Op::Flush),
        1 => Just(Op::Sync),
        2 => Just(Op::Reopen),
        1 => any::<u64>().prop_map(Op::Truncate),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// A model test: the log against a plain `Vec` of leaf hashes. What was flushed
    /// survives a reopen, what was not is lost, truncation cuts both.
    #[test]
    fn log_matches_a_vec_model(ops in prop::collection::vec(op(), 1..25)) {
        let tmp = tempfile::tempdir().unwrap();
        let pool = leaves(9, 25 * 70);
        let mut next = 0;
        let mut log = MerkleLog::open(tmp.path()).unwrap();
        let mut model: Vec<Hash> = Vec::new();   // in memory
        let mut durable: Vec<Hash> = Vec::new(); // flushed
        for op in ops {
            match op {
                Op::Push(k) => {
                    for leaf in &pool[next..next + k] {
                        log.push_leaf_hash(*leaf);
                        model.push(*leaf);
                    }
                    next += k;
                }
                Op::Flush => { log.flush().unwrap(); durable = model.clone(); }
                Op::Sync => { log.sync().unwrap(); durable = model.clone(); }
                Op::Reopen => {
                    drop(log);
                    log = MerkleLog::open(tmp.path()).unwrap();
                    model = durable.clone();
                }
                Op::Truncate(x) => {
                    let size = x % (model.len() as u64 + 1);
                    log.truncate_to(size).unwrap();
                    model.truncate(size as usize);
                    durable.truncate(size as usize);
                }
            }
            prop_assert_eq!(log.len(), model.len() as u64);
            prop_assert_eq!(log.root(), common::ref_mth(&model));
        }
        log.flush().unwrap();
        drop(log);
        let log = MerkleLog::open(tmp.path()).unwrap();
        assert_is_tree_of(&log, &model);
    }
}
