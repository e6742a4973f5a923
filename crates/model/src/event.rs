//! The event: what a producer records, before the journal gives it a place.

use rust_decimal::Decimal;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::ValidationErrors;
use crate::types::{classify, Class, TypeSpec};
use crate::validate::{check_event, check_value, Slots};

/// What an event is about, e.g. `{"kind": "order", "id": "O-1"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Entity {
    /// What sort of thing: `order`, `recommendation`, `position`, ...
    pub kind: String,
    /// Its id in the producer's system.
    pub id: String,
}

/// One producer event: the envelope and the type's own `data`.
///
/// Invariants, when the event came from [`Event::from_json`] (or passed
/// [`Event::validate`]): every field follows the rules of the type (see the crate
/// docs); and, from `from_json` or the builder, `data`'s known fields are in canonical
/// form (decimals as normalized strings, choices lowercase, times as ns), so
/// `Event::from_json(&e.to_body()) == Ok(e)`.
///
/// Fields are public so callers can read them directly; an event built or changed in
/// code should be checked with [`Event::validate`] before it is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Dotted lowercase type, e.g. `order.filled`.
    pub event_type: String,
    /// ns since the Unix epoch (UTC) when it happened at the source; `>= 0`.
    pub ts_event: i64,
    /// The emitting component, e.g. `risk_engine`.
    pub source: String,
    /// Who caused it: `system`, `algo:<id>`, `trader:<id>`, `operator:<id>`, `service:<id>`.
    pub actor: String,
    /// The producer's id of this event; the journal writes a repeated id only once.
    pub event_id: Option<Uuid>,
    /// Attribution: the trader.
    pub trader_id: Option<String>,
    /// Attribution: the strategy.
    pub strategy_id: Option<String>,
    /// Attribution: the account.
    pub account_id: Option<String>,
    /// Attribution: the instrument.
    pub instrument_id: Option<String>,
    /// What the event is about.
    pub entity: Option<Entity>,
    /// Causal links: `order_id`, `recommendation_id`, `correction_of` (a `seq`), ...
    /// Values are strings or integers.
    pub refs: Map<String, Value>,
    /// The type's own fields, plus any the producer adds, in the producer's order.
    pub data: Map<String, Value>,
}

impl Event {
    /// Parses one JSON object (one input line; surrounding whitespace is fine) and
    /// validates it. On error, returns every problem found, each naming its field.
    ///
    /// Decimal fields of known types may be JSON strings or numbers; they come back as
    /// strings in normalized form. Choices (`side`, `order_type`, ...) come back
    /// lowercase; `ts_event` and time fields given as RFC 3339 come back as ns.
    pub fn from_json(line: &[u8]) -> Result<Event, ValidationErrors> {
        crate::parse::from_json(line)
    }

