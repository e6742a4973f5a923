//! Partition manifests: `archive/year=YYYY/month=MM/day=DD/_manifest.json`.
//!
//! A manifest lists the partition's files, each with its seq range, record count,
//! the hash of its first and last record, the `prev` of its first record, the file's
//! own SHA-256, and the Merkle root and frontier of the whole journal at its end. A
//! file is *counted* only once its manifest lists it; a purged file stays listed as a
//! tombstone (hashes only, no records) so the rest of the archive still verifies.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tradetrail_merkle::{aligned_blocks, Hash, Subtree};

use crate::frontier::Frontier;
use crate::layout;
use crate::{Error, Result};

/// The `format` of manifests this version writes.
pub const MANIFEST_FORMAT: &str = "tradetrail-archive/1";
/// File name of a partition's manifest.
pub const MANIFEST_FILE: &str = "_manifest.json";

/// One partition's manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`MANIFEST_FORMAT`].
    pub format: String,
    /// The journal's origin.
    pub origin: String,
    /// The UTC day of `ts_recorded` of every record in it, `YYYY-MM-DD`.
    pub day: String,
    /// First seq of the partition.
    pub first_seq: u64,
    /// Last seq of the partition.
    pub last_seq: u64,
    /// Records in the partition, purged ones included.
    pub records: u64,
    /// Hash of its first record's line.
    pub first_hash: Hash,
    /// Hash of its last record's line.
    pub last_hash: Hash,
    /// Merkle root of the journal's first `last_seq + 1` records.
    pub root: Hash,
    /// The files, in seq order.
    pub files: Vec<FileEntry>,
    /// For tombstones (files with `purged_by`), by file name: the perfect subtrees the
    /// purged run `[first_seq, last_seq + 1)` splits into, copied from the purge
    /// record, so the Merkle tree can be rebuilt across the gap. Absent for purges
    /// made before they were kept (and in manifests without tombstones).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub subtrees: BTreeMap<String, Vec<Subtree>>,
}

/// One archive file (or the tombstone of a purged one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// File name inside the partition directory.
    pub file: String,
    /// First seq.
    pub first_seq: u64,
    /// Last seq.
    pub last_seq: u64,
    /// Records (`last_seq - first_seq + 1`).
    pub records: u64,
    /// Size of the Parquet file.
    pub bytes: u64,
    /// SHA-256 of the Parquet file.
    pub sha256: Hash,
    /// Bytes of the JSON Lines it was made from.
    pub jsonl_bytes: u64,
    /// `prev` of the first record (the hash of the record before it).
    pub first_prev: Hash,
    /// Hash of the first record's line.
    pub first_hash: Hash,
    /// Hash of the last record's line.
    pub last_hash: Hash,
    /// `ts_recorded` of the first record.
    pub first_ts_recorded: i64,
    /// `ts_recorded` of the last record.
    pub last_ts_recorded: i64,
    /// Smallest `ts_event` (None if no record has one).
    pub min_ts_event: Option<i64>,
    /// Largest `ts_event`.
    pub max_ts_event: Option<i64>,
    /// Merkle root of the journal's first `last_seq + 1` records.
    pub root: Hash,
    /// The tree's frontier at that size (to carry on from).
    pub frontier: Frontier,
    /// Records per type.
    pub types: BTreeMap<String, u64>,
    /// Set when retention purged the file: the seq of the `journal.retention_purged`
    /// record that did it. The Parquet file is gone; the hashes stay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purged_by: Option<u64>,
}

impl Manifest {
    /// A manifest for a new partition holding `first`.
    pub fn new(origin: &str, day: &str, first: FileEntry) -> Manifest {
        let mut m = Manifest {
            format: MANIFEST_FORMAT.into(),
            origin: origin.into(),
            day: day.into(),
            first_seq: 0,
            last_seq: 0,
            records: 0,
            first_hash: first.first_hash,
            last_hash: first.last_hash,
            root: first.root,
            files: vec![first],
            subtrees: BTreeMap::new(),
        };
        m.summarize();
        m
    }

