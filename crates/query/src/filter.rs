//! What to look for: [`Filter`], and the parsing of times, windows and patterns that
//! the CLI and the server share.

use serde::Serialize;
use tradetrail_model::Zone;

use crate::dict::Dim;
use crate::{Error, Result};

/// Which timestamp a time range is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// `ts_event`: when it happened at the source (the default).
    #[default]
    Event,
    /// `ts_recorded`: when the journal accepted it.
    Recorded,
}

/// A combination of conditions, all of which a record must meet.
///
/// Patterns may contain `*` (any run of characters, dots included): `order.*`,
/// `*.rejected`, `trader:*`. Several patterns for one field match any of them. A
/// record without the field never matches a pattern for it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Filter {
    /// Inclusive lower bound, ns since the epoch.
    pub from: Option<i64>,
    /// Exclusive upper bound, ns since the epoch.
    pub to: Option<i64>,
    /// Which timestamp `from`/`to` bound.
    pub clock: Clock,
    /// `type` patterns.
    pub types: Vec<String>,
    /// `source` patterns.
    pub sources: Vec<String>,
    /// `actor` patterns.
    pub actors: Vec<String>,
    /// `trader_id` patterns.
    pub traders: Vec<String>,
    /// `strategy_id` patterns.
    pub strategies: Vec<String>,
    /// `account_id` patterns.
    pub accounts: Vec<String>,
    /// `instrument_id` patterns.
    pub instruments: Vec<String>,
    /// `entity.kind` patterns.
    pub kinds: Vec<String>,
    /// Records whose `entity.id` is exactly this.
    pub entity: Option<String>,
    /// Records that name this id, as `entity.id` or as a value in `refs`.
    pub mentions: Option<String>,
    /// `level`: operational log lines at or above this level (`types` holds their
    /// `log.<level>` types).
    pub level: Option<String>,
    /// Free text: records whose `data` (its JSON text, as recorded) contains this,
    /// ignoring ASCII case. Checked on each candidate's line, after the other
    /// conditions have narrowed them down.
    pub text: Option<String>,
}

/// Why `level` and `type` do not go together.
const LEVEL_AND_TYPE: &str =
    "--level picks the log.* types itself: give --level or --type, not both";

impl Filter {
    /// Sets one condition from a `name=value` pair, as the HTTP query string and the
    /// CLI flags name them: `from`, `to` (times, see [`parse_time`]), `recorded`
    /// (`true` puts `from`/`to` on `ts_recorded`), `type`, `source`, `actor`, `trader`,
    /// `strategy`, `account`, `instrument`, `kind` (patterns; a comma separates
    /// several), `entity`, `mentions` (exact ids), `text` (free text in `data`,
    /// ignoring ASCII case); for operational log lines, `level`
    /// (`warning`: the `log.warning`, `log.error` and `log.critical` types) and
    /// `category` (the log line's entity, kind `log`).
    pub fn set(&mut self, name: &str, value: &str) -> Result<()> {
        self.set_in(name, value, &Zone::utc())
    }

