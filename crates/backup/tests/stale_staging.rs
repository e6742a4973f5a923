//! A restore that was killed leaves its staging directory (`.NAME.restoring-PID`);
//! the next restore beside it removes those that are provably abandoned and leaves
//! those that may still be in use.

use std::path::Path;

use tradetrail_backup::{backup, restore, BackupOptions, LocalStore, RestoreOptions};
use tradetrail_core::{DataDir, InitOptions, Recorder};
use tradetrail_journal::{Durability, Entry};

/// Larger than any pid Linux hands out (pid_max is at most 2^22).
const GONE: u32 = 4_000_000_000;

fn backed_up(tmp: &Path) -> LocalStore {
    let dir = DataDir::new(tmp.join("data"));
    let rec = Recorder::init(
        &dir,
        InitOptions {
            origin: Some("test/stale".into()),
            segment_max_bytes: None,
            created_at: None,
        },
    )
    .unwrap();
    for i in 0..5u64 {
        let body = format!(
            r#"{{"type":"custom.stale","ts_event":{},"source":"test","actor":"system","data":{{"i":{i}}}}}"#,
            1_795_000_000_000_000_000u64 + i
        );
        rec.journal()
            .append(Entry::new(body.into_bytes(), Durability::Os).unwrap())
            .unwrap();
    }
    drop(rec);
    let store = LocalStore::new(tmp.join("bk"));
    backup(&dir, &store, &BackupOptions::default(), &|_, _| {}).unwrap();
    store
}

/// A half-restored staging directory, as a killed restore leaves it.
fn leftover(parent: &Path, name: &str) -> std::path::PathBuf {
    let p = parent.join(name);
    std::fs::create_dir_all(p.join("journal")).unwrap();
    std::fs::write(p.join("journal/00000000000000000000.jsonl"), b"{\"seq\":0").unwrap();
    std::fs::write(p.join("tradetrail.toml"), b"origin = \"x\"\n").unwrap();
    p
}

#[test]
fn a_later_restore_removes_what_killed_restores_left() {
    if !Path::new("/proc/self").exists() {
        // Without /proc nothing can be proved abandoned, so nothing is removed.
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let store = backed_up(tmp.path());
    let parent = tmp.path().join("restores");
    std::fs::create_dir(&parent).unwrap();

    // Abandoned: the same destination's, and another destination's.
    let same = leftover(&parent, &format!(".restored.restoring-{GONE}"));
    let other = leftover(&parent, &format!(".older.restoring-{}", GONE + 1));
    // May be in use: a running process's (pid 1 always runs), and one whose lock
    // is held (a restore that is running).
    let running = leftover(&parent, ".restored.restoring-1");
    let locked = leftover(&parent, &format!(".restored.restoring-{}", GONE + 2));
    let held = std::fs::File::open(&locked).unwrap();
    held.try_lock().unwrap();
    // Not staging directories: a file with the name, a name without a pid.
    let file = parent.join(format!(".restored.restoring-{}", GONE + 3));
    std::fs::write(&file, b"not a directory").unwrap();
    let other_name = leftover(&parent, ".restored.restoring-x1");

    let dest = parent.join("restored");
    let r = restore(&store, &dest, &RestoreOptions::default(), &|_, _| {}).unwrap();
    assert_eq!(r.records, 6);
    assert!(dest.join("tradetrail.toml").exists());

    assert!(!same.exists(), "{} was left", same.display());
    assert!(!other.exists(), "{} was left", other.display());
    let mut removed = r.stale_removed.clone();
    removed.sort();
    let mut expected = vec![same, other];
    expected.sort();
    assert_eq!(removed, expected);

    for kept in [&running, &locked, &file, &other_name] {
        assert!(kept.exists(), "{} was removed", kept.display());
    }
    assert!(locked.join("tradetrail.toml").exists());
    drop(held);

    // Once its lock is let go, the next restore removes it too.
    let dest2 = parent.join("again");
    let r = restore(&store, &dest2, &RestoreOptions::default(), &|_, _| {}).unwrap();
    assert_eq!(r.stale_removed, vec![locked.clone()]);
    assert!(!locked.exists());
    assert!(running.exists() && file.exists() && other_name.exists());
}

#[test]
fn a_running_restores_staging_directory_is_locked() {
    // What a later restore checks: while a restore runs, its staging directory's
    // lock is held. Seen from inside the progress callback.
    let tmp = tempfile::tempdir().unwrap();
    let store = backed_up(tmp.path());
    let dest = tmp.path().join("restored");
    let staging = tmp
        .path()
        .join(format!(".restored.restoring-{}", std::process::id()));
    let seen = std::cell::Cell::new(None);
    restore(&store, &dest, &RestoreOptions::default(), &|_, _| {
        if seen.get().is_none() {
            let d = std::fs::File::open(&staging).unwrap();
            seen.set(Some(matches!(
                d.try_lock(),
                Err(std::fs::TryLockError::WouldBlock)
            )));
        }
    })
    .unwrap();
    assert_eq!(seen.get(), Some(true));
}
