//! Daily summary and monthly performance, from the books (FIFO lots, fills, marks).
//!
//! Per day (the filter's days: UTC, a zone's or a venue's trading days) and currency:
//! - `trades`: fills; `volume`: Σ fill quantity; `notional`: Σ quantity × price × multiplier;
//! - `realized_gross`: Σ `gross_pnl` of the FIFO lots closed that day;
//! - `commission`: Σ commissions of that day's fills (in the commission currency);
//! - `unrealized_change`: unrealized P&L of the open positions at the day's end minus
//!   at the previous day's end (marks: the last price seen, see the books);
//! - `gross_pnl` = `realized_gross` + `unrealized_change`; `net_pnl` = `gross_pnl` − `commission`;
//! - wins and losses are the lots closed that day with `net_pnl` > 0 and < 0 (net of
//!   their share of both fills' commissions); `win_rate` = wins / (wins + losses);
//!   `avg_win`, `avg_loss`, `largest_win`, `largest_loss` over those lots;
//! - Sharpe (over a range): `mean / sd × √252` of the daily `net_pnl` of the days listed
//!   (sample standard deviation, n − 1; at least two days);
//! - max drawdown: the largest fall of the cumulative daily `net_pnl` from its running
//!   peak (the peak starts at 0).
//!
//! Money is summed exactly and rounded to 2 places (half to even) when shown.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::{Decimal, MathematicalOps};
use serde::Serialize;
use time::Date;
use tradetrail_books::{Books, Record};
use tradetrail_query::Investigator;

use crate::books_input::{books_at, books_records};
use crate::error::{add, sub};
use crate::execution::to_f64;
use crate::scope::{date_text, ReportFilter};
use crate::stats::{dec, fixed};
use crate::table::{Chart, Table, Tabular};
use crate::{Error, Result};

/// Beyond this many days, unrealized P&L is not marked day by day (it needs the books
/// as of every day's end).
pub const MAX_MARKED_DAYS: usize = 400;

/// P&L figures of one day, month or range, in one currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PnlFigures {
    /// Currency of every money figure here.
    pub currency: String,
    /// Fills.
    pub trades: u64,
    /// Σ fill quantity.
    pub volume: Decimal,
    /// Σ quantity × price × multiplier.
    pub notional: Decimal,
    /// Σ gross P&L of the lots closed.
    pub realized_gross: Decimal,
    /// Σ commissions paid.
    pub commission: Decimal,
    /// `realized_gross − commission`.
    pub realized_net: Decimal,
    /// Change of the open positions' unrealized P&L.
    pub unrealized_change: Decimal,
    /// `realized_gross + unrealized_change`.
    pub gross_pnl: Decimal,
    /// `gross_pnl − commission`.
    pub net_pnl: Decimal,
    /// FIFO lots closed.
    pub closed_lots: u64,
    /// Of those, with net P&L > 0.
    pub wins: u64,
    /// With net P&L < 0.
    pub losses: u64,
    /// `wins / (wins + losses)`, 4 places.
    pub win_rate: Option<Decimal>,
    /// Mean net P&L of the wins.
    pub avg_win: Option<Decimal>,
    /// Mean net P&L of the losses (negative).
    pub avg_loss: Option<Decimal>,
    /// Largest net P&L of a lot.
    pub largest_win: Option<Decimal>,
    /// Smallest (most negative) net P&L of a lot.
    pub largest_loss: Option<Decimal>,
}

#[derive(Debug, Clone, Default)]
struct Acc {
    trades: u64,
    volume: Decimal,
    notional: Decimal,
    realized_gross: Decimal,
    commission: Decimal,
    unrealized_change: Decimal,
    lot_nets: Vec<Decimal>,
    /// The last record added (what an overflow of a sum names).
    seq: u64,
}

impl Acc {
    fn merge(&mut self, o: &Acc) -> Result<()> {
        let seq = o.seq;
        self.trades += o.trades;
        self.volume = add(self.volume, o.volume, seq, "volume")?;
        self.notional = add(self.notional, o.notional, seq, "notional")?;
        self.realized_gross = add(self.realized_gross, o.realized_gross, seq, "realized P&L")?;
        self.commission = add(self.commission, o.commission, seq, "commission")?;
        self.unrealized_change = add(
            self.unrealized_change,
            o.unrealized_change,
            seq,
            "unrealized P&L change",
        )?;
        self.lot_nets.extend_from_slice(&o.lot_nets);
        self.seq = self.seq.max(seq);
        Ok(())
    }

