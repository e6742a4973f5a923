//! Checksums of the index files, recorded in `meta.json` by the flush that wrote them.
//!
//! Each file's meta-counted prefix is cut into [`CHUNK`]-byte chunks and each chunk
//! has its own XXH3-64. Chunks suit how the index writes: the columns, zones and
//! dictionaries only ever grow at the end, so a flush re-hashes just the last
//! (partial) chunk and the new ones, never the whole file; and an open can check the
//! chunk that catch-up appends to without reading the rest (see `docs/query.md`).
//!
//! Why XXH3 and not SHA-256: these checksums are there to catch accidental damage
//! (a torn or flipped sector, a restore that mixed files) and naive edits of a file
//! with the meta left as it was. Anyone who edits a file *and* recomputes its
//! checksums in `meta.json` gets past them; that is caught by [`crate::check_index`],
//! which compares the index with the journal itself. So the hash only needs to be
//! fast: XXH3 runs at memory speed (several GB/s), where SHA-256 would add
//! milliseconds to every CLI call that opens a large index. It is already compiled
//! for lz4/parquet (`twox-hash` in Cargo.lock).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use twox_hash::XxHash3_64;

use crate::{Error, Result};

/// Bytes per checksummed chunk. Small enough that checking the last chunk of every
/// file on open stays well under a millisecond; large enough that `meta.json` holds
/// a few hundred numbers for a million records.
pub(crate) const CHUNK: u64 = 128 << 10;

/// The checksums of a file's first `len` bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileSum {
    /// Bytes covered (what `meta.json` counts as valid).
    pub len: u64,
    /// XXH3-64 of bytes `[i * CHUNK, min((i + 1) * CHUNK, len))`, one per chunk.
    pub xxh3: Vec<u64>,
}

/// How much of a file to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Depth {
    /// Only the last chunk: where catch-up appends, and all of a small file.
    Tail,
    /// Every chunk.
    Full,
}

fn hash(b: &[u8]) -> u64 {
    XxHash3_64::oneshot(b)
}

/// Builds a [`FileSum`] from bytes fed in order.
#[derive(Debug, Default)]
pub(crate) struct Summer {
    sum: FileSum,
    cur: Vec<u8>,
}

impl Summer {
    pub fn update(&mut self, mut b: &[u8]) {
        while !b.is_empty() {
            let room = CHUNK as usize - self.cur.len();
            let n = room.min(b.len());
            if self.cur.is_empty() && n == CHUNK as usize {
                // A whole chunk: hash in place.
                self.sum.xxh3.push(hash(&b[..n]));
            } else {
                self.cur.extend_from_slice(&b[..n]);
                if self.cur.len() == CHUNK as usize {
                    self.sum.xxh3.push(hash(&self.cur));
                    self.cur.clear();
                }
            }
            self.sum.len += n as u64;
            b = &b[n..];
        }
    }

    pub fn finish(mut self) -> FileSum {
        if !self.cur.is_empty() {
            self.sum.xxh3.push(hash(&self.cur));
        }
        self.sum
    }
}

impl FileSum {
    /// The checksums of `b`.
    pub fn of(b: &[u8]) -> FileSum {
        let mut s = Summer::default();
        s.update(b);
        s.finish()
    }

    /// The checksums after `new` was written at `at` in `file` (whose bytes before
    /// `at` are the ones `self` covers): only the chunk holding `at` is read back.
    /// If `self` does not cover exactly `[0, at)`, all of `[0, at)` is read again.
    pub fn extended(&self, file: &File, path: &Path, at: u64, new: &[u8]) -> Result<FileSum> {
        let covers = self.len == at && self.xxh3.len() as u64 == at.div_ceil(CHUNK);
        if covers && new.is_empty() {
            return Ok(self.clone());
        }
        let keep = if covers { at / CHUNK } else { 0 };
        let start = keep * CHUNK;
        let mut s = Summer {
            sum: FileSum {
                len: start,
                xxh3: self.xxh3[..keep as usize].to_vec(),
            },
            cur: Vec::new(),
        };
        let mut pos = start;
        while pos < at {
            let n = (at - pos).min(CHUNK);
            let mut buf = vec![0u8; n as usize];
            file.read_exact_at(&mut buf, pos)
                .map_err(|e| Error::io(path, e))?;
            s.update(&buf);
            pos += n;
        }
        s.update(new);
        Ok(s.finish())
    }

