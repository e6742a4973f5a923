//! The recorder: a data directory's journal, its configuration and the event model,
//! behind the calls that the CLI, the server and embedding engines share.

use std::path::Path;
use std::sync::Arc;

use tradetrail_journal::{
    dedup_key_of, ColdLines, Durability, Entry, FsStorage, Journal, JournalOptions, Receipt,
    RecoveryReport, Storage, Ticket,
};
use tradetrail_model::{Event, Normalized, ValidationErrors};

use crate::config::Config;
use crate::datadir::DataDir;
use crate::{Error, Result};

/// An open data directory that events are recorded into. Cheap to clone; clones share
/// one journal, so any number of threads can record through them.
#[derive(Debug, Clone)]
pub struct Recorder {
    dir: DataDir,
    config: Config,
    journal: Journal,
    /// Where records older than the journal's first segment are read from (the
    /// archive, after the hot window); set by whoever opens the recorder.
    cold: Option<Arc<dyn ColdLines>>,
}

/// Options for `init`.
#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    /// The journal's origin; a unique default is made from the host name and a random id.
    pub origin: Option<String>,
    /// Segment size limit (default 64 MiB).
    pub segment_max_bytes: Option<u64>,
    /// Record 0's time (ns since the epoch) instead of now: replicas of one stream are
    /// initialised with the same origin and the same time, so their record 0 is the
    /// same, byte for byte (docs/ingest.md).
    pub created_at: Option<i64>,
}

/// The line of record `seq` (without `\n`) of `dir`'s journal, or of `cold` (its
/// archive) when its segment left `journal/`, read from the files without opening the
/// journal: for readers beside a writer, which see complete lines only.
pub fn read_line_in(dir: &DataDir, cold: Option<&dyn ColdLines>, seq: u64) -> Result<Vec<u8>> {
    line_from(&FsStorage, &dir.journal(), cold, seq)
}

/// The line of record `seq` (without `\n`) of the journal in `jdir`, or of `cold` when
/// its segment left `jdir`, read from the files without opening the journal (see
/// [`tradetrail_journal::for_each_line_with`]).
pub(crate) fn line_from(
    storage: &dyn Storage,
    jdir: &Path,
    cold: Option<&dyn ColdLines>,
    seq: u64,
) -> Result<Vec<u8>> {
    let mut got = None;
    tradetrail_journal::for_each_line_with(storage, jdir, cold, seq, Some(seq + 1), |_, line| {
        got = Some(line.to_vec());
        Ok(false)
    })?;
    got.ok_or_else(|| {
        let reason = if cold.is_some() {
            "the archive does not hold it"
        } else {
            "the journal does not hold it"
        };
        tradetrail_journal::Error::Cold {
            seq,
            reason: reason.into(),
        }
        .into()
    })
}

fn default_origin() -> String {
    let host = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("tradetrail.local/{host}/{}", &id[..12])
}

impl Recorder {
    /// Creates a data directory: `tradetrail.toml` and a journal whose record 0 is
    /// `journal.created`.
    pub fn init(dir: &DataDir, opts: InitOptions) -> Result<Recorder> {
        if dir.config().exists() || dir.journal().exists() {
            return Err(Error::AlreadyInitialized {
                path: dir.root().to_path_buf(),
            });
        }
        let mut config = Config::new(opts.origin.unwrap_or_else(default_origin));
        if let Some(s) = opts.segment_max_bytes {
            config.journal.segment_max_bytes = s;
        }
        // Check the origin and settings before anything is written.
        Config::parse(&config.to_toml()).map_err(|reason| Error::Config {
            path: dir.config(),
            reason,
        })?;
        tradetrail_checkpoint::check_key_name(&config.origin).map_err(|e| Error::Config {
            path: dir.config(),
            reason: format!("origin: {e} (the origin also names the signing key)"),
        })?;
        std::fs::create_dir_all(dir.root()).map_err(|source| Error::Io {
            path: dir.root().to_path_buf(),
            source,
        })?;
        crate::checkpoints::create_key(dir, &config.origin)?;
        let (journal, _) = Journal::create_at(
            &dir.journal(),
            &config.origin,
            opts.created_at,
            journal_options(&config),
        )?;
        write_atomically(&dir.config(), config.to_toml().as_bytes())?;
        Ok(Recorder {
            dir: dir.clone(),
            config,
            journal,
            cold: None,
        })
    }

    /// Opens a data directory's journal alone: it fails closed (an unfinished last
    /// line is cut, a damaged record refuses), but it does not attach the archive as
    /// cold tier and deduplication source nor check the journal against signed
    /// checkpoints. Programs open data directories with `tradetrail_store::Store::open`,
    /// which does all of that and hands out this recorder; this is the layer under it.
    pub fn open(dir: &DataDir) -> Result<(Recorder, RecoveryReport)> {
        Recorder::open_with(dir, |o| o)
    }

    /// Opens with adjusted journal options (tests swap the storage or clock).
    pub fn open_with(
        dir: &DataDir,
        adjust: impl FnOnce(JournalOptions) -> JournalOptions,
    ) -> Result<(Recorder, RecoveryReport)> {
        let config = load_config(dir)?;
        let (journal, report) = Journal::open(&dir.journal(), adjust(journal_options(&config)))?;
        Ok((
            Recorder {
                dir: dir.clone(),
                config,
                journal,
                cold: None,
            },
            report,
        ))
    }

