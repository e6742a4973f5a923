//! Reconciliation: the books against a broker [`Statement`].
//!
//! 1. **Trades** are matched, each broker trade to at most one of our fills: first by
//!    id (the broker's trade id or execution id equals our `data.trade_id`), then by
//!    order id (the broker's order reference equals our order id; same quantity and
//!    nearest time preferred), then by attributes (account, instrument, side and
//!    quantity equal, price within `match_price_bps`, time within
//!    `match_time_seconds`; nearest time wins). Matched pairs are compared field by
//!    field (quantity, price, commission, side); unmatched trades on either side are
//!    breaks (`missing_in_books`, `missing_at_broker`). Only our fills inside the
//!    statement's period and accounts count as missing at the broker.
//! 2. The books are derived again **with the broker's trades** (matched fills at the
//!    broker's values, side included, our unmatched fills left out, the broker's unmatched trades
//!    added). What still differs from the broker after that is not explained by the
//!    trade breaks: **positions** at the end of the period, **cash** change over the
//!    period per currency, **realized P&L** per instrument over the period (when the
//!    statement gives it) and **order statuses** are compared against these adjusted
//!    books. Each discrepancy shows our own value and the broker's; the severity is
//!    decided on the unexplained part.
//! 3. **Severity** ([`Tolerances`], from `[reconciliation]` in `tradetrail.toml`): a
//!    non-zero difference at or below its `*_minor` bound is minor, above it major.
//!    Missing trades, side differences, position breaks and orders the books do not
//!    know are always major. A status where we still think the order is working and
//!    the broker says cancelled, expired or rejected is minor.
//!
//! Differences are computed saturating: one beyond a decimal's range (±7.9e28, only
//! from a journal written before validation bounded quantities and prices) shows as the
//! largest decimal and is major. The books themselves leave out what overflows
//! ([`crate::Books::overflows`]), so such a fill shows as missing in the books.
//!
//! Minor discrepancies carry a [`CorrectionPlan`] the books apply once it is recorded
//! (see [`crate::Books`]); major ones need an operator (see [`crate::review`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use rust_decimal::Decimal;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tradetrail_core::ReconciliationConfig;

use crate::books::{Adjustments, Books, BooksOptions, FillPatch};
use crate::ledger::Fill;
use crate::orders::OrderStatus;
use crate::record::Record;
use crate::statement::{Statement, StatementPosition, StatementTrade};

/// When a difference is minor or major, and how near unmatched trades must be to pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tolerances {
    /// Matched-trade price difference (price units).
    pub price_minor: Decimal,
    /// Matched-trade quantity difference.
    pub quantity_minor: Decimal,
    /// Matched-trade commission difference.
    pub commission_minor: Decimal,
    /// Unexplained cash change difference per account and currency.
    pub cash_minor: Decimal,
    /// Unexplained realized P&L difference per account and instrument.
    pub realized_pnl_minor: Decimal,
    /// Attribute matching: prices within this many bps.
    pub match_price_bps: Decimal,
    /// Attribute matching: times within this many ns.
    pub match_time_ns: i64,
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances::from(&ReconciliationConfig::default())
    }
}

impl From<&ReconciliationConfig> for Tolerances {
    fn from(c: &ReconciliationConfig) -> Self {
        Tolerances {
            price_minor: c.price_minor,
            quantity_minor: c.quantity_minor,
            commission_minor: c.commission_minor,
            cash_minor: c.cash_minor,
            realized_pnl_minor: c.realized_pnl_minor,
            match_price_bps: c.match_price_bps,
            match_time_ns: i64::try_from(c.match_time_seconds)
                .unwrap_or(i64::MAX / 1_000_000_000)
                .saturating_mul(1_000_000_000),
        }
    }
}

/// How bad a discrepancy is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Within its bound: corrected by an appended `reconciliation.correction`.
    Minor,
    /// Beyond it: an operator reviews it (`review.requested`).
    Major,
}

impl Severity {
    /// `minor` / `major`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Minor => "minor",
            Severity::Major => "major",
        }
    }
}

