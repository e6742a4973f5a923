//! The rules every event follows, whether it was parsed from JSON or built in code.
//!
//! [`check_event`] is the one place the rules live: [`Event::validate`] runs it on an
//! event as it is, [`Event::from_json`] runs it after turning the JSON into an
//! [`Event`] (which already reported fields of the wrong JSON type; those are not
//! reported twice). Every check reports into the same list, so an event gets all its
//! problems back at once.
//!
//! [`Event::validate`]: crate::Event::validate
//! [`Event::from_json`]: crate::Event::from_json

use serde_json::{Map, Number, Value};

use crate::decimal;
use crate::error::{report, Problems};
use crate::event::{Entity, Event};
use crate::types::{
    classify, family_members, suggest, Class, Kind, Magnitude, Need, Rule, Sign, TypeSpec,
};

/// The longest identifier accepted (`source`, `*_id`, entity kind and id, actor id).
pub(crate) const MAX_ID_CHARS: usize = 128;

/// An envelope field (one bit of a [`Slots`] set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    Type = 1 << 0,
    TsEvent = 1 << 1,
    Source = 1 << 2,
    Actor = 1 << 3,
    EventId = 1 << 4,
    Trader = 1 << 5,
    Strategy = 1 << 6,
    Account = 1 << 7,
    Instrument = 1 << 8,
    Entity = 1 << 9,
    Refs = 1 << 10,
    Data = 1 << 11,
}

impl Slot {
    /// Every slot, in canonical body order.
    pub(crate) const ALL: [Slot; 12] = [
        Slot::Type,
        Slot::TsEvent,
        Slot::Source,
        Slot::Actor,
        Slot::EventId,
        Slot::Trader,
        Slot::Strategy,
        Slot::Account,
        Slot::Instrument,
        Slot::Entity,
        Slot::Refs,
        Slot::Data,
    ];

    /// The JSON key.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Slot::Type => "type",
            Slot::TsEvent => "ts_event",
            Slot::Source => "source",
            Slot::Actor => "actor",
            Slot::EventId => "event_id",
            Slot::Trader => "trader_id",
            Slot::Strategy => "strategy_id",
            Slot::Account => "account_id",
            Slot::Instrument => "instrument_id",
            Slot::Entity => "entity",
            Slot::Refs => "refs",
            Slot::Data => "data",
        }
    }

    pub(crate) fn from_key(key: &str) -> Option<Slot> {
        Slot::ALL.into_iter().find(|s| s.name() == key)
    }
}

/// A set of [`Slot`]s: the envelope fields already seen, or already reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Slots(u16);

impl Slots {
    pub(crate) fn mark(&mut self, slot: Slot) {
        self.0 |= slot as u16;
    }

    pub(crate) fn has(self, slot: Slot) -> bool {
        self.0 & slot as u16 != 0
    }
}

