//! Time zones and days: the one place where an instant (ns since the epoch, UTC) meets
//! a wall clock.
//!
//! - [`Zone`]: UTC (the default), an IANA name (`America/New_York`) or a fixed offset
//!   (`+02:00`). The IANA database is `jiff`'s copy bundled into the binary, so an
//!   answer never depends on the host's `/usr/share/zoneinfo`.
//! - A local time that does not exist (in the hour skipped when clocks spring forward)
//!   is moved forward by the length of the gap (02:30 on 2026-03-08 in New York is
//!   03:30 EDT); a local time that happens twice (the hour repeated when clocks fall
//!   back) is the earlier of the two. This is RFC 5545's and Temporal's "compatible"
//!   rule.
//! - [`parse_time_in`]: `--from`, `--to`, `--at` values. A value with `Z` or an offset,
//!   or ns since the epoch, is absolute; a date (`2026-11-26`, its first instant) or a
//!   date-time without an offset (`2026-11-26T09:30`) is read in the zone.
//! - [`Days`]: how instants are grouped into days: calendar days in a zone, or the
//!   trading days of a venue's [`Session`] (day D runs from the end of the previous
//!   trading day to `day_ends` on D, Monday to Friday, in the venue's zone).

use std::fmt;

use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};
use jiff::Timestamp;
use time::{Date, Weekday};

use crate::time::{bad_time, out_of_range, parse_date, parse_parts};

/// A time zone: UTC, an IANA name or a fixed offset.
#[derive(Clone, Debug)]
pub struct Zone {
    tz: TimeZone,
    name: String,
}

impl Default for Zone {
    fn default() -> Self {
        Zone::utc()
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Zone) -> bool {
        self.name == other.name
    }
}

impl Eq for Zone {}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl Zone {
    /// UTC.
    pub fn utc() -> Zone {
        Zone {
            tz: TimeZone::UTC,
            name: "UTC".into(),
        }
    }

