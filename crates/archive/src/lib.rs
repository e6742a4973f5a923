//! The tradetrail archive: sealed journal segments as zstd Parquet under
//! `DIR/archive/year=YYYY/month=MM/day=DD/`, a manifest per partition, verification of
//! the archive against the journal and its Merkle roots, retention with legal holds,
//! and (feature `sql`) SQL over the archive and the live journal.
//!
//! The layout, columns, manifest and rules are in `docs/archive.md`.
//!
//! ```
//! use tradetrail_core::{DataDir, InitOptions, Recorder};
//! use tradetrail_archive::{archive, ArchiveOptions};
//!
//! let tmp = tempfile::tempdir().unwrap();
//! let dir = DataDir::new(tmp.path().join("data"));
//! let _rec = Recorder::init(&dir, InitOptions::default()).unwrap();
//! // Only sealed segments are archived; a fresh journal has none yet.
//! let report = archive(&dir, &ArchiveOptions::default(), &mut |_, _| {}).unwrap();
//! assert_eq!(report.records, 0);
//! ```

mod archiver;
mod cold;
mod dedup;
mod error;
mod files;
mod frontier;
mod holds;
mod index;
pub mod layout;
mod manifest;
mod reader;
mod records;
mod remote;
mod retention;
mod row;
pub mod schema;
mod verify;

pub use archiver::{
    archive, archive_dir, write_parquet, write_parquet_in, writer_properties, ArchiveLock,
    ArchiveOptions, ArchiveReport, LINE_PAGE_BYTES,
};
pub use cold::ArchiveLines;
pub use dedup::event_id_keys;
pub use error::{Error, Result};
pub use files::{configured_remote, ArchiveFiles};
pub use frontier::Frontier;
pub use holds::{add_hold, list_holds, release_hold, Hold, HoldScope};
pub use index::{ArchiveIndex, Partition};
pub use layout::ZONE_FILE;
pub use manifest::{FileEntry, Manifest, MANIFEST_FILE, MANIFEST_FORMAT};
pub use reader::{read_batches, read_lines, with_lines};
pub use records::{
    purge_records, records_of_types, PurgeData, PurgedRange, HOLD_ADDED, HOLD_RELEASED,
    NEVER_PURGED, PURGE_TYPE,
};
pub use remote::{mirror, verify_remote, MirrorReport};
pub use retention::{add_period, apply, plan, Applied, Kept, PartitionPurge, Plan, SegmentRemoval};
pub use row::{build_batch, file_order, ColumnBuffers, Row};
pub use tradetrail_objstore::{is_object_location, Bucket, Error as StoreError};
pub use verify::{check_archive, verify_all, verify_all_with, ArchiveCheck, FullCheck};
#[cfg(feature = "sql")]
mod sql;
#[cfg(feature = "sql")]
pub use sql::{
    run_sql, run_sql_on_archive_dir, run_sql_on_bucket, run_sql_on_files, write_results, SqlFormat,
};
