//! The index: derived data under `DIR/index/query`, caught up from the journal.
//!
//! ```text
//! DIR/index/query/
//!   meta.json          what is valid: rows, the hash of the last indexed line, the
//!                      dictionaries' lengths, the posting runs (replaced atomically)
//!   ts_event.col       i64 per record (i64::MIN when the line has none)
//!   ts_recorded.col    i64 per record
//!   combo.col          u32 per record: the record's eight attribute codes, interned
//!   entity.col         u64 per record: key of entity.id (0 when none)
//!   offset.col, len.col  where the line is in its segment file (u64, u32); for a
//!                      record indexed from the archive, its row there (see
//!                      `source::COLD_PLACE`)
//!   zones.col          per 1024 records: min/max ts_event, first/last ts_recorded
//!   strings.bin, combos.bin   the dictionaries (append-only logs)
//!   counts.bin         records per combo over the first N rows (see counts.rs)
//!   run-*.post, run-*.fence   posting runs (id key -> seq), see postings.rs
//!   LOCK               flock'd by whoever writes the index
//! ```
//!
//! Every file but `meta.json` is append-only (or, for runs, written once); a flush
//! appends and syncs them, then replaces `meta.json` (write, fsync, rename, fsync the
//! directory). A reader trusts only what `meta.json` counts, so bytes left by an
//! interrupted flush are ignored, and cut by the next flush.
//!
//! The index is never trusted over the journal: on open, the line of the last
//! indexed record is read from the journal and its SHA-256 compared with the one in
//! `meta.json` (the chain makes that line a witness of every line before it), and
//! the files are checked against the checksums the flush that wrote them recorded in
//! `meta.json` (see `sums.rs`: the small files and the fences whole, the last 128 KiB
//! chunk of each column and run file — where catch-up appends); any mismatch, missing
//! or short file, or unreadable meta rebuilds the index from scratch. Every byte, and
//! every row against the journal, is checked by [`crate::check_index`] (`verify`). Results are always lines read from the journal, and each one's header is
//! checked to carry the `seq` the index expected.
//!
//! Nothing here runs on the append path: new records are read from the journal when
//! the index is next asked something.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tradetrail_journal::{parse_header, record_type, RecordHash};

use crate::column::Column;
use crate::counts::ComboCounts;
use crate::dict::{Combo, Dicts, Dim, DIMS};
use crate::envelope;
use crate::hash::{correction_key, id_key};
use crate::postings::{parse_run_file_name, should_merge, MemPostings, Run};
use crate::source::{cold_offset, read_lines, Loc, SegKind, Segments, Source};
use crate::sums::{Depth, FileSum};
use crate::{Error, Result};

/// Version of the files under `DIR/index/query`; another version is rebuilt.
/// (2: `meta.json` holds the files' checksums.)
pub const INDEX_VERSION: u32 = 2;
/// Records per zone.
pub(crate) const ZONE: u64 = 1024;
const ZONE_BYTES: usize = 32;
/// Records indexed between saves while catching up (bounds memory on a rebuild).
pub(crate) const BUILD_CHUNK: u64 = 1 << 20;
/// Journal bytes read at a time while catching up.
const READ_CHUNK: usize = 8 << 20;
/// The type a purged record is counted under (`stats`): its line is gone.
pub(crate) const PURGED_TYPE: &str = "(purged by retention)";
/// `ts_event` of a line that has none (never inside a time filter).
pub(crate) const NO_TIME: i64 = i64::MIN;

pub(crate) const META: &str = "meta.json";
/// The append-only files, whose checksums `Meta::sums` holds by name.
const COLUMNS: [&str; 6] = [
    "ts_event.col",
    "ts_recorded.col",
    "combo.col",
    "entity.col",
    "offset.col",
    "len.col",
];
const STRINGS: &str = "strings.bin";
const COMBOS: &str = "combos.bin";
const ZONES: &str = "zones.col";
const LOCK: &str = "LOCK";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Meta {
    version: u32,
    /// Random; a rebuild changes it, so a reader can tell its files were replaced.
    generation: u64,
    rows: u64,
    /// Hex SHA-256 of record `rows - 1`'s line (empty when `rows` is 0).
    last_hash: String,
    strings_bytes: u64,
    combos: u64,
    /// Posting runs, oldest first.
    runs: Vec<RunMeta>,
    next_run: u64,
    /// Checksums of the columns, zones and dictionaries (by file name), covering
    /// exactly the bytes counted above.
    #[serde(default)]
    sums: BTreeMap<String, FileSum>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct RunMeta {
    id: u64,
    entries: u64,
    /// Checksums of `run-<id>.post` and `run-<id>.fence`.
    #[serde(default)]
    post: FileSum,
    #[serde(default)]
    fence: FileSum,
}

impl Meta {
    fn empty() -> Meta {
        Meta {
            version: INDEX_VERSION,
            generation: new_generation(),
            rows: 0,
            last_hash: String::new(),
            strings_bytes: 0,
            combos: 0,
            runs: Vec::new(),
            next_run: 1,
            sums: BTreeMap::new(),
        }
    }

    /// Records indexed (and saved).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    /// The checksums of `name`, which must cover `len` bytes: `Err(why)` if they do not.
    fn sum(&self, name: &str, len: u64) -> std::result::Result<&FileSum, String> {
        static EMPTY: FileSum = FileSum {
            len: 0,
            xxh3: Vec::new(),
        };
        match self.sums.get(name) {
            Some(s) if s.len == len => Ok(s),
            None if len == 0 => Ok(&EMPTY),
            Some(s) => Err(format!(
                "meta.json's checksums of {name} cover {} bytes, not the {len} it counts",
                s.len
            )),
            None => Err(format!("meta.json has no checksums for {name}")),
        }
    }
}

fn new_generation() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    crate::hash::key(
        b'g',
        &[t.to_le_bytes(), u64::from(std::process::id()).to_le_bytes()].concat(),
    )
}