/// A normalization of a `data` field: the field's canonical value.
pub(crate) type Fix = (&'static str, Value);

/// Checks `ev` against every rule, skipping the fields in `reported`. Returns the
/// normalizations its `data` needs (decimals to strings, choices to lowercase, times
/// to ns), which the caller applies or ignores.
pub(crate) fn check_event(ev: &Event, reported: Slots, out: &mut Problems) -> Vec<Fix> {
    let spec = if reported.has(Slot::Type) {
        None
    } else {
        check_type(&ev.event_type, out)
    };
    if !reported.has(Slot::TsEvent) && ev.ts_event < 0 {
        report(out, "ts_event", NEGATIVE_TIME);
    }
    if !reported.has(Slot::Source) {
        check_id(out, "source", &ev.source);
    }
    if !reported.has(Slot::Actor) {
        check_actor(out, &ev.actor);
    }
    for (slot, value) in [
        (Slot::Trader, &ev.trader_id),
        (Slot::Strategy, &ev.strategy_id),
        (Slot::Account, &ev.account_id),
        (Slot::Instrument, &ev.instrument_id),
    ] {
        if let Some(v) = value {
            check_id(out, slot.name(), v);
        }
    }
    if let Some(Entity { kind, id }) = &ev.entity {
        check_id(out, "entity.kind", kind);
        check_id(out, "entity.id", id);
    }
    check_refs(out, &ev.refs);
    match spec {
        Some(spec) => {
            check_needs(spec, ev, reported, out);
            check_data(spec, &ev.data, out)
        }
        None => Vec::new(),
    }
}

/// Checks the type; returns its spec if it is a known type.
fn check_type(t: &str, out: &mut Problems) -> Option<&'static TypeSpec> {
    let reason = match classify(t) {
        Class::Known(spec) => return Some(spec),
        Class::Open => return None,
        Class::Reserved => {
            format!("{t:?}: journal.* types are reserved for the journal's own records")
        }
        Class::Unknown => {
            let mut reason = format!("unknown event type {t:?}");
            if let Some(s) = suggest(t) {
                reason.push_str(&format!("; did you mean {s:?}?"));
            } else {
                let members = family_members(t);
                if members.is_empty() {
                    reason.push_str("; use a known type, or custom.<name> for your own");
                } else {
                    reason.push_str(&format!("; known types here: {}", members.join(", ")));
                }
            }
            reason
        }
        Class::Malformed if t.is_empty() => "must not be empty".to_owned(),
        Class::Malformed => {
            let mut reason = format!("{t:?} is not a dotted lowercase type like \"order.filled\"");
            if let Some(s) = suggest(t) {
                reason.push_str(&format!("; did you mean {s:?}?"));
            }
            reason
        }
    };
    report(out, "type", reason);
    None
}

const NEGATIVE_TIME: &str = "must not be before the Unix epoch (negative)";

/// What is wrong with an identifier, if anything.
pub(crate) fn id_problem(s: &str) -> Option<&'static str> {
    // The common case in one pass: short printable ASCII.
    if !s.is_empty() && s.len() <= MAX_ID_CHARS && s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return None;
    }
    if s.is_empty() {
        Some("must not be empty")
    } else if s.chars().nth(MAX_ID_CHARS).is_some() {
        Some("must be at most 128 characters")
    } else if s.chars().any(char::is_control) {
        Some("must not contain control characters")
    } else {
        None
    }
}

fn check_id(out: &mut Problems, field: &str, s: &str) {
    if let Some(reason) = id_problem(s) {
        report(out, field, reason);
    }
}

const ACTOR_KINDS: &[&str] = &["algo", "trader", "operator", "service"];

fn check_actor(out: &mut Problems, actor: &str) {
    if let Some(reason) = actor_problem(actor) {
        report(out, "actor", reason);
    }
}

/// What is wrong with an actor, if anything.
pub(crate) fn actor_problem(actor: &str) -> Option<String> {
    if actor == "system" {
        return None;
    }
    match actor.split_once(':') {
        Some((kind, id)) if ACTOR_KINDS.contains(&kind) => {
            id_problem(id).map(|reason| format!("the id after {kind:?} {reason}"))
        }
        _ => Some(format!(
            "{actor:?} is not an actor: use \"system\", \"algo:<id>\", \"trader:<id>\", \
             \"operator:<id>\" or \"service:<id>\""
        )),
    }
}

fn check_refs(out: &mut Problems, refs: &Map<String, Value>) {
    for (key, value) in refs {
        if key.is_empty() {
            report(out, "refs", "keys must not be empty");
            continue;
        }
        let problem = if key == "correction_of" {
            let seq = matches!(value, Value::Number(n) if n.as_u64().is_some());
            (!seq).then_some("must be a non-negative integer: the seq of the corrected record")
        } else {
            match value {
                Value::String(s) => id_problem(s),
                Value::Number(n) if n.as_i64().is_some() || n.as_u64().is_some() => None,
                _ => Some("must be a string or an integer"),
            }
        };
        if let Some(reason) = problem {
            report(out, format!("refs.{key}"), reason);
        }
    }
}

