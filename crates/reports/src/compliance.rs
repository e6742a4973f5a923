//! Compliance: per trader and strategy, what was ordered, refused, approved (and by
//! whom), overridden and changed; and every kill switch.
//!
//! Records that carry no `strategy_id` (approvals, say) take the strategy of the
//! recommendation or risk evaluation they cite. An **override** is any of:
//! - an `order.submitted` citing a `risk.evaluated` whose decision was `rejected` or
//!   `warning` (`refs.evaluation_id`);
//! - an `order.submitted` citing an approval that was refused or expired
//!   (`refs.approval_id`);
//! - any record whose `data.override` is `true`, or whose type's last part contains
//!   `override` (e.g. `custom.risk_override`).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::Value;
use tradetrail_query::Investigator;

use crate::execution::CONTEXT_NS;
use crate::record::{load, Rec};
use crate::scope::ReportFilter;
use crate::table::{Chart, Table, Tabular};
use crate::Result;

/// Counts for one trader and strategy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ComplianceRow {
    /// `trader_id` (`-` when none).
    pub trader_id: String,
    /// `strategy_id` (`-` when none, after looking through the references).
    pub strategy_id: String,
    /// `order.submitted`.
    pub orders: u64,
    /// `order.rejected`.
    pub order_rejects: u64,
    /// `order.cancelled`.
    pub cancels: u64,
    /// `risk.evaluated`.
    pub risk_evaluations: u64,
    /// `risk.rejected`.
    pub risk_rejections: u64,
    /// `approval.requested`.
    pub approvals_requested: u64,
    /// `approval.approved`.
    pub approvals_approved: u64,
    /// `approval.rejected`.
    pub approvals_rejected: u64,
    /// `approval.expired`.
    pub approvals_expired: u64,
    /// Who decided approvals (approved or rejected) and how many each.
    pub approvers: BTreeMap<String, u64>,
    /// Overrides (see the module docs).
    pub overrides: u64,
    /// `param.changed`, `config.changed`, `trading.mode_changed`.
    pub changes: u64,
    /// `trading.kill_switch`.
    pub kill_switches: u64,
}

/// One approval decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovalEntry {
    /// When (ns).
    pub ts_event: i64,
    /// Its record.
    pub seq: u64,
    /// The approval's id.
    pub approval_id: String,
    /// `approved`, `rejected` or `expired`.
    pub outcome: String,
    /// Who decided (`system` for an expiry).
    pub by: String,
    /// Attribution.
    pub trader_id: String,
    /// Attribution.
    pub strategy_id: String,
    /// Instrument.
    pub instrument_id: String,
    /// `data.reason` or `data.note`.
    pub note: String,
}

/// One override.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverrideEntry {
    /// When (ns).
    pub ts_event: i64,
    /// Its record.
    pub seq: u64,
    /// `risk_rejected`, `risk_warning`, `approval_refused` or `declared`.
    pub kind: String,
    /// Who.
    pub actor: String,
    /// Attribution.
    pub trader_id: String,
    /// Attribution.
    pub strategy_id: String,
    /// The order or entity concerned.
    pub entity_id: String,
    /// What was overridden.
    pub detail: String,
}

/// One parameter, configuration or trading-mode change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeEntry {
    /// When (ns).
    pub ts_event: i64,
    /// Its record.
    pub seq: u64,
    /// `param.changed`, `config.changed` or `trading.mode_changed`.
    pub event_type: String,
    /// Who.
    pub actor: String,
    /// Attribution (`-` for desk-wide changes).
    pub trader_id: String,
    /// Attribution.
    pub strategy_id: String,
    /// `data.name` (`trading_mode` for a mode change).
    pub name: String,
    /// The old value, as JSON text for non-strings.
    pub old_value: String,
    /// The new value.
    pub new_value: String,
    /// `data.reason`.
    pub reason: String,
}