    /// Parses `UTC`, an IANA name (`America/New_York`, `Europe/London`) or a fixed
    /// offset (`+02:00`, `-05:30`). The error is the reason, to be prefixed by the flag
    /// or key that gave the value.
    ///
    /// ```
    /// use tradetrail_model::Zone;
    /// assert_eq!(Zone::parse("America/New_York").unwrap().name(), "America/New_York");
    /// assert_eq!(Zone::parse("+02:00").unwrap().name(), "+02:00");
    /// assert!(Zone::parse("Mars/Base").unwrap_err().contains("not a time zone"));
    /// ```
    pub fn parse(s: &str) -> Result<Zone, String> {
        let bad = || {
            format!(
                "{s:?} is not a time zone: use an IANA name such as America/New_York, \
                 a fixed offset such as +02:00, or UTC"
            )
        };
        let t = s.trim();
        if t.eq_ignore_ascii_case("utc") || t == "Z" {
            return Ok(Zone::utc());
        }
        if let Some(sign) = t.chars().next().filter(|c| *c == '+' || *c == '-') {
            let b = t.as_bytes();
            let digits = |at: usize| -> Option<i32> {
                match b.get(at..at + 2)? {
                    [h @ b'0'..=b'9', l @ b'0'..=b'9'] => {
                        Some(i32::from(h - b'0') * 10 + i32::from(l - b'0'))
                    }
                    _ => None,
                }
            };
            if b.len() != 6 || b[3] != b':' {
                return Err(bad());
            }
            let (Some(h), Some(m)) = (digits(1), digits(4)) else {
                return Err(bad());
            };
            if h > 23 || m > 59 {
                return Err(bad());
            }
            let secs = (h * 3600 + m * 60) * if sign == '-' { -1 } else { 1 };
            let offset = Offset::from_seconds(secs).map_err(|_| bad())?;
            return Ok(Zone {
                tz: TimeZone::fixed(offset),
                name: t.to_owned(),
            });
        }
        // Only names: jiff would also read POSIX TZ strings, which are not zones a user
        // means ("EST5EDT,M3.2.0,M11.1.0").
        if !t.contains('/') && !t.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(bad());
        }
        let tz = TimeZone::get(t).map_err(|_| bad())?;
        let name = tz.iana_name().unwrap_or(t).to_owned();
        Ok(Zone { tz, name })
    }

    /// The zone as given (`UTC`, `America/New_York`, `+02:00`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this is UTC.
    pub fn is_utc(&self) -> bool {
        self.name == "UTC"
    }

    /// The local date and time of day (seconds, ns) at an instant.
    fn local(&self, ns: i64) -> (Date, i64) {
        let ts = Timestamp::from_nanosecond(i128::from(ns)).unwrap_or(Timestamp::UNIX_EPOCH);
        let dt = self.tz.to_datetime(ts);
        let secs =
            i64::from(dt.hour()) * 3600 + i64::from(dt.minute()) * 60 + i64::from(dt.second());
        (from_civil(dt.date()), secs)
    }

    /// The local date of an instant.
    pub fn date_of(&self, ns: i64) -> Date {
        self.local(ns).0
    }

    /// The instant of a local time on a date (`secs` after the local midnight, as a
    /// wall clock reads it; at most 24 h, 24:00 being the next midnight). A local time
    /// in a gap moves forward by the gap; one that happens twice is the earlier. `None`
    /// outside the range of ns timestamps.
    pub fn at(&self, date: Date, secs: i64, nanos: u32) -> Option<i64> {
        let (date, secs) = if secs >= 86_400 {
            (date.next_day()?, secs - 86_400)
        } else {
            (date, secs)
        };
        let secs = i8::try_from(secs / 3600)
            .ok()
            .zip(i8::try_from(secs % 3600 / 60).ok())
            .zip(i8::try_from(secs % 60).ok())?;
        let ((h, m), s) = secs;
        let dt = DateTime::new(
            i16::try_from(date.year()).ok()?,
            i8::try_from(u8::from(date.month())).ok()?,
            i8::try_from(date.day()).ok()?,
            h,
            m,
            s,
            i32::try_from(nanos).ok()?,
        )
        .ok()?;
        let ts = self.tz.to_ambiguous_timestamp(dt).compatible().ok()?;
        i64::try_from(ts.as_nanosecond()).ok()
    }

    /// The first instant of a local date (its midnight, or the end of a gap that
    /// swallowed it). `None` outside the range of ns timestamps.
    pub fn midnight(&self, date: Date) -> Option<i64> {
        self.at(date, 0, 0)
    }

    /// An instant as RFC 3339 local time with its offset, to the millisecond, fixed
    /// width (`2026-11-26T09:30:00.000-05:00`).
    pub fn format_ms(&self, ns: i64) -> String {
        let ms = ns - ns.rem_euclid(1_000_000);
        let mut t = self.format(ms);
        // `format` leaves out a zero fraction and writes 3 digits otherwise.
        if t.len() == 25 {
            t.insert_str(19, ".000");
        }
        t
    }

    /// An instant as RFC 3339 local time with its offset (`2026-11-26T09:30:00-05:00`).
    pub fn format(&self, ns: i64) -> String {
        let ts = Timestamp::from_nanosecond(i128::from(ns)).unwrap_or(Timestamp::UNIX_EPOCH);
        let z = self.tz.to_datetime(ts);
        let offset = self.tz.to_offset(ts).seconds();
        let (sign, abs) = if offset < 0 {
            ('-', -offset)
        } else {
            ('+', offset)
        };
        let frac = match z.subsec_nanosecond() {
            0 => String::new(),
            n if n % 1_000_000 == 0 => format!(".{:03}", n / 1_000_000),
            n if n % 1_000 == 0 => format!(".{:06}", n / 1_000),
            n => format!(".{n:09}"),
        };
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{frac}{sign}{:02}:{:02}",
            z.year(),
            z.month(),
            z.day(),
            z.hour(),
            z.minute(),
            z.second(),
            abs / 3600,
            abs % 3600 / 60
        )
    }
}

fn from_civil(d: jiff::civil::Date) -> Date {
    let month = u8::try_from(d.month())
        .ok()
        .and_then(|m| time::Month::try_from(m).ok())
        .unwrap_or(time::Month::January);
    let day = u8::try_from(d.day()).unwrap_or(1);
    Date::from_calendar_date(i32::from(d.year()), month, day).unwrap_or(Date::MIN)
}