    /// [`Filter::set`], reading `from` and `to` values without an offset in `zone`
    /// (see [`parse_time_in`]).
    pub fn set_in(&mut self, name: &str, value: &str, zone: &Zone) -> Result<()> {
        let field = format!("--{name}");
        let list = |v: &str| -> Result<Vec<String>> {
            let items: Vec<String> = v.split(',').map(|s| s.trim().to_owned()).collect();
            if items.iter().any(String::is_empty) {
                return Err(Error::bad_input(&field, "empty pattern"));
            }
            Ok(items)
        };
        let id = |v: &str| -> Result<String> {
            if v.is_empty() {
                return Err(Error::bad_input(&field, "empty id"));
            }
            Ok(v.to_owned())
        };
        match name {
            "from" => self.from = Some(parse_time_in(&field, value, zone)?),
            "to" => self.to = Some(parse_time_in(&field, value, zone)?),
            "recorded" => {
                self.clock = match value {
                    "" | "true" | "1" | "yes" => Clock::Recorded,
                    "false" | "0" | "no" => Clock::Event,
                    _ => return Err(Error::bad_input(&field, "use true or false")),
                }
            }
            "type" => {
                if self.level.is_some() {
                    return Err(Error::bad_input(&field, LEVEL_AND_TYPE));
                }
                self.types.extend(list(value)?)
            }
            "level" => {
                if !self.types.is_empty() && self.level.is_none() {
                    return Err(Error::bad_input(&field, LEVEL_AND_TYPE));
                }
                let levels = tradetrail_model::LOG_LEVELS;
                let Some(at) = levels
                    .iter()
                    .position(|l| l.eq_ignore_ascii_case(value.trim()))
                else {
                    return Err(Error::bad_input(
                        &field,
                        format!("unknown level {value:?}: use {}", levels.join(", ")),
                    ));
                };
                self.level = levels.get(at).map(|l| (*l).to_owned());
                self.types = levels
                    .get(at..)
                    .unwrap_or_default()
                    .iter()
                    .map(|l| format!("log.{l}"))
                    .collect();
            }
            "category" => {
                // A log line's category is its entity's id (kind `log`).
                self.kinds = vec!["log".to_owned()];
                self.entity = Some(id(value)?);
            }
            "source" => self.sources.extend(list(value)?),
            "actor" => self.actors.extend(list(value)?),
            "trader" | "trader_id" => self.traders.extend(list(value)?),
            "strategy" | "strategy_id" => self.strategies.extend(list(value)?),
            "account" | "account_id" => self.accounts.extend(list(value)?),
            "instrument" | "instrument_id" => self.instruments.extend(list(value)?),
            "kind" | "entity_kind" => self.kinds.extend(list(value)?),
            "entity" => self.entity = Some(id(value)?),
            "mentions" | "id" => self.mentions = Some(id(value)?),
            "text" => {
                let t = value.trim();
                if t.is_empty() {
                    return Err(Error::bad_input(&field, "empty text"));
                }
                if t.len() > 200 {
                    return Err(Error::bad_input(&field, "longer than 200 bytes"));
                }
                self.text = Some(t.to_owned());
            }
            _ => {
                return Err(Error::bad_input(
                    name,
                    "unknown filter: use from, to, recorded, type, source, actor, trader, \
                     strategy, account, instrument, kind, entity, mentions, text, level or \
                     category",
                ))
            }
        }
        Ok(())
    }

    /// Checks the filter as a whole: a range must not be empty.
    pub fn check(&self) -> Result<()> {
        if let (Some(f), Some(t)) = (self.from, self.to) {
            if f >= t {
                return Err(Error::bad_input(
                    "--to",
                    format!(
                        "the range is empty: --to ({}) must be after --from ({}); --from is \
                         inclusive, --to exclusive",
                        tradetrail_model::format_time(t),
                        tradetrail_model::format_time(f)
                    ),
                ));
            }
        }
        for (dim, pats) in self.pattern_lists() {
            for p in pats {
                if p.is_empty() {
                    return Err(Error::bad_input(format!("--{dim}"), "empty pattern"));
                }
            }
        }
        Ok(())
    }

    /// The patterns for each dimension.
    pub(crate) fn pattern_lists(&self) -> [(Dim, &[String]); 8] {
        [
            (Dim::Type, &self.types),
            (Dim::Source, &self.sources),
            (Dim::Actor, &self.actors),
            (Dim::Trader, &self.traders),
            (Dim::Strategy, &self.strategies),
            (Dim::Account, &self.accounts),
            (Dim::Instrument, &self.instruments),
            (Dim::EntityKind, &self.kinds),
        ]
    }

    /// Whether the filter has a time range.
    pub fn has_time(&self) -> bool {
        self.from.is_some() || self.to.is_some()
    }
}

/// Parses a time as [`parse_time_in`] does, in UTC.
pub fn parse_time(field: &str, s: &str) -> Result<i64> {
    parse_time_in(field, s, &Zone::utc())
}

