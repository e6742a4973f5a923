//! One journal line as a row of the archive, and rows into Arrow batches.
//!
//! The line is parsed once, borrowing from the segment's bytes. Lines written through
//! the model have the canonical envelope; the journal itself only guarantees the
//! header and a JSON object, so a line of another shape still becomes a row: its
//! header and type, the rest null (the `line` column always holds every byte).

use std::borrow::Cow;
use std::sync::Arc;

use arrow_array::builder::{StringBuilder, TimestampNanosecondBuilder, UInt64Builder};
use arrow_array::{ArrayRef, RecordBatch};
use serde::Deserialize;
use serde_json::value::RawValue;
use tradetrail_journal::{parse_header, record_type};

use crate::schema::schema;

/// The fields of one record, borrowed from its line.
#[derive(Debug, Clone)]
pub struct Row<'a> {
    /// `seq`.
    pub seq: u64,
    /// `ts_recorded`.
    pub ts_recorded: i64,
    /// `prev` as written (hex).
    pub prev: Cow<'a, str>,
    /// `type`.
    pub ty: Cow<'a, str>,
    /// `ts_event`, if the line has it as ns.
    pub ts_event: Option<i64>,
    /// `source`.
    pub source: Option<Cow<'a, str>>,
    /// `actor`.
    pub actor: Option<Cow<'a, str>>,
    /// `event_id`.
    pub event_id: Option<Cow<'a, str>>,
    /// `trader_id`.
    pub trader_id: Option<Cow<'a, str>>,
    /// `strategy_id`.
    pub strategy_id: Option<Cow<'a, str>>,
    /// `account_id`.
    pub account_id: Option<Cow<'a, str>>,
    /// `instrument_id`.
    pub instrument_id: Option<Cow<'a, str>>,
    /// `entity.kind`.
    pub entity_kind: Option<Cow<'a, str>>,
    /// `entity.id`.
    pub entity_id: Option<Cow<'a, str>>,
    /// `refs` as JSON text.
    pub refs: Option<&'a str>,
    /// `data` as JSON text.
    pub data: Option<&'a str>,
    /// The whole line.
    pub line: &'a str,
}

#[derive(Deserialize)]
struct Canonical<'a> {
    seq: u64,
    ts_recorded: i64,
    #[serde(borrow)]
    prev: Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    ty: Cow<'a, str>,
    #[serde(default)]
    ts_event: Option<i64>,
    #[serde(default, borrow)]
    source: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    actor: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    event_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    trader_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    strategy_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    account_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    instrument_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    entity: Option<EntityRef<'a>>,
    #[serde(default, borrow)]
    refs: Option<&'a RawValue>,
    #[serde(default, borrow)]
    data: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct EntityRef<'a> {
    #[serde(borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    id: Cow<'a, str>,
}

impl<'a> Row<'a> {
    /// Parses one line (without `\n`). Fails only when the line is not UTF-8 or has no
    /// valid header; the reason names what is wrong.
    pub fn parse(line: &'a [u8]) -> Result<Row<'a>, String> {
        let text = std::str::from_utf8(line).map_err(|_| "the line is not UTF-8".to_string())?;
        if let Ok(c) = serde_json::from_str::<Canonical<'a>>(text) {
            return Ok(Row {
                seq: c.seq,
                ts_recorded: c.ts_recorded,
                prev: c.prev,
                ty: c.ty,
                ts_event: c.ts_event,
                source: c.source,
                actor: c.actor,
                event_id: c.event_id,
                trader_id: c.trader_id,
                strategy_id: c.strategy_id,
                account_id: c.account_id,
                instrument_id: c.instrument_id,
                entity_kind: c.entity.as_ref().map(|e| e.kind.clone()),
                entity_id: c.entity.map(|e| e.id),
                refs: c.refs.map(RawValue::get),
                data: c.data.map(RawValue::get),
                line: text,
            });
        }
        let h = parse_header(line).map_err(|r| r.to_string())?;
        Ok(Row {
            seq: h.seq,
            ts_recorded: h.ts_recorded,
            prev: Cow::Owned(h.prev.to_hex()),
            ty: Cow::Borrowed(record_type(line).unwrap_or("")),
            ts_event: None,
            source: None,
            actor: None,
            event_id: None,
            trader_id: None,
            strategy_id: None,
            account_id: None,
            instrument_id: None,
            entity_kind: None,
            entity_id: None,
            refs: None,
            data: None,
            line: text,
        })
    }

