//! The index is bound to what was written: every index file has checksums in
//! `meta.json`, checked on open (an edited file is rebuilt, never answered from), and
//! `check_index` compares the whole index with the journal (it catches an edit whose
//! checksums were recomputed too).

mod common;

use std::path::Path;

use common::*;
use serde_json::{json, Value};
use tradetrail_query::{
    check_index, Dim, Filter, IndexOptions, Investigator, QueryOptions, Source,
};

/// As in `sums.rs`.
const CHUNK: usize = 128 << 10;

fn dir_source(tmp: &Path) -> Source {
    Source::dir(tmp.join("journal"))
}

/// Opens as the CLI does: from the directory, saving whatever it read.
fn open_dir(tmp: &Path) -> Investigator {
    Investigator::open_with(
        dir_source(tmp),
        index_dir(tmp),
        IndexOptions {
            persist: true,
            flush_rows: 1,
        },
        &|_| {},
    )
    .unwrap()
}

/// A journal of `n` records in steps, with an index that followed it saving often
/// (several runs, both kinds of dictionary, two full zones for n > 2048).
fn built(tmp: &Path, seed: u64, n: u64) -> tradetrail_journal::Journal {
    let j = create(tmp);
    let mut g = Gen::new(seed);
    let inv = Investigator::open_with(
        Source::live(j.clone()),
        index_dir(tmp),
        IndexOptions {
            persist: true,
            flush_rows: 37,
        },
        &|_| {},
    )
    .unwrap();
    let mut left = n;
    for step in [5u64, 300, 1, 800, 64, 1200, 2].iter().cycle() {
        let step = (*step).min(left);
        fill(&j, &mut g, step);
        inv.refresh().unwrap();
        left -= step;
        if left == 0 {
            break;
        }
    }
    drop(inv);
    // Saved up to the last record (the CLI's way: save whatever was read).
    drop(open_dir(tmp));
    j
}

/// What `query`, `stats` and `trail` answer (as text, to compare).
fn answers(inv: &Investigator) -> String {
    let mut out = String::new();
    let (all, _) = inv
        .query(&Filter::default(), &QueryOptions::default())
        .unwrap();
    out += &format!("all {:?}\n", all.iter().map(|r| r.seq).collect::<Vec<_>>());
    for ty in ["order.*", "risk.evaluated"] {
        let mut f = Filter::default();
        f.set("type", ty).unwrap();
        let (got, _) = inv.query(&f, &QueryOptions::default()).unwrap();
        out += &format!("{ty} {:?}\n", got.iter().map(|r| r.seq).collect::<Vec<_>>());
    }
    for id in IDS {
        let f = Filter {
            mentions: Some((*id).to_owned()),
            ..Filter::default()
        };
        let (got, _) = inv.query(&f, &QueryOptions::default()).unwrap();
        out += &format!(
            "mentions {id} {:?}\n",
            got.iter().map(|r| r.seq).collect::<Vec<_>>()
        );
        let t = inv.trail(id).unwrap();
        out += &format!(
            "trail {id} {:?}\n",
            t.records.iter().map(|r| r.seq).collect::<Vec<_>>()
        );
    }
    for by in [Dim::Type, Dim::Trader, Dim::Instrument] {
        let st = inv.stats(by, &Filter::default()).unwrap();
        out += &serde_json::to_string(&st).unwrap();
        out += "\n";
    }
    let f = Filter {
        from: Some(T0 + 100 * SEC),
        to: Some(T0 + 900 * SEC),
        ..Filter::default()
    };
    let (got, _) = inv.query(&f, &QueryOptions::default()).unwrap();
    out += &format!(
        "window {:?}\n",
        got.iter().map(|r| r.seq).collect::<Vec<_>>()
    );
    out
}

