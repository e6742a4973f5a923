//! The console's pages. Each reads through the same library calls and the same
//! scoping as the `/v1` routes, on the blocking pool.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Form;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tradetrail_core::checkpoints::{latest_checkpoint, prove_inclusion_for, verifier_key};
use tradetrail_core::Tree;
use tradetrail_query::Dim;

use super::html::{csrf_field, delta, esc, num, page, per_page, query_string, time};
use super::{actor_of, allow, blocking, html, ConsoleError, Signed};
use crate::error::ApiError;
use crate::queries::{filter_of, scoped_trail, Scope};
use crate::tokens::Role;
use crate::AppState;

type St = State<Arc<AppState>>;
type Params = Query<Vec<(String, String)>>;

/// The search form's filters: (parameter, label, hint).
pub(crate) const FILTERS: &[(&str, &str, &str)] = &[
    (
        "from",
        "From",
        "RFC 3339 with zone, e.g. 2026-11-20T14:30:00Z, or a date (UTC)",
    ),
    ("to", "To", "exclusive; same forms as From"),
    (
        "type",
        "Type",
        "e.g. order.*, or order.filled,order.cancelled",
    ),
    ("trader", "Trader", "e.g. T-01"),
    ("instrument", "Instrument", "e.g. AAPL.XNAS"),
    ("account", "Account", "e.g. U1234567"),
    ("source", "Source", "e.g. oms"),
    ("actor", "Actor", "e.g. trader:T-01, algo:*"),
    ("entity", "Entity", "kind/id or id, e.g. order/O-12"),
    ("mentions", "Mentions", "an id anywhere in entity or refs"),
    (
        "text",
        "Text in data",
        "free text, e.g. fat finger (any case)",
    ),
];

/// Records per page unless the form says otherwise.
const PAGE: usize = 100;

/// The non-empty parameters of a request, in order.
pub(crate) fn given(params: Vec<(String, String)>) -> Vec<(String, String)> {
    params
        .into_iter()
        .map(|(k, v)| (k, v.trim().to_string()))
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

pub(crate) fn get<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A journal line's JSON (the journal writes only JSON objects).
pub(crate) fn parse(line: &[u8]) -> Value {
    serde_json::from_slice(line).unwrap_or(Value::Null)
}

pub(crate) fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

pub(crate) fn ts(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64).or_else(|| {
        v.get(key)
            .and_then(Value::as_str)
            .and_then(|s| tradetrail_query::parse_time(key, s).ok())
    })
}

/// `entity` as `kind/id`, linked to its trail.
fn entity_cell(v: &Value) -> String {
    let (Some(kind), Some(id)) = (
        v.pointer("/entity/kind").and_then(Value::as_str),
        v.pointer("/entity/id").and_then(Value::as_str),
    ) else {
        return String::new();
    };
    format!(
        "<a href=\"/trail?{}\">{}/{}</a>",
        esc(&query_string([("id", id)])),
        esc(kind),
        esc(id)
    )
}

/// One labelled text field of a form, filled with `value`.
pub(crate) fn input(name: &str, label: &str, hint: &str, value: &str) -> String {
    format!(
        "<label for=\"f-{name}\">{label}<input id=\"f-{name}\" name=\"{name}\" value=\"{}\" \
         placeholder=\"{}\" spellcheck=\"false\"></label>",
        esc(value),
        esc(hint)
    )
}

/// The fields of [`FILTERS`], filled from `params`; without From and To unless
/// `range` (the incident and the live tail have their own time).
pub(crate) fn filter_inputs(params: &[(String, String)], range: bool) -> String {
    FILTERS
        .iter()
        .filter(|f| range || !matches!(f.0, "from" | "to"))
        .map(|(name, label, hint)| input(name, label, hint, get(params, name).unwrap_or("")))
        .collect()
}

/// The search form, filled with the parameters asked.
fn search_form(params: &[(String, String)], limit: usize) -> String {
    let mut out =
        String::from("<form method=\"get\" action=\"/search\" class=\"filters\" role=\"search\">");
    out.push_str(&filter_inputs(params, true));
    out.push_str(&per_page(limit));
    out.push_str(
        "</select></label><button type=\"submit\" id=\"search\">Search</button>\
         <a href=\"/search\" class=\"button\">Clear</a></form>",
    );
    out
}

