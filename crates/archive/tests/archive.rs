//! Archiving: every field and line read back with the parquet crate equals the
//! journal; archiving twice is a no-op; the Merkle roots in the manifests are the
//! journal's; verify catches a changed archive.

mod common;

use std::collections::HashMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{TimestampNanosecondType, UInt64Type};
use arrow_array::Array;
use common::*;
use serde_json::Value;
use tradetrail_archive::{
    archive, archive_dir, read_batches, verify_all, ArchiveIndex, ArchiveOptions, Manifest,
    MANIFEST_FILE,
};
use tradetrail_core::Tree;

fn run(f: &Fixture) -> tradetrail_archive::ArchiveReport {
    archive(
        &f.dir,
        &ArchiveOptions {
            zstd_level: 3,
            row_group_rows: 100,
            ..ArchiveOptions::default()
        },
        &mut |_, _| {},
    )
    .unwrap()
}

fn three_days() -> Fixture {
    let f = Fixture::new();
    f.write_day(0, 150, |i, ts| order(i, ts, "T-1"));
    f.write_day(1, 150, |i, ts| custom(i, ts, "T-2"));
    f.write_day(2, 150, |i, ts| {
        if i % 3 == 0 {
            order(i, ts, "T-3")
        } else {
            custom(i, ts, "T-3")
        }
    });
    f.seal_until(3);
    f
}

fn text(col: &dyn Array, i: usize) -> Option<String> {
    let a = col.as_string::<i32>();
    a.is_valid(i).then(|| a.value(i).to_string())
}

#[test]
fn every_field_and_line_matches_the_journal() {
    let f = three_days();
    let r = run(&f);
    let lines: HashMap<u64, Vec<u8>> = journal_lines(&f.dir).into_iter().collect();
    let active_first =
        tradetrail_journal::list_segments(&tradetrail_journal::FsStorage, &f.dir.journal())
            .unwrap()
            .last()
            .unwrap()
            .first_seq;
    assert_eq!(
        r.end_seq, active_first,
        "everything before the active segment is archived"
    );
    assert!(r.files >= 3 && r.segments >= 3, "{r:?}");
    let idx = ArchiveIndex::load(&archive_dir(&f.dir)).unwrap();
    assert_eq!(
        idx.partitions.len(),
        4,
        "one partition per day: init's and three more"
    );
    assert_eq!(
        idx.partitions[1]
            .dir
            .strip_prefix(archive_dir(&f.dir))
            .unwrap(),
        std::path::Path::new("year=2030/month=1/day=1")
    );
    let mut seen = 0u64;
    for (p, fe) in idx.files() {
        let batches = read_batches(&p.dir.join(&fe.file), None).unwrap();
        let mut last_ts = i64::MIN;
        for b in &batches {
            assert!(b.num_rows() <= 100, "row groups hold at most 100 rows here");
            let seq = b
                .column_by_name("seq")
                .unwrap()
                .as_primitive::<UInt64Type>();
            let tsr = b
                .column_by_name("ts_recorded")
                .unwrap()
                .as_primitive::<TimestampNanosecondType>();
            let tse = b
                .column_by_name("ts_event")
                .unwrap()
                .as_primitive::<TimestampNanosecondType>();
            for i in 0..b.num_rows() {
                let s = seq.value(i);
                let line = &lines[&s];
                let v: Value = serde_json::from_slice(line).unwrap();
                assert_eq!(
                    text(b.column_by_name("line").unwrap(), i)
                        .unwrap()
                        .as_bytes(),
                    &line[..],
                    "line of {s}"
                );
                assert_eq!(tsr.value(i), v["ts_recorded"].as_i64().unwrap());
                assert_eq!(tse.value(i), v["ts_event"].as_i64().unwrap());
                assert!(tse.value(i) >= last_ts, "rows are sorted by ts_event");
                last_ts = tse.value(i);
                for name in [
                    "prev",
                    "type",
                    "source",
                    "actor",
                    "trader_id",
                    "instrument_id",
                    "strategy_id",
                    "account_id",
                    "event_id",
                ] {
                    assert_eq!(
                        text(b.column_by_name(name).unwrap(), i).as_deref(),
                        v[name].as_str(),
                        "{name} of {s}"
                    );
                }
                assert_eq!(
                    text(b.column_by_name("entity_kind").unwrap(), i).as_deref(),
                    v["entity"]["kind"].as_str()
                );
                assert_eq!(
                    text(b.column_by_name("entity_id").unwrap(), i).as_deref(),
                    v["entity"]["id"].as_str()
                );
                for name in ["data", "refs"] {
                    let got = text(b.column_by_name(name).unwrap(), i)
                        .map(|t| serde_json::from_str::<Value>(&t).unwrap());
                    assert_eq!(got.as_ref(), v.get(name), "{name} of {s}");
                }
                seen += 1;
            }
        }
    }
    assert_eq!(seen, r.end_seq, "every archived record was compared");
}

