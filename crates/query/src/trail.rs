//! Trails: the decision chain around one id, and what is missing from its story.
//!
//! # The rule
//!
//! Start with the set S = {id}. Repeatedly: every record whose `entity.id` is in S,
//! or whose `refs` name an id in S, is in the trail. Ids join S only from records
//! whose entity kind is a *decision-chain kind* — `signal`, `recommendation`,
//! `evaluation`, `approval`, `order` — namely their `entity.id` and every id in their
//! `refs`. Records of any other kind (a position, an account, a desk, a strategy's
//! parameters) are leaves: they are in the trail when they cite an id of the chain,
//! but what they name is not followed, because those ids are shared by many chains
//! (`P-<account>-<instrument>` is updated by every fill on that instrument). As a
//! last guard, an id reached through the chain that is named by more than
//! [`FANOUT_LIMIT`] records is not followed either, and the trail says so.
//! Finally, records that correct a record of the trail (`refs.correction_of` = its
//! `seq`) are added, and so on for corrections of corrections.
//!
//! So from an order: its own events (submitted, accepted, fills, cancel), the
//! positions its fills moved, its recommendation and signal, the risk evaluation and
//! approval it cites, and their own events (the evaluation's `risk.rejected`, the
//! approval's request and decision). From a recommendation or a signal: the same
//! chain, including every order the recommendation led to.
//!
//! Records are found through the index's id postings and then read from the journal
//! and checked to name the id; the trail is in `seq` order.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;

use crate::engine::Record;
use crate::envelope;
use crate::hash::{correction_key, id_key};
use crate::index::Index;
use crate::scan::locs_of;
use crate::source::{read_lines, Source};
use crate::Result;

/// Entity kinds whose ids and refs are followed.
pub const CHAIN_KINDS: &[&str] = &[
    "signal",
    "recommendation",
    "evaluation",
    "approval",
    "order",
];

/// An id named by more records than this is not followed (unless it is the start).
pub const FANOUT_LIMIT: usize = 10_000;

/// The decision chain around an id.
#[derive(Debug, Clone, Serialize)]
pub struct Trail {
    /// The id asked for.
    pub id: String,
    /// The records, in `seq` order.
    pub records: Vec<Record>,
    /// What looks wrong in the story, in `seq` order.
    pub gaps: Vec<Gap>,
    /// Ids that were not followed, and why.
    pub notes: Vec<String>,
}

/// Something missing or out of order in a trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// The record where it shows.
    pub seq: u64,
    /// What sort of gap.
    pub kind: GapKind,
    /// In words, with the ids and seqs involved.
    pub message: String,
}

/// The sorts of gaps a trail flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GapKind {
    /// A fill after the order was cancelled, rejected or expired.
    FillAfterEnd,
    /// Fills add up to more than the order's quantity.
    Overfill,
    /// A fill of an order whose submission is not in the trail.
    FillWithoutOrder,
    /// An order that cites no risk evaluation, or one not in the journal.
    NoRiskEvaluation,
    /// An order whose risk evaluation rejected it.
    RiskRejected,
    /// An order on an approval that was not granted (rejected, expired, or never
    /// decided before the order).
    NotApproved,
    /// An order on a recommendation that was suppressed.
    Suppressed,
    /// Fills whose quantities add up to more than a decimal holds (±7.9e28): only in a
    /// journal written before validation bounded quantities (10^12). The fills are
    /// still listed; their sum, and so the overfill check, stops at this record.
    Overflow,
}

