//! The query routes: `GET /v1/events`, `/v1/trail/{id}`, `/v1/incident`, `/v1/stats`,
//! answered by the same [`Investigator`] as `tradetrail query | trail | incident | stats`.
//!
//! A trader's token is scoped to its own trader by [`Scope`], the one place that
//! decides whose records a caller reads, for these routes, the reports and the
//! inclusion proofs: its filter is forced to `trader=<its id>` (asking for another
//! trader is 403), and a trail keeps only the trader's own records. The id is always
//! matched as an exact literal, never as a pattern.

use std::sync::{Arc, Mutex};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tradetrail_query::{
    parse_time_in, parse_window, Cursor, Dim, Filter, Investigator, QueryOptions,
};

use crate::error::ApiError;
use crate::tokens::{Caller, Role};
use crate::AppState;

/// Records returned when no `limit` is given.
pub const DEFAULT_LIMIT: usize = 1000;

/// The largest `limit` a list answer takes; larger is 400 (page with `after`).
pub const MAX_LIMIT: usize = 10_000;

/// The investigator, opened on first use (building the index can take a while on a
/// large journal; the server answers writes meanwhile).
#[derive(Debug, Default)]
pub struct Queries {
    inv: Mutex<Option<Arc<Investigator>>>,
}

impl Queries {
    pub(crate) fn get(&self, st: &AppState) -> Result<Arc<Investigator>, ApiError> {
        let mut g = self.inv.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(inv) = g.as_ref() {
            return Ok(inv.clone());
        }
        let inv = tradetrail_store::investigator(&st.rec).map_err(from_query)?;
        let inv = Arc::new(inv);
        *g = Some(inv.clone());
        Ok(inv)
    }
}

/// Maps a query error, logging what the client is not told.
pub(crate) fn from_query(e: tradetrail_query::Error) -> ApiError {
    match e {
        tradetrail_query::Error::BadInput { field, reason } => {
            ApiError::BadRequest(format!("{}: {reason}", field.trim_start_matches("--")))
        }
        tradetrail_query::Error::Journal(j) => ApiError::from_journal(j),
        other => {
            tracing::error!(error = %other, "query failed");
            ApiError::Internal
        }
    }
}

type Params = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// The query parameters, in order.
fn pairs(params: Params) -> Result<Vec<(String, String)>, ApiError> {
    let Query(params) = params.map_err(|r| ApiError::BadRequest(r.body_text()))?;
    Ok(params)
}

/// A filter, its options, and the parameters the route reads itself.
type Parsed = (Filter, QueryOptions, Vec<(String, String)>);

/// Parses `limit`: a count from 1 to [`MAX_LIMIT`].
fn parse_limit(v: &str) -> Result<usize, ApiError> {
    let n: usize = v
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("limit: {v:?} is not a count")))?;
    if n == 0 {
        return Err(ApiError::BadRequest(
            "limit: must be at least 1".to_string(),
        ));
    }
    if n > MAX_LIMIT {
        return Err(ApiError::BadRequest(format!(
            "limit: {n} is over the maximum of {MAX_LIMIT}; ask for pages of at most \
             {MAX_LIMIT} and follow `next` (after=SEQ) for the rest"
        )));
    }
    Ok(n)
}

/// Parses a `seq` cursor (`after`, `before`).
fn parse_seq(name: &str, v: &str) -> Result<u64, ApiError> {
    v.parse().map_err(|_| {
        ApiError::BadRequest(format!(
            "{name}: {v:?} is not a seq (a whole number, as in the `next` of the last page)"
        ))
    })
}

/// The zone of `tz=` if given, else the configuration's `time.zone`.
pub(crate) fn zone_of(
    time: &tradetrail_model::TimeSettings,
    params: &[(String, String)],
) -> Result<tradetrail_model::Zone, ApiError> {
    match params.iter().rev().find(|(k, _)| k == "tz") {
        Some((_, v)) => tradetrail_query::parse_zone("tz", v).map_err(from_query),
        None => Ok(time.zone.clone()),
    }
}

