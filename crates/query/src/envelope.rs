//! The envelope of one journal line: the fields the index keeps, from the journal's
//! one view of a line (`RecordView`), with `refs` read into ids.
//!
//! Lines written through the model are canonical, but the journal only guarantees
//! framing (a raw `Journal::append` may store any object whose first key is `type`),
//! so every field is optional here and a line that is not the expected shape still
//! gets a row: its type (from the header) and nothing else.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use tradetrail_journal::RecordView;

/// One `refs` value: ids are strings or integers (kept as their decimal text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RefEntry<'a> {
    pub key: Cow<'a, str>,
    pub value: Cow<'a, str>,
}

/// What the index reads from a line: the journal's view of it, and its `refs` as ids.
#[derive(Debug)]
pub(crate) struct Envelope<'a> {
    /// The record, as the journal reads it.
    pub view: RecordView<'a>,
    /// `refs` other than `correction_of`, in the line's order.
    pub refs: Vec<RefEntry<'a>>,
    /// `refs.correction_of`: the seq of the record this one corrects.
    pub correction_of: Option<u64>,
}

/// A string borrowed from the line when it has no escapes. (serde's own `Cow<str>`
/// borrows only as a bare field, not inside an `Option` or a map key.)
struct Str<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Str<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

/// `refs` as an ordered list of (key, raw value).
struct Refs<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Refs<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Refs<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of refs")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Refs<'a>, M::Error> {
                let mut out = Vec::new();
                while let Some(Str(k)) = m.next_key::<Str<'de>>()? {
                    let v: &'de RawValue = m.next_value()?;
                    out.push((k, v));
                }
                Ok(Refs(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// Reads the envelope of a record line (the whole line, header included) through the
/// journal's one view of a line ([`RecordView`]). `None` if the line has no valid
/// header; a line of another shape gives its type and nothing else.
pub(crate) fn parse(line: &[u8]) -> Option<Envelope<'_>> {
    let view = RecordView::parse(line).ok()?;
    let mut env = Envelope {
        view,
        refs: Vec::new(),
        correction_of: None,
    };
    let refs = env
        .view
        .refs
        .and_then(|text| serde_json::from_str::<Refs<'_>>(text).ok());
    if let Some(Refs(refs)) = refs {
        for (key, value) in refs {
            let text = value.get();
            if key == "correction_of" {
                env.correction_of = text.parse().ok();
                continue;
            }
            let value = match text.as_bytes().first() {
                Some(b'"') => match serde_json::from_str::<Str<'_>>(text) {
                    Ok(s) => s.0,
                    Err(_) => continue,
                },
                Some(b'-' | b'0'..=b'9') => Cow::Borrowed(text),
                // Objects, arrays, booleans: not ids.
                _ => continue,
            };
            env.refs.push(RefEntry { key, value });
        }
    }
    Some(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_canonical_line() {
        let line = br#"{"seq":7,"ts_recorded":9,"prev":"00","type":"order.submitted","ts_event":1795703440005869502,"source":"oms","actor":"trader:T-02","event_id":"x","trader_id":"T-02","strategy_id":"mean_rev_2","account_id":"U1","instrument_id":"TSLA.XNAS","entity":{"kind":"order","id":"O-5"},"refs":{"recommendation_id":"R-2","evaluation_id":"E-3","n":17,"correction_of":4},"data":{"side":"sell","nested":{"a":[1,2,{"b":"c"}]}}}"#;
        let e = parse(line).unwrap();
        assert_eq!(e.view.ty, "order.submitted");
        assert_eq!(e.view.ts_event, Some(1_795_703_440_005_869_502));
        assert_eq!(e.view.source.as_deref(), Some("oms"));
        assert_eq!(e.view.actor.as_deref(), Some("trader:T-02"));
        assert_eq!(e.view.trader_id.as_deref(), Some("T-02"));
        assert_eq!(e.view.strategy_id.as_deref(), Some("mean_rev_2"));
        assert_eq!(e.view.account_id.as_deref(), Some("U1"));
        assert_eq!(e.view.instrument_id.as_deref(), Some("TSLA.XNAS"));
        assert_eq!(e.view.entity_kind.as_deref(), Some("order"));
        assert_eq!(e.view.entity_id.as_deref(), Some("O-5"));
        let refs: Vec<(&str, &str)> = e.refs.iter().map(|r| (&*r.key, &*r.value)).collect();
        assert_eq!(
            refs,
            [
                ("recommendation_id", "R-2"),
                ("evaluation_id", "E-3"),
                ("n", "17")
            ]
        );
        assert_eq!(e.correction_of, Some(4));
        // No escapes: nothing was copied.
        assert!(matches!(e.view.source, Some(Cow::Borrowed(_))));
        assert!(matches!(e.view.entity_id, Some(Cow::Borrowed(_))));
        assert!(matches!(e.refs[0].key, Cow::Borrowed(_)));
        assert!(matches!(e.refs[0].value, Cow::Borrowed(_)));
    }

    #[test]
    fn escaped_strings_are_unescaped() {
        let line = format!(
            r#"{H},"type":"custom.x","ts_event":1,"source":"a\"b","actor":"system","entity":{{"kind":"k","id":"I\u00e9"}},"refs":{{"x":"R\n1"}}}}"#
        );
        let e = parse(line.as_bytes()).unwrap();
        assert_eq!(e.view.source.as_deref(), Some("a\"b"));
        assert_eq!(e.view.entity_id.as_deref(), Some("I\u{e9}"));
        assert_eq!(e.refs[0].value, "R\n1");
    }

    #[test]
    fn odd_shapes_do_not_panic() {
        let line = |rest: &str| format!("{H},{rest}}}");
        assert!(parse(line(r#""type":"a.b""#).as_bytes()).is_some());
        // No header: not a journal line.
        assert!(parse(br#"{"type":"a.b"}"#).is_none());
        assert!(parse(b"not json").is_none());
        // Another shape: the type, nothing else.
        let odd = line(r#""type":"a.b","ts_event":"2026-01-01","source":"s""#);
        let e = parse(odd.as_bytes()).unwrap();
        assert_eq!(
            (e.view.ty.as_ref(), e.view.ts_event, e.view.source),
            ("a.b", None, None)
        );
        let refs = line(r#""type":"a.b","refs":{"x":true,"y":[1],"z":null,"w":"ok"}"#);
        let e = parse(refs.as_bytes()).unwrap();
        assert_eq!(e.refs.len(), 1);
    }

    const H: &str = r#"{"seq":1,"ts_recorded":2,"prev":"0000000000000000000000000000000000000000000000000000000000000000""#;
}
