//! A live index: a record is found as soon as its append is acknowledged, from any
//! thread, while others append and query.

mod common;

use std::sync::Arc;

use common::*;
use tradetrail_query::{Dim, Filter, IndexOptions, Investigator, QueryOptions, Source};

#[test]
fn acknowledged_is_queryable_at_once_from_many_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let j = create(tmp.path());
    let inv = Arc::new(
        Investigator::open_with(
            Source::live(j.clone()),
            index_dir(tmp.path()),
            IndexOptions {
                persist: true,
                flush_rows: 64,
            },
            &|_| {},
        )
        .unwrap(),
    );
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let j = j.clone();
            let inv = inv.clone();
            std::thread::spawn(move || {
                for i in 0..150 {
                    let id = format!("E-{t}-{i}");
                    let seq = append(
                        &j,
                        &format!(
                            r#"{{"type":"order.submitted","ts_event":{},"source":"oms","actor":"system","trader_id":"T-{t}","entity":{{"kind":"order","id":"{id}"}},"data":{{}}}}"#,
                            T0 + i * SEC
                        ),
                    );
                    // The receipt is in hand: the record must be found now.
                    let f = Filter {
                        entity: Some(id.clone()),
                        ..Filter::default()
                    };
                    let (got, _) = inv.query(&f, &QueryOptions::default()).unwrap();
                    assert_eq!(got.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![seq], "{id}");
                    let trail = inv.trail(&id).unwrap();
                    assert_eq!(trail.records.len(), 1);
                    assert_eq!(trail.records[0].seq, seq);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let stats = inv.stats(Dim::Trader, &Filter::default()).unwrap();
    let traders: Vec<(Option<String>, u64)> = stats
        .rows
        .iter()
        .map(|r| (r.value.clone(), r.count))
        .collect();
    for t in 0..4 {
        assert!(
            traders.contains(&(Some(format!("T-{t}")), 150)),
            "{traders:?}"
        );
    }
    let all = lines(&tmp.path().join("journal"));
    let (got, _) = inv
        .query(&Filter::default(), &QueryOptions::default())
        .unwrap();
    assert_eq!(got.len(), all.len());
}

#[test]
fn reverse_and_limit_read_the_newest_first() {
    let tmp = tempfile::tempdir().unwrap();
    let j = create(tmp.path());
    let mut g = Gen::new(3);
    fill(&j, &mut g, 5000);
    let inv = Investigator::open(Source::live(j), index_dir(tmp.path())).unwrap();
    let (got, _) = inv
        .query(
            &Filter::default(),
            &QueryOptions {
                limit: Some(3),
                reverse: true,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        got.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![5000, 4999, 4998]
    );
    let (got, _) = inv
        .query(
            &Filter::default(),
            &QueryOptions {
                limit: Some(0),
                reverse: false,
                ..Default::default()
            },
        )
        .unwrap();
    assert!(got.is_empty());
}
