//! The archive on object storage, against a local moto server: `mirror` uploads the
//! same layout (files before manifests), a second run is a no-op, `verify_remote`
//! checks every object and names a tampered one, an interrupted upload resumes, an
//! archive of another journal under the same prefix is refused, and pyarrow reads the
//! uploaded dataset.

mod common;

use std::collections::BTreeMap;

use common::*;
use tradetrail_archive::{
    archive, archive_dir, mirror, verify_remote, ArchiveIndex, ArchiveOptions, Bucket, Error,
    MANIFEST_FILE, ZONE_FILE,
};
use tradetrail_testkit::moto::Moto;

fn three_days() -> Fixture {
    let f = Fixture::new();
    f.write_day(0, 150, |i, ts| order(i, ts, "T-1"));
    f.write_day(1, 150, |i, ts| custom(i, ts, "T-2"));
    f.write_day(2, 150, |i, ts| custom(i, ts, "T-3"));
    f.seal_until(3);
    archive(&f.dir, &ArchiveOptions::default(), &mut |_, _| {}).unwrap();
    f
}

fn bucket(moto: &Moto, location: &str) -> Bucket {
    Bucket::open_with(location, &moto.env()).unwrap()
}

/// Every file under `DIR/archive` that the bucket should hold: key -> bytes.
fn local_objects(f: &Fixture) -> BTreeMap<String, Vec<u8>> {
    let root = archive_dir(&f.dir);
    let idx = ArchiveIndex::load(&root).unwrap();
    let mut out = BTreeMap::new();
    if let Ok(zone) = std::fs::read(root.join(ZONE_FILE)) {
        out.insert(ZONE_FILE.to_string(), zone);
    }
    for p in &idx.partitions {
        let key = p
            .dir
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        for name in p
            .manifest
            .files
            .iter()
            .map(|f| f.file.as_str())
            .chain([MANIFEST_FILE])
        {
            // A purged file's tombstone stays listed; the file is gone.
            if let Ok(bytes) = std::fs::read(p.dir.join(name)) {
                out.insert(format!("{key}/{name}"), bytes);
            }
        }
    }
    out
}

fn remote_objects(b: &Bucket) -> BTreeMap<String, Vec<u8>> {
    b.list("")
        .unwrap()
        .into_iter()
        .map(|o| {
            let bytes = b.get(&o.key).unwrap().unwrap().to_vec();
            assert_eq!(bytes.len() as u64, o.size);
            (o.key, bytes)
        })
        .collect()
}

fn upload(root: &std::path::Path, b: &Bucket) -> tradetrail_archive::MirrorReport {
    mirror(root, b, &mut |_, _| true).unwrap()
}

