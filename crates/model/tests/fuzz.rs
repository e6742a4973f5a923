//! Fuzzing the event model: arbitrary and mutated bytes into `Event::from_json` (what
//! `append` and `POST /v1/events` call), and arbitrary text into `parse_decimal` and
//! `parse_time`. Each must answer, never panic; what is accepted must be canonical: its
//! body is one clean line that parses back to the same event and the same body.
//!
//! A fixed number of cases by default; `TRADETRAIL_FUZZ_SECS=60` runs each test for a
//! minute (see docs/fuzzing.md).

use tradetrail_model::fast::normalize_fast;
use tradetrail_model::{format_time, normalize, parse_decimal, parse_time, Event};
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

/// The fast path and the reference path agree on `line`: what the fast path accepts the
/// reference accepts, with the same body, type and event_id; and `normalize` (fast path,
/// then reference) answers exactly as the reference does, errors included. Returns
/// whether the fast path took it.
fn check_agree(line: &[u8]) -> bool {
    let reference = Event::from_json(line);
    let fast = normalize_fast(line);
    if let Some(n) = &fast {
        let ev = reference.as_ref().unwrap_or_else(|e| {
            panic!(
                "the fast path accepts what the reference refuses ({e}): {}",
                String::from_utf8_lossy(line)
            )
        });
        assert_eq!(
            String::from_utf8_lossy(n.body()),
            String::from_utf8_lossy(&ev.to_body()),
            "bodies differ for {}",
            String::from_utf8_lossy(line)
        );
        assert_eq!(n.event_type(), ev.event_type);
        assert_eq!(n.event_id(), ev.event_id);
    }
    match (normalize(line), &reference) {
        (Ok(n), Ok(ev)) => assert_eq!(n.body(), ev.to_body()),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        (a, b) => panic!(
            "normalize and the reference disagree on {}: {a:?} vs {b:?}",
            String::from_utf8_lossy(line)
        ),
    }
    fast.is_some()
}

#[test]
fn the_fast_path_agrees_with_the_reference_on_every_input() {
    let seeds = seeds();
    // Every seed without a backslash escape or an exponent takes the fast path.
    for s in &seeds {
        let simple = !s.contains(&b'\\') && !s.windows(2).any(|w| w == b"1e");
        assert_eq!(check_agree(s), simple, "{}", String::from_utf8_lossy(s));
    }
    let (mut fast, mut accepted) = (0u64, 0u64);
    fuzz::run(
        "model-fast-vs-reference",
        20_000,
        |rng: &mut Rng| {
            Input(if rng.one_in(5) {
                fuzz::arbitrary(rng, DICT, 400)
            } else {
                let seed = *rng.pick(&seeds);
                fuzz::mutate(rng, seed, &seeds, DICT)
            })
        },
        |Input(bytes)| {
            accepted += u64::from(Event::from_json(bytes).is_ok());
            fast += u64::from(check_agree(bytes));
        },
    );
    // The fast path must take a good share of what the reference accepts (if it gave
    // up on everything, it would agree trivially).
    assert!(
        fast * 2 > accepted,
        "the fast path took {fast} of {accepted} accepted"
    );
}

