//! Retention: which archived JSONL segments leave `journal/` (the hot window), which
//! archive partitions have expired under the policy, which are held, and applying it.
//!
//! Rules (docs/archive.md):
//! - a JSONL segment leaves `journal/` only once every record in it is archived and
//!   verified identical, its last record is older than the hot window, and it is not
//!   the newest sealed segment; segments go oldest first, so the journal stays a
//!   contiguous suffix anchored on the archive;
//! - a partition is purged whole, only when its records are no longer in `journal/`,
//!   every type in it has a `keep` rule and the longest of those periods has passed
//!   since its day, it holds no record that is never purged (`journal.created`,
//!   purge records, hold records), and no active legal hold matches any record in it;
//! - `apply` verifies the journal and archive first and refuses if they do not verify;
//!   it appends one `journal.retention_purged` record naming every removed file with
//!   its seq range, count and Merkle roots *before* removing anything, then turns each
//!   file's manifest entry into a tombstone, then deletes the file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Serialize;
use time::{Date, Month};
use tradetrail_core::{DataDir, Period, Recorder};
use tradetrail_journal::{list_segments, Durability, Entry, FsStorage};
use tradetrail_merkle::{leaf_hash, SubtreeBuilder};

use crate::archiver::{archive_dir, ArchiveLock};
use crate::files::ArchiveFiles;
use crate::frontier::Frontier;
use crate::holds::{list_holds, Hold};
use crate::index::ArchiveIndex;
use crate::layout::{date_of_day, day_name, day_of, day_of_date};
use crate::manifest::FileEntry;
use crate::records::{purge_records, PurgeData, PurgedRange, NEVER_PURGED, PURGE_TYPE};
use crate::row::Row;
use crate::schema::col;
use crate::verify::verify_all;
use crate::{Error, Result};

/// The type that a purge never blocks on and never needs a rule for: checkpoints
/// restate the tree head, which the signed notes in `DIR/checkpoints` keep.
const FOLLOWS_PARTITION: &str = "journal.checkpoint";

/// The day `period` after `day` (calendar months and years; the 29th of February
/// plus a year is the 28th).
pub fn add_period(day: i64, period: Period) -> i64 {
    let d = date_of_day(day);
    let (y, m) = match period {
        Period::Days(n) => return day + i64::from(n),
        Period::Months(n) => {
            let months = i64::from(u8::from(d.month())) - 1 + i64::from(n);
            (i64::from(d.year()) + months / 12, (months % 12) as u8 + 1)
        }
        Period::Years(n) => (i64::from(d.year()) + i64::from(n), u8::from(d.month())),
    };
    let month = Month::try_from(m).expect("1..=12");
    let y = y.clamp(-9999, 9999) as i32;
    (0..4)
        .find_map(|back| Date::from_calendar_date(y, month, d.day() - back).ok())
        .map(day_of_date)
        .unwrap_or(i64::MAX)
}

/// A JSONL segment that leaves `journal/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentRemoval {
    /// The file.
    pub path: PathBuf,
    /// Its first seq.
    pub first_seq: u64,
    /// Its last seq.
    pub last_seq: u64,
    /// `ts_recorded` of its last record.
    pub last_ts_recorded: i64,
}

/// A partition that will be purged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartitionPurge {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// The partition directory.
    pub dir: PathBuf,
    /// Its files.
    pub files: Vec<FileEntry>,
    /// First seq.
    pub first_seq: u64,
    /// Last seq.
    pub last_seq: u64,
    /// Records.
    pub records: u64,
    /// The day it expired (`YYYY-MM-DD`), by the longest rule among its types.
    pub expired_on: String,
}

/// Why a partition stays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Kept {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Records present.
    pub records: u64,
    /// Why it is not purged.
    pub reason: String,
    /// The active holds that match records in it (empty unless that is the reason).
    pub holds: Vec<u64>,
}

