//! Times: ns since the Unix epoch (UTC) in `i64`, RFC 3339 text on the way in and out.
//!
//! The parser is written by hand rather than with `time`'s RFC 3339 format description
//! because it accepts one form RFC 3339 does not (minutes without seconds, which
//! operators type: `2026-11-21T14:00Z`) and refuses what a ns timestamp cannot hold
//! (more than nine fractional digits, leap second 60). The calendar arithmetic is
//! `time`'s.

use time::{Date, Month, OffsetDateTime};

/// The Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;
const NS_PER_SEC: i128 = 1_000_000_000;

/// Parses a time given as RFC 3339 (`2026-11-21T14:32:10.123Z`, or with an offset
/// `+02:00`; seconds may be left out: `2026-11-21T14:00Z`), a date (`2026-11-21`,
/// midnight UTC) or an integer of ns since the Unix epoch (digits only).
///
/// Returns ns since the Unix epoch, UTC. Times outside what `i64` ns can hold
/// (1677-09-21 to 2262-04-11) are errors.
///
/// ```
/// use tradetrail_model::parse_time;
/// assert_eq!(parse_time("1970-01-02").unwrap(), 86_400_000_000_000);
/// assert_eq!(parse_time("1970-01-01T00:00:01.5Z").unwrap(), 1_500_000_000);
/// assert_eq!(parse_time("1500000000").unwrap(), 1_500_000_000);
/// assert!(parse_time("yesterday").is_err());
/// ```
pub fn parse_time(s: &str) -> Result<i64, String> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<i64>()
            .map_err(|_| format!("{s:?} is too large for ns since the Unix epoch"));
    }
    if s.len() == 10 {
        let date = parse_date(s.as_bytes()).ok_or_else(|| bad_time(s))?;
        return to_ns(date, 0, 0).ok_or_else(|| out_of_range(s));
    }
    parse_rfc3339(s)
}

/// Parses RFC 3339 date-time text (seconds optional) into ns since the Unix epoch.
pub(crate) fn parse_rfc3339(s: &str) -> Result<i64, String> {
    let p = parse_parts(s)?;
    let Some(offset_secs) = p.offset_secs else {
        return Err(format!(
            "{s:?} has no time zone: end it with Z (UTC) or an offset like +02:00"
        ));
    };
    to_ns(p.date, p.secs_of_day - offset_secs, p.nanos).ok_or_else(|| out_of_range(s))
}

/// A date-time as written: the date, the time of day, and the offset if one was given.
pub(crate) struct Parts {
    pub(crate) date: Date,
    pub(crate) secs_of_day: i64,
    pub(crate) nanos: u32,
    /// Seconds east of UTC; `None` when the text ends after the time (a local time).
    pub(crate) offset_secs: Option<i64>,
}

/// Splits RFC 3339 date-time text (seconds optional, offset optional) into its parts.
pub(crate) fn parse_parts(s: &str) -> Result<Parts, String> {
    let b = s.as_bytes();
    let date = b
        .get(..10)
        .and_then(parse_date)
        .ok_or_else(|| bad_time(s))?;
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return Err(bad_time(s));
    }
    let hour = two_digits(b, 11).filter(|&h| h < 24);
    let minute = (b.get(13) == Some(&b':'))
        .then(|| two_digits(b, 14))
        .flatten()
        .filter(|&m| m < 60);
    let (Some(hour), Some(minute)) = (hour, minute) else {
        return Err(bad_time(s));
    };
    let mut i = 16;
    let mut second = 0;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b':') {
        second = match two_digits(b, i + 1) {
            Some(sec) if sec < 60 => sec,
            Some(60) => return Err(format!("{s:?}: leap seconds are not supported")),
            _ => return Err(bad_time(s)),
        };
        i += 3;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 {
                return Err(bad_time(s));
            }
            if digits > 9 {
                return Err(format!(
                    "{s:?}: more than 9 fractional digits (finer than a nanosecond)"
                ));
            }
            for &c in &b[i..i + digits] {
                nanos = nanos * 10 + u32::from(c - b'0');
            }
            nanos *= 10u32.pow(9 - digits as u32);
            i += digits;
        }
    }
    let offset_secs: Option<i64> = match &b[i..] {
        [b'Z' | b'z'] => Some(0),
        [sign @ (b'+' | b'-'), ..] if b.len() == i + 6 && b[i + 3] == b':' => {
            let (Some(h), Some(m)) = (two_digits(b, i + 1), two_digits(b, i + 4)) else {
                return Err(bad_time(s));
            };
            if h > 23 || m > 59 {
                return Err(bad_time(s));
            }
            let secs = i64::from(h) * 3600 + i64::from(m) * 60;
            Some(if *sign == b'-' { -secs } else { secs })
        }
        [] => None,
        _ => return Err(bad_time(s)),
    };
    let secs_of_day = i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
    Ok(Parts {
        date,
        secs_of_day,
        nanos,
        offset_secs,
    })
}