#[test]
fn manifests_hold_the_journal_merkle_roots_and_files_are_zstd_with_stats() {
    let f = three_days();
    run(&f);
    let rec = f.open();
    let (tree, _) = Tree::load(&rec).unwrap();
    let idx = ArchiveIndex::load(&archive_dir(&f.dir)).unwrap();
    for (p, fe) in idx.files() {
        assert_eq!(
            tree.root_at(fe.last_seq + 1).unwrap(),
            fe.root,
            "root at {}",
            fe.last_seq + 1
        );
        let file = std::fs::File::open(p.dir.join(&fe.file)).unwrap();
        let reader = parquet::file::reader::SerializedFileReader::new(file).unwrap();
        use parquet::file::reader::FileReader;
        let md = reader.metadata();
        for rg in md.row_groups() {
            let ts = rg
                .columns()
                .iter()
                .find(|c| c.column_path().string() == "ts_event")
                .unwrap();
            assert!(matches!(
                ts.compression(),
                parquet::basic::Compression::ZSTD(_)
            ));
            assert!(
                ts.statistics().is_some_and(|s| s.min_bytes_opt().is_some()),
                "ts_event has statistics"
            );
            assert!(rg.sorting_columns().is_some());
        }
    }
    let m = &idx.partitions[3].manifest;
    assert_eq!(m.day, "2030-01-03");
    assert_eq!(m.root, m.files.last().unwrap().root);
    assert!(m.files[0].types["order.submitted"] > 0 && m.files[0].types["custom.log"] > 0);
}

#[test]
fn archiving_twice_is_a_no_op_and_resumes_with_new_segments() {
    let f = three_days();
    let first = run(&f);
    let snapshot = |f: &Fixture| {
        let mut v: Vec<(String, Vec<u8>)> = walk(&archive_dir(&f.dir));
        v.sort();
        v
    };
    let before = snapshot(&f);
    let again = run(&f);
    assert_eq!((again.records, again.files, again.segments), (0, 0, 0));
    assert_eq!(again.end_seq, first.end_seq);
    assert_eq!(snapshot(&f), before, "no file changed");
    f.write_day(4, 120, |i, ts| order(i, ts, "T-4"));
    f.seal_until(5);
    let more = run(&f);
    assert!(more.end_seq > first.end_seq + 100, "{more:?}");
    assert_eq!(more.records, more.end_seq - first.end_seq);
    let check = verify_all(&f.dir, &|_| {}).unwrap();
    assert!(check.ok(), "{check:?}");
    assert_eq!(check.archive.unwrap().records, more.end_seq);
}

fn walk(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else if !e.file_name().to_string_lossy().starts_with("_lock") {
            out.push((
                e.path().display().to_string(),
                std::fs::read(e.path()).unwrap(),
            ));
        }
    }
    out
}

#[test]
fn verify_names_a_changed_archive_line() {
    let f = three_days();
    run(&f);
    assert!(verify_all(&f.dir, &|_| {}).unwrap().ok());
    // Rewrite one file with one record's line changed, and fix its manifest's file hash,
    // as a careful forger would: the chain and the journal still catch it.
    let idx = ArchiveIndex::load(&archive_dir(&f.dir)).unwrap();
    let (p, fe) = idx.files().nth(1).unwrap();
    let path = p.dir.join(&fe.file);
    let lines = tradetrail_archive::read_lines(&path).unwrap();
    let victim = lines[5].0;
    let changed: Vec<String> = lines.iter().map(|(_, l)| l.replace("T-1", "T-9")).collect();
    let owned: Vec<Vec<u8>> = changed.iter().map(|l| l.as_bytes().to_vec()).collect();
    let rows: Vec<tradetrail_archive::Row<'_>> = owned
        .iter()
        .map(|l| tradetrail_archive::Row::parse(l).unwrap())
        .collect();
    let (buf, bytes, sha) =
        tradetrail_archive::write_parquet(Vec::new(), &rows, &ArchiveOptions::default(), vec![])
            .unwrap();
    std::fs::write(&path, &buf).unwrap();
    let mut m = Manifest::load(&p.dir.join(MANIFEST_FILE)).unwrap();
    for e in m.files.iter_mut().filter(|e| e.file == fe.file) {
        e.sha256 = sha;
        e.bytes = bytes;
    }
    m.save(&p.dir).unwrap();
    let check = verify_all(&f.dir, &|_| {}).unwrap();
    let a = check.archive.unwrap();
    assert!(!a.ok);
    assert_eq!(a.first_bad_seq, Some(lines[0].0.min(victim)), "{a:?}");
    assert!(a
        .reason
        .unwrap()
        .contains("hash does not match the manifest"));
}

