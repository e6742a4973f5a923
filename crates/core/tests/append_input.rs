//! `Recorder::append_input`: a prepared input appended as one, receipts handed on in
//! input order group by group, a repeated `event_id` with another body refused before
//! anything is written, and a failing receipt sink stopping the submitting.

use tradetrail_core::{
    split_lines, Appended, DataDir, Error, FirstBody, InitOptions, Recorder, APPEND_GROUP,
};
use tradetrail_journal::{Durability, Entry, Receipt};

fn init(tmp: &tempfile::TempDir) -> Recorder {
    let dir = DataDir::new(tmp.path().join("data"));
    Recorder::init(
        &dir,
        InitOptions {
            origin: Some("test/append-input".into()),
            ..Default::default()
        },
    )
    .unwrap()
}

/// An event with `event_id` number `id` and data value `v`.
fn event(id: usize, v: usize) -> String {
    format!(
        r#"{{"type":"custom.n","ts_event":1,"source":"s","actor":"system","event_id":"00000000-0000-4000-8000-{id:012}","data":{{"v":{v}}}}}"#
    )
}

fn prepare(rec: &Recorder, events: &[String]) -> Vec<Entry> {
    let text: String = events.iter().map(|e| format!("{e}\n")).collect();
    rec.prepare_lines(&split_lines(text.as_bytes()), Some(Durability::Os))
        .unwrap()
}

#[test]
fn receipts_come_in_input_order_group_by_group() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = init(&tmp);
    let n = 2 * APPEND_GROUP + 5;
    let events: Vec<String> = (0..n).map(|i| event(i, i)).collect();
    let entries = prepare(&rec, &events);
    let mut groups: Vec<Vec<Receipt>> = Vec::new();
    let done = rec
        .append_input(entries, |rs| {
            groups.push(rs.to_vec());
            Ok(())
        })
        .unwrap();
    assert_eq!(
        done,
        Appended {
            written: n,
            duplicates: 0
        }
    );
    let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![APPEND_GROUP, APPEND_GROUP, 5]);
    let all: Vec<Receipt> = groups.into_iter().flatten().collect();
    for (i, r) in all.iter().enumerate() {
        assert_eq!(r.seq, i as u64 + 1, "receipt {i}");
        let line = rec.journal().read_line(r.seq).unwrap();
        assert_eq!(r.hash, tradetrail_journal::RecordHash::of_line(&line));
        assert!(String::from_utf8_lossy(&line).contains(&format!("\"v\":{i}}}")));
    }

    // The same input again: every entry a duplicate, nothing new written.
    let entries = prepare(&rec, &events);
    let again = rec.append_input(entries, |_| Ok(())).unwrap();
    assert_eq!(
        again,
        Appended {
            written: 0,
            duplicates: n
        }
    );
    assert_eq!(rec.journal().status().unwrap().records, n as u64 + 1);
}

#[test]
fn a_repeated_event_id_with_another_body_refuses_the_whole_input() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = init(&tmp);
    rec.append_input(prepare(&rec, &[event(7, 1)]), |_| Ok(()))
        .unwrap();
    let before = rec.journal().status().unwrap().records;

    // Recorded already (record 1), with another body, at input position 2.
    let input = [event(1, 0), event(2, 0), event(7, 2)];
    let mut called = false;
    let err = rec
        .append_input(prepare(&rec, &input), |_| {
            called = true;
            Ok(())
        })
        .unwrap_err();
    match err {
        Error::Repeated {
            index,
            event_id,
            first,
        } => {
            assert_eq!(index, 2);
            assert_eq!(
                event_id.as_deref(),
                Some("00000000-0000-4000-8000-000000000007")
            );
            assert_eq!(first, FirstBody::Record(1));
        }
        other => panic!("not Repeated: {other:?}"),
    }
    assert!(!called);
    assert_eq!(rec.journal().status().unwrap().records, before);

    // Repeated within the input: positions 0 and 3.
    let input = [event(9, 1), event(10, 0), event(11, 0), event(9, 2)];
    let entries = prepare(&rec, &input);
    let err = rec.check_input_repeats(&entries).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Repeated {
                index: 3,
                first: FirstBody::Input(0),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(rec.append_input(entries, |_| Ok(())).is_err());
    assert_eq!(rec.journal().status().unwrap().records, before);
}

#[test]
fn a_failing_receipt_sink_stops_the_submitting() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = init(&tmp);
    // Far more groups than are ever in flight: the sink fails on the first.
    let n = 40 * APPEND_GROUP;
    let events: Vec<String> = (0..n).map(|i| event(i, i)).collect();
    let mut calls = 0;
    let err = rec
        .append_input(prepare(&rec, &events), |_| {
            calls += 1;
            Err(std::io::Error::other("sink closed"))
        })
        .unwrap_err();
    assert!(matches!(err, Error::Receipts(_)), "{err:?}");
    assert_eq!(calls, 1);
    // What was submitted is written, whole groups of it, and the rest is not.
    let records = rec.journal().status().unwrap().records - 1;
    assert!(records >= APPEND_GROUP as u64, "{records}");
    assert!(
        records < n as u64,
        "{records} of {n}: submitting did not stop"
    );
    assert_eq!(records % APPEND_GROUP as u64, 0, "{records}");
}
