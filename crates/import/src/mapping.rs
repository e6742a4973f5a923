//! The mapping file: which column (or constant) gives each field of the event.
//!
//! ```toml
//! id = "id"                    # the column holding each row's own id (required)
//! naive_times = "utc"          # times without an offset are UTC (default: refused)
//!
//! [event]
//! type = { column = "action", map = "actions" }
//! ts_event = "created_at"
//! source = { value = "legacy_oms" }
//! actor = { column = "user_name", prefix = "trader:" }
//! trader_id = "trader"
//! "entity.kind" = { value = "order" }
//! "entity.id" = "order_id"
//!
//! [data]
//! side = { column = "side", map = "sides" }
//! quantity = "qty"
//!
//! [maps.actions]
//! SUBMIT = "order.submitted"
//! ```

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::{Error, Result, Row};

/// Where one field's value comes from.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    /// A column, optionally looked up in a value map and prefixed.
    Column {
        column: String,
        map: Option<String>,
        prefix: Option<String>,
    },
    /// The same value for every row.
    Const(Value),
}

/// The envelope fields a mapping may set.
const EVENT_FIELDS: &[&str] = &[
    "type",
    "ts_event",
    "source",
    "actor",
    "event_id",
    "trader_id",
    "strategy_id",
    "account_id",
    "instrument_id",
    "entity.kind",
    "entity.id",
];
const REQUIRED: &[&str] = &["type", "ts_event", "source", "actor"];

/// A parsed, checked mapping file.
#[derive(Debug, Clone)]
pub struct Mapping {
    id: String,
    naive_utc: bool,
    event: Vec<(String, Source)>,
    data: Vec<(String, Source)>,
    refs: Vec<(String, Source)>,
    maps: BTreeMap<String, BTreeMap<String, String>>,
    sha256: String,
}

fn bad(msg: impl Into<String>) -> Error {
    Error::Mapping(msg.into())
}

fn source_of(section: &str, key: &str, v: &toml::Value) -> Result<Source> {
    let at = format!("[{section}] {key}");
    match v {
        toml::Value::String(c) if !c.is_empty() => Ok(Source::Column {
            column: c.clone(),
            map: None,
            prefix: None,
        }),
        toml::Value::Table(t) => {
            for k in t.keys() {
                if !["column", "map", "prefix", "value"].contains(&k.as_str()) {
                    return Err(bad(format!(
                        "{at}: unknown key {k:?}: use column, map, prefix or value"
                    )));
                }
            }
            match (t.get("column"), t.get("value")) {
                (Some(toml::Value::String(c)), None) => Ok(Source::Column {
                    column: c.clone(),
                    map: text(&at, t.get("map"))?,
                    prefix: text(&at, t.get("prefix"))?,
                }),
                (None, Some(v)) if t.len() == 1 => Ok(Source::Const(
                    serde_json::to_value(v).map_err(|e| bad(format!("{at}: {e}")))?,
                )),
                _ => Err(bad(format!(
                    "{at}: give either column = \"...\" (with map and prefix if wanted) or value = ..."
                ))),
            }
        }
        _ => Err(bad(format!(
            "{at}: a column name, or a table {{ column = \"...\" }} or {{ value = ... }}"
        ))),
    }
}

fn text(at: &str, v: Option<&toml::Value>) -> Result<Option<String>> {
    match v {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad(format!("{at}: map and prefix are text"))),
    }
}

fn section(doc: &toml::Table, name: &str) -> Result<Vec<(String, Source)>> {
    match doc.get(name) {
        None => Ok(Vec::new()),
        Some(toml::Value::Table(t)) => t
            .iter()
            .map(|(k, v)| Ok((k.clone(), source_of(name, k, v)?)))
            .collect(),
        Some(_) => Err(bad(format!("[{name}] must be a table"))),
    }
}

/// A cell as text (numbers as written, booleans as true/false).
fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

