//! Reading an event from one line of JSON.
//!
//! The top-level object is read field by field straight into its slots, never built as
//! a map: unknown, journal-assigned and repeated keys are reported as they are met, and
//! only the values are kept. `entity`, `refs` and `data` are taken as raw JSON text
//! first, so that a non-object there is one reported problem rather than the end of the
//! parse, and then read as objects whose repeated keys are reported too. (Deeper inside
//! producer-defined values, serde_json's rule applies: the last repeated key wins.)

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{report, FieldError, Problems, ValidationErrors};
use crate::event::{Entity, Event};
use crate::validate::{check_event, json_kind, ns_from_number, Slot, Slots};

/// Keys the journal writes; a producer supplying one is refused.
const JOURNAL_KEYS: &[&str] = &["seq", "ts_recorded", "prev"];

pub(crate) fn from_json(line: &[u8]) -> Result<Event, ValidationErrors> {
    let whole = |reason: String| ValidationErrors(vec![FieldError::new("event", reason)]);
    match line.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        Some(_) => return Err(whole("must be a JSON object".to_owned())),
        None => return Err(whole("is empty: expected a JSON object".to_owned())),
    }
    let mut problems = Problems::new();
    let mut de = serde_json::Deserializer::from_slice(line);
    let raw = TopSeed {
        problems: &mut problems,
    }
    .deserialize(&mut de)
    .and_then(|raw| de.end().map(|()| raw))
    .map_err(|e| whole(format!("not valid JSON: {e}")))?;

    let (mut event, reported) = convert(raw, &mut problems);
    let fixes = check_event(&event, reported, &mut problems);
    if !problems.is_empty() {
        // Reading and checking find problems in two passes; report them in the order of
        // the fields (unknown keys first, as they were met), whichever pass found them.
        problems.sort_by_key(|p| field_rank(&p.field));
        return Err(ValidationErrors(problems));
    }
    for (key, canonical) in fixes {
        if let Some(value) = event.data.get_mut(key) {
            *value = canonical;
        }
    }
    Ok(event)
}

/// Where a problem's field comes in the body: 0 for keys that are not envelope
/// fields, then the envelope order.
fn field_rank(field: &str) -> usize {
    let top = field.split('.').next().unwrap_or(field);
    Slot::ALL
        .iter()
        .position(|s| s.name() == top)
        .map_or(0, |i| i + 1)
}

/// The top-level values, as found.
#[derive(Default)]
struct Raw<'de> {
    event_type: Option<Value>,
    ts_event: Option<Value>,
    source: Option<Value>,
    actor: Option<Value>,
    event_id: Option<Value>,
    trader_id: Option<Value>,
    strategy_id: Option<Value>,
    account_id: Option<Value>,
    instrument_id: Option<Value>,
    entity: Option<&'de RawValue>,
    refs: Option<&'de RawValue>,
    data: Option<&'de RawValue>,
}

