//! Ed25519 note keys: key ids, verifier keys and signer keys, in the string
//! forms of C2SP signed-note / `golang.org/x/mod/sumdb/note`.
//!
//! ```text
//! key id       = SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[..4]
//! verifier key = <name>+<key id, 8 lowercase hex>+<base64(0x01 ‖ 32-byte public key)>
//! signer key   = PRIVATE+KEY+<name>+<key id>+<base64(0x01 ‖ 32-byte seed)>
//! ```
//!
//! The base64 part may itself contain `+`, so a key string is split at its
//! first two (`PRIVATE+KEY+` aside) `+` only.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::KeyError;

/// The signed-note signature type byte of Ed25519.
pub const ALG_ED25519: u8 = 0x01;

const SIGNER_PREFIX: &str = "PRIVATE+KEY+";
const VERIFIER: &str = "verifier key";
const SIGNER: &str = "signer key";

/// The 4-byte identifier of a key:
/// `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[..4]`.
///
/// Together with the key name it picks the key a signature line claims to
/// be from. It is an identifier, not a security check: only the signature
/// verification proves anything. Displayed as 8 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId([u8; 4]);

impl KeyId {
    /// Computes the key id of an Ed25519 public key under `name`.
    ///
    /// `name` is not validated here; the key constructors do that.
    pub fn compute(name: &str, public_key: &[u8; 32]) -> KeyId {
        let mut h = Sha256::new();
        h.update(name.as_bytes());
        h.update([b'\n', ALG_ED25519]);
        h.update(public_key);
        let digest = h.finalize();
        KeyId([digest[0], digest[1], digest[2], digest[3]])
    }

    /// Wraps 4 raw bytes (big-endian, as they appear in a signature).
    pub const fn from_bytes(bytes: [u8; 4]) -> KeyId {
        KeyId(bytes)
    }

    /// The 4 raw bytes, as they prefix a signature.
    pub const fn to_bytes(self) -> [u8; 4] {
        self.0
    }

    /// The id as the big-endian `u32` the Go implementation calls the key hash.
    pub const fn to_u32(self) -> u32 {
        u32::from_be_bytes(self.0)
    }

    /// Parses exactly 8 lowercase hex digits.
    fn parse_hex(s: &str, kind: &'static str) -> Result<KeyId, KeyError> {
        let well_formed = s.len() == 8
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !well_formed {
            return Err(KeyError::Malformed {
                kind,
                reason: format!("key id must be 8 lowercase hex digits, found {s:?}"),
            });
        }
        let value = u32::from_str_radix(s, 16).map_err(|e| KeyError::Malformed {
            kind,
            reason: format!("key id {s:?}: {e}"),
        })?;
        Ok(KeyId(value.to_be_bytes()))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.to_u32())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// Checks the signed-note key name rules: non-empty, no Unicode whitespace,
/// no `+`, and (since a note may hold no control characters other than
/// newline, and a name sits inside a line) no control characters.
pub fn check_key_name(name: &str) -> Result<(), KeyError> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name.contains('+') {
        "it contains '+'"
    } else if name.chars().any(char::is_whitespace) {
        "it contains whitespace"
    } else if name.chars().any(char::is_control) {
        "it contains a control character"
    } else {
        return Ok(());
    };
    Err(KeyError::InvalidName {
        name: name.to_owned(),
        reason,
    })
}

/// Splits `<name>+<id hex>+<base64>` and decodes the parts, checking the
/// name, the id syntax, the algorithm byte and the key length. The caller
/// checks the id against the key. The decoded key bytes are wiped on drop
/// because for a signer key they are the private seed.
fn split_key(
    s: &str,
    kind: &'static str,
) -> Result<(String, KeyId, Zeroizing<[u8; 32]>), KeyError> {
    let malformed = |reason: &str| KeyError::Malformed {
        kind,
        reason: reason.to_owned(),
    };
    let (name, rest) = s
        .split_once('+')
        .ok_or_else(|| malformed("expected <name>+<key id>+<key data>, found no '+'"))?;
    check_key_name(name)?;
    let (id_hex, data64) = rest.split_once('+').ok_or_else(|| {
        malformed("expected <name>+<key id>+<key data>, found no '+' after the key id")
    })?;
    let stated = KeyId::parse_hex(id_hex, kind)?;
    // Standard alphabet, canonical padding, no stray trailing bits: exactly
    // one string encodes each key.
    let data = Zeroizing::new(
        STANDARD
            .decode(data64)
            .map_err(|e| malformed(&format!("key data is not standard padded base64: {e}")))?,
    );
    let (&alg, key) = data
        .split_first()
        .ok_or_else(|| malformed("key data is empty"))?;
    if alg != ALG_ED25519 {
        return Err(KeyError::UnknownAlgorithm { kind, found: alg });
    }
    let key: [u8; 32] = key.try_into().map_err(|_| KeyError::WrongLength {
        kind,
        expected: 32,
        found: key.len(),
    })?;
    Ok((name.to_owned(), stated, Zeroizing::new(key)))
}

