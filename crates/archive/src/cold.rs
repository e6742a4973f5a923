//! The archive as the journal's cold tier: [`ArchiveLines`] gives back the exact line
//! bytes of records whose segments left `journal/` after the hot window, so the
//! Merkle tree, checkpoint checks, exports and the query index keep reading from
//! seq 0 (see `tradetrail_journal::ColdLines`).
//!
//! Sequential reads decode a file's `seq` and `line` columns whole, and give each
//! record's row as its place ([`ColdLines::for_each_placed`]; the query index keeps
//! it). Random reads (a trail, a sparse query) take each record's row from the place
//! given, else look it up in the file (the rows are sorted by `ts_event`, not seq;
//! the `seq` column of a file is read once and the map kept for the most recent
//! files), and decode only the `line` pages that hold those rows, through the offset
//! index. A line read at a place must carry the seq asked for; if not, its row is
//! looked up as if no place had been given.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash as StdHash;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use arrow_array::cast::AsArray;
use arrow_array::types::UInt64Type;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection,
};
use parquet::arrow::ProjectionMask;
use parquet::file::metadata::PageIndexPolicy;
use parquet::file::reader::ChunkReader;
use tradetrail_core::DataDir;
use tradetrail_journal::{
    parse_header, ColdLines, ColdRange, PlacedFn, PurgedSubtrees, RecordHash, NO_PLACE,
};
use tradetrail_merkle::Hash;

use crate::files::{ArchiveFiles, Source};
use crate::index::ArchiveIndex;
use crate::manifest::FileEntry;
use crate::schema::col;
use crate::{archive_dir, Error, Result};

/// How many files' seq-to-row maps are kept (each is 4 bytes per record).
const ROW_MAPS: usize = 64;
/// How many files' footers (with their offset index) are kept, decoded: a trail
/// reads the same file once per step of its walk.
const FOOTERS: usize = 16;

/// One counted file.
#[derive(Debug, Clone)]
struct ColdFile {
    /// Its partition directory.
    dir: PathBuf,
    /// Its manifest entry (what a copy read from the bucket is checked against).
    entry: FileEntry,
    /// The file, for the seq-to-row maps.
    path: PathBuf,
    first: u64,
    last: u64,
    purged_by: Option<u64>,
    /// For a tombstone with subtrees: what it keeps of the purged records.
    kept: Option<Arc<PurgedSubtrees>>,
}

/// The archive of a data directory, read as the journal's cold tier.
///
/// The manifests are read on first use, again by [`ColdLines::ranges`], and when a
/// record past what was read is asked for, so a long-lived reader (the server)
/// follows `archive` and `retention apply` runs. A file no longer in `DIR/archive`
/// is read from the bucket `[archive] remote` names, checked against its manifest
/// (see [`ArchiveFiles`]).
#[derive(Debug)]
pub struct ArchiveLines {
    root: PathBuf,
    source: ArchiveFiles,
    files: RwLock<Arc<Vec<ColdFile>>>,
    rows: Mutex<Recent<PathBuf, Arc<Vec<u32>>>>,
    /// By file: its SHA-256 in the manifest (a rewritten file is decoded again) and
    /// its footer.
    footers: Mutex<Recent<PathBuf, (Hash, ArrowReaderMetadata)>>,
}

/// The values of the `cap` keys inserted last.
#[derive(Debug)]
struct Recent<K, V> {
    cap: usize,
    map: HashMap<K, V>,
    order: VecDeque<K>,
}

