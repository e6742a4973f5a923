//! tradetrail reports: what compliance, risk and the desk ask of the trail, computed
//! from the journal's records and nothing else.
//!
//! - [`compliance`]: per trader and strategy — orders, rejects, risk rejections,
//!   approvals and who approved, overrides, parameter/config/mode changes with old →
//!   new values and reasons, kill switches;
//! - [`execution`]: slippage against the decision and arrival prices, fill ratio,
//!   submit → accept and submit → fill latency percentiles, reject reasons, by venue,
//!   trader and strategy;
//! - [`daily`] and [`monthly`]: trades, volume, gross and net P&L, commission, win
//!   rate, average and largest win/loss, Sharpe, drawdown, from the books' FIFO lots
//!   (`tradetrail_books`);
//! - [`reconciliation`]: runs, discrepancies by severity, open and resolved reviews;
//! - [`tax`]: realized gains per closed lot with open/close dates and holding period;
//!
//! Every report takes a [`ReportFilter`] (a `[from, to)` range on `ts_event` and an
//! optional trader, strategy or account — a trader's token sets `trader_id`, so a
//! trader sees only their own records) and returns a serde-serializable struct. The
//! [`Tabular`] view of a report feeds the renderers: [`render::write_text`],
//! [`render::write_csv`], [`render::write_json`] and [`html::write_html`] (a
//! self-contained page with SVG charts). [`run`] and [`write`] do the whole request,
//! as `tradetrail report` and `GET /v1/reports/{kind}` do.
//!
//! The formulas are in each module's documentation and in `docs/reports.md`.
//!
//! ```
//! use tradetrail_core::{DataDir, InitOptions, Recorder};
//! use tradetrail_model::Event;
//! use tradetrail_query::{Investigator, Source};
//! use tradetrail_reports::{execution, ReportFilter};
//!
//! let tmp = tempfile::tempdir().unwrap();
//! let dir = DataDir::new(tmp.path().join("data"));
//! let rec = Recorder::init(&dir, InitOptions { origin: Some("example/desk".into()), ..Default::default() }).unwrap();
//! let t0 = 1_795_700_000_000_000_000;
//! let order = |ty: &str, dt: i64| {
//!     Event::new(ty, t0 + dt, "oms", "trader:T-1")
//!         .with_trader("T-1")
//!         .with_instrument("AAPL.XNAS")
//!         .with_entity("order", "O-1")
//! };
//! rec.record(&Event::new("recommendation.generated", t0, "pm", "algo:m")
//!     .with_instrument("AAPL.XNAS").with_entity("recommendation", "R-1")
//!     .with_data("side", "buy").with_data("quantity", "100").with_data("price", "200.00")).unwrap();
//! rec.record(&order("order.submitted", 1_000).with_ref("recommendation_id", "R-1")
//!     .with_data("side", "buy").with_data("quantity", "100").with_data("order_type", "market")).unwrap();
//! rec.record(&order("order.accepted", 3_000_000)).unwrap();
//! rec.record(&order("order.filled", 8_000_000).with_data("fill_qty", "100")
//!     .with_data("fill_price", "200.10").with_data("trade_id", "X-1")).unwrap();
//!
//! let inv = Investigator::open(Source::dir(dir.journal()), dir.index().join("query")).unwrap();
//! let r = execution(&inv, &ReportFilter::default()).unwrap();
//! // Bought at 200.10 against a decision at 200.00: 5 bps of cost.
//! assert_eq!(r.totals.slippage_vs_decision_bps.unwrap().to_string(), "5.00");
//! assert_eq!(r.totals.fill_ratio.unwrap().to_string(), "1.0000");
//! assert_eq!(r.totals.accept_latency.p50_ns, Some(2_999_000));
//! ```

pub mod axis;
mod books_input;
pub mod compliance;
mod error;
pub mod execution;
pub mod html;
pub mod performance;
pub mod reconciliation;
mod record;
pub mod render;
mod scope;
pub mod stats;
pub mod table;
pub mod tax;

use std::io::Write;

use serde::Serialize;
use tradetrail_query::Investigator;

pub use compliance::{compliance, ComplianceReport};
pub use error::{Error, Result};
pub use execution::{execution, ExecutionReport};
pub use performance::{daily, monthly, DailyReport, MonthlyReport};
pub use reconciliation::{reconciliation, ReconciliationReport};
pub use record::{EntityRef, Rec};
pub use render::Format;
pub use scope::{
    format_date, parse_date, parse_month, parse_year, ReportFilter, ReportKind, ReportRequest,
    Scope,
};
pub use table::{Chart, Table, Tabular};
pub use tax::{tax, TaxReport};

/// Any report, tagged with its kind when serialized (`{"kind":"execution",...}`).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Report {
    /// See [`daily`].
    Daily(DailyReport),
    /// See [`monthly`].
    Monthly(MonthlyReport),
    /// See [`tax`].
    Tax(TaxReport),
    /// See [`execution`].
    Execution(ExecutionReport),
    /// See [`compliance`].
    Compliance(ComplianceReport),
    /// See [`reconciliation`].
    Reconciliation(ReconciliationReport),
}

impl Report {
    /// The report's tables and charts.
    pub fn tabular(&self) -> &dyn Tabular {
        match self {
            Report::Daily(r) => r,
            Report::Monthly(r) => r,
            Report::Tax(r) => r,
            Report::Execution(r) => r,
            Report::Compliance(r) => r,
            Report::Reconciliation(r) => r,
        }
    }
}

/// Makes the report a request asks for.
pub fn run(inv: &Investigator, req: &ReportRequest) -> Result<Report> {
    req.check()?;
    let f = &req.filter;
    Ok(match req.kind {
        ReportKind::Daily => Report::Daily(daily(inv, f)?),
        ReportKind::Monthly => Report::Monthly(monthly(inv, f)?),
        ReportKind::Tax => Report::Tax(tax(inv, f)?),
        ReportKind::Execution => Report::Execution(execution(inv, f)?),
        ReportKind::Compliance => Report::Compliance(compliance(inv, f)?),
        ReportKind::Reconciliation => Report::Reconciliation(reconciliation(inv, f)?),
    })
}

/// Writes a report in a format. `section` picks one table for CSV.
pub fn write(
    out: &mut dyn Write,
    report: &Report,
    format: Format,
    section: Option<&str>,
) -> Result<()> {
    match format {
        Format::Table => render::write_text(out, report.tabular()),
        Format::Json => render::write_json(out, report),
        Format::Csv => render::write_csv(out, report.tabular(), section),
        Format::Html => html::write_html(out, report.tabular()),
    }
}
