//! The model's contract as other crates and producers see it: what is accepted, what is
//! refused and with which field named, and the canonical body.

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use tradetrail_model::{
    format_time, is_known_type, known_types, parse_time, Entity, Event, ValidationErrors,
};

/// 2026-11-21T14:32:10.123Z
const TS: i64 = 1_795_271_530_123_000_000;

fn parse(v: &Value) -> Result<Event, ValidationErrors> {
    Event::from_json(serde_json::to_string(v).unwrap().as_bytes())
}

fn fields(errors: &ValidationErrors) -> Vec<&str> {
    errors.iter().map(|e| e.field.as_str()).collect()
}

fn reason<'a>(errors: &'a ValidationErrors, field: &str) -> &'a str {
    match errors.get(field) {
        Some(e) => &e.reason,
        None => panic!("no error for {field}: {errors}"),
    }
}

fn body_str(e: &Event) -> String {
    String::from_utf8(e.to_body()).unwrap()
}

/// The envelope every order event needs.
fn order(ty: &str, data: Value) -> Value {
    json!({
        "type": ty, "ts_event": TS, "source": "oms", "actor": "algo:twap-1",
        "trader_id": "T-1", "instrument_id": "AAPL",
        "entity": {"kind": "order", "id": "O-1"}, "data": data,
    })
}

fn plain(ty: &str, data: Value) -> Value {
    json!({"type": ty, "ts_event": TS, "source": "s", "actor": "system", "data": data})
}

fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

