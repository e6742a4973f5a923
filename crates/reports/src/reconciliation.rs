//! Reconciliation: the runs, their discrepancies by severity, and the reviews opened
//! for the major ones — read from the events a reconciliation appends (see
//! `tradetrail_books::run` and docs/books.md):
//!
//! - `reconciliation.completed` (entity `reconciliation`/run id): one per run, with its counts;
//! - `reconciliation.correction` (entity `discrepancy`): a minor discrepancy, corrected;
//! - `review.requested` (entity `review`): a major discrepancy, for an operator;
//! - `review.resolved` (same entity): the operator's decision and note.
//!
//! A run, correction or review request is in the report when its `ts_event` is in the
//! range. A review is listed when it was requested or resolved in the range; its status
//! is as of the end of the range.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use tradetrail_books::review::reviews_of;
use tradetrail_books::{Record, ReviewStatus};
use tradetrail_query::{Filter, Investigator, QueryOptions};

use crate::scope::ReportFilter;
use crate::stats::secs;
use crate::table::{Chart, Table, Tabular};
use crate::Result;

/// One reconciliation run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunEntry {
    /// When (ns).
    pub ts_event: i64,
    /// Its `reconciliation.completed` record.
    pub seq: u64,
    /// The run's id.
    pub run_id: String,
    /// Who ran it.
    pub actor: String,
    /// The statement's name and format.
    pub statement: String,
    /// `flex`, `csv`, `json`.
    pub format: String,
    /// Trades on the statement.
    pub broker_trades: u64,
    /// Our trades compared.
    pub our_trades: u64,
    /// Matched by broker id, by order id, or by attributes.
    pub matched: u64,
    /// Discrepancies found.
    pub discrepancies: u64,
    /// Of which minor.
    pub minor: u64,
    /// Of which major.
    pub major: u64,
    /// Corrections appended.
    pub corrections: u64,
    /// Reviews opened.
    pub reviews_requested: u64,
}

/// One discrepancy, as its correction or review request recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiscrepancyEntry {
    /// When (ns).
    pub ts_event: i64,
    /// The record.
    pub seq: u64,
    /// The run.
    pub run_id: String,
    /// Its id.
    pub discrepancy_id: String,
    /// `minor` or `major`.
    pub severity: String,
    /// `trade`, `position`, `cash`, `order_status`, `realized_pnl`, ...
    pub category: String,
    /// The field compared.
    pub field: String,
    /// What was compared (trade id, account/instrument, ...).
    pub key: String,
    /// The broker's value.
    pub broker_value: String,
    /// Ours.
    pub our_value: String,
    /// Broker − ours, where numeric.
    pub difference: String,
    /// The part of the difference the trade breaks do not explain: what the
    /// severity was judged on (a cash change can differ by thousands because of a
    /// missing trade and still leave cents unexplained).
    pub unexplained: String,
    /// `corrected` or `review`.
    pub action: String,
}

/// Discrepancies of one severity and category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeverityCount {
    /// `minor` or `major`.
    pub severity: String,
    /// The category.
    pub category: String,
    /// How many.
    pub count: u64,
}

/// One review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewEntry {
    /// The review id.
    pub review_id: String,
    /// `open` or `resolved` (at the end of the range).
    pub status: String,
    /// When it was requested (ns).
    pub requested_at: i64,
    /// Its `review.requested` record.
    pub requested_seq: u64,
    /// The discrepancy it is about.
    pub discrepancy_id: String,
    /// Its category and field.
    pub category: String,
    /// The field.
    pub field: String,
    /// Account.
    pub account_id: String,
    /// Instrument.
    pub instrument_id: String,
    /// Who resolved it.
    pub resolved_by: Option<String>,
    /// When (ns).
    pub resolved_at: Option<i64>,
    /// Its `review.resolved` record.
    pub resolved_seq: Option<u64>,
    /// The operator's note.
    pub note: Option<String>,
    /// Time from request to resolution (ns).
    pub resolution_ns: Option<i64>,
}

/// The reconciliation report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReconciliationReport {
    /// What it covers.
    pub filter: ReportFilter,
    /// The range as text.
    pub range: String,
    /// Every run, in order.
    pub runs: Vec<RunEntry>,
    /// Discrepancies by severity and category.
    pub by_severity: Vec<SeverityCount>,
    /// Every discrepancy corrected or sent to review.
    pub discrepancies: Vec<DiscrepancyEntry>,
    /// Reviews still open at the end of the range.
    pub open_reviews: Vec<ReviewEntry>,
    /// Reviews resolved by the end of the range.
    pub resolved_reviews: Vec<ReviewEntry>,
    /// What the reader should know.
    pub notes: Vec<String>,
}