/// What a minor discrepancy's correction changes in the books (the `data` of its
/// `reconciliation.correction`, see [`crate::Books`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "target", rename_all = "snake_case")]
pub enum CorrectionPlan {
    /// Book the fill with the broker's value of `field`.
    Fill {
        /// Our trade id.
        trade_id: String,
        /// `price`, `quantity` or `commission`.
        field: String,
        /// The broker's value.
        broker_value: Decimal,
        /// The `order.filled` record corrected.
        correction_of: u64,
    },
    /// Add `amount` to cash.
    Cash {
        /// The currency.
        currency: String,
        /// Added to cash.
        amount: Decimal,
        /// From when (ns).
        effective_at: i64,
    },
    /// Add `amount` to the instrument's realized P&L.
    RealizedPnl {
        /// Added to realized P&L.
        amount: Decimal,
        /// From when (ns).
        effective_at: i64,
    },
    /// Set the order's status to the broker's.
    OrderStatus {
        /// The order.
        order_id: String,
        /// The broker's status.
        broker_value: OrderStatus,
    },
}

/// One difference between the books and the broker.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Discrepancy {
    /// `D-` and 12 hex digits of SHA-256 over category, field, account and key: the same
    /// break has the same id in every run, so a review is not requested twice.
    pub id: String,
    /// `trade`, `position`, `cash`, `realized_pnl` or `order`.
    pub category: &'static str,
    /// `price`, `quantity`, `commission`, `side`, `missing_in_books`,
    /// `missing_at_broker`, `change`, `status`, `filled_qty`, `amount`.
    pub field: String,
    /// The account.
    pub account_id: String,
    /// The instrument (our id when we know it).
    pub instrument_id: Option<String>,
    /// The trade id, order id or currency the discrepancy is about.
    pub key: String,
    /// The broker's value, as text.
    pub broker: Option<String>,
    /// Ours, as text (our books before any adjustment).
    pub ours: Option<String>,
    /// Broker minus ours, for numbers.
    pub difference: Option<Decimal>,
    /// The part of `difference` not explained by the trade breaks (what the severity
    /// was decided on); equal to `difference` for trade-level discrepancies.
    pub unexplained: Option<Decimal>,
    /// Minor or major.
    pub severity: Severity,
    /// Our record it is about (an `order.filled` seq), if any.
    pub our_seq: Option<u64>,
    /// Where in the statement.
    pub broker_location: Option<String>,
    /// For a minor discrepancy: what its correction does.
    pub correction: Option<CorrectionPlan>,
    /// In words.
    pub detail: String,
}

/// The result of comparing: counts and discrepancies; nothing is written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reconciliation {
    /// The period compared (ns), from the statement or the trades' span.
    pub from: i64,
    /// End of the period (inclusive).
    pub to: i64,
    /// Accounts compared.
    pub accounts: Vec<String>,
    /// Trades in the statement.
    pub broker_trades: usize,
    /// Our fills in the period and accounts.
    pub our_trades: usize,
    /// Matched by trade or execution id.
    pub matched_by_id: usize,
    /// Matched by order id.
    pub matched_by_order: usize,
    /// Matched by instrument, side, quantity, price and time.
    pub matched_by_attributes: usize,
    /// Positions, cash lines and orders compared.
    pub positions_compared: usize,
    /// Cash lines compared.
    pub cash_compared: usize,
    /// Orders compared.
    pub orders_compared: usize,
    /// Every discrepancy, trades first.
    pub discrepancies: Vec<Discrepancy>,
}

impl Reconciliation {
    /// Discrepancies of a severity.
    pub fn count(&self, s: Severity) -> usize {
        self.discrepancies
            .iter()
            .filter(|d| d.severity == s)
            .count()
    }
}

/// Whether our instrument id is the broker's symbol: equal, or equal to the part
/// before the first `.` (`AAPL.XNAS` is `AAPL`), ignoring ASCII case.
pub fn instrument_matches(ours: &str, broker: &str) -> bool {
    ours.eq_ignore_ascii_case(broker)
        || ours
            .split('.')
            .next()
            .is_some_and(|s| s.eq_ignore_ascii_case(broker))
}

fn discrepancy_id(category: &str, field: &str, account: &str, key: &str) -> String {
    let h = Sha256::digest(format!("{category}\n{field}\n{account}\n{key}").as_bytes());
    format!("D-{}", &hex::encode(h)[..12])
}

fn severity(diff: Decimal, bound: Decimal) -> Severity {
    if diff.abs() <= bound {
        Severity::Minor
    } else {
        Severity::Major
    }
}