/// A minimal valid event of every known type, with the fields it requires
/// (`a.b` is `b` inside object `a`). Written out here, apart from the crate's own table.
fn samples() -> Vec<(Value, Vec<&'static str>)> {
    const ENV: [&str; 4] = ["type", "ts_event", "source", "actor"];
    const ORDER: [&str; 7] = [
        "type",
        "ts_event",
        "source",
        "actor",
        "trader_id",
        "instrument_id",
        "entity",
    ];
    let cat = |a: &[&'static str], b: &[&'static str]| [a, b].concat();
    let pos = |ty: &str| {
        let v = plain(
            ty,
            json!({"quantity": "0", "avg_price": "10.5", "currency": "USD"}),
        );
        let v = with(v, "instrument_id", json!("AAPL"));
        with(v, "account_id", json!("ACC-1"))
    };
    let pos_req = cat(&ENV, &["instrument_id", "account_id", "data.quantity"]);
    let change = plain(
        "param.changed",
        json!({"name": "max_qty", "old_value": null, "new_value": 5, "reason": "tuning"}),
    );
    let change_req = cat(
        &ENV,
        &[
            "data.name",
            "data.old_value",
            "data.new_value",
            "data.reason",
        ],
    );
    vec![
        (
            with(
                with(
                    plain(
                        "signal.generated",
                        json!({"direction": "long", "strength": 0.7}),
                    ),
                    "instrument_id",
                    json!("AAPL"),
                ),
                "strategy_id",
                json!("mom-1"),
            ),
            cat(&ENV, &["instrument_id", "strategy_id", "data.direction"]),
        ),
        (
            plain("signal.filtered", json!({"reason": "stale"})),
            cat(&ENV, &["data.reason"]),
        ),
        (
            with(
                plain(
                    "recommendation.generated",
                    json!({"side": "buy", "quantity": 10}),
                ),
                "instrument_id",
                json!("AAPL"),
            ),
            cat(&ENV, &["instrument_id", "data.side", "data.quantity"]),
        ),
        (
            plain("recommendation.suppressed", json!({"reason": "dup"})),
            cat(&ENV, &["data.reason"]),
        ),
        (
            plain(
                "risk.evaluated",
                json!({"decision": "approved", "checks": ["max_qty"]}),
            ),
            cat(&ENV, &["data.decision"]),
        ),
        (
            plain("risk.rejected", json!({"reason": "limit"})),
            cat(&ENV, &["data.reason"]),
        ),
        (
            plain(
                "trading.kill_switch",
                json!({"engaged": true, "reason": "loss limit"}),
            ),
            cat(&ENV, &["data.engaged", "data.reason"]),
        ),
        (
            plain(
                "approval.requested",
                json!({"expires_at": "2026-11-21T15:00Z"}),
            ),
            ENV.to_vec(),
        ),
        (
            plain("approval.approved", json!({"note": "ok"})),
            ENV.to_vec(),
        ),
        (plain("approval.rejected", json!({})), ENV.to_vec()),
        (plain("approval.expired", json!({})), ENV.to_vec()),
        (
            order(
                "order.submitted",
                json!({"side": "buy", "quantity": "100", "order_type": "market"}),
            ),
            cat(&ORDER, &["data.side", "data.quantity", "data.order_type"]),
        ),
        (
            order("order.accepted", json!({"venue_order_id": "V-1"})),
            ORDER.to_vec(),
        ),
        (
            order("order.modified", json!({"price": "10.1"})),
            ORDER.to_vec(),
        ),
        (
            order(
                "order.filled",
                json!({"fill_qty": "10", "fill_price": "187.5", "trade_id": "X-1"}),
            ),
            cat(
                &ORDER,
                &["data.fill_qty", "data.fill_price", "data.trade_id"],
            ),
        ),
        (
            order("order.rejected", json!({"reason": "no margin"})),
            cat(&ORDER, &["data.reason"]),
        ),
        (order("order.cancelled", json!({})), ORDER.to_vec()),
        (order("order.expired", json!({})), ORDER.to_vec()),
        (order("order.recovered", json!({})), ORDER.to_vec()),
        (
            order("order.duplicate_prevented", json!({})),
            ORDER.to_vec(),
        ),
        (pos("position.opened"), pos_req.clone()),
        (pos("position.updated"), pos_req.clone()),
        (pos("position.closed"), pos_req.clone()),
        (pos("position.snapshot"), pos_req),
        (
            with(
                plain(
                    "account.snapshot",
                    json!({"currency": "USD", "cash": "-5.25"}),
                ),
                "account_id",
                json!("ACC-1"),
            ),
            cat(&ENV, &["account_id", "data.currency"]),
        ),
        (change.clone(), change_req.clone()),
        (with(change, "type", json!("config.changed")), change_req),
        (
            plain(
                "trading.mode_changed",
                json!({"old_mode": "live", "new_mode": "paper", "reason": "incident"}),
            ),
            cat(&ENV, &["data.old_mode", "data.new_mode", "data.reason"]),
        ),
        (
            with(
                plain("correction.recorded", json!({"reason": "wrong price"})),
                "refs",
                json!({"correction_of": 41}),
            ),
            cat(&ENV, &["refs.correction_of", "data.reason"]),
        ),
        (
            plain(
                "ingest.rejected",
                json!({"stream": "AUDIT", "stream_seq": "42", "subject": "audit.oms",
                       "reason": "invalid event: type: unknown", "body_sha256": "ab12",
                       "body": "{}"}),
            ),
            cat(
                &ENV,
                &[
                    "data.stream",
                    "data.stream_seq",
                    "data.subject",
                    "data.reason",
                    "data.body_sha256",
                ],
            ),
        ),
        (
            plain(
                "log.metric",
                json!({"name": "queue_depth", "value": 12, "tags": {"venue": "XNAS"}}),
            ),
            cat(&ENV, &["data.name", "data.value"]),
        ),
        (
            plain(
                "import.completed",
                json!({"source": "postgres audit_events", "rows": 10, "imported": 9,
                       "duplicates": 1}),
            ),
            cat(
                &ENV,
                &[
                    "data.source",
                    "data.rows",
                    "data.imported",
                    "data.duplicates",
                ],
            ),
        ),
        (
            plain(
                "log.dropped",
                json!({"dropped": "3", "reason": "queue full"}),
            ),
            cat(&ENV, &["data.dropped", "data.reason"]),
        ),
    ]
    .into_iter()
    .chain(tradetrail_model::LOG_LEVELS.iter().map(|level| {
        (
            with(
                plain(
                    &format!("log.{level}"),
                    json!({"message": "reconnecting", "context": {"attempt": 2}}),
                ),
                "entity",
                json!({"kind": "log", "id": "connection"}),
            ),
            cat(&ENV, &["entity", "data.message"]),
        )
    }))
    .collect()
}

fn remove(v: &mut Value, path: &str) {
    match path.split_once('.') {
        Some((outer, inner)) => {
            v[outer].as_object_mut().unwrap().remove(inner);
        }
        None => {
            v.as_object_mut().unwrap().remove(path);
        }
    }
}

#[test]
fn every_known_type_has_a_valid_sample() {
    let samples = samples();
    let mut covered: Vec<&str> = samples
        .iter()
        .map(|(v, _)| v["type"].as_str().unwrap())
        .collect();
    covered.sort_unstable();
    let mut known = known_types().to_vec();
    known.sort_unstable();
    assert_eq!(covered, known);
    for (v, _) in &samples {
        let e = parse(v).unwrap_or_else(|err| panic!("{v}: {err}"));
        assert!(e.validate().is_ok());
    }
}

#[test]
fn every_required_field_missing_is_named() {
    for (sample, required) in samples() {
        for field in required {
            let mut v = sample.clone();
            remove(&mut v, field);
            let err = parse(&v).expect_err(&format!("{v} without {field} was accepted"));
            assert!(
                err.get(field).is_some(),
                "{} without {field}: errors were {err}",
                sample["type"]
            );
        }
    }
}

