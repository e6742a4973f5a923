//! `tradetrail archive`: sealed segments into Parquet, one file per segment and UTC
//! day, listed in the day's manifest.
//!
//! Crash safety: a file is written as `_tmp-<name>.partial`, fsync'd, renamed into
//! place and the directory fsync'd; only then is the manifest rewritten the same way.
//! The manifest is what counts: a temporary file is removed by the next run, and a
//! Parquet file that no manifest lists (a crash between the two renames) is ignored
//! by `verify` and SQL and made again, identically, by the next run. Archiving reads
//! only sealed segments, which never change, so it can run beside a writer.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::{KeyValue, SortingColumn};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use sha2::{Digest, Sha256};
use tradetrail_core::{Config, DataDir};
use tradetrail_journal::{list_segments, FsStorage, RecordHash};
use tradetrail_merkle::Hash;

use crate::frontier::Frontier;
use crate::index::{ArchiveIndex, Partition};
use crate::layout::{self, day_name, partition_dir};
use crate::manifest::{FileEntry, Manifest};
use crate::row::{file_order, ColumnBuffers, Row};
use crate::schema::{col, schema, DICTIONARY_COLUMNS};
use crate::{Error, Result};

/// How files are written.
#[derive(Debug, Clone)]
pub struct ArchiveOptions {
    /// zstd level (1 fastest .. 22 smallest).
    pub zstd_level: i32,
    /// Rows per row group.
    pub row_group_rows: usize,
    /// Target size of a `line` column page, uncompressed: a random read (a trail)
    /// decompresses one page per record it reads (see [`LINE_PAGE_BYTES`]).
    pub line_page_bytes: usize,
}

/// The `line` column's page size (uncompressed). A record read at random costs the
/// zstd decompression of the page holding it, so 64 KiB pages cost a sixteenth of the
/// parquet crate's default 1 MiB (what files written before this setting have; they
/// are read the same way), for files about 5% larger (a 1,000,000-record demo
/// archive: 184.8 MB against 175.6 MB, docs/benchmarks.md).
pub const LINE_PAGE_BYTES: usize = 64 * 1024;

/// What the workers write with: the options, and the zone whose days the partitions
/// are.
#[derive(Debug, Clone)]
struct Partitioning {
    opts: ArchiveOptions,
    zone: tradetrail_model::Zone,
}

impl Default for ArchiveOptions {
    fn default() -> Self {
        ArchiveOptions {
            // Measured on demo and synthetic journals: level 1 archives ~15-20% faster
            // than 3 and its files come out smaller, not larger (docs/archive.md).
            zstd_level: 1,
            row_group_rows: 64 * 1024,
            line_page_bytes: LINE_PAGE_BYTES,
        }
    }
}

/// What one `archive` run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ArchiveReport {
    /// Sealed segments archived by this run.
    pub segments: usize,
    /// Sealed segments that were already archived.
    pub already_archived: usize,
    /// Parquet files written.
    pub files: usize,
    /// Records archived by this run.
    pub records: u64,
    /// JSON Lines bytes those records take in the journal.
    pub jsonl_bytes: u64,
    /// Parquet bytes written.
    pub parquet_bytes: u64,
    /// Temporary files of an interrupted run that were removed.
    pub removed_temps: usize,
    /// The seq after the last archived record.
    pub end_seq: u64,
    /// The zone whose days the partitions are (fixed when the archive was started).
    pub partition_zone: String,
    /// Set when `[time] zone` names another zone than the archive's partitions: the
    /// partitions keep theirs.
    pub zone_note: Option<String>,
}

/// `DIR/archive`.
pub fn archive_dir(data: &DataDir) -> PathBuf {
    data.root().join("archive")
}

