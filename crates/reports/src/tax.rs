//! Tax lots: realized gains per closed FIFO lot, with open and close dates and the
//! holding period.
//!
//! For each lot closed in the range (from the books, FIFO): `proceeds` is what the
//! position was sold for and `cost_basis` what it was bought for — for a long lot
//! `close × qty × multiplier` and `open × qty × multiplier`, for a short lot the other
//! way round — so `gain = proceeds − cost_basis` is the lot's gross P&L; `commission`
//! is the lot's share of both fills' commissions and `net_gain = gain − commission`.
//! The holding period is counted in days between the UTC dates; a lot is `long` term
//! when closed more than one year after it was opened (the close date is after the
//! anniversary of the open date), else `short`.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;
use time::Date;
use tradetrail_books::{ClosedLot, Record};
use tradetrail_query::Investigator;

use crate::books_input::{books_at, books_records};
use crate::error::{add, mul, sub};
use crate::scope::{date_text, ReportFilter};
use crate::stats::fixed;
use crate::table::{Table, Tabular};
use crate::Result;

/// One closed lot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaxLot {
    /// Account.
    pub account_id: String,
    /// Instrument.
    pub instrument_id: String,
    /// Currency of every amount.
    pub currency: String,
    /// `long` or `short`.
    pub direction: String,
    /// Quantity closed.
    pub quantity: Decimal,
    /// Contract multiplier.
    pub multiplier: Decimal,
    /// Opening date (UTC).
    pub open_date: String,
    /// Closing date (UTC).
    pub close_date: String,
    /// Opening time (ns).
    pub open_ts: i64,
    /// Closing time (ns).
    pub close_ts: i64,
    /// Days between the dates.
    pub holding_days: i64,
    /// `short` or `long` (held more than a year).
    pub term: String,
    /// Opening price.
    pub open_price: Decimal,
    /// Closing price.
    pub close_price: Decimal,
    /// What it was sold for.
    pub proceeds: Decimal,
    /// What it was bought for.
    pub cost_basis: Decimal,
    /// `proceeds − cost_basis`.
    pub gain: Decimal,
    /// Its share of the commissions, 2 places.
    pub commission: Decimal,
    /// `gain − commission`, 2 places.
    pub net_gain: Decimal,
    /// The opening fill.
    pub open_trade_id: String,
    /// The closing fill.
    pub close_trade_id: String,
    /// The opening fill's record.
    pub open_seq: u64,
    /// The closing fill's record.
    pub close_seq: u64,
}

/// Totals per currency and term.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaxTotal {
    /// Currency.
    pub currency: String,
    /// `short` or `long`.
    pub term: String,
    /// Lots.
    pub lots: u64,
    /// Σ proceeds.
    pub proceeds: Decimal,
    /// Σ cost basis.
    pub cost_basis: Decimal,
    /// Σ gain.
    pub gain: Decimal,
    /// Σ commission.
    pub commission: Decimal,
    /// Σ net gain.
    pub net_gain: Decimal,
}

/// The tax lot report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaxReport {
    /// What it covers.
    pub filter: ReportFilter,
    /// The range as text.
    pub range: String,
    /// Every lot closed in the range, in closing order.
    pub lots: Vec<TaxLot>,
    /// Totals.
    pub totals: Vec<TaxTotal>,
    /// What the reader should know.
    pub notes: Vec<String>,
}

/// Whether a lot opened on `open` and closed on `close` is held more than one year.
pub fn is_long_term(open: Date, close: Date) -> bool {
    let anniversary = open
        .replace_year(open.year() + 1)
        // 29 February: the anniversary is 28 February of the next year... or 1 March;
        // "more than one year" then means after 1 March.
        .unwrap_or_else(|_| {
            Date::from_calendar_date(open.year() + 1, time::Month::March, 1).unwrap_or(Date::MAX)
        });
    close > anniversary
}

fn tax_lot(l: &ClosedLot, days: &tradetrail_model::Days) -> Result<TaxLot> {
    let seq = l.close_seq;
    let q = mul(l.quantity, l.multiplier, seq, "quantity × multiplier")?;
    let open = mul(
        l.open_price,
        q,
        l.open_seq,
        "open price × quantity × multiplier",
    )?;
    let close = mul(l.close_price, q, seq, "close price × quantity × multiplier")?;
    let (proceeds, cost) = if l.direction == "short" {
        (open, close)
    } else {
        (close, open)
    };
    let gain = sub(proceeds, cost, seq, "proceeds − cost basis")?;
    let net_gain = sub(gain, l.commission, seq, "gain − commission")?;
    let (od, cd) = (days.day_of(l.open_ts), days.day_of(l.close_ts));
    Ok(TaxLot {
        account_id: l.account_id.clone(),
        instrument_id: l.instrument_id.clone(),
        currency: l.currency.clone(),
        direction: l.direction.to_owned(),
        quantity: l.quantity.normalize(),
        multiplier: l.multiplier.normalize(),
        open_date: date_text(od),
        close_date: date_text(cd),
        open_ts: l.open_ts,
        close_ts: l.close_ts,
        holding_days: (cd - od).whole_days(),
        term: if is_long_term(od, cd) {
            "long"
        } else {
            "short"
        }
        .into(),
        open_price: l.open_price,
        close_price: l.close_price,
        proceeds: fixed(proceeds, 2),
        cost_basis: fixed(cost, 2),
        gain: fixed(gain, 2),
        commission: fixed(l.commission, 2),
        net_gain: fixed(net_gain, 2),
        open_trade_id: l.open_trade_id.clone(),
        close_trade_id: l.close_trade_id.clone(),
        open_seq: l.open_seq,
        close_seq: l.close_seq,
    })
}

