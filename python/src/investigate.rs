//! Questions asked from Python: queries as Arrow batches (the archive's columns),
//! trails, incidents and statistics as the JSON the CLI's `--json` and the HTTP API
//! give. Every answer comes from the same investigator as `GET /v1/events`
//! ([`tradetrail_store::investigator`]); the caller releases the GIL around these.

use std::sync::{Arc, Mutex};

use arrow_array::RecordBatch;
use tradetrail_query::{Dim, Filter, Investigator, QueryOptions};

/// Why a question was not answered.
pub enum Asked {
    /// A bad parameter: `field: reason` (raised as `ValueError`).
    Bad(String),
    /// Anything else (raised as `TradetrailError`).
    Failed(String),
}

impl From<tradetrail_query::Error> for Asked {
    fn from(e: tradetrail_query::Error) -> Asked {
        match e {
            tradetrail_query::Error::BadInput { field, reason } => {
                Asked::Bad(format!("{}: {reason}", field.trim_start_matches("--")))
            }
            e => Asked::Failed(crate::message(&e)),
        }
    }
}

/// A filter from `(name, value)` pairs, named as the CLI's flags and the API's
/// parameters (`type`, `trader`, `from`, ...); a name given twice matches either value.
/// `from`/`to` without an offset are read in `tz` when a pair gives it, else in
/// `zone` (the data directory's `[time] zone`), as the CLI reads them.
pub fn filter(pairs: &[(String, String)], zone: &tradetrail_model::Zone) -> Result<Filter, Asked> {
    let zone = zone_of(pairs, zone)?;
    let mut f = Filter::default();
    for (name, value) in pairs.iter().filter(|(n, _)| n != "tz") {
        f.set_in(name, value, &zone)?;
    }
    f.check()?;
    Ok(f)
}

/// The zone of the `tz` pair if one is given, else `zone` (the data directory's).
pub fn zone_of(
    pairs: &[(String, String)],
    zone: &tradetrail_model::Zone,
) -> Result<tradetrail_model::Zone, Asked> {
    Ok(match pairs.iter().find(|(n, _)| n == "tz") {
        Some((_, v)) => tradetrail_query::parse_zone("tz", v)?,
        None => zone.clone(),
    })
}

/// The page asked for: `limit` at least 1.
pub fn options(
    limit: Option<usize>,
    reverse: bool,
    after: Option<u64>,
    before: Option<u64>,
) -> Result<QueryOptions, Asked> {
    if limit == Some(0) {
        return Err(Asked::Bad("limit: must be at least 1".into()));
    }
    Ok(QueryOptions {
        limit,
        reverse,
        after,
        before,
    })
}

/// The matching records as Arrow batches of the archive's schema (`seq`,
/// `ts_recorded`, ..., `line`), and the summary as JSON. The lines are streamed from
/// the investigator ([`Investigator::query_each`], as `tradetrail query` reads them) a
/// piece of [`PIECE_ROWS`] at a time, and each piece is parsed and built into one
/// batch by another thread while the next is read; once the reading is over this
/// thread builds beside it. The batches cross into Python without a copy.
pub fn query_arrow(
    inv: &Investigator,
    f: &Filter,
    opts: &QueryOptions,
) -> Result<(Vec<RecordBatch>, String), Asked> {
    let (tx, rx) = std::sync::mpsc::channel::<(usize, Lines)>();
    let rx = Mutex::new(rx);
    let built = Mutex::new(Vec::new());
    let build = || loop {
        let next = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok((i, lines)) = next else { return };
        let batch = lines.batch();
        built
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((i, batch));
    };
    let read = std::thread::scope(|s| {
        let helper = if cores() > 1 {
            std::thread::Builder::new().spawn_scoped(s, build).ok()
        } else {
            None
        };
        let mut piece = Lines::default();
        let mut n = 0;
        let read = inv.query_each(f, opts, &mut |seq, line| {
            piece.push(seq, line);
            if piece.len() == PIECE_ROWS {
                // This thread receives too, so the send cannot fail.
                let _ = tx.send((n, std::mem::take(&mut piece)));
                n += 1;
            }
            Ok(true)
        });
        if n == 0 || piece.len() > 0 {
            // The last piece; when nothing matched, an empty batch gives the schema.
            let _ = tx.send((n, piece));
        }
        drop(tx);
        build();
        if let Some(h) = helper {
            h.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        }
        read
    });
    let summary = match read {
        Ok(summary) => summary,
        // The journal changed under the index: `query` reopens it and answers (one
        // batch, on this thread; a rare case).
        Err(tradetrail_query::Error::Stale { .. }) => {
            let (records, summary) = inv.query(f, opts)?;
            let mut lines = Lines::default();
            for r in &records {
                lines.push(r.seq, &r.line);
            }
            return Ok((vec![lines.batch()?], json(&summary)?));
        }
        Err(e) => return Err(e.into()),
    };
    let mut built = std::mem::take(&mut *built.lock().unwrap_or_else(|p| p.into_inner()));
    built.sort_unstable_by_key(|(i, _)| *i);
    let batches = built
        .into_iter()
        .map(|(_, b)| b)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((batches, json(&summary)?))
}

