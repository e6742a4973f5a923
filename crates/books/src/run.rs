//! Recording a reconciliation: corrections for minor discrepancies, reviews for major
//! ones, and `reconciliation.completed` with the counts, all through the
//! [`Recorder`] (validated and chained) as one batch.
//!
//! | type | entity | `data` |
//! |---|---|---|
//! | `reconciliation.correction` | `discrepancy` / `D-…` | `run_id`, `discrepancy_id`, `category`, `field`, `key`, `broker_value`, `our_value`, `difference`, `severity`, `detail`, `target` and the target's fields (see [`CorrectionPlan`]); `refs.correction_of` = the corrected record's seq |
//! | `review.requested` | `review` / `REV-…` | `run_id`, `discrepancy_id`, `category`, `field`, `key`, `broker_value`, `our_value`, `difference`, `unexplained`, `severity`, `detail` |
//! | `reconciliation.completed` | `reconciliation` / `RC-…` | `statement`, `statement_sha256`, `format`, `from`, `to`, `accounts`, trade and match counts, `discrepancies`, `minor`, `major`, `corrections`, `reviews_requested`, `already_reviewed` |
//!
//! A major discrepancy whose id already has a `review.requested` in the journal (open
//! or resolved) is not requested again; it is counted in `already_reviewed`.

use std::collections::HashSet;

use serde_json::{json, Value};
use tradetrail_core::Recorder;
use tradetrail_model::Event;

use crate::reconcile::{
    reconcile, CorrectionPlan, Discrepancy, Reconciliation, Severity, Tolerances,
};
use crate::record::read_records;
use crate::statement::Statement;
use crate::{Error, Result};

/// Who runs it and what the statement was.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The actor of the appended events (`system`, `operator:<id>`, ...).
    pub actor: String,
    /// The statement's name, as recorded.
    pub statement_name: String,
    /// SHA-256 of the statement file, lowercase hex.
    pub statement_sha256: String,
    /// `ts_event` of the appended events (ns).
    pub now: i64,
}

/// What a run found and appended.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// `RC-…`: the run's id.
    pub run_id: String,
    /// The comparison.
    pub reconciliation: Reconciliation,
    /// `(discrepancy id, seq)` of each `reconciliation.correction`.
    pub corrections: Vec<(String, u64)>,
    /// `(review id, discrepancy id, seq)` of each `review.requested`.
    pub reviews: Vec<(String, String, u64)>,
    /// Major discrepancies that already had a review.
    pub already_reviewed: Vec<String>,
    /// Seq of `reconciliation.completed`.
    pub completed_seq: u64,
}

/// The review id of a discrepancy: `REV-` and the discrepancy's hex.
pub fn review_id(discrepancy_id: &str) -> String {
    format!("REV-{}", discrepancy_id.trim_start_matches("D-"))
}

fn common(d: &Discrepancy, run_id: &str) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("run_id".into(), run_id.into());
    m.insert("discrepancy_id".into(), d.id.clone().into());
    m.insert("category".into(), d.category.into());
    m.insert("field".into(), d.field.clone().into());
    m.insert("key".into(), d.key.clone().into());
    if let Some(b) = &d.broker {
        m.insert("broker_value".into(), b.clone().into());
    }
    if let Some(o) = &d.ours {
        m.insert("our_value".into(), o.clone().into());
    }
    if let Some(x) = d.difference {
        m.insert("difference".into(), x.to_string().into());
    }
    if let Some(x) = d.unexplained {
        m.insert("unexplained".into(), x.to_string().into());
    }
    m.insert("severity".into(), d.severity.as_str().into());
    if let Some(l) = &d.broker_location {
        m.insert("broker_location".into(), l.clone().into());
    }
    m.insert("detail".into(), d.detail.clone().into());
    m
}

fn base(ty: &str, opts: &RunOptions, d: &Discrepancy) -> Event {
    let mut e = Event::new(ty, opts.now, "reconciler", &opts.actor)
        .with_event_id(uuid::Uuid::new_v4())
        .with_account(&d.account_id);
    if let Some(i) = &d.instrument_id {
        e = e.with_instrument(i);
    }
    e
}

