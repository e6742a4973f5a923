//! Reviews: major discrepancies waiting for an operator.
//!
//! A review is opened by `review.requested` (entity `review` / `REV-…`, written by a
//! reconciliation run) and closed by `review.resolved` (same entity, the operator as
//! `actor`, `data.note`, `refs.review_seq` = the request's seq). Nothing is changed
//! in place: the review's state is derived from those two records.

use serde::Serialize;
use serde_json::{Map, Value};
use tradetrail_core::Recorder;
use tradetrail_journal::Receipt;
use tradetrail_model::Event;

use crate::record::{read_records_where, Record};
use crate::{Error, Result};

/// `open` or `resolved`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReviewStatus {
    /// Waiting for an operator.
    Open,
    /// Closed with a note.
    Resolved,
}

/// One review, derived from its records.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Review {
    /// `REV-…`.
    pub id: String,
    /// Open or resolved.
    pub status: ReviewStatus,
    /// Seq of `review.requested`.
    pub requested_seq: u64,
    /// When it was requested.
    pub requested_at: i64,
    /// Who requested it.
    pub requested_by: String,
    /// The account.
    pub account_id: Option<String>,
    /// The instrument.
    pub instrument_id: Option<String>,
    /// The request's `data` (discrepancy id, field, values, detail, run id, ...).
    pub request: Map<String, Value>,
    /// Seq of `review.resolved`.
    pub resolved_seq: Option<u64>,
    /// When.
    pub resolved_at: Option<i64>,
    /// Who resolved it.
    pub resolved_by: Option<String>,
    /// The operator's note.
    pub note: Option<String>,
}

impl Review {
    /// `data.<key>` of the request as text.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.request.get(key)?.as_str()
    }
}

/// Every review in a set of records, in request order.
pub fn reviews_of(records: &[Record]) -> Vec<Review> {
    let mut out: Vec<Review> = Vec::new();
    for r in records {
        let Some(id) = r.entity_id("review") else {
            continue;
        };
        match r.event_type.as_str() {
            "review.requested" if !out.iter().any(|x| x.id == id) => out.push(Review {
                id: id.to_owned(),
                status: ReviewStatus::Open,
                requested_seq: r.seq,
                requested_at: r.ts_event,
                requested_by: r.actor.clone(),
                account_id: r.account_id.clone(),
                instrument_id: r.instrument_id.clone(),
                request: r.data.clone(),
                resolved_seq: None,
                resolved_at: None,
                resolved_by: None,
                note: None,
            }),
            "review.resolved" => {
                if let Some(x) = out
                    .iter_mut()
                    .find(|x| x.id == id && x.status == ReviewStatus::Open)
                {
                    x.status = ReviewStatus::Resolved;
                    x.resolved_seq = Some(r.seq);
                    x.resolved_at = Some(r.ts_event);
                    x.resolved_by = Some(r.actor.clone());
                    x.note = r.text("note").map(str::to_owned);
                }
            }
            _ => {}
        }
    }
    out
}

/// Every review of a data directory's journal (`cold` as for
/// [`crate::read_records`]).
pub fn reviews(
    recorder_dir: &tradetrail_core::DataDir,
    cold: Option<&dyn tradetrail_journal::ColdLines>,
) -> Result<Vec<Review>> {
    let records = read_records_where(&recorder_dir.journal(), cold, |t| t.starts_with("review."))?;
    Ok(reviews_of(&records))
}

/// Appends `review.resolved` for an open review. `actor` is who resolved it
/// (`operator:carol`); `note` is required. Refuses an unknown or already resolved id,
/// and a resolver who is the review's requester (four eyes: [`Error::FourEyes`]).
pub fn resolve(
    recorder: &Recorder,
    id: &str,
    actor: &str,
    note: &str,
    now: i64,
) -> Result<(Review, Receipt)> {
    if note.trim().is_empty() {
        return Err(Error::Invalid(
            "note: required, say how the review was resolved".into(),
        ));
    }
    let all = reviews(recorder.data_dir(), recorder.cold())?;
    let Some(review) = all.into_iter().find(|r| r.id == id) else {
        return Err(Error::Invalid(format!(
            "review {id:?} does not exist (tradetrail review list shows the ids)"
        )));
    };
    if review.status == ReviewStatus::Resolved {
        return Err(Error::Invalid(format!(
            "review {id} was already resolved by {} (seq {})",
            review.resolved_by.as_deref().unwrap_or("?"),
            review.resolved_seq.unwrap_or_default()
        )));
    }
    if review.requested_by == actor {
        return Err(Error::FourEyes {
            id: review.id,
            actor: actor.to_owned(),
        });
    }
    let mut e = Event::new("review.resolved", now, "review_desk", actor)
        .with_event_id(uuid::Uuid::new_v4())
        .with_entity("review", id)
        .with_ref("review_seq", review.requested_seq)
        .with_data("note", note);
    if let Some(d) = review.field("discrepancy_id") {
        e = e.with_data("discrepancy_id", d);
    }
    if let Some(a) = &review.account_id {
        e = e.with_account(a);
    }
    if let Some(i) = &review.instrument_id {
        e = e.with_instrument(i);
    }
    e.validate()
        .map_err(|errs| Error::Invalid(errs.to_string()))?;
    let receipt = recorder.record(&e)?;
    let mut done = review;
    done.status = ReviewStatus::Resolved;
    done.resolved_seq = Some(receipt.seq);
    done.resolved_at = Some(now);
    done.resolved_by = Some(actor.to_owned());
    done.note = Some(note.to_owned());
    Ok((done, receipt))
}
