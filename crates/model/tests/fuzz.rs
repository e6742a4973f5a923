//! Fuzzing the event model: arbitrary and mutated bytes into `Event::from_json` (what
//! `append` and `POST /v1/events` call), and arbitrary text into `parse_decimal` and
//! `parse_time`. Each must answer, never panic; what is accepted must be canonical: its
//! body is one clean line that parses back to the same event and the same body.
//!
//! A fixed number of cases by default; `TRADETRAIL_FUZZ_SECS=60` runs each test for a
//! minute (see docs/fuzzing.md).

use tradetrail_model::{format_time, parse_decimal, parse_time, Event};
use tradetrail_testkit::fuzz::{self, Input, Rng};

/// Valid events of many types, with every envelope field, decimals as strings and
/// numbers, RFC 3339 and integer times.
const SEEDS: &[&str] = &[
    r#"{"type":"order.filled","ts_event":"2026-11-21T14:32:10.123Z","source":"oms","actor":"algo:twap-7","trader_id":"T-1","instrument_id":"AAPL","entity":{"kind":"order","id":"O-1"},"data":{"fill_qty":100,"fill_price":"187.50","trade_id":"X-9","venue":"XNAS"}}"#,
    r#"{"type":"order.submitted","ts_event":1795271530123000000,"source":"oms","actor":"algo:twap-1","event_id":"0b0f5c4e-3c43-4d5e-9a1f-8f9e2d7c6b5a","trader_id":"T-1","strategy_id":"mom-1","account_id":"ACC-1","instrument_id":"AAPL","entity":{"kind":"order","id":"O-1"},"refs":{"signal":"S-1","parent":"O-0"},"data":{"side":"buy","quantity":"100","order_type":"limit","price":"10.50","tif":"day"}}"#,
    r#"{"type":"signal.generated","ts_event":1795271530123000000,"source":"s","actor":"system","instrument_id":"AAPL","strategy_id":"mom-1","data":{"direction":"long","strength":0.7}}"#,
    r#"{"type":"position.updated","ts_event":1795271530123000000,"source":"s","actor":"system","instrument_id":"AAPL","account_id":"ACC-1","data":{"quantity":"-0","avg_price":"10.5","currency":"USD"}}"#,
    r#"{"type":"account.snapshot","ts_event":"2026-11-21T14:32:10+01:00","source":"s","actor":"system","account_id":"ACC-1","data":{"currency":"USD","cash":"-5.25"}}"#,
    r#"{"type":"param.changed","ts_event":0,"source":"s","actor":"system","data":{"name":"max_qty","old_value":null,"new_value":5,"reason":"tuning"}}"#,
    r#"{"type":"risk.evaluated","ts_event":1,"source":"s","actor":"system","data":{"decision":"approved","checks":["max_qty",{"x":[1,2,{"y":null}]}]}}"#,
    r#"{"type":"approval.requested","ts_event":1795271530123000000,"source":"s","actor":"system","data":{"expires_at":"2026-11-21T15:00Z"}}"#,
    r#"{"type":"custom.anything","ts_event":1,"source":"s\u00e9","actor":"trader:\u00e9","data":{"big":1e400,"s":"\ud83d\ude00","n":-0.0}}"#,
    r#"{"type":"trading.kill_switch","ts_event":9223372036854775807,"source":"s","actor":"system","data":{"engaged":true,"reason":"loss limit"}}"#,
    r#"{"type":"order.cancelled","ts_event":1795271530123000000,"source":"oms","actor":"operator:bob","trader_id":"T-1","instrument_id":"AAPL","entity":{"kind":"order","id":"O-1"}}"#,
    r#" {"type":"review.requested","ts_event":"1970-01-01T00:00:00Z","source":"s","actor":"system","data":{}} "#,
];

