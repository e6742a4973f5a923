//! The recorder: configuration, durability policy, validation, idempotency.

use tradetrail_core::{Config, DataDir, Error, InitOptions, Recorder};
use tradetrail_journal::Durability;
use tradetrail_model::Event;

fn init(tmp: &tempfile::TempDir) -> (DataDir, Recorder) {
    let dir = DataDir::new(tmp.path().join("data"));
    let rec = Recorder::init(
        &dir,
        InitOptions {
            origin: Some("test/desk".into()),
            ..Default::default()
        },
    )
    .unwrap();
    (dir, rec)
}

fn order(id: &str) -> Event {
    Event::new(
        "order.submitted",
        1_795_700_000_000_000_000,
        "oms",
        "trader:T-1",
    )
    .with_trader("T-1")
    .with_instrument("AAPL.XNAS")
    .with_entity("order", id)
    .with_data("side", "buy")
    .with_data("quantity", "10")
    .with_data("order_type", "market")
}

#[test]
fn init_writes_config_and_record_zero_and_refuses_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, rec) = init(&tmp);
    let cfg = Config::load(&dir.config()).unwrap();
    assert_eq!(cfg.origin, "test/desk");
    assert_eq!(rec.journal().status().unwrap().records, 1);
    let line = rec.journal().read_line(0).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
    assert_eq!(v["type"], "journal.created");
    assert_eq!(v["data"]["origin"], "test/desk");
    let again = Recorder::init(&dir, InitOptions::default());
    assert!(matches!(again, Err(Error::AlreadyInitialized { .. })));
}

#[test]
fn bad_origin_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path().join("data"));
    let r = Recorder::init(
        &dir,
        InitOptions {
            origin: Some("two\nlines".into()),
            ..Default::default()
        },
    );
    assert!(matches!(r, Err(Error::Config { .. })), "{r:?}");
    assert!(!dir.root().exists());
}

#[test]
fn open_without_init_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let r = Recorder::open(&DataDir::new(tmp.path().join("nothing")));
    assert!(matches!(r, Err(Error::NotInitialized { .. })));
}

#[test]
fn durability_follows_the_policy_and_the_override() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, rec) = init(&tmp);
    let sig = Event::new("signal.generated", 1, "sig", "algo:a")
        .with_strategy("a")
        .with_instrument("X.Y")
        .with_data("direction", "long");
    assert_eq!(
        rec.prepare(&order("O-1"), None).durability(),
        Durability::Fsync
    );
    assert_eq!(rec.prepare(&sig, None).durability(), Durability::Os);
    assert_eq!(
        rec.prepare(&sig, Some(Durability::Fsync)).durability(),
        Durability::Fsync
    );
    assert_eq!(
        rec.prepare(&order("O-1"), Some(Durability::Os))
            .durability(),
        Durability::Os
    );
}

#[test]
fn invalid_event_is_refused_whole_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, rec) = init(&tmp);
    let bad = order("O-1").with_data("quantity", "-5");
    let r = rec.record(&bad);
    match r {
        Err(Error::Invalid(errs)) => assert!(errs.get("data.quantity").is_some(), "{errs}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert_eq!(rec.journal().status().unwrap().records, 1);
    let errs = rec
        .prepare_line(
            br#"{"type":"order.filed","ts_event":1,"source":"s","actor":"system"}"#,
            None,
        )
        .unwrap_err();
    assert!(errs.to_string().contains("order.filled"), "{errs}");
}

#[test]
fn repeated_event_id_returns_the_original_receipt_even_after_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, rec) = init(&tmp);
    let id = uuid::Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0);
    let first = rec.record(&order("O-1").with_event_id(id)).unwrap();
    let other = rec.record(&order("O-2")).unwrap();
    let again = rec.record(&order("O-1").with_event_id(id)).unwrap();
    assert!(!first.duplicate);
    assert!(again.duplicate);
    assert_eq!((again.seq, again.hash), (first.seq, first.hash));
    assert_eq!(rec.journal().status().unwrap().records, 3);
    drop(rec);
    let (rec, _) = Recorder::open(&dir).unwrap();
    let after = rec.record(&order("O-1").with_event_id(id)).unwrap();
    assert!(after.duplicate);
    assert_eq!((after.seq, after.hash), (first.seq, first.hash));
    assert_eq!(rec.journal().status().unwrap().records, 3);
    assert_ne!(other.seq, first.seq);
}

