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
//!
//! Every sum and product is checked: a fill whose figures would overflow a decimal is
//! refused whole ([`Error::Overflow`] naming its seq) and leaves the ledger as it was.

use std::collections::{BTreeMap, VecDeque};

use rust_decimal::Decimal;
use serde::Serialize;

use crate::orders::Side;
use crate::{Error, Result};

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
        match self.side {
            Side::Buy => self.quantity,
            Side::Sell => -self.quantity,
        }
    }

    /// `quantity × price × multiplier`, positive; [`Error::Overflow`] naming the fill's
    /// seq when it does not fit a decimal.
    pub fn notional(&self) -> Result<Decimal> {
        self.quantity
            .checked_mul(self.price)
            .and_then(|n| n.checked_mul(self.multiplier))
            .ok_or_else(|| {
                Error::overflow(
                    self.seq,
                    format!(
                        "data.fill_qty × data.fill_price × multiplier ({} × {} × {})",
                        self.quantity, self.price, self.multiplier
                    ),
                )
            })
    }

    /// What the fill did to cash in `currency`, commission not included.
    pub fn cash_flow(&self) -> Result<Decimal> {
        let n = self.notional()?;
        Ok(match self.side {
            Side::Buy => -n,
            Side::Sell => n,
        })
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

impl Position {
    /// The position as one JSON object: what `tradetrail positions --format jsonl`
    /// prints and the Python package's `Recorder.positions` gives. Decimals are text
    /// (exact); averages and P&L rounded to 8 places.
    pub fn row_json(&self) -> serde_json::Value {
        serde_json::json!({
            "account": self.account_id,
            "instrument": self.instrument_id,
            "quantity": self.quantity.to_string(),
            "avg_cost": self.avg_cost.round_dp(8).to_string(),
            "mark": self.mark_price.map(|d| d.to_string()),
            "unrealized_pnl": self.unrealized_pnl.map(|d| d.round_dp(8).to_string()),
            "realized_pnl": self.realized_pnl.round_dp(8).to_string(),
            "commission": self.commission.to_string(),
            "currency": self.currency,
            "multiplier": self.multiplier.to_string(),
            "fills": self.fills,
            "open_lots": self.open_lots.len(),
        })
    }
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

/// `a + b`, or the overflow of record `seq` computing `what`.
pub(crate) fn add(a: Decimal, b: Decimal, seq: u64, what: &str) -> Result<Decimal> {
    a.checked_add(b)
        .ok_or_else(|| Error::overflow(seq, format!("{what} ({a} + {b})")))
}

/// `a × b`, or the overflow of record `seq` computing `what`.
pub(crate) fn mul(a: Decimal, b: Decimal, seq: u64, what: &str) -> Result<Decimal> {
    a.checked_mul(b)
        .ok_or_else(|| Error::overflow(seq, format!("{what} ({a} × {b})")))
}

/// `a − b`, or the overflow of record `seq` computing `what`.
pub(crate) fn sub(a: Decimal, b: Decimal, seq: u64, what: &str) -> Result<Decimal> {
    a.checked_sub(b)
        .ok_or_else(|| Error::overflow(seq, format!("{what} ({a} − {b})")))
}

/// `a ÷ b` (`b` not zero), or the overflow of record `seq` computing `what`.
pub(crate) fn div(a: Decimal, b: Decimal, seq: u64, what: &str) -> Result<Decimal> {
    a.checked_div(b)
        .ok_or_else(|| Error::overflow(seq, format!("{what} ({a} ÷ {b})")))
}

impl Ledger {
    /// Books one fill: cash, commission, FIFO lots. Everything is computed first and
    /// checked; on overflow nothing changes and the error names the fill's seq.
    pub fn book(&mut self, f: &Fill) -> Result<()> {
        let seq = f.seq;
        let cash_key = (f.account_id.clone(), f.currency.clone());
        let comm_key = (f.account_id.clone(), f.commission_currency.clone());
        let cash = self.cash.get(&cash_key).copied().unwrap_or_default();
        let cash = add(
            cash,
            f.cash_flow()?,
            seq,
            "cash + fill_qty × fill_price × multiplier",
        )?;
        let comm_cash = if comm_key == cash_key {
            cash
        } else {
            self.cash.get(&comm_key).copied().unwrap_or_default()
        };
        let comm_cash = sub(comm_cash, f.commission, seq, "cash − data.commission")?;
        let key = (f.account_id.clone(), f.instrument_id.clone());
        let (commission_total, realized_before) = match self.lots.get(&key) {
            Some(st) => (st.commission, st.realized),
            None => (Decimal::ZERO, Decimal::ZERO),
        };
        let commission_total = add(
            commission_total,
            f.commission,
            seq,
            "position commission + data.commission",
        )?;
        let comm_per_unit = if f.quantity.is_zero() {
            Decimal::ZERO
        } else {
            div(
                f.commission,
                f.quantity,
                seq,
                "data.commission ÷ data.fill_qty",
            )?
        };
        let sign_positive = matches!(f.side, Side::Buy);

        // First pass: what the fill closes, checked, without changing anything.
        let mut closes: Vec<(Decimal, ClosedLot)> = Vec::new();
        let mut realized = realized_before;
        let mut left = f.quantity;
        if let Some(st) = self.lots.get(&key) {
            for front in &st.open {
                if left <= Decimal::ZERO || front.quantity.is_sign_positive() == sign_positive {
                    break;
                }
                let take = left.min(front.quantity.abs());
                let long = front.quantity.is_sign_positive();
                let points = sub(
                    f.price,
                    front.price,
                    seq,
                    "data.fill_price − the open lot's price",
                )?;
                let what = "(fill_price − open price) × quantity × multiplier";
                let gross = mul(mul(points, take, seq, what)?, f.multiplier, seq, what)?;
                let gross = if long { gross } else { -gross };
                let commission = mul(
                    add(
                        front.commission_per_unit,
                        comm_per_unit,
                        seq,
                        "commission per unit of both fills",
                    )?,
                    take,
                    seq,
                    "commission per unit × quantity closed",
                )?;
                realized = add(realized, gross, seq, "realized P&L + the lot's gross P&L")?;
                closes.push((
                    take,
                    ClosedLot {
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
                        net_pnl: sub(gross, commission, seq, "gross P&L − commission")?,
                    },
                ));
                left -= take;
            }
        }

        // Second pass: commit.
        self.cash.insert(cash_key, cash);
        self.cash.insert(comm_key, comm_cash);
        let st = self.lots.entry(key).or_default();
        st.currency = f.currency.clone();
        st.multiplier = f.multiplier;
        st.commission = commission_total;
        st.realized = realized;
        st.fills = st.fills.saturating_add(1);
        st.last_fill_ts = Some(f.ts_event);
        for (take, lot) in closes {
            if let Some(front) = st.open.front_mut() {
                // |take| <= |front.quantity|: moving it toward zero cannot overflow.
                if front.quantity.is_sign_positive() {
                    front.quantity -= take;
                } else {
                    front.quantity += take;
                }
                if front.quantity.is_zero() {
                    st.open.pop_front();
                }
            }
            self.closed.push(lot);
        }
        if left > Decimal::ZERO {
            st.open.push_back(OpenLot {
                quantity: if sign_positive { left } else { -left },
                price: f.price,
                open_ts: f.ts_event,
                open_seq: f.seq,
                open_trade_id: f.trade_id.clone(),
                commission_per_unit: comm_per_unit,
            });
        }
        Ok(())
    }

    /// The position of `key`, with `mark` (price, seq of its record) if any. Sums and
    /// products are checked; the overflow names the open lot's or the mark's record.
    pub fn position(
        &self,
        key: &(String, String),
        st: &PositionState,
        mark: Option<(Decimal, u64)>,
    ) -> Result<Position> {
        let label = format!("position {} {}", key.0, key.1);
        let mut quantity = Decimal::ZERO;
        let mut cost = Decimal::ZERO;
        for l in &st.open {
            let what = format!("{label}: Σ quantity of its open lots");
            quantity = add(quantity, l.quantity, l.open_seq, &what)?;
            let what = format!("{label}: Σ quantity × price of its open lots");
            cost = add(
                cost,
                mul(l.quantity, l.price, l.open_seq, &what)?,
                l.open_seq,
                &what,
            )?;
        }
        let avg_cost = if quantity.is_zero() {
            Decimal::ZERO
        } else {
            let seq = st.open.back().map_or(u64::MAX, |l| l.open_seq);
            div(cost, quantity, seq, &format!("{label}: average cost"))?
        };
        let unrealized = match mark {
            None => None,
            Some((m, mark_seq)) => {
                let mut u = Decimal::ZERO;
                for l in &st.open {
                    // Name whichever record brought the larger price.
                    let seq = if m.abs() >= l.price.abs() {
                        mark_seq
                    } else {
                        l.open_seq
                    };
                    let what = format!(
                        "{label}: unrealized P&L (mark {m} − lot price {}) × quantity × multiplier",
                        l.price
                    );
                    let points = sub(m, l.price, seq, &what)?;
                    let pnl = mul(
                        mul(points, l.quantity, seq, &what)?,
                        st.multiplier,
                        seq,
                        &what,
                    )?;
                    u = add(u, pnl, seq, &what)?;
                }
                Some(u)
            }
        };
        Ok(Position {
            account_id: key.0.clone(),
            instrument_id: key.1.clone(),
            currency: st.currency.clone(),
            multiplier: st.multiplier,
            quantity,
            avg_cost,
            realized_pnl: st.realized,
            commission: st.commission,
            mark_price: mark.map(|(m, _)| m),
            unrealized_pnl: unrealized,
            fills: st.fills,
            last_fill_ts: st.last_fill_ts,
            open_lots: st.open.iter().cloned().collect(),
        })
    }
}