/// Builds the filter and options from query parameters, scoped to a trader's own
/// records. `skip` names parameters the route reads itself. `from` and `to` values
/// without an offset are read in `tz=` (any order), else the configuration's zone.
pub(crate) fn filter_of(
    caller: &Caller,
    time: &tradetrail_model::TimeSettings,
    params: Vec<(String, String)>,
    skip: &[&str],
) -> Result<Parsed, ApiError> {
    let zone = zone_of(time, &params)?;
    let mut filter = Filter::default();
    let mut opts = QueryOptions {
        limit: Some(DEFAULT_LIMIT),
        ..QueryOptions::default()
    };
    let mut own = Vec::new();
    for (k, v) in params {
        match k.as_str() {
            "limit" => opts.limit = Some(parse_limit(&v)?),
            "after" => opts.after = Some(parse_seq("after", &v)?),
            "before" => opts.before = Some(parse_seq("before", &v)?),
            "reverse" => opts.reverse = matches!(v.as_str(), "" | "true" | "1" | "yes"),
            "tz" => {}
            k if skip.contains(&k) => own.push((k.to_string(), v)),
            _ => filter.set_in(&k, &v, &zone).map_err(from_query)?,
        }
    }
    Scope::of(caller)?.restrict(&mut filter)?;
    Ok((filter, opts, own))
}

/// Whose records a caller may read: the one place a trader token is restricted to its
/// trader, used by every route that reads records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Every record (compliance, admin).
    All,
    /// Only the records whose `trader_id` is exactly this id.
    Trader(String),
}

impl Scope {
    /// The scope of a caller. A trader token's id must be a literal trader id (see
    /// [`crate::tokens::literal_trader_id`]): one that a query filter would read as
    /// a pattern — stored before such ids were refused at creation — is refused
    /// rather than widened (403, saying what the admin must do).
    pub(crate) fn of(caller: &Caller) -> Result<Scope, ApiError> {
        if caller.role != Role::Trader {
            return Ok(Scope::All);
        }
        let Some(me) = caller.trader_id.as_deref() else {
            return Err(ApiError::Forbidden(format!(
                "trader token {:?} has no trader id in the token store; an admin must revoke \
                 it and create it again with --trader ID",
                caller.name
            )));
        };
        crate::tokens::literal_trader_id(me).map_err(|reason| {
            ApiError::Forbidden(format!(
                "trader token {:?} has trader id {me:?}, which is not a literal trader id \
                 ({reason}); an admin must revoke it and create it again with the exact id",
                caller.name
            ))
        })?;
        Ok(Scope::Trader(me.to_string()))
    }

    /// Forces a query filter to the trader's records. Naming any other trader, or a
    /// pattern, is 403: `trader=T-1*` is not `T-1`, even where it would match.
    pub(crate) fn restrict(&self, filter: &mut Filter) -> Result<(), ApiError> {
        let Scope::Trader(me) = self else {
            return Ok(());
        };
        for asked in &filter.traders {
            self.check_asked(asked)?;
        }
        // `me` has no pattern character (checked in `of`), so the filter's pattern
        // match on it is string equality.
        filter.traders = vec![me.clone()];
        Ok(())
    }

    /// Refuses a trader parameter that is not exactly the trader's own id.
    pub(crate) fn check_asked(&self, asked: &str) -> Result<(), ApiError> {
        match self {
            Scope::Trader(me) if asked != me => Err(ApiError::Forbidden(format!(
                "a trader token reads only trader {me}'s records (asked for {asked:?})"
            ))),
            _ => Ok(()),
        }
    }

    /// Whether a journal line is in scope: for a trader, its `trader_id` is exactly
    /// the trader's id (a line without one is not).
    pub(crate) fn admits_line(&self, line: &[u8]) -> bool {
        let Scope::Trader(me) = self else {
            return true;
        };
        #[derive(serde::Deserialize)]
        struct Owner<'a> {
            #[serde(borrow, default)]
            trader_id: Option<std::borrow::Cow<'a, str>>,
        }
        serde_json::from_slice::<Owner>(line)
            .ok()
            .and_then(|o| o.trader_id)
            .is_some_and(|t| t == me.as_str())
    }

    /// The trader, for a trader token.
    pub(crate) fn trader(&self) -> Option<&str> {
        match self {
            Scope::All => None,
            Scope::Trader(me) => Some(me),
        }
    }
}

fn readers(caller: &Caller, what: &str) -> Result<(), ApiError> {
    crate::handlers::allow(caller, &[Role::Trader, Role::Compliance, Role::Admin], what)
}