/// Builds the trail of `id`.
pub(crate) fn trail(ix: &Index, src: &Source, id: &str) -> Result<Trail> {
    let mut ids: HashSet<String> = HashSet::from([id.to_owned()]);
    let mut queue: VecDeque<String> = VecDeque::from([id.to_owned()]);
    let mut found: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    let mut notes = Vec::new();
    let rows = ix.rows();
    while let Some(x) = queue.pop_front() {
        let mut seqs: Vec<u64> = ix
            .postings(id_key(&x))?
            .into_iter()
            .map(|v| v >> 1)
            .filter(|&s| s < rows)
            .collect();
        seqs.sort_unstable();
        seqs.dedup();
        if x != id && seqs.len() > FANOUT_LIMIT {
            notes.push(format!(
                "{x} is named by {} records; it is shared, so it was not followed",
                seqs.len()
            ));
            continue;
        }
        seqs.retain(|s| !found.contains_key(s));
        let locs = locs_of(ix, &seqs)?;
        read_lines(src, &ix.segs, &locs, &mut |seq, line| {
            let Some(env) = envelope::parse(line) else {
                return Ok(true);
            };
            let names_x = env.view.entity_id.as_deref() == Some(x.as_str())
                || env.refs.iter().any(|r| r.value == x);
            if !names_x {
                // Another id with the same key.
                return Ok(true);
            }
            let chain = env
                .view
                .entity_kind
                .as_deref()
                .is_some_and(|k| CHAIN_KINDS.contains(&k));
            if chain {
                for next in env
                    .view
                    .entity_id
                    .iter()
                    .chain(env.refs.iter().map(|r| &r.value))
                {
                    if !ids.contains(next.as_ref()) {
                        ids.insert(next.to_string());
                        queue.push_back(next.to_string());
                    }
                }
            }
            found.insert(seq, line.to_vec());
            Ok(true)
        })?;
    }
    // Corrections of anything in the trail, transitively.
    let mut pending: Vec<u64> = found.keys().copied().collect();
    while let Some(target) = pending.pop() {
        let mut seqs: Vec<u64> = ix
            .postings(correction_key(target))?
            .into_iter()
            .map(|v| v >> 1)
            .filter(|s| *s < rows && !found.contains_key(s))
            .collect();
        seqs.sort_unstable();
        seqs.dedup();
        let locs = locs_of(ix, &seqs)?;
        read_lines(src, &ix.segs, &locs, &mut |seq, line| {
            if envelope::parse(line).and_then(|e| e.correction_of) == Some(target) {
                found.insert(seq, line.to_vec());
                pending.push(seq);
            }
            Ok(true)
        })?;
    }
    let records: Vec<Record> = found
        .into_iter()
        .map(|(seq, line)| Record { seq, line })
        .collect();
    let gaps = find_gaps(&records);
    Ok(Trail {
        id: id.to_owned(),
        records,
        gaps,
        notes,
    })
}

#[derive(Default)]
struct OrderState {
    submitted: Option<u64>,
    quantity: Option<Decimal>,
    filled: Decimal,
    /// The sum of the fills overflowed a decimal: fills are no longer summed.
    overflowed: bool,
    overfill_flagged: bool,
    ended: Option<(u64, String)>,
}

fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    cur.as_str()
}

fn decimal(v: &Value, path: &[&str]) -> Option<Decimal> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    match cur {
        Value::String(s) => tradetrail_model::parse_decimal(s).ok(),
        Value::Number(n) => tradetrail_model::parse_decimal(&n.to_string()).ok(),
        _ => None,
    }
}

