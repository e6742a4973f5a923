//! The archive on object storage: `archive --to s3://bucket/prefix` mirrors the local
//! archive (`DIR/archive`) into a bucket with the same Hive layout, Parquet files and
//! manifests, and `verify --archive s3://...` checks such a copy on its own.
//!
//! The local archive stays the primary: it is written first (crash-safe, fsync'd),
//! then its new and changed objects are uploaded, so everything that reads the local
//! archive (verify, the cold tier, retention) keeps working, and the bucket holds a
//! copy that engines (DuckDB, pyarrow, Trino, Athena, Spark) read in place.
//!
//! Order and idempotence. First the archive's `_zone` (the zone whose days the
//! partitions are): uploaded when the bucket lacks it, and a bucket whose `_zone`
//! names another zone stops the run before anything is written. Then, per partition
//! in seq order:
//!
//! 1. every Parquet file the local manifest lists and the bucket lacks is checked
//!    against its manifest (SHA-256, size) and uploaded; an object already listed by
//!    the bucket's manifest is kept when its size matches; an object that no manifest
//!    in the bucket lists (left by an interrupted run) is downloaded and kept when its
//!    SHA-256 matches, else uploaded again;
//! 2. then the manifest, when it differs from the bucket's: a PUT is atomic, so the
//!    bucket's manifest names only objects that are already complete;
//! 3. then the objects of files retention purged locally (tombstones) are deleted.
//!
//! A run with nothing new uploads nothing. A bucket manifest that disagrees with the
//! local one (another journal's archive under the same prefix, a file whose hashes
//! differ) stops the run before anything is written to that partition.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tradetrail_merkle::Hash;
use tradetrail_objstore::Bucket;

use crate::archiver::ArchiveLock;
use crate::files::partition_key;
use crate::index::{ArchiveIndex, Partition};
use crate::layout::{self, TEMP_PREFIX, ZONE_FILE};
use crate::manifest::{FileEntry, Manifest, MANIFEST_FILE};
use crate::verify::{self, check_days, check_files, ArchiveCheck};
use crate::{Error, Result};

/// What [`mirror`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MirrorReport {
    /// `s3://bucket/prefix`.
    pub location: String,
    /// Partitions in the local archive.
    pub partitions: usize,
    /// The zone whose days the partitions are (the archive's `_zone`).
    pub zone: String,
    /// True when this run uploaded `_zone` (the bucket lacked it).
    pub uploaded_zone: bool,
    /// Parquet files uploaded by this run.
    pub uploaded_files: usize,
    /// Their bytes.
    pub uploaded_bytes: u64,
    /// Files already in the bucket and listed by its manifests (not uploaded again).
    pub present_files: usize,
    /// Files an interrupted run had uploaded completely (SHA-256 checked), now listed.
    pub resumed_files: usize,
    /// Manifests uploaded (new or changed partitions).
    pub uploaded_manifests: usize,
    /// Objects of files that retention purged locally, deleted from the bucket.
    pub deleted_purged: usize,
    /// Records the bucket's archive holds (purged ones included) once done.
    pub records: u64,
    /// The seq after the last archived record.
    pub end_seq: u64,
}

impl MirrorReport {
    /// True when the run changed nothing in the bucket.
    pub fn unchanged(&self) -> bool {
        self.uploaded_files == 0
            && self.uploaded_manifests == 0
            && self.deleted_purged == 0
            && !self.uploaded_zone
    }
}

/// The archive in a bucket as its listing and manifests show it.
struct Remote {
    /// Every object: key -> size.
    objects: HashMap<String, u64>,
    /// Partition key (`year=YYYY/month=MM/day=DD`) -> its manifest and bytes.
    manifests: BTreeMap<String, (Manifest, Bytes)>,
    /// The zone `_zone` names, when the bucket has one.
    zone: Option<tradetrail_model::Zone>,
}

/// True for `year=*/month=*/day=*`.
fn is_partition_key(dir: &str) -> bool {
    let parts: Vec<&str> = dir.split('/').collect();
    parts.len() == 3
        && parts[0].starts_with("year=")
        && parts[1].starts_with("month=")
        && parts[2].starts_with("day=")
}

