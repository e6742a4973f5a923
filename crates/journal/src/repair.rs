//! The one explicit way past damage: cut the journal after a record, keeping every
//! removed byte aside.
//!
//! Opening refuses a journal whose complete records are damaged (see `recovery`),
//! because such a record may have been acknowledged. When an operator decides that
//! the records after `seq` are lost (after `verify` named the first bad one, and
//! there is no backup to restore), [`truncate_after`] removes them — but never
//! silently: the removed bytes are first written to a file of the caller's choosing
//! and made durable, and what was removed (bytes, lines, SHA-256) is returned so the
//! caller records it in the journal itself (`journal.repaired`).
//!
//! Order of work, so a crash at any point leaves a journal that opens and a copy of
//! everything removed: (1) write and sync the copy; (2) remove the later segments,
//! newest first, then sync the directory; (3) cut the segment holding `seq`.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::record::parse_header;
use crate::segment::list_segments;
use crate::storage::Storage;
use crate::{Error, Result};

/// What [`truncate_after`] removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repaired {
    /// The last record kept.
    pub kept_through: u64,
    /// Bytes removed (all of them are in the copy).
    pub removed_bytes: u64,
    /// Complete lines among them (records, as far as their framing goes).
    pub removed_lines: u64,
    /// Lowercase hex SHA-256 of the removed bytes, in journal order.
    pub removed_sha256: String,
    /// Segment files removed whole.
    pub removed_segments: Vec<PathBuf>,
    /// Where the removed bytes were kept.
    pub kept_at: PathBuf,
}

/// Removes every byte after record `keep` from the journal in `dir`, after writing
/// them (durably) to `aside`. Takes the journal's lock: the journal must not be open.
///
/// `before_removing` hears what will be removed once the copy is durable and before
/// anything is removed; an error from it stops the repair there, with nothing
/// removed. (The caller writes down what it will record, so that a crash between
/// the cut and its record can be finished later.)
///
/// Refuses when record `keep` cannot be found by its framing (its line must exist and
/// carry `seq` = `keep`), and when there is nothing after it.
pub fn truncate_after(
    storage: &dyn Storage,
    dir: &Path,
    keep: u64,
    aside: &Path,
    before_removing: &mut dyn FnMut(&Repaired) -> Result<()>,
) -> Result<Repaired> {
    let _lock = crate::writer::take_lock(storage, dir)?;
    let segments = list_segments(storage, dir)?;
    // The segment holding record `keep`: the last one starting at or before it.
    let idx = segments.partition_point(|s| s.first_seq <= keep);
    let Some(holder) = idx.checked_sub(1).map(|i| &segments[i]) else {
        return Err(Error::InvalidEntry {
            reason: format!(
                "record {keep} is not in the journal, which starts at seq {}",
                segments.first().map_or(0, |s| s.first_seq)
            ),
        });
    };
    let data = storage
        .read(&holder.path)
        .map_err(|e| Error::io(storage, "read", &holder.path, e))?;
    // Find the end of record `keep` by counting lines, and check that it is `keep`.
    let mut pos = 0usize;
    let mut seq = holder.first_seq;
    let cut = loop {
        let Some(nl) = memchr::memchr(b'\n', &data[pos..]) else {
            return Err(Error::InvalidEntry {
                reason: format!(
                    "record {keep} is not a complete line in {} (the segment ends at record {})",
                    holder.path.display(),
                    seq.saturating_sub(1)
                ),
            });
        };
        if seq == keep {
            let line = &data[pos..pos + nl];
            match parse_header(line) {
                Ok(h) if h.seq == keep => break pos + nl + 1,
                Ok(h) => {
                    return Err(Error::InvalidEntry {
                        reason: format!(
                            "line {} of {} should be record {keep} but says seq {}: cut at an earlier record",
                            keep - holder.first_seq + 1,
                            holder.path.display(),
                            h.seq
                        ),
                    })
                }
                Err(r) => {
                    return Err(Error::InvalidEntry {
                        reason: format!(
                            "record {keep} itself is damaged ({r}): cut at an earlier record"
                        ),
                    })
                }
            }
        }
        seq += 1;
        pos += nl + 1;
    };
    let later = &segments[idx..];
    let mut removed = data[cut..].to_vec();
    for s in later {
        let d = storage
            .read(&s.path)
            .map_err(|e| Error::io(storage, "read", &s.path, e))?;
        removed.extend_from_slice(&d);
    }
    if removed.is_empty() {
        return Err(Error::InvalidEntry {
            reason: format!("nothing follows record {keep}: there is nothing to remove"),
        });
    }
    // 1. The copy, durable before anything is removed.
    if let Some(parent) = aside.parent() {
        storage
            .create_dir_all(parent)
            .map_err(|e| Error::io(storage, "create", parent, e))?;
    }
    if storage
        .exists(aside)
        .map_err(|e| Error::io(storage, "stat", aside, e))?
    {
        return Err(Error::InvalidEntry {
            reason: format!("{} already exists; choose another place", aside.display()),
        });
    }
    let f = storage
        .open_append(aside)
        .map_err(|e| Error::io(storage, "open", aside, e))?;
    f.append(&removed)
        .map_err(|e| Error::io(storage, "write", aside, e))?;
    f.sync_data()
        .map_err(|e| Error::io(storage, "fdatasync", aside, e))?;
    drop(f);
    if let Some(parent) = aside.parent() {
        storage
            .sync_dir(parent)
            .map_err(|e| Error::io(storage, "sync", parent, e))?;
    }
    let repaired = Repaired {
        kept_through: keep,
        removed_bytes: removed.len() as u64,
        removed_lines: memchr::memchr_iter(b'\n', &removed).count() as u64,
        removed_sha256: hex::encode(Sha256::digest(&removed)),
        removed_segments: later.iter().map(|s| s.path.clone()).collect(),
        kept_at: aside.to_path_buf(),
    };
    before_removing(&repaired)?;
    // 2. Later segments, newest first, so a crash leaves a prefix.
    for s in later.iter().rev() {
        storage
            .remove_file(&s.path)
            .map_err(|e| Error::io(storage, "remove", &s.path, e))?;
    }
    if !later.is_empty() {
        storage
            .sync_dir(dir)
            .map_err(|e| Error::io(storage, "sync", dir, e))?;
    }
    // 3. The segment holding `keep`.
    if cut < data.len() {
        storage
            .truncate(&holder.path, cut as u64)
            .map_err(|e| Error::io(storage, "truncate", &holder.path, e))?;
    }
    Ok(repaired)
}
