//! Fixed-width columns: one value per record, indexed by `seq`.
//!
//! Rows `[0, persisted)` live in a file (little-endian, `T::SIZE` bytes each) that is
//! only ever appended to; rows after that live in memory until the next flush. Reads
//! of a range go to whichever part holds it, with one positioned read for the file
//! part, so a query touches only the rows it needs and opening costs nothing.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use crate::sums::{Depth, FileSum};
use crate::{Error, Result};

/// A value stored in a column.
pub(crate) trait Fixed: Copy + Default {
    const SIZE: usize;
    fn put(self, out: &mut Vec<u8>);
    fn get(b: &[u8]) -> Self;
}

impl Fixed for i64 {
    const SIZE: usize = 8;
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn get(b: &[u8]) -> Self {
        i64::from_le_bytes(b[..8].try_into().expect("8 bytes"))
    }
}

impl Fixed for u64 {
    const SIZE: usize = 8;
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn get(b: &[u8]) -> Self {
        u64::from_le_bytes(b[..8].try_into().expect("8 bytes"))
    }
}

impl Fixed for u32 {
    const SIZE: usize = 4;
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn get(b: &[u8]) -> Self {
        u32::from_le_bytes(b[..4].try_into().expect("4 bytes"))
    }
}

/// One column.
#[derive(Debug)]
pub(crate) struct Column<T> {
    path: PathBuf,
    file: Option<File>,
    persisted: u64,
    mem: Vec<T>,
}

impl<T: Fixed> Column<T> {
    /// A column whose first `persisted` rows are in `file` (checked to be long enough).
    pub fn open(path: PathBuf, file: Option<File>, persisted: u64) -> Result<Option<Column<T>>> {
        if let Some(f) = &file {
            let len = f.metadata().map_err(|e| Error::io(&path, e))?.len();
            if len < persisted * T::SIZE as u64 {
                return Ok(None);
            }
        } else if persisted > 0 {
            return Ok(None);
        }
        Ok(Some(Column {
            path,
            file,
            persisted,
            mem: Vec::new(),
        }))
    }

    /// Rows in the column.
    pub fn len(&self) -> u64 {
        self.persisted + self.mem.len() as u64
    }

    pub fn push(&mut self, v: T) {
        self.mem.push(v);
    }

    /// Appends rows `[start, end)` to `out`.
    pub fn read_into(&self, start: u64, end: u64, out: &mut Vec<T>) -> Result<()> {
        debug_assert!(start <= end && end <= self.len());
        if start < self.persisted {
            let file_end = end.min(self.persisted);
            let n = (file_end - start) as usize;
            let mut buf = vec![0u8; n * T::SIZE];
            let f = self.file.as_ref().expect("a persisted column has a file");
            f.read_exact_at(&mut buf, start * T::SIZE as u64)
                .map_err(|e| Error::io(&self.path, e))?;
            out.reserve(n);
            out.extend(buf.chunks_exact(T::SIZE).map(T::get));
        }
        if end > self.persisted {
            let from = start.max(self.persisted) - self.persisted;
            let to = end - self.persisted;
            out.extend_from_slice(&self.mem[from as usize..to as usize]);
        }
        Ok(())
    }

    /// Rows `[start, end)`.
    pub fn read(&self, start: u64, end: u64) -> Result<Vec<T>> {
        let mut v = Vec::with_capacity((end - start) as usize);
        self.read_into(start, end, &mut v)?;
        Ok(v)
    }

    /// One row.
    pub fn get(&self, row: u64) -> Result<T> {
        if row >= self.persisted {
            return Ok(self.mem[(row - self.persisted) as usize]);
        }
        let mut buf = [0u8; 8];
        let f = self.file.as_ref().expect("a persisted column has a file");
        f.read_exact_at(&mut buf[..T::SIZE], row * T::SIZE as u64)
            .map_err(|e| Error::io(&self.path, e))?;
        Ok(T::get(&buf))
    }

    /// The in-memory rows as bytes, for a flush.
    pub fn unflushed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.mem.len() * T::SIZE);
        for v in &self.mem {
            v.put(&mut out);
        }
        out
    }

    /// Writes the in-memory rows after the persisted ones (cutting whatever an
    /// interrupted flush left beyond them) and syncs. The caller then records the new
    /// length and the returned checksums (`sum` extended by the new rows) in the meta
    /// file; until it does, readers ignore the new bytes.
    pub fn write_unflushed(&mut self, sum: &FileSum) -> Result<FileSum> {
        let bytes = self.unflushed_bytes();
        let f = self.file.as_ref().ok_or_else(|| {
            Error::io(
                &self.path,
                std::io::Error::other("the column was opened without a file"),
            )
        })?;
        let at = self.persisted * T::SIZE as u64;
        let io = |e| Error::io(&self.path, e);
        f.set_len(at).map_err(io)?;
        if !bytes.is_empty() {
            f.write_all_at(&bytes, at).map_err(io)?;
            f.sync_data().map_err(io)?;
        }
        sum.extended(f, &self.path, at, &bytes)
    }

    /// Checks the persisted rows against their checksums (see [`FileSum::check_file`]).
    pub fn check(&self, name: &str, sum: &FileSum, depth: Depth) -> Result<Option<String>> {
        match &self.file {
            Some(f) => sum.check_file(name, f, &self.path, depth),
            None if sum.len == 0 => Ok(None),
            None => Ok(Some(format!("{name} is missing"))),
        }
    }

    /// After the meta file recorded the flush: the in-memory rows are on disk.
    pub fn mark_flushed(&mut self) {
        self.persisted += self.mem.len() as u64;
        self.mem.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_rw(p: &std::path::Path) -> File {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(p)
            .unwrap()
    }

    #[test]
    fn file_and_memory_parts_read_as_one() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.col");
        let mut c = Column::<i64>::open(p.clone(), Some(open_rw(&p)), 0)
            .unwrap()
            .unwrap();
        for i in 0..10 {
            c.push(i * 3);
        }
        let sum = c.write_unflushed(&FileSum::default()).unwrap();
        c.mark_flushed();
        for i in 10..15 {
            c.push(i * 3);
        }
        assert_eq!(c.len(), 15);
        assert_eq!(c.read(8, 12).unwrap(), vec![24, 27, 30, 33]);
        assert_eq!(c.get(3).unwrap(), 9);
        assert_eq!(c.get(14).unwrap(), 42);
        // Garbage left by an interrupted flush is cut before the next write.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .and_then(|mut f| std::io::Write::write_all(&mut f, b"junk"))
            .unwrap();
        let sum = c.write_unflushed(&sum).unwrap();
        c.mark_flushed();
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 15 * 8);
        let bytes: Vec<u8> = (0..15i64).flat_map(|i| (i * 3).to_le_bytes()).collect();
        assert_eq!(sum, FileSum::of(&bytes));
        let again = Column::<i64>::open(p.clone(), Some(open_rw(&p)), 15)
            .unwrap()
            .unwrap();
        assert_eq!(
            again.read(0, 15).unwrap(),
            (0..15).map(|i| i * 3).collect::<Vec<_>>()
        );
        assert!(Column::<i64>::open(p.clone(), Some(open_rw(&p)), 16)
            .unwrap()
            .is_none());
    }
}
