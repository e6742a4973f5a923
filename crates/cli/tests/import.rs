//! `tradetrail import`: a seed-style PostgreSQL audit table and CSV file brought in
//! through a mapping file, all or nothing, idempotent.

mod common;

use common::*;
use tradetrail_pg::testing::TempCluster;

const MAP: &str = r#"
id = "id"
naive_times = "utc"

[event]
type = { column = "action", map = "actions" }
ts_event = "created_at"
source = { value = "legacy_oms" }
actor = { column = "user_name", prefix = "trader:" }
trader_id = "trader"
instrument_id = "symbol"
"entity.kind" = { value = "order" }
"entity.id" = "order_id"

[data]
side = { column = "side", map = "sides" }
quantity = "qty"
order_type = { value = "limit" }
price = "price"
fill_qty = "qty"
fill_price = "price"
trade_id = "exec_id"
reason = "reason"

[maps.actions]
SUBMIT = "order.submitted"
FILL = "order.filled"
REJECT = "order.rejected"

[maps.sides]
B = "buy"
S = "sell"
"#;

fn imported(s: &Scratch) -> Vec<serde_json::Value> {
    s.records()
        .into_iter()
        .filter(|r| r["source"] == "legacy_oms")
        .collect()
}

#[test]
fn a_postgres_audit_table_comes_in_whole_or_not_at_all() {
    let Some(pg) = TempCluster::start().unwrap() else {
        return;
    };
    let url = pg.url_form();
    let mut c = tradetrail_pg::connect(&pg.url()).unwrap();
    c.batch_execute(
        "CREATE TABLE audit_events (id serial PRIMARY KEY, created_at timestamp NOT NULL,
             action text, order_id text, trader text, symbol text, side text, qty numeric,
             price numeric, exec_id text, reason text, user_name text);
         INSERT INTO audit_events (created_at, action, order_id, trader, symbol, side, qty, price, exec_id, reason, user_name) VALUES
           ('2024-03-01 14:30:00', 'SUBMIT', 'L-1', 'T-1', 'AAPL', 'B', 100, 180.25, NULL, NULL, 'alice'),
           ('2024-03-01 14:30:01', 'FILL',   'L-1', 'T-1', 'AAPL', 'B', 100, 180.20, 'E-1', NULL, 'alice'),
           ('2024-03-01 14:31:00', 'SUBMIT', 'L-2', 'T-2', 'MSFT', 'X', 50, 410, NULL, NULL, 'bob'),
           ('2024-03-01 14:31:02', 'CANCEL', 'L-2', 'T-2', 'MSFT', 'S', 50, 410, NULL, NULL, 'bob'),
           ('2024-03-01 14:32:00', 'REJECT', 'L-3', 'T-2', 'MSFT', 'S', 5, 410, NULL, NULL, 'bob');",
    )
    .unwrap();
    let s = Scratch::new();
    s.init("test.example/import");
    let map = s.file("map.toml", MAP);
    let import = |extra: &[&str]| {
        let mut args = vec!["import", "--data"];
        let d = s.data_arg();
        args.push(&d);
        args.extend_from_slice(&["--map", &map, "--from-pg", &url, "--table", "audit_events"]);
        args.extend_from_slice(extra);
        s.tt(&args)
    };
    // Every bad row is named (by its number and id), and nothing is written.
    let r = import(&[]).expect(2);
    assert!(
        r.stderr
            .contains("row 3 (id 3): side: value \"X\" is not in [maps.sides]"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("row 4 (id 4): action: value \"CANCEL\" is not in [maps.actions]"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("row 5 (id 5): data.reason: "),
        "{}",
        r.stderr
    );
    assert_eq!(s.lines().len(), 1, "nothing written");

    c.batch_execute(
        "UPDATE audit_events SET side = 'S' WHERE id = 3;
         UPDATE audit_events SET action = 'REJECT', reason = 'duplicate' WHERE id = 4;
         UPDATE audit_events SET reason = 'no margin' WHERE id = 5;",
    )
    .unwrap();
    import(&["--dry-run"]).expect(0);
    assert_eq!(s.lines().len(), 1, "a dry run writes nothing");
    let r = import(&[]).expect(0);
    assert!(
        r.stdout.contains("imported 5 of 5 rows of postgres:audit_events (seq 1..=5), 0 already imported; import.completed at seq 6"),
        "{}",
        r.stdout
    );
    let rows = imported(&s);
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[1]["type"], "order.filled");
    assert_eq!(rows[1]["actor"], "trader:alice");
    assert_eq!(rows[1]["refs"]["import_id"], "2");
    assert_eq!(rows[1]["entity"]["id"], "L-1");
    assert_eq!(rows[2]["data"]["side"], "sell");
    // The naive timestamp was read as UTC: 2024-03-01T14:30:00Z.
    assert_eq!(rows[0]["ts_event"], 1_709_303_400_000_000_000i64);

    // Again: nothing new, one more import.completed with the counts.
    let r = import(&["--json"]).expect(0);
    let v = parse(r.stdout.trim());
    assert_eq!(
        (v["imported"].as_u64(), v["duplicates"].as_u64()),
        (Some(0), Some(5))
    );
    assert_eq!(imported(&s).len(), 5);
    let done: Vec<_> = s
        .records()
        .into_iter()
        .filter(|r| r["type"] == "import.completed")
        .collect();
    assert_eq!(done.len(), 2);
    assert_eq!(done[0]["data"]["source"], "postgres:audit_events");
    assert_eq!(done[0]["data"]["imported"], "5");
    s.on_data("verify", &[]).expect(0);
    let r = s.on_data("trail", &["L-1", "--format", "jsonl"]).expect(0);
    assert_eq!(r.stdout.lines().count(), 2, "{}", r.stdout);
}

