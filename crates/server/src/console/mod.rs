//! The compliance console: the trail in a browser, served by the same router as the
//! API (pages under `/`, the API under `/v1`), described in `docs/console.md`.
//!
//! - Server-rendered HTML built in Rust ([`html`]), one stylesheet and one script
//!   embedded in the binary: nothing from a CDN, no Node toolchain, works offline.
//! - Sign-in exchanges an existing token for a session cookie ([`session`]): random
//!   256-bit id, `HttpOnly`, `SameSite=Strict`, `Secure` (and the `__Host-` prefix)
//!   behind TLS, idle and absolute expiry, kept in memory. Every sign-in, failed
//!   sign-in, sign-out and export is recorded as a `user.*` record, never with the token.
//! - Every state-changing request (POST) carries the session's CSRF token; without it
//!   it is refused (403) and changes nothing. The sign-in form carries its own
//!   (double-submit) token.
//! - A session sees exactly what its token sees through the API: the pages read
//!   through the same scoping ([`crate::queries::Scope`], `filter_of`, `scoped_trail`)
//!   as `/v1`, so a trader sees only its own records, everywhere.
//! - Every console response has a strict Content-Security-Policy (no inline script or
//!   style), `nosniff`, `no-referrer`, `DENY` framing and `no-store` caching.

mod analysis;
mod html;
mod pages;
pub(crate) mod session;

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use subtle::ConstantTimeEq;
use tradetrail_model::Event;

use crate::error::ApiError;
use crate::tokens::{Caller, Role};
use crate::AppState;
use html::{esc, page};
pub use session::ConsoleOptions;
pub(crate) use session::Sessions;
use session::{Lookup, Session};

/// Marks a response as the console's, so the API's JSON error rewriting leaves it be.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConsoleResponse;

/// The Content-Security-Policy of every console response.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
                       frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const CSS: &str = include_str!("console.css");
const JS: &str = include_str!("console.js");

/// The console's routes, with its security headers.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/prefs", post(prefs))
        .route("/search", get(pages::search))
        .route("/export", get(pages::export_bundle))
        .route("/record/{seq}", get(pages::record))
        .route("/record/{seq}/proof", get(pages::proof))
        .route("/trail", get(pages::trail))
        .route("/reviews", get(pages::reviews))
        .route("/reviews/resolve", post(pages::resolve))
        .route("/integrity", get(pages::integrity))
        .route("/dashboard", get(pages::dashboard))
        .route("/dashboard/funnel", get(analysis::dashboard_funnel))
        .route("/dashboard/positions", get(analysis::dashboard_positions))
        .route("/incident", get(analysis::incident))
        .route("/reports", get(analysis::reports))
        .route("/reports/download", get(analysis::report_download))
        .route("/live", get(pages::live))
        .route("/live/stream", get(pages::live_stream))
        .route("/assets/console.css", get(css))
        .route("/assets/console.js", get(js))
        .layer(axum::middleware::map_response(security_headers))
}

async fn security_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.extensions_mut().insert(ConsoleResponse);
    resp
}

async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response()
}

async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        JS,
    )
        .into_response()
}

/// An HTML page as a response.
pub(crate) fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// A redirect (303: the browser follows it with GET).
fn see_other(to: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// A console request that cannot be answered: an HTML page saying why, with the
/// status the API would give.
#[derive(Debug)]
pub(crate) struct ConsoleError {
    status: StatusCode,
    message: String,
    session: Option<Box<Session>>,
}

impl ConsoleError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> ConsoleError {
        ConsoleError {
            status,
            message: message.into(),
            session: None,
        }
    }

    /// 403 with a message.
    pub(crate) fn forbidden(message: impl Into<String>) -> ConsoleError {
        ConsoleError::new(StatusCode::FORBIDDEN, message)
    }

    /// The page keeps its navigation for this session.
    pub(crate) fn within(mut self, s: &Session) -> ConsoleError {
        self.session = Some(Box::new(s.clone()));
        self
    }
}

