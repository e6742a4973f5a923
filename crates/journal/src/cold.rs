//! Records that have left `journal/`: the older tier a journal's first records move to
//! after the hot window (in tradetrail, the Parquet archive).
//!
//! The journal crate knows nothing of how such records are stored. It defines the
//! [`ColdLines`] trait — "give me the exact line bytes of these seqs" — and
//! [`for_each_line_with`], which reads a seq range across the cold tier and the
//! segment files as one run. Readers that must see every record from seq 0 (the
//! Merkle tree, checking a checkpoint, the query index, exports) take a
//! `&dyn ColdLines` so they keep working after segments are removed.
//!
//! A cold tier is trusted no more than the segment files: every line it yields must
//! carry the seq it was asked for (checked here), and a record's hash witnesses its
//! bytes as usual, so a reader that hashes (the tree, a checkpoint check) notices any
//! substitution.

use std::fmt::Debug;
use std::path::Path;

use crate::chain::RecordHash;
use crate::record::parse_header;
use crate::segment::list_segments;
use crate::storage::Storage;
use crate::{Error, Result};

/// A run of consecutive cold records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColdRange {
    /// First seq.
    pub first: u64,
    /// Last seq (inclusive).
    pub last: u64,
    /// `Some(seq of the purge record)` when a retention purge removed these records:
    /// their hashes are still accounted for, their lines are gone.
    pub purged_by: Option<u64>,
}

/// What a cold tier keeps of a purged range: enough to carry the hash chain and the
/// Merkle tree across it without its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgedSubtrees {
    /// The perfect subtrees `(start, height, hash)` that the range `[first, last + 1)`
    /// splits into, left to right (the aligned blocks: `start` is a multiple of
    /// `2^height`). Pushed in order onto a tree of the first `first` records, they
    /// give the tree of the first `last + 1`.
    pub subtrees: Vec<(u64, u32, [u8; 32])>,
    /// `prev` of the first purged record: the hash of the record before the range.
    pub first_prev: RecordHash,
    /// Hash of the last purged record: the `prev` of the record after the range.
    pub last_hash: RecordHash,
    /// `ts_recorded` of the first purged record.
    pub first_ts_recorded: i64,
    /// `ts_recorded` of the last purged record.
    pub last_ts_recorded: i64,
    /// The Merkle root of the first `last + 1` records, as the cold tier recorded it.
    pub root: [u8; 32],
}

/// The place of a record the cold tier did not locate (see
/// [`ColdLines::for_each_placed`]).
pub const NO_PLACE: u64 = 0;

/// What [`ColdLines::for_each_placed`] calls for each record: `f(seq, place, line)`;
/// `Ok(false)` stops the walk.
pub type PlacedFn<'a> = dyn FnMut(u64, u64, &[u8]) -> Result<bool> + 'a;

/// Read access to records older than the journal's first segment.
///
/// Implementations must yield each record's line exactly as it was written (without
/// the `\n`). Ranges run from seq 0 without gaps, in seq order.
pub trait ColdLines: Send + Sync + Debug {
    /// The runs of records the cold tier accounts for, from seq 0, in order.
    fn ranges(&self) -> Result<Vec<ColdRange>>;

    /// Calls `f(seq, line)` for every record with `from <= seq < to` that the cold
    /// tier holds, in seq order; stops early when `f` returns `Ok(false)`. A purged
    /// record in the range is [`Error::Purged`].
    fn for_each(
        &self,
        from: u64,
        to: u64,
        f: &mut dyn FnMut(u64, &[u8]) -> Result<bool>,
    ) -> Result<()>;

    /// Calls `f(seq, line)` for each of `seqs` (any order; calls come in the order
    /// given). Purged records are skipped silently: a caller that needs them all
    /// compares what it got.
    fn read(&self, seqs: &[u64], f: &mut dyn FnMut(u64, &[u8]) -> Result<()>) -> Result<()>;

    /// [`ColdLines::for_each`] that also gives each record's *place*: where the cold
    /// tier keeps it, opaque to the caller (the archive: its row in its file). A
    /// caller may keep it and hand it back to [`ColdLines::read_placed`] to save the
    /// tier a lookup. The default, for a tier that does not locate records, gives
    /// [`NO_PLACE`].
    fn for_each_placed(&self, from: u64, to: u64, f: &mut PlacedFn<'_>) -> Result<()> {
        self.for_each(from, to, &mut |seq, line| f(seq, NO_PLACE, line))
    }

    /// [`ColdLines::read`] of `(seq, place)` pairs, each place one that
    /// [`ColdLines::for_each_placed`] gave for that seq, or [`NO_PLACE`] when it is
    /// not known. A place is a hint: a tier must check that what it finds there is
    /// the record asked for (and else look the seq up as `read` does), never give
    /// another record's line. The default ignores the places.
    fn read_placed(
        &self,
        wants: &[(u64, u64)],
        f: &mut dyn FnMut(u64, &[u8]) -> Result<()>,
    ) -> Result<()> {
        let seqs: Vec<u64> = wants.iter().map(|&(seq, _)| seq).collect();
        self.read(&seqs, f)
    }

    /// The seq after the last cold record (0 when there is none).
    fn end(&self) -> Result<u64> {
        Ok(self.ranges()?.last().map_or(0, |r| r.last + 1))
    }

