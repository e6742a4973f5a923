//! `verify` over the journal and the archive together.
//!
//! - The journal is verified as always; when its oldest segments were removed after
//!   archiving, it must start right after an archived (or purged) record and link
//!   to that record's hash ([`tradetrail_journal::verify_from`]).
//! - Every archive file present is read back: its SHA-256 matches its manifest; its
//!   lines run `first_seq..=last_seq`, each linked by `prev` to the one before (across
//!   files too); the typed columns are exactly what the lines say; the Merkle root of
//!   the journal at the file's end, computed from the lines on top of the frontier
//!   the file before ended with, matches the manifest; and where the journal still
//!   holds the same records, the lines are byte-identical.
//! - A purged file (a tombstone in its manifest) must be accounted for by a
//!   `journal.retention_purged` record naming its range and roots.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};
use tradetrail_core::DataDir;
use tradetrail_journal::{
    for_each_line, list_segments, verify_from, Anchor, FsStorage, RecordHash, VerifyReport,
};
use tradetrail_merkle::Hash;

use crate::archiver::archive_dir;
use crate::frontier::Frontier;
use crate::index::{ArchiveIndex, Partition};
use crate::manifest::FileEntry;
use crate::reader::read_batches;
use crate::records::{purge_records, PurgeData};
use crate::row::{build_batch, file_order, Row};
use crate::schema::col;
use crate::Result;

/// What verifying the archive found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ArchiveCheck {
    /// True when every check passed.
    pub ok: bool,
    /// Partitions (day directories).
    pub partitions: usize,
    /// Files read and checked.
    pub files: usize,
    /// Records read from the archive and checked.
    pub records: u64,
    /// Records purged by retention (accounted for by purge records).
    pub purged_records: u64,
    /// Of those, records whose tombstones keep the Merkle subtrees of the purged run
    /// (checked to give the tombstone's root), so the tree can be rebuilt across them.
    pub purged_with_subtrees: u64,
    /// Archived records that the journal also still holds, compared byte for byte.
    pub compared_with_journal: u64,
    /// The seq after the last archived record.
    pub end_seq: u64,
    /// Merkle root of the journal's first `end_seq` records, as the archive shows it.
    #[serde(serialize_with = "ser_opt_hash")]
    pub root: Option<Hash>,
    /// The first record that is not what it should be.
    pub first_bad_seq: Option<u64>,
    /// Why.
    pub reason: Option<String>,
    /// Things that are not tampering (files left by an interrupted `archive`).
    pub warnings: Vec<String>,
}

fn ser_opt_hash<S: serde::Serializer>(h: &Option<Hash>, s: S) -> Result<S::Ok, S::Error> {
    match h {
        Some(h) => s.collect_str(h),
        None => s.serialize_none(),
    }
}

/// The journal's and the archive's verdicts.
#[derive(Debug, Clone, Serialize)]
pub struct FullCheck {
    /// The journal (from `journal_first_seq` on).
    pub journal: VerifyReport,
    /// The seq the journal's first segment starts at (0 unless segments past the hot
    /// window were removed).
    pub journal_first_seq: u64,
    /// The archive, when there is one.
    pub archive: Option<ArchiveCheck>,
}

impl FullCheck {
    /// True when both passed.
    pub fn ok(&self) -> bool {
        self.journal.ok && self.archive.as_ref().is_none_or(|a| a.ok)
    }
}

