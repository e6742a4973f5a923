//! Many JSON events into journal entries at once, on every core, all or nothing: the
//! one place where `tradetrail append` and the server's `POST /v1/events` turn an
//! input of JSON Lines into entries, and where receipts are written back as JSON.

use std::io::Read;

use tradetrail_journal::{Durability, Entry, Receipt};
use tradetrail_model::ValidationErrors;

use crate::Recorder;

/// One numbered line of an input: its 1-based line number and its bytes.
pub type Line<'a> = (usize, &'a [u8]);

/// A line that failed validation: its 1-based number and every problem in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// 1-based line number in the input.
    pub line: usize,
    /// Every problem, each naming its field.
    pub errors: ValidationErrors,
}

/// Below this many lines per thread, a thread costs more than it saves: an input of
/// fewer than twice this many lines is prepared on the calling thread.
pub const MIN_LINES_PER_THREAD: usize = 512;

/// Splits JSON Lines into numbered lines. Lines are numbered from 1 and split at `\n`;
/// a `\r` before it is dropped, as is a UTF-8 byte-order mark at the start of the
/// input. Blank (whitespace-only) lines are counted but not returned.
pub fn split_lines(input: &[u8]) -> Vec<Line<'_>> {
    let input = input.strip_prefix(b"\xef\xbb\xbf").unwrap_or(input);
    split_lines_from(input, 1).0
}

