//! Reading archived records at the rows the query index keeps (their *places*):
//! the same lines as reading them by seq, for files written with today's small `line`
//! pages and for files written with the old 1 MiB pages; a wrong place (a stale or
//! damaged index, a rewritten file) never gives another record's line, and a file
//! whose `line` column disagrees with its `seq` column is an error naming the row.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::*;
use parquet::file::reader::FileReader;
use parquet::file::serialized_reader::{ReadOptionsBuilder, SerializedFileReader};
use tradetrail_archive::{
    apply, archive, archive_dir, ArchiveIndex, ArchiveLines, ArchiveOptions, LINE_PAGE_BYTES,
};
use tradetrail_journal::{ColdLines, NO_PLACE};
use tradetrail_query::{check_index, Filter, IndexOptions, Investigator, QueryOptions, Source};

/// The old writer's `line` page size (the parquet crate's default).
const OLD_PAGES: usize = 1 << 20;

/// Three days (about 3,000 records) in 1 MiB segments, archived with `line` pages
/// of `line_page_bytes` and row groups of 1,000 rows. Returns the fixture and every
/// line by seq.
fn archived(line_page_bytes: usize) -> (Fixture, Vec<(u64, Vec<u8>)>) {
    let f = Fixture::with_segment_bytes(1 << 20);
    f.write_day(0, 1500, |i, ts| order(i, ts, "T-1"));
    f.write_day(1, 1500, |i, ts| custom(i, ts, "T-2"));
    f.write_day(2, 40, |i, ts| order(5000 + i, ts, "T-3"));
    f.seal_until(200);
    let opts = ArchiveOptions {
        row_group_rows: 1000,
        line_page_bytes,
        ..ArchiveOptions::default()
    };
    archive(&f.dir, &opts, &mut |_, _| {}).unwrap();
    let lines = journal_lines(&f.dir);
    assert_eq!(lines[0].0, 0);
    (f, lines)
}

fn cold(f: &Fixture) -> Arc<ArchiveLines> {
    Arc::new(ArchiveLines::open(&f.dir).unwrap().expect("an archive"))
}

/// `(seq, place)` of every archived record, checking each line against the journal.
fn places(f: &Fixture, lines: &[(u64, Vec<u8>)]) -> Vec<(u64, u64)> {
    let c = cold(f);
    let end = c.end().unwrap();
    let mut out = Vec::new();
    c.for_each_placed(0, end, &mut |seq, place, line| {
        assert_eq!(line, lines[seq as usize].1.as_slice(), "record {seq}");
        assert_ne!(place, NO_PLACE);
        out.push((seq, place));
        Ok(true)
    })
    .unwrap();
    assert_eq!(out.len() as u64, end);
    out
}

/// What a fresh reader (no seq-to-row map cached) gives for `wants`.
fn read_placed(f: &Fixture, wants: &[(u64, u64)]) -> Vec<(u64, Vec<u8>)> {
    let mut got = Vec::new();
    cold(f)
        .read_placed(wants, &mut |s, l| {
            got.push((s, l.to_vec()));
            Ok(())
        })
        .unwrap();
    got
}

fn read(f: &Fixture, seqs: &[u64]) -> Vec<(u64, Vec<u8>)> {
    let mut got = Vec::new();
    cold(f)
        .read(seqs, &mut |s, l| {
            got.push((s, l.to_vec()));
            Ok(())
        })
        .unwrap();
    got
}

/// Pages of the `line` column in each row group of every archive file.
fn line_pages(f: &Fixture) -> Vec<usize> {
    let mut out = Vec::new();
    for path in archive_files(f) {
        let r = SerializedFileReader::new_with_options(
            std::fs::File::open(&path).unwrap(),
            ReadOptionsBuilder::new().with_page_index().build(),
        )
        .unwrap();
        let md = r.metadata();
        let line = md
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .position(|c| c.name() == "line")
            .unwrap();
        let offsets = md.offset_index().expect("an offset index");
        for rg in offsets {
            out.push(rg[line].page_locations().len());
        }
    }
    out
}

fn archive_files(f: &Fixture) -> Vec<PathBuf> {
    let idx = ArchiveIndex::load(&archive_dir(&f.dir)).unwrap();
    idx.files().map(|(p, e)| p.dir.join(&e.file)).collect()
}

