//! The shape every report takes on the way out: titled tables of text cells and
//! charts. Each report builds these from its own figures ([`Tabular`]); the renderers
//! (`render.rs`, `html.rs`) know nothing of any particular report.

use std::borrow::Cow;
use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;
use tradetrail_query::numfmt;

/// One table: a name (its CSV section), a title, column headers and rows of cells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Table {
    /// Short machine name, e.g. `by_venue` (the section in CSV output).
    pub name: String,
    /// Heading for people.
    pub title: String,
    /// Column headers.
    pub columns: Vec<String>,
    /// Rows; each has one cell per column.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table.
    pub fn new(name: &str, title: &str, columns: &[&str]) -> Table {
        Table {
            name: name.into(),
            title: title.into(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (must have one cell per column).
    pub fn push(&mut self, row: Vec<String>) {
        debug_assert_eq!(row.len(), self.columns.len(), "table {}", self.name);
        self.rows.push(row);
    }
}

/// A chart for the HTML page. Values are `f64` because they only place marks on a
/// picture; every figure a reader relies on is in the tables, computed in decimals.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "chart", rename_all = "snake_case")]
pub enum Chart {
    /// A line through points in time order (an equity curve).
    Line {
        /// Heading.
        title: String,
        /// What the y axis measures.
        y_label: String,
        /// (ns since the epoch, value), in time order.
        points: Vec<(i64, f64)>,
    },
    /// One bar per label (daily P&L); negative bars are drawn below the axis.
    Bars {
        /// Heading.
        title: String,
        /// What the y axis measures.
        y_label: String,
        /// (label, value).
        bars: Vec<(String, f64)>,
    },
    /// Counts per bin (a slippage histogram).
    Histogram {
        /// Heading.
        title: String,
        /// What the x axis measures.
        x_label: String,
        /// (lower edge, upper edge, count); edges ascend, bins are contiguous.
        bins: Vec<(f64, f64, u64)>,
    },
}

impl Chart {
    /// The chart's heading.
    pub fn title(&self) -> &str {
        match self {
            Chart::Line { title, .. }
            | Chart::Bars { title, .. }
            | Chart::Histogram { title, .. } => title,
        }
    }
}

/// What a report gives the renderers.
pub trait Tabular {
    /// The report's heading, e.g. `Execution quality, 2026-11-20`.
    fn title(&self) -> String;
    /// Its tables, in reading order.
    fn tables(&self) -> Vec<Table>;
    /// Its charts (HTML only).
    fn charts(&self) -> Vec<Chart> {
        Vec::new()
    }
    /// Things the reader should know (records skipped, prices missing, ...).
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
}

/// What a column holds, which decides how its cells are shown to people (text
/// tables, HTML). CSV and JSON carry the cells exactly as the reports wrote them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Free text, left-aligned (right-aligned when every cell is a number).
    Text,
    /// An identifier (account, trade, review, run...): left-aligned, never regrouped;
    /// in text tables an id longer than [`ID_WIDTH`] is shortened in the middle with
    /// `…`, in HTML it keeps its full text in a `title` and is cut by CSS.
    Id,
    /// Money: 2 places, thousands separators ([`numfmt::money`]).
    Money,
    /// A price: the instrument's decimals ([`numfmt::price`]); see [`Table::human`].
    Price,
    /// A quantity: exact, no trailing zeros, thousands separators.
    Quantity,
    /// Basis points: 2 places.
    Bps,
    /// A ratio shown as a percentage with 2 places (`0.7765` → `77.65%`).
    Percent,
    /// An integer count, thousands separators.
    Count,
    /// A figure shown with the places the report gave it, thousands separators
    /// (latencies in ms, durations in s, the Sharpe ratio).
    Figure,
    /// A number that is a label (a `seq`, an error code): right-aligned, as written.
    Number,
    /// An instant (RFC 3339 text): left-aligned, never wrapped in HTML.
    Time,
}

/// Longest id a text table shows whole; longer ones keep their start and end.
pub const ID_WIDTH: usize = 24;

/// A column's header for people and its [`Kind`], from its machine name (the CSV
/// header and JSON field): the one mapping for every report. Names not listed get
/// their words capitalized (`error_code` → `Error code`, unit suffixes in brackets)
/// and are shown as text.
pub fn column(name: &str) -> (Cow<'static, str>, Kind) {
    use Kind::*;
    let (header, kind): (&'static str, Kind) = match name {
        // Amounts of money.
        "notional" => ("Notional", Money),
        "realized_gross" => ("Realized gross", Money),
        "commission" => ("Commission", Money),
        "unrealized_change" => ("Unrealized change", Money),
        "gross_pnl" => ("Gross P&L", Money),
        "net_pnl" => ("Net P&L", Money),
        "avg_win" => ("Average win", Money),
        "avg_loss" => ("Average loss", Money),
        "largest_win" => ("Largest win", Money),
        "largest_loss" => ("Largest loss", Money),
        "best_day" => ("Best day", Money),
        "worst_day" => ("Worst day", Money),
        "max_drawdown" => ("Max drawdown", Money),
        "proceeds" => ("Proceeds", Money),
        "cost_basis" => ("Cost basis", Money),
        "gain" => ("Gain", Money),
        "net_gain" => ("Net gain", Money),
        // Prices.
        "open_price" => ("Open price", Price),
        "close_price" => ("Close price", Price),
        "price" => ("Price", Price),
        // Quantities.
        "volume" => ("Volume", Quantity),
        "quantity" => ("Quantity", Quantity),
        "multiplier" => ("Multiplier", Quantity),
        // Ratios, bps.
        "win_rate" => ("Win rate", Percent),
        "fill_ratio" => ("Fill ratio", Percent),
        "slip_decision_bps" => ("Slippage vs decision (bps)", Bps),
        "slip_arrival_bps" => ("Slippage vs arrival (bps)", Bps),
        "sharpe" => ("Sharpe", Figure),
        // Durations.
        "accept_p50_ms" => ("Accept p50 (ms)", Figure),
        "accept_p99_ms" => ("Accept p99 (ms)", Figure),
        "fill_p50_ms" => ("Fill p50 (ms)", Figure),
        "fill_p90_ms" => ("Fill p90 (ms)", Figure),
        "fill_p99_ms" => ("Fill p99 (ms)", Figure),
        "engaged_for_s" => ("Engaged for (s)", Figure),
        "after_s" => ("After (s)", Figure),
        // Counts.
        "trades" => ("Trades", Count),
        "closed_lots" => ("Closed lots", Count),
        "days" => ("Days", Count),
        "trading_days" => ("Trading days", Count),
        "holding_days" => ("Holding days", Count),
        "lots" => ("Lots", Count),
        "orders" => ("Orders", Count),
        "accepted" => ("Accepted", Count),
        "rejected" => ("Rejected", Count),
        "filled" => ("Filled", Count),
        "partial" => ("Partially filled", Count),
        "cancelled" => ("Cancelled", Count),
        "expired" => ("Expired", Count),
        "fills" => ("Fills", Count),
        "count" => ("Count", Count),
        "order_rejects" => ("Order rejects", Count),
        "cancels" => ("Cancels", Count),
        "risk_evals" => ("Risk evaluations", Count),
        "risk_rejections" => ("Risk rejections", Count),
        "approvals_requested" => ("Approvals requested", Count),
        "approved" => ("Approved", Count),
        "approval_rejected" => ("Approvals rejected", Count),
        "approval_expired" => ("Approvals expired", Count),
        "overrides" => ("Overrides", Count),
        "changes" => ("Changes", Count),
        "kill_switches" => ("Kill switches", Count),
        "broker_trades" => ("Broker trades", Count),
        "our_trades" => ("Our trades", Count),
        "matched" => ("Matched", Count),
        "discrepancies" => ("Discrepancies", Count),
        "minor" => ("Minor", Count),
        "major" => ("Major", Count),
        "corrections" => ("Corrections", Count),
        "reviews" => ("Reviews", Count),
        // Instants.
        "time" => ("Time", Time),
        "requested" => ("Requested", Time),
        "resolved" => ("Resolved", Time),
        // Labels that are numbers.
        "seq" => ("Seq", Number),
        "error_code" => ("Error code", Number),
        // Identifiers.
        "account" => ("Account", Id),
        "instrument" => ("Instrument", Id),
        "open_trade" => ("Open trade", Id),
        "close_trade" => ("Close trade", Id),
        "approval" => ("Approval", Id),
        "review" => ("Review", Id),
        "discrepancy" => ("Discrepancy", Id),
        "run" => ("Run", Id),
        "entity" => ("Entity", Id),
        "statement" => ("Statement", Id),
        "key" => ("Key", Id),
        "trader" => ("Trader", Id),
        "strategy" => ("Strategy", Id),
        "actor" => ("Actor", Id),
        "by" => ("By", Id),
        "resolved_by" => ("Resolved by", Id),
        _ => return (Cow::Owned(header_of(name)), Text),
    };
    (Cow::Borrowed(header), kind)
}

/// `rejection_source` → `Rejection source`, `wait_ms` → `Wait (ms)`.
fn header_of(name: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    for w in name.split('_').filter(|w| !w.is_empty()) {
        let w = match w {
            "pnl" => "P&L".to_owned(),
            "bps" | "ms" | "ns" | "s" if !words.is_empty() => format!("({w})"),
            _ => w.to_owned(),
        };
        words.push(w);
    }
    let mut s = words.join(" ");
    if let Some(c) = s.get(..1) {
        let up = c.to_ascii_uppercase();
        s.replace_range(..1, &up);
    }
    s
}

/// A cell as people see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HumanCell {
    /// The text shown (a figure formatted for its kind).
    pub text: String,
    /// The cell as the report wrote it (what CSV and JSON carry; an HTML `title`).
    pub raw: String,
}

