//! Where a backup lives: a local directory or an S3-compatible bucket, behind one
//! small [`Store`] trait so backup and restore run the same logic on both.
//!
//! Keys are `/`-separated relative names (`manifest.json`, `data/journal/…`). A
//! [`Store::put`] is all or nothing: the local store writes a temporary file, fsyncs
//! it and renames it over the name (then fsyncs the directory); an object store's PUT
//! is atomic by itself.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::TryStreamExt as _;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore as _;

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
    if let Some(rest) = location.strip_prefix("s3://") {
        return Ok(Box::new(S3Store::from_env(location, rest)?));
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

/// A backup in an S3-compatible bucket, configured from the standard AWS variables:
/// `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT`), `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` / `AWS_DEFAULT_REGION`
/// and `AWS_ALLOW_HTTP`. A plain `http://` endpoint is allowed (a local server).
///
/// object_store is async; each call runs on a small single-threaded tokio runtime
/// owned by the store, so callers stay synchronous.
pub struct S3Store {
    location: String,
    prefix: String,
    s3: Arc<AmazonS3>,
    rt: tokio::runtime::Runtime,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl S3Store {
    /// `rest` is what follows `s3://`: `bucket[/prefix]`.
    fn from_env(location: &str, rest: &str) -> Result<S3Store> {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(Error::bad(
                "location",
                format!("{location:?}: no bucket (use s3://bucket/prefix)"),
            ));
        }
        let prefix = prefix.trim_matches('/').to_string();
        let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
        let endpoint = std::env::var("AWS_ENDPOINT_URL_S3")
            .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
            .or_else(|_| std::env::var("AWS_ENDPOINT"))
            .ok();
        if let Some(ep) = &endpoint {
            b = b.with_endpoint(ep.clone());
            if ep.starts_with("http://") {
                b = b.with_allow_http(true);
            }
        }
        if std::env::var_os("AWS_REGION").is_none() {
            if let Ok(r) = std::env::var("AWS_DEFAULT_REGION") {
                b = b.with_region(r);
            }
        }
        let s3 = b
            .build()
            .map_err(|e| Error::bad("location", format!("{location}: {e}")))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::io("tokio runtime"))?;
        Ok(S3Store {
            location: location.trim_end_matches('/').to_string(),
            prefix,
            s3: Arc::new(s3),
            rt,
        })
    }

    fn object(&self, key: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{}/{key}", self.prefix))
        }
    }

    fn err(&self, key: &str, e: object_store::Error) -> Error {
        Error::Store {
            location: format!("{}/{key}", self.location),
            reason: e.to_string(),
        }
    }
}

impl Store for S3Store {
    fn describe(&self) -> String {
        self.location.clone()
    }

    fn put(&self, key: &str, bytes: &[u8]) -> Result<()> {
        let path = self.object(key);
        self.rt
            .block_on(self.s3.put(&path, bytes.to_vec().into()))
            .map(|_| ())
            .map_err(|e| self.err(key, e))
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let path = self.object(key);
        let r = self.rt.block_on(async {
            let got = self.s3.get(&path).await?;
            got.bytes().await
        });
        match r {
            Ok(b) => Ok(Some(b.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err(key, e)),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let base = self.object(prefix.trim_end_matches('/'));
        let metas: Vec<object_store::ObjectMeta> = self
            .rt
            .block_on(self.s3.list(Some(&base)).try_collect())
            .map_err(|e| self.err(prefix, e))?;
        let strip = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        Ok(metas
            .into_iter()
            .filter_map(|m| {
                m.location
                    .as_ref()
                    .strip_prefix(strip.as_str())
                    .map(str::to_string)
            })
            .collect())
    }

    fn delete(&self, key: &str) -> Result<()> {
        let path = self.object(key);
        match self.rt.block_on(self.s3.delete(&path)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.err(key, e)),
        }
    }
}
