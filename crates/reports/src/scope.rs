//! What a report covers: the time range and whose records ([`ReportFilter`]), and the
//! request as the CLI flags and the HTTP query parameters name it ([`ReportRequest`]).

use serde::{Deserialize, Serialize};
use time::{Date, Month, OffsetDateTime};

use crate::record::Rec;
use crate::{Error, Result};

const NS_PER_DAY: i64 = 86_400 * 1_000_000_000;

/// Whose records a report reads. Every id is matched exactly.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// Only records with this `trader_id` (a trader's token sets it: a trader sees
    /// only their own records, desk-wide events included only if attributed to them).
    pub trader_id: Option<String>,
    /// Only records with this `strategy_id`.
    pub strategy_id: Option<String>,
    /// Only records with this `account_id`.
    pub account_id: Option<String>,
}

impl Scope {
    /// Whether `r` is inside the scope.
    pub fn admits(&self, r: &Rec) -> bool {
        fn ok(want: &Option<String>, have: &Option<String>) -> bool {
            want.as_ref().is_none_or(|w| have.as_ref() == Some(w))
        }
        ok(&self.trader_id, &r.trader_id)
            && ok(&self.strategy_id, &r.strategy_id)
            && ok(&self.account_id, &r.account_id)
    }
}

/// The records a report covers: `from <= ts_event < to` (ns, UTC), within `scope`.
/// `None` bounds are open.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportFilter {
    /// Inclusive lower bound on `ts_event`, ns since the epoch.
    pub from: Option<i64>,
    /// Exclusive upper bound on `ts_event`, ns since the epoch.
    pub to: Option<i64>,
    /// Whose records.
    #[serde(flatten)]
    pub scope: Scope,
}

impl ReportFilter {
    /// A filter on `[from, to)` for everyone's records.
    pub fn range(from: Option<i64>, to: Option<i64>) -> ReportFilter {
        ReportFilter {
            from,
            to,
            scope: Scope::default(),
        }
    }

    /// Whether an instant (ns, `ts_event`) is in `[from, to)`.
    pub fn contains(&self, ts: i64) -> bool {
        self.from.is_none_or(|f| ts >= f) && self.to.is_none_or(|t| ts < t)
    }

    /// The same filter restricted to one trader (what a trader's token sees).
    pub fn for_trader(mut self, trader_id: impl Into<String>) -> ReportFilter {
        self.scope.trader_id = Some(trader_id.into());
        self
    }

    /// The range as text: `2026-11-20`, `2026-11-20 .. 2026-11-23`, or with times.
    pub fn describe(&self) -> String {
        let one = |ns: i64| {
            if ns.rem_euclid(NS_PER_DAY) == 0 {
                format_date(ns)
            } else {
                tradetrail_model::format_time(ns)
            }
        };
        match (self.from, self.to) {
            (Some(f), Some(t)) if t - f == NS_PER_DAY && f.rem_euclid(NS_PER_DAY) == 0 => {
                format_date(f)
            }
            (Some(f), Some(t)) => format!("{} .. {}", one(f), one(t)),
            (Some(f), None) => format!("from {}", one(f)),
            (None, Some(t)) => format!("until {}", one(t)),
            (None, None) => "all records".into(),
        }
    }
}

/// The UTC date of an instant, `YYYY-MM-DD`.
pub fn format_date(ns: i64) -> String {
    let d = day_of(ns);
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

/// The UTC date an instant falls on.
pub(crate) fn day_of(ns: i64) -> Date {
    let secs = ns.div_euclid(1_000_000_000);
    OffsetDateTime::from_unix_timestamp(secs)
        .map(|t| t.date())
        .unwrap_or(Date::MIN)
}

/// ns since the epoch of a date's UTC midnight.
pub(crate) fn midnight(d: Date) -> i64 {
    d.midnight().assume_utc().unix_timestamp() * 1_000_000_000
}

/// `YYYY-MM-DD` → the date, or an error naming `field`.
pub fn parse_date(field: &str, s: &str) -> Result<Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    if s.len() != 10 {
        return Err(Error::bad_input(
            field,
            format!("{s:?} is not a date: use YYYY-MM-DD, e.g. 2026-11-21"),
        ));
    }
    Date::parse(s, &fmt).map_err(|e| {
        Error::bad_input(
            field,
            format!("{s:?} is not a date ({e}): use YYYY-MM-DD, e.g. 2026-11-21"),
        )
    })
}

