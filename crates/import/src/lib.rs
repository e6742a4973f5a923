//! Bringing an existing audit trail into the journal: rows of a PostgreSQL table, a
//! CSV file or JSON Lines, turned into events through a mapping file (docs/import.md),
//! validated exactly as `tradetrail append` validates — all or nothing, every bad row
//! named — and recorded with one `import.completed` record.
//!
//! Each imported event keeps its row's original id in `refs.import_id`, and gets an
//! `event_id` derived from the source's name and that id, so importing the same rows
//! again records nothing new (each is a duplicate of its first import).

mod error;
mod mapping;
mod rows;

pub use error::{BadRow, Error, Result};
pub use mapping::Mapping;
pub use rows::{csv_rows, jsonl_rows, Row};

use sha2::{Digest, Sha256};
use tradetrail_core::Recorder;

/// What [`import`] did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Imported {
    /// Rows read.
    pub rows: u64,
    /// Events newly recorded.
    pub imported: u64,
    /// Rows already imported before (same source and id): nothing written.
    pub duplicates: u64,
    /// The first and last seq of the newly recorded events.
    pub first_seq: Option<u64>,
    /// See `first_seq`.
    pub last_seq: Option<u64>,
    /// The seq of the `import.completed` record (`None` for a dry run).
    pub completed_seq: Option<u64>,
}

/// The `event_id` of the event made from row `id` of `source`: a UUID (version 8) of
/// the SHA-256 of both, the same on every import.
pub fn import_event_id(source: &str, id: &str) -> String {
    let digest = Sha256::digest(format!("tradetrail-import/{source}/{id}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// Maps every row, validates every event, then records them as one run and an
/// `import.completed` record naming `source` and the counts. Nothing is written when
/// any row is bad ([`Error::BadRows`] lists them all) or with `dry_run`.
pub fn import(
    rec: &Recorder,
    source: &str,
    rows: &[Row],
    mapping: &Mapping,
    dry_run: bool,
) -> Result<Imported> {
    let mut bad = Vec::new();
    let mut lines: Vec<(usize, Vec<u8>)> = Vec::with_capacity(rows.len());
    let mut ids = Vec::with_capacity(rows.len());
    for row in rows {
        match mapping.event(source, row) {
            Ok((id, line)) => {
                ids.push(id);
                lines.push((row.number, line));
            }
            Err((field, reason)) => bad.push(BadRow {
                row: row.number,
                id: mapping.id_of(row),
                field,
                reason,
            }),
        }
    }
    let numbered: Vec<(usize, &[u8])> = lines.iter().map(|(n, l)| (*n, l.as_slice())).collect();
    let entries = match rec.prepare_lines(&numbered, None) {
        Ok(e) if bad.is_empty() => e,
        Ok(_) => return Err(Error::BadRows(bad)),
        Err(invalid) => {
            for b in invalid {
                let id = rows
                    .iter()
                    .find(|r| r.number == b.line)
                    .and_then(|r| mapping.id_of(r));
                for fe in b.errors.iter() {
                    bad.push(BadRow {
                        row: b.line,
                        id: id.clone(),
                        field: fe.field.clone(),
                        reason: fe.reason.clone(),
                    });
                }
            }
            bad.sort_by_key(|b| b.row);
            return Err(Error::BadRows(bad));
        }
    };
    // An id used twice in the source would make two events under one event_id.
    let mut seen = std::collections::HashMap::new();
    for (row, id) in rows.iter().zip(&ids) {
        if let Some(first) = seen.insert(id.clone(), row.number) {
            bad.push(BadRow {
                row: row.number,
                id: Some(id.clone()),
                field: mapping.id_column().to_string(),
                reason: format!("the same id as row {first}: each row needs an id of its own"),
            });
        }
    }
    if !bad.is_empty() {
        return Err(Error::BadRows(bad));
    }
    rec.journal().check_repeats(&entries)?;
    let mut out = Imported {
        rows: rows.len() as u64,
        imported: 0,
        duplicates: 0,
        first_seq: None,
        last_seq: None,
        completed_seq: None,
    };
    if dry_run {
        return Ok(out);
    }
    for r in rec.record_batch(entries)? {
        if r.duplicate {
            out.duplicates += 1;
        } else {
            out.imported += 1;
            out.first_seq.get_or_insert(r.seq);
            out.last_seq = Some(r.seq);
        }
    }
    let mut data = serde_json::json!({
        "source": source,
        "rows": out.rows,
        "imported": out.imported,
        "duplicates": out.duplicates,
        "mapping_sha256": mapping.sha256(),
    });
    if let (Some(f), Some(l)) = (out.first_seq, out.last_seq) {
        data["first_seq"] = f.into();
        data["last_seq"] = l.into();
    }
    let completed = serde_json::json!({
        "type": "import.completed",
        "ts_event": now_ns(),
        "source": "tradetrail-import",
        "actor": "system",
        "data": data,
    });
    let line = serde_json::to_vec(&completed).map_err(|e| Error::Internal(e.to_string()))?;
    let entry = rec.prepare_line(&line, None).map_err(|errors| {
        Error::Internal(format!(
            "the import.completed record is not valid: {errors}"
        ))
    })?;
    let receipt = rec.record_batch(vec![entry])?;
    out.completed_seq = receipt.first().map(|r| r.seq);
    Ok(out)
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