#[test]
fn misspelt_type_suggests_the_right_one() {
    let err = parse(&order("order.filed", json!({}))).unwrap_err();
    assert_eq!(
        reason(&err, "type"),
        "unknown event type \"order.filed\"; did you mean \"order.filled\"?"
    );
    let err = parse(&plain("Order.Submitted", json!({}))).unwrap_err();
    assert!(
        reason(&err, "type").contains("did you mean \"order.submitted\"?"),
        "{err}"
    );
    let err = parse(&plain("weather.report", json!({}))).unwrap_err();
    assert!(reason(&err, "type").contains("custom.<name>"), "{err}");
    let err = parse(&plain("order.teleported", json!({}))).unwrap_err();
    assert!(
        reason(&err, "type").contains("order.filled"),
        "lists the order types: {err}"
    );
    assert!(!is_known_type("order.filed"));
}

#[test]
fn journal_types_and_fields_are_refused() {
    let err = parse(&plain("journal.created", json!({"origin": "x"}))).unwrap_err();
    assert!(
        reason(&err, "type").contains("reserved for the journal's own records"),
        "{err}"
    );

    let mut v = plain("system.started", json!({}));
    v["seq"] = json!(0);
    v["ts_recorded"] = json!(TS);
    v["prev"] = json!("00");
    let err = parse(&v).unwrap_err();
    assert_eq!(fields(&err), ["seq", "ts_recorded", "prev"]);
    for e in &err {
        assert_eq!(e.reason, "assigned by the journal, must not be supplied");
    }
}

#[test]
fn unknown_and_repeated_keys_are_refused() {
    let mut v = plain("system.started", json!({}));
    v["trader"] = json!("T-1");
    let err = parse(&v).unwrap_err();
    assert_eq!(
        reason(&err, "trader"),
        "unknown field; did you mean \"trader_id\"?"
    );
    for (key, meant) in [
        ("event_type", "type"),
        ("sourse", "source"),
        ("timestamp", "ts_event"),
    ] {
        let err = parse(&with(plain("system.started", json!({})), key, json!(1))).unwrap_err();
        assert_eq!(
            reason(&err, key),
            format!("unknown field; did you mean {meant:?}?")
        );
    }
    let err = parse(&with(plain("system.started", json!({})), "venue", json!(1))).unwrap_err();
    assert_eq!(reason(&err, "venue"), "unknown field");

    let line =
        br#"{"type":"system.started","ts_event":1,"source":"a","source":"b","actor":"system"}"#;
    let err = Event::from_json(line).unwrap_err();
    assert_eq!(reason(&err, "source"), "given more than once");

    let line =
        br#"{"type":"custom.x","ts_event":1,"source":"a","actor":"system","data":{"q":1,"q":2}}"#;
    let err = Event::from_json(line).unwrap_err();
    assert_eq!(reason(&err, "data.q"), "given more than once");

    let mut v = order("order.cancelled", json!({}));
    v["entity"]["extra"] = json!(1);
    let err = parse(&v).unwrap_err();
    assert_eq!(fields(&err), ["entity.extra"]);
}

#[test]
fn open_families_and_custom_check_only_the_envelope() {
    for ty in [
        "system.started",
        "connection.lost",
        "user.login",
        "reconciliation.completed",
        "review.opened",
        "custom.anything.v2",
    ] {
        let v = plain(
            ty,
            json!({"quantity": "not a decimal", "x": {"deep": [1, null]}}),
        );
        let e = parse(&v).unwrap_or_else(|err| panic!("{ty}: {err}"));
        assert_eq!(e.data["quantity"], json!("not a decimal"));
        assert!(is_known_type(ty));
        // The envelope is still checked.
        assert!(parse(&with(v, "actor", json!("nobody"))).is_err());
    }
    for bad in ["system", "custom.", "custom.Thing", "", "a b.c"] {
        let err = parse(&plain(bad, json!({}))).unwrap_err();
        assert_eq!(fields(&err), ["type"], "{bad:?}");
    }
}

#[test]
fn decimals_from_numbers_and_strings_give_the_same_body() {
    let from_numbers = br#"{"type":"order.filled","ts_event":1,"source":"oms","actor":"system","trader_id":"T","instrument_id":"I","entity":{"kind":"order","id":"O"},"data":{"fill_qty":100,"fill_price":187.50,"trade_id":"X","commission":-0.35,"slippage_bps":1.5e1}}"#;
    let from_strings = br#"{"type":"order.filled","ts_event":1,"source":"oms","actor":"system","trader_id":"T","instrument_id":"I","entity":{"kind":"order","id":"O"},"data":{"fill_qty":"100","fill_price":"187.50","trade_id":"X","commission":"-0.35","slippage_bps":"15"}}"#;
    let a = Event::from_json(from_numbers).unwrap();
    let b = Event::from_json(from_strings).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.to_body(), b.to_body());
    assert!(body_str(&a).contains(
        r#""data":{"fill_qty":"100","fill_price":"187.50","trade_id":"X","commission":"-0.35","slippage_bps":"15"}"#
    ));
    // Exactness: a number with more digits than an f64 holds survives unchanged.
    let v = order(
        "order.filled",
        json!({"fill_qty": "1", "trade_id": "X", "fill_price": "1"}),
    );
    let mut line = serde_json::to_string(&v).unwrap();
    line = line.replace(
        r#""fill_price":"1""#,
        r#""fill_price":1234567.12345678901234567"#,
    );
    let e = Event::from_json(line.as_bytes()).unwrap();
    assert_eq!(e.data["fill_price"], json!("1234567.12345678901234567"));
}

