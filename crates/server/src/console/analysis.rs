//! The console's incident and reports pages, and the dashboard's funnel, rejections
//! and reconciliation charts. Same library calls and scoping as the `/v1` routes;
//! every chart is SVG drawn by the server (presentation attributes and classes only:
//! the Content-Security-Policy forbids inline style).

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use tradetrail_query::{parse_window, Filter, Funnel, IncidentSlice};

use super::html::{esc, num, page, per_page, query_string, time, Tz};
use super::pages::{filter_inputs, get, given, input, records_table};
use super::session::Session;
use super::{blocking, html, ConsoleError, Signed};
use crate::error::ApiError;
use crate::queries::{filter_of, from_query, from_report, report_request, Scope, MAX_LIMIT};
use crate::tokens::Role;
use crate::AppState;

type St = State<Arc<AppState>>;
type Params = Query<Vec<(String, String)>>;

/// Slices of an incident's time axis.
const SLICES: usize = 60;

/// Records per page unless the form says otherwise.
const PAGE: usize = 100;

fn within(s: &Session) -> impl Fn(ApiError) -> ConsoleError + '_ {
    move |e| ConsoleError::from(e).within(s)
}

/// `limit`: a count from 1 to [`MAX_LIMIT`] (default [`PAGE`]).
fn page_limit(params: &[(String, String)], s: &Session) -> Result<usize, ConsoleError> {
    match get(params, "limit") {
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ConsoleError::new(
                    StatusCode::BAD_REQUEST,
                    format!("limit: {v:?} is not a count from 1 to {MAX_LIMIT}"),
                )
                .within(s)
            }),
        None => Ok(PAGE),
    }
}

fn incident_form(params: &[(String, String)], limit: usize) -> String {
    let mut out = String::from(
        "<form method=\"get\" action=\"/incident\" class=\"filters\" role=\"search\">",
    );
    out.push_str(&input(
        "at",
        "At",
        "RFC 3339 with zone, e.g. 2026-11-20T14:30:00Z",
        get(params, "at").unwrap_or(""),
    ));
    out.push_str(&input(
        "window",
        "Window (either side)",
        "e.g. 30s, 5m, 1h",
        get(params, "window").unwrap_or("5m"),
    ));
    out.push_str(&filter_inputs(params, false));
    out.push_str(&per_page(limit));
    out.push_str(
        "</select></label><button type=\"submit\" id=\"show\">Show</button>\
         <a href=\"/incident\" class=\"button\">Clear</a></form>",
    );
    out
}

