//! The 64-bit key under which an id is posted in the index.
//!
//! Ids (`entity.id`, the values of `refs`) are not interned: there are millions of
//! them and a CLI call must not load a dictionary that size. Each is hashed to a key,
//! and a lookup returns the records posted under the key — which are then read from
//! the journal and checked to really carry the id, so a collision can cost a read but
//! never a wrong answer.
//!
//! The hash is stored on disk, so it must never change between versions (std's
//! `DefaultHasher` makes no such promise): FNV-1a over a namespace byte and the id,
//! finished with MurmurHash3's `fmix64` so the high bits are as random as the low
//! ones (runs are sorted by key and searched through a fence of block keys).

/// Namespace of ids: entity ids and `refs` values.
pub(crate) const NS_ID: u8 = b'i';
/// Namespace of `refs.correction_of` targets (a `seq`, written in decimal).
pub(crate) const NS_CORRECTION: u8 = b'c';

/// The key of `id` in namespace `ns`. Never 0 (0 means "no entity" in the entity column).
pub(crate) fn key(ns: u8, id: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    h ^= u64::from(ns);
    h = h.wrapping_mul(PRIME);
    for &b in id {
        h ^= u64::from(b);
        h = h.wrapping_mul(PRIME);
    }
    // fmix64
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h.max(1)
}

/// The key of an id.
pub(crate) fn id_key(id: &str) -> u64 {
    key(NS_ID, id.as_bytes())
}

/// The key of the records that correct record `seq`.
pub(crate) fn correction_key(seq: u64) -> u64 {
    key(NS_CORRECTION, seq.to_string().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_known_values() {
        // These keys are on disk: a change here needs a new INDEX_VERSION. (Values
        // computed independently, from the algorithm's definition.)
        assert_eq!(id_key("O-1"), 0x37fb_6dd4_4696_b3c7);
        assert_eq!(id_key("R-77"), 0x0c90_44fa_26d1_048d);
        assert_eq!(correction_key(42), 0x9d74_0312_cfdc_236e);
        let a = id_key("O-123");
        let b = id_key("O-124");
        assert_ne!(a, b);
        // The top bits differ too (runs are searched through a fence of keys).
        assert_ne!(a >> 48, b >> 48);
        assert_ne!(id_key("7"), correction_key(7));
    }
}