/// The issue's order: quantity and price at `Decimal::MAX`, which made every books
/// reader panic once two fills were recorded.
const HUGE: &str = "79228162514264337593543950335";

#[test]
fn quantities_and_prices_beyond_ten_to_the_twelve_are_refused_naming_the_field() {
    // The order of the issue: every decimal at Decimal::MAX, all named at once.
    let v = order(
        "order.submitted",
        json!({"side": "buy", "order_type": "limit", "quantity": HUGE, "price": HUGE}),
    );
    let err = parse(&v).unwrap_err();
    assert_eq!(fields(&err), ["data.quantity", "data.price"], "{err}");
    for f in ["data.quantity", "data.price"] {
        let why = reason(&err, f);
        assert!(why.contains("must be at most 10^12"), "{f}: {why}");
        assert!(why.contains("overflow"), "{f}: {why}");
        assert!(why.ends_with(&format!("not {HUGE}")), "{f}: {why}");
    }
    // Its fills: every field the books multiply, as numbers or strings, any sign.
    let fill = order(
        "order.filled",
        json!({"fill_qty": HUGE, "fill_price": "-1e13", "trade_id": "X",
               "cum_qty": "1000000000000.5", "leaves_qty": 2e12}),
    );
    let err = parse(&fill).unwrap_err();
    assert_eq!(
        fields(&err),
        [
            "data.fill_qty",
            "data.fill_price",
            "data.cum_qty",
            "data.leaves_qty"
        ],
        "{err}"
    );
    // A negative price is refused for its sign first.
    assert!(reason(&err, "data.fill_price").contains("greater than 0"));
    assert!(reason(&err, "data.leaves_qty").contains("at most 10^12"));
    // Position sizes may be short, but not huge.
    let pos = with(
        with(
            plain(
                "position.snapshot",
                json!({"quantity": "-1000000000001", "avg_price": "1"}),
            ),
            "instrument_id",
            json!("AAPL"),
        ),
        "account_id",
        json!("ACC-1"),
    );
    let err = parse(&pos).unwrap_err();
    assert_eq!(fields(&err), ["data.quantity"], "{err}");
    // The bound itself is accepted, with any scale.
    let ok = order(
        "order.filled",
        json!({"fill_qty": "1000000000000", "fill_price": "999999999999.9999", "trade_id": "X"}),
    );
    assert!(parse(&ok).is_ok());
    // Events built in code follow the same bound.
    let e = Event::new("order.modified", TS, "oms", "trader:T-1")
        .with_trader("T-1")
        .with_instrument("AAPL")
        .with_entity("order", "O-1")
        .with_data("quantity", HUGE);
    assert_eq!(fields(&e.validate().unwrap_err()), ["data.quantity"]);
}

#[test]
fn amounts_beyond_ten_to_the_eighteen_are_refused_naming_the_field() {
    let fill = order(
        "order.filled",
        json!({"fill_qty": "1", "fill_price": "1", "trade_id": "X",
               "commission": format!("-{HUGE}"), "slippage_bps": "1000000000000000000"}),
    );
    let err = parse(&fill).unwrap_err();
    assert_eq!(fields(&err), ["data.commission"], "{err}");
    let why = reason(&err, "data.commission");
    assert!(why.contains("must be at most 10^18"), "{why}");
    assert!(why.contains(&format!("not -{HUGE}")), "{why}");
    // A large balance (in any currency) is still accepted.
    let acct = with(
        plain(
            "account.snapshot",
            json!({"currency": "JPY", "cash": "12000000000000000"}),
        ),
        "account_id",
        json!("ACC-1"),
    );
    assert!(parse(&acct).is_ok());
}

