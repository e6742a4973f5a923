//! A storage wrapper that fails its k-th operation.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tradetrail_journal::{SegmentFile, Storage};

#[derive(Debug)]
struct Counter {
    ops: AtomicU64,
    fail_at: AtomicU64,
    /// The raw OS error to fail with (5 = EIO, 28 = ENOSPC).
    errno: i32,
}

impl Counter {
    /// Counts one operation; errors if it is the one to fail.
    fn tick(&self, what: &str) -> io::Result<()> {
        let n = self.ops.fetch_add(1, Ordering::SeqCst);
        if n == self.fail_at.load(Ordering::SeqCst) {
            let e = io::Error::from_raw_os_error(self.errno);
            // Keep the kind (StorageFull for ENOSPC) so callers classify it as the real one.
            return Err(io::Error::new(
                e.kind(),
                format!("injected failure of operation {n} ({what}): {e}"),
            ));
        }
        Ok(())
    }
}

/// Wraps a storage and fails operation number `fail_at` (0-based, counting every
/// storage and file call). With `fail_at = u64::MAX` it only counts.
#[derive(Debug, Clone)]
pub struct FaultStorage {
    inner: Arc<dyn Storage>,
    counter: Arc<Counter>,
}

impl FaultStorage {
    /// Fails operation `fail_at` with EIO.
    pub fn new(inner: Arc<dyn Storage>, fail_at: u64) -> FaultStorage {
        FaultStorage::with_errno(inner, fail_at, 5)
    }

    /// Fails operation `fail_at` with the given raw OS error (28 is ENOSPC).
    pub fn with_errno(inner: Arc<dyn Storage>, fail_at: u64, errno: i32) -> FaultStorage {
        FaultStorage {
            inner,
            counter: Arc::new(Counter {
                ops: AtomicU64::new(0),
                fail_at: AtomicU64::new(fail_at),
                errno,
            }),
        }
    }

    /// Operations counted so far.
    pub fn ops(&self) -> u64 {
        self.counter.ops.load(Ordering::SeqCst)
    }

    /// Moves the failure point (counted from the start, not from now).
    pub fn set_fail_at(&self, fail_at: u64) {
        self.counter.fail_at.store(fail_at, Ordering::SeqCst);
    }
}

#[derive(Debug)]
struct FaultFile {
    inner: Box<dyn SegmentFile>,
    counter: Arc<Counter>,
}

impl SegmentFile for FaultFile {
    fn append(&self, buf: &[u8]) -> io::Result<()> {
        self.counter.tick("append")?;
        self.inner.append(buf)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.counter.tick("sync_data")?;
        self.inner.sync_data()
    }
}

impl Storage for FaultStorage {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.counter.tick("create_dir_all")?;
        self.inner.create_dir_all(path)
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        self.counter.tick("list_dir")?;
        self.inner.list_dir(path)
    }
    fn exists(&self, path: &Path) -> io::Result<bool> {
        self.counter.tick("exists")?;
        self.inner.exists(path)
    }
    fn len(&self, path: &Path) -> io::Result<u64> {
        self.counter.tick("len")?;
        self.inner.len(path)
    }
    fn read_at(&self, path: &Path, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        self.counter.tick("read_at")?;
        self.inner.read_at(path, offset, len)
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.counter.tick("read")?;
        self.inner.read(path)
    }
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn SegmentFile>> {
        self.counter.tick("open_append")?;
        let inner = self.inner.open_append(path)?;
        Ok(Box::new(FaultFile {
            inner,
            counter: self.counter.clone(),
        }))
    }
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        self.counter.tick("truncate")?;
        self.inner.truncate(path, len)
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.counter.tick("sync_dir")?;
        self.inner.sync_dir(path)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.counter.tick("remove_file")?;
        self.inner.remove_file(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.counter.tick("rename")?;
        self.inner.rename(from, to)
    }
    fn available_space(&self, path: &Path) -> io::Result<u64> {
        self.inner.available_space(path)
    }
    fn lock_dir(&self, dir: &Path) -> io::Result<tradetrail_journal::DirLock> {
        // Not counted: the lock is taken before any journal I/O.
        self.inner.lock_dir(dir)
    }
}