/// A [`Table`] as people see it: human headers, formatted figures, alignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HumanTable {
    /// Headers for people (see [`column`]).
    pub headers: Vec<String>,
    /// Each column's kind.
    pub kinds: Vec<Kind>,
    /// Whether each column is right-aligned (figures).
    pub right: Vec<bool>,
    /// Rows of cells.
    pub rows: Vec<Vec<HumanCell>>,
}

fn is_number(s: &str) -> bool {
    s.parse::<f64>().is_ok()
}

impl Table {
    /// The table for people: headers from [`column`], every figure formatted by its
    /// kind through [`tradetrail_query::numfmt`] (`-` and empty cells, and cells that
    /// are not numbers, stay as they are).
    ///
    /// Prices are shown with their instrument's decimals: the most decimals any price
    /// of that instrument (the row's `instrument` cell) has in the table — the
    /// recorded fill prices — so `62.9` beside `62.97` shows as `62.90`. A table
    /// without an `instrument` column takes the most decimals in each price column.
    pub fn human(&self) -> HumanTable {
        let (headers, kinds): (Vec<String>, Vec<Kind>) = self
            .columns
            .iter()
            .map(|c| {
                let (h, k) = column(c);
                (h.into_owned(), k)
            })
            .unzip();
        let inst = self.columns.iter().position(|c| c == "instrument");
        // Decimals per instrument (or per price column, in a table without one).
        let dp_key = |r: &[String], i: usize| -> String {
            match inst.and_then(|j| r.get(j)) {
                Some(x) => format!("i:{x}"),
                None => format!("c:{i}"),
            }
        };
        let mut dp: BTreeMap<String, u32> = BTreeMap::new();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate() {
                if kinds.get(i) == Some(&Kind::Price) {
                    if let Ok(d) = c.parse::<Decimal>() {
                        let e = dp.entry(dp_key(r, i)).or_insert(0);
                        *e = (*e).max(numfmt::decimals(d));
                    }
                }
            }
        }
        let rows: Vec<Vec<HumanCell>> = self
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let kind = kinds.get(i).copied().unwrap_or(Kind::Text);
                        let places = if kind == Kind::Price {
                            dp.get(&dp_key(r, i)).copied()
                        } else {
                            None
                        };
                        HumanCell {
                            text: format_cell(c, kind, places),
                            raw: c.clone(),
                        }
                    })
                    .collect()
            })
            .collect();
        let right = kinds
            .iter()
            .enumerate()
            .map(|(i, k)| match k {
                Kind::Text => {
                    !self.rows.is_empty()
                        && self.rows.iter().all(|r| {
                            r.get(i)
                                .is_none_or(|c| c == "-" || c.is_empty() || is_number(c))
                        })
                }
                Kind::Id | Kind::Time => false,
                _ => true,
            })
            .collect();
        HumanTable {
            headers,
            kinds,
            right,
            rows,
        }
    }
}