#[test]
fn a_csv_file_comes_in_with_the_same_mapping() {
    let s = Scratch::new();
    s.init("test.example/import-csv");
    let map = s.file("map.toml", MAP);
    let csv = s.file(
        "audit.csv",
        "id,created_at,action,order_id,trader,symbol,side,qty,price,exec_id,reason,user_name\n\
         a1,2024-03-01T14:30:00Z,SUBMIT,L-1,T-1,AAPL,B,100,180.25,,,alice\n\
         a2,2024-03-01 14:30:01,FILL,L-1,T-1,AAPL,B,100,180.20,E-1,,alice\n\
         a1,2024-03-01 14:30:02,FILL,L-1,T-1,AAPL,B,1,180.20,E-2,,alice\n",
    );
    let d = s.data_arg();
    let r = s
        .tt(&["import", "--data", &d, "--map", &map, "--from-csv", &csv])
        .expect(2);
    assert!(
        r.stderr.contains("row 3 (id a1): id: the same id as row 1"),
        "{}",
        r.stderr
    );
    let csv = s.file(
        "audit.csv",
        "id,created_at,action,order_id,trader,symbol,side,qty,price,exec_id,reason,user_name\n\
         a1,2024-03-01T14:30:00Z,SUBMIT,L-1,T-1,AAPL,B,100,180.25,,,alice\n\
         a2,2024-03-01 14:30:01,FILL,L-1,T-1,AAPL,B,100,180.20,E-1,,alice\n",
    );
    let r = s
        .tt(&["import", "--data", &d, "--map", &map, "--from-csv", &csv])
        .expect(0);
    assert!(
        r.stdout.contains("imported 2 of 2 rows of csv:audit.csv"),
        "{}",
        r.stdout
    );
    assert_eq!(imported(&s)[1]["data"]["fill_price"], "180.20");

    let bad = s.file("bad.toml", "id = \"id\"\n[event]\ntype = \"action\"");
    let r = s
        .tt(&["import", "--data", &d, "--map", &bad, "--from-csv", &csv])
        .expect(2);
    assert!(
        r.stderr.contains("[event] ts_event: required"),
        "{}",
        r.stderr
    );
    let r = s.tt(&["import", "--data", &d, "--map", &map]).expect(2);
    assert!(r.stderr.contains("--from-pg"), "{}", r.stderr);
}