/// Parses a `--from`, `--to` or `--at` value: ns since the epoch (digits), RFC 3339 with
/// `Z` or an offset (absolute), a date (`2026-11-26`: its first instant in `zone`), or
/// a date-time without an offset (`2026-11-26T09:30`, seconds optional: that wall-clock
/// time in `zone`). The error is the reason, to be prefixed by the flag.
///
/// ```
/// use tradetrail_model::{parse_time, parse_time_in, Zone};
/// let ny = Zone::parse("America/New_York").unwrap();
/// assert_eq!(parse_time_in("2026-11-26", &ny), parse_time("2026-11-26T05:00Z"));
/// assert_eq!(parse_time_in("2026-11-26T09:30", &ny), parse_time("2026-11-26T14:30Z"));
/// assert_eq!(parse_time_in("2026-11-26T09:30Z", &ny), parse_time("2026-11-26T09:30Z"));
/// ```
pub fn parse_time_in(s: &str, zone: &Zone) -> Result<i64, String> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return crate::parse_time(s);
    }
    if s.len() == 10 {
        let date = parse_date(s.as_bytes()).ok_or_else(|| bad_time(s))?;
        return zone.midnight(date).ok_or_else(|| out_of_range(s));
    }
    let p = parse_parts(s)?;
    if p.offset_secs.is_some() {
        return crate::parse_time(s);
    }
    zone.at(p.date, p.secs_of_day, p.nanos)
        .ok_or_else(|| out_of_range(s))
}

/// A date alone (`YYYY-MM-DD`), or `None` for anything else.
pub fn parse_date_only(s: &str) -> Option<Date> {
    (s.len() == 10).then(|| parse_date(s.as_bytes())).flatten()
}

/// A `HH:MM` local time (00:00 to 23:59) → seconds after midnight.
pub fn parse_hhmm(s: &str) -> Result<i64, String> {
    let bad = || format!("{s:?} is not a local time like \"16:00\" (HH:MM, 00:00 to 23:59)");
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let (h, m): (i64, i64) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok(h * 3600 + m * 60)
}

fn hhmm(secs: i64) -> String {
    format!("{:02}:{:02}", secs / 3600, secs % 3600 / 60)
}

/// A venue's trading session: its zone, the open and close (local times), and when
/// its trading day ends (by default at the close). Trading days are Monday to Friday;
/// an instant after the end of Friday's day belongs to Monday's. Holidays are not
/// modelled: a holiday is a weekday without records, which no report lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The venue (`XNYS`, `FX`), as `--session` names it.
    pub venue: String,
    /// The venue's zone.
    pub zone: Zone,
    /// The open, seconds after local midnight (informational: shown in reports).
    pub open: i64,
    /// The close, seconds after local midnight.
    pub close: i64,
    /// Where the trading day ends, seconds after local midnight (00:01 to 23:59).
    pub day_ends: i64,
}

impl Session {
    /// A session from its configured text; errors name the key under `at` (e.g.
    /// `time.sessions[0]`).
    pub fn parse(
        at: &str,
        venue: &str,
        zone: &str,
        open: &str,
        close: &str,
        day_ends: Option<&str>,
    ) -> Result<Session, String> {
        if venue.trim().is_empty() || venue.contains(char::is_whitespace) {
            return Err(format!(
                "{at}.venue: must be a name without spaces, e.g. XNYS"
            ));
        }
        let zone = Zone::parse(zone).map_err(|r| format!("{at}.zone: {r}"))?;
        let open = parse_hhmm(open).map_err(|r| format!("{at}.open: {r}"))?;
        let close = parse_hhmm(close).map_err(|r| format!("{at}.close: {r}"))?;
        let day_ends = match day_ends {
            Some(s) => parse_hhmm(s).map_err(|r| format!("{at}.day_ends: {r}"))?,
            None => close,
        };
        if day_ends == 0 {
            return Err(format!(
                "{at}.day_ends: a trading day cannot end at 00:00 (for calendar days in a \
                 zone, set time.zone or give --tz instead of a session)"
            ));
        }
        Ok(Session {
            venue: venue.to_owned(),
            zone,
            open,
            close,
            day_ends,
        })
    }
}

/// How instants are grouped into days.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Days {
    /// Calendar days in a zone: midnight to midnight.
    Calendar(Zone),
    /// A venue's trading days.
    Trading(Session),
}

