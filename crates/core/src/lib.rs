//! tradetrail core: a data directory's configuration and the [`Recorder`] that validates
//! events and appends them under the configured durability. (The simulated trading day
//! of `tradetrail demo` is the `tradetrail-demo` crate; the measurements of
//! `tradetrail bench` are the `tradetrail-bench` crate.)
//!
//! The CLI and the server are thin doors onto these calls.
//!
//! ```
//! use tradetrail_core::{DataDir, InitOptions, Recorder};
//! use tradetrail_model::Event;
//!
//! let tmp = tempfile::tempdir().unwrap();
//! let dir = DataDir::new(tmp.path().join("data"));
//! let rec = Recorder::init(&dir, InitOptions { origin: Some("example/desk-1".into()), ..Default::default() }).unwrap();
//! let ev = Event::new("order.submitted", 1_795_700_000_000_000_000, "oms", "trader:T-03")
//!     .with_trader("T-03")
//!     .with_instrument("AAPL.XNAS")
//!     .with_entity("order", "O-1")
//!     .with_data("side", "buy")
//!     .with_data("quantity", "100")
//!     .with_data("order_type", "market");
//! let receipt = rec.record(&ev).unwrap(); // order.* is fsync'd by default
//! assert_eq!(receipt.seq, 1);
//! ```

mod append;
pub mod checkpoints;
mod component;
mod config;
mod datadir;
mod error;
mod human;
mod par;
mod prepare;
mod recorder;
mod tree;

pub use append::{Appended, APPEND_GROUP};
pub use component::{Component, ComponentReport, Gauge};
pub use config::{
    ArchiveConfig, CheckpointPolicy, Config, DurabilityPolicy, JournalConfig, LogConfig, Period,
    ReconciliationConfig, ReconciliationSchedule, RetentionPolicy, SessionConfig, TimeConfig,
};
pub use datadir::{DataDir, DATA_ENV, DEFAULT_DATA_DIR};
pub use error::{Error, FirstBody, Result};
pub use human::human_bytes;
pub use prepare::{
    split_lines, write_receipt_json, BadLine, Line, Prepared, MIN_LINES_PER_THREAD, READ_BLOCK,
};
pub use recorder::{event_id_key, read_line_in, InitOptions, Recorder};
pub use tree::{purged_runs, push_purged, PurgedRun, Tree, TreeLoad};
