//! Every error the server answers, and the one place they become HTTP responses.
//!
//! The body is always JSON: `{"error":{"code":"…","message":"…"}}`, plus `lines` for
//! invalid events. Internal details (paths, OS errors) go to the log, never to the
//! client.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One bad line of a batch: its 1-based line number and every problem in it.
#[derive(Debug, Clone, Serialize)]
pub struct LineErrors {
    /// 1-based line number in the request body.
    pub line: usize,
    /// Every problem, each naming its field.
    pub errors: Vec<FieldProblem>,
}

/// One problem with one field.
#[derive(Debug, Clone, Serialize)]
pub struct FieldProblem {
    /// The field, e.g. `data.quantity`.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

/// What went wrong with a request.
#[derive(Debug)]
pub enum ApiError {
    /// 400: the request is malformed (bad query, not JSON, ...).
    BadRequest(String),
    /// 400: events failed validation; nothing was written.
    InvalidEvents {
        /// Events in the request.
        total: usize,
        /// The bad lines.
        lines: Vec<LineErrors>,
    },
    /// 401: no bearer token, or one the server does not know.
    Unauthorized(&'static str),
    /// 403: the token's role may not do this.
    Forbidden(String),
    /// 404: no such route or record.
    NotFound(String),
    /// 405: the route exists, the method does not.
    MethodNotAllowed,
    /// 409: the request conflicts with the journal's state.
    Conflict(String),
    /// 409: an event reuses an `event_id` with a different body, of the record `seq`
    /// or of an earlier line of the request; nothing of the request was written. The
    /// client must give the event a new `event_id`: retrying it unchanged is refused
    /// again.
    EventIdConflict {
        /// 1-based line of the refused event in the request body.
        line: usize,
        /// The reused `event_id`, when known.
        event_id: Option<String>,
        /// The record that holds the first body, when it is recorded.
        seq: Option<u64>,
        /// The earlier line of the request with that `event_id`, when it is not.
        first_line: Option<usize>,
    },
    /// 413: the body is larger than the limit.
    PayloadTooLarge(usize),
    /// 503: the journal cannot take writes (poisoned, disk full), or the request timed out.
    Unavailable {
        /// Machine-readable code (`not_writable`, `timeout`, `shutting_down`, `damaged`).
        code: &'static str,
        /// What the client should know.
        message: String,
    },
    /// 500: a bug. Details are logged, not sent.
    Internal,
}

/// Put on every error response so the request middleware can count rejections.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::InvalidEvents { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) | ApiError::EventIdConflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The machine-readable code, also the `reason` label of the rejection metric.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::InvalidEvents { .. } => "invalid_events",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::EventIdConflict { .. } => "event_id_conflict",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::Unavailable { code, .. } => code,
            ApiError::Internal => "internal",
        }
    }

    pub(crate) fn message(&self) -> String {
        match self {
            ApiError::BadRequest(m)
            | ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::Conflict(m) => m.clone(),
            ApiError::InvalidEvents { total, lines } => format!(
                "{} of {total} events are invalid; nothing was written",
                lines.len()
            ),
            ApiError::EventIdConflict {
                line,
                event_id,
                seq,
                first_line,
            } => {
                let id = event_id
                    .as_deref()
                    .map_or_else(|| "its event_id".to_string(), |id| format!("event_id {id}"));
                let first = match (seq, first_line) {
                    (Some(seq), _) => format!("record {seq}"),
                    (None, Some(l)) => format!("line {l} of this request"),
                    (None, None) => "an earlier event".to_string(),
                };
                format!(
                    "line {line}: {id} is already used by {first} with a different body; \
                     nothing was written: give this event a new event_id (retrying it \
                     unchanged is refused again)"
                )
            }
            ApiError::Unauthorized(m) => (*m).to_string(),
            ApiError::MethodNotAllowed => "method not allowed on this route".into(),
            ApiError::PayloadTooLarge(limit) => {
                format!(
                    "request body is larger than the limit of {limit} bytes; send smaller batches"
                )
            }
            ApiError::Unavailable { message, .. } => message.clone(),
            ApiError::Internal => "internal error; the details are in the server's log".into(),
        }
    }

    /// Maps a library error, logging what the client is not told.
    pub fn from_core(e: tradetrail_core::Error) -> ApiError {
        use tradetrail_core::Error as C;
        match e {
            C::Journal(j) => ApiError::from_journal(j),
            C::Invalid(v) => ApiError::InvalidEvents {
                total: 1,
                lines: vec![LineErrors {
                    line: 1,
                    errors: problems(&v),
                }],
            },
            C::OutOfRange { reason } => ApiError::BadRequest(reason),
            e @ (C::Contradicts { .. } | C::OriginMismatch { .. }) => {
                tracing::error!(error = %e, "the data directory is damaged");
                ApiError::Unavailable {
                    code: "damaged",
                    message: e.to_string(),
                }
            }
            other => {
                tracing::error!(error = %other, "request failed");
                ApiError::Internal
            }
        }
    }

    /// Maps an error of the one door (opening, verifying, repairing).
    pub fn from_store(e: tradetrail_store::Error) -> ApiError {
        match e {
            tradetrail_store::Error::Core(c) => ApiError::from_core(c),
            tradetrail_store::Error::Journal(j) => ApiError::from_journal(j),
            other => {
                tracing::error!(error = %other, "request failed");
                ApiError::Internal
            }
        }
    }

    /// Maps a journal error, logging what the client is not told.
    pub fn from_journal(e: tradetrail_journal::Error) -> ApiError {
        use tradetrail_journal::Error as J;
        match &e {
            // Positions are 0-based entries of the call; a handler that knows the
            // request's line numbers and event_ids refines these.
            J::Conflict { seq, index } => ApiError::EventIdConflict {
                line: index + 1,
                event_id: None,
                seq: Some(*seq),
                first_line: None,
            },
            J::ConflictInBatch { first, index } => ApiError::EventIdConflict {
                line: index + 1,
                event_id: None,
                seq: None,
                first_line: Some(first + 1),
            },
            J::NoSuchRecord { seq, len } => ApiError::NotFound(format!(
                "no record with seq {seq} (the journal holds {len})"
            )),
            // Removed by a retention purge: its line is gone for good.
            J::Purged { .. } => ApiError::NotFound(e.to_string()),
            // Damage found while answering: the answer would be from part of the
            // journal, so there is none (the path stays in the log).
            J::Damaged { .. } | J::Corrupt { .. } | J::Gap { .. } => {
                tracing::error!(error = %e, "the journal is damaged or incomplete");
                let at = match &e {
                    J::Damaged { seq, .. } => format!(" at seq {seq}"),
                    J::Gap { after, .. } => format!(" after seq {after}"),
                    _ => String::new(),
                };
                ApiError::Unavailable {
                    code: "damaged",
                    message: format!(
                        "the journal is damaged or incomplete{at}: no answer is given from part of it; an operator should run `tradetrail verify`"
                    ),
                }
            }
            J::DiskFull { .. } | J::Poisoned { .. } | J::Io { .. } => {
                tracing::error!(error = %e, "journal not writable");
                ApiError::Unavailable {
                    code: "not_writable",
                    message: not_writable_reason(e.is_disk_full()).into(),
                }
            }
            _ => {
                tracing::error!(error = %e, "journal error");
                ApiError::Internal
            }
        }
    }
}