/// `GET /search?<filters>&limit=&after=&before=`: a page of matching records, with the
/// number that match and Next/Previous by `seq` cursor (as `GET /v1/events`).
pub(crate) async fn search(
    State(st): St,
    signed: Signed,
    Query(params): Params,
) -> Result<Response, ConsoleError> {
    let s = signed.s;
    let params = given(params);
    let limit = match get(&params, "limit") {
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=crate::queries::MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ConsoleError::new(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "limit: {v:?} is not a count from 1 to {}",
                        crate::queries::MAX_LIMIT
                    ),
                )
                .within(&s)
            })?,
        None => PAGE,
    };
    let mut asked: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "limit")
        .cloned()
        .collect();
    asked.push(("limit".into(), limit.to_string()));
    let (filter, mut opts, _) = filter_of(&s.caller, st.time(), asked, &[])
        .map_err(|e| ConsoleError::from(e).within(&s))?;
    // Previous pages are read newest first from `before`, and shown in seq order.
    let backward = opts.before.is_some() && opts.after.is_none();
    opts.reverse = backward;
    let (st2, s2) = (st.clone(), s.clone());
    let (mut records, summary, total) = blocking(move || {
        let inv = st2
            .queries
            .get(&st2)
            .map_err(|e| ConsoleError::from(e).within(&s2))?;
        let (records, summary) = inv
            .query(&filter, &opts)
            .map_err(|e| ConsoleError::from(crate::queries::from_query(e)).within(&s2))?;
        let total = inv
            .stats(Dim::Type, &filter)
            .map_err(|e| ConsoleError::from(crate::queries::from_query(e)).within(&s2))?
            .total;
        Ok((records, summary, total))
    })
    .await?;
    if backward {
        records.reverse();
    }
    let filters: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "after" | "before" | "limit"))
        .cloned()
        .collect();
    let link = |cursor: &str, seq: u64| {
        let mut q: Vec<(&str, String)> = filters
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        q.push(("limit", limit.to_string()));
        q.push((cursor, seq.to_string()));
        format!(
            "/search?{}",
            query_string(q.iter().map(|(k, v)| (*k, v.as_str())))
        )
    };
    let first = records.first().map(|r| r.seq);
    let last = records.last().map(|r| r.seq);
    let (has_prev, has_next) = if backward {
        (summary.truncated, last.is_some())
    } else {
        (
            opts.after.is_some() && first.is_some(),
            summary.next.is_some(),
        )
    };
    let mut body = search_form(&params, limit);
    let _ = write!(
        body,
        "<p id=\"summary\" data-total=\"{total}\" data-returned=\"{}\"><strong>{}</strong> record{} match.",
        records.len(),
        num(total),
        if total == 1 { "" } else { "s" }
    );
    match (first, last) {
        (Some(a), Some(b)) => {
            let _ = write!(
                body,
                " Showing {} (seq {} – {}).",
                num(records.len() as u64),
                num(a),
                num(b)
            );
        }
        _ => body.push_str(" None on this page."),
    }
    if has_next {
        body.push_str(" More follow: use Next.");
    } else {
        body.push_str(" <span id=\"end\">This is the last page.</span>");
    }
    body.push_str("</p>");
    if total > 0 {
        let q = query_string(filters.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if total <= MAX_EXPORT as u64 {
            let _ = write!(
                body,
                "<p><a id=\"export\" class=\"button\" href=\"/export?{}\">Export {} record{} as a bundle (ZIP, with a proof for each)</a></p>",
                esc(&q),
                num(total),
                if total == 1 { "" } else { "s" }
            );
        } else {
            let _ = write!(
                body,
                "<p class=\"notice\" id=\"export-too-many\">An export bundle holds at most {} records: narrow the search to export it.</p>",
                num(MAX_EXPORT as u64)
            );
        }
    }
    for n in &summary.notes {
        let _ = write!(body, "<p class=\"notice\">{}</p>", esc(n));
    }
    let mut nav = String::from("<nav class=\"pager\" aria-label=\"Pages of results\">");
    if let (true, Some(a)) = (has_prev, first) {
        let _ = write!(
            nav,
            "<a id=\"prev\" rel=\"prev\" href=\"{}\">← Previous</a>",
            esc(&link("before", a))
        );
    } else if let (true, None, Some(a)) = (opts.after.is_some(), first, opts.after) {
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
    body.push_str(&nav);
    body.push_str(&records_table("results", &records, &s.tz));
    body.push_str(&nav.replace("id=\"prev\"", "").replace("id=\"next\"", ""));
    Ok(html(
        StatusCode::OK,
        page("Search", Some(&s), "/search", &body),
    ))
}

/// The records as the search table (`id` the table's), each row linked to its record
/// and its entity's trail.
pub(crate) fn records_table(
    id: &str,
    records: &[tradetrail_query::Record],
    tz: &super::html::Tz,
) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        "<table id=\"{id}\"><thead><tr><th scope=\"col\">seq</th><th scope=\"col\">time</th>\
         <th scope=\"col\">type</th><th scope=\"col\">source</th><th scope=\"col\">actor</th>\
         <th scope=\"col\">trader</th><th scope=\"col\">instrument</th><th scope=\"col\">account</th>\
         <th scope=\"col\">entity</th></tr></thead><tbody>",
    );
    for r in records {
        let v = parse(&r.line);
        let _ = write!(
            body,
            "<tr data-seq=\"{seq}\"><td class=\"num\"><a href=\"/record/{seq}\">{}</a></td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td class=\"trader\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            num(r.seq),
            ts(&v, "ts_event").map(|t| time(t, tz)).unwrap_or_default(),
            esc(&text(&v, "type")),
            esc(&text(&v, "source")),
            esc(&text(&v, "actor")),
            esc(&text(&v, "trader_id")),
            esc(&text(&v, "instrument_id")),
            esc(&text(&v, "account_id")),
            entity_cell(&v),
            seq = r.seq,
        );
    }
    body.push_str("</tbody></table>");
    body
}

/// Reads record `seq` if the session may see it.
fn scoped_line(st: &AppState, scope: &Scope, seq: u64) -> Result<Vec<u8>, ApiError> {
    let line = st.rec.read_line(seq).map_err(ApiError::from_core)?;
    if !scope.admits_line(&line) {
        return Err(ApiError::Forbidden(format!(
            "record {seq} is not one of trader {}'s records",
            scope.trader().unwrap_or("?")
        )));
    }
    Ok(line)
}

