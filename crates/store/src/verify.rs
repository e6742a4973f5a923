//! One verify for every door: the journal, the archive and every checkpoint the data
//! directory holds, in one [`Verdict`].

use std::path::Path;

use serde::Serialize;
use tradetrail_archive::ArchiveCheck;
use tradetrail_checkpoint::VerifierKey;
use tradetrail_core::checkpoints::{check_all_against, stored_checkpoints, CheckpointCheck};
use tradetrail_core::DataDir;
use tradetrail_journal::{for_each_line, list_segments, record_type, FsStorage, VerifyReport};

use crate::Result;

/// The type of the records that note each checkpoint in the journal itself.
const CHECKPOINT_TYPE: &str = "journal.checkpoint";

/// Everything `verify` found. Serialised as is by the server (`GET /v1/verify`) and by
/// `tradetrail verify --json`, so the same directory gives the same JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// True when the journal, the archive and every checkpoint passed.
    pub ok: bool,
    /// The first record that is not what it should be, across all the checks.
    pub first_bad_seq: Option<u64>,
    /// Why (the reason of the check that named `first_bad_seq`, or the first failure).
    pub reason: Option<String>,
    /// Records of the journal checked and found good (the journal's own count, as
    /// `journal.records`; kept at the top for scripts that read it there).
    pub records: u64,
    /// Segment files of the journal read.
    pub segments: usize,
    /// Hash of the journal's last good record.
    pub head_hash: Option<String>,
    /// Things that are not tampering (an unfinished last line; files an interrupted
    /// `archive` left), the journal's and the archive's.
    pub warnings: Vec<String>,
    /// The journal, from `journal_first_seq` on.
    pub journal: VerifyReport,
    /// The seq the journal's first segment starts at (0 unless segments past the hot
    /// window moved to the archive).
    pub journal_first_seq: u64,
    /// The archive, when there is one.
    pub archive: Option<ArchiveCheck>,
    /// Every checkpoint the directory holds (`DIR/checkpoints/*.txt` and the
    /// `journal.checkpoint` records in `journal/`), each checked against the records.
    pub checkpoints: Vec<CheckpointVerdict>,
    /// The query index (`DIR/index/query`) against the records it covers: derived
    /// data, but what `query`, `stats` and `trail` answer from. Not ok when a file
    /// holds other bytes than were written, or other rows than the journal gives.
    pub index: tradetrail_query::IndexCheck,
    /// Seconds spent on the journal (not serialised: it differs run to run).
    #[serde(skip)]
    pub journal_seconds: f64,
    /// Seconds spent on the archive.
    #[serde(skip)]
    pub archive_seconds: f64,
}

/// One checkpoint and what checking the records against it found.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointVerdict {
    /// Where it is: `checkpoints/<file>` (relative to the data directory) or
    /// `journal.checkpoint record <seq>`.
    pub source: String,
    /// The check.
    #[serde(flatten)]
    pub check: CheckpointCheck,
}

