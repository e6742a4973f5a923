//! `repair`: the one, explicit and recorded way past damage.

use std::time::{SystemTime, UNIX_EPOCH};

use tradetrail_core::{DataDir, Recorder};
use tradetrail_journal::{truncate_after, Durability, Entry, FsStorage, Receipt, Repaired};

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
    let name = format!("{now}-after-{}.jsonl", r.keep_through);
    let aside = dir.root().join("repaired").join(&name);
    let repaired = truncate_after(&FsStorage, &dir.journal(), r.keep_through, &aside)?;
    // Derived data may describe removed records: rebuilt on next use.
    match std::fs::remove_dir_all(dir.index()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(tradetrail_core::Error::Io {
                path: dir.index(),
                source,
            }
            .into())
        }
    }
    let (rec, _) = Recorder::open(dir)?;
    let ts = rec.journal().options().clock.now_ns().max(0);
    let body = serde_json::json!({
        "type": REPAIRED_TYPE,
        "ts_event": ts,
        "source": "tradetrail",
        "actor": r.actor,
        "data": {
            "origin": config.origin,
            "truncated_after": r.keep_through,
            "removed_from_seq": r.keep_through + 1,
            "removed_lines": repaired.removed_lines,
            "removed_bytes": repaired.removed_bytes,
            "removed_sha256": repaired.removed_sha256,
            "removed_segments": repaired
                .removed_segments
                .iter()
                .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .collect::<Vec<_>>(),
            "kept_at": format!("repaired/{name}"),
            "reason": r.reason,
        }
    });
    let bytes = serde_json::to_vec(&body)
        .map_err(|e| tradetrail_core::Error::Internal(format!("repair record: {e}")))?;
    let receipt = rec
        .journal()
        .append(Entry::new(bytes, Durability::Fsync)?)?;
    Ok((repaired, receipt))
}