    fn is_empty(&self) -> bool {
        self.trades == 0
            && self.lot_nets.is_empty()
            && self.unrealized_change.is_zero()
            && self.commission.is_zero()
    }

    fn figures(&self, currency: &str) -> Result<PnlFigures> {
        let seq = self.seq;
        let wins: Vec<Decimal> = self
            .lot_nets
            .iter()
            .copied()
            .filter(|d| *d > Decimal::ZERO)
            .collect();
        let losses: Vec<Decimal> = self
            .lot_nets
            .iter()
            .copied()
            .filter(|d| *d < Decimal::ZERO)
            .collect();
        let mean = |v: &[Decimal], what: &str| -> Result<Option<Decimal>> {
            if v.is_empty() {
                return Ok(None);
            }
            let mut sum = Decimal::ZERO;
            for x in v {
                sum = add(sum, *x, seq, what)?;
            }
            Ok(Some(fixed(sum / Decimal::from(v.len()), 2)))
        };
        let decided = wins.len() + losses.len();
        let gross = add(
            self.realized_gross,
            self.unrealized_change,
            seq,
            "realized P&L + unrealized P&L change",
        )?;
        let realized_net = sub(
            self.realized_gross,
            self.commission,
            seq,
            "realized P&L − commission",
        )?;
        let net = sub(gross, self.commission, seq, "gross P&L − commission")?;
        Ok(PnlFigures {
            currency: currency.to_owned(),
            trades: self.trades,
            volume: self.volume.normalize(),
            notional: fixed(self.notional, 2),
            realized_gross: fixed(self.realized_gross, 2),
            commission: fixed(self.commission, 2),
            realized_net: fixed(realized_net, 2),
            unrealized_change: fixed(self.unrealized_change, 2),
            gross_pnl: fixed(gross, 2),
            net_pnl: fixed(net, 2),
            closed_lots: self.lot_nets.len() as u64,
            wins: wins.len() as u64,
            losses: losses.len() as u64,
            win_rate: (decided > 0)
                .then(|| fixed(Decimal::from(wins.len()) / Decimal::from(decided), 4)),
            avg_win: mean(&wins, "sum of winning lots")?,
            avg_loss: mean(&losses, "sum of losing lots")?,
            largest_win: wins.iter().max().map(|d| fixed(*d, 2)),
            largest_loss: losses.iter().min().map(|d| fixed(*d, 2)),
        })
    }
}

/// One day in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayRow {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    /// The figures.
    #[serde(flatten)]
    pub figures: PnlFigures,
}

/// A whole range in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RangeSummary {
    /// The figures, summed over the range.
    #[serde(flatten)]
    pub figures: PnlFigures,
    /// Days listed.
    pub days: u64,
    /// Days with at least one fill.
    pub trading_days: u64,
    /// Best day's `net_pnl`.
    pub best_day: Option<Decimal>,
    /// Worst day's `net_pnl`.
    pub worst_day: Option<Decimal>,
    /// Annualized Sharpe ratio of daily `net_pnl`, 4 places.
    pub sharpe: Option<Decimal>,
    /// Largest fall of cumulative daily `net_pnl` from its peak (≥ 0), 2 places.
    pub max_drawdown: Decimal,
}

/// A point of the realized equity curve: cumulative `realized_gross − commission`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EquityPoint {
    /// Currency.
    pub currency: String,
    /// When (ns).
    pub ts: i64,
    /// Cumulative realized net P&L since the range's start, 2 places.
    pub cumulative: Decimal,
}

/// The daily summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DailyReport {
    /// What it covers.
    pub filter: ReportFilter,
    /// The range as text.
    pub range: String,
    /// One row per day and currency with activity.
    pub days: Vec<DayRow>,
    /// The range per currency.
    pub totals: Vec<RangeSummary>,
    /// The realized equity curve, per currency, in time order.
    pub equity_curve: Vec<EquityPoint>,
    /// What the reader should know.
    pub notes: Vec<String>,
}

/// One month in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthRow {
    /// `YYYY-MM`.
    pub month: String,
    /// The month's figures and statistics.
    #[serde(flatten)]
    pub summary: RangeSummary,
}

/// Monthly performance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthlyReport {
    /// What it covers.
    pub filter: ReportFilter,
    /// The range as text.
    pub range: String,
    /// One row per month and currency with activity.
    pub months: Vec<MonthRow>,
    /// The range per currency.
    pub totals: Vec<RangeSummary>,
    /// The days underneath (for the daily P&L chart).
    pub days: Vec<DayRow>,
    /// The realized equity curve.
    pub equity_curve: Vec<EquityPoint>,
    /// What the reader should know.
    pub notes: Vec<String>,
}

