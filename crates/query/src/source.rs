//! Where the records come from, and reading their lines back.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tradetrail_journal::{
    list_segments, parse_header, ColdLines, ColdRange, FsStorage, Journal, Storage, NO_PLACE,
};

use crate::{Error, Result};

/// The journal an index follows.
///
/// Either an open journal (a server or an embedding engine: every answer first
/// catches up to the journal's `written` count, so a record is found as soon as its
/// append is acknowledged), or a journal directory read without opening it — no lock,
/// so it works beside a process that is appending (the CLI), reading complete lines
/// only: a line being written is picked up by the next call.
#[derive(Debug, Clone)]
pub struct Source {
    kind: Kind,
    /// Open segment files, when the storage is the real file system (see `read_at`).
    files: Option<Arc<OpenFiles>>,
    /// Where records older than the journal's first segment are (the archive).
    cold: Option<Arc<dyn ColdLines>>,
    /// The cold ranges last listed, with the journal's first seq they were listed
    /// for: the list changes only when segments leave `journal/`.
    cold_ranges: Arc<Mutex<Option<ColdListing>>>,
}

type OpenFiles = Mutex<HashMap<PathBuf, Arc<File>>>;
/// The cold ranges, and the journal's first seq when they were listed.
type ColdListing = (u64, Vec<ColdRange>);

#[derive(Debug, Clone)]
enum Kind {
    Live(Journal),
    Dir {
        storage: Arc<dyn Storage>,
        dir: PathBuf,
    },
}

/// Whether a storage is the real file system. `Storage::read_at` opens the file on
/// every call, which costs more than the read for the one-line reads of a trail or a
/// sparse query; on the real file system the segments are kept open instead.
fn is_fs(storage: &dyn Storage) -> bool {
    format!("{storage:?}") == format!("{FsStorage:?}")
}

impl Source {
    /// Follows an open journal.
    pub fn live(journal: Journal) -> Source {
        let direct = is_fs(journal.options().storage.as_ref());
        Source::new(Kind::Live(journal), direct)
    }

    /// Reads a journal directory on the real file system.
    pub fn dir(journal_dir: impl Into<PathBuf>) -> Source {
        Source::new(
            Kind::Dir {
                storage: Arc::new(FsStorage),
                dir: journal_dir.into(),
            },
            true,
        )
    }

    /// Reads a journal directory through another storage (tests).
    pub fn dir_on(storage: Arc<dyn Storage>, journal_dir: impl Into<PathBuf>) -> Source {
        let direct = is_fs(storage.as_ref());
        Source::new(
            Kind::Dir {
                storage,
                dir: journal_dir.into(),
            },
            direct,
        )
    }

    fn new(kind: Kind, direct: bool) -> Source {
        Source {
            kind,
            files: direct.then(Default::default),
            cold: None,
            cold_ranges: Arc::default(),
        }
    }

    /// Reads the records that left `journal/` (after the hot window) from `cold`, so
    /// the index covers every record from seq 0.
    pub fn with_cold(mut self, cold: Option<Arc<dyn ColdLines>>) -> Source {
        self.cold = cold;
        self
    }