/// `GET /incident?at=T&window=5m&<filters>&limit=&after=&before=`: everything in a
/// window around an instant (the `GET /v1/incident` call), grouped by source and type
/// on a time axis, and the records paged by `seq` as in the search.
pub(crate) async fn incident(
    State(st): St,
    signed: Signed,
    Query(params): Params,
) -> Result<Response, ConsoleError> {
    let s = signed.s;
    let tz = s.tz.clone();
    let params = given(params);
    let limit = page_limit(&params, &s)?;
    let mut body = incident_form(&params, limit);
    let Some(at_text) = get(&params, "at") else {
        body.push_str(
            "<p class=\"hint\" id=\"summary\">Give an instant (<em>At</em>) and how far either \
             side of it to look (<em>Window</em>): every record in that window that matches the \
             filters, by source and type on a time axis, then the records themselves.</p>",
        );
        return Ok(html(
            StatusCode::OK,
            page("Incident", Some(&s), "/incident", &body),
        ));
    };
    let zone = crate::queries::zone_of(st.time(), &params).map_err(within(&s))?;
    let at = tradetrail_query::parse_time_in("at", at_text, &zone)
        .map_err(from_query)
        .map_err(within(&s))?;
    let window_text = get(&params, "window").unwrap_or("5m").to_string();
    let window = parse_window("window", &window_text)
        .map_err(from_query)
        .map_err(within(&s))?;
    let mut asked: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "limit" | "at" | "window"))
        .cloned()
        .collect();
    asked.push(("limit".into(), limit.to_string()));
    let (filter, mut opts, _) = filter_of(&s.caller, st.time(), asked, &[]).map_err(within(&s))?;
    let backward = opts.before.is_some() && opts.after.is_none();
    opts.reverse = backward;
    let (st2, s2, f2, o2) = (st.clone(), s.clone(), filter, opts);
    let (mut inc, slices) = blocking(move || {
        let inv = st2.queries.get(&st2).map_err(within(&s2))?;
        let inc = inv
            .incident(at, window, &f2, &o2)
            .map_err(|e| within(&s2)(from_query(e)))?;
        let slices = inv
            .incident_timeline(at, window, &f2, SLICES)
            .map_err(|e| within(&s2)(from_query(e)))?;
        Ok((inc, slices))
    })
    .await?;
    if backward {
        inc.records.reverse();
    }
    let _ = write!(
        body,
        "<p id=\"summary\" data-total=\"{}\" data-returned=\"{}\"><strong>{}</strong> record{} \
         from {} to {} ({} ± {}).",
        inc.total,
        inc.records.len(),
        num(inc.total),
        if inc.total == 1 { "" } else { "s" },
        time(inc.from, &tz),
        time(inc.until, &tz),
        time(at, &tz),
        esc(&window_text)
    );
    let first = inc.records.first().map(|r| r.seq);
    let last = inc.records.last().map(|r| r.seq);
    let (has_prev, has_next) = if backward {
        (inc.truncated, last.is_some())
    } else {
        (opts.after.is_some() && first.is_some(), inc.next.is_some())
    };
    if let (Some(a), Some(b)) = (first, last) {
        let _ = write!(
            body,
            " Showing {} (seq {} – {}).",
            num(inc.records.len() as u64),
            num(a),
            num(b)
        );
    }
    if has_next {
        body.push_str(" More follow: use Next.");
    } else {
        body.push_str(" <span id=\"end\">This is the last page.</span>");
    }
    body.push_str("</p>");
    for n in &inc.notes {
        let _ = write!(body, "<p class=\"notice\">{}</p>", esc(n));
    }
    let keep: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "after" | "before" | "limit"))
        .cloned()
        .collect();
    body.push_str(&timeline_svg(&inc, &slices, at, &keep, &tz));
    let link = |cursor: &str, seq: u64| {
        let mut q: Vec<(&str, String)> =
            keep.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        q.push(("limit", limit.to_string()));
        q.push((cursor, seq.to_string()));
        format!(
            "/incident?{}",
            query_string(q.iter().map(|(k, v)| (*k, v.as_str())))
        )
    };
    let mut nav = String::from("<nav class=\"pager\" aria-label=\"Pages of records\">");
    if let (true, Some(a)) = (has_prev, first) {
        let _ = write!(
            nav,
            "<a id=\"prev\" rel=\"prev\" href=\"{}\">← Previous</a>",
            esc(&link("before", a))
        );
    } else if let (None, Some(a)) = (first, opts.after) {
        let _ = write!(
            nav,
            "<a id=\"prev\" rel=\"prev\" href=\"{}\">← Previous</a>",
            esc(&link("before", a + 1))
        );
    }
    if let (true, Some(b)) = (has_next, last) {
        let _ = write!(
            nav,
            "<a id=\"next\" rel=\"next\" href=\"{}\">Next →</a>",
            esc(&link("after", b))
        );
    }
    nav.push_str("</nav>");
    body.push_str("<h2>Records</h2>");
    body.push_str(&nav);
    body.push_str(&records_table("results", &inc.records, &tz));
    Ok(html(
        StatusCode::OK,
        page("Incident", Some(&s), "/incident", &body),
    ))
}

