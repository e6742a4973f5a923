//! All file I/O of the journal goes through [`Storage`], so tests can put a
//! fault-injecting or crash-simulating double underneath (see `tradetrail-testkit`).

use std::fmt::Debug;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// A file the journal appends to.
///
/// Methods take `&self`: one thread may write while another calls `sync_data`
/// (Linux allows `write` and `fdatasync` on one descriptor at once).
pub trait SegmentFile: Send + Sync + Debug {
    /// Appends all of `buf` at the end of the file.
    fn append(&self, buf: &[u8]) -> io::Result<()>;
    /// Makes every appended byte durable (`fdatasync`).
    fn sync_data(&self) -> io::Result<()>;
}

/// The file system as the journal uses it.
pub trait Storage: Send + Sync + Debug {
    /// Creates a directory and its parents.
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    /// Names of the entries of a directory (not sorted).
    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>>;
    /// Whether a file or directory exists.
    fn exists(&self, path: &Path) -> io::Result<bool>;
    /// The length of a file in bytes.
    fn len(&self, path: &Path) -> io::Result<u64>;
    /// Reads `len` bytes at `offset` (fewer if the file ends first).
    fn read_at(&self, path: &Path, offset: u64, len: usize) -> io::Result<Vec<u8>>;
    /// Reads a whole file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Opens a file for appending, creating it if missing.
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn SegmentFile>>;
    /// Cuts a file to `len` bytes and makes the new length durable.
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()>;
    /// Makes the entries of a directory (created files) durable.
    fn sync_dir(&self, path: &Path) -> io::Result<()>;
    /// Removes a file (durable once its directory is synced).
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Renames a file, replacing `to` if it exists (atomic within a directory;
    /// durable once the directory is synced).
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Replaces the file `path` with `bytes` so that a crash at any point leaves the
    /// old content or the new, never a mix or a torn file: the bytes go to a
    /// temporary file beside it (`.<name>.tmp-<pid>-<n>`: hidden, so directory
    /// listings and backups that skip dot-files never see it half-written), which is synced, renamed over `path`,
    /// and the directory is synced. The one durable write of small files (the
    /// configuration, checkpoints, archive manifests, tokens, backups' copies): built
    /// on the other calls, so fault-injecting and crash-simulating storages test it
    /// as they test the journal.
    fn write_atomically(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let name = path
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
        // A name no other writer (process or thread) uses at the same time.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        // Hidden (a leading dot) and marked, so listings and backups skip it.
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(
            ".tmp-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let tmp = path.with_file_name(tmp_name);
        if self.exists(&tmp)? {
            self.remove_file(&tmp)?;
        }
        let written = self.open_append(&tmp).and_then(|f| {
            f.append(bytes)?;
            f.sync_data()
        });
        if let Err(e) = written.and_then(|()| self.rename(&tmp, path)) {
            let _ = self.remove_file(&tmp);
            return Err(e);
        }
        match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => self.sync_dir(dir),
            _ => self.sync_dir(Path::new(".")),
        }
    }
    /// Free bytes on the file system holding `path`.
    fn available_space(&self, path: &Path) -> io::Result<u64>;
    /// Takes an exclusive advisory lock on a directory, so two processes never append
    /// to one journal. Held until the returned guard is dropped (or the process dies).
    /// Fails with `WouldBlock` when someone else holds it. Doubles may do nothing.
    fn lock_dir(&self, dir: &Path) -> io::Result<DirLock> {
        let _ = dir;
        Ok(DirLock(None))
    }
}

/// A held directory lock (see [`Storage::lock_dir`]); released on drop.
#[derive(Debug)]
pub struct DirLock(pub Option<Box<dyn Debug + Send + Sync>>);

/// The real file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct FsStorage;

#[derive(Debug)]
struct FsFile(File);

impl SegmentFile for FsFile {
    fn append(&self, buf: &[u8]) -> io::Result<()> {
        // Opened with O_APPEND: every write lands at the end.
        (&self.0).write_all(buf)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }
}

impl Storage for FsStorage {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        fs::create_dir_all(path)
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(path)? {
            out.push(entry?.file_name().to_string_lossy().into_owned());
        }
        Ok(out)
    }
    fn exists(&self, path: &Path) -> io::Result<bool> {
        path.try_exists()
    }
    fn len(&self, path: &Path) -> io::Result<u64> {
        Ok(fs::metadata(path)?.len())
    }
    fn read_at(&self, path: &Path, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let mut f = File::open(path)?;
        f.seek(SeekFrom::Start(offset))?;
        let mut buf = Vec::with_capacity(len);
        f.take(len as u64).read_to_end(&mut buf)?;
        Ok(buf)
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        fs::read(path)
    }
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn SegmentFile>> {
        let f = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Box::new(FsFile(f)))
    }
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let f = OpenOptions::new().write(true).open(path)?;
        f.set_len(len)?;
        f.sync_all()
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        File::open(path)?.sync_all()
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }
    fn available_space(&self, path: &Path) -> io::Result<u64> {
        let st = rustix::fs::statvfs(path)?;
        Ok(st.f_bavail.saturating_mul(st.f_frsize))
    }
    fn lock_dir(&self, dir: &Path) -> io::Result<DirLock> {
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(LOCK_FILE))?;
        rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive)?;
        Ok(DirLock(Some(Box::new(f))))
    }
}

/// The lock file in the journal directory (empty; only its `flock` matters).
pub const LOCK_FILE: &str = "LOCK";
