//! Signed checkpoints of the journal's Merkle tree: taking them, checking the journal
//! against a saved one, and checking a record's inclusion offline.
//!
//! A checkpoint is saved as `DIR/checkpoints/<size, 20 digits>.txt` (the signed note,
//! byte for byte) and recorded in the journal itself as a `journal.checkpoint` record.

use std::path::{Path, PathBuf};

use tradetrail_checkpoint::{open_note, sign, Checkpoint, KeyPair, NoteError, VerifierKey};
use tradetrail_journal::{ColdLines, Durability, Entry, FsStorage, Receipt};
use tradetrail_merkle::{
    leaf_hash, verify_consistency, verify_inclusion, ConsistencyProof, Hash, InclusionProof,
    MerkleLog,
};

use crate::{DataDir, Error, Recorder, Result, Tree};

/// A checkpoint just taken.
#[derive(Debug, Clone)]
pub struct Taken {
    /// The signed note, exactly as saved.
    pub note: String,
    /// Records covered.
    pub size: u64,
    /// Root of those records.
    pub root: Hash,
    /// Where the note was saved.
    pub path: PathBuf,
    /// The `journal.checkpoint` record that records it.
    pub receipt: Receipt,
}

/// Creates the signing key of a new data directory (`DIR/keys`, mode 0600).
pub(crate) fn create_key(dir: &DataDir, name: &str) -> Result<VerifierKey> {
    let key = KeyPair::generate(name)?;
    key.save(&dir.keys())?;
    Ok(key.verifier())
}

/// The verifier key to publish.
pub fn verifier_key(dir: &DataDir) -> Result<VerifierKey> {
    if !dir.config().exists() {
        return Err(Error::NotInitialized {
            path: dir.root().to_path_buf(),
        });
    }
    Ok(VerifierKey::load_file(
        &dir.keys().join(tradetrail_checkpoint::VERIFIER_KEY_FILE),
    )?)
}

/// Signs the tree head of every record written so far, saves the note under
/// `DIR/checkpoints/` and appends a `journal.checkpoint` record naming it.
pub fn take_checkpoint(rec: &Recorder) -> Result<Taken> {
    take_checkpoint_at(rec, None)
}

/// [`take_checkpoint`], its `journal.checkpoint` record stamped `at` (ns; its
/// `ts_event` and `ts_recorded`) instead of the clock: a replica stamps it with the
/// stream time of the message it follows, so that replicas of one stream with the
/// same key write byte-identical checkpoint records and notes.
pub fn take_checkpoint_at(rec: &Recorder, at: Option<i64>) -> Result<Taken> {
    let key = KeyPair::load(&rec.data_dir().keys())?;
    // Only records on disk are signed: a note over records that a power loss could
    // still take back would make the guard refuse this directory as altered.
    rec.journal().flush()?;
    let (tree, _) = Tree::load(rec)?;
    // Never sign a tree that contradicts one already signed.
    guard(rec, &tree)?;
    let size = tree.size();
    let root = tree.root();
    let cp = Checkpoint::new(&rec.config().origin, size, root.0)?;
    let note = sign(&cp, &key);
    let dir = rec.data_dir().checkpoints();
    std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
        path: dir.clone(),
        source,
    })?;
    let path = dir.join(format!("{size:020}.txt"));
    crate::recorder::write_atomically(&path, note.as_bytes())?;
    let now = at
        .unwrap_or_else(|| rec.journal().options().clock.now_ns())
        .max(0);
    let body = serde_json::json!({
        "type": "journal.checkpoint",
        "ts_event": now,
        "source": "tradetrail",
        "actor": "system",
        "data": {
            "size": size,
            "root": root.to_string(),
            "key_id": key.key_id().to_string(),
            "note": note,
        }
    });
    let mut entry = Entry::new(serde_json::to_vec(&body).expect("JSON"), Durability::Fsync)?;
    if at.is_some() {
        entry = entry.with_ts_recorded(now);
    }
    let receipt = rec.journal().append(entry)?;
    Ok(Taken {
        note,
        size,
        root,
        path,
        receipt,
    })
}

