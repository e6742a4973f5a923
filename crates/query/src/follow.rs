//! A live view of a journal: the records that match a filter, as they are recorded.
//!
//! [`Investigator::follow`] gives a [`Follow`]; each [`Follow::poll`] delivers the
//! matches recorded since the previous one, in `seq` order, each exactly once. The
//! caller decides how often to poll and how to wait in between (`tradetrail query
//! --follow` sleeps about 200 ms on a thread; a server would wait on its runtime).
//! Polling only reads: it never takes the journal's write lock, so it runs beside a
//! server that is appending.

use crate::engine::{query_each_in, Investigator, QueryOptions};
use crate::filter::Filter;
use crate::{Error, Result};

/// Where a live view is: what it has delivered, and what it looks at next.
///
/// Created by [`Investigator::follow`].
#[derive(Debug)]
pub struct Follow<'a> {
    inv: &'a Investigator,
    filter: Filter,
    /// Every record with a `seq` up to this one has been looked at.
    after: Option<u64>,
    /// The first poll's limit (the last this many existing matches), until it ran.
    first_limit: Option<usize>,
    first: bool,
}

/// What one [`Follow::poll`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FollowBatch {
    /// Records delivered.
    pub returned: u64,
    /// Something the user should know (a pattern that matches nothing, ...); only
    /// the first poll gives notes.
    pub notes: Vec<String>,
    /// The first poll only, when it stopped at its limit: the `seq` of the oldest
    /// record it delivered; earlier matches are there with `before` this.
    pub earlier_before: Option<u64>,
}

impl Investigator {
    /// A live view of the records that match `filter` with a `seq` greater than
    /// `after` (all of them when `None`): the first [`Follow::poll`] delivers those
    /// already recorded — only the last `first_limit` of them when given, like
    /// `tail -n` — and each later poll the ones recorded since.
    pub fn follow(
        &self,
        filter: Filter,
        after: Option<u64>,
        first_limit: Option<usize>,
    ) -> Result<Follow<'_>> {
        filter.check()?;
        if first_limit == Some(0) {
            return Err(Error::bad_input("limit", "must be at least 1"));
        }
        Ok(Follow {
            inv: self,
            filter,
            after,
            first_limit,
            first: true,
        })
    }
}

