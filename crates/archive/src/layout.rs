//! Where archive files live, and writing them so that a crash never leaves a counted
//! half-written file.
//!
//! ```text
//! DIR/archive/year=2026/month=11/day=3/_manifest.json
//! DIR/archive/year=2026/month=11/day=3/00000000000000001000-00000000000000001999.parquet
//! DIR/archive/year=2026/month=11/day=3/_tmp-....partial      (only while being written)
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

/// The file under `DIR/archive` naming the zone whose days the partitions are (an
/// IANA name, a fixed offset or `UTC`, and a newline). Written when the archive's
/// first partition is, and never changed after: a partition is one day of that zone
/// for the archive's whole life.
pub const ZONE_FILE: &str = "_zone";

/// The day (days since 1970-01-01) a ns timestamp falls on in `zone`.
pub fn day_in(zone: &tradetrail_model::Zone, ts_ns: i64) -> i64 {
    if zone.is_utc() {
        day_of(ts_ns)
    } else {
        day_of_date(zone.date_of(ts_ns))
    }
}

/// The zone the archive under `root` partitions by: the one [`ZONE_FILE`] names; for
/// an archive without the file, UTC when it already has partitions (archives before
/// zones were UTC), else `configured`, recorded now when `record` is true.
pub fn partition_zone(
    root: &Path,
    configured: &tradetrail_model::Zone,
    has_partitions: bool,
    record: bool,
) -> Result<tradetrail_model::Zone> {
    let path = root.join(ZONE_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse_zone_file(&text, &path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let zone = if has_partitions {
                tradetrail_model::Zone::utc()
            } else {
                configured.clone()
            };
            if record {
                write_atomically(&path, zone_file_text(&zone).as_bytes())?;
            }
            Ok(zone)
        }
        Err(e) => Err(Error::io("read", &path, e)),
    }
}

/// The text of [`ZONE_FILE`] naming `zone`.
pub fn zone_file_text(zone: &tradetrail_model::Zone) -> String {
    format!("{}\n", zone.name())
}

/// The zone a [`ZONE_FILE`]'s text names (`path` names the file, local or in a bucket,
/// in the error).
pub fn parse_zone_file(text: &str, path: &Path) -> Result<tradetrail_model::Zone> {
    tradetrail_model::Zone::parse(text.trim()).map_err(|reason| Error::Corrupt {
        path: path.to_path_buf(),
        reason: format!("{reason}: it names the zone of the archive's partitions"),
    })
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

/// The day number of `YYYY-MM-DD` (a manifest's `day`).
pub fn day_of_name(name: &str) -> Option<i64> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(name, &fmt).ok().map(day_of_date)
}

/// `archive/year=YYYY/month=M/day=D` of a day. The keys are plain integers, as Hive
/// and Spark write them, so DuckDB, pyarrow and Spark all read `year`, `month` and
/// `day` as integers without being told. Archives written before this layout used
/// zero-padded keys (`month=01/day=04`, which DuckDB reads as text on the 4th and as
/// an integer on the 14th): a day whose padded directory exists stays in it.
pub fn partition_dir(archive: &Path, day: i64) -> PathBuf {
    let d = date_of_day(day);
    let (month, dom) = (u8::from(d.month()), d.day());
    let year = archive.join(format!("year={:04}", d.year()));
    let padded = year
        .join(format!("month={month:02}"))
        .join(format!("day={dom:02}"));
    if padded.is_dir() {
        return padded;
    }
    year.join(format!("month={month}"))
        .join(format!("day={dom}"))
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

/// The directories `prefix<number>` in `dir`, in numeric order (`day=4` before
/// `day=10`; padded and plain keys of old and new archives sort together).
fn sorted_children(dir: &Path, prefix: &str) -> Result<Vec<PathBuf>> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io("list", dir, e))? {
        let e = e.map_err(|e| Error::io("list", dir, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(key) = name.strip_prefix(prefix) {
            if e.path().is_dir() {
                v.push((key.parse::<u32>().ok(), name, e.path()));
            }
        }
    }
    v.sort();
    Ok(v.into_iter().map(|(_, _, p)| p).collect())
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
    use time::Month;

    #[test]
    fn keys_are_plain_integers_and_old_padded_days_stay_where_they_are() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let day = |y: i32, m: u8, d: u8| {
            day_of_date(Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap())
        };
        assert_eq!(
            partition_dir(root, day(2027, 1, 4)),
            root.join("year=2027/month=1/day=4")
        );
        // An archive written with padded keys keeps its day there.
        std::fs::create_dir_all(root.join("year=2026/month=03/day=04")).unwrap();
        assert_eq!(
            partition_dir(root, day(2026, 3, 4)),
            root.join("year=2026/month=03/day=04")
        );
        assert_eq!(
            partition_dir(root, day(2026, 3, 5)),
            root.join("year=2026/month=3/day=5")
        );
        for d in [
            "year=2026/month=3/day=5",
            "year=2026/month=3/day=10",
            "year=2027/month=1/day=4",
        ] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        // Listed in calendar order, padded and plain together.
        let got: Vec<String> = partition_dirs(root)
            .unwrap()
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().display().to_string())
            .collect();
        assert_eq!(
            got,
            [
                "year=2026/month=03/day=04",
                "year=2026/month=3/day=5",
                "year=2026/month=3/day=10",
                "year=2027/month=1/day=4"
            ]
        );
    }

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
