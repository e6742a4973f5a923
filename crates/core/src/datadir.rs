//! The data directory layout (docs/format.md).

use std::path::{Path, PathBuf};

/// Name of the environment variable that names the data directory.
pub const DATA_ENV: &str = "TRADETRAIL_DATA";
/// The data directory used when neither `--data` nor `$TRADETRAIL_DATA` is given.
pub const DEFAULT_DATA_DIR: &str = "./tradetrail-data";

/// A tradetrail data directory:
/// ```text
/// DIR/tradetrail.toml   configuration
/// DIR/journal/          segment files, the only source of truth
/// DIR/checkpoints/      signed checkpoints
/// DIR/keys/             the signing key (mode 0600)
/// DIR/index/            derived data, rebuildable from journal/
/// DIR/archive/          Parquet archive
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// Wraps a path.
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir { root: root.into() }
    }

    /// `--data` if given, else `$TRADETRAIL_DATA`, else `./tradetrail-data`.
    pub fn resolve(flag: Option<&Path>) -> DataDir {
        if let Some(p) = flag {
            return DataDir::new(p);
        }
        match std::env::var_os(DATA_ENV) {
            Some(v) if !v.is_empty() => DataDir::new(PathBuf::from(v)),
            _ => DataDir::new(DEFAULT_DATA_DIR),
        }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// The configuration; [`crate::Error::NotInitialized`] when there is none (the
    /// directory was never initialised).
    pub fn load_config(&self) -> crate::Result<crate::Config> {
        let path = self.config();
        if !path.exists() {
            return Err(crate::Error::NotInitialized {
                path: self.root.clone(),
            });
        }
        crate::Config::load(&path)
    }

    /// Replaces the configuration of an initialised directory with `config`: checked
    /// first (as [`crate::Config::parse`] checks the file), then written so that a crash
    /// leaves either the old or the new file. A configuration that does not check gives
    /// [`crate::Error::Config`] and nothing is written.
    pub fn save_config(&self, config: &crate::Config) -> crate::Result<()> {
        let text = config.to_toml();
        crate::Config::parse(&text).map_err(|reason| crate::Error::Config {
            path: self.config(),
            reason,
        })?;
        crate::recorder::write_atomically(&self.config(), text.as_bytes())
    }

    /// `tradetrail.toml`.
    pub fn config(&self) -> PathBuf {
        self.root.join("tradetrail.toml")
    }
    /// `DIR/journal`.
    pub fn journal(&self) -> PathBuf {
        self.root.join("journal")
    }
    /// `DIR/checkpoints`.
    pub fn checkpoints(&self) -> PathBuf {
        self.root.join("checkpoints")
    }
    /// `DIR/keys`.
    pub fn keys(&self) -> PathBuf {
        self.root.join("keys")
    }
    /// `DIR/index`.
    pub fn index(&self) -> PathBuf {
        self.root.join("index")
    }
}