#[test]
fn bad_decimals_are_refused_naming_the_field() {
    let base = json!({"side": "buy", "order_type": "market"});
    for (raw, why) in [
        ("1e400", "outside the range"),
        ("\"abc\"", "not a decimal"),
        ("-5", "greater than 0"),
        ("0", "greater than 0"),
        ("\"0.000\"", "greater than 0"),
        ("true", "not a boolean"),
        ("{}", "not an object"),
        ("null", "null"),
        ("\"NaN\"", "not a decimal"),
        ("\" 5\"", "not a decimal"),
        ("\"1_000\"", "not a decimal"),
        ("1.00000000000000000000000000001", "decimal places"),
    ] {
        let mut v = order("order.submitted", base.clone());
        v["data"]["quantity"] = json!("__Q__");
        let line = serde_json::to_string(&v).unwrap().replace("\"__Q__\"", raw);
        let err = Event::from_json(line.as_bytes()).expect_err(raw);
        assert_eq!(fields(&err), ["data.quantity"], "{raw}");
        assert!(reason(&err, "data.quantity").contains(why), "{raw}: {err}");
    }
}

#[test]
fn order_submitted_rules() {
    let submit = |data: Value| parse(&order("order.submitted", data));
    let e = submit(
        json!({"side": "SELL_SHORT", "quantity": 5, "order_type": "Limit",
        "price": "10.50", "time_in_force": "GTC", "my_tag": "kept"}),
    )
    .unwrap();
    assert_eq!(e.data["side"], json!("sell_short"));
    assert_eq!(e.data["order_type"], json!("limit"));
    assert_eq!(e.data["time_in_force"], json!("gtc"));
    assert_eq!(e.data["price"], json!("10.50"));
    assert_eq!(e.data["my_tag"], json!("kept"));

    let err = submit(json!({"side": "buy", "quantity": 5, "order_type": "limit"})).unwrap_err();
    assert_eq!(fields(&err), ["data.price"]);
    let err =
        submit(json!({"side": "buy", "quantity": 5, "order_type": "stop_limit"})).unwrap_err();
    assert_eq!(fields(&err), ["data.price", "data.stop_price"]);
    let err = submit(json!({"side": "buy", "quantity": 5, "order_type": "stop", "price": 1}))
        .unwrap_err();
    assert_eq!(fields(&err), ["data.stop_price"]);
    let err = submit(
        json!({"side": "hold", "quantity": 5, "order_type": "iceberg",
        "time_in_force": "forever"}),
    )
    .unwrap_err();
    assert_eq!(
        fields(&err),
        ["data.side", "data.order_type", "data.time_in_force"]
    );

    let err = parse(&with(
        order(
            "order.submitted",
            json!({"side": "buy", "quantity": 1, "order_type": "market"}),
        ),
        "entity",
        json!({"kind": "position", "id": "P"}),
    ))
    .unwrap_err();
    assert_eq!(fields(&err), ["entity.kind"]);
}

#[test]
fn order_modified_needs_a_change() {
    let err = parse(&order("order.modified", json!({"note": "nothing"}))).unwrap_err();
    assert_eq!(fields(&err), ["data"]);
    assert!(reason(&err, "data").contains("quantity, price, stop_price"));
    assert!(parse(&order("order.modified", json!({"stop_price": 99}))).is_ok());
}

#[test]
fn refs_rules() {
    let corr = |refs: Value| {
        parse(&with(
            plain("correction.recorded", json!({"reason": "typo"})),
            "refs",
            refs,
        ))
    };
    assert!(corr(json!({"correction_of": 0})).is_ok());
    for bad in [json!(-1), json!("41"), json!(1.5), json!(null)] {
        let err = corr(json!({"correction_of": bad})).unwrap_err();
        assert_eq!(fields(&err), ["refs.correction_of"], "{bad}");
    }
    let err = corr(json!({"order_id": "O-1", "x": true, "y": 2.5, "z": ""})).unwrap_err();
    assert_eq!(
        fields(&err),
        ["refs.x", "refs.y", "refs.z", "refs.correction_of"]
    );
    let e = parse(&with(
        plain("system.started", json!({})),
        "refs",
        json!({"order_id": "O-1", "seq_hint": -3}),
    ))
    .unwrap();
    assert_eq!(e.refs["seq_hint"], json!(-3));
}

#[test]
fn many_problems_are_reported_together() {
    let line = br#"{"type":"order.filled","ts_event":-1,"source":"","actor":"robot:x","event_id":"nope","trader_id":7,"entity":{"kind":"order"},"refs":[],"data":{"fill_qty":"-1","fill_price":"abc","liquidity":"both"},"extra":1}"#;
    let err = Event::from_json(line).unwrap_err();
    assert_eq!(
        fields(&err),
        [
            "extra",
            "ts_event",
            "source",
            "actor",
            "event_id",
            "trader_id",
            "instrument_id",
            "entity.id",
            "refs",
            "data.fill_qty",
            "data.fill_price",
            "data.trade_id",
            "data.liquidity",
        ],
        "{err}"
    );
    // Display joins them all.
    assert_eq!(err.to_string().matches("; ").count(), err.0.len() - 1);
}

