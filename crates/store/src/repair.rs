//! `repair`: the one, explicit and recorded way past damage.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use tradetrail_core::{DataDir, Recorder};
use tradetrail_journal::{
    truncate_after, Durability, Entry, FsStorage, Receipt, Repaired, Storage,
};

use crate::{Error, Result};

/// The type of the record a repair appends.
pub const REPAIRED_TYPE: &str = "journal.repaired";

/// What the operator asks for.
#[derive(Debug, Clone)]
pub struct Repair {
    /// The last record to keep; everything after it is removed (and kept aside).
    pub keep_through: u64,
    /// Who decided (`operator:<id>`).
    pub actor: String,
    /// Why, in words an auditor will read.
    pub reason: String,
}

/// Removes every record after `r.keep_through` from the journal of `dir`, keeping the
/// removed bytes in `DIR/repaired/`, then records a `journal.repaired` record naming
/// what was removed (bytes, lines, SHA-256, the copy), who and why.
///
/// Refused, changing nothing, when the actor or reason is empty, when the journal is
/// open elsewhere, when the journal verifies (nothing to repair) or `keep_through`
/// is not before the first bad record, or when records a signed checkpoint covers
/// would be removed (the
/// history those checkpoints promise cannot be given up by a repair: restore from a
/// backup). The derived index is removed, to be rebuilt from the repaired journal.
pub fn repair(dir: &DataDir, r: &Repair) -> Result<(Repaired, Receipt)> {
    for (field, value) in [("actor", &r.actor), ("reason", &r.reason)] {
        if value.trim().is_empty() || value.chars().any(char::is_control) {
            return Err(Error::Repair(format!(
                "{field} must be non-empty text without control characters"
            )));
        }
    }
    // Loads the configuration first: a directory that is not one is refused here.
    let config = dir.load_config()?;
    if let Some((path, note)) = tradetrail_core::checkpoints::latest_checkpoint(dir)? {
        let vkey = tradetrail_core::checkpoints::verifier_key(dir)?;
        let cp =
            tradetrail_checkpoint::open_note(&note, &vkey).map_err(tradetrail_core::Error::from)?;
        if r.keep_through + 1 < cp.size() {
            return Err(Error::Repair(format!(
                "records {}..{} are covered by the signed checkpoint {} (tree size {}): a repair may not remove them; restore from a backup",
                r.keep_through + 1,
                cp.size(),
                path.display(),
                cp.size()
            )));
        }
    }
    // Only past damage, and only from before it: what is kept must verify, so the
    // journal opens after the cut and the repair can be recorded.
    // A repair that a crash interrupted is finished first.
    finish_interrupted(dir)?;
    let check = tradetrail_archive::verify_all(dir, &|_| {})?;
    let Some(bad) = check.journal.first_bad_seq.filter(|_| !check.journal.ok) else {
        return Err(Error::Repair(
            "the journal verifies: there is nothing to repair (an unfinished last line is cut by the next writer)".into(),
        ));
    };
    if r.keep_through >= bad {
        return Err(Error::Repair(format!(
            "record {bad} is damaged (`tradetrail verify`): keep at most through record {}",
            bad.saturating_sub(1)
        )));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let stem = format!("{now}-after-{}", r.keep_through);
    let aside = repaired_dir(dir).join(format!("{stem}.jsonl"));
    let pending = repaired_dir(dir).join(format!("{stem}{PENDING}"));
    let ts_event = i64::try_from(now).unwrap_or(i64::MAX);
    // What will be recorded is written down (durably) before anything is removed, so
    // a crash between the cut and its record is finished by the next open.
    let repaired = truncate_after(
        &FsStorage,
        &dir.journal(),
        r.keep_through,
        &aside,
        &mut |rep| {
            let body = record_body(ts_event, &config.origin, rep, &stem, r);
            FsStorage
                .write_atomically(&pending, &body)
                .map_err(|e| tradetrail_journal::Error::Io {
                    op: "write",
                    path: pending.clone(),
                    source: e,
                })
        },
    )?;
    let receipt = finish(dir, &pending)?;
    Ok((repaired, receipt))
}

/// The ending of the files in which a repair writes down its record before it cuts.
const PENDING: &str = ".pending.json";

fn repaired_dir(dir: &DataDir) -> PathBuf {
    dir.root().join("repaired")
}

/// The `journal.repaired` record's body.
fn record_body(ts_event: i64, origin: &str, rep: &Repaired, stem: &str, r: &Repair) -> Vec<u8> {
    let body = serde_json::json!({
        "type": REPAIRED_TYPE,
        "ts_event": ts_event,
        "source": "tradetrail",
        "actor": r.actor,
        "data": {
            "origin": origin,
            "truncated_after": r.keep_through,
            "removed_from_seq": r.keep_through + 1,
            "removed_lines": rep.removed_lines,
            "removed_bytes": rep.removed_bytes,
            "removed_sha256": rep.removed_sha256,
            "removed_segments": rep
                .removed_segments
                .iter()
                .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .collect::<Vec<_>>(),
            "kept_at": format!("repaired/{stem}.jsonl"),
            "reason": r.reason,
        }
    });
    // A `Value` always serializes.
    serde_json::to_vec(&body).unwrap_or_default()
}

/// After the cut: removes the derived index (it may describe removed records), appends
/// the record written down in `pending`, and removes `pending`.
fn finish(dir: &DataDir, pending: &Path) -> Result<Receipt> {
    let io = |path: &Path, source| tradetrail_core::Error::Io {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::remove_dir_all(dir.index()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(&dir.index(), e).into()),
    }
    let body = std::fs::read(pending).map_err(|e| io(pending, e))?;
    let (rec, _) = Recorder::open(dir)?;
    let receipt = rec.journal().append(Entry::new(body, Durability::Fsync)?)?;
    drop(rec);
    std::fs::remove_file(pending).map_err(|e| io(pending, e))?;
    FsStorage
        .sync_dir(&repaired_dir(dir))
        .map_err(|e| io(&repaired_dir(dir), e))?;
    Ok(receipt)
}

/// Finishes a repair that a crash interrupted after it began removing records: when
/// the journal now ends at the record the repair kept, the cut is complete and its
/// `journal.repaired` record (written down before the cut) is appended; when the
/// journal goes on past it, the cut never happened and the note is dropped. A journal
/// that is still damaged is left as it is (the next `repair` starts over). Returns the
/// receipts of the records appended.
pub fn finish_interrupted(dir: &DataDir) -> Result<Vec<Receipt>> {
    let folder = repaired_dir(dir);
    let names = match std::fs::read_dir(&folder) {
        Ok(entries) => notes_in(entries),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(tradetrail_core::Error::Io {
                path: folder,
                source,
            }
            .into())
        }
    };
    let mut receipts = Vec::new();
    for name in names {
        let pending = folder.join(&name);
        let bad = |why: &str| {
            Error::Repair(format!(
                "{} is not a repair's note ({why}); move it away",
                pending.display()
            ))
        };
        let text = std::fs::read(&pending).map_err(|source| tradetrail_core::Error::Io {
            path: pending.clone(),
            source,
        })?;
        let note: serde_json::Value =
            serde_json::from_slice(&text).map_err(|e| bad(&e.to_string()))?;
        let kept = note
            .pointer("/data/truncated_after")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| bad("no data.truncated_after"))?;
        let records = match Recorder::open(dir) {
            Ok((_, report)) => report.records,
            Err(e) => match Error::from(e) {
                e if e.is_damage() => continue,
                e => return Err(e),
            },
        };
        if records == kept + 1 {
            receipts.push(finish(dir, &pending)?);
        } else {
            std::fs::remove_file(&pending).map_err(|source| tradetrail_core::Error::Io {
                path: pending.clone(),
                source,
            })?;
        }
    }
    Ok(receipts)
}

/// The names of the notes of interrupted repairs in `DIR/repaired/` (none when it
/// cannot be read: `verify` reports them as a warning only).
pub(crate) fn pending_notes(dir: &DataDir) -> Vec<String> {
    std::fs::read_dir(repaired_dir(dir))
        .map(notes_in)
        .unwrap_or_default()
}

fn notes_in(entries: std::fs::ReadDir) -> Vec<String> {
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(PENDING) && !n.starts_with('.'))
        .collect();
    names.sort();
    names
}