impl Default for Days {
    fn default() -> Self {
        Days::Calendar(Zone::utc())
    }
}

fn is_weekend(d: Date) -> bool {
    matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
}

impl Days {
    /// The zone the days are in.
    pub fn zone(&self) -> &Zone {
        match self {
            Days::Calendar(z) => z,
            Days::Trading(s) => &s.zone,
        }
    }

    /// The session, for trading days.
    pub fn session(&self) -> Option<&Session> {
        match self {
            Days::Calendar(_) => None,
            Days::Trading(s) => Some(s),
        }
    }

    /// Whether these are UTC calendar days (what every report did before zones).
    pub fn is_utc(&self) -> bool {
        matches!(self, Days::Calendar(z) if z.is_utc())
    }

    /// The first day on or after `d` (`d` itself, or for trading days the next weekday).
    pub fn on_or_after(&self, d: Date) -> Date {
        let mut d = d;
        if matches!(self, Days::Trading(_)) {
            while is_weekend(d) {
                match d.next_day() {
                    Some(n) => d = n,
                    None => break,
                }
            }
        }
        d
    }

    /// Whether `d` is a day at all (every date is a calendar day; trading days are
    /// Monday to Friday).
    pub fn is_day(&self, d: Date) -> bool {
        self.on_or_after(d) == d
    }

    /// The day after `d`.
    pub fn next(&self, d: Date) -> Date {
        self.on_or_after(d.next_day().unwrap_or(d))
    }

    fn prev(&self, d: Date) -> Date {
        let mut p = d.previous_day().unwrap_or(d);
        if matches!(self, Days::Trading(_)) {
            while is_weekend(p) {
                match p.previous_day() {
                    Some(q) => p = q,
                    None => break,
                }
            }
        }
        p
    }

    /// The first instant of day `d` (clamped to the range of ns timestamps): its local
    /// midnight, or for a trading day the end of the previous trading day.
    pub fn start_of(&self, d: Date) -> i64 {
        let at = match self {
            Days::Calendar(z) => z.midnight(d),
            Days::Trading(s) => s.zone.at(self.prev(d), s.day_ends, 0),
        };
        at.unwrap_or(if d.year() < 1970 { i64::MIN } else { i64::MAX })
    }

    /// The instants of the days from `first` up to, not including, `end`:
    /// `[start of the first day on or after first, start of the first day on or after end)`.
    pub fn span(&self, first: Date, end: Date) -> (i64, i64) {
        (
            self.start_of(self.on_or_after(first)),
            self.start_of(self.on_or_after(end)),
        )
    }

    /// The day an instant belongs to.
    pub fn day_of(&self, ns: i64) -> Date {
        let (date, secs) = self.zone().local(ns);
        let mut d = match self {
            Days::Calendar(_) => date,
            Days::Trading(s) if secs >= s.day_ends => date.next_day().unwrap_or(date),
            Days::Trading(_) => date,
        };
        d = self.on_or_after(d);
        // A day's start moved by a gap: settle on the day whose [start, next start)
        // holds the instant (a step or two at most).
        for _ in 0..4 {
            if ns < self.start_of(d) {
                d = self.prev(d);
            } else if ns >= self.start_of(self.next(d)) {
                d = self.next(d);
            } else {
                break;
            }
        }
        d
    }

    /// How reports say it: `days in UTC`, `days in America/New_York`, or `XNYS
    /// trading days: America/New_York, 09:30-16:00, the day ends 16:00`.
    pub fn describe(&self) -> String {
        match self {
            Days::Calendar(z) => format!("days in {}", z.name()),
            Days::Trading(s) => format!(
                "{} trading days: {}, {}-{}, the day ends {}",
                s.venue,
                s.zone,
                hhmm(s.open),
                hhmm(s.close),
                hhmm(s.day_ends)
            ),
        }
    }
}

impl serde::Serialize for Days {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry("zone", self.zone().name())?;
        if let Days::Trading(s) = self {
            m.serialize_entry("session", &s.venue)?;
            m.serialize_entry("open", &hhmm(s.open))?;
            m.serialize_entry("close", &hhmm(s.close))?;
            m.serialize_entry("day_ends", &hhmm(s.day_ends))?;
        }
        m.end()
    }
}