    /// The time rows are sorted by in a file: `ts_event`, else `ts_recorded`.
    pub fn sort_ts(&self) -> i64 {
        self.ts_event.unwrap_or(self.ts_recorded)
    }
}

/// Builds one batch of the archive schema from `rows`, in the given order.
pub fn build_batch(rows: &[Row<'_>], order: &[usize]) -> crate::Result<RecordBatch> {
    let n = order.len();
    let bytes_of = |f: fn(&Row<'_>) -> usize| order.iter().map(|&i| f(&rows[i])).sum::<usize>();
    let mut seq = UInt64Builder::with_capacity(n);
    let mut ts_recorded = TimestampNanosecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut ts_event = TimestampNanosecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut prev = StringBuilder::with_capacity(n, n * 64);
    let mut line = StringBuilder::with_capacity(n, bytes_of(|r| r.line.len()));
    let mut data = StringBuilder::with_capacity(n, bytes_of(|r| r.data.map_or(0, str::len)));
    let mut refs = StringBuilder::with_capacity(n, bytes_of(|r| r.refs.map_or(0, str::len)));
    let mut strings: Vec<StringBuilder> = (0..10)
        .map(|_| StringBuilder::with_capacity(n, n * 8))
        .collect();
    for &i in order {
        let r = &rows[i];
        seq.append_value(r.seq);
        ts_recorded.append_value(r.ts_recorded);
        prev.append_value(&r.prev);
        ts_event.append_option(r.ts_event);
        let cols: [Option<&str>; 10] = [
            Some(&r.ty),
            r.source.as_deref(),
            r.actor.as_deref(),
            r.event_id.as_deref(),
            r.trader_id.as_deref(),
            r.strategy_id.as_deref(),
            r.account_id.as_deref(),
            r.instrument_id.as_deref(),
            r.entity_kind.as_deref(),
            r.entity_id.as_deref(),
        ];
        for (b, v) in strings.iter_mut().zip(cols) {
            b.append_option(v);
        }
        refs.append_option(r.refs);
        data.append_option(r.data);
        line.append_value(r.line);
    }
    let mut s = strings
        .into_iter()
        .map(|mut b| Arc::new(b.finish()) as ArrayRef);
    let mut next = || s.next().expect("ten string columns");
    let ty = next();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(seq.finish()),
        Arc::new(ts_recorded.finish()),
        Arc::new(prev.finish()),
        ty,
        Arc::new(ts_event.finish()),
        next(),
        next(),
        next(),
        next(),
        next(),
        next(),
        next(),
        next(),
        next(),
        Arc::new(refs.finish()),
        Arc::new(data.finish()),
        Arc::new(line.finish()),
    ];
    Ok(RecordBatch::try_new(schema(), columns)?)
}

/// The order rows take in a file: by `ts_event` (else `ts_recorded`), then `seq`.
pub fn file_order(rows: &[Row<'_>]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&i| (rows[i].sort_ts(), rows[i].seq));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_and_odd_lines() {
        let l = br#"{"seq":5,"ts_recorded":10,"prev":"0000000000000000000000000000000000000000000000000000000000000000","type":"order.filled","ts_event":7,"source":"gw","actor":"trader:T-1","trader_id":"T-1","entity":{"kind":"order","id":"O-1"},"refs":{"order_id":"O-1"},"data":{"fill_qty":"1"}}"#;
        let r = Row::parse(l).unwrap();
        assert_eq!((r.seq, r.ts_recorded, r.ts_event), (5, 10, Some(7)));
        assert_eq!(r.ty, "order.filled");
        assert_eq!(r.entity_id.as_deref(), Some("O-1"));
        assert_eq!(r.entity_kind.as_deref(), Some("order"));
        assert_eq!(r.refs, Some(r#"{"order_id":"O-1"}"#));
        assert_eq!(r.data, Some(r#"{"fill_qty":"1"}"#));
        assert_eq!(r.instrument_id, None);
        // ts_event as text (a raw append): header and type only.
        let l = br#"{"seq":6,"ts_recorded":11,"prev":"0000000000000000000000000000000000000000000000000000000000000000","type":"custom.x","ts_event":"2026-01-01","source":"gw"}"#;
        let r = Row::parse(l).unwrap();
        assert_eq!(
            (r.seq, r.ty.as_ref(), r.ts_event, r.source),
            (6, "custom.x", None, None)
        );
        assert!(Row::parse(b"{\"seq\":1}").is_err());
        assert!(Row::parse(b"\xff").unwrap_err().contains("UTF-8"));
    }
}
