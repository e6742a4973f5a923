//! [`Investigator`]: the one object the CLI, the server and an embedding engine ask.

use std::path::{Path, PathBuf};
use std::sync::{RwLock, RwLockReadGuard};

use serde::Serialize;

use crate::dict::Dim;
use crate::filter::Filter;
use crate::index::{Index, OpenReport};
use crate::scan::{fetch, scan, Plan, BATCH};
use crate::source::Source;
use crate::{Error, Result};

/// How the index is kept.
#[derive(Debug, Clone)]
pub struct IndexOptions {
    /// Save the index under its directory (default). Off, or when the directory
    /// cannot be written, the index lives in this process's memory only.
    pub persist: bool,
    /// Save after this many new records. A long-lived process (a server) keeps up to
    /// this many in memory between saves; a one-shot process (the CLI) uses 1, so
    /// what it read is saved for the next call.
    pub flush_rows: u64,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            persist: true,
            flush_rows: 65_536,
        }
    }
}

/// Limits on returned records, and where a page starts.
///
/// Paging is by `seq`, which is unique and only grows: a page that stops at its
/// `limit` says so ([`QuerySummary::truncated`]) and gives the [`Cursor`] of the next
/// page ([`QuerySummary::next`]). Passing it back as `after` (or `before`, newest
/// first) with the same filter walks every match exactly once, in order, even while
/// records are appended between pages (they get larger `seq`s, so a forward walk
/// reaches them on a later page and a newest-first walk never sees them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QueryOptions {
    /// At most this many records (`Some(0)`: none).
    pub limit: Option<usize>,
    /// Newest first (`seq` descending); with `limit`, the last `limit` matches.
    pub reverse: bool,
    /// Only records whose `seq` is greater than this (a forward page's cursor).
    pub after: Option<u64>,
    /// Only records whose `seq` is less than this (a newest-first page's cursor).
    pub before: Option<u64>,
}

/// Where the next page starts: the `seq` of the last record returned, to pass back as
/// [`QueryOptions::after`] (forward) or [`QueryOptions::before`] (newest first).
/// Serializes as `{"after":N}` or `{"before":N}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cursor {
    /// Pass as `after` (`--after`).
    After(u64),
    /// Pass as `before` (`--before`).
    Before(u64),
}

impl Cursor {
    /// The parameter name (`after` or `before`) and its value.
    pub fn param(&self) -> (&'static str, u64) {
        match *self {
            Cursor::After(s) => ("after", s),
            Cursor::Before(s) => ("before", s),
        }
    }
}

/// One journal record, exactly as stored: its line without the `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its `seq`.
    pub seq: u64,
    /// The line's bytes (check them against the chain: `prev` of `seq + 1` is their SHA-256).
    pub line: Vec<u8>,
}

impl Record {
    /// The line as text (journal lines are UTF-8).
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.line).unwrap_or("")
    }
}

impl Serialize for Record {
    /// As the JSON record itself (not re-ordered: the line's own keys in order).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match serde_json::from_slice::<&serde_json::value::RawValue>(&self.line) {
            Ok(raw) => raw.serialize(s),
            Err(e) => Err(serde::ser::Error::custom(e)),
        }
    }
}

/// What a query found besides its records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct QuerySummary {
    /// Records returned.
    pub returned: u64,
    /// Something the user should know (a pattern that matches nothing, ...).
    pub notes: Vec<String>,
    /// The answer stopped at the limit and at least one more record matches.
    pub truncated: bool,
    /// When truncated: where the next page starts. `None` when this page is the last.
    pub next: Option<Cursor>,
}

/// The state of the index.
#[derive(Debug, Clone, Serialize)]
pub struct IndexStatus {
    /// Where it is kept.
    pub dir: PathBuf,
    /// Records indexed.
    pub rows: u64,
    /// Of those, saved on disk.
    pub persisted_rows: u64,
    /// Bytes on disk.
    pub disk_bytes: u64,
    /// Posting runs on disk.
    pub runs: usize,
    /// What opening found.
    pub opened: OpenReport,
    /// A save that failed (the index then carries on in memory).
    pub warning: Option<String>,
}

/// Answers questions about a journal through its index.
///
/// Every call first brings the index up to the journal (see [`Source`]); then it
/// answers from the index and reads the records themselves from the journal. Cheap
/// to share between threads (`&self` everywhere): catching up takes a write lock for
/// as long as it reads new records, answers take read locks.
#[derive(Debug)]
pub struct Investigator {
    source: Source,
    dir: PathBuf,
    opts: IndexOptions,
    index: RwLock<Index>,
    opened: OpenReport,
}