/// Verifies the journal and, when `DIR/archive` exists, the archive.
pub fn verify_all(data: &DataDir, progress: &(dyn Fn(u64) + Sync)) -> Result<FullCheck> {
    let jdir = data.journal();
    let root = archive_dir(data);
    let loaded = ArchiveIndex::load(&root);
    let journal_first_seq = list_segments(&FsStorage, &jdir)
        .ok()
        .and_then(|s| s.first().map(|s| s.first_seq))
        .unwrap_or(0);
    let anchor = match (&loaded, journal_first_seq) {
        (_, 0) => None,
        (Ok(idx), f) => idx.ending_at(f - 1).map(|e| Anchor {
            seq: f,
            prev: RecordHash(e.last_hash.0),
            ts_recorded: e.last_ts_recorded,
        }),
        (Err(_), _) => None,
    };
    // Without an archive record to link to, check the journal on its own terms (from
    // what its first record says), then fail it where the link is missing.
    let own = match (&anchor, journal_first_seq) {
        (None, f) if f > 0 => first_record_anchor(&jdir, f),
        _ => None,
    };
    let mut journal = verify_from(
        &FsStorage,
        &jdir,
        anchor.as_ref().or(own.as_ref()),
        progress,
    )?;
    if journal_first_seq > 0 && anchor.is_none() {
        journal.ok = false;
        journal.records = 0;
        journal.first_bad_seq = Some(journal_first_seq);
        journal.reason = Some(format!(
            "record {journal_first_seq}: the journal starts here but the archive cannot vouch for record {} \
             (no readable manifest ends there): the chain before it cannot be checked",
            journal_first_seq - 1
        ));
    }
    let archive = match loaded {
        Err(e) => Some(ArchiveCheck {
            ok: false,
            reason: Some(e.to_string()),
            ..ArchiveCheck::default()
        }),
        Ok(idx) if idx.partitions.is_empty() && idx.strays.is_empty() && idx.temps.is_empty() => {
            None
        }
        Ok(idx) => Some(check_archive(data, &idx, journal_first_seq)?),
    };
    Ok(FullCheck {
        journal,
        journal_first_seq,
        archive,
    })
}

fn first_record_anchor(jdir: &std::path::Path, first: u64) -> Option<Anchor> {
    let mut anchor = None;
    let _ = for_each_line(&FsStorage, jdir, first, Some(first + 1), |_, line| {
        if let Ok(h) = tradetrail_journal::parse_header(line) {
            anchor = Some(Anchor {
                seq: first,
                prev: h.prev,
                ts_recorded: h.ts_recorded,
            });
        }
        Ok(false)
    });
    anchor
}

/// Verifies the archive alone (see the module doc); `journal_first_seq` says which
/// archived records the journal still holds, to compare them.
pub fn check_archive(
    data: &DataDir,
    idx: &ArchiveIndex,
    journal_first_seq: u64,
) -> Result<ArchiveCheck> {
    let mut c = ArchiveCheck {
        ok: true,
        partitions: idx.partitions.len(),
        end_seq: idx.end(),
        ..ArchiveCheck::default()
    };
    for s in &idx.strays {
        c.warnings.push(format!(
            "{}: listed in no manifest (an interrupted `archive` left it); not counted, the next `tradetrail archive` makes it again",
            s.display()
        ));
    }
    for t in &idx.temps {
        c.warnings.push(format!(
            "{}: a temporary file of an interrupted write; not counted, the next `tradetrail archive` removes it",
            t.display()
        ));
    }
    let purges = match purge_records(data, idx) {
        Ok(p) => p,
        Err(e) => return Ok(failed(c, None, e.to_string())),
    };
    let jdir = data.journal();
    let journal_has = list_segments(&FsStorage, &jdir)
        .map(|s| !s.is_empty())
        .unwrap_or(false);
    let mut frontier = Frontier::new();
    for (p, f) in idx.files() {
        if let Some(by) = f.purged_by {
            if let Err(reason) = check_tombstone(p, f, by, &purges, &frontier) {
                return Ok(failed(c, Some(f.first_seq), reason));
            }
            c.purged_records += f.records;
            if !p.manifest.subtrees_of(&f.file).is_empty() {
                c.purged_with_subtrees += f.records;
            }
            frontier = f.frontier.clone();
            continue;
        }
        match check_file(p, f, &frontier) {
            Ok(lines) => {
                if journal_has && f.last_seq >= journal_first_seq {
                    let from = f.first_seq.max(journal_first_seq);
                    let mut bad = None;
                    let mut n = 0;
                    for_each_line(
                        &FsStorage,
                        &jdir,
                        from,
                        Some(f.last_seq + 1),
                        |seq, line| {
                            let ours = &lines[(seq - f.first_seq) as usize];
                            if ours.as_bytes() != line {
                                bad = Some(seq);
                                return Ok(false);
                            }
                            n += 1;
                            Ok(true)
                        },
                    )?;
                    if let Some(seq) = bad {
                        return Ok(failed(
                            c,
                            Some(seq),
                            format!(
                                "archived record {seq} in {} differs from the journal's",
                                p.dir.join(&f.file).display()
                            ),
                        ));
                    }
                    c.compared_with_journal += n;
                }
                c.files += 1;
                c.records += f.records;
                frontier = f.frontier.clone();
            }
            Err((seq, reason)) => {
                return Ok(failed(
                    c,
                    Some(seq),
                    format!("{}: {reason}", p.dir.join(&f.file).display()),
                ));
            }
        }
    }
    c.root = idx.last().map(|f| f.root);
    Ok(c)
}