/// Takes a checkpoint if the configured policy says one is due: records were added
/// since the last one and `every_records` were added, or `every_seconds` passed since
/// the last one, or a segment was sealed (`at_seal`). Returns what was taken.
pub fn checkpoint_if_due(rec: &Recorder) -> Result<Option<Taken>> {
    let policy = &rec.config().checkpoints;
    let status = rec.journal().status()?;
    let (last_size, last_time) = match latest_checkpoint(rec.data_dir())? {
        Some((path, _)) => {
            let size: u64 = path
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let time = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
            (size, time)
        }
        None => (0, None),
    };
    // The `journal.checkpoint` record itself does not make a new checkpoint due.
    let added = status.written.saturating_sub(last_size + 1);
    if added == 0 {
        return Ok(None);
    }
    let by_count = policy.every_records > 0 && added >= policy.every_records;
    // Time counts from the last checkpoint; the first one comes by count or seal.
    let by_time = policy.every_seconds > 0
        && last_time.is_some_and(|t| {
            t.elapsed()
                .map_or(true, |e| e.as_secs() >= policy.every_seconds)
        });
    let by_seal = policy.at_seal
        && tradetrail_journal::list_segments(&FsStorage, &rec.data_dir().journal())?
            .iter()
            .any(|s| s.first_seq > last_size);
    if by_count || by_time || by_seal {
        Ok(Some(take_checkpoint(rec)?))
    } else {
        Ok(None)
    }
}

/// The files of `DIR/checkpoints` (`<size, 20 digits>.txt`), smallest size first.
fn checkpoint_files(dir: &DataDir) -> Vec<PathBuf> {
    let cdir = dir.checkpoints();
    let Ok(entries) = std::fs::read_dir(&cdir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.len() == 24 && n.ends_with(".txt") && n[..20].bytes().all(|b| b.is_ascii_digit())
        })
        .collect();
    names.sort();
    names.into_iter().map(|n| cdir.join(n)).collect()
}

fn read_note(path: PathBuf) -> Result<(PathBuf, String)> {
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok((path, text)),
        Err(source) => Err(Error::Io { path, source }),
    }
}

/// The most recent saved checkpoint of a data directory, if any.
pub fn latest_checkpoint(dir: &DataDir) -> Result<Option<(PathBuf, String)>> {
    checkpoint_files(dir).pop().map(read_note).transpose()
}

/// Every saved checkpoint of a data directory, oldest (smallest) first.
pub fn stored_checkpoints(dir: &DataDir) -> Result<Vec<(PathBuf, String)>> {
    checkpoint_files(dir).into_iter().map(read_note).collect()
}

/// Refuses a journal (as `tree` shows it) that contradicts the newest checkpoint saved
/// in `DIR/checkpoints`: fewer records than it covers, or a different root at its
/// size. Appending doors and `take_checkpoint` call this, so nothing is ever added to,
/// or signed over, a history that was truncated or rewritten below a signed size.
/// (`verify` checks every saved checkpoint and the `journal.checkpoint` records,
/// from the records themselves rather than the stored tree.)
pub fn guard(rec: &Recorder, tree: &Tree) -> Result<()> {
    match latest_checkpoint(rec.data_dir())? {
        Some(newest) => guard_against(rec.data_dir(), &rec.config().origin, &newest, tree),
        None => Ok(()),
    }
}

