//! A real full disk: a 1 MiB tmpfs, filled until the journal's write fails.
//!
//! Needs permission to mount (root, or a container with CAP_SYS_ADMIN). Where mounting
//! is not allowed the test says so and passes without checking anything.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use tradetrail_journal::{
    Durability, Entry, Error, FsStorage, Journal, JournalOptions, RecordHash,
};

/// Unmounts the tmpfs when the test ends, however it ends.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(at: &Path, size: &str) -> Option<Mount> {
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Mount(at.to_path_buf())),
            Ok(o) => {
                eprintln!(
                    "disk_full: cannot mount a tmpfs here ({}); skipping the real disk-full test",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("disk_full: no mount command ({e}); skipping the real disk-full test");
                None
            }
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            // Something still holds it open: detach it so it goes away when released.
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

#[test]
fn journal_on_a_full_tmpfs() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(_mount) = Mount::tmpfs(tmp.path(), "1m") else {
        return;
    };
    let root = tmp.path();
    // Taken first, so freeing it later makes room again.
    let filler = root.join("filler");
    fs::write(&filler, vec![0xa5; 256 * 1024]).unwrap();
    let dir = root.join("journal");
    let opts = JournalOptions::default().with_segment_max_bytes(200 * 1024);
    let (j, _) = Journal::create(&dir, "tmpfs", opts.clone()).unwrap();

    let mut acks: Vec<(u64, RecordHash, Vec<u8>)> = Vec::new();
    let mut failure = None;
    for i in 1..100_000u64 {
        let b = body(i, 700 + (i as usize * 131) % 900);
        let d = if i % 10 == 0 {
            Durability::Fsync
        } else {
            Durability::Os
        };
        match j.append(Entry::new(b.clone(), d).unwrap()) {
            Ok(r) => acks.push((r.seq, r.hash, b)),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let e = failure.expect("a 1 MiB file system fills up");
    assert!(acks.len() > 300, "only {} records fitted", acks.len());
    assert!(e.is_disk_full(), "{e:?}");
    let segs = segment_starts(&FsStorage, &dir);
    assert!(segs.len() >= 3, "rotation happened on the way: {segs:?}");
    let active = segment_path(&dir, *segs.last().unwrap());
    let Error::DiskFull { path, available } = root_cause(&e) else {
        panic!("not DiskFull: {e:?}");
    };
    assert_eq!(path, &active);
    assert!(
        *available < 64 * 1024,
        "{available} bytes free on a full tmpfs?"
    );
    let msg = e.to_string();
    assert!(msg.contains(&active.display().to_string()), "{msg}");
    assert!(msg.contains(&format!("{available} bytes free")), "{msg}");

    // Poisoned: nothing more is accepted, and each refusal says why.
    for d in [Durability::Os, Durability::Fsync] {
        let again = j.append(entry(0, 1, d)).map(drop).unwrap_err();
        assert!(matches!(again, Error::Poisoned { .. }), "{again:?}");
        assert!(again.is_disk_full());
    }
    assert!(matches!(j.flush(), Err(Error::Poisoned { .. })));
    drop(j);

    // Every acknowledged record is on disk, as acknowledged.
    let lines = all_lines(&FsStorage, &dir);
    for (seq, hash, b) in &acks {
        assert_line_is(&lines[*seq as usize], *seq, *hash, b);
    }
    let data = fs::read(&active).unwrap();
    let torn = data.len() - data.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);

    // Room again: the reopen cuts any torn record, and the journal goes on.
    fs::remove_file(&filler).unwrap();
    let (j, report) = Journal::open(&dir, opts).unwrap();
    assert_eq!(report.truncated_bytes, torn as u64, "{report:?}");
    assert!(report.records > acks.last().unwrap().0);
    let r = j.append(entry(1, 10, Durability::Fsync)).unwrap();
    assert_eq!(r.seq, report.records);
    drop(j);
    let lines = all_lines(&FsStorage, &dir);
    for (seq, hash, b) in &acks {
        assert_line_is(&lines[*seq as usize], *seq, *hash, b);
    }
    assert_verifies(&FsStorage, &dir, report.records + 1);
    eprintln!(
        "disk_full: {} records acknowledged, failed with: {e}; reopen cut {torn} bytes",
        acks.len()
    );
}