struct Core {
    days: BTreeMap<(Date, String), Acc>,
    equity: Vec<EquityPoint>,
    notes: Vec<String>,
}

fn unrealized_by_currency(b: &Books) -> Result<BTreeMap<String, Decimal>> {
    let mut m = BTreeMap::new();
    for p in b.open_positions() {
        if let Some(u) = p.unrealized_pnl {
            let seq = p.open_lots.last().map_or(u64::MAX, |l| l.open_seq);
            let v = m.entry(p.currency.clone()).or_insert(Decimal::ZERO);
            *v = add(*v, u, seq, "unrealized P&L by currency")?;
        }
    }
    Ok(m)
}

fn core(inv: &Investigator, filter: &ReportFilter) -> Result<Core> {
    let (records, unreadable) = books_records(inv, &filter.scope, filter.to)?;
    let mut c = core_from(&records, filter)?;
    c.notes.extend(crate::record::unreadable_note(unreadable));
    Ok(c)
}

fn core_from(records: &[Record], filter: &ReportFilter) -> Result<Core> {
    let full = books_at(records, filter.to.map(|t| t - 1))?;
    let mut notes = Vec::new();
    let fills = full.fills();
    let (Some(first), Some(last)) = (
        fills.iter().map(|f| f.ts_event).min(),
        fills.iter().map(|f| f.ts_event).max(),
    ) else {
        return Ok(Core {
            days: BTreeMap::new(),
            equity: Vec::new(),
            notes: vec!["no fills in the records read".into()],
        });
    };
    // The days of the report: UTC, a zone's, or a venue's trading days.
    let cal = &filter.days;
    let day_of = |ts: i64| cal.day_of(ts);
    let from = filter.from.unwrap_or_else(|| cal.start_of(day_of(first)));
    let to = filter
        .to
        .unwrap_or_else(|| cal.start_of(cal.next(day_of(last))));
    let inside = |ts: i64| ts >= from && ts < to;
    let mut days: BTreeMap<(Date, String), Acc> = BTreeMap::new();
    // Realized equity: (ts, currency, amount) changes.
    let mut steps: Vec<(i64, String, Decimal, u64)> = Vec::new();
    for f in fills.iter().filter(|f| inside(f.ts_event)) {
        let d = day_of(f.ts_event);
        let a = days.entry((d, f.currency.clone())).or_default();
        a.trades += 1;
        a.seq = a.seq.max(f.seq);
        a.volume = add(a.volume, f.quantity, f.seq, "volume + data.fill_qty")?;
        a.notional = add(
            a.notional,
            f.notional()?,
            f.seq,
            "notional + data.fill_qty × data.fill_price × multiplier",
        )?;
        let a = days.entry((d, f.commission_currency.clone())).or_default();
        a.seq = a.seq.max(f.seq);
        a.commission = add(
            a.commission,
            f.commission,
            f.seq,
            "commission + data.commission",
        )?;
        steps.push((
            f.ts_event,
            f.commission_currency.clone(),
            -f.commission,
            f.seq,
        ));
    }
    for l in full.closed_lots().iter().filter(|l| inside(l.close_ts)) {
        let a = days
            .entry((day_of(l.close_ts), l.currency.clone()))
            .or_default();
        a.seq = a.seq.max(l.close_seq);
        a.realized_gross = add(
            a.realized_gross,
            l.gross_pnl,
            l.close_seq,
            "realized P&L + the lot's gross P&L",
        )?;
        a.lot_nets.push(l.net_pnl);
        steps.push((l.close_ts, l.currency.clone(), l.gross_pnl, l.close_seq));
    }
    // Unrealized P&L at each day's end, against the previous day's end.
    let mut bounds = vec![from];
    let mut d = cal.start_of(cal.next(day_of(from)));
    while d < to {
        bounds.push(d);
        d = cal.start_of(cal.next(day_of(d)));
    }
    bounds.push(to);
    if bounds.len() - 1 <= MAX_MARKED_DAYS {
        let mut prev = unrealized_by_currency(&books_at(records, Some(from - 1))?)?;
        // A day without any books record leaves positions and marks as they were: no
        // need to build the books again for it.
        let mut times: Vec<i64> = records.iter().map(|r| r.ts_event).collect();
        times.sort_unstable();
        for w in bounds.windows(2) {
            let i = times.partition_point(|t| *t < w[0]);
            if times.get(i).is_none_or(|t| *t >= w[1]) {
                continue;
            }
            let now = unrealized_by_currency(&books_at(records, Some(w[1] - 1))?)?;
            // The last record of the day: what an overflow of its change names.
            let overflow = |what: String| Error::Overflow {
                seq: records
                    .iter()
                    .filter(|r| r.ts_event < w[1])
                    .map(|r| r.seq)
                    .max()
                    .unwrap_or(u64::MAX),
                what,
            };
            let day = day_of(w[0]);
            let currencies: BTreeSet<&String> = prev.keys().chain(now.keys()).collect();
            for cur in currencies {
                let (n, p) = (
                    now.get(cur).copied().unwrap_or_default(),
                    prev.get(cur).copied().unwrap_or_default(),
                );
                let ch = n.checked_sub(p).ok_or_else(|| {
                    overflow(format!("unrealized P&L change over the day ({n} − {p})"))
                })?;
                if !ch.is_zero() {
                    let a = days.entry((day, cur.clone())).or_default();
                    let u = a.unrealized_change;
                    a.unrealized_change = u
                        .checked_add(ch)
                        .ok_or_else(|| overflow(format!("unrealized P&L change ({u} + {ch})")))?;
                }
            }
            prev = now;
        }
    } else {
        notes.push(format!(
            "the range spans more than {MAX_MARKED_DAYS} days: unrealized P&L is not marked day \
             by day, so gross and net P&L are realized only"
        ));
    }
    days.retain(|_, a| !a.is_empty());
    steps.sort_by_key(|a| a.0);
    let mut cum: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut equity: Vec<EquityPoint> = Vec::new();
    for (ts, cur, amt, seq) in steps {
        if !cum.contains_key(&cur) {
            // The curve starts at 0 just before the currency's first change.
            equity.push(EquityPoint {
                currency: cur.clone(),
                ts: ts - 1,
                cumulative: Decimal::ZERO.round_dp(2),
            });
        }
        let c = cum.entry(cur.clone()).or_default();
        *c = add(*c, amt, seq, "cumulative realized P&L")?;
        equity.push(EquityPoint {
            currency: cur,
            ts,
            cumulative: fixed(*c, 2),
        });
    }
    if !full.anomalies().is_empty() {
        notes.push(format!(
            "the books flagged {} impossible order transitions (see `tradetrail positions`); \
             the fills were booked as recorded",
            full.anomalies().len()
        ));
    }
    Ok(Core {
        days,
        equity,
        notes,
    })
}

