//! Journal records as the books read them: the envelope and `data`, with decimals
//! parsed exactly from their text.

use std::path::Path;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Map, Value};
use tradetrail_journal::{for_each_line_with, record_type, ColdLines, FsStorage};

use crate::{Error, Result};

/// `entity` of a record.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EntityRef {
    /// `order`, `position`, `review`, ...
    pub kind: String,
    /// The id.
    pub id: String,
}

/// One journal record, as the books need it (journal fields `ts_recorded` and `prev`
/// are not kept).
#[derive(Debug, Clone, Deserialize)]
pub struct Record {
    /// Position in the journal.
    pub seq: u64,
    /// ns since the epoch when it happened at the source.
    pub ts_event: i64,
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The emitting component.
    #[serde(default)]
    pub source: String,
    /// Who caused it.
    #[serde(default)]
    pub actor: String,
    /// Attribution.
    pub trader_id: Option<String>,
    /// Attribution.
    pub strategy_id: Option<String>,
    /// Attribution.
    pub account_id: Option<String>,
    /// Attribution.
    pub instrument_id: Option<String>,
    /// What the event is about.
    pub entity: Option<EntityRef>,
    /// Causal links.
    #[serde(default)]
    pub refs: Map<String, Value>,
    /// The type's fields.
    #[serde(default)]
    pub data: Map<String, Value>,
}

/// A decimal held in a JSON string or number, read from its text.
pub fn decimal_of(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => tradetrail_model::parse_decimal(s).ok(),
        Value::Number(n) => tradetrail_model::parse_decimal(n.as_str()).ok(),
        _ => None,
    }
}

impl Record {
    /// Parses one journal line (without its `\n`).
    pub fn parse(line: &[u8]) -> Result<Record, String> {
        serde_json::from_slice(line).map_err(|e| e.to_string())
    }

    /// `data.<key>` as a decimal, if present and one.
    pub fn decimal(&self, key: &str) -> Option<Decimal> {
        decimal_of(self.data.get(key)?)
    }

    /// `data.<key>` as text, if it is a string.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.data.get(key)?.as_str()
    }

    /// `refs.<key>` as text (strings as they are, integers written out).
    pub fn reference(&self, key: &str) -> Option<String> {
        match self.refs.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// The entity id when the entity is of `kind`.
    pub fn entity_id(&self, kind: &str) -> Option<&str> {
        self.entity
            .as_ref()
            .filter(|e| e.kind == kind)
            .map(|e| e.id.as_str())
    }

    /// The order this record is about: `entity` of kind `order`, else `refs.order_id`.
    pub fn order_id(&self) -> Option<String> {
        self.entity_id("order")
            .map(str::to_owned)
            .or_else(|| self.reference("order_id"))
    }
}

/// Whether the books read records of this type.
pub fn is_books_type(t: &str) -> bool {
    t.starts_with("order.")
        || t.starts_with("reconciliation.")
        || t.starts_with("review.")
        || t.starts_with("position.")
        || t == "signal.generated"
        || t == "recommendation.generated"
}

/// Reads every record the books use from a journal directory, in `seq` order. Reads
/// complete lines only, takes no lock: works beside a process that is appending.
/// `cold` gives the records that left `journal/` after the hot window (the archive,
/// as the door that opened the data directory attached it: `Recorder::cold`); without
/// it a journal that no longer starts at seq 0 is `Removed`, never read in part.
pub fn read_records(journal_dir: &Path, cold: Option<&dyn ColdLines>) -> Result<Vec<Record>> {
    read_records_where(journal_dir, cold, is_books_type)
}

/// Reads the records whose type passes `keep`, in `seq` order (see [`read_records`]).
pub fn read_records_where(
    journal_dir: &Path,
    cold: Option<&dyn ColdLines>,
    keep: impl Fn(&str) -> bool,
) -> Result<Vec<Record>> {
    let mut out = Vec::new();
    let mut bad = None;
    for_each_line_with(&FsStorage, journal_dir, cold, 0, None, |seq, line| {
        if !record_type(line).is_some_and(&keep) {
            return Ok(true);
        }
        match Record::parse(line) {
            Ok(r) => {
                out.push(r);
                Ok(true)
            }
            Err(reason) => {
                bad = Some(Error::Record { seq, reason });
                Ok(false)
            }
        }
    })?;
    match bad {
        Some(e) => Err(e),
        None => Ok(out),
    }
}