/// One cell for people, by its column's kind; `price_dp`: the instrument's decimals.
pub fn format_cell(cell: &str, kind: Kind, price_dp: Option<u32>) -> String {
    let dec = || cell.parse::<Decimal>().ok();
    let shown = match kind {
        Kind::Text | Kind::Id | Kind::Number | Kind::Time => None,
        Kind::Money => dec().map(numfmt::money),
        Kind::Price => dec().map(|d| match price_dp {
            Some(p) => numfmt::price(d, p),
            None => numfmt::price(d, numfmt::decimals(d)),
        }),
        Kind::Quantity => dec().map(numfmt::quantity),
        Kind::Bps => dec().map(numfmt::bps),
        Kind::Percent => dec().map(numfmt::percent),
        Kind::Count => match cell.parse::<i64>() {
            Ok(n) => Some(numfmt::signed_count(n)),
            Err(_) => dec().map(numfmt::quantity),
        },
        Kind::Figure => dec().map(|d| numfmt::fixed(d, d.scale())),
    };
    shown.unwrap_or_else(|| cell.to_owned())
}

/// `s` cut to at most `max` characters by replacing its middle with `…` (the start
/// and the end of an id are what tell ids apart).
pub fn shorten_middle(s: &str, max: usize) -> Cow<'_, str> {
    let n = s.chars().count();
    if n <= max || max < 3 {
        return Cow::Borrowed(s);
    }
    let keep = max - 1;
    let head = keep.div_ceil(2);
    let tail = keep - head;
    let mut out: String = s.chars().take(head).collect();
    out.push('…');
    out.extend(s.chars().skip(n - tail));
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_words_and_kinds_come_from_the_name() {
        assert_eq!(
            column("realized_gross"),
            ("Realized gross".into(), Kind::Money)
        );
        assert_eq!(
            column("slip_decision_bps"),
            ("Slippage vs decision (bps)".into(), Kind::Bps)
        );
        assert_eq!(column("fill_ratio").1, Kind::Percent);
        assert_eq!(column("seq").1, Kind::Number);
        // Not listed: words, units in brackets, shown as text.
        assert_eq!(
            column("rejection_source"),
            ("Rejection source".into(), Kind::Text)
        );
        assert_eq!(column("wait_ms"), ("Wait (ms)".into(), Kind::Text));
        assert_eq!(column("unrealized_pnl").0, "Unrealized P&L");
    }

    /// Each instrument's prices with that instrument's decimals, whatever the row.
    #[test]
    fn prices_take_their_instruments_decimals() {
        let mut t = Table::new(
            "lots",
            "Lots",
            &[
                "instrument",
                "open_price",
                "close_price",
                "proceeds",
                "quantity",
            ],
        );
        t.push(vec![
            "KO.XNYS".into(),
            "62.9".into(),
            "62.97".into(),
            "16498.1".into(),
            "262.00".into(),
        ]);
        t.push(vec![
            "EURUSD.IDEALPRO".into(),
            "1.08".into(),
            "1.08345".into(),
            "-5".into(),
            "100000".into(),
        ]);
        t.push(vec![
            "ESZ6.XCME".into(),
            "6019".into(),
            "6020".into(),
            "1234567.891".into(),
            "1.5".into(),
        ]);
        let h = t.human();
        let cells: Vec<Vec<&str>> = h
            .rows
            .iter()
            .map(|r| r.iter().map(|c| c.text.as_str()).collect())
            .collect();
        assert_eq!(cells[0], ["KO.XNYS", "62.90", "62.97", "16,498.10", "262"]);
        assert_eq!(
            cells[1],
            ["EURUSD.IDEALPRO", "1.08000", "1.08345", "-5.00", "100,000"]
        );
        assert_eq!(
            cells[2],
            ["ESZ6.XCME", "6,019", "6,020", "1,234,567.89", "1.5"]
        );
        // The cells as written stay beside them.
        assert_eq!(h.rows[0][1].raw, "62.9");
        assert_eq!(h.right, [false, true, true, true, true]);
        assert_eq!(h.headers[1], "Open price");
    }
}
