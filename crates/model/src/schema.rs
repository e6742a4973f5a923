//! The event types as documents, generated from the validator's own table
//! (`types.rs`): [`type_table`] (a view for people and programs), [`json_schema`] (one
//! JSON Schema, draft 2020-12, for the events `append` accepts), [`text`] (what
//! `tradetrail schema` prints) and [`markdown`] (docs/events.md).
//!
//! The schema says everything the table says, and the envelope's rules, with these
//! exceptions, where it is looser than the validator (an event the schema accepts may
//! still be refused by `append`, never the other way round):
//!
//! - decimals given as strings are checked for their shape and sign, not for their
//!   magnitude (at most 10^12 for quantities and prices, 10^18 for amounts); decimals
//!   given as numbers are checked for both;
//! - times given as strings are checked for the shape of RFC 3339 (`2026-11-21T14:32:10Z`,
//!   seconds and fraction optional, `Z` or an offset), not for the calendar (a 13th
//!   month, hour 24, a leap second); integers, not for the range of `i64`;
//! - a key given twice in one object (the schema sees a parsed object, where the
//!   duplicate is already gone);
//! - integers written with a fraction or an exponent (`1.0`, `1e3`) where the
//!   validator wants an integer (`ts_event`, `refs.correction_of`, a time).

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::open_families;
use crate::types::{
    Kind, Magnitude, Need, Rule, Sign, TypeSpec, MAX_TYPE_LEN, RESERVED_FAMILY, TYPES,
};
use crate::validate::MAX_ID_CHARS;

/// The JSON Schema dialect of [`json_schema`].
pub const JSON_SCHEMA_DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// One envelope field: every event may carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvelopeField {
    /// The key.
    pub name: &'static str,
    /// Required of every event (`type`, `ts_event`, `source`, `actor`).
    pub required: bool,
    /// What it holds.
    pub description: &'static str,
}

/// One field of a known type's `data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldInfo {
    /// The key in `data`.
    pub name: &'static str,
    /// `text`, `id`, `decimal`, `choice`, `bool`, `time`, `collection` or `any`.
    pub kind: &'static str,
    /// The kind in words, with its bounds (`decimal > 0, at most 10^12`).
    pub description: String,
    /// Required (otherwise optional: leave it out, never `null`).
    pub required: bool,
}

/// One known type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TypeInfo {
    /// `order.filled`, ...
    pub name: &'static str,
    /// Envelope fields this type requires beyond the four every event has
    /// (`trader_id`, `entity` of kind `order`, `refs.correction_of`, ...).
    pub envelope: Vec<String>,
    /// Its `data` fields. Fields not listed are the producer's own and kept as given.
    pub data: Vec<FieldInfo>,
    /// Rules across fields, in words.
    pub rules: Vec<String>,
}

/// Every event type `append` knows, the envelope, the open and reserved families.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TypeTable {
    /// The envelope, in the canonical body's order.
    pub envelope: Vec<EnvelopeField>,
    /// The known types, validated strictly.
    pub types: Vec<TypeInfo>,
    /// Families whose every subtype is accepted with only the envelope checked.
    pub open_families: Vec<&'static str>,
    /// The journal's own family, refused from producers.
    pub reserved_family: &'static str,
}