/// [`guard`] against `newest` (the [`latest_checkpoint`], as read), for a data
/// directory whose journal is not open here: a reader's door, with a tree from
/// [`Tree::load_read_only`]. `origin` is the configuration's. A reader beside a
/// writer reads the checkpoint before it looks at the journal, so that a checkpoint
/// signed meanwhile (over records it did not see) is not taken for a truncation.
pub fn guard_against(
    dir: &DataDir,
    origin: &str,
    newest: &(PathBuf, String),
    tree: &Tree,
) -> Result<()> {
    let (path, note) = newest;
    let vkey = verifier_key(dir)?;
    let cp = open_note(note, &vkey)?;
    let size = cp.size();
    let contradicts = |reason: String| Error::Contradicts {
        checkpoint: path.clone(),
        size,
        reason,
    };
    if cp.origin() != origin {
        return Err(contradicts(format!(
            "it is for origin {:?}, this journal is {:?}",
            cp.origin(),
            origin
        )));
    }
    if tree.size() < size {
        return Err(contradicts(format!(
            "the journal holds {} records, {} fewer than the checkpoint covers: records {}.. were removed",
            tree.size(),
            size - tree.size(),
            tree.size()
        )));
    }
    match tree.root_at(size) {
        Ok(root) if root.0 == *cp.root() => Ok(()),
        Ok(root) => Err(contradicts(format!(
            "the Merkle root of the first {size} records is {root}, the checkpoint signed {}: records below seq {size} were changed",
            Hash(*cp.root())
        ))),
        // A size inside a purged range cannot be recomputed; `verify` says so.
        Err(_) => Ok(()),
    }
}

/// Checks that the journal's origin (record 0's `data.origin`) is the configuration's,
/// so a `tradetrail.toml` copied from another data directory is refused.
pub fn check_origin(rec: &Recorder) -> Result<()> {
    // Record 0 purged or archived and unreadable: `verify` reports that.
    check_origin_of(
        rec.data_dir(),
        &rec.config().origin,
        rec.read_line(0).ok().as_deref(),
    )
}

/// [`check_origin`] given record 0's line (`None` when it cannot be read: purged or
/// archived and unreadable, which `verify` reports) and the configured `origin`.
pub fn check_origin_of(dir: &DataDir, origin: &str, record0: Option<&[u8]>) -> Result<()> {
    let Some(line) = record0 else {
        return Ok(());
    };
    let v: serde_json::Value = serde_json::from_slice(line).map_err(|e| {
        Error::Journal(tradetrail_journal::Error::Damaged {
            seq: 0,
            segment: dir.journal(),
            offset: 0,
            reason: format!("record 0 is not JSON: {e}"),
        })
    })?;
    let recorded = v
        .get("data")
        .and_then(|d| d.get("origin"))
        .and_then(|o| o.as_str())
        .unwrap_or_default();
    if recorded != origin {
        return Err(Error::OriginMismatch {
            config: dir.config(),
            configured: origin.to_string(),
            recorded: recorded.to_string(),
        });
    }
    Ok(())
}

/// The outcome of checking a journal against a saved checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckpointCheck {
    /// True when the journal's first `size` records have exactly the checkpoint's root.
    pub ok: bool,
    /// The checkpoint's tree size.
    pub size: u64,
    /// Records accounted for (at most `size`; fewer means the journal was truncated):
    /// read and hashed, or purged and accounted for by their subtrees.
    pub records: u64,
    /// Of `records`, those a retention purge removed, accounted for only by the Merkle
    /// subtrees their archive tombstones keep.
    pub purged: u64,
    /// True when the checkpoint cannot be checked at all: its size falls strictly
    /// inside a purged range, so its root needs records that are gone.
    pub uncheckable: bool,
    /// Why not, when not.
    pub reason: Option<String>,
}

impl CheckpointCheck {
    /// The verdict on a note whose signature does not verify with the key given.
    pub fn unsigned(e: &NoteError) -> CheckpointCheck {
        CheckpointCheck {
            ok: false,
            size: 0,
            records: 0,
            purged: 0,
            uncheckable: false,
            reason: Some(format!("the checkpoint's signature does not verify: {e}")),
        }
    }
}