/// The incident's groups as lanes on its time axis: one lane per source and type,
/// one mark per slice with records (its height the slice's count), the instant marked.
fn timeline_svg(
    inc: &tradetrail_query::Incident,
    slices: &[IncidentSlice],
    at: i64,
    keep: &[(String, String)],
    tz: &Tz,
) -> String {
    if inc.groups.is_empty() {
        return "<p id=\"no-records\">Nothing was recorded in this window.</p>".into();
    }
    let (label_w, plot_w, count_w, lane_h, axis_h) = (360i64, 680i64, 80i64, 22i64, 34i64);
    let lanes = inc.groups.len() as i64;
    let (w, h) = (label_w + plot_w + count_w, lanes * lane_h + axis_h);
    let span = i128::from(inc.until) + 1 - i128::from(inc.from);
    let x_of = |t: i64| -> i64 {
        let off = (i128::from(t) - i128::from(inc.from)).clamp(0, span);
        label_w + i64::try_from(off * i128::from(plot_w) / span.max(1)).unwrap_or(0)
    };
    let max_cell = slices
        .iter()
        .flat_map(|s| s.groups.iter().map(|g| g.count))
        .max()
        .unwrap_or(1)
        .max(1);
    let mut out = format!(
        "<figure><figcaption>By source and type, {} to {}; each mark is one {} slice, as tall as \
         its count (the tallest: {})</figcaption>\
         <svg id=\"incident-timeline\" class=\"timeline\" role=\"img\" aria-label=\"Records by source \
         and type over the window\" data-lanes=\"{lanes}\" data-slices=\"{}\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\">",
        time(inc.from, tz),
        time(inc.until, tz),
        super::html::delta(
            i64::try_from(span / i128::try_from(slices.len().max(1)).unwrap_or(1)).unwrap_or(0)
        )
        .trim_start_matches('+'),
        num(max_cell),
        slices.len(),
    );
    for (i, g) in inc.groups.iter().enumerate() {
        let top = i as i64 * lane_h;
        if i % 2 == 1 {
            let _ = write!(
                out,
                "<rect class=\"lane\" x=\"0\" y=\"{top}\" width=\"{w}\" height=\"{lane_h}\"></rect>"
            );
        }
        let src = g.source.as_deref().unwrap_or("(no source)");
        let label = format!("{src} · {}", g.r#type);
        let mut q: Vec<(&str, &str)> = keep
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "type" | "source"))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        q.push(("type", g.r#type.as_str()));
        if let Some(src) = &g.source {
            q.push(("source", src.as_str()));
        }
        let _ = write!(
            out,
            "<a href=\"/incident?{}\"><text class=\"label\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text></a>\
             <text class=\"count\" x=\"{}\" y=\"{}\" data-group-count=\"{}\">{}</text>",
            esc(&query_string(q)),
            label_w - 8,
            top + 15,
            esc(&label),
            label_w + plot_w + 8,
            top + 15,
            g.count,
            num(g.count),
        );
        for sl in slices {
            let Some(c) = sl
                .groups
                .iter()
                .find(|x| x.source == g.source && x.r#type == g.r#type)
            else {
                continue;
            };
            let x = x_of(sl.from);
            let cw = (x_of(sl.to) - x - 1).max(1);
            let ch = ((lane_h - 6) * i64::try_from(c.count).unwrap_or(i64::MAX)
                / i64::try_from(max_cell).unwrap_or(1))
            .max(2);
            let _ = write!(
                out,
                "<rect class=\"cell\" data-count=\"{}\" x=\"{x}\" y=\"{}\" width=\"{cw}\" height=\"{ch}\">\
                 <title>{}: {} from {} to {}</title></rect>",
                c.count,
                top + lane_h - 3 - ch,
                esc(&label),
                num(c.count),
                time(sl.from, tz),
                time(sl.to, tz),
            );
        }
    }
    let plot_h = lanes * lane_h;
    let ax = x_of(at);
    let _ = write!(
        out,
        "<line class=\"axis\" x1=\"{label_w}\" y1=\"{plot_h}\" x2=\"{}\" y2=\"{plot_h}\"></line>\
         <line class=\"at\" x1=\"{ax}\" y1=\"0\" x2=\"{ax}\" y2=\"{}\"></line>\
         <text class=\"tick\" x=\"{label_w}\" y=\"{}\" text-anchor=\"start\">{}</text>\
         <text class=\"tick at-label\" x=\"{ax}\" y=\"{}\" text-anchor=\"middle\">{}</text>\
         <text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text></svg></figure>",
        label_w + plot_w,
        plot_h + 4,
        plot_h + 14,
        esc(&time(inc.from, tz)),
        plot_h + 28,
        esc(&time(at, tz)),
        label_w + plot_w,
        plot_h + 14,
        esc(&time(inc.until, tz)),
    );
    out
}

/// The report kinds, as `GET /v1/reports/{kind}` and `tradetrail report KIND` name them.
const KINDS: &[(&str, &str)] = &[
    ("daily", "Daily performance"),
    ("monthly", "Monthly performance"),
    ("execution", "Execution quality"),
    ("tax", "Tax lots"),
    ("compliance", "Compliance"),
    ("reconciliation", "Reconciliation"),
];

/// The report form's fields: (parameter, label, hint).
const REPORT_FIELDS: &[(&str, &str, &str)] = &[
    ("date", "Date", "YYYY-MM-DD (that UTC day)"),
    ("month", "Month", "YYYY-MM"),
    ("year", "Year", "YYYY"),
    ("from", "From", "RFC 3339 or a date"),
    ("to", "To", "exclusive; same forms as From"),
    ("trader", "Trader", "exact id"),
    ("strategy", "Strategy", "exact id"),
    ("account", "Account", "exact id"),
];

/// The report's parameters (not `kind`, `format`, `section`).
fn report_params(params: &[(String, String)]) -> Vec<(String, String)> {
    params
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "kind" | "format" | "section"))
        .cloned()
        .collect()
}

