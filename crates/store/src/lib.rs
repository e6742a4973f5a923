//! The one door onto a tradetrail data directory.
//!
//! Every entrance — the CLI, the server, embedding programs, and the Python package,
//! PostgreSQL mirror and console built on them — opens a data directory through this
//! crate, so each gets the same answer for the same data:
//!
//! - [`Store::open`] opens it whole for recording: the configuration (whose origin
//!   must be record 0's), the journal (failing closed: a damaged or altered record is
//!   refused, only an unfinished last line is cut), the Parquet archive as the cold
//!   tier and as the source of `event_id`s for deduplication, and the guard that the
//!   journal agrees with the newest checkpoint this directory signed;
//! - [`Store::open_read`] opens it for reading, for every program that answers from a
//!   data directory without recording into it (queries, trails, reports, exports, the
//!   books, replica comparison, the PostgreSQL mirror): the same checks as
//!   [`Store::open`], refused with the same errors, but without the journal's lock (it
//!   runs beside a recorder) and changing nothing — an unfinished last line is not cut
//!   but simply not read, and the stored Merkle tree under `DIR/index/merkle` is read,
//!   never written (records after it are hashed in memory; a stored tree that does not
//!   match is set aside). The [`ReadStore`] it gives hands out the query
//!   [`Source`](tradetrail_query::Source), an investigator, the cold tier and the data
//!   directory. (The investigator keeps its index under `DIR/index/query`: derived
//!   data, a cache that may be deleted at any time, not a change to the record.)
//!   After a full check it notes where the journal ended (`DIR/index/read-door.json`,
//!   derived data too); a later open under the same newest checkpoint then reads only
//!   the last record checked and those appended since, and checks fully whenever the
//!   journal is anything but that plus records continuing its chain
//!   ([`tradetrail_journal::check_since`]).
//!   [`Store::open_read_reporting`] makes the same checks for commands whose job is to
//!   report (`pg status`, `pg verify`), handing back what it finds instead of refusing;
//! - [`verify`] checks it whole, changing nothing: every record's chain, the archive,
//!   every saved checkpoint and the `journal.checkpoint` records inside the journal,
//!   in one [`Verdict`] that the CLI prints and the server serialises;
//! - [`repair`] is the only way past damage: explicit, with the removed bytes kept
//!   aside and a `journal.repaired` record naming them.
//!
//! ```
//! use tradetrail_core::{DataDir, InitOptions, Recorder};
//! use tradetrail_model::Event;
//! use tradetrail_store::Store;
//!
//! let tmp = tempfile::tempdir().unwrap();
//! let dir = DataDir::new(tmp.path().join("data"));
//! Recorder::init(&dir, InitOptions::default()).unwrap();
//!
//! let store = Store::open(&dir).unwrap();
//! let ev = Event::new("param.changed", 1_795_700_000_000_000_000, "meta", "algo:m1")
//!     .with_data("name", "k")
//!     .with_data("old_value", "2")
//!     .with_data("new_value", "3")
//!     .with_data("reason", "regime");
//! let receipt = store.recorder().record(&ev).unwrap();
//! assert_eq!(receipt.seq, 1);
//! drop(store);
//!
//! // Beside a recorder, a reader opens the directory without its lock.
//! let store = Store::open(&dir).unwrap();
//! let read = Store::open_read(&dir).unwrap();
//! assert_eq!(read.found().records, 2);
//! assert_eq!(read.investigator().unwrap().status().rows, 2);
//! drop(store);
//!
//! let verdict = tradetrail_store::verify(&dir, &|_| {}, &|_, _| {}).unwrap();
//! assert!(verdict.ok);
//! assert_eq!(verdict.journal.records, 2);
//! ```

mod error;
mod read;
mod repair;
pub mod replica;
mod verify;

use std::path::PathBuf;
use std::sync::Arc;

use tradetrail_core::{DataDir, Recorder, Tree};
use tradetrail_journal::{ColdLines, JournalOptions, RecoveryReport};

pub use error::{Error, Result};
pub use read::ReadStore;
pub use repair::{finish_interrupted, repair, Repair, REPAIRED_TYPE};
pub use verify::{verify, verify_with_key, CheckpointVerdict, Verdict};

/// A data directory opened whole for recording. Cheap to clone through
/// [`Store::recorder`]; clones of the recorder share one journal.
#[derive(Debug, Clone)]
pub struct Store {
    rec: Recorder,
    recovery: RecoveryReport,
}