impl<K: Eq + StdHash + Clone, V: Clone> Recent<K, V> {
    fn new(cap: usize) -> Self {
        Recent {
            cap,
            map: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    fn get(&self, k: &K) -> Option<V> {
        self.map.get(k).cloned()
    }

    fn insert(&mut self, k: K, v: V) {
        if self.map.insert(k.clone(), v).is_some() {
            return;
        }
        if self.order.len() >= self.cap {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
        self.order.push_back(k);
    }
}

fn cold(e: Error, seq: u64) -> tradetrail_journal::Error {
    tradetrail_journal::Error::Cold {
        seq,
        reason: format!("reading it from the archive: {e}"),
    }
}

impl ArchiveLines {
    /// The archive of `data`, or `None` when it has no archive directory.
    pub fn open(data: &DataDir) -> Result<Option<ArchiveLines>> {
        let root = archive_dir(data);
        if !root.exists() {
            return Ok(None);
        }
        Ok(Some(ArchiveLines::with_files(ArchiveFiles::open(data)?)))
    }

    /// The archive whose files `source` reads.
    pub fn with_files(source: ArchiveFiles) -> ArchiveLines {
        let root = source.root().to_path_buf();
        ArchiveLines {
            // Read on first use: most readers never need the archive (the journal
            // still starts at seq 0), and a year of manifests costs tens of ms.
            files: RwLock::new(Arc::new(Vec::new())),
            root,
            source,
            rows: Mutex::new(Recent::new(ROW_MAPS)),
            footers: Mutex::new(Recent::new(FOOTERS)),
        }
    }

    /// Reads the manifests again.
    fn reload(&self) -> Result<Arc<Vec<ColdFile>>> {
        let files = Arc::new(load_files(&self.root)?);
        *self.files.write().unwrap_or_else(|p| p.into_inner()) = files.clone();
        Ok(files)
    }

    fn current(&self) -> Arc<Vec<ColdFile>> {
        self.files.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The files as last read, re-read when `seq` is past them.
    fn files_for(&self, seq: u64) -> tradetrail_journal::Result<Arc<Vec<ColdFile>>> {
        let files = self.current();
        if files.last().is_some_and(|f| f.last >= seq) {
            return Ok(files);
        }
        self.reload().map_err(|e| cold(e, seq))
    }

    /// `rows[seq - first]` = the row of `seq` in the file.
    fn row_map(&self, f: &ColdFile) -> Result<Arc<Vec<u32>>> {
        if let Some(m) = self
            .rows
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&f.path)
        {
            return Ok(m);
        }
        let batches = self.source.batches(&f.dir, &f.entry, Some(&[col::SEQ]))?;
        let n = (f.last - f.first + 1) as usize;
        let mut map = vec![u32::MAX; n];
        let mut row = 0u32;
        for b in &batches {
            let seqs = b
                .column_by_name(col::SEQ)
                .and_then(|c| c.as_primitive_opt::<UInt64Type>())
                .ok_or_else(|| corrupt(&f.path, "the seq column has the wrong type".into()))?;
            for s in seqs.values().iter() {
                let slot = s
                    .checked_sub(f.first)
                    .and_then(|i| map.get_mut(i as usize))
                    .ok_or_else(|| corrupt(&f.path, format!("holds seq {s}, outside its range")))?;
                *slot = row;
                row += 1;
            }
        }
        if row as usize != n || map.contains(&u32::MAX) {
            return Err(corrupt(
                &f.path,
                format!(
                    "holds {row} rows, not the {n} records {}..={}",
                    f.first, f.last
                ),
            ));
        }
        let map = Arc::new(map);
        self.rows
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(f.path.clone(), map.clone());
        Ok(map)
    }

    /// Reads the lines of `want` (`(seq, place)`, distinct seqs) of `file` into
    /// `lines`. A place that does not hold its record (an index written before the
    /// file was, or damaged) is looked up as one not given: through the file's seq map.
    fn read_file_rows(
        &self,
        file: &ColdFile,
        want: &[(u64, u64)],
        lines: &mut HashMap<u64, String>,
    ) -> Result<()> {
        let total = file.last - file.first + 1;
        let mut placed = Vec::with_capacity(want.len());
        let mut unplaced = Vec::new();
        for &(seq, place) in want {
            match row_of(place, total) {
                Some(row) => placed.push((row, seq)),
                None => unplaced.push(seq),
            }
        }
        unplaced.extend(self.read_at_rows(file, placed, total, lines, false)?);
        if unplaced.is_empty() {
            return Ok(());
        }
        let map = self.row_map(file)?;
        let rows = unplaced
            .iter()
            .map(|&s| (map[(s - file.first) as usize], s))
            .collect();
        self.read_at_rows(file, rows, total, lines, true)?;
        Ok(())
    }

    /// Reads `rows` (`(row, seq)`) of `file` (of `total` rows) and keeps each line
    /// that carries its seq in `lines`. Returns the seqs whose row held another
    /// record; when `strict` (the rows come from the file's own seq column) that is
    /// an error naming the row instead.
    fn read_at_rows(
        &self,
        file: &ColdFile,
        mut rows: Vec<(u32, u64)>,
        total: u64,
        lines: &mut HashMap<u64, String>,
        strict: bool,
    ) -> Result<Vec<u64>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        rows.sort_unstable();
        let mut distinct: Vec<u32> = rows.iter().map(|r| r.0).collect();
        distinct.dedup();
        let got = self.read_rows(file, &distinct, total as usize)?;
        let mut misplaced = Vec::new();
        let mut k = 0;
        for (row, seq) in rows {
            while distinct[k] != row {
                k += 1;
            }
            let line = &got[k];
            if parse_header(line.as_bytes()).is_ok_and(|h| h.seq == seq) {
                lines.insert(seq, line.clone());
            } else if strict {
                return Err(corrupt(
                    &file.path,
                    format!(
                        "row {row} of its line column is not record {seq}, which its seq column puts there"
                    ),
                ));
            } else {
                misplaced.push(seq);
            }
        }
        Ok(misplaced)
    }

    /// The lines at `rows` (sorted, distinct) of a file, in row order.
    fn read_rows(&self, f: &ColdFile, rows: &[u32], total: usize) -> Result<Vec<String>> {
        let path = &self.source.name(&f.dir, &f.entry);
        match self.source.source(&f.dir, &f.entry)? {
            Source::Local(file) => {
                let footer = self.footer(&file, f, path)?;
                read_rows_of(file, footer, path, rows, total)
            }
            Source::Remote(bytes) => {
                let footer = self.footer(&bytes, f, path)?;
                read_rows_of(bytes, footer, path, rows, total)
            }
        }
    }

    /// The file's footer with its offset index (which lets the reader decode only the
    /// pages holding the rows), decoded once while it is among the last [`FOOTERS`].
    fn footer<R: ChunkReader>(
        &self,
        input: &R,
        f: &ColdFile,
        path: &Path,
    ) -> Result<ArrowReaderMetadata> {
        let kept = self
            .footers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&f.path);
        if let Some((sha, footer)) = kept {
            if sha == f.entry.sha256 {
                return Ok(footer);
            }
        }
        let footer = ArrowReaderMetadata::load(
            input,
            ArrowReaderOptions::new().with_offset_index_policy(PageIndexPolicy::Optional),
        )
        .map_err(|source| Error::Parquet {
            path: path.to_path_buf(),
            source,
        })?;
        self.footers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(f.path.clone(), (f.entry.sha256, footer.clone()));
        Ok(footer)
    }
}

/// The lines at `rows` (sorted, distinct) of a file's bytes (`path` names it), in
/// row order.
fn read_rows_of<R: ChunkReader + 'static>(
    file: R,
    footer: ArrowReaderMetadata,
    path: &Path,
    rows: &[u32],
    total: usize,
) -> Result<Vec<String>> {
    let pq = |source| Error::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let b = ParquetRecordBatchReaderBuilder::new_with_metadata(file, footer);
    let schema = b.parquet_schema();
    let line_col = (0..schema.num_columns())
        .find(|&i| schema.column(i).name() == col::LINE)
        .ok_or_else(|| corrupt(path, "has no line column".into()))?;
    let mask = ProjectionMask::leaves(schema, [line_col]);
    let ranges = rows.iter().map(|&r| r as usize..r as usize + 1);
    let selection = RowSelection::from_consecutive_ranges(ranges, total);
    let reader = b
        .with_projection(mask)
        .with_row_selection(selection)
        .with_batch_size(8192)
        .build()
        .map_err(pq)?;
    let mut out = Vec::with_capacity(rows.len());
    for batch in reader {
        let batch = batch.map_err(|e| corrupt(path, e.to_string()))?;
        let lines = batch
            .column(0)
            .as_string_opt::<i32>()
            .ok_or_else(|| corrupt(path, "the line column has the wrong type".into()))?;
        out.extend(lines.iter().map(|l| l.unwrap_or_default().to_string()));
    }
    if out.len() != rows.len() {
        return Err(corrupt(
            path,
            format!("gave {} of the {} rows asked for", out.len(), rows.len()),
        ));
    }
    Ok(out)
}