#[test]
fn envelope_field_rules() {
    let base = plain("system.started", json!({}));
    for (key, value) in [
        ("source", json!("")),
        ("source", json!("x".repeat(129))),
        ("source", json!("a\u{0007}b")),
        ("source", json!(null)),
        ("actor", json!("algo:")),
        ("actor", json!("System")),
        ("actor", json!("trader")),
        ("actor", json!("trader:a\nb")),
        ("trader_id", json!("")),
        ("account_id", json!(5)),
        ("strategy_id", json!(null)),
        ("instrument_id", json!(["AAPL"])),
        ("event_id", json!("67e5504410b1426f9247bb680e5fe0c8")),
        ("event_id", json!(12)),
        ("entity", json!({"kind": "", "id": "x"})),
        ("entity", json!("O-1")),
        ("refs", json!(null)),
        ("data", json!([])),
        ("ts_event", json!(1.0)),
        ("ts_event", json!("1795271530123000000")),
        ("ts_event", json!(9_223_372_036_854_775_808u64)),
        ("ts_event", json!("2026-11-21T14:32:10")),
        ("ts_event", json!(true)),
    ] {
        let err = parse(&with(base.clone(), key, value.clone()))
            .expect_err(&format!("{key}={value} was accepted"));
        assert_eq!(err.0.len(), 1, "{key}={value}: {err}");
        assert!(err.0[0].field.starts_with(key), "{key}={value}: {err}");
    }
    for actor in [
        "system",
        "algo:a",
        "trader:t-1",
        "operator:o",
        "service:svc:7",
    ] {
        assert!(
            parse(&with(base.clone(), "actor", json!(actor))).is_ok(),
            "{actor}"
        );
    }
}

#[test]
fn input_that_is_not_one_object() {
    for line in [
        &b""[..],
        b"   ",
        b"[]",
        b"42",
        b"\"x\"",
        b"{",
        b"{} {}",
        b"{\"type\":}",
        b"\xff",
    ] {
        let err = Event::from_json(line).expect_err(&String::from_utf8_lossy(line));
        assert_eq!(fields(&err), ["event"], "{}", String::from_utf8_lossy(line));
    }
    let err = Event::from_json(b"{}").unwrap_err();
    assert_eq!(fields(&err), ["type", "ts_event", "source", "actor"]);
    // Surrounding whitespace, including a trailing newline, is fine.
    let line =
        b"  {\"type\":\"system.started\",\"ts_event\":1,\"source\":\"s\",\"actor\":\"system\"}\r\n";
    assert!(Event::from_json(line).is_ok());
}

#[test]
fn ts_event_as_rfc3339_or_ns_is_the_same_event() {
    let ns = parse(&plain("system.started", json!({}))).unwrap();
    for text in [
        "2026-11-21T14:32:10.123Z",
        "2026-11-21T14:32:10.123000000Z",
        "2026-11-21T15:32:10.123+01:00",
    ] {
        let rfc = parse(&with(
            plain("system.started", json!({})),
            "ts_event",
            json!(text),
        ))
        .unwrap();
        assert_eq!(rfc, ns, "{text}");
        assert_eq!(rfc.to_body(), ns.to_body());
    }
    assert_eq!(ns.ts_event, TS);
    assert_eq!(format_time(TS), "2026-11-21T14:32:10.123Z");
}

#[test]
fn approval_expiry_is_stored_as_ns() {
    let e = parse(&plain(
        "approval.requested",
        json!({"expires_at": "2026-11-21T14:32:10.123Z"}),
    ))
    .unwrap();
    assert_eq!(e.data["expires_at"], json!(TS));
}

#[test]
fn parse_time_forms() {
    assert_eq!(parse_time("2026-11-21T14:32:10.123Z"), Ok(TS));
    assert_eq!(parse_time("1795271530123000000"), Ok(TS));
    assert_eq!(parse_time("2026-11-21"), Ok(TS - 52_330_123_000_000));
    assert_eq!(parse_time("2026-11-21T14:32Z"), Ok(TS - 10_123_000_000));
    for garbage in [
        "",
        "today",
        "2026-11-21T",
        "21/11/2026",
        "1.5",
        "2026-11-21T14:32:10.123+0100",
    ] {
        assert!(parse_time(garbage).is_err(), "{garbage:?}");
    }
}

