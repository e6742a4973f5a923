//! The archive as its manifests describe it: every file in seq order.

use std::path::{Path, PathBuf};

use crate::layout::{self, TEMP_PREFIX};
use crate::manifest::{FileEntry, Manifest, MANIFEST_FILE};
use crate::{Error, Result};

/// One partition directory and its manifest.
#[derive(Debug, Clone)]
pub struct Partition {
    /// `archive/year=YYYY/month=MM/day=DD`.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
}

/// Every counted file of an archive, checked to run from seq 0 without a gap.
#[derive(Debug, Clone, Default)]
pub struct ArchiveIndex {
    /// `DIR/archive`.
    pub root: PathBuf,
    /// Partitions in seq order.
    pub partitions: Vec<Partition>,
    /// `.parquet` files that no manifest lists (left by a crash before the manifest
    /// was written; never counted, re-made by the next `archive`).
    pub strays: Vec<PathBuf>,
    /// Temporary files of an interrupted write.
    pub temps: Vec<PathBuf>,
}

impl ArchiveIndex {
    /// Reads every manifest under `root` (an absent directory is an empty archive).
    /// Fails when a manifest is unreadable or the files do not run from seq 0 on
    /// without gaps or overlaps, each linking to the one before.
    pub fn load(root: &Path) -> Result<ArchiveIndex> {
        let mut idx = ArchiveIndex {
            root: root.to_path_buf(),
            ..ArchiveIndex::default()
        };
        for dir in layout::partition_dirs(root)? {
            let mpath = dir.join(MANIFEST_FILE);
            let manifest = if mpath.exists() {
                Some(Manifest::load(&mpath)?)
            } else {
                None
            };
            for e in std::fs::read_dir(&dir).map_err(|e| Error::io("list", &dir, e))? {
                let e = e.map_err(|e| Error::io("list", &dir, e))?;
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with(TEMP_PREFIX) {
                    idx.temps.push(e.path());
                } else if name.ends_with(".parquet")
                    && !manifest.as_ref().is_some_and(|m| {
                        m.files
                            .iter()
                            .any(|f| f.file == name && f.purged_by.is_none())
                    })
                {
                    idx.strays.push(e.path());
                }
            }
            if let Some(manifest) = manifest {
                idx.partitions.push(Partition { dir, manifest });
            }
        }
        idx.check_sequence()?;
        Ok(idx)
    }

    /// Sorts the partitions by seq and checks that their files run from seq 0 on
    /// without gaps or overlaps, each linking to the one before.
    pub fn check_sequence(&mut self) -> Result<()> {
        self.partitions.sort_by_key(|p| p.manifest.first_seq);
        let mut next = 0u64;
        let mut prev: Option<&FileEntry> = None;
        for p in &self.partitions {
            for f in &p.manifest.files {
                let here = p.dir.join(&f.file);
                if f.first_seq != next {
                    return Err(Error::Corrupt {
                        path: here,
                        reason: if f.first_seq > next {
                            format!(
                                "the archive has a gap: records {next}..{} are in no manifest",
                                f.first_seq
                            )
                        } else {
                            format!(
                                "starts at seq {} but the files before already reach seq {}",
                                f.first_seq, next
                            )
                        },
                    });
                }
                if let Some(pf) = prev {
                    if f.first_prev != pf.last_hash {
                        return Err(Error::Corrupt {
                            path: here,
                            reason: format!(
                                "its first record's prev does not match the hash of record {} in {}",
                                pf.last_seq, pf.file
                            ),
                        });
                    }
                }
                next = f.last_seq + 1;
                prev = Some(f);
            }
        }
        Ok(())
    }

    /// The seq after the last archived record (0 for an empty archive).
    pub fn end(&self) -> u64 {
        self.last().map_or(0, |f| f.last_seq + 1)
    }

    /// The last file.
    pub fn last(&self) -> Option<&FileEntry> {
        self.partitions.last().and_then(|p| p.manifest.files.last())
    }

    /// Every file with its partition, in seq order.
    pub fn files(&self) -> impl Iterator<Item = (&Partition, &FileEntry)> {
        self.partitions
            .iter()
            .flat_map(|p| p.manifest.files.iter().map(move |f| (p, f)))
    }

    /// The file that ends at `seq`, if one does.
    pub fn ending_at(&self, seq: u64) -> Option<&FileEntry> {
        self.files().map(|(_, f)| f).find(|f| f.last_seq == seq)
    }

    /// Records in files that are still present (not purged).
    pub fn present_records(&self) -> u64 {
        self.files()
            .filter(|(_, f)| f.purged_by.is_none())
            .map(|(_, f)| f.records)
            .sum()
    }
}