/// Parses a `--from`, `--to` or `--at` value (`tradetrail_model::parse_time_in`):
/// RFC 3339 with `Z` or an offset, or ns since the epoch, are absolute; a date is its
/// local midnight in `zone`, and a date-time without an offset (`2026-11-26T09:30`)
/// that wall-clock time in `zone`. The error names `field`.
pub fn parse_time_in(field: &str, s: &str, zone: &Zone) -> Result<i64> {
    tradetrail_model::parse_time_in(s.trim(), zone)
        .map_err(|reason| Error::bad_input(field, reason))
}

/// Parses a `--tz` value (`UTC`, an IANA name, `+02:00`), naming `field` in the error.
pub fn parse_zone(field: &str, s: &str) -> Result<Zone> {
    Zone::parse(s).map_err(|reason| Error::bad_input(field, reason))
}

/// Parses a duration: a number and a unit (`500ms`, `30s`, `5m`, `2h`, `1d`; also
/// `ns`, `us`), or several (`1h30m`). Returns ns; must be positive.
pub fn parse_window(field: &str, s: &str) -> Result<i64> {
    let bad = || {
        Error::bad_input(
            field,
            format!("{s:?} is not a duration: use e.g. 500ms, 30s, 5m, 2h, 1d or 1h30m"),
        )
    };
    let b = s.trim().as_bytes();
    if b.is_empty() {
        return Err(bad());
    }
    let mut total: i64 = 0;
    let mut i = 0;
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return Err(bad());
        }
        let n: i64 = std::str::from_utf8(&b[start..i])
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or_else(bad)?;
        let ustart = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit: i64 = match &b[ustart..i] {
            b"ns" => 1,
            b"us" => 1_000,
            b"ms" => 1_000_000,
            b"s" => 1_000_000_000,
            b"m" | b"min" => 60_000_000_000,
            b"h" => 3_600_000_000_000,
            b"d" => 86_400_000_000_000,
            _ => return Err(bad()),
        };
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
    }
    if total <= 0 {
        return Err(Error::bad_input(
            field,
            "the window must be longer than zero",
        ));
    }
    Ok(total)
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] != b'*' && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            pi += 1;
            mark = ti;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows() {
        assert_eq!(parse_window("w", "5m").unwrap(), 300_000_000_000);
        assert_eq!(parse_window("w", "30s").unwrap(), 30_000_000_000);
        assert_eq!(parse_window("w", "2h").unwrap(), 7_200_000_000_000);
        assert_eq!(parse_window("w", "500ms").unwrap(), 500_000_000);
        assert_eq!(parse_window("w", "1h30m").unwrap(), 5_400_000_000_000);
        for bad in ["", "5", "m", "5x", "-5m", "0s", "5 m", "99999999999999d"] {
            let e = parse_window("--window", bad).unwrap_err();
            assert!(e.is_bad_input(), "{bad}");
            assert!(e.to_string().starts_with("--window"), "{e}");
        }
    }

    #[test]
    fn globs() {
        assert!(glob_match("order.*", "order.filled"));
        assert!(!glob_match("order.*", "orders.filled"));
        assert!(glob_match("*.rejected", "risk.rejected"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXbYc"));
        assert!(!glob_match("a*b*c", "aXbY"));
        assert!(glob_match("order.filled", "order.filled"));
        assert!(!glob_match("order.filled", "order.filled2"));
        assert!(glob_match("**x", "abx"));
    }

    #[test]
    fn set_and_check() {
        let mut f = Filter::default();
        f.set("type", "order.*,risk.rejected").unwrap();
        f.set("from", "2026-11-21T14:00Z").unwrap();
        f.set("to", "2026-11-21T15:00Z").unwrap();
        assert_eq!(f.types, ["order.*", "risk.rejected"]);
        f.check().unwrap();
        f.set("to", "2026-11-21T14:00Z").unwrap();
        let e = f.check().unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
        let e = f.set("from", "yesterday").unwrap_err();
        assert!(
            e.is_bad_input() && e.to_string().starts_with("--from"),
            "{e}"
        );
        assert!(f.set("colour", "red").unwrap_err().is_bad_input());
        assert!(f.set("type", "a,,b").unwrap_err().is_bad_input());
    }
}