fn load_remote(bucket: &Bucket) -> Result<Remote> {
    let objects = list_objects(bucket)?;
    let mut manifests = BTreeMap::new();
    for key in objects.keys() {
        let Some(dir) = key.strip_suffix(&format!("/{MANIFEST_FILE}")) else {
            continue;
        };
        if !is_partition_key(dir) {
            continue;
        }
        let url = bucket.url(key);
        let Some(bytes) = bucket.get(key)? else {
            return Err(Error::Remote {
                url,
                reason: "listed but gone when read: is something else changing the bucket?".into(),
            });
        };
        let m = Manifest::parse(&bytes, Path::new(&url))?;
        manifests.insert(dir.to_string(), (m, bytes));
    }
    let zone = match objects.contains_key(ZONE_FILE) {
        true => {
            let url = bucket.url(ZONE_FILE);
            let bytes = bucket.get(ZONE_FILE)?.ok_or_else(|| Error::Remote {
                url: url.clone(),
                reason: "listed but gone when read: is something else changing the bucket?".into(),
            })?;
            let text = String::from_utf8_lossy(&bytes);
            Some(layout::parse_zone_file(&text, Path::new(&url))?)
        }
        false => None,
    };
    Ok(Remote {
        objects,
        manifests,
        zone,
    })
}

/// The same file, apart from being purged since.
fn same_records(a: &FileEntry, b: &FileEntry) -> bool {
    (a.first_seq, a.last_seq, a.first_hash, a.last_hash, a.root)
        == (b.first_seq, b.last_seq, b.first_hash, b.last_hash, b.root)
}

/// Checks that the bucket's manifest `rm` is an earlier state of the local `lm`.
fn check_compatible(url: &str, lm: &Manifest, rm: &Manifest) -> Result<()> {
    let conflict = |reason: String| {
        Error::Remote {
        url: url.to_string(),
        reason: format!("{reason}; nothing was uploaded to this partition (use another prefix, or run `tradetrail verify --archive` on it)"),
    }
    };
    if rm.origin != lm.origin {
        return Err(conflict(format!(
            "the bucket's archive is of the journal {:?}, this one is {:?}",
            rm.origin, lm.origin
        )));
    }
    for rf in &rm.files {
        let Some(lf) = lm.files.iter().find(|l| l.file == rf.file) else {
            return Err(conflict(format!(
                "lists {}, which the local archive does not",
                rf.file
            )));
        };
        let ok = if rf.purged_by.is_some() {
            lf == rf
        } else if lf.purged_by.is_some() {
            same_records(lf, rf)
        } else {
            lf == rf
        };
        if !ok {
            return Err(conflict(format!(
                "lists {} with other hashes than the local archive's manifest",
                rf.file
            )));
        }
    }
    Ok(())
}

/// The zone of the local archive's partitions: its `_zone`; UTC for an archive with
/// partitions made before zones were recorded; none for an archive without either.
fn local_zone(root: &Path, idx: &ArchiveIndex) -> Result<Option<tradetrail_model::Zone>> {
    if !root.join(ZONE_FILE).exists() && idx.partitions.is_empty() {
        return Ok(None);
    }
    let utc = tradetrail_model::Zone::utc();
    layout::partition_zone(root, &utc, !idx.partitions.is_empty(), false).map(Some)
}

/// Reads a local archive file and checks it against its manifest entry.
fn read_checked(path: &Path, f: &FileEntry) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    if bytes.len() as u64 != f.bytes || Hash(Sha256::digest(&bytes).into()) != f.sha256 {
        return Err(Error::Corrupt {
            path: path.to_path_buf(),
            reason: "does not match its manifest (SHA-256 or size): it changed after it was archived; nothing of it was uploaded; run `tradetrail verify`".into(),
        });
    }
    Ok(bytes)
}

/// Objects uploaded (or checked) at once.
const UPLOADS_AT_ONCE: usize = 4;

/// What [`transfer`] did.
enum Transfer {
    /// The object was uploaded.
    Uploaded,
    /// A complete object of an interrupted run was found (SHA-256 checked) and kept.
    Resumed,
}

/// Puts one local file into the bucket as `plan` says (not [`Plan::Present`]).
fn transfer(
    bucket: &Bucket,
    p: &Partition,
    key: &str,
    f: &FileEntry,
    plan: &Plan,
) -> Result<Transfer> {
    let okey = format!("{key}/{}", f.file);
    if matches!(plan, Plan::Check) {
        let there = bucket.get(&okey)?;
        if there.is_some_and(|b| {
            b.len() as u64 == f.bytes && Hash(Sha256::digest(&b).into()) == f.sha256
        }) {
            return Ok(Transfer::Resumed);
        }
    }
    let bytes = read_checked(&p.dir.join(&f.file), f)?;
    bucket.put(&okey, bytes)?;
    Ok(Transfer::Uploaded)
}

/// What to do with one local file.
enum Plan {
    /// Listed by the bucket's manifest, its object there with the right size.
    Present,
    /// In the bucket but listed by no manifest there: download and compare.
    Check,
    /// Upload it.
    Upload,
}