impl From<ApiError> for ConsoleError {
    fn from(e: ApiError) -> ConsoleError {
        let message = match e {
            ApiError::Internal => "internal error: the server log says more".to_string(),
            ref other => other.message(),
        };
        ConsoleError::new(e.status(), message)
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let title = if self.status == StatusCode::FORBIDDEN {
            "Refused"
        } else if self.status.is_server_error() {
            "Not available"
        } else {
            "Cannot show this"
        };
        let body = format!(
            "<p class=\"error\" role=\"alert\" id=\"error\">{}</p><p><a href=\"/search\">Back to search</a></p>",
            esc(&self.message)
        );
        html(self.status, page(title, self.session.as_deref(), "", &body))
    }
}

/// The session cookie's name: `__Host-` prefixed behind TLS (the browser then only
/// accepts it with `Secure`, `Path=/` and no `Domain`).
fn cookie_name(opts: &ConsoleOptions, base: &'static str) -> String {
    if opts.behind_tls {
        format!("__Host-{base}")
    } else {
        base.to_string()
    }
}

/// A `Set-Cookie` value: `HttpOnly; SameSite=Strict; Path=/`, `Secure` behind TLS,
/// `max_age` seconds (`None`: until the browser closes).
fn set_cookie(
    opts: &ConsoleOptions,
    base: &'static str,
    value: &str,
    max_age: Option<u64>,
) -> String {
    let mut c = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Strict",
        cookie_name(opts, base)
    );
    if opts.behind_tls {
        c.push_str("; Secure");
    }
    if let Some(n) = max_age {
        c.push_str(&format!("; Max-Age={n}"));
    }
    c
}

/// The value of cookie `name` in a request.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    for v in headers.get_all(header::COOKIE) {
        let Ok(v) = v.to_str() else { continue };
        for part in v.split(';') {
            if let Some((k, val)) = part.trim().split_once('=') {
                if k == name && !val.is_empty() {
                    return Some(val.to_string());
                }
            }
        }
    }
    None
}

fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

const SESSION: &str = "tt_session";
const LOGIN: &str = "tt_login";

/// A signed-in request: its live session (the token checked again, so a revoked
/// token's sessions end at once). Without one, the browser is sent to sign in.
#[derive(Debug)]
pub(crate) struct Signed {
    pub s: Session,
    pub id: String,
}

impl FromRequestParts<Arc<AppState>> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &Arc<AppState>) -> Result<Signed, Response> {
        let opts = &st.opts.console;
        let Some(id) = cookie(&parts.headers, &cookie_name(opts, SESSION)) else {
            return Err(see_other("/login"));
        };
        let s = match st.sessions.touch(&id, opts) {
            Lookup::Live(s) => s,
            Lookup::Expired => return Err(see_other("/login?ended=expired")),
            Lookup::Unknown => return Err(see_other("/login")),
        };
        let (st2, digest) = (st.clone(), s.token_digest);
        let now =
            tokio::task::spawn_blocking(move || st2.tokens.authenticate_digest(&digest)).await;
        match now {
            Ok(Ok(Some(c))) if c == s.caller => Ok(Signed { s, id }),
            Ok(Ok(_)) => {
                st.sessions.remove(&id);
                Err(see_other("/login?ended=revoked"))
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "token store unreadable");
                Err(ConsoleError::from(ApiError::Internal).into_response())
            }
            Err(e) => {
                tracing::error!(error = %e, "blocking task failed");
                Err(ConsoleError::from(ApiError::Internal).into_response())
            }
        }
    }
}

impl Signed {
    /// Refuses a state-changing request without this session's CSRF token (the form
    /// field `csrf`, or the `X-CSRF-Token` header).
    pub(crate) fn check_csrf(
        &self,
        form: &HashMap<String, String>,
        headers: &HeaderMap,
    ) -> Result<(), ConsoleError> {
        let given = form.get("csrf").cloned().or_else(|| {
            headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        });
        match given {
            Some(t) if same_secret(&t, &self.s.csrf) => Ok(()),
            _ => Err(ConsoleError::forbidden(
                "this request did not carry the page's CSRF token, so it was refused and \
                 nothing changed; reload the page and try again",
            )
            .within(&self.s)),
        }
    }
}

