//! An in-memory file system that remembers what was durable.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use tradetrail_journal::{SegmentFile, Storage};

#[derive(Debug, Clone, Default)]
struct MemFile {
    data: Vec<u8>,
    /// `data[..durable_len]` survives a crash.
    durable_len: usize,
    /// The directory entry survives a crash (its directory was synced after creation).
    entry_durable: bool,
}

#[derive(Debug, Default)]
struct MemFs {
    files: BTreeMap<PathBuf, MemFile>,
    dirs: Vec<PathBuf>,
    syncs: u64,
    fail_syncs_after: Option<u64>,
    capacity: Option<u64>,
    /// What a crash would bring back of entries removed or replaced since their
    /// directory was last synced: their durable image.
    gone: BTreeMap<PathBuf, MemFile>,
}

impl MemFile {
    /// What of this file a crash keeps, if its entry is durable.
    fn durable_image(&self) -> Option<MemFile> {
        self.entry_durable.then(|| MemFile {
            data: self.data[..self.durable_len].to_vec(),
            durable_len: self.durable_len,
            entry_durable: true,
        })
    }
}

impl MemFs {
    fn used(&self) -> u64 {
        self.files.values().map(|f| f.data.len() as u64).sum()
    }
    /// Counts a sync; false when it must fail (the simulated crash point is reached).
    fn count_sync(&mut self) -> bool {
        if let Some(limit) = self.fail_syncs_after {
            if self.syncs >= limit {
                return false;
            }
        }
        self.syncs += 1;
        true
    }
}

/// An in-memory [`Storage`] that tracks written versus durable bytes.
#[derive(Debug, Clone, Default)]
pub struct MemStorage {
    fs: Arc<Mutex<MemFs>>,
}

fn eio(what: &str) -> io::Error {
    io::Error::other(format!("simulated I/O failure: {what}"))
}

impl MemStorage {
    /// An empty file system.
    pub fn new() -> MemStorage {
        MemStorage::default()
    }

    fn lock(&self) -> MutexGuard<'_, MemFs> {
        self.fs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every sync after the first `n` fails with an I/O error and makes nothing durable:
    /// the machine "crashes" at sync point `n`.
    pub fn fail_syncs_after(&self, n: u64) {
        self.lock().fail_syncs_after = Some(n);
    }

    /// Syncs that succeeded so far (file and directory syncs).
    pub fn syncs(&self) -> u64 {
        self.lock().syncs
    }

    /// Limits the total bytes of all files: a write past it writes what fits, then
    /// fails with ENOSPC, as a real file system does.
    pub fn set_capacity(&self, bytes: u64) {
        self.lock().capacity = Some(bytes);
    }

    /// The file system as a crash would leave it: durable files with their durable
    /// bytes, plus up to `extra_unsynced` bytes of each file's unsynced tail.
    pub fn crash_image(&self, extra_unsynced: usize) -> MemStorage {
        let fs = self.lock();
        let mut files = BTreeMap::new();
        for (p, f) in &fs.gone {
            files.insert(p.clone(), f.clone());
        }
        for (p, f) in &fs.files {
            if !f.entry_durable {
                continue;
            }
            let keep = f
                .durable_len
                .saturating_add(extra_unsynced)
                .min(f.data.len());
            files.insert(
                p.clone(),
                MemFile {
                    data: f.data[..keep].to_vec(),
                    durable_len: keep,
                    entry_durable: true,
                },
            );
        }
        MemStorage {
            fs: Arc::new(Mutex::new(MemFs {
                files,
                dirs: fs.dirs.clone(),
                ..MemFs::default()
            })),
        }
    }

    /// The current bytes of a file (what a reader would see now).
    pub fn file(&self, path: &Path) -> Option<Vec<u8>> {
        self.lock().files.get(path).map(|f| f.data.clone())
    }

    /// Replaces the bytes of a file (for tamper and torn-tail tests).
    pub fn set_file(&self, path: &Path, data: Vec<u8>) {
        let mut fs = self.lock();
        let f = fs.files.entry(path.to_path_buf()).or_default();
        f.durable_len = data.len();
        f.data = data;
        f.entry_durable = true;
    }

    /// Paths of all files.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.lock().files.keys().cloned().collect()
    }
}