#[test]
fn config_errors_name_the_setting() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, rec) = init(&tmp);
    drop(rec);
    let text = std::fs::read_to_string(dir.config()).unwrap();
    std::fs::write(
        dir.config(),
        text.replace("segment_max_bytes = 67108864", "segment_max_bytes = 10"),
    )
    .unwrap();
    match Recorder::open(&dir) {
        Err(Error::Config { reason, .. }) => {
            assert!(reason.contains("segment_max_bytes"), "{reason}")
        }
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn reused_event_id_with_another_event_is_refused_naming_the_first_record() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, rec) = init(&tmp);
    let id = uuid::Uuid::from_u128(0x0fed_cba9_8765_4321_0fed_cba9_8765_4321);
    let first = rec.record(&order("O-1").with_event_id(id)).unwrap();
    let head = rec.journal().status().unwrap();
    let e = rec.record(&order("O-2").with_event_id(id)).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Journal(tradetrail_journal::Error::Conflict { seq, index: 0 }) if seq == first.seq
        ),
        "{e:?}"
    );
    assert_eq!(rec.journal().status().unwrap(), head);
    drop(rec);
    // After a reopen too; and a batch holding it is refused whole.
    let (rec, _) = Recorder::open(&dir).unwrap();
    let batch = vec![
        rec.prepare(&order("O-3"), None),
        rec.prepare(&order("O-2").with_event_id(id), None),
    ];
    let e = rec.record_batch(batch).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Journal(tradetrail_journal::Error::Conflict { seq, index: 1 }) if seq == first.seq
        ),
        "{e:?}"
    );
    assert_eq!(rec.journal().status().unwrap().records, head.records);
}

#[test]
fn a_retry_is_recognized_by_its_normalized_body_not_its_spelling() {
    let tmp = tempfile::tempdir().unwrap();
    let (_dir, rec) = init(&tmp);
    let id = "0b7c2a9e-3f4d-4e5a-8b6c-7d8e9f0a1b2c";
    let a = format!(
        r#"{{"type":"custom.note","event_id":"{id}","ts_event":1795700000000000000,"source":"oms","actor":"system","data":{{"a":1}}}}"#
    );
    // Same event: keys in another order, other whitespace, the UUID in capitals.
    let b = format!(
        r#"{{ "source": "oms", "type": "custom.note", "data": {{"a": 1}}, "actor": "system", "ts_event": 1795700000000000000, "event_id": "{}" }}"#,
        id.to_uppercase()
    );
    let first = rec
        .record_batch(vec![rec.prepare_line(a.as_bytes(), None).unwrap()])
        .unwrap();
    let again = rec
        .record_batch(vec![rec.prepare_line(b.as_bytes(), None).unwrap()])
        .unwrap();
    assert!(!first[0].duplicate);
    assert!(again[0].duplicate);
    assert_eq!((again[0].seq, again[0].hash), (first[0].seq, first[0].hash));
    // A different value is another event.
    let c = a.replace(r#""a":1"#, r#""a":2"#);
    let e = rec
        .record_batch(vec![rec.prepare_line(c.as_bytes(), None).unwrap()])
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Journal(tradetrail_journal::Error::Conflict { seq, .. }) if seq == first[0].seq
        ),
        "{e:?}"
    );
}

#[test]
fn save_config_checks_before_it_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, rec) = init(&tmp);
    drop(rec);
    let before = std::fs::read_to_string(dir.config()).unwrap();
    let mut cfg = dir.load_config().unwrap();
    cfg.time.zone = "Mars/Base".into();
    match dir.save_config(&cfg) {
        Err(Error::Config { path, reason }) => {
            assert_eq!(path, dir.config());
            assert!(reason.starts_with("time.zone: "), "{reason}");
        }
        other => panic!("expected a configuration error, got {other:?}"),
    }
    assert_eq!(std::fs::read_to_string(dir.config()).unwrap(), before);
    cfg.time.zone = "Europe/London".into();
    dir.save_config(&cfg).unwrap();
    assert_eq!(dir.load_config().unwrap(), cfg);
    assert_ne!(std::fs::read_to_string(dir.config()).unwrap(), before);
}
