//! HTML building: escaping, numbers, times, and the page frame.
//!
//! Every value that comes from a record, a token, a query or the user goes through
//! [`esc`] (text and attribute values alike: `&`, `<`, `>`, `"` and `'` are escaped).
//! No page has inline script or inline style: the Content-Security-Policy forbids both.

use std::fmt::Write;

use super::session::Session;

/// `s` safe inside HTML text and inside a double- or single-quoted attribute
/// ([`tradetrail_query::render::html_escape`]).
pub(crate) fn esc(s: &str) -> String {
    tradetrail_query::render::html_escape(s)
}

/// The "Per page" choice of a search form, `limit` selected (the `</select></label>`
/// that closes it follows in the form).
pub(crate) fn per_page(limit: usize) -> String {
    let mut out =
        String::from("<label for=\"f-limit\">Per page<select id=\"f-limit\" name=\"limit\">");
    for n in [50, 100, 500, 1000] {
        let sel = if n == limit { " selected" } else { "" };
        out.push_str(&format!("<option value=\"{n}\"{sel}>{n}</option>"));
    }
    out
}

/// `1234567` → `1,234,567` ([`tradetrail_query::render::thousands`]).
pub(crate) fn num(n: u64) -> String {
    tradetrail_query::render::thousands(n)
}

/// Money: two places, thousands separators (`-1,234.50`), as the reports show it.
pub(crate) fn money(d: rust_decimal::Decimal) -> String {
    tradetrail_query::numfmt::money(d)
}

/// A price as recorded, with at least two places.
pub(crate) fn price(d: rust_decimal::Decimal) -> String {
    tradetrail_query::numfmt::price(d, d.normalize().scale().max(2))
}

/// An average price (a derived figure, with more decimals than any quote): 4 places,
/// as `tradetrail positions` shows it.
pub(crate) fn average(d: rust_decimal::Decimal) -> String {
    tradetrail_query::numfmt::fixed(d, 4)
}

/// A quantity without trailing zeros, thousands separated.
pub(crate) fn quantity(d: rust_decimal::Decimal) -> String {
    tradetrail_query::numfmt::quantity(d)
}

/// The time zone a session's pages show times in: UTC (the default), an IANA zone
/// that follows daylight saving time (`America/New_York`), or a fixed offset
/// (`+01:00`). The console's `tz` preference.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Tz(pub tradetrail_model::Zone);

/// The named zones the time zone form offers first (any IANA name is taken).
const NAMED_ZONES: &[&str] = &[
    "America/New_York",
    "America/Chicago",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Zurich",
    "Asia/Hong_Kong",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
];

impl Tz {
    /// `UTC`, an IANA name, or an offset `+HH:MM` / `-HH:MM`.
    pub(crate) fn parse(s: &str) -> Result<Tz, String> {
        tradetrail_model::Zone::parse(s)
            .map(Tz)
            .map_err(|m| format!("tz: {m}"))
    }

    /// Whether it is a fixed offset (or UTC) rather than a named zone.
    fn is_fixed(&self) -> bool {
        let n = self.0.name();
        self.0.is_utc() || n.starts_with('+') || n.starts_with('-')
    }

    /// `UTC`, `UTC+01:00`, or the zone's name.
    pub(crate) fn label(&self) -> String {
        let n = self.0.name();
        if self.0.is_utc() || !self.is_fixed() {
            n.to_owned()
        } else {
            format!("UTC{n}")
        }
    }
}

/// A time in ns since the epoch, in the zone `tz` and saying so:
/// `2026-11-20 14:30:01.500 UTC`, `2026-11-20 15:30:01.500 UTC+01:00`,
/// `2026-11-20 09:30:01.500 America/New_York (-05:00)` (the offset in force then).
pub(crate) fn time(ns: i64, tz: &Tz) -> String {
    if tz.0.is_utc() {
        let t = tradetrail_model::format_time(ns);
        let t = t.strip_suffix('Z').unwrap_or(&t).replacen('T', " ", 1);
        return format!("{t} UTC");
    }
    // `2026-11-20T09:30:01.500-05:00`, or without the fraction when it is zero.
    let local = tz.0.format(ns);
    let (t, offset) = local.split_at(local.len().saturating_sub(6));
    let t = t.replacen('T', " ", 1);
    if tz.is_fixed() {
        format!("{t} {}", tz.label())
    } else {
        format!("{t} {} ({offset})", tz.label())
    }
}