/// The place [`ColdLines::for_each_placed`] gives a record at `row` of its file.
fn place_of(row: u32) -> u64 {
    u64::from(row) + 1
}

/// The row that `place` names in a file of `rows` rows, if it names one.
fn row_of(place: u64, rows: u64) -> Option<u32> {
    let row = place.checked_sub(1)?;
    u32::try_from(row).ok().filter(|_| row < rows)
}

/// The index of the file holding `seq`.
fn file_of(files: &[ColdFile], seq: u64) -> Option<usize> {
    let i = files.partition_point(|f| f.first <= seq).checked_sub(1)?;
    (seq <= files[i].last).then_some(i)
}

fn load_files(root: &Path) -> Result<Vec<ColdFile>> {
    let idx = ArchiveIndex::load(root)?;
    Ok(idx
        .files()
        .map(|(p, f)| {
            let blocks = p.manifest.subtrees_of(&f.file);
            let kept = (f.purged_by.is_some() && !blocks.is_empty()).then(|| {
                Arc::new(PurgedSubtrees {
                    subtrees: blocks
                        .iter()
                        .map(|s| (s.start, s.height, s.hash.0))
                        .collect(),
                    first_prev: RecordHash(f.first_prev.0),
                    last_hash: RecordHash(f.last_hash.0),
                    first_ts_recorded: f.first_ts_recorded,
                    last_ts_recorded: f.last_ts_recorded,
                    root: f.root.0,
                })
            });
            ColdFile {
                dir: p.dir.clone(),
                entry: f.clone(),
                path: p.dir.join(&f.file),
                first: f.first_seq,
                last: f.last_seq,
                purged_by: f.purged_by,
                kept,
            }
        })
        .collect())
}