/// Checks, without opening the journal for writing, that its first `size` records are
/// exactly those a signed checkpoint covers: the note must be signed by `vkey` for this
/// journal's origin, the journal must hold at least `size` records, and the Merkle root
/// of its first `size` records must be the checkpoint's. Any truncation or any change
/// to those records — even with every `prev` recomputed — fails.
pub fn check_against(
    dir: &DataDir,
    origin: &str,
    note: &str,
    vkey: &VerifierKey,
    cold: Option<&dyn ColdLines>,
) -> Result<CheckpointCheck> {
    let cp = open_note(note, vkey)?;
    let mut checks = check_parsed(dir, origin, &[cp], cold)?;
    checks
        .pop()
        .ok_or_else(|| Error::Internal("one checkpoint, no verdict".into()))
}

/// [`check_against`] for many notes at once, reading the journal once (up to the
/// largest size). A note whose signature does not verify is a failed check, not an
/// error. The verdicts are in the order of `notes`.
pub fn check_all_against(
    dir: &DataDir,
    origin: &str,
    notes: &[&str],
    vkey: &VerifierKey,
    cold: Option<&dyn ColdLines>,
) -> Result<Vec<CheckpointCheck>> {
    let mut parsed = Vec::new();
    let mut out: Vec<Option<CheckpointCheck>> = Vec::with_capacity(notes.len());
    for note in notes {
        match open_note(note, vkey) {
            Ok(cp) => {
                parsed.push(cp);
                out.push(None);
            }
            Err(e) => out.push(Some(CheckpointCheck::unsigned(&e))),
        }
    }
    let mut checked = check_parsed(dir, origin, &parsed, cold)?.into_iter();
    out.into_iter()
        .map(|c| match c {
            Some(c) => Ok(c),
            None => checked
                .next()
                .ok_or_else(|| Error::Internal("a checkpoint without a verdict".into())),
        })
        .collect()
}

fn check_parsed(
    dir: &DataDir,
    origin: &str,
    cps: &[Checkpoint],
    cold: Option<&dyn ColdLines>,
) -> Result<Vec<CheckpointCheck>> {
    let runs = crate::tree::purged_runs_of(&dir.journal(), cold)?;
    // Read as far as the largest size that can be checked (one inside a purged range
    // cannot, and reading up to it would split the range's subtrees).
    let max = cps
        .iter()
        .map(|c| c.size())
        .filter(|&size| crate::tree::run_inside(&runs, size).is_none())
        .max()
        .unwrap_or(0);
    let mut log = MerkleLog::new();
    let mut purged = 0u64;
    // How far the journal could be read as records, and why it stopped there.
    let (records, stopped) =
        match crate::tree::extend_log(&mut log, &dir.journal(), cold, 0, max, &mut purged) {
            Ok(n) => (n, None),
            // A record a checkpoint covers cannot be read as one: checks fail there.
            Err(Error::Journal(tradetrail_journal::Error::Corrupt {
                segment,
                offset,
                reason,
            })) => (
                log.len(),
                Some(format!(
                    "is not readable ({reason} in {} at byte {offset})",
                    segment.display()
                )),
            ),
            // Records missing between segments: the check fails where they begin.
            Err(Error::Journal(e @ tradetrail_journal::Error::Gap { .. })) => {
                (log.len(), Some(format!("cannot be read: {e}")))
            }
            // An archived record that cannot be read back as itself, or a tombstone
            // whose subtrees do not give the root it recorded.
            Err(Error::Journal(tradetrail_journal::Error::Cold { seq, reason })) => (
                seq.min(log.len()),
                Some(format!("is not readable from the archive: {reason}")),
            ),
            Err(e) => return Err(e),
        };
    let mut out = Vec::with_capacity(cps.len());
    for cp in cps {
        let size = cp.size();
        let fail = |records: u64, reason: String| CheckpointCheck {
            ok: false,
            size,
            records,
            purged,
            uncheckable: false,
            reason: Some(reason),
        };
        if let Some(r) = crate::tree::run_inside(&runs, size) {
            out.push(CheckpointCheck {
                ok: false,
                size,
                records: 0,
                purged: 0,
                uncheckable: true,
                reason: Some(format!(
                    "the checkpoint's size {size} falls inside records {}..={}, which retention purged (the journal.retention_purged record at seq {}): its root needs records that are gone, so it cannot be checked record by record; a checkpoint of size {} or {} (or any size outside purged ranges) can",
                    r.first,
                    r.last,
                    r.by,
                    r.first,
                    r.last + 1
                )),
            });
            continue;
        }
        if let (Some(why), true) = (&stopped, records < size) {
            out.push(fail(
                records,
                format!("record {records} of the {size} the checkpoint covers {why}"),
            ));
            continue;
        }
        let have = records.min(size);
        if cp.origin() != origin {
            out.push(fail(
                have,
                format!(
                    "the checkpoint is for origin {:?}, this journal is {origin:?}",
                    cp.origin()
                ),
            ));
            continue;
        }
        if records < size {
            out.push(fail(
                have,
                format!(
                    "the journal holds {records} records but the checkpoint covers {size}: it was truncated"
                ),
            ));
            continue;
        }
        let root = log.root_at(size)?;
        if root.0 != *cp.root() {
            out.push(fail(
                have,
                format!(
                    "the Merkle root of the first {size} records is {root} but the checkpoint says {}: records before seq {size} were changed",
                    Hash(*cp.root())
                ),
            ));
            continue;
        }
        out.push(CheckpointCheck {
            ok: true,
            size,
            records: size,
            purged,
            uncheckable: false,
            reason: None,
        });
    }
    Ok(out)
}

