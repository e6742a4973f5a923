//! The level files: the tree's derived, on-disk form (`DIR/index/merkle/` in the product).
//!
//! # Format
//!
//! One file per level `L` (`L = 0` is the leaves), named `level-LL.bin` with `LL` the
//! level in two decimal digits (`level-00.bin` … `level-63.bin`). Each file is a
//! 16-byte header followed by the hashes of the complete subtrees of `2^L` leaves,
//! left to right, 32 bytes each:
//!
//! ```text
//! offset  size  field
//!      0     8  magic   "TTMERKLE"
//!      8     2  version u16 little-endian, 1
//!     10     2  level   u16 little-endian, L
//!     12     4  reserved, zero
//!     16  32*k  hash 0 ‖ hash 1 ‖ … ‖ hash k-1
//! ```
//!
//! Hash `i` of level `L` is the Merkle tree hash of leaves `[i·2^L, (i+1)·2^L)`. For a
//! tree of `n` leaves level `L` holds exactly `k = n >> L` hashes, so the file lengths
//! alone say `n` and whether the levels agree. A file for a level with no hash yet may
//! be missing or hold only its header. Other files in the directory are ignored.
//!
//! # Writing and failure
//!
//! Files are only ever appended to (by [`crate::MerkleLog::flush`]) or cut shorter (by
//! [`crate::MerkleLog::truncate_to`]); [`crate::MerkleLog::save`] first removes every
//! level file and then writes all of them afresh. Level 0 is written first, then each
//! level above. A crash part-way leaves files whose lengths disagree (a torn hash, or an
//! upper level shorter or longer than `n >> L`), which [`crate::MerkleLog::open`]
//! reports as [`MerkleError::Corrupt`]. The files are derived data: the caller deletes them and
//! rebuilds the tree from the journal. Data written but not yet synced may be lost at
//! a power cut; after reopening, the caller compares the tree with the journal and
//! appends or [truncates](crate::MerkleLog::truncate_to) to match.
//!
//! Opening also recomputes the last hash of every level above 0 from the two
//! below it: a cheap check (one hash per level) that the files belong to one tree at
//! their right edge. [`crate::MerkleLog::self_check`] checks every node.
//!
//! Everything goes through plain `std::fs`: this is not the source of truth.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::MerkleError;
use crate::hash::node_bytes;

/// Magic bytes opening every level file.
pub const MAGIC: &[u8; 8] = b"TTMERKLE";
/// The format version written into every level file.
pub const FORMAT_VERSION: u16 = 1;
/// Length of the header before the first hash.
pub const HEADER_LEN: u64 = 16;

/// The file name of level `level`.
pub fn level_file_name(level: usize) -> String {
    format!("level-{level:02}.bin")
}

/// The level a file name stands for; only the exact spelling of [`level_file_name`].
fn parse_level_file_name(name: &str) -> Option<usize> {
    let digits = name.strip_prefix("level-")?.strip_suffix(".bin")?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let level = digits.parse().ok()?;
    (level_file_name(level) == name).then_some(level)
}