/// Time bounds of 1024 consecutive records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Zone {
    /// Smallest `ts_event` (i64::MAX when no record in the zone has one).
    pub min_ev: i64,
    /// Largest `ts_event` (i64::MIN when none).
    pub max_ev: i64,
    /// `ts_recorded` of the first and last records (it never decreases).
    pub first_rec: i64,
    pub last_rec: i64,
}

impl Zone {
    fn new(ts_recorded: i64) -> Zone {
        Zone {
            min_ev: i64::MAX,
            max_ev: i64::MIN,
            first_rec: ts_recorded,
            last_rec: ts_recorded,
        }
    }

    fn add(&mut self, ts_event: i64, ts_recorded: i64) {
        if ts_event != NO_TIME {
            self.min_ev = self.min_ev.min(ts_event);
            self.max_ev = self.max_ev.max(ts_event);
        }
        self.last_rec = ts_recorded;
    }

    fn put(&self, out: &mut Vec<u8>) {
        for v in [self.min_ev, self.max_ev, self.first_rec, self.last_rec] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }

    fn get(b: &[u8]) -> Zone {
        let v = |i: usize| i64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        Zone {
            min_ev: v(0),
            max_ev: v(1),
            first_rec: v(2),
            last_rec: v(3),
        }
    }
}

/// How an open found the stored index.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct OpenReport {
    /// The stored index was missing, damaged or did not match the journal, and was
    /// started again from record 0.
    pub rebuilt: bool,
    /// Why, when rebuilt.
    pub reason: Option<String>,
    /// Records found already indexed on disk.
    pub loaded_rows: u64,
    /// The index is kept in memory only (the directory is not writable, or
    /// persistence was turned off).
    pub in_memory: bool,
}

pub(crate) enum Load {
    Ready(Box<Index>),
    /// Nothing usable: rebuild, for this reason.
    Rebuild(String),
    /// A file does not match its checksum in `meta.json` (or the meta lacks them):
    /// rebuild, and say so.
    Damaged(String),
    /// Files changed while being opened (a concurrent flush): try again.
    Retry,
}

/// The index proper (single-threaded; [`crate::Investigator`] shares it).
#[derive(Debug)]
pub(crate) struct Index {
    dir: PathBuf,
    writable: bool,
    meta: Meta,
    pub dicts: Dicts,
    pub ts_event: Column<i64>,
    pub ts_recorded: Column<i64>,
    pub combo: Column<u32>,
    pub entity: Column<u64>,
    pub offset: Column<u64>,
    pub len: Column<u32>,
    pub zones: Vec<Zone>,
    zones_file: Option<File>,
    strings_file: Option<File>,
    combos_file: Option<File>,
    pub runs: Vec<Run>,
    pub mem: MemPostings,
    /// Records per combo over rows `[0, counts.rows)`: the whole index when it was
    /// built here or `counts.bin` was current, else a prefix (or none).
    pub counts: ComboCounts,
    /// `counts.bin` holds `counts` for every saved row (or saving it failed: not
    /// tried again by this process).
    counts_saved: bool,
    pub segs: Segments,
    /// Where record `rows()` starts: (segment index, byte offset), once known.
    next: Option<(usize, u64)>,
    /// The last flush failed; the index went on in memory.
    pub warning: Option<String>,
}

/// A held `flock` on `LOCK`; released on drop.
pub(crate) struct IndexLock(#[allow(dead_code)] File);

fn lock(dir: &Path) -> Result<IndexLock> {
    let p = dir.join(LOCK);
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&p)
        .map_err(|e| Error::io(&p, e))?;
    rustix::fs::flock(&f, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| Error::io(&p, e.into()))?;
    Ok(IndexLock(f))
}

pub(crate) fn read_meta(dir: &Path) -> Option<Meta> {
    let bytes = std::fs::read(dir.join(META)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn write_meta(dir: &Path, meta: &Meta) -> Result<()> {
    let tmp = dir.join("meta.json.tmp");
    let bytes = serde_json::to_vec(meta).expect("meta serializes");
    crate::postings::write_synced(&tmp, &bytes)?;
    let path = dir.join(META);
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

fn open_file(dir: &Path, name: &str, writable: bool) -> Result<Option<File>> {
    let p = dir.join(name);
    let r = if writable {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&p)
    } else {
        File::open(&p)
    };
    match r {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(&p, e)),
    }
}

/// Reads `len` bytes at 0, or `None` if the file is shorter.
fn read_prefix(f: Option<&File>, len: u64) -> Option<Vec<u8>> {
    if len == 0 {
        return Some(Vec::new());
    }
    let f = f?;
    if f.metadata().ok()?.len() < len {
        return None;
    }
    let mut buf = vec![0u8; len as usize];
    f.read_exact_at(&mut buf, 0).ok()?;
    Some(buf)
}

/// Writes `bytes` at `at`, cutting anything after `at` first, and syncs; returns
/// `sum` (the checksums of `[0, at)`) extended by `bytes`.
fn write_at(
    f: Option<&File>,
    path: &Path,
    at: u64,
    bytes: &[u8],
    sum: &FileSum,
) -> Result<FileSum> {
    let f = f.ok_or_else(|| Error::io(path, std::io::Error::other("not open for writing")))?;
    let io = |e| Error::io(path, e);
    if bytes.is_empty() {
        // Nothing new; still cut what an interrupted save may have left.
        if f.metadata().map_err(io)?.len() > at {
            f.set_len(at).map_err(io)?;
        }
    } else {
        f.set_len(at).map_err(io)?;
        f.write_all_at(bytes, at).map_err(io)?;
        f.sync_data().map_err(io)?;
    }
    sum.extended(f, path, at, bytes)
}

/// Whether the index directory can be written (created if missing).
fn prepare_dir(dir: &Path) -> Result<bool> {
    match std::fs::create_dir_all(dir).and_then(|_| {
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(LOCK))
    }) {
        Ok(_) => Ok(true),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
            ) =>
        {
            Ok(false)
        }
        Err(e) => Err(Error::io(dir, e)),
    }
}

