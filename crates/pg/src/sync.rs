//! `pg sync`: copy the records the mirror does not have yet, then exit.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use postgres::Client;
use tradetrail_core::DataDir;
use tradetrail_journal::{FsStorage, RecordHash, RecordView};
use tradetrail_store::{ReadStore, Store};

use crate::{connect, db, redact, require_schema, Error, Result};

/// Serialises `pg sync`s against one database (a session-level advisory lock).
const SYNC_LOCK: i64 = 0x7472_6164_6574_7202;

/// How `sync` copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncOptions {
    /// Records per transaction (at least 1).
    pub batch: usize,
    /// How to write; `None`: binary `COPY` when the session's role may (a superuser
    /// or `BYPASSRLS`), else `INSERT`.
    pub method: Option<Method>,
    /// Delete the mirror's rows of runs a retention purge removed from the journal,
    /// once the purge's record is mirrored (`tradetrail.follow_purge`, which records
    /// each in `tradetrail.followed_purges`). Off: the mirror keeps them.
    pub follow_purges: bool,
}

impl Default for SyncOptions {
    fn default() -> SyncOptions {
        SyncOptions {
            batch: 5000,
            method: None,
            follow_purges: false,
        }
    }
}

/// What `sync` did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SyncReport {
    /// The URL, password removed.
    pub url: String,
    /// Rows copied now.
    pub copied: u64,
    /// The first seq copied now, if any.
    pub first_seq: Option<u64>,
    /// The mirror's last seq after the run (`None`: still empty).
    pub last_seq: Option<u64>,
    /// How the rows were written.
    pub method: Method,
    /// Rows deleted now following retention purges (`follow_purges`).
    pub purged_rows_deleted: u64,
}

/// The columns of one batch of the mirror's rows, in seq order: records pushed in,
/// then written to `tradetrail.events` in one transaction ([`Batch::flush`]), as
/// [`sync`] writes them.
#[derive(Default)]
pub struct Batch {
    seq: Vec<i64>,
    ts_event: Vec<Option<SystemTime>>,
    ts_event_ns: Vec<Option<i64>>,
    ts_recorded: Vec<SystemTime>,
    ts_recorded_ns: Vec<i64>,
    ty: Vec<String>,
    source: Vec<Option<String>>,
    actor: Vec<Option<String>>,
    event_id: Vec<Option<String>>,
    trader_id: Vec<Option<String>>,
    account_id: Vec<Option<String>>,
    strategy_id: Vec<Option<String>>,
    instrument_id: Vec<Option<String>>,
    entity_kind: Vec<Option<String>>,
    entity_id: Vec<Option<String>>,
    refs: Vec<Option<String>>,
    data: Vec<Option<String>>,
    line: Vec<String>,
    hash: Vec<String>,
    prev: Vec<String>,
}

/// The columns, in the order both ways of writing send them.
const COLUMNS: &str = r#"seq, ts_event, ts_event_ns, ts_recorded, ts_recorded_ns, "type",
    source, actor, event_id, trader_id, account_id, strategy_id, instrument_id,
    entity_kind, entity_id, refs, data, line, hash, prev"#;

/// Without row-level security in the way: one binary `COPY` per batch.
fn copy_statement() -> String {
    format!("COPY tradetrail.events ({COLUMNS}) FROM STDIN (FORMAT binary)")
}

/// The binary `COPY` column types, in [`COLUMNS`] order.
const COPY_TYPES: [Type; 20] = [
    Type::INT8,
    Type::TIMESTAMPTZ,
    Type::INT8,
    Type::TIMESTAMPTZ,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::JSONB,
    Type::JSONB,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
];

/// With row-level security applying to the session: one statement per batch, the
/// columns as typed arrays (binary parameters) that come back as rows through
/// `unnest`. PostgreSQL refuses `COPY FROM` on a table with row-level security for a
/// role the policies apply to, as they do to the writer unless its login has
/// `BYPASSRLS`.
const INSERT: &str = r#"
INSERT INTO tradetrail.events (seq, ts_event, ts_event_ns, ts_recorded, ts_recorded_ns, "type",
    source, actor, event_id, trader_id, account_id, strategy_id, instrument_id,
    entity_kind, entity_id, refs, data, line, hash, prev)
SELECT seq, ts_event, ts_event_ns, ts_recorded, ts_recorded_ns, ty,
    source, actor, event_id, trader_id, account_id, strategy_id, instrument_id,
    entity_kind, entity_id, refs::jsonb, data::jsonb, line, hash, prev