/// [`split_lines`] of a part of an input whose first line is number `first` (no
/// byte-order mark is looked for); also returns the number the line after the last
/// `\n` gets.
fn split_lines_from(input: &[u8], first: usize) -> (Vec<Line<'_>>, usize) {
    let mut lines = Vec::with_capacity(input.len() / 256 + 1);
    let mut start = 0;
    let mut number = first;
    while start < input.len() {
        let end = memchr::memchr(b'\n', &input[start..]).map_or(input.len(), |i| start + i);
        let line = &input[start..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.iter().all(u8::is_ascii_whitespace) {
            lines.push((number, line));
        }
        if end < input.len() {
            number += 1;
        }
        start = end + 1;
    }
    (lines, number)
}

/// Entries prepared from an input, with the input line number of each.
#[derive(Debug, Default)]
pub struct Prepared {
    /// The entries, in input order.
    pub entries: Vec<Entry>,
    /// `lines[i]` is the 1-based input line of `entries[i]`.
    pub lines: Vec<usize>,
}

/// How much of its input [`Recorder::prepare_reader`] reads at a time.
pub const READ_BLOCK: usize = 8 << 20;

impl Recorder {
    /// Validates and serializes every line into an entry ([`Recorder::prepare_line`]),
    /// on as many threads as the machine has cores when the input is large enough.
    ///
    /// All or nothing: the entries come back in the order of `lines` only when every
    /// line is valid; otherwise every bad line comes back, in input order, with all of
    /// its problems.
    pub fn prepare_lines(
        &self,
        lines: &[Line<'_>],
        durability: Option<Durability>,
    ) -> Result<Vec<Entry>, Vec<BadLine>> {
        if lines.len() < 2 * MIN_LINES_PER_THREAD {
            // One thread in any case: do not ask for the cores (a few system calls
            // that read the cgroup limits, on every request of a server).
            return self.prepare_chunk(lines, durability);
        }
        self.prepare_lines_with(lines, durability, crate::par::cores())
    }

    /// [`Recorder::prepare_lines`] on at most `threads` threads (the calling thread is
    /// one of them); each gets at least [`MIN_LINES_PER_THREAD`] lines.
    pub fn prepare_lines_with(
        &self,
        lines: &[Line<'_>],
        durability: Option<Durability>,
        threads: usize,
    ) -> Result<Vec<Entry>, Vec<BadLine>> {
        let mut results = crate::par::map_chunks(lines, threads, MIN_LINES_PER_THREAD, |chunk| {
            self.prepare_chunk(chunk, durability)
        });
        if results.len() == 1 {
            if let Some(one) = results.pop() {
                return one;
            }
        }
        let mut entries = Vec::with_capacity(lines.len());
        let mut bad = Vec::new();
        for r in results {
            match r {
                Ok(e) if bad.is_empty() => entries.extend(e),
                Ok(_) => {}
                Err(b) => bad.extend(b),
            }
        }
        if bad.is_empty() {
            Ok(entries)
        } else {
            Err(bad)
        }
    }

    /// [`Recorder::prepare_lines`] over JSON Lines read from `input` (as
    /// [`split_lines`] splits them) in blocks of [`READ_BLOCK`] bytes, so that the
    /// input is never held whole: only its entries are. All or nothing as
    /// `prepare_lines`; an error reading `input` is the outer error.
    pub fn prepare_reader(
        &self,
        input: impl Read,
        durability: Option<Durability>,
    ) -> std::io::Result<Result<Prepared, Vec<BadLine>>> {
        self.prepare_reader_in_blocks(input, durability, READ_BLOCK)
    }

    /// [`Recorder::prepare_reader`] reading `block` bytes at a time (a line longer
    /// than that is read whole all the same).
    pub fn prepare_reader_in_blocks(
        &self,
        mut input: impl Read,
        durability: Option<Durability>,
        block: usize,
    ) -> std::io::Result<Result<Prepared, Vec<BadLine>>> {
        let block = block.max(1);
        let mut out = Prepared::default();
        let mut bad = Vec::new();
        let mut buf: Vec<u8> = Vec::with_capacity(block);
        let mut next_line = 1;
        // Bytes at the start of `buf` that are not input: a byte-order mark.
        let mut skip = 0;
        let mut bom_checked = false;
        loop {
            // Fill up to one more block; `buf` may hold the start of a line already.
            let want = (buf.len() + block) as u64;
            let read = input
                .by_ref()
                .take(want - buf.len() as u64)
                .read_to_end(&mut buf)?;
            let eof = read == 0 || (buf.len() as u64) < want;
            if !bom_checked && (buf.len() >= 3 || eof) {
                if buf.starts_with(b"\xef\xbb\xbf") {
                    skip = 3;
                }
                bom_checked = true;
            }
            // Whole lines only, unless the input has ended.
            let cut = if eof {
                buf.len()
            } else {
                match memchr::memrchr(b'\n', &buf[skip..]) {
                    Some(i) => skip + i + 1,
                    None => continue, // one line longer than a block: read on
                }
            };
            bom_checked = true;
            let (lines, after) = split_lines_from(&buf[skip..cut], next_line);
            next_line = after;
            match self.prepare_lines(&lines, durability) {
                Ok(entries) if bad.is_empty() => {
                    out.entries.extend(entries);
                    out.lines.extend(lines.iter().map(|&(n, _)| n));
                }
                Ok(_) => {}
                Err(b) => {
                    if bad.is_empty() {
                        out = Prepared::default();
                    }
                    bad.extend(b);
                }
            }
            if eof {
                break;
            }
            buf.drain(..cut);
            skip = 0;
        }
        Ok(if bad.is_empty() { Ok(out) } else { Err(bad) })
    }

    /// One thread's share, in order. After the first bad line the entries are dropped
    /// but the lines are still checked, so that every bad line is reported.
    fn prepare_chunk(
        &self,
        lines: &[Line<'_>],
        durability: Option<Durability>,
    ) -> Result<Vec<Entry>, Vec<BadLine>> {
        let mut entries = Vec::with_capacity(lines.len());
        let mut bad = Vec::new();
        for &(line, bytes) in lines {
            match self.prepare_line(bytes, durability) {
                Ok(e) if bad.is_empty() => entries.push(e),
                Ok(_) => {}
                Err(errors) => {
                    if bad.is_empty() {
                        entries = Vec::new();
                    }
                    bad.push(BadLine { line, errors });
                }
            }
        }
        if bad.is_empty() {
            Ok(entries)
        } else {
            Err(bad)
        }
    }
}

/// Appends a receipt as JSON: `{"seq":N,"hash":"<64 hex>"}`, with `,"duplicate":true`
/// before the `}` when nothing new was written. The form `tradetrail append` prints,
/// one a line, and the server answers, in a list.
pub fn write_receipt_json(out: &mut Vec<u8>, r: &Receipt) {
    out.extend_from_slice(b"{\"seq\":");
    write_u64(out, r.seq);
    out.extend_from_slice(b",\"hash\":\"");
    let mut hex = [0u8; 64];
    r.hash.write_hex(&mut hex);
    out.extend_from_slice(&hex);
    if r.duplicate {
        out.extend_from_slice(b"\",\"duplicate\":true}");
    } else {
        out.extend_from_slice(b"\"}");
    }
}

/// Appends `n` in decimal.
fn write_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradetrail_journal::RecordHash;

    #[test]
    fn split_lines_numbers_skip_blank_and_drop_cr_and_bom() {
        let input = b"\xef\xbb\xbf{\"a\":1}\r\n\n  \t\n{\"b\":2}\n{\"c\":3}";
        let got = split_lines(input);
        assert_eq!(
            got,
            vec![
                (1, &b"{\"a\":1}"[..]),
                (4, &b"{\"b\":2}"[..]),
                (5, &b"{\"c\":3}"[..]),
            ]
        );
        assert!(split_lines(b"").is_empty());
        assert!(split_lines(b"\n\n").is_empty());
        // A byte-order mark is dropped only at the very start.
        assert_eq!(split_lines(b"x\n\xef\xbb\xbfy")[1].1, b"\xef\xbb\xbfy");
    }

    #[test]
    fn receipts_are_the_json_serde_would_write() {
        for (seq, duplicate) in [(0, false), (7, true), (1234567890, false), (u64::MAX, true)] {
            let r = Receipt {
                seq,
                hash: RecordHash::of_line(format!("line {seq}").as_bytes()),
                duplicate,
            };
            let mut got = Vec::new();
            write_receipt_json(&mut got, &r);
            let want = if duplicate {
                serde_json::json!({"seq": seq, "hash": r.hash.to_hex(), "duplicate": true})
            } else {
                serde_json::json!({"seq": seq, "hash": r.hash.to_hex()})
            };
            assert_eq!(
                String::from_utf8_lossy(&got),
                serde_json::to_string(&want).unwrap_or_default()
            );
        }
    }
}
