//! Legal holds: `review.legal_hold_added` / `review.legal_hold_released` records in
//! the trail itself. An active hold blocks the purge of every partition holding a
//! record it matches (all of its criteria at once).

use serde::{Deserialize, Serialize};
use tradetrail_core::{DataDir, Recorder};
use tradetrail_journal::Receipt;
use tradetrail_model::Event;

use crate::index::ArchiveIndex;
use crate::records::{records_of_types, HOLD_ADDED, HOLD_RELEASED};
use crate::row::Row;
use crate::{Error, Result};

/// What a hold covers: records matching every criterion given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldScope {
    /// `entity.id`, or any value in `refs` (an order id held also holds the records
    /// that refer to it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    /// `trader_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trader_id: Option<String>,
    /// `instrument_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instrument_id: Option<String>,
    /// `ts_event` at or after this (ns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<i64>,
    /// `ts_event` before this (ns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<i64>,
}

impl HoldScope {
    /// Checks that the scope names something.
    pub fn validate(&self) -> Result<()> {
        if self.entity.is_none()
            && self.trader_id.is_none()
            && self.instrument_id.is_none()
            && self.from.is_none()
            && self.to.is_none()
        {
            return Err(Error::BadInput(
                "a hold needs at least one of --entity, --trader, --instrument, --from, --to"
                    .into(),
            ));
        }
        for (name, v) in [
            ("--entity", &self.entity),
            ("--trader", &self.trader_id),
            ("--instrument", &self.instrument_id),
        ] {
            if v.as_deref().is_some_and(|s| s.trim().is_empty()) {
                return Err(Error::BadInput(format!("{name}: must not be empty")));
            }
        }
        if let (Some(f), Some(t)) = (self.from, self.to) {
            if f >= t {
                return Err(Error::BadInput("--from must be before --to".into()));
            }
        }
        Ok(())
    }

    /// Whether a record falls under the hold.
    pub fn matches(&self, r: &Row<'_>) -> bool {
        let ts = r.sort_ts();
        self.from.is_none_or(|f| ts >= f)
            && self.to.is_none_or(|t| ts < t)
            && self
                .trader_id
                .as_deref()
                .is_none_or(|t| r.trader_id.as_deref() == Some(t))
            && self
                .instrument_id
                .as_deref()
                .is_none_or(|i| r.instrument_id.as_deref() == Some(i))
            && self
                .entity
                .as_deref()
                .is_none_or(|e| r.entity_id.as_deref() == Some(e) || refs_mention(r.refs, e))
    }

    /// A one-line description.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(e) = &self.entity {
            parts.push(format!("entity {e}"));
        }
        if let Some(t) = &self.trader_id {
            parts.push(format!("trader {t}"));
        }
        if let Some(i) = &self.instrument_id {
            parts.push(format!("instrument {i}"));
        }
        if let Some(f) = self.from {
            parts.push(format!("from {}", tradetrail_model::format_time(f)));
        }
        if let Some(t) = self.to {
            parts.push(format!("to {}", tradetrail_model::format_time(t)));
        }
        parts.join(", ")
    }
}

fn refs_mention(refs: Option<&str>, id: &str) -> bool {
    let Some(text) = refs else { return false };
    // Cheap test first; parse only lines that mention the id at all.
    if !text.contains(id) {
        return false;
    }
    match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text) {
        Ok(m) => m.values().any(|v| match v {
            serde_json::Value::String(s) => s == id,
            serde_json::Value::Number(n) => n.to_string() == id,
            _ => false,
        }),
        Err(_) => false,
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct AddedData {
    reason: String,
    scope: HoldScope,
}

#[derive(Debug, Serialize, Deserialize)]
struct ReleasedData {
    reason: String,
    hold: u64,
}

/// One hold as the trail records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hold {
    /// The seq of the record that placed it (its id).
    pub id: u64,
    /// When it was placed (`ts_recorded`).
    pub placed_at: i64,
    /// Who placed it.
    pub actor: String,
    /// What it covers.
    pub scope: HoldScope,
    /// Why.
    pub reason: String,
    /// The seq of the record that released it, if released.
    pub released_by: Option<u64>,
}

