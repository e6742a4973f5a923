//! The order state machine: one [`Order`] per order id, moved by its `order.*` events.
//!
//! ```text
//! submitted ──► accepted ──► partially_filled ──► filled
//!     │             │               │
//!     └─► rejected  ├─► cancelled ◄─┘ (also from submitted)
//!                   └─► expired  ◄──  (also from partially_filled)
//! ```
//! `filled`, `cancelled`, `rejected` and `expired` are terminal. What cannot happen is
//! flagged as an [`Anomaly`] and the event is still counted where money moved: a fill
//! after a cancel still changes the position (the broker executed it), but the order
//! stays `cancelled` and the anomaly names the record.

use rust_decimal::Decimal;
use serde::Serialize;

use crate::record::Record;

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Sent, not yet acknowledged by the venue.
    Submitted,
    /// Working at the venue, nothing filled.
    Accepted,
    /// Some quantity filled, some still working.
    PartiallyFilled,
    /// All of the quantity filled (terminal).
    Filled,
    /// Cancelled, possibly after partial fills (terminal).
    Cancelled,
    /// Refused by the venue, broker or risk (terminal).
    Rejected,
    /// Its time in force ran out (terminal).
    Expired,
}

impl OrderStatus {
    /// Whether nothing more should happen to the order.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            OrderStatus::Filled
                | OrderStatus::Cancelled
                | OrderStatus::Rejected
                | OrderStatus::Expired
        )
    }

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Submitted => "submitted",
            OrderStatus::Accepted => "accepted",
            OrderStatus::PartiallyFilled => "partially_filled",
            OrderStatus::Filled => "filled",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Rejected => "rejected",
            OrderStatus::Expired => "expired",
        }
    }

    /// Parses a status as brokers write it: the names above, ignoring case, plus
    /// `canceled`, `new`/`working`/`open` (accepted), `partial`/`partially filled`,
    /// `pending_new`/`pending` (submitted), `done`/`executed` (filled).
    pub fn parse(s: &str) -> Option<OrderStatus> {
        let s = s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        Some(match s.as_str() {
            "submitted" | "pending" | "pending_new" | "presubmitted" => OrderStatus::Submitted,
            "accepted" | "new" | "working" | "open" => OrderStatus::Accepted,
            "partially_filled" | "partial" | "partiallyfilled" => OrderStatus::PartiallyFilled,
            "filled" | "done" | "executed" => OrderStatus::Filled,
            "cancelled" | "canceled" => OrderStatus::Cancelled,
            "rejected" | "inactive" => OrderStatus::Rejected,
            "expired" => OrderStatus::Expired,
            _ => return None,
        })
    }
}

impl std::fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Buy or sell. `sell_short` is a sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Adds to a long position (or covers a short).
    Buy,
    /// Reduces a long position (or opens or adds to a short).
    Sell,
}

impl Side {
    /// `+1` for buys, `-1` for sells.
    pub fn sign(self) -> Decimal {
        match self {
            Side::Buy => Decimal::ONE,
            Side::Sell => Decimal::NEGATIVE_ONE,
        }
    }

    /// `buy` / `sell`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }

    /// `buy`, `b`, `bot`; `sell`, `s`, `sld`, `sell_short`, `ss` (ignoring case).
    pub fn parse(s: &str) -> Option<Side> {
        match s.trim().to_ascii_lowercase().as_str() {
            "buy" | "b" | "bot" | "bought" => Some(Side::Buy),
            "sell" | "s" | "sld" | "sold" | "sell_short" | "ss" | "short" => Some(Side::Sell),
            _ => None,
        }
    }
}

/// One step of an order's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition {
    /// The record that moved it (a correction's seq when a reconciliation set it).
    pub seq: u64,
    /// When.
    pub ts_event: i64,
    /// The event type.
    pub event_type: String,
    /// The status before (`None` for the submission).
    pub from: Option<OrderStatus>,
    /// The status after.
    pub to: OrderStatus,
}

/// What cannot happen to an order, found in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    /// A fill after the order was cancelled, rejected or expired.
    FillAfterTerminal,
    /// A fill before the venue accepted the order.
    FillWithoutAcceptance,
    /// More filled than the order's quantity.
    Overfill,
    /// An event for an order id never submitted.
    UnknownOrder,
    /// A status change after a terminal status (e.g. cancelled after filled).
    TransitionAfterTerminal,
    /// A second `order.submitted` for the same order id.
    DuplicateSubmit,
    /// A fill whose `cum_qty` is not the sum of the fills recorded.
    CumQtyMismatch,
    /// A fill whose side is unknown (no submission and no `data.side`): not booked.
    FillWithoutSide,
}

