//! Execution quality: how well orders were worked, per venue, trader and strategy.
//!
//! An order belongs to the report when its `order.submitted` falls in the range; its
//! later events are read up to the end of the range. Formulas (see docs/reports.md):
//!
//! - side sign `s` = +1 for `buy`, −1 for `sell` and `sell_short`;
//! - slippage of a fill against a reference price `r`, in basis points:
//!   `s · (fill_price − r) / r · 10 000` — positive is a cost (bought above, sold below);
//! - the slippage of a group is the mean over its fills weighted by each fill's
//!   notional `fill_qty · fill_price`;
//! - decision price: `data.price` of the `recommendation.generated` the order cites
//!   (`refs.recommendation_id`);
//! - arrival price: `data.arrival_price` of the `order.submitted` when the producer
//!   gives one, else the price of the last fill in the same instrument strictly before
//!   the submission (among the records the report may read);
//! - fill ratio: `Σ filled qty / Σ ordered qty` (the last `order.modified` quantity
//!   counts as the ordered quantity);
//! - latencies: first `order.accepted` − `order.submitted`, and first `order.filled`
//!   − `order.submitted`, on `ts_event`; percentiles by nearest rank.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;
use serde::Serialize;
use tradetrail_query::Investigator;

use crate::error::{add, div, mul, sub};
use crate::record::{load, Rec};
use crate::scope::ReportFilter;
use crate::stats::{dec, fixed, ms, Percentiles, WeightedMean};
use crate::table::{Chart, Table, Tabular};
use crate::Result;

/// How far before the range prices are looked up (decisions and arrival trades).
pub const CONTEXT_NS: i64 = 86_400 * 1_000_000_000;

/// Execution quality of one group of orders (a venue, trader, strategy, or all).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExecutionGroup {
    /// The venue, trader or strategy (`all` for the totals).
    pub key: String,
    /// Orders submitted in the range.
    pub orders: u64,
    /// Of those, accepted by the venue.
    pub accepted: u64,
    /// Rejected.
    pub rejected: u64,
    /// Filled completely.
    pub filled: u64,
    /// Partly filled and still working at the end of the range.
    pub partially_filled: u64,
    /// Cancelled (with or without fills).
    pub cancelled: u64,
    /// Expired.
    pub expired: u64,
    /// Fills.
    pub fills: u64,
    /// Σ ordered quantity.
    pub ordered_qty: Decimal,
    /// Σ filled quantity.
    pub filled_qty: Decimal,
    /// `filled_qty / ordered_qty`, 4 places.
    pub fill_ratio: Option<Decimal>,
    /// Notional-weighted slippage against the decision price, bps, 2 places.
    pub slippage_vs_decision_bps: Option<Decimal>,
    /// Fills that had a decision price.
    pub fills_with_decision: u64,
    /// Notional-weighted slippage against the arrival price, bps, 2 places.
    pub slippage_vs_arrival_bps: Option<Decimal>,
    /// Fills that had an arrival price.
    pub fills_with_arrival: u64,
    /// Submit → accept latency.
    pub accept_latency: Percentiles,
    /// Submit → first fill latency.
    pub fill_latency: Percentiles,
}

/// How often a reason was given for a rejected order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectReason {
    /// `data.reason`.
    pub reason: String,
    /// `data.error_code`, if given.
    pub error_code: Option<String>,
    /// `data.rejection_source`, if given.
    pub rejection_source: Option<String>,
    /// Orders rejected so.
    pub count: u64,
}

/// One bin of a slippage histogram: `lo <= bps < hi`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bin {
    /// Lower edge, bps.
    pub lo: Decimal,
    /// Upper edge, bps.
    pub hi: Decimal,
    /// Fills in the bin.
    pub count: u64,
}

/// The execution quality report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecutionReport {
    /// What it covers.
    pub filter: ReportFilter,
    /// The range as text.
    pub range: String,
    /// All orders.
    pub totals: ExecutionGroup,
    /// By venue (`data.venue`, else the instrument id's suffix after its last `.`).
    pub by_venue: Vec<ExecutionGroup>,
    /// By trader.
    pub by_trader: Vec<ExecutionGroup>,
    /// By strategy.
    pub by_strategy: Vec<ExecutionGroup>,
    /// Reject reasons, most frequent first.
    pub reject_reasons: Vec<RejectReason>,
    /// Per-fill slippage against the decision price.
    pub histogram_vs_decision: Vec<Bin>,
    /// Per-fill slippage against the arrival price.
    pub histogram_vs_arrival: Vec<Bin>,
    /// What the reader should know.
    pub notes: Vec<String>,
}

