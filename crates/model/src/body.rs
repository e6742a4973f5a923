//! The canonical body: the bytes of an event as the journal records them.
//!
//! Written by hand, key by key, in the fixed order, so the output does not depend on
//! how the event was built and costs one buffer. Strings, keys and producer values go
//! through serde_json, which escapes every control character: the body never holds a
//! raw newline.

use std::io::Write;

use serde::Serialize;
use uuid::Uuid;

use crate::event::{spec_of, Event};
use crate::validate::check_value;

pub(crate) fn write_body(ev: &Event) -> Vec<u8> {
    // Most bodies fit without regrowing.
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(b"{\"type\":");
    json(&mut out, &ev.event_type);
    out.extend_from_slice(b",\"ts_event\":");
    write!(out, "{}", ev.ts_event).expect("writing to a Vec cannot fail");
    out.extend_from_slice(b",\"source\":");
    json(&mut out, &ev.source);
    out.extend_from_slice(b",\"actor\":");
    json(&mut out, &ev.actor);
    if let Some(id) = ev.event_id {
        out.extend_from_slice(b",\"event_id\":\"");
        let mut buf = Uuid::encode_buffer();
        out.extend_from_slice(id.hyphenated().encode_lower(&mut buf).as_bytes());
        out.push(b'"');
    }
    for (key, value) in [
        (&b",\"trader_id\":"[..], &ev.trader_id),
        (b",\"strategy_id\":", &ev.strategy_id),
        (b",\"account_id\":", &ev.account_id),
        (b",\"instrument_id\":", &ev.instrument_id),
    ] {
        if let Some(value) = value {
            out.extend_from_slice(key);
            json(&mut out, value);
        }
    }
    if let Some(entity) = &ev.entity {
        out.extend_from_slice(b",\"entity\":{\"kind\":");
        json(&mut out, &entity.kind);
        out.extend_from_slice(b",\"id\":");
        json(&mut out, &entity.id);
        out.push(b'}');
    }
    if !ev.refs.is_empty() {
        out.extend_from_slice(b",\"refs\":");
        json(&mut out, &ev.refs);
    }
    out.extend_from_slice(b",\"data\":{");
    let spec = spec_of(&ev.event_type);
    for (i, (key, value)) in ev.data.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json(&mut out, key);
        out.push(b':');
        // Known fields in canonical form; an event from `from_json` already holds them
        // so, and this finds nothing to change.
        let canonical = spec
            .and_then(|s| s.field(key))
            .and_then(|kind| check_value(kind, value).ok().flatten());
        json(&mut out, canonical.as_ref().unwrap_or(value));
    }
    out.extend_from_slice(b"}}");
    out
}

fn json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    serde_json::to_writer(out, value).expect("strings and JSON values always serialize");
}