/// `GET /record/{seq}`: one record — seq, hash, prev, envelope, data — with links to
/// the trails of the ids it names and its inclusion proof.
pub(crate) async fn record(
    State(st): St,
    signed: Signed,
    Path(seq): Path<u64>,
) -> Result<Response, ConsoleError> {
    let s = signed.s;
    let scope = Scope::of(&s.caller).map_err(|e| ConsoleError::from(e).within(&s))?;
    let (st2, s2) = (st.clone(), s.clone());
    let line = blocking(move || {
        scoped_line(&st2, &scope, seq).map_err(|e| ConsoleError::from(e).within(&s2))
    })
    .await?;
    let v = parse(&line);
    let hash = hex::encode(Sha256::digest(&line));
    let mut body = String::new();
    let _ = write!(
        body,
        "<dl class=\"record\" id=\"record\"><dt>seq</dt><dd id=\"seq\">{seq}</dd>\
         <dt>hash</dt><dd><code id=\"hash\">{hash}</code></dd>\
         <dt>prev</dt><dd><code id=\"prev-hash\">{}</code></dd>\
         <dt>time (ts_event)</dt><dd>{}</dd><dt>recorded (ts_recorded)</dt><dd>{}</dd>",
        esc(&text(&v, "prev")),
        ts(&v, "ts_event")
            .map(|t| time(t, &s.tz))
            .unwrap_or_default(),
        ts(&v, "ts_recorded")
            .map(|t| time(t, &s.tz))
            .unwrap_or_default(),
    );
    if let Value::Object(map) = &v {
        for (k, val) in map {
            if matches!(
                k.as_str(),
                "seq" | "prev" | "ts_event" | "ts_recorded" | "data"
            ) {
                continue;
            }
            let shown = match val {
                Value::String(x) => x.clone(),
                other => other.to_string(),
            };
            let _ = write!(body, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(&shown));
        }
    }
    body.push_str("</dl>");
    // Trails of the ids this record names.
    let mut ids: Vec<String> = Vec::new();
    if let Some(id) = v.pointer("/entity/id").and_then(Value::as_str) {
        ids.push(id.to_string());
    }
    if let Some(Value::Object(refs)) = v.get("refs") {
        for r in refs.values() {
            if let Value::String(x) = r {
                if !ids.contains(x) {
                    ids.push(x.clone());
                }
            }
        }
    }
    body.push_str("<p class=\"actions\">");
    for id in &ids {
        let _ = write!(
            body,
            "<a class=\"button trail-link\" href=\"/trail?{}\">Trail of {}</a> ",
            esc(&query_string([("id", id.as_str())])),
            esc(id)
        );
    }
    let _ = write!(
        body,
        "<a class=\"button\" id=\"incident-around\" href=\"/incident?{}\">Everything 5 min around it</a> \
         <a class=\"button\" id=\"download-proof\" href=\"/record/{seq}/proof\" download>Download proof</a></p>\
         <p class=\"hint\">The proof is the record's RFC 9162 inclusion proof against the newest signed \
         checkpoint, with the record's line, the checkpoint and the verifier key in one JSON file; \
         check it offline with <code>tradetrail verify-proof</code> (docs/console.md).</p>",
        esc(&query_string([
            (
                "at",
                ts(&v, "ts_event").unwrap_or_default().to_string().as_str()
            ),
            ("window", "5m")
        ]))
    );
    let data = v
        .get("data")
        .map(|d| serde_json::to_string_pretty(d).unwrap_or_default())
        .unwrap_or_default();
    let _ = write!(
        body,
        "<h2>data</h2><pre id=\"data\">{}</pre><details><summary>The journal line, as stored</summary><pre class=\"wrap\">{}</pre></details>",
        esc(&data),
        esc(&String::from_utf8_lossy(&line))
    );
    Ok(html(
        StatusCode::OK,
        page(&format!("Record {}", num(seq)), Some(&s), "", &body),
    ))
}

/// `GET /record/{seq}/proof`: the inclusion proof against the newest saved checkpoint,
/// as `tradetrail prove inclusion --json` writes it, plus `record` (the line),
/// `checkpoint` (the signed note) and `verifier_key`; recorded as `user.exported`.
pub(crate) async fn proof(
    State(st): St,
    signed: Signed,
    Path(seq): Path<u64>,
) -> Result<Response, ConsoleError> {
    let s = signed.s;
    let scope = Scope::of(&s.caller).map_err(|e| ConsoleError::from(e).within(&s))?;
    let (st2, s2) = (st.clone(), s.clone());
    let bundle = blocking(move || {
        let within = |e: ApiError| ConsoleError::from(e).within(&s2);
        let line = scoped_line(&st2, &scope, seq).map_err(within)?;
        let dir = st2.rec.data_dir();
        let Some((path, note)) =
            latest_checkpoint(dir).map_err(|e| within(ApiError::from_core(e)))?
        else {
            return Err(within(ApiError::NotFound(
                "no checkpoint has been signed yet, so there is nothing to prove against; an \
                 admin takes one with POST /v1/checkpoint (or the server's checkpoint policy does)"
                    .into(),
            )));
        };
        let sized = {
            let _g = st2.tree_lock.lock().unwrap_or_else(|e| e.into_inner());
            let (tree, _) = Tree::load(&st2.rec).map_err(|e| within(ApiError::from_core(e)))?;
            prove_inclusion_for(&st2.rec, &tree, seq, None, Some(&path))
                .map_err(|e| within(ApiError::from_core(e)))?
        };
        let vkey = verifier_key(dir).map_err(|e| within(ApiError::from_core(e)))?;
        let mut out = serde_json::to_value(&sized.proof).map_err(|_| within(ApiError::Internal))?;
        out["record"] = Value::String(String::from_utf8_lossy(&line).into_owned());
        out["checkpoint"] = Value::String(note);
        out["verifier_key"] = Value::String(vkey.to_string());
        super::record_export(
            &st2,
            &s2.caller,
            &[
                ("what", "inclusion_proof".into()),
                ("record_seq", seq.into()),
                ("tree_size", sized.proof.size.into()),
            ],
        )
        .map_err(within)?;
        serde_json::to_vec_pretty(&out).map_err(|_| within(ApiError::Internal))
    })
    .await?;
    Ok(super::attachment(
        bundle,
        "application/json",
        &format!("tradetrail-proof-seq-{seq}.json"),
    ))
}