/// Reads the journal, compares it with `statement`, and appends the run's events.
/// Nothing is appended when an event fails validation (bad `actor`, ...).
pub fn run(
    recorder: &Recorder,
    statement: &Statement,
    tol: &Tolerances,
    opts: &RunOptions,
) -> Result<RunOutcome> {
    let records = read_records(&recorder.data_dir().journal(), recorder.cold())?;
    let reviewed: HashSet<String> = records
        .iter()
        .filter(|r| r.event_type == "review.requested")
        .filter_map(|r| r.text("discrepancy_id").map(str::to_owned))
        .collect();
    let rec = reconcile(&records, statement, tol);
    let run_id = format!("RC-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let mut events = Vec::new();
    let mut kinds = Vec::new();
    let mut already = Vec::new();
    for d in &rec.discrepancies {
        match (d.severity, &d.correction) {
            (Severity::Minor, Some(plan)) => {
                let mut data = common(d, &run_id);
                let Value::Object(p) = serde_json::to_value(plan).expect("plain data") else {
                    unreachable!("a plan serializes to an object")
                };
                let mut e = base("reconciliation.correction", opts, d)
                    .with_entity("discrepancy", &d.id)
                    .with_ref("run_id", run_id.as_str());
                for (k, v) in p {
                    if k == "correction_of" {
                        e = e.with_ref("correction_of", v.clone());
                    }
                    if k == "broker_value" || k == "amount" {
                        // Decimals and statuses as strings.
                        let s = match &v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        data.insert(k, s.into());
                    } else {
                        data.insert(k, v);
                    }
                }
                if let CorrectionPlan::Fill { trade_id, .. } = plan {
                    data.insert("trade_id".into(), trade_id.clone().into());
                }
                e.data = data;
                events.push(e);
                kinds.push((0u8, d.id.clone()));
            }
            _ => {
                if reviewed.contains(&d.id) {
                    already.push(d.id.clone());
                    continue;
                }
                let mut e = base("review.requested", opts, d)
                    .with_entity("review", &review_id(&d.id))
                    .with_ref("run_id", run_id.as_str());
                if let Some(s) = d.our_seq {
                    e = e.with_ref("record_seq", s);
                }
                e.data = common(d, &run_id);
                events.push(e);
                kinds.push((1u8, d.id.clone()));
            }
        }
    }
    let minor = rec.count(Severity::Minor);
    let major = rec.count(Severity::Major);
    let corrections_n = kinds.iter().filter(|k| k.0 == 0).count();
    let reviews_n = kinds.len() - corrections_n;
    let completed = Event::new(
        "reconciliation.completed",
        opts.now,
        "reconciler",
        &opts.actor,
    )
    .with_event_id(uuid::Uuid::new_v4())
    .with_entity("reconciliation", &run_id)
    .with_data("statement", opts.statement_name.as_str())
    .with_data("statement_sha256", opts.statement_sha256.as_str())
    .with_data("format", statement.format.as_str())
    .with_data("from", rec.from)
    .with_data("to", rec.to)
    .with_data("accounts", json!(rec.accounts))
    .with_data("broker_trades", rec.broker_trades)
    .with_data("our_trades", rec.our_trades)
    .with_data("matched_by_id", rec.matched_by_id)
    .with_data("matched_by_order", rec.matched_by_order)
    .with_data("matched_by_attributes", rec.matched_by_attributes)
    .with_data("positions_compared", rec.positions_compared)
    .with_data("cash_compared", rec.cash_compared)
    .with_data("orders_compared", rec.orders_compared)
    .with_data("discrepancies", rec.discrepancies.len())
    .with_data("minor", minor)
    .with_data("major", major)
    .with_data("corrections", corrections_n)
    .with_data("reviews_requested", reviews_n)
    .with_data("already_reviewed", already.len());
    events.push(completed);
    for (i, e) in events.iter().enumerate() {
        e.validate().map_err(|errs| {
            Error::Invalid(format!(
                "event {} of the run ({}) is not valid: {errs}",
                i + 1,
                e.event_type
            ))
        })?;
    }
    let entries = events.iter().map(|e| recorder.prepare(e, None)).collect();
    let receipts = recorder.record_batch(entries)?;
    let mut corrections = Vec::new();
    let mut reviews = Vec::new();
    for ((kind, id), r) in kinds.iter().zip(&receipts) {
        if *kind == 0 {
            corrections.push((id.clone(), r.seq));
        } else {
            reviews.push((review_id(id), id.clone(), r.seq));
        }
    }
    Ok(RunOutcome {
        run_id,
        reconciliation: rec,
        corrections,
        reviews,
        already_reviewed: already,
        completed_seq: receipts.last().map_or(0, |r| r.seq),
    })
}