const DICT: &[&[u8]] = &[
    b"\"type\":",
    b"\"ts_event\":",
    b"\"source\":",
    b"\"actor\":",
    b"\"event_id\":",
    b"\"trader_id\":",
    b"\"strategy_id\":",
    b"\"account_id\":",
    b"\"instrument_id\":",
    b"\"entity\":",
    b"\"refs\":",
    b"\"data\":",
    b"\"seq\":",
    b"\"prev\":",
    b"\"kind\":",
    b"\"id\":",
    b"\"quantity\":",
    b"\"fill_qty\":",
    b"\"fill_price\":",
    b"\"price\":",
    b"\"side\":",
    b"\"order.filled\"",
    b"\"journal.created\"",
    b"\"custom.x\"",
    b"\"2026-11-21T14:32:10.123456789Z\"",
    b"\"9999-12-31T23:59:59.999999999Z\"",
    b"\"1677-09-21T00:12:43.145224191Z\"",
    b"\"2262-04-11T23:47:16.854775808Z\"",
    b"\"-0.000\"",
    b"\"1e5\"",
    b"null",
    b"true",
    b"{}",
    b"[]",
    b"{",
    b"}",
    b",",
    b":",
    b"\"",
    b"\\u0000",
    b"\\ud800",
    b"\\\"",
];

fn seeds() -> Vec<&'static [u8]> {
    SEEDS.iter().map(|s| s.as_bytes()).collect()
}

/// What must hold of every accepted event.
fn check_accepted(input: &[u8], ev: &Event) {
    let body = ev.to_body();
    assert!(body.starts_with(b"{\"type\":\""), "{input:?}");
    assert_eq!(body.last(), Some(&b'}'));
    assert!(
        !body.iter().any(|&b| b == b'\n' || b == b'\r' || b == 0),
        "body is not one clean line: {:?}",
        String::from_utf8_lossy(&body)
    );
    assert!(std::str::from_utf8(&body).is_ok());
    assert!(ev.validate().is_ok(), "accepted but not valid: {ev:?}");
    let again = Event::from_json(&body).unwrap_or_else(|e| {
        panic!(
            "the canonical body is refused ({e}): {}",
            String::from_utf8_lossy(&body)
        )
    });
    assert_eq!(&again, ev, "body does not read back the same event");
    assert_eq!(again.to_body(), body, "body is not canonical");
}

#[test]
fn from_json_answers_every_input() {
    let seeds = seeds();
    for s in &seeds {
        let ev = Event::from_json(s)
            .unwrap_or_else(|e| panic!("seed refused: {e}\n{}", String::from_utf8_lossy(s)));
        check_accepted(s, &ev);
    }
    let (mut accepted, mut refused) = (0u64, 0u64);
    fuzz::run(
        "model-event",
        10_000,
        |rng: &mut Rng| {
            Input(if rng.one_in(5) {
                fuzz::arbitrary(rng, DICT, 400)
            } else {
                let seed = *rng.pick(&seeds);
                fuzz::mutate(rng, seed, &seeds, DICT)
            })
        },
        |Input(bytes)| match Event::from_json(bytes) {
            Ok(ev) => {
                accepted += 1;
                check_accepted(bytes, &ev);
            }
            Err(errors) => {
                refused += 1;
                // Every refusal names at least one field and says why.
                assert!(errors.iter().next().is_some(), "an empty error list");
                assert!(!errors.to_string().is_empty());
            }
        },
    );
    assert!(
        accepted > 0 && refused > 0,
        "{accepted} accepted, {refused} refused"
    );
}

const TEXT_DICT: &[&[u8]] = &[
    b"2026-11-21",
    b"T",
    b"t",
    b" ",
    b"14:32:10",
    b"23:59:60",
    b".123456789",
    b".1234567891234",
    b"Z",
    b"+01:00",
    b"-23:59",
    b"+24:00",
    b"9999-12-31T23:59:59Z",
    b"0000-01-01T00:00:00Z",
    b"-",
    b"+",
    b".",
    b"e",
    b"E",
    b"_",
    b",",
    b"0",
    b"1",
    b"9",
];