/// JSON bytes as a response (records are the journal's own lines, passed through raw).
fn json_bytes<T: Serialize>(v: &T) -> Result<Response, ApiError> {
    let bytes = serde_json::to_vec(v).map_err(|e| {
        tracing::error!(error = %e, "serializing an answer");
        ApiError::Internal
    })?;
    let mut resp = bytes.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "blocking task failed");
        Err(ApiError::Internal)
    })
}

/// `GET /v1/events?type=&from=&to=&source=&actor=&trader=&instrument=&kind=&entity=&mentions=&limit=&reverse=&after=&before=`
///
/// One page of the records that match: at most `limit` (default [`DEFAULT_LIMIT`],
/// at most [`MAX_LIMIT`]). A page that stopped at its limit while more match says
/// `summary.truncated: true`, gives the cursor in `summary.next` (`{"after":SEQ}`, or
/// `{"before":SEQ}` newest first) and the URL of the next page in `next_url`.
pub async fn events(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    params: Params,
) -> Result<Response, ApiError> {
    readers(&caller, "read events")?;
    let params = pairs(params)?;
    let (filter, opts, _) = filter_of(&caller, st.time(), params.clone(), &[])?;
    blocking(move || {
        let inv = st.queries.get(&st)?;
        let (records, summary) = inv.query(&filter, &opts).map_err(from_query)?;
        #[derive(Serialize)]
        struct Answer<'a> {
            records: &'a [tradetrail_query::Record],
            summary: &'a tradetrail_query::QuerySummary,
            next_url: Option<String>,
        }
        json_bytes(&Answer {
            records: &records,
            summary: &summary,
            next_url: summary.next.map(|c| next_url("/v1/events", &params, c)),
        })
    })
    .await
}

/// How often `GET /v1/events/stream` looks for new records.
const STREAM_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// `GET /v1/events/stream?<the filters of /v1/events>&after=SEQ&limit=N`
///
/// A live view, as `tradetrail query --follow`: newline-delimited JSON (the journal's
/// lines, `application/x-ndjson`, chunked) — first the matches already there after
/// `after` (with `limit`, only the last `limit` of them), then each new match as it is
/// recorded, in `seq` order, exactly once, until the client disconnects. The same
/// roles and trader scoping as `GET /v1/events`; `before` and `reverse` are 400. A
/// client that reconnects resumes without a gap with `after` the last `seq` it read.
/// When the server stops, the stream ends (the body completes) at once.
pub async fn events_stream(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    params: Params,
) -> Result<Response, ApiError> {
    readers(&caller, "read events")?;
    let params = pairs(params)?;
    for (k, _) in &params {
        if k == "before" || k == "reverse" {
            return Err(ApiError::BadRequest(format!(
                "{k}: a stream goes forward from `after`; page newest first with GET /v1/events"
            )));
        }
    }
    let limited = params.iter().any(|(k, _)| k == "limit");
    let (filter, opts, _) = filter_of(&caller, st.time(), params, &[])?;
    let first_limit = if limited { opts.limit } else { None };
    let after = opts.after;
    // A bad question is answered now, with a status; not in the middle of a stream.
    let inv = {
        let (st, filter) = (st.clone(), filter.clone());
        blocking(move || {
            let inv = st.queries.get(&st)?;
            inv.follow(filter, after, first_limit).map_err(from_query)?;
            Ok(inv)
        })
        .await?
    };
    let frame = |_, line: &[u8]| {
        let mut b = Vec::with_capacity(line.len() + 1);
        b.extend_from_slice(line);
        b.push(b'\n');
        b
    };
    let body = follow_body(
        st,
        inv,
        filter,
        after,
        first_limit,
        frame,
        Box::new(|| true),
    );
    let mut resp = Response::new(body);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    Ok(resp)
}