    /// Forgets the cold ranges listed, so the next listing reads them again.
    pub(crate) fn forget_cold(&self) {
        *self.cold_ranges.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    pub(crate) fn cold(&self) -> Option<&dyn ColdLines> {
        self.cold.as_deref()
    }

    /// The cold tier given to [`Source::with_cold`].
    pub fn cold_tier(&self) -> Option<Arc<dyn ColdLines>> {
        self.cold.clone()
    }

    pub(crate) fn storage(&self) -> &dyn Storage {
        match &self.kind {
            Kind::Live(j) => j.options().storage.as_ref(),
            Kind::Dir { storage, .. } => storage.as_ref(),
        }
    }

    /// The journal directory.
    pub fn journal_dir(&self) -> &Path {
        match &self.kind {
            Kind::Live(j) => j.dir(),
            Kind::Dir { dir, .. } => dir,
        }
    }

    /// Records known to be complete in the files (an open journal), or `None` to read
    /// to the last complete line (a directory).
    pub(crate) fn written(&self) -> Result<Option<u64>> {
        match &self.kind {
            Kind::Live(j) => Ok(Some(j.status()?.written)),
            Kind::Dir { .. } => Ok(None),
        }
    }

    /// The segment files, in order, after the cold ranges that hold the records
    /// before the first segment (when a cold tier is given).
    pub(crate) fn segments(&self) -> Result<Segments> {
        let segs = list_segments(self.storage(), self.journal_dir())?;
        let mut out = Segments::default();
        let first = segs.first().map_or(0, |s| s.first_seq);
        if let (Some(cold), true) = (&self.cold, first > 0) {
            let mut cache = self.cold_ranges.lock().unwrap_or_else(|p| p.into_inner());
            let ranges = match &*cache {
                Some((f, r)) if *f == first => r.clone(),
                _ => {
                    let r = cold.ranges()?;
                    *cache = Some((first, r.clone()));
                    r
                }
            };
            for r in ranges.into_iter().filter(|r| r.last < first) {
                out.firsts.push(r.first);
                out.paths.push(PathBuf::new());
                out.kinds.push(if r.purged_by.is_some() {
                    SegKind::Purged { last: r.last }
                } else {
                    SegKind::Cold { last: r.last }
                });
            }
        }
        for s in segs {
            out.firsts.push(s.first_seq);
            out.paths.push(s.path);
            out.kinds.push(SegKind::Hot);
        }
        Ok(out)
    }

    fn file(&self, path: &Path) -> io::Result<Option<Arc<File>>> {
        let Some(files) = &self.files else {
            return Ok(None);
        };
        let mut files = files.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = files.get(path) {
            return Ok(Some(f.clone()));
        }
        let f = Arc::new(File::open(path)?);
        files.insert(path.to_path_buf(), f.clone());
        Ok(Some(f))
    }

    /// Reads up to `len` bytes at `offset` (fewer at the end of the file).
    pub(crate) fn read_at(&self, path: &Path, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let Some(f) = self.file(path)? else {
            return self.storage().read_at(path, offset, len);
        };
        let mut buf = vec![0u8; len];
        let mut got = 0;
        while got < len {
            match f.read_at(&mut buf[got..], offset + got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        buf.truncate(got);
        Ok(buf)
    }

    /// The length of a segment file now.
    pub(crate) fn len(&self, path: &Path) -> io::Result<u64> {
        match self.file(path)? {
            Some(f) => Ok(f.metadata()?.len()),
            None => self.storage().len(path),
        }
    }
}

/// The journal's segment files as last listed, after the cold ranges before them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Segments {
    pub firsts: Vec<u64>,
    /// Empty for a cold range.
    pub paths: Vec<PathBuf>,
    pub kinds: Vec<SegKind>,
}

/// Where a segment's records are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SegKind {
    /// A segment file in `journal/`: locations are byte offsets.
    Hot,
    /// Records in the cold tier, up to `last`: read by seq, at the place the offset
    /// keeps when it has one (see [`COLD_PLACE`]).
    Cold { last: u64 },
    /// Records removed by a retention purge, up to `last`: nothing to read.
    Purged { last: u64 },
}

impl Segments {
    /// Whether segment `i` is a range a retention purge removed.
    pub fn is_purged(&self, i: usize) -> bool {
        matches!(self.kinds.get(i), Some(SegKind::Purged { .. }))
    }

    /// The index of the segment holding `seq` (if any segment starts at or before it).
    pub fn of(&self, seq: u64) -> Option<usize> {
        self.firsts.partition_point(|&f| f <= seq).checked_sub(1)
    }
}

/// Where one record's line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Loc {
    pub seq: u64,
    pub segment: usize,
    pub offset: u64,
    pub len: u32,
}

/// Marks an `offset.col` entry of a record read from the cold tier: the low bits are
/// the place the tier gave it ([`ColdLines::for_each_placed`]; for the archive, its
/// row in its Parquet file). A byte offset in a segment file never has this bit, so
/// the offset an index kept for a record from when it was in `journal/` (or the 0 of
/// an index built before places were kept) reads as "no place".
pub(crate) const COLD_PLACE: u64 = 1 << 63;

/// The `offset.col` entry of a cold record the tier gave `place`.
pub(crate) fn cold_offset(place: u64) -> u64 {
    if place == NO_PLACE || place & COLD_PLACE != 0 {
        0
    } else {
        COLD_PLACE | place
    }
}

/// The place an `offset.col` entry of a cold record names ([`NO_PLACE`] if none).
pub(crate) fn cold_place(offset: u64) -> u64 {
    if offset & COLD_PLACE != 0 {
        offset & !COLD_PLACE
    } else {
        NO_PLACE
    }
}

/// Reads lines less than this apart in one read (copying a few KiB costs about what
/// another positioned read does).
const COALESCE_GAP: u64 = 8 * 1024;
/// At most this much in one read.
const MAX_READ: u64 = 8 << 20;

