//! Helpers shared by the journal's integration tests (each `tests/*.rs` file is its
//! own crate and uses a different subset, hence the `dead_code` allowance).
#![allow(dead_code)]

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tradetrail_journal::{
    list_segments, parse_header, verify, Clock, Durability, Entry, Error, RecordHash, SegmentFile,
    Storage, VerifyReport,
};
use tradetrail_testkit::MemStorage;

/// A producer body with record-specific content and `pad` bytes of padding.
pub fn body(i: u64, pad: usize) -> Vec<u8> {
    format!(
        r#"{{"type":"custom.test","ts_event":{i},"source":"test","actor":"system","data":{{"i":{i},"pad":"{}"}}}}"#,
        "x".repeat(pad)
    )
    .into_bytes()
}

/// A body carrying an `event_id`, the field the dedup index is rebuilt from.
pub fn body_with_id(i: u64, event_id: &str) -> Vec<u8> {
    format!(
        r#"{{"type":"custom.test","ts_event":{i},"source":"test","actor":"system","event_id":"{event_id}","data":{{"i":{i}}}}}"#
    )
    .into_bytes()
}

pub fn entry(i: u64, pad: usize, durability: Durability) -> Entry {
    Entry::new(body(i, pad), durability).expect("test bodies are well framed")
}

/// A clock the test moves by hand; each reading also advances it by `step` ns.
#[derive(Debug)]
pub struct TestClock {
    now: AtomicI64,
    step: i64,
}

impl TestClock {
    pub fn new(start: i64, step: i64) -> Arc<TestClock> {
        Arc::new(TestClock {
            now: AtomicI64::new(start),
            step,
        })
    }
    pub fn set(&self, ns: i64) {
        self.now.store(ns, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now_ns(&self) -> i64 {
        self.now.fetch_add(self.step, Ordering::SeqCst)
    }
}

/// The complete lines (without `\n`) of one file; a torn tail is left out.
pub fn split_lines(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
        out.push(rest[..nl].to_vec());
        rest = &rest[nl + 1..];
    }
    out
}

/// Every complete line of every segment, in segment order.
pub fn all_lines(storage: &dyn Storage, dir: &Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for seg in list_segments(storage, dir).expect("list segments") {
        out.extend(split_lines(&storage.read(&seg.path).expect("read segment")));
    }
    out
}

/// First seqs of the segment files.
pub fn segment_starts(storage: &dyn Storage, dir: &Path) -> Vec<u64> {
    list_segments(storage, dir)
        .expect("list segments")
        .iter()
        .map(|s| s.first_seq)
        .collect()
}

pub fn segment_path(dir: &Path, first_seq: u64) -> PathBuf {
    dir.join(tradetrail_journal::segment_file_name(first_seq))
}

/// Runs `verify` and asserts it passed with `records` records and no warnings.
pub fn assert_verifies(storage: &dyn Storage, dir: &Path, records: u64) -> VerifyReport {
    let report = verify(storage, dir, &|_| {}).expect("verify could read the journal");
    assert!(report.ok, "verify failed: {report:?}");
    assert_eq!(report.first_bad_seq, None);
    assert_eq!(report.records, records, "{report:?}");
    assert!(report.warnings.is_empty(), "{report:?}");
    report
}

/// Checks that the line at position `seq` is the record a receipt acknowledged:
/// its header says `seq`, its hash is the receipt's, and it carries `body`.
pub fn assert_line_is(line: &[u8], seq: u64, hash: RecordHash, body: &[u8]) {
    let h = parse_header(line).expect("stored line has a header");
    assert_eq!(h.seq, seq);
    assert_eq!(RecordHash::of_line(line), hash, "record {seq} changed");
    assert_eq!(&line[h.body_start..], &body[1..], "record {seq} body");
}

/// The error a failure is about: the cause of a `Poisoned`, else the error itself.
pub fn root_cause(e: &Error) -> &Error {
    match e {
        Error::Poisoned { cause } => root_cause(cause),
        other => other,
    }
}

/// An entry with `event_id` `id` as its dedup key.
pub fn keyed(i: u64, id: &str, durability: Durability) -> Entry {
    Entry::new(body_with_id(i, id), durability)
        .expect("test bodies are well framed")
        .with_dedup_key(tradetrail_journal::dedup_key_of(id))
}

/// Every byte of every file of `mem`.
pub fn all_bytes(mem: &tradetrail_testkit::MemStorage) -> Vec<u8> {
    let mut out = Vec::new();
    for p in mem.paths() {
        out.extend(mem.file(&p).expect("listed file"));
    }
    out
}

/// `r` is the original receipt, marked a duplicate.
pub fn assert_duplicate_of(r: tradetrail_journal::Receipt, original: tradetrail_journal::Receipt) {
    assert_eq!(
        r,
        tradetrail_journal::Receipt {
            seq: original.seq,
            hash: original.hash,
            duplicate: true
        }
    );
}

/// A storage whose `fdatasync` makes durable what was written before the call, then
/// takes a while to return, as a real disk does: bytes written meanwhile are not
/// covered, so acknowledging them on that sync's word would be a lie a crash exposes.
#[derive(Debug)]
pub struct SlowSync(pub MemStorage);

#[derive(Debug)]
pub struct SlowFile(Box<dyn SegmentFile>);

impl SegmentFile for SlowFile {
    fn append(&self, buf: &[u8]) -> io::Result<()> {
        self.0.append(buf)
    }
    fn sync_data(&self) -> io::Result<()> {
        let r = self.0.sync_data();
        std::thread::sleep(Duration::from_micros(300));
        r
    }
}

impl Storage for SlowSync {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.0.create_dir_all(path)
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        self.0.list_dir(path)
    }
    fn exists(&self, path: &Path) -> io::Result<bool> {
        self.0.exists(path)
    }
    fn len(&self, path: &Path) -> io::Result<u64> {
        self.0.len(path)
    }
    fn read_at(&self, path: &Path, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        self.0.read_at(path, offset, len)
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.0.read(path)
    }
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn SegmentFile>> {
        Ok(Box::new(SlowFile(self.0.open_append(path)?)))
    }
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        self.0.truncate(path, len)
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.0.sync_dir(path)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.0.remove_file(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.0.rename(from, to)
    }
    fn available_space(&self, path: &Path) -> io::Result<u64> {
        self.0.available_space(path)
    }
}