    /// Checks the event by the same rules as [`Event::from_json`], without changing it.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut problems = Vec::new();
        check_event(self, Slots::default(), &mut problems);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors(problems))
        }
    }

    /// The canonical body: one line of JSON starting `{"type":`, with no newline.
    ///
    /// Keys come in a fixed order (`type`, `ts_event`, `source`, `actor`, `event_id`,
    /// `trader_id`, `strategy_id`, `account_id`, `instrument_id`, `entity`, `refs`,
    /// `data`); absent options and empty `refs` are left out; `data` is always there.
    /// Known `data` fields are written in canonical form even if the event holds them
    /// otherwise (e.g. a decimal as a JSON number). The event should be valid: an
    /// invalid one is written as it is, not refused.
    pub fn to_body(&self) -> Vec<u8> {
        crate::body::write_body(self)
    }

    /// A new event with empty `refs` and `data`; add the rest with the `with_*` setters.
    pub fn new(event_type: &str, ts_event: i64, source: &str, actor: &str) -> Event {
        Event {
            event_type: event_type.to_owned(),
            ts_event,
            source: source.to_owned(),
            actor: actor.to_owned(),
            event_id: None,
            trader_id: None,
            strategy_id: None,
            account_id: None,
            instrument_id: None,
            entity: None,
            refs: Map::new(),
            data: Map::new(),
        }
    }

    /// Sets `event_id`.
    pub fn with_event_id(mut self, id: Uuid) -> Event {
        self.event_id = Some(id);
        self
    }

    /// Sets `trader_id`.
    pub fn with_trader(mut self, id: &str) -> Event {
        self.trader_id = Some(id.to_owned());
        self
    }

    /// Sets `strategy_id`.
    pub fn with_strategy(mut self, id: &str) -> Event {
        self.strategy_id = Some(id.to_owned());
        self
    }

    /// Sets `account_id`.
    pub fn with_account(mut self, id: &str) -> Event {
        self.account_id = Some(id.to_owned());
        self
    }

    /// Sets `instrument_id`.
    pub fn with_instrument(mut self, id: &str) -> Event {
        self.instrument_id = Some(id.to_owned());
        self
    }

    /// Sets `entity`.
    pub fn with_entity(mut self, kind: &str, id: &str) -> Event {
        self.entity = Some(Entity {
            kind: kind.to_owned(),
            id: id.to_owned(),
        });
        self
    }

    /// Adds (or replaces) `refs.<key>`.
    pub fn with_ref(mut self, key: &str, value: impl Into<Value>) -> Event {
        self.refs.insert(key.to_owned(), value.into());
        self
    }

    /// Adds (or replaces) `data.<key>`. A valid value of a field the type defines is
    /// stored in canonical form (`with_data("quantity", 100)` stores `"100"`); anything
    /// else is stored as given, for [`Event::validate`] to judge.
    ///
    /// Pass money and quantities as strings or with [`Event::with_decimal`]; an `f64`
    /// is written with its shortest decimal text, which may not be the amount meant.
    pub fn with_data(mut self, key: &str, value: impl Into<Value>) -> Event {
        let mut value = value.into();
        if let Some(kind) = spec_of(&self.event_type).and_then(|s| s.field(key)) {
            if let Ok(Some(canonical)) = check_value(kind, &value) {
                value = canonical;
            }
        }
        self.data.insert(key.to_owned(), value);
        self
    }

    /// Adds (or replaces) `data.<key>` with a decimal, as its normalized string.
    pub fn with_decimal(self, key: &str, value: Decimal) -> Event {
        self.with_data(key, value.to_string())
    }

    /// `data.<key>` as a decimal, if it is there and is one (string or number).
    pub fn data_decimal(&self, key: &str) -> Option<Decimal> {
        crate::decimal::from_value(self.data.get(key)?)
            .ok()
            .map(|p| p.value)
    }

    /// The event id as a `u128`, e.g. for a dedup index.
    pub fn event_id_u128(&self) -> Option<u128> {
        self.event_id.as_ref().map(Uuid::as_u128)
    }
}

/// The spec of a known type.
pub(crate) fn spec_of(event_type: &str) -> Option<&'static TypeSpec> {
    match classify(event_type) {
        Class::Known(spec) => Some(spec),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_normalizes_known_fields_only() {
        let e = Event::new("order.submitted", 1, "oms", "system")
            .with_data("quantity", 100)
            .with_data("side", "BUY")
            .with_data("note", 5)
            .with_data("price", "abc");
        assert_eq!(e.data["quantity"], Value::String("100".into()));
        assert_eq!(e.data["side"], Value::String("buy".into()));
        assert_eq!(e.data["note"], Value::from(5));
        assert_eq!(
            e.data["price"],
            Value::String("abc".into()),
            "invalid kept for validate"
        );
        assert_eq!(e.data_decimal("quantity"), Some(Decimal::from(100)));
        assert_eq!(e.data_decimal("price"), None);
    }

    #[test]
    fn custom_types_keep_data_as_given() {
        let e = Event::new("custom.thing", 1, "x", "system").with_data("quantity", 100);
        assert_eq!(e.data["quantity"], Value::from(100));
    }

    #[test]
    fn event_id_as_u128() {
        let id = Uuid::from_u128(0x1234);
        let e = Event::new("system.started", 0, "x", "system").with_event_id(id);
        assert_eq!(e.event_id_u128(), Some(0x1234));
        assert_eq!(
            Event::new("system.started", 0, "x", "system").event_id_u128(),
            None
        );
    }
}
