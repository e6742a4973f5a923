//! [`check_index`]: the query index checked whole against the journal (for `verify`).

use std::path::Path;

use serde::Serialize;

use crate::index::{read_meta, Index, Load, INDEX_VERSION, META};
use crate::source::{cold_place, Source};
use crate::sums::Depth;
use crate::Result;
use tradetrail_journal::NO_PLACE;

/// What [`check_index`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndexCheck {
    /// The stored index holds exactly what the journal gives for the records it
    /// covers — or there is no stored index (it is derived data: the next read builds
    /// it), or one of another version (the next read rebuilds it; `reason` says so).
    pub ok: bool,
    /// Records the stored index covers (0 when there is none).
    pub rows: u64,
    /// Why not ok (the file and bytes, or the first record, that differ); or, when
    /// ok, a note (another index version).
    pub reason: Option<String>,
}

/// Checks the query index under `index_dir` (`DIR/index/query`) against the journal
/// `src` reads, without changing anything (it takes no lock and writes nothing).
///
/// 1. Every byte of every index file (columns, zones, dictionaries, posting runs and
///    fences) against the checksums in `meta.json` — where an open checks only the
///    small files and the last 128 KiB of each large one.
/// 2. The last indexed record's line against the hash in `meta.json`, as an open does.
/// 3. The content, which no recomputed checksum can fake: the records the index
///    covers are read again from the journal (and the archive's cold tier, if `src`
///    has it) and indexed afresh in memory, and the two are compared row by row —
///    `ts_event`, `ts_recorded`, the eight attributes (decoded through the
///    dictionaries), `entity.id`'s key, where the line is (offset, length) — then
///    every zone and every posting, and the records per combo in `counts.bin` against
///    `combo.col`. The first difference is the `reason`.
///
/// Not ok is not an answer from a damaged index: an open finds most damage itself
/// and rebuilds. What this adds is the damage an open cannot see (a byte outside the
/// checked tails, or a file edited with its checksums recomputed), which a rebuild
/// repairs: delete `DIR/index/query`.
///
/// Cost: about that of rebuilding the index without writing it — it reads the
/// journal's indexed records and every index file once, and holds a second copy of
/// the index's columns and postings in memory (about 70 bytes per record): 1.9 s at
/// a million records, measured (`docs/query.md`). Not for every call, then: an open
/// checks only the cheap part (the small files and the last chunk of the large ones).
/// `Err` only when the journal or the index files cannot be read.
pub fn check_index(src: &Source, index_dir: &Path) -> Result<IndexCheck> {
    let Some(meta) = read_meta(index_dir) else {
        let present = index_dir.join(META).exists();
        return Ok(IndexCheck {
            ok: !present,
            rows: 0,
            reason: present.then(|| "meta.json is unreadable".into()),
        });
    };
    if meta.version() != INDEX_VERSION {
        return Ok(IndexCheck {
            ok: true,
            rows: 0,
            reason: Some(format!(
                "the index is version {} (this build writes {INDEX_VERSION}): the next read rebuilds it",
                meta.version()
            )),
        });
    }
    let bad = |rows: u64, why: String| IndexCheck {
        ok: false,
        rows,
        reason: Some(why),
    };
    let mut loaded = None;
    for _ in 0..20 {
        match Index::try_load(index_dir, src, false, Depth::Full)? {
            Load::Ready(ix) => {
                loaded = Some(ix);
                break;
            }
            // A concurrent save or rebuild: look again.
            Load::Retry => std::thread::sleep(std::time::Duration::from_millis(10)),
            Load::Rebuild(why) | Load::Damaged(why) => return Ok(bad(meta.rows(), why)),
        }
    }
    let Some(stored) = loaded else {
        return Ok(bad(
            meta.rows(),
            "the index files kept changing while being checked; check again".into(),
        ));
    };
    let rows = stored.rows();
    let mut fresh = Index::scratch(index_dir, src)?;
    fresh.catch_up(src, Some(rows), u64::MAX, &|_| {})?;
    if fresh.rows() != rows {
        return Ok(bad(
            rows,
            format!(
                "the index covers {rows} records, the journal gives {}",
                fresh.rows()
            ),
        ));
    }
    // Records that left `journal/` are read from the cold tier by seq: the offsets an
    // index kept for them from when they were in a segment file are not used, and a
    // fresh build gives their places in the cold tier there (compared only where the
    // stored index holds places too).
    let segs = src.segments()?;
    let hot_first = segs
        .firsts
        .iter()
        .zip(&segs.kinds)
        .find(|(_, k)| matches!(k, crate::source::SegKind::Hot))
        .map_or(u64::MAX, |(f, _)| *f);
    Ok(match compare(&stored, &fresh, rows, hot_first)? {
        Some(why) => bad(rows, why),
        None => IndexCheck {
            ok: true,
            rows,
            reason: None,
        },
    })
}

