//! Where the bytes of an archive file are read from: `DIR/archive`, or, for a file no
//! longer there, the archive's copy on object storage that `[archive] remote` names
//! (`archive` uploads it there; the local Parquet files may then be removed, the
//! manifests and `_zone` stay in `DIR/archive` as the index).
//!
//! A file read from the bucket is checked against its manifest (size and SHA-256)
//! before a byte of it is decoded: an object that does not match is refused, naming
//! its URL. Every reader of archive files (the cold tier behind `trail`, `query` and
//! `prove`, `verify`, deduplication, retention and legal holds) reads through here.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use arrow_array::RecordBatch;
use bytes::Bytes;
use sha2::{Digest, Sha256};
use tradetrail_core::DataDir;
use tradetrail_merkle::Hash;
use tradetrail_objstore::Bucket;

use crate::archiver::archive_dir;
use crate::manifest::FileEntry;
use crate::reader::{decode_batches, lines_in, placed_lines_in};
use crate::{Error, Result};

/// Objects fetched from the bucket kept in memory (a trail or query reads a file's
/// seq column, then its rows: one download serves both).
const FETCHED: usize = 4;

/// The bucket `[archive] remote` in `DIR/tradetrail.toml` names, connected through
/// the `AWS_*` variables; `None` when it names none.
pub fn configured_remote(data: &DataDir) -> Result<Option<Bucket>> {
    let config = tradetrail_core::Config::load(&data.config())?;
    match &config.archive.remote {
        Some(location) => Ok(Some(Bucket::open(location)?)),
        None => Ok(None),
    }
}

/// An archive file's bytes: a local file, or an object checked against its manifest.
pub(crate) enum Source {
    /// `DIR/archive/.../file.parquet`.
    Local(std::fs::File),
    /// The object's bytes.
    Remote(Bytes),
}

/// Reads archive files from `DIR/archive`, else from the bucket (see the module doc).
#[derive(Debug)]
pub struct ArchiveFiles {
    root: PathBuf,
    remote: Option<Bucket>,
    fetched: Mutex<VecDeque<(String, Bytes)>>,
}

impl ArchiveFiles {
    /// The files of `data`'s archive, with the bucket its configuration names.
    pub fn open(data: &DataDir) -> Result<ArchiveFiles> {
        Ok(ArchiveFiles::with_remote(
            archive_dir(data),
            configured_remote(data)?,
        ))
    }

    /// The files of the archive under `root`, missing ones read from `remote`.
    pub fn with_remote(root: PathBuf, remote: Option<Bucket>) -> ArchiveFiles {
        ArchiveFiles {
            root,
            remote,
            fetched: Mutex::default(),
        }
    }

    /// The bucket missing files are read from.
    pub fn remote(&self) -> Option<&Bucket> {
        self.remote.as_ref()
    }

    /// `DIR/archive`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the file `f` of the partition `dir` is read from: its local path, or its
    /// URL when it is read from the bucket (for messages).
    pub fn name(&self, dir: &Path, f: &FileEntry) -> PathBuf {
        let local = dir.join(&f.file);
        match &self.remote {
            Some(b) if !local.exists() => PathBuf::from(b.url(&self.key(dir, f))),
            _ => local,
        }
    }

    fn key(&self, dir: &Path, f: &FileEntry) -> String {
        format!("{}/{}", partition_key(&self.root, dir), f.file)
    }

    /// The file's bytes, from `DIR/archive` when it is there, else from the bucket
    /// (checked against `f`'s size and SHA-256; refused, naming the object, when it
    /// does not match).
    pub(crate) fn source(&self, dir: &Path, f: &FileEntry) -> Result<Source> {
        let local = dir.join(&f.file);
        let Some(bucket) = &self.remote else {
            return std::fs::File::open(&local)
                .map(Source::Local)
                .map_err(|e| Error::io("open", &local, e));
        };
        match std::fs::File::open(&local) {
            Ok(file) => return Ok(Source::Local(file)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("open", &local, e)),
        }
        let key = self.key(dir, f);
        {
            let cache = self.fetched.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((_, b)) = cache.iter().find(|(k, _)| *k == key) {
                return Ok(Source::Remote(b.clone()));
            }
        }
        let url = bucket.url(&key);
        let Some(bytes) = bucket.get(&key)? else {
            return Err(Error::Remote {
                url,
                reason: format!(
                    "missing from the bucket, and {} is not in the local archive either: the records {}..={} cannot be read (upload them again with `tradetrail archive --to {}` from a copy that has the file)",
                    local.display(),
                    f.first_seq,
                    f.last_seq,
                    bucket.location()
                ),
            });
        };
        if bytes.len() as u64 != f.bytes || Hash(Sha256::digest(&bytes).into()) != f.sha256 {
            return Err(Error::Corrupt {
                path: PathBuf::from(url),
                reason: format!(
                    "does not match its manifest (SHA-256 or size: {} bytes, the manifest says {}): it was changed after it was archived; refused, nothing of it was read (run `tradetrail verify --archive {}`)",
                    bytes.len(),
                    f.bytes,
                    bucket.location()
                ),
            });
        }
        let mut cache = self.fetched.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= FETCHED {
            cache.pop_front();
        }
        cache.push_back((key, bytes.clone()));
        Ok(Source::Remote(bytes))
    }

    /// Every row of the file (optionally only some columns), as written.
    pub fn batches(
        &self,
        dir: &Path,
        f: &FileEntry,
        columns: Option<&[&str]>,
    ) -> Result<Vec<RecordBatch>> {
        let name = self.name(dir, f);
        match self.source(dir, f)? {
            Source::Local(file) => decode_batches(file, &name, columns),
            Source::Remote(bytes) => decode_batches(bytes, &name, columns),
        }
    }

    /// Calls `g` with `(seq, line)` of every record of the file, in seq order.
    pub fn with_lines<R>(
        &self,
        dir: &Path,
        f: &FileEntry,
        g: impl FnOnce(&[(u64, &str)]) -> R,
    ) -> Result<R> {
        let batches = self.batches(
            dir,
            f,
            Some(&[crate::schema::col::SEQ, crate::schema::col::LINE]),
        )?;
        lines_in(&batches, &self.name(dir, f), g)
    }

    /// Calls `g` with `(seq, row, line)` of every record of the file, in seq order
    /// (`row`: where the record is in the file).
    pub(crate) fn with_placed_lines<R>(
        &self,
        dir: &Path,
        f: &FileEntry,
        g: impl FnOnce(&[(u64, u32, &str)]) -> R,
    ) -> Result<R> {
        let batches = self.batches(
            dir,
            f,
            Some(&[crate::schema::col::SEQ, crate::schema::col::LINE]),
        )?;
        placed_lines_in(&batches, &self.name(dir, f), g)
    }
}

/// `year=YYYY/month=MM/day=DD` of a partition directory under `root`: its key in a
/// bucket.
pub(crate) fn partition_key(root: &Path, dir: &Path) -> String {
    let rel = dir.strip_prefix(root).unwrap_or(dir);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}
