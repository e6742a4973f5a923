//! tradetrail bench: the measurements of `tradetrail bench`, each beside a floor
//! measured in the same run on the same machine (docs/benchmarks.md).
//!
//! - [`journal`]: appends (saturation, group commit, steady-rate latency), verify, the
//!   Merkle tree and opening a journal, beside bare `write` and `write`+`fdatasync` loops;
//! - [`validate`]: validation and normalization of one event per thread;
//! - [`query`]: queries, trails, counts and the index on a demo journal, beside targets;
//! - [`archive`]: archive throughput and size, and a one-day window over a year;
//! - [`http`]: ingest over loopback HTTP beside the library's own append;
//! - [`nats`]: NATS JetStream → journal beside the stream's own accept rate;
//! - [`pg`]: the PostgreSQL mirror beside a bare binary `COPY` of the same rows;
//! - [`sync`]: steady `fsync`'d latency with syncs that overlap and with blocks written
//!   in advance, beside the journal and the bare `fdatasync` floor.
//!
//! The product crates know nothing of this one: it measures them through their public
//! API. The CLI parses `tradetrail bench`'s arguments, calls these and prints the lines.

pub mod archive;
mod error;
pub mod http;
pub mod journal;
pub mod nats;
pub mod pg;
pub mod query;
pub mod sync;
pub mod validate;

pub use error::{Error, Result};

/// A scratch directory under `dir` named `prefix…` (removed when dropped).
pub(crate) fn scratch_dir(dir: &std::path::Path, prefix: &str) -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(dir)
        .map_err(|source| Error::Scratch {
            dir: dir.to_path_buf(),
            source,
        })
}