    /// The data directory.
    pub fn data_dir(&self) -> &DataDir {
        &self.dir
    }
    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }
    /// The journal underneath.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Reads records that left `journal/` (after the hot window) from `cold`: the
    /// Merkle tree and exports then still see every record from seq 0.
    pub fn with_cold(mut self, cold: Option<Arc<dyn ColdLines>>) -> Recorder {
        self.cold = cold;
        self
    }

    /// The line of record `seq` (without `\n`): from the journal, or from the cold
    /// tier when its segment left `journal/`.
    pub fn read_line(&self, seq: u64) -> Result<Vec<u8>> {
        match self.journal.read_line(seq) {
            Err(tradetrail_journal::Error::Removed { .. }) if self.cold.is_some() => line_from(
                self.journal.options().storage.as_ref(),
                &self.dir.journal(),
                self.cold(),
                seq,
            ),
            r => Ok(r?),
        }
    }

    /// The cold tier, if one was given.
    pub fn cold(&self) -> Option<&dyn ColdLines> {
        self.cold.as_deref()
    }

    /// Seals the active segment: appends a `journal.sealed` record (naming `actor` and
    /// `reason`) as the first record of a new segment, so every record before it is in
    /// a sealed segment that never changes again and that `archive` takes. `actor` is
    /// checked as an event's actor is (`operator:carol`, `system`, ...).
    pub fn seal(&self, actor: &str, reason: &str) -> Result<Receipt> {
        if reason.trim().is_empty() || reason.chars().any(char::is_control) {
            return Err(Error::BadArgument {
                field: "reason",
                reason: "must be non-empty text without control characters".into(),
            });
        }
        let now = self.journal.options().clock.now_ns().max(0);
        let body = serde_json::json!({
            "type": "journal.sealed",
            "ts_event": now,
            "source": "tradetrail",
            "actor": actor,
            "data": {"reason": reason},
        });
        // The actor is checked by the one validator, on the same body as a producer
        // event (journal.* types are the journal's own, so through an open family).
        let mut probe = body.clone();
        probe["type"] = "system.seal_requested".into();
        let probe = serde_json::to_vec(&probe).map_err(|e| Error::BadArgument {
            field: "actor",
            reason: e.to_string(),
        })?;
        tradetrail_model::normalize(&probe)?;
        let bytes = serde_json::to_vec(&body).map_err(|e| Error::BadArgument {
            field: "reason",
            reason: e.to_string(),
        })?;
        let entry = Entry::new(bytes, Durability::Fsync)?;
        Ok(self.journal.append_sealing(entry)?)
    }

    /// The cold tier, shared (for a query source over the same directory).
    pub fn cold_tier(&self) -> Option<Arc<dyn ColdLines>> {
        self.cold.clone()
    }

    /// Serializes a validated event into a journal entry with the configured (or the
    /// given) durability. This is the per-event work; do it on the producer's thread.
    pub fn prepare(&self, event: &Event, durability: Option<Durability>) -> Entry {
        self.prepare_normalized(Normalized::from(event), durability)
    }

    /// Parses and validates one JSON line into an entry ([`tradetrail_model::normalize`]:
    /// straight from the bytes to the canonical body).
    pub fn prepare_line(
        &self,
        line: &[u8],
        durability: Option<Durability>,
    ) -> Result<Entry, ValidationErrors> {
        Ok(self.prepare_normalized(tradetrail_model::normalize(line)?, durability))
    }

    /// An entry for an event already validated and normalized.
    pub fn prepare_normalized(&self, n: Normalized, durability: Option<Durability>) -> Entry {
        let d = durability.unwrap_or_else(|| self.config.durability.for_type(n.event_type()));
        let event_id = n.event_id();
        let entry = Entry::from_serialized(n.into_body(), d)
            .expect("the model writes bodies that start with \"type\" and hold no newline");
        match event_id {
            Some(id) => entry.with_dedup_key(id.as_u128()),
            None => entry,
        }
    }

    /// Validates and records one event, waiting for its acknowledgement.
    pub fn record(&self, event: &Event) -> Result<Receipt> {
        event.validate()?;
        Ok(self.journal.append(self.prepare(event, None))?)
    }

    /// Records prepared entries as one run and waits for all of them.
    pub fn record_batch(&self, entries: Vec<Entry>) -> Result<Vec<Receipt>> {
        Ok(self.journal.append_batch(entries)?)
    }

    /// Sequences a prepared entry without waiting (see [`Journal::submit`]).
    pub fn submit(&self, entry: Entry) -> Result<Ticket> {
        Ok(self.journal.submit(entry)?)
    }

    /// Waits for a submitted entry.
    pub fn wait(&self, ticket: Ticket) -> Result<Receipt> {
        Ok(self.journal.wait(ticket)?)
    }

    /// Waits for every entry of a submitted batch at once; their receipts in order.
    pub fn wait_all(&self, tickets: Vec<Ticket>) -> Result<Vec<Receipt>> {
        Ok(self.journal.wait_all(tickets)?)
    }
}

/// The key a string `event_id` deduplicates under (UUIDs map to their value).
pub fn event_id_key(event_id: &str) -> u128 {
    dedup_key_of(event_id)
}

fn journal_options(config: &Config) -> JournalOptions {
    JournalOptions::default()
        .with_segment_max_bytes(config.journal.segment_max_bytes)
        .with_rotate_daily(config.journal.rotate_daily)
}

fn load_config(dir: &DataDir) -> Result<Config> {
    dir.load_config()
}

/// Writes a small file so that a crash leaves either the old or the new content
/// (the journal's one durable write, [`Storage::write_atomically`]).
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    FsStorage
        .write_atomically(path, bytes)
        .map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
}
