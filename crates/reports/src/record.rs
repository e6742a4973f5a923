//! Journal records as the reports read them, and loading them through the query index.
//!
//! Reports never trust anything but the journal: every figure is computed from the
//! records returned by [`Investigator::query`], which are the journal's lines byte for
//! byte. The index only narrows the read to the types and time range a report needs.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Map, Value};
use tradetrail_query::{Filter, Investigator, QueryOptions};

use crate::scope::Scope;
use crate::Result;

/// `entity` of a record.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct EntityRef {
    /// `order`, `recommendation`, `approval`, ...
    pub kind: String,
    /// The producer's id.
    pub id: String,
}

/// One journal record, parsed. Fields the journal or the producer left out are `None`
/// or empty; reports skip what they cannot use rather than fail on it.
#[derive(Debug, Clone, Deserialize)]
pub struct Rec {
    /// Position in the journal.
    pub seq: u64,
    /// When the journal accepted it (ns).
    #[serde(default)]
    pub ts_recorded: i64,
    /// Event type.
    #[serde(rename = "type")]
    pub ty: String,
    /// When it happened at the source (ns); `0` for `journal.*` records without one.
    #[serde(default)]
    pub ts_event: i64,
    /// Emitting component.
    #[serde(default)]
    pub source: String,
    /// Who caused it.
    #[serde(default)]
    pub actor: String,
    /// Attribution.
    #[serde(default)]
    pub trader_id: Option<String>,
    /// Attribution.
    #[serde(default)]
    pub strategy_id: Option<String>,
    /// Attribution.
    #[serde(default)]
    pub account_id: Option<String>,
    /// Attribution.
    #[serde(default)]
    pub instrument_id: Option<String>,
    /// What it is about.
    #[serde(default)]
    pub entity: Option<EntityRef>,
    /// Causal links.
    #[serde(default)]
    pub refs: Map<String, Value>,
    /// The type's own fields.
    #[serde(default)]
    pub data: Map<String, Value>,
}

/// A JSON scalar as text: strings as they are, numbers by their exact text (the
/// workspace builds serde_json with `arbitrary_precision`), booleans as words.
pub(crate) fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Rec {
    /// Parses a journal line; `None` if it is not a record of the expected shape.
    pub fn parse(line: &[u8]) -> Option<Rec> {
        serde_json::from_slice(line).ok()
    }

    /// `data.<key>` as text (strings, numbers, booleans).
    pub fn data_str(&self, key: &str) -> Option<String> {
        self.data.get(key).and_then(scalar_text)
    }

    /// `data.<key>` as an exact decimal (from a string or a number's text).
    pub fn data_dec(&self, key: &str) -> Option<Decimal> {
        let t = self.data_str(key)?;
        Decimal::from_str(&t)
            .or_else(|_| Decimal::from_scientific(&t))
            .ok()
    }

    /// `data.<key>` as a boolean.
    pub fn data_bool(&self, key: &str) -> Option<bool> {
        match self.data.get(key)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s == "true" => Some(true),
            Value::String(s) if s == "false" => Some(false),
            _ => None,
        }
    }

    /// `refs.<key>` as text.
    pub fn ref_str(&self, key: &str) -> Option<String> {
        self.refs.get(key).and_then(scalar_text)
    }

    /// `entity.id`.
    pub fn entity_id(&self) -> Option<&str> {
        self.entity.as_ref().map(|e| e.id.as_str())
    }

    /// The order this record is about: `entity.id` of an order entity, else
    /// `refs.order_id`.
    pub fn order_id(&self) -> Option<String> {
        match &self.entity {
            Some(e) if e.kind == "order" => Some(e.id.clone()),
            _ => self.ref_str("order_id"),
        }
    }
}

/// Records read for one report, in `seq` order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Loaded {
    pub records: Vec<Rec>,
    /// Lines that matched but could not be read as records (raw appends of another shape).
    pub unreadable: u64,
}

/// Reads the records of `types` (patterns such as `order.*`) with `from <= ts_event <
/// to`, restricted to `scope` exactly (the index narrows by pattern; every record is
/// then checked against the scope's ids literally, so an id holding `*` cannot widen
/// a trader's view).
pub(crate) fn load(
    inv: &Investigator,
    scope: &Scope,
    from: Option<i64>,
    to: Option<i64>,
    types: &[&str],
) -> Result<Loaded> {
    let mut f = Filter {
        from,
        to,
        types: types.iter().map(|t| (*t).to_owned()).collect(),
        ..Filter::default()
    };
    if let Some(t) = &scope.trader_id {
        f.traders.push(t.clone());
    }
    if let Some(s) = &scope.strategy_id {
        f.strategies.push(s.clone());
    }
    if let Some(a) = &scope.account_id {
        f.accounts.push(a.clone());
    }
    let mut out = Loaded::default();
    inv.query_each(&f, &QueryOptions::default(), &mut |_, line| {
        match Rec::parse(line) {
            Some(r) if scope.admits(&r) => out.records.push(r),
            Some(_) => {}
            None => out.unreadable += 1,
        }
        Ok(true)
    })?;
    Ok(out)
}

/// The note a report carries when some matching lines could not be read as records.
pub(crate) fn unreadable_note(unreadable: u64) -> Option<String> {
    (unreadable > 0)
        .then(|| format!("{unreadable} records could not be read as events and were left out"))
}