/// Verifies the data directory `dir` whole, changing nothing and taking no lock (it
/// may run beside a writer). `journal_progress` is told the journal bytes checked so
/// far; `archive_progress` the archived records checked and how many there are.
/// Returns `Err` only when the files cannot be read; damage is in the [`Verdict`].
pub fn verify(
    dir: &DataDir,
    journal_progress: &(dyn Fn(u64) + Sync),
    archive_progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Verdict> {
    verify_with_key(dir, None, journal_progress, archive_progress)
}

/// [`verify`], checking the checkpoints' signatures with `vkey` instead of the
/// directory's own `keys/verifier.vkey` — for a directory whose key is not trusted
/// (a restored backup: `restore --key`).
pub fn verify_with_key(
    dir: &DataDir,
    vkey: Option<&VerifierKey>,
    journal_progress: &(dyn Fn(u64) + Sync),
    archive_progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Verdict> {
    let config = dir.load_config()?;
    let full = tradetrail_archive::verify_all_with(dir, journal_progress, archive_progress)?;
    let cold = crate::cold_tier(dir)?;
    let source = crate::read_source(dir, cold.clone());
    let index = tradetrail_query::check_index(&source, &crate::query_index(dir))
        .map_err(|e| crate::Error::Index(Box::new(e)))?;

    // Every checkpoint the directory holds, each note once.
    let mut notes: Vec<(String, String)> = Vec::new();
    for (path, note) in stored_checkpoints(dir)? {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        notes.push((format!("checkpoints/{name}"), note));
    }
    for (seq, note) in checkpoint_records(&dir.journal()) {
        if !notes.iter().any(|(_, n)| *n == note) {
            notes.push((format!("{CHECKPOINT_TYPE} record {seq}"), note));
        }
    }
    let checkpoints = if notes.is_empty() {
        Vec::new()
    } else {
        let vkey = match vkey {
            Some(k) => k.clone(),
            None => tradetrail_core::checkpoints::verifier_key(dir)?,
        };
        let texts: Vec<&str> = notes.iter().map(|(_, n)| n.as_str()).collect();
        let checks = check_all_against(dir, &config.origin, &texts, &vkey, cold.as_deref())?;
        let mut v: Vec<CheckpointVerdict> = notes
            .into_iter()
            .zip(checks)
            .map(|((source, _), check)| CheckpointVerdict { source, check })
            .collect();
        v.sort_by(|a, b| {
            a.check
                .size
                .cmp(&b.check.size)
                .then(a.source.cmp(&b.source))
        });
        v
    };

    // The first bad seq across the checks, and why.
    let mut worst: Option<(u64, String)> = None;
    let mut consider = |seq: u64, reason: String| {
        if worst.as_ref().is_none_or(|(s, _)| seq < *s) {
            worst = Some((seq, reason));
        }
    };
    if !full.journal.ok {
        consider(
            full.journal.first_bad_seq.unwrap_or(full.journal_first_seq),
            full.journal.reason.clone().unwrap_or_default(),
        );
    }
    if let Some(a) = full.archive.as_ref().filter(|a| !a.ok) {
        consider(
            a.first_bad_seq.unwrap_or(0),
            format!("archive: {}", a.reason.clone().unwrap_or_default()),
        );
    }
    for c in checkpoints
        .iter()
        // A note whose signature does not verify has size 0 and names no record: its
        // reason is reported (below, when nothing else is), not as bad seq 0.
        .filter(|c| !c.check.ok && !c.check.uncheckable && c.check.size > 0)
    {
        // The records up to the largest checkpoint that passed are vouched for; the
        // change is at or after it (truncation: at the journal's end).
        let vouched = checkpoints
            .iter()
            .filter(|o| o.check.ok && o.check.size < c.check.size)
            .map(|o| o.check.size)
            .max()
            .unwrap_or(0);
        let seq = if c.check.records < c.check.size {
            c.check.records.max(vouched)
        } else {
            vouched
        };
        consider(
            seq,
            format!(
                "checkpoint {} (tree size {}): {}",
                c.source,
                c.check.size,
                c.check.reason.clone().unwrap_or_default()
            ),
        );
    }
    let uncheckable_only = checkpoints
        .iter()
        .all(|c| c.check.ok || c.check.uncheckable);
    let ok = full.ok() && uncheckable_only && index.ok;
    let (first_bad_seq, reason) = match worst {
        Some((s, r)) => (Some(s), Some(r)),
        // The records are intact; a damaged index is named, with no bad record.
        None if !index.ok => (
            None,
            Some(format!(
                "index: {} (delete DIR/index/query: it is rebuilt from the records)",
                index.reason.clone().unwrap_or_default()
            )),
        ),
        None => (
            None,
            checkpoints
                .iter()
                .find(|c| !c.check.ok && !c.check.uncheckable)
                .map(|c| {
                    format!(
                        "checkpoint {}: {}",
                        c.source,
                        c.check.reason.clone().unwrap_or_default()
                    )
                }),
        ),
    };
    Ok(Verdict {
        ok,
        first_bad_seq,
        reason,
        records: full.journal.records,
        segments: full.journal.segments,
        head_hash: full.journal.head_hash.map(|h| h.to_hex()),
        warnings: full
            .journal
            .warnings
            .iter()
            .cloned()
            .chain(
                full.archive
                    .iter()
                    .flat_map(|a| a.warnings.iter().map(|w| format!("archive: {w}"))),
            )
            .chain(crate::repair::pending_notes(dir).into_iter().map(|name| {
                format!(
                    "repaired/{name}: a repair was interrupted before its journal.repaired record; the next writing open records it (or drops the note if its cut never happened)"
                )
            }))
            .collect(),
        journal: full.journal,
        journal_first_seq: full.journal_first_seq,
        archive: full.archive,
        checkpoints,
        index,
        journal_seconds: full.journal_seconds,
        archive_seconds: full.archive_seconds,
    })
}

/// `(seq, note)` of every `journal.checkpoint` record still in `journal/`, as far as
/// the journal can be read (damage is `verify`'s to report, not this scan's).
fn checkpoint_records(jdir: &Path) -> Vec<(u64, String)> {
    let first = list_segments(&FsStorage, jdir)
        .ok()
        .and_then(|s| s.first().map(|s| s.first_seq))
        .unwrap_or(0);
    let mut out = Vec::new();
    let _ = for_each_line(&FsStorage, jdir, first, None, |seq, line| {
        if record_type(line) == Some(CHECKPOINT_TYPE) {
            let note = serde_json::from_slice::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v.get("data")?.get("note")?.as_str().map(str::to_owned));
            if let Some(note) = note {
                out.push((seq, note));
            }
        }
        Ok(true)
    });
    out
}