fn copy_dir(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn flip(p: &Path, at: usize) {
    let mut b = std::fs::read(p).unwrap();
    b[at] ^= 0x5a;
    std::fs::write(p, b).unwrap();
}

/// The index files of one kind: `name`, or the first run's `.post`/`.fence`.
fn file_of(idx: &Path, name: &str) -> std::path::PathBuf {
    if let Some(ext) = name.strip_prefix("run.") {
        let mut runs: Vec<_> = std::fs::read_dir(idx)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == ext))
            .collect();
        runs.sort();
        return runs.into_iter().next().expect("a run");
    }
    idx.join(name)
}

#[test]
fn one_edited_byte_in_any_index_file_is_rebuilt_not_answered_from() {
    let tmp = tempfile::tempdir().unwrap();
    let j = built(tmp.path(), 7, 2400);
    drop(j);
    let idx = index_dir(tmp.path());
    let pristine = tmp.path().join("pristine");
    copy_dir(&idx, &pristine);
    // What an index built from nothing answers.
    let fresh_tmp = tempfile::tempdir().unwrap();
    let want = {
        let inv = Investigator::open_with(
            dir_source(tmp.path()),
            index_dir(fresh_tmp.path()),
            IndexOptions::default(),
            &|_| {},
        )
        .unwrap();
        assert!(inv.status().opened.rebuilt);
        answers(&inv)
    };
    {
        let inv = open_dir(tmp.path());
        assert!(!inv.status().opened.rebuilt, "intact: loaded as it is");
        assert_eq!(inv.status().warning, None);
        assert_eq!(answers(&inv), want);
    }
    let kinds = [
        "ts_event.col",
        "ts_recorded.col",
        "combo.col",
        "entity.col",
        "offset.col",
        "len.col",
        "zones.col",
        "strings.bin",
        "combos.bin",
        "run.post",
        "run.fence",
    ];
    for kind in kinds {
        copy_dir(&pristine, &idx);
        let p = file_of(&idx, kind);
        let len = std::fs::metadata(&p).unwrap().len() as usize;
        assert!(len > 0, "{kind} has bytes");
        flip(&p, len / 2);
        let inv = open_dir(tmp.path());
        let st = inv.status();
        assert!(st.opened.rebuilt, "{kind}: rebuilt");
        let reason = st.opened.reason.clone().unwrap();
        let shown = p.file_name().unwrap().to_str().unwrap();
        assert!(
            reason.contains(shown) && reason.contains("checksum"),
            "{kind}: {reason}"
        );
        assert!(
            st.warning.as_deref().is_some_and(|w| w.contains("damaged")),
            "{kind}: {:?}",
            st.warning
        );
        assert_eq!(answers(&inv), want, "{kind}: as from a fresh index");
        drop(inv);
        let again = open_dir(tmp.path());
        assert!(
            !again.status().opened.rebuilt,
            "{kind}: the rebuilt index is kept"
        );
        let c = check_index(&dir_source(tmp.path()), &idx).unwrap();
        assert!(c.ok, "{kind}: {:?}", c.reason);
    }
}

/// Recomputes meta.json's checksums of `name` (a file in `meta.sums`, or
/// `run.post`/`run.fence` for the first run) from the file as it is now, as someone
/// covering an edit would.
fn recompute_sums(idx: &Path, name: &str) {
    let meta_path = idx.join("meta.json");
    let mut meta: Value = serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    let file = file_of(idx, name);
    let bytes = std::fs::read(&file).unwrap();
    let slot = match name.strip_prefix("run.") {
        Some(ext) => {
            let runs = meta["runs"].as_array_mut().unwrap();
            let fname = file.file_name().unwrap().to_str().unwrap().to_owned();
            let run = runs
                .iter_mut()
                .find(|r| fname.contains(&format!("{:016x}", r["id"].as_u64().unwrap())))
                .unwrap();
            &mut run[ext]
        }
        None => &mut meta["sums"][name],
    };
    let len = slot["len"].as_u64().unwrap() as usize;
    let sums: Vec<u64> = bytes[..len]
        .chunks(CHUNK)
        .map(twox_hash::XxHash3_64::oneshot)
        .collect();
    assert_ne!(
        slot["xxh3"],
        json!(sums),
        "{name}: the edit changed a checksum"
    );
    slot["xxh3"] = json!(sums);
    std::fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();
}

