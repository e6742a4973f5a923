//! Dictionaries of the low-cardinality attributes, and their combinations.
//!
//! Each [`Dim`] (type, source, actor, trader, strategy, account, instrument, entity
//! kind) has its own dictionary: code 0 means "absent", codes from 1 are strings in
//! the order they were first seen. A record's eight codes together are its *combo*,
//! itself interned: a row stores one `u32` for all eight attributes. Real journals have
//! few distinct combinations (a trader trades a few instruments through a few
//! strategies), so a filter is decided once per combo, not once per row, and counts by
//! any dimension are a histogram of combos.
//!
//! On disk both are append-only logs (`strings.bin`, `combos.bin`) whose valid length
//! is recorded in the index's meta file; codes are positions in the log, so appending
//! never renumbers anything.

use serde::Serialize;

use crate::postings::FastMap;

use crate::{Error, Result};

/// A dimension records can be filtered and counted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dim {
    /// `type`
    Type,
    /// `source`
    Source,
    /// `actor`
    Actor,
    /// `trader_id`
    Trader,
    /// `strategy_id`
    Strategy,
    /// `account_id`
    Account,
    /// `instrument_id`
    Instrument,
    /// `entity.kind`
    EntityKind,
}

/// Number of dimensions.
pub(crate) const DIMS: usize = 8;

impl Dim {
    /// Every dimension, in code order.
    pub const ALL: [Dim; DIMS] = [
        Dim::Type,
        Dim::Source,
        Dim::Actor,
        Dim::Trader,
        Dim::Strategy,
        Dim::Account,
        Dim::Instrument,
        Dim::EntityKind,
    ];

    /// The name used by `--by` and in output headers.
    pub fn name(self) -> &'static str {
        match self {
            Dim::Type => "type",
            Dim::Source => "source",
            Dim::Actor => "actor",
            Dim::Trader => "trader",
            Dim::Strategy => "strategy",
            Dim::Account => "account",
            Dim::Instrument => "instrument",
            Dim::EntityKind => "kind",
        }
    }

    /// Parses a `--by` value (`entity_kind` is accepted for `kind`, and the record's
    /// field names `trader_id`, ... for the short ones).
    pub fn parse(s: &str) -> Result<Dim> {
        let d = match s {
            "type" => Dim::Type,
            "source" => Dim::Source,
            "actor" => Dim::Actor,
            "trader" | "trader_id" => Dim::Trader,
            "strategy" | "strategy_id" => Dim::Strategy,
            "account" | "account_id" => Dim::Account,
            "instrument" | "instrument_id" => Dim::Instrument,
            "kind" | "entity_kind" | "entity.kind" => Dim::EntityKind,
            _ => {
                return Err(Error::bad_input(
                    "--by",
                    format!(
                        "unknown dimension {s:?}: use one of {}",
                        Dim::ALL.map(Dim::name).join(", ")
                    ),
                ))
            }
        };
        Ok(d)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    fn from_index(i: u8) -> Option<Dim> {
        Dim::ALL.get(usize::from(i)).copied()
    }
}

impl std::fmt::Display for Dim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A row's eight attribute codes.
pub(crate) type Combo = [u32; DIMS];

#[derive(Debug, Default, Clone)]
struct Strings {
    /// `values[code - 1]`.
    values: Vec<String>,
    map: FastMap<String, u32>,
}

/// The dictionaries and the combos, with what is not yet on disk.
#[derive(Debug, Default, Clone)]
pub(crate) struct Dicts {
    dims: [Strings; DIMS],
    combos: Vec<Combo>,
    combo_map: FastMap<Combo, u32>,
    /// Strings interned since the last flush, in order.
    new_strings: Vec<(Dim, u32)>,
    /// Combos `[persisted_combos..]` are not on disk yet.
    persisted_combos: usize,
}

impl Dicts {
    /// The code of `value` in `dim`, interning it if new. `None` is code 0.
    pub fn intern(&mut self, dim: Dim, value: Option<&str>) -> u32 {
        let Some(v) = value else { return 0 };
        let s = &mut self.dims[dim.index()];
        if let Some(&c) = s.map.get(v) {
            return c;
        }
        s.values.push(v.to_owned());
        let code = s.values.len() as u32;
        s.map.insert(v.to_owned(), code);
        self.new_strings.push((dim, code));
        code
    }

    /// The code of a combo, interning it if new.
    pub fn intern_combo(&mut self, combo: Combo) -> u32 {
        if let Some(&c) = self.combo_map.get(&combo) {
            return c;
        }
        let c = self.combos.len() as u32;
        self.combos.push(combo);
        self.combo_map.insert(combo, c);
        c
    }

