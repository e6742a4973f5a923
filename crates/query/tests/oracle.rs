//! Every answer checked against a brute-force scan of the journal: random journals
//! (odd shapes, unordered times, many segments), indexes built in three ways
//! (followed live in small steps with many saves and merges, rebuilt from the
//! directory, and in memory only), random combinations of filters.

mod common;

use std::collections::BTreeMap;

use common::*;
use proptest::prelude::*;
use serde_json::Value;
use tradetrail_query::{
    Clock, Cursor, Dim, Filter, IndexOptions, Investigator, QueryOptions, Source,
};

#[derive(Debug, Clone)]
struct Spec {
    types: Vec<String>,
    sources: Vec<String>,
    actors: Vec<String>,
    traders: Vec<String>,
    instruments: Vec<String>,
    kinds: Vec<String>,
    accounts: Vec<String>,
    strategies: Vec<String>,
    entity: Option<String>,
    mentions: Option<String>,
    text: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
    recorded: bool,
    limit: Option<usize>,
    reverse: bool,
}

fn pats(
    pool: &'static [&'static str],
    extra: &'static [&'static str],
) -> impl Strategy<Value = Vec<String>> {
    let all: Vec<&'static str> = pool.iter().chain(extra).copied().collect();
    prop_oneof![
        3 => Just(Vec::new()),
        2 => proptest::sample::subsequence(all, 1..3)
            .prop_map(|v| v.into_iter().map(str::to_owned).collect()),
    ]
}

fn id() -> impl Strategy<Value = Option<String>> {
    let mut pool: Vec<&'static str> = IDS.to_vec();
    pool.push("missing");
    prop_oneof![
        4 => Just(None),
        1 => proptest::sample::select(pool).prop_map(|s| Some(s.to_owned())),
    ]
}

fn text() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        6 => Just(None),
        1 => proptest::sample::select(vec!["TWO", "\"i\":1", "Nested", "nope"])
            .prop_map(|s| Some(s.to_owned())),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    let time = (
        proptest::option::of(0i64..5000),
        proptest::option::of(1i64..4000),
        any::<bool>(),
    );
    (
        (
            pats(TYPES, &["order.*", "*.filled", "nope.*", "*"]),
            pats(SOURCES, &["o*"]),
            pats(ACTORS, &["trader:*"]),
            pats(TRADERS, &[]),
            pats(INSTRUMENTS, &["*.XNAS"]),
            pats(KINDS, &[]),
            pats(ACCOUNTS, &[]),
            pats(STRATEGIES, &[]),
        ),
        (id(), id(), text()),
        time,
        (proptest::option::of(0usize..40), any::<bool>()),
    )
        .prop_map(
            |(
                (types, sources, actors, traders, instruments, kinds, accounts, strategies),
                (entity, mentions, text),
                (from, len, recorded),
                (limit, reverse),
            )| {
                let (from, to) = match (from, len) {
                    (Some(f), Some(l)) => (Some(T0 + f * SEC), Some(T0 + (f + l) * SEC)),
                    (Some(f), None) => (Some(T0 + f * SEC), None),
                    (None, Some(l)) => (None, Some(T0 + l * SEC)),
                    (None, None) => (None, None),
                };
                Spec {
                    types,
                    sources,
                    actors,
                    traders,
                    instruments,
                    kinds,
                    accounts,
                    strategies,
                    entity,
                    mentions,
                    text,
                    from,
                    to,
                    recorded,
                    limit,
                    reverse,
                }
            },
        )
}

fn filter_of(s: &Spec, recorded: &[i64]) -> Filter {
    let mut f = Filter {
        types: s.types.clone(),
        sources: s.sources.clone(),
        actors: s.actors.clone(),
        traders: s.traders.clone(),
        instruments: s.instruments.clone(),
        kinds: s.kinds.clone(),
        accounts: s.accounts.clone(),
        strategies: s.strategies.clone(),
        entity: s.entity.clone(),
        mentions: s.mentions.clone(),
        text: s.text.clone(),
        from: s.from,
        to: s.to,
        ..Filter::default()
    };
    if s.recorded {
        // Bounds on the ts_recorded of actual records, so they fall exactly on some.
        let map = |t: i64| {
            let i = (((t - T0) / SEC) as usize).min(recorded.len() - 1);
            recorded[i]
        };
        f.clock = Clock::Recorded;
        f.from = s.from.map(map);
        f.to = s.to.map(map);
        if let (Some(a), Some(b)) = (f.from, f.to) {
            if a >= b {
                f.to = Some(a + 1);
            }
        }
    }
    f
}