    /// Checks `bytes` (the whole covered prefix, already in memory): `None` when they
    /// match, else what does not.
    pub fn check_bytes(&self, name: &str, bytes: &[u8]) -> Option<String> {
        if bytes.len() as u64 != self.len {
            return Some(format!(
                "{name} holds {} bytes where meta.json's checksums cover {}",
                bytes.len(),
                self.len
            ));
        }
        let want = FileSum::of(bytes);
        (want.xxh3 != self.xxh3).then(|| {
            let i = want
                .xxh3
                .iter()
                .zip(&self.xxh3)
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            mismatch(name, i as u64, self.len)
        })
    }

    /// Checks the file's chunks (the last one, or all): `Ok(None)` when they match,
    /// `Ok(Some(what))` when not, `Err` when the file cannot be read.
    pub fn check_file(
        &self,
        name: &str,
        file: &File,
        path: &Path,
        depth: Depth,
    ) -> Result<Option<String>> {
        let chunks = self.len.div_ceil(CHUNK);
        if self.xxh3.len() as u64 != chunks {
            return Ok(Some(format!(
                "meta.json has {} checksums for the {} bytes of {name}",
                self.xxh3.len(),
                self.len
            )));
        }
        let on_disk = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if on_disk < self.len {
            return Ok(Some(format!(
                "{name} is {on_disk} bytes, shorter than the {} meta.json counts",
                self.len
            )));
        }
        let first = match depth {
            Depth::Full => 0,
            Depth::Tail => chunks.saturating_sub(1),
        };
        let mut buf = Vec::new();
        for i in first..chunks {
            let start = i * CHUNK;
            let n = (self.len - start).min(CHUNK) as usize;
            buf.resize(n, 0);
            file.read_exact_at(&mut buf, start)
                .map_err(|e| Error::io(path, e))?;
            if hash(&buf) != self.xxh3[i as usize] {
                return Ok(Some(mismatch(name, i, self.len)));
            }
        }
        Ok(None)
    }
}

fn mismatch(name: &str, chunk: u64, len: u64) -> String {
    let start = chunk * CHUNK;
    let end = (start + CHUNK).min(len);
    format!("{name} bytes {start}..{end} do not match their checksum in meta.json")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn extending_equals_hashing_the_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let data: Vec<u8> = (0..(3 * CHUNK + 1000))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let mut f = std::fs::File::create(&p).unwrap();
        let mut sum = FileSum::default();
        // Appends of awkward sizes, across chunk edges.
        let mut at = 0usize;
        for step in [1usize, 5000, CHUNK as usize, 3, 2 * CHUNK as usize] {
            let end = (at + step).min(data.len());
            f.write_all(&data[at..end]).unwrap();
            let r = std::fs::File::open(&p).unwrap();
            sum = sum.extended(&r, &p, at as u64, &data[at..end]).unwrap();
            assert_eq!(sum, FileSum::of(&data[..end]), "after {end} bytes");
            at = end;
        }
        let r = std::fs::File::open(&p).unwrap();
        for depth in [Depth::Tail, Depth::Full] {
            assert_eq!(sum.check_file("f", &r, &p, depth).unwrap(), None);
        }
        // A wrong `self` is recomputed from the file, not trusted.
        let bogus = FileSum {
            len: 7,
            xxh3: vec![1],
        };
        assert_eq!(
            bogus.extended(&r, &p, at as u64, &[]).unwrap(),
            FileSum::of(&data)
        );
        // One byte changed in the first chunk: only a full check sees it; in the
        // last chunk, both do.
        let rw = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        rw.write_all_at(&[data[10] ^ 1], 10).unwrap();
        assert_eq!(sum.check_file("f", &r, &p, Depth::Tail).unwrap(), None);
        let full = sum.check_file("f", &r, &p, Depth::Full).unwrap().unwrap();
        assert!(full.contains("f bytes 0..131072"), "{full}");
        rw.write_all_at(&[data[10]], 10).unwrap();
        let last = data.len() as u64 - 1;
        rw.write_all_at(&[data[last as usize] ^ 1], last).unwrap();
        assert!(sum.check_file("f", &r, &p, Depth::Tail).unwrap().is_some());
        assert!(sum.check_bytes("f", &data).is_none());
        assert!(sum.check_bytes("f", &data[1..]).is_some());
    }
}
