//! A crash mid-archive: a temporary file, or a complete file that no manifest lists
//! yet, is never counted; the next run removes or remakes it identically.

mod common;

use common::*;
use tradetrail_archive::{
    archive, archive_dir, verify_all, ArchiveIndex, ArchiveOptions, Manifest, MANIFEST_FILE,
};

#[test]
fn a_crash_between_steps_leaves_nothing_counted_and_the_next_run_finishes() {
    let f = Fixture::new();
    f.write_day(0, 200, |i, ts| order(i, ts, "T-1"));
    f.write_day(1, 200, |i, ts| custom(i, ts, "T-2"));
    f.seal_until(3);
    let full = archive(&f.dir, &ArchiveOptions::default(), &mut |_, _| {}).unwrap();
    let idx = ArchiveIndex::load(&archive_dir(&f.dir)).unwrap();
    let total = idx.present_records();
    let (p, last) = {
        let (p, fe) = idx.files().last().unwrap();
        (p.clone(), fe.clone())
    };
    let last_bytes = std::fs::read(p.dir.join(&last.file)).unwrap();

    // Step 1 done, step 2 not: the file was renamed into place but the manifest was
    // not rewritten (as if killed between the two renames). And a half-written
    // temporary file of the next one.
    let mut m = Manifest::load(&p.dir.join(MANIFEST_FILE)).unwrap();
    m.files.retain(|e| e.file != last.file);
    if m.files.is_empty() {
        std::fs::remove_file(p.dir.join(MANIFEST_FILE)).unwrap();
    } else {
        m.save(&p.dir).unwrap();
    }
    let tmp = p
        .dir
        .join("_tmp-00000000000000099999-00000000000000100000.parquet.partial");
    std::fs::write(&tmp, &last_bytes[..last_bytes.len() / 3]).unwrap();

    let idx = ArchiveIndex::load(&archive_dir(&f.dir)).unwrap();
    assert_eq!(
        idx.present_records(),
        total - last.records,
        "the unlisted file is not counted"
    );
    assert_eq!(idx.strays, vec![p.dir.join(&last.file)]);
    assert_eq!(idx.temps, vec![tmp.clone()]);
    let c = verify_all(&f.dir, &|_| {}).unwrap();
    assert!(c.ok(), "{c:?}");
    let a = c.archive.unwrap();
    assert_eq!(a.records, total - last.records);
    assert_eq!(a.warnings.len(), 2, "{:?}", a.warnings);

    let again = archive(&f.dir, &ArchiveOptions::default(), &mut |_, _| {}).unwrap();
    assert_eq!(again.removed_temps, 1);
    assert_eq!((again.files, again.records), (1, last.records));
    assert_eq!(again.end_seq, full.end_seq);
    assert!(!tmp.exists());
    assert_eq!(
        std::fs::read(p.dir.join(&last.file)).unwrap(),
        last_bytes,
        "made again, byte for byte"
    );
    let idx = ArchiveIndex::load(&archive_dir(&f.dir)).unwrap();
    assert!(idx.strays.is_empty() && idx.temps.is_empty());
    assert_eq!(idx.present_records(), total);
    let c = verify_all(&f.dir, &|_| {}).unwrap();
    assert!(
        c.ok() && c.archive.as_ref().unwrap().warnings.is_empty(),
        "{c:?}"
    );
}
