//! Postings: for each id key, the records that carry the id.
//!
//! A posting is a pair `(key, value)` with `value = seq << 1 | is_entity`: the record
//! `seq` names the id as its `entity.id` (bit set) or in its `refs`. New postings
//! collect in memory; a flush writes them as a *run* — a file of pairs sorted by
//! `(key, value)` plus a *fence* file with the first key of every 4 KiB block — and
//! runs are merged two by two whenever the newer one is at least half the size of the
//! one before it, so a journal of n records has O(log n) runs. A lookup reads the
//! fence (kept in memory) and then the one or few blocks that can hold the key: a
//! positioned read per run, whatever the journal's length.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::sums::{Depth, FileSum, Summer};
use crate::{Error, Result};

/// Postings per fence block (16 bytes each: 4 KiB).
const BLOCK: usize = 256;
const ENTRY: usize = 16;

/// Keys are already well-mixed hashes: use them as they are.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type IdentityMap<V> = HashMap<u64, V, BuildHasherDefault<IdentityHasher>>;

/// A fast hasher for the dictionaries' short strings and combos (FxHash's
/// multiply-rotate): the index interns eight values per record, and SipHash's
/// resistance to chosen collisions buys nothing for values the journal already holds.
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }
    fn write_u32(&mut self, n: u32) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        self.0 = (self.0.rotate_left(5) ^ u64::from(n)).wrapping_mul(K);
    }
    fn finish(&self) -> u64 {
        // Spread the low bits into the high ones hashbrown uses for its tags.
        self.0 ^ (self.0 >> 29)
    }
}

pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// One run on disk.
#[derive(Debug)]
pub(crate) struct Run {
    pub id: u64,
    pub entries: u64,
    path: PathBuf,
    file: File,
    fence: Vec<u64>,
    /// Checksums of the run file and of the fence file (`meta.json` records them).
    pub post_sum: FileSum,
    pub fence_sum: FileSum,
}

pub(crate) fn run_file_name(id: u64) -> String {
    format!("run-{id:016x}.post")
}

fn fence_file_name(id: u64) -> String {
    format!("run-{id:016x}.fence")
}

/// The run id of a file name (`run-<16 hex>.post` or `.fence`).
pub(crate) fn parse_run_file_name(name: &str) -> Option<u64> {
    let hex = name
        .strip_prefix("run-")?
        .strip_suffix(".post")
        .or_else(|| name.strip_prefix("run-")?.strip_suffix(".fence"))?;
    (hex.len() == 16)
        .then(|| u64::from_str_radix(hex, 16).ok())
        .flatten()
}

