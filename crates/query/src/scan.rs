//! Running a [`Filter`] over the index: which records match, and their lines.
//!
//! A filter is compiled into a [`Plan`]: the attribute patterns become one yes/no per
//! combo (see dict.rs), the time range a set of zones to visit, an id a posting
//! lookup. The scan then reads only the columns the plan needs, 64 Ki records at a
//! time, in `seq` order (or reverse), and the matching lines are fetched from the
//! journal in as few reads as their positions allow.

use tradetrail_journal::record_type;

use crate::dict::{Dim, DIMS};
use crate::envelope;
use crate::filter::{glob_match, Clock, Filter};
use crate::hash::id_key;
use crate::index::{Index, NO_TIME, ZONE};
use crate::source::{read_lines, Loc, Source};
use crate::{Error, Result};

/// Records read from the columns at a time.
const CHUNK: u64 = 64 * 1024;
/// Records whose lines are fetched at a time.
pub(crate) const BATCH: usize = 4096;

/// A compiled filter.
#[derive(Debug)]
pub(crate) struct Plan {
    /// Per combo code: does it pass the attribute patterns? `None`: every combo does.
    combo_ok: Option<Vec<bool>>,
    clock: Clock,
    from: Option<i64>,
    to: Option<i64>,
    /// `(key, id)` of `--entity` and `--mentions`.
    entity: Option<(u64, String)>,
    mentions: Option<(u64, String)>,
    /// Free text in `data`, ASCII-lowercased.
    text: Option<Vec<u8>>,
    /// Only records with `seq` in `[lo, hi)` (a page's cursor).
    lo: u64,
    hi: u64,
    /// Nothing can match (a pattern matched no value at all).
    empty: bool,
    /// Patterns that match no value in the journal, said so to the user.
    pub notes: Vec<String>,
}

impl Plan {
    pub fn new(ix: &Index, f: &Filter) -> Plan {
        let mut notes = Vec::new();
        let mut empty = false;
        let mut allowed: [Option<Vec<bool>>; DIMS] = Default::default();
        for (dim, pats) in f.pattern_lists() {
            if pats.is_empty() {
                continue;
            }
            let mut ok = vec![false; ix.dicts.values(dim).count() + 1];
            let mut any = false;
            for (code, v) in ix.dicts.values(dim) {
                if pats.iter().any(|p| glob_match(p, v)) {
                    ok[code as usize] = true;
                    any = true;
                }
            }
            if !any {
                empty = true;
                notes.push(no_match_note(ix, dim, pats));
            }
            allowed[dim.index()] = Some(ok);
        }
        let combo_ok = allowed.iter().any(Option::is_some).then(|| {
            ix.dicts
                .combos()
                .iter()
                .map(|c| {
                    allowed
                        .iter()
                        .zip(c)
                        .all(|(a, &code)| a.as_ref().is_none_or(|ok| ok[code as usize]))
                })
                .collect()
        });
        Plan {
            combo_ok,
            clock: f.clock,
            from: f.from,
            to: f.to,
            entity: f.entity.as_ref().map(|id| (id_key(id), id.clone())),
            mentions: f.mentions.as_ref().map(|id| (id_key(id), id.clone())),
            text: f.text.as_ref().map(|t| t.to_ascii_lowercase().into_bytes()),
            lo: 0,
            hi: u64::MAX,
            empty,
            notes,
        }
    }

    /// The plan restricted to records with `seq > after` and `seq < before`.
    pub fn within(mut self, after: Option<u64>, before: Option<u64>) -> Plan {
        if let Some(a) = after {
            self.lo = self.lo.max(a.saturating_add(1));
        }
        if let Some(b) = before {
            self.hi = self.hi.min(b);
        }
        self
    }

    fn has_time(&self) -> bool {
        self.from.is_some() || self.to.is_some()
    }

    fn time_ok(&self, ts: i64) -> bool {
        ts != NO_TIME && self.from.is_none_or(|f| ts >= f) && self.to.is_none_or(|t| ts < t)
    }