#[derive(Default)]
struct Order {
    submitted_ts: i64,
    sign: Decimal,
    qty: Decimal,
    venue: Option<String>,
    instrument: String,
    trader: String,
    strategy: String,
    decision: Option<Decimal>,
    arrival: Option<Decimal>,
    accepted_ts: Option<i64>,
    first_fill_ts: Option<i64>,
    filled: Decimal,
    /// (quantity, price, seq) of each fill.
    fills: Vec<(Decimal, Decimal, u64)>,
    /// The submission's seq.
    seq: u64,
    rejected: Option<(String, Option<String>, Option<String>)>,
    cancelled: bool,
    expired: bool,
}

#[derive(Default)]
struct Acc {
    g: ExecutionGroup,
    dec: WeightedMean,
    arr: WeightedMean,
    accept: Vec<i64>,
    fill: Vec<i64>,
}

impl Acc {
    fn add(&mut self, o: &Order) -> Result<()> {
        let g = &mut self.g;
        g.orders += 1;
        if o.accepted_ts.is_some() {
            g.accepted += 1;
        }
        if o.rejected.is_some() {
            g.rejected += 1;
        } else if o.filled >= o.qty {
            g.filled += 1;
        } else if o.cancelled {
            g.cancelled += 1;
        } else if o.expired {
            g.expired += 1;
        } else if !o.filled.is_zero() {
            g.partially_filled += 1;
        }
        g.fills += o.fills.len() as u64;
        g.ordered_qty = add(
            g.ordered_qty,
            o.qty,
            o.seq,
            "ordered quantity + data.quantity",
        )?;
        let last = o.fills.last().map_or(o.seq, |f| f.2);
        g.filled_qty = add(
            g.filled_qty,
            o.filled,
            last,
            "filled quantity + data.fill_qty",
        )?;
        for &(q, p, seq) in &o.fills {
            let notional = mul(q, p, seq, "data.fill_qty × data.fill_price")?;
            if let Some(b) = bps_of(o.sign, p, o.decision, seq)? {
                self.dec.add(b, notional, seq)?;
            }
            if let Some(b) = bps_of(o.sign, p, o.arrival, seq)? {
                self.arr.add(b, notional, seq)?;
            }
        }
        if let Some(a) = o.accepted_ts {
            self.accept.push(a - o.submitted_ts);
        }
        if let Some(f) = o.first_fill_ts {
            self.fill.push(f - o.submitted_ts);
        }
        Ok(())
    }

    fn finish(self, key: String) -> ExecutionGroup {
        let mut g = self.g;
        g.key = key;
        // `None` also when the ratio is beyond a decimal (a tiny order, a huge fill).
        g.fill_ratio = g.filled_qty.checked_div(g.ordered_qty).map(|r| fixed(r, 4));
        g.slippage_vs_decision_bps = self.dec.mean(2);
        g.fills_with_decision = self.dec.count();
        g.slippage_vs_arrival_bps = self.arr.mean(2);
        g.fills_with_arrival = self.arr.count();
        g.accept_latency = Percentiles::of(self.accept);
        g.fill_latency = Percentiles::of(self.fill);
        g
    }
}

/// Slippage in bps of a fill at `p` against `reference`, signed so a cost is positive;
/// `None` without a (non-zero) reference or when the figure overflows a decimal.
pub fn bps(sign: Decimal, p: Decimal, reference: Option<Decimal>) -> Option<Decimal> {
    bps_of(sign, p, reference, u64::MAX).ok().flatten()
}

/// [`bps`] of the fill record `seq`, checked: the overflow names it.
fn bps_of(
    sign: Decimal,
    p: Decimal,
    reference: Option<Decimal>,
    seq: u64,
) -> Result<Option<Decimal>> {
    let Some(r) = reference.filter(|r| !r.is_zero()) else {
        return Ok(None);
    };
    let what = "slippage: (data.fill_price − reference price) ÷ reference × 10 000";
    let x = div(sub(p, r, seq, what)?, r, seq, what)?;
    let x = mul(x, Decimal::from(10_000), seq, what)?;
    Ok(Some(if sign.is_sign_negative() { -x } else { x }))
}

fn side_sign(side: Option<&str>) -> Decimal {
    match side {
        Some("sell" | "sell_short") => -Decimal::ONE,
        _ => Decimal::ONE,
    }
}