fn parse_year_text(field: &str, s: &str, what: &str) -> Result<i32> {
    if s.len() != 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::bad_input(field, format!("{s:?} is not a {what}")));
    }
    let y: i32 = s
        .parse()
        .map_err(|_| Error::bad_input(field, "not a year"))?;
    if y < 1970 {
        return Err(Error::bad_input(
            field,
            format!("{s:?}: years before 1970 are before the journal's epoch"),
        ));
    }
    Ok(y)
}

/// `YYYY-MM` → `[first day, first day of the next month)` in ns, or an error naming `field`.
pub fn parse_month(field: &str, s: &str) -> Result<(i64, i64)> {
    let bad = || {
        Error::bad_input(
            field,
            format!("{s:?} is not a month: use YYYY-MM, e.g. 2026-11"),
        )
    };
    let (y, m) = s.split_once('-').ok_or_else(bad)?;
    let year = parse_year_text(field, y, "month: use YYYY-MM, e.g. 2026-11")?;
    if m.len() != 2 || !m.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let month = m
        .parse::<u8>()
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or_else(bad)?;
    let first = Date::from_calendar_date(year, month, 1).map_err(|_| bad())?;
    let next = if month == Month::December {
        Date::from_calendar_date(year + 1, Month::January, 1)
    } else {
        Date::from_calendar_date(year, month.next(), 1)
    }
    .map_err(|_| bad())?;
    Ok((midnight(first), midnight(next)))
}

/// `YYYY` → `[Jan 1, Jan 1 of the next year)` in ns, or an error naming `field`.
pub fn parse_year(field: &str, s: &str) -> Result<(i64, i64)> {
    let year = parse_year_text(field, s, "year: use YYYY, e.g. 2026")?;
    let d = |y| {
        Date::from_calendar_date(y, Month::January, 1)
            .map_err(|_| Error::bad_input(field, format!("{s:?} is out of range")))
    };
    Ok((midnight(d(year)?), midnight(d(year + 1)?)))
}

/// The reports there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// Per-day trading summary (trades, volume, P&L, win rate, Sharpe).
    Daily,
    /// Per-month performance.
    Monthly,
    /// Execution quality: slippage, fill ratio, latencies, rejects.
    Execution,
    /// Realized gains per closed lot.
    Tax,
    /// Per trader and strategy: orders, rejects, approvals, overrides, changes, kill switches.
    Compliance,
    /// Reconciliation runs, discrepancies and reviews.
    Reconciliation,
}

impl ReportKind {
    /// Every kind, in the order documented.
    pub const ALL: [ReportKind; 6] = [
        ReportKind::Daily,
        ReportKind::Monthly,
        ReportKind::Execution,
        ReportKind::Tax,
        ReportKind::Compliance,
        ReportKind::Reconciliation,
    ];

    /// The kind's name as the CLI and the URL spell it.
    pub fn name(self) -> &'static str {
        match self {
            ReportKind::Daily => "daily",
            ReportKind::Monthly => "monthly",
            ReportKind::Execution => "execution",
            ReportKind::Tax => "tax",
            ReportKind::Compliance => "compliance",
            ReportKind::Reconciliation => "reconciliation",
        }
    }

    /// Parses a kind's name.
    pub fn parse(s: &str) -> Result<ReportKind> {
        ReportKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                Error::bad_input(
                    "kind",
                    format!(
                        "unknown report {s:?}: use {}",
                        ReportKind::ALL.map(|k| k.name()).join(", ")
                    ),
                )
            })
    }
}

/// A report request: the kind and what it covers, built from `name=value` pairs as the
/// CLI flags and the HTTP query string name them (see [`ReportRequest::set`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRequest {
    /// Which report.
    pub kind: ReportKind,
    /// What it covers.
    pub filter: ReportFilter,
    /// Which range shorthand set the range (`date`, `month`, `year`), if any.
    #[serde(skip)]
    shorthand: Option<&'static str>,
    #[serde(skip)]
    explicit: Vec<&'static str>,
}

impl ReportRequest {
    /// A request for `kind` over all records.
    pub fn new(kind: ReportKind) -> ReportRequest {
        ReportRequest {
            kind,
            filter: ReportFilter::default(),
            shorthand: None,
            explicit: Vec::new(),
        }
    }