/// A time difference: `+0.250 s`, `+2 min 5.0 s`, `+3 h 4 min`, `+2 d 1 h`.
pub(crate) fn delta(ns: i64) -> String {
    let sign = if ns < 0 { "−" } else { "+" };
    let ns = ns.unsigned_abs();
    let secs = ns as f64 / 1e9;
    let s = ns / 1_000_000_000;
    let body = if s < 60 {
        format!("{secs:.3} s")
    } else if s < 3600 {
        format!("{} min {:.1} s", s / 60, secs - (s / 60 * 60) as f64)
    } else if s < 86_400 {
        format!("{} h {} min", s / 3600, (s % 3600) / 60)
    } else {
        format!("{} d {} h", s / 86_400, (s % 86_400) / 3600)
    };
    format!("{sign}{body}")
}

/// A URL query string from pairs (`application/x-www-form-urlencoded`).
pub(crate) fn query_string<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    q.finish()
}

/// The console's pages, in the navigation bar.
const NAV: &[(&str, &str)] = &[
    ("/search", "Search"),
    ("/live", "Live tail"),
    ("/trail", "Trail"),
    ("/incident", "Incident"),
    ("/dashboard", "Dashboard"),
    ("/reports", "Reports"),
    ("/reviews", "Reviews"),
    ("/integrity", "Integrity"),
];

/// A whole page: head (stylesheet, script), navigation with who is signed in and the
/// sign-out button, `body`, and the note that times are UTC.
pub(crate) fn page(title: &str, session: Option<&Session>, current: &str, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 2048);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · tradetrail</title>\
         <link rel=\"stylesheet\" href=\"/assets/console.css\">\
         <script src=\"/assets/console.js\" defer></script>",
        esc(title)
    );
    if let Some(s) = session {
        let _ = write!(
            out,
            "<meta name=\"csrf-token\" content=\"{}\"><meta name=\"tz\" content=\"{}\">",
            esc(&s.csrf),
            esc(s.tz.0.name())
        );
    }
    out.push_str("</head><body><a class=\"skip\" href=\"#main\">Skip to content</a><header>");
    out.push_str("<span class=\"brand\">tradetrail</span>");
    if let Some(s) = session {
        out.push_str("<nav aria-label=\"Pages\">");
        for (href, label) in NAV {
            let cur = if *href == current {
                " aria-current=\"page\""
            } else {
                ""
            };
            let _ = write!(out, "<a href=\"{href}\"{cur}>{label}</a>");
        }
        out.push_str("</nav>");
        let who = match &s.caller.trader_id {
            Some(t) => format!("{} · trader {}", s.caller.name, t),
            None => format!("{} · {}", s.caller.name, s.caller.role.as_str()),
        };
        let _ = write!(
            out,
            "<div class=\"who\"><span id=\"who\">{}</span>\
             <form method=\"post\" action=\"/logout\">{}<button type=\"submit\">Sign out</button></form></div>",
            esc(&who),
            csrf_field(s)
        );
    }
    let _ = write!(
        out,
        "</header><main id=\"main\"><h1>{}</h1>{body}</main><footer>",
        esc(title)
    );
    match session {
        Some(s) => {
            let _ = write!(
                out,
                "<form method=\"post\" action=\"/prefs\" class=\"tz\">{}\
                 <input type=\"hidden\" name=\"back\" value=\"{}\">\
                 <label for=\"tz\">All times are <span id=\"tz-label\">{}</span>. Show times in</label>\
                 <select id=\"tz\" name=\"tz\">",
                csrf_field(s),
                esc(if current.is_empty() { "/search" } else { current }),
                esc(&s.tz.label())
            );
            let mut option = |value: &str, label: &str| {
                let sel = if value == s.tz.0.name() {
                    " selected"
                } else {
                    ""
                };
                let _ = write!(
                    out,
                    "<option value=\"{}\"{sel}>{}</option>",
                    esc(value),
                    esc(label)
                );
            };
            option("UTC", "UTC");
            let named = NAMED_ZONES.contains(&s.tz.0.name());
            if !s.tz.is_fixed() && !named {
                option(s.tz.0.name(), s.tz.0.name());
            }
            for z in NAMED_ZONES {
                option(z, &format!("{z} (follows daylight saving)"));
            }
            for off in (-12 * 60..=14 * 60i32).step_by(30).filter(|o| *o != 0) {
                let sign = if off < 0 { '-' } else { '+' };
                let m = off.unsigned_abs();
                let value = format!("{sign}{:02}:{:02}", m / 60, m % 60);
                option(&value, &format!("UTC{value}"));
            }
            out.push_str("</select><button type=\"submit\" id=\"save-tz\">Save</button></form>");
        }
        None => out.push_str("All times are UTC. "),
    }
    out.push_str("tradetrail compliance console.</footer></body></html>");
    out
}