    /// Adds (or replaces, by name) a file and updates the summary.
    pub fn put(&mut self, entry: FileEntry) {
        self.files.retain(|f| f.file != entry.file);
        self.files.push(entry);
        self.files.sort_by_key(|f| f.first_seq);
        self.summarize();
    }

    fn summarize(&mut self) {
        let (first, last) = (&self.files[0], &self.files[self.files.len() - 1]);
        self.first_seq = first.first_seq;
        self.last_seq = last.last_seq;
        self.first_hash = first.first_hash;
        self.last_hash = last.last_hash;
        self.root = last.root;
        self.records = self.files.iter().map(|f| f.records).sum();
    }

    /// Reads and checks a manifest.
    pub fn load(path: &Path) -> Result<Manifest> {
        let bytes = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
        Manifest::parse(&bytes, path)
    }

    /// Checks a manifest's bytes; `path` names it in errors (a file, or an object's
    /// URL).
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Manifest> {
        let m: Manifest = serde_json::from_slice(bytes).map_err(|e| Error::Corrupt {
            path: path.to_path_buf(),
            reason: format!("not a manifest: {e}"),
        })?;
        let bad = |reason: String| Error::Corrupt {
            path: path.to_path_buf(),
            reason,
        };
        if m.format != MANIFEST_FORMAT {
            return Err(bad(format!(
                "format {:?}, expected {MANIFEST_FORMAT:?}",
                m.format
            )));
        }
        if m.files.is_empty() {
            return Err(bad("lists no files".into()));
        }
        for f in &m.files {
            if f.last_seq < f.first_seq || f.records != f.last_seq - f.first_seq + 1 {
                return Err(bad(format!(
                    "{}: seq range and record count disagree",
                    f.file
                )));
            }
            if f.frontier.size != f.last_seq + 1 || !f.frontier.is_well_formed() {
                return Err(bad(format!(
                    "{}: the Merkle frontier does not fit seq {}",
                    f.file, f.last_seq
                )));
            }
            if layout::is_unsafe_name(&f.file) {
                return Err(bad(format!("{}: not a plain file name", f.file)));
            }
        }
        for (name, blocks) in &m.subtrees {
            let Some(f) = m.files.iter().find(|f| &f.file == name) else {
                return Err(bad(format!(
                    "subtrees: {name:?} is not a file this manifest lists"
                )));
            };
            if f.purged_by.is_none() {
                return Err(bad(format!(
                    "subtrees: {name} is not a tombstone (it has no purged_by)"
                )));
            }
            if let Err(reason) = check_tiling(f.first_seq, f.last_seq, blocks) {
                return Err(bad(format!("subtrees of {name}: {reason}")));
            }
        }
        Ok(m)
    }

    /// The subtrees kept for the tombstone `file` (empty when none were kept).
    pub fn subtrees_of(&self, file: &str) -> &[Subtree] {
        self.subtrees.get(file).map_or(&[], Vec::as_slice)
    }

    /// Writes the manifest so that a crash leaves the old one or the new one.
    pub fn save(&self, partition: &Path) -> Result<PathBuf> {
        let path = partition.join(MANIFEST_FILE);
        layout::write_atomically(&path, &self.to_bytes()?)?;
        Ok(path)
    }

    /// The manifest as it is saved: pretty JSON and a newline.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut text = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::BadInput(format!("the manifest of {}: {e}", self.day)))?;
        text.push(b'\n');
        Ok(text)
    }
}

/// Checks that `blocks` are exactly the aligned blocks of `[first, last + 1)`, in order.
pub fn check_tiling(first: u64, last: u64, blocks: &[Subtree]) -> std::result::Result<(), String> {
    let want = aligned_blocks(first, last + 1);
    if blocks.len() != want.len() {
        return Err(format!(
            "{} subtrees, but seqs {first}..={last} split into {} aligned blocks",
            blocks.len(),
            want.len()
        ));
    }
    for (b, &(start, height)) in blocks.iter().zip(&want) {
        if (b.start, b.height) != (start, height) {
            return Err(format!(
                "subtree at {} of height {} where the aligned block at {start} of height {height} belongs",
                b.start, b.height
            ));
        }
    }
    Ok(())
}
