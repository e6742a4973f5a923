//! Retention: segments past the hot window leave journal/ and everything still
//! verifies; purges remove whole expired partitions only, are recorded, respect
//! legal holds, and are impossible without a rule.

mod common;

use common::*;
use tradetrail_archive::{
    add_hold, apply, archive, archive_dir, list_holds, plan, release_hold, verify_all,
    ArchiveIndex, ArchiveOptions, HoldScope, Manifest, MANIFEST_FILE, PURGE_TYPE,
};

/// Day 0: orders (T-1); day 1: custom.log only (T-2); day 2: custom.log (T-3); day 3:
/// custom.log (T-4). Then the clock moves to `now_day` and seals everything before.
fn history(now_day: i64) -> Fixture {
    let f = Fixture::new();
    f.write_day(0, 120, |i, ts| order(i, ts, "T-1"));
    f.write_day(1, 120, |i, ts| custom(i, ts, "T-2"));
    f.write_day(2, 120, |i, ts| custom(i, ts, "T-3"));
    f.write_day(3, 120, |i, ts| custom(i, ts, "T-4"));
    f.seal_until(now_day);
    archive(&f.dir, &ArchiveOptions::default(), &mut |_, _| {}).unwrap();
    f
}

fn verify_ok(f: &Fixture) -> tradetrail_archive::FullCheck {
    let c = verify_all(&f.dir, &|_| {}).unwrap();
    assert!(c.ok(), "{c:#?}");
    c
}

#[test]
fn segments_past_the_hot_window_leave_and_everything_still_verifies() {
    let f = history(200);
    set_retention(&f.dir, "90d", &[]);
    let before = journal_lines(&f.dir);
    let rec = f.open();
    let p = plan(&f.dir, f.clock.0.load(std::sync::atomic::Ordering::SeqCst)).unwrap();
    assert!(!p.remove_segments.is_empty());
    assert!(p.purge.is_empty(), "no rule, no purge");
    let done = apply(&rec, "operator:test").unwrap();
    assert_eq!(
        done.plan.remove_segments, p.remove_segments,
        "apply did exactly the plan"
    );
    assert_eq!(done.purge_record, None);
    for s in &p.remove_segments {
        assert!(!s.path.exists());
    }
    drop(rec);
    let c = verify_ok(&f);
    let first = c.journal_first_seq;
    assert!(
        first > 0,
        "the journal now starts after the removed segments"
    );
    assert!(c.archive.as_ref().unwrap().records >= first);
    // The journal reopens, appends, and verifies from its anchor; old records are gone
    // from it with a clear error, and still in the archive.
    let rec = f.open();
    let r = rec
        .record(&custom(
            1,
            f.clock.0.load(std::sync::atomic::Ordering::SeqCst),
            "T-9",
        ))
        .unwrap();
    assert_eq!(r.seq, before.last().unwrap().0 + 1);
    let e = rec.journal().read_line(0).unwrap_err();
    assert!(
        matches!(e, tradetrail_journal::Error::Removed { seq: 0, first: f0 } if f0 == first),
        "{e}"
    );
    drop(rec);
    verify_ok(&f);
    // The archive's lines are the journal's as they were before removal.
    let idx = ArchiveIndex::load(&archive_dir(&f.dir)).unwrap();
    let mut archived = Vec::new();
    for (p, fe) in idx.files() {
        archived.extend(tradetrail_archive::read_lines(&p.dir.join(&fe.file)).unwrap());
    }
    for (seq, line) in &archived {
        assert_eq!(line.as_bytes(), &before[*seq as usize].1[..]);
    }
}

#[test]
fn the_journal_must_link_to_the_archive_after_removal() {
    let f = history(200);
    set_retention(&f.dir, "90d", &[]);
    apply(&f.open(), "operator:test").unwrap();
    let first = verify_ok(&f).journal_first_seq;
    // Forge the archive's record before the journal's first: change the last hash its
    // manifest claims. The journal no longer links to it, and the archive's own chain
    // check disagrees too.
    let idx = ArchiveIndex::load(&archive_dir(&f.dir)).unwrap();
    let (p, fe) = idx
        .files()
        .find(|(_, fe)| fe.last_seq == first - 1)
        .unwrap();
    let mut m = Manifest::load(&p.dir.join(MANIFEST_FILE)).unwrap();
    for e in m.files.iter_mut().filter(|e| e.file == fe.file) {
        e.last_hash = tradetrail_merkle::Hash([7; 32]);
    }
    m.save(&p.dir).unwrap();
    let c = verify_all(&f.dir, &|_| {}).unwrap();
    assert!(!c.ok());
    assert_eq!(c.journal.first_bad_seq, Some(first), "{:?}", c.journal);
}