fn report_form(params: &[(String, String)]) -> String {
    let mut out = String::from(
        "<form method=\"get\" action=\"/reports\" class=\"filters\">\
         <label for=\"f-kind\">Report<select id=\"f-kind\" name=\"kind\">",
    );
    let asked = get(params, "kind").unwrap_or("daily");
    for (k, label) in KINDS {
        let sel = if *k == asked { " selected" } else { "" };
        let _ = write!(out, "<option value=\"{k}\"{sel}>{label}</option>");
    }
    out.push_str("</select></label>");
    for (name, label, hint) in REPORT_FIELDS {
        out.push_str(&input(name, label, hint, get(params, name).unwrap_or("")));
    }
    out.push_str(
        "<button type=\"submit\" id=\"run-report\">Show</button>\
         <a href=\"/reports\" class=\"button\">Clear</a></form>",
    );
    out
}

/// Runs a report as `GET /v1/reports/{kind}` does (a trader's own records only).
async fn run_report(
    st: &Arc<AppState>,
    s: &Session,
    kind: &str,
    params: Vec<(String, String)>,
) -> Result<
    (
        tradetrail_reports::Report,
        tradetrail_reports::Format,
        Option<String>,
    ),
    ConsoleError,
> {
    let scope = Scope::of(&s.caller).map_err(within(s))?;
    let (req, format, section) =
        report_request(&scope, st.time(), kind, params).map_err(within(s))?;
    let (st2, s2) = (st.clone(), s.clone());
    let report = blocking(move || {
        let inv = st2.queries.get(&st2).map_err(within(&s2))?;
        tradetrail_reports::run(&inv, &req).map_err(|e| within(&s2)(from_report(e)))
    })
    .await?;
    Ok((report, format, section))
}

/// A cell that reads as a number (right-aligned).
fn numeric(cell: &str) -> bool {
    let t = cell.trim_start_matches(['-', '+']);
    !t.is_empty()
        && t.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '%'))
}