    /// Whether the plan selects by attributes alone (no time range, ids, text or
    /// cursor), so that its matches are whole combos: counting them needs only the
    /// records per combo ([`Index::combo_counts`]), not the rows.
    pub fn by_combos_alone(&self) -> bool {
        !self.has_time() && !self.verifies_lines() && self.lo == 0 && self.hi == u64::MAX
    }

    /// Whether nothing can match.
    pub fn is_empty(&self) -> bool {
        self.empty
    }

    pub fn combo_ok(&self, code: u32) -> bool {
        self.combo_ok.as_ref().is_none_or(|ok| ok[code as usize])
    }

    /// Whether candidates come from the id postings (`--entity`, `--mentions`).
    fn by_ids(&self) -> bool {
        self.entity.is_some() || self.mentions.is_some()
    }

    /// Whether matches must be confirmed on their lines (ids are posted by hash; free
    /// text is not indexed).
    pub fn verifies_lines(&self) -> bool {
        self.by_ids() || self.text.is_some()
    }

    /// Whether a fetched line really names the ids of the plan and holds its text.
    pub fn line_ok(&self, line: &[u8]) -> bool {
        if !self.verifies_lines() {
            return true;
        }
        let Some(env) = envelope::parse(line) else {
            return false;
        };
        let ent = env.view.entity_id.as_deref();
        if let Some((_, id)) = &self.entity {
            if ent != Some(id.as_str()) {
                return false;
            }
        }
        if let Some((_, id)) = &self.mentions {
            if ent != Some(id.as_str()) && !env.refs.iter().any(|r| r.value == *id) {
                return false;
            }
        }
        if let Some(needle) = &self.text {
            let data = env.view.data.unwrap_or("").as_bytes();
            if !contains_ignoring_ascii_case(data, needle) {
                return false;
            }
        }
        true
    }
}

/// Whether `hay` contains `needle` (already ASCII-lowercased), ignoring ASCII case.
fn contains_ignoring_ascii_case(hay: &[u8], needle: &[u8]) -> bool {
    let Some(&first) = needle.first() else {
        return true;
    };
    let upper = first.to_ascii_uppercase();
    let mut at = 0;
    while let Some(p) = memchr::memchr2(first, upper, &hay[at..]) {
        let start = at + p;
        match hay.get(start..start + needle.len()) {
            Some(w) if w.eq_ignore_ascii_case(needle) => return true,
            Some(_) => at = start + 1,
            None => return false,
        }
    }
    false
}