impl Store {
    /// Opens `dir` for recording (see the crate doc for everything checked).
    pub fn open(dir: &DataDir) -> Result<Store> {
        Store::open_with(dir, |o| o)
    }

    /// [`Store::open`] with adjusted journal options (tests swap the storage or clock).
    pub fn open_with(
        dir: &DataDir,
        adjust: impl FnOnce(JournalOptions) -> JournalOptions,
    ) -> Result<Store> {
        // A repair a crash interrupted between its cut and its record is recorded now.
        repair::finish_interrupted(dir)?;
        let (rec, recovery) = Recorder::open_with(dir, adjust)?;
        let rec = with_archive(rec)?;
        tradetrail_core::checkpoints::check_origin(&rec)?;
        // The journal must agree with what this directory signed before anything is
        // added to it. The stored tree catches up incrementally (each record is
        // hashed once, ever), so this is cheap after the first time.
        if tradetrail_core::checkpoints::latest_checkpoint(dir)?.is_some() {
            let (tree, _) = Tree::load(&rec)?;
            tradetrail_core::checkpoints::guard(&rec, &tree)?;
        }
        Ok(Store { rec, recovery })
    }

    /// The recorder: record events, read records, take checkpoints.
    pub fn recorder(&self) -> &Recorder {
        &self.rec
    }

    /// The recorder, for callers that keep only it.
    pub fn into_recorder(self) -> Recorder {
        self.rec
    }

    /// What opening found: records, and the unfinished last line cut, if any.
    pub fn recovery(&self) -> &RecoveryReport {
        &self.recovery
    }

    /// The data directory.
    pub fn data_dir(&self) -> &DataDir {
        self.rec.data_dir()
    }
}

/// The investigator (queries, trails, incidents, statistics) over `rec`'s journal and
/// its cold tier, with its index kept under `DIR/index/query`: what the server and the
/// Python package answer from, while they record. The index is shared on disk with
/// every other process that queries this directory (a lock orders its writers).
/// Readers that do not record use [`ReadStore::investigator`].
pub fn investigator(
    rec: &Recorder,
) -> std::result::Result<tradetrail_query::Investigator, tradetrail_query::Error> {
    tradetrail_query::Investigator::open(
        tradetrail_query::Source::live(rec.journal().clone()).with_cold(rec.cold_tier()),
        query_index(rec.data_dir()),
    )
}

/// Where the query index of `dir` is kept: `DIR/index/query` (derived data).
pub(crate) fn query_index(dir: &DataDir) -> PathBuf {
    dir.index().join("query")
}

/// The records of `dir` as the query engine reads them without opening the journal:
/// its files, complete lines only, and `cold` before them.
pub(crate) fn read_source(
    dir: &DataDir,
    cold: Option<Arc<dyn ColdLines>>,
) -> tradetrail_query::Source {
    tradetrail_query::Source::dir(dir.journal()).with_cold(cold)
}

/// The archive of `dir` as a cold tier (records that left `journal/` after the hot
/// window, read back byte for byte), when it has an archive. Readers take it from
/// [`ReadStore::cold_tier`], which checks the directory first; this is for the checks
/// that report (`verify`).
pub fn cold_tier(dir: &DataDir) -> Result<Option<Arc<dyn ColdLines>>> {
    let lines = tradetrail_archive::ArchiveLines::open(dir).map_err(|e| Error::Archive {
        path: dir.root().to_path_buf(),
        source: Box::new(e),
    })?;
    Ok(lines.map(|l| Arc::new(l) as Arc<dyn ColdLines>))
}

/// `rec` with its archive as the cold tier, and the `event_id`s of archived records
/// in its deduplication (a repeated event is caught after its first record left
/// `journal/`).
fn with_archive(rec: Recorder) -> Result<Recorder> {
    let dir = rec.data_dir().clone();
    let cold = cold_tier(&dir)?;
    if let Some(lines) = &cold {
        let d = dir.clone();
        rec.journal().set_cold_dedup(
            lines.clone(),
            Arc::new(move |below| {
                tradetrail_archive::event_id_keys(&d, below).map_err(|e| {
                    tradetrail_journal::Error::Cold {
                        seq: below.saturating_sub(1),
                        reason: format!("reading the archived event ids: {e}"),
                    }
                })
            }),
        )?;
    }
    Ok(rec.with_cold(cold))
}
