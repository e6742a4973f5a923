//! tradetrail investigation: queries, decision-chain trails, incident windows, counts
//! and the conversion funnel, at interactive speed on journals of millions of records.
//!
//! The CLI (`tradetrail query | trail | incident | stats`), the server and an
//! embedding engine ask the same [`Investigator`]. It keeps an index of the journal
//! under `DIR/index/query` — derived data, never trusted over the journal (see
//! `docs/query.md`): every answer first catches the index up with the journal, so a
//! record is found as soon as its append is acknowledged, and every record returned
//! is a line read from the journal, byte for byte, so it can still be checked
//! against the chain. Nothing runs on the append path.
//!
//! ```
//! use tradetrail_journal::{Durability, Entry, Journal, JournalOptions};
//! use tradetrail_query::{Filter, Investigator, QueryOptions, Source};
//!
//! let tmp = tempfile::tempdir().unwrap();
//! let (journal, _) = Journal::create(&tmp.path().join("journal"), "example", JournalOptions::default()).unwrap();
//! let inv = Investigator::open(Source::live(journal.clone()), tmp.path().join("index/query")).unwrap();
//!
//! for body in [
//!     r#"{"type":"recommendation.generated","ts_event":1000,"source":"pm","actor":"algo:m","entity":{"kind":"recommendation","id":"R-1"},"data":{}}"#,
//!     r#"{"type":"order.submitted","ts_event":2000,"source":"oms","actor":"trader:T-1","trader_id":"T-1","entity":{"kind":"order","id":"O-1"},"refs":{"recommendation_id":"R-1"},"data":{"quantity":"100"}}"#,
//!     r#"{"type":"order.filled","ts_event":3000,"source":"gw","actor":"system","trader_id":"T-1","entity":{"kind":"order","id":"O-1"},"data":{"fill_qty":"100"}}"#,
//! ] {
//!     journal.append(Entry::new(body.as_bytes().to_vec(), Durability::Os).unwrap()).unwrap();
//! }
//!
//! // Queryable as soon as acknowledged.
//! let mut filter = Filter::default();
//! filter.set("type", "order.*").unwrap();
//! let (records, _) = inv.query(&filter, &QueryOptions::default()).unwrap();
//! assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), [2, 3]);
//! assert!(records[0].text().starts_with(r#"{"seq":2,"#));
//!
//! // The decision chain from the recommendation; the order cites no risk evaluation.
//! let trail = inv.trail("R-1").unwrap();
//! assert_eq!(trail.records.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3]);
//! assert_eq!(trail.gaps[0].kind, tradetrail_query::GapKind::NoRiskEvaluation);
//! ```

mod check;
mod column;
mod counts;
mod dict;
mod engine;
mod envelope;
mod error;
mod filter;
mod follow;
mod hash;
mod index;
pub mod numfmt;
mod postings;
pub mod render;
mod scan;
mod source;
mod stats;
mod sums;
pub mod trail;

pub use check::{check_index, IndexCheck};
pub use dict::Dim;
pub use engine::{
    Cursor, IndexOptions, IndexStatus, Investigator, QueryOptions, QuerySummary, Record,
};
pub use error::{Error, Result};
pub use filter::{glob_match, parse_time, parse_time_in, parse_window, parse_zone, Clock, Filter};
pub use follow::{Follow, FollowBatch};
pub use index::{OpenReport, INDEX_VERSION};
pub use render::{Format, TimeZone};
pub use source::Source;
pub use stats::{
    Activity, ActivityBucket, DropOut, Funnel, Incident, IncidentGroup, IncidentSlice, Stage,
    StatRow, Stats,
};
pub use trail::{Gap, GapKind, Trail};
