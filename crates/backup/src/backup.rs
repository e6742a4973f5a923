//! `backup`: a consistent, incremental copy of a data directory into a [`Store`].
//!
//! Consistency while the journal is live: segments are listed once; every segment
//! but the last is sealed and copied whole; the last (active) one is read and cut at
//! its last newline, so the copy ends on a record boundary. Every record copied is
//! checked (seq, chain) and hashed into the Merkle tree, and the manifest records the
//! size, the head hash and the root at that size, and the latest checkpoint at or
//! below it (checked against that root). Checkpoints above the size are left for the
//! next backup.
//!
//! Incremental: a file whose path, size and SHA-256 match the previous manifest is
//! not copied again. A sealed segment that changed since the previous backup means
//! the source was altered, and the backup is refused.
//!
//! Crash safety: objects are written first (each all or nothing), the manifest last,
//! and an object the previous manifest uses is never overwritten with other content
//! (a changed file gets a new object name). So an interrupted run leaves the previous
//! backup intact and restorable, and a first backup without a manifest is refused by
//! restore. Objects no manifest uses are removed after the manifest is written.

use std::collections::HashSet;
use std::path::Path;

use sha2::{Digest, Sha256};
use tradetrail_checkpoint::{open_note, VerifierKey, VERIFIER_KEY_FILE};
use tradetrail_core::{Config, DataDir};
use tradetrail_journal::{list_segments, parse_segment_file_name, FsStorage};

use crate::chain::ChainCheck;
use crate::manifest::{
    CheckpointRef, FileEntry, FileKind, KeysIncluded, Manifest, DATA_PREFIX, MANIFEST_FORMAT,
    MANIFEST_KEY,
};
use crate::store::{walk, Store};
use crate::{Error, Result};

/// How to back up.
#[derive(Debug, Clone, Copy, Default)]
pub struct BackupOptions {
    /// Also copy the secret signing key and the server's tokens (`auth/`).
    pub include_keys: bool,
}

/// How a data-directory path is treated by backup.
pub(crate) fn classify(rel: &str) -> Option<FileKind> {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    // In-flight temporary files (ours and the archiver's) are not data.
    if name.starts_with('.') || name.ends_with(".tmp") {
        return None;
    }
    let top = rel.split('/').next().unwrap_or("");
    // The archiver's temporary files and lock (docs/archive.md) are not data either.
    if top == "archive" && (name.starts_with("_tmp-") || name == "_lock") {
        return None;
    }
    match top {
        "index" => None,
        "journal" => (rel.matches('/').count() == 1 && parse_segment_file_name(name).is_some())
            .then_some(FileKind::Segment),
        "keys" if name == VERIFIER_KEY_FILE && rel.matches('/').count() == 1 => {
            Some(FileKind::VerifierKey)
        }
        "keys" | "auth" => Some(FileKind::Secret),
        "checkpoints" => Some(if checkpoint_size(name).is_some() {
            FileKind::Checkpoint
        } else {
            FileKind::Other
        }),
        "archive" => Some(FileKind::Archive),
        "tradetrail.toml" => Some(FileKind::Config),
        _ => Some(FileKind::Other),
    }
}

