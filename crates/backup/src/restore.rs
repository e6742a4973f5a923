//! `restore`: rebuilds a data directory from a backup, verifying as it goes.
//!
//! Into a hidden staging directory beside the destination, in this order: the
//! manifest (missing = an incomplete backup); each segment in seq order, checked
//! against the manifest's size and SHA-256 and then record by record (seq
//! continuity, the chain, the Merkle tree); every other file against its size and
//! hash; the totals against the manifest (records, head hash, root); every
//! checkpoint's signature (with `--key` or the backed-up verifier key), origin and
//! root against the restored tree; finally the journal's own `verify`. Only then is
//! the staging directory renamed to the destination. On any failure it is removed,
//! so there is never a half-restored directory under the destination's name.
//!
//! A restore that was killed cannot remove its staging directory
//! (`.NAME.restoring-PID`). Each restore holds an exclusive lock (`flock`) on its
//! own staging directory while it runs, and before it starts removes the staging
//! directories beside its destination that are provably abandoned: no one holds
//! their lock and the process their name gives is not running. It says so on
//! stderr and in [`RestoreReport::stale_removed`].

use std::path::{Path, PathBuf};

use tradetrail_checkpoint::{open_note, VerifierKey};
use tradetrail_core::Config;
use tradetrail_journal::parse_segment_file_name;

use crate::backup::{checkpoint_size, is_empty_or_missing, sha256_hex};
use crate::chain::ChainCheck;
use crate::manifest::{FileEntry, FileKind, KeysIncluded, Manifest, MANIFEST_KEY};
use crate::store::{write_atomically, Store};
use crate::{Error, Result};

/// How to restore.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// The verifier key to check checkpoints with (C2SP vkey text). Without it the
    /// backed-up `keys/verifier.vkey` is used: give it to trust nothing in the backup.
    pub key: Option<String>,
}

/// What a restore checked and wrote.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    /// The restored data directory.
    pub dest: PathBuf,
    /// The journal's origin.
    pub origin: String,
    /// Records restored (and verified).
    pub records: u64,
    /// Files restored.
    pub files: usize,
    /// Bytes restored.
    pub bytes: u64,
    /// The latest checkpoint: its size and root (hex), verified.
    pub checkpoint: Option<(u64, String)>,
    /// Checkpoints verified.
    pub checkpoints_checked: usize,
    /// Records a retention purge removed, accounted for by the Merkle subtrees their
    /// archive tombstones keep (the chain and tree were checked across them).
    pub purged_records: u64,
    /// Whether the backup held secrets.
    pub keys: KeysIncluded,
    /// When the backup was taken.
    pub created: String,
    /// Staging directories of killed restores removed before this one started.
    pub stale_removed: Vec<PathBuf>,
}

/// Removes the staging directory unless the restore finished.
struct Staging {
    path: PathBuf,
    keep: bool,
    /// The directory itself, opened and locked for as long as the restore runs (the
    /// lock goes with the handle, after the directory is removed or renamed).
    _lock: Option<std::fs::File>,
}

const STAGING_MARK: &str = ".restoring-";