#[test]
fn upload_verify_tamper_grow_and_refuse_another_archive() {
    let moto = Moto::start();
    moto.create_bucket("tt-arch");
    let f = three_days();
    let root = archive_dir(&f.dir);
    let idx = ArchiveIndex::load(&root).unwrap();
    let files = idx.files().count();
    assert!(idx.partitions.len() >= 3, "{}", idx.partitions.len());
    let b = bucket(&moto, "s3://tt-arch/desk-1/archive/");

    let r = upload(&root, &b);
    assert_eq!(r.uploaded_files, files);
    assert_eq!(r.uploaded_manifests, idx.partitions.len());
    assert_eq!(r.end_seq, idx.end());
    // The bucket holds exactly the local layout, byte for byte.
    assert_eq!(remote_objects(&b), local_objects(&f));

    // Nothing new: nothing is uploaded.
    let again = upload(&root, &b);
    assert!(again.unchanged(), "{again:?}");
    assert_eq!(again.present_files, files);

    let v = verify_remote(&b, &|_, _| {}).unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.records, idx.present_records());
    assert_eq!(v.files, files);
    assert_eq!(v.root, idx.last().map(|f| f.root));
    assert!(v.warnings.is_empty(), "{:?}", v.warnings);

    // More records: only the new files and the manifests that changed go up.
    f.write_day(3, 150, |i, ts| custom(i, ts, "T-4"));
    f.seal_until(5);
    archive(&f.dir, &ArchiveOptions::default(), &mut |_, _| {}).unwrap();
    let idx2 = ArchiveIndex::load(&root).unwrap();
    let r2 = upload(&root, &b);
    assert_eq!(r2.uploaded_files, idx2.files().count() - files);
    assert_eq!(r2.present_files, files);
    assert!(r2.uploaded_manifests >= 1);
    assert!(r2.uploaded_manifests < idx2.partitions.len());
    assert_eq!(remote_objects(&b), local_objects(&f));
    assert!(verify_remote(&b, &|_, _| {}).unwrap().ok);

    // One byte of one object changed in the bucket: verify names it and its first
    // record.
    let (p, victim) = idx2.files().nth(2).unwrap();
    let key = format!(
        "{}/{}",
        p.dir.strip_prefix(&root).unwrap().display(),
        victim.file
    );
    let mut bytes = b.get(&key).unwrap().unwrap().to_vec();
    let good = bytes.clone();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    b.put(&key, bytes.clone()).unwrap();
    let v = verify_remote(&b, &|_, _| {}).unwrap();
    assert!(!v.ok);
    assert_eq!(v.first_bad_seq, Some(victim.first_seq));
    let reason = v.reason.unwrap();
    assert!(
        reason.contains(&format!("s3://tt-arch/desk-1/archive/{key}")),
        "{reason}"
    );
    assert!(reason.contains("SHA-256"), "{reason}");

    // A truncated object listed by its manifest is not overwritten by the upload:
    // it is named, with what to do.
    b.put(&key, bytes[..at].to_vec()).unwrap();
    let e = mirror(&root, &b, &mut |_, _| true).unwrap_err();
    assert!(matches!(e, Error::Remote { .. }), "{e}");
    assert!(e.to_string().contains(&key), "{e}");
    // A deleted one is uploaded again from the (verified) local archive.
    b.delete(&key).unwrap();
    let r3 = upload(&root, &b);
    assert_eq!(r3.uploaded_files, 1);
    assert_eq!(b.get(&key).unwrap().unwrap().to_vec(), good);
    assert!(verify_remote(&b, &|_, _| {}).unwrap().ok);

    // Another journal's archive under the same prefix is refused before anything is
    // written; an empty prefix has no archive to verify.
    let other = three_days();
    let before = remote_objects(&b);
    let e = mirror(&archive_dir(&other.dir), &b, &mut |_, _| true).unwrap_err();
    assert!(matches!(e, Error::Remote { .. }), "{e}");
    assert_eq!(remote_objects(&b), before);
    let none = verify_remote(&bucket(&moto, "s3://tt-arch/elsewhere"), &|_, _| {}).unwrap();
    assert!(!none.ok);
    assert!(none.reason.unwrap().contains("no archive here"));
}

#[test]
fn an_interrupted_upload_leaves_no_manifest_naming_a_missing_object_and_resumes() {
    let moto = Moto::start();
    moto.create_bucket("tt-arch");
    let f = three_days();
    let root = archive_dir(&f.dir);
    let idx = ArchiveIndex::load(&root).unwrap();
    let files = idx.files().count();
    let first_partition = idx.partitions[0].manifest.files.len();
    let b = bucket(&moto, "s3://tt-arch/p");

    // Stop (as a crash would) after each number of files in turn; after each stop
    // every manifest in the bucket names only complete objects, so the bucket's
    // archive verifies (or, before the first manifest, is not there yet).
    let mut stops = 0;
    for stop_after in [1, first_partition + 1] {
        let mut n = 0;
        let e = mirror(&root, &b, &mut |_, _| {
            n += 1;
            n < stop_after
        })
        .unwrap_err();
        assert!(matches!(e, Error::Interrupted { .. }), "{e}");
        stops += 1;
        let v = verify_remote(&b, &|_, _| {}).unwrap();
        let manifests = b
            .list("")
            .unwrap()
            .iter()
            .filter(|o| o.key.ends_with(MANIFEST_FILE))
            .count();
        if manifests == 0 {
            assert!(v.reason.unwrap().contains("no archive here"));
        } else {
            assert!(v.ok, "{v:?}");
            // The objects of the partition in progress are not counted yet.
            assert!(!v.warnings.is_empty());
            assert!(v.files < files);
        }
    }
    assert_eq!(stops, 2);
    // A partial object where an unlisted file belongs (an upload cut short by a
    // store that does not make PUTs atomic) is replaced.
    let p = &idx.partitions[idx.partitions.len() - 1];
    let last = p.manifest.files.last().unwrap();
    let key = format!(
        "{}/{}",
        p.dir.strip_prefix(&root).unwrap().display(),
        last.file
    );
    b.put(&key, vec![0u8; 10]).unwrap();

    let r = upload(&root, &b);
    assert!(r.resumed_files >= 1, "{r:?}");
    assert_eq!(r.present_files + r.resumed_files + r.uploaded_files, files);
    assert_eq!(remote_objects(&b), local_objects(&f));
    let v = verify_remote(&b, &|_, _| {}).unwrap();
    assert!(v.ok && v.warnings.is_empty(), "{v:?}");
    assert_eq!(v.files, files);
    assert!(upload(&root, &b).unchanged());
}