/// A short line of what a step did: status, side, quantity, price, reason...
fn gist(v: &Value) -> String {
    let Some(Value::Object(d)) = v.get("data") else {
        return String::new();
    };
    let mut parts = Vec::new();
    for k in [
        "side",
        "quantity",
        "fill_qty",
        "fill_price",
        "price",
        "order_type",
        "status",
        "decision",
        "reason",
        "score",
        "note",
    ] {
        if let Some(val) = d.get(k) {
            let shown = match val {
                Value::String(x) => x.clone(),
                other => other.to_string(),
            };
            parts.push(format!("{k} {shown}"));
        }
    }
    parts.join(" · ")
}

/// `GET /trail?id=`: an order, recommendation or signal as a timeline: its steps in
/// order with the time since the previous step, and what looks wrong marked.
pub(crate) async fn trail(
    State(st): St,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let s = signed.s;
    let id = q
        .get("id")
        .map(|x| x.trim().to_string())
        .unwrap_or_default();
    let mut body = format!(
        "<form method=\"get\" action=\"/trail\" class=\"filters\"><label for=\"f-id\">Order, recommendation or signal id\
         <input id=\"f-id\" name=\"id\" value=\"{}\" placeholder=\"O-123\" spellcheck=\"false\" required></label>\
         <button type=\"submit\">Show trail</button></form>",
        esc(&id)
    );
    if id.is_empty() {
        return Ok(html(
            StatusCode::OK,
            page("Trail", Some(&s), "/trail", &body),
        ));
    }
    let scope = Scope::of(&s.caller).map_err(|e| ConsoleError::from(e).within(&s))?;
    let (st2, s2, id2) = (st.clone(), s.clone(), id.clone());
    let trail = blocking(move || {
        let inv = st2
            .queries
            .get(&st2)
            .map_err(|e| ConsoleError::from(e).within(&s2))?;
        scoped_trail(&inv, &scope, &id2).map_err(|e| ConsoleError::from(e).within(&s2))
    })
    .await?;
    if trail.records.is_empty() {
        if let Some(me) = s
            .caller
            .trader_id
            .as_deref()
            .filter(|_| s.caller.role == Role::Trader)
        {
            return Err(ConsoleError::forbidden(format!(
                "trail {id}: none of its records are trader {me}'s, and a trader token sees only its own records"
            ))
            .within(&s));
        }
        let _ = write!(body, "<p id=\"empty\">No record names {}.</p>", esc(&id));
        return Ok(html(
            StatusCode::OK,
            page(&format!("Trail of {id}"), Some(&s), "/trail", &body),
        ));
    }
    let _ = write!(
        body,
        "<p>{} step{}, {} anomal{}.</p><ol class=\"timeline\" id=\"timeline\">",
        num(trail.records.len() as u64),
        if trail.records.len() == 1 { "" } else { "s" },
        num(trail.gaps.len() as u64),
        if trail.gaps.len() == 1 { "y" } else { "ies" }
    );
    let mut prev_ts: Option<i64> = None;
    for r in &trail.records {
        let v = parse(&r.line);
        let t = ts(&v, "ts_event");
        let d = match (prev_ts, t) {
            (Some(a), Some(b)) => delta(b - a),
            _ => "start".to_string(),
        };
        prev_ts = t.or(prev_ts);
        let gaps: Vec<&tradetrail_query::Gap> =
            trail.gaps.iter().filter(|g| g.seq == r.seq).collect();
        let class = if gaps.is_empty() {
            "step"
        } else {
            "step anomaly"
        };
        let _ = write!(
            body,
            "<li class=\"{class}\" data-seq=\"{seq}\" data-type=\"{ty}\"><span class=\"delta\">{d}</span>\
             <span class=\"when\">{}</span><a href=\"/record/{seq}\" class=\"type\">{ty}</a>\
             <span class=\"actor\">{}</span><span class=\"entity\">{}</span><span class=\"gist\">{}</span>",
            t.map(|t| time(t, &s.tz)).unwrap_or_default(),
            esc(&text(&v, "actor")),
            entity_cell(&v),
            esc(&gist(&v)),
            seq = r.seq,
            ty = esc(&text(&v, "type")),
        );
        for g in gaps {
            let _ = write!(
                body,
                "<p class=\"gap\" role=\"note\"><span aria-hidden=\"true\">⚠</span> {}: {}</p>",
                esc(&serde_json::to_value(g.kind)
                    .ok()
                    .and_then(|k| k.as_str().map(str::to_string))
                    .unwrap_or_default()),
                esc(&g.message)
            );
        }
        body.push_str("</li>");
    }
    body.push_str("</ol>");
    for n in &trail.notes {
        let _ = write!(body, "<p class=\"notice\">{}</p>", esc(n));
    }
    Ok(html(
        StatusCode::OK,
        page(&format!("Trail of {id}"), Some(&s), "/trail", &body),
    ))
}