struct TopSeed<'p> {
    problems: &'p mut Problems,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = Raw<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Raw<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = Raw<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw<'de>, A::Error> {
        let mut raw = Raw::default();
        let mut seen = Slots::default();
        while let Some(Key(key)) = map.next_key()? {
            let Some(slot) = Slot::from_key(&key) else {
                let reason = if JOURNAL_KEYS.contains(&&*key) {
                    "assigned by the journal, must not be supplied".to_owned()
                } else {
                    unknown_key_reason(&key)
                };
                report(self.problems, key.into_owned(), reason);
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            if seen.has(slot) {
                report(self.problems, slot.name(), "given more than once");
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            seen.mark(slot);
            let target = match slot {
                Slot::Entity => {
                    raw.entity = Some(map.next_value()?);
                    continue;
                }
                Slot::Refs => {
                    raw.refs = Some(map.next_value()?);
                    continue;
                }
                Slot::Data => {
                    raw.data = Some(map.next_value()?);
                    continue;
                }
                Slot::Type => &mut raw.event_type,
                Slot::TsEvent => &mut raw.ts_event,
                Slot::Source => &mut raw.source,
                Slot::Actor => &mut raw.actor,
                Slot::EventId => &mut raw.event_id,
                Slot::Trader => &mut raw.trader_id,
                Slot::Strategy => &mut raw.strategy_id,
                Slot::Account => &mut raw.account_id,
                Slot::Instrument => &mut raw.instrument_id,
            };
            *target = Some(map.next_value()?);
        }
        Ok(raw)
    }
}

/// "unknown field", with the envelope field probably meant, if any.
fn unknown_key_reason(key: &str) -> String {
    const ALIASES: &[(&str, &str)] = &[
        ("event_type", "type"),
        ("timestamp", "ts_event"),
        ("ts", "ts_event"),
        ("time", "ts_event"),
        ("payload", "data"),
    ];
    let alias = ALIASES
        .iter()
        .find(|(a, _)| *a == key)
        .map(|(_, name)| *name);
    // The edit distance is at least the difference in length: skip it (it costs
    // length × length) when that alone is too far, as for a megabyte-long key.
    let key_chars = key.chars().count();
    let near = || {
        Slot::ALL.iter().map(|s| s.name()).find(|name| {
            let most = (name.len() / 4).max(1);
            (key.len() >= 3 && name.starts_with(key))
                || (key_chars <= name.len() + most
                    && strsim::damerau_levenshtein(key, name) <= most)
        })
    };
    match alias.or_else(near) {
        Some(name) => format!("unknown field; did you mean {name:?}?"),
        None => "unknown field".to_owned(),
    }
}

/// An object key, borrowed from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

struct ObjectVisitor<'p> {
    slot: Slot,
    problems: &'p mut Problems,
}

impl<'de> Visitor<'de> for ObjectVisitor<'_> {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // Room for a typical object without regrowing (each regrow rehashes every key).
        let mut out = Map::with_capacity(if self.slot == Slot::Data { 8 } else { 2 });
        while let Some(key) = map.next_key::<String>()? {
            let value: Value = map.next_value()?;
            if out.contains_key(&key) {
                report(
                    self.problems,
                    format!("{}.{key}", self.slot.name()),
                    "given more than once",
                );
            } else {
                out.insert(key, value);
            }
        }
        Ok(out)
    }
}

/// Turns the raw values into an event, reporting values of the wrong JSON type and
/// missing required fields; returns which fields were reported.
fn convert(raw: Raw<'_>, problems: &mut Problems) -> (Event, Slots) {
    let mut c = Converter {
        problems,
        reported: Slots::default(),
    };
    let event_type = c.required_string(Slot::Type, raw.event_type);
    let ts_event = match raw.ts_event {
        Some(Value::Number(n)) => ns_from_number(&n),
        Some(Value::String(s)) => crate::time::parse_rfc3339(&s),
        Some(other) => Err(format!(
            "must be ns since the Unix epoch (an integer) or an RFC 3339 string, not {}",
            json_kind(&other)
        )),
        None => Err("required".to_owned()),
    };
    let ts_event = ts_event.unwrap_or_else(|reason| {
        c.fail(Slot::TsEvent, reason);
        0
    });
    let source = c.required_string(Slot::Source, raw.source);
    let actor = c.required_string(Slot::Actor, raw.actor);
    let event_id = c
        .optional_string(Slot::EventId, raw.event_id)
        .and_then(|s| {
            let id = parse_uuid(&s);
            if id.is_none() {
                c.fail(
                    Slot::EventId,
                    format!("{s:?} is not a UUID like \"67e55044-10b1-426f-9247-bb680e5fe0c8\""),
                );
            }
            id
        });
    let trader_id = c.optional_string(Slot::Trader, raw.trader_id);
    let strategy_id = c.optional_string(Slot::Strategy, raw.strategy_id);
    let account_id = c.optional_string(Slot::Account, raw.account_id);
    let instrument_id = c.optional_string(Slot::Instrument, raw.instrument_id);
    let entity = c
        .object(Slot::Entity, raw.entity)
        .and_then(|map| c.entity(map));
    let refs = c.object(Slot::Refs, raw.refs).unwrap_or_default();
    let data = c.object(Slot::Data, raw.data).unwrap_or_default();

    let event = Event {
        event_type,
        ts_event,
        source,
        actor,
        event_id,
        trader_id,
        strategy_id,
        account_id,
        instrument_id,
        entity,
        refs,
        data,
    };
    (event, c.reported)
}