fn no_match_note(ix: &Index, dim: Dim, pats: &[String]) -> String {
    let list = pats.join(", ");
    let mut best: Option<(usize, &str)> = None;
    for (_, v) in ix.dicts.values(dim) {
        for p in pats {
            let d = edit_distance(p, v);
            if d <= 3 && best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, v));
            }
        }
    }
    match best {
        Some((_, v)) => format!("no record has a {dim} matching {list} (did you mean {v}?)"),
        None => format!("no record has a {dim} matching {list}"),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Record ranges `[start, end)` the plan must look at, in `seq` order, within its
/// `seq` bounds.
fn ranges(ix: &Index, plan: &Plan) -> Vec<(u64, u64)> {
    time_ranges(ix, plan)
        .into_iter()
        .filter_map(|(s, e)| {
            let (s, e) = (s.max(plan.lo), e.min(plan.hi));
            (s < e).then_some((s, e))
        })
        .collect()
}

/// Record ranges `[start, end)` the plan's time range allows, in `seq` order.
fn time_ranges(ix: &Index, plan: &Plan) -> Vec<(u64, u64)> {
    let rows = ix.rows();
    let mut out: Vec<(u64, u64)> = Vec::new();
    if !plan.has_time() {
        if rows > 0 {
            out.push((0, rows));
        }
        return out;
    }
    let zone_range = |z: usize| (z as u64 * ZONE, ((z as u64 + 1) * ZONE).min(rows));
    match plan.clock {
        Clock::Event => {
            for (z, zone) in ix.zones.iter().enumerate() {
                let overlaps = zone.min_ev <= zone.max_ev
                    && plan.from.is_none_or(|f| zone.max_ev >= f)
                    && plan.to.is_none_or(|t| zone.min_ev < t);
                if overlaps {
                    let (s, e) = zone_range(z);
                    match out.last_mut() {
                        Some(last) if last.1 == s => last.1 = e,
                        _ => out.push((s, e)),
                    }
                }
            }
        }
        Clock::Recorded => {
            // ts_recorded never decreases: one contiguous range.
            let first = ix
                .zones
                .partition_point(|z| plan.from.is_some_and(|f| z.last_rec < f));
            let end = ix
                .zones
                .partition_point(|z| plan.to.is_none_or(|t| z.first_rec < t));
            if first < end {
                out.push((zone_range(first).0, zone_range(end - 1).1));
            }
        }
    }
    out
}

/// Calls `f(seq, combo)` for every record the plan selects by the index alone (ids and
/// text still to be confirmed on the line when [`Plan::verifies_lines`]), in `seq` order or
/// reverse, until `f` returns `Ok(false)`.
pub(crate) fn scan<F>(ix: &Index, plan: &Plan, reverse: bool, mut f: F) -> Result<()>
where
    F: FnMut(u64, u32) -> Result<bool>,
{
    if plan.empty {
        return Ok(());
    }
    if plan.by_ids() {
        let mut seqs = id_candidates(ix, plan)?;
        if reverse {
            seqs.reverse();
        }
        for seq in seqs {
            let combo = ix.combo.get(seq)?;
            if !plan.combo_ok(combo) {
                continue;
            }
            if plan.has_time() {
                let ts = match plan.clock {
                    Clock::Event => ix.ts_event.get(seq)?,
                    Clock::Recorded => ix.ts_recorded.get(seq)?,
                };
                if !plan.time_ok(ts) {
                    continue;
                }
            }
            if !f(seq, combo)? {
                return Ok(());
            }
        }
        return Ok(());
    }
    let mut rs = ranges(ix, plan);
    if reverse {
        rs.reverse();
    }
    let mut combos = Vec::new();
    let mut ts = Vec::new();
    for (start, end) in rs {
        let mut chunks: Vec<(u64, u64)> = (start..end)
            .step_by(CHUNK as usize)
            .map(|s| (s, (s + CHUNK).min(end)))
            .collect();
        if reverse {
            chunks.reverse();
        }
        for (s, e) in chunks {
            combos.clear();
            ix.combo.read_into(s, e, &mut combos)?;
            if plan.has_time() {
                ts.clear();
                match plan.clock {
                    Clock::Event => ix.ts_event.read_into(s, e, &mut ts)?,
                    Clock::Recorded => ix.ts_recorded.read_into(s, e, &mut ts)?,
                }
            }
            let n = (e - s) as usize;
            let mut visit = |i: usize| -> Result<bool> {
                let c = combos[i];
                if !plan.combo_ok(c) || (plan.has_time() && !plan.time_ok(ts[i])) {
                    return Ok(true);
                }
                f(s + i as u64, c)
            };
            if reverse {
                for i in (0..n).rev() {
                    if !visit(i)? {
                        return Ok(());
                    }
                }
            } else {
                for i in 0..n {
                    if !visit(i)? {
                        return Ok(());
                    }
                }
            }
        }
    }
    Ok(())
}

/// Records posted under the plan's ids, sorted, before any other condition.
fn id_candidates(ix: &Index, plan: &Plan) -> Result<Vec<u64>> {
    let mut sets: Vec<Vec<u64>> = Vec::new();
    if let Some((key, _)) = &plan.entity {
        let mut v: Vec<u64> = ix
            .postings(*key)?
            .into_iter()
            .filter(|v| v & 1 == 1)
            .map(|v| v >> 1)
            .collect();
        v.sort_unstable();
        v.dedup();
        sets.push(v);
    }
    if let Some((key, _)) = &plan.mentions {
        let mut v: Vec<u64> = ix.postings(*key)?.into_iter().map(|v| v >> 1).collect();
        v.sort_unstable();
        v.dedup();
        sets.push(v);
    }
    let mut out = sets.pop().unwrap_or_default();
    for s in sets {
        out.retain(|x| s.binary_search(x).is_ok());
    }
    let rows = ix.rows();
    out.retain(|&s| s < rows && s >= plan.lo && s < plan.hi);
    Ok(out)
}

/// Locations of `seqs` (sorted ascending): one read per column when they are dense.
pub(crate) fn locs_of(ix: &Index, seqs: &[u64]) -> Result<Vec<Loc>> {
    let (Some(&first), Some(&last)) = (seqs.first(), seqs.last()) else {
        return Ok(Vec::new());
    };
    let span = last - first + 1;
    if span <= 16 * seqs.len() as u64 {
        let all = ix.locs(first, last + 1)?;
        Ok(seqs.iter().map(|&s| all[(s - first) as usize]).collect())
    } else {
        seqs.iter().map(|&s| ix.loc(s)).collect()
    }
}

/// Fetches the lines of `hits` (`(seq, combo)`, in the order to deliver them) and
/// calls `f(seq, line)` for each, after checking that the journal line has the type
/// the index holds for it. Stops when `f` returns `Ok(false)`; returns whether it ran
/// to the end.
pub(crate) fn fetch(
    ix: &Index,
    src: &Source,
    hits: &[(u64, u32)],
    f: &mut dyn FnMut(u64, &[u8]) -> Result<bool>,
) -> Result<bool> {
    if hits.is_empty() {
        return Ok(true);
    }
    let ascending = hits.windows(2).all(|w| w[0].0 < w[1].0);
    let mut sorted: Vec<(u64, u32)> = hits.to_vec();
    if !ascending {
        sorted.sort_unstable_by_key(|h| h.0);
    }
    let seqs: Vec<u64> = sorted.iter().map(|h| h.0).collect();
    let mut locs = locs_of(ix, &seqs)?;
    // Records a retention purge removed have no line: they are not delivered.
    if locs.iter().any(|l| ix.segs.is_purged(l.segment)) {
        let keep: Vec<bool> = locs.iter().map(|l| !ix.segs.is_purged(l.segment)).collect();
        let mut k = keep.iter();
        sorted.retain(|_| *k.next().expect("one flag per hit"));
        locs.retain(|l| !ix.segs.is_purged(l.segment));
    }
    let type_of = |combo: u32| {
        let c = ix.dicts.combos()[combo as usize];
        ix.dicts.value(Dim::Type, c[0])
    };
    let check = |seq: u64, combo: u32, line: &[u8]| -> Result<()> {
        if record_type(line) != type_of(combo) {
            return Err(Error::Stale {
                reason: format!("record {seq} in the journal is not the one indexed"),
            });
        }
        Ok(())
    };
    if ascending {
        let mut i = 0;
        return read_lines(src, &ix.segs, &locs, &mut |seq, line| {
            check(seq, sorted[i].1, line)?;
            i += 1;
            f(seq, line)
        });
    }
    // Another order (reverse): read in file order, then deliver.
    let mut lines: Vec<(u64, Vec<u8>)> = Vec::with_capacity(sorted.len());
    let mut i = 0;
    read_lines(src, &ix.segs, &locs, &mut |seq, line| {
        check(seq, sorted[i].1, line)?;
        i += 1;
        lines.push((seq, line.to_vec()));
        Ok(true)
    })?;
    for (seq, _) in hits {
        // Every hit was read, but for purged ones.
        let Ok(at) = lines.binary_search_by_key(seq, |l| l.0) else {
            continue;
        };
        if !f(*seq, &lines[at].1)? {
            return Ok(false);
        }
    }
    Ok(true)
}