/// `GET /reviews[?all=1]` (compliance, admin): the reconciliation reviews, each open
/// one with a form to resolve it with a note.
pub(crate) async fn reviews(
    State(st): St,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let s = signed.s;
    allow(&s, &[Role::Compliance, Role::Admin], "read reviews")?;
    let all = q.contains_key("all");
    let (st2, s2) = (st.clone(), s.clone());
    let list = blocking(move || super::analysis::reviews(&st2, &s2)).await?;
    let mut body = String::new();
    if let Some(id) = q.get("resolved") {
        let _ = write!(
            body,
            "<p class=\"ok\" role=\"status\" id=\"notice\">Review {} resolved.</p>",
            esc(id)
        );
    }
    let open = list
        .iter()
        .filter(|r| r.status == tradetrail_books::ReviewStatus::Open)
        .count();
    let _ = write!(
        body,
        "<p>{} open review{}. {}</p>\
         <p class=\"hint\">Four eyes: a review cannot be resolved by the one who requested it. You resolve as <code>{}</code>.</p>",
        num(open as u64),
        if open == 1 { "" } else { "s" },
        if all {
            "<a href=\"/reviews\">Show open only</a>"
        } else {
            "<a href=\"/reviews?all=1\">Show resolved too</a>"
        },
        esc(&actor_of(&s.caller))
    );
    body.push_str(
        "<table id=\"reviews\"><thead><tr><th scope=\"col\">review</th><th scope=\"col\">status</th>\
         <th scope=\"col\">what</th><th scope=\"col\">account</th><th scope=\"col\">detail</th>\
         <th scope=\"col\">requested</th><th scope=\"col\">resolution</th></tr></thead><tbody>",
    );
    for r in list
        .iter()
        .filter(|r| all || r.status == tradetrail_books::ReviewStatus::Open)
    {
        let open = r.status == tradetrail_books::ReviewStatus::Open;
        let _ = write!(
            body,
            "<tr data-review=\"{id}\"><td><a href=\"/record/{seq}\">{id}</a></td><td>{}</td><td>{}.{}</td><td>{}</td><td>{}</td>\
             <td>{} by {}</td><td>",
            if open { "open" } else { "resolved" },
            esc(r.field("category").unwrap_or("?")),
            esc(r.field("field").unwrap_or("?")),
            esc(r.account_id.as_deref().unwrap_or("-")),
            esc(r.field("detail").unwrap_or("")),
            time(r.requested_at, &s.tz),
            esc(&r.requested_by),
            id = esc(&r.id),
            seq = r.requested_seq,
        );
        if open {
            let _ = write!(
                body,
                "<form method=\"post\" action=\"/reviews/resolve\" class=\"resolve\">{}\
                 <input type=\"hidden\" name=\"id\" value=\"{id}\">\
                 <label>Note<textarea name=\"note\" required rows=\"2\"></textarea></label>\
                 <button type=\"submit\">Resolve</button></form>",
                csrf_field(&s),
                id = esc(&r.id)
            );
        } else {
            let _ = write!(
                body,
                "by {} at {}: {}",
                esc(r.resolved_by.as_deref().unwrap_or("?")),
                r.resolved_at.map(|t| time(t, &s.tz)).unwrap_or_default(),
                esc(r.note.as_deref().unwrap_or(""))
            );
        }
        body.push_str("</td></tr>");
    }
    body.push_str("</tbody></table>");
    Ok(html(
        StatusCode::OK,
        page("Reviews", Some(&s), "/reviews", &body),
    ))
}

/// `POST /reviews/resolve` (compliance, admin; CSRF; form `id`, `note`): appends
/// `review.resolved` through the same library call as `tradetrail review resolve`,
/// with the session's actor (`operator:<token name>`). Four eyes: refused (403) when
/// that actor requested the review.
pub(crate) async fn resolve(
    State(st): St,
    signed: Signed,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Result<Response, ConsoleError> {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    signed.check_csrf(&form, &headers)?;
    let s = signed.s;
    allow(&s, &[Role::Compliance, Role::Admin], "resolve reviews")?;
    let id = form.get("id").cloned().unwrap_or_default();
    let note = form.get("note").cloned().unwrap_or_default();
    let (st2, s2) = (st.clone(), s.clone());
    let done = blocking(move || {
        let actor = actor_of(&s2.caller);
        tradetrail_books::review::resolve(&st2.rec, &id, &actor, &note, super::now_ns()).map_err(
            |e| {
                let c = match e {
                    e @ tradetrail_books::Error::FourEyes { .. } => {
                        ConsoleError::forbidden(e.to_string())
                    }
                    e @ tradetrail_books::Error::Invalid(_) => {
                        ConsoleError::new(StatusCode::BAD_REQUEST, e.to_string())
                    }
                    tradetrail_books::Error::Core(c) => ApiError::from_core(c).into(),
                    other => {
                        tracing::error!(error = %other, "resolving a review");
                        ApiError::Internal.into()
                    }
                };
                c.within(&s2)
            },
        )
    })
    .await?;
    Ok(super::see_other(&format!(
        "/reviews?{}",
        query_string([("resolved", done.0.id.as_str())])
    )))
}

/// `GET /integrity[?verify=now]`: the newest signed checkpoint and its age, the
/// verifier key, and (compliance, admin) the last verification's verdict.
pub(crate) async fn integrity(
    State(st): St,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let s = signed.s;
    let may_verify = matches!(s.caller.role, Role::Compliance | Role::Admin);
    let run = may_verify && q.get("verify").is_some_and(|v| v == "now");
    let (st2, s2) = (st.clone(), s.clone());
    let body = blocking(move || {
        let within = |e: ApiError| ConsoleError::from(e).within(&s2);
        let dir = st2.rec.data_dir();
        if run {
            let verdict = tradetrail_store::verify(dir, &|_| {}, &|_, _| {})
                .map_err(|e| within(ApiError::from_store(e)))?;
            *st2.last_verify.lock().unwrap_or_else(|e| e.into_inner()) =
                Some((std::time::SystemTime::now(), verdict));
        }
        let mut body = String::new();
        if may_verify {
            body.push_str("<h2>Verification</h2>");
            let last = st2.last_verify.lock().unwrap_or_else(|e| e.into_inner()).clone();
            match last {
                Some((at, v)) => {
                    let at_ns = at
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_nanos() as i64);
                    let verdict = if v.ok {
                        format!(
                            "<p class=\"ok\" id=\"verdict\" data-ok=\"true\">Intact: {} records checked, head {}.</p>",
                            num(v.records),
                            esc(v.head_hash.as_deref().unwrap_or("-"))
                        )
                    } else {
                        format!(
                            "<p class=\"error\" id=\"verdict\" data-ok=\"false\">NOT intact: first bad record {}: {}.</p>",
                            v.first_bad_seq.map(num).unwrap_or_else(|| "?".into()),
                            esc(v.reason.as_deref().unwrap_or("?"))
                        )
                    };
                    let _ = write!(
                        body,
                        "{verdict}<p>Verified at {} (by this console; a restart forgets it).</p>\
                         <details><summary>The whole verdict (as <code>tradetrail verify --json</code>)</summary><pre>{}</pre></details>",
                        time(at_ns, &s2.tz),
                        esc(&serde_json::to_string_pretty(&v).unwrap_or_default())
                    );
                }
                None => body.push_str("<p id=\"verdict\">Not verified since the server started.</p>"),
            }
            body.push_str(
                "<form method=\"get\" action=\"/integrity\"><input type=\"hidden\" name=\"verify\" value=\"now\">\
                 <button type=\"submit\" id=\"verify-now\">Verify now</button></form>\
                 <p class=\"hint\">Reads every record, the archive and every checkpoint: on a large journal this takes a while.</p>",
            );
        }
        body.push_str("<h2>Newest signed checkpoint</h2>");
        match latest_checkpoint(dir).map_err(|e| within(ApiError::from_core(e)))? {
            Some((path, note)) => {
                let size: u64 = path
                    .file_stem()
                    .and_then(|x| x.to_str())
                    .and_then(|x| x.parse().ok())
                    .unwrap_or(0);
                let age = std::fs::metadata(&path)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .map(|d| delta(d.as_nanos() as i64).trim_start_matches('+').to_string())
                    .unwrap_or_else(|| "?".into());
                let _ = write!(
                    body,
                    "<p id=\"checkpoint\">Tree size <strong>{}</strong>, signed {} ago.</p><pre>{}</pre>",
                    num(size),
                    esc(&age),
                    esc(&note)
                );
            }
            None => body.push_str("<p id=\"checkpoint\">No checkpoint has been signed yet.</p>"),
        }
        let vkey = verifier_key(dir).map_err(|e| within(ApiError::from_core(e)))?;
        let _ = write!(
            body,
            "<h2>Verifier key</h2><p>Publish it; auditors check checkpoints and proofs with it.</p><pre id=\"vkey\">{}</pre>",
            esc(&vkey.to_string())
        );
        // One click to an export bundle for a filter (the search page offers the same
        // for the search shown).
        body.push_str(
            "<h2>Export bundle</h2><p>The records a filter picks (at most 10,000), as one ZIP \
             an auditor checks offline: the journal's lines, CSV, a report, the signed \
             checkpoint, the verifier key and a proof for each record.</p>\
             <form method=\"get\" action=\"/export\" class=\"filters\" id=\"export-form\">",
        );
        body.push_str(&filter_inputs(&[], true));
        body.push_str("<button type=\"submit\" id=\"export-bundle\">Download the bundle (ZIP)</button></form>");
        Ok(body)
    })
    .await?;
    Ok(html(
        StatusCode::OK,
        page("Integrity", Some(&s), "/integrity", &body),
    ))
}

