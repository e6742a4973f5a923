//! The views of schema version 2 against a real PostgreSQL: their values from a small
//! trading day worked out by hand, and the row-level policies holding through them.

use postgres::Client;
use tradetrail_core::{DataDir, InitOptions, Recorder};
use tradetrail_model::Event;
use tradetrail_pg::testing::TempCluster;
use tradetrail_pg::{connect, init, sync, Roles, SyncOptions};
use tradetrail_store::Store;

const T0: i64 = 1_795_700_000_000_000_000; // 2026-11-26T10:13:20Z

fn order(ty: &str, i: i64, trader: &str, id: &str) -> Event {
    Event::new(ty, T0 + i, "oms", &format!("trader:{trader}"))
        .with_trader(trader)
        .with_account("U1")
        .with_instrument("AAPL.XNAS")
        .with_entity("order", id)
}

fn day() -> (tempfile::TempDir, DataDir) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path().join("data"));
    Recorder::init(&dir, InitOptions::default()).unwrap();
    let store = Store::open(&dir).unwrap();
    let rec = store.recorder();
    let events = vec![
        order("order.submitted", 1, "T1", "O-1")
            .with_data("side", "BUY")
            .with_data("quantity", "100")
            .with_data("order_type", "limit")
            .with_data("price", "10.50"),
        order("order.accepted", 2, "T1", "O-1").with_data("venue_order_id", "V-9"),
        order("order.filled", 3, "T1", "O-1")
            .with_data("fill_qty", "60")
            .with_data("fill_price", "10")
            .with_data("trade_id", "X-1")
            .with_data("leaves_qty", "40")
            .with_data("commission", "1.00"),
        order("order.filled", 4, "T1", "O-1")
            .with_data("fill_qty", "40")
            .with_data("fill_price", "10.5")
            .with_data("trade_id", "X-2")
            .with_data("leaves_qty", "0")
            .with_data("commission", "0.50"),
        order("order.submitted", 5, "T2", "O-2")
            .with_data("side", "sell")
            .with_data("quantity", "5")
            .with_data("order_type", "market")
            .with_data("retry_attempt", "2"),
        order("order.rejected", 6, "T2", "O-2")
            .with_data("reason", "max position")
            .with_data("error_code", "R-17")
            .with_data("retry_attempt", "not a number"),
        Event::new("position.closed", T0 + 7, "position_keeper", "system")
            .with_trader("T1")
            .with_account("U1")
            .with_instrument("AAPL.XNAS")
            .with_data("quantity", "0")
            .with_data("realized_pnl", "20.00"),
        Event::new("position.closed", T0 + 8, "position_keeper", "system")
            .with_trader("T2")
            .with_account("U1")
            .with_instrument("MSFT.XNAS")
            .with_data("quantity", "0")
            .with_data("realized_pnl", "-5"),
        Event::new("reconciliation.completed", T0 + 9, "reconciler", "system")
            .with_data("statement", "flex-2026-11-26.xml")
            .with_data("format", "ibkr-flex")
            .with_data("broker_trades", 2)
            .with_data("our_trades", 2)
            .with_data("discrepancies", 0),
    ];
    for ev in &events {
        rec.record(ev).unwrap();
    }
    let taken = tradetrail_core::checkpoints::take_checkpoint(rec).unwrap();
    assert_eq!(taken.size, 10);
    (tmp, dir)
}

fn rows(c: &mut Client, sql: &str) -> Vec<String> {
    c.query(sql, &[])
        .unwrap()
        .into_iter()
        .map(|r| r.get::<_, String>(0))
        .collect()
}

#[test]
fn the_views_answer_in_the_teams_vocabulary_and_keep_the_policies() {
    let Some(pg) = TempCluster::start().unwrap() else {
        return;
    };
    let url = pg.url();
    let (_tmp, dir) = day();
    let report = init(&url, &Roles::default()).unwrap();
    assert_eq!(report.applied, vec![1, 2, 3]);
    sync(&dir, &url, &SyncOptions::default()).unwrap();
    let mut c = connect(&url).unwrap();
    c.batch_execute(
        "CREATE ROLE auditor IN ROLE tradetrail_compliance;
         CREATE ROLE alice IN ROLE tradetrail_trader;
         INSERT INTO tradetrail.trader_roles VALUES ('alice', 'T1');
         SET ROLE auditor;",
    )
    .unwrap();

    let log = rows(
        &mut c,
        "SELECT concat_ws('|', order_id, status, side, quantity, price, fill_qty, fill_price,
                commission, reason, error_code, retry_attempt, venue_order_id)
         FROM tradetrail.execution_logs ORDER BY seq",
    );
    assert_eq!(
        log,
        vec![
            "O-1|submitted|buy|100|10.50",
            "O-1|accepted|V-9",
            "O-1|partially_filled|60|10|1.00",
            "O-1|filled|40|10.5|0.50",
            "O-2|submitted|sell|5|2",
            // A producer's retry_attempt that is not an integer is NULL, not an error.
            "O-2|rejected|max position|R-17",
        ]
    );

    let days = rows(
        &mut c,
        "SELECT concat_ws('|', day, trader_id, trades, volume, gross_pnl, commission, net_pnl,
                closed_positions, win_rate)
         FROM tradetrail.daily_summaries ORDER BY trader_id",
    );
    assert_eq!(
        days,
        vec![
            // 60 × 10 + 40 × 10.5 = 1020; 20.00 − 1.50 = 18.50.
            "2026-11-26|T1|2|1020.0|20.00|1.50|18.50|1|1.0000",
            "2026-11-26|T2|0|0|-5|0|-5|1|0.0000",
        ]
    );

    let recon = rows(
        &mut c,
        "SELECT concat_ws('|', statement, format, broker_trades, our_trades, discrepancies)
         FROM tradetrail.reconciliation_results",
    );
    assert_eq!(recon, vec!["flex-2026-11-26.xml|ibkr-flex|2|2|0"]);

    let cp = rows(
        &mut c,
        "SELECT concat_ws('|', seq, size, length(root), note LIKE '%' || root || '%')
         FROM tradetrail.checkpoints",
    );
    assert_eq!(cp.len(), 1);
    assert!(cp[0].starts_with("10|10|"), "{cp:?}");

    let families = rows(
        &mut c,
        "SELECT family || ':' || count(*) FROM tradetrail.audit_trail GROUP BY family ORDER BY family",
    );
    assert_eq!(
        families,
        vec!["journal:2", "order:6", "position:2", "reconciliation:1"]
    );

    // A trader sees its own rows through every view, and nothing else.
    c.batch_execute("RESET ROLE; SET ROLE alice").unwrap();
    let orders = rows(
        &mut c,
        "SELECT DISTINCT order_id FROM tradetrail.execution_logs",
    );
    assert_eq!(orders, vec!["O-1"]);
    let traders = rows(
        &mut c,
        "SELECT DISTINCT coalesce(trader_id, '-') FROM tradetrail.audit_trail
         UNION SELECT DISTINCT trader_id FROM tradetrail.daily_summaries",
    );
    assert_eq!(traders, vec!["T1"]);
    for view in ["reconciliation_results", "checkpoints"] {
        let n: i64 = c
            .query_one(&format!("SELECT count(*) FROM tradetrail.{view}"), &[])
            .unwrap()
            .get(0);
        assert_eq!(n, 0, "{view}: desk-wide rows have no trader_id");
    }
}