impl Mapping {
    /// Parses and checks a mapping file.
    pub fn from_toml(text_in: &str) -> Result<Mapping> {
        let doc: toml::Table = text_in
            .parse()
            .map_err(|e: toml::de::Error| bad(e.to_string()))?;
        for k in doc.keys() {
            if !["id", "naive_times", "event", "data", "refs", "maps"].contains(&k.as_str()) {
                return Err(bad(format!(
                    "unknown key {k:?}: use id, naive_times, [event], [data], [refs], [maps.NAME]"
                )));
            }
        }
        let id = match doc.get("id") {
            Some(toml::Value::String(s)) if !s.is_empty() => s.clone(),
            _ => {
                return Err(bad(
                    "id: the column holding each row's own id is required (id = \"id\")",
                ))
            }
        };
        let naive_utc = match doc.get("naive_times") {
            None => false,
            Some(toml::Value::String(s)) if s == "utc" => true,
            Some(toml::Value::String(s)) if s == "refuse" => false,
            Some(_) => return Err(bad("naive_times: \"utc\" or \"refuse\"")),
        };
        let event = section(&doc, "event")?;
        for (k, _) in &event {
            if !EVENT_FIELDS.contains(&k.as_str()) {
                return Err(bad(format!(
                    "[event] {k}: not an envelope field: use {}",
                    EVENT_FIELDS.join(", ")
                )));
            }
        }
        for r in REQUIRED {
            if !event.iter().any(|(k, _)| k == r) {
                return Err(bad(format!("[event] {r}: required")));
            }
        }
        let mut maps = BTreeMap::new();
        if let Some(m) = doc.get("maps") {
            let toml::Value::Table(m) = m else {
                return Err(bad("[maps] must hold tables: [maps.NAME]"));
            };
            for (name, table) in m {
                let toml::Value::Table(t) = table else {
                    return Err(bad(format!("[maps.{name}] must be a table of text")));
                };
                let mut values = BTreeMap::new();
                for (k, v) in t {
                    let toml::Value::String(v) = v else {
                        return Err(bad(format!("[maps.{name}] {k}: the value must be text")));
                    };
                    values.insert(k.clone(), v.clone());
                }
                maps.insert(name.clone(), values);
            }
        }
        let m = Mapping {
            id,
            naive_utc,
            event,
            data: section(&doc, "data")?,
            refs: section(&doc, "refs")?,
            maps,
            sha256: hex::encode(Sha256::digest(text_in.as_bytes())),
        };
        for (sec, fields) in [("event", &m.event), ("data", &m.data), ("refs", &m.refs)] {
            for (k, s) in fields {
                if let Source::Column {
                    map: Some(name), ..
                } = s
                {
                    if !m.maps.contains_key(name) {
                        return Err(bad(format!("[{sec}] {k}: there is no [maps.{name}]")));
                    }
                }
            }
        }
        Ok(m)
    }

    /// The id column.
    pub fn id_column(&self) -> &str {
        &self.id
    }

    /// The SHA-256 of the mapping file's text (recorded in `import.completed`).
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The row's original id, if it has one.
    pub fn id_of(&self, row: &Row) -> Option<String> {
        row.columns.get(&self.id).and_then(as_text)
    }

    fn value(&self, s: &Source, row: &Row) -> std::result::Result<Option<Value>, (String, String)> {
        match s {
            Source::Const(v) => Ok(Some(v.clone())),
            Source::Column {
                column,
                map,
                prefix,
            } => {
                let Some(v) = row.columns.get(column) else {
                    return Err((column.clone(), "no such column in the source".to_string()));
                };
                if v.is_null() {
                    return Ok(None);
                }
                if map.is_none() && prefix.is_none() {
                    return Ok(Some(v.clone()));
                }
                let mut t = as_text(v).unwrap_or_default();
                if let Some(name) = map {
                    let values = self.maps.get(name);
                    match values.and_then(|m| m.get(&t)) {
                        Some(mapped) => t = mapped.clone(),
                        None => {
                            return Err((
                                column.clone(),
                                format!("value {t:?} is not in [maps.{name}]"),
                            ))
                        }
                    }
                }
                if let Some(p) = prefix {
                    t = format!("{p}{t}");
                }
                Ok(Some(Value::String(t)))
            }
        }
    }

