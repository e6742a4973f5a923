//! Where a backup lives: a local directory or an S3-compatible bucket, behind one
//! small [`Store`] trait so backup and restore run the same logic on both.
//!
//! Keys are `/`-separated relative names (`manifest.json`, `data/journal/…`). A
//! [`Store::put`] is all or nothing: the local store writes a temporary file, fsyncs
//! it and renames it over the name (then fsyncs the directory); an object store's PUT
//! is atomic by itself.

use std::path::{Path, PathBuf};

use tradetrail_objstore::Bucket;

use crate::{Error, Result};

/// A place that holds a backup.
pub trait Store: Send + Sync {
    /// The location as the user wrote it (`/mnt/backup/tt`, `s3://bucket/prefix`).
    fn describe(&self) -> String;
    /// Stores `bytes` under `key`, replacing any object of that name, all or nothing.
    fn put(&self, key: &str, bytes: &[u8]) -> Result<()>;
    /// The object's bytes, or `None` when there is no such object.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Every key under `prefix` (e.g. `data/`), in no particular order.
    fn list(&self, prefix: &str) -> Result<Vec<String>>;
    /// Removes an object; removing one that is not there is not an error.
    fn delete(&self, key: &str) -> Result<()>;
}

/// Opens the store a location names: `s3://bucket[/prefix]` or a local directory.
pub fn open_store(location: &str) -> Result<Box<dyn Store>> {
    if tradetrail_objstore::is_object_location(location) {
        return Ok(Box::new(S3Store::open(location)?));
    }
    if location.contains("://") {
        return Err(Error::bad(
            "location",
            format!("{location:?}: only a directory or s3://bucket/prefix is supported"),
        ));
    }
    if location.is_empty() {
        return Err(Error::bad("location", "empty"));
    }
    Ok(Box::new(LocalStore::new(location)))
}

/// A backup in a local directory (a mounted backup volume, a NAS share, ...).
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// A store rooted at `root` (created on the first write).
    pub fn new(root: impl Into<PathBuf>) -> LocalStore {
        LocalStore { root: root.into() }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }
}

impl Store for LocalStore {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn put(&self, key: &str, bytes: &[u8]) -> Result<()> {
        write_atomically(&self.path(key), bytes)
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let path = self.path(key);
        match std::fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(path)(e)),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let start = self.path(prefix);
        if start.is_dir() {
            walk(&self.root, &start, &mut out)?;
        }
        Ok(out)
    }

    fn delete(&self, key: &str) -> Result<()> {
        let path = self.path(key);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(path)(e)),
        }
    }
}

/// Every file under `dir`, as `/`-separated paths relative to `root`.
pub(crate) fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(Error::io(dir))?;
    for e in entries {
        let e = e.map_err(Error::io(dir))?;
        let path = e.path();
        let ft = e.file_type().map_err(Error::io(&path))?;
        if ft.is_dir() {
            walk(root, &path, out)?;
        } else if ft.is_file() {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(parts.join("/"));
        }
    }
    Ok(())
}

/// Writes a file so that a crash leaves either no file or all of it: a temporary
/// file in the same directory, fsync'd, renamed over the name, the directory fsync'd.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(Error::io(parent))?;
    // The journal's one durable write of small files.
    tradetrail_journal::Storage::write_atomically(&tradetrail_journal::FsStorage, path, bytes)
        .map_err(Error::io(path))
}

/// A backup in an S3-compatible bucket: a [`tradetrail_objstore::Bucket`], configured
/// from the standard AWS variables (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, ...; see that crate).
#[derive(Debug)]
pub struct S3Store {
    bucket: Bucket,
}

impl S3Store {
    fn open(location: &str) -> Result<S3Store> {
        let bucket = Bucket::open(location).map_err(|e| match e {
            tradetrail_objstore::Error::Location { location, reason } => {
                Error::bad("location", format!("{location}: {reason}"))
            }
            e => Error::Store {
                location: location.to_string(),
                reason: e.to_string(),
            },
        })?;
        Ok(S3Store { bucket })
    }
}

fn store_err(e: tradetrail_objstore::Error) -> Error {
    match e {
        tradetrail_objstore::Error::Request { url, reason } => Error::Store {
            location: url,
            reason,
        },
        e => Error::Store {
            location: String::new(),
            reason: e.to_string(),
        },
    }
}

impl Store for S3Store {
    fn describe(&self) -> String {
        self.bucket.location().to_string()
    }

    fn put(&self, key: &str, bytes: &[u8]) -> Result<()> {
        self.bucket.put(key, bytes.to_vec()).map_err(store_err)
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.bucket.get(key).map_err(store_err)?.map(|b| b.to_vec()))
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        Ok(self
            .bucket
            .list(prefix)
            .map_err(store_err)?
            .into_iter()
            .map(|o| o.key)
            .collect())
    }

    fn delete(&self, key: &str) -> Result<()> {
        self.bucket.delete(key).map_err(store_err)
    }
}
