//! Checking journal records as they stream past: seq continuity from segment to
//! segment, each `prev` against the line before, `ts_recorded` never decreasing,
//! record 0 being `journal.created`, and the Merkle tree of everything seen.
//! Backup runs it over the source, restore over the copy, file by file.

use tradetrail_core::PurgedRun;
use tradetrail_journal::{
    parse_header, record_type, ColdLines, ColdRange, PurgedSubtrees, RecordHash,
};
use tradetrail_merkle::{Hash, MerkleLog};

/// The running state of the check.
#[derive(Debug, Default)]
pub struct ChainCheck {
    next_seq: u64,
    prev: RecordHash,
    last_ts: i64,
    log: MerkleLog,
    purged: Vec<PurgedRun>,
}

/// What one segment held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentSeen {
    /// Records in it.
    pub records: u64,
}

impl ChainCheck {
    /// A check that expects record 0 next.
    pub fn new() -> ChainCheck {
        ChainCheck::default()
    }

    /// Checks one segment's bytes (whole lines only) whose name says it starts at
    /// `first_seq`. The error is the reason, naming the record.
    pub fn segment(&mut self, first_seq: u64, bytes: &[u8]) -> Result<SegmentSeen, String> {
        if first_seq != self.next_seq {
            return Err(if first_seq > self.next_seq {
                format!(
                    "starts at seq {first_seq} but seq {} comes next: records {}..{first_seq} are missing",
                    self.next_seq, self.next_seq
                )
            } else {
                format!(
                    "starts at seq {first_seq} but records up to {} were already seen",
                    self.next_seq - 1
                )
            });
        }
        if !bytes.is_empty() && bytes.last() != Some(&b'\n') {
            return Err("does not end at a record boundary (its last line has no newline)".into());
        }
        let mut records = 0;
        for line in bytes.split(|&b| b == b'\n') {
            if line.is_empty() {
                continue;
            }
            self.line(line)?;
            records += 1;
        }
        Ok(SegmentSeen { records })
    }

    /// [`ChainCheck::cold`] over the archive of `data`, for a journal whose first
    /// segment starts at `first` > 0; `what` names the copy in errors.
    pub fn archive(
        &mut self,
        data: &tradetrail_core::DataDir,
        first: u64,
        what: &str,
    ) -> crate::Result<()> {
        let lines = tradetrail_archive::ArchiveLines::open(data)
            .map_err(|e| crate::Error::refused("archive/", e.to_string()))?
            .ok_or_else(|| {
                crate::Error::refused(
                    "journal/",
                    format!("starts at seq {first} and {what} holds no archive with the records before it"),
                )
            })?;
        self.cold(&lines, first).map_err(|r| {
            crate::Error::refused("archive/", format!("{r}; run `tradetrail verify`"))
        })?;
        Ok(())
    }

    /// Checks the records before the journal's first segment, `next..to`, read back
    /// from the cold tier (the archive) after the hot window removed their segments.
    /// A range a retention purge removed is bridged by what its tombstone keeps: its
    /// `first_prev` must be the hash of the record before it, its subtrees must give
    /// the Merkle root it recorded, and the record after it must link to its
    /// `last_hash` (checked as that record comes).
    pub fn cold(&mut self, cold: &dyn ColdLines, to: u64) -> Result<u64, String> {
        let from = self.next_seq;
        let ranges = cold
            .ranges()
            .map_err(|e| format!("reading the archive: {e}"))?;
        for r in ranges.iter().filter(|r| r.last >= from && r.first < to) {
            if r.first < self.next_seq {
                // Only the first range can start before `from`; read past its start.
                if r.purged_by.is_some() {
                    return Err(format!(
                        "record {} was purged by retention, so the check cannot start there",
                        self.next_seq
                    ));
                }
            }
            match r.purged_by {
                None => self.cold_lines(cold, r.last.min(to - 1) + 1)?,
                Some(by) => {
                    let kept = cold
                        .subtrees(r)
                        .map_err(|e| format!("reading the archive: {e}"))?
                        .ok_or_else(|| {
                            format!(
                                "records {}..={} were purged by retention (the journal.retention_purged record at seq {by}) before purges kept their Merkle subtrees: the tree cannot be checked across them",
                                r.first, r.last
                            )
                        })?;
                    if r.last >= to {
                        return Err(format!(
                            "the journal starts at seq {to}, inside the purged records {}..={}",
                            r.first, r.last
                        ));
                    }
                    self.bridge(r, by, &kept)
                        .map_err(|reason| format!("in the archive: {reason}"))?;
                }
            }
        }
        if self.next_seq != to {
            return Err(format!(
                "the journal starts at seq {to} but the archive holds records only up to {}",
                self.next_seq
            ));
        }
        Ok(to - from)
    }