/// `GET /reports?kind=&date=|month=|year=|from=&to=&trader=&strategy=&account=`: a
/// report (the same as `GET /v1/reports/{kind}`) drawn as HTML tables from its
/// tabular form, with links to download it as HTML, CSV and JSON.
pub(crate) async fn reports(
    State(st): St,
    signed: Signed,
    Query(params): Params,
) -> Result<Response, ConsoleError> {
    let s = signed.s;
    let params = given(params);
    let mut body = report_form(&params);
    let Some(kind) = get(&params, "kind").map(str::to_string) else {
        body.push_str(
            "<p class=\"hint\" id=\"summary\">Choose a report and its period: a day, a month, a \
             year, or From/To. Without a period a report covers the whole journal.</p>",
        );
        return Ok(html(
            StatusCode::OK,
            page("Reports", Some(&s), "/reports", &body),
        ));
    };
    let rp = report_params(&params);
    let (report, _, _) = run_report(&st, &s, &kind, rp.clone()).await?;
    let tab = report.tabular();
    let _ = write!(
        body,
        "<h2 id=\"report-title\">{}</h2><p class=\"actions\" id=\"downloads\">Download: ",
        esc(&tab.title())
    );
    for (fmt, label) in [("html", "HTML"), ("csv", "CSV"), ("json", "JSON")] {
        let mut q: Vec<(&str, &str)> = vec![("kind", kind.as_str()), ("format", fmt)];
        q.extend(rp.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let _ = write!(
            body,
            "<a class=\"button\" id=\"download-{fmt}\" href=\"/reports/download?{}\" download>{label}</a> ",
            esc(&query_string(q))
        );
    }
    body.push_str("</p>");
    if s.caller.role == Role::Trader {
        let _ = write!(
            body,
            "<p class=\"hint\">Trader {}'s records only.</p>",
            esc(s.caller.trader_id.as_deref().unwrap_or("?"))
        );
    }
    for n in tab.notes() {
        let _ = write!(body, "<p class=\"notice\">{}</p>", esc(&n));
    }
    for t in tab.tables() {
        let _ = write!(
            body,
            "<h3>{}</h3><div class=\"scroll\"><table class=\"report\" data-table=\"{}\" data-rows=\"{}\"><thead><tr>",
            esc(&t.title),
            esc(&t.name),
            t.rows.len()
        );
        // Headers and figures as the reports show them to people (thousands
        // separators, money to 2 places, ...); the downloads keep the exact values.
        let h = t.human();
        for (i, c) in h.headers.iter().enumerate() {
            let _ = write!(
                body,
                "<th scope=\"col\" title=\"{}\">{}</th>",
                esc(t.columns.get(i).map_or("", String::as_str)),
                esc(c)
            );
        }
        body.push_str("</tr></thead><tbody>");
        for r in &h.rows {
            body.push_str("<tr>");
            for (i, c) in r.iter().enumerate() {
                let right = h.right.get(i).copied().unwrap_or(false) || numeric(&c.text);
                let class = if right { " class=\"num\"" } else { "" };
                let _ = write!(body, "<td{class}>{}</td>", esc(&c.text));
            }
            body.push_str("</tr>");
        }
        if t.rows.is_empty() {
            let _ = write!(
                body,
                "<tr><td colspan=\"{}\" class=\"hint\">none</td></tr>",
                t.columns.len().max(1)
            );
        }
        body.push_str("</tbody></table></div>");
    }
    Ok(html(
        StatusCode::OK,
        page("Reports", Some(&s), "/reports", &body),
    ))
}

/// `s` with only letters, digits, `-` and `_` (for a file name).
fn file_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `GET /reports/download?kind=&format=html|csv|json&<period>`: the report as a file
/// (what `GET /v1/reports/{kind}?format=` answers), recorded as `user.exported`.
pub(crate) async fn report_download(
    State(st): St,
    signed: Signed,
    Query(params): Params,
) -> Result<Response, ConsoleError> {
    let s = signed.s;
    let params = given(params);
    let kind = get(&params, "kind").unwrap_or("").to_string();
    let fmt = get(&params, "format").unwrap_or("json").to_string();
    let ext = match fmt.as_str() {
        "html" => "html",
        "csv" => "csv",
        "json" => "json",
        other => {
            return Err(ConsoleError::new(
                StatusCode::BAD_REQUEST,
                format!("format: {other:?} is not one of html, csv, json"),
            )
            .within(&s))
        }
    };
    let rp = report_params(&params);
    let mut with_format = rp.clone();
    with_format.push(("format".into(), fmt.clone()));
    let (report, format, section) = run_report(&st, &s, &kind, with_format).await?;
    let (st2, s2, kind2) = (st.clone(), s.clone(), kind.clone());
    let period = query_string(rp.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let bytes = blocking(move || {
        let mut out = Vec::new();
        tradetrail_reports::write(&mut out, &report, format, section.as_deref())
            .map_err(|e| within(&s2)(from_report(e)))?;
        super::record_export(
            &st2,
            &s2.caller,
            &[
                ("what", "report".into()),
                ("kind", kind2.into()),
                ("format", fmt.into()),
                ("parameters", period.into()),
            ],
        )
        .map_err(within(&s2))?;
        Ok(out)
    })
    .await?;
    let content_type = match ext {
        "html" => "text/html; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        _ => "application/json",
    };
    let suffix = ["date", "month", "year", "from"]
        .iter()
        .find_map(|k| get(&params, k))
        .map(|v| format!("-{}", file_part(v)))
        .unwrap_or_default();
    Ok(super::attachment(
        bytes,
        content_type,
        &format!("tradetrail-{}{suffix}.{ext}", file_part(&kind)),
    ))
}

/// Horizontal bars: (label, count, link, note) rows; `id` the SVG's.
fn hbars(id: &str, caption: &str, rows: &[(String, u64, Option<String>, String)]) -> String {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(1).max(1);
    let (row_h, label_w, bar_w) = (24u64, 340u64, 420u64);
    let height = row_h * rows.len().max(1) as u64 + 8;
    let w = label_w + bar_w + 430;
    let mut out = format!(
        "<figure><figcaption>{}</figcaption><svg id=\"{id}\" class=\"bars\" role=\"img\" \
         aria-label=\"{}\" width=\"{w}\" height=\"{height}\" viewBox=\"0 0 {w} {height}\" \
         xmlns=\"http://www.w3.org/2000/svg\">",
        esc(caption),
        esc(caption)
    );
    for (i, (label, count, link, note)) in rows.iter().enumerate() {
        let y = i as u64 * row_h + 4;
        let bw = if *count == 0 {
            0
        } else {
            (count * bar_w / max).max(1)
        };
        let inner = format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"label\">{}</text>\
             <rect x=\"{label_w}\" y=\"{y}\" width=\"{bw}\" height=\"{}\" class=\"bar\" data-count=\"{count}\">\
             <title>{}: {}</title></rect>\
             <text x=\"{}\" y=\"{}\" class=\"count\">{}{}</text>",
            label_w - 8,
            y + 15,
            esc(label),
            row_h - 6,
            esc(label),
            num(*count),
            label_w + bw + 6,
            y + 15,
            num(*count),
            if note.is_empty() {
                String::new()
            } else {
                format!(" · {}", esc(note))
            },
        );
        match link {
            Some(href) => {
                let _ = write!(out, "<a href=\"{}\">{inner}</a>", esc(href));
            }
            None => out.push_str(&inner),
        }
    }
    out.push_str("</svg></figure>");
    out
}

/// A percentage of `whole` with one decimal.
fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        return String::new();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}

