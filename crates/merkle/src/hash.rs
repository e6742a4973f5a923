//! The 32-byte SHA-256 value and the three RFC 6962 hashing rules.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::error::MerkleError;

/// A SHA-256 value: a leaf hash, an interior node hash or a tree root.
///
/// Its text forms are lowercase hex ([`Display`](fmt::Display), [`FromStr`], serde) and
/// standard base64 with padding ([`Hash::to_base64`], [`Hash::from_base64`]), the form a
/// C2SP `tlog-checkpoint` carries. Parsing is strict: only the canonical form of each
/// encoding is accepted, so a parsed value prints back to the same text.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash(pub [u8; 32]);

/// The length of a [`struct@Hash`] in bytes.
pub const HASH_LEN: usize = 32;

impl Hash {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Standard base64 with padding (RFC 4648 §4): 44 characters.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Parses standard base64 with padding; the input must decode to exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<Hash, MerkleError> {
        let bytes = STANDARD
            .decode(text)
            .map_err(|e| MerkleError::InvalidHash {
                reason: format!("not standard base64: {e}"),
            })?;
        let array: [u8; 32] =
            bytes
                .as_slice()
                .try_into()
                .map_err(|_| MerkleError::InvalidHash {
                    reason: format!("base64 decodes to {} bytes, expected 32", bytes.len()),
                })?;
        Ok(Hash(array))
    }
}

impl From<[u8; 32]> for Hash {
    fn from(bytes: [u8; 32]) -> Hash {
        Hash(bytes)
    }
}

impl AsRef<[u8]> for Hash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = [0u8; 64];
        for (i, byte) in self.0.iter().enumerate() {
            out[2 * i] = HEX_DIGITS[usize::from(byte >> 4)];
            out[2 * i + 1] = HEX_DIGITS[usize::from(byte & 0x0f)];
        }
        // Every byte written above is an ASCII hex digit.
        f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

impl FromStr for Hash {
    type Err = MerkleError;

    /// Parses exactly 64 lowercase hex digits.
    fn from_str(text: &str) -> Result<Hash, MerkleError> {
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return Err(MerkleError::InvalidHash {
                reason: format!(
                    "{} characters, expected 64 lowercase hex digits",
                    bytes.len()
                ),
            });
        }
        let digit = |position: usize| -> Result<u8, MerkleError> {
            match bytes[position] {
                c @ b'0'..=b'9' => Ok(c - b'0'),
                c @ b'a'..=b'f' => Ok(c - b'a' + 10),
                _ => Err(MerkleError::InvalidHash {
                    reason: format!("character {position} is not a lowercase hex digit"),
                }),
            }
        };
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = (digit(2 * i)? << 4) | digit(2 * i + 1)?;
        }
        Ok(Hash(out))
    }
}

impl serde::Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Hash, D::Error> {
        struct HexVisitor;
        impl serde::de::Visitor<'_> for HexVisitor {
            type Value = Hash;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a SHA-256 hash as 64 lowercase hex digits")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Hash, E> {
                text.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(HexVisitor)
    }
}

/// The RFC 6962 leaf hash of one journal line: SHA-256(0x00 ‖ `line`).
///
/// `line` is the record's bytes *without* the trailing `\n`.
pub fn leaf_hash(line: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(line);
    Hash(hasher.finalize().into())
}

/// The RFC 6962 interior node hash: SHA-256(0x01 ‖ `left` ‖ `right`).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Hash(node_bytes(&left.0, &right.0))
}

/// [`node_hash`] on raw arrays, for the level vectors.
pub(crate) fn node_bytes(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The root of the empty tree: SHA-256 of the empty string,
/// `e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855`.
pub fn empty_root() -> Hash {
    Hash(Sha256::digest([]).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_strictness() {
        let h = leaf_hash(b"");
        // RFC 6962 leaf hash of the empty leaf (transparency-dev/merkle testonly/constants.go).
        assert_eq!(
            h.to_string(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        assert_eq!(h.to_string().parse::<Hash>().unwrap(), h);
        let upper = h.to_string().to_uppercase();
        assert!(matches!(
            upper.parse::<Hash>(),
            Err(MerkleError::InvalidHash { .. })
        ));
        assert!(h.to_string()[..63].parse::<Hash>().is_err());
        assert!(format!("{h}0").parse::<Hash>().is_err());
        assert!(format!("{}g", &h.to_string()[..63])
            .parse::<Hash>()
            .is_err());
    }

    #[test]
    fn base64_round_trip_and_strictness() {
        let h = leaf_hash(b"");
        // The same hash as `root1` in transparency-dev/merkle
        // testdata/consistency/1/happy-path.json.
        assert_eq!(
            h.to_base64(),
            "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0="
        );
        assert_eq!(Hash::from_base64(&h.to_base64()).unwrap(), h);
        // Missing padding, URL-safe alphabet and a wrong length are all rejected.
        assert!(Hash::from_base64("bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0").is_err());
        assert!(Hash::from_base64("bjQLnP-zepicpUTmu3gKLHiQHT-zNzh2hRGjBhevoB0=").is_err());
        assert!(Hash::from_base64("AAAA").is_err());
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(
            empty_root().to_string(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
