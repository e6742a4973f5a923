//! Fills, FIFO lots, positions and cash: the money side of the books.
//!
//! Every fill moves a position by `side × quantity`. A fill against the position's
//! direction closes the oldest open lots first (FIFO); each closed piece becomes a
//! [`ClosedLot`] with its open and close time, price and quantity, and realizes
//!
//! ```text
//! gross P&L = (close price − open price) × quantity × multiplier × (+1 long, −1 short)
//! ```
//! in the instrument's currency. What is left of the fill after the position reaches
//! zero opens a lot the other way (a flip). Commissions are booked to cash in their
//! own currency and shared pro rata over the quantity of the lots they open or close,
//! so a closed lot's `net_pnl` is gross minus the commissions of both its ends.
//!
//! Cash per (account, currency) moves by `−side × quantity × price × multiplier`
//! and by `−commission` (in the commission's currency), plus any cash adjustments
//! appended by a reconciliation. Cash here is what trading did to cash: the books do
//! not know opening balances, deposits or interest unless a correction brings them in.

use std::collections::{BTreeMap, VecDeque};

use rust_decimal::Decimal;
use serde::Serialize;

use crate::orders::Side;

/// One execution as booked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fill {
    /// The `order.filled` record (`u64::MAX` for a fill that is not in the journal,
    /// e.g. a broker's trade put into the books by a reconciliation).
    pub seq: u64,
    /// When it happened.
    pub ts_event: i64,
    /// The account.
    pub account_id: String,
    /// The instrument.
    pub instrument_id: String,
    /// The order, when known.
    pub order_id: Option<String>,
    /// The execution id (`data.trade_id`).
    pub trade_id: String,
    /// Buy or sell.
    pub side: Side,
    /// Quantity filled, positive.
    pub quantity: Decimal,
    /// Price per unit.
    pub price: Decimal,
    /// Commission paid (negative for a rebate).
    pub commission: Decimal,
    /// Currency of the commission.
    pub commission_currency: String,
    /// Currency of the price.
    pub currency: String,
    /// Contract multiplier (1 for cash equities and FX).
    pub multiplier: Decimal,
    /// Attribution.
    pub trader_id: Option<String>,
    /// Attribution.
    pub strategy_id: Option<String>,
    /// `maker`, `taker`, ... when recorded.
    pub liquidity: Option<String>,
    /// `data.slippage_bps` when recorded.
    pub slippage_bps: Option<Decimal>,
    /// Seqs of the `reconciliation.correction` records that changed this fill.
    pub corrected_by: Vec<u64>,
}

impl Fill {
    /// `side × quantity`.
    pub fn signed_quantity(&self) -> Decimal {
        self.side.sign() * self.quantity
    }

    /// `quantity × price × multiplier`, positive.
    pub fn notional(&self) -> Decimal {
        self.quantity * self.price * self.multiplier
    }

    /// What the fill did to cash in `currency`, commission not included.
    pub fn cash_flow(&self) -> Decimal {
        -self.side.sign() * self.notional()
    }
}

/// An open FIFO lot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenLot {
    /// Signed quantity still open (positive long, negative short).
    pub quantity: Decimal,
    /// Opening price.
    pub price: Decimal,
    /// Opening time.
    pub open_ts: i64,
    /// The opening fill's seq.
    pub open_seq: u64,
    /// The opening fill's trade id.
    pub open_trade_id: String,
    /// The opening commission not yet realized, per unit.
    pub commission_per_unit: Decimal,
}

/// A closed piece of a lot: what a tax-lot report lists.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClosedLot {
    /// The account.
    pub account_id: String,
    /// The instrument.
    pub instrument_id: String,
    /// Currency of the prices and the P&L.
    pub currency: String,
    /// Contract multiplier.
    pub multiplier: Decimal,
    /// `long` (opened by a buy) or `short` (opened by a sell).
    pub direction: &'static str,
    /// Quantity closed, positive.
    pub quantity: Decimal,
    /// When the lot was opened.
    pub open_ts: i64,
    /// Opening price.
    pub open_price: Decimal,
    /// The opening fill.
    pub open_trade_id: String,
    /// The opening fill's seq.
    pub open_seq: u64,
    /// When it was closed.
    pub close_ts: i64,
    /// Closing price.
    pub close_price: Decimal,
    /// The closing fill.
    pub close_trade_id: String,
    /// The closing fill's seq.
    pub close_seq: u64,
    /// `(close − open) × quantity × multiplier`, sign-adjusted for shorts.
    pub gross_pnl: Decimal,
    /// The share of both fills' commissions for this quantity.
    pub commission: Decimal,
    /// `gross_pnl − commission`.
    pub net_pnl: Decimal,
}

impl ClosedLot {
    /// Holding period in ns.
    pub fn holding_ns(&self) -> i64 {
        self.close_ts - self.open_ts
    }
}

