//! The shape every report takes on the way out: titled tables of text cells and
//! charts. Each report builds these from its own figures ([`Tabular`]); the renderers
//! (`render.rs`, `html.rs`) know nothing of any particular report.

use serde::Serialize;

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