/// Refuses a session whose role is not one of `roles`.
pub(crate) fn allow(s: &Session, roles: &[Role], what: &str) -> Result<(), ConsoleError> {
    crate::handlers::allow(&s.caller, roles, what).map_err(|e| ConsoleError::from(e).within(s))
}

/// The actor a console user's records name: `operator:<token name>`.
pub(crate) fn actor_of(caller: &Caller) -> String {
    format!("operator:{}", caller.name)
}

pub(crate) fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Records a `user.*` event (source `console`) through the recorder; returns its seq.
/// Never given the token.
pub(crate) fn record_user(
    st: &AppState,
    ty: &str,
    actor: &str,
    caller: Option<&Caller>,
    data: &[(&str, serde_json::Value)],
) -> Result<u64, ApiError> {
    let mut e = Event::new(ty, now_ns(), "console", actor).with_event_id(uuid::Uuid::new_v4());
    if let Some(c) = caller {
        e = e
            .with_data("token_name", c.name.as_str())
            .with_data("role", c.role.as_str());
        if let Some(t) = &c.trader_id {
            e = e.with_trader(t);
        }
    }
    for (k, v) in data {
        e = e.with_data(k, v.clone());
    }
    let receipt = st.rec.record(&e).map_err(ApiError::from_core)?;
    Ok(receipt.seq)
}

/// Records what a console user downloaded (`user.exported`, actor the user, `what`
/// and the rest of `data`): proofs, reports and export bundles alike.
pub(crate) fn record_export(
    st: &AppState,
    caller: &Caller,
    data: &[(&str, serde_json::Value)],
) -> Result<u64, ApiError> {
    record_user(st, "user.exported", &actor_of(caller), Some(caller), data)
}

/// A download: `bytes` as `content_type`, saved by the browser as `filename`.
pub(crate) fn attachment(bytes: Vec<u8>, content_type: &'static str, filename: &str) -> Response {
    let mut resp = (StatusCode::OK, bytes).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// Runs blocking work on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ConsoleError> + Send + 'static,
) -> Result<T, ConsoleError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "blocking task failed");
        Err(ApiError::Internal.into())
    })
}

/// `GET /`: the search page when signed in, else the sign-in page.
async fn home(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let opts = &st.opts.console;
    let live = cookie(&headers, &cookie_name(opts, SESSION))
        .is_some_and(|id| matches!(st.sessions.touch(&id, opts), Lookup::Live(_)));
    see_other(if live { "/search" } else { "/login" })
}