fn summarize(currency: &str, days: &[(Date, &Acc)]) -> Result<RangeSummary> {
    let mut total = Acc::default();
    let mut nets = Vec::new();
    for (_, a) in days {
        total.merge(a)?;
        nets.push((a.figures(currency)?.net_pnl, a.seq));
    }
    let mut peak = Decimal::ZERO;
    let mut cum = Decimal::ZERO;
    let mut dd = Decimal::ZERO;
    for (n, seq) in &nets {
        cum = add(cum, *n, *seq, "cumulative net P&L")?;
        peak = peak.max(cum);
        dd = dd.max(sub(peak, cum, *seq, "drawdown")?);
    }
    let nets: Vec<Decimal> = nets.into_iter().map(|(n, _)| n).collect();
    let sharpe = sharpe(&nets);
    Ok(RangeSummary {
        figures: total.figures(currency)?,
        days: days.len() as u64,
        trading_days: days.iter().filter(|(_, a)| a.trades > 0).count() as u64,
        best_day: nets.iter().max().copied(),
        worst_day: nets.iter().min().copied(),
        sharpe,
        max_drawdown: fixed(dd, 2),
    })
}

/// `mean / sd × √252` with the sample standard deviation; `None` below two values or
/// with no variation. 4 places.
///
/// The ratio does not change when every value is divided by the same number, so when
/// the squares of the values would overflow a decimal it is computed on the values
/// divided by the largest magnitude among them.
pub fn sharpe(daily: &[Decimal]) -> Option<Decimal> {
    if daily.len() < 2 {
        return None;
    }
    sharpe_checked(daily).or_else(|| {
        let max = daily.iter().map(|d| d.abs()).max()?;
        if max.is_zero() {
            return None;
        }
        let scaled: Option<Vec<Decimal>> = daily.iter().map(|d| d.checked_div(max)).collect();
        sharpe_checked(&scaled?)
    })
}