    /// The event JSON for `row` of `source` and the row's id; or the field and why.
    pub(crate) fn event(
        &self,
        source: &str,
        row: &Row,
    ) -> std::result::Result<(String, Vec<u8>), (String, String)> {
        let Some(id) = self.id_of(row) else {
            return Err((
                self.id.clone(),
                "missing: each row needs its own id (the mapping's id column)".into(),
            ));
        };
        let mut ev = Map::new();
        let mut entity = Map::new();
        for (field, s) in &self.event {
            let Some(mut v) = self.value(s, row)? else {
                continue;
            };
            if field == "ts_event" && self.naive_utc {
                v = naive_to_utc(v);
            }
            match field.as_str() {
                "entity.kind" => {
                    entity.insert("kind".into(), v);
                }
                "entity.id" => {
                    entity.insert("id".into(), v);
                }
                f => {
                    ev.insert(f.to_string(), v);
                }
            }
        }
        if !entity.is_empty() {
            ev.insert("entity".into(), Value::Object(entity));
        }
        if !ev.contains_key("event_id") {
            ev.insert(
                "event_id".into(),
                Value::String(crate::import_event_id(source, &id)),
            );
        }
        let mut refs = Map::new();
        for (k, s) in &self.refs {
            if let Some(v) = self.value(s, row)? {
                refs.insert(k.clone(), v);
            }
        }
        refs.insert("import_id".into(), Value::String(id.clone()));
        ev.insert("refs".into(), Value::Object(refs));
        let mut data = Map::new();
        for (k, s) in &self.data {
            if let Some(v) = self.value(s, row)? {
                data.insert(k.clone(), v);
            }
        }
        if !data.is_empty() {
            ev.insert("data".into(), Value::Object(data));
        }
        let line = serde_json::to_vec(&Value::Object(ev))
            .map_err(|e| ("event".to_string(), e.to_string()))?;
        Ok((id, line))
    }
}

/// A time written without an offset, read as UTC: `2026-11-20 14:30:01` →
/// `2026-11-20T14:30:01Z`. Text with an offset, and numbers, are left alone.
fn naive_to_utc(v: Value) -> Value {
    let Value::String(s) = &v else {
        return v;
    };
    let t = s.trim().replacen(' ', "T", 1);
    let Some((_, time)) = t.split_once('T') else {
        return v;
    };
    if time.ends_with('Z') || time.ends_with('z') || time.contains('+') || time.contains('-') {
        return Value::String(t);
    }
    Value::String(format!("{t}Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naive_times_become_utc_and_offsets_stay() {
        let f = |s: &str| naive_to_utc(Value::String(s.into()));
        assert_eq!(
            f("2026-11-20 14:30:01.5"),
            Value::String("2026-11-20T14:30:01.5Z".into())
        );
        assert_eq!(
            f("2026-11-20T14:30:01+01:00"),
            Value::String("2026-11-20T14:30:01+01:00".into())
        );
        assert_eq!(
            f("2026-11-20T14:30:01Z"),
            Value::String("2026-11-20T14:30:01Z".into())
        );
    }

    #[test]
    fn bad_mappings_name_the_key() {
        let cases = [
            ("[event]\ntype = \"a\"", "id: the column"),
            ("id = \"id\"\n[event]\ntype = \"a\"\nts_event = \"t\"\nsource = \"s\"", "[event] actor: required"),
            ("id = \"id\"\n[event]\ncolour = \"c\"", "[event] colour: not an envelope field"),
            ("id = \"id\"\n[event]\ntype = { column = \"a\", map = \"nope\" }\nts_event = \"t\"\nsource = \"s\"\nactor = \"a\"", "there is no [maps.nope]"),
            ("id = \"id\"\nnaive_times = \"local\"", "naive_times"),
        ];
        for (text, want) in cases {
            let err = Mapping::from_toml(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