fn check(inv: &Investigator, lines: &[Vec<u8>], values: &[Value], f: &Filter, s: &Spec, how: &str) {
    let all = brute_parsed(values, f);
    let mut want = all.clone();
    if s.reverse {
        want.reverse();
    }
    if let Some(l) = s.limit {
        want.truncate(l);
    }
    let opts = QueryOptions {
        limit: s.limit,
        reverse: s.reverse,
        ..Default::default()
    };
    let (got, summary) = inv.query(f, &opts).unwrap();
    let seqs: Vec<u64> = got.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, want, "{how}: {f:?} {opts:?}");
    assert_eq!(summary.returned, want.len() as u64);
    // A page says whether it is the last, and where the next one starts.
    let cut = s.limit.is_some_and(|l| l > 0 && l < all.len());
    assert_eq!(summary.truncated, cut, "{how}: {f:?} {opts:?}");
    assert_eq!(summary.next.is_some(), cut, "{how}: {f:?} {opts:?}");
    if let Some(l) = s.limit.filter(|&l| l > 0 && all.len() / l < 40) {
        // Following the cursor walks every match exactly once, in order.
        let mut full = all.clone();
        if s.reverse {
            full.reverse();
        }
        let mut walked: Vec<u64> = Vec::new();
        let mut o = opts;
        loop {
            let (page, sum) = inv.query(f, &o).unwrap();
            assert!(page.len() <= l, "{how}: a page over the limit");
            walked.extend(page.iter().map(|r| r.seq));
            match sum.next {
                None => break,
                Some(Cursor::After(a)) => o.after = Some(a),
                Some(Cursor::Before(b)) => o.before = Some(b),
            }
        }
        assert_eq!(walked, full, "{how}: pages of {l} {f:?} {opts:?}");
    }
    for r in &got {
        assert_eq!(
            r.line, lines[r.seq as usize],
            "{how}: record {} byte for byte",
            r.seq
        );
    }
    // Counts by each dimension agree with the same filter, counted by hand.
    for dim in [
        Dim::Type,
        Dim::Source,
        Dim::Trader,
        Dim::EntityKind,
        Dim::Instrument,
    ] {
        let stats = inv.stats(dim, f).unwrap();
        let mut by_hand: BTreeMap<Option<String>, u64> = BTreeMap::new();
        for &i in &all {
            let v = &values[i as usize];
            let key = match dim {
                Dim::Type => v.get("type"),
                Dim::Source => v.get("source"),
                Dim::Trader => v.get("trader_id"),
                Dim::EntityKind => v.pointer("/entity/kind"),
                Dim::Instrument => v.get("instrument_id"),
                _ => unreachable!(),
            }
            .and_then(Value::as_str)
            .map(str::to_owned);
            *by_hand.entry(key).or_default() += 1;
        }
        let got: BTreeMap<Option<String>, u64> = stats
            .rows
            .iter()
            .map(|r| (r.value.clone(), r.count))
            .collect();
        assert_eq!(got, by_hand, "{how}: stats by {dim} for {f:?}");
        assert_eq!(stats.total, all.len() as u64);
    }
}

fn recorded(values: &[Value]) -> Vec<i64> {
    values
        .iter()
        .map(|v| v["ts_recorded"].as_i64().unwrap())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn queries_match_a_brute_force_scan(
        seed in any::<u64>(),
        n in 1u64..2600,
        steps in proptest::collection::vec(1u64..400, 1..6),
        flush_rows in 1u64..300,
        specs in proptest::collection::vec(spec(), 6),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let j = create(tmp.path());
        let mut g = Gen::new(seed);
        // Followed live in steps, saving every `flush_rows` records: many runs, merges,
        // zones cut at odd places.
        let live = Investigator::open_with(
            Source::live(j.clone()),
            index_dir(tmp.path()),
            IndexOptions { persist: true, flush_rows },
            &|_| {},
        ).unwrap();
        let mut done = 0;
        for (k, step) in steps.iter().cycle().enumerate() {
            if done >= n { break; }
            let m = (*step).min(n - done);
            fill(&j, &mut g, m);
            done += m;
            if k % 2 == 0 {
                live.refresh().unwrap();
            }
        }
        let lines = lines(&tmp.path().join("journal"));
        let values = parse_all(&lines);
        let t0 = recorded(&values);
        // Read from the directory what the live one saved (plus what it did not).
        let from_disk = Investigator::open(Source::dir(tmp.path().join("journal")), index_dir(tmp.path())).unwrap();
        // Built in memory only.
        let memory = Investigator::open_with(
            Source::dir(tmp.path().join("journal")),
            tmp.path().join("elsewhere"),
            IndexOptions { persist: false, flush_rows: 1 },
            &|_| {},
        ).unwrap();
        for s in &specs {
            let f = filter_of(s, &t0);
            check(&live, &lines, &values, &f, s, "live");
            check(&from_disk, &lines, &values, &f, s, "from disk");
            check(&memory, &lines, &values, &f, s, "in memory");
        }
        prop_assert_eq!(live.dump().unwrap(), from_disk.dump().unwrap());
    }
}

