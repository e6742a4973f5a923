//! One function per route. Each checks the caller's role, then does its library call
//! on the blocking pool.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tradetrail_core::checkpoints::{latest_checkpoint, take_checkpoint, verifier_key};
use tradetrail_core::{split_lines, write_receipt_json, Line, Tree};
use tradetrail_journal::Receipt;
use tradetrail_model::Event;

use crate::error::{problems, ApiError, LineErrors};
use crate::metrics::Gauges;
use crate::tokens::{Caller, Role};
use crate::AppState;

type St = State<Arc<AppState>>;

/// Runs blocking work on the blocking pool; a panic there is an internal error.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "blocking task failed");
        Err(ApiError::Internal)
    })
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Caller, ApiError> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(ApiError::Unauthorized(
                "no bearer token: send Authorization: Bearer <token>",
            ));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Unauthorized(
                "malformed Authorization header: send Authorization: Bearer <token>",
            ))?
            .to_string();
        let st = state.clone();
        let found = blocking(move || {
            st.tokens.authenticate(&token).map_err(|e| {
                tracing::error!(error = %e, "token store unreadable");
                ApiError::Internal
            })
        })
        .await?;
        found.ok_or(ApiError::Unauthorized("unknown token"))
    }
}

/// Refuses the caller unless its role is one of `roles`.
pub(crate) fn allow(caller: &Caller, roles: &[Role], what: &str) -> Result<(), ApiError> {
    if roles.contains(&caller.role) {
        return Ok(());
    }
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    Err(ApiError::Forbidden(format!(
        "a {} token may not {what}; that needs {}",
        caller.role.as_str(),
        names.join(" or ")
    )))
}

/// One receipt as a JSON value (the form [`write_receipt_json`] writes).
fn receipt_json(r: &Receipt) -> Value {
    let mut out = Vec::with_capacity(100);
    write_receipt_json(&mut out, r);
    serde_json::from_slice(&out).unwrap_or(Value::Null)
}

/// Splits a body into numbered events: one JSON value, or JSON Lines.
///
/// `application/x-ndjson` (or `jsonl`) is always read as lines. Otherwise a body that
/// is one JSON value — even pretty-printed over several lines — is one event, and
/// anything else is read as lines ([`split_lines`]: blank lines are skipped but
/// counted).
fn split_events(body: &[u8], lines_only: bool) -> Vec<Line<'_>> {
    if !lines_only && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
        return vec![(1, body)];
    }
    split_lines(body)
}

/// The answer to an acknowledged batch: `{"receipts":[{"seq":…,"hash":"…"},…]}`.
fn receipts_response(receipts: &[Receipt]) -> Response {
    let mut out = Vec::with_capacity(16 + receipts.len() * 100);
    out.extend_from_slice(b"{\"receipts\":[");
    for (i, r) in receipts.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_receipt_json(&mut out, r);
    }
    out.extend_from_slice(b"]}");
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        out,
    )
        .into_response()
}

