//! One S3-compatible bucket (AWS S3, MinIO, Ceph, moto, ...) under a prefix, behind a
//! small synchronous interface. `backup` keeps backups in it and `archive --to`
//! mirrors the Parquet archive into it.
//!
//! A location is `s3://bucket[/prefix]`. The connection is configured from the
//! standard AWS variables, the same for every command:
//!
//! - `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL` or `AWS_ENDPOINT`: an S3-compatible
//!   server other than AWS (`http://127.0.0.1:9000`); a plain `http://` endpoint is
//!   allowed;
//! - `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`;
//! - `AWS_REGION` (or `AWS_DEFAULT_REGION`), `AWS_ALLOW_HTTP`, and the other
//!   `AWS_*` variables `object_store`'s `AmazonS3Builder::from_env` reads.
//!
//! Keys are `/`-separated names relative to the prefix (`manifest.json`,
//! `year=2026/month=11/day=3/_manifest.json`). A [`Bucket::put`] is all or nothing:
//! an S3 PUT is atomic, so a reader never sees half an object.
//!
//! object_store is async; each call runs on a small tokio runtime owned by the
//! bucket, so callers stay synchronous and may call from several threads at once.
//!
//! ```
//! let e = tradetrail_objstore::Bucket::open("s3:///prefix").unwrap_err();
//! assert!(e.to_string().contains("no bucket"));
//! ```

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt as _;
use std::str::FromStr as _;

use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore as _, ObjectStoreExt as _};

