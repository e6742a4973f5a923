//! One record: a line of JSON whose first three keys are assigned by the journal.
//!
//! ```text
//! {"seq":7,"ts_recorded":1763735530123456789,"prev":"<64 hex>","type":"order.filled",...}\n
//! └──────────────── header (journal) ─────────────────────────┘└──── body (producer) ────┘
//! ```
//! The header is written and parsed by hand: it is on the hot path of both the writer
//! and `verify`, its shape is fixed, and a general JSON parser would cost more than
//! the rest of the record's handling.

use crate::chain::RecordHash;

const SEQ_KEY: &[u8] = b"{\"seq\":";
const TS_KEY: &[u8] = b",\"ts_recorded\":";
const PREV_KEY: &[u8] = b",\"prev\":\"";
/// The body of every record starts with this: the record type comes first.
pub(crate) const TYPE_KEY: &[u8] = b"{\"type\":\"";

/// The journal-assigned fields at the start of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// Position in the journal, from 0.
    pub seq: u64,
    /// ns since the Unix epoch when the journal accepted the record.
    pub ts_recorded: i64,
    /// Hash of the previous record's line.
    pub prev: RecordHash,
    /// Where the producer's fields start (the index of the `"` of `"type"`).
    pub body_start: usize,
}

/// Appends `header + body[1..] + '\n'` to `out` and returns the record's hash.
///
/// `body` must have passed [`check_body`].
pub(crate) fn encode(
    out: &mut Vec<u8>,
    seq: u64,
    ts_recorded: i64,
    prev: &RecordHash,
    body: &[u8],
) -> RecordHash {
    let start = out.len();
    out.extend_from_slice(SEQ_KEY);
    out.extend_from_slice(itoa::Buffer::new().format(seq).as_bytes());
    out.extend_from_slice(TS_KEY);
    out.extend_from_slice(itoa::Buffer::new().format(ts_recorded).as_bytes());
    out.extend_from_slice(PREV_KEY);
    let mut hex = [0u8; 64];
    prev.write_hex(&mut hex);
    out.extend_from_slice(&hex);
    out.extend_from_slice(b"\",");
    out.extend_from_slice(&body[1..]);
    let hash = RecordHash::of_line(&out[start..]);
    out.push(b'\n');
    hash
}

/// Full check of a body from an untrusted source: framing and JSON validity.
pub(crate) fn check_body_json(body: &[u8]) -> Result<(), String> {
    check_body(body)?;
    if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err() {
        return Err("body is not valid JSON".into());
    }
    Ok(())
}

/// Cheap structural checks on a producer body. Full JSON validation is the
/// producer's job (the model crate); the journal only guarantees framing.
pub(crate) fn check_body(body: &[u8]) -> Result<(), String> {
    if !body.starts_with(TYPE_KEY) {
        return Err("body must be a JSON object whose first key is \"type\"".into());
    }
    if body.last() != Some(&b'}') {
        return Err("body must end with '}'".into());
    }
    if memchr::memchr2(b'\n', b'\r', body).is_some() {
        return Err("body must be a single line (no \\n or \\r)".into());
    }
    // Recovery and verify treat NUL bytes and non-UTF-8 lines as damage (a NUL run is
    // what a crash leaves in blocks that never reached the disk), so a body with either
    // would be acknowledged now and cut off or refused at the next open.
    if memchr::memchr(0, body).is_some() {
        return Err("body must not contain NUL bytes".into());
    }
    if std::str::from_utf8(body).is_err() {
        return Err("body must be UTF-8".into());
    }
    if record_type_of_body(body).is_none() {
        return Err("\"type\" must be a dotted lowercase name".into());
    }

    Ok(())
}

/// The type of a body that starts with `{"type":"`.
pub(crate) fn record_type_of_body(body: &[u8]) -> Option<&str> {
    let rest = body.strip_prefix(TYPE_KEY)?;
    let end = memchr::memchr(b'"', rest)?;
    let ty = &rest[..end];
    let ok = !ty.is_empty()
        && ty
            .iter()
            .all(|c| matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.'));
    if ok {
        std::str::from_utf8(ty).ok()
    } else {
        None
    }
}

/// The record type of a full line (header + body), if the line is well formed.
pub fn record_type(line: &[u8]) -> Option<&str> {
    let header = parse_header(line).ok()?;
    // The body's `{` was dropped when the line was built; put the check back in place.
    let body = &line[header.body_start - 1..];
    let rest = body.strip_prefix(b",\"type\":\"")?;
    let end = memchr::memchr(b'"', rest)?;
    std::str::from_utf8(&rest[..end]).ok()
}

/// Parses the journal-assigned header of one line (without `\n`).
pub fn parse_header(line: &[u8]) -> Result<RecordHeader, &'static str> {
    let rest = line
        .strip_prefix(SEQ_KEY)
        .ok_or("line does not start with {\"seq\":")?;
    let (seq, rest) = parse_u64(rest).ok_or("seq is not an unsigned integer")?;
    let rest = rest
        .strip_prefix(TS_KEY)
        .ok_or("\"ts_recorded\" is not the second key")?;
    let (ts, rest) = parse_u64(rest).ok_or("ts_recorded is not a non-negative integer")?;
    let ts_recorded = i64::try_from(ts).map_err(|_| "ts_recorded is out of range")?;
    let rest = rest
        .strip_prefix(PREV_KEY)
        .ok_or("\"prev\" is not the third key")?;
    if rest.len() < 66 {
        return Err("line ends inside prev");
    }
    let prev = RecordHash::from_hex(&rest[..64]).ok_or("prev is not 64 lowercase hex digits")?;
    if &rest[64..66] != b"\"," {
        return Err("prev is not followed by the record body");
    }
    let body_start = line.len() - rest.len() + 66;
    if !line[body_start..].starts_with(b"\"type\":\"") {
        return Err("\"type\" is not the fourth key");
    }
    Ok(RecordHeader {
        seq,
        ts_recorded,
        prev,
        body_start,
    })
}