/// One kill switch engaged or released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KillSwitchEntry {
    /// When (ns).
    pub ts_event: i64,
    /// Its record.
    pub seq: u64,
    /// Engaged (`true`) or released.
    pub engaged: bool,
    /// Who.
    pub actor: String,
    /// `data.scope`.
    pub scope: String,
    /// `data.reason`.
    pub reason: String,
    /// For a release: ns since the engagement it ends (same scope, in the range).
    pub engaged_for_ns: Option<i64>,
}

/// The compliance report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComplianceReport {
    /// What it covers.
    pub filter: ReportFilter,
    /// The range as text.
    pub range: String,
    /// Per trader and strategy.
    pub rows: Vec<ComplianceRow>,
    /// All rows added up.
    pub totals: ComplianceRow,
    /// Risk rejection reasons and counts, most frequent first.
    pub risk_rejection_reasons: Vec<(String, u64)>,
    /// Every approval decision.
    pub approvals: Vec<ApprovalEntry>,
    /// Every override.
    pub overrides: Vec<OverrideEntry>,
    /// Every change.
    pub changes: Vec<ChangeEntry>,
    /// Every kill switch.
    pub kill_switches: Vec<KillSwitchEntry>,
    /// What the reader should know.
    pub notes: Vec<String>,
}