#[test]
fn body_shape() {
    let e = Event::new("order.rejected", TS, "oms", "operator:ann")
        .with_event_id(uuid::Uuid::from_u128(0xABCDEF))
        .with_trader("T-1")
        .with_strategy("S-1")
        .with_account("A-1")
        .with_instrument("AAPL")
        .with_entity("order", "O-1")
        .with_ref("recommendation_id", "R-1")
        .with_data("reason", "line one\nline two\r\u{2028}\"quoted\"")
        .with_data("error_code", "E1");
    e.validate().unwrap();
    let body = body_str(&e);
    assert_eq!(
        body,
        concat!(
            r#"{"type":"order.rejected","ts_event":1795271530123000000,"source":"oms","#,
            r#""actor":"operator:ann","event_id":"00000000-0000-0000-0000-000000abcdef","#,
            r#""trader_id":"T-1","strategy_id":"S-1","account_id":"A-1","instrument_id":"AAPL","#,
            r#""entity":{"kind":"order","id":"O-1"},"refs":{"recommendation_id":"R-1"},"#,
            r#""data":{"reason":"line one\nline two\r\u2028\"quoted\"","error_code":"E1"}}"#,
        )
        .replace(r"\u2028", "\u{2028}")
    );
    assert!(!body.contains('\n') && !body.contains('\r'));
    assert_eq!(Event::from_json(body.as_bytes()).unwrap(), e);

    // Empty refs are left out; empty data is written.
    let minimal = Event::new("system.started", 0, "s", "system");
    assert_eq!(
        body_str(&minimal),
        r#"{"type":"system.started","ts_event":0,"source":"s","actor":"system","data":{}}"#
    );
}

#[test]
fn to_body_writes_known_fields_canonically_even_if_the_event_does_not_hold_them_so() {
    let mut e = Event::new("position.updated", 1, "pm", "system")
        .with_instrument("AAPL")
        .with_account("A");
    e.data.insert("quantity".into(), json!(-12.50));
    e.data.insert("note".into(), json!(1.50));
    assert_eq!(
        body_str(&e),
        r#"{"type":"position.updated","ts_event":1,"source":"pm","actor":"system","account_id":"A","instrument_id":"AAPL","data":{"quantity":"-12.5","note":1.5}}"#
    );
}

#[test]
fn validate_uses_the_same_rules() {
    let e = Event::new("order.filled", TS, "oms", "algo:a")
        .with_trader("T")
        .with_instrument("I")
        .with_entity("order", "O")
        .with_data("fill_qty", "0")
        .with_data("fill_price", 10)
        .with_data("trade_id", "");
    let err = e.validate().unwrap_err();
    assert_eq!(fields(&err), ["data.fill_qty", "data.trade_id"]);
    let mut e = e.with_data("fill_qty", "1").with_data("trade_id", "X");
    assert!(e.validate().is_ok());
    e.ts_event = -1;
    e.entity = Some(Entity {
        kind: "order".into(),
        id: String::new(),
    });
    e.event_type = "journal.sealed".into();
    let err = e.validate().unwrap_err();
    assert_eq!(fields(&err), ["type", "ts_event", "entity.id"]);
}

