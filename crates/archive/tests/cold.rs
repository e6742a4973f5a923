//! The archive as the journal's cold tier: after the hot window removed segments,
//! every reader that starts at seq 0 — the Merkle tree, a checkpoint check, the query
//! index — still sees exactly the records as they were written.

mod common;

use std::sync::Arc;

use common::*;
use tradetrail_archive::{apply, archive, ArchiveLines, ArchiveOptions};
use tradetrail_core::checkpoints::{check_against, take_checkpoint, verifier_key};
use tradetrail_core::Tree;
use tradetrail_journal::{for_each_line_with, ColdLines, FsStorage};
use tradetrail_query::{Dim, Filter, IndexOptions, Investigator, QueryOptions, Source};

/// Four days of orders and logs, archived, then the segments past a 90-day hot
/// window removed. Returns the fixture, every line as it was before the removal,
/// and a checkpoint note taken before it.
fn removed() -> (Fixture, Vec<(u64, Vec<u8>)>, String) {
    let f = Fixture::new();
    f.write_day(0, 150, |i, ts| order(i, ts, "T-1"));
    f.write_day(1, 150, |i, ts| custom(i, ts, "T-2"));
    f.write_day(2, 150, |i, ts| order(1000 + i, ts, "T-3"));
    f.seal_until(200);
    archive(&f.dir, &ArchiveOptions::default(), &mut |_, _| {}).unwrap();
    let note = take_checkpoint(&f.open()).unwrap().note;
    let before = journal_lines(&f.dir);
    assert_eq!(before[0].0, 0);
    set_retention(&f.dir, "90d", &[]);
    apply(&f.open(), "operator:test").unwrap();
    let first =
        tradetrail_journal::list_segments(&FsStorage, &f.dir.journal()).unwrap()[0].first_seq;
    assert!(
        first > 300,
        "the first days left journal/ (journal starts at {first})"
    );
    (f, before, note)
}

fn cold(f: &Fixture) -> Arc<dyn ColdLines> {
    Arc::new(ArchiveLines::open(&f.dir).unwrap().expect("an archive"))
}

fn all_lines(f: &Fixture, cold: Option<&dyn ColdLines>) -> Vec<(u64, Vec<u8>)> {
    let mut v = Vec::new();
    for_each_line_with(&FsStorage, &f.dir.journal(), cold, 0, None, |s, l| {
        v.push((s, l.to_vec()));
        Ok(true)
    })
    .unwrap();
    v
}

#[test]
fn every_line_reads_from_seq_0_across_archive_and_journal() {
    let (f, before, _) = removed();
    let c = cold(&f);
    let after = all_lines(&f, Some(c.as_ref()));
    // The journal gained the purge-less retention run's nothing, so the lines are
    // exactly those before the removal.
    assert_eq!(after.len(), before.len());
    assert!(after == before, "the same bytes, in the same order");
    // A range that straddles the boundary, and one entirely in the archive.
    let first =
        tradetrail_journal::list_segments(&FsStorage, &f.dir.journal()).unwrap()[0].first_seq;
    let mut mid = Vec::new();
    let end = (first + 2).min(before.len() as u64);
    assert!(end > first);
    for_each_line_with(
        &FsStorage,
        &f.dir.journal(),
        Some(c.as_ref()),
        first - 5,
        Some(end),
        |s, l| {
            mid.push((s, l.to_vec()));
            Ok(true)
        },
    )
    .unwrap();
    assert_eq!(mid, before[(first - 5) as usize..end as usize].to_vec());
    // Without the archive, reading from 0 is refused, naming where the journal starts.
    let e = for_each_line_with(&FsStorage, &f.dir.journal(), None, 0, None, |_, _| Ok(true))
        .unwrap_err();
    assert!(
        matches!(e, tradetrail_journal::Error::Removed { seq: 0, first: f0 } if f0 == first),
        "{e}"
    );
    // Random reads, in any order, give each record's own line.
    let seqs = [first - 1, 3, 250, 0, 17, 3];
    let mut got = Vec::new();
    c.read(&seqs, &mut |s, l| {
        got.push((s, l.to_vec()));
        Ok(())
    })
    .unwrap();
    let want: Vec<_> = seqs.iter().map(|&s| before[s as usize].clone()).collect();
    assert_eq!(got, want);
}