impl Index {
    /// Opens the index under `dir` for `src`, rebuilding it (empty, to be caught up)
    /// when it is missing, damaged or does not match the journal.
    pub fn open(dir: &Path, src: &Source, persist: bool) -> Result<(Index, OpenReport)> {
        let writable = persist && prepare_dir(dir)?;
        let mut reason = String::from("no index yet");
        let mut damaged = false;
        for attempt in 0..6 {
            match Index::try_load(dir, src, writable, Depth::Tail)? {
                Load::Ready(ix) => {
                    let report = OpenReport {
                        loaded_rows: ix.rows(),
                        in_memory: !writable,
                        ..OpenReport::default()
                    };
                    return Ok((*ix, report));
                }
                Load::Retry if attempt < 5 => {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    continue;
                }
                Load::Retry => reason = "index files kept changing while opening".into(),
                Load::Rebuild(r) => reason = r,
                Load::Damaged(r) => {
                    reason = r;
                    damaged = true;
                }
            }
            break;
        }
        // Damage is worth a word on stderr (the CLI prints `warning`); a missing or
        // outdated index is not.
        let warning = damaged.then(|| {
            format!("the query index was damaged ({reason}); it was rebuilt from the journal")
        });
        if !writable {
            let mut ix = Index::empty(dir, false, src)?;
            ix.warning = warning;
            return Ok((
                ix,
                OpenReport {
                    rebuilt: dir.join(META).exists(),
                    reason: Some(reason),
                    loaded_rows: 0,
                    in_memory: true,
                },
            ));
        }
        let _lock = lock(dir)?;
        // Someone else may have rebuilt it while we waited for the lock.
        if let Load::Ready(ix) = Index::try_load(dir, src, writable, Depth::Tail)? {
            let report = OpenReport {
                loaded_rows: ix.rows(),
                ..OpenReport::default()
            };
            return Ok((*ix, report));
        }
        let mut ix = Index::reset(dir, src)?;
        ix.warning = warning;
        Ok((
            ix,
            OpenReport {
                rebuilt: true,
                reason: Some(reason),
                loaded_rows: 0,
                in_memory: false,
            },
        ))
    }

    /// Loads under the lock, resetting when nothing usable is there.
    fn load_locked(dir: &Path, src: &Source) -> Result<Index> {
        match Index::try_load(dir, src, true, Depth::Tail)? {
            Load::Ready(ix) => Ok(*ix),
            _ => Index::reset(dir, src),
        }
    }

    /// Deletes the stored index and starts an empty one (caller holds the lock).
    fn reset(dir: &Path, src: &Source) -> Result<Index> {
        // meta.json first: from here on no reader trusts the other files.
        let _ = std::fs::remove_file(dir.join(META));
        let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
        for e in entries.flatten() {
            let name = e.file_name();
            if name != LOCK {
                let _ = std::fs::remove_file(e.path());
            }
        }
        let ix = Index::empty(dir, true, src)?;
        write_meta(dir, &ix.meta)?;
        Ok(ix)
    }

    fn empty(dir: &Path, writable: bool, src: &Source) -> Result<Index> {
        Index::empty_with(dir, writable, src, true)
    }

    /// An empty index that lives in memory only and opens no file (for
    /// [`crate::check_index`], which builds one to compare the stored one with).
    pub(crate) fn scratch(dir: &Path, src: &Source) -> Result<Index> {
        Index::empty_with(dir, false, src, false)
    }

    fn empty_with(dir: &Path, writable: bool, src: &Source, files: bool) -> Result<Index> {
        let meta = Meta::empty();
        let col = |name: &str| -> Result<PathBuf> { Ok(dir.join(name)) };
        let f = |name: &str| {
            if files {
                open_file(dir, name, writable)
            } else {
                Ok(None)
            }
        };
        Ok(Index {
            dir: dir.to_path_buf(),
            writable,
            dicts: Dicts::default(),
            ts_event: Column::open(col("ts_event.col")?, f("ts_event.col")?, 0)?.expect("empty"),
            ts_recorded: Column::open(col("ts_recorded.col")?, f("ts_recorded.col")?, 0)?
                .expect("empty"),
            combo: Column::open(col("combo.col")?, f("combo.col")?, 0)?.expect("empty"),
            entity: Column::open(col("entity.col")?, f("entity.col")?, 0)?.expect("empty"),
            offset: Column::open(col("offset.col")?, f("offset.col")?, 0)?.expect("empty"),
            len: Column::open(col("len.col")?, f("len.col")?, 0)?.expect("empty"),
            zones: Vec::new(),
            zones_file: f("zones.col")?,
            strings_file: f("strings.bin")?,
            combos_file: f("combos.bin")?,
            runs: Vec::new(),
            mem: MemPostings::default(),
            counts: ComboCounts::default(),
            counts_saved: true,
            segs: src.segments()?,
            next: None,
            warning: None,
            meta,
        })
    }

