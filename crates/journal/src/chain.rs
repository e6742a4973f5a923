//! The hash chain: every record names the SHA-256 of the line before it.

use sha2::{Digest, Sha256};
use std::fmt;

/// A SHA-256 digest of one record's line bytes (without the trailing `\n`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct RecordHash(pub [u8; 32]);

impl RecordHash {
    /// The `prev` of record 0: 64 zeros in hex.
    pub const ZERO: RecordHash = RecordHash([0; 32]);

    /// Hashes one line (without its `\n`).
    pub fn of_line(line: &[u8]) -> RecordHash {
        RecordHash(Sha256::digest(line).into())
    }

    /// Lowercase hex, as written in `prev`.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Writes the lowercase hex form into `out` (64 bytes).
    pub fn write_hex(&self, out: &mut [u8; 64]) {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        for (i, b) in self.0.iter().enumerate() {
            out[2 * i] = DIGITS[(b >> 4) as usize];
            out[2 * i + 1] = DIGITS[(b & 0xf) as usize];
        }
    }

    /// Parses 64 lowercase hex digits. Upper case is refused: `prev` is defined as lowercase.
    pub fn from_hex(s: &[u8]) -> Option<RecordHash> {
        if s.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        let mut bad = 0u8;
        for (i, pair) in s.chunks_exact(2).enumerate() {
            let hi = HEX_VALUE[pair[0] as usize];
            let lo = HEX_VALUE[pair[1] as usize];
            bad |= hi | lo;
            out[i] = (hi << 4) | (lo & 0x0f);
        }
        // Invalid digits map to 0xF0, which sets a high bit that valid ones never do.
        (bad & 0xF0 == 0).then_some(RecordHash(out))
    }
}

/// Value of each lowercase hex digit; 0xF0 marks every other byte. `verify` parses a
/// `prev` per record, so this is on its hot path.
const HEX_VALUE: [u8; 256] = {
    let mut t = [0xF0u8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

impl fmt::Debug for RecordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordHash({})", self.to_hex())
    }
}

impl fmt::Display for RecordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_known_answer() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        let h = RecordHash::of_line(b"abc");
        assert_eq!(
            h.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut buf = [0u8; 64];
        h.write_hex(&mut buf);
        assert_eq!(&buf[..], h.to_hex().as_bytes());
        assert_eq!(RecordHash::from_hex(&buf), Some(h));
        assert_eq!(
            RecordHash::from_hex(h.to_hex().to_uppercase().as_bytes()),
            None
        );
        assert_eq!(RecordHash::from_hex(b"00"), None);
    }
}