/// The reason given to clients (and `/healthz`) when the journal cannot take writes.
pub fn not_writable_reason(disk_full: bool) -> &'static str {
    if disk_full {
        "disk full: the journal cannot take writes until space is freed and the server restarted; nothing acknowledged was lost"
    } else {
        "the journal is poisoned by an earlier write failure and takes no writes until the server is restarted; nothing acknowledged was lost"
    }
}

/// The field problems of a validation error.
pub fn problems(v: &tradetrail_model::ValidationErrors) -> Vec<FieldProblem> {
    v.iter()
        .map(|e| FieldProblem {
            field: e.field.clone(),
            reason: e.reason.clone(),
        })
        .collect()
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    status: u16,
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    lines: Option<&'a [LineErrors]>,
    /// For `event_id_conflict`: the refused line, and the record holding the first body.
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<u64>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = self.code();
        let body = Body {
            error: Inner {
                status: status.as_u16(),
                code,
                message: self.message(),
                lines: match &self {
                    ApiError::InvalidEvents { lines, .. } => Some(lines),
                    _ => None,
                },
                line: match &self {
                    ApiError::EventIdConflict { line, .. } => Some(*line),
                    _ => None,
                },
                event_id: match &self {
                    ApiError::EventIdConflict { event_id, .. } => event_id.as_deref(),
                    _ => None,
                },
                seq: match &self {
                    ApiError::EventIdConflict { seq, .. } => *seq,
                    _ => None,
                },
            },
        };
        let bytes = serde_json::to_vec(&body).expect("errors serialize");
        let mut resp = (status, bytes).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"tradetrail\""),
            );
        }
        resp.extensions_mut().insert(ErrorCode(code));
        resp
    }
}