impl Investigator {
    /// Opens (or builds) the index under `index_dir` (`DIR/index/query`) for `source`
    /// and catches it up.
    pub fn open(source: Source, index_dir: impl Into<PathBuf>) -> Result<Investigator> {
        Investigator::open_with(source, index_dir, IndexOptions::default(), &|_| {})
    }

    /// [`Investigator::open`] with options; `progress` hears the records indexed so
    /// far while a (re)build reads the journal.
    pub fn open_with(
        source: Source,
        index_dir: impl Into<PathBuf>,
        opts: IndexOptions,
        progress: &dyn Fn(u64),
    ) -> Result<Investigator> {
        let dir = index_dir.into();
        let (mut ix, opened) = Index::open(&dir, &source, opts.persist)?;
        ix.refresh(&source, opts.flush_rows, progress)?;
        Ok(Investigator {
            source,
            dir,
            opts,
            index: RwLock::new(ix),
            opened,
        })
    }

    /// The journal this investigator follows.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Brings the index up to the journal now (every answer does this first).
    pub fn refresh(&self) -> Result<()> {
        let mut ix = self.index.write().unwrap_or_else(|p| p.into_inner());
        ix.refresh(&self.source, self.opts.flush_rows, &|_| {})
    }

    /// Reopens the index from disk (revalidating it against the journal).
    pub(crate) fn reopen(&self) -> Result<()> {
        let mut ix = self.index.write().unwrap_or_else(|p| p.into_inner());
        let (mut fresh, _) = Index::open(&self.dir, &self.source, self.opts.persist)?;
        fresh.refresh(&self.source, self.opts.flush_rows, &|_| {})?;
        *ix = fresh;
        Ok(())
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on a caught-up index; if the journal turns out not to be what the
    /// index says, reopens (which revalidates and rebuilds) and runs it once more.
    pub(crate) fn answer<T>(&self, f: impl Fn(&Index, &Source) -> Result<T>) -> Result<T> {
        self.refresh()?;
        // The read guard must be gone before `reopen` takes the write lock.
        let first = f(&self.read(), &self.source);
        match first {
            Err(Error::Stale { .. }) => {
                self.reopen()?;
                f(&self.read(), &self.source)
            }
            r => r,
        }
    }

    /// Calls `visit(seq, line)` for every record that matches, in `seq` order (or
    /// reverse), up to the limit; `visit` may stop early by returning `Ok(false)`.
    /// Lines are the journal's bytes. This streams: nothing is held beyond a batch.
    pub fn query_each(
        &self,
        filter: &Filter,
        opts: &QueryOptions,
        visit: &mut dyn FnMut(u64, &[u8]) -> Result<bool>,
    ) -> Result<QuerySummary> {
        filter.check()?;
        self.refresh()?;
        let ix = self.read();
        query_each_in(&ix, &self.source, filter, opts, visit)
    }

    /// The records that match, in `seq` order (or reverse), up to the limit.
    pub fn query(
        &self,
        filter: &Filter,
        opts: &QueryOptions,
    ) -> Result<(Vec<Record>, QuerySummary)> {
        filter.check()?;
        self.answer(|ix, src| {
            let mut out = Vec::new();
            let summary = query_each_in(ix, src, filter, opts, &mut |seq, line| {
                out.push(Record {
                    seq,
                    line: line.to_vec(),
                });
                Ok(true)
            })?;
            Ok((out, summary))
        })
    }

    /// Counts of records by `by` among those that match `filter`.
    pub fn stats(&self, by: Dim, filter: &Filter) -> Result<crate::Stats> {
        filter.check()?;
        self.answer(|ix, src| crate::stats::stats(ix, src, by, filter))
    }

    /// The conversion funnel from signals to fills over the records that match `filter`.
    pub fn conversion(&self, filter: &Filter) -> Result<crate::Funnel> {
        filter.check()?;
        self.answer(|ix, src| crate::stats::funnel(ix, src, filter))
    }

    /// Every record within `window` ns either side of `at` (both ends included) that
    /// also matches `filter`, grouped by source and type.
    pub fn incident(
        &self,
        at: i64,
        window: i64,
        filter: &Filter,
        opts: &QueryOptions,
    ) -> Result<crate::Incident> {
        self.answer(|ix, src| crate::stats::incident(ix, src, at, window, filter, opts))
    }

    /// The window of [`Investigator::incident`] cut into `slices` consecutive slices,
    /// each with its counts by source and type: the incident on a time axis (every
    /// record of the window in exactly one slice).
    pub fn incident_timeline(
        &self,
        at: i64,
        window: i64,
        filter: &Filter,
        slices: usize,
    ) -> Result<Vec<crate::IncidentSlice>> {
        self.answer(|ix, src| crate::stats::incident_timeline(ix, src, at, window, filter, slices))
    }

    /// Records over time: counts by type per hour or day (see [`crate::Activity`]).
    pub fn activity(&self, filter: &Filter, max_buckets: usize) -> Result<Option<crate::Activity>> {
        self.answer(|ix, src| crate::stats::activity(ix, src, filter, max_buckets))
    }

    /// The decision chain around `id` (see [`crate::trail`]).
    pub fn trail(&self, id: &str) -> Result<crate::Trail> {
        if id.trim().is_empty() {
            return Err(Error::bad_input("ID", "empty id"));
        }
        self.answer(|ix, src| crate::trail::trail(ix, src, id))
    }

    /// Records indexed, bytes on disk, how opening went.
    pub fn status(&self) -> IndexStatus {
        let ix = self.read();
        IndexStatus {
            dir: self.dir.clone(),
            rows: ix.rows(),
            persisted_rows: ix.persisted_rows(),
            disk_bytes: ix.disk_bytes(),
            runs: ix.runs.len(),
            opened: self.opened.clone(),
            warning: ix.warning.clone(),
        }
    }

    /// The index directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A canonical dump of the whole index (tests compare indexes built in different
    /// ways; not for production use: it reads everything).
    #[doc(hidden)]
    pub fn dump(&self) -> Result<String> {
        use std::fmt::Write;
        let ix = self.read();
        let rows = ix.rows();
        let mut s = String::new();
        let ev = ix.ts_event.read(0, rows)?;
        let rec = ix.ts_recorded.read(0, rows)?;
        let combo = ix.combo.read(0, rows)?;
        let ent = ix.entity.read(0, rows)?;
        let locs = ix.locs(0, rows)?;
        for i in 0..rows as usize {
            let _ = writeln!(
                s,
                "{} {} {} {:?} {} {}:{}+{}",
                i,
                ev[i],
                rec[i],
                ix.combo_values(combo[i]),
                ent[i],
                locs[i].segment,
                locs[i].offset,
                locs[i].len
            );
        }
        for (k, v) in ix.all_postings()? {
            let _ = writeln!(s, "p {k:016x} {v}");
        }
        for (i, z) in ix.zones.iter().enumerate() {
            let _ = writeln!(s, "z {i} {z:?}");
        }
        Ok(s)
    }
}

pub(crate) fn query_each_in(
    ix: &Index,
    src: &Source,
    filter: &Filter,
    opts: &QueryOptions,
    visit: &mut dyn FnMut(u64, &[u8]) -> Result<bool>,
) -> Result<QuerySummary> {
    let plan = Plan::new(ix, filter).within(opts.after, opts.before);
    let mut summary = QuerySummary {
        returned: 0,
        notes: plan.notes.clone(),
        truncated: false,
        next: None,
    };
    let limit = opts.limit.map_or(u64::MAX, |l| l as u64);
    if limit == 0 {
        return Ok(summary);
    }
    // One match more than the limit is looked for (never delivered), so that a full
    // page says whether it is the last.
    let wanted = limit.saturating_add(1);
    let mut last: Option<u64> = None;
    let mut batch: Vec<(u64, u32)> = Vec::with_capacity(BATCH);
    let mut stopped = false;
    let mut deliver = |batch: &mut Vec<(u64, u32)>, summary: &mut QuerySummary| -> Result<bool> {
        let mut go_on = true;
        fetch(ix, src, batch, &mut |seq, line| {
            if !plan.line_ok(line) {
                return Ok(true);
            }
            if summary.returned >= limit {
                summary.truncated = true;
                go_on = false;
                return Ok(false);
            }
            summary.returned += 1;
            last = Some(seq);
            go_on = visit(seq, line)?;
            Ok(go_on)
        })?;
        batch.clear();
        Ok(go_on)
    };
    scan(ix, &plan, opts.reverse, |seq, combo| {
        batch.push((seq, combo));
        // Without line checks, no more than the limit (and the one to tell) is ever
        // fetched.
        let want = if plan.verifies_lines() {
            BATCH as u64
        } else {
            wanted.saturating_sub(summary.returned).min(BATCH as u64)
        };
        if batch.len() as u64 >= want && !deliver(&mut batch, &mut summary)? {
            stopped = true;
            return Ok(false);
        }
        Ok(true)
    })?;
    if !stopped && !batch.is_empty() {
        deliver(&mut batch, &mut summary)?;
    }
    if summary.truncated {
        summary.next = last.map(|seq| {
            if opts.reverse {
                Cursor::Before(seq)
            } else {
                Cursor::After(seq)
            }
        });
    }
    Ok(summary)
}
