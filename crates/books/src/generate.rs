//! A broker statement made from the recorded day, with realistic discrepancies planted:
//! what `tradetrail demo --statement FILE` writes so a reconciliation can be shown end
//! to end.
//!
//! The statement holds every fill of the journal as the broker's trade (same trade
//! ids), the positions, cash changes and order statuses that follow from those trades,
//! and the realized P&L per trade. With planting on, the broker's side differs in four
//! ways, each a common break in practice:
//! 1. **a price off by a cent** on one fill (`price` minor: corrected);
//! 2. **a missing fill**: the broker executed the rest of an order we cancelled after
//!    a partial fill (or, failing one, added to a filled order) — the fill never
//!    reached us (`missing_in_books`, major);
//! 3. **a manual trade** the desk phoned in to the broker: no order of ours
//!    (`missing_in_books`, major);
//! 4. **a cash difference**: a 12.50 fee the broker charged that no event recorded
//!    (`cash.change` minor with the default 25.00 bound: corrected).
//!
//! Positions, cash and realized P&L in the statement include the planted trades, so
//! they are explained by the trade breaks and are not discrepancies themselves.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::books::{Adjustments, Books, BooksOptions, FillPatch};
use crate::ledger::Fill;
use crate::orders::{OrderStatus, Side};
use crate::record::Record;
use crate::statement::{
    Statement, StatementCash, StatementFormat, StatementOrder, StatementPosition, StatementTrade,
};

const DAY_NS: i64 = 86_400_000_000_000;

/// One planted difference, as a reconciliation should find it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Planted {
    /// `trade`, `cash`.
    pub category: &'static str,
    /// `price`, `missing_in_books`, `change`.
    pub field: &'static str,
    /// The account.
    pub account_id: String,
    /// Trade id or `account:currency`.
    pub key: String,
    /// Minor or major under the default tolerances.
    pub severity: &'static str,
    /// In words.
    pub detail: String,
}

