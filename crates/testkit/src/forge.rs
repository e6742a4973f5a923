//! Forging a journal as an intruder would, to test that the doors refuse it.

use tradetrail_journal::{parse_header, RecordHash};

/// `segment` (a journal segment's bytes) with the first occurrence of `find` in record
/// `seq` replaced by `replace`, and the `prev` of every later record recomputed: a
/// rewrite the hash chain alone cannot catch (a signed checkpoint over the record can).
///
/// # Panics
///
/// When the segment holds no record `seq`, or the record does not contain `find`.
pub fn rewrite_record(segment: &[u8], seq: u64, find: &str, replace: &str) -> Vec<u8> {
    let text = std::str::from_utf8(segment).expect("a segment is UTF-8");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let at = lines
        .iter()
        .position(|l| parse_header(l.as_bytes()).is_ok_and(|h| h.seq == seq))
        .unwrap_or_else(|| panic!("the segment holds no record {seq}"));
    assert!(lines[at].contains(find), "record {seq} holds no {find:?}");
    lines[at] = lines[at].replacen(find, replace, 1);
    for i in at + 1..lines.len() {
        let prev = RecordHash::of_line(lines[i - 1].as_bytes()).to_hex();
        let l = &mut lines[i];
        let p = l.find(r#""prev":""#).expect("a record names its prev") + 8;
        l.replace_range(p..p + 64, &prev);
    }
    let mut out = lines.join("\n").into_bytes();
    out.push(b'\n');
    out
}