#[test]
fn event_id_is_parsed_and_written_lowercase() {
    let v = with(
        plain("system.started", json!({})),
        "event_id",
        json!("67E55044-10B1-426F-9247-BB680E5FE0C8"),
    );
    let e = parse(&v).unwrap();
    assert_eq!(e.event_id_u128(), Some(0x67e5504410b1426f9247bb680e5fe0c8));
    assert!(body_str(&e).contains(r#""event_id":"67e55044-10b1-426f-9247-bb680e5fe0c8""#));
}

// ---- round trip over generated valid events ----

fn id() -> impl Strategy<Value = String> {
    // Identifiers with the characters that need care in JSON, and non-ASCII.
    proptest::string::string_regex("[a-zA-Z0-9_:./ \"\\\\é中-]{1,24}").unwrap()
}

fn decimal(positive: bool) -> impl Strategy<Value = (String, bool)> {
    // (text, as a JSON number?), within the bound on quantities and prices (10^12).
    const MAX: i64 = 1_000_000_000_000;
    let mantissa = if positive { 1i64..MAX } else { -MAX..MAX };
    (mantissa, 0u32..12, any::<bool>()).prop_map(|(m, scale, as_number)| {
        (rust_decimal::Decimal::new(m, scale).to_string(), as_number)
    })
}

fn extra_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[ -~\n\t\u{7f}é]{0,12}".prop_map(Value::String),
        Just(serde_json::from_str::<Value>("1.2300e-7").unwrap()),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::vec(("[a-z]{1,5}", inner), 0..3)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

prop_compose! {
    fn envelope()(
        ts in 0..i64::MAX,
        source in id(),
        actor in prop_oneof![Just("system".to_owned()), id().prop_map(|i| format!("algo:{i}"))],
        event_id in proptest::option::of(any::<u128>()),
        trader in id(), instrument in id(), strategy in id(), account in id(), entity in id(),
        refs in prop::collection::vec(("[a-z_]{1,10}", prop_oneof![
            id().prop_map(Value::String), any::<i64>().prop_map(Value::from)]), 0..3),
        extras in prop::collection::vec(("x_[a-z]{1,6}", extra_value()), 0..3),
        rfc3339 in any::<bool>(),
    ) -> (Value, Vec<(String, Value)>) {
        let mut v = json!({
            "type": "", "ts_event": ts, "source": source, "actor": actor,
            "trader_id": trader, "instrument_id": instrument, "strategy_id": strategy,
            "account_id": account, "entity": {"kind": "order", "id": entity},
        });
        if let Some(u) = event_id {
            v["event_id"] = json!(uuid::Uuid::from_u128(u).to_string());
        }
        if rfc3339 {
            v["ts_event"] = json!(format_time(ts));
        }
        let refs: Map<String, Value> = refs
            .into_iter()
            .filter(|(k, _)| k != "correction_of")
            .collect();
        if !refs.is_empty() {
            v["refs"] = Value::Object(refs);
        }
        (v, extras)
    }
}

fn typed_event() -> impl Strategy<Value = String> {
    let filled = (
        decimal(true),
        decimal(true),
        id(),
        decimal(false),
        prop_oneof![Just("maker"), Just("TAKER")],
    )
        .prop_map(|(q, p, t, c, l)| {
            (
                "order.filled",
                vec![("fill_qty", q), ("fill_price", p), ("commission", c)],
                json!({"trade_id": t, "liquidity": l}),
            )
        });
    let submitted = (
        decimal(true),
        decimal(true),
        prop_oneof![Just("Buy"), Just("sell")],
    )
        .prop_map(|(q, p, s)| {
            (
                "order.submitted",
                vec![("quantity", q), ("price", p)],
                json!({"side": s, "order_type": "LIMIT"}),
            )
        });
    let position = (decimal(false), decimal(false)).prop_map(|(q, pnl)| {
        (
            "position.updated",
            vec![("quantity", q), ("realized_pnl", pnl)],
            json!({"currency": "USD"}),
        )
    });
    let custom = Just((
        "custom.fancy.thing",
        vec![],
        json!({"anything": [1, "two"]}),
    ));
    let system = Just(("system.heartbeat", vec![], json!({})));
    (
        prop_oneof![filled, submitted, position, custom, system],
        envelope(),
    )
        .prop_map(|((ty, decimals, fields), (mut v, extras))| {
            v["type"] = json!(ty);
            // Decimals go in as placeholders, replaced below by a JSON number or string.
            let mut data = fields;
            for (k, _) in &decimals {
                data[*k] = json!(format!("__{k}__"));
            }
            for (k, x) in extras {
                data[k] = x;
            }
            v["data"] = data;
            let mut line = serde_json::to_string(&v).unwrap();
            for (k, (text, as_number)) in decimals {
                let rendered = if as_number {
                    text
                } else {
                    format!("\"{text}\"")
                };
                line = line.replace(&format!("\"__{k}__\""), &rendered);
            }
            line
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn round_trip_through_the_body(line in typed_event()) {
        let e = Event::from_json(line.as_bytes())
            .map_err(|err| TestCaseError::fail(format!("{line}\n{err}")))?;
        let body = e.to_body();
        let starts_with_type = body.starts_with(br#"{"type":""#);
        prop_assert!(starts_with_type);
        prop_assert!(!body.contains(&b'\n') && !body.contains(&b'\r'));
        prop_assert_eq!(body.last(), Some(&b'}'));
        let again = Event::from_json(&body)
            .map_err(|err| TestCaseError::fail(format!("{}\n{err}", String::from_utf8_lossy(&body))))?;
        prop_assert_eq!(&again, &e);
        prop_assert_eq!(again.to_body(), body);
        prop_assert!(e.validate().is_ok());
    }

    #[test]
    fn builder_events_round_trip(
        qty in 1i64..1_000_000_000, scale in 0u32..8, price in 1i64..1_000_000,
        ts in 0..i64::MAX, trader in id(), note in "[ -~\n]{0,20}",
    ) {
        let e = Event::new("order.submitted", ts, "sim", "algo:sim")
            .with_trader(&trader)
            .with_instrument("ES")
            .with_entity("order", "O-1")
            .with_data("side", "SELL")
            .with_decimal("quantity", rust_decimal::Decimal::new(qty, scale))
            .with_data("order_type", "limit")
            .with_data("price", price)
            .with_data("note", note);
        prop_assert!(e.validate().is_ok());
        let body = e.to_body();
        prop_assert!(!body.contains(&b'\n'));
        prop_assert_eq!(Event::from_json(&body).unwrap(), e);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = Event::from_json(&bytes);
    }

    #[test]
    fn mutated_valid_lines_never_panic(line in typed_event(), at in any::<prop::sample::Index>(), b in any::<u8>()) {
        let mut bytes = line.into_bytes();
        let i = at.index(bytes.len());
        bytes[i] = b;
        if let Ok(e) = Event::from_json(&bytes) {
            prop_assert!(e.validate().is_ok());
            prop_assert_eq!(Event::from_json(&e.to_body()).unwrap(), e);
        }
    }
}