#[test]
fn verify_catches_a_changed_typed_column_and_a_changed_file() {
    let f = three_days();
    run(&f);
    let idx = ArchiveIndex::load(&archive_dir(&f.dir)).unwrap();
    let (p, fe) = idx.files().next().unwrap();
    let path = p.dir.join(&fe.file);
    // One flipped byte anywhere in the file: its SHA-256 no longer matches.
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let a = verify_all(&f.dir, &|_| {}).unwrap().archive.unwrap();
    assert!(!a.ok);
    assert!(a.reason.as_deref().unwrap().contains("SHA-256"), "{a:?}");
    assert_eq!(a.first_bad_seq, Some(fe.first_seq));

    // The lines intact but one typed column changed, with the file hash recomputed.
    bytes[n / 2] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let (p, fe) = idx.files().nth(1).unwrap();
    let path = p.dir.join(&fe.file);
    let lines = tradetrail_archive::read_lines(&path).unwrap();
    let mut rows: Vec<tradetrail_archive::Row<'_>> = lines
        .iter()
        .map(|(_, l)| tradetrail_archive::Row::parse(l.as_bytes()).unwrap())
        .collect();
    let victim = rows.len() / 2;
    rows[victim].trader_id = Some("T-FORGED".into());
    let (buf, len, sha) =
        tradetrail_archive::write_parquet(Vec::new(), &rows, &ArchiveOptions::default(), vec![])
            .unwrap();
    std::fs::write(&path, &buf).unwrap();
    let mut m = Manifest::load(&p.dir.join(MANIFEST_FILE)).unwrap();
    for e in m.files.iter_mut().filter(|e| e.file == fe.file) {
        e.sha256 = sha;
        e.bytes = len;
    }
    m.save(&p.dir).unwrap();
    let a = verify_all(&f.dir, &|_| {}).unwrap().archive.unwrap();
    assert!(!a.ok);
    assert_eq!(a.first_bad_seq, Some(rows[victim].seq), "{a:?}");
    assert!(
        a.reason.as_deref().unwrap().contains("column trader_id"),
        "{a:?}"
    );
}

#[test]
fn verify_names_the_earliest_bad_file_whichever_is_checked_first() {
    // Files are checked in parallel; the verdict must still be the first bad record
    // in seq order, not the first one a thread happened to finish.
    let f = three_days();
    run(&f);
    let idx = ArchiveIndex::load(&archive_dir(&f.dir)).unwrap();
    let files: Vec<_> = idx
        .files()
        .map(|(p, fe)| (p.dir.join(&fe.file), fe.clone()))
        .collect();
    assert!(files.len() >= 4, "{} files", files.len());
    let flip = |path: &std::path::Path| {
        let mut b = std::fs::read(path).unwrap();
        let n = b.len();
        b[n / 2] ^= 1;
        std::fs::write(path, &b).unwrap();
    };
    let (early, late) = (&files[1], &files[files.len() - 1]);
    flip(&late.0);
    let a = verify_all(&f.dir, &|_| {}).unwrap().archive.unwrap();
    assert_eq!(a.first_bad_seq, Some(late.1.first_seq), "{a:?}");
    flip(&early.0);
    for _ in 0..5 {
        let a = verify_all(&f.dir, &|_| {}).unwrap().archive.unwrap();
        assert!(!a.ok);
        assert_eq!(a.first_bad_seq, Some(early.1.first_seq), "{a:?}");
        assert!(
            a.reason.as_deref().unwrap().contains(&early.1.file),
            "{a:?}"
        );
        assert_eq!(
            a.files, 1,
            "only the file before the bad one is counted: {a:?}"
        );
    }
    flip(&early.0);
    flip(&late.0);
    let a = verify_all(&f.dir, &|_| {}).unwrap().archive.unwrap();
    assert!(a.ok, "{a:?}");
    assert_eq!(a.files, files.len());
}