impl Follow<'_> {
    /// The `seq` up to which every record has been looked at: pass it back as
    /// `after` to resume this view later without missing or repeating a match.
    pub fn after(&self) -> Option<u64> {
        self.after
    }

    /// Delivers, in `seq` order, every match recorded since the last poll (the first
    /// poll: those already there) by calling `visit(seq, line)` with the journal's
    /// line; `visit` may stop the batch early by returning `Ok(false)`, and the next
    /// poll then starts right after the last record it took.
    ///
    /// A journal changed under the view in a way appending cannot (restored,
    /// truncated) reopens the index and carries on from the last record delivered.
    pub fn poll(
        &mut self,
        visit: &mut dyn FnMut(u64, &[u8]) -> Result<bool>,
    ) -> Result<FollowBatch> {
        match self.poll_once(visit) {
            Err(Error::Stale { .. }) => {
                self.inv.reopen()?;
                self.poll_once(visit)
            }
            r => r,
        }
    }

    fn poll_once(
        &mut self,
        visit: &mut dyn FnMut(u64, &[u8]) -> Result<bool>,
    ) -> Result<FollowBatch> {
        self.inv.refresh()?;
        let ix = self.inv.read();
        let mut batch = FollowBatch::default();
        let mut stopped = false;
        match (self.first, self.first_limit) {
            (true, Some(limit)) => {
                // The last `limit` matches, newest first, then delivered oldest first.
                let opts = QueryOptions {
                    limit: Some(limit),
                    reverse: true,
                    after: self.after,
                    before: None,
                };
                let mut held: Vec<(u64, Vec<u8>)> = Vec::new();
                let summary =
                    query_each_in(&ix, self.inv.source(), &self.filter, &opts, &mut |s, l| {
                        held.push((s, l.to_vec()));
                        Ok(true)
                    })?;
                batch.notes = summary.notes;
                batch.earlier_before = summary.next.map(|c| c.param().1);
                for (seq, line) in held.into_iter().rev() {
                    batch.returned += 1;
                    self.after = Some(seq);
                    if !visit(seq, &line)? {
                        stopped = true;
                        break;
                    }
                }
            }
            _ => {
                let opts = QueryOptions {
                    limit: None,
                    reverse: false,
                    after: self.after,
                    before: None,
                };
                let after = &mut self.after;
                let summary =
                    query_each_in(&ix, self.inv.source(), &self.filter, &opts, &mut |s, l| {
                        *after = Some(s);
                        let go_on = visit(s, l)?;
                        stopped = !go_on;
                        Ok(go_on)
                    })?;
                batch.returned = summary.returned;
                if self.first {
                    batch.notes = summary.notes;
                }
            }
        }
        self.first = false;
        if !stopped {
            // Every record this index holds was looked at: the next poll need not
            // look at the ones that did not match again. (Row `rows - 1` is the
            // last `seq`; the read guard keeps the index from moving meanwhile.)
            if let Some(last) = ix.rows().checked_sub(1) {
                self.after = Some(self.after.map_or(last, |a| a.max(last)));
            }
        }
        Ok(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Source;
    use tradetrail_journal::{Durability, Entry, Journal, JournalOptions};

    fn append(j: &Journal, ty: &str, ts: i64) {
        let body = format!(
            r#"{{"type":"{ty}","ts_event":{ts},"source":"gw","actor":"system","entity":{{"kind":"order","id":"O-{ts}"}},"data":{{}}}}"#
        );
        j.append(Entry::new(body.into_bytes(), Durability::Os).unwrap())
            .unwrap();
    }

    fn collect(f: &mut Follow<'_>) -> (Vec<u64>, FollowBatch) {
        let mut seqs = Vec::new();
        let b = f
            .poll(&mut |s, _| {
                seqs.push(s);
                Ok(true)
            })
            .unwrap();
        (seqs, b)
    }

    #[test]
    fn delivers_each_new_match_once_in_order() {
        let tmp = tempfile::tempdir().unwrap();
        let (j, _) =
            Journal::create(&tmp.path().join("journal"), "t", JournalOptions::default()).unwrap();
        let inv = Investigator::open(Source::live(j.clone()), tmp.path().join("ix")).unwrap();
        append(&j, "order.filled", 1);
        append(&j, "order.submitted", 2);
        append(&j, "order.filled", 3);
        let mut filter = Filter::default();
        filter.set("type", "order.filled").unwrap();
        let mut f = inv.follow(filter.clone(), None, None).unwrap();
        let (first, _) = collect(&mut f);
        assert_eq!(first, [1, 3]);
        assert_eq!(collect(&mut f).0, Vec::<u64>::new());
        append(&j, "order.submitted", 4);
        append(&j, "order.filled", 5);
        assert_eq!(collect(&mut f).0, [5]);
        assert_eq!(f.after(), Some(5));
        append(&j, "order.submitted", 6);
        assert_eq!(collect(&mut f).0, Vec::<u64>::new());
        assert_eq!(f.after(), Some(6));

        // Resuming after a seq; and the first page limited to the last match.
        let mut g = inv.follow(filter.clone(), Some(1), None).unwrap();
        assert_eq!(collect(&mut g).0, [3, 5]);
        let mut h = inv.follow(filter.clone(), None, Some(1)).unwrap();
        let (seqs, b) = collect(&mut h);
        assert_eq!(seqs, [5]);
        assert_eq!(b.earlier_before, Some(5));
        append(&j, "order.filled", 7);
        assert_eq!(collect(&mut h).0, [7]);

        // A visitor that stops resumes right after what it took.
        let mut k = inv.follow(filter.clone(), None, None).unwrap();
        let mut took = Vec::new();
        k.poll(&mut |s, _| {
            took.push(s);
            Ok(false)
        })
        .unwrap();
        assert_eq!(took, [1]);
        assert_eq!(collect(&mut k).0, [3, 5, 7]);

        assert!(inv.follow(filter, None, Some(0)).is_err());
    }
}