/// What an offline inclusion check established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineInclusion {
    /// The journal's origin, from the checkpoint.
    pub origin: String,
    /// The record's seq.
    pub seq: u64,
    /// The checkpoint's tree size.
    pub size: u64,
}

/// Why an offline check did not pass.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    /// An input is not what it should be (exit 2).
    #[error("{what}: {reason}")]
    Malformed {
        /// Which input.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The proof is for another tree size than the checkpoint: the two cannot be
    /// checked against each other (exit 2, not a sign of tampering). Get a proof at the
    /// checkpoint's size.
    #[error(
        "the proof is for tree size {proof} but the checkpoint is for tree size {checkpoint}: \
         a proof can only be checked against a checkpoint of its own size, so this says nothing \
         about whether record {seq} is in the journal; make the proof at the checkpoint's size \
         (`tradetrail prove inclusion --seq {seq} --size {checkpoint}`)"
    )]
    SizeMismatch {
        /// The record's seq, as the proof names it.
        seq: u64,
        /// The proof's tree size.
        proof: u64,
        /// The checkpoint's tree size.
        checkpoint: u64,
    },
    /// A consistency proof between other tree sizes than the two checkpoints' (exit 2,
    /// not a sign of tampering). Make the proof for the checkpoints.
    #[error(
        "the proof is from tree size {proof_old} to {proof_new} but the checkpoints are of \
         tree sizes {old} and {new}: a proof can only be checked against checkpoints of its \
         own sizes, so this says nothing about the journal; make the proof for these \
         checkpoints (`tradetrail prove consistency --old-checkpoint OLD --new-checkpoint NEW`)"
    )]
    ConsistencySizes {
        /// The proof's old size.
        proof_old: u64,
        /// The proof's new size.
        proof_new: u64,
        /// The older checkpoint's size.
        old: u64,
        /// The newer checkpoint's size.
        new: u64,
    },
    /// The inputs are well formed but do not prove what was asked (exit 1).
    #[error("{0}")]
    Failed(String),
}

/// What an offline consistency check established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineConsistency {
    /// The journal's origin, from the checkpoints.
    pub origin: String,
    /// The older checkpoint's tree size.
    pub old: u64,
    /// The newer checkpoint's tree size.
    pub new: u64,
}

/// Opens a signed note for an offline check: malformed input is `Malformed` naming
/// `what`, a bad signature is `Failed`.
fn open_offline(
    what: &'static str,
    note: &str,
    vkey: &VerifierKey,
) -> Result<Checkpoint, OfflineError> {
    open_note(note, vkey).map_err(|e| match e {
        NoteError::Malformed { .. } => OfflineError::Malformed {
            what,
            reason: e.to_string(),
        },
        other => OfflineError::Failed(format!("{what} signature: {other}")),
    })
}