/// The body of a live view: the matches after `after` (with `first_limit`, only the
/// last that many), then each new match as it is recorded, each framed by `frame`
/// (its seq and journal line), until the client goes, the server stops or `keep`
/// says no (a console session ended). The one
/// follow loop of `GET /v1/events/stream` and the console's live tail.
pub(crate) fn follow_body(
    st: Arc<AppState>,
    inv: Arc<Investigator>,
    filter: Filter,
    after: Option<u64>,
    first_limit: Option<usize>,
    frame: fn(u64, &[u8]) -> Vec<u8>,
    keep: Box<dyn Fn() -> bool + Send + Sync>,
) -> axum::body::Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<axum::body::Bytes>(64);
    let mut stopping = st.stopping.subscribe();
    tokio::spawn(async move {
        let (mut after, mut first_limit) = (after, first_limit);
        loop {
            if *stopping.borrow_and_update() || !keep() {
                break;
            }
            let (inv, filter, out) = (inv.clone(), filter.clone(), tx.clone());
            let polled = tokio::task::spawn_blocking(move || {
                let mut view = inv.follow(filter, after, first_limit)?;
                let mut open = true;
                view.poll(&mut |seq, line| {
                    let b = frame(seq, line);
                    // Waits while the client reads slowly; fails once it is gone.
                    open = out.blocking_send(axum::body::Bytes::from(b)).is_ok();
                    Ok(open)
                })?;
                Ok::<_, tradetrail_query::Error>((view.after(), open))
            })
            .await;
            match polled {
                Ok(Ok((next, true))) => after = next,
                Ok(Ok((_, false))) => break,
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "event stream ended by a failed read");
                    break;
                }
                Err(e) => {
                    tracing::error!(error = %e, "event stream task failed");
                    break;
                }
            }
            first_limit = None;
            tokio::select! {
                _ = tokio::time::sleep(STREAM_EVERY) => {}
                _ = tx.closed() => break,
                // Stopping (seen at the top of the loop), or the server is gone.
                changed = stopping.changed() => if changed.is_err() { break },
            }
        }
    });
    axum::body::Body::from_stream(Lines(rx))
}

/// The body of a stream: the lines the polling task sends, until it stops.
struct Lines(tokio::sync::mpsc::Receiver<axum::body::Bytes>);

impl futures_core::Stream for Lines {
    type Item = Result<axum::body::Bytes, std::convert::Infallible>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.poll_recv(cx).map(|b| b.map(Ok))
    }
}

/// The URL of the next page: the same parameters, with the cursor's in place of any
/// earlier one.
fn next_url(path: &str, params: &[(String, String)], next: Cursor) -> String {
    let (name, seq) = next.param();
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        if k != name {
            q.append_pair(k, v);
        }
    }
    q.append_pair(name, &seq.to_string());
    format!("{path}?{}", q.finish())
}

/// `GET /v1/trail/{id}`: the decision chain around an id.
pub async fn trail(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    readers(&caller, "read trails")?;
    let scope = Scope::of(&caller)?;
    blocking(move || {
        let inv = st.queries.get(&st)?;
        json_bytes(&scoped_trail(&inv, &scope, &id)?)
    })
    .await
}

/// The trail of `id` as `scope` may see it: for a trader, only its own records and
/// the gaps that show on them (the API's and the console's one rule).
pub(crate) fn scoped_trail(
    inv: &Investigator,
    scope: &Scope,
    id: &str,
) -> Result<tradetrail_query::Trail, ApiError> {
    let mut trail = inv.trail(id).map_err(from_query)?;
    if *scope != Scope::All {
        trail.records.retain(|r| scope.admits_line(&r.line));
        let kept: std::collections::HashSet<u64> = trail.records.iter().map(|r| r.seq).collect();
        trail.gaps.retain(|g| kept.contains(&g.seq));
    }
    Ok(trail)
}

/// `GET /v1/incident?at=T&window=5m&<filters>`: everything around an instant.
pub async fn incident(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    params: Params,
) -> Result<Response, ApiError> {
    readers(&caller, "read incidents")?;
    let params = pairs(params)?;
    let (filter, opts, own) = filter_of(&caller, st.time(), params.clone(), &["at", "window"])?;
    let get = |name: &str| own.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let at = get("at").ok_or_else(|| ApiError::BadRequest("at: required".into()))?;
    let at = parse_time_in("at", &at, &zone_of(st.time(), &params)?).map_err(from_query)?;
    let window = parse_window("window", &get("window").unwrap_or_else(|| "5m".into()))
        .map_err(from_query)?;
    blocking(move || {
        let inv = st.queries.get(&st)?;
        let inc = inv
            .incident(at, window, &filter, &opts)
            .map_err(from_query)?;
        #[derive(Serialize)]
        struct Answer<'a> {
            #[serde(flatten)]
            incident: &'a tradetrail_query::Incident,
            next_url: Option<String>,
        }
        json_bytes(&Answer {
            next_url: inc.next.map(|c| next_url("/v1/incident", &params, c)),
            incident: &inc,
        })
    })
    .await
}

