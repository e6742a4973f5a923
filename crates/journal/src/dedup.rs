//! Idempotency: a repeated key (the record's `event_id`) is not written twice.
//!
//! A repeat is compared with the record that holds the key: the same body (a retry)
//! gets that record's receipt, another body is refused with
//! [`Error::Conflict`](crate::Error::Conflict), since the `event_id` already names a
//! different event. Only repeats pay for the comparison (one read of the first record).
//!
//! Keys of records appended through this handle are remembered as they are sequenced.
//! Keys of records that were already in the journal when it was opened are loaded by
//! reading the journal once, at the first keyed append (or on
//! [`Journal::load_dedup_index`](crate::Journal::load_dedup_index)), so opening stays
//! fast; appends without a key never wait for it. Records that have left `journal/`
//! are covered when the journal is given their keys with
//! [`Journal::set_cold_dedup`](crate::Journal::set_cold_dedup).

use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::record::parse_header;
use crate::segment::segment_file_name;
use crate::storage::Storage;
use crate::{Error, Result};

/// A 128-bit idempotency key.
pub type DedupKey = u128;

/// The keys of records older than the journal's first segment, `(key, seq)`: those
/// that left `journal/` for a cold tier (see [`crate::Journal::set_cold_dedup`]). It
/// is given the seq of the journal's first record, returns keys of records below it
/// only, and is called once, when the keys are loaded.
pub type ColdKeys = std::sync::Arc<dyn Fn(u64) -> Result<Vec<(DedupKey, u64)>> + Send + Sync>;

/// The key of an `event_id`: a UUID maps to its 128-bit value (so callers holding a
/// parsed UUID pass `uuid.as_u128()`); any other string to the first 16 bytes of its
/// SHA-256.
pub fn dedup_key_of(event_id: &str) -> DedupKey {
    parse_uuid(event_id).unwrap_or_else(|| {
        let d = Sha256::digest(event_id.as_bytes());
        u128::from_be_bytes(d[..16].try_into().expect("16 bytes"))
    })
}

fn parse_uuid(s: &str) -> Option<u128> {
    let b = s.as_bytes();
    if b.len() != 36 || b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
        return None;
    }
    let mut v: u128 = 0;
    for (i, &c) in b.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            continue;
        }
        let d = (c as char).to_digit(16)?;
        v = (v << 4) | u128::from(d);
    }
    Some(v)
}

#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(borrow, default)]
    event_id: Option<std::borrow::Cow<'a, str>>,
}

pub(crate) struct Loaded {
    pub keys: Vec<(DedupKey, u64)>,
    /// seq -> (segment first seq, offset)
    pub sparse: Vec<(u64, (u64, u64))>,
}

/// Reads the keys of records `0..upto` from the given segments.
pub(crate) fn load(
    storage: &dyn Storage,
    dir: &Path,
    segments: &[u64],
    upto: u64,
    sparse_every: u64,
) -> Result<Loaded> {
    let mut out = Loaded {
        keys: Vec::new(),
        sparse: Vec::new(),
    };
    for &first in segments {
        if first >= upto {
            break;
        }
        let path = dir.join(segment_file_name(first));
        let data = storage
            .read(&path)
            .map_err(|e| Error::io(storage, "read", &path, e))?;
        let mut pos = 0usize;
        while let Some(nl) = memchr::memchr(b'\n', &data[pos..]) {
            let line = &data[pos..pos + nl];
            let h = parse_header(line).map_err(|r| Error::Corrupt {
                segment: path.clone(),
                offset: pos as u64,
                reason: r.into(),
            })?;
            if h.seq >= upto {
                break;
            }
            if h.seq % sparse_every == 0 {
                out.sparse.push((h.seq, (first, pos as u64)));
            }
            // Cheap pre-check before parsing the line.
            if memchr::memmem::find(line, b"\"event_id\"").is_some() {
                let probe: Probe<'_> =
                    serde_json::from_slice(line).map_err(|e| Error::Corrupt {
                        segment: path.clone(),
                        offset: pos as u64,
                        reason: format!("record {} is not valid JSON: {e}", h.seq),
                    })?;
                if let Some(id) = probe.event_id {
                    out.keys.push((dedup_key_of(&id), h.seq));
                }
            }
            pos += nl + 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_keys_are_the_uuid_value() {
        assert_eq!(
            dedup_key_of("67e55044-10b1-426f-9247-bb680e5fe0c8"),
            0x67e5504410b1426f9247bb680e5fe0c8
        );
        assert_eq!(
            dedup_key_of("67E55044-10B1-426F-9247-BB680E5FE0C8"),
            0x67e5504410b1426f9247bb680e5fe0c8
        );
        let other = dedup_key_of("not-a-uuid");
        assert_ne!(other, dedup_key_of("not-a-uuid2"));
        assert_eq!(other, dedup_key_of("not-a-uuid"));
    }
}