    /// The string of a code (`None` for 0 or an unknown code).
    pub fn value(&self, dim: Dim, code: u32) -> Option<&str> {
        let i = usize::try_from(code).ok()?.checked_sub(1)?;
        self.dims[dim.index()].values.get(i).map(String::as_str)
    }

    /// Every value of a dimension with its code.
    pub fn values(&self, dim: Dim) -> impl Iterator<Item = (u32, &str)> {
        self.dims[dim.index()]
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| (i as u32 + 1, v.as_str()))
    }

    /// The combos, by code.
    pub fn combos(&self) -> &[Combo] {
        &self.combos
    }

    /// Appends what is not on disk yet to the two logs' buffers (see [`Dicts::mark_flushed`]).
    pub fn unflushed(&self, strings: &mut Vec<u8>, combos: &mut Vec<u8>) {
        for &(dim, code) in &self.new_strings {
            let v = &self.dims[dim.index()].values[code as usize - 1];
            strings.push(dim as u8);
            strings.extend_from_slice(&(v.len() as u32).to_le_bytes());
            strings.extend_from_slice(v.as_bytes());
        }
        for c in &self.combos[self.persisted_combos..] {
            for code in c {
                combos.extend_from_slice(&code.to_le_bytes());
            }
        }
    }

    /// What [`Dicts::unflushed`] returned is now on disk.
    pub fn mark_flushed(&mut self) {
        self.new_strings.clear();
        self.persisted_combos = self.combos.len();
    }

    /// Rebuilds the dictionaries from the two logs (as much as the meta file counts).
    pub fn load(strings: &[u8], combos: &[u8]) -> Option<Dicts> {
        let mut d = Dicts::default();
        let mut pos = 0;
        while pos < strings.len() {
            let dim = Dim::from_index(*strings.get(pos)?)?;
            let len = u32::from_le_bytes(strings.get(pos + 1..pos + 5)?.try_into().ok()?) as usize;
            let bytes = strings.get(pos + 5..pos + 5 + len)?;
            let v = std::str::from_utf8(bytes).ok()?;
            pos += 5 + len;
            let s = &mut d.dims[dim.index()];
            if s.map.contains_key(v) {
                return None;
            }
            s.values.push(v.to_owned());
            s.map.insert(v.to_owned(), s.values.len() as u32);
        }
        if !combos.len().is_multiple_of(4 * DIMS) {
            return None;
        }
        for chunk in combos.chunks_exact(4 * DIMS) {
            let mut c = [0u32; DIMS];
            for (i, b) in chunk.chunks_exact(4).enumerate() {
                c[i] = u32::from_le_bytes(b.try_into().ok()?);
                if c[i] as usize > d.dims[i].values.len() {
                    return None;
                }
            }
            let code = d.combos.len() as u32;
            if d.combo_map.insert(c, code).is_some() {
                return None;
            }
            d.combos.push(c);
        }
        d.persisted_combos = d.combos.len();
        Some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_through_the_logs() {
        let mut d = Dicts::default();
        let t = d.intern(Dim::Type, Some("order.filled"));
        let s = d.intern(Dim::Source, Some("oms"));
        assert_eq!(d.intern(Dim::Type, Some("order.filled")), t);
        assert_eq!(d.intern(Dim::Trader, None), 0);
        let c = d.intern_combo([t, s, 0, 0, 0, 0, 0, 0]);
        let (mut sb, mut cb) = (Vec::new(), Vec::new());
        d.unflushed(&mut sb, &mut cb);
        d.mark_flushed();
        let t2 = d.intern(Dim::Type, Some("order.cancelled"));
        let c2 = d.intern_combo([t2, s, 0, 0, 0, 0, 0, 0]);
        d.unflushed(&mut sb, &mut cb);
        d.mark_flushed();
        let back = Dicts::load(&sb, &cb).unwrap();
        assert_eq!(back.value(Dim::Type, t), Some("order.filled"));
        assert_eq!(back.value(Dim::Type, t2), Some("order.cancelled"));
        assert_eq!(back.value(Dim::Source, s), Some("oms"));
        assert_eq!(back.combos()[c as usize], [t, s, 0, 0, 0, 0, 0, 0]);
        assert_eq!(back.combos()[c2 as usize][0], t2);
        assert!(Dicts::load(&sb[..sb.len() - 1], &cb).is_none());
    }

    #[test]
    fn dims_parse() {
        assert_eq!(Dim::parse("type").unwrap(), Dim::Type);
        assert_eq!(Dim::parse("entity_kind").unwrap(), Dim::EntityKind);
        let e = Dim::parse("colour").unwrap_err();
        assert!(e.is_bad_input());
        assert!(e.to_string().contains("--by"), "{e}");
    }
}
