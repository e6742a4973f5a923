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

/// `1234567` → `1,234,567`.
pub(crate) fn num(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A time in ns since the epoch, shown in UTC and saying so: `2026-11-20 14:30:01.5 UTC`.
pub(crate) fn time(ns: i64) -> String {
    let t = tradetrail_model::format_time(ns);
    let t = t.strip_suffix('Z').unwrap_or(&t).replacen('T', " ", 1);
    format!("{t} UTC")
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
            "<meta name=\"csrf-token\" content=\"{}\">",
            esc(&s.csrf)
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
        "</header><main id=\"main\"><h1>{}</h1>{body}</main>\
         <footer>All times are UTC. tradetrail compliance console.</footer></body></html>",
        esc(title)
    );
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
    fn escapes_and_formats() {
        assert_eq!(
            esc("<a href=\"x\" onclick='y'>&</a>"),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(num(0), "0");
        assert_eq!(num(999), "999");
        assert_eq!(num(1000), "1,000");
        assert_eq!(num(1_234_567), "1,234,567");
        assert_eq!(time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(delta(250_000_000), "+0.250 s");
        assert_eq!(delta(125_000_000_000), "+2 min 5.0 s");
        assert_eq!(delta(-1_000_000_000), "−1.000 s");
        assert_eq!(
            delta(3 * 3600 * 1_000_000_000 + 240_000_000_000),
            "+3 h 4 min"
        );
    }
}