/// Reads the lines at `locs` (in the order given, which should be file order for
/// the reads to coalesce) and calls `f(seq, line)` for each; checks that each line's
/// header carries the expected seq. Stops when `f` returns `Ok(false)`.
pub(crate) fn read_lines(
    src: &Source,
    segs: &Segments,
    locs: &[Loc],
    f: &mut dyn FnMut(u64, &[u8]) -> Result<bool>,
) -> Result<bool> {
    let hot = |l: &Loc| segs.kinds.get(l.segment) == Some(&SegKind::Hot);
    let mut i = 0;
    while i < locs.len() {
        let mut j = i + 1;
        let is_hot = hot(&locs[i]);
        while j < locs.len() && hot(&locs[j]) == is_hot {
            j += 1;
        }
        let go = if is_hot {
            read_hot_lines(src, segs, &locs[i..j], f)?
        } else {
            read_cold_lines(src, segs, &locs[i..j], f)?
        };
        if !go {
            return Ok(false);
        }
        i = j;
    }
    Ok(true)
}

/// Lines from the cold tier, in the order of `locs`; purged records are skipped.
fn read_cold_lines(
    src: &Source,
    segs: &Segments,
    locs: &[Loc],
    f: &mut dyn FnMut(u64, &[u8]) -> Result<bool>,
) -> Result<bool> {
    let Some(cold) = src.cold() else {
        return Err(Error::Stale {
            reason: format!(
                "record {} is in the archive, which is not open",
                locs[0].seq
            ),
        });
    };
    let wants: Vec<(u64, u64)> = locs
        .iter()
        .filter(|l| matches!(segs.kinds.get(l.segment), Some(SegKind::Cold { .. })))
        .map(|l| (l.seq, cold_place(l.offset)))
        .collect();
    let mut lines: HashMap<u64, Vec<u8>> = HashMap::with_capacity(wants.len());
    cold.read_placed(&wants, &mut |seq, line| {
        match parse_header(line) {
            Ok(h) if h.seq == seq => {}
            _ => {
                return Err(tradetrail_journal::Error::Cold {
                    seq,
                    reason: "the archive gave a line that is not this record".into(),
                })
            }
        }
        lines.insert(seq, line.to_vec());
        Ok(())
    })
    .map_err(|e| match e {
        // The archive moved on (a purge deleted a file): reopen and list it again.
        tradetrail_journal::Error::Cold { reason, .. } if reason.contains("No such file") => {
            src.forget_cold();
            Error::Stale { reason }
        }
        e => e.into(),
    })?;
    for (seq, _) in wants {
        if let Some(line) = lines.get(&seq) {
            if !f(seq, line)? {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

fn read_hot_lines(
    src: &Source,
    segs: &Segments,
    locs: &[Loc],
    f: &mut dyn FnMut(u64, &[u8]) -> Result<bool>,
) -> Result<bool> {
    let mut i = 0;
    while i < locs.len() {
        // A group: same segment, increasing offsets, small gaps, bounded size.
        let first = locs[i];
        let start = first.offset;
        let mut end = first.offset + u64::from(first.len);
        let mut j = i + 1;
        while j < locs.len() {
            let l = locs[j];
            let l_end = l.offset + u64::from(l.len);
            if l.segment != first.segment
                || l.offset < end
                || l.offset - end > COALESCE_GAP
                || l_end - start > MAX_READ
            {
                break;
            }
            end = l_end;
            j += 1;
        }
        let path = segs.paths.get(first.segment).ok_or_else(|| Error::Stale {
            reason: format!("no segment file for record {}", first.seq),
        })?;
        let buf = src
            .read_at(path, start, (end - start) as usize)
            .map_err(|e| tradetrail_journal::Error::Io {
                path: path.clone(),
                op: "read",
                source: e,
            })?;
        if (buf.len() as u64) < end - start {
            return Err(Error::Stale {
                reason: format!(
                    "{} ends before record {} (byte {end})",
                    path.display(),
                    locs[j - 1].seq
                ),
            });
        }
        for l in &locs[i..j] {
            let a = (l.offset - start) as usize;
            let line = &buf[a..a + l.len as usize];
            match parse_header(line) {
                Ok(h) if h.seq == l.seq => {}
                _ => {
                    return Err(Error::Stale {
                        reason: format!(
                            "record {} is not at byte {} of {}",
                            l.seq,
                            l.offset,
                            path.display()
                        ),
                    })
                }
            }
            if !f(l.seq, line)? {
                return Ok(false);
            }
        }
        i = j;
    }
    Ok(true)
}