/// [`sharpe`] in checked arithmetic: `None` also when a step overflows.
fn sharpe_checked(daily: &[Decimal]) -> Option<Decimal> {
    let n = Decimal::from(daily.len());
    let mut sum = Decimal::ZERO;
    for x in daily {
        sum = sum.checked_add(*x)?;
    }
    let mean = sum.checked_div(n)?;
    let mut squares = Decimal::ZERO;
    for x in daily {
        let d = x.checked_sub(mean)?;
        squares = squares.checked_add(d.checked_mul(d)?)?;
    }
    let var = squares.checked_div(n - Decimal::ONE)?;
    let sd = var.sqrt()?;
    if sd.is_zero() {
        return None;
    }
    Some(fixed(
        mean.checked_div(sd)?
            .checked_mul(Decimal::from(252).sqrt()?)?,
        4,
    ))
}

fn by_currency(days: &BTreeMap<(Date, String), Acc>) -> BTreeMap<String, Vec<(Date, &Acc)>> {
    let mut m: BTreeMap<String, Vec<(Date, &Acc)>> = BTreeMap::new();
    for ((d, cur), a) in days {
        m.entry(cur.clone()).or_default().push((*d, a));
    }
    m
}

fn day_rows(days: &BTreeMap<(Date, String), Acc>) -> Result<Vec<DayRow>> {
    // The dates are the filter's days (the keys were made by its `day_of`).
    days.iter()
        .map(|((d, cur), a)| {
            Ok(DayRow {
                date: date_text(*d),
                figures: a.figures(cur)?,
            })
        })
        .collect()
}

/// The daily summary over the filter's range (one row per UTC day and currency).
pub fn daily(inv: &Investigator, filter: &ReportFilter) -> Result<DailyReport> {
    let c = core(inv, filter)?;
    daily_of(c, filter)
}

/// The daily summary from books records already read (`seq` order, all history
/// before `filter.to`).
pub fn daily_from(records: &[Record], filter: &ReportFilter) -> Result<DailyReport> {
    daily_of(core_from(records, filter)?, filter)
}

fn daily_of(c: Core, filter: &ReportFilter) -> Result<DailyReport> {
    let totals = by_currency(&c.days)
        .iter()
        .map(|(cur, d)| summarize(cur, d))
        .collect::<Result<_>>()?;
    Ok(DailyReport {
        filter: filter.clone(),
        range: filter.describe(),
        days: day_rows(&c.days)?,
        totals,
        equity_curve: c.equity,
        notes: c.notes,
    })
}

/// Monthly performance over the filter's range.
pub fn monthly(inv: &Investigator, filter: &ReportFilter) -> Result<MonthlyReport> {
    let c = core(inv, filter)?;
    monthly_of(c, filter)
}

/// Monthly performance from books records already read.
pub fn monthly_from(records: &[Record], filter: &ReportFilter) -> Result<MonthlyReport> {
    monthly_of(core_from(records, filter)?, filter)
}

fn monthly_of(c: Core, filter: &ReportFilter) -> Result<MonthlyReport> {
    let mut months = Vec::new();
    for (cur, days) in by_currency(&c.days) {
        let mut by_month: BTreeMap<(i32, u8), Vec<(Date, &Acc)>> = BTreeMap::new();
        for (d, a) in days.iter() {
            by_month
                .entry((d.year(), d.month() as u8))
                .or_default()
                .push((*d, a));
        }
        for ((y, m), ds) in by_month {
            months.push(MonthRow {
                month: format!("{y:04}-{m:02}"),
                summary: summarize(&cur, &ds)?,
            });
        }
    }
    months.sort_by(|a, b| {
        a.month
            .cmp(&b.month)
            .then_with(|| a.summary.figures.currency.cmp(&b.summary.figures.currency))
    });
    let totals = by_currency(&c.days)
        .iter()
        .map(|(cur, d)| summarize(cur, d))
        .collect::<Result<_>>()?;
    Ok(MonthlyReport {
        filter: filter.clone(),
        range: filter.describe(),
        months,
        totals,
        days: day_rows(&c.days)?,
        equity_curve: c.equity,
        notes: c.notes,
    })
}

const FIGURE_COLUMNS: &[&str] = &[
    "currency",
    "trades",
    "volume",
    "notional",
    "realized_gross",
    "commission",
    "unrealized_change",
    "gross_pnl",
    "net_pnl",
    "closed_lots",
    "win_rate",
    "avg_win",
    "avg_loss",
    "largest_win",
    "largest_loss",
];