    /// For a purged `range` (one of [`ColdLines::ranges`]): the Merkle subtrees and
    /// chain hashes kept for it, or `None` when none were kept (a purge made before
    /// they were) or the range is not purged. The default keeps none.
    fn subtrees(&self, range: &ColdRange) -> Result<Option<PurgedSubtrees>> {
        let _ = range;
        Ok(None)
    }
}

/// One step of [`for_each_leaf_with`]: a record's line, or a purged range known only
/// by its subtrees.
#[derive(Debug)]
pub enum Leaf<'a> {
    /// Record `seq`'s line (without `\n`).
    Line(u64, &'a [u8]),
    /// The records `range.first..=range.last`, purged, with what was kept of them.
    Purged(&'a ColdRange, &'a PurgedSubtrees),
}

/// [`for_each_line_with`], except that a purged range whose subtrees the cold tier
/// kept is passed to `f` as one [`Leaf::Purged`] instead of failing. Such a range
/// must lie wholly inside `from..to`: starting or ending strictly inside it is
/// [`Error::Purged`] (its records cannot be visited one by one), as is any purged
/// range without subtrees. Returns the seq after the last record visited.
pub fn for_each_leaf_with(
    storage: &dyn Storage,
    dir: &Path,
    cold: Option<&dyn ColdLines>,
    from: u64,
    to: Option<u64>,
    mut f: impl FnMut(Leaf<'_>) -> Result<bool>,
) -> Result<u64> {
    let hot_first = list_segments(storage, dir)?.first().map(|s| s.first_seq);
    let c = match cold {
        // Nothing before the journal's first segment is asked for: no cold range is.
        Some(c) if hot_first.is_none_or(|h| from < h) => c,
        _ => return for_each_line_with(storage, dir, cold, from, to, |s, l| f(Leaf::Line(s, l))),
    };
    let purged: Vec<ColdRange> = c
        .ranges()?
        .into_iter()
        .filter(|r| r.purged_by.is_some() && r.last >= from && to.is_none_or(|t| r.first < t))
        .collect();
    let mut next = from;
    for r in &purged {
        let by = r.purged_by.unwrap_or_default();
        let Some(kept) = c.subtrees(r)? else {
            // Nothing kept: reading the range fails as it always did.
            break;
        };
        if next > r.first || to.is_some_and(|t| t <= r.last) {
            let seq = if next > r.first { next } else { r.first };
            return Err(Error::Purged { seq, purged_by: by });
        }
        if next < r.first {
            let mut stopped = false;
            let end = for_each_line_with(storage, dir, cold, next, Some(r.first), |s, l| {
                let go = f(Leaf::Line(s, l))?;
                stopped = !go;
                Ok(go)
            })?;
            if stopped {
                return Ok(end);
            }
            if end != r.first {
                return Err(Error::Cold {
                    seq: end,
                    reason: format!("records {end}..{} could not be read", r.first),
                });
            }
        }
        next = r.last + 1;
        if !f(Leaf::Purged(r, &kept))? {
            return Ok(next);
        }
    }
    if to.is_some_and(|t| next >= t) {
        return Ok(next);
    }
    let end = for_each_line_with(storage, dir, cold, next, to, |s, l| f(Leaf::Line(s, l)))?;
    Ok(end.max(next))
}

/// [`crate::for_each_line`] across a cold tier and the journal: records before the
/// journal's first segment come from `cold` (when given; without it such a range is
/// [`Error::Removed`], as before), the rest from the segment files. Each cold line
/// must carry the seq asked for. Returns the seq after the last record visited.
pub fn for_each_line_with(
    storage: &dyn Storage,
    dir: &Path,
    cold: Option<&dyn ColdLines>,
    from: u64,
    to: Option<u64>,
    mut f: impl FnMut(u64, &[u8]) -> Result<bool>,
) -> Result<u64> {
    let first = list_segments(storage, dir)?.first().map(|s| s.first_seq);
    let Some(cold) = cold else {
        return crate::for_each_line(storage, dir, from, to, f);
    };
    let hot_first = match first {
        Some(first) => first,
        None => cold.end()?,
    };
    let mut next = from;
    if from < hot_first {
        let cold_to = to.map_or(hot_first, |t| t.min(hot_first));
        let end = cold.end()?;
        if end < cold_to {
            return Err(Error::Cold {
                seq: end,
                reason: format!(
                    "the journal starts at seq {hot_first} but the archive ends at seq {end}"
                ),
            });
        }
        let mut stopped = false;
        cold.for_each(from, cold_to, &mut |seq, line| {
            match parse_header(line) {
                Ok(h) if h.seq == seq && seq == next => {}
                _ => {
                    return Err(Error::Cold {
                        seq: next,
                        reason: "the archive gave a line that is not this record".into(),
                    })
                }
            }
            next = seq + 1;
            if !f(seq, line)? {
                stopped = true;
                return Ok(false);
            }
            Ok(true)
        })?;
        if stopped {
            return Ok(next);
        }
        if next != cold_to {
            return Err(Error::Cold {
                seq: next,
                reason: format!("the archive holds no record {next}"),
            });
        }
        if to.is_some_and(|t| t <= hot_first) || first.is_none() {
            return Ok(next);
        }
    }
    let mut stopped = false;
    let end = crate::for_each_line(storage, dir, next, to, |seq, line| {
        let go = f(seq, line)?;
        stopped = !go;
        Ok(go)
    })?;
    Ok(if stopped { end } else { end.max(next) })
}