/// The first difference between the stored index and the fresh one, if any.
/// Offsets are compared from `hot_first` on (see [`check_index`]).
fn compare(stored: &Index, fresh: &Index, rows: u64, hot_first: u64) -> Result<Option<String>> {
    const BLOCK: u64 = 1 << 16;
    let differs = |seq: u64, what: &str, a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| {
        format!("record {seq}: {what} in the index is {a:?}, the journal gives {b:?}")
    };
    let mut start = 0;
    while start < rows {
        let end = (start + BLOCK).min(rows);
        macro_rules! col {
            ($field:ident, $what:expr) => {
                let a = stored.$field.read(start, end)?;
                let b = fresh.$field.read(start, end)?;
                if let Some(i) = a.iter().zip(&b).position(|(x, y)| x != y) {
                    let seq = start + i as u64;
                    return Ok(Some(differs(seq, $what, &a[i], &b[i])));
                }
            };
        }
        col!(ts_event, "ts_event (ts_event.col)");
        col!(ts_recorded, "ts_recorded (ts_recorded.col)");
        col!(entity, "the entity.id key (entity.col)");
        if start < hot_first {
            // Cold records: a place the index keeps must be the one the tier gives.
            let to = end.min(hot_first);
            let a = stored.offset.read(start, to)?;
            let b = fresh.offset.read(start, to)?;
            let wrong = a
                .iter()
                .zip(&b)
                .position(|(x, y)| cold_place(*x) != NO_PLACE && x != y);
            if let Some(i) = wrong {
                let seq = start + i as u64;
                return Ok(Some(differs(
                    seq,
                    "the record's place in the archive (offset.col)",
                    &cold_place(a[i]),
                    &cold_place(b[i]),
                )));
            }
        }
        if end > hot_first {
            let from = start.max(hot_first);
            let a = stored.offset.read(from, end)?;
            let b = fresh.offset.read(from, end)?;
            if let Some(i) = a.iter().zip(&b).position(|(x, y)| x != y) {
                let seq = from + i as u64;
                return Ok(Some(differs(
                    seq,
                    "the line's offset (offset.col)",
                    &a[i],
                    &b[i],
                )));
            }
        }
        col!(len, "the line's length (len.col)");
        // Attribute codes may be numbered differently; their values may not.
        let a = stored.combo.read(start, end)?;
        let b = fresh.combo.read(start, end)?;
        let combos = stored.dicts.combos().len();
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            let seq = start + i as u64;
            if *x as usize >= combos {
                return Ok(Some(format!(
                    "record {seq}: combo.col holds code {x}, which combos.bin does not have"
                )));
            }
            let (va, vb) = (stored.combo_values(*x), fresh.combo_values(*y));
            if va != vb {
                return Ok(Some(differs(
                    seq,
                    "the attributes (combo.col, combos.bin, strings.bin)",
                    &va,
                    &vb,
                )));
            }
        }
        start = end;
    }
    // counts.bin (when usable, it is what `stats` answers from) against combo.col.
    if stored.counts.rows > 0 {
        let mut scanned = vec![0u64; stored.dicts.combos().len()];
        let mut start = 0;
        while start < stored.counts.rows {
            let end = (start + BLOCK).min(stored.counts.rows);
            for c in stored.combo.read(start, end)? {
                if let Some(n) = scanned.get_mut(c as usize) {
                    *n += 1;
                }
            }
            start = end;
        }
        let kept = &stored.counts.counts;
        if let Some(code) = (0..scanned.len().max(kept.len()))
            .find(|&i| kept.get(i).copied().unwrap_or(0) != scanned.get(i).copied().unwrap_or(0))
        {
            return Ok(Some(format!(
                "counts.bin counts {} records of combo {code} {:?} in records 0..{}, combo.col has {}",
                kept.get(code).copied().unwrap_or(0),
                stored.combo_values(code as u32),
                stored.counts.rows,
                scanned.get(code).copied().unwrap_or(0)
            )));
        }
    }
    if stored.zones != fresh.zones {
        let i = stored
            .zones
            .iter()
            .zip(&fresh.zones)
            .position(|(a, b)| a != b)
            .unwrap_or(stored.zones.len().min(fresh.zones.len()));
        return Ok(Some(format!(
            "zone {i} (records {}..{}) in zones.col differs from the journal's",
            i as u64 * crate::index::ZONE,
            (i as u64 + 1) * crate::index::ZONE
        )));
    }
    let (a, b) = (stored.all_postings()?, fresh.all_postings()?);
    if a != b {
        let i = a
            .iter()
            .zip(&b)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()));
        let show = |p: Option<&(u64, u64)>| match p {
            Some((k, v)) => format!("key {k:016x} -> record {}", v >> 1),
            None => "nothing".into(),
        };
        return Ok(Some(format!(
            "posting {i} (run-*.post) is {}, the journal gives {}",
            show(a.get(i)),
            show(b.get(i))
        )));
    }
    Ok(None)
}