/// The conversion funnel (`tradetrail stats --conversion`) and the rejections and
/// drop-outs by reason.
fn funnel_sections(funnel: &Funnel) -> String {
    let mut body = String::from("<h2>Conversion funnel</h2>");
    let stage_type = |stage: &str| match stage {
        "signals" => Some("signal.generated"),
        "recommendations" => Some("recommendation.generated"),
        "risk" => Some("risk.evaluated"),
        "approvals" => Some("approval.requested"),
        "orders" => Some("order.submitted"),
        "fills" => Some("order.filled"),
        _ => None,
    };
    let rows: Vec<(String, u64, Option<String>, String)> = funnel
        .stages
        .iter()
        .map(|st| {
            (
                st.label.to_string(),
                st.count,
                stage_type(st.stage).map(|t| format!("/search?{}", query_string([("type", t)]))),
                match (&st.note, pct(st.count, funnel.signals)) {
                    (Some(n), p) if !p.is_empty() => format!("{p} ({n})"),
                    (Some(n), _) => n.clone(),
                    (None, p) => p,
                },
            )
        })
        .collect();
    body.push_str(&hbars(
        "funnel",
        "From signals to fills (share of signals)",
        &rows,
    ));
    body.push_str("<h2>Rejections and drop-outs by reason</h2>");
    let mut drops: Vec<(String, u64, Option<String>, String)> = Vec::new();
    for st in &funnel.stages {
        for d in &st.drops {
            for (reason, n) in &d.reasons {
                drops.push((
                    format!("{}: {reason}", d.outcome.replace('_', " ")),
                    *n,
                    Some(format!("/search?{}", query_string([("type", d.r#type)]))),
                    String::new(),
                ));
            }
        }
    }
    drops.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    if drops.is_empty() {
        body.push_str("<p id=\"no-drops\">No rejections, cancellations or expiries recorded.</p>");
    } else {
        body.push_str(&hbars("rejections", "Outcome: reason", &drops));
    }
    body
}

/// Reconciliation runs, breaks corrected and sent to review (from the counts by type)
/// and, for compliance and admin, the reviews still open.
fn reconciliation_section(counts: &tradetrail_query::Stats, open_reviews: Option<usize>) -> String {
    let mut body = String::from("<h2>Reconciliation</h2>");
    let count = |t: &str| {
        counts
            .rows
            .iter()
            .filter(|r| r.value.as_deref() == Some(t))
            .map(|r| r.count)
            .sum::<u64>()
    };
    let mut rec: Vec<(String, u64, Option<String>, String)> = vec![
        (
            "runs".into(),
            count("reconciliation.completed"),
            Some("/search?type=reconciliation.completed".into()),
            String::new(),
        ),
        (
            "breaks corrected (minor)".into(),
            count("reconciliation.correction"),
            Some("/search?type=reconciliation.correction".into()),
            String::new(),
        ),
        (
            "breaks sent to review (major)".into(),
            count("review.requested"),
            Some("/search?type=review.requested".into()),
            String::new(),
        ),
    ];
    if let Some(open) = open_reviews {
        rec.push((
            "reviews open".into(),
            open as u64,
            Some("/reviews".into()),
            String::new(),
        ));
    }
    body.push_str(&hbars(
        "reconciliation",
        "Reconciliation breaks and reviews",
        &rec,
    ));
    body
}

/// Every reconciliation review: the `review.*` records found through the query index
/// (not a read of the whole journal), folded by the books' own
/// [`tradetrail_books::review::reviews_of`].
pub(crate) fn reviews(
    st: &AppState,
    s: &Session,
) -> Result<Vec<tradetrail_books::Review>, ConsoleError> {
    let inv = st.queries.get(st).map_err(within(s))?;
    let mut f = Filter::default();
    f.set("type", "review.requested,review.resolved")
        .map_err(|e| within(s)(from_query(e)))?;
    let (lines, _) = inv
        .query(&f, &tradetrail_query::QueryOptions::default())
        .map_err(|e| within(s)(from_query(e)))?;
    let mut records = Vec::with_capacity(lines.len());
    for r in &lines {
        match tradetrail_books::Record::parse(&r.line) {
            Ok(rec) => records.push(rec),
            Err(e) => {
                tracing::error!(seq = r.seq, error = %e, "a review record does not parse");
                return Err(within(s)(ApiError::Internal));
            }
        }
    }
    Ok(tradetrail_books::review::reviews_of(&records))
}

/// The dashboard's reconciliation section: its counts and, for compliance and admin,
/// the number of open reviews.
pub(crate) fn dashboard_extra(
    st: &AppState,
    s: &Session,
    counts: &tradetrail_query::Stats,
) -> Result<String, ConsoleError> {
    let open = if matches!(s.caller.role, Role::Compliance | Role::Admin) {
        Some(
            reviews(st, s)?
                .iter()
                .filter(|r| r.status == tradetrail_books::ReviewStatus::Open)
                .count(),
        )
    } else {
        None
    };
    Ok(reconciliation_section(counts, open))
}

/// Where the dashboard loads its funnel from (a link without JavaScript).
pub(crate) const FUNNEL_SLOT: &str = "<section id=\"funnel-slot\" data-src=\"/dashboard/funnel\">\
     <h2>Conversion funnel</h2><p id=\"funnel-loading\"><a href=\"/dashboard/funnel\">The conversion \
     funnel and the rejections by reason</a> (loading…: on a large journal it takes a moment)</p></section>";

/// `GET /dashboard/funnel`: the conversion funnel and the rejections by reason (the
/// `tradetrail stats --conversion` call, scoped), in `#funnel-body`; the dashboard's
/// script puts it in the dashboard once the rest of the dashboard is shown.
pub(crate) async fn dashboard_funnel(
    State(st): St,
    signed: Signed,
) -> Result<Response, ConsoleError> {
    let s = signed.s;
    let (filter, _, _) = filter_of(&s.caller, st.time(), Vec::new(), &[]).map_err(within(&s))?;
    let (st2, s2) = (st.clone(), s.clone());
    let funnel = blocking(move || {
        let inv = st2.queries.get(&st2).map_err(within(&s2))?;
        inv.conversion(&filter)
            .map_err(|e| within(&s2)(from_query(e)))
    })
    .await?;
    let body = format!("<div id=\"funnel-body\">{}</div>", funnel_sections(&funnel));
    Ok(html(
        StatusCode::OK,
        page("Conversion funnel", Some(&s), "/dashboard", &body),
    ))
}

/// The dashboard's positions section, filled in by its script after first paint (the
/// books read every record of the journal).
pub(crate) const POSITIONS_SLOT: &str = "<section id=\"positions-slot\" class=\"lazy\" \
     data-src=\"/dashboard/positions\" data-body=\"positions-body\"><h2>Positions and P&amp;L</h2>\
     <p class=\"loading\"><a href=\"/dashboard/positions\">Positions and P&amp;L</a> (loading…: \
     the books read the whole journal)</p></section>";

/// Instruments on the P&L chart (the largest by absolute P&L).
const PNL_BARS: usize = 12;

/// `GET /dashboard/positions`: the books as `tradetrail positions` derives them (FIFO,
/// marked at the latest price), in `#positions-body`: P&L by currency, a chart of P&L by
/// instrument, and the open positions. A trader's books are derived from its own
/// records only.
pub(crate) async fn dashboard_positions(
    State(st): St,
    signed: Signed,
) -> Result<Response, ConsoleError> {
    use rust_decimal::Decimal;
    let s = signed.s;
    let trader = match s.caller.role {
        Role::Trader => s.caller.trader_id.clone(),
        _ => None,
    };
    let (st2, s2) = (st.clone(), s.clone());
    let books = blocking(move || {
        let fail = |e: tradetrail_books::Error| {
            ConsoleError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).within(&s2)
        };
        let inv = st2.queries.get(&st2).map_err(within(&s2))?;
        let cold = inv.source().cold_tier();
        let mut records =
            tradetrail_books::read_records(&st2.rec.data_dir().journal(), cold.as_deref())
                .map_err(fail)?;
        if let Some(t) = &trader {
            records.retain(|r| r.trader_id.as_deref() == Some(t.as_str()));
        }
        tradetrail_books::Books::try_from_records(&records, &Default::default()).map_err(fail)
    })
    .await?;
    let positions = books.positions();
    let mut body = String::from("<div id=\"positions-body\"><h2>Positions and P&amp;L</h2>");
    // P&L by currency.
    let mut by_ccy: std::collections::BTreeMap<&str, (Decimal, Decimal, Decimal)> =
        std::collections::BTreeMap::new();
    for p in positions {
        let e = by_ccy.entry(p.currency.as_str()).or_default();
        e.0 += p.realized_pnl;
        e.1 += p.unrealized_pnl.unwrap_or_default();
        e.2 += p.commission;
    }
    if by_ccy.is_empty() {
        body.push_str(
            "<p id=\"no-positions\">No fills are recorded, so there are no positions.</p></div>",
        );
        return Ok(html(
            StatusCode::OK,
            page("Positions", Some(&s), "/dashboard", &body),
        ));
    }
    body.push_str(
        "<table id=\"pnl\"><thead><tr><th>Currency</th><th class=\"num\">Realized P&amp;L</th>\
         <th class=\"num\">Unrealized P&amp;L</th><th class=\"num\">Commission</th></tr></thead><tbody>",
    );
    for (ccy, (r, u, c)) in &by_ccy {
        let _ = write!(
            body,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(ccy),
            html::money(*r),
            html::money(*u),
            html::money(*c)
        );
    }
    body.push_str("</tbody></table>");
    // P&L by instrument: realized + unrealized, the largest in absolute value.
    let mut pnl: Vec<(String, &str, Decimal)> = positions
        .iter()
        .map(|p| {
            (
                format!("{} {}", p.instrument_id, p.account_id),
                p.currency.as_str(),
                p.realized_pnl + p.unrealized_pnl.unwrap_or_default(),
            )
        })
        .collect();
    pnl.sort_by(|a, b| b.2.abs().cmp(&a.2.abs()).then_with(|| a.0.cmp(&b.0)));
    pnl.truncate(PNL_BARS);
    let max = pnl.iter().map(|p| p.2.abs()).max().unwrap_or_default();
    if !max.is_zero() {
        let (row_h, label_w, half) = (22u64, 260u64, 260u64);
        let height = row_h * pnl.len() as u64 + 10;
        let zero = label_w + half;
        let _ = write!(
            body,
            "<figure><figcaption>P&amp;L by instrument and account (realized + unrealized), the {} largest</figcaption>\
             <svg id=\"pnl-by-instrument\" class=\"bars\" role=\"img\" aria-label=\"P&amp;L by instrument\" \
             width=\"{w}\" height=\"{height}\" viewBox=\"0 0 {w} {height}\" xmlns=\"http://www.w3.org/2000/svg\">\
             <line x1=\"{zero}\" x2=\"{zero}\" y1=\"0\" y2=\"{height}\" class=\"grid\"/>",
            pnl.len(),
            w = zero + half + 10,
        );
        for (i, (label, ccy, v)) in pnl.iter().enumerate() {
            let y = i as u64 * row_h + 4;
            let len = (v.abs() * Decimal::from(half) / max)
                .round()
                .try_into()
                .unwrap_or(0u64)
                .max(1);
            let (x, class) = if v.is_sign_negative() {
                (zero - len, "loss")
            } else {
                (zero, "gain")
            };
            let _ = write!(
                body,
                "<g><text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\" class=\"label\">{}</text>\
                 <rect x=\"{x}\" y=\"{y}\" width=\"{len}\" height=\"{bh}\" class=\"{class}\" data-pnl=\"{v}\">\
                 <title>{}: {} {}</title></rect></g>",
                esc(label),
                esc(label),
                html::money(*v),
                esc(ccy),
                lx = label_w - 8,
                ty = y + 14,
                bh = row_h - 6,
            );
        }
        body.push_str("</svg></figure>");
    }
    // Open positions.
    let open: Vec<_> = positions.iter().filter(|p| !p.quantity.is_zero()).collect();
    let _ = write!(
        body,
        "<h3>Open positions ({})</h3><table id=\"open-positions\"><thead><tr><th>Account</th><th>Instrument</th>\
         <th class=\"num\">Quantity</th><th class=\"num\">Average cost</th><th class=\"num\">Mark</th>\
         <th class=\"num\">Unrealized P&amp;L</th><th class=\"num\">Realized P&amp;L</th><th>Currency</th></tr></thead><tbody>",
        num(open.len() as u64)
    );
    for p in &open {
        let _ = write!(
            body,
            "<tr data-quantity=\"{}\"><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            p.quantity,
            esc(&p.account_id),
            esc(&p.instrument_id),
            html::quantity(p.quantity),
            html::average(p.avg_cost),
            p.mark_price.map(html::price).unwrap_or_else(|| "—".into()),
            p.unrealized_pnl.map(html::money).unwrap_or_else(|| "—".into()),
            html::money(p.realized_pnl),
            esc(&p.currency)
        );
    }
    body.push_str("</tbody></table></div>");
    Ok(html(
        StatusCode::OK,
        page("Positions", Some(&s), "/dashboard", &body),
    ))
}