/// Sets of seqs: all, sparse, reversed, repeated, scattered across files.
fn seq_sets(end: u64) -> Vec<Vec<u64>> {
    let mut scattered = Vec::new();
    let mut x = 12345u64;
    for _ in 0..60 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        scattered.push((x >> 33) % end);
    }
    vec![
        (0..end).collect(),
        (0..end).step_by(97).collect(),
        (0..end).rev().step_by(13).collect(),
        vec![5, 5, end - 1, 0, 5, 1600, end - 1],
        scattered,
        vec![1234],
    ]
}

#[test]
fn places_read_the_same_lines_as_seqs_with_new_and_old_pages() {
    for pages in [LINE_PAGE_BYTES, OLD_PAGES] {
        let (f, lines) = archived(pages);
        let per_group = line_pages(&f);
        if pages == OLD_PAGES {
            assert!(per_group.iter().all(|&n| n == 1), "{per_group:?}");
        } else {
            // 1,000 lines of about 400 bytes: several 64 KiB pages per row group.
            assert!(per_group.iter().any(|&n| n >= 4), "{per_group:?}");
        }
        let placed = places(&f, &lines);
        let end = placed.len() as u64;
        let place = |s: u64| placed[s as usize].1;
        for seqs in seq_sets(end) {
            let want: Vec<(u64, Vec<u8>)> =
                seqs.iter().map(|&s| lines[s as usize].clone()).collect();
            assert!(read(&f, &seqs) == want, "by seq, {pages}-byte pages");
            let wants: Vec<(u64, u64)> = seqs.iter().map(|&s| (s, place(s))).collect();
            assert!(read_placed(&f, &wants) == want, "at places, {pages}");
            // Some places known, some not (an index built partly before places).
            let mixed: Vec<(u64, u64)> = seqs
                .iter()
                .map(|&s| (s, if s % 2 == 0 { place(s) } else { NO_PLACE }))
                .collect();
            assert!(read_placed(&f, &mixed) == want, "mixed, {pages}");
            // Wrong places: another record's row, past the file's end, nonsense.
            let wrong: Vec<(u64, u64)> = seqs
                .iter()
                .enumerate()
                .map(|(i, &s)| {
                    let p = match i % 3 {
                        0 => place((s + 1) % end),
                        1 => 1 << 40,
                        _ => u64::MAX,
                    };
                    (s, p)
                })
                .collect();
            assert!(read_placed(&f, &wrong) == want, "wrong places, {pages}");
        }
    }
}

#[test]
fn a_line_column_that_disagrees_with_its_seq_column_is_an_error() {
    ensure_python_module("pyarrow");
    let (f, lines) = archived(LINE_PAGE_BYTES);
    let placed = places(&f, &lines);
    let path = archive_files(&f)
        .into_iter()
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    // Rows 10 and 11 of the file swap their lines; the seq column stays.
    let out = python(&format!(
        r#"
import pyarrow as pa, pyarrow.parquet as pq
t = pq.read_table({path:?})
lines = t.column("line").to_pylist()
lines[10], lines[11] = lines[11], lines[10]
seqs = t.column("seq").to_pylist()
t = t.set_column(t.schema.get_field_index("line"), "line", pa.array(lines, pa.string()))
pq.write_table(t, {path:?}, compression="zstd")
print(seqs[10])
"#,
        path = path.display().to_string()
    ));
    let seq: u64 = out.parse().unwrap();
    for wants in [vec![(seq, placed[seq as usize].1)], vec![(seq, NO_PLACE)]] {
        let e = cold(&f)
            .read_placed(&wants, &mut |_, _| Ok(()))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&format!("row 10 of its line column is not record {seq}")),
            "{e}"
        );
    }
}