fn describe(t: &StatementTrade) -> String {
    format!(
        "{} {} {} @ {} at {}{}",
        t.side.as_str(),
        t.quantity,
        t.instrument,
        t.price,
        tradetrail_model::format_time(t.ts),
        t.order_id
            .as_deref()
            .map(|o| format!(" (order {o})"))
            .unwrap_or_default()
    )
}

fn describe_fill(f: &Fill) -> String {
    format!(
        "{} {} {} @ {} at {}{}",
        f.side.as_str(),
        f.quantity,
        f.instrument_id,
        f.price,
        tradetrail_model::format_time(f.ts_event),
        f.order_id
            .as_deref()
            .map(|o| format!(" (order {o})"))
            .unwrap_or_default()
    )
}

struct Out {
    list: Vec<Discrepancy>,
}

impl Out {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        category: &'static str,
        field: &str,
        account: &str,
        instrument: Option<String>,
        key: &str,
        broker: Option<String>,
        ours: Option<String>,
        difference: Option<Decimal>,
        unexplained: Option<Decimal>,
        severity: Severity,
        our_seq: Option<u64>,
        broker_location: Option<String>,
        correction: Option<CorrectionPlan>,
        detail: String,
    ) {
        self.list.push(Discrepancy {
            id: discrepancy_id(category, field, account, key),
            category,
            field: field.to_owned(),
            account_id: account.to_owned(),
            instrument_id: instrument,
            key: key.to_owned(),
            broker,
            ours,
            difference,
            unexplained,
            severity,
            our_seq,
            broker_location,
            correction: if severity == Severity::Minor {
                correction
            } else {
                None
            },
            detail,
        });
    }
}