/// A position in one instrument of one account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Position {
    /// The account.
    pub account_id: String,
    /// The instrument.
    pub instrument_id: String,
    /// Currency of prices and P&L.
    pub currency: String,
    /// Contract multiplier.
    pub multiplier: Decimal,
    /// Signed quantity (positive long, negative short).
    pub quantity: Decimal,
    /// Average opening price of the open lots (0 when flat).
    pub avg_cost: Decimal,
    /// Realized gross P&L of the lots closed so far (plus realized adjustments).
    pub realized_pnl: Decimal,
    /// Commissions paid on this instrument, in the commission currency (see `currency`).
    pub commission: Decimal,
    /// The last price seen at or before the books' instant, if any.
    pub mark_price: Option<Decimal>,
    /// `(mark − avg_cost) × quantity × multiplier`, when there is a mark.
    pub unrealized_pnl: Option<Decimal>,
    /// Fills booked.
    pub fills: u32,
    /// `ts_event` of the last fill.
    pub last_fill_ts: Option<i64>,
    /// The open FIFO lots, oldest first.
    pub open_lots: Vec<OpenLot>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Ledger {
    pub lots: BTreeMap<(String, String), PositionState>,
    pub cash: BTreeMap<(String, String), Decimal>,
    pub closed: Vec<ClosedLot>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct PositionState {
    pub currency: String,
    pub multiplier: Decimal,
    pub open: VecDeque<OpenLot>,
    pub realized: Decimal,
    pub commission: Decimal,
    pub fills: u32,
    pub last_fill_ts: Option<i64>,
}

impl Ledger {
    pub fn book(&mut self, f: &Fill) {
        *self
            .cash
            .entry((f.account_id.clone(), f.currency.clone()))
            .or_default() += f.cash_flow();
        *self
            .cash
            .entry((f.account_id.clone(), f.commission_currency.clone()))
            .or_default() -= f.commission;
        let st = self
            .lots
            .entry((f.account_id.clone(), f.instrument_id.clone()))
            .or_default();
        st.currency = f.currency.clone();
        st.multiplier = f.multiplier;
        st.commission += f.commission;
        st.fills += 1;
        st.last_fill_ts = Some(f.ts_event);
        let comm_per_unit = if f.quantity.is_zero() {
            Decimal::ZERO
        } else {
            f.commission / f.quantity
        };
        let sign = f.side.sign();
        let mut left = f.quantity;
        while left > Decimal::ZERO {
            let Some(front) = st.open.front_mut() else {
                break;
            };
            if front.quantity.is_sign_positive() == sign.is_sign_positive() {
                break;
            }
            let take = left.min(front.quantity.abs());
            let long = front.quantity.is_sign_positive();
            let dir = if long {
                Decimal::ONE
            } else {
                Decimal::NEGATIVE_ONE
            };
            let gross = (f.price - front.price) * take * f.multiplier * dir;
            let commission = (front.commission_per_unit + comm_per_unit) * take;
            self.closed.push(ClosedLot {
                account_id: f.account_id.clone(),
                instrument_id: f.instrument_id.clone(),
                currency: f.currency.clone(),
                multiplier: f.multiplier,
                direction: if long { "long" } else { "short" },
                quantity: take,
                open_ts: front.open_ts,
                open_price: front.price,
                open_trade_id: front.open_trade_id.clone(),
                open_seq: front.open_seq,
                close_ts: f.ts_event,
                close_price: f.price,
                close_trade_id: f.trade_id.clone(),
                close_seq: f.seq,
                gross_pnl: gross,
                commission,
                net_pnl: gross - commission,
            });
            st.realized += gross;
            front.quantity -= dir * take;
            left -= take;
            if front.quantity.is_zero() {
                st.open.pop_front();
            }
        }
        if left > Decimal::ZERO {
            st.open.push_back(OpenLot {
                quantity: sign * left,
                price: f.price,
                open_ts: f.ts_event,
                open_seq: f.seq,
                open_trade_id: f.trade_id.clone(),
                commission_per_unit: comm_per_unit,
            });
        }
    }

    pub fn position(
        &self,
        key: &(String, String),
        st: &PositionState,
        mark: Option<Decimal>,
    ) -> Position {
        let quantity: Decimal = st.open.iter().map(|l| l.quantity).sum();
        let avg_cost = if quantity.is_zero() {
            Decimal::ZERO
        } else {
            st.open
                .iter()
                .map(|l| l.quantity * l.price)
                .sum::<Decimal>()
                / quantity
        };
        let unrealized = mark.map(|m| {
            st.open
                .iter()
                .map(|l| (m - l.price) * l.quantity * st.multiplier)
                .sum::<Decimal>()
        });
        Position {
            account_id: key.0.clone(),
            instrument_id: key.1.clone(),
            currency: st.currency.clone(),
            multiplier: st.multiplier,
            quantity,
            avg_cost,
            realized_pnl: st.realized,
            commission: st.commission,
            mark_price: mark,
            unrealized_pnl: unrealized,
            fills: st.fills,
            last_fill_ts: st.last_fill_ts,
            open_lots: st.open.iter().cloned().collect(),
        }
    }
}