    /// Loads the stored index, checking its files to `depth` against the checksums in
    /// `meta.json` and its last record against the journal.
    pub(crate) fn try_load(dir: &Path, src: &Source, writable: bool, depth: Depth) -> Result<Load> {
        let Some(meta) = read_meta(dir) else {
            return Ok(Load::Rebuild(if dir.join(META).exists() {
                "meta.json is unreadable".into()
            } else {
                "no index yet".into()
            }));
        };
        if meta.version != INDEX_VERSION {
            return Ok(Load::Rebuild(format!(
                "index version {} (this build writes {INDEX_VERSION})",
                meta.version
            )));
        }
        let rows = meta.rows;
        let f = |name: &str| open_file(dir, name, writable);
        macro_rules! column {
            ($name:expr) => {
                match Column::open(dir.join($name), f($name)?, rows)? {
                    Some(c) => c,
                    None => return Ok(Load::Rebuild(format!("{} is short", $name))),
                }
            };
        }
        let ts_event: Column<i64> = column!("ts_event.col");
        let ts_recorded: Column<i64> = column!("ts_recorded.col");
        let combo: Column<u32> = column!("combo.col");
        let entity: Column<u64> = column!("entity.col");
        let offset: Column<u64> = column!("offset.col");
        let len: Column<u32> = column!("len.col");
        let strings_file = f("strings.bin")?;
        let combos_file = f("combos.bin")?;
        let zones_file = f("zones.col")?;
        let strings = read_prefix(strings_file.as_ref(), meta.strings_bytes);
        let combos = read_prefix(combos_file.as_ref(), meta.combos * (4 * DIMS) as u64);
        let full_zones = rows / ZONE;
        let Some(zb) = read_prefix(zones_file.as_ref(), full_zones * ZONE_BYTES as u64) else {
            return Ok(Load::Rebuild("zones.col is short".into()));
        };
        // Every file against its checksums before anything is decoded from it.
        let mut damage = None;
        {
            let small = [
                (STRINGS, strings.as_deref()),
                (COMBOS, combos.as_deref()),
                (ZONES, Some(&zb[..])),
            ];
            for (name, bytes) in small {
                let Some(bytes) = bytes else { continue };
                damage = match meta.sum(name, bytes.len() as u64) {
                    Ok(sum) => sum.check_bytes(name, bytes),
                    Err(why) => Some(why),
                };
                if damage.is_some() {
                    break;
                }
            }
            let cols = [
                &ts_event as &dyn Checked,
                &ts_recorded,
                &combo,
                &entity,
                &offset,
                &len,
            ];
            for (name, col) in COLUMNS.iter().zip(cols) {
                if damage.is_some() {
                    break;
                }
                damage = match meta.sum(name, rows * col.width()) {
                    Ok(sum) => col.check(name, sum, depth)?,
                    Err(why) => Some(why),
                };
            }
        }
        let dicts = match (&strings, &combos) {
            (Some(s), Some(c)) if damage.is_none() => Dicts::load(s, c),
            _ => None,
        };
        let dicts = match dicts {
            Some(d) => d,
            None if damage.is_some() => Dicts::default(),
            None => return Ok(Load::Rebuild("the dictionaries are damaged".into())),
        };
        let mut zones: Vec<Zone> = zb.chunks_exact(ZONE_BYTES).map(Zone::get).collect();
        if rows % ZONE != 0 {
            let start = full_zones * ZONE;
            let ev = ts_event.read(start, rows)?;
            let rec = ts_recorded.read(start, rows)?;
            let mut z = Zone::new(rec[0]);
            for (e, r) in ev.iter().zip(&rec) {
                z.add(*e, *r);
            }
            zones.push(z);
        }
        let mut runs = Vec::with_capacity(meta.runs.len());
        for r in &meta.runs {
            match Run::open(dir, r.id, r.entries)? {
                Some(mut run) => {
                    run.post_sum = r.post.clone();
                    run.fence_sum = r.fence.clone();
                    if damage.is_none() {
                        damage = run.check(depth)?;
                    }
                    runs.push(run);
                }
                // Perhaps merged away by a concurrent flush after we read meta.json.
                None => return Ok(Load::Retry),
            }
        }
        // The files we opened must belong to the meta we read (a concurrent rebuild
        // replaces them: not damage).
        match read_meta(dir) {
            Some(m) if m.generation == meta.generation => {}
            _ => return Ok(Load::Retry),
        }
        if let Some(why) = damage {
            return Ok(Load::Damaged(why));
        }
        let segs = src.segments()?;
        let counts =
            ComboCounts::load(dir, meta.generation, rows, dicts.combos().len()).unwrap_or_default();
        let mut ix = Index {
            dir: dir.to_path_buf(),
            writable,
            meta,
            dicts,
            ts_event,
            ts_recorded,
            combo,
            entity,
            offset,
            len,
            zones,
            zones_file,
            strings_file,
            combos_file,
            runs,
            mem: MemPostings::default(),
            counts_saved: counts.rows == rows,
            counts,
            segs,
            next: None,
            warning: None,
        };
        if rows > 0 {
            // The last indexed line, read from the journal, must hash as recorded.
            let last = rows - 1;
            let loc = match ix.loc(last) {
                Ok(l) => l,
                Err(_) => {
                    return Ok(Load::Rebuild(
                        "the journal is shorter than the index".into(),
                    ))
                }
            };
            let mut hash = None;
            let read = read_lines(src, &ix.segs, &[loc], &mut |_, line| {
                hash = Some(RecordHash::of_line(line).to_hex());
                Ok(true)
            });
            if read.is_err() || hash.as_deref() != Some(ix.meta.last_hash.as_str()) {
                return Ok(Load::Rebuild(format!(
                    "record {last} in the journal is not the one the index was built from"
                )));
            }
            ix.next = Some((loc.segment, loc.offset + u64::from(loc.len) + 1));
        }
        Ok(Load::Ready(Box::new(ix)))
    }