#[test]
fn the_tree_rebuilds_from_the_archive_and_the_old_checkpoint_still_verifies() {
    let (f, _, note) = removed();
    let vkey = verifier_key(&f.dir).unwrap();
    let origin = tradetrail_core::Config::load(&f.dir.config())
        .unwrap()
        .origin;
    let c = cold(&f);
    let check = check_against(&f.dir, &origin, &note, &vkey, Some(c.as_ref())).unwrap();
    assert!(check.ok, "{check:?}");
    // Without the archive the check cannot read the records it covers.
    assert!(check_against(&f.dir, &origin, &note, &vkey, None).is_err());
    // The stored tree is derived data: delete it, and it is rebuilt from archive +
    // journal with the same root as before.
    let rec = f.open();
    let (tree, _) = Tree::load(&rec).unwrap();
    let root = tree.root();
    let size = tree.size();
    drop(tree);
    std::fs::remove_dir_all(f.dir.index().join("merkle")).unwrap();
    assert!(
        Tree::load(&rec).is_err(),
        "without the archive the tree cannot be rebuilt"
    );
    assert!(matches!(
        rec.read_line(5),
        Err(tradetrail_core::Error::Journal(
            tradetrail_journal::Error::Removed { seq: 5, .. }
        ))
    ));
    let rec = rec.with_cold(Some(c.clone()));
    let mut line5 = Vec::new();
    c.read(&[5], &mut |_, l| {
        line5 = l.to_vec();
        Ok(())
    })
    .unwrap();
    assert_eq!(
        rec.read_line(5).unwrap(),
        line5,
        "a record that left journal/ reads from the archive"
    );
    let (tree, load) = Tree::load(&rec).unwrap();
    assert_eq!(
        load.added, size,
        "every leaf read again, the archived ones from the archive"
    );
    assert_eq!((tree.size(), tree.root()), (size, root));
    // A changed archived line (the file rewritten with a different record) would give
    // another root; the archive's own verify catches that, and so does this check:
    // prove that record 5 is in the tree and check it against the line read back.
    let p = tree.prove_inclusion(5, None).unwrap();
    let mut line = Vec::new();
    c.read(&[5], &mut |_, l| {
        line = l.to_vec();
        Ok(())
    })
    .unwrap();
    assert_eq!(p.leaf_hash, tradetrail_merkle::leaf_hash(&line));
    assert!(tradetrail_merkle::verify_inclusion(&p.leaf_hash, 5, size, &p.proof, &root).is_ok());
}

fn investigator(
    f: &Fixture,
    cold: Option<Arc<dyn ColdLines>>,
) -> tradetrail_query::Result<Investigator> {
    Investigator::open_with(
        Source::dir(f.dir.journal()).with_cold(cold),
        f.dir.index().join("query"),
        IndexOptions::default(),
        &|_| {},
    )
}

fn everything(inv: &Investigator) -> Vec<(u64, Vec<u8>)> {
    let (recs, _) = inv
        .query(&Filter::default(), &QueryOptions::default())
        .unwrap();
    recs.into_iter().map(|r| (r.seq, r.line)).collect()
}

#[test]
fn queries_trails_and_stats_see_archived_records() {
    let (f, before, _) = removed();
    // Built fresh after the removal: the index reads the archive from seq 0.
    let inv = investigator(&f, Some(cold(&f))).unwrap();
    assert!(everything(&inv) == before);
    let trail = inv.trail("O-7").unwrap();
    let seqs: Vec<u64> = trail.records.iter().map(|r| r.seq).collect();
    let want: Vec<u64> = before
        .iter()
        .filter(|(_, l)| std::str::from_utf8(l).unwrap().contains("\"O-7\""))
        .map(|(s, _)| *s)
        .collect();
    assert!(!want.is_empty());
    assert_eq!(seqs, want, "the order and the log line that refers to it");
    let stats = inv.stats(Dim::Type, &Filter::default()).unwrap();
    let orders = stats
        .rows
        .iter()
        .find(|r| r.value.as_deref() == Some("order.submitted"))
        .map_or(0, |r| r.count);
    assert_eq!(orders, 300);
    let t1 = Filter {
        traders: vec!["T-1".into()],
        ..Filter::default()
    };
    let (recs, _) = inv.query(&t1, &QueryOptions::default()).unwrap();
    assert_eq!(recs.len(), 150);
    assert!(recs.iter().all(|r| before[r.seq as usize].1 == r.line));
    drop(inv);
    // Without the archive the index refuses instead of answering as if records 0..F
    // never existed.
    std::fs::remove_dir_all(f.dir.index().join("query")).unwrap();
    let e = investigator(&f, None).and_then(|inv| {
        inv.query(&Filter::default(), &QueryOptions::default())
            .map(|_| ())
    });
    assert!(
        matches!(
            e,
            Err(tradetrail_query::Error::Journal(
                tradetrail_journal::Error::Removed { seq: 0, .. }
            ))
        ),
        "{e:?}"
    );
}

