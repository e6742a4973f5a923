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

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;
use sha2::{Digest, Sha256};
use tradetrail_core::DataDir;
use tradetrail_journal::{
    for_each_line, list_segments, verify_from, Anchor, FsStorage, RecordHash, VerifyReport,
};
use tradetrail_merkle::Hash;

use crate::archiver::archive_dir;
use crate::files::partition_key;
use crate::frontier::Frontier;
use crate::index::{ArchiveIndex, Partition};
use crate::layout;
use crate::manifest::FileEntry;
use crate::reader::decode_batches;
use crate::records::{purge_records, PurgeData};
use crate::row::{file_order, ColumnBuffers, Row};
use crate::Result;

/// What verifying the archive found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ArchiveCheck {
    /// True when every check passed.
    pub ok: bool,
    /// Partitions (day directories).
    pub partitions: usize,
    /// The zone whose days the partitions are (the archive's `_zone`; UTC for an
    /// archive made before zones were recorded). Every file's records were checked to
    /// be recorded on its partition's day in this zone.
    pub zone: Option<String>,
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
    /// Seconds spent on the journal.
    pub journal_seconds: f64,
    /// Seconds spent on the archive.
    pub archive_seconds: f64,
}

impl FullCheck {
    /// True when both passed.
    pub fn ok(&self) -> bool {
        self.journal.ok && self.archive.as_ref().is_none_or(|a| a.ok)
    }
}

/// Verifies the journal and, when `DIR/archive` exists, the archive.
/// `progress` is called with the journal's bytes checked so far.
pub fn verify_all(data: &DataDir, progress: &(dyn Fn(u64) + Sync)) -> Result<FullCheck> {
    verify_all_with(data, progress, &|_, _| {})
}