/// Archives every sealed segment not archived yet. `progress(done, total)` is
/// called with JSONL bytes.
pub fn archive(
    data: &DataDir,
    opts: &ArchiveOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ArchiveReport> {
    let config = Config::load(&data.config())?;
    let root = archive_dir(data);
    std::fs::create_dir_all(&root).map_err(|e| Error::io("create", &root, e))?;
    let _lock = ArchiveLock::take(&root)?;
    let mut idx = ArchiveIndex::load(&root)?;
    let mut report = ArchiveReport::default();
    let configured = config.time.settings().map_err(Error::BadInput)?.zone;
    let zone = layout::partition_zone(&root, &configured, !idx.partitions.is_empty(), true)?;
    report.partition_zone = zone.name().to_owned();
    if zone != configured {
        report.zone_note = Some(format!(
            "the partitions are days in {zone}, fixed when the archive was started; [time] zone is {configured}, which reports use"
        ));
    }
    let part = Partitioning {
        opts: opts.clone(),
        zone,
    };
    for t in &idx.temps {
        std::fs::remove_file(t).map_err(|e| Error::io("remove", t, e))?;
        report.removed_temps += 1;
    }
    let segs = list_segments(&FsStorage, &data.journal())?;
    let sealed = segs.len().saturating_sub(1);
    let next = idx.end();
    let total: u64 = segs[..sealed]
        .iter()
        .enumerate()
        .filter(|(i, _)| segs[i + 1].first_seq > next)
        .map(|(_, s)| std::fs::metadata(&s.path).map_or(0, |m| m.len()))
        .sum();
    let mut state = match idx.last() {
        Some(f) => Chain {
            next: f.last_seq + 1,
            prev: f.last_hash,
            ts: f.last_ts_recorded,
            frontier: f.frontier.clone(),
        },
        None => Chain {
            next: 0,
            prev: Hash([0; 32]),
            ts: i64::MIN,
            frontier: Frontier::new(),
        },
    };
    // Segments are read, checked, hashed and written in parallel (one per core);
    // their results are stitched in order: the link between segments, the Merkle
    // frontier, and the manifests.
    let work: Vec<usize> = (0..sealed)
        .filter(|&i| segs[i + 1].first_seq > state.next)
        .collect();
    report.already_archived = sealed - work.len();
    if let Some(&i) = work.first() {
        if segs[i].first_seq > state.next {
            return Err(Error::Chain {
                seq: state.next,
                reason: format!(
                    "is in no segment of the journal (the next one, {}, starts at seq {}) and not in the archive",
                    segs[i].path.display(),
                    segs[i].first_seq
                ),
            });
        }
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4)
        .min(work.len().max(1));
    let mut done = 0u64;
    // Manifests changed but not saved yet: saved when the run moves to another
    // partition, every SAVE_EVERY files, and at the end. Until then the new files are
    // strays that a crash leaves uncounted and the next run makes again.
    let mut dirty: Option<usize> = None;
    let mut unsaved = 0usize;
    let skip_to = state.next;
    // Workers take the next segment as soon as they are free; this thread stitches
    // the results in segment order as they arrive, while the workers go on. After a
    // failure no new segment is started, and the files of segments after the failed
    // one are removed (they could not be counted).
    let next_work = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<(usize, Result<SegmentOut>)>();
    let failed: Option<(Error, bool)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let tx = tx.clone();
                let (segs, work, root, origin, part) = (&segs, &work, &root, &config.origin, &part);
                let (next_work, stop) = (&next_work, &stop);
                s.spawn(move || {
                    let mut buffers = Buffers::default();
                    while !stop.load(Ordering::Relaxed) {
                        let k = next_work.fetch_add(1, Ordering::Relaxed);
                        let Some(&i) = work.get(k) else { break };
                        let (seg, end) = (&segs[i], segs[i + 1].first_seq);
                        let out = prepare_segment(
                            &seg.path,
                            seg.first_seq,
                            end,
                            skip_to,
                            root,
                            origin,
                            part,
                            &mut buffers,
                        );
                        if out.is_err() {
                            stop.store(true, Ordering::Relaxed);
                        }
                        if tx.send((k, out)).is_err() {
                            break;
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        let mut pending: BTreeMap<usize, Result<SegmentOut>> = BTreeMap::new();
        let mut expected = 0usize;
        let mut failed: Option<Error> = None;
        let mut unsaveable = false;
        for (k, out) in rx.iter() {
            pending.insert(k, out);
            while let Some(out) = pending.remove(&expected) {
                expected += 1;
                let mut out = match (out, failed.is_some()) {
                    (Ok(o), false) => o,
                    (Ok(o), true) => {
                        o.discard();
                        continue;
                    }
                    (Err(e), _) => {
                        failed.get_or_insert(e);
                        continue;
                    }
                };
                if let Err(e) = out.commit().and_then(|()| link(&mut state, &out)) {
                    out.discard();
                    stop.store(true, Ordering::Relaxed);
                    failed = Some(e);
                    continue;
                }
                done += out.jsonl_len;
                report.segments += 1;
                for mut c in out.chunks {
                    c.entry.first_prev = state.prev;
                    for leaf in &c.leaves {
                        state.frontier.push_leaf(*leaf);
                    }
                    c.entry.root = state.frontier.root();
                    c.entry.frontier = state.frontier.clone();
                    state.prev = c.entry.last_hash;
                    state.ts = c.entry.last_ts_recorded;
                    state.next = c.entry.last_seq + 1;
                    report.files += 1;
                    report.records += c.entry.records;
                    report.jsonl_bytes += c.entry.jsonl_bytes;
                    report.parquet_bytes += c.entry.bytes;
                    let at = put_entry(&mut idx, &config.origin, &part.zone, c.entry);
                    if dirty.is_some_and(|d| d != at) || unsaved >= SAVE_EVERY {
                        if let Err(e) = save_dirty(&idx, &mut dirty) {
                            // As before the pipeline: nothing more is saved.
                            stop.store(true, Ordering::Relaxed);
                            failed = Some(e);
                            unsaveable = true;
                            break;
                        }
                        unsaved = 0;
                    }
                    dirty = Some(at);
                    unsaved += 1;
                }
                if failed.is_none() {
                    progress(done, total);
                }
            }
        }
        // Segments that were started after a failure and arrived out of order.
        for (_, out) in pending {
            if let Ok(o) = out {
                o.discard();
            }
        }
        let mut panicked = false;
        for h in handles {
            panicked |= h.join().is_err();
        }
        if failed.is_none() && (panicked || expected < work.len()) {
            failed = Some(Error::BadInput("an archive worker panicked".into()));
        }
        failed.map(|e| (e, unsaveable))
    });
    if let Some((e, unsaveable)) = failed {
        if !unsaveable {
            save_dirty(&idx, &mut dirty)?;
        }
        return Err(e);
    }
    save_dirty(&idx, &mut dirty)?;
    report.end_seq = state.next;
    Ok(report)
}

/// Checks that a prepared segment continues the chain where it stands.
fn link(state: &mut Chain, out: &SegmentOut) -> Result<()> {
    let Some(first) = out.chunks.first() else {
        return Ok(());
    };
    let seq = first.entry.first_seq;
    if seq != state.next {
        return Err(Error::Chain {
            seq: state.next,
            reason: format!("expected next, found seq {seq}"),
        });
    }
    if first.entry.first_prev != state.prev {
        return Err(Error::Chain {
            seq,
            reason: "prev does not match the record before it; run `tradetrail verify`".into(),
        });
    }
    if first.entry.first_ts_recorded < state.ts {
        return Err(Error::Chain {
            seq,
            reason: "ts_recorded is earlier than the record before it's".into(),
        });
    }
    Ok(())
}

/// Files written between manifest saves, at most.
const SAVE_EVERY: usize = 64;

fn save_dirty(idx: &ArchiveIndex, dirty: &mut Option<usize>) -> Result<()> {
    if let Some(i) = dirty.take() {
        let p = &idx.partitions[i];
        p.manifest.save(&p.dir)?;
    }
    Ok(())
}

/// Where the chain stands after the last archived record.
struct Chain {
    next: u64,
    prev: Hash,
    ts: i64,
    frontier: Frontier,
}

/// One segment's files, written, with what the stitching needs.
struct SegmentOut {
    chunks: Vec<ChunkOut>,
    jsonl_len: u64,
    commits: Vec<Commit>,
}

/// One file: its manifest entry (`first_prev`, `root` and `frontier` are filled in
/// when it is stitched) and the leaf hashes of its records in seq order.
struct ChunkOut {
    entry: FileEntry,
    leaves: Vec<Hash>,
}

impl SegmentOut {
    /// Removes the files of a segment that cannot be counted (they would be strays).
    fn discard(&self) {
        for c in &self.commits {
            c.remove();
        }
    }

    /// Makes every file durable under its name, in order.
    fn commit(&mut self) -> Result<()> {
        self.commits.iter_mut().try_for_each(Commit::run)
    }
}

/// What a worker keeps from one segment to the next, so that each segment does not
/// take (and fault in) fresh memory for its bytes and rows.
#[derive(Default)]
struct Buffers {
    data: Vec<u8>,
    rows: Vec<Row<'static>>,
    columns: ColumnBuffers,
}

/// An empty vector of rows borrowing for any lifetime, on the allocation of `v`.
fn recycle<'x, 'y>(mut v: Vec<Row<'x>>) -> Vec<Row<'y>> {
    v.clear();
    // Same layout, no element: collected in place, the capacity is kept.
    v.into_iter().map(|_| unreachable!("empty")).collect()
}

/// Reads one sealed segment, checks its records (`seq`, the `prev` chain inside it,
/// `ts_recorded` order), and writes one file per day (of the partitions' zone) for its
/// records from `skip_to` on.
#[allow(clippy::too_many_arguments)]
fn prepare_segment(
    path: &Path,
    first_seq: u64,
    end_seq: u64,
    skip_to: u64,
    root: &Path,
    origin: &str,
    part: &Partitioning,
    buffers: &mut Buffers,
) -> Result<SegmentOut> {
    let mut data = std::mem::take(&mut buffers.data);
    data.clear();
    let read = std::fs::File::open(path).and_then(|mut f| {
        let len = usize::try_from(f.metadata()?.len()).unwrap_or(0);
        data.reserve_exact(len);
        f.read_to_end(&mut data)
    });
    if let Err(e) = read {
        buffers.data = data;
        return Err(Error::io("read", path, e));
    }
    let mut rows = recycle(std::mem::take(&mut buffers.rows));
    let out = prepare_lines(
        path,
        &data,
        first_seq,
        end_seq,
        skip_to,
        root,
        origin,
        part,
        &mut rows,
        &mut buffers.columns,
    );
    buffers.rows = recycle(rows);
    buffers.data = data;
    out
}

#[allow(clippy::too_many_arguments)]
fn prepare_lines<'d>(
    path: &Path,
    data: &'d [u8],
    first_seq: u64,
    end_seq: u64,
    skip_to: u64,
    root: &Path,
    origin: &str,
    part: &Partitioning,
    rows: &mut Vec<Row<'d>>,
    columns: &mut ColumnBuffers,
) -> Result<SegmentOut> {
    let mut out = SegmentOut {
        chunks: Vec::new(),
        jsonl_len: data.len() as u64,
        commits: Vec::new(),
    };
    // Room for lines of 200 bytes and more; pages never touched cost nothing.
    let estimate = data.len() / 200 + 1;
    rows.reserve(estimate);
    let mut leaves: Vec<Hash> = Vec::with_capacity(estimate);
    let mut chunk: Option<(i64, Chunk)> = None;
    let mut prev: Option<(Hash, i64)> = None;
    let mut pos = 0usize;
    let mut seq = first_seq;
    let flush = |rows: &mut Vec<Row<'d>>,
                 leaves: &mut Vec<Hash>,
                 c: Chunk,
                 out: &mut SegmentOut,
                 columns: &mut ColumnBuffers|
     -> Result<()> {
        let r = write_file(root, origin, rows, c, part, columns);
        let (entry, commit) = r.inspect_err(|_| out.discard())?;
        out.commits.push(commit);
        out.chunks.push(ChunkOut {
            entry,
            leaves: std::mem::take(leaves),
        });
        rows.clear();
        Ok(())
    };
    while pos < data.len() {
        let Some(nl) = memchr::memchr(b'\n', &data[pos..]) else {
            out.discard();
            return Err(Error::Chain {
                seq,
                reason: format!(
                    "{}: the sealed segment ends in an incomplete line",
                    path.display()
                ),
            });
        };
        let line = &data[pos..pos + nl];
        pos += nl + 1;
        if seq < skip_to {
            seq += 1;
            continue;
        }
        let bad = |reason: String| Error::Chain { seq, reason };
        let row = Row::parse(line)
            .map_err(bad)
            .inspect_err(|_| out.discard())?;
        let fail = |reason: &str| {
            out.discard();
            Err(Error::Chain {
                seq,
                reason: reason.to_string(),
            })
        };
        if row.seq != seq {
            return fail(&format!(
                "{}: found seq {} in its place",
                path.display(),
                row.seq
            ));
        }
        let row_prev = RecordHash::from_hex(row.prev.as_bytes()).map(|h| Hash(h.0));
        let Some(row_prev) = row_prev else {
            return fail("prev is not 64 hex digits");
        };
        if let Some((p, ts)) = prev {
            if row_prev != p {
                return fail("prev does not match the record before it; run `tradetrail verify`");
            }
            if row.ts_recorded < ts {
                return fail("ts_recorded is earlier than the record before it's");
            }
        }
        let day = layout::day_in(&part.zone, row.ts_recorded);
        if chunk.as_ref().is_some_and(|(d, _)| *d != day) {
            let (_, c) = chunk.take().expect("checked");
            flush(rows, &mut leaves, c, &mut out, columns)?;
        }
        let hash = Hash(RecordHash::of_line(line).0);
        let c = &mut chunk
            .get_or_insert((
                day,
                Chunk {
                    first_prev: row_prev,
                    first_hash: hash,
                    last_hash: hash,
                    jsonl_bytes: 0,
                },
            ))
            .1;
        c.last_hash = hash;
        c.jsonl_bytes += line.len() as u64 + 1;
        leaves.push(tradetrail_merkle::leaf_hash(line));
        prev = Some((hash, row.ts_recorded));
        rows.push(row);
        seq += 1;
    }
    if seq != end_seq {
        out.discard();
        return Err(Error::Chain {
            seq,
            reason: format!(
                "{} holds records up to {} but the next segment starts at {end_seq}",
                path.display(),
                seq.wrapping_sub(1)
            ),
        });
    }
    if let Some((_, c)) = chunk {
        flush(rows, &mut leaves, c, &mut out, columns)?;
    }
    Ok(out)
}

/// The records of one file, as the archiver gathered them.
struct Chunk {
    first_prev: Hash,
    first_hash: Hash,
    last_hash: Hash,
    jsonl_bytes: u64,
}

/// The writer settings every archive file is written with.
pub fn writer_properties(opts: &ArchiveOptions, kv: Vec<KeyValue>) -> Result<WriterProperties> {
    let level = ZstdLevel::try_new(opts.zstd_level)
        .map_err(|e| Error::BadInput(format!("zstd level: {e}")))?;
    let ts_event_idx = schema().index_of(col::TS_EVENT)? as i32;
    let mut b = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_max_row_group_row_count(Some(opts.row_group_rows))
        .set_dictionary_enabled(false)
        .set_statistics_enabled(EnabledStatistics::None)
        .set_sorting_columns(Some(vec![SortingColumn {
            column_idx: ts_event_idx,
            descending: false,
            nulls_first: true,
        }]))
        // Small `line` pages, and the offset index (where every page starts, and its
        // first row) that lets a reader decode only the pages holding the rows it wants.
        .set_column_data_page_size_limit(ColumnPath::from(col::LINE), opts.line_page_bytes.max(1))
        .set_offset_index_disabled(false)
        .set_created_by(format!("tradetrail {}", env!("CARGO_PKG_VERSION")))
        .set_key_value_metadata(Some(kv));
    for c in DICTIONARY_COLUMNS {
        b = b
            .set_column_dictionary_enabled(ColumnPath::from(*c), true)
            .set_column_statistics_enabled(ColumnPath::from(*c), EnabledStatistics::Chunk);
    }
    for c in [col::SEQ, col::TS_RECORDED, col::TS_EVENT] {
        b = b.set_column_statistics_enabled(ColumnPath::from(c), EnabledStatistics::Page);
    }
    for c in [col::ENTITY_ID, col::EVENT_ID] {
        b = b.set_column_statistics_enabled(ColumnPath::from(c), EnabledStatistics::Chunk);
    }
    Ok(b.build())
}

/// A writer that hashes and counts what passes through it.
struct Hashing<W: Write> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes `rows` as a Parquet file (to `out`), sorted by `ts_event`; returns its size
/// and SHA-256.
pub fn write_parquet<W: Write + Send>(
    out: W,
    rows: &[Row<'_>],
    opts: &ArchiveOptions,
    kv: Vec<KeyValue>,
) -> Result<(W, u64, Hash)> {
    write_parquet_in(out, rows, opts, kv, &mut ColumnBuffers::default())
}

/// [`write_parquet`], building the row groups in `columns`' memory.
pub fn write_parquet_in<W: Write + Send>(
    out: W,
    rows: &[Row<'_>],
    opts: &ArchiveOptions,
    kv: Vec<KeyValue>,
    columns: &mut ColumnBuffers,
) -> Result<(W, u64, Hash)> {
    let pq = |source| Error::Parquet {
        path: PathBuf::from("<parquet writer>"),
        source,
    };
    let props = writer_properties(opts, kv)?;
    let sink = Hashing {
        inner: out,
        hasher: Sha256::new(),
        bytes: 0,
    };
    let mut w = ArrowWriter::try_new(sink, schema(), Some(props)).map_err(pq)?;
    let order = file_order(rows);
    for part in order.chunks(opts.row_group_rows.max(1)) {
        let batch = columns.build(rows, part)?;
        w.write(&batch).map_err(pq)?;
        w.flush().map_err(pq)?;
        columns.give_back(batch);
    }
    let sink = w.into_inner().map_err(pq)?;
    Ok((sink.inner, sink.bytes, Hash(sink.hasher.finalize().into())))
}

fn write_file(
    root: &Path,
    origin: &str,
    rows: &[Row<'_>],
    c: Chunk,
    part: &Partitioning,
    columns: &mut ColumnBuffers,
) -> Result<(FileEntry, Commit)> {
    let opts = &part.opts;
    let first = &rows[0];
    let last = &rows[rows.len() - 1];
    let day = layout::day_in(&part.zone, first.ts_recorded);
    let dir = partition_dir(root, day);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
    let name = layout::file_name(first.seq, last.seq);
    let path = dir.join(&name);
    let tmp = layout::temp_path(&path);
    let file = std::fs::File::create(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
    let kv = vec![
        KeyValue::new("tradetrail.origin".into(), origin.to_string()),
        KeyValue::new("tradetrail.first_seq".into(), first.seq.to_string()),
        KeyValue::new("tradetrail.last_seq".into(), last.seq.to_string()),
    ];
    let (buf, bytes, sha256) = write_parquet_in(
        std::io::BufWriter::with_capacity(1 << 20, file),
        rows,
        opts,
        kv,
        columns,
    )
    .map_err(|e| match e {
        Error::Parquet { source, .. } => Error::Parquet {
            path: tmp.clone(),
            source,
        },
        e => e,
    })?;
    let file = buf
        .into_inner()
        .map_err(|e| Error::io("write", &tmp, e.into_error()))?;
    let commit = Commit {
        file: Some(file),
        tmp,
        path,
    };
    // A hash map: a B-tree of &str compares bytes at every level, once per record.
    let mut counts: hashbrown::HashMap<&str, u64> = hashbrown::HashMap::new();
    for r in rows {
        match counts.get_mut(r.ty.as_ref()) {
            Some(n) => *n += 1,
            None => {
                counts.insert(r.ty.as_ref(), 1);
            }
        }
    }
    let types = counts
        .into_iter()
        .map(|(t, n)| (t.to_string(), n))
        .collect();
    let entry = FileEntry {
        file: name,
        first_seq: first.seq,
        last_seq: last.seq,
        records: rows.len() as u64,
        bytes,
        sha256,
        jsonl_bytes: c.jsonl_bytes,
        first_prev: c.first_prev,
        first_hash: c.first_hash,
        last_hash: c.last_hash,
        first_ts_recorded: first.ts_recorded,
        last_ts_recorded: last.ts_recorded,
        min_ts_event: rows.iter().filter_map(|r| r.ts_event).min(),
        max_ts_event: rows.iter().filter_map(|r| r.ts_event).max(),
        // Filled in when the file is stitched onto the chain (see `archive`).
        root: Hash([0; 32]),
        frontier: Frontier::new(),
        types,
        purged_by: None,
    };
    Ok((entry, commit))
}

/// A file written to its temporary name, not fsync'd or renamed yet: the stitching
/// thread does that, in order, while the workers go on computing.
struct Commit {
    /// Open until fsync'd.
    file: Option<std::fs::File>,
    tmp: PathBuf,
    path: PathBuf,
}

impl Commit {
    /// fsync, rename into place, fsync the directory (crash safety step 1).
    fn run(&mut self) -> Result<()> {
        if let Some(file) = self.file.take() {
            file.sync_all()
                .map_err(|e| Error::io("fsync", &self.tmp, e))?;
            drop(file);
            layout::commit(&self.tmp, &self.path)?;
        }
        Ok(())
    }

    /// Removes the file, under whichever name it has.
    fn remove(&self) {
        let _ = std::fs::remove_file(if self.file.is_some() {
            &self.tmp
        } else {
            &self.path
        });
    }
}

/// Adds a file to its partition's manifest in memory; returns the partition's index.
fn put_entry(
    idx: &mut ArchiveIndex,
    origin: &str,
    zone: &tradetrail_model::Zone,
    e: FileEntry,
) -> usize {
    let day = layout::day_in(zone, e.first_ts_recorded);
    let dir = partition_dir(&idx.root, day);
    match idx.partitions.iter().position(|p| p.dir == dir) {
        Some(i) => {
            idx.partitions[i].manifest.put(e);
            i
        }
        None => {
            let manifest = Manifest::new(origin, &day_name(day), e);
            idx.partitions.push(Partition { dir, manifest });
            idx.partitions.len() - 1
        }
    }
}

/// An exclusive lock on `archive/_lock`, held while the archive is changed.
pub struct ArchiveLock {
    _file: std::fs::File,
}

impl ArchiveLock {
    /// Takes the lock or fails at once.
    pub fn take(root: &Path) -> Result<ArchiveLock> {
        let path = root.join("_lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("open", &path, e))?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive).map_err(
            |_| {
                Error::BadInput(format!(
                    "{} is locked: another `tradetrail archive` or `retention apply` is running",
                    root.display()
                ))
            },
        )?;
        Ok(ArchiveLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recycled_rows_keep_their_allocation() {
        let line = br#"{"seq":0,"ts_recorded":1,"prev":"0000000000000000000000000000000000000000000000000000000000000000","type":"t"}"#.to_vec();
        let mut rows: Vec<Row<'_>> = Vec::with_capacity(1000);
        rows.push(Row::parse(&line).unwrap());
        let cap = rows.capacity();
        let rows: Vec<Row<'static>> = recycle(rows);
        assert_eq!((rows.len(), rows.capacity()), (0, cap));
    }
}