/// Events written the many ways producers write them: keys in any order, any JSON
/// whitespace, decimals as strings and numbers in every form, choices in any case,
/// times as ns and RFC 3339, nested producer values, refs, entity keys swapped. One in
/// four may also hold a bad value somewhere.
fn generated_event(rng: &mut Rng) -> String {
    let bad = rng.one_in(4);
    // One of `good`, or (in a bad event, sometimes) one of `wrong`.
    let pick = |rng: &mut Rng, good: &[&str], wrong: &[&str]| -> String {
        if bad && !wrong.is_empty() && rng.one_in(6) {
            rng.pick(wrong).to_string()
        } else {
            rng.pick(good).to_string()
        }
    };
    fn ws(rng: &mut Rng) -> &'static str {
        const CHOICES: [&str; 8] = ["", "", "", " ", "  ", "\t", "\n", "\r\n "];
        CHOICES[rng.below(CHOICES.len())]
    }
    let ty = pick(
        rng,
        &[
            "order.filled",
            "order.submitted",
            "order.cancelled",
            "signal.generated",
            "position.updated",
            "param.changed",
            "custom.thing",
            "system.started",
            "risk.evaluated",
        ],
        &["order.filed", "journal.created", "Order.Filled"],
    );
    let mut fields: Vec<(String, String)> = vec![
        ("type".into(), format!("\"{ty}\"")),
        (
            "ts_event".into(),
            pick(
                rng,
                &[
                    "1795271530123000000",
                    "0",
                    "-0",
                    "\"2026-11-21T14:32:10.123Z\"",
                    "\"2026-11-21T14:32:10+01:00\"",
                ],
                &["1.5", "-5", "\"soon\"", "null"],
            ),
        ),
        (
            "source".into(),
            pick(
                rng,
                &["\"oms\"", "\"risk_engine\"", "\"é-src\""],
                &["\"\"", "5"],
            ),
        ),
        (
            "actor".into(),
            pick(
                rng,
                &["\"system\"", "\"algo:twap-7\"", "\"trader:T-1\""],
                &["\"bob\"", "\"algo:\""],
            ),
        ),
    ];
    if rng.one_in(2) {
        let id = pick(
            rng,
            &[
                "\"0b0f5c4e-3c43-4d5e-9a1f-8f9e2d7c6b5a\"",
                "\"0B0F5C4E-3C43-4D5E-9A1F-8F9E2D7C6B5A\"",
            ],
            &["\"0b0f5c4e3c434d5e9a1f8f9e2d7c6b5a\"", "\"b1\""],
        );
        fields.push(("event_id".into(), id));
    }
    for key in ["trader_id", "strategy_id", "account_id", "instrument_id"] {
        if !rng.one_in(5) {
            let id = pick(
                rng,
                &["\"T-1\"", "\"AAPL\"", "\"ACC-1\""],
                &["\"\u{7f}\"", "\"\""],
            );
            fields.push((key.into(), id));
        }
    }
    if !rng.one_in(5) {
        let kind = pick(rng, &["\"order\""], &["\"position\"", "\"\"", "\"\u{85}\""]);
        let entity = if rng.one_in(2) {
            format!("{{\"kind\":{kind},{}\"id\":\"O-1\"}}", ws(rng))
        } else {
            format!("{{ \"id\" : \"O-1\" , \"kind\" : {kind} }}")
        };
        fields.push(("entity".into(), entity));
    }
    if rng.one_in(3) {
        let value = pick(
            rng,
            &["5", "-3", "\"S-1\"", "18446744073709551615"],
            &["1.5", "true", "\"\""],
        );
        let correction = if rng.one_in(3) {
            ",\"correction_of\":7"
        } else {
            ""
        };
        fields.push(("refs".into(), format!("{{\"signal\":{value}{correction}}}")));
    }
    let mut data: Vec<(String, String)> = Vec::new();
    for key in ["fill_qty", "fill_price", "quantity", "price"] {
        if !rng.one_in(4) {
            let int = pick(
                rng,
                &["1", "10", "187", "999999999999", "1000000000000"],
                &["0", "007", "1000000000001"],
            );
            let frac = pick(rng, &["", ".5", ".50", ".000", ".123456789"], &["."]);
            let sign = if bad && rng.one_in(4) { "-" } else { "" };
            let text = format!("{sign}{int}{frac}");
            data.push((
                key.into(),
                if rng.one_in(2) {
                    format!("\"{text}\"")
                } else {
                    text
                },
            ));
        }
    }
    for (key, good, wrong) in [
        (
            "side",
            &["\"buy\"", "\"SELL\"", "\"Sell_Short\""][..],
            &["\"hold\"", "1"][..],
        ),
        (
            "order_type",
            &["\"limit\"", "\"MARKET\"", "\"stop\"", "\"Stop_Limit\""],
            &[],
        ),
        ("direction", &["\"long\"", "\"FLAT\""], &[]),
        ("decision", &["\"approved\"", "\"Rejected\""], &[]),
        ("trade_id", &["\"X-9\""], &["\"\"", "null"]),
        ("venue", &["\"XNAS\""], &["\"\""]),
        ("expires_at", &["\"2026-11-21T15:00Z\"", "5"], &["\"soon\""]),
        ("name", &["\"max_qty\""], &[]),
        ("old_value", &["null", "5", "[1, 2]"], &[]),
        ("new_value", &["{\"a\": [1, {\"b\": null}]}", "\"x\""], &[]),
        ("reason", &["\"tuning\""], &["\"\""]),
        (
            "checks",
            &["[\"max_qty\", {\"x\" : 1}]", "{}"],
            &["\"a\"", "{\"k\":1,\"k\":2}"],
        ),
        ("engaged", &["true", "false"], &["\"true\""]),
        ("note", &["\"free text\"", "[ ]", "-0.0", "0.25"], &[]),
    ] {
        if rng.one_in(3) {
            data.push((key.into(), pick(rng, good, wrong)));
        }
    }
    // Shuffle both levels.
    for v in [&mut fields, &mut data] {
        for i in (1..v.len()).rev() {
            let j = rng.below(i + 1);
            v.swap(i, j);
        }
    }
    if !data.is_empty() || rng.one_in(2) {
        let inner: Vec<String> = data
            .iter()
            .map(|(k, v)| format!("{}\"{k}\"{}:{}{v}", ws(rng), ws(rng), ws(rng)))
            .collect();
        fields.push(("data".into(), format!("{{{}}}", inner.join(","))));
    }
    let outer: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}\"{k}\"{}:{}{v}{}", ws(rng), ws(rng), ws(rng), ws(rng)))
        .collect();
    format!("{}{{{}}}{}", ws(rng), outer.join(","), ws(rng))
}

#[test]
fn the_fast_path_agrees_on_generated_events() {
    let (mut fast, mut accepted, mut total) = (0u64, 0u64, 0u64);
    let (mut missed, mut slow_by_design) = (Vec::new(), 0u64);
    fuzz::run("model-fast-generated", 20_000, generated_event, |line| {
        total += 1;
        let ok = Event::from_json(line.as_bytes()).is_ok();
        accepted += u64::from(ok);
        let took = check_agree(line.as_bytes());
        fast += u64::from(took);
        // A repeated key inside a producer's nested value is valid (the last one wins,
        // as in serde_json) but left to the reference path.
        let repeated = line.contains(r#"{"k":1,"k":2}"#);
        if ok && !took && !repeated && missed.len() < 5 {
            missed.push(line.clone());
        }
        slow_by_design += u64::from(ok && repeated);
    });
    eprintln!("{fast} fast of {accepted} accepted of {total}");
    // Generated events are written the way the fast path handles (no escapes, no
    // exponents, no repeated keys): it must take every accepted one, and some must be refused so that
    // both sides are exercised.
    assert!(
        accepted > total / 10 && accepted < total,
        "{accepted} of {total}"
    );
    assert!(
        missed.is_empty(),
        "the fast path gave up on valid events: {missed:#?}"
    );
    assert_eq!(fast + slow_by_design, accepted);
}