fn text(r: &Record, k: &str) -> String {
    match r.data.get(k) {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

fn count(r: &Record, k: &str) -> u64 {
    match r.data.get(k) {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

/// Builds the reconciliation report from the records of `inv`.
pub fn reconciliation(inv: &Investigator, filter: &ReportFilter) -> Result<ReconciliationReport> {
    let mut f = Filter {
        to: filter.to,
        types: vec!["reconciliation.*".into(), "review.*".into()],
        ..Filter::default()
    };
    let s = &filter.scope;
    for (list, v) in [
        (&mut f.traders, &s.trader_id),
        (&mut f.strategies, &s.strategy_id),
        (&mut f.accounts, &s.account_id),
    ] {
        if let Some(v) = v {
            list.push(v.clone());
        }
    }
    let mut records = Vec::new();
    let mut unreadable = 0u64;
    inv.query_each(&f, &QueryOptions::default(), &mut |_, line| {
        match Record::parse(line) {
            Ok(r) => {
                let ok = |want: &Option<String>, have: &Option<String>| {
                    want.as_ref().is_none_or(|w| have.as_ref() == Some(w))
                };
                if ok(&s.trader_id, &r.trader_id)
                    && ok(&s.strategy_id, &r.strategy_id)
                    && ok(&s.account_id, &r.account_id)
                {
                    records.push(r);
                }
            }
            Err(_) => unreadable += 1,
        }
        Ok(true)
    })?;
    let mut r = reconciliation_from(&records, filter);
    r.notes.extend(crate::record::unreadable_note(unreadable));
    Ok(r)
}

/// The report from `reconciliation.*` and `review.*` records already read (`seq`
/// order, everything before `filter.to`).
pub fn reconciliation_from(records: &[Record], filter: &ReportFilter) -> ReconciliationReport {
    let inside = |ts: i64| filter.contains(ts);
    let mut runs = Vec::new();
    let mut discrepancies = Vec::new();
    let mut by: BTreeMap<(String, String), u64> = BTreeMap::new();
    for r in records.iter().filter(|r| inside(r.ts_event)) {
        match r.event_type.as_str() {
            "reconciliation.completed" => runs.push(RunEntry {
                ts_event: r.ts_event,
                seq: r.seq,
                run_id: r.entity.as_ref().map(|e| e.id.clone()).unwrap_or_default(),
                actor: r.actor.clone(),
                statement: text(r, "statement"),
                format: text(r, "format"),
                broker_trades: count(r, "broker_trades"),
                our_trades: count(r, "our_trades"),
                matched: count(r, "matched_by_id")
                    + count(r, "matched_by_order")
                    + count(r, "matched_by_attributes"),
                discrepancies: count(r, "discrepancies"),
                minor: count(r, "minor"),
                major: count(r, "major"),
                corrections: count(r, "corrections"),
                reviews_requested: count(r, "reviews_requested"),
            }),
            "reconciliation.correction" | "review.requested" => {
                let severity = text(r, "severity");
                let category = text(r, "category");
                *by.entry((severity.clone(), category.clone())).or_default() += 1;
                discrepancies.push(DiscrepancyEntry {
                    ts_event: r.ts_event,
                    seq: r.seq,
                    run_id: text(r, "run_id"),
                    discrepancy_id: text(r, "discrepancy_id"),
                    severity,
                    category,
                    field: text(r, "field"),
                    key: text(r, "key"),
                    broker_value: text(r, "broker_value"),
                    our_value: text(r, "our_value"),
                    difference: text(r, "difference"),
                    unexplained: text(r, "unexplained"),
                    action: if r.event_type == "review.requested" {
                        "review"
                    } else {
                        "corrected"
                    }
                    .into(),
                });
            }
            _ => {}
        }
    }
    let mut open_reviews = Vec::new();
    let mut resolved_reviews = Vec::new();
    for v in reviews_of(records) {
        let resolved_in = v.resolved_at.is_some_and(inside);
        if !inside(v.requested_at) && !resolved_in {
            continue;
        }
        let field = |k: &str| {
            v.request
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("-")
                .to_owned()
        };
        let e = ReviewEntry {
            review_id: v.id.clone(),
            status: match v.status {
                ReviewStatus::Open => "open",
                _ => "resolved",
            }
            .into(),
            requested_at: v.requested_at,
            requested_seq: v.requested_seq,
            discrepancy_id: field("discrepancy_id"),
            category: field("category"),
            field: field("field"),
            account_id: v.account_id.clone().unwrap_or_else(|| "-".into()),
            instrument_id: v.instrument_id.clone().unwrap_or_else(|| "-".into()),
            resolved_by: v.resolved_by.clone(),
            resolved_at: v.resolved_at,
            resolved_seq: v.resolved_seq,
            note: v.note.clone(),
            resolution_ns: v.resolved_at.map(|t| t - v.requested_at),
        };
        if e.status == "open" {
            open_reviews.push(e);
        } else {
            resolved_reviews.push(e);
        }
    }
    ReconciliationReport {
        filter: filter.clone(),
        range: filter.describe(),
        runs,
        by_severity: by
            .into_iter()
            .map(|((severity, category), count)| SeverityCount {
                severity,
                category,
                count,
            })
            .collect(),
        discrepancies,
        open_reviews,
        resolved_reviews,
        notes: Vec::new(),
    }
}

fn reviews_table(name: &str, title: &str, v: &[ReviewEntry]) -> Table {
    let t = tradetrail_model::format_time;
    let mut tab = Table::new(
        name,
        title,
        &[
            "review",
            "requested",
            "seq",
            "discrepancy",
            "category",
            "field",
            "account",
            "instrument",
            "resolved_by",
            "resolved",
            "after_s",
            "note",
        ],
    );
    for r in v {
        tab.push(vec![
            r.review_id.clone(),
            t(r.requested_at),
            r.requested_seq.to_string(),
            r.discrepancy_id.clone(),
            r.category.clone(),
            r.field.clone(),
            r.account_id.clone(),
            r.instrument_id.clone(),
            r.resolved_by.clone().unwrap_or_else(|| "-".into()),
            r.resolved_at.map_or_else(|| "-".into(), t),
            r.resolution_ns.map_or_else(|| "-".into(), secs),
            r.note.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    tab
}

impl Tabular for ReconciliationReport {
    fn title(&self) -> String {
        format!("Reconciliation, {}", self.range)
    }
    fn tables(&self) -> Vec<Table> {
        let t = tradetrail_model::format_time;
        let mut runs = Table::new(
            "runs",
            "Runs",
            &[
                "time",
                "seq",
                "run",
                "actor",
                "statement",
                "format",
                "broker_trades",
                "our_trades",
                "matched",
                "discrepancies",
                "minor",
                "major",
                "corrections",
                "reviews",
            ],
        );
        for r in &self.runs {
            runs.push(vec![
                t(r.ts_event),
                r.seq.to_string(),
                r.run_id.clone(),
                r.actor.clone(),
                r.statement.clone(),
                r.format.clone(),
                r.broker_trades.to_string(),
                r.our_trades.to_string(),
                r.matched.to_string(),
                r.discrepancies.to_string(),
                r.minor.to_string(),
                r.major.to_string(),
                r.corrections.to_string(),
                r.reviews_requested.to_string(),
            ]);
        }
        let mut sev = Table::new(
            "by_severity",
            "Discrepancies by severity",
            &["severity", "category", "count"],
        );
        for s in &self.by_severity {
            sev.push(vec![
                s.severity.clone(),
                s.category.clone(),
                s.count.to_string(),
            ]);
        }
        let mut d = Table::new(
            "discrepancies",
            "Discrepancies",
            &[
                "time",
                "seq",
                "discrepancy",
                "severity",
                "category",
                "field",
                "key",
                "broker",
                "ours",
                "difference",
                "unexplained",
                "action",
            ],
        );
        for x in &self.discrepancies {
            d.push(vec![
                t(x.ts_event),
                x.seq.to_string(),
                x.discrepancy_id.clone(),
                x.severity.clone(),
                x.category.clone(),
                x.field.clone(),
                x.key.clone(),
                x.broker_value.clone(),
                x.our_value.clone(),
                x.difference.clone(),
                x.unexplained.clone(),
                x.action.clone(),
            ]);
        }
        vec![
            runs,
            sev,
            d,
            reviews_table("open_reviews", "Open reviews", &self.open_reviews),
            reviews_table(
                "resolved_reviews",
                "Resolved reviews",
                &self.resolved_reviews,
            ),
        ]
    }
    fn charts(&self) -> Vec<Chart> {
        vec![Chart::Bars {
            title: "Discrepancies by severity and category".into(),
            y_label: "discrepancies".into(),
            bars: self
                .by_severity
                .iter()
                .map(|s| (format!("{} {}", s.severity, s.category), s.count as f64))
                .collect(),
        }]
    }
    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }
}
