//! Counts: by a dimension, around an incident, and the conversion funnel.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::dict::Dim;
use crate::engine::{query_each_in, QueryOptions, Record};
use crate::filter::Filter;
use crate::index::Index;
use crate::scan::{fetch, scan, Plan, BATCH};
use crate::source::Source;
use crate::{Error, Result};

/// Counts by one dimension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// The dimension counted by.
    pub by: Dim,
    /// One row per value, largest count first (`value` is `None` for records that
    /// have no such field).
    pub rows: Vec<StatRow>,
    /// Records counted.
    pub total: u64,
    /// Something the user should know (a pattern that matches nothing, ...).
    pub notes: Vec<String>,
}

/// One value and how many records have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatRow {
    /// The value (`None`: the field is absent).
    pub value: Option<String>,
    /// Records with it.
    pub count: u64,
}

/// How many matching records each combo has.
fn combo_counts(ix: &Index, src: &Source, plan: &Plan) -> Result<Vec<u64>> {
    let mut counts = vec![0u64; ix.dicts.combos().len()];
    if plan.is_empty() {
        return Ok(counts);
    }
    if plan.by_combos_alone() {
        // Whole combos match: the records per combo answer without reading the rows
        // (what a scan would count; `counts_agree_with_a_scan` checks it).
        let mut all = ix.combo_counts()?;
        for (code, n) in all.iter_mut().enumerate() {
            if !plan.combo_ok(code as u32) {
                *n = 0;
            }
        }
        return Ok(all);
    }
    if plan.verifies_lines() {
        let mut hits = Vec::new();
        scan(ix, plan, false, |seq, combo| {
            hits.push((seq, combo));
            Ok(true)
        })?;
        for batch in hits.chunks(BATCH) {
            let combos: HashMap<u64, u32> = batch.iter().copied().collect();
            fetch(ix, src, batch, &mut |seq, line| {
                if plan.line_ok(line) {
                    counts[combos[&seq] as usize] += 1;
                }
                Ok(true)
            })?;
        }
    } else {
        scan(ix, plan, false, |_, combo| {
            counts[combo as usize] += 1;
            Ok(true)
        })?;
    }
    Ok(counts)
}

pub(crate) fn stats(ix: &Index, src: &Source, by: Dim, filter: &Filter) -> Result<Stats> {
    let plan = Plan::new(ix, filter);
    let counts = combo_counts(ix, src, &plan)?;
    let mut by_code: BTreeMap<u32, u64> = BTreeMap::new();
    for (code, &n) in counts.iter().enumerate() {
        if n > 0 {
            *by_code
                .entry(ix.dicts.combos()[code][by.index()])
                .or_default() += n;
        }
    }
    let mut rows: Vec<StatRow> = by_code
        .into_iter()
        .map(|(code, count)| StatRow {
            value: ix.dicts.value(by, code).map(str::to_owned),
            count,
        })
        .collect();
    rows.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    Ok(Stats {
        by,
        total: rows.iter().map(|r| r.count).sum(),
        rows,
        notes: plan.notes,
    })
}

/// Everything around an instant.
#[derive(Debug, Clone, Serialize)]
pub struct Incident {
    /// The instant, ns since the epoch.
    pub at: i64,
    /// The half-width of the window, ns.
    pub window: i64,
    /// First instant included (`at - window`).
    pub from: i64,
    /// Last instant included (`at + window`).
    pub until: i64,
    /// Counts by source and type, by source then largest count first.
    pub groups: Vec<IncidentGroup>,
    /// Records in the window (all of them, not only those returned).
    pub total: u64,
    /// The records, in `seq` order (up to the limit asked for, after the cursor).
    pub records: Vec<Record>,
    /// Something the user should know.
    pub notes: Vec<String>,
    /// The records stopped at the limit and at least one more is in the window.
    pub truncated: bool,
    /// When truncated: where the next page of records starts (see [`crate::Cursor`]).
    pub next: Option<crate::Cursor>,
}

/// Records of one source and type in an incident window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentGroup {
    /// The emitting component.
    pub source: Option<String>,
    /// The record type.
    pub r#type: String,
    /// How many.
    pub count: u64,
}

pub(crate) fn incident(
    ix: &Index,
    src: &Source,
    at: i64,
    window: i64,
    filter: &Filter,
    opts: &QueryOptions,
) -> Result<Incident> {
    if window <= 0 {
        return Err(Error::bad_input("--window", "must be longer than zero"));
    }
    if filter.has_time() {
        return Err(Error::bad_input(
            "--from/--to",
            "an incident's range is --at and --window",
        ));
    }
    let from = at.saturating_sub(window);
    let until = at.saturating_add(window);
    let mut f = filter.clone();
    f.from = Some(from);
    f.to = Some(until.saturating_add(1));
    f.check()?;
    let plan = Plan::new(ix, &f);
    let groups = source_type_groups(ix, &combo_counts(ix, src, &plan)?);
    let mut records = Vec::new();
    let summary = query_each_in(ix, src, &f, opts, &mut |seq, line| {
        records.push(Record {
            seq,
            line: line.to_vec(),
        });
        Ok(true)
    })?;
    Ok(Incident {
        at,
        window,
        from,
        until,
        total: groups.iter().map(|g| g.count).sum(),
        groups,
        records,
        notes: summary.notes,
        truncated: summary.truncated,
        next: summary.next,
    })
}

