//! Where archive files live, and writing them so that a crash never leaves a counted
//! half-written file.
//!
//! ```text
//! DIR/archive/year=2026/month=11/day=03/_manifest.json
//! DIR/archive/year=2026/month=11/day=03/00000000000000001000-00000000000000001999.parquet
//! DIR/archive/year=2026/month=11/day=03/_tmp-....partial      (only while being written)
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use time::Date;

use crate::{Error, Result};

/// ns per day.
pub const NS_PER_DAY: i64 = 86_400 * 1_000_000_000;
/// Prefix of files being written; never counted, removed by the next `archive`.
pub const TEMP_PREFIX: &str = "_tmp-";

/// The UTC day (days since 1970-01-01) of a ns timestamp.
pub fn day_of(ts_ns: i64) -> i64 {
    ts_ns.div_euclid(NS_PER_DAY)
}

/// The date of a day number.
pub fn date_of_day(day: i64) -> Date {
    // 2440588 is the Julian day of 1970-01-01.
    Date::from_julian_day((day + 2_440_588).clamp(i32::MIN as i64, i32::MAX as i64) as i32)
        .unwrap_or(Date::MIN)
}

/// The day number of a date.
pub fn day_of_date(d: Date) -> i64 {
    i64::from(d.to_julian_day()) - 2_440_588
}

/// `YYYY-MM-DD`.
pub fn day_name(day: i64) -> String {
    let d = date_of_day(day);
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// `archive/year=YYYY/month=MM/day=DD` of a day.
pub fn partition_dir(archive: &Path, day: i64) -> PathBuf {
    let d = date_of_day(day);
    archive
        .join(format!("year={:04}", d.year()))
        .join(format!("month={:02}", u8::from(d.month())))
        .join(format!("day={:02}", d.day()))
}

/// The file name for records `first..=last`.
pub fn file_name(first: u64, last: u64) -> String {
    format!("{first:020}-{last:020}.parquet")
}

/// True for a name that could leave its directory.
pub fn is_unsafe_name(name: &str) -> bool {
    name.is_empty() || name.contains('/') || name.contains('\\') || name == "." || name == ".."
}

/// Every partition directory under `archive` (`year=*/month=*/day=*`), sorted.
pub fn partition_dirs(archive: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    if !archive.exists() {
        return Ok(out);
    }
    for y in sorted_children(archive, "year=")? {
        for m in sorted_children(&y, "month=")? {
            out.extend(sorted_children(&m, "day=")?);
        }
    }
    Ok(out)
}

fn sorted_children(dir: &Path, prefix: &str) -> Result<Vec<PathBuf>> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io("list", dir, e))? {
        let e = e.map_err(|e| Error::io("list", dir, e))?;
        let name = e.file_name();
        if name.to_string_lossy().starts_with(prefix) && e.path().is_dir() {
            v.push(e.path());
        }
    }
    v.sort();
    Ok(v)
}

/// Writes `bytes` to `path` through a temporary file in the same directory: write,
/// fsync, rename, fsync the directory.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
    f.write_all(bytes)
        .map_err(|e| Error::io("write", &tmp, e))?;
    f.sync_all().map_err(|e| Error::io("fsync", &tmp, e))?;
    drop(f);
    commit(&tmp, path)
}

/// The temporary name a file is written under before [`commit`].
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!("{TEMP_PREFIX}{name}.partial"))
}

/// Renames a synced temporary file into place and syncs the directory.
pub fn commit(tmp: &Path, path: &Path) -> Result<()> {
    std::fs::rename(tmp, path).map_err(|e| Error::io("rename", tmp, e))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// fsyncs a directory (its entries).
pub fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("fsync", dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_dirs() {
        assert_eq!(day_name(0), "1970-01-01");
        let ts = 1_795_700_000_000_000_000; // 2026-11-26
        assert_eq!(day_name(day_of(ts)), "2026-11-26");
        assert_eq!(day_of(-1), -1);
        assert_eq!(
            partition_dir(Path::new("a"), day_of(ts)),
            Path::new("a/year=2026/month=11/day=26")
        );
        assert_eq!(day_of_date(date_of_day(20_000)), 20_000);
        assert_eq!(
            file_name(1, 22),
            "00000000000000000001-00000000000000000022.parquet"
        );
    }
}
