//! The one durable write of small files (`Storage::write_atomically`): a fault at any
//! operation, or a crash at any sync point, leaves the old content or the new one —
//! never a mix, a torn file or no file.

use std::path::Path;
use std::sync::Arc;

use tradetrail_journal::Storage;
use tradetrail_testkit::{FaultStorage, MemStorage};

const OLD: &[u8] = b"origin = \"old\"\n";
const NEW: &[u8] = b"origin = \"new\"\nsegment_max_bytes = 4096\n";

fn with_old() -> MemStorage {
    let mem = MemStorage::new();
    mem.create_dir_all(Path::new("/d")).unwrap();
    mem.sync_dir(Path::new("/")).unwrap();
    mem.write_atomically(Path::new("/d/tradetrail.toml"), OLD)
        .unwrap();
    mem
}

#[test]
fn a_fault_at_any_operation_leaves_the_old_or_the_new_content() {
    let path = Path::new("/d/tradetrail.toml");
    let counter = FaultStorage::new(Arc::new(with_old()), u64::MAX);
    counter.write_atomically(path, NEW).unwrap();
    let ops = counter.ops();
    assert!(ops >= 5, "{ops}");
    let mut saw_old = false;
    for k in 0..ops {
        let mem = with_old();
        let fault = FaultStorage::new(Arc::new(mem.clone()), k);
        let r = fault.write_atomically(path, NEW);
        let now = mem.file(path).expect("the file is never lost");
        assert!(now == OLD || now == NEW, "op {k}: {now:?}");
        if now == OLD {
            saw_old = true;
            assert!(
                r.is_err(),
                "op {k}: the old content stayed, so the write failed"
            );
        }
        // A retry after the fault succeeds (a leftover temporary file is replaced).
        mem.write_atomically(path, NEW).unwrap();
        assert_eq!(mem.file(path).unwrap(), NEW);
    }
    assert!(saw_old);
}

#[test]
fn a_crash_at_any_sync_point_leaves_the_old_or_the_new_content() {
    let path = Path::new("/d/tradetrail.toml");
    // write_atomically syncs twice (the temporary file, then the directory).
    let mut completed = 0;
    for n in 0..3 {
        let mem = with_old();
        let base = mem.syncs();
        mem.fail_syncs_after(base + n);
        let done = mem.write_atomically(path, NEW).is_ok();
        let image = mem.crash_image(0);
        let after = image.file(path).expect("the file survives the crash");
        assert!(after == OLD || after == NEW, "sync {n}: {after:?}");
        // Once the write returned, the new content is what a crash leaves (this
        // fails if the directory sync after the rename is left out).
        if done {
            assert_eq!(after, NEW, "sync {n}");
            completed += 1;
        }
    }
    assert!(
        completed >= 1,
        "a run where every sync succeeded was checked"
    );
}