/// A public key that checks signatures: the key name, its key id and the
/// Ed25519 public key.
///
/// Invariant: the name passes [`check_key_name`] and the id is
/// [`KeyId::compute`] of the name and key. Its `Display` form is the
/// verifier key string, which [`VerifierKey::parse`] reads back.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    id: KeyId,
    key: VerifyingKey,
}

impl VerifierKey {
    /// Builds a verifier key from a name and a 32-byte Ed25519 public key.
    pub fn from_public_key(name: &str, public_key: &[u8; 32]) -> Result<VerifierKey, KeyError> {
        check_key_name(name)?;
        let key = VerifyingKey::from_bytes(public_key)
            .map_err(|_| KeyError::InvalidPublicKey { kind: VERIFIER })?;
        Ok(VerifierKey {
            name: name.to_owned(),
            id: KeyId::compute(name, public_key),
            key,
        })
    }

    /// Parses a verifier key string `<name>+<key id>+<base64(0x01 ‖ key)>`.
    ///
    /// Strict: the id must be 8 lowercase hex digits, the base64 standard
    /// and canonically padded, the algorithm Ed25519, the key 32 bytes and
    /// a curve point, and the id must match the name and key.
    pub fn parse(s: &str) -> Result<VerifierKey, KeyError> {
        let (name, stated, key) = split_key(s, VERIFIER)?;
        let computed = KeyId::compute(&name, &key);
        if stated != computed {
            return Err(KeyError::KeyIdMismatch {
                kind: VERIFIER,
                stated,
                computed,
            });
        }
        let key = VerifyingKey::from_bytes(&key)
            .map_err(|_| KeyError::InvalidPublicKey { kind: VERIFIER })?;
        Ok(VerifierKey {
            name,
            id: computed,
            key,
        })
    }

    /// The key name, as it appears in signature lines.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> KeyId {
        self.id
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// Whether `signature` (64 bytes, without the key id prefix) is a valid
    /// signature of `message` by this key.
    ///
    /// Uses `verify_strict`: besides RFC 8032 it rejects small-order keys
    /// and `R` values, so a signature cannot be altered into another valid
    /// one for the same message.
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        match Signature::from_slice(signature) {
            Ok(sig) => self.key.verify_strict(message, &sig).is_ok(),
            Err(_) => false,
        }
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut data = [0u8; 33];
        data[0] = ALG_ED25519;
        data[1..].copy_from_slice(self.key.as_bytes());
        write!(f, "{}+{}+{}", self.name, self.id, STANDARD.encode(data))
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}

impl FromStr for VerifierKey {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<VerifierKey, KeyError> {
        VerifierKey::parse(s)
    }
}

/// A signing key: the key name, its key id and the Ed25519 private key.
///
/// Invariant: the name passes [`check_key_name`] and the id is
/// [`KeyId::compute`] of the name and the derived public key. The private
/// key is wiped from memory on drop and never shown by `Debug`.
pub struct KeyPair {
    name: String,
    id: KeyId,
    signing: SigningKey,
}

impl KeyPair {
    /// Generates a new key named `name` from the operating system's
    /// random number generator.
    pub fn generate(name: &str) -> Result<KeyPair, KeyError> {
        check_key_name(name)?;
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng
            .try_fill_bytes(seed.as_mut())
            .map_err(|e| KeyError::Random {
                reason: e.to_string(),
            })?;
        KeyPair::from_seed(name, &seed)
    }