/// The tree size in a checkpoint file name (`<20 digits>.txt`).
pub(crate) fn checkpoint_size(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".txt")?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Copies the data directory `dir` into `store`; returns the manifest written.
/// `progress(done, total)` hears bytes read so far.
pub fn backup(
    dir: &DataDir,
    store: &dyn Store,
    opts: &BackupOptions,
    progress: &dyn Fn(u64, u64),
) -> Result<Manifest> {
    if !dir.config().exists() {
        return Err(tradetrail_core::Error::NotInitialized {
            path: dir.root().to_path_buf(),
        }
        .into());
    }
    let config = Config::load(&dir.config())?;
    // An unreadable previous manifest only costs a full copy.
    let prev = store
        .get(MANIFEST_KEY)?
        .and_then(|bytes| Manifest::parse(&bytes).ok());
    if let Some(p) = &prev {
        if p.origin != config.origin {
            return Err(Error::bad(
                "--to",
                format!(
                    "{} holds a backup of journal {:?}, not of {:?}; back up to another location",
                    store.describe(),
                    p.origin,
                    config.origin
                ),
            ));
        }
    }
    let existing: HashSet<String> = store.list(DATA_PREFIX)?.into_iter().collect();

    // Everything to copy, classified, and the total for the progress bar.
    let mut rels = Vec::new();
    walk(dir.root(), dir.root(), &mut rels)?;
    rels.sort();
    let mut others: Vec<(String, FileKind)> = Vec::new();
    let mut total = 0u64;
    for rel in &rels {
        let Some(kind) = classify(rel) else { continue };
        if kind == FileKind::Segment {
            continue;
        }
        if kind == FileKind::Secret && !opts.include_keys {
            continue;
        }
        total += std::fs::metadata(dir.root().join(rel)).map_or(0, |m| m.len());
        others.push((rel.clone(), kind));
    }
    let segments = list_segments(&FsStorage, &dir.journal())?;
    if segments.is_empty() {
        return Err(tradetrail_journal::Error::NotFound {
            path: dir.journal(),
        }
        .into());
    }
    for s in &segments {
        total += std::fs::metadata(&s.path).map_or(0, |m| m.len());
    }

    let mut copier = Copier {
        store,
        prev: prev.as_ref(),
        existing: &existing,
        files: Vec::new(),
        copied_files: 0,
        reused_files: 0,
        copied_bytes: 0,
        done: 0,
        total,
        progress,
    };

    // The journal: sealed segments whole, the active one up to its last newline.
    let mut chain = ChainCheck::new();
    if let Some(first) = segments.first().map(|s| s.first_seq).filter(|&f| f > 0) {
        // The oldest segments left journal/ after the hot window: the records before
        // `first` are checked (and hashed into the tree) from the archive, which the
        // backup copies with everything else.
        chain.archive(dir, first, "the source")?;
    }
    for (i, seg) in segments.iter().enumerate() {
        let name = seg
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let rel = format!("journal/{name}");
        let mut bytes = std::fs::read(&seg.path).map_err(Error::io(&seg.path))?;
        let sealed = i + 1 < segments.len();
        if !sealed {
            let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
            bytes.truncate(keep);
        }
        let seen = chain.segment(seg.first_seq, &bytes).map_err(|r| {
            Error::refused(
                rel.clone(),
                format!("the source journal does not verify: {r}; run `tradetrail verify`"),
            )
        })?;
        if let Some(p) = prev.as_ref().and_then(|m| m.file(&rel)) {
            check_grew(&rel, p, &bytes)?;
        }
        let mut entry = copier.copy(&rel, FileKind::Segment, &bytes)?;
        entry.first_seq = Some(seg.first_seq);
        entry.records = Some(seen.records);
        entry.sealed = Some(sealed);
        copier.files.push(entry);
    }
    let records = chain.records();

    // The latest checkpoint at or below the copied size, checked against the copy.
    let mut latest: Option<CheckpointRef> = None;
    for (rel, kind) in &others {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        if *kind == FileKind::Checkpoint {
            let size = checkpoint_size(name).unwrap_or(u64::MAX);
            if size > records {
                continue; // taken after the journal was read: the next backup has it
            }
        }
        let path = dir.root().join(rel);
        let bytes = std::fs::read(&path).map_err(Error::io(&path))?;
        if *kind == FileKind::Checkpoint {
            // A checkpoint whose size falls inside a purged range is copied (its
            // signature and origin checked) but cannot be checked against the records.
            if let Some(cp) = check_source_checkpoint(dir, &config, rel, &bytes, &chain)? {
                if latest.as_ref().is_none_or(|l| cp.size >= l.size) {
                    latest = Some(cp);
                }
            }
        }
        let entry = copier.copy(rel, *kind, &bytes)?;
        copier.files.push(entry);
    }

    let manifest = Manifest {
        format: MANIFEST_FORMAT.into(),
        created: tradetrail_model::format_time(now_ns()),
        origin: config.origin.clone(),
        records,
        head_hash: chain.head_hash().to_hex(),
        root: chain.tree().root().to_string(),
        checkpoint: latest,
        keys: if opts.include_keys {
            KeysIncluded::Included
        } else {
            KeysIncluded::VerifierOnly
        },
        copied_files: copier.copied_files,
        reused_files: copier.reused_files,
        copied_bytes: copier.copied_bytes,
        files: copier.files,
    };
    let text = serde_json::to_vec_pretty(&manifest).expect("the manifest serializes");
    // Last: only now is the backup complete.
    store.put(MANIFEST_KEY, &text)?;
    // Objects of earlier backups (or of an interrupted run) that nothing uses now.
    for obj in &existing {
        if !manifest.references(obj) {
            store.delete(obj)?;
        }
    }
    Ok(manifest)
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// A segment may only grow: a sealed one stays as it was, the active one keeps the
/// prefix the previous backup copied.
fn check_grew(rel: &str, p: &FileEntry, bytes: &[u8]) -> Result<()> {
    let len = bytes.len() as u64;
    let altered = |what: String| {
        Error::refused(
            rel,
            format!("{what} since the previous backup: the source journal was altered; run `tradetrail verify`"),
        )
    };
    if p.sealed == Some(true) {
        if p.bytes != len || p.sha256 != sha256_hex(bytes) {
            return Err(altered(format!(
                "this sealed segment changed ({} bytes, now {len})",
                p.bytes
            )));
        }
    } else if len < p.bytes
        || sha256_hex(&bytes[..usize::try_from(p.bytes).unwrap_or(usize::MAX)]) != p.sha256
    {
        return Err(altered(format!(
            "the first {} bytes of this segment changed",
            p.bytes
        )));
    }
    Ok(())
}

/// Checks a checkpoint of the source against the records just read; `None` for one
/// whose size falls strictly inside a purged range (its root needs records that are
/// gone), after checking its signature and origin.
fn check_source_checkpoint(
    dir: &DataDir,
    config: &Config,
    rel: &str,
    note: &[u8],
    chain: &ChainCheck,
) -> Result<Option<CheckpointRef>> {
    let vpath = dir.keys().join(VERIFIER_KEY_FILE);
    let vtext = std::fs::read_to_string(&vpath).map_err(Error::io(&vpath))?;
    let vkey = VerifierKey::parse(vtext.trim())
        .map_err(|e| Error::refused("keys/verifier.vkey", e.to_string()))?;
    let text = std::str::from_utf8(note).map_err(|_| Error::refused(rel, "not UTF-8"))?;
    let cp = open_note(text, &vkey).map_err(|e| {
        Error::refused(rel, format!("the source's checkpoint does not verify: {e}"))
    })?;
    if cp.origin() != config.origin {
        return Err(Error::refused(
            rel,
            format!(
                "checkpoint of origin {:?}, not {:?}",
                cp.origin(),
                config.origin
            ),
        ));
    }
    if chain.purged_inside(cp.size()).is_some() {
        return Ok(None);
    }
    let root = chain
        .root_at(cp.size())
        .map_err(|e| Error::refused(rel, e))?;
    if root.0 != *cp.root() {
        return Err(Error::refused(
            rel,
            format!(
                "the source journal's first {} records have root {root}, not the signed one: the journal was altered; run `tradetrail verify --checkpoint {}`",
                cp.size(),
                dir.root().join(rel).display()
            ),
        ));
    }
    Ok(Some(CheckpointRef {
        path: rel.to_string(),
        size: cp.size(),
        root: root.to_string(),
    }))
}

struct Copier<'a> {
    store: &'a dyn Store,
    prev: Option<&'a Manifest>,
    existing: &'a HashSet<String>,
    files: Vec<FileEntry>,
    copied_files: u64,
    reused_files: u64,
    copied_bytes: u64,
    done: u64,
    total: u64,
    progress: &'a dyn Fn(u64, u64),
}

