//! [`Books`]: orders, fills, positions, cash and P&L derived from the journal as of an
//! instant.
//!
//! # Where each number comes from
//!
//! | what | from |
//! |---|---|
//! | order status | `order.submitted/accepted/modified/filled/rejected/cancelled/expired/recovered` (see [`crate::orders`]) |
//! | side | `data.side` of the order's `order.submitted` (or of the fill itself) |
//! | account | the fill's `account_id`, else the submission's, else `"-"` |
//! | quantity, price | `data.fill_qty`, `data.fill_price` of `order.filled` |
//! | commission | `data.commission` of `order.filled` (0 when absent), in `data.commission_currency`, else the fill's currency |
//! | currency | `data.currency` of the fill, else of the submission, else [`BooksOptions::instruments`], else [`BooksOptions::default_currency`] (`USD`) |
//! | multiplier | `data.multiplier` of the fill, else of the submission, else [`BooksOptions::instruments`], else 1 |
//! | mark price | the latest price seen at or before the instant for the instrument: fill prices, `price` of `signal.generated` / `recommendation.generated`, `mark_price` of `position.*` |
//!
//! `position.*` and `account.*` events are what other components believed; the books
//! never take them as truth (a reconciliation compares against the broker instead).
//!
//! # As of an instant
//!
//! With [`BooksOptions::at`], only records whose `ts_event` is at or before it count,
//! taken in `(ts_event, seq)` order. Reconciliation corrections are knowledge about
//! the past: a corrected fill is booked at its corrected values whenever the fill
//! itself is within the instant, whenever the correction was recorded; cash and P&L
//! adjustments count from their `effective_at`.
//!
//! # Corrections applied
//!
//! `reconciliation.correction` records (written by [`crate::reconcile`]) carry
//! `data.target`:
//! - `fill`: `data.trade_id`, `data.field` (`price`, `quantity` or `commission`) and
//!   `data.broker_value`: the fill is booked with the broker's value;
//! - `cash`: `account_id`, `data.currency`, `data.amount` added to cash;
//! - `realized_pnl`: `account_id`, `instrument_id`, `data.amount` added to realized P&L;
//! - `order_status`: `data.order_id`, `data.broker_value`: the order's status is set.
//!
//! # Overflow
//!
//! Every sum and product is checked. Validation bounds quantities and prices (10^12)
//! so that nothing can overflow, but a journal written before it may hold larger
//! values. [`Books::try_from_records`] and the readers of a journal then fail with
//! [`Error::Overflow`] naming the record; [`Books::from_records`] books what it can,
//! leaves the overflowing fill (or correction, or position) out and keeps the errors
//! in [`Books::overflows`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use rust_decimal::Decimal;
use serde::Serialize;
use tradetrail_core::DataDir;
use tradetrail_journal::ColdLines;

use crate::ledger::{add, ClosedLot, Fill, Ledger, Position};
use crate::orders::{Anomaly, AnomalyKind, Order, OrderStatus, Side};
use crate::record::{read_records, Record};
use crate::{Error, Result};

/// Defaults for an instrument whose events do not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstrumentInfo {
    /// Contract multiplier.
    pub multiplier: Decimal,
    /// Currency of its prices.
    pub currency: String,
}

/// Changes to the books that are not in the journal: what a reconciliation uses to ask
/// "what would the books say with the broker's trades?". Empty by default.
#[derive(Debug, Clone, Default)]
pub struct Adjustments {
    /// Fields of fills replaced, by trade id.
    pub fill_patches: HashMap<String, FillPatch>,
    /// Fills left out, by trade id.
    pub removed_trades: HashSet<String>,
    /// Fills added (their `seq` should be `u64::MAX`).
    pub extra_fills: Vec<Fill>,
}

/// New values for some fields of a fill.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FillPatch {
    /// Quantity.
    pub quantity: Option<Decimal>,
    /// Price.
    pub price: Option<Decimal>,
    /// Commission.
    pub commission: Option<Decimal>,
    /// Side (a reconciliation's "with the broker's side"; never from a correction
    /// record: a side difference is always for an operator).
    pub side: Option<Side>,
}

/// How to derive the books.
#[derive(Debug, Clone)]
pub struct BooksOptions {
    /// Only records with `ts_event <= at` (ns); all when `None`.
    pub at: Option<i64>,
    /// Multiplier and currency for instruments whose events do not carry them.
    pub instruments: BTreeMap<String, InstrumentInfo>,
    /// The currency when nothing says (`USD`).
    pub default_currency: String,
    /// In-memory changes (see [`Adjustments`]).
    pub adjustments: Adjustments,
}