#[test]
fn a_purge_without_a_rule_is_impossible() {
    // Years later, with the hot window passed: nothing is purged without a keep rule,
    // and a rule for orders alone does not purge a partition holding other types.
    let f = history(4000);
    set_retention(&f.dir, "90d", &[]);
    let p = plan(&f.dir, T0 + 4000 * DAY).unwrap();
    assert!(p.purge.is_empty());
    assert!(
        p.kept.iter().any(|k| k
            .reason
            .contains("no retention rule covers type custom.log")),
        "{:?}",
        p.kept
    );
    let done = apply(&f.open(), "operator:test").unwrap();
    assert_eq!(done.purge_record, None);
    assert_eq!(
        ArchiveIndex::load(&archive_dir(&f.dir))
            .unwrap()
            .present_records(),
        done.plan.archived_records
    );
    set_retention(&f.dir, "90d", &[("order.*", "1y")]);
    let p = plan(&f.dir, T0 + 4000 * DAY).unwrap();
    let purged: Vec<&str> = p.purge.iter().map(|x| x.day.as_str()).collect();
    assert_eq!(
        purged,
        vec!["2030-01-01"],
        "only the orders-only day: {:?}",
        p.kept
    );
}

#[test]
fn purge_respects_holds_is_recorded_and_the_rest_verifies() {
    let f = history(400);
    set_retention(&f.dir, "90d", &[("order.*", "6y"), ("custom.*", "30d")]);
    let rec = f.open();
    // A hold on trader T-3 (day 2) and one on entity O-7 (refs in day 3's custom.log).
    let h1 = add_hold(
        &rec,
        HoldScope {
            trader_id: Some("T-3".into()),
            ..HoldScope::default()
        },
        "SEC inquiry 2026-17",
        "operator:compliance",
    )
    .unwrap();
    let h2 = add_hold(
        &rec,
        HoldScope {
            entity: Some("O-7".into()),
            trader_id: Some("T-4".into()),
            ..HoldScope::default()
        },
        "litigation",
        "operator:compliance",
    )
    .unwrap();
    assert!(matches!(
        add_hold(&rec, HoldScope::default(), "x", "operator:c"),
        Err(tradetrail_archive::Error::BadInput(_))
    ));
    drop(rec);
    let now = T0 + 400 * DAY;
    let p = plan(&f.dir, now).unwrap();
    let purged: Vec<&str> = p.purge.iter().map(|x| x.day.as_str()).collect();
    assert_eq!(
        purged,
        vec!["2030-01-02"],
        "day 0 has orders (6y), days 2 and 3 are held: {:#?}",
        p.kept
    );
    let held: Vec<(&str, &Vec<u64>)> = p
        .kept
        .iter()
        .filter(|k| !k.holds.is_empty())
        .map(|k| (k.day.as_str(), &k.holds))
        .collect();
    assert_eq!(
        held,
        vec![("2030-01-03", &vec![h1.seq]), ("2030-01-04", &vec![h2.seq])]
    );
    let day1 = p.purge[0].clone();

    let rec = f.open();
    let done = apply(&rec, "operator:test").unwrap();
    assert_eq!(
        done.plan.purge, p.purge,
        "apply purged exactly what plan showed"
    );
    let seq = done.purge_record.expect("the purge is recorded");
    let line = rec.journal().read_line(seq).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
    assert_eq!(v["type"], PURGE_TYPE);
    assert_eq!(v["data"]["records"], day1.records);
    assert_eq!(v["data"]["ranges"][0]["first_seq"], day1.first_seq);
    assert_eq!(
        v["data"]["ranges"][0]["root"].as_str().unwrap(),
        day1.files[0].root.to_string()
    );
    drop(rec);
    for fe in &day1.files {
        assert!(!day1.dir.join(&fe.file).exists(), "the file is gone");
    }
    let c = verify_ok(&f);
    assert_eq!(c.archive.as_ref().unwrap().purged_records, day1.records);

    // Releasing the first hold lets day 2 go at the next apply; the second still holds day 3.
    let rec = f.open();
    release_hold(&rec, h1.seq, "inquiry closed", "operator:compliance").unwrap();
    assert!(matches!(
        release_hold(&rec, h1.seq, "again", "operator:c"),
        Err(tradetrail_archive::Error::BadInput(_))
    ));
    let holds = list_holds(&f.dir, &ArchiveIndex::load(&archive_dir(&f.dir)).unwrap()).unwrap();
    assert_eq!(
        holds
            .iter()
            .filter(|h| h.active())
            .map(|h| h.id)
            .collect::<Vec<_>>(),
        vec![h2.seq]
    );
    let done = apply(&rec, "operator:test").unwrap();
    assert_eq!(
        done.plan
            .purge
            .iter()
            .map(|x| x.day.as_str())
            .collect::<Vec<_>>(),
        vec!["2030-01-03"]
    );
    drop(rec);
    verify_ok(&f);
}

#[test]
fn a_removed_file_without_a_purge_record_fails_verify() {
    let f = history(10);
    let idx = ArchiveIndex::load(&archive_dir(&f.dir)).unwrap();
    let (p, fe) = idx.files().nth(2).unwrap();
    // Delete a file and mark it purged, naming a record that is not a purge.
    std::fs::remove_file(p.dir.join(&fe.file)).unwrap();
    let mut m = Manifest::load(&p.dir.join(MANIFEST_FILE)).unwrap();
    for e in m.files.iter_mut().filter(|e| e.file == fe.file) {
        e.purged_by = Some(3);
    }
    m.save(&p.dir).unwrap();
    let a = verify_all(&f.dir, &|_| {}).unwrap().archive.unwrap();
    assert!(!a.ok);
    assert_eq!(a.first_bad_seq, Some(fe.first_seq));
    assert!(a
        .reason
        .unwrap()
        .contains("not a journal.retention_purged record"));
}