    /// Reads the cold lines `next..to` and checks each.
    fn cold_lines(&mut self, cold: &dyn ColdLines, to: u64) -> Result<(), String> {
        let mut bad = None;
        let read = cold.for_each(self.next_seq, to, &mut |_, line| match self.line(line) {
            Ok(()) => Ok(true),
            Err(r) => {
                bad = Some(r);
                Ok(false)
            }
        });
        if let Some(r) = bad {
            return Err(format!("in the archive: {r}"));
        }
        read.map_err(|e| format!("reading the archive: {e}"))?;
        Ok(())
    }

    /// Carries the chain and the tree across a purged range.
    fn bridge(&mut self, r: &ColdRange, by: u64, kept: &PurgedSubtrees) -> Result<(), String> {
        let what = format!(
            "the tombstone of the purged records {}..={} (purge record {by})",
            r.first, r.last
        );
        if r.first != self.next_seq {
            return Err(format!(
                "{what} begins where record {} belongs",
                self.next_seq
            ));
        }
        if r.first == 0 {
            return Err(format!("{what} covers record 0, which is never purged"));
        }
        if kept.first_prev != self.prev {
            return Err(format!(
                "{what} says the record before it has hash {}, but record {} has hash {}: the chain is broken",
                kept.first_prev,
                r.first - 1,
                self.prev
            ));
        }
        if kept.first_ts_recorded < self.last_ts || kept.last_ts_recorded < kept.first_ts_recorded {
            return Err(format!(
                "{what}: its ts_recorded is earlier than record {}'s",
                r.first - 1
            ));
        }
        tradetrail_core::push_purged(&mut self.log, r, kept).map_err(|e| e.to_string())?;
        self.prev = kept.last_hash;
        self.last_ts = kept.last_ts_recorded;
        self.next_seq = r.last + 1;
        self.purged.push(PurgedRun {
            first: r.first,
            last: r.last,
            by,
        });
        Ok(())
    }

    /// The purged range that `size` falls strictly inside, if any: the root at such
    /// a size needs records that are gone, so a checkpoint of that size cannot be
    /// checked.
    pub fn purged_inside(&self, size: u64) -> Option<PurgedRun> {
        self.purged
            .iter()
            .find(|r| r.first < size && size <= r.last)
            .copied()
    }

    /// The Merkle root of the first `size` records seen; refused for a size strictly
    /// inside a purged range.
    pub fn root_at(&self, size: u64) -> Result<Hash, String> {
        if let Some(r) = self.purged_inside(size) {
            return Err(format!(
                "size {size} falls inside the records {}..={} that retention purged (the journal.retention_purged record at seq {}): the root there needs records that are gone",
                r.first, r.last, r.by
            ));
        }
        self.log.root_at(size).map_err(|e| e.to_string())
    }

    /// Records a retention purge removed, bridged by their tombstones' subtrees.
    pub fn purged_records(&self) -> u64 {
        self.purged.iter().map(|r| r.last - r.first + 1).sum()
    }

    fn line(&mut self, line: &[u8]) -> Result<(), String> {
        let seq = self.next_seq;
        let h = parse_header(line).map_err(|r| format!("record {seq}: {r}"))?;
        if h.seq != seq {
            return Err(format!("record {seq} expected, found seq {}", h.seq));
        }
        if std::str::from_utf8(line).is_err() {
            return Err(format!("record {seq} is not UTF-8"));
        }
        if h.prev != self.prev {
            return Err(format!(
                "record {seq}: prev {} is not the hash of record {} ({}): the chain is broken",
                h.prev,
                seq.wrapping_sub(1),
                self.prev
            ));
        }
        if seq > 0 && h.ts_recorded < self.last_ts {
            return Err(format!(
                "record {seq}: ts_recorded is earlier than record {}'s",
                seq - 1
            ));
        }
        let ty = record_type(line).unwrap_or("");
        if (seq == 0) != (ty == "journal.created") {
            return Err(format!(
                "record {seq}: type {ty:?} (record 0 and only it is journal.created)"
            ));
        }
        self.prev = RecordHash::of_line(line);
        self.last_ts = h.ts_recorded;
        self.log.push_line(line);
        self.next_seq = seq + 1;
        Ok(())
    }

    /// Records seen.
    pub fn records(&self) -> u64 {
        self.next_seq
    }

    /// Hash of the last record seen.
    pub fn head_hash(&self) -> RecordHash {
        self.prev
    }

    /// The Merkle tree of the records seen.
    pub fn tree(&self) -> &MerkleLog {
        &self.log
    }
}
