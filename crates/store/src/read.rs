//! The read door: a data directory opened for reading, failing closed, beside a writer.

use std::path::PathBuf;
use std::sync::Arc;

use tradetrail_core::{Config, DataDir, Tree};
use tradetrail_journal::{ColdLines, FsStorage, RecoveryReport};

use crate::{Error, Result, Store};

/// A data directory opened for reading ([`Store::open_read`]): checked as
/// [`Store::open`] checks it, without the journal's lock and without changing
/// anything. What readers need — the query [`Source`](tradetrail_query::Source), an
/// investigator, the cold tier, the data directory — comes from here. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ReadStore {
    dir: DataDir,
    config: Config,
    cold: Option<Arc<dyn ColdLines>>,
    found: RecoveryReport,
}

impl Store {
    /// Opens `dir` for reading, failing closed: the configuration (its origin must be
    /// record 0's), the journal as a writer would find it on opening (a damaged or
    /// altered record is refused with the error [`Store::open`] gives, named by seq),
    /// the archive as the cold tier, and the guard that the journal agrees with the
    /// newest checkpoint this directory signed. It takes no lock, so it runs beside a
    /// process recording into `dir`, and it changes nothing: an unfinished last line
    /// (a write in progress, or one a crash cut short) is not cut but simply not read
    /// ([`ReadStore::found`] reports it). The stored Merkle tree under `DIR/index/merkle`
    /// is read, never written: records after it are hashed in memory.
    pub fn open_read(dir: &DataDir) -> Result<ReadStore> {
        match Store::open_read_reporting(dir)? {
            (read, None) => Ok(read),
            (_, Some(refused)) => Err(refused),
        }
    }

    /// [`Store::open_read`] for the commands whose job is to report (`pg status`,
    /// `pg verify`): the same checks, but damage or a contradicted checkpoint
    /// ([`Error::is_damage`]) is handed back beside the store rather than refusing, so
    /// the report can still be made and say so. Anything else (no configuration, an
    /// unreadable archive, I/O) is an error as it is for [`Store::open_read`].
    pub fn open_read_reporting(dir: &DataDir) -> Result<(ReadStore, Option<Error>)> {
        let config = dir.load_config()?;
        let cold = crate::cold_tier(dir)?;
        let mut read = ReadStore {
            dir: dir.clone(),
            config,
            cold,
            found: RecoveryReport::default(),
        };
        match read.check() {
            Ok(found) => {
                read.found = found;
                Ok((read, None))
            }
            Err(e) if e.is_damage() => Ok((read, Some(e))),
            Err(e) => Err(e),
        }
    }
}

/// The file under `DIR/index` where the read door remembers its last full check.
const MEMO_FILE: &str = "read-door.json";

/// What the read door last checked fully: under which newest checkpoint, and where
/// the journal ended. Derived data like the rest of `DIR/index`: a missing, torn or
/// stale memo only means a full check.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Memo {
    checkpoint: Option<String>,
    /// The configuration's origin, found to be record 0's.
    origin: String,
    journal: tradetrail_journal::Checked,
}

impl Memo {
    fn load(path: &std::path::Path) -> Option<Memo> {
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    }

    /// Best effort, unsynced: a memo lost in a crash costs one full check.
    fn save(&self, path: &std::path::Path) {
        let Ok(bytes) = serde_json::to_vec(self) else {
            return;
        };
        let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
        let _ = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    }
}

