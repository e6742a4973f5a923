//! What a report covers: the time range and whose records ([`ReportFilter`]), and the
//! request as the CLI flags and the HTTP query parameters name it ([`ReportRequest`]).

use serde::{Deserialize, Serialize};
use time::{Date, Month, OffsetDateTime};
use tradetrail_model::{Days, TimeSettings, Zone};

use crate::record::Rec;
use crate::{Error, Result};

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
/// `None` bounds are open. `days` is how the report groups instants into days (its
/// daily rows, the dates it shows): UTC calendar days unless a zone or a trading
/// session is given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportFilter {
    /// Inclusive lower bound on `ts_event`, ns since the epoch.
    pub from: Option<i64>,
    /// Exclusive upper bound on `ts_event`, ns since the epoch.
    pub to: Option<i64>,
    /// Whose records.
    #[serde(flatten)]
    pub scope: Scope,
    /// The days: `{"zone": "UTC"}`, or a venue's trading days (`session`, `open`,
    /// `close`, `day_ends`, local times in `zone`).
    #[serde(skip_deserializing)]
    pub days: Days,
}

impl ReportFilter {
    /// A filter on `[from, to)` for everyone's records.
    pub fn range(from: Option<i64>, to: Option<i64>) -> ReportFilter {
        ReportFilter {
            from,
            to,
            scope: Scope::default(),
            days: Days::default(),
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

    /// The range as text: `2026-11-20`, `2026-11-20 .. 2026-11-23`, or with times;
    /// then, unless the days are UTC's, which days: `2026-11-20 (days in
    /// America/New_York)`, `2026-11-20 (XNYS trading days: America/New_York,
    /// 09:30-16:00, the day ends 16:00)`.
    pub fn describe(&self) -> String {
        let days = &self.days;
        // A day's first instant shows as its date.
        let start_day = |ns: i64| {
            let d = days.day_of(ns);
            (days.start_of(d) == ns).then_some(d)
        };
        let one = |ns: i64| match start_day(ns) {
            Some(d) => date_text(d),
            None if days.zone().is_utc() => tradetrail_model::format_time(ns),
            None => days.zone().format(ns),
        };
        let range = match (self.from, self.to) {
            (Some(f), Some(t))
                if start_day(f).is_some_and(|d| days.start_of(days.next(d)) == t) =>
            {
                date_text(days.day_of(f))
            }
            (Some(f), Some(t)) => format!("{} .. {}", one(f), one(t)),
            (Some(f), None) => format!("from {}", one(f)),
            (None, Some(t)) => format!("until {}", one(t)),
            (None, None) => "all records".into(),
        };
        if days.is_utc() {
            range
        } else {
            format!("{range} ({})", days.describe())
        }
    }
}

/// A date as `YYYY-MM-DD`.
pub fn date_text(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

/// The UTC date of an instant, `YYYY-MM-DD`.
pub fn format_date(ns: i64) -> String {
    date_text(day_of(ns))
}

/// The UTC date an instant falls on.
fn day_of(ns: i64) -> Date {
    let secs = ns.div_euclid(1_000_000_000);
    OffsetDateTime::from_unix_timestamp(secs)
        .map(|t| t.date())
        .unwrap_or(Date::MIN)
}

/// ns since the epoch of a date's UTC midnight.
fn midnight(d: Date) -> i64 {
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

/// `YYYY-MM` → `[first day, first day of the next month)` in ns (UTC days), or an
/// error naming `field`.
pub fn parse_month(field: &str, s: &str) -> Result<(i64, i64)> {
    let (first, next) = month_dates(field, s)?;
    Ok((midnight(first), midnight(next)))
}

/// `YYYY-MM` → its first day and the first day of the next month.
fn month_dates(field: &str, s: &str) -> Result<(Date, Date)> {
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
    Ok((first, next))
}

/// `YYYY` → `[Jan 1, Jan 1 of the next year)` in ns (UTC days), or an error naming `field`.
pub fn parse_year(field: &str, s: &str) -> Result<(i64, i64)> {
    let (first, next) = year_dates(field, s)?;
    Ok((midnight(first), midnight(next)))
}

/// `YYYY` → its 1 January and the next year's.
fn year_dates(field: &str, s: &str) -> Result<(Date, Date)> {
    let year = parse_year_text(field, s, "year: use YYYY, e.g. 2026")?;
    let d = |y| {
        Date::from_calendar_date(y, Month::January, 1)
            .map_err(|_| Error::bad_input(field, format!("{s:?} is out of range")))
    };
    Ok((d(year)?, d(year + 1)?))
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
/// CLI flags and the HTTP query parameters name them (see [`ReportRequest::set`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRequest {
    /// Which report.
    pub kind: ReportKind,
    /// What it covers.
    pub filter: ReportFilter,
    /// The range shorthand (`date`, `month`, `year`) and its value, if any.
    #[serde(skip)]
    shorthand: Option<(&'static str, String)>,
    /// `from` and `to` as given.
    #[serde(skip)]
    explicit: Vec<(&'static str, String)>,
    /// Which flag chose the days (`tz` or `session`), if one did.
    #[serde(skip)]
    days_flag: Option<&'static str>,
    /// The configured zone and sessions.
    #[serde(skip)]
    time: TimeSettings,
}

impl ReportRequest {
    /// A request for `kind` over all records, in UTC days.
    pub fn new(kind: ReportKind) -> ReportRequest {
        ReportRequest::with_time(kind, TimeSettings::default())
    }

    /// A request for `kind` over all records, with a data directory's time settings
    /// (`[time]` in tradetrail.toml): its days are the default session's trading days,
    /// else calendar days in the default zone, until `tz` or `session` is set.
    pub fn with_time(kind: ReportKind, time: TimeSettings) -> ReportRequest {
        ReportRequest {
            kind,
            filter: ReportFilter {
                days: time.default_days(),
                ..ReportFilter::default()
            },
            shorthand: None,
            explicit: Vec::new(),
            days_flag: None,
            time,
        }
    }

    /// Sets one condition: `from`, `to` (RFC 3339, a date, or ns since the epoch; a
    /// date or a time without an offset is read in the days' zone), `date`
    /// (`YYYY-MM-DD`: that day), `month` (`YYYY-MM`), `year` (`YYYY`), `tz` (the days
    /// are calendar days in this zone), `session` (the days are this configured venue's
    /// trading days), `trader`, `strategy`, `account` (exact ids). Errors name the
    /// flag (`--date`). A shorthand and `from`/`to` together are refused, as are two
    /// shorthands, and `tz` with `session`. The order of the calls does not matter.
    pub fn set(&mut self, name: &str, value: &str) -> Result<()> {
        // A refused value leaves the request as it was.
        let saved = self.clone();
        let r = self.set_inner(name, value);
        if r.is_err() {
            *self = saved;
        }
        r
    }

    fn set_inner(&mut self, name: &str, value: &str) -> Result<()> {
        let field = format!("--{name}");
        let id = |v: &str| -> Result<String> {
            if v.is_empty() {
                return Err(Error::bad_input(&field, "empty id"));
            }
            Ok(v.to_owned())
        };
        match name {
            "from" | "to" => {
                if let Some((s, _)) = &self.shorthand {
                    return Err(Error::bad_input(
                        &field,
                        format!("give either --{s} or --from/--to, not both"),
                    ));
                }
                let name: &'static str = if name == "from" { "from" } else { "to" };
                self.explicit.retain(|(n, _)| *n != name);
                self.explicit.push((name, value.to_owned()));
            }
            "date" | "month" | "year" => {
                let short: &'static str = match name {
                    "date" => "date",
                    "month" => "month",
                    _ => "year",
                };
                if let Some((s, _)) = &self.shorthand {
                    return Err(Error::bad_input(
                        &field,
                        format!("give one of --date, --month, --year (--{s} is already given)"),
                    ));
                }
                if let Some((e, _)) = self.explicit.first() {
                    return Err(Error::bad_input(
                        &field,
                        format!("give either --{short} or --from/--to, not both (--{e} is given)"),
                    ));
                }
                self.shorthand = Some((short, value.to_owned()));
            }
            "tz" | "session" => {
                let flag: &'static str = if name == "tz" { "tz" } else { "session" };
                if let Some(other) = self.days_flag.filter(|f| *f != flag) {
                    return Err(Error::bad_input(
                        &field,
                        format!(
                            "give --tz (calendar days in a zone) or --session (a venue's \
                             trading days), not both (--{other} is given)"
                        ),
                    ));
                }
                self.filter.days = if flag == "tz" {
                    Days::Calendar(Zone::parse(value).map_err(|r| Error::bad_input(&field, r))?)
                } else {
                    Days::Trading(
                        self.time
                            .session(value)
                            .map_err(|r| Error::bad_input(&field, r))?
                            .clone(),
                    )
                };
                self.days_flag = Some(flag);
            }
            "trader" | "trader_id" => self.filter.scope.trader_id = Some(id(value)?),
            "strategy" | "strategy_id" => self.filter.scope.strategy_id = Some(id(value)?),
            "account" | "account_id" => self.filter.scope.account_id = Some(id(value)?),
            _ => {
                return Err(Error::bad_input(
                    name,
                    "unknown parameter: use from, to, date, month, year, tz, session, trader, \
                 strategy or account",
                ))
            }
        }
        self.resolve()?;
        self.check()
    }

    /// The range from the values given, in the current days.
    fn resolve(&mut self) -> Result<()> {
        let days = &self.filter.days;
        let (mut from, mut to) = (None, None);
        if let Some((short, value)) = &self.shorthand {
            let field = format!("--{short}");
            let (first, end) = match *short {
                "date" => {
                    let d = parse_date(&field, value)?;
                    if !days.is_day(d) {
                        return Err(Error::bad_input(
                            &field,
                            format!(
                                "{value} is a {}: not a trading day of {} (Monday to Friday; \
                                 the weekend belongs to Monday's trading day)",
                                d.weekday(),
                                days.session().map_or("the session", |s| s.venue.as_str())
                            ),
                        ));
                    }
                    (d, d.next_day().unwrap_or(d))
                }
                "month" => month_dates(&field, value)?,
                _ => year_dates(&field, value)?,
            };
            let (f, t) = days.span(first, end);
            (from, to) = (Some(f), Some(t));
        }
        for (name, value) in &self.explicit {
            let field = format!("--{name}");
            // A date is the first instant of that day (a trading day's starts at the
            // previous day's end); a time without an offset is read in the days' zone.
            let ns = match tradetrail_model::zone::parse_date_only(value) {
                Some(d) => days.start_of(days.on_or_after(d)),
                None => tradetrail_model::parse_time_in(value, days.zone())
                    .map_err(|reason| Error::bad_input(&field, reason))?,
            };
            if *name == "from" {
                from = Some(ns);
            } else {
                to = Some(ns);
            }
        }
        self.filter.from = from;
        self.filter.to = to;
        Ok(())
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

    const NS_PER_DAY: i64 = 86_400 * 1_000_000_000;

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
    fn a_date_in_a_zone_and_a_trading_day() {
        let ns = |s: &str| tradetrail_model::parse_time(s).unwrap();
        let mut r = ReportRequest::new(ReportKind::Daily);
        r.set("date", "2026-11-26").unwrap();
        r.set("tz", "America/New_York").unwrap();
        assert_eq!(
            (r.filter.from, r.filter.to),
            (Some(ns("2026-11-26T05:00Z")), Some(ns("2026-11-27T05:00Z")))
        );
        assert_eq!(r.filter.describe(), "2026-11-26 (days in America/New_York)");
        // The fall-back day is 25 hours; --from/--to dates and local times in the zone.
        let mut r = ReportRequest::new(ReportKind::Daily);
        r.set("tz", "America/New_York").unwrap();
        r.set("from", "2026-11-01").unwrap();
        r.set("to", "2026-11-02T00:00").unwrap();
        assert_eq!(
            r.filter.to.unwrap() - r.filter.from.unwrap(),
            25 * 3_600_000_000_000
        );
        let time = TimeSettings {
            zone: Zone::utc(),
            sessions: vec![tradetrail_model::Session::parse(
                "s",
                "XNYS",
                "America/New_York",
                "09:30",
                "16:00",
                None,
            )
            .unwrap()],
            default_session: None,
        };
        let mut r = ReportRequest::with_time(ReportKind::Daily, time.clone());
        r.set("session", "XNYS").unwrap();
        r.set("date", "2026-11-30").unwrap();
        // Monday's trading day: from Friday's close.
        assert_eq!(
            (r.filter.from, r.filter.to),
            (Some(ns("2026-11-27T21:00Z")), Some(ns("2026-11-30T21:00Z")))
        );
        assert!(r
            .filter
            .describe()
            .starts_with("2026-11-30 (XNYS trading days: America/New_York, 09:30-16:00"));
        let mut r = ReportRequest::with_time(ReportKind::Daily, time.clone());
        r.set("session", "XNYS").unwrap();
        let e = r.set("date", "2026-11-28").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("--date: 2026-11-28 is a Saturday"),
            "{e}"
        );
        let e = r.set("tz", "UTC").unwrap_err();
        assert!(e.to_string().starts_with("--tz: give --tz"), "{e}");
        let mut r = ReportRequest::with_time(ReportKind::Daily, time);
        let e = r.set("session", "XLON").unwrap_err();
        assert!(
            e.to_string().contains("the configured ones are XNYS"),
            "{e}"
        );
        let e = r.set("tz", "Mars/Base").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("--tz: \"Mars/Base\" is not a time zone"),
            "{e}"
        );
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