impl Run {
    /// Opens a run the meta file lists; `None` if its files are missing or the wrong size.
    pub fn open(dir: &Path, id: u64, entries: u64) -> Result<Option<Run>> {
        let path = dir.join(run_file_name(id));
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&path, e)),
        };
        let len = file.metadata().map_err(|e| Error::io(&path, e))?.len();
        if len != entries * ENTRY as u64 {
            return Ok(None);
        }
        let fpath = dir.join(fence_file_name(id));
        let fence_bytes = match std::fs::read(&fpath) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&fpath, e)),
        };
        let blocks = (entries as usize).div_ceil(BLOCK);
        if fence_bytes.len() != blocks * 8 {
            return Ok(None);
        }
        let fence = fence_bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect();
        Ok(Some(Run {
            id,
            entries,
            path,
            file,
            fence,
            post_sum: FileSum::default(),
            fence_sum: FileSum::default(),
        }))
    }

    /// Appends the values posted under `key`.
    pub fn lookup(&self, key: u64, out: &mut Vec<u64>) -> Result<()> {
        if self.entries == 0 {
            return Ok(());
        }
        // Blocks whose first key is > key hold nothing for it; the block before the
        // first one whose first key is >= key may end with it.
        let first = self.fence.partition_point(|&k| k < key).saturating_sub(1);
        let end = self.fence.partition_point(|&k| k <= key);
        if end <= first {
            return Ok(());
        }
        let start_entry = first * BLOCK;
        let end_entry = (end * BLOCK).min(self.entries as usize);
        let mut buf = vec![0u8; (end_entry - start_entry) * ENTRY];
        self.file
            .read_exact_at(&mut buf, (start_entry * ENTRY) as u64)
            .map_err(|e| Error::io(&self.path, e))?;
        for e in buf.chunks_exact(ENTRY) {
            let k = u64::from_le_bytes(e[..8].try_into().expect("8 bytes"));
            if k == key {
                out.push(u64::from_le_bytes(e[8..].try_into().expect("8 bytes")));
            } else if k > key {
                break;
            }
        }
        Ok(())
    }

    /// Writes sorted pairs as run `id` and syncs it.
    pub fn write(dir: &Path, id: u64, sorted: &[(u64, u64)]) -> Result<Run> {
        let mut w = RunWriter::create(dir, id)?;
        for &(k, v) in sorted {
            w.push(k, v)?;
        }
        w.finish()
    }

    /// Merges two runs into a new run `id` (streaming, in 1 MiB reads).
    pub fn merge(dir: &Path, id: u64, a: &Run, b: &Run) -> Result<Run> {
        let mut w = RunWriter::create(dir, id)?;
        let mut ra = RunReader::new(a);
        let mut rb = RunReader::new(b);
        let mut x = ra.next()?;
        let mut y = rb.next()?;
        loop {
            match (x, y) {
                (Some(p), Some(q)) => {
                    if p <= q {
                        w.push(p.0, p.1)?;
                        x = ra.next()?;
                    } else {
                        w.push(q.0, q.1)?;
                        y = rb.next()?;
                    }
                }
                (Some(p), None) => {
                    w.push(p.0, p.1)?;
                    x = ra.next()?;
                }
                (None, Some(q)) => {
                    w.push(q.0, q.1)?;
                    y = rb.next()?;
                }
                (None, None) => break,
            }
        }
        w.finish()
    }

    /// Checks the run file (its last chunk, or all of it) and the fence (read whole
    /// on open, so always all of it) against `post_sum` and `fence_sum`.
    pub fn check(&self, depth: Depth) -> Result<Option<String>> {
        let mut fb = Vec::with_capacity(self.fence.len() * 8);
        for k in &self.fence {
            fb.extend_from_slice(&k.to_le_bytes());
        }
        if let Some(bad) = self.fence_sum.check_bytes(&fence_file_name(self.id), &fb) {
            return Ok(Some(bad));
        }
        self.post_sum
            .check_file(&run_file_name(self.id), &self.file, &self.path, depth)
    }

    /// Bytes on disk (run and fence).
    pub fn disk_bytes(&self) -> u64 {
        self.entries * ENTRY as u64 + self.fence.len() as u64 * 8
    }

    /// Every pair, in order (tests and dumps).
    pub fn all(&self) -> Result<Vec<(u64, u64)>> {
        let mut r = RunReader::new(self);
        let mut v = Vec::with_capacity(self.entries as usize);
        while let Some(p) = r.next()? {
            v.push(p);
        }
        Ok(v)
    }

    /// Deletes a run's files (after the meta file stopped listing it).
    pub fn remove_files(dir: &Path, id: u64) {
        let _ = std::fs::remove_file(dir.join(run_file_name(id)));
        let _ = std::fs::remove_file(dir.join(fence_file_name(id)));
    }
}

struct RunWriter {
    id: u64,
    dir: PathBuf,
    path: PathBuf,
    out: BufWriter<File>,
    fence: Vec<u64>,
    entries: u64,
    sum: Summer,
}

impl RunWriter {
    fn create(dir: &Path, id: u64) -> Result<RunWriter> {
        let path = dir.join(run_file_name(id));
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        Ok(RunWriter {
            id,
            dir: dir.to_path_buf(),
            path,
            out: BufWriter::with_capacity(1 << 20, f),
            fence: Vec::new(),
            entries: 0,
            sum: Summer::default(),
        })
    }

    fn push(&mut self, k: u64, v: u64) -> Result<()> {
        if self.entries.is_multiple_of(BLOCK as u64) {
            self.fence.push(k);
        }
        let mut e = [0u8; ENTRY];
        e[..8].copy_from_slice(&k.to_le_bytes());
        e[8..].copy_from_slice(&v.to_le_bytes());
        self.out
            .write_all(&e)
            .map_err(|e| Error::io(&self.path, e))?;
        self.sum.update(&e);
        self.entries += 1;
        Ok(())
    }

    fn finish(self) -> Result<Run> {
        let path = self.path;
        let file = self
            .out
            .into_inner()
            .map_err(|e| Error::io(&path, e.into_error()))?;
        file.sync_data().map_err(|e| Error::io(&path, e))?;
        let fpath = self.dir.join(fence_file_name(self.id));
        let mut fb = Vec::with_capacity(self.fence.len() * 8);
        for k in &self.fence {
            fb.extend_from_slice(&k.to_le_bytes());
        }
        write_synced(&fpath, &fb)?;
        Ok(Run {
            id: self.id,
            entries: self.entries,
            path,
            file,
            fence: self.fence,
            post_sum: self.sum.finish(),
            fence_sum: FileSum::of(&fb),
        })
    }
}

