//! The journal's records as the mirror reads them: from `journal/`, then the archive
//! for records that left it, stepping over the runs a retention purge removed (their
//! lines are gone everywhere; the `journal.retention_purged` record names them).

use std::path::PathBuf;
use std::sync::Arc;

use tradetrail_journal::{for_each_line_with, ColdLines, ColdRange, FsStorage};
use tradetrail_store::ReadStore;

use crate::{Error, Result};

/// A data directory's journal and archive as the read door opened them, with the
/// purged runs listed for one pass.
pub(crate) struct Held {
    jdir: PathBuf,
    cold: Option<Arc<dyn ColdLines>>,
    /// The runs a retention purge removed, in seq order (none without an archive).
    pub(crate) runs: Vec<ColdRange>,
}

fn journal_err(path: PathBuf) -> impl FnOnce(tradetrail_journal::Error) -> Error {
    move |source| Error::Journal { path, source }
}

impl Held {
    /// Lists the purged runs of the cold tier of `read`.
    pub(crate) fn open(read: &ReadStore) -> Result<Held> {
        let jdir = read.data_dir().journal();
        let cold = read.cold_tier();
        let mut runs: Vec<ColdRange> = match &cold {
            Some(c) => c
                .ranges()
                .map_err(journal_err(jdir.clone()))?
                .into_iter()
                .filter(|r| r.purged_by.is_some())
                .collect(),
            None => Vec::new(),
        };
        runs.sort_by_key(|r| r.first);
        Ok(Held { jdir, cold, runs })
    }

    /// The purged run holding `seq`.
    pub(crate) fn run_holding(&self, seq: u64) -> Option<&ColdRange> {
        self.runs.iter().find(|r| r.first <= seq && seq <= r.last)
    }

    /// Calls `f(seq, line)` for every record from `from` on that is still held, in seq
    /// order, skipping the purged runs; stops when `f` returns `Ok(false)`. Returns the
    /// seq after the last record read.
    pub(crate) fn for_each(
        &self,
        from: u64,
        mut f: impl FnMut(u64, &[u8]) -> tradetrail_journal::Result<bool>,
    ) -> Result<u64> {
        let mut start = from;
        let mut stopped = false;
        let mut step = |to: Option<u64>, start: u64, stopped: &mut bool| {
            for_each_line_with(
                &FsStorage,
                &self.jdir,
                self.cold.as_deref(),
                start,
                to,
                |seq, line| {
                    let go = f(seq, line)?;
                    *stopped = !go;
                    Ok(go)
                },
            )
            .map_err(journal_err(self.jdir.clone()))
        };
        for run in self.runs.iter().filter(|r| r.last >= from) {
            if run.first > start {
                let end = step(Some(run.first), start, &mut stopped)?;
                if stopped || end < run.first {
                    return Ok(end);
                }
            }
            start = start.max(run.last + 1);
        }
        step(None, start, &mut stopped)
    }
}