    /// Sets one condition: `from`, `to` (RFC 3339, a date, or ns since the epoch),
    /// `date` (`YYYY-MM-DD`: that UTC day), `month` (`YYYY-MM`), `year` (`YYYY`),
    /// `trader`, `strategy`, `account` (exact ids). Errors name the flag (`--date`).
    /// A shorthand and `from`/`to` together are refused, as are two shorthands.
    pub fn set(&mut self, name: &str, value: &str) -> Result<()> {
        let field = format!("--{name}");
        let id = |v: &str| -> Result<String> {
            if v.is_empty() {
                return Err(Error::bad_input(&field, "empty id"));
            }
            Ok(v.to_owned())
        };
        match name {
            "from" | "to" => {
                if let Some(s) = self.shorthand {
                    return Err(Error::bad_input(
                        &field,
                        format!("give either --{s} or --from/--to, not both"),
                    ));
                }
                let ns = tradetrail_model::parse_time(value)
                    .map_err(|reason| Error::bad_input(&field, reason))?;
                if name == "from" {
                    self.filter.from = Some(ns);
                    self.explicit.push("from");
                } else {
                    self.filter.to = Some(ns);
                    self.explicit.push("to");
                }
            }
            "date" | "month" | "year" => {
                let short: &'static str = match name {
                    "date" => "date",
                    "month" => "month",
                    _ => "year",
                };
                if let Some(s) = self.shorthand {
                    return Err(Error::bad_input(
                        &field,
                        format!("give one of --date, --month, --year (--{s} is already given)"),
                    ));
                }
                if let Some(e) = self.explicit.first() {
                    return Err(Error::bad_input(
                        &field,
                        format!("give either --{short} or --from/--to, not both (--{e} is given)"),
                    ));
                }
                let (from, to) = match short {
                    "date" => {
                        let d = parse_date(&field, value)?;
                        let f = midnight(d);
                        (f, f + NS_PER_DAY)
                    }
                    "month" => parse_month(&field, value)?,
                    _ => parse_year(&field, value)?,
                };
                self.filter.from = Some(from);
                self.filter.to = Some(to);
                self.shorthand = Some(short);
            }
            "trader" | "trader_id" => self.filter.scope.trader_id = Some(id(value)?),
            "strategy" | "strategy_id" => self.filter.scope.strategy_id = Some(id(value)?),
            "account" | "account_id" => self.filter.scope.account_id = Some(id(value)?),
            _ => return Err(Error::bad_input(
                name,
                "unknown parameter: use from, to, date, month, year, trader, strategy or account",
            )),
        }
        self.check()
    }

    /// Checks the request as a whole: a range must not be empty.
    pub fn check(&self) -> Result<()> {
        if let (Some(f), Some(t)) = (self.filter.from, self.filter.to) {
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
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_months_years() {
        let mut r = ReportRequest::new(ReportKind::Daily);
        r.set("date", "2026-11-26").unwrap();
        assert_eq!(r.filter.from, Some(1_795_651_200_000_000_000));
        assert_eq!(r.filter.to, Some(1_795_651_200_000_000_000 + NS_PER_DAY));
        assert_eq!(r.filter.describe(), "2026-11-26");
        let (f, t) = parse_month("--month", "2026-12").unwrap();
        assert_eq!(format_date(f), "2026-12-01");
        assert_eq!(format_date(t), "2027-01-01");
        let (f, t) = parse_year("--year", "2024").unwrap();
        assert_eq!((t - f) / NS_PER_DAY, 366, "2024 is a leap year");
    }

    #[test]
    fn bad_values_name_their_flag() {
        for (name, value) in [
            ("date", "2026-11-31"),
            ("date", "2026-13-01"),
            ("date", "21/11/2026"),
            ("month", "2026-13"),
            ("month", "2026-1"),
            ("month", "2026"),
            ("year", "26"),
            ("year", "20x6"),
            ("from", "yesterday"),
        ] {
            let mut r = ReportRequest::new(ReportKind::Daily);
            let e = r.set(name, value).unwrap_err();
            assert!(e.is_bad_input());
            assert!(
                e.to_string().starts_with(&format!("--{name}: ")),
                "{name}={value}: {e}"
            );
        }
        let mut r = ReportRequest::new(ReportKind::Daily);
        r.set("from", "2026-11-20").unwrap();
        let e = r.set("date", "2026-11-20").unwrap_err();
        assert!(e.to_string().starts_with("--date: "), "{e}");
        let mut r = ReportRequest::new(ReportKind::Daily);
        r.set("month", "2026-11").unwrap();
        let e = r.set("to", "2026-11-20").unwrap_err();
        assert!(e.to_string().starts_with("--to: "), "{e}");
        let mut r = ReportRequest::new(ReportKind::Daily);
        r.set("from", "2026-11-21").unwrap();
        let e = r.set("to", "2026-11-20").unwrap_err();
        assert!(e.to_string().contains("range is empty"), "{e}");
        assert!(ReportKind::parse("weekly").is_err());
    }
}