const ENVELOPE: &[EnvelopeField] = &[
    EnvelopeField {
        name: "type",
        required: true,
        description: "a known type, or <family>.<name> in an open family (dotted lowercase, at most 128 characters)",
    },
    EnvelopeField {
        name: "ts_event",
        required: true,
        description: "when it happened at the source: ns since the Unix epoch (a non-negative integer) or an RFC 3339 string",
    },
    EnvelopeField {
        name: "source",
        required: true,
        description: "the emitting component (an id)",
    },
    EnvelopeField {
        name: "actor",
        required: true,
        description: "who caused it: system, algo:<id>, trader:<id>, operator:<id> or service:<id>",
    },
    EnvelopeField {
        name: "event_id",
        required: false,
        description: "the producer's id for deduplication: a hyphenated UUID (67e55044-10b1-426f-9247-bb680e5fe0c8)",
    },
    EnvelopeField {
        name: "trader_id",
        required: false,
        description: "an id",
    },
    EnvelopeField {
        name: "strategy_id",
        required: false,
        description: "an id",
    },
    EnvelopeField {
        name: "account_id",
        required: false,
        description: "an id",
    },
    EnvelopeField {
        name: "instrument_id",
        required: false,
        description: "an id",
    },
    EnvelopeField {
        name: "entity",
        required: false,
        description: "what it is about: {\"kind\": id, \"id\": id}, nothing else",
    },
    EnvelopeField {
        name: "refs",
        required: false,
        description: "ids it cites: an object of non-empty keys to ids or integers; refs.correction_of is a seq (a non-negative integer)",
    },
    EnvelopeField {
        name: "data",
        required: false,
        description: "an object: the type's fields (below), and the producer's own",
    },
];

/// The keys the journal assigns; an event that carries one is refused.
const JOURNAL_KEYS: &[&str] = &["seq", "ts_recorded", "prev"];

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Text => "text",
        Kind::Id => "id",
        Kind::Decimal(..) => "decimal",
        Kind::Choice(_) => "choice",
        Kind::Bool => "bool",
        Kind::Time => "time",
        Kind::Collection => "collection",
        Kind::Any => "any",
    }
}

fn magnitude_words(m: Magnitude) -> &'static str {
    match m {
        Magnitude::QuantityOrPrice => "10^12",
        Magnitude::Amount => "10^18",
    }
}

fn kind_words(kind: Kind) -> String {
    match kind {
        Kind::Text => "text (a non-empty string)".into(),
        Kind::Id => "id (a string of 1 to 128 characters, no control characters)".into(),
        Kind::Decimal(sign, m) => {
            let sign = match sign {
                Sign::Positive => "decimal > 0",
                Sign::NonNegative => "decimal >= 0",
                Sign::Any => "decimal",
            };
            format!(
                "{sign}, at most {} in magnitude (a string like \"10.50\" or a number)",
                magnitude_words(m)
            )
        }
        Kind::Choice(options) => format!("one of {} (any case)", options.join(", ")),
        Kind::Bool => "true or false".into(),
        Kind::Time => "time (ns since the Unix epoch, or an RFC 3339 string)".into(),
        Kind::Collection => "an array or an object".into(),
        Kind::Any => "any JSON value, null included".into(),
    }
}

fn need_words(need: Need) -> &'static str {
    match need {
        Need::Trader => "trader_id",
        Need::Strategy => "strategy_id",
        Need::Account => "account_id",
        Need::Instrument => "instrument_id",
        Need::Entity("order") => "entity (kind \"order\")",
        Need::Entity("log") => "entity (kind \"log\", id the category)",
        Need::Entity(_) => "entity",
        Need::CorrectionOf => "refs.correction_of",
    }
}

/// The order types that need a `price`, and those that need a `stop_price` (as
/// `validate.rs` checks them).
const NEED_PRICE: &[&str] = &["limit", "stop_limit", "limit_on_close"];
const NEED_STOP_PRICE: &[&str] = &["stop", "stop_limit"];

fn rule_words(rule: Rule) -> String {
    match rule {
        Rule::PricesForOrderType => format!(
            "price is required when order_type is {}; stop_price when it is {}",
            NEED_PRICE.join(", "),
            NEED_STOP_PRICE.join(", ")
        ),
        Rule::AnyOf(names) => format!("at least one of {}", names.join(", ")),
    }
}

fn type_info(spec: &TypeSpec) -> TypeInfo {
    TypeInfo {
        name: spec.name,
        envelope: spec
            .needs
            .iter()
            .map(|n| need_words(*n).to_owned())
            .collect(),
        data: spec
            .fields
            .iter()
            .map(|f| FieldInfo {
                name: f.name,
                kind: kind_name(f.kind),
                description: kind_words(f.kind),
                required: f.required,
            })
            .collect(),
        rules: spec.rules.iter().map(|r| rule_words(*r)).collect(),
    }
}