fn value_text(v: Option<&Value>) -> String {
    match v {
        None => "-".into(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

fn dash(s: &Option<String>) -> String {
    s.clone().unwrap_or_else(|| "-".into())
}

/// Builds the compliance report from the records of `inv`.
pub fn compliance(inv: &Investigator, filter: &ReportFilter) -> Result<ComplianceReport> {
    let from_ctx = filter.from.map(|f| f.saturating_sub(CONTEXT_NS));
    let loaded = load(
        inv,
        &filter.scope,
        from_ctx,
        filter.to,
        &[
            "order.submitted",
            "order.rejected",
            "order.cancelled",
            "recommendation.generated",
            "risk.*",
            "approval.*",
            "param.changed",
            "config.changed",
            "trading.*",
            "*override*",
        ],
    )?;
    let mut r = compliance_from(&loaded.records, filter);
    r.notes
        .extend(crate::record::unreadable_note(loaded.unreadable));
    Ok(r)
}

/// The report from records already read (in `seq` order; records before
/// `filter.from` serve as context only).
pub fn compliance_from(records: &[Rec], filter: &ReportFilter) -> ComplianceReport {
    let in_range = |ts: i64| filter.contains(ts);
    // Context: strategies by recommendation/evaluation, evaluation decisions, approval outcomes.
    let mut strategy_of: HashMap<String, String> = HashMap::new();
    let mut decision_of: HashMap<String, (String, String)> = HashMap::new();
    let mut approval_outcome: HashMap<String, String> = HashMap::new();
    for r in records {
        if let (Some(s), Some(e)) = (&r.strategy_id, r.entity_id()) {
            strategy_of.entry(e.to_owned()).or_insert_with(|| s.clone());
        }
        match r.ty.as_str() {
            "risk.evaluated" => {
                if let Some(e) = r.entity_id() {
                    decision_of.insert(
                        e.to_owned(),
                        (
                            r.data_str("decision").unwrap_or_default(),
                            r.data_str("reason").unwrap_or_default(),
                        ),
                    );
                }
            }
            "approval.approved" | "approval.rejected" | "approval.expired" => {
                let id = r
                    .ref_str("approval_id")
                    .or_else(|| r.entity_id().map(str::to_owned));
                if let Some(id) = id {
                    approval_outcome.insert(id, r.ty["approval.".len()..].to_owned());
                }
            }
            _ => {}
        }
    }
    let strategy = |r: &Rec| -> String {
        r.strategy_id
            .clone()
            .or_else(|| {
                ["recommendation_id", "evaluation_id", "approval_id"]
                    .iter()
                    .find_map(|k| r.ref_str(k).and_then(|id| strategy_of.get(&id).cloned()))
            })
            .unwrap_or_else(|| "-".into())
    };

    let mut rows: BTreeMap<(String, String), ComplianceRow> = BTreeMap::new();
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    let mut approvals = Vec::new();
    let mut overrides = Vec::new();
    let mut changes = Vec::new();
    let mut kills: Vec<KillSwitchEntry> = Vec::new();
    let mut engaged_at: HashMap<String, i64> = HashMap::new();
    for r in records {
        if !in_range(r.ts_event) || r.ty == "recommendation.generated" {
            continue;
        }
        let trader = dash(&r.trader_id);
        let strat = strategy(r);
        let row = rows
            .entry((trader.clone(), strat.clone()))
            .or_insert_with(|| ComplianceRow {
                trader_id: trader.clone(),
                strategy_id: strat.clone(),
                ..ComplianceRow::default()
            });
        let declared = r.data_bool("override") == Some(true)
            || r.ty
                .rsplit('.')
                .next()
                .is_some_and(|l| l.contains("override"));
        match r.ty.as_str() {
            "order.submitted" => {
                row.orders += 1;
                let order = r.order_id().unwrap_or_default();
                let mut push = |kind: &str, detail: String| {
                    overrides.push(OverrideEntry {
                        ts_event: r.ts_event,
                        seq: r.seq,
                        kind: kind.into(),
                        actor: r.actor.clone(),
                        trader_id: trader.clone(),
                        strategy_id: strat.clone(),
                        entity_id: order.clone(),
                        detail,
                    });
                };
                if let Some(eid) = r.ref_str("evaluation_id") {
                    if let Some((d, why)) = decision_of.get(&eid) {
                        if d == "rejected" || d == "warning" {
                            let why = if why.is_empty() {
                                String::new()
                            } else {
                                format!(": {why}")
                            };
                            push(
                                if d == "rejected" {
                                    "risk_rejected"
                                } else {
                                    "risk_warning"
                                },
                                format!(
                                    "order submitted although risk evaluation {eid} said {d}{why}"
                                ),
                            );
                            row.overrides += 1;
                        }
                    }
                }
                if let Some(aid) = r.ref_str("approval_id") {
                    if let Some(o) = approval_outcome.get(&aid).filter(|o| *o != "approved") {
                        push(
                            "approval_refused",
                            format!("order submitted although approval {aid} was {o}"),
                        );
                        row.overrides += 1;
                    }
                }
            }
            "order.rejected" => row.order_rejects += 1,
            "order.cancelled" => row.cancels += 1,
            "risk.evaluated" => row.risk_evaluations += 1,
            "risk.rejected" => {
                row.risk_rejections += 1;
                *reasons
                    .entry(
                        r.data_str("reason")
                            .unwrap_or_else(|| "(no reason given)".into()),
                    )
                    .or_default() += 1;
            }
            "approval.requested" => row.approvals_requested += 1,
            "approval.approved" | "approval.rejected" | "approval.expired" => {
                let outcome = r.ty["approval.".len()..].to_owned();
                match outcome.as_str() {
                    "approved" => row.approvals_approved += 1,
                    "rejected" => row.approvals_rejected += 1,
                    _ => row.approvals_expired += 1,
                }
                if outcome != "expired" {
                    *row.approvers.entry(r.actor.clone()).or_default() += 1;
                }
                approvals.push(ApprovalEntry {
                    ts_event: r.ts_event,
                    seq: r.seq,
                    approval_id: r
                        .ref_str("approval_id")
                        .or_else(|| r.entity_id().map(str::to_owned))
                        .unwrap_or_default(),
                    outcome,
                    by: r.actor.clone(),
                    trader_id: trader.clone(),
                    strategy_id: strat.clone(),
                    instrument_id: dash(&r.instrument_id),
                    note: r
                        .data_str("reason")
                        .or_else(|| r.data_str("note"))
                        .unwrap_or_default(),
                });
            }
            "param.changed" | "config.changed" | "trading.mode_changed" => {
                row.changes += 1;
                let mode = r.ty == "trading.mode_changed";
                changes.push(ChangeEntry {
                    ts_event: r.ts_event,
                    seq: r.seq,
                    event_type: r.ty.clone(),
                    actor: r.actor.clone(),
                    trader_id: trader.clone(),
                    strategy_id: strat.clone(),
                    name: if mode {
                        "trading_mode".into()
                    } else {
                        r.data_str("name").unwrap_or_default()
                    },
                    old_value: value_text(r.data.get(if mode { "old_mode" } else { "old_value" })),
                    new_value: value_text(r.data.get(if mode { "new_mode" } else { "new_value" })),
                    reason: r.data_str("reason").unwrap_or_default(),
                });
            }
            "trading.kill_switch" => {
                row.kill_switches += 1;
                let engaged = r.data_bool("engaged").unwrap_or(false);
                let scope = r.data_str("scope").unwrap_or_else(|| "-".into());
                let engaged_for_ns = if engaged {
                    engaged_at.insert(scope.clone(), r.ts_event);
                    None
                } else {
                    engaged_at.remove(&scope).map(|t| r.ts_event - t)
                };
                kills.push(KillSwitchEntry {
                    ts_event: r.ts_event,
                    seq: r.seq,
                    engaged,
                    actor: r.actor.clone(),
                    scope,
                    reason: r.data_str("reason").unwrap_or_default(),
                    engaged_for_ns,
                });
            }
            _ => {}
        }
        if declared {
            row.overrides += 1;
            overrides.push(OverrideEntry {
                ts_event: r.ts_event,
                seq: r.seq,
                kind: "declared".into(),
                actor: r.actor.clone(),
                trader_id: trader.clone(),
                strategy_id: strat.clone(),
                entity_id: r.entity_id().unwrap_or("-").to_owned(),
                detail: format!(
                    "{}{}",
                    r.ty,
                    r.data_str("reason")
                        .map(|s| format!(": {s}"))
                        .unwrap_or_default()
                ),
            });
        }
    }
    // Rows that only held context (nothing counted) are dropped.
    let rows: Vec<ComplianceRow> = rows.into_values().filter(|r| *r != empty_like(r)).collect();
    let mut totals = ComplianceRow {
        trader_id: "all".into(),
        strategy_id: "all".into(),
        ..ComplianceRow::default()
    };
    for r in &rows {
        totals.orders += r.orders;
        totals.order_rejects += r.order_rejects;
        totals.cancels += r.cancels;
        totals.risk_evaluations += r.risk_evaluations;
        totals.risk_rejections += r.risk_rejections;
        totals.approvals_requested += r.approvals_requested;
        totals.approvals_approved += r.approvals_approved;
        totals.approvals_rejected += r.approvals_rejected;
        totals.approvals_expired += r.approvals_expired;
        for (k, v) in &r.approvers {
            *totals.approvers.entry(k.clone()).or_default() += v;
        }
        totals.overrides += r.overrides;
        totals.changes += r.changes;
        totals.kill_switches += r.kill_switches;
    }
    let mut risk_rejection_reasons: Vec<(String, u64)> = reasons.into_iter().collect();
    risk_rejection_reasons.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ComplianceReport {
        filter: filter.clone(),
        range: filter.describe(),
        rows,
        totals,
        risk_rejection_reasons,
        approvals,
        overrides,
        changes,
        kill_switches: kills,
        notes: Vec::new(),
    }
}

fn empty_like(r: &ComplianceRow) -> ComplianceRow {
    ComplianceRow {
        trader_id: r.trader_id.clone(),
        strategy_id: r.strategy_id.clone(),
        ..ComplianceRow::default()
    }
}

fn approvers_text(m: &BTreeMap<String, u64>) -> String {
    if m.is_empty() {
        return "-".into();
    }
    m.iter()
        .map(|(k, v)| format!("{k}×{v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Tabular for ComplianceReport {
    fn title(&self) -> String {
        format!("Compliance, {}", self.range)
    }

    fn tables(&self) -> Vec<Table> {
        let mut rows = Table::new(
            "by_trader_strategy",
            "By trader and strategy",
            &[
                "trader",
                "strategy",
                "orders",
                "order_rejects",
                "cancels",
                "risk_evals",
                "risk_rejections",
                "approvals_requested",
                "approved",
                "approval_rejected",
                "approval_expired",
                "approvers",
                "overrides",
                "changes",
                "kill_switches",
            ],
        );
        for r in self.rows.iter().chain(std::iter::once(&self.totals)) {
            rows.push(vec![
                r.trader_id.clone(),
                r.strategy_id.clone(),
                r.orders.to_string(),
                r.order_rejects.to_string(),
                r.cancels.to_string(),
                r.risk_evaluations.to_string(),
                r.risk_rejections.to_string(),
                r.approvals_requested.to_string(),
                r.approvals_approved.to_string(),
                r.approvals_rejected.to_string(),
                r.approvals_expired.to_string(),
                approvers_text(&r.approvers),
                r.overrides.to_string(),
                r.changes.to_string(),
                r.kill_switches.to_string(),
            ]);
        }
        let mut reasons = Table::new(
            "risk_rejection_reasons",
            "Risk rejection reasons",
            &["reason", "count"],
        );
        for (k, v) in &self.risk_rejection_reasons {
            reasons.push(vec![k.clone(), v.to_string()]);
        }
        let t = tradetrail_model::format_time;
        let mut appr = Table::new(
            "approvals",
            "Approval decisions",
            &[
                "time",
                "seq",
                "approval",
                "outcome",
                "by",
                "trader",
                "strategy",
                "instrument",
                "note",
            ],
        );
        for a in &self.approvals {
            appr.push(vec![
                t(a.ts_event),
                a.seq.to_string(),
                a.approval_id.clone(),
                a.outcome.clone(),
                a.by.clone(),
                a.trader_id.clone(),
                a.strategy_id.clone(),
                a.instrument_id.clone(),
                a.note.clone(),
            ]);
        }
        let mut ov = Table::new(
            "overrides",
            "Overrides",
            &[
                "time", "seq", "kind", "actor", "trader", "strategy", "entity", "detail",
            ],
        );
        for o in &self.overrides {
            ov.push(vec![
                t(o.ts_event),
                o.seq.to_string(),
                o.kind.clone(),
                o.actor.clone(),
                o.trader_id.clone(),
                o.strategy_id.clone(),
                o.entity_id.clone(),
                o.detail.clone(),
            ]);
        }
        let mut ch = Table::new(
            "changes",
            "Parameter, configuration and mode changes",
            &[
                "time", "seq", "type", "actor", "trader", "strategy", "name", "old", "new",
                "reason",
            ],
        );
        for c in &self.changes {
            ch.push(vec![
                t(c.ts_event),
                c.seq.to_string(),
                c.event_type.clone(),
                c.actor.clone(),
                c.trader_id.clone(),
                c.strategy_id.clone(),
                c.name.clone(),
                c.old_value.clone(),
                c.new_value.clone(),
                c.reason.clone(),
            ]);
        }
        let mut ks = Table::new(
            "kill_switches",
            "Kill switches",
            &[
                "time",
                "seq",
                "action",
                "actor",
                "scope",
                "reason",
                "engaged_for_s",
            ],
        );
        for k in &self.kill_switches {
            ks.push(vec![
                t(k.ts_event),
                k.seq.to_string(),
                if k.engaged { "engaged" } else { "released" }.into(),
                k.actor.clone(),
                k.scope.clone(),
                k.reason.clone(),
                k.engaged_for_ns
                    .map_or_else(|| "-".into(), crate::stats::secs),
            ]);
        }
        vec![rows, reasons, appr, ov, ch, ks]
    }

    fn charts(&self) -> Vec<Chart> {
        vec![Chart::Bars {
            title: "Orders per trader and strategy".into(),
            y_label: "orders".into(),
            // The group without a key (`-`/`-`: desk-wide records with no trader and
            // no strategy — changes, kill switches) has no orders of its own; it
            // is left out rather than drawn as an empty `-/-` slot (or named, if it
            // has orders after all).
            bars: self
                .rows
                .iter()
                .filter_map(|r| {
                    let keyless = r.trader_id == "-" && r.strategy_id == "-";
                    let label = if keyless {
                        if r.orders == 0 {
                            return None;
                        }
                        "no trader or strategy".to_owned()
                    } else {
                        format!("{}/{}", r.trader_id, r.strategy_id)
                    };
                    Some((label, r.orders as f64))
                })
                .collect(),
        }]
    }

    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }
}