fn failed(mut c: ArchiveCheck, seq: Option<u64>, reason: String) -> ArchiveCheck {
    c.ok = false;
    c.first_bad_seq = seq;
    c.reason = Some(reason);
    c
}

fn check_tombstone(
    p: &Partition,
    f: &FileEntry,
    by: u64,
    purges: &BTreeMap<u64, PurgeData>,
    before: &Frontier,
) -> Result<(), String> {
    let subtrees = p.manifest.subtrees_of(&f.file);
    let Some(d) = purges.get(&by) else {
        return Err(format!(
            "{}: marked purged by record {by}, which is not a journal.retention_purged record",
            p.dir.join(&f.file).display()
        ));
    };
    let listed = d.ranges.iter().any(|r| {
        r.file == f.file
            && r.first_seq == f.first_seq
            && r.last_seq == f.last_seq
            && r.records == f.records
            && r.first_hash == f.first_hash
            && r.last_hash == f.last_hash
            && r.root == f.root
            && r.subtrees == subtrees
    });
    if !listed {
        return Err(format!(
            "{}: purge record {by} does not list this file with these hashes",
            p.dir.join(&f.file).display()
        ));
    }
    if f.frontier.root() != f.root {
        return Err(format!(
            "{}: the tombstone's frontier does not give its root",
            f.file
        ));
    }
    if !subtrees.is_empty() {
        // The subtrees stand for the purged records: on top of the tree before the
        // file they must give the tombstone's root and frontier.
        let name = p.dir.join(&f.file);
        crate::manifest::check_tiling(f.first_seq, f.last_seq, subtrees)
            .map_err(|r| format!("{}: subtrees: {r}", name.display()))?;
        if before.size != f.first_seq {
            return Err(format!(
                "{}: the tree before it holds {} records, not {}",
                name.display(),
                before.size,
                f.first_seq
            ));
        }
        let mut fr = before.clone();
        for s in subtrees {
            fr.push_subtree(s.height, s.hash)
                .map_err(|r| format!("{}: subtrees: {r}", name.display()))?;
        }
        if fr.root() != f.root || fr != f.frontier {
            return Err(format!(
                "{}: its subtrees on top of the records before seq {} give the root {}, not the tombstone's {}: the subtree hashes were altered",
                name.display(),
                f.first_seq,
                fr.root(),
                f.root
            ));
        }
    }
    Ok(())
}