/// The type table: the envelope, every known type with its required envelope fields
/// and its `data` fields, the open families and the reserved one.
pub fn type_table() -> TypeTable {
    TypeTable {
        envelope: ENVELOPE.to_vec(),
        types: TYPES.iter().map(type_info).collect(),
        open_families: open_families().to_vec(),
        reserved_family: RESERVED_FAMILY,
    }
}

// ---------------------------------------------------------------------------------
// JSON Schema

/// A regular expression character class of the characters `id_problem` refuses
/// (`char::is_control`: U+0000..=U+001F and U+007F..=U+009F).
const CONTROL: &str = "\\u0000-\\u001f\\u007f-\\u009f";

fn id_schema() -> Value {
    json!({
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_ID_CHARS,
        "pattern": format!("^[^{CONTROL}]*$"),
    })
}

/// A regular expression that matches `word` in any ASCII case.
fn any_case(word: &str) -> String {
    word.chars()
        .map(|c| {
            if c.is_ascii_alphabetic() {
                format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())
            } else if c.is_ascii_alphanumeric() || c == '_' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

fn choice_pattern(options: &[&str]) -> String {
    let alts: Vec<String> = options.iter().map(|o| any_case(o)).collect();
    format!("^(?:{})$", alts.join("|"))
}

/// Decimal text, as `decimal.rs` reads it: digits, an optional fraction, an optional
/// exponent; the sign as the kind allows.
fn decimal_pattern(sign: Sign) -> String {
    const BODY: &str = "[0-9]+(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$";
    match sign {
        // No minus sign, and a non-zero digit before any exponent.
        Sign::Positive => format!("^(?=[0-9.]*[1-9]){BODY}"),
        // A minus sign only before a zero ("-0", "-0.00e5").
        Sign::NonNegative => {
            format!("^(?:-(?=[0.]+(?:[eE][+-]?[0-9]+)?$))?{BODY}")
        }
        Sign::Any => format!("^-?{BODY}"),
    }
}

fn decimal_schema(sign: Sign, m: Magnitude) -> Value {
    let max = match m {
        Magnitude::QuantityOrPrice => 1e12,
        Magnitude::Amount => 1e18,
    };
    let mut number = json!({"type": "number", "maximum": max});
    match sign {
        Sign::Positive => number["exclusiveMinimum"] = json!(0),
        Sign::NonNegative => number["minimum"] = json!(0),
        Sign::Any => number["minimum"] = json!(-max),
    }
    json!({
        "anyOf": [
            {"type": "string", "pattern": decimal_pattern(sign)},
            number,
        ]
    })
}

/// RFC 3339 text as `time.rs` reads it (the shape; the calendar is the validator's).
const TIME_PATTERN: &str = "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\\.[0-9]{1,9})?)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})$";

fn time_schema() -> Value {
    json!({
        "anyOf": [
            {"type": "integer", "minimum": 0, "maximum": i64::MAX},
            {"type": "string", "pattern": TIME_PATTERN},
        ]
    })
}

fn kind_schema(kind: Kind) -> Value {
    match kind {
        Kind::Text => json!({"type": "string", "minLength": 1}),
        Kind::Id => json!({"$ref": "#/$defs/id"}),
        Kind::Decimal(sign, m) => decimal_schema(sign, m),
        Kind::Choice(options) => json!({"type": "string", "pattern": choice_pattern(options)}),
        Kind::Bool => json!({"type": "boolean"}),
        Kind::Time => json!({"$ref": "#/$defs/time"}),
        Kind::Collection => json!({"type": ["array", "object"]}),
        Kind::Any => json!(true),
    }
}

fn rule_schema(rule: Rule) -> Value {
    match rule {
        Rule::PricesForOrderType => {
            let when = |types: &[&str], then: &str| {
                json!({
                    "if": {
                        "properties": {"order_type": {"type": "string", "pattern": choice_pattern(types)}},
                        "required": ["order_type"],
                    },
                    "then": {"required": [then]},
                })
            };
            json!({"allOf": [when(NEED_PRICE, "price"), when(NEED_STOP_PRICE, "stop_price")]})
        }
        Rule::AnyOf(names) => json!({
            "anyOf": names.iter().map(|n| json!({"required": [n]})).collect::<Vec<_>>()
        }),
    }
}

/// The schema of one known type's event, on top of the envelope's.
fn type_schema(spec: &TypeSpec) -> Value {
    let mut required: Vec<&str> = Vec::new();
    let mut props = Map::new();
    for need in spec.needs {
        match need {
            Need::Trader => required.push("trader_id"),
            Need::Strategy => required.push("strategy_id"),
            Need::Account => required.push("account_id"),
            Need::Instrument => required.push("instrument_id"),
            Need::Entity(kind) => {
                required.push("entity");
                props.insert(
                    "entity".into(),
                    json!({"properties": {"kind": {"const": kind}}}),
                );
            }
            Need::CorrectionOf => {
                required.push("refs");
                props.insert("refs".into(), json!({"required": ["correction_of"]}));
            }
        }
    }
    let mut data_props = Map::new();
    let mut data_required: Vec<&str> = Vec::new();
    for f in spec.fields {
        data_props.insert(f.name.into(), kind_schema(f.kind));
        if f.required {
            data_required.push(f.name);
        }
    }
    let mut data = json!({"type": "object", "properties": data_props});
    if !data_required.is_empty() {
        data["required"] = json!(data_required);
    }
    let rules: Vec<Value> = spec.rules.iter().map(|r| rule_schema(*r)).collect();
    if !rules.is_empty() {
        data["allOf"] = json!(rules);
    }
    // A missing `data` is an empty one: it must be there when it must hold something.
    let data_needed = !data_required.is_empty()
        || spec
            .rules
            .iter()
            .any(|r| matches!(r, Rule::AnyOf(names) if !names.is_empty()));
    if data_needed {
        required.push("data");
    }
    props.insert("data".into(), data);
    let mut out = json!({"description": format!("{}: the envelope fields and data it requires", spec.name), "properties": props});
    if !required.is_empty() {
        out["required"] = json!(required);
    }
    out
}

/// One JSON Schema (draft 2020-12) that accepts the events `append` accepts: the
/// envelope (no other key; `seq`, `ts_recorded` and `prev` are the journal's), and for
/// each known type, selected by `type` with `if`/`then`, its required envelope fields
/// and `data`. Generated from the validator's type table; where it is looser than the
/// validator is said in this module's documentation (and docs/events.md).
pub fn json_schema() -> Value {
    let known: Vec<&str> = TYPES.iter().map(|t| t.name).collect();
    let open = format!("^(?:{})(?:\\.[a-z][a-z0-9_]*)+$", open_families().join("|"));
    let mut defs = Map::new();
    defs.insert("id".into(), id_schema());
    defs.insert("time".into(), time_schema());
    let mut selectors = Vec::new();
    for spec in TYPES {
        defs.insert(spec.name.into(), type_schema(spec));
        selectors.push(json!({
            "if": {"properties": {"type": {"const": spec.name}}, "required": ["type"]},
            "then": {"$ref": format!("#/$defs/{}", spec.name)},
        }));
    }
    let mut properties = Map::new();
    properties.insert(
        "type".into(),
        json!({
            "type": "string",
            "maxLength": MAX_TYPE_LEN,
            "anyOf": [{"enum": known}, {"pattern": open}],
        }),
    );
    properties.insert("ts_event".into(), json!({"$ref": "#/$defs/time"}));
    properties.insert("source".into(), json!({"$ref": "#/$defs/id"}));
    properties.insert(
        "actor".into(),
        json!({
            "type": "string",
            "pattern": format!(
                "^(?:system|(?:algo|trader|operator|service):[^{CONTROL}]{{1,{MAX_ID_CHARS}}})$"
            ),
        }),
    );
    properties.insert(
        "event_id".into(),
        json!({
            "type": "string",
            "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        }),
    );
    for key in ["trader_id", "strategy_id", "account_id", "instrument_id"] {
        properties.insert(key.into(), json!({"$ref": "#/$defs/id"}));
    }
    properties.insert(
        "entity".into(),
        json!({
            "type": "object",
            "required": ["kind", "id"],
            "properties": {"kind": {"$ref": "#/$defs/id"}, "id": {"$ref": "#/$defs/id"}},
            "additionalProperties": false,
        }),
    );
    properties.insert(
        "refs".into(),
        json!({
            "type": "object",
            "propertyNames": {"minLength": 1},
            "properties": {"correction_of": {"type": "integer", "minimum": 0}},
            "additionalProperties": {"anyOf": [{"$ref": "#/$defs/id"}, {"type": "integer"}]},
        }),
    );
    properties.insert("data".into(), json!({"type": "object"}));
    json!({
        "$schema": JSON_SCHEMA_DIALECT,
        "title": "tradetrail event",
        "description": format!(
            "An event as `tradetrail append` and POST /v1/events accept it. Generated from \
             the validator's type table (`tradetrail schema --json-schema`). Looser than the \
             validator in: the magnitude of decimals written as strings, the calendar of RFC \
             3339 times, keys given twice, and integers written as 1.0. The journal's own \
             keys ({}) and any other key not listed are refused.",
            JOURNAL_KEYS.join(", ")
        ),
        "type": "object",
        "required": ["type", "ts_event", "source", "actor"],
        "properties": properties,
        "additionalProperties": false,
        "allOf": selectors,
        "$defs": defs,
    })
}

// ---------------------------------------------------------------------------------
// Text and Markdown

/// The type table for a terminal: what `tradetrail schema` prints.
pub fn text() -> String {
    let t = type_table();
    let mut s = String::new();
    s.push_str(
        "Envelope (every event; no other key, and seq, ts_recorded, prev are the journal's):\n",
    );
    for f in &t.envelope {
        let need = if f.required { "required" } else { "optional" };
        let _ = writeln!(s, "  {:<14} {need}  {}", f.name, f.description);
    }
    s.push_str("\nKnown types (data fields not listed are the producer's own; never send null):\n");
    for ty in &t.types {
        let _ = writeln!(s, "\n{}", ty.name);
        if !ty.envelope.is_empty() {
            let _ = writeln!(s, "  requires       {}", ty.envelope.join(", "));
        }
        if ty.data.is_empty() {
            s.push_str("  (no data fields)\n");
        }
        for f in &ty.data {
            let need = if f.required { "required" } else { "optional" };
            let _ = writeln!(s, "  data.{:<20} {need}  {}", f.name, f.description);
        }
        for r in &ty.rules {
            let _ = writeln!(s, "  rule           {r}");
        }
    }
    let families: Vec<String> = t.open_families.iter().map(|f| format!("{f}.*")).collect();
    let _ = writeln!(
        s,
        "\nOpen families (any subtype; only the envelope is checked, data is free): {}",
        families.join(", ")
    );
    let _ = writeln!(
        s,
        "Reserved: {}.* (the journal's own records; refused from producers)",
        t.reserved_family
    );
    s
}

/// docs/events.md: the type table in Markdown (`tradetrail schema --markdown`).
pub fn markdown() -> String {
    let t = type_table();
    let mut s = String::new();
    s.push_str(
        "# Event types\n\n\
         <!-- Generated by `tradetrail schema --markdown` from the validator's type table \
         (crates/model/src/types.rs); a test fails when this file differs. Do not edit by \
         hand. -->\n\n\
         Every event `tradetrail append` and `POST /v1/events` accept, as the validator \
         checks it. `tradetrail schema` prints this table; `tradetrail schema --json-schema` \
         prints it as one JSON Schema (draft 2020-12), also served at `GET /v1/schema`.\n\n\
         ## Envelope\n\n\
         Every event is one JSON object with these keys and no other; `seq`, `ts_recorded` \
         and `prev` are assigned by the journal and refused from producers. `null` is never \
         accepted: leave an optional field out.\n\n\
         | field | | holds |\n|---|---|---|\n",
    );
    for f in &t.envelope {
        let need = if f.required { "required" } else { "optional" };
        let _ = writeln!(s, "| `{}` | {need} | {} |", f.name, md(f.description));
    }
    s.push_str(
        "\nAn id is a string of 1 to 128 characters without control characters.\n\n\
         ## Known types\n\n\
         A known type is checked strictly: the envelope fields it requires, and its `data` \
         fields, each of its kind. Fields of `data` a type does not list are the producer's \
         own and are kept as given.\n",
    );
    for ty in &t.types {
        let _ = writeln!(s, "\n### `{}`\n", ty.name);
        if !ty.envelope.is_empty() {
            let needs: Vec<String> = ty.envelope.iter().map(|n| format!("`{n}`")).collect();
            let _ = writeln!(s, "Requires {}.\n", needs.join(", "));
        }
        if ty.data.is_empty() {
            s.push_str("No `data` fields.\n");
        } else {
            s.push_str("| `data` field | | kind |\n|---|---|---|\n");
            for f in &ty.data {
                let need = if f.required { "required" } else { "optional" };
                let _ = writeln!(s, "| `{}` | {need} | {} |", f.name, md(&f.description));
            }
        }
        for r in &ty.rules {
            let _ = writeln!(s, "\nRule: {}.", md(r));
        }
    }
    let families: Vec<String> = t.open_families.iter().map(|f| format!("`{f}.*`")).collect();
    let _ = write!(
        s,
        "\n## Open and reserved families\n\n\
         Any subtype of {} is accepted with only the envelope checked; its `data` may hold \
         anything. `{}.*` types are the journal's own records and are refused from \
         producers. Any other type is refused, with the nearest known type suggested.\n\n\
         ## Where the JSON Schema is looser\n\n\
         The schema accepts nothing the validator refuses for a reason it can express; it \
         cannot express, and so accepts:\n\n\
         - the magnitude of a decimal written as a string (at most 10^12 for quantities and \
           prices, 10^18 for amounts; a decimal written as a number is bounded);\n\
         - the calendar of an RFC 3339 time (month 13, hour 24, a leap second): only its \
           shape is checked;\n\
         - a key given twice in one object;\n\
         - an integer written with a fraction or an exponent (`1.0`) where an integer is \
           required (`ts_event`, `refs.correction_of`, a time), and an integer time beyond \
           the range of ns in `i64` given as a string.\n",
        families.join(", "),
        t.reserved_family
    );
    s
}

/// Escapes the table separator, and `<` (which would start an HTML tag), for a
/// Markdown cell.
fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('<', "\\<")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lists_every_known_type_and_field() {
        let t = type_table();
        let names: Vec<&str> = t.types.iter().map(|t| t.name).collect();
        assert_eq!(names, crate::known_types());
        let filled = t.types.iter().find(|t| t.name == "order.filled").unwrap();
        assert_eq!(
            filled.envelope,
            ["trader_id", "instrument_id", "entity (kind \"order\")"]
        );
        let qty = filled.data.iter().find(|f| f.name == "fill_qty").unwrap();
        assert!(qty.required);
        assert_eq!(qty.kind, "decimal");
        assert!(qty.description.contains("> 0") && qty.description.contains("10^12"));
        let schema = json_schema();
        assert_eq!(schema["$schema"], JSON_SCHEMA_DIALECT);
        assert_eq!(
            schema["allOf"].as_array().unwrap().len(),
            crate::known_types().len()
        );
        assert_eq!(
            schema["$defs"]["order.filled"]["properties"]["data"]["required"],
            json!(["fill_qty", "fill_price", "trade_id"])
        );
        let text = text();
        for ty in crate::known_types() {
            assert!(text.contains(&format!("\n{ty}\n")), "{ty}");
            assert!(markdown().contains(&format!("### `{ty}`")), "{ty}");
        }
    }

    #[test]
    fn any_case_patterns() {
        assert_eq!(
            any_case("sell_short"),
            "[sS][eE][lL][lL]_[sS][hH][oO][rR][tT]"
        );
        assert_eq!(choice_pattern(&["a", "b1"]), "^(?:[aA]|[bB]1)$");
    }
}