    /// Records indexed.
    pub fn rows(&self) -> u64 {
        self.ts_event.len()
    }

    /// Records indexed but not yet flushed.
    pub fn unflushed_rows(&self) -> u64 {
        self.rows() - self.meta.rows
    }

    /// Where record `seq`'s line is.
    pub fn loc(&self, seq: u64) -> Result<Loc> {
        let segment = self.segs.of(seq).ok_or_else(|| Error::Stale {
            reason: format!("no segment holds record {seq}"),
        })?;
        Ok(Loc {
            seq,
            segment,
            offset: self.offset.get(seq)?,
            len: self.len.get(seq)?,
        })
    }

    /// Locations of a sorted run of records `[start, end)` (one read per column).
    pub fn locs(&self, start: u64, end: u64) -> Result<Vec<Loc>> {
        let off = self.offset.read(start, end)?;
        let len = self.len.read(start, end)?;
        let mut out = Vec::with_capacity(off.len());
        let mut seg = self.segs.of(start);
        for (i, (o, l)) in off.into_iter().zip(len).enumerate() {
            let seq = start + i as u64;
            while let Some(s) = seg {
                if self.segs.firsts.get(s + 1).is_some_and(|&f| f <= seq) {
                    seg = Some(s + 1);
                } else {
                    break;
                }
            }
            let segment = seg.ok_or_else(|| Error::Stale {
                reason: format!("no segment holds record {seq}"),
            })?;
            out.push(Loc {
                seq,
                segment,
                offset: o,
                len: l,
            });
        }
        Ok(out)
    }

    /// Reads new records from the journal, up to `to` (or the last complete line) and
    /// at most `max_rows` of them. Returns true when it reached the end.
    pub fn catch_up(
        &mut self,
        src: &Source,
        to: Option<u64>,
        max_rows: u64,
        progress: &dyn Fn(u64),
    ) -> Result<bool> {
        let mut added = 0u64;
        let mut chunk = READ_CHUNK;
        loop {
            let rows = self.rows();
            if to.is_some_and(|t| rows >= t) {
                return Ok(true);
            }
            if added >= max_rows {
                return Ok(false);
            }
            // Where record `rows` starts.
            let starts_segment = |segs: &Segments| segs.firsts.iter().position(|&f| f == rows);
            let (si, off) = match (starts_segment(&self.segs), self.next) {
                (Some(si), _) => (si, 0),
                (None, Some(p)) => p,
                (None, None) => {
                    self.segs = src.segments()?;
                    match starts_segment(&self.segs) {
                        Some(si) => (si, 0),
                        // The journal starts past the index, and no archive is open
                        // to read the records between: refuse, rather than answer
                        // as if they never existed.
                        None if self.segs.firsts.first().is_some_and(|&f| f > rows) => {
                            return Err(tradetrail_journal::Error::Removed {
                                seq: rows,
                                first: self.segs.firsts[0],
                            }
                            .into())
                        }
                        None => return Ok(true),
                    }
                }
            };
            match self.segs.kinds[si] {
                SegKind::Hot => {}
                SegKind::Cold { last } => {
                    self.catch_up_cold(src, si, rows, last, progress)?;
                    added += last + 1 - rows;
                    continue;
                }
                SegKind::Purged { last } => {
                    for seq in rows..=last {
                        self.push_purged(seq);
                    }
                    added += last + 1 - rows;
                    continue;
                }
            }
            let path = self.segs.paths[si].clone();
            let file_len = src.len(&path).map_err(|e| tradetrail_journal::Error::Io {
                path: path.clone(),
                op: "stat",
                source: e,
            })?;
            let want = chunk.min(file_len.saturating_sub(off) as usize);
            let buf = if want == 0 {
                Vec::new()
            } else {
                src.read_at(&path, off, want)
                    .map_err(|e| tradetrail_journal::Error::Io {
                        path: path.clone(),
                        op: "read",
                        source: e,
                    })?
            };
            let eof = buf.len() < chunk;
            let mut pos = 0usize;
            let mut progressed = false;
            while let Some(nl) = memchr::memchr(b'\n', &buf[pos..]) {
                let seq = self.rows();
                if to.is_some_and(|t| seq >= t) || added >= max_rows {
                    break;
                }
                let line = &buf[pos..pos + nl];
                let header = match parse_header(line) {
                    Ok(h) => h,
                    Err(reason) => {
                        let last_line = eof && pos + nl + 1 == buf.len();
                        if to.is_none() && last_line && si + 1 == self.segs.paths.len() {
                            // A torn tail that the next open of the journal will cut:
                            // not a record (yet).
                            return Ok(true);
                        }
                        return Err(corrupt(&path, off + pos as u64, reason.into()));
                    }
                };
                if header.seq != seq {
                    return Err(corrupt(
                        &path,
                        off + pos as u64,
                        format!("expected record {seq}, found {}", header.seq),
                    ));
                }
                self.push_line(seq, header.ts_recorded, line, si, off + pos as u64);
                added += 1;
                if added.is_multiple_of(65_536) {
                    progress(self.rows());
                }
                pos += nl + 1;
                progressed = true;
            }
            if progressed {
                chunk = READ_CHUNK;
                continue;
            }
            if to.is_some_and(|t| self.rows() >= t) || added >= max_rows {
                continue;
            }
            if !eof {
                // One line longer than the chunk.
                chunk *= 2;
                continue;
            }
            // The end of this segment's complete lines: is there a next segment? (Not
            // this one again: an empty segment, made by a rotation that a crash cut
            // short, starts at `rows` too and holds nothing yet.)
            self.segs = src.segments()?;
            if starts_segment(&self.segs).is_some_and(|n| self.segs.paths[n] != path) {
                continue;
            }
            // A later segment that does not start here: records are missing between
            // (a segment removed or cut short). Never answer as if they did not exist.
            let later = self
                .segs
                .paths
                .iter()
                .position(|p| *p == path)
                .and_then(|i| self.segs.firsts.get(i + 1));
            // Unless the current segment grew meanwhile (a writer appended its last
            // records and rotated between our read and the listing): read on.
            let grew = src.len(&path).is_ok_and(|now| now > file_len);
            if let (Some(&next), false) = (later, grew) {
                return Err(tradetrail_journal::Error::Gap {
                    after: self.rows().saturating_sub(1),
                    next,
                    segment: path.clone(),
                }
                .into());
            }
            if let Some(t) = to {
                return Err(Error::Stale {
                    reason: format!(
                        "the journal says {t} records are written but {} ends at record {}",
                        path.display(),
                        self.rows()
                    ),
                });
            }
            return Ok(true);
        }
    }