/// Compares the books of `records` with `statement`. Reads nothing else and writes
/// nothing; [`crate::run`] records the outcome.
pub fn reconcile(records: &[Record], statement: &Statement, tol: &Tolerances) -> Reconciliation {
    let span = statement.trades.iter().map(|t| t.ts);
    let from = statement
        .from
        .or_else(|| span.clone().min())
        .unwrap_or(i64::MIN);
    let to = statement.to.or_else(|| span.max()).unwrap_or(i64::MAX);
    let accounts: BTreeSet<String> = statement
        .trades
        .iter()
        .map(|t| t.account_id.clone())
        .chain(statement.positions.iter().map(|p| p.account_id.clone()))
        .chain(statement.cash.iter().map(|c| c.account_id.clone()))
        .chain(statement.orders.iter().map(|o| o.account_id.clone()))
        .collect();
    let books = Books::from_records(records, &BooksOptions::at(to));
    let in_scope = |f: &Fill| f.ts_event >= from && accounts.contains(&f.account_id);
    let ours: Vec<&Fill> = books.fills().iter().collect();
    let our_in_period = ours.iter().filter(|f| in_scope(f)).count();

    // 1. Match trades.
    let mut used: HashSet<usize> = HashSet::new();
    let mut pairs: Vec<(usize, usize)> = Vec::new(); // (broker, ours)
    let mut counts = [0usize; 3];
    let by_trade: HashMap<&str, usize> = ours
        .iter()
        .enumerate()
        .map(|(i, f)| (f.trade_id.as_str(), i))
        .collect();
    let mut unmatched: Vec<usize> = Vec::new();
    for (bi, t) in statement.trades.iter().enumerate() {
        let hit = [Some(t.trade_id.as_str()), t.exec_id.as_deref()]
            .into_iter()
            .flatten()
            .filter_map(|id| by_trade.get(id).copied())
            .find(|i| !used.contains(i));
        match hit {
            Some(i) => {
                used.insert(i);
                pairs.push((bi, i));
                counts[0] += 1;
            }
            None => unmatched.push(bi),
        }
    }
    let mut still = Vec::new();
    for bi in unmatched {
        let t = &statement.trades[bi];
        let hit = t.order_id.as_deref().and_then(|oid| {
            ours.iter()
                .enumerate()
                .filter(|(i, f)| !used.contains(i) && f.order_id.as_deref() == Some(oid))
                .min_by_key(|(_, f)| (f.quantity != t.quantity, (f.ts_event - t.ts).abs()))
                .map(|(i, _)| i)
        });
        match hit {
            Some(i) => {
                used.insert(i);
                pairs.push((bi, i));
                counts[1] += 1;
            }
            None => still.push(bi),
        }
    }
    let mut broker_only = Vec::new();
    for bi in still {
        let t = &statement.trades[bi];
        let hit = ours
            .iter()
            .enumerate()
            .filter(|(i, f)| {
                !used.contains(i)
                    && f.account_id == t.account_id
                    && instrument_matches(&f.instrument_id, &t.instrument)
                    && f.side == t.side
                    && f.quantity == t.quantity
                    && (f.ts_event - t.ts).abs() <= tol.match_time_ns
                    && !t.price.is_zero()
                    && f.price
                        .saturating_sub(t.price)
                        .abs()
                        .checked_div(t.price)
                        .and_then(|x| x.checked_mul(Decimal::from(10_000)))
                        .is_some_and(|bps| bps <= tol.match_price_bps)
            })
            .min_by_key(|(_, f)| (f.ts_event - t.ts).abs())
            .map(|(i, _)| i);
        match hit {
            Some(i) => {
                used.insert(i);
                pairs.push((bi, i));
                counts[2] += 1;
            }
            None => broker_only.push(bi),
        }
    }

    let mut out = Out { list: Vec::new() };
    let mut adj = Adjustments::default();
    pairs.sort_unstable();
    for &(bi, oi) in &pairs {
        let t = &statement.trades[bi];
        let f = ours[oi];
        let inst = Some(f.instrument_id.clone());
        let loc = Some(t.location.clone());
        let mut patch = FillPatch::default();
        if t.side != f.side {
            // The books are derived again with the broker's side, so the position,
            // cash and realized P&L it moves are explained by this one break.
            patch.side = Some(t.side);
            out.push(
                "trade",
                "side",
                &f.account_id,
                inst.clone(),
                &f.trade_id,
                Some(t.side.as_str().into()),
                Some(f.side.as_str().into()),
                None,
                None,
                Severity::Major,
                Some(f.seq),
                loc.clone(),
                None,
                format!(
                    "the broker has {} where we have {}",
                    describe(t),
                    describe_fill(f)
                ),
            );
        }
        let fields = [
            ("quantity", t.quantity, f.quantity, tol.quantity_minor),
            ("price", t.price, f.price, tol.price_minor),
            (
                "commission",
                t.commission.unwrap_or(f.commission),
                f.commission,
                tol.commission_minor,
            ),
        ];
        for (field, b, o, bound) in fields {
            if b == o || (field == "commission" && t.commission_currency != f.commission_currency) {
                continue;
            }
            match field {
                "quantity" => patch.quantity = Some(b),
                "price" => patch.price = Some(b),
                _ => patch.commission = Some(b),
            }
            let diff = b.saturating_sub(o);
            let sev = severity(diff, bound);
            out.push(
                "trade",
                field,
                &f.account_id,
                inst.clone(),
                &f.trade_id,
                Some(b.to_string()),
                Some(o.to_string()),
                Some(diff),
                Some(diff),
                sev,
                Some(f.seq),
                loc.clone(),
                Some(CorrectionPlan::Fill {
                    trade_id: f.trade_id.clone(),
                    field: field.into(),
                    broker_value: b,
                    correction_of: f.seq,
                }),
                format!(
                    "trade {} ({}): {field} {b} at the broker, {o} in the books",
                    f.trade_id,
                    describe_fill(f)
                ),
            );
        }
        if patch != FillPatch::default() {
            adj.fill_patches.insert(f.trade_id.clone(), patch);
        }
    }
    // Our instrument id for a broker symbol, per account, when we hold or traded it.
    let our_instrument = |account: &str, broker: &str| -> String {
        books
            .positions()
            .iter()
            .filter(|p| p.account_id == account)
            .map(|p| p.instrument_id.as_str())
            .chain(books.fills().iter().map(|f| f.instrument_id.as_str()))
            .find(|i| instrument_matches(i, broker))
            .unwrap_or(broker)
            .to_owned()
    };
    for &bi in &broker_only {
        let t = &statement.trades[bi];
        let inst = our_instrument(&t.account_id, &t.instrument);
        out.push(
            "trade",
            "missing_in_books",
            &t.account_id,
            Some(inst.clone()),
            &t.trade_id,
            Some(describe(t)),
            None,
            Some(t.side.sign() * t.quantity),
            Some(t.side.sign() * t.quantity),
            Severity::Major,
            None,
            Some(t.location.clone()),
            None,
            format!(
                "the broker reports trade {} that the books do not have: {}",
                t.trade_id,
                describe(t)
            ),
        );
        adj.extra_fills.push(Fill {
            seq: u64::MAX,
            ts_event: t.ts,
            account_id: t.account_id.clone(),
            instrument_id: inst,
            order_id: t.order_id.clone(),
            trade_id: t.trade_id.clone(),
            side: t.side,
            quantity: t.quantity,
            price: t.price,
            commission: t.commission.unwrap_or_default(),
            commission_currency: t.commission_currency.clone(),
            currency: t.currency.clone(),
            multiplier: t.multiplier,
            trader_id: None,
            strategy_id: None,
            liquidity: None,
            slippage_bps: None,
            corrected_by: Vec::new(),
        });
    }
    for (oi, f) in ours.iter().enumerate() {
        if used.contains(&oi) || !in_scope(f) {
            continue;
        }
        out.push(
            "trade",
            "missing_at_broker",
            &f.account_id,
            Some(f.instrument_id.clone()),
            &f.trade_id,
            None,
            Some(describe_fill(f)),
            Some(-f.signed_quantity()),
            Some(-f.signed_quantity()),
            Severity::Major,
            Some(f.seq),
            None,
            None,
            format!(
                "the books have trade {} that the broker does not report: {}",
                f.trade_id,
                describe_fill(f)
            ),
        );
        adj.removed_trades.insert(f.trade_id.clone());
    }

    // 2. The books with the broker's trades.
    let adjusted_opts = BooksOptions {
        at: Some(to),
        adjustments: adj.clone(),
        ..BooksOptions::default()
    };
    let adjusted = Books::from_records(records, &adjusted_opts);
    let before = |adj: &Adjustments| {
        Books::from_records(
            records,
            &BooksOptions {
                at: Some(from.saturating_sub(1)),
                adjustments: adj.clone(),
                ..BooksOptions::default()
            },
        )
    };
    let (raw_before, adj_before) = (before(&Adjustments::default()), before(&adj));

    // Positions.
    let mut positions_compared = 0;
    if !statement.positions.is_empty() {
        let mut keys: BTreeMap<(String, String), Option<&StatementPosition>> = BTreeMap::new();
        for p in &statement.positions {
            let inst = our_instrument(&p.account_id, &p.instrument);
            keys.insert((p.account_id.clone(), inst), Some(p));
        }
        for p in adjusted.positions().iter().chain(books.positions()) {
            if accounts.contains(&p.account_id) && !p.quantity.is_zero() {
                keys.entry((p.account_id.clone(), p.instrument_id.clone()))
                    .or_insert(None);
            }
        }
        for ((account, inst), bp) in keys {
            positions_compared += 1;
            let broker_q = bp.map_or(Decimal::ZERO, |p| p.quantity);
            let ours_q = books
                .position(&account, &inst)
                .map_or(Decimal::ZERO, |p| p.quantity);
            let adj_q = adjusted
                .position(&account, &inst)
                .map_or(Decimal::ZERO, |p| p.quantity);
            let unexplained = broker_q.saturating_sub(adj_q);
            if unexplained.is_zero() {
                continue;
            }
            out.push(
                "position", "quantity", &account, Some(inst.clone()), &inst,
                Some(broker_q.to_string()), Some(ours_q.to_string()), Some(broker_q.saturating_sub(ours_q)), Some(unexplained),
                Severity::Major, None, bp.map(|p| p.location.clone()), None,
                format!("position in {inst}: {broker_q} at the broker, {ours_q} in the books; {unexplained} not explained by the trade breaks"),
            );
        }
    }

    // Cash.
    let mut cash_compared = 0;
    for c in &statement.cash {
        cash_compared += 1;
        let change = |after: &Books, before: &Books| {
            after
                .cash_of(&c.account_id, &c.currency)
                .saturating_sub(before.cash_of(&c.account_id, &c.currency))
        };
        let ours_change = change(&books, &raw_before);
        let adj_change = change(&adjusted, &adj_before);
        let unexplained = c.change.saturating_sub(adj_change);
        if unexplained.is_zero() {
            continue;
        }
        let key = format!("{}:{}", c.account_id, c.currency);
        out.push(
            "cash", "change", &c.account_id, None, &key,
            Some(c.change.to_string()), Some(ours_change.to_string()), Some(c.change.saturating_sub(ours_change)), Some(unexplained),
            severity(unexplained, tol.cash_minor), None, Some(c.location.clone()),
            Some(CorrectionPlan::Cash { currency: c.currency.clone(), amount: unexplained, effective_at: to }),
            format!("cash change in {}: {} at the broker, {ours_change} in the books; {unexplained} not explained by the trade breaks", c.currency, c.change),
        );
    }

    // Realized P&L, where the broker gives it per trade.
    let mut broker_pnl: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for t in statement.trades.iter().filter(|t| t.realized_pnl.is_some()) {
        let inst = our_instrument(&t.account_id, &t.instrument);
        let v = broker_pnl.entry((t.account_id.clone(), inst)).or_default();
        *v = v.saturating_add(t.realized_pnl.unwrap_or_default());
    }
    let realized_in = |b: &Books, before: &Books, account: &str, inst: &str| {
        let r = |x: &Books| {
            x.position(account, inst)
                .map_or(Decimal::ZERO, |p| p.realized_pnl)
        };
        r(b).saturating_sub(r(before))
    };
    for ((account, inst), bv) in &broker_pnl {
        let ours_v = realized_in(&books, &raw_before, account, inst);
        let adj_v = realized_in(&adjusted, &adj_before, account, inst);
        let unexplained = bv.saturating_sub(adj_v);
        if unexplained.is_zero() {
            continue;
        }
        out.push(
            "realized_pnl", "amount", account, Some(inst.clone()), inst,
            Some(bv.to_string()), Some(ours_v.to_string()), Some(bv.saturating_sub(ours_v)), Some(unexplained),
            severity(unexplained, tol.realized_pnl_minor), None, None,
            Some(CorrectionPlan::RealizedPnl { amount: unexplained, effective_at: to }),
            format!("realized P&L of {inst}: {bv} at the broker, {ours_v} in the books; {unexplained} not explained by the trade breaks"),
        );
    }

    // Order statuses.
    let mut orders_compared = 0;
    for o in &statement.orders {
        orders_compared += 1;
        let loc = Some(o.location.clone());
        let Some(ours_o) = books.order(&o.order_id) else {
            out.push(
                "order",
                "missing_in_books",
                &o.account_id,
                None,
                &o.order_id,
                Some(o.status.to_string()),
                None,
                None,
                None,
                Severity::Major,
                None,
                loc,
                None,
                format!(
                    "the broker reports order {} ({}) that the books do not have",
                    o.order_id, o.status
                ),
            );
            continue;
        };
        let inst = ours_o.instrument_id.clone();
        if ours_o.status != o.status {
            let minor = !ours_o.status.is_terminal()
                && matches!(
                    o.status,
                    OrderStatus::Cancelled | OrderStatus::Expired | OrderStatus::Rejected
                );
            out.push(
                "order",
                "status",
                &o.account_id,
                inst.clone(),
                &o.order_id,
                Some(o.status.to_string()),
                Some(ours_o.status.to_string()),
                None,
                None,
                if minor {
                    Severity::Minor
                } else {
                    Severity::Major
                },
                ours_o.history.last().map(|h| h.seq),
                loc.clone(),
                Some(CorrectionPlan::OrderStatus {
                    order_id: o.order_id.clone(),
                    broker_value: o.status,
                }),
                format!(
                    "order {}: {} at the broker, {} in the books",
                    o.order_id, o.status, ours_o.status
                ),
            );
        }
        if let Some(bq) = o.filled_qty {
            let adj_q = adjusted
                .order(&o.order_id)
                .map_or(Decimal::ZERO, |x| x.filled_qty);
            if bq != adj_q {
                out.push(
                    "order",
                    "filled_qty",
                    &o.account_id,
                    inst,
                    &o.order_id,
                    Some(bq.to_string()),
                    Some(ours_o.filled_qty.to_string()),
                    Some(bq.saturating_sub(ours_o.filled_qty)),
                    Some(bq.saturating_sub(adj_q)),
                    Severity::Major,
                    None,
                    loc,
                    None,
                    format!(
                        "order {}: filled {bq} at the broker, {} in the books",
                        o.order_id, ours_o.filled_qty
                    ),
                );
            }
        }
    }

    Reconciliation {
        from,
        to,
        accounts: accounts.into_iter().collect(),
        broker_trades: statement.trades.len(),
        our_trades: our_in_period,
        matched_by_id: counts[0],
        matched_by_order: counts[1],
        matched_by_attributes: counts[2],
        positions_compared,
        cash_compared,
        orders_compared,
        discrepancies: out.list,
    }
}