impl Default for BooksOptions {
    fn default() -> Self {
        BooksOptions {
            at: None,
            instruments: BTreeMap::new(),
            default_currency: "USD".into(),
            adjustments: Adjustments::default(),
        }
    }
}

impl BooksOptions {
    /// As of `at` (ns since the epoch).
    pub fn at(at: i64) -> BooksOptions {
        BooksOptions {
            at: Some(at),
            ..BooksOptions::default()
        }
    }
}

/// The cash that trading moved in one account and currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CashBalance {
    /// The account.
    pub account_id: String,
    /// The currency.
    pub currency: String,
    /// Net of fills, commissions and cash adjustments.
    pub amount: Decimal,
}

/// The books: orders, fills, positions, cash, closed lots. Derived, never stored.
#[derive(Debug, Clone)]
pub struct Books {
    at: Option<i64>,
    orders: BTreeMap<String, Order>,
    anomalies: Vec<Anomaly>,
    fills: Vec<Fill>,
    positions: Vec<Position>,
    cash: BTreeMap<(String, String), Decimal>,
    closed_lots: Vec<ClosedLot>,
    marks: BTreeMap<String, Decimal>,
    corrections: Vec<u64>,
    overflows: Vec<(u64, String)>,
}

#[derive(Debug, Default)]
struct Corrections {
    fills: HashMap<String, (FillPatch, Vec<u64>)>,
    cash: Vec<(i64, String, String, Decimal, u64)>,
    realized: Vec<(i64, String, String, Decimal, u64)>,
    status: HashMap<String, (OrderStatus, u64, i64)>,
    seqs: Vec<u64>,
}

fn collect_corrections(records: &[Record]) -> Corrections {
    let mut c = Corrections::default();
    for r in records
        .iter()
        .filter(|r| r.event_type == "reconciliation.correction")
    {
        let value = r
            .data
            .get("broker_value")
            .and_then(crate::record::decimal_of);
        let effective = r
            .data
            .get("effective_at")
            .and_then(|v| v.as_i64())
            .unwrap_or(r.ts_event);
        let applied = match r.text("target") {
            Some("fill") => {
                let (Some(trade), Some(field), Some(v)) =
                    (r.text("trade_id"), r.text("field"), value)
                else {
                    continue;
                };
                let (patch, seqs) = c.fills.entry(trade.to_owned()).or_default();
                match field {
                    "price" => patch.price = Some(v),
                    "quantity" => patch.quantity = Some(v),
                    "commission" => patch.commission = Some(v),
                    _ => continue,
                }
                seqs.push(r.seq);
                true
            }
            Some("cash") => match (&r.account_id, r.text("currency"), r.decimal("amount")) {
                (Some(a), Some(cur), Some(amt)) => {
                    c.cash
                        .push((effective, a.clone(), cur.to_owned(), amt, r.seq));
                    true
                }
                _ => false,
            },
            Some("realized_pnl") => match (&r.account_id, &r.instrument_id, r.decimal("amount")) {
                (Some(a), Some(i), Some(amt)) => {
                    c.realized
                        .push((effective, a.clone(), i.clone(), amt, r.seq));
                    true
                }
                _ => false,
            },
            Some("order_status") => {
                match (
                    r.text("order_id"),
                    r.text("broker_value").and_then(OrderStatus::parse),
                ) {
                    (Some(o), Some(s)) => {
                        c.status.insert(o.to_owned(), (s, r.seq, r.ts_event));
                        true
                    }
                    _ => false,
                }
            }
            _ => false,
        };
        if applied {
            c.seqs.push(r.seq);
        }
    }
    c
}

impl Books {
    /// The books of a data directory's journal (read without a lock); `cold` as for
    /// [`read_records`].
    pub fn from_data_dir(
        dir: &DataDir,
        cold: Option<&dyn ColdLines>,
        opts: &BooksOptions,
    ) -> Result<Books> {
        Books::from_journal(&dir.journal(), cold, opts)
    }

    /// The books of a journal directory; [`Error::Overflow`] when a record's numbers
    /// are too large to compute with (see [`Books::try_from_records`]).
    pub fn from_journal(
        journal_dir: &Path,
        cold: Option<&dyn ColdLines>,
        opts: &BooksOptions,
    ) -> Result<Books> {
        let records = read_records(journal_dir, cold)?;
        Books::try_from_records(&records, opts)
    }