    /// Indexes the cold records `from..=last` of cold range `si`, read from the
    /// archive; the next record starts the next range or segment.
    fn catch_up_cold(
        &mut self,
        src: &Source,
        si: usize,
        from: u64,
        last: u64,
        progress: &dyn Fn(u64),
    ) -> Result<()> {
        let cold = src.cold().ok_or_else(|| Error::Stale {
            reason: format!("record {from} is in the archive, which is not open"),
        })?;
        let mut next = from;
        cold.for_each_placed(from, last + 1, &mut |seq, place, line| {
            let header = parse_header(line)
                .ok()
                .filter(|h| h.seq == seq && seq == next);
            let Some(header) = header else {
                return Err(tradetrail_journal::Error::Cold {
                    seq: next,
                    reason: "the archive gave a line that is not this record".into(),
                });
            };
            self.push_line(seq, header.ts_recorded, line, si, cold_offset(place));
            next += 1;
            if next.is_multiple_of(65_536) {
                progress(next);
            }
            Ok(true)
        })?;
        if next != last + 1 {
            return Err(tradetrail_journal::Error::Cold {
                seq: next,
                reason: format!("the archive holds no record {next}"),
            }
            .into());
        }
        self.next = None;
        Ok(())
    }

    /// Adds a record that a retention purge removed: it matches no type or time
    /// filter and reads as nothing.
    fn push_purged(&mut self, seq: u64) {
        let ts_recorded = self.zones.last().map_or(0, |z| z.last_rec);
        let mut combo: Combo = [0; DIMS];
        combo[0] = self.dicts.intern(Dim::Type, Some(PURGED_TYPE));
        let code = self.dicts.intern_combo(combo);
        self.count(code);
        self.ts_event.push(NO_TIME);
        self.ts_recorded.push(ts_recorded);
        self.combo.push(code);
        self.entity.push(0);
        self.offset.push(0);
        self.len.push(0);
        if seq.is_multiple_of(ZONE) {
            self.zones.push(Zone::new(ts_recorded));
        }
        self.zones
            .last_mut()
            .expect("a zone per 1024 records")
            .add(NO_TIME, ts_recorded);
        self.next = None;
    }

    /// Counts the record about to be added (row `rows()`), of combo `code`, when the
    /// counts cover every row before it.
    fn count(&mut self, code: u32) {
        if self.counts.rows == self.rows() {
            self.counts.add(code);
        }
    }

    /// Records per combo code over every indexed row (one entry per combo): the
    /// counts kept, plus the rows after them read from `combo.col`.
    pub fn combo_counts(&self) -> Result<Vec<u64>> {
        let mut out = self.counts.counts.clone();
        out.resize(self.dicts.combos().len(), 0);
        let mut codes = Vec::new();
        let rows = self.rows();
        let mut s = self.counts.rows.min(rows);
        while s < rows {
            let e = (s + (1 << 16)).min(rows);
            codes.clear();
            self.combo.read_into(s, e, &mut codes)?;
            for &c in &codes {
                if let Some(n) = out.get_mut(c as usize) {
                    *n += 1;
                }
            }
            s = e;
        }
        Ok(out)
    }