/// Checks, with nothing but public material, that the journal as of the signed
/// checkpoint `new_note` extends the journal as of `old_note`: both signatures by
/// `vkey`, one origin, the proof's sizes and roots against the checkpoints', and the
/// RFC 9162 consistency proof. Equal sizes need equal roots and an empty proof.
pub fn verify_consistency_offline(
    old_note: &str,
    new_note: &str,
    vkey: &str,
    proof_json: &[u8],
) -> Result<OfflineConsistency, OfflineError> {
    let vkey = VerifierKey::parse(vkey.trim()).map_err(|e| OfflineError::Malformed {
        what: "key",
        reason: e.to_string(),
    })?;
    let old = open_offline("old checkpoint", old_note, &vkey)?;
    let new = open_offline("checkpoint", new_note, &vkey)?;
    if old.origin() != new.origin() {
        return Err(OfflineError::Malformed {
            what: "old checkpoint",
            reason: format!(
                "it is of origin {:?} and the checkpoint of origin {:?}: two journals cannot be compared",
                old.origin(),
                new.origin()
            ),
        });
    }
    if old.size() > new.size() {
        return Err(OfflineError::Malformed {
            what: "old checkpoint",
            reason: format!(
                "it is of tree size {}, larger than the checkpoint's {}: give the older one as --old-checkpoint",
                old.size(),
                new.size()
            ),
        });
    }
    let proof: ConsistencyProof =
        serde_json::from_slice(proof_json).map_err(|e| OfflineError::Malformed {
            what: "proof",
            reason: format!(
                "{e} (a proof printed by `tradetrail prove consistency --json` is expected)"
            ),
        })?;
    if (proof.old, proof.new) != (old.size(), new.size()) {
        return Err(OfflineError::ConsistencySizes {
            proof_old: proof.old,
            proof_new: proof.new,
            old: old.size(),
            new: new.size(),
        });
    }
    if proof.old_root.0 != *old.root() || proof.new_root.0 != *new.root() {
        return Err(OfflineError::Failed(
            "the proof's roots are not the checkpoints' roots".into(),
        ));
    }
    verify_consistency(
        old.size(),
        new.size(),
        &Hash(*old.root()),
        &Hash(*new.root()),
        &proof.proof,
    )
    .map_err(|e| OfflineError::Failed(format!("consistency proof: {e}")))?;
    Ok(OfflineConsistency {
        origin: new.origin().to_string(),
        old: old.size(),
        new: new.size(),
    })
}

/// Checks, with nothing but public material, that `record` (one journal line) is in
/// the journal as of a signed checkpoint: the note's signature by `vkey`, the proof's
/// size and root against the checkpoint's, the record's leaf hash, and the proof.
pub fn verify_offline(
    note: &str,
    vkey: &str,
    record: &[u8],
    proof_json: &[u8],
) -> Result<OfflineInclusion, OfflineError> {
    let vkey = VerifierKey::parse(vkey.trim()).map_err(|e| OfflineError::Malformed {
        what: "key",
        reason: e.to_string(),
    })?;
    let cp = open_offline("checkpoint", note, &vkey)?;
    let proof: InclusionProof =
        serde_json::from_slice(proof_json).map_err(|e| OfflineError::Malformed {
            what: "proof",
            reason: e.to_string(),
        })?;
    let line = record.strip_suffix(b"\n").unwrap_or(record);
    if memchr_newline(line) {
        return Err(OfflineError::Malformed {
            what: "record",
            reason: "must be exactly one journal line".into(),
        });
    }
    if proof.size != cp.size() {
        return Err(OfflineError::SizeMismatch {
            seq: proof.seq,
            proof: proof.size,
            checkpoint: cp.size(),
        });
    }
    if proof.root.0 != *cp.root() {
        return Err(OfflineError::Failed(
            "the proof's root is not the checkpoint's root".into(),
        ));
    }
    let leaf = leaf_hash(line);
    if leaf != proof.leaf_hash {
        return Err(OfflineError::Failed(
            "the record's leaf hash is not the proof's leaf_hash: this is not the record the proof is for".into(),
        ));
    }
    let seq = record_seq(line).ok_or_else(|| OfflineError::Malformed {
        what: "record",
        reason: "does not start with {\"seq\":N,".into(),
    })?;
    if seq != proof.seq {
        return Err(OfflineError::Failed(format!(
            "the record is seq {seq} but the proof is for seq {}",
            proof.seq
        )));
    }
    verify_inclusion(
        &leaf,
        proof.seq,
        proof.size,
        &proof.proof,
        &Hash(*cp.root()),
    )
    .map_err(|e| OfflineError::Failed(format!("inclusion proof: {e}")))?;
    Ok(OfflineInclusion {
        origin: cp.origin().to_string(),
        seq,
        size: cp.size(),
    })
}