/// `GET /dashboard`: counts by type (the same stats call as `GET /v1/stats`, scoped),
/// drawn as bars in inline SVG.
pub(crate) async fn dashboard(State(st): St, signed: Signed) -> Result<Response, ConsoleError> {
    let s = signed.s;
    let (filter, _, _) = filter_of(&s.caller, st.time(), Vec::new(), &[])
        .map_err(|e| ConsoleError::from(e).within(&s))?;
    let (st2, s2) = (st.clone(), s.clone());
    let (stats, extra, activity) = blocking(move || {
        let inv = st2
            .queries
            .get(&st2)
            .map_err(|e| ConsoleError::from(e).within(&s2))?;
        let stats = inv
            .stats(Dim::Type, &filter)
            .map_err(|e| ConsoleError::from(crate::queries::from_query(e)).within(&s2))?;
        let activity = inv
            .activity(&filter, ACTIVITY_BUCKETS)
            .map_err(|e| ConsoleError::from(crate::queries::from_query(e)).within(&s2))?;
        let extra = super::analysis::dashboard_extra(&st2, &s2, &stats)?;
        Ok((stats, extra, activity))
    })
    .await?;
    let mut body = format!(
        "<p id=\"total\" data-total=\"{}\"><strong>{}</strong> records{}.</p>",
        stats.total,
        num(stats.total),
        match &s.caller.trader_id {
            Some(t) if s.caller.role == Role::Trader => format!(" of trader {}", esc(t)),
            _ => String::new(),
        }
    );
    let max = stats.rows.iter().map(|r| r.count).max().unwrap_or(1).max(1);
    let (row_h, label_w, bar_w) = (22u64, 230u64, 560u64);
    let height = row_h * stats.rows.len() as u64 + 10;
    // The funnel (loaded by the script: it reads more), reconciliation, then the
    // counts by type.
    body.push_str(super::analysis::FUNNEL_SLOT);
    body.push_str(super::analysis::POSITIONS_SLOT);
    if let Some(a) = &activity {
        body.push_str(&activity_chart(a));
    }
    body.push_str(&extra);
    let _ = write!(
        body,
        "<h2>Records by type</h2><figure><figcaption>Records by type</figcaption><svg id=\"by-type\" class=\"bars\" role=\"img\" \
         aria-label=\"Records by type\" width=\"{w}\" height=\"{height}\" viewBox=\"0 0 {w} {height}\" \
         xmlns=\"http://www.w3.org/2000/svg\">",
        w = label_w + bar_w + 110
    );
    for (i, r) in stats.rows.iter().enumerate() {
        let y = i as u64 * row_h + 4;
        let w = (r.count * bar_w / max).max(1);
        let name = r.value.as_deref().unwrap_or("(none)");
        let link = query_string([("type", name)]);
        let _ = write!(
            body,
            "<a href=\"/search?{}\"><text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\" class=\"label\">{}</text>\
             <rect x=\"{label_w}\" y=\"{y}\" width=\"{w}\" height=\"{bh}\" class=\"bar\"><title>{}: {}</title></rect>\
             <text x=\"{cx}\" y=\"{ty}\" class=\"count\">{}</text></a>",
            esc(&link),
            esc(name),
            esc(name),
            num(r.count),
            num(r.count),
            lx = label_w - 8,
            ty = y + 14,
            bh = row_h - 6,
            cx = label_w + w + 6,
        );
    }
    body.push_str("</svg></figure>");
    Ok(html(
        StatusCode::OK,
        page("Dashboard", Some(&s), "/dashboard", &body),
    ))
}

