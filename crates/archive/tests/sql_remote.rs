//! SQL (feature `sql`) over the archive on object storage, against a local moto
//! server: `events` over the bucket alone gives the same rows as over the local
//! archive; only the files the manifests list are read (a stray object is not); a
//! listed object that is missing or of another size is refused, naming its URL; and
//! with `[archive] remote` the data directory's `sql` reads the files that left
//! `DIR/archive` from the bucket.
//!
//! One test in its own process: `[archive] remote` is configured through the `AWS_*`
//! variables, as for a user, so they are set for this process.
#![cfg(feature = "sql")]

mod common;

use common::*;
use tradetrail_archive::{
    archive, archive_dir, mirror, run_sql, run_sql_on_archive_dir, run_sql_on_bucket,
    write_results, ArchiveIndex, ArchiveOptions, Bucket, Error, SqlFormat,
};
use tradetrail_testkit::moto::Moto;

fn csv(batches: &[arrow_array::RecordBatch]) -> String {
    let mut out = Vec::new();
    write_results(batches, SqlFormat::Csv, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

const ROWS: &str =
    "SELECT seq, type, trader_id, entity_id, ts_event, prev, line FROM events ORDER BY seq";
const COUNTS: &str = "SELECT type, trader_id, count(*) AS n, min(seq) AS lo, max(seq) AS hi FROM events GROUP BY 1, 2 ORDER BY 1, 2";

#[test]
fn sql_reads_the_bucket_in_place_and_only_what_the_manifests_list() {
    let moto = Moto::start();
    moto.create_bucket("tt-sql");
    for (k, v) in moto.env() {
        std::env::set_var(k, v);
    }
    std::env::remove_var("AWS_PROFILE");
    let f = Fixture::new();
    f.write_day(0, 150, |i, ts| order(i, ts, "T-1"));
    f.write_day(1, 150, |i, ts| custom(i, ts, "T-2"));
    f.write_day(2, 150, |i, ts| custom(i, ts, "T-3"));
    f.seal_until(3);
    archive(&f.dir, &ArchiveOptions::default(), &mut |_, _| {}).unwrap();
    let root = archive_dir(&f.dir);
    let idx = ArchiveIndex::load(&root).unwrap();
    let end = idx.end();
    assert!(end >= 450, "{end}");
    let location = "s3://tt-sql/desk-1/archive";
    let b = Bucket::open(location).unwrap();
    mirror(&root, &b, &mut |_, _| true).unwrap();

    // The same rows from the bucket as from the local archive.
    let local_rows = csv(&run_sql_on_archive_dir(&root, ROWS).unwrap());
    assert_eq!(
        local_rows.lines().count() as u64,
        end + 1,
        "header + every record"
    );
    let remote_rows = csv(&run_sql_on_bucket(Bucket::open(location).unwrap(), ROWS).unwrap());
    assert_eq!(remote_rows, local_rows);
    let counts = csv(&run_sql_on_bucket(Bucket::open(location).unwrap(), COUNTS).unwrap());
    assert_eq!(counts, csv(&run_sql_on_archive_dir(&root, COUNTS).unwrap()));
    assert!(counts.contains("custom.log,T-2,150,"), "{counts}");
    // A time window: T-2's records of 2030-01-02 (those of every 20th event, 5 ms
    // before the hour 0, are on the day before).
    let window = csv(
        &run_sql_on_bucket(
            Bucket::open(location).unwrap(),
            "SELECT count(*) AS n FROM events WHERE trader_id = 'T-2' AND ts_event >= '2030-01-02' AND ts_event < '2030-01-03'",
        )
        .unwrap(),
    );
    let expect = (0..150).filter(|i| i % 20 != 0).count();
    assert_eq!(window, format!("n\n{expect}\n"));

    // An object no manifest lists (an interrupted upload's): not read.
    let (first_key, first_bytes) = {
        let (p, fe) = idx.files().next().unwrap();
        let rel = p.dir.strip_prefix(&root).unwrap().display().to_string();
        let key = format!("{rel}/{}", fe.file);
        let bytes = std::fs::read(p.dir.join(&fe.file)).unwrap();
        (key, bytes)
    };
    let (dir, _) = first_key.rsplit_once('/').unwrap();
    b.put(&format!("{dir}/stray-copy.parquet"), first_bytes.clone())
        .unwrap();
    let again = csv(&run_sql_on_bucket(Bucket::open(location).unwrap(), ROWS).unwrap());
    assert_eq!(again, local_rows);

    // A listed object of another size: refused before the query runs, naming it.
    b.put(&first_key, first_bytes[..first_bytes.len() - 7].to_vec())
        .unwrap();
    let e = run_sql_on_bucket(Bucket::open(location).unwrap(), ROWS).unwrap_err();
    assert!(matches!(e, Error::Corrupt { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains(&format!("{location}/{first_key}")) && msg.contains("its manifest says"),
        "{msg}"
    );
    // Missing: refused, naming it.
    b.delete(&first_key).unwrap();
    let e = run_sql_on_bucket(Bucket::open(location).unwrap(), ROWS).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains(&format!("{location}/{first_key}")) && msg.contains("missing from the bucket"),
        "{msg}"
    );
    b.put(&first_key, first_bytes).unwrap();
    assert_eq!(
        csv(&run_sql_on_bucket(Bucket::open(location).unwrap(), ROWS).unwrap()),
        local_rows
    );
    // A prefix with no archive under it.
    let e = run_sql_on_bucket(Bucket::open("s3://tt-sql/elsewhere").unwrap(), ROWS).unwrap_err();
    assert!(e.to_string().contains("no archive here"), "{e}");
    let e = run_sql_on_archive_dir(&f.dir.root().join("nothing"), ROWS).unwrap_err();
    assert!(e.to_string().contains("no archive here"), "{e}");

    // The data directory with `[archive] remote` and its local Parquet files gone:
    // `events` (archive + live journal) reads them from the bucket.
    let all = "SELECT count(*) AS n, min(seq) AS lo, max(seq) AS hi, count(DISTINCT seq) AS d FROM events";
    let before = csv(&run_sql(&f.dir, all).unwrap());
    let config = std::fs::read_to_string(f.dir.config()).unwrap();
    std::fs::write(
        f.dir.config(),
        format!("{config}\n[archive]\nremote = \"{location}/\"\n"),
    )
    .unwrap();
    for (p, fe) in idx.files() {
        std::fs::remove_file(p.dir.join(&fe.file)).unwrap();
    }
    assert_eq!(csv(&run_sql(&f.dir, all).unwrap()), before);
    assert_eq!(
        csv(&run_sql(
            &f.dir,
            &ROWS.replace("FROM events", "FROM events WHERE seq < 450")
        )
        .unwrap()),
        local_rows
            .lines()
            .take(451)
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    );
    // Without the bucket, the missing files are named.
    std::fs::write(f.dir.config(), &config).unwrap();
    let e = run_sql(&f.dir, all).unwrap_err();
    assert!(
        e.to_string().contains("but missing") && e.to_string().contains("[archive] remote"),
        "{e}"
    );
}