fn check_needs(spec: &TypeSpec, ev: &Event, reported: Slots, out: &mut Problems) {
    let required = || format!("required for {}", spec.name);
    for need in spec.needs {
        let (slot, present) = match need {
            Need::Trader => (Slot::Trader, ev.trader_id.is_some()),
            Need::Strategy => (Slot::Strategy, ev.strategy_id.is_some()),
            Need::Account => (Slot::Account, ev.account_id.is_some()),
            Need::Instrument => (Slot::Instrument, ev.instrument_id.is_some()),
            Need::Entity(kind) => {
                let kind = *kind;
                let id = match kind {
                    "log" => "<category: order, connection, ...>",
                    "order" => "<order id>",
                    _ => "<id>",
                };
                match &ev.entity {
                    Some(e) if e.kind != kind => report(
                        out,
                        "entity.kind",
                        format!("must be \"{kind}\" for {}", spec.name),
                    ),
                    None if !reported.has(Slot::Entity) => report(
                        out,
                        "entity",
                        format!("{}: {{\"kind\":\"{kind}\",\"id\":\"{id}\"}}", required()),
                    ),
                    _ => {}
                }
                continue;
            }
            Need::CorrectionOf => {
                if !ev.refs.contains_key("correction_of") && !reported.has(Slot::Refs) {
                    report(
                        out,
                        "refs.correction_of",
                        format!("{}: the seq of the corrected record", required()),
                    );
                }
                continue;
            }
        };
        if !present && !reported.has(slot) {
            report(out, slot.name(), required());
        }
    }
}

/// Checks `data` against the type's fields and rules; returns the normalizations.
/// Fields the type does not define are the producer's own and pass as they are.
fn check_data(spec: &TypeSpec, data: &Map<String, Value>, out: &mut Problems) -> Vec<Fix> {
    let mut fixes = Vec::new();
    for field in spec.fields {
        match data.get(field.name) {
            None if field.required => report(
                out,
                format!("data.{}", field.name),
                format!("required for {}", spec.name),
            ),
            None => {}
            Some(value) => match check_value(field.kind, value) {
                Ok(None) => {}
                Ok(Some(canonical)) => fixes.push((field.name, canonical)),
                Err(reason) => report(out, format!("data.{}", field.name), reason),
            },
        }
    }
    for rule in spec.rules {
        match rule {
            Rule::PricesForOrderType => {
                let Some(order_type) = data.get("order_type").and_then(Value::as_str) else {
                    continue;
                };
                let is = |names: &[&str]| names.iter().any(|n| order_type.eq_ignore_ascii_case(n));
                if is(&["limit", "stop_limit", "limit_on_close"]) && !data.contains_key("price") {
                    report(
                        out,
                        "data.price",
                        format!("required for a {} order", order_type.to_ascii_lowercase()),
                    );
                }
                if is(&["stop", "stop_limit"]) && !data.contains_key("stop_price") {
                    report(
                        out,
                        "data.stop_price",
                        format!("required for a {} order", order_type.to_ascii_lowercase()),
                    );
                }
            }
            Rule::AnyOf(names) => {
                if !names.iter().any(|n| data.contains_key(*n)) {
                    report(
                        out,
                        "data",
                        format!("{} needs at least one of {}", spec.name, names.join(", ")),
                    );
                }
            }
        }
    }
    fixes
}

/// Checks one value of a known `data` field. `Ok(Some(v))`: valid, and `v` is its
/// canonical form; `Ok(None)`: valid and already canonical.
pub(crate) fn check_value(kind: Kind, value: &Value) -> Result<Option<Value>, String> {
    if value.is_null() && kind != Kind::Any {
        return Err("must not be null (leave an optional field out instead)".to_owned());
    }
    let wrong = |expected: &str| Err(format!("must be {expected}, not {}", json_kind(value)));
    match kind {
        Kind::Text => match value {
            Value::String(s) if s.is_empty() => Err("must not be empty".to_owned()),
            Value::String(_) => Ok(None),
            _ => wrong("a string"),
        },
        Kind::Id => match value {
            Value::String(s) => id_problem(s).map_or(Ok(None), |r| Err(r.to_owned())),
            _ => wrong("a string"),
        },
        Kind::Decimal(sign, magnitude) => {
            let parsed = decimal::from_value(value)?;
            check_decimal(sign, magnitude, parsed.value)?;
            Ok((!parsed.canonical).then(|| Value::String(parsed.value.to_string())))
        }
        Kind::Choice(options) => match value {
            Value::String(s) => choice(options, s).map(|o| o.map(|o| Value::String(o.to_owned()))),
            _ => wrong(&format!("one of {}", options.join(", "))),
        },
        Kind::Bool => match value {
            Value::Bool(_) => Ok(None),
            _ => wrong("true or false"),
        },
        Kind::Time => match value {
            Value::Number(n) => ns_from_number(n).map(|_| None),
            Value::String(s) => time_from_text(s).map(|ns| Some(Value::from(ns))),
            _ => wrong("ns since the Unix epoch or an RFC 3339 string"),
        },
        Kind::Collection => match value {
            Value::Array(_) | Value::Object(_) => Ok(None),
            _ => wrong("an array or an object"),
        },
        Kind::Any => Ok(None),
    }
}