#[derive(Debug)]
struct MemHandle {
    fs: Arc<Mutex<MemFs>>,
    path: PathBuf,
}

impl SegmentFile for MemHandle {
    fn append(&self, buf: &[u8]) -> io::Result<()> {
        let mut fs = self.fs.lock().unwrap_or_else(|p| p.into_inner());
        let room = match fs.capacity {
            Some(cap) => cap.saturating_sub(fs.used()) as usize,
            None => usize::MAX,
        };
        let f = fs
            .files
            .get_mut(&self.path)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        if buf.len() > room {
            f.data.extend_from_slice(&buf[..room]);
            return Err(io::Error::from_raw_os_error(28));
        }
        f.data.extend_from_slice(buf);
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        let mut fs = self.fs.lock().unwrap_or_else(|p| p.into_inner());
        if !fs.count_sync() {
            return Err(eio("fdatasync"));
        }
        let f = fs
            .files
            .get_mut(&self.path)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        f.durable_len = f.data.len();
        Ok(())
    }
}

impl Storage for MemStorage {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        let mut fs = self.lock();
        if !fs.dirs.iter().any(|d| d == path) {
            fs.dirs.push(path.to_path_buf());
        }
        Ok(())
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        let fs = self.lock();
        Ok(fs
            .files
            .keys()
            .filter(|p| p.parent() == Some(path))
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect())
    }
    fn exists(&self, path: &Path) -> io::Result<bool> {
        let fs = self.lock();
        Ok(fs.files.contains_key(path) || fs.dirs.iter().any(|d| d == path || d.starts_with(path)))
    }
    fn len(&self, path: &Path) -> io::Result<u64> {
        self.lock()
            .files
            .get(path)
            .map(|f| f.data.len() as u64)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }
    fn read_at(&self, path: &Path, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let fs = self.lock();
        let f = fs
            .files
            .get(path)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        let start = (offset as usize).min(f.data.len());
        let end = start.saturating_add(len).min(f.data.len());
        Ok(f.data[start..end].to_vec())
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.lock()
            .files
            .get(path)
            .map(|f| f.data.clone())
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn SegmentFile>> {
        let mut fs = self.lock();
        if let Some(parent) = path.parent() {
            if !fs.dirs.iter().any(|d| d == parent) {
                return Err(io::Error::from(io::ErrorKind::NotFound));
            }
        }
        fs.files.entry(path.to_path_buf()).or_default();
        Ok(Box::new(MemHandle {
            fs: self.fs.clone(),
            path: path.to_path_buf(),
        }))
    }
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let mut fs = self.lock();
        if !fs.count_sync() {
            return Err(eio("truncate"));
        }
        let f = fs
            .files
            .get_mut(path)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        f.data.truncate(len as usize);
        f.durable_len = f.data.len();
        Ok(())
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        let mut fs = self.lock();
        if !fs.count_sync() {
            return Err(eio("fsync dir"));
        }
        for (p, f) in fs.files.iter_mut() {
            if p.parent() == Some(path) {
                f.entry_durable = true;
            }
        }
        fs.gone.retain(|p, _| p.parent() != Some(path));
        Ok(())
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        // Until its directory is synced, a crash brings the file back.
        let mut fs = self.lock();
        let f = fs
            .files
            .remove(path)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        if let Some(img) = f.durable_image() {
            fs.gone.entry(path.to_path_buf()).or_insert(img);
        }
        Ok(())
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        // Until the directory is synced, a crash shows the entries as they were: the
        // old file at `to` (if it was durable) and `from` (if it was).
        let mut fs = self.lock();
        let f = fs
            .files
            .remove(from)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        if let Some(img) = f.durable_image() {
            fs.gone.entry(from.to_path_buf()).or_insert(img);
        }
        if let Some(img) = fs.files.get(to).and_then(MemFile::durable_image) {
            fs.gone.entry(to.to_path_buf()).or_insert(img);
        }
        fs.files.insert(
            to.to_path_buf(),
            MemFile {
                entry_durable: false,
                ..f
            },
        );
        Ok(())
    }
    fn available_space(&self, _path: &Path) -> io::Result<u64> {
        let fs = self.lock();
        Ok(match fs.capacity {
            Some(cap) => cap.saturating_sub(fs.used()),
            None => u64::MAX / 2,
        })
    }
}
