//! Counts by a dimension answered from the records per combo (`counts.bin`) agree
//! with counting every record by hand: fresh, after appends the saved counts have not
//! seen (followed live, opened from the directory, counts kept only in memory), with
//! `counts.bin` stale, damaged, missing or of another index, and `check_index` finds
//! a `counts.bin` forged with a correct checksum.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use serde_json::Value;
use tradetrail_query::{check_index, Dim, Filter, IndexOptions, Investigator, Source};

const DIMS: [Dim; 5] = [
    Dim::Type,
    Dim::Source,
    Dim::Trader,
    Dim::EntityKind,
    Dim::Instrument,
];

fn filters() -> Vec<Filter> {
    let mut out = vec![Filter::default()];
    let mut f = Filter::default();
    f.set("type", "order.*").unwrap();
    out.push(f);
    let mut f = Filter::default();
    f.set("type", "order.*").unwrap();
    f.set("trader", "T-2").unwrap();
    out.push(f);
    let mut f = Filter::default();
    f.set("type", "no.such.type").unwrap();
    out.push(f);
    out
}

fn key(v: &Value, dim: Dim) -> Option<String> {
    match dim {
        Dim::Type => v.get("type"),
        Dim::Source => v.get("source"),
        Dim::Trader => v.get("trader_id"),
        Dim::EntityKind => v.pointer("/entity/kind"),
        Dim::Instrument => v.get("instrument_id"),
        _ => unreachable!(),
    }
    .and_then(Value::as_str)
    .map(str::to_owned)
}

/// Every dimension and filter of [`filters`] counted by `inv` and by hand over the
/// journal's lines.
fn agree(inv: &Investigator, tmp: &Path, how: &str) {
    let values = parse_all(&lines(&tmp.join("journal")));
    for f in filters() {
        for dim in DIMS {
            let mut by_hand: BTreeMap<Option<String>, u64> = BTreeMap::new();
            for v in values.iter().filter(|v| matches(v, &f)) {
                *by_hand.entry(key(v, dim)).or_default() += 1;
            }
            let s = inv.stats(dim, &f).unwrap();
            let got: BTreeMap<Option<String>, u64> =
                s.rows.iter().map(|r| (r.value.clone(), r.count)).collect();
            assert_eq!(got, by_hand, "{how}: by {dim} for {f:?}");
            assert_eq!(s.total, by_hand.values().sum::<u64>(), "{how}");
        }
    }
}

fn open(tmp: &Path, flush_rows: u64) -> Investigator {
    Investigator::open_with(
        Source::dir(tmp.join("journal")),
        index_dir(tmp),
        IndexOptions {
            persist: true,
            flush_rows,
        },
        &|_| {},
    )
    .unwrap()
}

fn counts_file(tmp: &Path) -> std::path::PathBuf {
    index_dir(tmp).join("counts.bin")
}

/// `counts.bin`'s header: (generation, rows, combos).
fn header(b: &[u8]) -> (u64, u64, u64) {
    let u = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap());
    assert_eq!(&b[..8], b"TTCOUNT1");
    (u(8), u(16), u(24))
}