/// Incidents: the window is [at - w, at + w], both ends included, plus the fields.
#[test]
fn incident_matches_brute_force() {
    let tmp = tempfile::tempdir().unwrap();
    let j = create(tmp.path());
    let mut g = Gen::new(7);
    fill(&j, &mut g, 3000);
    let inv = Investigator::open(Source::live(j.clone()), index_dir(tmp.path())).unwrap();
    let lines = lines(&tmp.path().join("journal"));
    for (at, w, src) in [
        (T0 + 1500 * SEC, 30 * SEC, None),
        (T0 + 10 * SEC, 5 * SEC, Some("oms")),
        (T0 + 2999 * SEC, 1, None),
        (T0 - 100 * SEC, SEC, None),
    ] {
        let mut f = Filter::default();
        if let Some(s) = src {
            f.set("source", s).unwrap();
        }
        let inc = inv.incident(at, w, &f, &QueryOptions::default()).unwrap();
        let mut bf = f.clone();
        bf.from = Some(at - w);
        bf.to = Some(at + w + 1);
        let want = brute(&lines, &bf);
        let got: Vec<u64> = inc.records.iter().map(|r| r.seq).collect();
        assert_eq!(got, want);
        assert_eq!(inc.total, want.len() as u64);
        assert_eq!(inc.groups.iter().map(|g| g.count).sum::<u64>(), inc.total);
        // On a time axis: consecutive slices covering the window, each counted exactly.
        let slices = inv.incident_timeline(at, w, &f, 7).unwrap();
        assert_eq!(slices.first().unwrap().from, at - w);
        assert_eq!(slices.last().unwrap().to, at + w + 1);
        let mut sum = 0;
        for (i, s) in slices.iter().enumerate() {
            if i > 0 {
                assert_eq!(s.from, slices[i - 1].to);
            }
            let mut sf = f.clone();
            sf.from = Some(s.from);
            sf.to = Some(s.to);
            let n: u64 = s.groups.iter().map(|g| g.count).sum();
            assert_eq!(n, brute(&lines, &sf).len() as u64);
            sum += n;
        }
        assert_eq!(sum, inc.total);
        // With a limit the counts still cover everything.
        let inc = inv
            .incident(
                at,
                w,
                &f,
                &QueryOptions {
                    limit: Some(2),
                    reverse: false,
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(inc.total, want.len() as u64);
        assert!(inc.records.len() <= 2);
    }
    // Bad input.
    assert!(inv
        .incident(T0, 0, &Filter::default(), &QueryOptions::default())
        .unwrap_err()
        .is_bad_input());
    let ranged = Filter {
        from: Some(T0),
        ..Filter::default()
    };
    assert!(inv
        .incident(T0, SEC, &ranged, &QueryOptions::default())
        .unwrap_err()
        .is_bad_input());
}

#[test]
fn bad_questions_are_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let j = create(tmp.path());
    let inv = Investigator::open(Source::live(j), index_dir(tmp.path())).unwrap();
    let empty = Filter {
        from: Some(10),
        to: Some(10),
        ..Filter::default()
    };
    let e = inv.query(&empty, &QueryOptions::default()).unwrap_err();
    assert!(e.is_bad_input(), "{e}");
    assert!(e.to_string().contains("empty"), "{e}");
    assert!(inv.stats(Dim::Type, &empty).unwrap_err().is_bad_input());
    assert!(Dim::parse("colour").unwrap_err().is_bad_input());
    assert!(inv.trail("").unwrap_err().is_bad_input());
    // A type nobody wrote: empty, with a note that suggests the near one.
    let mut f = Filter::default();
    f.set("type", "journal.creatd").unwrap();
    let (recs, summary) = inv.query(&f, &QueryOptions::default()).unwrap();
    assert!(recs.is_empty());
    assert!(
        summary.notes[0].contains("journal.created"),
        "{:?}",
        summary.notes
    );
}

/// Time ranges whose bounds fall exactly on the first and last records of a zone of
/// 1024 records, on both clocks.
#[test]
fn range_bounds_at_zone_edges() {
    let tmp = tempfile::tempdir().unwrap();
    let j = create(tmp.path());
    for i in 1..3000u64 {
        append(
            &j,
            &format!(
                r#"{{"type":"custom.t","ts_event":{},"source":"s","actor":"system","data":{{}}}}"#,
                T0 + i as i64 * SEC
            ),
        );
    }
    let inv = Investigator::open(Source::live(j), index_dir(tmp.path())).unwrap();
    let lines = lines(&tmp.path().join("journal"));
    let values = parse_all(&lines);
    let rec = recorded(&values);
    for k in [1u64, 1022, 1023, 1024, 1025, 2047, 2048, 2999] {
        for clock in [Clock::Event, Clock::Recorded] {
            let at = |i: u64| match clock {
                Clock::Event => T0 + i as i64 * SEC,
                Clock::Recorded => rec[i as usize],
            };
            for (from, to) in [
                (Some(at(k)), None),
                (None, Some(at(k))),
                (Some(at(k)), Some(at(k) + 1)),
                (Some(at(k.saturating_sub(1))), Some(at(k))),
            ] {
                let f = Filter {
                    from,
                    to,
                    clock,
                    ..Filter::default()
                };
                let (got, _) = inv.query(&f, &QueryOptions::default()).unwrap();
                let got: Vec<u64> = got.iter().map(|r| r.seq).collect();
                assert_eq!(got, brute_parsed(&values, &f), "{f:?}");
            }
        }
    }
}

/// Activity: every record with a `ts_event` the filter selects is counted once, in
/// the bucket (hour or day) it falls in, by type; only the newest buckets are kept.
#[test]
fn activity_counts_every_record_in_its_bucket() {
    let tmp = tempfile::tempdir().unwrap();
    let j = create(tmp.path());
    let mut g = Gen::new(11);
    fill(&j, &mut g, 3000);
    let inv = Investigator::open(Source::live(j.clone()), index_dir(tmp.path())).unwrap();
    let values: Vec<Value> = lines(&tmp.path().join("journal"))
        .iter()
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    const HOUR: i64 = 3600 * SEC;
    let mut units = Vec::new();
    for (f, max) in [
        (Filter::default(), 1000),
        (Filter::default(), 3),
        (
            {
                let mut f = Filter::default();
                f.set("source", "oms").unwrap();
                f
            },
            1000,
        ),
        (
            Filter {
                from: Some(T0 + 100 * SEC),
                to: Some(T0 + 2000 * SEC),
                ..Filter::default()
            },
            1000,
        ),
    ] {
        let a = inv.activity(&f, max).unwrap().expect("records in range");
        units.push(a.unit);
        let width = if a.unit == "hour" { HOUR } else { 24 * HOUR };
        assert!(a.buckets.len() <= max);
        let first = a.buckets[0].from;
        let mut want: BTreeMap<(i64, String), u64> = BTreeMap::new();
        for i in brute_parsed(&values, &f) {
            let v = &values[i as usize];
            let Some(ts) = v["ts_event"].as_i64() else {
                continue;
            };
            if ts < first {
                continue;
            }
            let ty = v["type"].as_str().unwrap().to_owned();
            *want.entry((ts.div_euclid(width) * width, ty)).or_default() += 1;
        }
        let mut got: BTreeMap<(i64, String), u64> = BTreeMap::new();
        for (i, b) in a.buckets.iter().enumerate() {
            assert_eq!(b.to - b.from, width);
            if i > 0 {
                assert_eq!(b.from, a.buckets[i - 1].to, "consecutive");
            }
            for (t, n) in &b.by_type {
                got.insert((b.from, t.clone()), *n);
            }
        }
        assert_eq!(got, want, "{f:?}");
    }
    assert!(units.contains(&"hour"), "{units:?}");
    let none = Filter {
        from: Some(T0 - 10 * HOUR),
        to: Some(T0 - 9 * HOUR),
        ..Filter::default()
    };
    assert!(inv.activity(&none, 100).unwrap().is_none());
}
