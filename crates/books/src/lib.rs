//! tradetrail books: what the trail says the desk did and holds, derived from the
//! journal and never stored as truth; and the reconciliation of those books against
//! the broker's statements.
//!
//! - [`Books`]: the order state machine per order ([`Order`], [`OrderStatus`], with
//!   impossible transitions flagged as [`Anomaly`]), fills ([`Fill`]), positions per
//!   account and instrument with average cost ([`Position`]), cash by currency
//!   ([`CashBalance`]), realized P&L by FIFO lots ([`ClosedLot`]) and unrealized P&L
//!   against the last price seen; all in `rust_decimal`, as of any instant.
//!
//! ```
//! use rust_decimal::Decimal;
//! use tradetrail_books::{Books, BooksOptions, Record};
//!
//! let lines = [
//!     r#"{"seq":1,"ts_event":1000,"type":"order.submitted","actor":"system","trader_id":"T-1","account_id":"U1","instrument_id":"ESZ6","entity":{"kind":"order","id":"O-1"},"data":{"side":"buy","quantity":"2","order_type":"market","multiplier":"50"}}"#,
//!     r#"{"seq":2,"ts_event":1001,"type":"order.accepted","actor":"system","trader_id":"T-1","account_id":"U1","instrument_id":"ESZ6","entity":{"kind":"order","id":"O-1"},"data":{}}"#,
//!     r#"{"seq":3,"ts_event":1002,"type":"order.filled","actor":"system","trader_id":"T-1","account_id":"U1","instrument_id":"ESZ6","entity":{"kind":"order","id":"O-1"},"data":{"fill_qty":"2","fill_price":"6000.25","trade_id":"X1","commission":"4.20"}}"#,
//!     r#"{"seq":4,"ts_event":1003,"type":"order.submitted","actor":"system","trader_id":"T-1","account_id":"U1","instrument_id":"ESZ6","entity":{"kind":"order","id":"O-2"},"data":{"side":"sell","quantity":"1","order_type":"market","multiplier":"50"}}"#,
//!     r#"{"seq":5,"ts_event":1004,"type":"order.accepted","actor":"system","trader_id":"T-1","account_id":"U1","instrument_id":"ESZ6","entity":{"kind":"order","id":"O-2"},"data":{}}"#,
//!     r#"{"seq":6,"ts_event":1005,"type":"order.filled","actor":"system","trader_id":"T-1","account_id":"U1","instrument_id":"ESZ6","entity":{"kind":"order","id":"O-2"},"data":{"fill_qty":"1","fill_price":"6010.25","trade_id":"X2","commission":"2.10"}}"#,
//! ];
//! let records: Vec<Record> = lines.iter().map(|l| Record::parse(l.as_bytes()).unwrap()).collect();
//! let books = Books::from_records(&records, &BooksOptions::default());
//! let p = books.position("U1", "ESZ6").unwrap();
//! assert_eq!(p.quantity, Decimal::ONE);
//! assert_eq!(p.realized_pnl, Decimal::new(500, 0)); // 10 points × 1 × 50
//! assert_eq!(books.closed_lots()[0].net_pnl.round_dp(2), Decimal::new(49580, 2)); // 500 − 2.10 − 4.20/2
//! assert_eq!(books.cash_of("U1", "USD"), Decimal::new(-299_518_80, 2)); // −2×6000.25×50 + 6010.25×50 − 6.30
//!
//! // As of an instant: before the sell.
//! let early = Books::from_records(&records, &BooksOptions::at(1004));
//! assert_eq!(early.position("U1", "ESZ6").unwrap().quantity, Decimal::TWO);
//! ```
//!
//! The books rules, the statement formats, tolerances and the review flow are in
//! `docs/books.md`.

mod books;
mod error;
pub mod flex;
mod generate;
mod ledger;
pub mod orders;
pub mod reconcile;
mod record;
pub mod review;
mod run;
mod statement;

pub use books::{Adjustments, Books, BooksOptions, CashBalance, FillPatch, InstrumentInfo};
pub use error::{Error, Result};
pub use generate::{generate_statement, Planted};
pub use ledger::{ClosedLot, Fill, OpenLot, Position};
pub use orders::{Anomaly, AnomalyKind, Order, OrderStatus, Side, Transition};
pub use reconcile::{
    instrument_matches, reconcile, CorrectionPlan, Discrepancy, Reconciliation, Severity,
    Tolerances,
};
pub use record::{decimal_of, is_books_type, read_records, read_records_where, EntityRef, Record};
pub use review::{Review, ReviewStatus};
pub use run::{review_id, run, RunOptions, RunOutcome};
pub use statement::{
    ReadOptions, Statement, StatementCash, StatementFormat, StatementOrder, StatementPosition,
    StatementTrade, COLUMNS,
};