/// Parses a canonical decimal integer (no sign, no leading zeros) from the front.
fn parse_u64(s: &[u8]) -> Option<(u64, &[u8])> {
    let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits > 20 || (digits > 1 && s[0] == b'0') {
        return None;
    }
    let mut v: u64 = 0;
    for &c in &s[..digits] {
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some((v, &s[digits..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_then_parse() {
        let mut out = Vec::new();
        let body = br#"{"type":"order.filled","x":1}"#;
        let h = encode(
            &mut out,
            42,
            1_700_000_000_000_000_001,
            &RecordHash::ZERO,
            body,
        );
        let line = &out[..out.len() - 1];
        assert_eq!(out.last(), Some(&b'\n'));
        assert_eq!(h, RecordHash::of_line(line));
        let expected = format!(
            "{{\"seq\":42,\"ts_recorded\":1700000000000000001,\"prev\":\"{}\",\"type\":\"order.filled\",\"x\":1}}",
            "0".repeat(64)
        );
        assert_eq!(std::str::from_utf8(line).unwrap(), expected);
        let hd = parse_header(line).unwrap();
        assert_eq!(hd.seq, 42);
        assert_eq!(hd.ts_recorded, 1_700_000_000_000_000_001);
        assert_eq!(hd.prev, RecordHash::ZERO);
        assert_eq!(&line[hd.body_start..hd.body_start + 6], b"\"type\"");
        assert_eq!(record_type(line), Some("order.filled"));
        assert!(serde_json::from_slice::<serde_json::Value>(line).is_ok());
    }

    #[test]
    fn header_rejects_bad_shapes() {
        let z = "0".repeat(64);
        let ok = format!("{{\"seq\":1,\"ts_recorded\":2,\"prev\":\"{z}\",\"type\":\"a.b\"}}");
        assert!(parse_header(ok.as_bytes()).is_ok());
        for bad in [
            format!("{{\"seq\":01,\"ts_recorded\":2,\"prev\":\"{z}\",\"type\":\"a.b\"}}"),
            format!("{{\"seq\":-1,\"ts_recorded\":2,\"prev\":\"{z}\",\"type\":\"a.b\"}}"),
            format!("{{\"ts_recorded\":2,\"seq\":1,\"prev\":\"{z}\",\"type\":\"a.b\"}}"),
            format!("{{\"seq\":1,\"ts_recorded\":2,\"prev\":\"{}\",\"type\":\"a.b\"}}", "A".repeat(64)),
            format!("{{\"seq\":1,\"ts_recorded\":2,\"prev\":\"{z}\",\"kind\":\"a.b\"}}"),
            format!("{{\"seq\":99999999999999999999,\"ts_recorded\":2,\"prev\":\"{z}\",\"type\":\"a.b\"}}"),
            "{\"seq\":1,\"ts_recorded\":2,\"prev\":\"00".to_string(),
        ] {
            assert!(parse_header(bad.as_bytes()).is_err(), "accepted {bad}");
        }
    }

    #[test]
    fn untrusted_bodies_must_be_json() {
        assert!(check_body_json(br#"{"type":"a.b","x":[1,{"y":"z"}]}"#).is_ok());
        // Framing passes, JSON does not.
        assert!(check_body(br#"{"type":"a.b",x}"#).is_ok());
        assert!(check_body_json(br#"{"type":"a.b",x}"#).is_err());
        assert!(check_body_json(br#"{"type":"a.b","x":1,}"#).is_err());
    }

    #[test]
    fn body_checks() {
        assert!(check_body(br#"{"type":"order.filled"}"#).is_ok());
        assert!(check_body(br#"{"x":1,"type":"order.filled"}"#).is_err());
        assert!(check_body(b"{\"type\":\"a.b\",\"x\":\"\n\"}").is_err());
        assert!(check_body(br#"{"type":"Order.Filled"}"#).is_err());
        assert!(check_body(br#"{"type":"a.b""#).is_err());
        assert!(check_body(b"{\"type\":\"a.b\",\"x\":\"\0\"}").is_err());
        assert!(check_body(b"{\"type\":\"a.b\",\"x\":\"\xff\"}").is_err());
        assert!(check_body("{\"type\":\"a.b\",\"x\":\"é\"}".as_bytes()).is_ok());
    }
}