    /// Adds one record.
    fn push_line(&mut self, seq: u64, ts_recorded: i64, line: &[u8], segment: usize, offset: u64) {
        let env = envelope::parse(line);
        let mut combo: Combo = [0; DIMS];
        let ts_event;
        let mut entity_key = 0;
        match &env {
            Some(e) => {
                let vals = [
                    Some(&*e.view.ty),
                    e.view.source.as_deref(),
                    e.view.actor.as_deref(),
                    e.view.trader_id.as_deref(),
                    e.view.strategy_id.as_deref(),
                    e.view.account_id.as_deref(),
                    e.view.instrument_id.as_deref(),
                    e.view.entity_kind.as_deref(),
                ];
                for (i, dim) in Dim::ALL.iter().enumerate() {
                    combo[i] = self.dicts.intern(*dim, vals[i]);
                }
                ts_event = e.view.ts_event.unwrap_or(NO_TIME);
                let mut keys: Vec<(u64, bool)> = Vec::with_capacity(1 + e.refs.len());
                if let Some(id) = &e.view.entity_id {
                    entity_key = id_key(id);
                    keys.push((entity_key, true));
                }
                for r in &e.refs {
                    keys.push((id_key(&r.value), false));
                }
                // One posting per id per record, marked if it is the entity.
                keys.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
                keys.dedup_by_key(|k| k.0);
                for (k, is_entity) in keys {
                    self.mem.add(k, seq << 1 | u64::from(is_entity));
                }
                if let Some(c) = e.correction_of {
                    self.mem.add(correction_key(c), seq << 1);
                }
            }
            None => {
                combo[0] = self.dicts.intern(Dim::Type, record_type(line));
                ts_event = NO_TIME;
            }
        }
        let code = self.dicts.intern_combo(combo);
        self.count(code);
        self.ts_event.push(ts_event);
        self.ts_recorded.push(ts_recorded);
        self.combo.push(code);
        self.entity.push(entity_key);
        self.offset.push(offset);
        self.len.push(line.len() as u32);
        if seq.is_multiple_of(ZONE) {
            self.zones.push(Zone::new(ts_recorded));
        }
        self.zones
            .last_mut()
            .expect("a zone per 1024 records")
            .add(ts_event, ts_recorded);
        self.next = Some((segment, offset + line.len() as u64 + 1));
    }

    /// Brings the index up to the journal. While reading, it saves every
    /// [`BUILD_CHUNK`] records (so memory stays bounded on a rebuild); at the end it
    /// saves if at least `flush_rows` records are unsaved. `progress` hears the number
    /// of records indexed so far.
    pub fn refresh(&mut self, src: &Source, flush_rows: u64, progress: &dyn Fn(u64)) -> Result<()> {
        let to = src.written()?;
        if to.is_some_and(|t| self.rows() >= t) {
            self.save_counts_if_missing();
            return Ok(());
        }
        let flush_rows = flush_rows.max(1);
        let mut held: Option<IndexLock> = None;
        loop {
            let room = if self.writable {
                BUILD_CHUNK.saturating_sub(self.unflushed_rows()).max(1)
            } else {
                u64::MAX
            };
            let done = self.catch_up(src, to, room, progress)?;
            let unflushed = self.unflushed_rows();
            if self.writable && (unflushed >= BUILD_CHUNK || (done && unflushed >= flush_rows)) {
                if held.is_none() {
                    match lock(&self.dir) {
                        Ok(l) => held = Some(l),
                        Err(e) => {
                            self.give_up_writing(&e);
                            continue;
                        }
                    }
                    if read_meta(&self.dir).as_ref() != Some(&self.meta) {
                        // Another process saved (or rebuilt) meanwhile: start from
                        // what it stored.
                        *self = Index::load_locked(&self.dir.clone(), src)?;
                        continue;
                    }
                }
                if let Err(e) = self.flush_locked(src) {
                    self.give_up_writing(&e);
                }
            }
            if done {
                self.save_counts_if_missing();
                return Ok(());
            }
        }
    }

    fn give_up_writing(&mut self, e: &Error) {
        self.writable = false;
        self.warning = Some(format!(
            "the query index could not be saved ({e}); it is kept in memory for this process"
        ));
    }