/// The tax lot report over the filter's range (lots by their closing time).
pub fn tax(inv: &Investigator, filter: &ReportFilter) -> Result<TaxReport> {
    let (records, unreadable) = books_records(inv, &filter.scope, filter.to)?;
    let mut r = tax_from(&records, filter)?;
    r.notes.extend(crate::record::unreadable_note(unreadable));
    Ok(r)
}

/// The report from books records already read.
pub fn tax_from(records: &[Record], filter: &ReportFilter) -> Result<TaxReport> {
    let books = books_at(records, filter.to.map(|t| t - 1))?;
    let inside = |ts: i64| filter.contains(ts);
    let lots: Vec<TaxLot> = books
        .closed_lots()
        .iter()
        .filter(|l| inside(l.close_ts))
        .map(|l| tax_lot(l, &filter.days))
        .collect::<Result<_>>()?;
    let mut sums: BTreeMap<(String, String), (u64, [Decimal; 5])> = BTreeMap::new();
    for l in &lots {
        let (n, s) = sums
            .entry((l.currency.clone(), l.term.clone()))
            .or_default();
        *n += 1;
        for (i, v) in [l.proceeds, l.cost_basis, l.gain, l.commission, l.net_gain]
            .into_iter()
            .enumerate()
        {
            s[i] = add(s[i], v, l.close_seq, "tax lot totals")?;
        }
    }
    let totals = sums
        .into_iter()
        .map(|((currency, term), (lots, s))| TaxTotal {
            currency,
            term,
            lots,
            proceeds: s[0],
            cost_basis: s[1],
            gain: s[2],
            commission: s[3],
            net_gain: s[4],
        })
        .collect();
    let mut notes = Vec::new();
    let open: usize = books.open_positions().count();
    if open > 0 {
        notes.push(format!(
            "{open} positions are still open at the end of the range; their lots are not realized"
        ));
    }
    Ok(TaxReport {
        filter: filter.clone(),
        range: filter.describe(),
        lots,
        totals,
        notes,
    })
}

impl Tabular for TaxReport {
    fn title(&self) -> String {
        format!("Tax lots, {}", self.range)
    }
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new(
            "lots",
            "Closed lots (FIFO)",
            &[
                "account",
                "instrument",
                "currency",
                "direction",
                "quantity",
                "multiplier",
                "open_date",
                "close_date",
                "holding_days",
                "term",
                "open_price",
                "close_price",
                "proceeds",
                "cost_basis",
                "gain",
                "commission",
                "net_gain",
                "open_trade",
                "close_trade",
            ],
        );
        for l in &self.lots {
            t.push(vec![
                l.account_id.clone(),
                l.instrument_id.clone(),
                l.currency.clone(),
                l.direction.clone(),
                l.quantity.to_string(),
                l.multiplier.to_string(),
                l.open_date.clone(),
                l.close_date.clone(),
                l.holding_days.to_string(),
                l.term.clone(),
                l.open_price.to_string(),
                l.close_price.to_string(),
                l.proceeds.to_string(),
                l.cost_basis.to_string(),
                l.gain.to_string(),
                l.commission.to_string(),
                l.net_gain.to_string(),
                l.open_trade_id.clone(),
                l.close_trade_id.clone(),
            ]);
        }
        let mut s = Table::new(
            "totals",
            "Totals by currency and term",
            &[
                "currency",
                "term",
                "lots",
                "proceeds",
                "cost_basis",
                "gain",
                "commission",
                "net_gain",
            ],
        );
        for x in &self.totals {
            s.push(vec![
                x.currency.clone(),
                x.term.clone(),
                x.lots.to_string(),
                x.proceeds.to_string(),
                x.cost_basis.to_string(),
                x.gain.to_string(),
                x.commission.to_string(),
                x.net_gain.to_string(),
            ]);
        }
        vec![t, s]
    }
    /// Per currency, the realized net gain per month of closing and term (short and
    /// long side by side), and per instrument.
    fn charts(&self) -> Vec<crate::table::Chart> {
        use crate::table::Chart;
        let mut per_month: BTreeMap<&str, BTreeMap<(&str, &str), Decimal>> = BTreeMap::new();
        let mut per_inst: BTreeMap<&str, BTreeMap<&str, Decimal>> = BTreeMap::new();
        for l in &self.lots {
            let month = l.close_date.get(..7).unwrap_or(&l.close_date);
            let m = per_month
                .entry(l.currency.as_str())
                .or_default()
                .entry((month, l.term.as_str()))
                .or_default();
            *m = m.saturating_add(l.net_gain);
            let i = per_inst
                .entry(l.currency.as_str())
                .or_default()
                .entry(l.instrument_id.as_str())
                .or_default();
            *i = i.saturating_add(l.net_gain);
        }
        let f = |d: &Decimal| rust_decimal::prelude::ToPrimitive::to_f64(d).unwrap_or(0.0);
        let mut charts = Vec::new();
        for (cur, m) in &per_month {
            charts.push(Chart::Bars {
                title: format!("Realized net gain per month and term, {cur}"),
                y_label: (*cur).to_owned(),
                bars: m
                    .iter()
                    .map(|((month, term), g)| (format!("{month} {term}"), f(g)))
                    .collect(),
            });
        }
        for (cur, m) in &per_inst {
            charts.push(Chart::Bars {
                title: format!("Realized net gain per instrument, {cur}"),
                y_label: (*cur).to_owned(),
                bars: m.iter().map(|(i, g)| ((*i).to_owned(), f(g))).collect(),
            });
        }
        charts
    }
    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }
}
