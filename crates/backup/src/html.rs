//! The export's `report.html`: one file, inline styles, no scripts, no links, no
//! external resources, so it opens anywhere, offline, and prints as it shows.

use serde_json::Value;
use tradetrail_query::render::describe;
use tradetrail_query::{Record, TimeZone};

/// What the report shows.
pub(crate) struct Context<'a> {
    pub origin: &'a str,
    pub description: &'a str,
    pub generated: &'a str,
    pub size: u64,
    pub root: &'a str,
    pub records: &'a [Record],
    pub notes: &'a [String],
}

/// Escapes text for HTML content and attribute values
/// ([`tradetrail_query::render::html_escape`]).
pub(crate) fn esc(s: &str) -> String {
    tradetrail_query::render::html_escape(s)
}

fn text(v: &Value, path: &[&str]) -> String {
    let mut cur = v;
    for p in path {
        match cur.get(*p) {
            Some(x) => cur = x,
            None => return String::new(),
        }
    }
    match cur {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#111}\
h1{font-size:1.4em}table{border-collapse:collapse;width:100%}\
th,td{border-bottom:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}\
th{background:#f0f0f0}td.mono{white-space:nowrap}td.mono,code,pre{font-family:ui-monospace,monospace;font-size:12px}\
pre{white-space:pre-wrap;word-break:break-all;margin:4px 0}dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}\
dt{font-weight:600}.note{color:#8a4b00}";

pub(crate) fn report(c: &Context<'_>) -> String {
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    h.push_str(&format!(
        "<title>tradetrail export: {}</title>\n<style>{STYLE}</style></head><body>\n",
        esc(c.description)
    ));
    h.push_str(&format!(
        "<h1>Records of {}</h1>\n<dl><dt>Selection</dt><dd>{}</dd><dt>Records</dt><dd>{}</dd>\
<dt>First</dt><dd>{}</dd><dt>Last</dt><dd>{}</dd><dt>Generated</dt><dd>{}</dd>\
<dt>Checkpoint</dt><dd>tree size {}, root <code>{}</code></dd></dl>\n",
        esc(c.origin),
        esc(c.description),
        c.records.len(),
        c.records.first().map(time_of).unwrap_or_default(),
        c.records.last().map(time_of).unwrap_or_default(),
        esc(c.generated),
        c.size,
        esc(c.root)
    ));
    h.push_str("<p>Every record below is in the journal as of the signed checkpoint: see README.md in this bundle to check each one offline with its proof.</p>\n");
    if !c.notes.is_empty() {
        h.push_str("<h2>Remarks</h2><ul>\n");
        for n in c.notes {
            h.push_str(&format!("<li class=\"note\">{}</li>\n", esc(n)));
        }
        h.push_str("</ul>\n");
    }
    h.push_str("<h2>Timeline</h2>\n<table><thead><tr><th>seq</th><th>time (UTC)</th><th>type</th><th>source</th><th>actor</th><th>trader</th><th>instrument</th><th>entity</th><th>details</th></tr></thead><tbody>\n");
    for r in c.records {
        let v: Value = serde_json::from_slice(&r.line).unwrap_or(Value::Null);
        let entity = match (text(&v, &["entity", "kind"]), text(&v, &["entity", "id"])) {
            (k, i) if k.is_empty() && i.is_empty() => String::new(),
            (k, i) => format!("{k} {i}"),
        };
        h.push_str(&format!(
            "<tr id=\"seq-{seq}\"><td class=\"mono\">{seq}</td><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}<details><summary>record</summary><pre>{}</pre></details></td></tr>\n",
            esc(&time_of(r)),
            esc(&text(&v, &["type"])),
            esc(&text(&v, &["source"])),
            esc(&text(&v, &["actor"])),
            esc(&text(&v, &["trader_id"])),
            esc(&text(&v, &["instrument_id"])),
            esc(&entity),
            esc(&describe(&v)),
            esc(r.text()),
            seq = r.seq,
        ));
    }
    h.push_str("</tbody></table>\n</body></html>\n");
    h
}

fn time_of(r: &Record) -> String {
    let v: Value = serde_json::from_slice(&r.line).unwrap_or(Value::Null);
    v.get("ts_event")
        .and_then(Value::as_i64)
        .map(|t| TimeZone::Utc.format(t))
        .unwrap_or_default()
}