/// `GET /live?<filters>`: the live tail page; its script reads `/live/stream`.
pub(crate) async fn live(signed: Signed, Query(params): Params) -> Result<Response, ConsoleError> {
    let s = signed.s;
    let params = given(params);
    let mut body = String::from("<form method=\"get\" action=\"/live\" class=\"filters\">");
    body.push_str(&filter_inputs(&params, false));
    body.push_str(
        "<button type=\"submit\">Apply</button></form>\
         <p><button type=\"button\" id=\"pause\" aria-pressed=\"false\">Pause</button> \
         <span id=\"live-status\" role=\"status\">connecting…</span></p>\
         <table id=\"live\"><thead><tr><th scope=\"col\">seq</th><th scope=\"col\">time</th><th scope=\"col\">type</th>\
         <th scope=\"col\">source</th><th scope=\"col\">actor</th><th scope=\"col\">trader</th><th scope=\"col\">instrument</th></tr></thead><tbody></tbody></table>\
         <p class=\"hint\">The newest 50 matches first, then each new one as it is recorded. Paused, new records are kept and shown on resume.</p>",
    );
    Ok(html(
        StatusCode::OK,
        page("Live tail", Some(&s), "/live", &body),
    ))
}

/// `GET /live/stream?<filters>`: server-sent events, one journal line per event (`id`
/// its seq), scoped like `GET /v1/events/stream`; a reconnecting browser resumes after
/// `Last-Event-ID`.
pub(crate) async fn live_stream(
    State(st): St,
    signed: Signed,
    headers: HeaderMap,
    Query(params): Params,
) -> Result<Response, ConsoleError> {
    let s = signed.s.clone();
    let params = given(params)
        .into_iter()
        .filter(|(k, _)| !matches!(k.as_str(), "after" | "before" | "limit" | "reverse"))
        .collect();
    let (filter, _, _) = filter_of(&s.caller, st.time(), params, &[])
        .map_err(|e| ConsoleError::from(e).within(&s))?;
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let first_limit = if resume.is_some() { None } else { Some(50) };
    let (st2, s2, f2) = (st.clone(), s.clone(), filter.clone());
    let inv = blocking(move || {
        let inv = st2
            .queries
            .get(&st2)
            .map_err(|e| ConsoleError::from(e).within(&s2))?;
        inv.follow(f2, resume, first_limit)
            .map_err(|e| ConsoleError::from(crate::queries::from_query(e)).within(&s2))?;
        Ok(inv)
    })
    .await?;
    let frame = |seq: u64, line: &[u8]| {
        let mut b = Vec::with_capacity(line.len() + 32);
        b.extend_from_slice(format!("id: {seq}\ndata: ").as_bytes());
        b.extend_from_slice(line);
        b.extend_from_slice(b"\n\n");
        b
    };
    // The stream ends with its session (signed out, expired, token revoked).
    let (st3, id) = (st.clone(), signed.id.clone());
    let keep = Box::new(move || st3.sessions.is_live(&id, &st3.opts.console));
    let body = crate::queries::follow_body(st, inv, filter, resume, first_limit, frame, keep);
    let mut resp = Response::new(body);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    Ok(resp)
}

/// Records a console export bundle may hold (each has its own proof file).
pub(crate) const MAX_EXPORT: usize = 10_000;