/// Writes a whole file and syncs it.
pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |e| Error::io(path, e);
    let mut f = File::create(path).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_data().map_err(io)?;
    Ok(())
}

struct RunReader<'a> {
    run: &'a Run,
    buf: Vec<u8>,
    pos: usize,
    next_entry: u64,
}

impl<'a> RunReader<'a> {
    fn new(run: &'a Run) -> RunReader<'a> {
        RunReader {
            run,
            buf: Vec::new(),
            pos: 0,
            next_entry: 0,
        }
    }

    fn next(&mut self) -> Result<Option<(u64, u64)>> {
        if self.pos >= self.buf.len() {
            if self.next_entry >= self.run.entries {
                return Ok(None);
            }
            let n = (self.run.entries - self.next_entry).min(65_536) as usize;
            self.buf.resize(n * ENTRY, 0);
            self.run
                .file
                .read_exact_at(&mut self.buf, self.next_entry * ENTRY as u64)
                .map_err(|e| Error::io(&self.run.path, e))?;
            self.next_entry += n as u64;
            self.pos = 0;
        }
        let e = &self.buf[self.pos..self.pos + ENTRY];
        self.pos += ENTRY;
        Ok(Some((
            u64::from_le_bytes(e[..8].try_into().expect("8 bytes")),
            u64::from_le_bytes(e[8..].try_into().expect("8 bytes")),
        )))
    }
}

/// Postings not flushed yet.
#[derive(Debug, Default)]
pub(crate) struct MemPostings {
    map: IdentityMap<Vec<u64>>,
    entries: usize,
}

impl MemPostings {
    pub fn add(&mut self, key: u64, value: u64) {
        self.map.entry(key).or_default().push(value);
        self.entries += 1;
    }

    pub fn lookup(&self, key: u64, out: &mut Vec<u64>) {
        if let Some(v) = self.map.get(&key) {
            out.extend_from_slice(v);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Every pair, sorted, leaving the table as it is (tests and dumps).
    pub fn sorted(&self) -> Vec<(u64, u64)> {
        let mut v: Vec<(u64, u64)> = self
            .map
            .iter()
            .flat_map(|(k, vals)| vals.iter().map(move |x| (*k, *x)))
            .collect();
        v.sort_unstable();
        v
    }
}

/// Whether the two newest runs should be merged (see the module docs).
pub(crate) fn should_merge(runs: &[Run]) -> bool {
    match runs {
        [.., a, b] => a.entries <= 2 * b.entries,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_finds_every_value_across_block_edges() {
        let dir = tempfile::tempdir().unwrap();
        // Key 5 spans several blocks; key 9 sits at a block edge.
        let mut pairs: Vec<(u64, u64)> = (0..1000).map(|i| (5, i)).collect();
        pairs.extend((0..300).map(|i| (3, i)));
        pairs.extend((0..10).map(|i| (9, i)));
        pairs.extend((0..700).map(|i| (100 + i, i)));
        pairs.sort_unstable();
        let run = Run::write(dir.path(), 1, &pairs).unwrap();
        let reopened = Run::open(dir.path(), 1, pairs.len() as u64)
            .unwrap()
            .unwrap();
        for r in [&run, &reopened] {
            for key in [3u64, 5, 9, 100, 799, 4, 0, 10_000] {
                let mut got = Vec::new();
                r.lookup(key, &mut got).unwrap();
                let want: Vec<u64> = pairs.iter().filter(|p| p.0 == key).map(|p| p.1).collect();
                assert_eq!(got, want, "key {key}");
            }
        }
        assert!(Run::open(dir.path(), 1, pairs.len() as u64 + 1)
            .unwrap()
            .is_none());
    }

    #[test]
    fn merge_keeps_order() {
        let dir = tempfile::tempdir().unwrap();
        let a: Vec<(u64, u64)> = (0..700).map(|i| (i % 50, i)).collect::<Vec<_>>();
        let mut a = a;
        a.sort_unstable();
        let mut b: Vec<(u64, u64)> = (700..1000).map(|i| (i % 70, i)).collect();
        b.sort_unstable();
        let ra = Run::write(dir.path(), 1, &a).unwrap();
        let rb = Run::write(dir.path(), 2, &b).unwrap();
        let m = Run::merge(dir.path(), 3, &ra, &rb).unwrap();
        let mut want = a.clone();
        want.extend(&b);
        want.sort_unstable();
        assert_eq!(m.all().unwrap(), want);
        assert_eq!(parse_run_file_name(&run_file_name(3)), Some(3));
        assert_eq!(parse_run_file_name("run-0000000000000003.fence"), Some(3));
        assert_eq!(parse_run_file_name("run-3.post"), None);
    }
}