fn corrupt(path: &Path, reason: String) -> Error {
    Error::Corrupt {
        path: path.to_path_buf(),
        reason,
    }
}

impl ColdLines for ArchiveLines {
    fn ranges(&self) -> tradetrail_journal::Result<Vec<ColdRange>> {
        let files = self.reload().map_err(|e| cold(e, 0))?;
        Ok(files
            .iter()
            .map(|f| ColdRange {
                first: f.first,
                last: f.last,
                purged_by: f.purged_by,
            })
            .collect())
    }

    fn subtrees(&self, range: &ColdRange) -> tradetrail_journal::Result<Option<PurgedSubtrees>> {
        let files = self.files_for(range.last)?;
        Ok(file_of(&files, range.first)
            .map(|i| &files[i])
            .filter(|f| f.first == range.first && f.last == range.last)
            .and_then(|f| f.kept.as_deref().cloned()))
    }

    fn for_each(
        &self,
        from: u64,
        to: u64,
        f: &mut dyn FnMut(u64, &[u8]) -> tradetrail_journal::Result<bool>,
    ) -> tradetrail_journal::Result<()> {
        self.for_each_placed(from, to, &mut |seq, _, line| f(seq, line))
    }

    fn read(
        &self,
        seqs: &[u64],
        f: &mut dyn FnMut(u64, &[u8]) -> tradetrail_journal::Result<()>,
    ) -> tradetrail_journal::Result<()> {
        let wants: Vec<(u64, u64)> = seqs.iter().map(|&s| (s, NO_PLACE)).collect();
        self.read_placed(&wants, f)
    }

    /// The place of a record is its row in its file, plus 1.
    fn for_each_placed(
        &self,
        from: u64,
        to: u64,
        f: &mut PlacedFn<'_>,
    ) -> tradetrail_journal::Result<()> {
        let files = self.files_for(to.saturating_sub(1).max(from))?;
        let Some(start) = file_of(&files, from) else {
            return Ok(());
        };
        for file in &files[start..] {
            if file.first >= to {
                break;
            }
            if let Some(by) = file.purged_by {
                return Err(tradetrail_journal::Error::Purged {
                    seq: from.max(file.first),
                    purged_by: by,
                });
            }
            let go_on = self
                .source
                .with_placed_lines(&file.dir, &file.entry, |lines| {
                    let start = lines.partition_point(|&(seq, _, _)| seq < from);
                    for &(seq, row, line) in &lines[start..] {
                        if seq >= to || !f(seq, place_of(row), line.as_bytes())? {
                            return Ok(false);
                        }
                    }
                    Ok(true)
                })
                .map_err(|e| cold(e, file.first))??;
            if !go_on {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Rows come from the places given (each checked: the line read must carry the
    /// seq asked for), else from the file's `seq` column.
    fn read_placed(
        &self,
        wants: &[(u64, u64)],
        f: &mut dyn FnMut(u64, &[u8]) -> tradetrail_journal::Result<()>,
    ) -> tradetrail_journal::Result<()> {
        // Group by file, read each file's rows once, then answer in the order asked.
        let files = self.files_for(wants.iter().map(|w| w.0).max().unwrap_or(0))?;
        let mut by_file: HashMap<usize, Vec<(u64, u64)>> = HashMap::new();
        for &(s, place) in wants {
            match file_of(&files, s) {
                Some(i) if files[i].purged_by.is_none() => {
                    by_file.entry(i).or_default().push((s, place))
                }
                Some(_) => {}
                None => {
                    return Err(tradetrail_journal::Error::Cold {
                        seq: s,
                        reason: "no archive file holds it".into(),
                    })
                }
            }
        }
        let mut lines: HashMap<u64, String> = HashMap::with_capacity(wants.len());
        for (i, mut want) in by_file {
            let file = &files[i];
            want.sort_unstable();
            want.dedup_by_key(|w| w.0);
            let first = want[0].0;
            self.read_file_rows(file, &want, &mut lines)
                .map_err(|e| cold(e, first))?;
        }
        for &(s, _) in wants {
            if let Some(line) = lines.get(&s) {
                f(s, line.as_bytes())?;
            }
        }
        Ok(())
    }
}