/// The venue of an instrument id without an explicit venue: the part after its last
/// `.` (`AAPL.XNAS` → `XNAS`).
pub fn venue_of_instrument(instrument: &str) -> Option<&str> {
    instrument
        .rsplit_once('.')
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// Builds the execution quality report from the records of `inv`.
pub fn execution(inv: &Investigator, filter: &ReportFilter) -> Result<ExecutionReport> {
    let from_ctx = filter.from.map(|f| f.saturating_sub(CONTEXT_NS));
    let loaded = load(
        inv,
        &filter.scope,
        from_ctx,
        filter.to,
        &["order.*", "recommendation.generated"],
    )?;
    let mut report = execution_from(&loaded.records, filter)?;
    report
        .notes
        .extend(crate::record::unreadable_note(loaded.unreadable));
    Ok(report)
}

/// The report from records already read (in `seq` order; records before
/// `filter.from` serve as context only).
pub fn execution_from(records: &[Rec], filter: &ReportFilter) -> Result<ExecutionReport> {
    let in_range = |ts: i64| filter.contains(ts);
    let mut decisions: HashMap<String, Decimal> = HashMap::new();
    // Every fill's (ts_event, price) per instrument, for arrival prices.
    let mut trades: HashMap<String, Vec<(i64, Decimal)>> = HashMap::new();
    for r in records {
        match r.ty.as_str() {
            "recommendation.generated" => {
                if let (Some(id), Some(p)) = (r.entity_id(), r.data_dec("price")) {
                    decisions.insert(id.to_owned(), p);
                }
            }
            "order.filled" => {
                if let (Some(i), Some(p)) = (&r.instrument_id, r.data_dec("fill_price")) {
                    trades.entry(i.clone()).or_default().push((r.ts_event, p));
                }
            }
            _ => {}
        }
    }
    for v in trades.values_mut() {
        v.sort_by_key(|t| t.0);
    }
    let mut orders: BTreeMap<String, Order> = BTreeMap::new();
    let mut order_ids: Vec<String> = Vec::new();
    let mut no_decision = 0u64;
    for r in records {
        if !r.ty.starts_with("order.") {
            continue;
        }
        let Some(id) = r.order_id() else { continue };
        if r.ty == "order.submitted" {
            if !in_range(r.ts_event) || orders.contains_key(&id) {
                continue;
            }
            let instrument = r.instrument_id.clone().unwrap_or_default();
            let arrival = r.data_dec("arrival_price").or_else(|| {
                let t = trades.get(&instrument)?;
                let i = t.partition_point(|(ts, _)| *ts < r.ts_event);
                i.checked_sub(1).map(|i| t[i].1)
            });
            let decision = r
                .ref_str("recommendation_id")
                .and_then(|rid| decisions.get(&rid).copied());
            if decision.is_none() {
                no_decision += 1;
            }
            orders.insert(
                id.clone(),
                Order {
                    submitted_ts: r.ts_event,
                    sign: side_sign(r.data_str("side").as_deref()),
                    qty: r.data_dec("quantity").unwrap_or_default(),
                    venue: r.data_str("venue"),
                    instrument,
                    trader: r.trader_id.clone().unwrap_or_else(|| "-".into()),
                    strategy: r.strategy_id.clone().unwrap_or_else(|| "-".into()),
                    decision,
                    arrival,
                    seq: r.seq,
                    ..Order::default()
                },
            );
            order_ids.push(id);
            continue;
        }
        let Some(o) = orders.get_mut(&id) else {
            continue;
        };
        if !in_range(r.ts_event) {
            continue;
        }
        if o.venue.is_none() {
            o.venue = r.data_str("venue");
        }
        match r.ty.as_str() {
            "order.accepted" => {
                o.accepted_ts.get_or_insert(r.ts_event);
            }
            "order.modified" => {
                if let Some(q) = r.data_dec("quantity") {
                    o.qty = q;
                }
            }
            "order.filled" => {
                let (Some(q), Some(p)) = (r.data_dec("fill_qty"), r.data_dec("fill_price")) else {
                    continue;
                };
                o.first_fill_ts.get_or_insert(r.ts_event);
                o.filled = add(
                    o.filled,
                    q,
                    r.seq,
                    "the order's filled quantity + data.fill_qty",
                )?;
                o.fills.push((q, p, r.seq));
            }
            "order.rejected" => {
                o.rejected = Some((
                    r.data_str("reason")
                        .unwrap_or_else(|| "(no reason given)".into()),
                    r.data_str("error_code"),
                    r.data_str("rejection_source"),
                ));
            }
            "order.cancelled" => o.cancelled = true,
            "order.expired" => o.expired = true,
            _ => {}
        }
    }

    let mut total = Acc::default();
    let mut by_venue: BTreeMap<String, Acc> = BTreeMap::new();
    let mut by_trader: BTreeMap<String, Acc> = BTreeMap::new();
    let mut by_strategy: BTreeMap<String, Acc> = BTreeMap::new();
    let mut reasons: BTreeMap<(String, Option<String>, Option<String>), u64> = BTreeMap::new();
    let mut slip_dec = Vec::new();
    let mut slip_arr = Vec::new();
    for id in &order_ids {
        let o = &orders[id];
        let venue = o
            .venue
            .clone()
            .or_else(|| venue_of_instrument(&o.instrument).map(str::to_owned))
            .unwrap_or_else(|| "unknown".into());
        total.add(o)?;
        by_venue.entry(venue).or_default().add(o)?;
        by_trader.entry(o.trader.clone()).or_default().add(o)?;
        by_strategy.entry(o.strategy.clone()).or_default().add(o)?;
        if let Some(r) = &o.rejected {
            *reasons.entry(r.clone()).or_default() += 1;
        }
        for &(_, p, seq) in &o.fills {
            slip_dec.extend(bps_of(o.sign, p, o.decision, seq)?);
            slip_arr.extend(bps_of(o.sign, p, o.arrival, seq)?);
        }
    }
    let mut reject_reasons: Vec<RejectReason> = reasons
        .into_iter()
        .map(
            |((reason, error_code, rejection_source), count)| RejectReason {
                reason,
                error_code,
                rejection_source,
                count,
            },
        )
        .collect();
    reject_reasons.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
    let finish = |m: BTreeMap<String, Acc>| -> Vec<ExecutionGroup> {
        m.into_iter().map(|(k, a)| a.finish(k)).collect()
    };
    let mut notes = Vec::new();
    if no_decision > 0 {
        notes.push(format!(
            "{no_decision} orders cite no recommendation with a price in the range or the day \
             before it: no slippage against the decision price for them"
        ));
    }
    Ok(ExecutionReport {
        filter: filter.clone(),
        range: filter.describe(),
        totals: total.finish("all".into()),
        by_venue: finish(by_venue),
        by_trader: finish(by_trader),
        by_strategy: finish(by_strategy),
        reject_reasons,
        histogram_vs_decision: histogram(&slip_dec),
        histogram_vs_arrival: histogram(&slip_arr),
        notes,
    })
}

/// Bins values into at most 40 bins of a round width (1, 2 or 5 × 10ⁿ bps) whose
/// edges are multiples of the width. No bins when a value is beyond ±10^26 bps (only
/// from records with absurd prices), where the bin edges could overflow a decimal.
pub fn histogram(values: &[Decimal]) -> Vec<Bin> {
    let (Some(min), Some(max)) = (values.iter().min(), values.iter().max()) else {
        return Vec::new();
    };
    let limit = Decimal::from_i128_with_scale(10i128.pow(26), 0);
    if min.abs() > limit || max.abs() > limit {
        return Vec::new();
    }
    let span = *max - *min;
    let mut width = Decimal::new(1, 2);
    let steps = [Decimal::from(2), Decimal::new(25, 1), Decimal::from(2)];
    let mut i = 0;
    while span / width > Decimal::from(40) {
        width *= steps[i % 3];
        i += 1;
    }
    let lo0 = (*min / width).floor() * width;
    let n = ((*max - lo0) / width)
        .floor()
        .to_string()
        .parse::<usize>()
        .unwrap_or(0)
        + 1;
    let mut bins: Vec<Bin> = (0..n)
        .map(|k| {
            let lo = lo0 + width * Decimal::from(k as u64);
            Bin {
                lo: lo.normalize(),
                hi: (lo + width).normalize(),
                count: 0,
            }
        })
        .collect();
    for v in values {
        let k = ((*v - lo0) / width)
            .floor()
            .to_string()
            .parse::<usize>()
            .unwrap_or(0);
        if let Some(b) = bins.get_mut(k.min(n - 1)) {
            b.count += 1;
        }
    }
    bins
}

fn group_table(name: &str, title: &str, key: &str, groups: &[ExecutionGroup]) -> Table {
    let mut t = Table::new(
        name,
        title,
        &[
            key,
            "orders",
            "accepted",
            "rejected",
            "filled",
            "partial",
            "cancelled",
            "expired",
            "fills",
            "fill_ratio",
            "slip_decision_bps",
            "slip_arrival_bps",
            "accept_p50_ms",
            "accept_p99_ms",
            "fill_p50_ms",
            "fill_p90_ms",
            "fill_p99_ms",
        ],
    );
    for g in groups {
        t.push(vec![
            g.key.clone(),
            g.orders.to_string(),
            g.accepted.to_string(),
            g.rejected.to_string(),
            g.filled.to_string(),
            g.partially_filled.to_string(),
            g.cancelled.to_string(),
            g.expired.to_string(),
            g.fills.to_string(),
            dec(g.fill_ratio),
            dec(g.slippage_vs_decision_bps),
            dec(g.slippage_vs_arrival_bps),
            ms(g.accept_latency.p50_ns),
            ms(g.accept_latency.p99_ns),
            ms(g.fill_latency.p50_ns),
            ms(g.fill_latency.p90_ns),
            ms(g.fill_latency.p99_ns),
        ]);
    }
    t
}

impl Tabular for ExecutionReport {
    fn title(&self) -> String {
        format!("Execution quality, {}", self.range)
    }

    fn tables(&self) -> Vec<Table> {
        let mut reasons = Table::new(
            "reject_reasons",
            "Reject reasons",
            &["reason", "error_code", "rejection_source", "orders"],
        );
        for r in &self.reject_reasons {
            reasons.push(vec![
                r.reason.clone(),
                r.error_code.clone().unwrap_or_else(|| "-".into()),
                r.rejection_source.clone().unwrap_or_else(|| "-".into()),
                r.count.to_string(),
            ]);
        }
        vec![
            group_table(
                "totals",
                "All orders",
                "group",
                std::slice::from_ref(&self.totals),
            ),
            group_table("by_venue", "By venue", "venue", &self.by_venue),
            group_table("by_trader", "By trader", "trader", &self.by_trader),
            group_table("by_strategy", "By strategy", "strategy", &self.by_strategy),
            reasons,
        ]
    }

    fn charts(&self) -> Vec<Chart> {
        let bins = |b: &[Bin]| {
            b.iter()
                .map(|b| (to_f64(b.lo), to_f64(b.hi), b.count))
                .collect()
        };
        vec![
            Chart::Histogram {
                title: "Slippage against the decision price (per fill)".into(),
                x_label: "bps (positive = cost)".into(),
                bins: bins(&self.histogram_vs_decision),
            },
            Chart::Histogram {
                title: "Slippage against the arrival price (per fill)".into(),
                x_label: "bps (positive = cost)".into(),
                bins: bins(&self.histogram_vs_arrival),
            },
        ]
    }

    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }
}

