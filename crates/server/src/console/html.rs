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

/// A quantity without trailing zeros, thousands separated.
pub(crate) fn quantity(d: rust_decimal::Decimal) -> String {
    tradetrail_query::numfmt::quantity(d)
}

/// The time zone a session's pages show times in: a fixed offset from UTC, in minutes
/// east (0: UTC). The console's `tz` preference.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tz(pub i32);

impl Tz {
    /// `UTC`, or an offset `+HH:MM` / `-HH:MM` from −12:00 to +14:00.
    pub(crate) fn parse(s: &str) -> Result<Tz, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("utc") || s == "Z" {
            return Ok(Tz(0));
        }
        let bad = || format!("tz: {s:?} is not UTC or an offset like +01:00 or -05:00");
        let (sign, rest) = match s.as_bytes().first() {
            Some(b'+') => (1, &s[1..]),
            Some(b'-') => (-1, &s[1..]),
            _ => return Err(bad()),
        };
        let (h, m) = rest.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if m >= 60 {
            return Err(bad());
        }
        let off = sign * (h * 60 + m);
        if !(-12 * 60..=14 * 60).contains(&off) {
            return Err(format!("tz: {s} is outside −12:00 to +14:00"));
        }
        Ok(Tz(off))
    }

    /// `UTC` or `UTC+01:00`.
    pub(crate) fn label(self) -> String {
        if self.0 == 0 {
            return "UTC".into();
        }
        format!("UTC{}", self.offset())
    }

    /// `+01:00`, `-05:30`, `+00:00`.
    pub(crate) fn offset(self) -> String {
        let sign = if self.0 < 0 { '-' } else { '+' };
        let m = self.0.unsigned_abs();
        format!("{sign}{:02}:{:02}", m / 60, m % 60)
    }
}

/// A time in ns since the epoch, in the zone `tz` and saying so:
/// `2026-11-20 14:30:01.500 UTC`, `2026-11-20 15:30:01.500 UTC+01:00`.
pub(crate) fn time(ns: i64, tz: Tz) -> String {
    let shifted = ns.saturating_add(i64::from(tz.0) * 60_000_000_000);
    let t = tradetrail_model::format_time(shifted);
    let t = t.strip_suffix('Z').unwrap_or(&t).replacen('T', " ", 1);
    format!("{t} {}", tz.label())
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
            "<meta name=\"csrf-token\" content=\"{}\"><meta name=\"tz-offset\" content=\"{}\">",
            esc(&s.csrf),
            s.tz.0
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
            for off in (-12 * 60..=14 * 60).step_by(30) {
                let tz = Tz(off);
                let sel = if tz == s.tz { " selected" } else { "" };
                let value = if off == 0 {
                    "UTC".to_string()
                } else {
                    tz.offset()
                };
                let _ = write!(
                    out,
                    "<option value=\"{value}\" data-minutes=\"{off}\"{sel}>{}</option>",
                    tz.label()
                );
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
        assert_eq!(time(0, Tz(0)), "1970-01-01 00:00:00 UTC");
        let tz = Tz::parse("+01:00").unwrap();
        assert_eq!(tz, Tz(60));
        assert_eq!(time(1_500_000_000, tz), "1970-01-01 01:00:01.500 UTC+01:00");
        assert_eq!(
            time(0, Tz::parse("-05:30").unwrap()),
            "1969-12-31 18:30:00 UTC-05:30"
        );
        assert_eq!(Tz::parse("utc").unwrap(), Tz(0));
        for bad in ["", "1", "+1:00", "+01:60", "+15:00", "-13:00", "CET"] {
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