/// Combo counts summed by (source, type): by source, then largest count first.
fn source_type_groups(ix: &Index, counts: &[u64]) -> Vec<IncidentGroup> {
    let mut grouped: BTreeMap<(u32, u32), u64> = BTreeMap::new();
    for (code, &n) in counts.iter().enumerate() {
        if n > 0 {
            let c = ix.dicts.combos()[code];
            *grouped
                .entry((c[Dim::Source.index()], c[Dim::Type.index()]))
                .or_default() += n;
        }
    }
    let mut groups: Vec<IncidentGroup> = grouped
        .into_iter()
        .map(|((s, t), count)| IncidentGroup {
            source: ix.dicts.value(Dim::Source, s).map(str::to_owned),
            r#type: ix.dicts.value(Dim::Type, t).unwrap_or("").to_owned(),
            count,
        })
        .collect();
    groups.sort_by(|a, b| {
        a.source
            .cmp(&b.source)
            .then(b.count.cmp(&a.count))
            .then_with(|| a.r#type.cmp(&b.r#type))
    });
    groups
}

/// One slice of an incident window on its time axis: the records from `from`
/// (inclusive) to `to` (exclusive), grouped by source and type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentSlice {
    /// First instant of the slice, ns since the epoch.
    pub from: i64,
    /// First instant after the slice, ns since the epoch.
    pub to: i64,
    /// Counts by source and type in the slice (as [`Incident::groups`]).
    pub groups: Vec<IncidentGroup>,
}

/// The window of [`incident`] cut into `slices` consecutive slices of (nearly) equal
/// length, each with its counts by source and type: the incident on a time axis.
/// Every record of the window is in exactly one slice.
pub(crate) fn incident_timeline(
    ix: &Index,
    src: &Source,
    at: i64,
    window: i64,
    filter: &Filter,
    slices: usize,
) -> Result<Vec<IncidentSlice>> {
    if window <= 0 {
        return Err(Error::bad_input("--window", "must be longer than zero"));
    }
    if filter.has_time() {
        return Err(Error::bad_input(
            "--from/--to",
            "an incident's range is --at and --window",
        ));
    }
    if slices == 0 || slices > 1000 {
        return Err(Error::bad_input("slices", "must be from 1 to 1,000"));
    }
    let from = at.saturating_sub(window);
    let end = at.saturating_add(window).saturating_add(1);
    let span = i128::from(end) - i128::from(from);
    let n = i128::try_from(slices).unwrap_or(1);
    let mut out = Vec::with_capacity(slices);
    for i in 0..n {
        let a = i64::try_from(i128::from(from) + span * i / n).unwrap_or(i64::MAX);
        let b = i64::try_from(i128::from(from) + span * (i + 1) / n).unwrap_or(i64::MAX);
        if b <= a {
            continue;
        }
        let mut f = filter.clone();
        f.from = Some(a);
        f.to = Some(b);
        f.check()?;
        let plan = Plan::new(ix, &f);
        out.push(IncidentSlice {
            from: a,
            to: b,
            groups: source_type_groups(ix, &combo_counts(ix, src, &plan)?),
        });
    }
    Ok(out)
}

/// The conversion funnel: signals → recommendations → risk → approvals → orders → fills.
#[derive(Debug, Clone, Serialize)]
pub struct Funnel {
    /// The stages, in order.
    pub stages: Vec<Stage>,
    /// Signals generated: the 100% of the funnel.
    pub signals: u64,
}

/// One stage of the funnel.
#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    /// `signals`, `recommendations`, `risk`, `approvals`, `orders`, `fills`.
    pub stage: &'static str,
    /// What was counted, in words.
    pub label: &'static str,
    /// How many reached this stage.
    pub count: u64,
    /// Why some went no further.
    pub drops: Vec<DropOut>,
    /// Reached the stage but neither dropped nor went on within the records counted
    /// (in flight at the edge of the range, or a story the journal does not finish).
    /// Not computed for stages that some records skip (approvals).
    pub unaccounted: Option<i64>,
    /// A remark (e.g. how many approvals were granted).
    pub note: Option<String>,
}

