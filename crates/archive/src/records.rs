//! Finding the records of given types across the archive and the live journal, and
//! the journal's own records this crate writes and reads (`journal.retention_purged`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tradetrail_core::DataDir;
use tradetrail_journal::{for_each_line, list_segments, record_type, FsStorage};
use tradetrail_merkle::{Hash, Subtree};

use crate::files::ArchiveFiles;
use crate::index::ArchiveIndex;
use crate::{Error, Result};

/// The type of the record a purge appends.
pub const PURGE_TYPE: &str = "journal.retention_purged";
/// The type of the record `hold add` appends.
pub const HOLD_ADDED: &str = "review.legal_hold_added";
/// The type of the record `hold release` appends.
pub const HOLD_RELEASED: &str = "review.legal_hold_released";

/// Types whose records no retention rule can purge: the journal's birth, the purge
/// records that account for removed ranges, and legal holds.
pub const NEVER_PURGED: &[&str] = &["journal.created", PURGE_TYPE, HOLD_ADDED, HOLD_RELEASED];

/// `data` of a `journal.retention_purged` record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PurgeData {
    /// The retention rules in force (pattern -> period).
    pub policy: BTreeMap<String, String>,
    /// Records removed.
    pub records: u64,
    /// The files removed.
    pub ranges: Vec<PurgedRange>,
}

/// One removed file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PurgedRange {
    /// Its partition, `YYYY-MM-DD`.
    pub day: String,
    /// Its file name.
    pub file: String,
    /// First seq removed.
    pub first_seq: u64,
    /// Last seq removed.
    pub last_seq: u64,
    /// Records removed.
    pub records: u64,
    /// Hash of the first removed record.
    pub first_hash: Hash,
    /// Hash of the last removed record.
    pub last_hash: Hash,
    /// Merkle root of the removed records alone, MTH(D[first_seq..=last_seq]).
    pub removed_root: Hash,
    /// Merkle root of the journal's first `last_seq + 1` records.
    pub root: Hash,
    /// The perfect subtrees the removed run `[first_seq, last_seq + 1)` splits into
    /// (`tradetrail_merkle::aligned_blocks` order), by their hashes: with them the
    /// Merkle tree can still be rebuilt across the gap. Empty in purge records
    /// written before they were kept.
    #[serde(default)]
    pub subtrees: Vec<Subtree>,
}

/// Every record of one of `types`, `(seq, line)` in seq order: from archive files whose
/// manifest counts such a type, then from the journal past the archive.
pub fn records_of_types(
    data: &DataDir,
    idx: &ArchiveIndex,
    types: &[&str],
) -> Result<Vec<(u64, String)>> {
    let mut out = Vec::new();
    let files = ArchiveFiles::open(data)?;
    for (p, f) in idx.files() {
        if f.purged_by.is_none() && types.iter().any(|t| f.types.contains_key(*t)) {
            files.with_lines(&p.dir, f, |lines| {
                for &(seq, line) in lines {
                    if record_type(line.as_bytes()).is_some_and(|t| types.contains(&t)) {
                        out.push((seq, line.to_string()));
                    }
                }
            })?;
        }
    }
    let jdir = data.journal();
    let segs = list_segments(&FsStorage, &jdir)?;
    if let Some(first) = segs.first() {
        let from = first.first_seq.max(idx.end());
        for_each_line(&FsStorage, &jdir, from, None, |seq, line| {
            if record_type(line).is_some_and(|t| types.contains(&t)) {
                out.push((seq, String::from_utf8_lossy(line).into_owned()));
            }
            Ok(true)
        })?;
    }
    Ok(out)
}

/// The purge records, by seq.
pub fn purge_records(data: &DataDir, idx: &ArchiveIndex) -> Result<BTreeMap<u64, PurgeData>> {
    let mut out = BTreeMap::new();
    for (seq, line) in records_of_types(data, idx, &[PURGE_TYPE])? {
        let v: serde_json::Value = serde_json::from_str(&line).map_err(|e| Error::Chain {
            seq,
            reason: format!("not JSON: {e}"),
        })?;
        let d: PurgeData = serde_json::from_value(v["data"].clone()).map_err(|e| Error::Chain {
            seq,
            reason: format!("a {PURGE_TYPE} record whose data is not understood: {e}"),
        })?;
        out.insert(seq, d);
    }
    Ok(out)
}