    /// Builds the key named `name` from a 32-byte Ed25519 seed (the RFC 8032
    /// private key). The same seed always gives the same key.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<KeyPair, KeyError> {
        check_key_name(name)?;
        let signing = SigningKey::from_bytes(seed);
        let id = KeyId::compute(name, signing.verifying_key().as_bytes());
        Ok(KeyPair {
            name: name.to_owned(),
            id,
            signing,
        })
    }

    /// Parses a signer key string `PRIVATE+KEY+<name>+<key id>+<base64(0x01 ‖ seed)>`.
    ///
    /// Strict like [`VerifierKey::parse`]; the id must match the name and
    /// the public key derived from the seed.
    pub fn from_signer_key(s: &str) -> Result<KeyPair, KeyError> {
        let rest = s
            .strip_prefix(SIGNER_PREFIX)
            .ok_or_else(|| KeyError::Malformed {
                kind: SIGNER,
                reason: "does not start with PRIVATE+KEY+".to_owned(),
            })?;
        let (name, stated, seed) = split_key(rest, SIGNER)?;
        let pair = KeyPair::from_seed(&name, &seed)?;
        if stated != pair.id {
            return Err(KeyError::KeyIdMismatch {
                kind: SIGNER,
                stated,
                computed: pair.id,
            });
        }
        Ok(pair)
    }

    /// The signer key string `PRIVATE+KEY+<name>+<key id>+<base64(0x01 ‖ seed)>`.
    ///
    /// It is the secret: anyone holding it can sign checkpoints. The
    /// returned string is wiped from memory on drop.
    pub fn signer_key(&self) -> Zeroizing<String> {
        let mut data = Zeroizing::new([0u8; 33]);
        data[0] = ALG_ED25519;
        data[1..].copy_from_slice(self.signing.as_bytes());
        let data64 = Zeroizing::new(STANDARD.encode(data.as_ref()));
        let mut s = Zeroizing::new(String::with_capacity(
            SIGNER_PREFIX.len() + self.name.len() + 10 + data64.len(),
        ));
        s.push_str(SIGNER_PREFIX);
        s.push_str(&self.name);
        s.push('+');
        s.push_str(&self.id.to_string());
        s.push('+');
        s.push_str(&data64);
        s
    }

    /// The matching public verifier key.
    pub fn verifier(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            id: self.id,
            key: self.signing.verifying_key(),
        }
    }

    /// The key name, as it appears in signature lines.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> KeyId {
        self.id
    }

    /// The 64-byte Ed25519 signature of `message` (deterministic, RFC 8032).
    pub(crate) fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("verifier", &self.verifier().to_string())
            .field("private_key", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_id_is_the_first_four_bytes_of_the_spec_hash() {
        let public = [7u8; 32];
        let mut preimage = b"example.com/log".to_vec();
        preimage.extend_from_slice(&[0x0a, 0x01]);
        preimage.extend_from_slice(&public);
        let digest = Sha256::digest(&preimage);
        let id = KeyId::compute("example.com/log", &public);
        assert_eq!(id.to_bytes(), digest[..4]);
        assert_eq!(
            id.to_string(),
            format!(
                "{:02x}{:02x}{:02x}{:02x}",
                digest[0], digest[1], digest[2], digest[3]
            )
        );
    }

    #[test]
    fn key_names_follow_the_signed_note_rules() {
        for good in ["a", "example.com/log42", "go.sum", "ünïcode"] {
            assert!(check_key_name(good).is_ok(), "{good:?}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("a+b", "'+'"),
            ("a b", "whitespace"),
            ("a\tb", "whitespace"),
            ("a\u{a0}b", "whitespace"),
            ("a\u{2003}b", "whitespace"),
            ("a\u{1}b", "control"),
        ] {
            match check_key_name(bad) {
                Err(KeyError::InvalidName { reason, .. }) => {
                    assert!(reason.contains(why), "{bad:?}: {reason}")
                }
                other => panic!("{bad:?} accepted or wrong error: {other:?}"),
            }
        }
    }

    #[test]
    fn key_id_hex_must_be_eight_lowercase_digits() {
        assert_eq!(
            KeyId::parse_hex("c74f20a3", VERIFIER).unwrap().to_u32(),
            0xc74f20a3
        );
        for bad in [
            "C74F20A3",
            "c74f20a",
            "c74f20a30",
            "+74f20a3",
            "-74f20a3",
            "g74f20a3",
            "",
        ] {
            assert!(
                matches!(
                    KeyId::parse_hex(bad, VERIFIER),
                    Err(KeyError::Malformed { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn generated_keys_round_trip_through_their_strings() {
        let pair = KeyPair::generate("example.com/log").unwrap();
        let again = KeyPair::from_signer_key(&pair.signer_key()).unwrap();
        assert_eq!(again.verifier(), pair.verifier());
        let vkey = pair.verifier().to_string();
        assert_eq!(VerifierKey::parse(&vkey).unwrap(), pair.verifier());
        let prefix = format!("example.com/log+{}+", pair.key_id());
        let data = STANDARD
            .decode(vkey.strip_prefix(&prefix).unwrap())
            .unwrap();
        assert_eq!(data[0], ALG_ED25519);
        assert_eq!(data[1..], pair.verifier().public_key());
        // Two generated keys differ.
        let other = KeyPair::generate("example.com/log").unwrap();
        assert_ne!(other.verifier(), pair.verifier());
    }

    #[test]
    fn debug_never_shows_the_private_key() {
        let pair = KeyPair::from_seed("n", &[9u8; 32]).unwrap();
        let seed64 = STANDARD.encode([9u8; 32]);
        let shown = format!("{pair:?}");
        assert!(shown.contains("<redacted>"));
        assert!(!shown.contains(&seed64[..20]), "{shown}");
        let signer = pair.signer_key();
        let err = KeyPair::from_signer_key(&signer.replace("+n+", "+m+")).unwrap_err();
        assert!(!err.to_string().contains(&signer[20..]), "{err}");
    }
}
