//! Output: `jsonl` (the journal's lines, byte for byte), `table` (for people) and
//! `csv` (for spreadsheets), for every answer.
//!
//! Text meant for people goes through [`printable`] first (every table and story
//! here, and the CLI's and reports' text renderers use it too), so a recorded value
//! cannot drive the terminal or fake a row. The machine formats are left exact.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write};

use serde_json::Value;

use crate::dict::Dim;
use crate::engine::Record;
use crate::stats::{Funnel, Incident, Stats};
use crate::trail::Trail;
use crate::{Error, Result};

/// How rows come out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Aligned columns with the key fields of each type.
    #[default]
    Table,
    /// One JSON object per line; for records, the journal's lines exactly as stored.
    Jsonl,
    /// RFC 4180 CSV with a header row.
    Csv,
}

impl Format {
    /// Parses `table`, `jsonl` (or `json`) or `csv`.
    pub fn parse(s: &str) -> Result<Format> {
        match s {
            "table" => Ok(Format::Table),
            "jsonl" | "json" => Ok(Format::Jsonl),
            "csv" => Ok(Format::Csv),
            _ => Err(Error::bad_input(
                "--format",
                format!("unknown format {s:?}: use table, jsonl or csv"),
            )),
        }
    }
}

/// How times are shown in tables and CSV.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TimeZone {
    /// RFC 3339 in UTC (`Z`).
    #[default]
    Utc,
    /// The machine's local time, with its UTC offset at that instant.
    Local,
    /// A zone (`--tz`, or the configuration's `time.zone`), with its UTC offset at
    /// that instant.
    Named(tradetrail_model::Zone),
}

impl TimeZone {
    /// `zone` as a display zone: [`TimeZone::Utc`] for UTC, else [`TimeZone::Named`].
    pub fn of(zone: &tradetrail_model::Zone) -> TimeZone {
        if zone.is_utc() {
            TimeZone::Utc
        } else {
            TimeZone::Named(zone.clone())
        }
    }

    fn label(&self) -> &str {
        match self {
            TimeZone::Utc => "UTC",
            TimeZone::Local => "local",
            TimeZone::Named(z) => z.name(),
        }
    }

    /// The width of [`TimeZone::format_ms`]'s text.
    fn width(&self) -> usize {
        match self {
            TimeZone::Utc => 24,
            _ => 29,
        }
    }

    /// Formats ns since the epoch exactly (RFC 3339, up to 9 fractional digits).
    pub fn format(&self, ns: i64) -> String {
        self.render(ns, true)
    }

    /// Formats ns since the epoch to the millisecond, fixed width (tables; the jsonl
    /// and csv outputs keep every digit).
    pub fn format_ms(&self, ns: i64) -> String {
        self.render(ns, false)
    }

    fn render(&self, ns: i64, exact: bool) -> String {
        if let TimeZone::Named(z) = self {
            return if exact { z.format(ns) } else { z.format_ms(ns) };
        }
        let Ok(utc) = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns)) else {
            return tradetrail_model::format_time(ns);
        };
        let offset = match self {
            TimeZone::Utc => time::UtcOffset::UTC,
            // Unavailable (e.g. another thread is running): UTC, which says so with Z.
            TimeZone::Local | TimeZone::Named(_) => {
                time::UtcOffset::local_offset_at(utc).unwrap_or(time::UtcOffset::UTC)
            }
        };
        if exact && offset == time::UtcOffset::UTC {
            return tradetrail_model::format_time(ns);
        }
        let t = utc.to_offset(offset);
        let frac = if exact {
            let n = t.nanosecond();
            if n == 0 {
                String::new()
            } else {
                format!(".{n:09}").trim_end_matches('0').to_owned()
            }
        } else {
            format!(".{:03}", t.millisecond())
        };
        let zone = if offset == time::UtcOffset::UTC {
            "Z".to_owned()
        } else {
            let (h, m, _) = offset.as_hms();
            let sign = if offset.is_negative() { '-' } else { '+' };
            format!("{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs())
        };
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{frac}{zone}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
        )
    }
}