/// The hidden field every console form that changes something carries.
pub(crate) fn csrf_field(s: &Session) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(&s.csrf)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_prices_and_quantities_read_as_people_write_them() {
        let d = |s: &str| s.parse::<rust_decimal::Decimal>().unwrap();
        assert_eq!(money(d("1242369902.225")), "1,242,369,902.22");
        assert_eq!(money(d("-33929.385")), "-33,929.38");
        assert_eq!(money(d("5")), "5.00");
        assert_eq!(price(d("228.5000")), "228.50");
        assert_eq!(price(d("1.05425")), "1.05425");
        assert_eq!(price(d("21034.5")), "21,034.50");
        assert_eq!(quantity(d("150000.000")), "150,000");
        assert_eq!(quantity(d("-0.5")), "-0.5");
    }

    #[test]
    fn escapes_and_formats() {
        assert_eq!(
            esc("<a href=\"x\" onclick='y'>&</a>"),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(num(0), "0");
        assert_eq!(num(999), "999");
        assert_eq!(num(1000), "1,000");
        assert_eq!(num(1_234_567), "1,234,567");
        assert_eq!(time(0, &Tz::default()), "1970-01-01 00:00:00 UTC");
        let tz = Tz::parse("+01:00").unwrap();
        assert_eq!(
            time(1_500_000_000, &tz),
            "1970-01-01 01:00:01.500 UTC+01:00"
        );
        assert_eq!(
            time(0, &Tz::parse("-05:30").unwrap()),
            "1969-12-31 18:30:00 UTC-05:30"
        );
        assert_eq!(Tz::parse("utc").unwrap(), Tz::default());
        // A named zone: the offset in force at the instant.
        let ny = Tz::parse("America/New_York").unwrap();
        let ns = |s: &str| tradetrail_model::parse_time(s).unwrap();
        assert_eq!(
            time(ns("2026-03-08T06:59:59Z"), &ny),
            "2026-03-08 01:59:59 America/New_York (-05:00)"
        );
        assert_eq!(
            time(ns("2026-03-08T07:00:00.250Z"), &ny),
            "2026-03-08 03:00:00.250 America/New_York (-04:00)"
        );
        for bad in [
            "",
            "1",
            "+1:00",
            "+01:60",
            "Mars/Base",
            "EST5EDT,M3.2.0,M11.1.0",
        ] {
            assert!(Tz::parse(bad).unwrap_err().starts_with("tz:"), "{bad}");
        }
        assert_eq!(delta(250_000_000), "+0.250 s");
        assert_eq!(delta(125_000_000_000), "+2 min 5.0 s");
        assert_eq!(delta(-1_000_000_000), "−1.000 s");
        assert_eq!(
            delta(3 * 3600 * 1_000_000_000 + 240_000_000_000),
            "+3 h 4 min"
        );
    }
}