    /// The books of records already read (in `seq` order), or [`Error::Overflow`]
    /// naming the first record whose numbers overflow a decimal.
    pub fn try_from_records(records: &[Record], opts: &BooksOptions) -> Result<Books> {
        let books = Books::from_records(records, opts);
        match books.overflows.first() {
            Some((seq, what)) => Err(Error::overflow(*seq, what.clone())),
            None => Ok(books),
        }
    }

    /// The books of records already read (in `seq` order), as far as they can be
    /// computed: a fill, correction or position whose figures would overflow a decimal
    /// is left out and listed in [`Books::overflows`]. Use
    /// [`Books::try_from_records`] unless partial books are what you want.
    pub fn from_records(records: &[Record], opts: &BooksOptions) -> Books {
        let corr = collect_corrections(records);
        let at = opts.at.unwrap_or(i64::MAX);
        let mut steps: Vec<&Record> = records
            .iter()
            .filter(|r| r.ts_event <= at && !r.event_type.starts_with("reconciliation."))
            .collect();
        steps.sort_by_key(|r| (r.ts_event, r.seq));
        let mut extra: Vec<&Fill> = opts
            .adjustments
            .extra_fills
            .iter()
            .filter(|f| f.ts_event <= at)
            .collect();
        extra.sort_by_key(|f| f.ts_event);
        let mut extra = extra.into_iter().peekable();

        let mut b = Builder {
            opts,
            corr: &corr,
            orders: BTreeMap::new(),
            anomalies: Vec::new(),
            fills: Vec::new(),
            ledger: Ledger::default(),
            marks: BTreeMap::new(),
            overflows: Vec::new(),
        };
        for r in steps {
            while let Some(f) = extra.next_if(|f| f.ts_event < r.ts_event) {
                b.extra_fill(f);
            }
            b.step(r);
        }
        for f in extra {
            b.extra_fill(f);
        }
        for (order_id, (status, seq, ts)) in &corr.status {
            if let Some(o) = b.orders.get_mut(order_id) {
                o.set_status(*seq, (*ts).min(at), "reconciliation.correction", *status);
            }
        }
        for (eff, account, currency, amount, seq) in &corr.cash {
            if *eff <= at {
                let c = b
                    .ledger
                    .cash
                    .entry((account.clone(), currency.clone()))
                    .or_default();
                match add(*c, *amount, *seq, "cash + data.amount") {
                    Ok(v) => *c = v,
                    Err(e) => b.overflowed(e),
                }
            }
        }
        for (eff, account, instrument, amount, seq) in &corr.realized {
            if *eff <= at {
                let st = b
                    .ledger
                    .lots
                    .entry((account.clone(), instrument.clone()))
                    .or_default();
                if st.currency.is_empty() {
                    st.currency = opts.default_currency.clone();
                    st.multiplier = Decimal::ONE;
                }
                match add(st.realized, *amount, *seq, "realized P&L + data.amount") {
                    Ok(v) => st.realized = v,
                    Err(e) => b.overflowed(e),
                }
            }
        }
        let mut positions = Vec::new();
        let mut failed = Vec::new();
        for (k, st) in &b.ledger.lots {
            match b.ledger.position(k, st, b.marks.get(&k.1).copied()) {
                Ok(p) => positions.push(p),
                Err(e) => failed.push(e),
            }
        }
        for e in failed {
            b.overflowed(e);
        }
        Books {
            at: opts.at,
            orders: b.orders,
            anomalies: b.anomalies,
            fills: b.fills,
            positions,
            cash: b.ledger.cash,
            closed_lots: b.ledger.closed,
            marks: b.marks.into_iter().map(|(k, (m, _))| (k, m)).collect(),
            overflows: b.overflows,
            corrections: corr.seqs,
        }
    }

    /// What could not be computed because it overflows a decimal, as
    /// [`Error::Overflow`]s naming their records, in processing order. Empty unless a
    /// record holds numbers beyond the bounds validation now enforces.
    pub fn overflows(&self) -> Vec<Error> {
        self.overflows
            .iter()
            .map(|(seq, what)| Error::overflow(*seq, what.clone()))
            .collect()
    }