/// Reports problems and remembers which envelope fields had one.
struct Converter<'p> {
    problems: &'p mut Problems,
    reported: Slots,
}

impl Converter<'_> {
    fn fail(&mut self, slot: Slot, reason: impl Into<String>) {
        self.reported.mark(slot);
        report(self.problems, slot.name(), reason);
    }

    fn optional_string(&mut self, slot: Slot, value: Option<Value>) -> Option<String> {
        match value? {
            Value::String(s) => Some(s),
            other => {
                self.fail(slot, format!("must be a string, not {}", json_kind(&other)));
                None
            }
        }
    }

    fn required_string(&mut self, slot: Slot, value: Option<Value>) -> String {
        if value.is_none() {
            self.fail(slot, "required");
        }
        self.optional_string(slot, value).unwrap_or_default()
    }

    /// Reads raw JSON text that must be an object, reporting repeated keys.
    fn object(&mut self, slot: Slot, raw: Option<&RawValue>) -> Option<Map<String, Value>> {
        let text = raw?.get();
        if !text.starts_with('{') {
            let kind = match text.as_bytes().first() {
                Some(b'[') => "an array",
                Some(b'"') => "a string",
                Some(b't' | b'f') => "a boolean",
                Some(b'n') => "null",
                _ => "a number",
            };
            self.fail(slot, format!("must be an object, not {kind}"));
            return None;
        }
        let before = self.problems.len();
        let visitor = ObjectVisitor {
            slot,
            problems: self.problems,
        };
        let map = serde_json::Deserializer::from_str(text).deserialize_map(visitor);
        if self.problems.len() > before {
            self.reported.mark(slot);
        }
        match map {
            Ok(map) => Some(map),
            // The text was read once already, as part of the whole; it cannot fail now.
            Err(e) => {
                self.fail(slot, format!("not valid JSON: {e}"));
                None
            }
        }
    }

    /// `{"kind": .., "id": ..}` and nothing else.
    fn entity(&mut self, map: Map<String, Value>) -> Option<Entity> {
        let (mut kind, mut id) = (None, None);
        let before = self.problems.len();
        for (key, value) in map {
            match key.as_str() {
                "kind" => kind = Some(value),
                "id" => id = Some(value),
                _ => report(
                    self.problems,
                    format!("entity.{key}"),
                    "unknown field (an entity has only kind and id)",
                ),
            }
        }
        let kind = self.entity_string("entity.kind", kind);
        let id = self.entity_string("entity.id", id);
        if self.problems.len() > before {
            self.reported.mark(Slot::Entity);
        }
        Some(Entity {
            kind: kind?,
            id: id?,
        })
    }

    fn entity_string(&mut self, field: &str, value: Option<Value>) -> Option<String> {
        let reason = match value {
            Some(Value::String(s)) => return Some(s),
            Some(other) => format!("must be a string, not {}", json_kind(&other)),
            None => "required".to_owned(),
        };
        report(self.problems, field, reason);
        None
    }
}

/// A UUID in its hyphenated form (either case); the other forms `uuid` reads (simple,
/// braced, URN) are refused so that one id has one spelling in the input.
fn parse_uuid(s: &str) -> Option<Uuid> {
    Uuid::try_parse(s).ok().filter(|_| s.len() == 36)
}