/// Makes the statement of everything in `records`; plants the four discrepancies when
/// `plant` is true. `None` when the records hold no fill.
pub fn generate_statement(records: &[Record], plant: bool) -> Option<(Statement, Vec<Planted>)> {
    let books = Books::from_records(records, &BooksOptions::default());
    let fills = books.fills();
    let first = fills.iter().map(|f| f.ts_event).min()?;
    let last = fills.iter().map(|f| f.ts_event).max()?;
    let from = first.div_euclid(DAY_NS) * DAY_NS;
    let to = (last.div_euclid(DAY_NS) + 1) * DAY_NS - 1;
    let mut adj = Adjustments::default();
    let mut planted = Vec::new();
    let mut fee = None;
    if plant {
        // 1. A price off by a cent: the first buy of a price with cents.
        if let Some((f, p)) = fills
            .iter()
            .filter(|f| f.side == Side::Buy && f.price > Decimal::from(10) && f.price.scale() == 2)
            .find_map(|f| Some((f, f.price.checked_add(Decimal::new(1, 2))?)))
        {
            adj.fill_patches.insert(
                f.trade_id.clone(),
                FillPatch {
                    price: Some(p),
                    ..FillPatch::default()
                },
            );
            planted.push(Planted {
                category: "trade",
                field: "price",
                account_id: f.account_id.clone(),
                key: f.trade_id.clone(),
                severity: "minor",
                detail: format!(
                    "trade {}: the broker has {p}, the books {}",
                    f.trade_id, f.price
                ),
            });
        }
        // 2. A fill that never reached us.
        let partial = books.orders().values().find(|o| {
            o.status == OrderStatus::Cancelled
                && !o.filled_qty.is_zero()
                && o.quantity.is_some_and(|q| q > o.filled_qty)
                && o.account_id.is_some()
        });
        let target = partial.or_else(|| {
            books
                .orders()
                .values()
                .find(|o| o.status == OrderStatus::Filled && o.account_id.is_some())
        });
        if let Some(o) = target {
            let last_fill = fills
                .iter()
                .rev()
                .find(|f| f.order_id.as_deref() == Some(o.order_id.as_str()))
                .expect("a filled order has fills");
            let qty = o
                .quantity
                .and_then(|q| q.checked_sub(o.filled_qty))
                .filter(|q| *q > Decimal::ZERO)
                .unwrap_or(Decimal::ONE);
            let base = last_fill
                .trade_id
                .rsplit_once('.')
                .map_or(last_fill.trade_id.as_str(), |(b, _)| b);
            let mut f = last_fill.clone();
            f.seq = u64::MAX;
            f.trade_id = format!("{base}.9");
            f.quantity = qty;
            f.ts_event = o
                .closed_at
                .map_or(last_fill.ts_event + 1_000_000, |c| c - 1_000_000)
                .max(last_fill.ts_event);
            f.corrected_by.clear();
            planted.push(Planted {
                category: "trade",
                field: "missing_in_books",
                account_id: f.account_id.clone(),
                key: f.trade_id.clone(),
                severity: "major",
                detail: format!(
                    "order {}: the broker filled {qty} more before the cancel; the fill never reached the books",
                    o.order_id
                ),
            });
            adj.extra_fills.push(f);
        }
        // 3. A manual trade at the broker.
        if let Some(f) = fills
            .iter()
            .find(|f| f.multiplier == Decimal::ONE && f.currency == "USD")
        {
            let mut m = f.clone();
            m.seq = u64::MAX;
            m.trade_id = "MANUAL-1".into();
            m.order_id = None;
            m.side = Side::Sell;
            m.quantity = Decimal::from(100);
            m.price = books.mark(&f.instrument_id).unwrap_or(f.price);
            m.commission = Decimal::new(50, 2);
            m.ts_event = last.max(f.ts_event) - 60_000_000_000;
            m.corrected_by.clear();
            planted.push(Planted {
                category: "trade",
                field: "missing_in_books",
                account_id: m.account_id.clone(),
                key: m.trade_id.clone(),
                severity: "major",
                detail: format!(
                    "a manual trade at the broker: sell 100 {} @ {}",
                    m.instrument_id, m.price
                ),
            });
            adj.extra_fills.push(m);
        }
        // 4. A fee no event recorded.
        if let Some(f) = fills.iter().find(|f| f.currency == "USD") {
            fee = Some((
                f.account_id.clone(),
                "USD".to_string(),
                Decimal::new(-1250, 2),
            ));
            planted.push(Planted {
                category: "cash",
                field: "change",
                account_id: f.account_id.clone(),
                key: format!("{}:USD", f.account_id),
                severity: "minor",
                detail: "a 12.50 market data fee charged by the broker".into(),
            });
        }
    }
    let broker = Books::from_records(
        records,
        &BooksOptions {
            adjustments: adj,
            ..BooksOptions::default()
        },
    );
    let mut realized: BTreeMap<&str, Decimal> = BTreeMap::new();
    for l in broker.closed_lots() {
        let r = realized.entry(l.close_trade_id.as_str()).or_default();
        // A demo statement: a sum beyond a decimal's range is left at its last value.
        *r = r.checked_add(l.gross_pnl).unwrap_or(*r);
    }
    let mut st = Statement::new(StatementFormat::Csv);
    st.from = Some(from);
    st.to = Some(to);
    let mut trades: Vec<&Fill> = broker.fills().iter().collect();
    trades.sort_by_key(|f| (f.ts_event, f.trade_id.clone()));
    for f in trades {
        st.trades.push(StatementTrade {
            account_id: f.account_id.clone(),
            trade_id: f.trade_id.clone(),
            exec_id: None,
            order_id: f.order_id.clone(),
            broker_order_id: None,
            instrument: f.instrument_id.clone(),
            side: f.side,
            quantity: f.quantity,
            price: f.price,
            ts: f.ts_event,
            commission: Some(f.commission),
            commission_currency: f.commission_currency.clone(),
            currency: f.currency.clone(),
            multiplier: f.multiplier,
            realized_pnl: Some(
                realized
                    .get(f.trade_id.as_str())
                    .copied()
                    .unwrap_or_default(),
            ),
            location: String::new(),
        });
    }
    for p in broker.open_positions() {
        st.positions.push(StatementPosition {
            account_id: p.account_id.clone(),
            instrument: p.instrument_id.clone(),
            quantity: p.quantity,
            mark_price: p.mark_price,
            currency: p.currency.clone(),
            multiplier: p.multiplier,
            location: String::new(),
        });
    }
    for c in broker.cash() {
        let extra = match &fee {
            Some((a, cur, amt)) if *a == c.account_id && *cur == c.currency => *amt,
            _ => Decimal::ZERO,
        };
        st.cash.push(StatementCash {
            account_id: c.account_id.clone(),
            currency: c.currency.clone(),
            change: c.amount.checked_add(extra).unwrap_or(c.amount),
            location: String::new(),
        });
    }
    for o in broker.orders().values() {
        let Some(account) = &o.account_id else {
            continue;
        };
        st.orders.push(StatementOrder {
            account_id: account.clone(),
            order_id: o.order_id.clone(),
            status: o.status,
            filled_qty: Some(o.filled_qty),
            location: String::new(),
        });
    }
    Some((st, planted))
}