/// Mirrors the local archive under `root` (`DIR/archive`) into `bucket` (see the
/// module doc). `progress(done, total)` counts bytes uploaded or checked; when it
/// returns `false` the run stops at once with [`Error::Interrupted`], as a crash
/// would (what was uploaded stays, the next run carries on).
pub fn mirror(
    root: &Path,
    bucket: &Bucket,
    progress: &mut dyn FnMut(u64, u64) -> bool,
) -> Result<MirrorReport> {
    let mut report = MirrorReport {
        location: bucket.location().to_string(),
        ..MirrorReport::default()
    };
    if !root.exists() {
        return Err(Error::BadInput(format!(
            "{}: no archive to upload (run `tradetrail archive` first)",
            root.display()
        )));
    }
    let _lock = ArchiveLock::take(root)?;
    let idx = ArchiveIndex::load(root)?;
    let remote = load_remote(bucket)?;
    report.partitions = idx.partitions.len();
    report.end_seq = idx.end();
    report.records = idx.files().map(|(_, f)| f.records).sum();
    let local_keys: Vec<String> = idx
        .partitions
        .iter()
        .map(|p| partition_key(root, &p.dir))
        .collect();
    // Nothing is written before the whole bucket is known to be compatible.
    for key in remote.manifests.keys() {
        if !local_keys.contains(key) {
            return Err(Error::Remote {
                url: bucket.url(&format!("{key}/{MANIFEST_FILE}")),
                reason: "a partition the local archive does not have: the prefix holds another archive; nothing was uploaded (use another prefix)".into(),
            });
        }
    }
    for (p, key) in idx.partitions.iter().zip(&local_keys) {
        if let Some((rm, _)) = remote.manifests.get(key) {
            check_compatible(
                &bucket.url(&format!("{key}/{MANIFEST_FILE}")),
                &p.manifest,
                rm,
            )?;
        }
    }
    // The zone before any file or manifest: a reader of the bucket never finds a
    // partition without knowing whose days the partitions are.
    if let Some(zone) = local_zone(root, &idx)? {
        report.zone = zone.name().to_string();
        match &remote.zone {
            Some(there) if *there != zone => {
                return Err(Error::Remote {
                    url: bucket.url(ZONE_FILE),
                    reason: format!("the bucket's archive is partitioned by days in {there}, this one by days in {zone}; nothing was uploaded (use another prefix)"),
                })
            }
            Some(_) => {}
            None => {
                bucket.put(ZONE_FILE, layout::zone_file_text(&zone))?;
                report.uploaded_zone = true;
            }
        }
    }
    // The plan, so that progress has a total.
    let mut plans: Vec<Vec<(&FileEntry, Plan)>> = Vec::new();
    let mut total = 0u64;
    for (p, key) in idx.partitions.iter().zip(&local_keys) {
        let rm = remote.manifests.get(key).map(|(m, _)| m);
        let mut v = Vec::new();
        for f in p.manifest.files.iter().filter(|f| f.purged_by.is_none()) {
            let okey = format!("{key}/{}", f.file);
            let listed = rm.is_some_and(|m| m.files.iter().any(|r| r.file == f.file));
            let plan = match (remote.objects.get(&okey), listed) {
                (Some(&size), true) if size == f.bytes => Plan::Present,
                (Some(&size), true) => {
                    return Err(Error::Remote {
                        url: bucket.url(&okey),
                        reason: format!(
                            "{size} bytes, its manifest says {}: the object was changed after it was uploaded; it was not overwritten (run `tradetrail verify --archive {}`, then delete the object to upload it again)",
                            f.bytes,
                            bucket.location()
                        ),
                    })
                }
                (Some(&size), false) if size == f.bytes => Plan::Check,
                _ => Plan::Upload,
            };
            if !matches!(plan, Plan::Present) {
                total += f.bytes;
            }
            v.push((f, plan));
        }
        plans.push(v);
    }
    let mut done = 0u64;
    let mut step = |n: u64, done: &mut u64| -> Result<()> {
        *done += n;
        if progress(*done, total) {
            Ok(())
        } else {
            Err(Error::Interrupted { done: *done })
        }
    };
    for ((p, key), plan) in idx.partitions.iter().zip(&local_keys).zip(plans) {
        let todo: Vec<(&FileEntry, Plan)> = plan
            .into_iter()
            .filter(|(_, what)| {
                let present = matches!(what, Plan::Present);
                report.present_files += usize::from(present);
                !present
            })
            .collect();
        // A few objects at a time: an object store's latency, not its bandwidth, is
        // what a single upload waits on.
        for chunk in todo.chunks(UPLOADS_AT_ONCE) {
            let outcomes: Vec<Result<Transfer>> = std::thread::scope(|s| {
                let handles: Vec<_> = chunk
                    .iter()
                    .map(|(f, what)| s.spawn(move || transfer(bucket, p, key, f, what)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect()
            });
            for (outcome, (f, _)) in outcomes.into_iter().zip(chunk) {
                match outcome? {
                    Transfer::Uploaded => {
                        report.uploaded_files += 1;
                        report.uploaded_bytes += f.bytes;
                    }
                    Transfer::Resumed => report.resumed_files += 1,
                }
                step(f.bytes, &mut done)?;
            }
        }
        // Every file it lists is complete in the bucket: now the manifest.
        let mpath = p.dir.join(MANIFEST_FILE);
        let local = std::fs::read(&mpath).map_err(|e| Error::io("read", &mpath, e))?;
        let mkey = format!("{key}/{MANIFEST_FILE}");
        if remote
            .manifests
            .get(key)
            .is_none_or(|(_, b)| b.as_ref() != local.as_slice())
        {
            bucket.put(&mkey, local)?;
            report.uploaded_manifests += 1;
        }
        // Then the objects of purged files (their tombstones are in the manifest).
        for f in p.manifest.files.iter().filter(|f| f.purged_by.is_some()) {
            let okey = format!("{key}/{}", f.file);
            if remote.objects.contains_key(&okey) {
                bucket.delete(&okey)?;
                report.deleted_purged += 1;
            }
        }
    }
    Ok(report)
}

/// The bucket's archive as an index: a partition's `dir` is its URL
/// (`s3://bucket/prefix/year=YYYY/month=MM/day=DD`); objects that no manifest lists
/// are its strays and temps. Not yet checked for sequence.
fn index_of(bucket: &Bucket, remote: &Remote) -> ArchiveIndex {
    let mut idx = ArchiveIndex {
        root: PathBuf::from(bucket.location()),
        ..ArchiveIndex::default()
    };
    for (key, (m, _)) in &remote.manifests {
        idx.partitions.push(Partition {
            dir: PathBuf::from(bucket.url(key)),
            manifest: m.clone(),
        });
    }
    let mut keys: Vec<&String> = remote.objects.keys().collect();
    keys.sort();
    for key in keys {
        let (dir, name) = key.rsplit_once('/').unwrap_or(("", key.as_str()));
        if name.starts_with(TEMP_PREFIX) {
            idx.temps.push(PathBuf::from(bucket.url(key)));
        } else if name.ends_with(".parquet")
            && !remote.manifests.get(dir).is_some_and(|(m, _)| {
                m.files
                    .iter()
                    .any(|f| f.file == name && f.purged_by.is_none())
            })
        {
            idx.strays.push(PathBuf::from(bucket.url(key)));
        }
    }
    idx
}

/// The key of the file `f` of a partition of [`index_of`].
fn object_key(bucket: &Bucket, p: &Partition, f: &FileEntry) -> String {
    let base = format!("{}/", bucket.location());
    let dir = p.dir.to_string_lossy();
    format!("{}/{}", dir.strip_prefix(&base).unwrap_or(&dir), f.file)
}

/// Refuses `key` unless the bucket's listing `objects` holds it with the size its
/// manifest entry `f` gives (a cheap check before an engine reads it in place; the
/// SHA-256 is checked by whatever downloads the whole object).
#[cfg(feature = "sql")]
pub(crate) fn check_listed(
    bucket: &Bucket,
    objects: &HashMap<String, u64>,
    key: &str,
    f: &FileEntry,
) -> Result<()> {
    let url = bucket.url(key);
    match objects.get(key) {
        None => Err(Error::Remote {
            url,
            reason: format!(
                "listed by its manifest (records {}..={}) but missing from the bucket: upload it again with `tradetrail archive --to {}` from a copy that has it, and check the bucket with `tradetrail verify --archive {}`",
                f.first_seq, f.last_seq, bucket.location(), bucket.location()
            ),
        }),
        Some(&size) if size != f.bytes => Err(Error::Corrupt {
            path: PathBuf::from(url),
            reason: format!(
                "is {size} bytes, its manifest says {}: it was changed after it was archived; refused, nothing was read (run `tradetrail verify --archive {}`)",
                f.bytes,
                bucket.location()
            ),
        }),
        Some(_) => Ok(()),
    }
}

/// Every object of the bucket: key -> size.
pub(crate) fn list_objects(bucket: &Bucket) -> Result<HashMap<String, u64>> {
    Ok(bucket
        .list("")?
        .into_iter()
        .map(|o| (o.key, o.size))
        .collect())
}

/// The URLs of the files of the bucket's archive that a reader reads, in seq order:
/// every file its manifests list and retention has not purged, each present with the
/// size its manifest gives. Refused when the bucket holds no archive, its files do
/// not run from seq 0 without a gap, or a listed object is missing or of another size.
#[cfg(feature = "sql")]
pub(crate) fn listed_urls(bucket: &Bucket) -> Result<Vec<String>> {
    let remote = load_remote(bucket)?;
    if remote.manifests.is_empty() {
        return Err(Error::BadInput(format!(
            "--archive {}: no archive here (no year=*/month=*/day=*/{MANIFEST_FILE} under it): check the prefix, or upload one with `tradetrail archive --to {}`",
            bucket.location(),
            bucket.location()
        )));
    }
    let mut idx = index_of(bucket, &remote);
    idx.check_sequence()?;
    let mut urls = Vec::new();
    for (p, f) in idx.files().filter(|(_, f)| f.purged_by.is_none()) {
        let key = object_key(bucket, p, f);
        check_listed(bucket, &remote.objects, &key, f)?;
        urls.push(bucket.url(&key));
    }
    Ok(urls)
}

/// Verifies an archive in a bucket on its own: every manifest, the files running
/// from seq 0 without a gap, each linked to the one before; every file's size and
/// SHA-256, its records' `prev` chain, typed columns, counts by type and the Merkle
/// root at its end (as `verify` does for `DIR/archive`). Tombstones are checked
/// through their subtrees and frontier; their purge records are in the journal,
/// which this check does not read. `progress(done, total)` counts records.
///
/// A failure is a verdict (`ok: false`, the first bad seq and the object's URL); an
/// `Err` is a request that failed (network, credentials, bucket).
pub fn verify_remote(
    bucket: &Bucket,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<ArchiveCheck> {
    let failed = |reason: String| ArchiveCheck {
        ok: false,
        reason: Some(reason),
        ..ArchiveCheck::default()
    };
    let remote = match load_remote(bucket) {
        Ok(r) => r,
        Err(Error::Corrupt { path, reason }) => {
            return Ok(failed(format!("{}: {reason}", path.display())))
        }
        Err(e) => return Err(e),
    };
    if remote.manifests.is_empty() {
        return Ok(failed(format!(
            "{}: no archive here (no year=*/month=*/day=*/{MANIFEST_FILE} under it)",
            bucket.location()
        )));
    }
    let mut idx = index_of(bucket, &remote);
    if let Err(e) = idx.check_sequence() {
        return Ok(failed(e.to_string()));
    }
    let mut c = ArchiveCheck {
        ok: true,
        partitions: idx.partitions.len(),
        end_seq: idx.end(),
        ..ArchiveCheck::default()
    };
    // The partitions are days of the zone `_zone` names (UTC for an archive uploaded
    // before `_zone` was).
    let zone = match &remote.zone {
        Some(z) => z.clone(),
        None => {
            c.warnings.push(format!(
                "{}: missing; the partitions are read as UTC days (an archive uploaded before the zone was); the next `tradetrail archive --to {}` uploads it",
                bucket.url(ZONE_FILE),
                bucket.location()
            ));
            tradetrail_model::Zone::utc()
        }
    };
    c.zone = Some(zone.name().to_string());
    if let Err((seq, reason)) = check_days(&idx, &zone) {
        return Ok(verify::failed(c, Some(seq), reason));
    }
    for s in &idx.strays {
        c.warnings.push(format!(
            "{}: listed in no manifest (an interrupted `archive --to` left it); not counted, the next `tradetrail archive --to {}` lists it",
            s.display(),
            bucket.location()
        ));
    }
    for t in &idx.temps {
        c.warnings
            .push(format!("{}: a temporary file; not counted", t.display()));
    }
    let fetch = |p: &Partition, f: &FileEntry| {
        let key = object_key(bucket, p, f);
        Ok(bucket
            .get(&key)?
            .ok_or_else(|| "is missing from the bucket".to_string()))
    };
    check_files(c, &idx, None, None, &fetch, progress)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_keys() {
        assert!(is_partition_key("year=2026/month=11/day=03"));
        assert!(!is_partition_key("x/year=2026/month=11/day=03"));
        assert!(!is_partition_key("year=2026/month=11"));
        assert_eq!(
            partition_key(
                Path::new("/d/archive"),
                Path::new("/d/archive/year=2026/month=11/day=03")
            ),
            "year=2026/month=11/day=03"
        );
    }
}