/// pyarrow reads the uploaded layout as a Hive-partitioned dataset straight from the
/// bucket, and DuckDB queries that dataset (its httpfs extension is not needed).
#[test]
fn pyarrow_reads_the_uploaded_dataset() {
    ensure_python_module("pyarrow");
    ensure_python_module("duckdb");
    let moto = Moto::start();
    moto.create_bucket("lake");
    let f = three_days();
    let root = archive_dir(&f.dir);
    let idx = ArchiveIndex::load(&root).unwrap();
    let b = bucket(&moto, "s3://lake/tradetrail");
    upload(&root, &b);
    let script = format!(
        r#"
import pyarrow.dataset as ds, pyarrow.fs as fs
s3 = fs.S3FileSystem(endpoint_override="{ep}", access_key="testing", secret_key="testing", region="us-east-1", scheme="http")
d = ds.dataset("lake/tradetrail/", format="parquet", partitioning="hive", filesystem=s3)
t = d.to_table(columns=["seq", "type", "year", "month", "day"])
days = sorted(set(zip(t.column("year").to_pylist(), t.column("month").to_pylist(), t.column("day").to_pylist())))
import duckdb
n, lo, hi, nd = duckdb.sql("SELECT count(*), min(seq), max(seq), count(DISTINCT (year, month, day)) FROM d").fetchall()[0]
assert (n, lo, hi, nd) == (t.num_rows, min(t.column("seq").to_pylist()), max(t.column("seq").to_pylist()), len(days)), (n, lo, hi, nd)
print(t.num_rows, min(t.column("seq").to_pylist()), max(t.column("seq").to_pylist()), len(days), d.schema.field("day").type)
"#,
        ep = moto.endpoint()
    );
    let got = python(&script);
    assert_eq!(
        got,
        format!(
            "{} 0 {} {} int32",
            idx.present_records(),
            idx.end() - 1,
            idx.partitions.len()
        )
    );
}

/// DuckDB, told nothing but `hive_partitioning`, reads `year`, `month` and `day` as
/// integers on every day: the keys are plain integers. (With zero-padded keys it read
/// `month=01/day=01` as text and `month=12` as an integer.) The fixture's days are
/// the day of `init` (today) and 2030-01-01 to 2030-01-03.
#[test]
fn duckdb_reads_the_partition_keys_as_integers_without_being_told() {
    ensure_python_module("duckdb");
    let f = three_days();
    let root = archive_dir(&f.dir);
    let idx = ArchiveIndex::load(&root).unwrap();
    let script = format!(
        r#"
import duckdb
rows = duckdb.sql("SELECT DISTINCT typeof(year), typeof(month), typeof(day) FROM read_parquet('{root}/**/*.parquet', hive_partitioning=true)").fetchall()
days = duckdb.sql("SELECT DISTINCT year, month, day FROM read_parquet('{root}/**/*.parquet', hive_partitioning=true) ORDER BY ALL").fetchall()
print(rows, len(days), days[1], days[-1])
"#,
        root = root.display()
    );
    let got = python(&script);
    assert_eq!(
        got,
        format!(
            "[('BIGINT', 'BIGINT', 'BIGINT')] {} (2030, 1, 1) (2030, 1, 3)",
            idx.partitions.len()
        )
    );
}

/// A retention purge made locally reaches the bucket: the tombstones go up with their
/// manifest, then the purged objects are deleted, and the bucket's archive still
/// verifies across the gap through the tombstones' subtrees.
#[test]
fn a_local_purge_is_carried_to_the_bucket() {
    let moto = Moto::start();
    moto.create_bucket("tt-purge");
    let f = Fixture::new();
    f.write_day(0, 150, |i, ts| order(i, ts, "T-1"));
    f.write_day(1, 170, |i, ts| custom(i, ts, "T-2"));
    f.write_day(2, 150, |i, ts| order(1000 + i, ts, "T-3"));
    f.seal_until(400);
    archive(&f.dir, &ArchiveOptions::default(), &mut |_, _| {}).unwrap();
    let root = archive_dir(&f.dir);
    let b = bucket(&moto, "s3://tt-purge/a");
    upload(&root, &b);
    let before = b.list("").unwrap().len();

    set_retention(&f.dir, "90d", &[("order.*", "6y"), ("custom.*", "30d")]);
    let done = tradetrail_archive::apply(&f.open(), "operator:test").unwrap();
    assert_eq!(done.plan.purge.len(), 1);
    let purged = &done.plan.purge[0];
    let n_files = purged.files.len();
    assert!(n_files >= 1);

    let r = upload(&root, &b);
    assert_eq!(r.deleted_purged, n_files, "{r:?}");
    assert_eq!(r.uploaded_manifests, 1, "{r:?}");
    assert_eq!(b.list("").unwrap().len(), before - n_files);
    assert_eq!(remote_objects(&b), local_objects(&f));
    let v = verify_remote(&b, &|_, _| {}).unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.purged_records, purged.last_seq - purged.first_seq + 1);
    assert_eq!(v.purged_with_subtrees, v.purged_records);
    assert!(upload(&root, &b).unchanged());
}