fn figure_cells(f: &PnlFigures) -> Vec<String> {
    vec![
        f.currency.clone(),
        f.trades.to_string(),
        f.volume.to_string(),
        f.notional.to_string(),
        f.realized_gross.to_string(),
        f.commission.to_string(),
        f.unrealized_change.to_string(),
        f.gross_pnl.to_string(),
        f.net_pnl.to_string(),
        f.closed_lots.to_string(),
        dec(f.win_rate),
        dec(f.avg_win),
        dec(f.avg_loss),
        dec(f.largest_win),
        dec(f.largest_loss),
    ]
}

fn summary_table(
    name: &str,
    title: &str,
    first: &str,
    rows: Vec<(String, &RangeSummary)>,
) -> Table {
    let mut cols = vec![first];
    cols.extend_from_slice(FIGURE_COLUMNS);
    cols.extend_from_slice(&[
        "days",
        "trading_days",
        "best_day",
        "worst_day",
        "sharpe",
        "max_drawdown",
    ]);
    let mut t = Table::new(name, title, &cols);
    for (k, s) in rows {
        let mut r = vec![k];
        r.extend(figure_cells(&s.figures));
        r.extend([
            s.days.to_string(),
            s.trading_days.to_string(),
            dec(s.best_day),
            dec(s.worst_day),
            dec(s.sharpe),
            s.max_drawdown.to_string(),
        ]);
        t.push(r);
    }
    t
}

fn days_table(days: &[DayRow]) -> Table {
    let mut cols = vec!["date"];
    cols.extend_from_slice(FIGURE_COLUMNS);
    let mut t = Table::new("days", "By day", &cols);
    for d in days {
        let mut r = vec![d.date.clone()];
        r.extend(figure_cells(&d.figures));
        t.push(r);
    }
    t
}

fn pnl_charts(days: &[DayRow], equity: &[EquityPoint]) -> Vec<Chart> {
    let mut charts = Vec::new();
    let currencies: BTreeSet<&str> = equity.iter().map(|e| e.currency.as_str()).collect();
    for cur in currencies {
        charts.push(Chart::Line {
            title: format!("Equity curve (cumulative realized net P&L), {cur}"),
            y_label: cur.to_owned(),
            points: equity
                .iter()
                .filter(|e| e.currency == cur)
                .map(|e| (e.ts, to_f64(e.cumulative)))
                .collect(),
        });
    }
    let currencies: BTreeSet<&str> = days.iter().map(|d| d.figures.currency.as_str()).collect();
    // `MM-DD` within one year; across years the whole date, so no label repeats.
    let years: BTreeSet<&str> = days.iter().filter_map(|d| d.date.get(..4)).collect();
    let short = years.len() <= 1;
    for cur in currencies {
        charts.push(Chart::Bars {
            title: format!("Daily net P&L, {cur}"),
            y_label: cur.to_owned(),
            bars: days
                .iter()
                .filter(|d| d.figures.currency == cur)
                .map(|d| {
                    (
                        if short {
                            d.date.get(5..).unwrap_or(&d.date).to_owned()
                        } else {
                            d.date.clone()
                        },
                        to_f64(d.figures.net_pnl),
                    )
                })
                .collect(),
        });
    }
    charts
}

impl Tabular for DailyReport {
    fn title(&self) -> String {
        format!("Daily summary, {}", self.range)
    }
    fn tables(&self) -> Vec<Table> {
        vec![
            days_table(&self.days),
            summary_table(
                "totals",
                "Whole range",
                "range",
                self.totals
                    .iter()
                    .map(|s| (self.range.clone(), s))
                    .collect(),
            ),
        ]
    }
    fn charts(&self) -> Vec<Chart> {
        pnl_charts(&self.days, &self.equity_curve)
    }
    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }
}

impl Tabular for MonthlyReport {
    fn title(&self) -> String {
        format!("Monthly performance, {}", self.range)
    }
    fn tables(&self) -> Vec<Table> {
        vec![
            summary_table(
                "months",
                "By month",
                "month",
                self.months
                    .iter()
                    .map(|m| (m.month.clone(), &m.summary))
                    .collect(),
            ),
            summary_table(
                "totals",
                "Whole range",
                "range",
                self.totals
                    .iter()
                    .map(|s| (self.range.clone(), s))
                    .collect(),
            ),
        ]
    }
    fn charts(&self) -> Vec<Chart> {
        pnl_charts(&self.days, &self.equity_curve)
    }
    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }
}