#[test]
fn a_broken_chain_is_not_archived_past_the_record_before_it() {
    let f = three_days();
    // Change one byte of a record in the second sealed segment (its hash changes, so the
    // next record's prev no longer matches).
    let segs = tradetrail_journal::list_segments(&tradetrail_journal::FsStorage, &f.dir.journal())
        .unwrap();
    let seg = &segs[1];
    let mut bytes = std::fs::read(&seg.path).unwrap();
    let at = bytes
        .windows(7)
        .position(|w| w == b"O-0\",\"" || w == b"line 1 ")
        .unwrap_or(200);
    bytes[at + 2] = b'9';
    std::fs::write(&seg.path, &bytes).unwrap();
    let e = archive(&f.dir, &ArchiveOptions::default(), &mut |_, _| {}).unwrap_err();
    let tradetrail_archive::Error::Chain { seq, reason } = e else {
        panic!("{e}");
    };
    assert!(seq > seg.first_seq && seq < segs[2].first_seq, "{seq}");
    assert!(reason.contains("prev does not match"), "{reason}");
    let idx = ArchiveIndex::load(&archive_dir(&f.dir)).unwrap();
    assert!(
        idx.end() <= seg.first_seq,
        "nothing from the broken segment is counted"
    );
    assert!(
        idx.strays.is_empty(),
        "the broken segment's files were removed: {:?}",
        idx.strays
    );
}

/// Partitions are days of the zone the archive was started in (`[time] zone`), fixed
/// for its life: a record at 03:00 UTC is on the day before in New York. A later change
/// of `[time] zone` does not move partitions, and says so.
#[test]
fn partitions_are_days_of_the_zone_the_archive_was_started_in() {
    let f = three_days();
    let cfg_path = f.dir.config();
    let cfg = std::fs::read_to_string(&cfg_path).unwrap();
    assert!(cfg.contains("zone = \"UTC\""), "{cfg}");
    std::fs::write(
        &cfg_path,
        cfg.replace("zone = \"UTC\"", "zone = \"America/New_York\""),
    )
    .unwrap();
    let r = run(&f);
    assert_eq!(r.partition_zone, "America/New_York");
    assert_eq!(r.zone_note, None);
    let root = archive_dir(&f.dir);
    assert_eq!(
        std::fs::read_to_string(root.join(tradetrail_archive::ZONE_FILE)).unwrap(),
        "America/New_York\n"
    );
    let ny = tradetrail_model::Zone::parse("America/New_York").unwrap();
    let idx = ArchiveIndex::load(&root).unwrap();
    let mut saw_shift = false;
    for (p, fe) in idx.files() {
        // Every record of every file is on its partition's day in New York.
        for b in read_batches(&p.dir.join(&fe.file), None).unwrap() {
            let ts = b
                .column_by_name("ts_recorded")
                .unwrap()
                .as_primitive::<TimestampNanosecondType>();
            for i in 0..ts.len() {
                let local = ny.date_of(ts.value(i)).to_string();
                assert_eq!(local, p.manifest.day, "{}", fe.file);
                let utc = tradetrail_model::Zone::utc()
                    .date_of(ts.value(i))
                    .to_string();
                saw_shift |= utc != local;
            }
        }
    }
    assert!(
        saw_shift,
        "some records are on another day in UTC than in New York"
    );
    // [time] zone changes later: the partitions keep New York, and the report says so.
    let cfg = std::fs::read_to_string(&cfg_path).unwrap();
    std::fs::write(&cfg_path, cfg.replace("America/New_York", "Asia/Tokyo")).unwrap();
    f.write_day(3, 50, |i, ts| custom(i, ts, "T-9"));
    f.seal_until(5);
    let r = run(&f);
    assert_eq!(r.partition_zone, "America/New_York");
    assert!(
        r.zone_note.as_deref().unwrap().contains("Asia/Tokyo"),
        "{r:?}"
    );
    verify_all(&f.dir, &|_| {}).unwrap();
}

/// An archive written before partitions had a zone has UTC days, and keeps them.
#[test]
fn an_archive_without_a_zone_file_is_utc() {
    let f = three_days();
    run(&f);
    let root = archive_dir(&f.dir);
    std::fs::remove_file(root.join(tradetrail_archive::ZONE_FILE)).unwrap();
    let cfg_path = f.dir.config();
    let cfg = std::fs::read_to_string(&cfg_path).unwrap();
    std::fs::write(
        &cfg_path,
        cfg.replace("zone = \"UTC\"", "zone = \"Europe/Berlin\""),
    )
    .unwrap();
    f.write_day(3, 20, |i, ts| custom(i, ts, "T-9"));
    f.seal_until(5);
    let r = run(&f);
    assert_eq!(r.partition_zone, "UTC");
    assert!(r.zone_note.is_some());
    assert_eq!(
        std::fs::read_to_string(root.join(tradetrail_archive::ZONE_FILE)).unwrap(),
        "UTC\n"
    );
}