/// The time settings of a data directory (`[time]` in tradetrail.toml): the default
/// zone, the venues' sessions, and the session reports group by unless told otherwise.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimeSettings {
    /// The default zone of `--tz`.
    pub zone: Zone,
    /// Configured sessions.
    pub sessions: Vec<Session>,
    /// The venue whose trading days reports use by default.
    pub default_session: Option<String>,
}

impl TimeSettings {
    /// The configured session of `venue`; the error lists the configured ones.
    pub fn session(&self, venue: &str) -> Result<&Session, String> {
        self.sessions
            .iter()
            .find(|s| s.venue == venue)
            .ok_or_else(|| {
                let known: Vec<&str> = self.sessions.iter().map(|s| s.venue.as_str()).collect();
                if known.is_empty() {
                    format!(
                        "no session {venue:?}: none is configured (add [[time.sessions]] to \
                         tradetrail.toml, docs/configuration.md)"
                    )
                } else {
                    format!(
                        "no session {venue:?}: the configured ones are {}",
                        known.join(", ")
                    )
                }
            })
    }

    /// The days reports use by default: the default session's trading days, else
    /// calendar days in the default zone.
    pub fn default_days(&self) -> Days {
        self.default_session
            .as_deref()
            .and_then(|v| self.session(v).ok())
            .map(|s| Days::Trading(s.clone()))
            .unwrap_or_else(|| Days::Calendar(self.zone.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_time;

    fn ns(s: &str) -> i64 {
        parse_time(s).unwrap()
    }

    fn date(s: &str) -> Date {
        parse_date(s.as_bytes()).unwrap()
    }

    const H: i64 = 3600 * 1_000_000_000;

    #[test]
    fn new_york_days_across_dst() {
        let ny = Days::Calendar(Zone::parse("America/New_York").unwrap());
        // Spring forward: 2026-03-08 has 23 hours.
        let (f, t) = ny.span(date("2026-03-08"), date("2026-03-09"));
        assert_eq!(f, ns("2026-03-08T05:00Z"));
        assert_eq!(t - f, 23 * H);
        // Fall back: 2026-11-01 has 25 hours.
        let (f, t) = ny.span(date("2026-11-01"), date("2026-11-02"));
        assert_eq!(f, ns("2026-11-01T04:00Z"));
        assert_eq!(t - f, 25 * H);
        // An ordinary day: 24.
        let (f, t) = ny.span(date("2026-11-26"), date("2026-11-27"));
        assert_eq!((f, t - f), (ns("2026-11-26T05:00Z"), 24 * H));
        // Each instant belongs to the day whose span holds it.
        for (s, d) in [
            ("2026-03-08T04:59:59Z", "2026-03-07"),
            ("2026-03-08T05:00Z", "2026-03-08"),
            ("2026-03-09T03:59:59Z", "2026-03-08"),
            ("2026-03-09T04:00Z", "2026-03-09"),
            ("2026-11-02T04:59:59Z", "2026-11-01"),
            ("2026-11-02T05:00Z", "2026-11-02"),
        ] {
            assert_eq!(ny.day_of(ns(s)), date(d), "{s}");
        }
    }

    #[test]
    fn gaps_move_forward_and_folds_take_the_earlier() {
        let ny = Zone::parse("America/New_York").unwrap();
        // 02:30 does not exist on 2026-03-08: it is 03:30 EDT (07:30Z).
        assert_eq!(
            parse_time_in("2026-03-08T02:30", &ny),
            Ok(ns("2026-03-08T07:30Z"))
        );
        // 01:30 happens twice on 2026-11-01: the first, EDT (05:30Z).
        assert_eq!(
            parse_time_in("2026-11-01T01:30", &ny),
            Ok(ns("2026-11-01T05:30Z"))
        );
        assert_eq!(
            ny.format(ns("2026-11-01T06:30Z")),
            "2026-11-01T01:30:00-05:00"
        );
        assert_eq!(
            ny.format(ns("2026-07-01T13:30:00.5Z")),
            "2026-07-01T09:30:00.500-04:00"
        );
    }

    #[test]
    fn values_with_an_offset_are_absolute() {
        let tokyo = Zone::parse("Asia/Tokyo").unwrap();
        for s in [
            "2026-11-26T09:30Z",
            "2026-11-26T09:30:00-05:00",
            "1795651200000000000",
        ] {
            assert_eq!(parse_time_in(s, &tokyo), parse_time(s), "{s}");
        }
        assert_eq!(
            parse_time_in("2026-11-26", &tokyo),
            Ok(ns("2026-11-25T15:00Z"))
        );
        assert_eq!(
            parse_time_in("2026-11-26T09:30", &Zone::utc()),
            Ok(ns("2026-11-26T09:30Z"))
        );
        let plus2 = Zone::parse("+02:00").unwrap();
        assert_eq!(
            parse_time_in("2026-11-26", &plus2),
            Ok(ns("2026-11-25T22:00Z"))
        );
        assert!(parse_time_in("2026-11-26T25:00", &tokyo).is_err());
    }

    #[test]
    fn bad_zones_are_refused() {
        for s in [
            "Mars/Base",
            "",
            "EST5EDT,M3.2.0,M11.1.0",
            "+2:00",
            "+24:00",
            "New York",
        ] {
            let e = Zone::parse(s).unwrap_err();
            assert!(e.contains("is not a time zone"), "{s}: {e}");
        }
        assert!(Zone::parse("utc").unwrap().is_utc());
        assert_eq!(
            Zone::parse("Europe/London").unwrap().name(),
            "Europe/London"
        );
    }

    fn xnys() -> Session {
        Session::parse("s", "XNYS", "America/New_York", "09:30", "16:00", None).unwrap()
    }

    #[test]
    fn a_us_session_is_one_trading_day() {
        let days = Days::Trading(xnys());
        // Wednesday 2026-11-25's trading day runs from Tuesday's close (21:00Z) to
        // Wednesday's: records on two UTC days (after-hours on the 24th and 25th UTC,
        // the session on the 25th), one trading day.
        let d = date("2026-11-25");
        for s in [
            "2026-11-25T14:30Z",
            "2026-11-25T20:59:59Z",
            "2026-11-25T02:00Z",
            "2026-11-24T21:00Z",
            "2026-11-24T23:30Z",
        ] {
            assert_eq!(days.day_of(ns(s)), d, "{s}");
        }
        assert_eq!(days.day_of(ns("2026-11-25T21:00Z")), date("2026-11-26"));
        assert_eq!(
            days.span(d, date("2026-11-26")),
            (ns("2026-11-24T21:00Z"), ns("2026-11-25T21:00Z"))
        );
        // Friday's close to Monday's close is Monday's trading day.
        for s in [
            "2026-11-27T21:00Z",
            "2026-11-28T12:00Z",
            "2026-11-30T20:00Z",
        ] {
            assert_eq!(days.day_of(ns(s)), date("2026-11-30"), "{s}");
        }
        assert!(!days.is_day(date("2026-11-28")));
        let (f, t) = days.span(date("2026-11-28"), date("2026-11-29"));
        assert_eq!(f, t, "a Saturday has no instants");
        // Across the spring-forward weekend, Monday 2026-03-09's day is 71 hours.
        let (f, t) = days.span(date("2026-03-09"), date("2026-03-10"));
        assert_eq!((f, t - f), (ns("2026-03-06T21:00Z"), 71 * H));
    }

    #[test]
    fn an_fx_day_rolls_at_five_new_york() {
        let fx = Session::parse(
            "s",
            "FX",
            "America/New_York",
            "17:00",
            "17:00",
            Some("17:00"),
        )
        .unwrap();
        let days = Days::Trading(fx);
        assert_eq!(
            days.day_of(ns("2026-11-29T22:30Z")),
            date("2026-11-30"),
            "Sunday evening"
        );
        assert_eq!(days.day_of(ns("2026-11-30T22:30Z")), date("2026-12-01"));
        assert!(Session::parse(
            "time.sessions[1]",
            "FX",
            "America/New_York",
            "17:00",
            "17:00",
            Some("00:00")
        )
        .unwrap_err()
        .starts_with("time.sessions[1].day_ends: "));
        assert!(
            Session::parse("time.sessions[0]", "X", "Mars/Base", "09:30", "16:00", None)
                .unwrap_err()
                .starts_with("time.sessions[0].zone: \"Mars/Base\" is not a time zone")
        );
    }
}