/// A decimal as `f64`, for drawing only.
pub(crate) fn to_f64(d: Decimal) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    d.to_f64().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_edges_cover_every_value() {
        let v: Vec<Decimal> = ["-3.2", "0", "0.4", "7.9", "12.5"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let b = histogram(&v);
        assert_eq!(b.iter().map(|b| b.count).sum::<u64>(), 5);
        assert!(b.len() <= 41);
        assert!(b[0].lo <= Decimal::new(-32, 1));
        assert!(b.last().unwrap().hi > Decimal::new(125, 1));
        for w in b.windows(2) {
            assert_eq!(w[0].hi, w[1].lo);
        }
        assert!(histogram(&[]).is_empty());
        let one = histogram(&[Decimal::from(3)]);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].count, 1);
    }

    #[test]
    fn bps_sign_convention() {
        let p = |s: &str| s.parse::<Decimal>().unwrap();
        // Bought at 100.10 against 100: 10 bps worse.
        assert_eq!(
            bps(Decimal::ONE, p("100.10"), Some(p("100"))),
            Some(p("10"))
        );
        // Sold at 100.10 against 100: 10 bps better.
        assert_eq!(
            bps(-Decimal::ONE, p("100.10"), Some(p("100"))),
            Some(p("-10"))
        );
        assert_eq!(bps(Decimal::ONE, p("1"), None), None);
        assert_eq!(venue_of_instrument("AAPL.XNAS"), Some("XNAS"));
        assert_eq!(venue_of_instrument("AAPL"), None);
    }
}