FROM unnest($1::bigint[], $2::timestamptz[], $3::bigint[], $4::timestamptz[], $5::bigint[],
    $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
    $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[],
    $19::text[], $20::text[])
    AS t(seq, ts_event, ts_event_ns, ts_recorded, ts_recorded_ns, ty,
    source, actor, event_id, trader_id, account_id, strategy_id, instrument_id,
    entity_kind, entity_id, refs, data, line, hash, prev)
"#;

/// How a session writes its batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Binary `COPY` (the session's role is a superuser or has `BYPASSRLS`).
    Copy,
    /// `INSERT ... SELECT FROM unnest(...)` (row-level security applies).
    Insert,
}

/// JSON text sent as `jsonb` in binary `COPY`: the format's version byte, then the
/// text (PostgreSQL parses it as it would the text form).
#[derive(Debug)]
struct Jsonb<'a>(&'a str);

impl ToSql for Jsonb<'_> {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(&[1]);
        out.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSONB
    }

    to_sql_checked!();
}

impl Batch {
    /// Rows in the batch.
    pub fn len(&self) -> usize {
        self.seq.len()
    }

    /// Whether the batch holds no rows.
    pub fn is_empty(&self) -> bool {
        self.seq.is_empty()
    }

    /// Adds the row of one record (its parsed line and the line's hash); the reason
    /// when the record cannot be a row (a seq beyond PostgreSQL's `bigint`).
    pub fn push(&mut self, v: &RecordView<'_>, hash: &RecordHash) -> Result<(), String> {
        let seq = i64::try_from(v.seq).map_err(|_| "seq is out of PostgreSQL's bigint range")?;
        let own = |c: &Option<std::borrow::Cow<'_, str>>| c.as_ref().map(|s| s.to_string());
        self.seq.push(seq);
        self.ts_event.push(v.ts_event.map(time_of));
        self.ts_event_ns.push(v.ts_event);
        self.ts_recorded.push(time_of(v.ts_recorded));
        self.ts_recorded_ns.push(v.ts_recorded);
        self.ty.push(v.ty.to_string());
        self.source.push(own(&v.source));
        self.actor.push(own(&v.actor));
        self.event_id.push(own(&v.event_id));
        self.trader_id.push(own(&v.trader_id));
        self.account_id.push(own(&v.account_id));
        self.strategy_id.push(own(&v.strategy_id));
        self.instrument_id.push(own(&v.instrument_id));
        self.entity_kind.push(own(&v.entity_kind));
        self.entity_id.push(own(&v.entity_id));
        self.refs.push(v.refs.map(str::to_string));
        self.data.push(v.data.map(str::to_string));
        self.line.push(v.line.to_string());
        self.hash.push(hash.to_hex());
        self.prev.push(v.prev.to_string());
        Ok(())
    }

    /// Writes the batch in one transaction and empties it.
    pub fn flush(&mut self, client: &mut Client, method: Method, url: &str) -> Result<()> {
        let (Some(first), Some(last)) = (self.seq.first(), self.seq.last()) else {
            return Ok(());
        };
        let what = format!("copying records {first}..={last}");
        let mut tx = client.transaction().map_err(db(url, what.clone()))?;
        if method == Method::Copy {
            let sink = tx
                .copy_in(&copy_statement())
                .map_err(db(url, what.clone()))?;
            let mut w = BinaryCopyInWriter::new(sink, &COPY_TYPES);
            for i in 0..self.len() {
                let refs = self.refs[i].as_deref().map(Jsonb);
                let data = self.data[i].as_deref().map(Jsonb);
                w.write(&[
                    &self.seq[i],
                    &self.ts_event[i],
                    &self.ts_event_ns[i],
                    &self.ts_recorded[i],
                    &self.ts_recorded_ns[i],
                    &self.ty[i],
                    &self.source[i],
                    &self.actor[i],
                    &self.event_id[i],
                    &self.trader_id[i],
                    &self.account_id[i],
                    &self.strategy_id[i],
                    &self.instrument_id[i],
                    &self.entity_kind[i],
                    &self.entity_id[i],
                    &refs,
                    &data,
                    &self.line[i],
                    &self.hash[i],
                    &self.prev[i],
                ])
                .map_err(db(url, what.clone()))?;
            }
            w.finish().map_err(db(url, what.clone()))?;
            tx.commit().map_err(db(url, what))?;
            *self = Batch::default();
            return Ok(());
        }
        tx.execute(
            INSERT,
            &[
                &self.seq,
                &self.ts_event,
                &self.ts_event_ns,
                &self.ts_recorded,
                &self.ts_recorded_ns,
                &self.ty,
                &self.source,
                &self.actor,
                &self.event_id,
                &self.trader_id,
                &self.account_id,
                &self.strategy_id,
                &self.instrument_id,
                &self.entity_kind,
                &self.entity_id,
                &self.refs,
                &self.data,
                &self.line,
                &self.hash,
                &self.prev,
            ],
        )
        .map_err(db(url, what.clone()))?;
        tx.commit().map_err(db(url, what))?;
        *self = Batch::default();
        Ok(())
    }
}

