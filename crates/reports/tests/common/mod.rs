//! A small hand-built journal: events recorded through the `Recorder`, read back
//! through the query index, exactly as the CLI and the server do.

#![allow(dead_code, clippy::too_many_arguments)]

use tempfile::TempDir;
use tradetrail_core::{DataDir, InitOptions, Recorder};
use tradetrail_model::Event;
use tradetrail_query::{Investigator, Source};

/// 2026-11-02T00:00:00Z (a Monday).
pub const DAY: i64 = 1_793_577_600 * 1_000_000_000;
pub const H: i64 = 3_600 * 1_000_000_000;
pub const MS: i64 = 1_000_000;
pub const S: i64 = 1_000_000_000;
pub const D: i64 = 24 * H;

pub struct Journal {
    pub tmp: TempDir,
    pub dir: DataDir,
    pub rec: Recorder,
}

impl Journal {
    pub fn new() -> Journal {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path().join("data"));
        let rec = Recorder::init(
            &dir,
            InitOptions {
                origin: Some("test/reports".into()),
                ..Default::default()
            },
        )
        .unwrap();
        Journal { tmp, dir, rec }
    }

    pub fn record(&self, e: Event) -> u64 {
        self.rec
            .record(&e)
            .unwrap_or_else(|err| panic!("{err}: {e:?}"))
            .seq
    }

    pub fn investigator(&self) -> Investigator {
        Investigator::open(
            Source::dir(self.dir.journal()),
            self.dir.index().join("query"),
        )
        .unwrap()
    }
}

/// An order event of trader `trader`, strategy `strategy`, account `U1`.
pub fn order(ty: &str, ts: i64, trader: &str, strategy: &str, instrument: &str, id: &str) -> Event {
    let actor = if ty == "order.submitted" {
        format!("trader:{trader}")
    } else {
        "system".into()
    };
    Event::new(ty, ts, "oms", &actor)
        .with_trader(trader)
        .with_strategy(strategy)
        .with_account("U1")
        .with_instrument(instrument)
        .with_entity("order", id)
}

pub fn recommendation(
    ts: i64,
    trader: &str,
    strategy: &str,
    instrument: &str,
    id: &str,
    side: &str,
    price: &str,
) -> Event {
    Event::new(
        "recommendation.generated",
        ts,
        "pm",
        &format!("algo:{strategy}"),
    )
    .with_trader(trader)
    .with_strategy(strategy)
    .with_account("U1")
    .with_instrument(instrument)
    .with_entity("recommendation", id)
    .with_data("side", side)
    .with_data("quantity", "100")
    .with_data("price", price)
}

pub fn submitted(
    ts: i64,
    trader: &str,
    strategy: &str,
    instrument: &str,
    id: &str,
    side: &str,
    qty: &str,
) -> Event {
    order("order.submitted", ts, trader, strategy, instrument, id)
        .with_data("side", side)
        .with_data("quantity", qty)
        .with_data("order_type", "market")
}

pub fn filled(
    ts: i64,
    trader: &str,
    strategy: &str,
    instrument: &str,
    id: &str,
    qty: &str,
    price: &str,
    trade: &str,
    commission: &str,
) -> Event {
    order("order.filled", ts, trader, strategy, instrument, id)
        .with_data("fill_qty", qty)
        .with_data("fill_price", price)
        .with_data("trade_id", trade)
        .with_data("commission", commission)
        .with_data("currency", "USD")
}

pub fn dec(s: &str) -> rust_decimal::Decimal {
    s.parse().unwrap()
}