/// The pid in a staging directory's name (`.NAME.restoring-PID`), if it is one.
fn staging_pid(file_name: &str) -> Option<u32> {
    if !file_name.starts_with('.') {
        return None;
    }
    let (_, pid) = file_name.rsplit_once(STAGING_MARK)?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Whether process `pid` may be running. Only `/proc` can say it is not; without
/// it (not Linux), every process counts as running and nothing is removed.
fn may_be_running(pid: u32) -> bool {
    pid == std::process::id()
        || !Path::new("/proc/self").exists()
        || Path::new("/proc").join(pid.to_string()).exists()
}

/// Removes the staging directories under `parent` left by restores that were
/// killed: a directory named `.NAME.restoring-PID` whose process is not running
/// and whose lock no one holds (a running restore holds it on its own). Each is
/// removed while this restore holds its lock, so a restore that starts meanwhile
/// cannot be using it. Returns what was removed; what cannot be removed is left,
/// with a warning, and does not stop the restore.
fn remove_stale_staging(parent: &Path) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(parent) else {
        return removed;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(staging_pid) else {
            continue;
        };
        // A directory, not a link to one.
        if !e.file_type().is_ok_and(|t| t.is_dir()) || may_be_running(pid) {
            continue;
        }
        let path = e.path();
        let Ok(dir) = std::fs::File::open(&path) else {
            continue;
        };
        if dir.try_lock().is_err() {
            // Held: a restore is using it.
            continue;
        }
        match std::fs::remove_dir_all(&path) {
            Ok(()) => {
                eprintln!(
                    "restore: removed {}, left by a restore that did not finish (process {pid} is gone)",
                    path.display()
                );
                removed.push(path);
            }
            Err(err) => eprintln!(
                "warning: restore: {} was left by a restore that did not finish, and could not be removed: {err}",
                path.display()
            ),
        }
    }
    removed
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Restores the backup in `store` into the new data directory `dest`.
pub fn restore(
    store: &dyn Store,
    dest: &Path,
    opts: &RestoreOptions,
    progress: &dyn Fn(u64, u64),
) -> Result<RestoreReport> {
    if !is_empty_or_missing(dest)? {
        return Err(Error::bad(
            "--data",
            format!(
                "{} exists and is not empty; restore into a new directory",
                dest.display()
            ),
        ));
    }
    let given_key = match &opts.key {
        Some(k) => {
            Some(VerifierKey::parse(k.trim()).map_err(|e| Error::bad("--key", e.to_string()))?)
        }
        None => None,
    };
    let opts_key = given_key.clone();
    let where_ = store.describe();
    let Some(mbytes) = store.get(MANIFEST_KEY)? else {
        return Err(Error::refused(
            format!("{where_}/{MANIFEST_KEY}"),
            "missing: this is not a complete backup (an interrupted backup writes no manifest)",
        ));
    };
    let m = Manifest::parse(&mbytes).map_err(|r| Error::refused(MANIFEST_KEY, r))?;

    let name = dest
        .file_name()
        .ok_or_else(|| {
            Error::bad(
                "--data",
                format!("{}: not a directory name", dest.display()),
            )
        })?
        .to_string_lossy()
        .into_owned();
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(Error::io(&parent))?;
    let stale_removed = remove_stale_staging(&parent);
    let mut staging = Staging {
        path: parent.join(format!(".{name}{STAGING_MARK}{}", std::process::id())),
        keep: false,
        _lock: None,
    };
    let _ = std::fs::remove_dir_all(&staging.path);
    std::fs::create_dir(&staging.path).map_err(Error::io(&staging.path))?;
    let lock = std::fs::File::open(&staging.path).map_err(Error::io(&staging.path))?;
    lock.try_lock().map_err(|e| {
        Error::io(&staging.path)(match e {
            std::fs::TryLockError::Error(e) => e,
            std::fs::TryLockError::WouldBlock => {
                std::io::Error::new(std::io::ErrorKind::WouldBlock, "locked by another restore")
            }
        })
    })?;
    staging._lock = Some(lock);

    let total: u64 = m.files.iter().map(|f| f.bytes).sum();
    let mut done = 0u64;
    let fetch = |f: &FileEntry| -> Result<Vec<u8>> {
        let bytes = store.get(&f.object)?.ok_or_else(|| {
            Error::refused(
                &f.path,
                format!("missing from the backup (object {where_}/{})", f.object),
            )
        })?;
        if bytes.len() as u64 != f.bytes {
            return Err(Error::refused(
                &f.path,
                format!(
                    "is {} bytes in the backup but the manifest says {}",
                    bytes.len(),
                    f.bytes
                ),
            ));
        }
        let sha = sha256_hex(&bytes);
        if sha != f.sha256 {
            return Err(Error::refused(
                &f.path,
                format!(
                    "SHA-256 {sha} is not the manifest's {}: the copy was altered",
                    f.sha256
                ),
            ));
        }
        Ok(bytes)
    };

    // Every other file first: the archive among them, which holds the records
    // before the first segment once the hot window removed older segments.
    let mut checkpoints: Vec<(&FileEntry, Vec<u8>)> = Vec::new();
    for f in m.files.iter().filter(|f| f.kind != FileKind::Segment) {
        let bytes = fetch(f)?;
        let path = staging.path.join(&f.path);
        write_atomically(&path, &bytes)?;
        if f.kind == FileKind::Secret {
            restrict(&path)?;
        }
        if f.kind == FileKind::Checkpoint {
            checkpoints.push((f, bytes));
        }
        done += f.bytes;
        progress(done, total);
    }
    if m.files.iter().any(|f| f.path.starts_with("keys/")) {
        restrict(&staging.path.join("keys"))?;
    }

    // Segments, in seq order, record by record.
    let mut segs: Vec<&FileEntry> = m
        .files
        .iter()
        .filter(|f| f.kind == FileKind::Segment)
        .collect();
    segs.sort_by_key(|f| f.first_seq);
    if segs.is_empty() {
        return Err(Error::refused(MANIFEST_KEY, "lists no journal segment"));
    }
    let mut chain = ChainCheck::new();
    if let Some(first) = segs[0].first_seq.filter(|&f| f > 0) {
        chain.archive(
            &tradetrail_core::DataDir::new(&staging.path),
            first,
            "the backup",
        )?;
    }
    for f in &segs {
        let named = f
            .path
            .strip_prefix("journal/")
            .and_then(parse_segment_file_name);
        if named.is_none() || named != f.first_seq {
            return Err(Error::refused(
                &f.path,
                format!(
                    "is not a segment name matching first_seq {:?} in the manifest",
                    f.first_seq
                ),
            ));
        }
        let bytes = fetch(f)?;
        let seen = chain
            .segment(named.unwrap_or(0), &bytes)
            .map_err(|r| Error::refused(&f.path, r))?;
        if Some(seen.records) != f.records {
            return Err(Error::refused(
                &f.path,
                format!(
                    "holds {} records but the manifest says {:?}",
                    seen.records, f.records
                ),
            ));
        }
        write_atomically(&staging.path.join(&f.path), &bytes)?;
        done += f.bytes;
        progress(done, total);
    }
    let records = chain.records();
    let mism = |what: &str, backup: String, manifest: &str| {
        Error::refused(
            MANIFEST_KEY,
            format!("{what} of the restored journal is {backup} but the manifest says {manifest}"),
        )
    };
    if records != m.records {
        return Err(mism(
            "the record count",
            records.to_string(),
            &m.records.to_string(),
        ));
    }
    if chain.head_hash().to_hex() != m.head_hash {
        return Err(mism(
            "the head hash",
            chain.head_hash().to_hex(),
            &m.head_hash,
        ));
    }
    let root = chain.tree().root().to_string();
    if root != m.root {
        return Err(mism("the Merkle root", root, &m.root));
    }

    // The configuration names the same journal.
    let cpath = staging.path.join("tradetrail.toml");
    let ctext = std::fs::read_to_string(&cpath)
        .map_err(|_| Error::refused("tradetrail.toml", "missing from the backup"))?;
    let config = Config::parse(&ctext).map_err(|r| Error::refused("tradetrail.toml", r))?;
    if config.origin != m.origin {
        return Err(Error::refused(
            "tradetrail.toml",
            format!(
                "origin {:?} is not the manifest's {:?}",
                config.origin, m.origin
            ),
        ));
    }

    // Checkpoints: signature, origin, and the restored tree's root at their size.
    let vkey = match given_key {
        Some(k) => Some(k),
        None => match std::fs::read_to_string(staging.path.join("keys/verifier.vkey")) {
            Ok(t) => Some(
                VerifierKey::parse(t.trim())
                    .map_err(|e| Error::refused("keys/verifier.vkey", e.to_string()))?,
            ),
            Err(_) => None,
        },
    };
    let mut latest: Option<(u64, String)> = None;
    let mut unchecked = 0;
    for (f, bytes) in &checkpoints {
        let Some(vkey) = &vkey else {
            return Err(Error::refused(
                "keys/verifier.vkey",
                "missing from the backup, so the checkpoints cannot be checked; give the verifier key with --key",
            ));
        };
        let text = std::str::from_utf8(bytes).map_err(|_| Error::refused(&f.path, "not UTF-8"))?;
        let cp = open_note(text, vkey).map_err(|e| {
            Error::refused(
                &f.path,
                format!("the checkpoint's signature does not verify: {e}"),
            )
        })?;
        let name = f.path.rsplit('/').next().unwrap_or(&f.path);
        if checkpoint_size(name) != Some(cp.size()) {
            return Err(Error::refused(
                &f.path,
                format!("signs tree size {}, not the size its name says", cp.size()),
            ));
        }
        if cp.origin() != m.origin {
            return Err(Error::refused(
                &f.path,
                format!("is for origin {:?}, not {:?}", cp.origin(), m.origin),
            ));
        }
        if cp.size() > records {
            return Err(Error::refused(
                &f.path,
                format!(
                    "covers {} records but the backup holds only {records}: records are missing",
                    cp.size()
                ),
            ));
        }
        if chain.purged_inside(cp.size()).is_some() {
            // Its root needs records a purge removed: signed and of this journal,
            // but not checkable against the records (the backup did not check it
            // either, nor name it as the latest).
            unchecked += 1;
            continue;
        }
        let at = chain
            .root_at(cp.size())
            .map_err(|e| Error::refused(&f.path, e))?;
        if at.0 != *cp.root() {
            return Err(Error::refused(
                &f.path,
                format!(
                    "the restored journal's root at size {} is {at}, not the signed root: records before seq {} were changed",
                    cp.size(),
                    cp.size()
                ),
            ));
        }
        if latest.as_ref().is_none_or(|(s, _)| cp.size() >= *s) {
            latest = Some((cp.size(), at.to_string()));
        }
    }
    match (&m.checkpoint, &latest) {
        (Some(c), Some((size, root))) if c.size == *size && c.root == *root => {}
        (None, None) => {}
        (c, l) => {
            return Err(Error::refused(
                MANIFEST_KEY,
                format!(
                    "names checkpoint {:?} but the latest checkpoint in the backup is {:?}",
                    c.as_ref().map(|c| (c.size, &c.root)),
                    l
                ),
            ))
        }
    }

    // The one verify over the restored files (the journal, the archive, and every
    // checkpoint — the files and the `journal.checkpoint` records inside the journal,
    // which an edit of the backup cannot remove without breaking the chain), with the
    // given key when there is one: nothing in the backup is trusted then.
    let verdict = tradetrail_store::verify_with_key(
        &tradetrail_core::DataDir::new(&staging.path),
        opts_key.as_ref(),
        &|_| {},
        &|_, _| {},
    )
    .map_err(|e| Error::refused("journal/", e.to_string()))?;
    if !verdict.ok {
        return Err(Error::refused(
            "journal/",
            format!(
                "verify: first bad seq {}: {}",
                verdict
                    .first_bad_seq
                    .map_or_else(|| "?".to_string(), |s| s.to_string()),
                verdict.reason.unwrap_or_default()
            ),
        ));
    }
    if opts_key.is_some() && !verdict.checkpoints.iter().any(|c| c.check.ok) {
        return Err(Error::refused(
            "checkpoints/",
            "no checkpoint signed by the given key covers the backup's records: with --key, \
             a backup must carry at least one (take `tradetrail checkpoint` before backing up)",
        ));
    }

    // Everything checked: the staging directory becomes the data directory.
    if dest.exists() {
        std::fs::remove_dir(dest).map_err(Error::io(dest))?;
    }
    std::fs::rename(&staging.path, dest).map_err(Error::io(dest))?;
    staging.keep = true;
    std::fs::File::open(&parent)
        .and_then(|d| d.sync_all())
        .map_err(Error::io(&parent))?;
    Ok(RestoreReport {
        dest: dest.to_path_buf(),
        origin: m.origin.clone(),
        records,
        files: m.files.len(),
        bytes: total,
        checkpoint: latest,
        checkpoints_checked: checkpoints.len() - unchecked,
        purged_records: chain.purged_records(),
        keys: m.keys,
        created: m.created.clone(),
        stale_removed,
    })
}

/// Secrets are private to their owner (0600 files, 0700 directories).
fn restrict(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = if path.is_dir() { 0o700 } else { 0o600 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(Error::io(path))
}