    /// The instant the books are as of (`None`: everything recorded).
    pub fn at(&self) -> Option<i64> {
        self.at
    }
    /// Every order, by id.
    pub fn orders(&self) -> &BTreeMap<String, Order> {
        &self.orders
    }
    /// One order.
    pub fn order(&self, order_id: &str) -> Option<&Order> {
        self.orders.get(order_id)
    }
    /// Impossible transitions found, in processing order.
    pub fn anomalies(&self) -> &[Anomaly] {
        &self.anomalies
    }
    /// Every fill booked, in processing order.
    pub fn fills(&self) -> &[Fill] {
        &self.fills
    }
    /// The fill with this trade id.
    pub fn fill(&self, trade_id: &str) -> Option<&Fill> {
        self.fills.iter().find(|f| f.trade_id == trade_id)
    }
    /// Every position that ever had a fill (flat ones included), by account then instrument.
    pub fn positions(&self) -> &[Position] {
        &self.positions
    }
    /// Positions with a non-zero quantity.
    pub fn open_positions(&self) -> impl Iterator<Item = &Position> {
        self.positions.iter().filter(|p| !p.quantity.is_zero())
    }
    /// One position.
    pub fn position(&self, account_id: &str, instrument_id: &str) -> Option<&Position> {
        self.positions
            .iter()
            .find(|p| p.account_id == account_id && p.instrument_id == instrument_id)
    }
    /// Cash by account and currency.
    pub fn cash(&self) -> Vec<CashBalance> {
        self.cash
            .iter()
            .map(|((a, c), v)| CashBalance {
                account_id: a.clone(),
                currency: c.clone(),
                amount: *v,
            })
            .collect()
    }
    /// Cash of one account in one currency (0 when none moved).
    pub fn cash_of(&self, account_id: &str, currency: &str) -> Decimal {
        self.cash
            .get(&(account_id.to_owned(), currency.to_owned()))
            .copied()
            .unwrap_or_default()
    }
    /// Every closed FIFO lot, in closing order.
    pub fn closed_lots(&self) -> &[ClosedLot] {
        &self.closed_lots
    }
    /// The mark price of an instrument (latest price seen at or before the instant).
    pub fn mark(&self, instrument_id: &str) -> Option<Decimal> {
        self.marks.get(instrument_id).copied()
    }
    /// Seqs of the `reconciliation.correction` records applied.
    pub fn corrections(&self) -> &[u64] {
        &self.corrections
    }
    /// Realized gross P&L by (account, currency); [`Error::Overflow`] naming the last
    /// fill of the position whose P&L makes the sum overflow.
    pub fn realized_by_currency(&self) -> Result<BTreeMap<(String, String), Decimal>> {
        let mut m = BTreeMap::new();
        for p in &self.positions {
            let v = m
                .entry((p.account_id.clone(), p.currency.clone()))
                .or_insert(Decimal::ZERO);
            *v = match v.checked_add(p.realized_pnl) {
                Some(sum) => sum,
                None => {
                    // Name the position's last closing fill (else its last open lot).
                    let seq = self
                        .closed_lots
                        .iter()
                        .rev()
                        .find(|l| {
                            l.account_id == p.account_id && l.instrument_id == p.instrument_id
                        })
                        .map(|l| l.close_seq)
                        .or_else(|| p.open_lots.last().map(|l| l.open_seq))
                        .unwrap_or(u64::MAX);
                    return Err(Error::overflow(
                        seq,
                        format!("realized P&L by currency ({v} + {})", p.realized_pnl),
                    ));
                }
            };
        }
        Ok(m)
    }
    /// Commissions by (account, commission currency); [`Error::Overflow`] naming the
    /// fill whose commission makes the sum overflow.
    pub fn commission_by_currency(&self) -> Result<BTreeMap<(String, String), Decimal>> {
        let mut m = BTreeMap::new();
        for f in &self.fills {
            let v = m
                .entry((f.account_id.clone(), f.commission_currency.clone()))
                .or_insert(Decimal::ZERO);
            *v = add(
                *v,
                f.commission,
                f.seq,
                "commission by currency + data.commission",
            )?;
        }
        Ok(m)
    }
}

struct Builder<'a> {
    opts: &'a BooksOptions,
    corr: &'a Corrections,
    orders: BTreeMap<String, Order>,
    anomalies: Vec<Anomaly>,
    fills: Vec<Fill>,
    ledger: Ledger,
    /// Mark price by instrument, with the seq of the record that gave it.
    marks: BTreeMap<String, (Decimal, u64)>,
    overflows: Vec<(u64, String)>,
}