/// What `apply` would do now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The instant the plan is for (ns).
    pub now: i64,
    /// The hot window in force.
    pub hot_window: String,
    /// The rules in force.
    pub keep: BTreeMap<String, String>,
    /// The seq the journal starts at now.
    pub journal_first_seq: u64,
    /// Records in `journal/` now.
    pub journal_records: u64,
    /// Sealed segments not archived yet.
    pub unarchived_segments: usize,
    /// The seq after the last archived record.
    pub archive_end: u64,
    /// Archived records present.
    pub archived_records: u64,
    /// Records purged so far.
    pub purged_records: u64,
    /// Partitions present.
    pub partitions: usize,
    /// Active holds.
    pub holds: Vec<Hold>,
    /// Segments that leave `journal/`.
    pub remove_segments: Vec<SegmentRemoval>,
    /// Partitions that are purged.
    pub purge: Vec<PartitionPurge>,
    /// Partitions that stay, with the reason (held partitions first).
    pub kept: Vec<Kept>,
}

impl Plan {
    /// Records `apply` would purge.
    pub fn purge_records(&self) -> u64 {
        self.purge.iter().map(|p| p.records).sum()
    }
}

/// Works out what `apply` would do at `now` (ns).
pub fn plan(data: &DataDir, now: i64) -> Result<Plan> {
    let config = tradetrail_core::Config::load(&data.config())?;
    let policy = &config.retention;
    let idx = ArchiveIndex::load(&archive_dir(data))?;
    let files = ArchiveFiles::open(data)?;
    let segs = list_segments(&FsStorage, &data.journal())?;
    let today = day_of(now);
    let journal_first_seq = segs.first().map_or(0, |s| s.first_seq);
    let journal_records = tradetrail_journal::inspect(&FsStorage, &data.journal())
        .map(|i| i.records)
        .unwrap_or(0)
        .saturating_sub(journal_first_seq);
    let holds: Vec<Hold> = list_holds(data, &idx)?
        .into_iter()
        .filter(Hold::active)
        .collect();
    let mut plan = Plan {
        now,
        hot_window: policy.hot_window.clone(),
        keep: policy.keep.clone(),
        journal_first_seq,
        journal_records,
        unarchived_segments: 0,
        archive_end: idx.end(),
        archived_records: idx.present_records(),
        purged_records: idx
            .files()
            .filter(|(_, f)| f.purged_by.is_some())
            .map(|(_, f)| f.records)
            .sum(),
        partitions: idx.partitions.len(),
        holds: holds.clone(),
        remove_segments: Vec::new(),
        purge: Vec::new(),
        kept: Vec::new(),
    };
    // The hot window: oldest first, fully archived, past the window, never the newest sealed one.
    // `stays` names, for each segment that stays, why (the first one's reason holds the rest).
    let sealed = segs.len().saturating_sub(1);
    let mut blocked: Option<String> = None;
    let mut stays: Vec<(u64, String)> = Vec::new();
    let mut first_after = journal_first_seq;
    for i in 0..sealed {
        let end = segs[i + 1].first_seq;
        let why = if end > idx.end() {
            plan.unarchived_segments += 1;
            Some("its segment is not wholly archived yet".to_owned())
        } else if let Some(first) = &blocked {
            Some(format!(
                "segments leave journal/ oldest first, and an older one stays ({first})"
            ))
        } else if i + 1 == sealed {
            Some(
                "its segment is the newest sealed one, which always stays in journal/ \
                 (seal again and archive to let it go)"
                    .to_owned(),
            )
        } else {
            // Files never span segments, so one ends exactly where this segment does.
            match idx.ending_at(end - 1) {
                None => Some("its segment is not wholly archived yet".to_owned()),
                Some(last) => {
                    let last_day = day_of(last.last_ts_recorded);
                    let leaves = add_period(last_day, policy.hot_window());
                    if leaves >= today {
                        Some(format!(
                            "within the hot window of {}: its segment ends on {} and may leave journal/ after {}",
                            policy.hot_window,
                            day_name(last_day),
                            day_name(leaves)
                        ))
                    } else {
                        plan.remove_segments.push(SegmentRemoval {
                            path: segs[i].path.clone(),
                            first_seq: segs[i].first_seq,
                            last_seq: end - 1,
                            last_ts_recorded: last.last_ts_recorded,
                        });
                        first_after = end;
                        None
                    }
                }
            }
        };
        if let Some(why) = why {
            if blocked.is_none() {
                blocked = Some(why.clone());
            }
            stays.push((end - 1, why));
        }
    }
    // Why the records up to `seq` are still in journal/ (the active segment holds the rest).
    let stays_for = |seq: u64| -> String {
        let why = stays
            .iter()
            .find(|(last, _)| seq <= *last)
            .map(|(_, why)| why.clone())
            .unwrap_or_else(|| {
                "its records are in the active segment (seal and archive to let them go)".to_owned()
            });
        format!("its records are still in journal/: {why}")
    };
    // Partitions.
    for p in &idx.partitions {
        let m = &p.manifest;
        let present: Vec<&FileEntry> = m.files.iter().filter(|f| f.purged_by.is_none()).collect();
        if present.is_empty() {
            continue;
        }
        let records: u64 = present.iter().map(|f| f.records).sum();
        let kept = |reason: String| Kept {
            day: m.day.clone(),
            records,
            reason,
            holds: Vec::new(),
        };
        if m.last_seq >= first_after {
            plan.kept.push(kept(stays_for(m.last_seq)));
            continue;
        }
        let mut types: BTreeSet<&str> = BTreeSet::new();
        for f in &present {
            types.extend(f.types.keys().map(String::as_str));
        }
        if let Some(t) = types.iter().find(|t| NEVER_PURGED.contains(t)) {
            plan.kept
                .push(kept(format!("holds a {t} record, which is never purged")));
            continue;
        }
        // The partition's own day (of the archive's zone), as its manifest names it.
        let day = crate::layout::day_of_name(&m.day)
            .unwrap_or_else(|| day_of(present[0].first_ts_recorded));
        let mut expires = None::<i64>;
        let mut missing = None;
        for t in types.iter().filter(|t| **t != FOLLOWS_PARTITION) {
            match policy.keep_for(t) {
                Some((_, period)) => {
                    let e = add_period(day, period) + 1;
                    expires = Some(expires.map_or(e, |x| x.max(e)));
                }
                None => {
                    missing = Some(*t);
                    break;
                }
            }
        }
        if let Some(t) = missing {
            plan.kept.push(kept(format!(
                "no retention rule covers type {t}: kept forever"
            )));
            continue;
        }
        let Some(expires) = expires else {
            plan.kept.push(kept(
                "no record in it is covered by a retention rule".into(),
            ));
            continue;
        };
        if today < expires {
            plan.kept
                .push(kept(format!("expires on {}", day_name(expires))));
            continue;
        }
        let held = holds_matching(&files, p.dir.as_path(), &present, &holds)?;
        if !held.is_empty() {
            let mut k = kept(format!(
                "under legal hold {}",
                held.iter()
                    .map(|h| h.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            k.holds = held;
            plan.kept.push(k);
            continue;
        }
        plan.purge.push(PartitionPurge {
            day: m.day.clone(),
            dir: p.dir.clone(),
            files: present.iter().map(|f| (*f).clone()).collect(),
            first_seq: present[0].first_seq,
            last_seq: present[present.len() - 1].last_seq,
            records,
            expired_on: day_name(expires),
        });
    }
    plan.kept.sort_by_key(|k| k.holds.is_empty());
    Ok(plan)
}

/// The active holds that match a record in these files.
fn holds_matching(
    src: &ArchiveFiles,
    dir: &std::path::Path,
    files: &[&FileEntry],
    holds: &[Hold],
) -> Result<Vec<u64>> {
    let mut out = Vec::new();
    let mut candidates: Vec<&Hold> = Vec::new();
    for h in holds {
        // A hold by time alone needs no file read.
        let s = &h.scope;
        let lo = files
            .iter()
            .filter_map(|f| f.min_ts_event)
            .min()
            .unwrap_or(files[0].first_ts_recorded);
        let hi = files
            .iter()
            .filter_map(|f| f.max_ts_event)
            .max()
            .unwrap_or(i64::MAX);
        let lo = lo.min(files[0].first_ts_recorded);
        let hi = hi.max(files[files.len() - 1].last_ts_recorded);
        if s.from.is_some_and(|f| hi < f) || s.to.is_some_and(|t| lo >= t) {
            continue;
        }
        candidates.push(h);
    }
    if candidates.is_empty() {
        return Ok(out);
    }
    for f in files {
        let batches = src.batches(dir, f, Some(&[col::LINE]))?;
        for b in &batches {
            let lines = b
                .column(0)
                .as_any()
                .downcast_ref::<arrow_array::StringArray>()
                .ok_or_else(|| Error::Corrupt {
                    path: dir.join(&f.file),
                    reason: "the line column is not text".into(),
                })?;
            for i in 0..b.num_rows() {
                let row =
                    Row::parse(lines.value(i).as_bytes()).map_err(|reason| Error::Corrupt {
                        path: dir.join(&f.file),
                        reason,
                    })?;
                for h in &candidates {
                    if !out.contains(&h.id) && h.scope.matches(&row) {
                        out.push(h.id);
                    }
                }
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// What `apply` did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Applied {
    /// The plan it carried out.
    pub plan: Plan,
    /// The seq of the `journal.retention_purged` record, if anything was purged.
    pub purge_record: Option<u64>,
    /// Purges recorded by an earlier, interrupted apply that this one finished.
    pub finished_earlier: usize,
    /// With `[archive] remote`: the upload that followed, which replaced the changed
    /// manifests in the bucket and deleted the purged files' objects there.
    pub remote: Option<crate::remote::MirrorReport>,
}

/// Carries out the plan for the current time: verifies everything first, removes
/// segments past the hot window, records the purge, then purges. `rec` holds the
/// journal's lock, so nothing appends meanwhile. With `[archive] remote`, files no
/// longer in `DIR/archive` are read (verified, checked for holds, hashed for the
/// purge record) from the bucket, and once the purge is done locally the bucket is
/// brought level: its manifests get the tombstones, the purged objects are deleted.
pub fn apply(rec: &Recorder, actor: &str) -> Result<Applied> {
    let data = rec.data_dir();
    // A bad `[archive] remote` is refused before anything is removed.
    let files = ArchiveFiles::open(data)?;
    let mut applied = apply_locked(rec, actor, &files)?;
    if let Some(bucket) = files.remote() {
        let root = archive_dir(data);
        applied.remote = Some(crate::remote::mirror(&root, bucket, &mut |_, _| true)?);
    }
    Ok(applied)
}

fn apply_locked(rec: &Recorder, actor: &str, files: &ArchiveFiles) -> Result<Applied> {
    let data = rec.data_dir();
    let root = archive_dir(data);
    std::fs::create_dir_all(&root).map_err(|e| Error::io("create", &root, e))?;
    let _lock = ArchiveLock::take(&root)?;
    let check = verify_all(data, &|_| {})?;
    if !check.ok() {
        let why = if !check.journal.ok {
            check.journal.reason.clone()
        } else {
            check.archive.as_ref().and_then(|a| a.reason.clone())
        };
        return Err(Error::Corrupt {
            path: data.root().to_path_buf(),
            reason: format!(
                "does not verify ({}); retention removes nothing until `tradetrail verify` passes",
                why.unwrap_or_default()
            ),
        });
    }
    let finished_earlier = finish_recorded_purges(data)?;
    let now = rec.journal().options().clock.now_ns();
    let plan = plan(data, now)?;
    // The plan's segments are a prefix of the journal; the journal removes them (and
    // forgets them, so its own reads go to the archive from now on).
    if let Some(last) = plan.remove_segments.last() {
        rec.journal().remove_sealed_before(last.last_seq + 1)?;
    }
    let mut purge_record = None;
    if !plan.purge.is_empty() {
        let mut ranges = Vec::new();
        for p in &plan.purge {
            for f in &p.files {
                let mut fr = Frontier::new();
                let mut blocks = SubtreeBuilder::new(f.first_seq, f.last_seq + 1);
                files.with_lines(&p.dir, f, |lines| {
                    for &(_, line) in lines {
                        let leaf = leaf_hash(line.as_bytes());
                        fr.push_leaf(leaf);
                        blocks.push_leaf(leaf);
                    }
                })?;
                let path = p.dir.join(&f.file);
                let subtrees = blocks.finish().ok_or_else(|| Error::Corrupt {
                    path,
                    reason: format!(
                        "holds fewer lines than the records {}..={} its manifest lists",
                        f.first_seq, f.last_seq
                    ),
                })?;
                ranges.push(PurgedRange {
                    day: p.day.clone(),
                    file: f.file.clone(),
                    first_seq: f.first_seq,
                    last_seq: f.last_seq,
                    records: f.records,
                    first_hash: f.first_hash,
                    last_hash: f.last_hash,
                    removed_root: fr.root(),
                    root: f.root,
                    subtrees,
                });
            }
        }
        let body = serde_json::json!({
            "type": PURGE_TYPE,
            "ts_event": now.max(0),
            "source": "tradetrail",
            "actor": actor,
            "data": PurgeData {
                policy: plan.keep.clone(),
                records: plan.purge_records(),
                ranges,
            },
        });
        let entry = Entry::new(serde_json::to_vec(&body).expect("JSON"), Durability::Fsync)?;
        let receipt = rec.journal().append(entry)?;
        purge_record = Some(receipt.seq);
        finish_recorded_purges(data)?;
    }
    Ok(Applied {
        plan,
        purge_record,
        finished_earlier,
        remote: None,
    })
}

/// Turns every file that a purge record names into a tombstone and deletes it, if
/// not done yet (an interrupted apply). Returns how many files it finished.
fn finish_recorded_purges(data: &DataDir) -> Result<usize> {
    let idx = ArchiveIndex::load(&archive_dir(data))?;
    let purges = purge_records(data, &idx)?;
    let mut done = 0;
    for (seq, d) in &purges {
        for r in &d.ranges {
            for p in &idx.partitions {
                let Some(f) = p.manifest.files.iter().find(|f| f.file == r.file) else {
                    continue;
                };
                if f.first_seq != r.first_seq || f.last_seq != r.last_seq || f.root != r.root {
                    continue;
                }
                let path = p.dir.join(&f.file);
                if f.purged_by.is_none() {
                    let mut m = ArchiveIndex::load(&archive_dir(data))?
                        .partitions
                        .into_iter()
                        .find(|q| q.dir == p.dir)
                        .map(|q| q.manifest)
                        .expect("the partition was just listed");
                    for e in m.files.iter_mut().filter(|e| e.file == r.file) {
                        e.purged_by = Some(*seq);
                    }
                    if !r.subtrees.is_empty() {
                        m.subtrees.insert(r.file.clone(), r.subtrees.clone());
                    }
                    m.save(&p.dir)?;
                    done += 1;
                }
                if path.exists() {
                    std::fs::remove_file(&path).map_err(|e| Error::io("remove", &path, e))?;
                    crate::layout::sync_dir(&p.dir)?;
                }
            }
        }
    }
    Ok(done)
}