/// Checks one present file; returns its lines in seq order, or the first bad seq and why.
fn check_file(
    p: &Partition,
    f: &FileEntry,
    before: &Frontier,
) -> Result<Vec<String>, (u64, String)> {
    let path = p.dir.join(&f.file);
    let at = |reason: String| (f.first_seq, reason);
    let bytes = std::fs::read(&path).map_err(|e| at(format!("cannot be read: {e}")))?;
    if Hash(Sha256::digest(&bytes).into()) != f.sha256 || bytes.len() as u64 != f.bytes {
        return Err(at(
            "the file's SHA-256 does not match its manifest: it was changed after it was archived"
                .into(),
        ));
    }
    drop(bytes);
    let batches = read_batches(&path, None).map_err(|e| at(e.to_string()))?;
    let mut by_seq: Vec<(u64, String)> = Vec::with_capacity(f.records as usize);
    for b in &batches {
        let seq = b
            .column_by_name(col::SEQ)
            .and_then(|c| c.as_any().downcast_ref::<arrow_array::UInt64Array>())
            .ok_or_else(|| at("no seq column".into()))?;
        let line = b
            .column_by_name(col::LINE)
            .and_then(|c| c.as_any().downcast_ref::<arrow_array::StringArray>())
            .ok_or_else(|| at("no line column".into()))?;
        for i in 0..b.num_rows() {
            by_seq.push((seq.value(i), line.value(i).to_string()));
        }
    }
    // The typed columns must be exactly what the lines say, in the file's order.
    let rows: Vec<Row<'_>> = by_seq
        .iter()
        .map(|(s, l)| Row::parse(l.as_bytes()).map_err(|r| (*s, format!("record {s}: {r}"))))
        .collect::<Result<_, _>>()?;
    let order = file_order(&rows);
    let mut off = 0;
    for b in &batches {
        let n = b.num_rows();
        if off + n > order.len() {
            return Err(at("more rows than records".into()));
        }
        let expected = build_batch(&rows, &order[off..off + n]).map_err(|e| at(e.to_string()))?;
        for (i, (got, want)) in b.columns().iter().zip(expected.columns()).enumerate() {
            if got.to_data() != want.to_data() {
                let name = expected.schema().field(i).name().clone();
                let row = (0..n)
                    .find(|&r| got.slice(r, 1).to_data() != want.slice(r, 1).to_data())
                    .unwrap_or(0);
                let seq = rows[order[off + row]].seq;
                return Err((
                    seq,
                    format!("column {name} of record {seq} is not what its line says"),
                ));
            }
        }
        off += n;
    }
    by_seq.sort_by_key(|(s, _)| *s);
    if by_seq.len() as u64 != f.records {
        return Err(at(format!(
            "holds {} records, its manifest says {}",
            by_seq.len(),
            f.records
        )));
    }
    let mut frontier = before.clone();
    let mut prev = f.first_prev;
    let mut types: BTreeMap<String, u64> = BTreeMap::new();
    let mut lines = Vec::with_capacity(by_seq.len());
    for (i, (seq, line)) in by_seq.into_iter().enumerate() {
        let expected = f.first_seq + i as u64;
        if seq != expected {
            return Err((
                expected,
                format!("record {expected} is missing (found {seq})"),
            ));
        }
        let row = Row::parse(line.as_bytes()).map_err(|r| (seq, r))?;
        if row.seq != seq {
            return Err((
                seq,
                format!("the line of record {seq} says seq {}", row.seq),
            ));
        }
        if RecordHash::from_hex(row.prev.as_bytes()).map(|h| h.0) != Some(prev.0) {
            return Err((
                seq,
                format!("record {seq}: prev does not match the record before it"),
            ));
        }
        *types.entry(row.ty.to_string()).or_insert(0) += 1;
        let h = Hash(RecordHash::of_line(line.as_bytes()).0);
        if i == 0 && h != f.first_hash {
            return Err((
                seq,
                "the first record's hash does not match the manifest".into(),
            ));
        }
        frontier.push_line(line.as_bytes());
        prev = h;
        lines.push(line);
    }
    if prev != f.last_hash {
        return Err((
            f.last_seq,
            "the last record's hash does not match the manifest".into(),
        ));
    }
    if frontier.root() != f.root || frontier != f.frontier {
        return Err((
            f.last_seq,
            format!(
                "the Merkle root at seq {} computed from the archive does not match the manifest",
                f.last_seq + 1
            ),
        ));
    }
    if types != f.types {
        return Err(at("the counts by type do not match the manifest".into()));
    }
    Ok(lines)
}