/// Checks a decimal's sign and magnitude against its kind.
pub(crate) fn check_decimal(
    sign: Sign,
    magnitude: Magnitude,
    d: rust_decimal::Decimal,
) -> Result<(), String> {
    let problem = match sign {
        Sign::Positive if d.is_sign_negative() || d.is_zero() => Some("must be greater than 0"),
        Sign::NonNegative if d.is_sign_negative() && !d.is_zero() => Some("must not be negative"),
        _ => None,
    };
    if let Some(reason) = problem {
        return Err(format!("{reason}, not {d}"));
    }
    let (max, what) = match magnitude {
        Magnitude::QuantityOrPrice => (
            decimal::MAX_QUANTITY_OR_PRICE,
            "10^12 in magnitude, so that quantity × price cannot overflow the books' arithmetic",
        ),
        Magnitude::Amount => (
            decimal::MAX_AMOUNT,
            "10^18 in magnitude, so that sums cannot overflow the books' arithmetic",
        ),
    };
    if d.abs() > max {
        return Err(format!("must be at most {what}, not {d}"));
    }
    Ok(())
}

/// A choice matched ignoring ASCII case: `Ok(None)` when `s` already is the lowercase
/// option, `Ok(Some(option))` when it is another spelling of it.
pub(crate) fn choice(
    options: &'static [&'static str],
    s: &str,
) -> Result<Option<&'static str>, String> {
    if options.contains(&s) {
        return Ok(None);
    }
    match options.iter().find(|o| o.eq_ignore_ascii_case(s)) {
        Some(o) => Ok(Some(o)),
        None => Err(format!("must be one of {}, not {s:?}", options.join(", "))),
    }
}

/// ns since the Unix epoch from RFC 3339 text, not before the epoch.
pub(crate) fn time_from_text(s: &str) -> Result<i64, String> {
    match crate::time::parse_rfc3339(s)? {
        ns if ns < 0 => Err(NEGATIVE_TIME.to_owned()),
        ns => Ok(ns),
    }
}

/// ns since the Unix epoch from a JSON number: an integer in `0..=i64::MAX`.
pub(crate) fn ns_from_number(n: &Number) -> Result<i64, String> {
    ns_from_text(n.as_str())
}

/// [`ns_from_number`] on the number's text.
pub(crate) fn ns_from_text(text: &str) -> Result<i64, String> {
    if text.bytes().any(|c| matches!(c, b'.' | b'e' | b'E')) {
        return Err(format!(
            "must be an integer of ns since the Unix epoch or an RFC 3339 string, not {text}"
        ));
    }
    match text.parse::<i64>() {
        Ok(ns) if ns < 0 => Err(NEGATIVE_TIME.to_owned()),
        Ok(ns) => Ok(ns),
        Err(_) => Err(format!(
            "{text} is out of range for ns since the Unix epoch"
        )),
    }
}