impl Hold {
    /// Still in force.
    pub fn active(&self) -> bool {
        self.released_by.is_none()
    }
}

/// Places a hold: appends a `review.legal_hold_added` record (fsync'd).
pub fn add_hold(rec: &Recorder, scope: HoldScope, reason: &str, actor: &str) -> Result<Receipt> {
    scope.validate()?;
    if reason.trim().is_empty() {
        return Err(Error::BadInput(
            "--reason: must say why the records are held".into(),
        ));
    }
    let now = rec.journal().options().clock.now_ns().max(0);
    let ev = Event::new(HOLD_ADDED, now, "tradetrail", actor)
        .with_data("reason", reason)
        .with_data(
            "scope",
            serde_json::to_value(&scope).expect("a scope serializes"),
        );
    record(rec, &ev)
}

/// Releases a hold: appends a `review.legal_hold_released` record naming it.
pub fn release_hold(rec: &Recorder, id: u64, reason: &str, actor: &str) -> Result<Receipt> {
    if reason.trim().is_empty() {
        return Err(Error::BadInput(
            "--reason: must say why the hold ends".into(),
        ));
    }
    let idx = ArchiveIndex::load(&crate::archive_dir(rec.data_dir()))?;
    let holds = list_holds(rec.data_dir(), &idx)?;
    match holds.iter().find(|h| h.id == id) {
        None => {
            return Err(Error::BadInput(format!(
                "--id {id}: no hold was placed by record {id}"
            )))
        }
        Some(h) if !h.active() => {
            return Err(Error::BadInput(format!(
                "--id {id}: that hold was already released by record {}",
                h.released_by.unwrap_or_default()
            )))
        }
        Some(_) => {}
    }
    let now = rec.journal().options().clock.now_ns().max(0);
    let ev = Event::new(HOLD_RELEASED, now, "tradetrail", actor)
        .with_data("reason", reason)
        .with_data("hold", id)
        .with_ref("hold", id);
    record(rec, &ev)
}

fn record(rec: &Recorder, ev: &Event) -> Result<Receipt> {
    ev.validate().map_err(|e| Error::BadInput(e.to_string()))?;
    let entry = rec.prepare(ev, Some(tradetrail_journal::Durability::Fsync));
    Ok(rec.record_batch(vec![entry])?.remove(0))
}

/// Every hold ever placed, oldest first, with its release if any.
pub fn list_holds(data: &DataDir, idx: &ArchiveIndex) -> Result<Vec<Hold>> {
    let mut holds: Vec<Hold> = Vec::new();
    for (seq, line) in records_of_types(data, idx, &[HOLD_ADDED, HOLD_RELEASED])? {
        let row = Row::parse(line.as_bytes()).map_err(|reason| Error::Chain { seq, reason })?;
        let bad = |e: serde_json::Error| Error::Chain {
            seq,
            reason: format!("a {} record whose data is not understood: {e}", row.ty),
        };
        let data = row.data.unwrap_or("{}");
        if row.ty == HOLD_ADDED {
            let d: AddedData = serde_json::from_str(data).map_err(bad)?;
            holds.push(Hold {
                id: seq,
                placed_at: row.ts_recorded,
                actor: row.actor.as_deref().unwrap_or("").to_string(),
                scope: d.scope,
                reason: d.reason,
                released_by: None,
            });
        } else {
            let d: ReleasedData = serde_json::from_str(data).map_err(bad)?;
            if let Some(h) = holds
                .iter_mut()
                .find(|h| h.id == d.hold && h.released_by.is_none())
            {
                h.released_by = Some(seq);
            }
        }
    }
    Ok(holds)
}