impl ReadStore {
    /// What [`Store::open`] checks, changing nothing: the journal's tail as a writer
    /// would find it, record 0's origin, and the newest signed checkpoint.
    fn check(&self) -> Result<RecoveryReport> {
        // The checkpoint first: one a recorder signs meanwhile covers records written
        // after the journal is looked at below, and must not read as a truncation.
        let newest = tradetrail_core::checkpoints::latest_checkpoint(&self.dir)?;
        let checkpoint = newest.as_ref().map(|(p, _)| p.display().to_string());
        let origin = &self.config.origin;
        let memo_path = self.dir.index().join(MEMO_FILE);
        let jdir = self.dir.journal();
        // The journal as last checked fully (record 0's origin the configuration's
        // then and now), grown only by records that continue its chain, under the same
        // newest checkpoint: only the new records are read.
        if let Some(memo) =
            Memo::load(&memo_path).filter(|m| m.checkpoint == checkpoint && &m.origin == origin)
        {
            let since = tradetrail_journal::check_since(&FsStorage, &jdir, &memo.journal)
                .map_err(tradetrail_core::Error::from)?;
            if let tradetrail_journal::Since::Appended {
                mark,
                partial_bytes,
            } = since
            {
                let found = RecoveryReport {
                    segments: mark.segments.len(),
                    records: mark.records,
                    partial_bytes,
                    ..RecoveryReport::default()
                };
                if mark != memo.journal {
                    Memo {
                        checkpoint,
                        origin: origin.clone(),
                        journal: mark,
                    }
                    .save(&memo_path);
                }
                return Ok(found);
            }
        }
        // Record 0 purged or archived and unreadable: `verify` reports that.
        let record0 = tradetrail_core::read_line_in(&self.dir, self.cold(), 0).ok();
        tradetrail_core::checkpoints::check_origin_of(&self.dir, origin, record0.as_deref())?;
        let found = tradetrail_journal::check_open(&FsStorage, &jdir)
            .map_err(tradetrail_core::Error::from)?;
        if let Some(newest) = &newest {
            let (tree, _) = Tree::load_read_only(&self.dir, self.cold(), found.records)?;
            tradetrail_core::checkpoints::guard_against(
                &self.dir,
                &self.config.origin,
                newest,
                &tree,
            )?;
        }
        // Remembered only when nothing was appended since the check above read the
        // journal: a record it did not see must be checked by the next open.
        if let Ok(mark) = tradetrail_journal::mark(&FsStorage, &jdir) {
            if mark.records == found.records {
                Memo {
                    checkpoint,
                    origin: origin.clone(),
                    journal: mark,
                }
                .save(&memo_path);
            }
        }
        Ok(found)
    }

    /// The data directory.
    pub fn data_dir(&self) -> &DataDir {
        &self.dir
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// What opening found, changing nothing: the complete records, and the bytes of an
    /// unfinished last line left in place (`partial_bytes`; `truncated_bytes` is 0).
    /// All zero when [`Store::open_read_reporting`] handed back a refusal.
    pub fn found(&self) -> &RecoveryReport {
        &self.found
    }

    /// The archive as the cold tier (records that left `journal/` after the hot
    /// window), when the directory has an archive.
    pub fn cold(&self) -> Option<&dyn ColdLines> {
        self.cold.as_deref()
    }

    /// The cold tier, shared.
    pub fn cold_tier(&self) -> Option<Arc<dyn ColdLines>> {
        self.cold.clone()
    }

    /// The records as the query engine reads them: the journal's files (complete lines
    /// only, so a line being written is picked up by a later call) and the cold tier.
    pub fn source(&self) -> tradetrail_query::Source {
        crate::read_source(&self.dir, self.cold.clone())
    }

    /// Where the query index of this directory is kept (`DIR/index/query`).
    pub fn query_index(&self) -> PathBuf {
        crate::query_index(&self.dir)
    }

    /// The investigator (queries, trails, incidents, statistics) over [`source`],
    /// its index under [`query_index`] (derived data, shared on disk with every
    /// process that queries this directory; it may be deleted at any time).
    ///
    /// [`source`]: ReadStore::source
    /// [`query_index`]: ReadStore::query_index
    pub fn investigator(
        &self,
    ) -> std::result::Result<tradetrail_query::Investigator, tradetrail_query::Error> {
        tradetrail_query::Investigator::open(self.source(), self.query_index())
    }

    /// The Merkle tree of the complete records found on opening, read as the guard
    /// read it (the stored tree is not written).
    pub fn tree(&self) -> Result<Tree> {
        Ok(Tree::load_read_only(&self.dir, self.cold(), self.found.records)?.0)
    }
}