fn memchr_newline(b: &[u8]) -> bool {
    b.contains(&b'\n')
}

fn record_seq(line: &[u8]) -> Option<u64> {
    tradetrail_journal::parse_header(line).ok().map(|h| h.seq)
}

/// Reads a file for the offline check, naming it in the error.
pub fn read_input(what: &'static str, path: &Path) -> Result<Vec<u8>, OfflineError> {
    std::fs::read(path).map_err(|e| OfflineError::Malformed {
        what,
        reason: format!("{}: {e}", path.display()),
    })
}

/// Where the tree size of an inclusion proof came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofSizeFrom {
    /// Asked for explicitly (`--size`).
    Asked,
    /// The size of a checkpoint note given (`--checkpoint FILE`).
    Checkpoint(PathBuf),
    /// The size of the newest checkpoint saved in `DIR/checkpoints`.
    Newest(PathBuf),
    /// No checkpoint saved: every record written.
    Everything,
}

/// An inclusion proof and the tree size it was made for.
#[derive(Debug, Clone)]
pub struct SizedProof {
    /// The proof.
    pub proof: InclusionProof,
    /// Where its size came from.
    pub from: ProofSizeFrom,
}

/// The size of a checkpoint note given to a command: the note must be signed by this
/// journal's key and be for its origin (so a proof made for it verifies against it).
pub fn note_size(rec: &Recorder, path: &Path) -> Result<u64> {
    let bad = |reason: String| Error::CheckpointFile {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let vkey = verifier_key(rec.data_dir())?;
    let cp = open_note(&text, &vkey).map_err(|e| {
        bad(format!(
            "{e} (a checkpoint printed by `tradetrail checkpoint` for this journal is expected)"
        ))
    })?;
    if cp.origin() != rec.config().origin {
        return Err(bad(format!(
            "it is for origin {:?}, this journal is {:?}",
            cp.origin(),
            rec.config().origin
        )));
    }
    Ok(cp.size())
}

/// The size of the newest saved checkpoint, with its file.
fn newest_size(dir: &DataDir) -> Option<(PathBuf, u64)> {
    let path = checkpoint_files(dir).pop()?;
    let size = path
        .file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.parse().ok())?;
    Some((path, size))
}

/// A consistency proof and where its two sizes came from.
#[derive(Debug, Clone)]
pub struct SizedConsistency {
    /// The proof.
    pub proof: ConsistencyProof,
    /// Where the old size came from ([`ProofSizeFrom::Newest`] here: the saved
    /// checkpoint before the new size).
    pub old_from: ProofSizeFrom,
    /// Where the new size came from.
    pub new_from: ProofSizeFrom,
}