fn login_form(st: &AppState, notice: Option<(&str, &str)>, status: StatusCode) -> Response {
    let opts = &st.opts.console;
    let nonce = session::random_id();
    let notice = notice
        .map(|(class, m)| {
            format!(
                "<p class=\"{class}\" role=\"alert\" id=\"notice\">{}</p>",
                esc(m)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "{notice}<form method=\"post\" action=\"/login\" class=\"login\" autocomplete=\"off\">\
         <input type=\"hidden\" name=\"login_csrf\" value=\"{nonce}\">\
         <label for=\"token\">Token</label>\
         <input id=\"token\" name=\"token\" type=\"password\" required autofocus \
         placeholder=\"tt_…\" spellcheck=\"false\">\
         <button type=\"submit\" id=\"sign-in\">Sign in</button></form>\
         <p class=\"hint\">Sign in with a trader, compliance or admin token \
         (<code>tradetrail token create</code>). The token is exchanged for a session: \
         it ends after {} of inactivity or {} after sign-in, and when the server restarts.</p>",
        human_duration(opts.idle),
        human_duration(opts.absolute)
    );
    let mut resp = html(status, page("Sign in", None, "", &body));
    if let Ok(v) = HeaderValue::from_str(&set_cookie(opts, LOGIN, &nonce, Some(3600))) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

fn human_duration(d: std::time::Duration) -> String {
    let s = d.as_secs();
    if s.is_multiple_of(3600) && s >= 3600 {
        format!("{} h", s / 3600)
    } else if s.is_multiple_of(60) && s >= 60 {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

/// `GET /login`: the sign-in form (a fresh sign-in CSRF token in a cookie and the form).
async fn login_page(
    State(st): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let notice = match q.get("ended").map(String::as_str) {
        Some("expired") => Some(("notice", "Your session expired. Sign in again.")),
        Some("revoked") => Some((
            "notice",
            "Your session ended: its token is no longer valid.",
        )),
        _ if q.contains_key("signed_out") => Some(("notice", "You are signed out.")),
        _ => None,
    };
    login_form(&st, notice, StatusCode::OK)
}

/// Records a failed sign-in (never the token) and answers the form again.
async fn refuse_sign_in(
    st: Arc<AppState>,
    caller: Option<Caller>,
    reason: &'static str,
    message: String,
    status: StatusCode,
) -> Response {
    let st2 = st.clone();
    let recorded = tokio::task::spawn_blocking(move || {
        record_user(
            &st2,
            "user.sign_in_failed",
            "system",
            caller.as_ref(),
            &[("reason", reason.into())],
        )
    })
    .await;
    if !matches!(recorded, Ok(Ok(_))) {
        tracing::error!(reason, "a failed console sign-in could not be recorded");
    }
    login_form(&st, Some(("error", &message)), status)
}

/// `POST /login` (form: `token`, `login_csrf`): a session for a trader, compliance or
/// admin token; recorded as `user.signed_in` or `user.sign_in_failed`.
async fn login(
    State(st): State<Arc<AppState>>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let opts = st.opts.console.clone();
    let ip = peer.map(|axum::Extension(axum::extract::ConnectInfo(a))| a.ip());
    // An address that has used up its failed sign-ins waits out the window: guessing
    // tokens is slowed to a few tries per window, and the journal gets one record of
    // it (when the limit was reached), not one per try.
    if let Some(wait) = ip.and_then(|ip| st.sessions.sign_in_blocked(ip, &opts)) {
        let minutes = wait.as_secs().div_ceil(60).max(1);
        tracing::warn!(peer = ?ip, "console sign-in refused: too many failed sign-ins from this address");
        let mut r = login_form(
            &st,
            Some((
                "error",
                &format!(
                    "Too many failed sign-ins from this address: try again in {minutes} minute(s)."
                ),
            )),
            StatusCode::TOO_MANY_REQUESTS,
        );
        if let Ok(v) = axum::http::HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
        return r;
    }
    let Ok(Form(form)) = form else {
        return login_form(
            &st,
            Some(("error", "the sign-in form could not be read; try again")),
            StatusCode::BAD_REQUEST,
        );
    };
    let expected = cookie(&headers, &cookie_name(&opts, LOGIN));
    let ok = match (form.get("login_csrf"), expected) {
        (Some(a), Some(b)) => same_secret(a, &b),
        _ => false,
    };
    if !ok {
        return login_form(
            &st,
            Some((
                "error",
                "the sign-in form was not the one this server gave (CSRF check); it has been reloaded, sign in again",
            )),
            StatusCode::FORBIDDEN,
        );
    }
    let token = form
        .get("token")
        .map(|t| t.trim().to_string())
        .unwrap_or_default();
    if token.is_empty() {
        return login_form(
            &st,
            Some(("error", "token: required")),
            StatusCode::BAD_REQUEST,
        );
    }
    let digest = crate::tokens::digest(&token);
    drop(token);
    let st2 = st.clone();
    let found = tokio::task::spawn_blocking(move || st2.tokens.authenticate_digest(&digest)).await;
    let caller = match found {
        Ok(Ok(Some(c))) => c,
        Ok(Ok(None)) => {
            let used_up = ip.is_some_and(|ip| st.sessions.sign_in_failed(ip, &opts));
            let (reason, message) = if used_up {
                (
                    "unknown token; address refused",
                    format!(
                        "That token is not known to this server. Too many failed sign-ins from this address: try again in {} minute(s).",
                        opts.sign_in_window.as_secs().div_ceil(60).max(1)
                    ),
                )
            } else {
                (
                    "unknown token",
                    "That token is not known to this server.".to_owned(),
                )
            };
            return refuse_sign_in(st, None, reason, message, StatusCode::UNAUTHORIZED).await;
        }
        _ => return ConsoleError::from(ApiError::Internal).into_response(),
    };
    if caller.role == Role::Writer {
        return refuse_sign_in(
            st,
            Some(caller),
            "writer token",
            "A writer token appends events and reads nothing, so the console has no pages for it. \
             Sign in with a trader, compliance or admin token."
                .into(),
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    if let Err(e) = crate::queries::Scope::of(&caller) {
        let message = e.message();
        return refuse_sign_in(
            st,
            Some(caller),
            "trader token refused",
            message,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    // A browser signing in again leaves its old session behind: end it.
    if let Some(old) = cookie(&headers, &cookie_name(&opts, SESSION)) {
        st.sessions.remove(&old);
    }
    if let Some(ip) = ip {
        st.sessions.sign_in_succeeded(ip);
    }
    let (id, s) = st.sessions.create(caller.clone(), digest, &opts);
    // A session starts in the data directory's configured zone.
    if !st.time().zone.is_utc() {
        st.sessions.set_tz(&id, html::Tz(st.time().zone.clone()));
    }
    let st2 = st.clone();
    let actor = actor_of(&caller);
    let recorded = tokio::task::spawn_blocking(move || {
        record_user(&st2, "user.signed_in", &actor, Some(&caller), &[])
    })
    .await;
    match recorded {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            st.sessions.remove(&id);
            return login_form(
                &st,
                Some((
                    "error",
                    &format!(
                        "signed in, but the sign-in could not be recorded, so the session was ended: {}",
                        e.message()
                    ),
                )),
                e.status(),
            );
        }
        Err(_) => {
            st.sessions.remove(&id);
            return ConsoleError::from(ApiError::Internal).into_response();
        }
    }
    tracing::info!(
        name = s.caller.name,
        role = s.caller.role.as_str(),
        "console sign-in"
    );
    let mut resp = see_other("/search");
    for c in [
        set_cookie(&opts, SESSION, &id, None),
        set_cookie(&opts, LOGIN, "", Some(0)),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// `POST /logout` (CSRF): ends the session; recorded as `user.signed_out`.
async fn logout(
    State(st): State<Arc<AppState>>,
    signed: Signed,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, axum::extract::rejection::FormRejection>,
) -> Result<Response, ConsoleError> {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    signed.check_csrf(&form, &headers)?;
    st.sessions.remove(&signed.id);
    let st2 = st.clone();
    let caller = signed.s.caller.clone();
    blocking(move || {
        record_user(
            &st2,
            "user.signed_out",
            &actor_of(&caller),
            Some(&caller),
            &[],
        )
        .map_err(ConsoleError::from)
    })
    .await?;
    let mut resp = see_other("/login?signed_out=1");
    if let Ok(v) = HeaderValue::from_str(&set_cookie(&st.opts.console, SESSION, "", Some(0))) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// `POST /prefs` (CSRF; form `tz`: `UTC` or `+HH:MM`/`-HH:MM`, `back`: the page to
/// return to): the session's time zone, until the session ends.
async fn prefs(
    State(st): State<Arc<AppState>>,
    signed: Signed,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, axum::extract::rejection::FormRejection>,
) -> Result<Response, ConsoleError> {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    signed.check_csrf(&form, &headers)?;
    let tz = html::Tz::parse(form.get("tz").map_or("", String::as_str))
        .map_err(|m| ConsoleError::new(StatusCode::BAD_REQUEST, m).within(&signed.s))?;
    st.sessions.set_tz(&signed.id, tz);
    // Back to a page of this console only (a path, never another site).
    let back = form
        .get("back")
        .filter(|b| b.starts_with('/') && !b.starts_with("//") && !b.contains('\\'))
        .map_or("/search", String::as_str);
    Ok(see_other(back))
}