/// `POST /v1/events` (writer): one event or a JSON Lines batch, validated whole and
/// answered when every event is acknowledged under the durability policy.
pub async fn post_events(
    State(st): St,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    allow(&caller, &[Role::Writer], "append events")?;
    let body = body.map_err(|r| {
        if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(st.opts.max_body_bytes)
        } else {
            ApiError::BadRequest("the request body could not be read".into())
        }
    })?;
    let lines_only = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.contains("ndjson") || ct.contains("jsonl") || ct.contains("jsonlines")
        });
    let state = st.clone();
    let receipts = blocking(move || {
        let rec = &state.rec;
        let events = split_events(&body, lines_only);
        if events.is_empty() {
            return Err(ApiError::BadRequest("no events in the request body".into()));
        }
        let total = events.len();
        let entries = rec.prepare_lines(&events, None).map_err(|bad| {
            let lines = bad
                .iter()
                .map(|b| LineErrors {
                    line: b.line,
                    errors: problems(&b.errors),
                })
                .collect();
            ApiError::InvalidEvents { total, lines }
        })?;
        // Runs of entries of one type (type, length), in order: for the metrics and the
        // reconciliation trigger, without a string per event.
        let mut runs: Vec<(String, usize)> = Vec::new();
        for e in &entries {
            let t = e.record_type();
            match runs.last_mut() {
                Some((last, n)) if last == t => *n += 1,
                _ => runs.push((t.to_owned(), 1)),
            }
        }
        let start = Instant::now();
        let receipts = rec.record_batch(entries).map_err(|e| {
            if let tradetrail_core::Error::Journal(j) = &e {
                if j.is_disk_full() {
                    state.disk_full.store(true, Ordering::Relaxed);
                }
            }
            name_lines(ApiError::from_core(e), &events)
        })?;
        let secs = start.elapsed().as_secs_f64();
        let mut fresh = Vec::with_capacity(runs.len());
        let mut at = 0;
        for (t, n) in &runs {
            let new = receipts
                .get(at..at + n)
                .unwrap_or_default()
                .iter()
                .filter(|r| !r.duplicate)
                .count();
            at += n;
            if new > 0 {
                fresh.push((t.as_str(), new as u64));
            }
        }
        if state.schedule.on_fill.is_some() && fresh.iter().any(|(t, _)| *t == "order.filled") {
            state.fills.notify_one();
        }
        let new: u64 = fresh.iter().map(|(_, n)| n).sum();
        state
            .metrics
            .appended(fresh.into_iter(), total as u64 - new, total, secs);
        Ok(receipts)
    })
    .await?;
    Ok(receipts_response(&receipts))
}
/// Turns the entry positions of an `event_id` conflict into the request's line numbers
/// and names the `event_id` (read again from the line: this is the rare path).
fn name_lines(e: ApiError, events: &[Line<'_>]) -> ApiError {
    match e {
        ApiError::EventIdConflict {
            line,
            seq,
            first_line,
            ..
        } => {
            let at = |l: usize| events.get(l.wrapping_sub(1));
            ApiError::EventIdConflict {
                line: at(line).map_or(line, |o| o.0),
                event_id: at(line)
                    .and_then(|o| Event::from_json(o.1).ok())
                    .and_then(|ev| ev.event_id)
                    .map(|id| id.to_string()),
                seq,
                first_line: first_line.map(|f| at(f).map_or(f, |o| o.0)),
            }
        }
        other => other,
    }
}

/// `GET /v1/verify` (compliance, admin): the one verify of `tradetrail_store` — every
/// record's chain, the archive, and every checkpoint the data directory holds — as the
/// same JSON `tradetrail verify --json` prints.
pub async fn verify(State(st): St, caller: Caller) -> Result<Json<Value>, ApiError> {
    allow(
        &caller,
        &[Role::Compliance, Role::Admin],
        "verify the journal",
    )?;
    blocking(move || {
        let verdict = tradetrail_store::verify(st.rec.data_dir(), &|_| {}, &|_, _| {})
            .map_err(ApiError::from_store)?;
        Ok(Json(
            serde_json::to_value(&verdict).map_err(|_| ApiError::Internal)?,
        ))
    })
    .await
}

/// `POST /v1/reconcile` (admin): reconciles every statement waiting in the inbox now
/// and answers what became of each.
pub async fn reconcile(State(st): St, caller: Caller) -> Result<Json<crate::Pass>, ApiError> {
    allow(&caller, &[Role::Admin], "run a reconciliation")?;
    blocking(move || Ok(Json(crate::reconcile::run_inbox(&st, "manual")))).await
}

/// `GET /v1/checkpoint` (trader, compliance, admin): the latest saved signed note and
/// the key that verifies it.
pub async fn get_checkpoint(State(st): St, caller: Caller) -> Result<Json<Value>, ApiError> {
    allow(
        &caller,
        &[Role::Trader, Role::Compliance, Role::Admin],
        "read checkpoints",
    )?;
    blocking(move || {
        let dir = st.rec.data_dir();
        let Some((path, note)) = latest_checkpoint(dir).map_err(ApiError::from_core)? else {
            return Err(ApiError::NotFound(
                "no checkpoint has been taken yet; an admin may POST /v1/checkpoint".into(),
            ));
        };
        let size: u64 = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let vkey = verifier_key(dir).map_err(ApiError::from_core)?;
        Ok(Json(json!({
            "size": size,
            "note": note,
            "verifier_key": vkey.to_string(),
        })))
    })
    .await
}

/// `POST /v1/checkpoint` (admin): signs the current tree head, saves and records it.
pub async fn post_checkpoint(State(st): St, caller: Caller) -> Result<Json<Value>, ApiError> {
    allow(&caller, &[Role::Admin], "take a checkpoint")?;
    blocking(move || {
        let _g = st.tree_lock.lock().unwrap_or_else(|e| e.into_inner());
        let t = take_checkpoint(&st.rec).map_err(ApiError::from_core)?;
        let vkey = verifier_key(st.rec.data_dir()).map_err(ApiError::from_core)?;
        Ok(Json(json!({
            "size": t.size,
            "root": t.root.to_string(),
            "note": t.note,
            "verifier_key": vkey.to_string(),
            "receipt": receipt_json(&t.receipt),
        })))
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct InclusionQuery {
    seq: u64,
    size: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub struct ConsistencyQuery {
    old: u64,
    new: Option<u64>,
}

fn query_error(r: QueryRejection) -> ApiError {
    ApiError::BadRequest(r.body_text())
}

/// `GET /v1/proof/inclusion?seq=&size=` (compliance, admin; trader for its own
/// records): the proof, with the record's line so the caller can hash the leaf.
pub async fn inclusion(
    State(st): St,
    caller: Caller,
    q: Result<Query<InclusionQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    allow(
        &caller,
        &[Role::Trader, Role::Compliance, Role::Admin],
        "ask for inclusion proofs",
    )?;
    let Query(q) = q.map_err(query_error)?;
    let scope = crate::queries::Scope::of(&caller)?;
    blocking(move || {
        let line = st.rec.read_line(q.seq).map_err(ApiError::from_core)?;
        if !scope.admits_line(&line) {
            return Err(ApiError::Forbidden(format!(
                "record {} is not one of trader {}'s records",
                q.seq,
                scope.trader().unwrap_or("?")
            )));
        }
        let proof = {
            let _g = st.tree_lock.lock().unwrap_or_else(|e| e.into_inner());
            let (tree, _) = Tree::load(&st.rec).map_err(ApiError::from_core)?;
            tree.prove_inclusion(q.seq, q.size)
                .map_err(ApiError::from_core)?
        };
        let mut out = serde_json::to_value(&proof).map_err(|_| ApiError::Internal)?;
        out["record"] = Value::String(String::from_utf8_lossy(&line).into_owned());
        Ok(Json(out))
    })
    .await
}

/// `GET /v1/proof/consistency?old=&new=` (compliance, admin).
pub async fn consistency(
    State(st): St,
    caller: Caller,
    q: Result<Query<ConsistencyQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    allow(
        &caller,
        &[Role::Compliance, Role::Admin],
        "ask for consistency proofs",
    )?;
    let Query(q) = q.map_err(query_error)?;
    blocking(move || {
        let _g = st.tree_lock.lock().unwrap_or_else(|e| e.into_inner());
        let (tree, _) = Tree::load(&st.rec).map_err(ApiError::from_core)?;
        let proof = tree
            .prove_consistency(q.old, q.new)
            .map_err(ApiError::from_core)?;
        serde_json::to_value(&proof)
            .map(Json)
            .map_err(|_| ApiError::Internal)
    })
    .await
}

/// What `POST /v1/tokens` takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    role: Role,
    #[serde(default)]
    trader_id: Option<String>,
    name: String,
}

/// `POST /v1/tokens` (admin): creates a token and answers it once.
pub async fn create_token(
    State(st): St,
    caller: Caller,
    body: Result<Json<NewToken>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    allow(&caller, &[Role::Admin], "manage tokens")?;
    let Json(req) = body.map_err(|r| {
        if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(st.opts.max_body_bytes)
        } else {
            ApiError::BadRequest(r.body_text())
        }
    })?;
    let (role, name) = (req.role, req.name.clone());
    let token = blocking(move || {
        crate::tokens::create_token(
            st.rec.data_dir().root(),
            req.role,
            req.trader_id.as_deref(),
            &req.name,
        )
        .map_err(|e| match e {
            crate::tokens::TokenError::Invalid(m) => ApiError::BadRequest(m),
            crate::tokens::TokenError::InvalidTrader { id, reason } => {
                ApiError::BadRequest(format!("trader_id {id:?}: {reason}"))
            }
            e @ crate::tokens::TokenError::NameTaken(_) => ApiError::Conflict(e.to_string()),
            e => {
                tracing::error!(error = %e, "token store");
                ApiError::Internal
            }
        })
    })
    .await?;
    tracing::info!(
        by = caller.name,
        name,
        role = role.as_str(),
        "token created"
    );
    Ok((
        axum::http::StatusCode::CREATED,
        Json(json!({"name": name, "role": role.as_str(), "token": token})),
    )
        .into_response())
}

/// `GET /v1/tokens` (admin): every token's name, role and trader — never the secret
/// or its digest.
pub async fn list_tokens(State(st): St, caller: Caller) -> Result<Json<Value>, ApiError> {
    allow(&caller, &[Role::Admin], "manage tokens")?;
    blocking(move || {
        let list = crate::tokens::list_tokens(st.rec.data_dir().root()).map_err(|e| {
            tracing::error!(error = %e, "token store");
            ApiError::Internal
        })?;
        let tokens: Vec<Value> = list
            .iter()
            .map(|t| {
                json!({"name": t.name, "role": t.role.as_str(), "trader_id": t.trader_id, "created_ns": t.created_ns})
            })
            .collect();
        Ok(Json(json!({ "tokens": tokens })))
    })
    .await
}

/// `GET /healthz` (no token): 200 when the journal takes writes, 503 with the reason
/// when it is poisoned or the disk is full.
pub async fn healthz(State(st): St) -> Result<Json<Value>, ApiError> {
    blocking(move || {
        let status = st.rec.journal().status().map_err(ApiError::from_journal)?;
        if let Some(cause) = status.poisoned {
            tracing::warn!(cause, "health check: journal not writable");
            let disk_full = st.disk_full.load(Ordering::Relaxed) || cause.contains("disk full");
            let message = crate::error::not_writable_reason(disk_full);
            return Err(ApiError::Unavailable {
                code: "not_writable",
                message: message.into(),
            });
        }
        let mut components = serde_json::Map::new();
        let mut degraded = Vec::new();
        for c in &st.components {
            let r = c.report(status.records);
            if !r.healthy {
                degraded.push(c.name());
            }
            components.insert(
                c.name().into(),
                json!({"healthy": r.healthy, "detail": r.detail}),
            );
        }
        // The journal takes writes: 200, even while a component beside it is down
        // (appends never wait for it); `degraded` names those.
        let mut body = json!({"status": "ok", "records": status.records});
        if !components.is_empty() {
            body["components"] = components.into();
            body["degraded"] = json!(degraded);
        }
        Ok(Json(body))
    })
    .await
}

/// `GET /metrics` (no token): Prometheus text.
pub async fn metrics(State(st): St) -> Result<Response, ApiError> {
    let text = blocking(move || {
        let status = st.rec.journal().status().map_err(ApiError::from_journal)?;
        let mut g = Gauges {
            records: status.records,
            bytes: status.bytes,
            writable: status.poisoned.is_none(),
            ..Default::default()
        };
        if let Ok(Some((path, _))) = latest_checkpoint(st.rec.data_dir()) {
            g.checkpoint_size = path
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse().ok());
            g.checkpoint_age_seconds = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .map(|d| d.as_secs_f64());
        }
        let mut text = st.metrics.render(&g);
        let reports: Vec<_> = st
            .components
            .iter()
            .map(|c| (c.name(), c.report(status.records)))
            .collect();
        crate::metrics::render_components(&mut text, &reports);
        Ok(text)
    })
    .await?;
    let mut resp = text.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(resp)
}

/// `GET /v1/openapi.json` (no token).
pub async fn openapi() -> Json<Value> {
    Json(crate::openapi::document())
}

/// `GET /v1/schema`: the JSON Schema (draft 2020-12) of the events `POST /v1/events`
/// accepts, generated from the validator's type table (as `tradetrail schema
/// --json-schema`).
pub async fn schema() -> Json<Value> {
    Json(tradetrail_model::json_schema())
}

#[cfg(test)]
mod tests {
    use super::split_events;

    #[test]
    fn one_value_or_lines() {
        let pretty = b"{\n  \"type\": \"x\"\n}\n";
        assert_eq!(split_events(pretty, false).len(), 1);
        let lines = b"{\"a\":1}\n\n{\"b\":2}\r\n";
        let got = split_events(lines, false);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, 1);
        assert_eq!(got[1], (3, &b"{\"b\":2}"[..]));
        assert_eq!(split_events(b"{\"a\":1}", true).len(), 1);
    }
}