/// Proves that the tree of an older size is a prefix of a newer one, at sizes an
/// auditor can check against signed checkpoints. The new size: `new` if given, else
/// the checkpoint note at `new_checkpoint`, else the newest checkpoint saved in
/// `DIR/checkpoints`, else every record written. The old size: `old` if given, else
/// the note at `old_checkpoint`, else the newest saved checkpoint smaller than the new
/// size (so with no sizes given: "the journal only grew between its last two
/// checkpoints").
pub fn prove_consistency_for(
    rec: &Recorder,
    tree: &Tree,
    old: Option<u64>,
    old_checkpoint: Option<&Path>,
    new: Option<u64>,
    new_checkpoint: Option<&Path>,
) -> Result<SizedConsistency> {
    let (new, new_from) = match (new, new_checkpoint) {
        (Some(n), _) => (n, ProofSizeFrom::Asked),
        (None, Some(path)) => (
            note_size(rec, path)?,
            ProofSizeFrom::Checkpoint(path.to_path_buf()),
        ),
        (None, None) => match newest_size(rec.data_dir()) {
            Some((path, n)) => (n, ProofSizeFrom::Newest(path)),
            None => (tree.size(), ProofSizeFrom::Everything),
        },
    };
    let (old, old_from) = match (old, old_checkpoint) {
        (Some(n), _) => (n, ProofSizeFrom::Asked),
        (None, Some(path)) => (
            note_size(rec, path)?,
            ProofSizeFrom::Checkpoint(path.to_path_buf()),
        ),
        (None, None) => {
            let earlier = checkpoint_files(rec.data_dir())
                .into_iter()
                .filter_map(|p| {
                    let n: u64 = p.file_stem()?.to_str()?.parse().ok()?;
                    (n < new).then_some((p, n))
                })
                .next_back();
            match earlier {
                Some((path, n)) => (n, ProofSizeFrom::Newest(path)),
                None => {
                    return Err(Error::OutOfRange {
                        reason: format!(
                            "--old: no checkpoint is saved before tree size {new}: give --old N or --old-checkpoint FILE (a checkpoint you were given earlier)"
                        ),
                    })
                }
            }
        }
    };
    Ok(SizedConsistency {
        proof: tree.prove_consistency(old, Some(new))?,
        old_from,
        new_from,
    })
}

/// Proves that record `seq` is in the tree of the size an auditor can check it
/// against: `size` if given, else the size of the checkpoint note at `checkpoint`,
/// else that of the newest checkpoint saved in `DIR/checkpoints` (`tradetrail
/// checkpoint` appends a `journal.checkpoint` record after signing, so "every record"
/// is always one more than the checkpoint just taken), else every record written.
pub fn prove_inclusion_for(
    rec: &Recorder,
    tree: &Tree,
    seq: u64,
    size: Option<u64>,
    checkpoint: Option<&Path>,
) -> Result<SizedProof> {
    let (size, from) = match (size, checkpoint) {
        (Some(n), _) => (Some(n), ProofSizeFrom::Asked),
        (None, Some(path)) => (
            Some(note_size(rec, path)?),
            ProofSizeFrom::Checkpoint(path.to_path_buf()),
        ),
        (None, None) => match newest_size(rec.data_dir()) {
            Some((path, n)) => (Some(n), ProofSizeFrom::Newest(path)),
            None => (None, ProofSizeFrom::Everything),
        },
    };
    if let Some(n) = size {
        if seq >= n && seq < tree.size() {
            let whose = match &from {
                ProofSizeFrom::Asked => format!("--size {n}"),
                ProofSizeFrom::Checkpoint(p) => {
                    format!("the checkpoint {} (tree size {n})", p.display())
                }
                ProofSizeFrom::Newest(p) => format!(
                    "the newest saved checkpoint {} (tree size {n}), the size proofs are made for by default",
                    p.display()
                ),
                ProofSizeFrom::Everything => format!("tree size {n}"),
            };
            return Err(Error::OutOfRange {
                reason: format!(
                    "--seq {seq}: record {seq} was written after {whose}: take a new checkpoint (`tradetrail checkpoint > cp.txt`) and prove against it (`--checkpoint cp.txt`)"
                ),
            });
        }
    }
    Ok(SizedProof {
        proof: tree.prove_inclusion(seq, size)?,
        from,
    })
}