/// Whether `c` must not reach a terminal as it is: the C0 controls (ESC among them,
/// and newline, carriage return and tab, which would end or shift a table row), DEL,
/// the C1 controls (U+0080..=U+009F; some terminals take U+009B as CSI), the line and
/// paragraph separators, and the bidirectional embedding, override and isolate
/// controls (U+202A..=U+202E, U+2066..=U+2069), which reorder what is shown.
/// `n` with thousands separators: `1234567` → `1,234,567` (tables, pages, progress).
pub fn thousands(n: u64) -> String {
    crate::numfmt::count(n)
}

/// `s` safe in HTML (and XML) text and in a single- or double-quoted attribute value:
/// `&`, `<`, `>`, `"` and `'` become entities, and control characters other than tab
/// and newline become spaces (XML 1.0 has no way to write them). The one escaper of
/// every HTML page tradetrail writes: reports, export bundles, the console.
pub fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` made safe to print for people: every character [`needs_escape`] names is
/// shown as an escape (`\n`, `\r`, `\t`, otherwise `\u{1b}`, `\u{9b}`, ...), so the
/// text stays on one line and sends the terminal nothing but glyphs; everything else,
/// "é" and "株" included, is kept as it is. The one escaping function of every text
/// and table renderer (query, trail, incident, stats, reports, reviews, positions);
/// jsonl, JSON and CSV are never escaped.
pub fn printable(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A field as text: strings as they are, other values as JSON.
fn field(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    match cur {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn d(v: &Value, key: &str) -> String {
    field(v, &["data", key]).unwrap_or_default()
}

fn opt(v: &Value, key: &str, prefix: &str) -> String {
    field(v, &["data", key])
        .map(|x| format!("{prefix}{x}"))
        .unwrap_or_default()
}

/// The key fields of a record, in words (the `details` column).
pub fn describe(v: &Value) -> String {
    let ty = field(v, &["type"]).unwrap_or_default();
    let inst = field(v, &["instrument_id"]).unwrap_or_default();
    let s = match ty.as_str() {
        "signal.generated" => format!(
            "{} {inst} strength {} @ {}",
            d(v, "direction"),
            d(v, "strength"),
            d(v, "price")
        ),
        "recommendation.generated" => format!(
            "{} {} {inst} @ {}",
            d(v, "side"),
            d(v, "quantity"),
            d(v, "price")
        ),
        "risk.evaluated" => format!("{}, notional {}", d(v, "decision"), d(v, "notional")),
        "approval.requested" => {
            let exp = v
                .pointer("/data/expires_at")
                .and_then(Value::as_i64)
                .map(|t| format!(", expires {}", tradetrail_model::format_time(t)))
                .unwrap_or_default();
            format!("{}{exp}", d(v, "reason"))
        }
        "approval.approved" => d(v, "note"),
        "order.submitted" => format!(
            "{} {} {inst} {}{}{}",
            d(v, "side"),
            d(v, "quantity"),
            d(v, "order_type"),
            opt(v, "price", " @ "),
            opt(v, "time_in_force", " ")
        ),
        "order.accepted" => opt(v, "venue_order_id", "venue order "),
        "order.filled" => format!(
            "{} @ {}{}{}",
            d(v, "fill_qty"),
            d(v, "fill_price"),
            opt(v, "cum_qty", " cum "),
            opt(v, "leaves_qty", " leaves ")
        ),
        "order.rejected" => format!("{}{}", d(v, "reason"), opt(v, "error_code", " code ")),
        t if t.starts_with("position.") => format!(
            "{inst} qty {} avg {}{}",
            d(v, "quantity"),
            d(v, "avg_price"),
            opt(v, "realized_pnl", " pnl ")
        ),
        "account.snapshot" => format!(
            "cash {} equity {} {}",
            d(v, "cash"),
            d(v, "equity"),
            d(v, "currency")
        ),
        "param.changed" | "config.changed" => format!(
            "{}: {} -> {}{}",
            d(v, "name"),
            d(v, "old_value"),
            d(v, "new_value"),
            opt(v, "reason", " — ")
        ),
        "trading.mode_changed" => format!(
            "{} -> {}{}",
            d(v, "old_mode"),
            d(v, "new_mode"),
            opt(v, "reason", " — ")
        ),
        "trading.kill_switch" => {
            let on = v.pointer("/data/engaged").and_then(Value::as_bool);
            format!(
                "{}{}",
                match on {
                    Some(true) => "engaged",
                    Some(false) => "released",
                    None => "",
                },
                opt(v, "reason", " — ")
            )
        }
        "journal.created" => opt(v, "origin", "origin "),
        _ => {
            if let Some(r) = field(v, &["data", "reason"]) {
                r
            } else {
                match v.get("data") {
                    Some(Value::Object(m)) => {
                        let parts: Vec<String> = m
                            .iter()
                            .map(|(k, x)| match x {
                                Value::String(s) => format!("{k} {s}"),
                                other => format!("{k} {other}"),
                            })
                            .collect();
                        let mut s = parts.join(", ");
                        if s.len() > 100 {
                            let mut cut = 97;
                            while !s.is_char_boundary(cut) {
                                cut -= 1;
                            }
                            s.truncate(cut);
                            s.push_str("...");
                        }
                        s
                    }
                    _ => String::new(),
                }
            }
        }
    };
    s.trim().to_owned()
}

fn entity_text(v: &Value) -> String {
    match (field(v, &["entity", "kind"]), field(v, &["entity", "id"])) {
        (Some(k), Some(i)) => format!("{k} {i}"),
        _ => String::new(),
    }
}

fn csv_cell(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// One RFC 4180 CSV row (with its `\n`): a cell holding a comma, a quote, a newline
/// or a carriage return is quoted, quotes doubled; the values are otherwise exact.
pub fn csv_row(cells: &[&str]) -> String {
    let mut s = String::new();
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        csv_cell(&mut s, c);
    }
    s.push('\n');
    s
}

const CSV_HEADER: &[&str] = &[
    "seq",
    "ts_event",
    "ts_recorded",
    "type",
    "source",
    "actor",
    "event_id",
    "trader_id",
    "strategy_id",
    "account_id",
    "instrument_id",
    "entity_kind",
    "entity_id",
    "refs",
    "data",
];

/// Writes records one at a time in a format (the table and CSV header first).
pub struct RecordWriter<'w> {
    out: &'w mut dyn Write,
    format: Format,
    zone: TimeZone,
    started: bool,
}

impl<'w> RecordWriter<'w> {
    /// A writer onto `out`.
    pub fn new(out: &'w mut dyn Write, format: Format, zone: TimeZone) -> RecordWriter<'w> {
        RecordWriter {
            out,
            format,
            zone,
            started: false,
        }
    }

    fn time_width(&self) -> usize {
        self.zone.width()
    }

    fn header(&mut self) -> io::Result<()> {
        if self.started {
            return Ok(());
        }
        self.started = true;
        match self.format {
            Format::Jsonl => Ok(()),
            Format::Csv => self.out.write_all(csv_row(CSV_HEADER).as_bytes()),
            Format::Table => writeln!(
                self.out,
                "{:>8}  {:<tw$}  {:<25}  {:<17}  {:<20}  {:<8}  {:<14}  {:<22}  details",
                "seq",
                format!("time ({})", self.zone.label()),
                "type",
                "source",
                "actor",
                "trader",
                "instrument",
                "entity",
                tw = self.time_width()
            ),
        }
    }

    /// Writes one record (its line without `\n`).
    pub fn write(&mut self, seq: u64, line: &[u8]) -> io::Result<()> {
        self.header()?;
        if self.format == Format::Jsonl {
            self.out.write_all(line)?;
            return self.out.write_all(b"\n");
        }
        let v: Value = serde_json::from_slice(line).unwrap_or(Value::Null);
        let time = v
            .get("ts_event")
            .and_then(Value::as_i64)
            .map(|t| {
                if self.format == Format::Table {
                    self.zone.format_ms(t)
                } else {
                    self.zone.format(t)
                }
            })
            .unwrap_or_default();
        let ty = field(&v, &["type"]).unwrap_or_default();
        match self.format {
            Format::Table => writeln!(
                self.out,
                "{seq:>8}  {time:<tw$}  {:<25}  {:<17}  {:<20}  {:<8}  {:<14}  {:<22}  {}",
                printable(&ty),
                printable(&field(&v, &["source"]).unwrap_or_default()),
                printable(&field(&v, &["actor"]).unwrap_or_default()),
                printable(&field(&v, &["trader_id"]).unwrap_or_default()),
                printable(&field(&v, &["instrument_id"]).unwrap_or_default()),
                printable(&entity_text(&v)),
                printable(&describe(&v)),
                tw = self.time_width()
            ),
            _ => {
                let rec_time = v
                    .get("ts_recorded")
                    .and_then(Value::as_i64)
                    .map(|t| self.zone.format(t))
                    .unwrap_or_default();
                let refs = match v.get("refs") {
                    Some(Value::Object(m)) => m
                        .iter()
                        .map(|(k, x)| match x {
                            Value::String(s) => format!("{k}={s}"),
                            other => format!("{k}={other}"),
                        })
                        .collect::<Vec<_>>()
                        .join(";"),
                    _ => String::new(),
                };
                let data = v.get("data").map(Value::to_string).unwrap_or_default();
                let f = |k: &str| field(&v, &[k]).unwrap_or_default();
                let cells = [
                    seq.to_string(),
                    time,
                    rec_time,
                    ty,
                    f("source"),
                    f("actor"),
                    f("event_id"),
                    f("trader_id"),
                    f("strategy_id"),
                    f("account_id"),
                    f("instrument_id"),
                    field(&v, &["entity", "kind"]).unwrap_or_default(),
                    field(&v, &["entity", "id"]).unwrap_or_default(),
                    refs,
                    data,
                ];
                let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
                self.out.write_all(csv_row(&refs).as_bytes())
            }
        }
    }

    /// Ends the output: a CSV answer without records is still its header (a valid,
    /// empty file); an empty table prints nothing (the caller says why on stderr).
    pub fn finish(&mut self) -> io::Result<()> {
        match self.format {
            Format::Csv => self.header(),
            Format::Table | Format::Jsonl => Ok(()),
        }
    }

    /// Flushes what was written so far (a live view, after each batch).
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Writes records.
pub fn write_records(
    out: &mut dyn Write,
    records: &[Record],
    format: Format,
    zone: TimeZone,
) -> io::Result<()> {
    let mut w = RecordWriter::new(out, format, zone);
    for r in records {
        w.write(r.seq, &r.line)?;
    }
    w.finish()
}

/// A window as typed: `5m`, `30s`, `1h30m`, `500ms`.
fn exact_duration(ns: i64) -> String {
    const UNITS: [(i64, &str); 6] = [
        (3_600_000_000_000, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1_000, "us"),
        (1, "ns"),
    ];
    let mut rest = ns;
    let mut out = String::new();
    for (u, name) in UNITS {
        if rest >= u {
            out.push_str(&format!("{}{name}", rest / u));
            rest %= u;
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

fn human_duration(ns: i64) -> String {
    let s = ns as f64 / 1e9;
    if s.abs() < 60.0 {
        format!("+{s:.3}s")
    } else if s.abs() < 3600.0 {
        format!("+{}m{:02.0}s", (s / 60.0).floor(), s % 60.0)
    } else {
        format!("+{}h{:02.0}m", (s / 3600.0).floor(), (s % 3600.0) / 60.0)
    }
}

/// Writes a trail: as a story (table), its records (jsonl, csv). Gaps and notes are
/// part of the table; for jsonl and csv they are for the caller to report elsewhere
/// (stderr), so the rows stay journal records.
pub fn write_trail(
    out: &mut dyn Write,
    t: &Trail,
    format: Format,
    zone: TimeZone,
) -> io::Result<()> {
    if format != Format::Table {
        return write_records(out, &t.records, format, zone);
    }
    let parsed: Vec<Value> = t
        .records
        .iter()
        .map(|r| serde_json::from_slice(&r.line).unwrap_or(Value::Null))
        .collect();
    let times: Vec<Option<i64>> = parsed
        .iter()
        .map(|v| v.get("ts_event").and_then(Value::as_i64))
        .collect();
    let start = times.iter().flatten().min().copied();
    let end = times.iter().flatten().max().copied();
    writeln!(
        out,
        "trail of {}: {} records{}{}",
        printable(&t.id),
        t.records.len(),
        match (t.records.first(), t.records.last()) {
            (Some(a), Some(b)) => format!(", seq {}..={}", a.seq, b.seq),
            _ => String::new(),
        },
        match (start, end) {
            (Some(a), Some(b)) => format!(
                ", {} to {} ({})",
                zone.format(a),
                zone.format(b),
                human_duration(b - a).trim_start_matches('+')
            ),
            _ => String::new(),
        }
    )?;
    let tw = zone.width();
    writeln!(
        out,
        "{:>8}  {:<tw$}  {:>9}  {:<20}  {:<25}  {:<22}  details",
        "seq",
        format!("time ({})", zone.label()),
        "since",
        "actor",
        "what",
        "about",
    )?;
    for (i, r) in t.records.iter().enumerate() {
        let v = &parsed[i];
        let time = times[i].map(|x| zone.format_ms(x)).unwrap_or_default();
        let since = match (times[i], start) {
            (Some(x), Some(s)) => human_duration(x - s),
            _ => String::new(),
        };
        writeln!(
            out,
            "{:>8}  {time:<tw$}  {since:>9}  {:<20}  {:<25}  {:<22}  {}",
            r.seq,
            printable(&field(v, &["actor"]).unwrap_or_default()),
            printable(&field(v, &["type"]).unwrap_or_default()),
            printable(&entity_text(v)),
            printable(&describe(v)),
        )?;
        for g in t.gaps.iter().filter(|g| g.seq == r.seq) {
            writeln!(out, "{:>8}  ! {}", "", printable(&g.message))?;
        }
    }
    if t.gaps.is_empty() {
        writeln!(out, "gaps: none found")?;
    } else {
        writeln!(out, "gaps: {}", t.gaps.len())?;
        for g in &t.gaps {
            writeln!(out, "  ! seq {}: {}", g.seq, printable(&g.message))?;
        }
    }
    for n in &t.notes {
        writeln!(out, "note: {}", printable(n))?;
    }
    Ok(())
}

/// Writes an incident: counts by source and type, then the records (table); the
/// records (jsonl, csv). With `counts_only`, only the counts, in any format
/// (jsonl: `{"source":..,"type":..,"count":..}` per line).
pub fn write_incident(
    out: &mut dyn Write,
    inc: &Incident,
    format: Format,
    zone: TimeZone,
    counts_only: bool,
) -> io::Result<()> {
    if counts_only {
        match format {
            Format::Jsonl => {
                for g in &inc.groups {
                    writeln!(out, "{}", serde_json::to_string(g).unwrap_or_default())?;
                }
            }
            Format::Csv => {
                out.write_all(csv_row(&["source", "type", "count"]).as_bytes())?;
                for g in &inc.groups {
                    let c = g.count.to_string();
                    out.write_all(
                        csv_row(&[g.source.as_deref().unwrap_or(""), &g.r#type, &c]).as_bytes(),
                    )?;
                }
            }
            Format::Table => write_groups(out, inc)?,
        }
        return Ok(());
    }
    if format != Format::Table {
        return write_records(out, &inc.records, format, zone);
    }
    writeln!(
        out,
        "incident at {} ± {}: {} records from {} to {} (both included)",
        zone.format(inc.at),
        exact_duration(inc.window),
        thousands(inc.total),
        zone.format(inc.from),
        zone.format(inc.until)
    )?;
    write_groups(out, inc)?;
    writeln!(out)?;
    if (inc.records.len() as u64) < inc.total {
        writeln!(
            out,
            "the first {} of {} records:",
            thousands(inc.records.len() as u64),
            thousands(inc.total)
        )?;
    }
    write_records(out, &inc.records, format, zone)
}

fn write_groups(out: &mut dyn Write, inc: &Incident) -> io::Result<()> {
    writeln!(out, "{:<20}  {:<28}  {:>8}", "source", "type", "count")?;
    let mut last: Option<&Option<String>> = None;
    for g in &inc.groups {
        let src = if last == Some(&g.source) {
            ""
        } else {
            g.source.as_deref().unwrap_or("(none)")
        };
        last = Some(&g.source);
        writeln!(
            out,
            "{:<20}  {:<28}  {:>8}",
            printable(src),
            printable(&g.r#type),
            thousands(g.count)
        )?;
    }
    Ok(())
}

/// Writes counts by a dimension. jsonl: one object per row, e.g.
/// `{"type":"order.filled","count":183346}` (the value is `null` when absent).
pub fn write_stats(out: &mut dyn Write, s: &Stats, format: Format) -> io::Result<()> {
    let name = s.by.name();
    match format {
        Format::Jsonl => {
            for r in &s.rows {
                let mut m = serde_json::Map::new();
                m.insert(
                    name.to_owned(),
                    r.value.clone().map_or(Value::Null, Value::String),
                );
                m.insert("count".into(), Value::from(r.count));
                writeln!(out, "{}", Value::Object(m))?;
            }
        }
        Format::Csv => {
            out.write_all(csv_row(&[name, "count"]).as_bytes())?;
            for r in &s.rows {
                let c = r.count.to_string();
                out.write_all(csv_row(&[r.value.as_deref().unwrap_or(""), &c]).as_bytes())?;
            }
        }
        Format::Table => {
            let w = s
                .rows
                .iter()
                .map(|r| {
                    r.value
                        .as_deref()
                        .map_or(6, |v| printable(v).chars().count())
                })
                .max()
                .unwrap_or(0)
                .max(name.len());
            writeln!(out, "{name:<w$}  {:>12}  {:>7}", "count", "share")?;
            for r in &s.rows {
                let share = if s.total == 0 {
                    0.0
                } else {
                    100.0 * r.count as f64 / s.total as f64
                };
                writeln!(
                    out,
                    "{:<w$}  {:>12}  {:>6.2}%",
                    printable(r.value.as_deref().unwrap_or("(none)")),
                    thousands(r.count),
                    share
                )?;
            }
            writeln!(out, "{:<w$}  {:>12}", "total", thousands(s.total))?;
        }
    }
    Ok(())
}

/// Writes the conversion funnel. jsonl: one object per stage and one per drop, e.g.
/// `{"stage":"signals","count":11931}`,
/// `{"stage":"signals","outcome":"filtered","type":"signal.filtered","count":1412,"reasons":{..}}`.
pub fn write_funnel(out: &mut dyn Write, f: &Funnel, format: Format) -> io::Result<()> {
    let pct = |n: u64| {
        if f.signals == 0 {
            String::new()
        } else {
            format!("{:.1}%", 100.0 * n as f64 / f.signals as f64)
        }
    };
    match format {
        Format::Jsonl => {
            for s in &f.stages {
                let mut m = serde_json::Map::new();
                m.insert("stage".into(), Value::from(s.stage));
                m.insert("count".into(), Value::from(s.count));
                if let Some(u) = s.unaccounted {
                    m.insert("unaccounted".into(), Value::from(u));
                }
                writeln!(out, "{}", Value::Object(m))?;
                for dr in &s.drops {
                    let mut reasons = serde_json::Map::new();
                    for (r, n) in &dr.reasons {
                        reasons.insert(r.clone(), Value::from(*n));
                    }
                    let v = serde_json::json!({
                        "stage": s.stage,
                        "outcome": dr.outcome,
                        "type": dr.r#type,
                        "count": dr.count,
                        "reasons": reasons,
                    });
                    writeln!(out, "{v}")?;
                }
            }
        }
        Format::Csv => {
            out.write_all(csv_row(&["stage", "outcome", "reason", "count"]).as_bytes())?;
            for s in &f.stages {
                let c = s.count.to_string();
                out.write_all(csv_row(&[s.stage, "", "", &c]).as_bytes())?;
                for dr in &s.drops {
                    for (r, n) in &dr.reasons {
                        let c = n.to_string();
                        out.write_all(csv_row(&[s.stage, dr.outcome, r, &c]).as_bytes())?;
                    }
                }
            }
        }
        Format::Table => {
            writeln!(
                out,
                "{:<30}  {:>10}  {:>10}  why",
                "stage", "count", "of signals"
            )?;
            for s in &f.stages {
                let mut extra = Vec::new();
                if let Some(n) = &s.note {
                    extra.push(n.clone());
                }
                if let Some(u) = s.unaccounted.filter(|u| *u != 0) {
                    extra.push(format!(
                        "{u} neither went on nor dropped within the range (in flight at its edges)"
                    ));
                }
                writeln!(
                    out,
                    "{:<30}  {:>10}  {:>10}  {}",
                    s.label,
                    thousands(s.count),
                    pct(s.count),
                    printable(&extra.join("; "))
                )?;
                for dr in &s.drops {
                    let reasons: Vec<String> =
                        dr.reasons.iter().map(|(r, n)| format!("{r} {n}")).collect();
                    writeln!(
                        out,
                        "  - {:<26}  {:>10}  {:>10}  {}",
                        dr.outcome.replace('_', " "),
                        thousands(dr.count),
                        pct(dr.count),
                        printable(&reasons.join(", "))
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// The dimension names `--by` accepts, for help texts.
pub fn dims_help() -> String {
    Dim::ALL.map(Dim::name).join("|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes_controls_and_keeps_the_rest() {
        // C0: ESC, BEL, NUL, and the three that would break a row.
        assert_eq!(printable("\u{1b}[2Jx"), "\\u{1b}[2Jx");
        assert_eq!(printable("a\u{7}b\u{0}c"), "a\\u{7}b\\u{0}c");
        assert_eq!(printable("a\nb\rc\td"), "a\\nb\\rc\\td");
        // DEL and C1 (CSI as one character, NEL).
        assert_eq!(printable("\u{7f}"), "\\u{7f}");
        assert_eq!(printable("\u{9b}31m\u{85}"), "\\u{9b}31m\\u{85}");
        assert_eq!(printable("\u{80}\u{9f}"), "\\u{80}\\u{9f}");
        // Bidi overrides and line separators.
        assert_eq!(printable("a\u{202e}b\u{2028}"), "a\\u{202e}b\\u{2028}");
        // Ordinary text, accents, CJK, emoji and the characters next to the
        // ranges are kept, and not copied.
        for s in [
            "é",
            "株式会社",
            "naïve — ok ✓ 📈",
            "\u{a0}\u{ff}",
            "~ !",
            "",
        ] {
            assert!(matches!(printable(s), Cow::Borrowed(b) if b == s), "{s:?}");
        }
        // Nothing printed holds a control character any more.
        let all: String = (0u32..0x2100).filter_map(char::from_u32).collect();
        assert!(!printable(&all).chars().any(needs_escape));
    }

    fn rec(seq: u64, body: &str) -> Record {
        Record {
            seq,
            line: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn table_escapes_but_jsonl_and_csv_stay_exact() {
        let body = r#"{"seq":7,"type":"custom.thing","ts_event":1000,"source":"s\u001b[31m","actor":"x\ny","data":{"reason":"\u001b[2J\n|   fake | row |"}}"#;
        let records = [rec(7, body)];
        let mut t = Vec::new();
        write_records(&mut t, &records, Format::Table, TimeZone::Utc).unwrap();
        let t = String::from_utf8(t).unwrap();
        assert!(!t.contains('\u{1b}'), "{t}");
        assert_eq!(t.lines().count(), 2, "{t}");
        assert!(t.contains("\\u{1b}[2J\\n|   fake | row |"), "{t}");
        assert!(t.contains("s\\u{1b}[31m"), "{t}");
        assert!(t.contains("x\\ny"), "{t}");

        let mut j = Vec::new();
        write_records(&mut j, &records, Format::Jsonl, TimeZone::Utc).unwrap();
        assert_eq!(j, format!("{body}\n").into_bytes());

        let mut c = Vec::new();
        write_records(&mut c, &records, Format::Csv, TimeZone::Utc).unwrap();
        let c = String::from_utf8(c).unwrap();
        // The raw values; the one with a newline quoted, so it stays one field.
        assert!(c.contains(",s\u{1b}[31m,\"x\ny\","), "{c}");
        assert!(c.contains("\\u001b[2J\\n|"), "{c}");
    }
}