#[test]
fn counts_agree_with_a_scan_before_and_after_appends_the_counts_have_not_seen() {
    let tmp = tempfile::tempdir().unwrap();
    let j = create(tmp.path());
    let mut g = Gen::new(15);
    fill(&j, &mut g, 1500);

    // Built and saved as the CLI does: counts.bin covers every record.
    let inv = open(tmp.path(), 1);
    agree(&inv, tmp.path(), "fresh");
    let first = std::fs::read(counts_file(tmp.path())).unwrap();
    let at_first = j.status().unwrap().records;
    assert_eq!(header(&first).1, at_first);
    drop(inv);

    // Appends the saved counts have not seen, and records of a type and a source no
    // record had before (new combos).
    fill(&j, &mut g, 700);
    append(
        &j,
        r#"{"type":"brand.new","source":"new_source","actor":"system","ts_event":1}"#,
    );
    // Opened from the directory, the new rows kept in memory (not saved).
    let inv = open(tmp.path(), u64::MAX);
    agree(&inv, tmp.path(), "new rows in memory");
    assert_eq!(
        header(&std::fs::read(counts_file(tmp.path())).unwrap()).1,
        at_first,
        "not saved yet"
    );
    // Followed live as the journal grows, between saves.
    let live = Investigator::open_with(
        Source::live(j.clone()),
        index_dir(tmp.path()),
        IndexOptions {
            persist: true,
            flush_rows: 500,
        },
        &|_| {},
    )
    .unwrap();
    for step in [1u64, 333, 20, 600] {
        fill(&j, &mut g, step);
        agree(&live, tmp.path(), &format!("live, +{step}"));
    }
    drop(live);
    drop(inv);
    let inv = open(tmp.path(), 1);
    agree(&inv, tmp.path(), "reopened, saved");
    let saved = std::fs::read(counts_file(tmp.path())).unwrap();
    let records = j.status().unwrap().records;
    assert_eq!(header(&saved).1, records);
    drop(inv);

    // Stale: the counts of the first records only; the rest comes from combo.col.
    std::fs::write(counts_file(tmp.path()), &first).unwrap();
    agree(&open(tmp.path(), u64::MAX), tmp.path(), "stale counts.bin");
    let c = check_index(
        &Source::dir(tmp.path().join("journal")),
        &index_dir(tmp.path()),
    )
    .unwrap();
    assert!(c.ok, "a stale counts.bin is a valid prefix: {:?}", c.reason);

    // Damaged (any byte), cut, or missing: ignored, the counts come from combo.col.
    for at in [0, 9, 17, 25, 40, saved.len() - 1] {
        let mut d = saved.clone();
        d[at] ^= 0x01;
        std::fs::write(counts_file(tmp.path()), &d).unwrap();
        agree(
            &open(tmp.path(), u64::MAX),
            tmp.path(),
            &format!("byte {at} flipped"),
        );
    }
    std::fs::write(counts_file(tmp.path()), &saved[..saved.len() / 2]).unwrap();
    agree(&open(tmp.path(), u64::MAX), tmp.path(), "cut");
    std::fs::remove_file(counts_file(tmp.path())).unwrap();
    agree(&open(tmp.path(), u64::MAX), tmp.path(), "missing");
    // An index saved without counts (an older version's) gets them at its next open,
    // though it has nothing new to save.
    assert_eq!(
        std::fs::read(counts_file(tmp.path())).unwrap(),
        saved,
        "written again at open"
    );
    // The next save writes it again, whole.
    fill(&j, &mut g, 3);
    drop(open(tmp.path(), 1));
    let again = std::fs::read(counts_file(tmp.path())).unwrap();
    assert_eq!(header(&again).1, records + 3);

    // Of another index (rebuilt: a new generation): ignored.
    std::fs::remove_dir_all(index_dir(tmp.path())).unwrap();
    fill(&j, &mut g, 10);
    let inv = open(tmp.path(), 1);
    let rebuilt = std::fs::read(counts_file(tmp.path())).unwrap();
    assert_ne!(header(&rebuilt).0, header(&again).0, "a new generation");
    drop(inv);
    std::fs::write(counts_file(tmp.path()), &again).unwrap();
    agree(
        &open(tmp.path(), u64::MAX),
        tmp.path(),
        "another generation",
    );
}

#[test]
fn check_index_finds_counts_forged_with_a_correct_checksum() {
    let tmp = tempfile::tempdir().unwrap();
    let j = create(tmp.path());
    fill(&j, &mut Gen::new(7), 900);
    drop(j);
    drop(open(tmp.path(), 1));
    let src = Source::dir(tmp.path().join("journal"));
    let c = check_index(&src, &index_dir(tmp.path())).unwrap();
    assert!(c.ok, "{:?}", c.reason);

    // One record moved from one combo to another, checksum recomputed: the file is
    // self-consistent, so `stats` would believe it; the full check does not.
    let mut b = std::fs::read(counts_file(tmp.path())).unwrap();
    let (_, rows, n) = header(&b);
    assert_eq!(rows, 901, "900 and journal.created");
    let at = |i: usize| 32 + 8 * i;
    let count = |b: &[u8], i: usize| u64::from_le_bytes(b[at(i)..at(i) + 8].try_into().unwrap());
    let from = (0..n as usize).find(|&i| count(&b, i) > 0).unwrap();
    let to = (from + 1) % n as usize;
    let (a, z) = (count(&b, from) - 1, count(&b, to) + 1);
    b[at(from)..at(from) + 8].copy_from_slice(&a.to_le_bytes());
    b[at(to)..at(to) + 8].copy_from_slice(&z.to_le_bytes());
    let end = b.len() - 8;
    let sum = twox_hash::XxHash3_64::oneshot(&b[..end]);
    b[end..].copy_from_slice(&sum.to_le_bytes());
    std::fs::write(counts_file(tmp.path()), &b).unwrap();

    let c = check_index(&src, &index_dir(tmp.path())).unwrap();
    assert!(!c.ok);
    let why = c.reason.unwrap();
    assert!(
        why.contains("counts.bin counts") && why.contains(&format!("combo {from}")),
        "{why}"
    );
}