/// An instant in ns since the epoch as a `SystemTime` (PostgreSQL keeps µs; the
/// `_ns` columns keep the exact value).
fn time_of(ns: i64) -> SystemTime {
    let d = Duration::from_nanos(ns.unsigned_abs());
    if ns >= 0 {
        UNIX_EPOCH + d
    } else {
        UNIX_EPOCH - d
    }
}

/// Copies every journal record after the mirror's last one (see [`Session::sync`]),
/// on a connection of its own. `dir` is opened through the read door
/// ([`tradetrail_store::Store::open_read`]) before the mirror is touched: a damaged
/// journal, or one that contradicts the newest checkpoint it signed, is refused with
/// the door's error and nothing is copied.
pub fn sync(dir: &DataDir, url: &str, opts: &SyncOptions) -> Result<SyncReport> {
    let read = Store::open_read(dir)?;
    Session::open(url, opts)?.sync(&read, opts)
}

/// A connection to the mirror that holds its sync lock (one writer at a time) while
/// it lives, kept open across passes by [`crate::follow`].
pub struct Session {
    client: Client,
    /// The URL, password removed.
    shown: String,
    method: Method,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("url", &self.shown)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Connects, checks the schema and the encoding, takes the sync lock
    /// ([`Error::Busy`] when another sync holds it) and chooses how to write.
    pub fn open(url: &str, opts: &SyncOptions) -> Result<Session> {
        let shown = redact(url);
        let mut client = connect(url)?;
        require_schema(&mut client, &shown)?;
        crate::schema::check_encoding(&mut client, &shown)?;
        let locked: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&SYNC_LOCK])
            .map_err(db(&shown, "taking the sync lock"))?
            .get(0);
        if !locked {
            return Err(Error::Busy { url: shown });
        }
        let method = match opts.method {
            Some(m) => m,
            None => {
                let bypass: bool = client
                    .query_one(
                        "SELECT rolsuper OR rolbypassrls FROM pg_catalog.pg_roles WHERE rolname = current_user",
                        &[],
                    )
                    .map_err(db(&shown, "reading the session role's attributes"))?
                    .get(0);
                if bypass {
                    Method::Copy
                } else {
                    Method::Insert
                }
            }
        };
        Ok(Session {
            client,
            shown,
            method,
        })
    }

    /// How this session writes.
    pub fn method(&self) -> Method {
        self.method
    }

    /// Copies every journal record after the mirror's last one into
    /// `tradetrail.events`, in seq order, one transaction per batch (row n is only
    /// ever committed after row n-1), then returns. The journal is read without its
    /// lock (beside a running `serve`), records that left `journal/` from the
    /// archive, through `read` (a data directory the read door opened). Before
    /// continuing, the mirror's last row must be the journal's record at that seq,
    /// byte for byte ([`Error::Diverged`] otherwise), and every record copied must name
    /// the one before it in `prev` ([`Error::Record`] otherwise).
    pub fn sync(&mut self, read: &ReadStore, opts: &SyncOptions) -> Result<SyncReport> {
        let method = self.method;
        let shown = self.shown.clone();
        let client = &mut self.client;
        let last: Option<(i64, String, String)> = client
            .query_opt(
                "SELECT seq, line, hash FROM tradetrail.events ORDER BY seq DESC LIMIT 1",
                &[],
            )
            .map_err(db(&shown, "reading the mirror's last row"))?
            .map(|row| (row.get(0), row.get(1), row.get(2)));
        let jdir = read.data_dir().journal();
        // Nothing new (the common case between a follower's passes): the journal's head
        // is the mirror's last row, byte for byte (equal SHA-256). Known from the
        // journal's tail alone, without reading the segment up to it.
        if let Some((seq, mline, mhash)) = &last {
            let head = tradetrail_journal::inspect(&FsStorage, &jdir).ok();
            if head.is_some_and(|h| {
                i64::try_from(h.records) == Ok(seq + 1)
                    && RecordHash::of_line(mline.as_bytes()) == h.head_hash
                    && h.head_hash.to_hex() == *mhash
            }) {
                let last_seq = u64::try_from(*seq).ok();
                let purged_rows_deleted = if opts.follow_purges {
                    let held = crate::held::Held::open(read)?;
                    follow_purges(client, &held.runs, last_seq, &shown)?
                } else {
                    0
                };
                return Ok(SyncReport {
                    url: shown,
                    copied: 0,
                    first_seq: None,
                    last_seq,
                    method,
                    purged_rows_deleted,
                });
            }
        }
        let held = crate::held::Held::open(read)?;
        // Read from the mirror's last record, to check it and carry the chain on from it.
        let start = match &last {
            Some((seq, _, _)) => u64::try_from(*seq).map_err(|_| Error::Diverged {
                url: shown.clone(),
                seq: 0,
                reason: format!("the mirror holds a row with seq {seq}"),
            })?,
            None => 0,
        };
        let mut batch = Batch::default();
        let batch_size = opts.batch.max(1);
        // The record before, to check each record's `prev` against (not across a run a
        // retention purge removed: its lines are gone).
        let mut prev: Option<(u64, RecordHash)> = None;
        // The mirror's last row is checked against the journal, unless a purge removed
        // its record (then there is nothing left to check it against).
        let check_last = last.as_ref().filter(|_| held.run_holding(start).is_none());
        let mut copied = 0u64;
        let mut first_seq = None;
        let mut last_seq = last.as_ref().map(|_| start);
        let mut failed: Option<Error> = None;
        let record_err = |seq: u64, reason: String| Error::Record {
            path: jdir.clone(),
            seq,
            reason,
        };
        let from = match (&last, check_last) {
            (Some(_), None) => start + 1,
            _ => start,
        };
        let end = held.for_each(from, |seq, line| {
            let hash = RecordHash::of_line(line);
            if let Some((_, mline, mhash)) = check_last.filter(|_| seq == start) {
                if mline.as_bytes() != line || *mhash != hash.to_hex() {
                    failed = Some(Error::Diverged {
                        url: shown.clone(),
                        seq,
                        reason: "the mirror's last row is not the journal's record".into(),
                    });
                    return Ok(false);
                }
                prev = Some((seq, hash));
                return Ok(true);
            }
            let step = (|| {
                let v = RecordView::parse(line).map_err(|r| record_err(seq, r))?;
                if let Some((_, p)) = prev.as_ref().filter(|(s, _)| s + 1 == seq) {
                    if v.prev != p.to_hex() {
                        return Err(record_err(
                            seq,
                            format!(
                                "prev is {} but the record before it hashes to {}",
                                v.prev,
                                p.to_hex()
                            ),
                        ));
                    }
                }
                batch.push(&v, &hash).map_err(|r| record_err(seq, r))?;
                if batch.len() >= batch_size {
                    batch.flush(client, method, &shown)?;
                }
                Ok(())
            })();
            match step {
                Ok(()) => {
                    prev = Some((seq, hash));
                    first_seq.get_or_insert(seq);
                    last_seq = Some(seq);
                    copied += 1;
                    Ok(true)
                }
                Err(e) => {
                    failed = Some(e);
                    Ok(false)
                }
            }
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        if let Some((seq, _, _)) = &last {
            if end <= start && check_last.is_some() {
                return Err(Error::Diverged {
                    url: shown,
                    seq: start,
                    reason: format!(
                        "the mirror holds seq {seq} but the journal ends before it (at seq {})",
                        end.saturating_sub(1)
                    ),
                });
            }
        }
        batch.flush(client, method, &shown)?;
        let purged_rows_deleted = if opts.follow_purges {
            follow_purges(client, &held.runs, last_seq, &shown)?
        } else {
            0
        };
        Ok(SyncReport {
            url: shown,
            copied,
            first_seq,
            last_seq,
            method,
            purged_rows_deleted,
        })
    }
}

/// Deletes the mirror's rows of each purged run whose purge record is mirrored (at or
/// before `last_seq`), through `tradetrail.follow_purge`, which checks that the record
/// names the run and skips a run it followed before. The rows deleted.
fn follow_purges(
    client: &mut Client,
    runs: &[tradetrail_journal::ColdRange],
    last_seq: Option<u64>,
    shown: &str,
) -> Result<u64> {
    let mut deleted = 0;
    for run in runs {
        let Some(by) = run
            .purged_by
            .filter(|by| last_seq.is_some_and(|l| *by <= l))
        else {
            continue;
        };
        let [by, first, last] =
            [by, run.first, run.last].map(|v| i64::try_from(v).unwrap_or(i64::MAX));
        let n: i64 = client
            .query_one(
                "SELECT tradetrail.follow_purge($1, $2, $3)",
                &[&by, &first, &last],
            )
            .map_err(db(
                shown,
                format!("following the purge of seqs {first}..={last} (record {by})"),
            ))?
            .get(0);
        deleted += u64::try_from(n).unwrap_or(0);
    }
    Ok(deleted)
}