#[test]
fn reads_at_places_do_not_decode_the_seq_column() {
    ensure_python_module("pyarrow");
    let (f, lines) = archived(LINE_PAGE_BYTES);
    let placed = places(&f, &lines);
    let path = archive_files(&f)
        .into_iter()
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    // The file's seq column rewritten past its range (by pyarrow, which writes no
    // page index): finding a record's row by seq now fails, reading its row does not.
    let out = python(&format!(
        r#"
import pyarrow as pa, pyarrow.parquet as pq
t = pq.read_table({path:?})
seqs = t.column("seq").to_pylist()
t = t.set_column(t.schema.get_field_index("seq"), "seq", pa.array([s + 10**9 for s in seqs], pa.uint64()))
pq.write_table(t, {path:?}, compression="zstd")
print(seqs[len(seqs) // 2])
"#,
        path = path.display().to_string()
    ));
    let seq: u64 = out.parse().unwrap();
    let place = placed[seq as usize].1;
    assert_eq!(
        read_placed(&f, &[(seq, place)]),
        vec![lines[seq as usize].clone()]
    );
    let e = cold(&f)
        .read(&[seq], &mut |_, _| Ok(()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("outside its range"), "{e}");
}

fn investigator(f: &Fixture) -> Investigator {
    Investigator::open_with(
        Source::dir(f.dir.journal()).with_cold(Some(cold(f) as Arc<dyn ColdLines>)),
        f.dir.index().join("query"),
        IndexOptions {
            persist: true,
            flush_rows: 1,
        },
        &|_| {},
    )
    .unwrap()
}

#[test]
fn the_index_keeps_places_and_a_stale_place_is_caught() {
    ensure_python_module("pyarrow");
    for pages in [LINE_PAGE_BYTES, OLD_PAGES] {
        let (f, lines) = archived(pages);
        set_retention(&f.dir, "90d", &[]);
        apply(&f.open(), "operator:test").unwrap();
        let first =
            tradetrail_journal::list_segments(&tradetrail_journal::FsStorage, &f.dir.journal())
                .unwrap()[0]
                .first_seq;
        assert!(first > 3000, "days 0 and 1 left journal/ ({first})");
        // Built after the removal: the archived records are indexed with their rows.
        let inv = investigator(&f);
        let trail = |inv: &Investigator, id: &str| -> Vec<(u64, Vec<u8>)> {
            let t = inv.trail(id).unwrap();
            t.records.into_iter().map(|r| (r.seq, r.line)).collect()
        };
        let o7 = trail(&inv, "O-7");
        let want: Vec<(u64, Vec<u8>)> = lines
            .iter()
            .filter(|(_, l)| std::str::from_utf8(l).unwrap().contains("\"O-7\""))
            .cloned()
            .collect();
        assert_eq!(want.len(), 2, "the order and the log line");
        assert!(o7 == want);
        drop(inv);
        let src = Source::dir(f.dir.journal()).with_cold(Some(cold(&f) as Arc<dyn ColdLines>));
        let check = check_index(&src, &f.dir.index().join("query")).unwrap();
        assert!(check.ok, "{check:?}");

        // Day 0's file rewritten with its rows reversed (pyarrow's writer, default
        // pages, no page index): every place the index keeps for it is now wrong.
        // The largest file is day 0's or day 1's: one of O-7's two records is in it.
        let day0 = archive_files(&f)
            .into_iter()
            .max_by_key(|p| std::fs::metadata(p).unwrap().len())
            .unwrap();
        python(&format!(
            r#"
import pyarrow.parquet as pq
t = pq.read_table({p:?})
pq.write_table(t.take(list(range(t.num_rows - 1, -1, -1))), {p:?}, compression="zstd")
"#,
            p = day0.display().to_string()
        ));
        let inv = investigator(&f);
        assert!(
            !inv.status().opened.rebuilt,
            "the index itself is unchanged"
        );
        assert!(trail(&inv, "O-7") == want, "the right lines, {pages}");
        assert!(trail(&inv, "O-1499") == lines_of(&lines, "\"O-1499\""));
        let (recs, _) = inv
            .query(&Filter::default(), &QueryOptions::default())
            .unwrap();
        let all: Vec<(u64, Vec<u8>)> = recs.into_iter().map(|r| (r.seq, r.line)).collect();
        assert!(all == lines, "every record, each its own line");
        drop(inv);
        // `verify` reports the index's places as wrong.
        let check = check_index(&src, &f.dir.index().join("query")).unwrap();
        assert!(!check.ok);
        let reason = check.reason.unwrap_or_default();
        assert!(reason.contains("place in the archive"), "{reason}");
    }
}

fn lines_of(lines: &[(u64, Vec<u8>)], needle: &str) -> Vec<(u64, Vec<u8>)> {
    lines
        .iter()
        .filter(|(_, l)| std::str::from_utf8(l).unwrap().contains(needle))
        .cloned()
        .collect()
}
