//! The backup manifest: `manifest.json` at the top of a backup, written last.
//!
//! It names every file of the backup with its size and SHA-256, says how many
//! records the journal copy holds, the hash of the last one and the Merkle root of
//! all of them, and the latest checkpoint at or below that size. A backup without a
//! manifest is incomplete (an interrupted run writes none), and restore refuses it.

use serde::{Deserialize, Serialize};

/// The `format` of manifests this version writes and reads.
pub const MANIFEST_FORMAT: &str = "tradetrail-backup/1";
/// The manifest's key in the store.
pub const MANIFEST_KEY: &str = "manifest.json";
/// Where file copies live in the store.
pub const DATA_PREFIX: &str = "data/";

/// What the keys in a backup are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeysIncluded {
    /// Only the public verifier key (`keys/verifier.vkey`).
    VerifierOnly,
    /// Also the secret signing key and the server's tokens (`--include-keys`).
    Included,
}

/// What a file of the data directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// A journal segment (whole when sealed, a record-boundary prefix when active).
    Segment,
    /// A signed checkpoint under `checkpoints/`.
    Checkpoint,
    /// `tradetrail.toml`.
    Config,
    /// The public verifier key.
    VerifierKey,
    /// A secret: the signing key, the server's tokens.
    Secret,
    /// A file under `archive/` (copied as it is).
    Archive,
    /// Anything else in the data directory.
    Other,
}

/// One file of the backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Its path in the data directory (`journal/00000000000000000000.jsonl`).
    pub path: String,
    /// The object holding it in the backup (`data/journal/...`).
    pub object: String,
    /// What it is.
    pub kind: FileKind,
    /// Bytes copied.
    pub bytes: u64,
    /// SHA-256 of those bytes, lowercase hex.
    pub sha256: String,
    /// Segments: the seq of the first record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seq: Option<u64>,
    /// Segments: records in the copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<u64>,
    /// Segments: true when the segment was sealed (it will never change); false for
    /// the active segment, copied up to a record boundary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<bool>,
}

/// The checkpoint a backup stands on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointRef {
    /// Its path in the data directory.
    pub path: String,
    /// The tree size it signs.
    pub size: u64,
    /// The root it signs, lowercase hex.
    pub root: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_FORMAT`].
    pub format: String,
    /// When the backup was taken (RFC 3339, UTC).
    pub created: String,
    /// The journal's origin.
    pub origin: String,
    /// Records in the journal copy.
    pub records: u64,
    /// SHA-256 of the last record's line, lowercase hex.
    pub head_hash: String,
    /// Merkle root (RFC 6962) of all `records`, lowercase hex.
    pub root: String,
    /// The latest checkpoint covering at most `records`, if the journal has one.
    pub checkpoint: Option<CheckpointRef>,
    /// Whether secrets are in the backup.
    pub keys: KeysIncluded,
    /// Every file, segments first in seq order.
    pub files: Vec<FileEntry>,
    /// Files this run copied.
    pub copied_files: u64,
    /// Files this run found unchanged since the previous backup and kept.
    pub reused_files: u64,
    /// Bytes this run copied.
    pub copied_bytes: u64,
}

impl Manifest {
    /// Parses and checks the shape of a manifest.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, String> {
        let m: Manifest =
            serde_json::from_slice(bytes).map_err(|e| format!("not a backup manifest: {e}"))?;
        if m.format != MANIFEST_FORMAT {
            return Err(format!(
                "format {:?} is not {MANIFEST_FORMAT:?} (a newer tradetrail wrote it?)",
                m.format
            ));
        }
        for f in &m.files {
            if !safe_relative(&f.path) {
                return Err(format!(
                    "file path {:?} is not a safe relative path",
                    f.path
                ));
            }
            if !f.object.starts_with(DATA_PREFIX) || !safe_relative(&f.object) {
                return Err(format!("object {:?} is not under {DATA_PREFIX}", f.object));
            }
        }
        Ok(m)
    }

    /// The entry for a data-directory path.
    pub fn file(&self, path: &str) -> Option<&FileEntry> {
        self.files.iter().find(|f| f.path == path)
    }

    /// Whether an object is in use by this manifest.
    pub fn references(&self, object: &str) -> bool {
        self.files.iter().any(|f| f.object == object)
    }
}

/// No `..`, no absolute path, no empty component: restore writes only inside its
/// destination.
pub(crate) fn safe_relative(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with('/')
        && p.split('/')
            .all(|c| !c.is_empty() && c != "." && c != ".." && !c.contains('\\'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_paths_are_refused() {
        assert!(safe_relative("journal/00000000000000000000.jsonl"));
        assert!(!safe_relative("../etc/passwd"));
        assert!(!safe_relative("/etc/passwd"));
        assert!(!safe_relative("journal//x"));
        assert!(!safe_relative("a/./b"));
    }
}