fn header(level: usize) -> [u8; 16] {
    let mut h = [0u8; 16];
    h[..8].copy_from_slice(MAGIC);
    h[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    // Levels stop at 64 (a u64 leaf count), far below u16::MAX.
    h[10..12].copy_from_slice(&(level as u16).to_le_bytes());
    h
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> MerkleError + '_ {
    move |source| MerkleError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn corrupt(path: &Path, reason: impl Into<String>) -> MerkleError {
    MerkleError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Reads one level file whole, checking its header and that it ends on a whole hash.
fn read_level_file(path: &Path, level: usize) -> Result<Vec<[u8; 32]>, MerkleError> {
    let mut file = File::open(path).map_err(io_error(path))?;
    let len = file.metadata().map_err(io_error(path))?.len();
    if len < HEADER_LEN {
        return Err(corrupt(
            path,
            format!("{len} bytes, shorter than the header"),
        ));
    }
    let mut head = [0u8; 16];
    file.read_exact(&mut head).map_err(io_error(path))?;
    if &head[..8] != MAGIC {
        return Err(corrupt(path, "not a level file (bad magic)"));
    }
    let version = u16::from_le_bytes([head[8], head[9]]);
    if version != FORMAT_VERSION {
        return Err(corrupt(
            path,
            format!("format version {version}, expected {FORMAT_VERSION}"),
        ));
    }
    let found_level = u16::from_le_bytes([head[10], head[11]]);
    if usize::from(found_level) != level {
        return Err(corrupt(path, format!("header says level {found_level}")));
    }
    if head[12..] != [0; 4] {
        return Err(corrupt(path, "reserved header bytes are not zero"));
    }
    let body = len - HEADER_LEN;
    if !body.is_multiple_of(32) {
        return Err(corrupt(
            path,
            format!("torn: {} bytes past the last whole hash", body % 32),
        ));
    }
    let count = usize::try_from(body / 32).map_err(|_| corrupt(path, "too large"))?;
    let mut hashes = vec![[0u8; 32]; count];
    file.read_exact(hashes.as_flattened_mut())
        .map_err(io_error(path))?;
    Ok(hashes)
}

/// Reads every level of the tree stored in `dir` and checks that they agree.
///
/// Returns the levels, level 0 first, each as long as the leaf count says, with no
/// empty level above level 0. An empty or missing directory is the empty tree.
pub(crate) fn read_levels(dir: &Path) -> Result<Vec<Vec<[u8; 32]>>, MerkleError> {
    let mut present = Vec::new();
    match fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries {
                let entry = entry.map_err(io_error(dir))?;
                if let Some(level) = entry.file_name().to_str().and_then(parse_level_file_name) {
                    present.push(level);
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error(dir)(e)),
    }
    present.sort_unstable();
    let highest = present.last().copied().unwrap_or(0);
    if highest >= 64 {
        return Err(corrupt(
            &dir.join(level_file_name(highest)),
            "level above 63",
        ));
    }

    let mut levels: Vec<Vec<[u8; 32]>> = Vec::new();
    let mut leaves = 0u64;
    for level in 0..=highest {
        let path = dir.join(level_file_name(level));
        let hashes = if present.binary_search(&level).is_ok() {
            read_level_file(&path, level)?
        } else {
            Vec::new()
        };
        let expected = if level == 0 {
            leaves = hashes.len() as u64;
            leaves
        } else {
            leaves >> level
        };
        if hashes.len() as u64 != expected {
            return Err(corrupt(
                &path,
                format!(
                    "{} hashes, but {leaves} leaves call for {expected} at level {level}",
                    hashes.len()
                ),
            ));
        }
        if level > 0 && expected > 0 {
            // The right-edge check: the last node is the hash of the two below it.
            // Two all-zero children are the placeholders under a subtree known only
            // by its hash (`MerkleLog::push_subtree`), not hashes of anything.
            let below = &levels[level - 1];
            let i = hashes.len() - 1;
            let placeholder = below[2 * i] == [0; 32] && below[2 * i + 1] == [0; 32];
            if !placeholder && node_bytes(&below[2 * i], &below[2 * i + 1]) != hashes[i] {
                return Err(corrupt(
                    &path,
                    format!("hash {i} is not the hash of its two children"),
                ));
            }
        }
        levels.push(hashes);
    }
    // Highest levels may exist as header-only files; drop them.
    while levels.len() > 1 && levels.last().is_some_and(Vec::is_empty) {
        levels.pop();
    }
    if levels.is_empty() {
        levels.push(Vec::new());
    }
    // Levels the leaf count calls for but whose files were missing were caught above
    // only up to `highest`; check the rest.
    let needed = (64 - leaves.leading_zeros()).max(1) as usize;
    if levels.len() < needed {
        let level = levels.len();
        return Err(corrupt(
            &dir.join(level_file_name(level)),
            format!(
                "missing: {leaves} leaves call for {} hashes at level {level}",
                leaves >> level
            ),
        ));
    }
    Ok(levels)
}

/// The open level files of a log, and how much of each level they hold.
#[derive(Debug)]
pub(crate) struct LevelFiles {
    dir: PathBuf,
    /// Open append handles, opened on first use.
    files: Vec<Option<File>>,
    /// Hashes of each level known to be written to its file.
    persisted: Vec<u64>,
    /// A write failed part-way: cut every file back to `persisted` before writing.
    dirty: bool,
    /// Files created since the last directory sync.
    created: bool,
}

impl LevelFiles {
    /// Attaches to `dir`, whose files hold `persisted[L]` hashes of level `L`.
    pub(crate) fn new(dir: PathBuf, persisted: Vec<u64>) -> LevelFiles {
        LevelFiles {
            dir,
            files: Vec::new(),
            persisted,
            dirty: false,
            created: false,
        }
    }

    /// The directory holding the files.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of level `level`'s file.
    pub(crate) fn path(&self, level: usize) -> PathBuf {
        self.dir.join(level_file_name(level))
    }

    fn persisted(&self, level: usize) -> u64 {
        self.persisted.get(level).copied().unwrap_or(0)
    }

    /// The append handle of `level`, creating the file (with its header) if needed.
    fn file(&mut self, level: usize) -> Result<&mut File, MerkleError> {
        if self.files.len() <= level {
            self.files.resize_with(level + 1, || None);
        }
        if self.files[level].is_none() {
            let path = self.path(level);
            let mut file = OpenOptions::new()
                .read(true)
                .append(true)
                .create(true)
                .open(&path)
                .map_err(io_error(&path))?;
            if file.metadata().map_err(io_error(&path))?.len() == 0 {
                file.write_all(&header(level)).map_err(io_error(&path))?;
                self.created = true;
            }
            self.files[level] = Some(file);
        }
        // Set just above.
        self.files[level]
            .as_mut()
            .ok_or_else(|| corrupt(&self.dir, "level file handle missing"))
    }

    /// Appends to each file the hashes of `levels` it does not hold yet, level 0 first.
    pub(crate) fn append(&mut self, levels: &[Vec<[u8; 32]>]) -> Result<(), MerkleError> {
        self.repair()?;
        if self.persisted.len() < levels.len() {
            self.persisted.resize(levels.len(), 0);
        }
        // Level 0 must exist even for the empty tree, so the directory says "a tree".
        self.file(0)?;
        for (level, hashes) in levels.iter().enumerate() {
            let from = self.persisted[level] as usize;
            if from >= hashes.len() {
                continue;
            }
            let path = self.path(level);
            let result = self.file(level).and_then(|f| {
                f.write_all(hashes[from..].as_flattened())
                    .map_err(io_error(&path))
            });
            if let Err(e) = result {
                self.dirty = true;
                return Err(e);
            }
            self.persisted[level] = hashes.len() as u64;
        }
        Ok(())
    }

    /// Cuts level `level`'s file (if any) down to `keep` hashes.
    fn cut(&mut self, level: usize, keep: u64) -> Result<(), MerkleError> {
        let path = self.path(level);
        let exists = self.files.get(level).is_some_and(Option::is_some) || path.exists();
        if !exists {
            return Ok(());
        }
        let file = self.file(level)?;
        file.set_len(HEADER_LEN + keep * 32)
            .map_err(io_error(&path))?;
        if let Some(p) = self.persisted.get_mut(level) {
            *p = (*p).min(keep);
        }
        Ok(())
    }

    /// Cuts every file to the hashes of a tree of `leaves` leaves.
    pub(crate) fn truncate(&mut self, leaves: u64) -> Result<(), MerkleError> {
        self.repair()?;
        // Upper levels first, so a crash part-way leaves levels that disagree.
        for level in (0..self.persisted.len()).rev() {
            let keep = leaves >> level;
            if self.persisted(level) > keep {
                self.cut(level, keep)?;
            }
        }
        Ok(())
    }

    /// After a failed write, cuts every file back to the hashes known to be written, so
    /// that a retried append starts on a whole hash.
    fn repair(&mut self) -> Result<(), MerkleError> {
        if self.dirty {
            for level in 0..self.files.len().max(self.persisted.len()) {
                let keep = self.persisted(level);
                self.cut(level, keep)?;
            }
            self.dirty = false;
        }
        Ok(())
    }

    /// Flushes every open file to stable storage, and the directory if files were
    /// created in it.
    pub(crate) fn sync(&mut self) -> Result<(), MerkleError> {
        for (level, file) in self.files.iter().enumerate() {
            if let Some(file) = file {
                file.sync_data()
                    .map_err(io_error(&self.dir.join(level_file_name(level))))?;
            }
        }
        if self.created {
            File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(io_error(&self.dir))?;
            self.created = false;
        }
        Ok(())
    }
}

/// Removes every level file in `dir` (creating `dir` if needed), for a fresh save.
pub(crate) fn clear_dir(dir: &Path) -> Result<(), MerkleError> {
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    for entry in fs::read_dir(dir).map_err(io_error(dir))? {
        let entry = entry.map_err(io_error(dir))?;
        if entry
            .file_name()
            .to_str()
            .and_then(parse_level_file_name)
            .is_some()
        {
            let path = entry.path();
            fs::remove_file(&path).map_err(io_error(&path))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip() {
        assert_eq!(level_file_name(0), "level-00.bin");
        assert_eq!(level_file_name(7), "level-07.bin");
        assert_eq!(parse_level_file_name("level-07.bin"), Some(7));
        assert_eq!(parse_level_file_name("level-7.bin"), None);
        assert_eq!(parse_level_file_name("level-07.bin.tmp"), None);
        assert_eq!(parse_level_file_name("level-+7.bin"), None);
        assert_eq!(parse_level_file_name("level-007.bin"), None);
        assert_eq!(parse_level_file_name("level-64.bin"), Some(64));
    }

    #[test]
    fn header_layout() {
        let h = header(3);
        assert_eq!(&h[..8], b"TTMERKLE");
        assert_eq!(h[8..10], [1, 0]);
        assert_eq!(h[10..12], [3, 0]);
        assert_eq!(h[12..], [0; 4]);
    }
}