/// One way to stop at a stage.
#[derive(Debug, Clone, Serialize)]
pub struct DropOut {
    /// `filtered`, `suppressed`, `risk_rejected`, `approval_rejected`,
    /// `approval_expired`, `order_rejected`, `order_cancelled`, `order_expired`.
    pub outcome: &'static str,
    /// The record type that says so.
    pub r#type: &'static str,
    /// How many.
    pub count: u64,
    /// `data.reason` as recorded, largest count first (`(none recorded)` when absent).
    pub reasons: Vec<(String, u64)>,
}

const DROPS: &[(&str, &str)] = &[
    ("signal.filtered", "filtered"),
    ("recommendation.suppressed", "suppressed"),
    ("risk.rejected", "risk_rejected"),
    ("approval.rejected", "approval_rejected"),
    ("approval.expired", "approval_expired"),
    ("order.rejected", "order_rejected"),
    ("order.cancelled", "order_cancelled"),
    ("order.expired", "order_expired"),
];

#[derive(Deserialize)]
struct ReasonOnly<'a> {
    #[serde(borrow, default)]
    data: Option<ReasonData<'a>>,
}

#[derive(Deserialize)]
struct ReasonData<'a> {
    #[serde(borrow, default)]
    reason: Option<std::borrow::Cow<'a, str>>,
}

pub(crate) fn funnel(ix: &Index, src: &Source, filter: &Filter) -> Result<Funnel> {
    if filter.text.is_some() {
        // Its order sets come from the index alone, which does not hold `data`.
        return Err(Error::bad_input(
            "--text",
            "the conversion funnel does not take free text; filter by type, trader, \
             instrument, ... instead",
        ));
    }
    let by_type = stats(ix, src, Dim::Type, filter)?;
    let count = |t: &str| {
        by_type
            .rows
            .iter()
            .find(|r| r.value.as_deref() == Some(t))
            .map_or(0, |r| r.count)
    };
    // Reasons, read from the drop records' lines.
    let mut reasons: HashMap<&str, BTreeMap<String, u64>> = HashMap::new();
    for (ty, _) in DROPS {
        if count(ty) == 0 {
            continue;
        }
        let mut f = filter.clone();
        f.types = vec![(*ty).to_owned()];
        let tally = reasons.entry(ty).or_default();
        query_each_in(ix, src, &f, &QueryOptions::default(), &mut |_, line| {
            let reason = serde_json::from_slice::<ReasonOnly<'_>>(line)
                .ok()
                .and_then(|r| r.data)
                .and_then(|d| d.reason)
                .map(|r| r.into_owned())
                .unwrap_or_else(|| "(none recorded)".to_owned());
            *tally.entry(reason).or_default() += 1;
            Ok(true)
        })?;
    }
    // Orders with fills, and those of them that were cancelled or expired after.
    let orders_with = |ty: &str| -> Result<HashSet<u64>> {
        let mut f = filter.clone();
        f.types = vec![ty.to_owned()];
        let plan = Plan::new(ix, &f);
        let mut seqs = Vec::new();
        scan(ix, &plan, false, |seq, _| {
            seqs.push(seq);
            Ok(true)
        })?;
        let mut keys = HashSet::new();
        // One read per 64 Ki records of the column, not one per record.
        for chunk in seqs.chunk_by(|a, b| b / 65_536 == a / 65_536) {
            let (lo, hi) = (chunk[0], chunk[chunk.len() - 1] + 1);
            let vals = ix.entity.read(lo, hi)?;
            for s in chunk {
                let k = vals[(s - lo) as usize];
                if k != 0 {
                    keys.insert(k);
                }
            }
        }
        Ok(keys)
    };
    let filled = orders_with("order.filled")?;
    let ended: HashSet<u64> = orders_with("order.cancelled")?
        .union(&orders_with("order.expired")?)
        .copied()
        .collect();
    let filled_then_ended = filled.intersection(&ended).count() as u64;
    let drop = |ty: &'static str| -> DropOut {
        let outcome = DROPS.iter().find(|(t, _)| *t == ty).map_or("", |(_, o)| *o);
        let mut rs: Vec<(String, u64)> = reasons
            .get(ty)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default();
        rs.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        DropOut {
            outcome,
            r#type: ty,
            count: count(ty),
            reasons: rs,
        }
    };
    let signals = count("signal.generated");
    let recs = count("recommendation.generated");
    let evaluated = count("risk.evaluated");
    let requested = count("approval.requested");
    let approved = count("approval.approved");
    let orders = count("order.submitted");
    let fills = count("order.filled");
    let n = |x: u64| x as i64;
    let d = |ty| drop(ty);
    let stages = vec![
        Stage {
            stage: "signals",
            label: "signals generated",
            count: signals,
            drops: vec![d("signal.filtered")],
            unaccounted: Some(n(signals) - n(count("signal.filtered")) - n(recs)),
            note: None,
        },
        Stage {
            stage: "recommendations",
            label: "recommendations",
            count: recs,
            drops: vec![d("recommendation.suppressed")],
            unaccounted: Some(n(recs) - n(count("recommendation.suppressed")) - n(evaluated)),
            note: None,
        },
        Stage {
            stage: "risk",
            label: "risk evaluated",
            count: evaluated,
            drops: vec![d("risk.rejected")],
            unaccounted: Some(
                n(evaluated)
                    - n(count("risk.rejected"))
                    - n(count("approval.rejected"))
                    - n(count("approval.expired"))
                    - n(orders),
            ),
            note: None,
        },
        Stage {
            stage: "approvals",
            label: "approvals requested",
            count: requested,
            drops: vec![d("approval.rejected"), d("approval.expired")],
            unaccounted: None,
            note: Some(format!("{approved} approved")),
        },
        Stage {
            stage: "orders",
            label: "orders submitted",
            count: orders,
            drops: vec![
                d("order.rejected"),
                d("order.cancelled"),
                d("order.expired"),
            ],
            // Neither ended nor filled: still open, or finished outside the range.
            unaccounted: Some(
                n(orders)
                    - n(count("order.rejected"))
                    - n(count("order.cancelled"))
                    - n(count("order.expired"))
                    - (n(filled.len() as u64) - n(filled_then_ended)),
            ),
            note: None,
        },
        Stage {
            stage: "fills",
            label: "orders filled",
            count: filled.len() as u64,
            drops: vec![],
            unaccounted: None,
            note: Some(format!(
                "{fills} fills; {filled_then_ended} of these orders were cancelled or expired after a partial fill"
            )),
        },
    ];
    Ok(Funnel { stages, signals })
}