/// [`verify_all`], also telling `archive_progress` the archived records checked so far
/// and how many there are to check.
pub fn verify_all_with(
    data: &DataDir,
    progress: &(dyn Fn(u64) + Sync),
    archive_progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<FullCheck> {
    let t0 = Instant::now();
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
    let journal_seconds = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let archive = match loaded {
        Err(e) => Some(ArchiveCheck {
            ok: false,
            reason: Some(e.to_string()),
            ..ArchiveCheck::default()
        }),
        Ok(idx) if idx.partitions.is_empty() && idx.strays.is_empty() && idx.temps.is_empty() => {
            None
        }
        Ok(idx) => Some(check_archive(
            data,
            &idx,
            journal_first_seq,
            archive_progress,
        )?),
    };
    Ok(FullCheck {
        journal,
        journal_first_seq,
        archive,
        journal_seconds,
        archive_seconds: t1.elapsed().as_secs_f64(),
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
    progress: &(dyn Fn(u64, u64) + Sync),
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
    let zone = layout::partition_zone(
        &idx.root,
        &tradetrail_model::Zone::utc(),
        !idx.partitions.is_empty(),
        false,
    )?;
    c.zone = Some(zone.name().to_string());
    if let Err((seq, reason)) = check_days(idx, &zone) {
        return Ok(failed(c, Some(seq), reason));
    }
    let purges = match purge_records(data, idx) {
        Ok(p) => p,
        Err(e) => return Ok(failed(c, None, e.to_string())),
    };
    let jdir = data.journal();
    let journal_from = list_segments(&FsStorage, &jdir)
        .map(|s| !s.is_empty())
        .unwrap_or(false)
        .then_some(journal_first_seq);
    // A file no longer in DIR/archive is read from the bucket `[archive] remote`
    // names (and checked like the others).
    let remote = crate::files::configured_remote(data)?;
    let fetch = |p: &Partition, f: &FileEntry| {
        let local = p.dir.join(&f.file);
        match (std::fs::read(&local), &remote) {
            (Ok(b), _) => Ok(Ok(bytes::Bytes::from(b))),
            (Err(e), Some(bucket)) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = format!("{}/{}", partition_key(&idx.root, &p.dir), f.file);
                Ok(bucket.get(&key)?.ok_or_else(|| {
                    format!(
                        "is missing from DIR/archive and from the bucket ({})",
                        bucket.url(&key)
                    )
                }))
            }
            (Err(e), _) => Ok(Err(format!("cannot be read: {e}"))),
        }
    };
    check_files(
        c,
        idx,
        Some(&purges),
        Some((&jdir, journal_from)),
        &fetch,
        progress,
    )
}

/// Gives the bytes of an archive file (from a directory or object storage), or why
/// they are not there (a verdict: the file is missing); `Err` when the store could
/// not be asked (the network, the credentials).
pub(crate) type Fetch<'a> = &'a (dyn Fn(&Partition, &FileEntry) -> Result<std::result::Result<bytes::Bytes, String>>
         + Sync);

/// Checks every file of `idx` (see [`check_archive`]) whose bytes `fetch` gives.
/// Tombstones are checked against their purge records when `purges` is given (the
/// journal's), and on their own (subtrees, frontier, root) otherwise. Archived
/// records the journal still holds are compared with it when `journal` gives its
/// directory and first seq.
pub(crate) fn check_files(
    mut c: ArchiveCheck,
    idx: &ArchiveIndex,
    purges: Option<&BTreeMap<u64, PurgeData>>,
    journal: Option<(&std::path::Path, Option<u64>)>,
    fetch: Fetch<'_>,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<ArchiveCheck> {
    // Each file is checked on top of the frontier the manifest gives the file before
    // it, so files are independent and are checked in parallel; the verdicts are
    // then read in seq order, and the first bad one is the one reported.
    let files: Vec<(&Partition, &FileEntry)> = idx.files().collect();
    let total: u64 = files.iter().map(|(_, f)| f.records).sum();
    let done = AtomicU64::new(0);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_VERIFY_THREADS);
    let verdicts = in_order(
        files.len(),
        threads,
        |k| {
            let (p, f) = files[k];
            let before = match k {
                0 => Frontier::new(),
                _ => files[k - 1].1.frontier.clone(),
            };
            let v = match f.purged_by {
                Some(by) => Ok(match check_tombstone(p, f, by, purges, &before) {
                    Ok(()) => Verdict::Good { compared: 0 },
                    Err(reason) => Verdict::Bad {
                        seq: f.first_seq,
                        reason,
                    },
                }),
                None => check_file(p, f, &before, fetch, journal),
            };
            progress(
                done.fetch_add(f.records, Ordering::Relaxed) + f.records,
                total,
            );
            v
        },
        |v| !matches!(v, Ok(Verdict::Good { .. })),
    );
    for (k, v) in verdicts.into_iter().enumerate() {
        let (p, f) = files[k];
        // Every file before the first bad verdict was checked.
        let Some(v) = v else { break };
        match v? {
            Verdict::Bad { seq, reason } => return Ok(failed(c, Some(seq), reason)),
            Verdict::Good { .. } if f.purged_by.is_some() => {
                c.purged_records += f.records;
                if !p.manifest.subtrees_of(&f.file).is_empty() {
                    c.purged_with_subtrees += f.records;
                }
            }
            Verdict::Good { compared } => {
                c.files += 1;
                c.records += f.records;
                c.compared_with_journal += compared;
            }
        }
    }
    c.root = idx.last().map(|f| f.root);
    Ok(c)
}

/// Checks that every partition is one day of `zone`: its directory's
/// `year=/month=/day=` keys and its manifest's `day` name the same date, and each of
/// its files (tombstones too) holds records recorded on that day in `zone`. `Err`
/// gives the first seq of the first partition or file that is not, and why.
pub(crate) fn check_days(
    idx: &ArchiveIndex,
    zone: &tradetrail_model::Zone,
) -> std::result::Result<(), (u64, String)> {
    for p in &idx.partitions {
        let here = p.dir.display();
        let keys: Vec<String> = p
            .dir
            .components()
            .rev()
            .take(3)
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let key = |i: usize, name: &str| {
            keys.get(i)
                .and_then(|k| k.strip_prefix(name))
                .and_then(|v| v.parse::<u32>().ok())
        };
        let date = match (key(2, "year="), key(1, "month="), key(0, "day=")) {
            (Some(y), Some(m), Some(d)) => time::Month::try_from(m as u8)
                .ok()
                .and_then(|m| time::Date::from_calendar_date(y as i32, m, d as u8).ok()),
            _ => None,
        };
        let Some(date) = date else {
            return Err((
                p.manifest.first_seq,
                format!("{here}: not a year=YYYY/month=M/day=D partition of a real date"),
            ));
        };
        let day = layout::day_of_date(date);
        if layout::day_of_name(&p.manifest.day) != Some(day) {
            return Err((
                p.manifest.first_seq,
                format!(
                    "{here}: its manifest says day {}, its directory is {}",
                    p.manifest.day,
                    layout::day_name(day)
                ),
            ));
        }
        for f in &p.manifest.files {
            for ts in [f.first_ts_recorded, f.last_ts_recorded] {
                let on = layout::day_in(zone, ts);
                if on != day {
                    return Err((
                        f.first_seq,
                        format!(
                            "{here}/{}: holds records recorded on {} in {zone}, but its partition is {} (the archive's partitions are days in {zone})",
                            f.file,
                            layout::day_name(on),
                            layout::day_name(day)
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// At most this many archive files are checked at once (each is held decoded).
const MAX_VERIFY_THREADS: usize = 4;

/// What checking one archive file found.
enum Verdict {
    /// Every check passed; `compared` records were also compared with the journal.
    Good { compared: u64 },
    /// The first bad record, and why.
    Bad { seq: u64, reason: String },
}

/// Runs `work(i)` for `i` in `0..n` on up to `threads` threads; returns the results
/// by `i`. Once a result is `stop`, no `i` after it is started (every `i` before it
/// still runs), so those are `None`.
fn in_order<T: Send>(
    n: usize,
    threads: usize,
    work: impl Fn(usize) -> T + Sync,
    stop: impl Fn(&T) -> bool + Sync,
) -> Vec<Option<T>> {
    let next = AtomicUsize::new(0);
    let first_stop = AtomicUsize::new(usize::MAX);
    let out: Mutex<Vec<Option<T>>> = Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, n.max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n || i > first_stop.load(Ordering::Relaxed) {
                    break;
                }
                let r = work(i);
                if stop(&r) {
                    first_stop.fetch_min(i, Ordering::Relaxed);
                }
                out.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
            });
        }
    });
    out.into_inner().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn failed(mut c: ArchiveCheck, seq: Option<u64>, reason: String) -> ArchiveCheck {
    c.ok = false;
    c.first_bad_seq = seq;
    c.reason = Some(reason);
    c
}

fn check_tombstone(
    p: &Partition,
    f: &FileEntry,
    by: u64,
    purges: Option<&BTreeMap<u64, PurgeData>>,
    before: &Frontier,
) -> Result<(), String> {
    let subtrees = p.manifest.subtrees_of(&f.file);
    if let Some(purges) = purges {
        check_purge_record(p, f, by, purges, subtrees)?;
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

/// The tombstone `f` is listed, with its hashes and subtrees, by purge record `by`.
fn check_purge_record(
    p: &Partition,
    f: &FileEntry,
    by: u64,
    purges: &BTreeMap<u64, PurgeData>,
    subtrees: &[tradetrail_merkle::Subtree],
) -> Result<(), String> {
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
    Ok(())
}

/// Checks one present file on top of `before` (the frontier of the file before it)
/// and, where the journal still holds its records (`journal_from` is the journal's
/// first seq when it has segments), compares them with the journal's byte for byte.
fn check_file(
    p: &Partition,
    f: &FileEntry,
    before: &Frontier,
    fetch: Fetch<'_>,
    journal: Option<(&std::path::Path, Option<u64>)>,
) -> Result<Verdict> {
    let path = p.dir.join(&f.file);
    let bad = |(seq, reason): (u64, String)| Verdict::Bad {
        seq,
        reason: format!("{}: {reason}", path.display()),
    };
    let at = |reason: String| bad((f.first_seq, reason));
    let bytes = match fetch(p, f)? {
        Ok(b) => b,
        Err(e) => return Ok(at(e)),
    };
    if Hash(Sha256::digest(&bytes).into()) != f.sha256 || bytes.len() as u64 != f.bytes {
        return Ok(at(
            "the file's SHA-256 does not match its manifest: it was changed after it was archived"
                .into(),
        ));
    }
    // Decoded from the bytes just hashed: what is checked is what the manifest names.
    let batches = match decode_batches(bytes, &path, None) {
        Ok(b) => b,
        Err(e) => return Ok(at(e.to_string())),
    };
    let lines = match check_batches(&batches, f, before) {
        Ok(lines) => lines,
        Err(e) => return Ok(bad(e)),
    };
    let Some((jdir, journal_from)) = journal else {
        return Ok(Verdict::Good { compared: 0 });
    };
    let Some(from) = journal_from.filter(|&j| f.last_seq >= j) else {
        return Ok(Verdict::Good { compared: 0 });
    };
    let from = f.first_seq.max(from);
    let mut differs = None;
    let mut compared = 0;
    for_each_line(&FsStorage, jdir, from, Some(f.last_seq + 1), |seq, line| {
        if lines[(seq - f.first_seq) as usize].as_bytes() != line {
            differs = Some(seq);
            return Ok(false);
        }
        compared += 1;
        Ok(true)
    })?;
    Ok(match differs {
        Some(seq) => Verdict::Bad {
            seq,
            reason: format!(
                "archived record {seq} in {} differs from the journal's",
                path.display()
            ),
        },
        None => Verdict::Good { compared },
    })
}

/// Checks a decoded file against its manifest (on top of `before`); returns its
/// lines in seq order, borrowed from the `line` column, or the first bad seq and why.
fn check_batches<'b>(
    batches: &'b [arrow_array::RecordBatch],
    f: &FileEntry,
    before: &Frontier,
) -> Result<Vec<&'b str>, (u64, String)> {
    let at = |reason: String| (f.first_seq, reason);
    // (seq, line) in file order, the lines borrowed from the batches.
    let in_file = crate::reader::seq_lines(batches)
        .ok_or_else(|| at("the seq or line column is missing or has the wrong type".into()))?;
    // Each line is parsed once; the typed columns must be exactly what the lines say,
    // in the file's order.
    let rows: Vec<Row<'_>> = in_file
        .iter()
        .map(|(s, l)| Row::parse(l.as_bytes()).map_err(|r| (*s, format!("record {s}: {r}"))))
        .collect::<Result<_, _>>()?;
    let order = file_order(&rows);
    let mut off = 0;
    let mut pool = ColumnBuffers::default();
    for b in batches {
        let n = b.num_rows();
        if off + n > order.len() {
            return Err(at("more rows than records".into()));
        }
        let expected = pool
            .build(&rows, &order[off..off + n])
            .map_err(|e| at(e.to_string()))?;
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
        pool.give_back(expected);
    }
    if in_file.len() as u64 != f.records {
        return Err(at(format!(
            "holds {} records, its manifest says {}",
            in_file.len(),
            f.records
        )));
    }
    let mut by_seq: Vec<usize> = (0..in_file.len()).collect();
    by_seq.sort_unstable_by_key(|&k| in_file[k].0);
    let mut frontier = before.clone();
    let mut prev = f.first_prev;
    let mut types: hashbrown::HashMap<&str, u64> = hashbrown::HashMap::new();
    for (i, &k) in by_seq.iter().enumerate() {
        let (seq, line) = in_file[k];
        let row = &rows[k];
        let expected = f.first_seq + i as u64;
        if seq != expected {
            return Err((
                expected,
                format!("record {expected} is missing (found {seq})"),
            ));
        }
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
        *types.entry(row.ty.as_ref()).or_insert(0) += 1;
        let h = Hash(RecordHash::of_line(line.as_bytes()).0);
        if i == 0 && h != f.first_hash {
            return Err((
                seq,
                "the first record's hash does not match the manifest".into(),
            ));
        }
        frontier.push_line(line.as_bytes());
        prev = h;
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
    if types.len() != f.types.len()
        || f.types
            .iter()
            .any(|(t, n)| types.get(t.as_str()) != Some(n))
    {
        return Err(at("the counts by type do not match the manifest".into()));
    }
    Ok(by_seq.iter().map(|&k| in_file[k].1).collect())
}