impl AnomalyKind {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyKind::FillAfterTerminal => "fill_after_terminal",
            AnomalyKind::FillWithoutAcceptance => "fill_without_acceptance",
            AnomalyKind::Overfill => "overfill",
            AnomalyKind::UnknownOrder => "unknown_order",
            AnomalyKind::TransitionAfterTerminal => "transition_after_terminal",
            AnomalyKind::DuplicateSubmit => "duplicate_submit",
            AnomalyKind::CumQtyMismatch => "cum_qty_mismatch",
            AnomalyKind::FillWithoutSide => "fill_without_side",
        }
    }
}

/// An impossible transition, with the record that attempted it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    /// The offending record.
    pub seq: u64,
    /// Its `ts_event`.
    pub ts_event: i64,
    /// The order.
    pub order_id: String,
    /// What is wrong.
    pub kind: AnomalyKind,
    /// In words, with the numbers.
    pub detail: String,
}

/// An order's counters after one more fill (see [`Order::counters_after_fill`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FillCounters {
    filled_qty: Decimal,
    notional: Decimal,
    commission: Decimal,
    avg_fill_price: Option<Decimal>,
}

/// One order as derived from its events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Order {
    /// The order id (`entity.id` of its events).
    pub order_id: String,
    /// Attribution from the submission (or the first event seen).
    pub account_id: Option<String>,
    /// The instrument.
    pub instrument_id: Option<String>,
    /// Attribution.
    pub trader_id: Option<String>,
    /// Attribution.
    pub strategy_id: Option<String>,
    /// `refs.recommendation_id` of the submission.
    pub recommendation_id: Option<String>,
    /// Side from the submission.
    pub side: Option<Side>,
    /// Quantity ordered (the latest `order.modified` quantity if any).
    pub quantity: Option<Decimal>,
    /// `market`, `limit`, ...
    pub order_type: Option<String>,
    /// The limit price (latest).
    pub limit_price: Option<Decimal>,
    /// `data.multiplier` of the submission, if given.
    pub multiplier: Option<Decimal>,
    /// `data.currency` of the submission, if given.
    pub currency: Option<String>,
    /// Current status.
    pub status: OrderStatus,
    /// Sum of fill quantities booked.
    pub filled_qty: Decimal,
    /// Quantity-weighted average fill price, if anything filled.
    pub avg_fill_price: Option<Decimal>,
    /// Sum of fill commissions.
    pub commission: Decimal,
    /// Fills booked.
    pub fill_count: u32,
    /// `ts_event` of the submission.
    pub submitted_at: Option<i64>,
    /// Of the acceptance.
    pub accepted_at: Option<i64>,
    /// Of the first fill.
    pub first_fill_at: Option<i64>,
    /// Of the last fill.
    pub last_fill_at: Option<i64>,
    /// When it reached a terminal status.
    pub closed_at: Option<i64>,
    /// The rejection, cancel or expiry reason.
    pub reason: Option<String>,
    /// An `order.recovered` was seen (status resynchronised after a disconnect).
    pub recovered: bool,
    /// Every status change, in order.
    pub history: Vec<Transition>,
    #[serde(skip)]
    notional: Decimal,
}

impl Order {
    pub(crate) fn new(order_id: &str, r: &Record) -> Order {
        Order {
            order_id: order_id.to_owned(),
            account_id: r.account_id.clone(),
            instrument_id: r.instrument_id.clone(),
            trader_id: r.trader_id.clone(),
            strategy_id: r.strategy_id.clone(),
            recommendation_id: r.reference("recommendation_id"),
            side: None,
            quantity: None,
            order_type: None,
            limit_price: None,
            multiplier: None,
            currency: None,
            status: OrderStatus::Submitted,
            filled_qty: Decimal::ZERO,
            avg_fill_price: None,
            commission: Decimal::ZERO,
            fill_count: 0,
            submitted_at: None,
            accepted_at: None,
            first_fill_at: None,
            last_fill_at: None,
            closed_at: None,
            reason: None,
            recovered: false,
            history: Vec::new(),
            notional: Decimal::ZERO,
        }
    }