/// Records over time: counts by type in consecutive buckets of an hour or a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Activity {
    /// `hour` or `day` (UTC): the buckets' length.
    pub unit: &'static str,
    /// The buckets, oldest first, every one of the span (empty ones included).
    pub buckets: Vec<ActivityBucket>,
}

/// One bucket of [`Activity`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActivityBucket {
    /// First instant, ns since the epoch.
    pub from: i64,
    /// First instant after it.
    pub to: i64,
    /// Records in it by type, largest first.
    pub by_type: Vec<(String, u64)>,
}

const HOUR_NS: i64 = 3_600_000_000_000;
const DAY_NS: i64 = 24 * HOUR_NS;

/// The records the filter selects, counted by type per hour (when their `ts_event`
/// spans at most two days) or per day (at most `max_buckets` of them: the newest),
/// UTC. `None` when no record has a `ts_event` in range.
pub(crate) fn activity(
    ix: &Index,
    src: &Source,
    filter: &Filter,
    max_buckets: usize,
) -> Result<Option<Activity>> {
    if filter.clock != crate::Clock::Event {
        return Err(Error::bad_input(
            "--recorded",
            "activity is over ts_event, not ts_recorded",
        ));
    }
    let mut lo = i64::MAX;
    let mut hi = i64::MIN;
    for z in ix.zones.iter().filter(|z| z.min_ev <= z.max_ev) {
        lo = lo.min(z.min_ev);
        hi = hi.max(z.max_ev);
    }
    if let Some(f) = filter.from {
        lo = lo.max(f);
    }
    if let Some(t) = filter.to {
        hi = hi.min(t.saturating_sub(1));
    }
    if lo > hi || max_buckets == 0 {
        return Ok(None);
    }
    let (unit, width) = if hi - lo <= 2 * DAY_NS {
        ("hour", HOUR_NS)
    } else {
        ("day", DAY_NS)
    };
    let mut start = lo.div_euclid(width) * width;
    let end = hi.div_euclid(width) * width + width;
    let n = ((end - start) / width) as usize;
    if n > max_buckets {
        start = end - width * max_buckets as i64;
    }
    let mut buckets = Vec::new();
    let mut from = start;
    while from < end {
        let mut f = filter.clone();
        f.from = Some(filter.from.map_or(from, |x| x.max(from)));
        f.to = Some(filter.to.map_or(from + width, |x| x.min(from + width)));
        let counts = combo_counts(ix, src, &Plan::new(ix, &f))?;
        let mut by: BTreeMap<u32, u64> = BTreeMap::new();
        for (code, &n) in counts.iter().enumerate() {
            if n > 0 {
                *by.entry(ix.dicts.combos()[code][Dim::Type.index()])
                    .or_default() += n;
            }
        }
        let mut by_type: Vec<(String, u64)> = by
            .into_iter()
            .map(|(t, n)| (ix.dicts.value(Dim::Type, t).unwrap_or("").to_owned(), n))
            .collect();
        by_type.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        buckets.push(ActivityBucket {
            from,
            to: from + width,
            by_type,
        });
        from += width;
    }
    Ok(Some(Activity { unit, buckets }))
}