#[test]
fn check_index_compares_every_row_with_the_journal() {
    let tmp = tempfile::tempdir().unwrap();
    let src = dir_source(tmp.path());
    let idx = index_dir(tmp.path());

    // No index: derived data, nothing wrong.
    let j = create(tmp.path());
    fill(&j, &mut Gen::new(3), 10);
    drop(j);
    let c = check_index(&src, &idx).unwrap();
    assert!(c.ok && c.rows == 0 && c.reason.is_none(), "{c:?}");
    std::fs::remove_dir_all(tmp.path().join("journal")).unwrap();

    let j = built(tmp.path(), 8, 2400);
    let records = j.status().unwrap().records;
    drop(j);
    let c = check_index(&src, &idx).unwrap();
    assert!(c.ok, "intact: {:?}", c.reason);
    assert_eq!(c.rows, records);
    assert_eq!(c.reason, None);
    let pristine = tmp.path().join("pristine");
    copy_dir(&idx, &pristine);

    // Edited, checksums as they were: named by file and bytes.
    flip(&idx.join("ts_event.col"), 5 * 8);
    let c = check_index(&src, &idx).unwrap();
    assert!(!c.ok);
    assert_eq!(c.rows, records);
    let why = c.reason.unwrap();
    assert!(why.contains("ts_event.col bytes 0.."), "{why}");

    // Edited and the checksums recomputed: an open cannot tell, the content can.
    type Case = (&'static str, usize, &'static str);
    let cases: [Case; 5] = [
        ("ts_event.col", 5 * 8, "record 5: ts_event"),
        ("entity.col", 1000 * 8 + 2, "record 1000: the entity.id key"),
        ("offset.col", 2399 * 8, "record 2399: the line's offset"),
        ("zones.col", 40, "zone 1 "),
        ("run.post", 16 * 3 + 9, "posting "),
    ];
    for (name, at, want) in cases {
        copy_dir(&pristine, &idx);
        flip(&file_of(&idx, name), at);
        recompute_sums(&idx, name);
        let c = check_index(&src, &idx).unwrap();
        assert!(!c.ok, "{name}");
        let why = c.reason.unwrap();
        assert!(why.contains(want), "{name}: {why}");
        assert!(why.contains("the journal gives") || why.contains("differs from the journal"));
        let inv = open_dir(tmp.path());
        assert!(
            !inv.status().opened.rebuilt,
            "{name}: the checksums were recomputed right (the open finds nothing)"
        );
    }
    // check_index wrote nothing: the damaged index is still there to be found.
    let c = check_index(&src, &idx).unwrap();
    assert!(!c.ok);
}

#[test]
fn a_byte_before_the_last_chunk_is_found_by_check_index() {
    // The open checks the last 128 KiB of a large file (where catch-up appends);
    // the rest is for check_index. offset.col of 20,000 records is two chunks.
    let tmp = tempfile::tempdir().unwrap();
    let j = create(tmp.path());
    fill(&j, &mut Gen::new(9), 20_000);
    drop(j);
    drop(open_dir(tmp.path()));
    let idx = index_dir(tmp.path());
    assert!(std::fs::metadata(idx.join("offset.col")).unwrap().len() > CHUNK as u64);
    flip(&idx.join("offset.col"), 100 * 8);
    let c = check_index(&dir_source(tmp.path()), &idx).unwrap();
    assert!(!c.ok);
    assert!(
        c.reason
            .as_deref()
            .unwrap()
            .contains("offset.col bytes 0..131072"),
        "{:?}",
        c.reason
    );
    // A byte in the last chunk is the open's to find.
    flip(&idx.join("offset.col"), 100 * 8);
    flip(&idx.join("offset.col"), 19_999 * 8);
    let inv = open_dir(tmp.path());
    assert!(inv.status().opened.rebuilt);
    assert!(check_index(&dir_source(tmp.path()), &idx).unwrap().ok);
}