impl Copier<'_> {
    /// Copies one file unless the previous backup already holds exactly it.
    fn copy(&mut self, rel: &str, kind: FileKind, bytes: &[u8]) -> Result<FileEntry> {
        let sha = sha256_hex(bytes);
        let len = bytes.len() as u64;
        let same = self
            .prev
            .and_then(|m| m.file(rel))
            .filter(|p| p.bytes == len && p.sha256 == sha && self.existing.contains(&p.object));
        let object = match same {
            Some(p) => {
                self.reused_files += 1;
                p.object.clone()
            }
            None => {
                // Never overwrite an object the previous manifest uses: a changed
                // file gets a new name, so an interrupted run leaves that backup whole.
                let plain = format!("{DATA_PREFIX}{rel}");
                let object = if self.prev.is_some_and(|m| m.references(&plain)) {
                    format!("{plain}.{}", &sha[..16])
                } else {
                    plain
                };
                self.store.put(&object, bytes)?;
                self.copied_files += 1;
                self.copied_bytes += len;
                object
            }
        };
        self.done += len;
        (self.progress)(self.done.min(self.total), self.total);
        Ok(FileEntry {
            path: rel.to_string(),
            object,
            kind,
            bytes: len,
            sha256: sha,
            first_seq: None,
            records: None,
            sealed: None,
        })
    }
}

/// Whether `path` is a directory with nothing in it (or does not exist).
pub(crate) fn is_empty_or_missing(path: &Path) -> Result<bool> {
    match std::fs::read_dir(path) {
        Ok(mut it) => Ok(it.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(Error::io(path)(e)),
    }
}
