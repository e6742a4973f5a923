//! tradetrail backup, restore and export.
//!
//! - [`backup()`]: a consistent, incremental copy of a data directory into a [`Store`]
//!   (a local directory or an S3-compatible bucket), with a manifest written last.
//! - [`restore()`]: verifies every record, file and checkpoint of a backup as it
//!   rebuilds a data directory, and refuses one that does not verify.
//! - [`export()`]: a bundle of records (JSON Lines, CSV, an HTML report) with the
//!   checkpoint, the verifier key and an inclusion proof per record, checkable offline.
//!
//! The layouts and every check are described in `docs/backup.md`.
//!
//! ```
//! use tradetrail_backup::{backup, restore, BackupOptions, LocalStore, RestoreOptions};
//! use tradetrail_core::{DataDir, InitOptions, Recorder};
//!
//! let tmp = tempfile::tempdir().unwrap();
//! let dir = DataDir::new(tmp.path().join("data"));
//! let rec = Recorder::init(&dir, InitOptions { origin: Some("example/desk-1".into()), ..Default::default() }).unwrap();
//! tradetrail_core::checkpoints::take_checkpoint(&rec).unwrap();
//! drop(rec);
//!
//! let store = LocalStore::new(tmp.path().join("backup"));
//! let m = backup(&dir, &store, &BackupOptions::default(), &|_, _| {}).unwrap();
//! assert_eq!(m.records, 2); // journal.created and journal.checkpoint
//! assert_eq!(m.checkpoint.as_ref().unwrap().size, 1);
//!
//! let restored = tmp.path().join("restored");
//! let r = restore(&store, &restored, &RestoreOptions::default(), &|_, _| {}).unwrap();
//! assert_eq!(r.records, 2);
//! assert_eq!(
//!     std::fs::read(restored.join("journal/00000000000000000000.jsonl")).unwrap(),
//!     std::fs::read(tmp.path().join("data/journal/00000000000000000000.jsonl")).unwrap(),
//! );
//! ```

mod backup;
mod chain;
mod error;
mod export;
mod html;
pub mod manifest;
mod restore;
mod store;

pub use backup::{backup, BackupOptions};
pub use chain::{ChainCheck, SegmentSeen};
pub use error::{Error, Result};
pub use export::{check_out, export, export_open, Bundle, ExportOptions, ExportReport, Selection};
pub use manifest::{FileEntry, FileKind, KeysIncluded, Manifest};
pub use restore::{restore, RestoreOptions, RestoreReport};
pub use store::{open_store, LocalStore, S3Store, Store};