/// "a string", "an object", ...: for messages.
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::SIDES;

    fn v(json: &str) -> Value {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn decimals_normalize_to_strings_and_respect_sign() {
        let pos = Kind::Decimal(Sign::Positive, Magnitude::QuantityOrPrice);
        assert_eq!(check_value(pos, &v("100")), Ok(Some(v("\"100\""))));
        assert_eq!(check_value(pos, &v("\"10.50\"")), Ok(None));
        assert_eq!(check_value(pos, &v("\"010.50\"")), Ok(Some(v("\"10.50\""))));
        assert!(check_value(pos, &v("0")).is_err());
        assert!(check_value(pos, &v("-5")).is_err());
        assert!(check_value(pos, &v("1e400")).is_err());
        assert!(check_value(pos, &v("\"abc\"")).is_err());
        assert!(check_value(pos, &v("true")).is_err());
        assert!(check_value(pos, &v("null")).is_err());
        let non_neg = Kind::Decimal(Sign::NonNegative, Magnitude::QuantityOrPrice);
        assert_eq!(check_value(non_neg, &v("0")), Ok(Some(v("\"0\""))));
        assert_eq!(check_value(non_neg, &v("\"-0\"")), Ok(Some(v("\"0\""))));
        assert!(check_value(non_neg, &v("-0.01")).is_err());
        assert_eq!(
            check_value(Kind::Decimal(Sign::Any, Magnitude::Amount), &v("-0.01")),
            Ok(Some(v("\"-0.01\"")))
        );
        // Bounds: 10^12 for quantities and prices, 10^18 for amounts, either sign.
        assert_eq!(check_value(pos, &v("\"1000000000000\"")), Ok(None));
        let err = check_value(pos, &v("\"1000000000000.01\"")).unwrap_err();
        assert!(
            err.contains("at most 10^12") && err.contains("1000000000000.01"),
            "{err}"
        );
        let amount = Kind::Decimal(Sign::Any, Magnitude::Amount);
        assert_eq!(
            check_value(amount, &v("\"-1000000000000000000\"")),
            Ok(None)
        );
        let err = check_value(amount, &v("\"-1000000000000000001\"")).unwrap_err();
        assert!(err.contains("at most 10^18"), "{err}");
    }

    #[test]
    fn choices_match_any_case_and_store_lowercase() {
        let side = Kind::Choice(SIDES);
        assert_eq!(check_value(side, &v("\"buy\"")), Ok(None));
        assert_eq!(
            check_value(side, &v("\"SELL_SHORT\"")),
            Ok(Some(v("\"sell_short\"")))
        );
        let err = check_value(side, &v("\"hold\"")).unwrap_err();
        assert!(err.contains("buy, sell, sell_short"), "{err}");
        assert!(check_value(side, &v("1")).is_err());
    }

    #[test]
    fn times_become_ns() {
        assert_eq!(check_value(Kind::Time, &v("5")), Ok(None));
        assert_eq!(
            check_value(Kind::Time, &v("\"1970-01-01T00:00:01Z\"")),
            Ok(Some(v("1000000000")))
        );
        for bad in [
            "1.5",
            "-1",
            "\"1969-12-31T23:59:59Z\"",
            "\"soon\"",
            "true",
            "9223372036854775808",
        ] {
            assert!(check_value(Kind::Time, &v(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn other_kinds() {
        assert!(check_value(Kind::Text, &v("\"\"")).is_err());
        assert!(check_value(Kind::Text, &v("3")).is_err());
        assert_eq!(
            check_value(Kind::Text, &v("\"line\\nbreak ok in text\"")),
            Ok(None)
        );
        assert!(check_value(Kind::Id, &v("\"tab\\tinside\"")).is_err());
        assert!(check_value(Kind::Id, &Value::String("x".repeat(129))).is_err());
        assert_eq!(
            check_value(Kind::Id, &Value::String("é".repeat(128))),
            Ok(None)
        );
        assert!(check_value(Kind::Bool, &v("\"true\"")).is_err());
        assert!(check_value(Kind::Collection, &v("\"a\"")).is_err());
        assert_eq!(check_value(Kind::Collection, &v("[]")), Ok(None));
        assert_eq!(check_value(Kind::Any, &v("null")), Ok(None));
    }

    #[test]
    fn slots_round_trip_their_names() {
        for slot in Slot::ALL {
            assert_eq!(Slot::from_key(slot.name()), Some(slot));
        }
        let mut r = Slots::default();
        r.mark(Slot::Refs);
        assert!(r.has(Slot::Refs) && !r.has(Slot::Data));
    }
}
