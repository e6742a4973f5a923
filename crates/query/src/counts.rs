//! `counts.bin`: how many records each combo has, so counts by a dimension over the
//! whole journal (`stats --by type` without a time, id or text filter) read a few
//! kilobytes instead of every row of `combo.col`.
//!
//! ```text
//! "TTCOUNT1"   magic
//! generation   u64, the index's (meta.json) generation the counts belong to
//! rows         u64, the counts cover rows [0, rows)
//! n            u64, combo codes counted
//! n x u64      records per combo code
//! xxh3         u64, XXH3-64 of every byte before it
//! ```
//!
//! All little-endian. The file is derived from `combo.col`, rewritten whole by every
//! flush (a temporary file renamed over the old one) and never trusted beyond what it
//! says of itself: counts of another generation, of more rows than `meta.json`
//! counts, of more combos than the dictionary holds, or failing their checksum are
//! ignored, and the counts come from `combo.col` as before. Rows indexed after the
//! counted ones (appends the file has not seen yet) are read from `combo.col` and
//! added, so the answer is always that of a scan ([`crate::check_index`] compares the
//! two).

use std::path::Path;

use twox_hash::XxHash3_64;

use crate::{Error, Result};

pub(crate) const COUNTS: &str = "counts.bin";
const MAGIC: &[u8; 8] = b"TTCOUNT1";
const HEADER: usize = 32;

/// Counts per combo code over rows `[0, rows)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ComboCounts {
    pub rows: u64,
    pub counts: Vec<u64>,
}

impl ComboCounts {
    /// Counts one more row, of combo `code`.
    pub fn add(&mut self, code: u32) {
        let i = code as usize;
        if i >= self.counts.len() {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += 1;
        self.rows += 1;
    }

    pub fn encode(&self, generation: u64) -> Vec<u8> {
        let mut b = Vec::with_capacity(HEADER + 8 * self.counts.len() + 8);
        b.extend_from_slice(MAGIC);
        for v in [generation, self.rows, self.counts.len() as u64] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        for c in &self.counts {
            b.extend_from_slice(&c.to_le_bytes());
        }
        let sum = XxHash3_64::oneshot(&b);
        b.extend_from_slice(&sum.to_le_bytes());
        b
    }

    /// The counts in `b` if they are whole, of `generation`, of at most `max_rows`
    /// rows and `max_combos` combos; `None` otherwise.
    pub fn decode(b: &[u8], generation: u64, max_rows: u64, max_combos: usize) -> Option<Self> {
        let u = |i: usize| -> Option<u64> {
            Some(u64::from_le_bytes(b.get(i..i + 8)?.try_into().ok()?))
        };
        if b.get(..8)? != MAGIC || u(8)? != generation {
            return None;
        }
        let (rows, n) = (u(16)?, usize::try_from(u(24)?).ok()?);
        let body_end = HEADER.checked_add(n.checked_mul(8)?)?;
        if rows > max_rows || n > max_combos || b.len() != body_end + 8 {
            return None;
        }
        if XxHash3_64::oneshot(&b[..body_end]) != u(body_end)? {
            return None;
        }
        let counts: Vec<u64> = (0..n).filter_map(|i| u(HEADER + 8 * i)).collect();
        (counts.iter().sum::<u64>() == rows).then_some(ComboCounts { rows, counts })
    }

    /// Reads `dir/counts.bin` (see [`ComboCounts::decode`]); a missing or unusable
    /// file is `None`.
    pub fn load(dir: &Path, generation: u64, max_rows: u64, max_combos: usize) -> Option<Self> {
        let b = std::fs::read(dir.join(COUNTS)).ok()?;
        ComboCounts::decode(&b, generation, max_rows, max_combos)
    }

    /// Replaces `dir/counts.bin` (a temporary file renamed over it). Not synced: a
    /// file torn by a crash fails its checksum and is ignored.
    pub fn store(&self, dir: &Path, generation: u64) -> Result<()> {
        // Unique per process: readers that save counts need not hold the index lock.
        let tmp = dir.join(format!("counts.bin.{}.tmp", std::process::id()));
        std::fs::write(&tmp, self.encode(generation)).map_err(|e| Error::io(&tmp, e))?;
        let path = dir.join(COUNTS);
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ComboCounts {
        let mut c = ComboCounts::default();
        for code in [0, 3, 3, 1, 3] {
            c.add(code);
        }
        c
    }

    #[test]
    fn round_trips_and_refuses_what_it_cannot_vouch_for() {
        let c = sample();
        assert_eq!(c.counts, [1, 1, 0, 3]);
        let b = c.encode(7);
        assert_eq!(ComboCounts::decode(&b, 7, 5, 4), Some(c.clone()));
        // Another generation, more rows or combos than the index has.
        assert_eq!(ComboCounts::decode(&b, 8, 5, 4), None);
        assert_eq!(ComboCounts::decode(&b, 7, 4, 4), None);
        assert_eq!(ComboCounts::decode(&b, 7, 5, 3), None);
        // Any flipped byte, a cut, an extension.
        for i in 0..b.len() {
            let mut d = b.clone();
            d[i] ^= 0x10;
            assert_eq!(ComboCounts::decode(&d, 7, 5, 4), None, "byte {i}");
        }
        assert_eq!(ComboCounts::decode(&b[..b.len() - 1], 7, 5, 4), None);
        let mut longer = b.clone();
        longer.push(0);
        assert_eq!(ComboCounts::decode(&longer, 7, 5, 4), None);
        assert_eq!(ComboCounts::decode(&[], 7, 5, 4), None);
    }
}