/// Formats ns since the Unix epoch as RFC 3339 UTC. The fraction is left out when it is
/// zero and otherwise written in milli-, micro- or nanoseconds, whichever is the
/// shortest exact form.
///
/// ```
/// use tradetrail_model::format_time;
/// assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
/// assert_eq!(format_time(1_500_000_000), "1970-01-01T00:00:01.500Z");
/// assert_eq!(format_time(1_000_001), "1970-01-01T00:00:00.001000001Z");
/// ```
pub fn format_time(ns: i64) -> String {
    // Every i64 of ns is within `time`'s default range (years -9999..=9999).
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns))
        .expect("every i64 ns timestamp is in time's range");
    let nanos = t.nanosecond();
    let frac = if nanos == 0 {
        String::new()
    } else if nanos.is_multiple_of(1_000_000) {
        format!(".{:03}", nanos / 1_000_000)
    } else if nanos.is_multiple_of(1_000) {
        format!(".{:06}", nanos / 1_000)
    } else {
        format!(".{nanos:09}")
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{frac}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

pub(crate) fn bad_time(s: &str) -> String {
    format!(
        "{s:?} is not a time: use RFC 3339 (2026-11-21T14:32:10.123Z), a date (2026-11-21) \
         or ns since the Unix epoch"
    )
}

pub(crate) fn out_of_range(s: &str) -> String {
    format!("{s:?} is outside the range of ns timestamps (1677-09-21 to 2262-04-11)")
}

/// `YYYY-MM-DD`, a real calendar date.
pub(crate) fn parse_date(b: &[u8]) -> Option<Date> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = i32::from(two_digits(b, 0)?) * 100 + i32::from(two_digits(b, 2)?);
    let month = Month::try_from(two_digits(b, 5)?).ok()?;
    Date::from_calendar_date(year, month, two_digits(b, 8)?).ok()
}

fn two_digits(b: &[u8], at: usize) -> Option<u8> {
    match b.get(at..at + 2)? {
        [h @ b'0'..=b'9', l @ b'0'..=b'9'] => Some((h - b'0') * 10 + (l - b'0')),
        _ => None,
    }
}

/// ns since the epoch of `secs` seconds (may be negative or past a day) after the
/// midnight that starts `date`, plus `nanos`.
fn to_ns(date: Date, secs: i64, nanos: u32) -> Option<i64> {
    let days = i64::from(date.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY;
    let total = i128::from(days * 86_400 + secs) * NS_PER_SEC + i128::from(nanos);
    i64::try_from(total).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_795_271_530_123_000_000; // 2026-11-21T14:32:10.123Z

    #[test]
    fn accepted_forms() {
        assert_eq!(parse_time("2026-11-21T14:32:10.123Z"), Ok(T));
        assert_eq!(parse_time("2026-11-21t14:32:10.123z"), Ok(T));
        assert_eq!(parse_time("2026-11-21 14:32:10.123Z"), Ok(T));
        assert_eq!(parse_time("2026-11-21T16:32:10.123+02:00"), Ok(T));
        assert_eq!(parse_time("2026-11-21T09:02:10.123-05:30"), Ok(T));
        assert_eq!(parse_time("1795271530123000000"), Ok(T));
        assert_eq!(
            parse_time("2026-11-21T14:00Z"),
            Ok(T - (32 * 60 + 10) * 1_000_000_000 - 123_000_000)
        );
        assert_eq!(
            parse_time("2026-11-21"),
            Ok(T - (14 * 3600 + 32 * 60 + 10) * 1_000_000_000 - 123_000_000)
        );
        assert_eq!(parse_time("1970-01-01T00:00:00.000000001Z"), Ok(1));
        assert_eq!(parse_time("1969-12-31T23:59:59Z"), Ok(-1_000_000_000));
        assert_eq!(parse_time("2262-04-11T23:47:16.854775807Z"), Ok(i64::MAX));
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "now",
            "-5",
            "12.5",
            "2026-11-21T14:32:10.123",
            "2026-11-21T14:32:10.Z",
            "2026-11-21T14:32:10.1234567890Z",
            "2026-11-21T14:32:60Z",
            "2026-11-21T24:00Z",
            "2026-11-21T14:60Z",
            "2026-02-30",
            "2026-13-01",
            "2026-1-21",
            "2026-11-21T14Z",
            "2026-11-21T14:32:10Z ",
            " 2026-11-21T14:32:10Z",
            "2026-11-21T14:32:10+2:00",
            "2026-11-21T14:32:10+24:00",
            "2026-11-21T14:32:10+02:00x",
            "2262-04-11T23:47:16.854775808Z",
            "99999999999999999999",
            "2026-11-21T14:32:1٣Z",
        ] {
            assert!(parse_time(s).is_err(), "{s:?} was accepted");
        }
    }

    #[test]
    fn format_trims_to_ms_us_or_ns() {
        assert_eq!(format_time(T), "2026-11-21T14:32:10.123Z");
        assert_eq!(format_time(T + 456_000), "2026-11-21T14:32:10.123456Z");
        assert_eq!(format_time(T + 456_789), "2026-11-21T14:32:10.123456789Z");
        assert_eq!(format_time(T - 123_000_000), "2026-11-21T14:32:10Z");
        assert_eq!(format_time(-1), "1969-12-31T23:59:59.999999999Z");
        assert_eq!(format_time(i64::MIN), "1677-09-21T00:12:43.145224192Z");
    }

    #[test]
    fn format_then_parse_is_identity_at_the_edges() {
        for ns in [
            0,
            1,
            -1,
            T,
            i64::MAX,
            i64::MIN,
            999_999_999,
            86_399_999_999_999,
        ] {
            assert_eq!(parse_time(&format_time(ns)), Ok(ns));
        }
    }
}