#[test]
fn decimals_and_times_answer_every_text() {
    let seeds: Vec<&[u8]> = vec![
        b"187.50",
        b"-0.000001",
        b"79228162514264337593543950335",
        b"1e5",
        b"2026-11-21T14:32:10.123456789Z",
        b"2026-11-21T14:32:10+05:30",
        b"2026-11-21T14:32Z",
        b"2026-11-21",
    ];
    fuzz::run(
        "model-text",
        10_000,
        |rng: &mut Rng| {
            let bytes = if rng.one_in(3) {
                fuzz::arbitrary(rng, TEXT_DICT, 60)
            } else {
                let seed = *rng.pick(&seeds);
                fuzz::mutate(rng, seed, &seeds, TEXT_DICT)
            };
            String::from_utf8_lossy(&bytes).into_owned()
        },
        |text| {
            if let Ok(d) = parse_decimal(text) {
                // What is accepted reads back to itself from its normal form.
                assert_eq!(parse_decimal(&d.to_string()), Ok(d), "{text:?}");
            }
            if let Ok(ns) = parse_time(text) {
                let formatted = format_time(ns);
                assert_eq!(parse_time(&formatted), Ok(ns), "{text:?} -> {formatted}");
            }
        },
    );
}

/// Found by `from_json_answers_every_input` (case 1565 of the default seed took 10 s): an
/// unknown type is compared with every accepted type for a "did you mean", by an edit
/// distance quadratic in the length, so one request with a long `type` kept a server
/// thread busy for minutes. Now a type too long for any suggestion to be near gets none.
#[test]
fn a_long_unknown_type_is_refused_quickly() {
    // The shape the fuzzer found (a duplicated range), 100 KB long.
    let ty = format!("review.requesiew{}", ".requesiew".repeat(10_000));
    let line =
        format!(r#"{{"type":"{ty}","ts_event":1,"source":"s","actor":"system","data":{{}}}}"#);
    let start = std::time::Instant::now();
    let errors = Event::from_json(line.as_bytes()).unwrap_err();
    let took = start.elapsed();
    assert!(errors.get("type").is_some(), "{errors}");
    assert!(took.as_secs() < 5, "took {took:?}");
    // A typo of ordinary length is still caught.
    let near = br#"{"type":"order.filed","ts_event":1,"source":"s","actor":"system"}"#;
    let reason = Event::from_json(near)
        .unwrap_err()
        .get("type")
        .unwrap()
        .reason
        .clone();
    assert!(reason.contains("did you mean \"order.filled\""), "{reason}");
}

/// Found by `from_json_answers_every_input` (case 245 of the default seed, after the
/// fix above, took 4 s): the same "did you mean" for an unknown envelope key, against
/// each field name. Its cost grows with the key's length; keys much longer than every
/// field name are no longer compared.
#[test]
fn a_long_unknown_key_is_refused_quickly() {
    let key = format!("ts_e{}", "<a>".repeat(1_000_000));
    let line =
        format!(r#"{{"type":"custom.x","ts_event":1,"source":"s","actor":"system","{key}":1}}"#);
    let start = std::time::Instant::now();
    let errors = Event::from_json(line.as_bytes()).unwrap_err();
    let took = start.elapsed();
    assert_eq!(errors.iter().count(), 1, "{errors}");
    assert_eq!(errors.iter().next().unwrap().reason, "unknown field");
    assert!(took.as_secs() < 2, "took {took:?}");
    let near = br#"{"type":"custom.x","ts_event":1,"source":"s","actor":"system","acter":"x"}"#;
    let errors = Event::from_json(near).unwrap_err();
    assert_eq!(
        errors.get("acter").map(|e| e.reason.as_str()),
        Some("unknown field; did you mean \"actor\"?")
    );
}