/// The archive's `_zone` (whose days the partitions are) goes up before any manifest,
/// once; `verify --archive` checks every file against it, so a `_zone` changed in the
/// bucket is a failed verdict naming the first file whose records are not on its
/// partition's day; an upload onto a bucket whose `_zone` differs is refused; a
/// bucket without `_zone` (uploaded by an older version) is read as UTC days, with a
/// warning, and the next upload adds it.
#[test]
fn the_zone_goes_up_first_and_verify_checks_the_days_against_it() {
    let moto = Moto::start();
    moto.create_bucket("tt-zone");
    let f = three_days();
    let root = archive_dir(&f.dir);
    assert_eq!(
        std::fs::read_to_string(root.join(ZONE_FILE)).unwrap(),
        "UTC\n"
    );
    let b = bucket(&moto, "s3://tt-zone/a");

    // Stopped after the first file: the zone is already there, no manifest yet.
    let e = mirror(&root, &b, &mut |_, _| false).unwrap_err();
    assert!(matches!(e, Error::Interrupted { .. }), "{e}");
    assert_eq!(b.get(ZONE_FILE).unwrap().unwrap().as_ref(), b"UTC\n");
    assert!(!b
        .list("")
        .unwrap()
        .iter()
        .any(|o| o.key.ends_with(MANIFEST_FILE)));
    let r = upload(&root, &b);
    assert!(!r.uploaded_zone, "{r:?}");
    assert_eq!(r.zone, "UTC");
    assert_eq!(remote_objects(&b), local_objects(&f));
    let v = verify_remote(&b, &|_, _| {}).unwrap();
    assert!(v.ok && v.warnings.is_empty(), "{v:?}");
    assert_eq!(v.zone.as_deref(), Some("UTC"));

    // The bucket's _zone says +09:00: hours 15..19 UTC of the first day are the next
    // day there, so the first file is not on its partition's day.
    b.put(ZONE_FILE, "+09:00\n").unwrap();
    let v = verify_remote(&b, &|_, _| {}).unwrap();
    assert!(!v.ok);
    let idx = ArchiveIndex::load(&root).unwrap();
    // Record 0, which `init` writes at the real time, has a file of its own on that
    // day's partition: off its day in +09:00 only when recorded at 15:00 UTC or later.
    // Otherwise the first file off its day is day 0's, which starts at seq 1.
    let segment0 = f
        .dir
        .journal()
        .join(tradetrail_journal::segment_file_name(0));
    let journal = std::fs::read(segment0).unwrap();
    let line0 = journal.split(|&b| b == b'\n').next().unwrap();
    let ts0 = tradetrail_journal::parse_header(line0).unwrap().ts_recorded;
    let record0_late = ts0.rem_euclid(DAY) >= 15 * 3_600_000_000_000;
    let (p, first) = idx
        .files()
        .find(|(_, x)| (x.first_seq == 0) == record0_late)
        .unwrap();
    assert_eq!(v.first_bad_seq, Some(first.first_seq));
    let reason = v.reason.unwrap();
    let key = p.dir.strip_prefix(&root).unwrap().display().to_string();
    assert!(
        reason.contains(&format!("s3://tt-zone/a/{key}/{}", first.file)),
        "{reason}"
    );
    assert!(reason.contains("in +09:00"), "{reason}");
    // An upload onto it is refused, and writes nothing.
    let before = remote_objects(&b);
    let e = mirror(&root, &b, &mut |_, _| true).unwrap_err();
    assert!(e.to_string().contains("days in +09:00"), "{e}");
    assert!(e.to_string().contains(ZONE_FILE), "{e}");
    assert_eq!(remote_objects(&b), before);

    // A bucket without _zone: UTC days, a warning; the next upload puts it there.
    b.delete(ZONE_FILE).unwrap();
    let v = verify_remote(&b, &|_, _| {}).unwrap();
    assert!(v.ok, "{v:?}");
    assert!(v.warnings.iter().any(|w| w.contains(ZONE_FILE)), "{v:?}");
    let r = upload(&root, &b);
    assert!(r.uploaded_zone && r.uploaded_files == 0, "{r:?}");
    assert!(upload(&root, &b).unchanged());
    assert!(verify_remote(&b, &|_, _| {}).unwrap().warnings.is_empty());
}