/// `GET /v1/stats?by=type|source|actor|trader|...&<filters>`: counts.
pub async fn stats(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    params: Params,
) -> Result<Response, ApiError> {
    readers(&caller, "read statistics")?;
    let (filter, _, own) = filter_of(&caller, st.time(), pairs(params)?, &["by"])?;
    let by = own
        .iter()
        .find(|(k, _)| k == "by")
        .map(|(_, v)| v.as_str())
        .unwrap_or("type");
    let by = Dim::parse(by).map_err(from_query)?;
    blocking(move || {
        let inv = st.queries.get(&st)?;
        let stats = inv.stats(by, &filter).map_err(from_query)?;
        json_bytes(&stats)
    })
    .await
}

/// Maps a report error: bad parameters are 400, the rest as the query routes do.
pub(crate) fn from_report(e: tradetrail_reports::Error) -> ApiError {
    match e {
        tradetrail_reports::Error::BadInput { field, reason } => {
            ApiError::BadRequest(format!("{}: {reason}", field.trim_start_matches("--")))
        }
        tradetrail_reports::Error::Query(q) => from_query(q),
        // The journal holds amounts the books cannot add up (written before bounds
        // were validated): say which record, as the CLI does.
        e @ tradetrail_reports::Error::Overflow { .. } => ApiError::Conflict(e.to_string()),
        other => {
            tracing::error!(error = %other, "report failed");
            ApiError::Internal
        }
    }
}

/// A report's request, format and CSV section from the parameters of
/// `GET /v1/reports/{kind}` (and the console's reports page): a trader's scope forces
/// its own trader (naming another is 403).
pub(crate) fn report_request(
    scope: &Scope,
    time: &tradetrail_model::TimeSettings,
    kind: &str,
    params: Vec<(String, String)>,
) -> Result<
    (
        tradetrail_reports::ReportRequest,
        tradetrail_reports::Format,
        Option<String>,
    ),
    ApiError,
> {
    let kind = tradetrail_reports::ReportKind::parse(kind).map_err(from_report)?;
    let mut req = tradetrail_reports::ReportRequest::with_time(kind, time.clone());
    let mut format = tradetrail_reports::Format::Json;
    let mut section = None;
    for (k, v) in params {
        match k.as_str() {
            "format" => {
                format = tradetrail_reports::Format::parse(&v).map_err(from_report)?;
            }
            "section" => section = Some(v),
            "trader" if scope.trader().is_some() => scope.check_asked(&v)?,
            "date" | "month" | "year" | "from" | "to" | "tz" | "session" | "trader"
            | "strategy" | "account" => {
                req.set(&k, &v).map_err(from_report)?;
            }
            other => {
                return Err(ApiError::BadRequest(format!(
                    "{other}: unknown parameter; reports take date, month, year, from, to, \
                     tz, session, trader, strategy, account, format and section"
                )))
            }
        }
    }
    if let Some(me) = scope.trader() {
        req.set("trader", me).map_err(from_report)?;
    }
    Ok((req, format, section))
}

/// `GET /v1/reports/{kind}?date=|month=|year=|from=&to=&tz=|session=&trader=&strategy=&account=&format=json|csv|html|table&section=`
///
/// The same reports as `tradetrail report KIND`. A trader's token gets its own
/// trader's records only (naming another trader is 403).
pub async fn report(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(kind): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    readers(&caller, "read reports")?;
    let scope = Scope::of(&caller)?;
    let Query(params) = params.map_err(|r| ApiError::BadRequest(r.body_text()))?;
    let (req, format, section) = report_request(&scope, st.time(), &kind, params)?;
    blocking(move || {
        let inv = st.queries.get(&st)?;
        let report = tradetrail_reports::run(&inv, &req).map_err(from_report)?;
        let mut body = Vec::new();
        tradetrail_reports::write(&mut body, &report, format, section.as_deref())
            .map_err(from_report)?;
        let content_type = match format {
            tradetrail_reports::Format::Json => "application/json",
            tradetrail_reports::Format::Csv => "text/csv; charset=utf-8",
            tradetrail_reports::Format::Html => "text/html; charset=utf-8",
            tradetrail_reports::Format::Table => "text/plain; charset=utf-8",
        };
        let mut resp = body.into_response();
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        Ok(resp)
    })
    .await
}