/// Looks for what is missing or out of order (records in `seq` order).
pub(crate) fn find_gaps(records: &[Record]) -> Vec<Gap> {
    let parsed: Vec<(u64, Value)> = records
        .iter()
        .filter_map(|r| serde_json::from_slice(&r.line).ok().map(|v| (r.seq, v)))
        .collect();
    // What the whole trail holds, for checks that look both ways.
    let mut evaluations: HashMap<&str, (u64, bool)> = HashMap::new(); // id -> (seq, rejected)
    let mut approvals: HashMap<&str, Vec<(u64, &str)>> = HashMap::new(); // id -> decisions
    let mut suppressed: HashMap<&str, u64> = HashMap::new(); // recommendation -> seq
    for (seq, v) in &parsed {
        let ty = text(v, &["type"]).unwrap_or("");
        let ent = text(v, &["entity", "id"]);
        match ty {
            "risk.evaluated" => {
                if let Some(e) = ent {
                    let rejected = text(v, &["data", "decision"]) == Some("rejected");
                    let entry = evaluations.entry(e).or_insert((*seq, false));
                    entry.1 |= rejected;
                }
            }
            "risk.rejected" => {
                let e = ent.or_else(|| text(v, &["refs", "evaluation_id"]));
                if let Some(e) = e {
                    evaluations.entry(e).or_insert((*seq, true)).1 = true;
                }
            }
            "approval.approved" | "approval.rejected" | "approval.expired" => {
                if let Some(a) = ent.or_else(|| text(v, &["refs", "approval_id"])) {
                    approvals.entry(a).or_default().push((*seq, ty));
                }
            }
            "recommendation.suppressed" => {
                if let Some(r) = ent.or_else(|| text(v, &["refs", "recommendation_id"])) {
                    suppressed.insert(r, *seq);
                }
            }
            _ => {}
        }
    }
    let mut gaps = Vec::new();
    let mut orders: HashMap<&str, OrderState> = HashMap::new();
    for (seq, v) in &parsed {
        let ty = text(v, &["type"]).unwrap_or("");
        if !ty.starts_with("order.") {
            continue;
        }
        let Some(order) = text(v, &["entity", "id"]) else {
            continue;
        };
        let st = orders.entry(order).or_default();
        match ty {
            "order.submitted" => {
                st.submitted = Some(*seq);
                st.quantity = decimal(v, &["data", "quantity"]);
                match text(v, &["refs", "evaluation_id"]) {
                    None => gaps.push(Gap {
                        seq: *seq,
                        kind: GapKind::NoRiskEvaluation,
                        message: format!("order {order} cites no risk evaluation"),
                    }),
                    Some(e) => match evaluations.get(e) {
                        None => gaps.push(Gap {
                            seq: *seq,
                            kind: GapKind::NoRiskEvaluation,
                            message: format!(
                                "order {order} cites risk evaluation {e}, which is not in the journal"
                            ),
                        }),
                        Some((eseq, true)) => gaps.push(Gap {
                            seq: *seq,
                            kind: GapKind::RiskRejected,
                            message: format!(
                                "order {order} was submitted although risk evaluation {e} rejected it (seq {eseq})"
                            ),
                        }),
                        Some(_) => {}
                    },
                }
                if let Some(a) = text(v, &["refs", "approval_id"]) {
                    let decisions = approvals.get(a).map(Vec::as_slice).unwrap_or(&[]);
                    let before: Vec<&(u64, &str)> =
                        decisions.iter().filter(|(s, _)| s < seq).collect();
                    let approved = before.iter().any(|(_, t)| *t == "approval.approved");
                    if !approved {
                        let why = match before.last() {
                            Some((s, t)) => {
                                format!("which was {} (seq {s})", t.trim_start_matches("approval."))
                            }
                            None => "which had not been approved".to_string(),
                        };
                        gaps.push(Gap {
                            seq: *seq,
                            kind: GapKind::NotApproved,
                            message: format!("order {order} was submitted on approval {a}, {why}"),
                        });
                    }
                }
                if let Some(r) = text(v, &["refs", "recommendation_id"]) {
                    if let Some(s) = suppressed.get(r).filter(|s| *s < seq) {
                        gaps.push(Gap {
                            seq: *seq,
                            kind: GapKind::Suppressed,
                            message: format!(
                                "order {order} was submitted on recommendation {r}, which was suppressed (seq {s})"
                            ),
                        });
                    }
                }
            }
            "order.modified" => {
                if let Some(q) = decimal(v, &["data", "quantity"]) {
                    st.quantity = Some(q);
                }
            }
            "order.filled" => {
                let qty = decimal(v, &["data", "fill_qty"]).unwrap_or_default();
                if st.submitted.is_none() {
                    gaps.push(Gap {
                        seq: *seq,
                        kind: GapKind::FillWithoutOrder,
                        message: format!(
                            "fill of {qty} on order {order}, whose submission is not in the journal"
                        ),
                    });
                }
                if let Some((eseq, how)) = &st.ended {
                    gaps.push(Gap {
                        seq: *seq,
                        kind: GapKind::FillAfterEnd,
                        message: format!(
                            "fill of {qty} on order {order} after it was {how} (seq {eseq})"
                        ),
                    });
                }
                if st.overflowed {
                    continue;
                }
                let before = st.filled;
                let Some(filled) = before.checked_add(qty) else {
                    st.overflowed = true;
                    gaps.push(Gap {
                        seq: *seq,
                        kind: GapKind::Overflow,
                        message: format!(
                            "fill of {qty} on order {order}: its fills add up to more than a \
                             decimal holds (±7.9e28; {before} + {qty}), quantities recorded \
                             before validation bounded them to 10^12; fills are not summed past it"
                        ),
                    });
                    continue;
                };
                st.filled = filled;
                if let Some(q) = st.quantity {
                    if filled > q && !st.overfill_flagged {
                        st.overfill_flagged = true;
                        gaps.push(Gap {
                            seq: *seq,
                            kind: GapKind::Overfill,
                            message: format!(
                                "fills on order {order} add up to {filled}, more than its quantity {q}"
                            ),
                        });
                    }
                }
            }
            "order.cancelled" | "order.rejected" | "order.expired" if st.ended.is_none() => {
                st.ended = Some((*seq, ty.trim_start_matches("order.").to_string()));
            }
            _ => {}
        }
    }
    gaps.sort_by_key(|g| g.seq);
    gaps
}