#[test]
fn an_index_built_before_the_removal_keeps_answering_after_it() {
    let f = Fixture::new();
    f.write_day(0, 150, |i, ts| order(i, ts, "T-1"));
    f.write_day(1, 150, |i, ts| custom(i, ts, "T-2"));
    f.seal_until(200);
    archive(&f.dir, &ArchiveOptions::default(), &mut |_, _| {}).unwrap();
    let before = journal_lines(&f.dir);
    // Indexed (and saved) while every record is still in journal/.
    let inv = Investigator::open_with(
        Source::dir(f.dir.journal()),
        f.dir.index().join("query"),
        IndexOptions {
            persist: true,
            flush_rows: 1,
        },
        &|_| {},
    )
    .unwrap();
    assert!(everything(&inv) == before);
    drop(inv);
    set_retention(&f.dir, "90d", &[]);
    apply(&f.open(), "operator:test").unwrap();
    let inv = investigator(&f, Some(cold(&f))).unwrap();
    assert!(
        !inv.status().opened.rebuilt,
        "the saved index is still valid"
    );
    assert!(
        everything(&inv) == before,
        "old records now come from the archive"
    );
    assert_eq!(inv.trail("O-3").unwrap().records.len(), 2);
    drop(inv);
    // `verify`'s deep check of the saved index agrees: the journal offsets it kept for
    // records now in the archive are not used for them, and not a difference.
    let check = tradetrail_query::check_index(
        &Source::dir(f.dir.journal()).with_cold(Some(cold(&f))),
        &f.dir.index().join("query"),
    )
    .unwrap();
    assert!(check.ok, "{:?}", check.reason);
    assert_eq!(check.rows, before.len() as u64);
}

#[test]
fn purged_records_are_counted_as_purged_and_read_as_nothing() {
    let f = Fixture::new();
    f.write_day(0, 100, |i, ts| order(i, ts, "T-1"));
    f.write_day(1, 100, |i, ts| custom(i, ts, "T-2"));
    f.write_day(2, 100, |i, ts| order(500 + i, ts, "T-3"));
    f.seal_until(400);
    archive(&f.dir, &ArchiveOptions::default(), &mut |_, _| {}).unwrap();
    let before = journal_lines(&f.dir);
    set_retention(&f.dir, "90d", &[("order.*", "6y"), ("custom.*", "30d")]);
    let done = apply(&f.open(), "operator:test").unwrap();
    let purge = done
        .purge_record
        .expect("day 1 (custom.log only) is purged");
    let purged: Vec<u64> = before
        .iter()
        .filter(|(_, l)| std::str::from_utf8(l).unwrap().contains("\"custom.log\""))
        .filter(|(_, l)| std::str::from_utf8(l).unwrap().contains("\"T-2\""))
        .map(|(s, _)| *s)
        .collect();
    assert_eq!(purged.len(), 100);
    let c = cold(&f);
    // Reading a purged range names the purge record.
    let e = for_each_line_with(
        &FsStorage,
        &f.dir.journal(),
        Some(c.as_ref()),
        0,
        None,
        |_, _| Ok(true),
    )
    .unwrap_err();
    assert!(
        matches!(e, tradetrail_journal::Error::Purged { purged_by, .. } if purged_by == purge),
        "{e}"
    );
    // The index: every other record is found as written, the purged ones are counted
    // as purged and return nothing.
    let inv = investigator(&f, Some(c)).unwrap();
    let got = everything(&inv);
    let want: Vec<(u64, Vec<u8>)> = all_now(&f, &before, &purged);
    assert!(got == want, "everything but the purged records");
    let stats = inv.stats(Dim::Type, &Filter::default()).unwrap();
    let count = |t: &str| {
        stats
            .rows
            .iter()
            .find(|r| r.value.as_deref() == Some(t))
            .map_or(0, |r| r.count)
    };
    assert_eq!(count("(purged by retention)"), 100);
    assert_eq!(count("order.submitted"), 200);
    assert!(inv
        .trail("O-503")
        .unwrap()
        .records
        .iter()
        .all(|r| !purged.contains(&r.seq)));
    assert_eq!(
        inv.trail("O-3").unwrap().records.len(),
        1,
        "the order; its purged log line is gone"
    );
}

/// The lines before the purge minus the purged ones, then whatever was appended since.
fn all_now(f: &Fixture, before: &[(u64, Vec<u8>)], purged: &[u64]) -> Vec<(u64, Vec<u8>)> {
    let first =
        tradetrail_journal::list_segments(&FsStorage, &f.dir.journal()).unwrap()[0].first_seq;
    let mut v: Vec<(u64, Vec<u8>)> = before
        .iter()
        .filter(|(s, _)| *s < first && !purged.contains(s))
        .cloned()
        .collect();
    v.extend(journal_lines(&f.dir));
    v
}
