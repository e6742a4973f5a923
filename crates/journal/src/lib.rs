//! The tradetrail journal: an append-only, hash-chained, crash-safe log of JSON records.
//!
//! This crate is the storage engine. It knows nothing of trading: it stores JSON
//! object bodies whose first key is `"type"`, gives each a `seq`, a `ts_recorded` and
//! the hash of the line before it (`prev`), and writes them as JSON Lines into segment
//! files. Everything about the format, recovery and the file-system assumptions is in
//! `docs/format.md`.
//!
//! ```
//! use tradetrail_journal::{Durability, Entry, Journal, JournalOptions, verify};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("journal");
//! let (journal, _) = Journal::create(&path, "example", JournalOptions::default()).unwrap();
//! let body = br#"{"type":"order.submitted","ts_event":1,"source":"gw","actor":"system","data":{}}"#;
//! let receipt = journal.append(Entry::new(body.to_vec(), Durability::Fsync).unwrap()).unwrap();
//! assert_eq!(receipt.seq, 1); // record 0 is `journal.created`
//!
//! let report = verify(&tradetrail_journal::FsStorage, &path, &|_| {}).unwrap();
//! assert!(report.ok);
//! assert_eq!(report.records, 2);
//! ```

mod chain;
mod cold;
mod dedup;
mod error;
mod flusher;
mod options;
mod reader;
mod record;
mod recovery;
mod repair;
mod segment;
mod since;
mod storage;
mod verify;
mod view;
mod writer;

pub use chain::RecordHash;
pub use cold::{
    for_each_leaf_with, for_each_line_with, ColdLines, ColdRange, Leaf, PlacedFn, PurgedSubtrees,
    NO_PLACE,
};
pub use dedup::{dedup_key_of, ColdKeys, DedupKey};
pub use error::{Error, Result};
pub use options::{Clock, Durability, JournalOptions, SystemClock};
pub use reader::{for_each_line, inspect, Inspection};
pub use record::{parse_header, record_type, RecordHeader};
pub use recovery::{check_open, RecoveryReport};
pub use repair::{truncate_after, Repaired};
pub use segment::{list_segments, parse_segment_file_name, segment_file_name, SegmentName};
pub use since::{check_since, mark, Checked, Since};
pub use storage::{DirLock, FsStorage, SegmentFile, Storage, LOCK_FILE};
pub use verify::{verify, verify_from, Anchor, VerifyReport, JOURNAL_TYPES};
pub use view::RecordView;
pub use writer::{Entry, Journal, JournalStatus, Receipt, Ticket};

/// The version of the on-disk format written in `journal.created`.
pub const FORMAT_VERSION: u32 = 1;