    /// Writes everything in memory to disk (the caller holds the lock and has checked
    /// that `meta.json` is the one this index was loaded from).
    fn flush_locked(&mut self, src: &Source) -> Result<()> {
        let rows = self.rows();
        if rows == self.meta.rows {
            return Ok(());
        }
        let dir = self.dir.clone();
        let (mut sb, mut cb) = (Vec::new(), Vec::new());
        self.dicts.unflushed(&mut sb, &mut cb);
        // The checksums of what is on disk now (`meta.sum` finds them wrong only
        // if meta.json was edited since it was loaded: then they are recomputed).
        let old = |name: &str| self.meta.sums.get(name).cloned().unwrap_or_default();
        let mut sums = BTreeMap::new();
        let s = write_at(
            self.strings_file.as_ref(),
            &dir.join(STRINGS),
            self.meta.strings_bytes,
            &sb,
            &old(STRINGS),
        )?;
        sums.insert(STRINGS.to_owned(), s);
        let s = write_at(
            self.combos_file.as_ref(),
            &dir.join(COMBOS),
            self.meta.combos * (4 * DIMS) as u64,
            &cb,
            &old(COMBOS),
        )?;
        sums.insert(COMBOS.to_owned(), s);
        let col_sums = [
            self.ts_event.write_unflushed(&old(COLUMNS[0]))?,
            self.ts_recorded.write_unflushed(&old(COLUMNS[1]))?,
            self.combo.write_unflushed(&old(COLUMNS[2]))?,
            self.entity.write_unflushed(&old(COLUMNS[3]))?,
            self.offset.write_unflushed(&old(COLUMNS[4]))?,
            self.len.write_unflushed(&old(COLUMNS[5]))?,
        ];
        for (name, s) in COLUMNS.iter().zip(col_sums) {
            sums.insert((*name).to_owned(), s);
        }
        let (z0, z1) = (self.meta.rows / ZONE, rows / ZONE);
        let mut zb = Vec::new();
        for z in &self.zones[z0 as usize..z1 as usize] {
            z.put(&mut zb);
        }
        let s = write_at(
            self.zones_file.as_ref(),
            &dir.join(ZONES),
            z0 * ZONE_BYTES as u64,
            &zb,
            &old(ZONES),
        )?;
        sums.insert(ZONES.to_owned(), s);
        // Postings: a new run, then merges.
        let mut meta = self.meta.clone();
        let mut removed = Vec::new();
        let mut new_runs = Vec::new();
        if !self.mem.is_empty() {
            let id = meta.next_run;
            meta.next_run += 1;
            let pairs = self.mem.sorted();
            new_runs.push(Run::write(&dir, id, &pairs)?);
        }
        // Merge decisions over the would-be run list (old runs stay open until the
        // new meta is written).
        let mut runs: Vec<Run> = std::mem::take(&mut self.runs);
        runs.extend(new_runs);
        while should_merge(&runs) {
            let b = runs.pop().expect("two runs");
            let a = runs.pop().expect("two runs");
            let id = meta.next_run;
            meta.next_run += 1;
            match Run::merge(&dir, id, &a, &b) {
                Ok(m) => {
                    removed.push(a.id);
                    removed.push(b.id);
                    runs.push(m);
                }
                Err(e) => {
                    runs.push(a);
                    runs.push(b);
                    self.runs = runs;
                    return Err(e);
                }
            }
        }
        let last = self.loc(rows - 1)?;
        let mut hash = String::new();
        read_lines(src, &self.segs, &[last], &mut |_, line| {
            hash = RecordHash::of_line(line).to_hex();
            Ok(true)
        })?;
        meta.rows = rows;
        meta.last_hash = hash;
        meta.strings_bytes += sb.len() as u64;
        meta.combos = self.dicts.combos().len() as u64;
        meta.runs = runs
            .iter()
            .map(|r| RunMeta {
                id: r.id,
                entries: r.entries,
                post: r.post_sum.clone(),
                fence: r.fence_sum.clone(),
            })
            .collect();
        meta.sums = sums;
        let written = write_meta(&dir, &meta);
        self.runs = runs;
        written?;
        // Committed.
        self.meta = meta;
        self.store_counts();
        self.mem = MemPostings::default();
        self.dicts.mark_flushed();
        self.ts_event.mark_flushed();
        self.ts_recorded.mark_flushed();
        self.combo.mark_flushed();
        self.entity.mark_flushed();
        self.offset.mark_flushed();
        self.len.mark_flushed();
        for id in removed {
            Run::remove_files(&dir, id);
        }
        // Runs an interrupted flush left behind.
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let name = e.file_name();
                if let Some(id) = name.to_str().and_then(parse_run_file_name) {
                    if !self.meta.runs.iter().any(|r| r.id == id) {
                        let _ = std::fs::remove_file(e.path());
                    }
                }
            }
        }
        Ok(())
    }

    /// Saves `counts.bin` when every row is saved but the counts on disk cover fewer
    /// (an index saved before counts were kept, or a `counts.bin` found unusable).
    fn save_counts_if_missing(&mut self) {
        if self.writable && !self.counts_saved && self.rows() == self.meta.rows {
            self.store_counts();
        }
    }

    /// Brings the counts up to every row and saves them as `counts.bin` (after a
    /// flush). A failure leaves the counts to be read from `combo.col` and says so.
    fn store_counts(&mut self) {
        let saved = self.combo_counts().and_then(|counts| {
            self.counts = ComboCounts {
                rows: self.rows(),
                counts,
            };
            self.counts.store(&self.dir, self.meta.generation)
        });
        self.counts_saved = true;
        if let Err(e) = saved {
            self.warning = Some(format!(
                "the query index's counts could not be saved ({e}); counts read every record"
            ));
        }
    }

    /// Values posted under `key`, from every run and memory (unsorted).
    pub fn postings(&self, key: u64) -> Result<Vec<u64>> {
        let mut out = Vec::new();
        for r in &self.runs {
            r.lookup(key, &mut out)?;
        }
        self.mem.lookup(key, &mut out);
        Ok(out)
    }

    /// Bytes the index takes on disk (what `meta.json` counts).
    pub fn disk_bytes(&self) -> u64 {
        let rows = self.meta.rows;
        rows * (8 + 8 + 4 + 8 + 8 + 4)
            + (rows / ZONE) * ZONE_BYTES as u64
            + self.meta.strings_bytes
            + self.meta.combos * (4 * DIMS) as u64
            + self.runs.iter().map(Run::disk_bytes).sum::<u64>()
    }

    /// Records on disk.
    pub fn persisted_rows(&self) -> u64 {
        self.meta.rows
    }

    /// Every posting, sorted (tests compare indexes built in different ways).
    pub fn all_postings(&self) -> Result<Vec<(u64, u64)>> {
        let mut v = Vec::new();
        for r in &self.runs {
            v.extend(r.all()?);
        }
        v.extend(self.mem.sorted());
        v.sort_unstable();
        Ok(v)
    }

    /// The combo of a row, decoded.
    pub fn combo_values(&self, code: u32) -> [Option<&str>; DIMS] {
        let c = self.dicts.combos()[code as usize];
        let mut out = [None; DIMS];
        for (i, d) in Dim::ALL.iter().enumerate() {
            out[i] = self.dicts.value(*d, c[i]);
        }
        out
    }
}

fn corrupt(path: &Path, offset: u64, reason: String) -> Error {
    Error::Journal(tradetrail_journal::Error::Corrupt {
        segment: path.to_path_buf(),
        offset,
        reason,
    })
}

/// A column, whatever its width, for the checks on load.
trait Checked {
    /// Bytes per row.
    fn width(&self) -> u64;
    fn check(&self, name: &str, sum: &FileSum, depth: Depth) -> Result<Option<String>>;
}

impl<T: crate::column::Fixed> Checked for Column<T> {
    fn width(&self) -> u64 {
        T::SIZE as u64
    }
    fn check(&self, name: &str, sum: &FileSum, depth: Depth) -> Result<Option<String>> {
        Column::check(self, name, sum, depth)
    }
}
