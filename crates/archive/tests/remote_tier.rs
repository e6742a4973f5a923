//! The archive on object storage as the cold tier (`[archive] remote`), against a
//! local moto server: with the local Parquet files removed, the records are read back
//! byte for byte from the bucket; an object that does not match its manifest is
//! refused, naming it; `verify` checks the files there; legal holds are found in
//! them and retention purges them from the bucket too.
//!
//! One test in its own process: the bucket is configured through the `AWS_*`
//! variables, as for a user, so they are set for this process.

mod common;

use common::*;
use tradetrail_archive::{
    add_hold, apply, archive, archive_dir, configured_remote, mirror, plan, verify_all,
    ArchiveIndex, ArchiveLines, ArchiveOptions, HoldScope,
};
use tradetrail_journal::ColdLines;
use tradetrail_testkit::moto::Moto;

fn all_lines(dir: &tradetrail_core::DataDir, end: u64) -> Vec<(u64, Vec<u8>)> {
    let cold = ArchiveLines::open(dir).unwrap().unwrap();
    let mut out = Vec::new();
    cold.for_each(0, end, &mut |seq, line| {
        out.push((seq, line.to_vec()));
        Ok(true)
    })
    .unwrap();
    out
}

#[test]
fn the_cold_tier_reads_the_bucket_checked_and_retention_acts_there() {
    let moto = Moto::start();
    moto.create_bucket("tt-tier");
    for (k, v) in moto.env() {
        std::env::set_var(k, v);
    }
    std::env::remove_var("AWS_PROFILE");
    let f = Fixture::new();
    f.write_day(0, 120, |i, ts| order(i, ts, "T-1"));
    f.write_day(1, 120, |i, ts| custom(i, ts, "T-2"));
    f.write_day(2, 120, |i, ts| custom(i, ts, "T-3"));
    f.write_day(3, 120, |i, ts| custom(i, ts, "T-4"));
    f.seal_until(400);
    archive(&f.dir, &ArchiveOptions::default(), &mut |_, _| {}).unwrap();
    let root = archive_dir(&f.dir);
    let config = std::fs::read_to_string(f.dir.config()).unwrap();
    std::fs::write(
        f.dir.config(),
        format!("{config}\n[archive]\nremote = \"s3://tt-tier/desk/\"\n"),
    )
    .unwrap();
    let bucket = configured_remote(&f.dir).unwrap().unwrap();
    assert_eq!(bucket.location(), "s3://tt-tier/desk");
    mirror(&root, &bucket, &mut |_, _| true).unwrap();

    let idx = ArchiveIndex::load(&root).unwrap();
    let end = idx.end();
    let before = all_lines(&f.dir, end);
    assert_eq!(before.len() as u64, end);
    // The local Parquet files go; the manifests stay as the index.
    let mut removed = 0;
    for (p, fe) in idx.files() {
        std::fs::remove_file(p.dir.join(&fe.file)).unwrap();
        removed += 1;
    }
    assert!(removed >= 4, "{removed}");
    assert_eq!(all_lines(&f.dir, end), before);
    // Random reads (a trail) too: rows of several files, in the order asked.
    let cold = ArchiveLines::open(&f.dir).unwrap().unwrap();
    let want = [end - 2, 3, 200, 121];
    let mut got = Vec::new();
    cold.read(&want, &mut |seq, line| {
        got.push((seq, line.to_vec()));
        Ok(())
    })
    .unwrap();
    let expect: Vec<(u64, Vec<u8>)> = want.iter().map(|&s| before[s as usize].clone()).collect();
    assert_eq!(got, expect);
    // verify reads them from the bucket and compares them with the journal.
    let c = verify_all(&f.dir, &|_| {}).unwrap();
    assert!(c.ok(), "{c:#?}");
    let a = c.archive.unwrap();
    assert_eq!(a.files, removed);
    assert_eq!(a.zone.as_deref(), Some("UTC"));

    // One byte of one object changed in the bucket: refused, naming it; verify fails.
    let (p, victim) = idx.files().nth(1).unwrap();
    let key = format!(
        "{}/{}",
        p.dir.strip_prefix(&root).unwrap().display(),
        victim.file
    );
    let good = bucket.get(&key).unwrap().unwrap();
    let mut bad = good.to_vec();
    bad[good.len() / 2] ^= 0x01;
    bucket.put(&key, bad).unwrap();
    let cold = ArchiveLines::open(&f.dir).unwrap().unwrap();
    let e = cold
        .read(&[victim.first_seq], &mut |_, _| Ok(()))
        .unwrap_err()
        .to_string();
    assert!(e.contains(&format!("s3://tt-tier/desk/{key}")), "{e}");
    assert!(e.contains("does not match its manifest"), "{e}");
    let c = verify_all(&f.dir, &|_| {}).unwrap();
    assert!(!c.ok());
    assert_eq!(c.archive.unwrap().first_bad_seq, Some(victim.first_seq));
    bucket.put(&key, good).unwrap();
    assert!(verify_all(&f.dir, &|_| {}).unwrap().ok());

    // Retention: a hold on T-3 is found in day 2's file, read from the bucket; day 1
    // expires and is purged, from the bucket too (its manifest there gets the
    // tombstone).
    set_retention(&f.dir, "90d", &[("order.*", "6y"), ("custom.*", "30d")]);
    let config = std::fs::read_to_string(f.dir.config()).unwrap();
    assert!(
        config.contains("remote = \"s3://tt-tier/desk/\""),
        "{config}"
    );
    let rec = f.open();
    let h = add_hold(
        &rec,
        HoldScope {
            trader_id: Some("T-3".into()),
            ..HoldScope::default()
        },
        "SEC inquiry",
        "operator:compliance",
    )
    .unwrap();
    drop(rec);
    let p = plan(&f.dir, T0 + 400 * DAY).unwrap();
    let purged: Vec<&str> = p.purge.iter().map(|x| x.day.as_str()).collect();
    assert_eq!(purged, vec!["2030-01-02", "2030-01-04"], "{:#?}", p.kept);
    assert!(
        p.kept
            .iter()
            .any(|k| k.day == "2030-01-03" && k.holds == vec![h.seq]),
        "{:#?}",
        p.kept
    );
    let day1 = p.purge[0].clone();
    let rec = f.open();
    let done = apply(&rec, "operator:test").unwrap();
    drop(rec);
    assert!(done.purge_record.is_some());
    let up = done.remote.expect("the bucket was brought level");
    assert_eq!(up.deleted_purged, day1.files.len() + p.purge[1].files.len());
    for fe in &day1.files {
        let k = format!(
            "{}/{}",
            day1.dir.strip_prefix(&root).unwrap().display(),
            fe.file
        );
        assert_eq!(bucket.head(&k).unwrap(), None, "{k} is still in the bucket");
    }
    let v = tradetrail_archive::verify_remote(&bucket, &|_, _| {}).unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.purged_records, day1.records + p.purge[1].records, "{v:?}");
    assert!(verify_all(&f.dir, &|_| {}).unwrap().ok());
}