/// `GET /export?<filters>`: the records a search matches (within the session's scope)
/// as an export bundle, one ZIP: the journal's lines, CSV, an HTML report, the signed
/// checkpoint, the verifier key and one inclusion proof per record, each checked
/// before it is written (docs/console.md). Recorded as `user.exported`.
pub(crate) async fn export_bundle(
    State(st): St,
    signed: Signed,
    Query(params): Params,
) -> Result<Response, ConsoleError> {
    let s = signed.s;
    let asked: Vec<(String, String)> = given(params)
        .into_iter()
        .filter(|(k, _)| !matches!(k.as_str(), "after" | "before" | "limit"))
        .collect();
    let (filter, _, _) = filter_of(&s.caller, st.time(), asked.clone(), &[])
        .map_err(|e| ConsoleError::from(e).within(&s))?;
    let shown = query_string(asked.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let description = if shown.is_empty() {
        "every record (console export)".to_owned()
    } else {
        format!("the records matching {shown} (console export)")
    };
    let (st2, s2) = (st.clone(), s.clone());
    let (zip, name) = blocking(move || {
        let within = |e: ConsoleError| e.within(&s2);
        let inv = st2
            .queries
            .get(&st2)
            .map_err(|e| within(ConsoleError::from(e)))?;
        let bundle = {
            let _g = st2.tree_lock.lock().unwrap_or_else(|e| e.into_inner());
            tradetrail_backup::export_open(
                &st2.rec,
                &inv,
                &tradetrail_backup::Selection::Query(Box::new(filter)),
                &description,
                MAX_EXPORT,
            )
        }
        .map_err(|e| {
            let status = match e {
                tradetrail_backup::Error::BadInput { .. } => StatusCode::BAD_REQUEST,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            within(ConsoleError::new(status, e.to_string()))
        })?;
        let zip = bundle.to_zip("tradetrail-export").map_err(|e| {
            within(ConsoleError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                e.to_string(),
            ))
        })?;
        super::record_export(
            &st2,
            &s2.caller,
            &[
                ("what", "bundle".into()),
                ("records", bundle.records.into()),
                ("tree_size", bundle.checkpoint.0.into()),
                ("parameters", shown.clone().into()),
            ],
        )
        .map_err(|e| within(ConsoleError::from(e)))?;
        Ok((
            zip,
            format!("tradetrail-export-{}.zip", bundle.checkpoint.0),
        ))
    })
    .await?;
    Ok(super::attachment(zip, "application/zip", &name))
}

/// Buckets on the dashboard's "records over time" (the newest).
const ACTIVITY_BUCKETS: usize = 60;

/// Types drawn on their own in "records over time"; the rest are "other".
const ACTIVITY_SERIES: usize = 5;

/// "Records over time": one stacked bar per hour or day, the largest types each in
/// its own colour, the rest as "other"; every bar's `data-count` is its total.
fn activity_chart(a: &tradetrail_query::Activity) -> String {
    let mut totals: HashMap<&str, u64> = HashMap::new();
    for b in &a.buckets {
        for (t, n) in &b.by_type {
            *totals.entry(t.as_str()).or_default() += n;
        }
    }
    let mut top: Vec<(&str, u64)> = totals.into_iter().collect();
    top.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(y.0)));
    let named: Vec<&str> = top.iter().take(ACTIVITY_SERIES).map(|t| t.0).collect();
    let has_other = top.len() > named.len();
    let series = |t: &str| {
        named
            .iter()
            .position(|n| *n == t)
            .unwrap_or(ACTIVITY_SERIES)
    };
    let sums: Vec<u64> = a
        .buckets
        .iter()
        .map(|b| b.by_type.iter().map(|(_, n)| n).sum())
        .collect();
    let max = sums.iter().copied().max().unwrap_or(0).max(1);
    // An integer scale: the top tick is a round count at or above the largest bar.
    let step = nice_step(max);
    let top_tick = max.div_ceil(step) * step;
    let (left, plot_w, plot_h, top_pad) = (70u64, 800u64, 220u64, 10u64);
    let n = a.buckets.len().max(1) as u64;
    let slot = plot_w / n;
    let bar_w = (slot * 4 / 5).max(1);
    let height = top_pad + plot_h + 40;
    let mut out = String::new();
    let _ = write!(
        out,
        "<h2>Records over time</h2><figure><figcaption>Records per {unit} (ts_event, UTC), by type</figcaption>\
         <svg id=\"over-time\" class=\"bars\" role=\"img\" aria-label=\"Records per {unit} by type\" \
         width=\"{w}\" height=\"{height}\" viewBox=\"0 0 {w} {height}\" xmlns=\"http://www.w3.org/2000/svg\">",
        unit = a.unit,
        w = left + plot_w + 10,
    );
    let y_of = |v: u64| top_pad + plot_h - v * plot_h / top_tick;
    let mut tick = 0;
    while tick <= top_tick {
        let _ = write!(
            out,
            "<line x1=\"{left}\" x2=\"{x2}\" y1=\"{y}\" y2=\"{y}\" class=\"grid\"/>\
             <text x=\"{tx}\" y=\"{ty}\" text-anchor=\"end\" class=\"count\">{}</text>",
            num(tick),
            x2 = left + plot_w,
            y = y_of(tick),
            tx = left - 6,
            ty = y_of(tick) + 4,
        );
        tick += step;
    }
    // At most about twelve labels, the last bucket always labelled.
    let every = (a.buckets.len() / 12).max(1);
    for (i, (b, total)) in a.buckets.iter().zip(&sums).enumerate() {
        let x = left + i as u64 * slot + (slot - bar_w) / 2;
        let label = if a.unit == "hour" {
            tradetrail_model::format_time(b.from)[11..16].to_owned()
        } else {
            tradetrail_model::format_time(b.from)[5..10].to_owned()
        };
        let _ = write!(out, "<g class=\"bucket\" data-from=\"{}\" data-count=\"{total}\"><title>{} {}: {} records</title>",
            b.from,
            esc(&tradetrail_model::format_time(b.from)[..10]),
            if a.unit == "hour" { esc(&label) } else { String::new() },
            num(*total));
        let mut stack = [0u64; ACTIVITY_SERIES + 1];
        for (t, c) in &b.by_type {
            stack[series(t)] += c;
        }
        let mut acc = 0u64;
        for (k, c) in stack.iter().enumerate().filter(|(_, c)| **c > 0) {
            let (y_hi, y_lo) = (y_of(acc + c), y_of(acc));
            let _ = write!(
                out,
                "<rect x=\"{x}\" y=\"{y_hi}\" width=\"{bar_w}\" height=\"{}\" class=\"s{k}\"/>",
                (y_lo - y_hi).max(1)
            );
            acc += c;
        }
        out.push_str("</g>");
        if i % every == 0 || i + 1 == a.buckets.len() {
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"label\">{}</text>",
                x + bar_w / 2,
                top_pad + plot_h + 16,
                esc(&label)
            );
        }
    }
    out.push_str("</svg><ul class=\"legend\">");
    for (k, t) in named.iter().enumerate() {
        let _ = write!(out, "<li><span class=\"key s{k}\"></span>{}</li>", esc(t));
    }
    if has_other {
        let _ = write!(
            out,
            "<li><span class=\"key s{ACTIVITY_SERIES}\"></span>other types</li>"
        );
    }
    out.push_str("</ul></figure>");
    out
}

/// A round step (1, 2 or 5 times a power of ten) giving at most about five integer
/// ticks up to `max`.
fn nice_step(max: u64) -> u64 {
    let rough = max.div_ceil(5).max(1);
    let mut p = 1u64;
    while p.saturating_mul(10) <= rough {
        p *= 10;
    }
    [1, 2, 5, 10]
        .into_iter()
        .map(|m| m * p)
        .find(|s| *s >= rough)
        .unwrap_or(10 * p)
}