/// Rows per batch that [`query_arrow`] builds: pieces that keep both threads busy
/// while the lines are read.
const PIECE_ROWS: usize = 16 * 1024;

/// The cores this process may use, asked once.
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Lines of records, one after another in one buffer.
#[derive(Default)]
struct Lines {
    bytes: Vec<u8>,
    /// Where each line ends in `bytes`.
    ends: Vec<usize>,
    seqs: Vec<u64>,
}

impl Lines {
    fn push(&mut self, seq: u64, line: &[u8]) {
        self.bytes.extend_from_slice(line);
        self.ends.push(self.bytes.len());
        self.seqs.push(seq);
    }

    fn len(&self) -> usize {
        self.seqs.len()
    }

    /// One batch of the archive's schema, the lines in their order.
    fn batch(&self) -> Result<RecordBatch, Asked> {
        let mut rows = Vec::with_capacity(self.len());
        let mut start = 0;
        for (&end, &seq) in self.ends.iter().zip(&self.seqs) {
            let line = self.bytes.get(start..end).unwrap_or_default();
            start = end;
            let row = tradetrail_archive::Row::parse(line)
                .map_err(|reason| Asked::Failed(format!("record {seq}: {reason}")))?;
            rows.push(row);
        }
        let order: Vec<usize> = (0..rows.len()).collect();
        tradetrail_archive::build_batch(&rows, &order)
            .map_err(|e| Asked::Failed(crate::message(&e)))
    }
}

/// The matching records' lines, byte for byte, and the summary as JSON.
pub fn query_lines(
    inv: &Investigator,
    f: &Filter,
    opts: &QueryOptions,
) -> Result<(Vec<Vec<u8>>, String), Asked> {
    let (records, summary) = inv.query(f, opts)?;
    Ok((
        records.into_iter().map(|r| r.line).collect(),
        json(&summary)?,
    ))
}

/// The trail of `id` as JSON: `{"id", "records", "gaps", "notes"}`.
pub fn trail(inv: &Investigator, id: &str) -> Result<String, Asked> {
    json(&inv.trail(id)?)
}

/// Counts by `by` among the matching records, as JSON.
pub fn stats(inv: &Investigator, by: &str, f: &Filter) -> Result<String, Asked> {
    let dim = Dim::parse(by)?;
    json(&inv.stats(dim, f)?)
}

/// Everything within `window` either side of `at`, grouped, as JSON; `at` without an
/// offset is read in `zone` (as `incident --at` is in `--tz`).
pub fn incident(
    inv: &Investigator,
    at: &str,
    window: &str,
    zone: &tradetrail_model::Zone,
    f: &Filter,
    opts: &QueryOptions,
) -> Result<String, Asked> {
    let at = tradetrail_query::parse_time_in("at", at, zone)?;
    let window = tradetrail_query::parse_window("window", window)?;
    json(&inv.incident(at, window, f, opts)?)
}

/// The positions derived from the trail as of `at` (everything recorded when `None`),
/// one JSON object each as `positions --format jsonl` prints them; flat ones only with
/// `all`.
pub fn positions(
    rec: &tradetrail_core::Recorder,
    at: Option<&str>,
    account: Option<&str>,
    all: bool,
) -> Result<String, Asked> {
    let at = at
        .map(|t| tradetrail_model::parse_time(t).map_err(|e| Asked::Bad(format!("at: {e}"))))
        .transpose()?;
    let opts = tradetrail_books::BooksOptions {
        at,
        ..tradetrail_books::BooksOptions::default()
    };
    let cold = rec.cold_tier();
    let books = tradetrail_books::Books::from_data_dir(rec.data_dir(), cold.as_deref(), &opts)
        .map_err(|e| Asked::Failed(crate::message(&e)))?;
    let rows: Vec<serde_json::Value> = books
        .positions()
        .iter()
        .filter(|p| account.is_none_or(|a| a == p.account_id))
        .filter(|p| all || !p.quantity.is_zero())
        .map(|p| p.row_json())
        .collect();
    json(&rows)
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, Asked> {
    serde_json::to_string(v).map_err(|e| Asked::Failed(format!("serializing the answer: {e}")))
}

/// The investigator of `rec`, opened once and kept.
pub fn open(
    slot: &std::sync::Mutex<Option<Arc<Investigator>>>,
    rec: &tradetrail_core::Recorder,
) -> Result<Arc<Investigator>, Asked> {
    let mut g = slot.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(inv) = g.as_ref() {
        return Ok(inv.clone());
    }
    let inv = Arc::new(tradetrail_store::investigator(rec)?);
    *g = Some(inv.clone());
    Ok(inv)
}