/// What can go wrong. Each variant names the location and says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The location or the AWS configuration is not usable. Nothing was read or
    /// written. Fix the argument or the `AWS_*` variables.
    #[error("{location}: {reason}")]
    Location {
        /// The location as given.
        location: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// A request to the store failed (network, credentials, missing bucket). Fix the
    /// cause and run the command again: what was written before is kept and reused.
    #[error("{url}: {reason} (check the endpoint (AWS_ENDPOINT_URL), the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) and that the bucket exists, then run the command again)")]
    Request {
        /// `s3://bucket/prefix/key`.
        url: String,
        /// What the store or the network said.
        reason: String,
    },
    /// The async runtime the requests run on could not be started.
    #[error("starting the runtime for object storage requests: {0}")]
    Runtime(#[source] std::io::Error),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// Its key, relative to the bucket's prefix.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
}

/// An S3-compatible bucket under a prefix (see the crate doc for the configuration).
pub struct Bucket {
    location: String,
    prefix: String,
    s3: Arc<AmazonS3>,
    rt: tokio::runtime::Runtime,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// True when `location` names object storage (`s3://...`) rather than a directory.
pub fn is_object_location(location: &str) -> bool {
    location.starts_with("s3://")
}

impl Bucket {
    /// Opens `s3://bucket[/prefix]` with the configuration from the environment.
    /// Nothing is requested yet: a wrong endpoint or credentials show on first use.
    pub fn open(location: &str) -> Result<Bucket> {
        Bucket::open_with(location, &[])
    }

    /// [`Bucket::open`], with `vars` (`("AWS_ENDPOINT_URL", "http://...")`, ...)
    /// taking precedence over the process environment: for an embedding program, or
    /// tests that run several servers at once.
    pub fn open_with(location: &str, vars: &[(&str, String)]) -> Result<Bucket> {
        let var = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
                .or_else(|| std::env::var(name).ok())
        };
        let bad = |reason: &str| Error::Location {
            location: location.to_string(),
            reason: reason.to_string(),
        };
        let Some(rest) = location.strip_prefix("s3://") else {
            return Err(bad(
                "not an object storage location (use s3://bucket/prefix)",
            ));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad("no bucket (use s3://bucket/prefix)"));
        }
        let prefix = prefix.trim_matches('/').to_string();
        if prefix.split('/').any(|p| p == "." || p == "..") {
            return Err(bad("the prefix may not contain . or .. parts"));
        }
        let mut b = AmazonS3Builder::from_env();
        for (k, v) in vars {
            if let Ok(key) = AmazonS3ConfigKey::from_str(&k.to_ascii_lowercase()) {
                b = b.with_config(key, v.clone());
            }
        }
        b = b.with_bucket_name(bucket);
        let endpoint = var("AWS_ENDPOINT_URL_S3")
            .or_else(|| var("AWS_ENDPOINT_URL"))
            .or_else(|| var("AWS_ENDPOINT"));
        if let Some(ep) = &endpoint {
            b = b.with_endpoint(ep.clone());
            if ep.starts_with("http://") {
                b = b.with_allow_http(true);
            }
        }
        if var("AWS_REGION").is_none() {
            if let Some(r) = var("AWS_DEFAULT_REGION") {
                b = b.with_region(r);
            }
        }
        let s3 = b.build().map_err(|e| bad(&e.to_string()))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(Error::Runtime)?;
        let location = if prefix.is_empty() {
            format!("s3://{bucket}")
        } else {
            format!("s3://{bucket}/{prefix}")
        };
        Ok(Bucket {
            location,
            prefix,
            s3: Arc::new(s3),
            rt,
        })
    }

    /// The `object_store` client of the bucket (for an engine that reads through
    /// `object_store` itself, as DataFusion does), and `s3://bucket` it serves: keys
    /// of the client are the bucket's full keys, prefix included.
    pub fn object_store(&self) -> (Arc<dyn object_store::ObjectStore>, String) {
        let bucket = self
            .location
            .trim_start_matches("s3://")
            .split('/')
            .next()
            .unwrap_or_default();
        (self.s3.clone(), format!("s3://{bucket}"))
    }

    /// `s3://bucket[/prefix]`, without a trailing `/`.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The full URL of a key: `s3://bucket/prefix/key`.
    pub fn url(&self, key: &str) -> String {
        if key.is_empty() {
            self.location.clone()
        } else {
            format!("{}/{key}", self.location)
        }
    }

    fn object(&self, key: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{}/{key}", self.prefix))
        }
    }

    fn err(&self, key: &str, e: object_store::Error) -> Error {
        Error::Request {
            url: self.url(key),
            reason: e.to_string(),
        }
    }

    /// Stores `bytes` under `key`, replacing any object of that name, all or nothing.
    pub fn put(&self, key: &str, bytes: impl Into<Bytes>) -> Result<()> {
        let path = self.object(key);
        let payload = object_store::PutPayload::from(bytes.into());
        self.rt
            .block_on(self.s3.put(&path, payload))
            .map(|_| ())
            .map_err(|e| self.err(key, e))
    }

    /// The object's bytes, or `None` when there is no such object.
    pub fn get(&self, key: &str) -> Result<Option<Bytes>> {
        let path = self.object(key);
        let r = self.rt.block_on(async {
            let got = self.s3.get(&path).await?;
            got.bytes().await
        });
        match r {
            Ok(b) => Ok(Some(b)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err(key, e)),
        }
    }

    /// The object's size, or `None` when there is no such object.
    pub fn head(&self, key: &str) -> Result<Option<u64>> {
        let path = self.object(key);
        match self.rt.block_on(self.s3.head(&path)) {
            Ok(m) => Ok(Some(m.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err(key, e)),
        }
    }

    /// Every object under `prefix` (a key prefix ending in `/`, or `""` for all), in
    /// no particular order.
    pub fn list(&self, prefix: &str) -> Result<Vec<Object>> {
        let trimmed = prefix.trim_end_matches('/');
        let base = if trimmed.is_empty() && self.prefix.is_empty() {
            None
        } else {
            Some(self.object(trimmed))
        };
        let metas: Vec<object_store::ObjectMeta> = self
            .rt
            .block_on(self.s3.list(base.as_ref()).try_collect())
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
                    .map(|k| Object {
                        key: k.to_string(),
                        size: m.size,
                    })
            })
            .collect())
    }

    /// Removes an object; removing one that is not there is not an error.
    pub fn delete(&self, key: &str) -> Result<()> {
        let path = self.object(key);
        match self.rt.block_on(self.s3.delete(&path)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.err(key, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        assert!(Bucket::open("/tmp/x").is_err());
        assert!(Bucket::open("s3://b/a/../c").is_err());
        let b = Bucket::open("s3://bucket/some/prefix/").unwrap();
        assert_eq!(b.location(), "s3://bucket/some/prefix");
        assert_eq!(b.url("k/x"), "s3://bucket/some/prefix/k/x");
        let b = Bucket::open("s3://bucket").unwrap();
        assert_eq!(b.url("k"), "s3://bucket/k");
        assert!(is_object_location("s3://b"));
        assert!(!is_object_location("/s3://b"));
    }
}