impl Builder<'_> {
    /// Keeps an overflow (the books go on without what overflowed).
    fn overflowed(&mut self, e: Error) {
        if let Error::Overflow { seq, what } = e {
            self.overflows.push((seq, what));
        }
    }

    fn flag(&mut self, r: &Record, order_id: &str, kind: AnomalyKind, detail: String) {
        self.anomalies.push(Anomaly {
            seq: r.seq,
            ts_event: r.ts_event,
            order_id: order_id.to_owned(),
            kind,
            detail,
        });
    }

    fn mark(&mut self, r: &Record, key: &str) {
        if let (Some(i), Some(p)) = (&r.instrument_id, r.decimal(key)) {
            self.marks.insert(i.clone(), (p, r.seq));
        }
    }

    fn step(&mut self, r: &Record) {
        match r.event_type.as_str() {
            "signal.generated" | "recommendation.generated" => return self.mark(r, "price"),
            t if t.starts_with("position.") => return self.mark(r, "mark_price"),
            t if !t.starts_with("order.") => return,
            _ => {}
        }
        let Some(order_id) = r.order_id() else {
            return;
        };
        let ty = r.event_type.as_str();
        if ty == "order.submitted" {
            if self.orders.contains_key(&order_id) {
                return self.flag(
                    r,
                    &order_id,
                    AnomalyKind::DuplicateSubmit,
                    "submitted again".into(),
                );
            }
            let mut o = Order::new(&order_id, r);
            o.side = r.text("side").and_then(Side::parse);
            o.quantity = r.decimal("quantity");
            o.order_type = r.text("order_type").map(str::to_owned);
            o.limit_price = r.decimal("price");
            o.multiplier = r.decimal("multiplier");
            o.currency = r.text("currency").map(str::to_owned);
            o.submitted_at = Some(r.ts_event);
            o.set_status(r.seq, r.ts_event, ty, OrderStatus::Submitted);
            self.orders.insert(order_id, o);
            return;
        }
        if !self.orders.contains_key(&order_id) {
            if matches!(ty, "order.duplicate_prevented") {
                return;
            }
            self.flag(
                r,
                &order_id,
                AnomalyKind::UnknownOrder,
                format!("{ty} for an order never submitted"),
            );
            let mut o = Order::new(&order_id, r);
            o.side = r.text("side").and_then(Side::parse);
            o.set_status(r.seq, r.ts_event, ty, OrderStatus::Accepted);
            self.orders.insert(order_id.clone(), o);
        }
        let status = self.orders[&order_id].status;
        let terminal = |b: &mut Self, to: OrderStatus| {
            if status.is_terminal() {
                b.flag(
                    r,
                    &order_id,
                    AnomalyKind::TransitionAfterTerminal,
                    format!("{ty} after the order was {status}"),
                );
                return;
            }
            let o = b.orders.get_mut(&order_id).expect("present");
            if let Some(reason) = r.text("reason") {
                o.reason = Some(reason.to_owned());
            }
            o.set_status(r.seq, r.ts_event, ty, to);
        };
        match ty {
            "order.accepted" => {
                if status.is_terminal() {
                    terminal(self, OrderStatus::Accepted);
                } else if status == OrderStatus::Submitted {
                    let o = self.orders.get_mut(&order_id).expect("present");
                    o.accepted_at = Some(r.ts_event);
                    o.set_status(r.seq, r.ts_event, ty, OrderStatus::Accepted);
                }
            }
            "order.modified" => {
                if status.is_terminal() {
                    return self.flag(
                        r,
                        &order_id,
                        AnomalyKind::TransitionAfterTerminal,
                        format!("modified after the order was {status}"),
                    );
                }
                let o = self.orders.get_mut(&order_id).expect("present");
                if let Some(q) = r.decimal("quantity") {
                    o.quantity = Some(q);
                    if o.filled_qty >= q && !o.filled_qty.is_zero() {
                        o.set_status(r.seq, r.ts_event, ty, OrderStatus::Filled);
                    }
                }
                if let Some(p) = r.decimal("price") {
                    o.limit_price = Some(p);
                }
            }
            "order.rejected" => terminal(self, OrderStatus::Rejected),
            "order.cancelled" => terminal(self, OrderStatus::Cancelled),
            "order.expired" => terminal(self, OrderStatus::Expired),
            "order.recovered" => {
                self.orders.get_mut(&order_id).expect("present").recovered = true;
            }
            "order.filled" => self.fill(r, &order_id),
            _ => {}
        }
    }

    fn fill(&mut self, r: &Record, order_id: &str) {
        let Some(trade_id) = r.text("trade_id").map(str::to_owned) else {
            return;
        };
        if self.opts.adjustments.removed_trades.contains(&trade_id) {
            return;
        }
        let (Some(mut qty), Some(mut price)) = (r.decimal("fill_qty"), r.decimal("fill_price"))
        else {
            return;
        };
        let mut commission = r.decimal("commission").unwrap_or_default();
        let mut corrected_by = Vec::new();
        let mut side_patch = None;
        for patch in [
            self.corr
                .fills
                .get(&trade_id)
                .map(|(p, s)| (p, s.as_slice())),
            self.opts
                .adjustments
                .fill_patches
                .get(&trade_id)
                .map(|p| (p, &[][..])),
        ]
        .into_iter()
        .flatten()
        {
            qty = patch.0.quantity.unwrap_or(qty);
            price = patch.0.price.unwrap_or(price);
            commission = patch.0.commission.unwrap_or(commission);
            side_patch = patch.0.side.or(side_patch);
            corrected_by.extend_from_slice(patch.1);
        }
        let order = &self.orders[order_id];
        let side =
            side_patch.or_else(|| order.side.or_else(|| r.text("side").and_then(Side::parse)));
        let Some(side) = side else {
            return self.flag(
                r,
                order_id,
                AnomalyKind::FillWithoutSide,
                format!("fill {trade_id} has no side: not booked"),
            );
        };
        let instrument = r
            .instrument_id
            .clone()
            .or_else(|| order.instrument_id.clone())
            .unwrap_or_else(|| "-".into());
        let info = self.opts.instruments.get(&instrument);
        let currency = r
            .text("currency")
            .map(str::to_owned)
            .or_else(|| order.currency.clone())
            .or_else(|| info.map(|i| i.currency.clone()))
            .unwrap_or_else(|| self.opts.default_currency.clone());
        let multiplier = r
            .decimal("multiplier")
            .or(order.multiplier)
            .or_else(|| info.map(|i| i.multiplier))
            .unwrap_or(Decimal::ONE);
        let fill = Fill {
            seq: r.seq,
            ts_event: r.ts_event,
            account_id: r
                .account_id
                .clone()
                .or_else(|| order.account_id.clone())
                .unwrap_or_else(|| "-".into()),
            instrument_id: instrument,
            order_id: Some(order_id.to_owned()),
            trade_id,
            side,
            quantity: qty,
            price,
            commission,
            commission_currency: r
                .text("commission_currency")
                .map(str::to_owned)
                .unwrap_or_else(|| currency.clone()),
            currency,
            multiplier,
            trader_id: r.trader_id.clone().or_else(|| order.trader_id.clone()),
            strategy_id: r.strategy_id.clone().or_else(|| order.strategy_id.clone()),
            liquidity: r.text("liquidity").map(str::to_owned),
            slippage_bps: r.decimal("slippage_bps"),
            corrected_by,
        };
        let counters = match order.counters_after_fill(r.seq, qty, price, commission) {
            Ok(c) => c,
            Err(e) => return self.overflowed(e),
        };
        // The ledger first: it changes nothing when it overflows, and the order is
        // counted only once the fill is booked.
        if let Err(e) = self.book_fill(fill) {
            return self.overflowed(e);
        }
        let Some(o) = self.orders.get_mut(order_id) else {
            return;
        };
        let problems = o.apply_fill(r, qty, counters);
        for (kind, detail) in problems {
            self.flag(r, order_id, kind, detail);
        }
    }

    /// A fill from [`Adjustments::extra_fills`]: booked, and counted in its order's
    /// filled quantity (the status is left as the journal says).
    fn extra_fill(&mut self, f: &Fill) {
        let filled = match f.order_id.as_ref().and_then(|id| self.orders.get(id)) {
            Some(o) => match add(
                o.filled_qty,
                f.quantity,
                f.seq,
                "filled quantity + quantity",
            ) {
                Ok(q) => Some(q),
                Err(e) => return self.overflowed(e),
            },
            None => None,
        };
        if let Err(e) = self.book_fill(f.clone()) {
            return self.overflowed(e);
        }
        if let (Some(q), Some(o)) = (
            filled,
            f.order_id.as_ref().and_then(|id| self.orders.get_mut(id)),
        ) {
            o.filled_qty = q;
        }
    }

    /// Books a fill into the ledger (nothing changes when it overflows), then keeps it.
    fn book_fill(&mut self, f: Fill) -> Result<()> {
        self.ledger.book(&f)?;
        self.marks.insert(f.instrument_id.clone(), (f.price, f.seq));
        self.fills.push(f);
        Ok(())
    }
}
