//! Segment files: `journal/<first seq, 20 digits>.jsonl`.
//!
//! The chain runs across segments: the first record of a segment names the hash of
//! the last record of the one before. A segment is *sealed* when the writer moves on
//! to the next one; sealing syncs it, so every sealed segment is complete and durable.

use std::path::{Path, PathBuf};

use crate::storage::Storage;
use crate::{Error, Result};

/// File name suffix of segment files.
pub const SEGMENT_SUFFIX: &str = ".jsonl";

/// One segment file, as named on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentName {
    /// The `seq` of its first record.
    pub first_seq: u64,
    /// The full path of the file.
    pub path: PathBuf,
}

/// The file name of the segment whose first record is `first_seq`.
pub fn segment_file_name(first_seq: u64) -> String {
    format!("{first_seq:020}{SEGMENT_SUFFIX}")
}

/// Parses a segment file name; anything else in the directory is ignored.
pub fn parse_segment_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SEGMENT_SUFFIX)?;
    if digits.len() != 20 || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The segments of a journal directory, in `seq` order.
pub fn list_segments(storage: &dyn Storage, journal_dir: &Path) -> Result<Vec<SegmentName>> {
    let names = storage
        .list_dir(journal_dir)
        .map_err(|e| Error::io(storage, "list", journal_dir, e))?;
    let mut segs: Vec<SegmentName> = names
        .iter()
        .filter_map(|n| {
            parse_segment_file_name(n).map(|first_seq| SegmentName {
                first_seq,
                path: journal_dir.join(n),
            })
        })
        .collect();
    segs.sort_by_key(|s| s.first_seq);
    Ok(segs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(segment_file_name(0), "00000000000000000000.jsonl");
        assert_eq!(segment_file_name(u64::MAX), "18446744073709551615.jsonl");
        assert_eq!(
            parse_segment_file_name("00000000000000001234.jsonl"),
            Some(1234)
        );
        assert_eq!(parse_segment_file_name("1234.jsonl"), None);
        assert_eq!(
            parse_segment_file_name("00000000000000001234.jsonl.tmp"),
            None
        );
        assert_eq!(parse_segment_file_name("0000000000000000123x.jsonl"), None);
    }
}