    /// Quantity still working: ordered minus filled, never negative; 0 once terminal.
    pub fn leaves_qty(&self) -> Decimal {
        if self.status.is_terminal() {
            return Decimal::ZERO;
        }
        let Some(q) = self.quantity else {
            return Decimal::ZERO;
        };
        match q.checked_sub(self.filled_qty) {
            Some(d) => d.max(Decimal::ZERO),
            // Beyond a decimal's range: below it the answer is 0, above it the most
            // that can be said is the largest decimal.
            None if self.filled_qty.is_sign_negative() => Decimal::MAX,
            None => Decimal::ZERO,
        }
    }

    pub(crate) fn set_status(&mut self, r_seq: u64, ts: i64, ty: &str, to: OrderStatus) {
        let from = self.status;
        if from == to && !self.history.is_empty() {
            return;
        }
        self.status = to;
        if to.is_terminal() && self.closed_at.is_none() {
            self.closed_at = Some(ts);
        }
        self.history.push(Transition {
            seq: r_seq,
            ts_event: ts,
            event_type: ty.to_owned(),
            from: (!self.history.is_empty()).then_some(from),
            to,
        });
    }

    /// The order's counters once a fill of `qty` at `price` paying `commission` is
    /// added, computed checked: the overflow names record `seq`. Changes nothing.
    pub(crate) fn counters_after_fill(
        &self,
        seq: u64,
        qty: Decimal,
        price: Decimal,
        commission: Decimal,
    ) -> crate::Result<FillCounters> {
        use crate::ledger::{add, div, mul};
        let filled_qty = add(
            self.filled_qty,
            qty,
            seq,
            "the order's filled quantity + data.fill_qty",
        )?;
        let what = "the order's notional + data.fill_qty × data.fill_price";
        let notional = add(self.notional, mul(qty, price, seq, what)?, seq, what)?;
        let commission = add(
            self.commission,
            commission,
            seq,
            "the order's commission + data.commission",
        )?;
        let avg_fill_price = if filled_qty.is_zero() {
            None
        } else {
            Some(div(
                notional,
                filled_qty,
                seq,
                "the order's average fill price",
            )?)
        };
        Ok(FillCounters {
            filled_qty,
            notional,
            commission,
            avg_fill_price,
        })
    }

    /// Books one fill (its counters from [`Order::counters_after_fill`]) into the
    /// order's counters and status; returns the anomalies.
    pub(crate) fn apply_fill(
        &mut self,
        r: &Record,
        qty: Decimal,
        counters: FillCounters,
    ) -> Vec<(AnomalyKind, String)> {
        let mut out = Vec::new();
        match self.status {
            OrderStatus::Submitted => out.push((
                AnomalyKind::FillWithoutAcceptance,
                format!("fill of {qty} before the order was accepted"),
            )),
            OrderStatus::Cancelled | OrderStatus::Rejected | OrderStatus::Expired => out.push((
                AnomalyKind::FillAfterTerminal,
                format!("fill of {qty} after the order was {}", self.status),
            )),
            _ => {}
        }
        self.filled_qty = counters.filled_qty;
        self.notional = counters.notional;
        self.commission = counters.commission;
        self.fill_count = self.fill_count.saturating_add(1);
        self.avg_fill_price = counters.avg_fill_price;
        self.first_fill_at.get_or_insert(r.ts_event);
        self.last_fill_at = Some(r.ts_event);
        if let Some(q) = self.quantity {
            if self.filled_qty > q {
                out.push((
                    AnomalyKind::Overfill,
                    format!("filled {} of an order for {q}", self.filled_qty),
                ));
            }
        }
        if let Some(cum) = r.decimal("cum_qty") {
            if cum != self.filled_qty {
                out.push((
                    AnomalyKind::CumQtyMismatch,
                    format!(
                        "cum_qty says {cum}, the fills recorded sum to {}",
                        self.filled_qty
                    ),
                ));
            }
        }
        if !self.status.is_terminal() {
            let full = self.quantity.is_some_and(|q| self.filled_qty >= q);
            let to = if full {
                OrderStatus::Filled
            } else {
                OrderStatus::PartiallyFilled
            };
            self.set_status(r.seq, r.ts_event, &r.event_type, to);
        }
        out
    }
}
