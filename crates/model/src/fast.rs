//! Validation at memory speed: one event from its JSON straight to its canonical body,
//! borrowing from the input, with no intermediate value and no allocation but the body.
//!
//! [`normalize`] is what every door calls (`append`, HTTP ingest, the library). It
//! first tries this fast path, which understands the JSON events that producers send
//! in practice, and applies the rules of `validate.rs` to the borrowed text: the same
//! functions (`id_problem`, `actor_problem`, `check_decimal`, `choice`, the time
//! parsers, the type table), not a copy of them. Whenever the fast path meets anything
//! it does not handle, or anything wrong, it gives up and the reference path
//! (`Event::from_json` and `Event::to_body`) answers instead, with every problem named
//! as before. So the errors are the reference path's by construction, and what remains
//! to prove is that what the fast path accepts, the reference path accepts with the same
//! bytes: the differential tests in `tests/fuzz.rs` check exactly that, on generated and
//! mutated input.
//!
//! The fast path gives up on (all rare in practice, all still accepted by the reference
//! path when valid): a string with a backslash escape; a number with an exponent
//! (serde_json rewrites `1E5` as `1e+5`); a repeated key anywhere; nesting deeper than
//! [`MAX_DEPTH`]; more than [`MAX_FIELDS`] keys in `data` or [`MAX_REFS`] in `refs` or
//! [`MAX_KEYS`] in one nested object; whitespace other than JSON's four.
//!
//! Why by hand rather than a library: the output must be byte-identical to serde_json's
//! canonical serialization of the reference path (with its `arbitrary_precision` number
//! text), the checks run on the borrowed text as it is scanned, and nothing may be
//! allocated per field; a general-purpose parser would build the values this avoids.

use rust_decimal::Decimal;
use uuid::Uuid;

use crate::decimal;
use crate::types::{classify, Class, Kind, Need, Rule, TypeSpec};
use crate::validate::{
    actor_problem, check_decimal, choice, id_problem, ns_from_text, time_from_text,
};

/// Deepest nesting inside `data` the fast path follows.
pub const MAX_DEPTH: usize = 32;
/// Most top-level `data` fields the fast path takes.
pub const MAX_FIELDS: usize = 32;
/// Most `refs` the fast path takes.
pub const MAX_REFS: usize = 8;
/// Most keys in one nested object the fast path takes.
pub const MAX_KEYS: usize = 16;

/// An event validated and written as its canonical body (see [`crate::Event::to_body`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    body: Vec<u8>,
    type_len: usize,
    event_id: Option<Uuid>,
}

/// Where the type's text starts in a body: after `{"type":"`.
const TYPE_AT: usize = 9;

impl Normalized {
    /// The canonical body: one line of JSON starting `{"type":`, no newline.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body, owned.
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }

    /// The event's type, e.g. `order.filled`.
    pub fn event_type(&self) -> &str {
        // The type is dotted lowercase ASCII (the rules refuse anything else), written
        // without escapes right after `{"type":"`.
        self.body
            .get(TYPE_AT..TYPE_AT + self.type_len)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    /// The producer's `event_id`, if given.
    pub fn event_id(&self) -> Option<Uuid> {
        self.event_id
    }
}

impl From<&crate::Event> for Normalized {
    /// The event's canonical body ([`crate::Event::to_body`]); the event should be valid
    /// ([`crate::Event::validate`]).
    fn from(ev: &crate::Event) -> Normalized {
        Normalized {
            body: ev.to_body(),
            type_len: ev.event_type.len(),
            event_id: ev.event_id,
        }
    }
}

/// The fast path alone: `None` when it does not handle the input (or the input is
/// bad), and the reference path must answer. Exposed for the differential tests and the
/// benchmarks; use [`crate::normalize`].
pub fn normalize_fast(line: &[u8]) -> Option<Normalized> {
    let text = std::str::from_utf8(line).ok()?;
    let mut scan = Scan {
        s: text,
        b: line,
        i: 0,
        spaced: false,
    };
    let mut top = Top {
        event_type: None,
        ts_event: None,
        source: None,
        actor: None,
        event_id: None,
        ids: [None; 4],
        entity: None,
        refs: [("", Val::Null); MAX_REFS],
        n_refs: 0,
        data: [("", Val::Null); MAX_FIELDS],
        n_data: 0,
        seen: 0,
    };
    scan.top(&mut top)?;
    top.write(line.len())
}

/// A JSON value as found: scalars by their text, objects and arrays as their text.
#[derive(Debug, Clone, Copy)]
enum Val<'a> {
    /// A string's content (no escapes, no control characters).
    Str(&'a str),
    /// A number's text (JSON grammar, no exponent).
    Num(&'a str),
    True,
    False,
    Null,
    /// An object or an array, with whether it holds whitespace to drop.
    Nested {
        text: &'a str,
        spaced: bool,
    },
}

impl<'a> Val<'a> {
    fn str(self) -> Option<&'a str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Writes the value as serde_json writes it: compact, strings and numbers as they
    /// were (the fast path takes only strings without escapes and numbers whose text
    /// serde_json keeps).
    fn write(self, out: &mut Vec<u8>) {
        match self {
            Val::Str(s) => quoted(out, s),
            Val::Num(n) => out.extend_from_slice(n.as_bytes()),
            Val::True => out.extend_from_slice(b"true"),
            Val::False => out.extend_from_slice(b"false"),
            Val::Null => out.extend_from_slice(b"null"),
            Val::Nested {
                text,
                spaced: false,
            } => out.extend_from_slice(text.as_bytes()),
            Val::Nested { text, spaced: true } => {
                // Strings hold no escapes, so a quote always opens or closes one.
                let mut in_string = false;
                for &c in text.as_bytes() {
                    match c {
                        b'"' => in_string = !in_string,
                        b' ' | b'\t' | b'\n' | b'\r' if !in_string => continue,
                        _ => {}
                    }
                    out.push(c);
                }
            }
        }
    }
}

fn quoted(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

/// The canonical form of a known `data` field's value.
#[derive(Debug, Clone, Copy)]
enum Canon {
    /// Already canonical: written as found.
    AsIs,
    /// A decimal to write as a string in normal form.
    Decimal(Decimal),
    /// A choice in its lowercase spelling.
    Choice(&'static str),
    /// A time as ns.
    Ns(i64),
}

/// The top-level fields, as found.
struct Top<'a> {
    event_type: Option<&'a str>,
    ts_event: Option<Val<'a>>,
    source: Option<&'a str>,
    actor: Option<&'a str>,
    event_id: Option<Uuid>,
    ids: [Option<&'a str>; 4],
    entity: Option<(&'a str, &'a str)>,
    refs: [(&'a str, Val<'a>); MAX_REFS],
    n_refs: usize,
    data: [(&'a str, Val<'a>); MAX_FIELDS],
    n_data: usize,
    seen: u16,
}

/// The attributions, in body order, with their keys as written.
const IDS: [&str; 4] = ["trader_id", "strategy_id", "account_id", "instrument_id"];

impl<'a> Top<'a> {
    fn refs(&self) -> &[(&'a str, Val<'a>)] {
        self.refs.get(..self.n_refs).unwrap_or(&[])
    }

    fn data(&self) -> &[(&'a str, Val<'a>)] {
        self.data.get(..self.n_data).unwrap_or(&[])
    }

    fn field(&self, name: &str) -> Option<Val<'a>> {
        self.data()
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
    }

    /// Checks every rule (giving up at the first problem) and writes the body.
    fn write(&self, input_len: usize) -> Option<Normalized> {
        let event_type = self.event_type?;
        let spec = match classify(event_type) {
            Class::Known(spec) => Some(spec),
            Class::Open => None,
            _ => return None,
        };
        let ts_event = match self.ts_event? {
            Val::Num(n) => ns_from_text(n).ok()?,
            Val::Str(s) => time_from_text(s).ok()?,
            _ => return None,
        };
        let source = self.source.filter(|s| id_problem(s).is_none())?;
        let actor = self.actor.filter(|a| actor_problem(a).is_none())?;
        if self.ids.iter().flatten().any(|id| id_problem(id).is_some()) {
            return None;
        }
        if let Some((kind, id)) = self.entity {
            if id_problem(kind).is_some() || id_problem(id).is_some() {
                return None;
            }
        }
        for (key, value) in self.refs() {
            let ok = match (*key, *value) {
                ("", _) => false,
                ("correction_of", Val::Num(n)) => n.parse::<u64>().is_ok(),
                ("correction_of", _) => false,
                (_, Val::Str(s)) => id_problem(s).is_none(),
                (_, Val::Num(n)) => n.parse::<i64>().is_ok() || n.parse::<u64>().is_ok(),
                _ => false,
            };
            if !ok {
                return None;
            }
        }
        let mut canon = [Canon::AsIs; MAX_FIELDS];
        if let Some(spec) = spec {
            self.check_needs(spec)?;
            self.check_data(spec, &mut canon)?;
        }

        let mut out = Vec::with_capacity(input_len + 32);
        out.extend_from_slice(b"{\"type\":");
        quoted(&mut out, event_type);
        out.extend_from_slice(b",\"ts_event\":");
        out.extend_from_slice(itoa::Buffer::new().format(ts_event).as_bytes());
        out.extend_from_slice(b",\"source\":");
        quoted(&mut out, source);
        out.extend_from_slice(b",\"actor\":");
        quoted(&mut out, actor);
        if let Some(id) = self.event_id {
            out.extend_from_slice(b",\"event_id\":\"");
            out.extend_from_slice(
                id.hyphenated()
                    .encode_lower(&mut Uuid::encode_buffer())
                    .as_bytes(),
            );
            out.push(b'"');
        }
        for (key, value) in IDS.iter().zip(self.ids) {
            if let Some(value) = value {
                out.extend_from_slice(b",\"");
                out.extend_from_slice(key.as_bytes());
                out.extend_from_slice(b"\":");
                quoted(&mut out, value);
            }
        }
        if let Some((kind, id)) = self.entity {
            out.extend_from_slice(b",\"entity\":{\"kind\":");
            quoted(&mut out, kind);
            out.extend_from_slice(b",\"id\":");
            quoted(&mut out, id);
            out.push(b'}');
        }
        if !self.refs().is_empty() {
            out.extend_from_slice(b",\"refs\":");
            write_object(&mut out, self.refs(), &[]);
        }
        out.extend_from_slice(b",\"data\":");
        write_object(&mut out, self.data(), &canon);
        out.push(b'}');
        Some(Normalized {
            body: out,
            type_len: event_type.len(),
            event_id: self.event_id,
        })
    }

    fn check_needs(&self, spec: &TypeSpec) -> Option<()> {
        for need in spec.needs {
            let ok = match need {
                Need::Trader => self.ids[0].is_some(),
                Need::Strategy => self.ids[1].is_some(),
                Need::Account => self.ids[2].is_some(),
                Need::Instrument => self.ids[3].is_some(),
                Need::Entity(kind) => matches!(self.entity, Some((k, _)) if k == *kind),
                Need::CorrectionOf => self.refs().iter().any(|(k, _)| *k == "correction_of"),
            };
            if !ok {
                return None;
            }
        }
        Some(())
    }

    /// Checks the type's fields and rules, noting each field's canonical form.
    fn check_data(&self, spec: &TypeSpec, canon: &mut [Canon; MAX_FIELDS]) -> Option<()> {
        for field in spec.fields {
            let at = self.data().iter().position(|(k, _)| *k == field.name);
            match at {
                None if field.required => return None,
                None => {}
                Some(i) => {
                    let (_, value) = self.data.get(i)?;
                    *canon.get_mut(i)? = check_value(field.kind, *value)?;
                }
            }
        }
        for rule in spec.rules {
            match rule {
                Rule::PricesForOrderType => {
                    let Some(order_type) = self.field("order_type").and_then(Val::str) else {
                        continue;
                    };
                    let is =
                        |names: &[&str]| names.iter().any(|n| order_type.eq_ignore_ascii_case(n));
                    if is(&["limit", "stop_limit", "limit_on_close"])
                        && self.field("price").is_none()
                    {
                        return None;
                    }
                    if is(&["stop", "stop_limit"]) && self.field("stop_price").is_none() {
                        return None;
                    }
                }
                Rule::AnyOf(names) => {
                    if !names.iter().any(|n| self.field(n).is_some()) {
                        return None;
                    }
                }
            }
        }
        Some(())
    }
}

/// Checks one value of a known `data` field (the rules of `validate::check_value`, on
/// borrowed text); `None` when it is not valid.
fn check_value(kind: Kind, value: Val<'_>) -> Option<Canon> {
    if matches!(value, Val::Null) {
        return (kind == Kind::Any).then_some(Canon::AsIs);
    }
    match (kind, value) {
        (Kind::Text, Val::Str(s)) => (!s.is_empty()).then_some(Canon::AsIs),
        (Kind::Id, Val::Str(s)) => id_problem(s).is_none().then_some(Canon::AsIs),
        (Kind::Decimal(sign, magnitude), Val::Str(_) | Val::Num(_)) => {
            let (text, from_string) = match value {
                Val::Str(s) => (s, true),
                Val::Num(n) => (n, false),
                _ => return None,
            };
            let parsed = decimal::parse_text(text).ok()?;
            check_decimal(sign, magnitude, parsed.value).ok()?;
            Some(if from_string && parsed.canonical {
                Canon::AsIs
            } else {
                Canon::Decimal(parsed.value)
            })
        }
        (Kind::Choice(options), Val::Str(s)) => match choice(options, s).ok()? {
            None => Some(Canon::AsIs),
            Some(o) => Some(Canon::Choice(o)),
        },
        (Kind::Bool, Val::True | Val::False) => Some(Canon::AsIs),
        (Kind::Time, Val::Num(n)) => ns_from_text(n).ok().map(|_| Canon::AsIs),
        (Kind::Time, Val::Str(s)) => time_from_text(s).ok().map(Canon::Ns),
        (Kind::Collection, Val::Nested { .. }) => Some(Canon::AsIs),
        (Kind::Any, _) => Some(Canon::AsIs),
        _ => None,
    }
}

/// Writes `{"k":v,...}`, each value in its canonical form where `canon` gives one.
fn write_object(out: &mut Vec<u8>, fields: &[(&str, Val<'_>)], canon: &[Canon]) {
    out.push(b'{');
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        quoted(out, key);
        out.push(b':');
        match canon.get(i).copied().unwrap_or(Canon::AsIs) {
            Canon::AsIs => value.write(out),
            Canon::Decimal(d) => {
                use std::io::Write;
                out.push(b'"');
                // Writing to a Vec cannot fail.
                let _ = write!(out, "{d}");
                out.push(b'"');
            }
            Canon::Choice(o) => quoted(out, o),
            Canon::Ns(ns) => out.extend_from_slice(itoa::Buffer::new().format(ns).as_bytes()),
        }
    }
    out.push(b'}');
}

/// A scanner over one line, valid UTF-8.
struct Scan<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    /// Whether whitespace was skipped (inside the nested value being scanned).
    spaced: bool,
}

/// Where the string starting at `b[0]` (after its opening quote) ends: the first `"`,
/// `\\` or control character, found in one pass. Strings here are short (keys, ids,
/// codes): a plain loop costs less than a vectorized search's set-up (measured: memchr2
/// took 15% of the time, an eight-bytes-at-a-time word test gained nothing).
fn string_len(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20)
}

/// The envelope keys, as bits of `Top::seen`.
fn slot_bit(key: &str) -> Option<u16> {
    Some(match key {
        "type" => 1,
        "ts_event" => 1 << 1,
        "source" => 1 << 2,
        "actor" => 1 << 3,
        "event_id" => 1 << 4,
        "trader_id" => 1 << 5,
        "strategy_id" => 1 << 6,
        "account_id" => 1 << 7,
        "instrument_id" => 1 << 8,
        "entity" => 1 << 9,
        "refs" => 1 << 10,
        "data" => 1 << 11,
        _ => return None,
    })
}

impl<'a> Scan<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
            self.spaced = true;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// After a member: `,` (more follow: true) or the closing `close` (false).
    fn next_member(&mut self, close: u8) -> Option<bool> {
        self.ws();
        match self.peek()? {
            b',' => {
                self.i += 1;
                self.ws();
                Some(true)
            }
            c if c == close => {
                self.i += 1;
                Some(false)
            }
            _ => None,
        }
    }

    /// A string without escapes or control characters; its content.
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        let end = start + string_len(self.b.get(start..)?)?;
        if self.b.get(end) != Some(&b'"') {
            return None;
        }
        self.i = end + 1;
        // Both ends are ASCII quotes, so this is on character boundaries.
        self.s.get(start..end)
    }

    /// A key and its colon.
    fn key(&mut self) -> Option<&'a str> {
        let key = self.string()?;
        self.ws();
        self.eat(b':')?;
        self.ws();
        Some(key)
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        self.i - start
    }

    /// A number in JSON's grammar, without an exponent.
    fn number(&mut self) -> Option<&'a str> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E' | b'0'..=b'9')) {
            return None;
        }
        self.s.get(start..self.i)
    }

    fn literal(&mut self, word: &[u8], val: Val<'a>) -> Option<Val<'a>> {
        let end = self.i + word.len();
        (self.b.get(self.i..end)? == word).then(|| {
            self.i = end;
            val
        })
    }

    fn value(&mut self, depth: usize) -> Option<Val<'a>> {
        match self.peek()? {
            b'"' => self.string().map(Val::Str),
            b'-' | b'0'..=b'9' => self.number().map(Val::Num),
            b't' => self.literal(b"true", Val::True),
            b'f' => self.literal(b"false", Val::False),
            b'n' => self.literal(b"null", Val::Null),
            b'{' | b'[' => {
                let outer = std::mem::replace(&mut self.spaced, false);
                let start = self.i;
                self.nested(depth + 1)?;
                let text = self.s.get(start..self.i)?;
                let spaced = self.spaced;
                // The enclosing value holds this one's whitespace too.
                self.spaced = outer || spaced;
                Some(Val::Nested { text, spaced })
            }
            _ => None,
        }
    }

    /// A nested object or array: checked (no repeated keys), not kept.
    fn nested(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        if self.eat(b'[').is_some() {
            self.ws();
            if self.eat(b']').is_some() {
                return Some(());
            }
            loop {
                self.value(depth)?;
                if !self.next_member(b']')? {
                    return Some(());
                }
            }
        }
        self.eat(b'{')?;
        self.ws();
        if self.eat(b'}').is_some() {
            return Some(());
        }
        let mut keys = [""; MAX_KEYS];
        let mut n = 0;
        loop {
            let key = self.key()?;
            if keys.get(..n)?.contains(&key) {
                return None;
            }
            *keys.get_mut(n)? = key;
            n += 1;
            self.value(depth)?;
            if !self.next_member(b'}')? {
                return Some(());
            }
        }
    }

    /// The whole line: one object, then only whitespace.
    fn top(&mut self, top: &mut Top<'a>) -> Option<()> {
        self.ws();
        self.eat(b'{')?;
        self.ws();
        loop {
            let key = self.key()?;
            let bit = slot_bit(key)?;
            if top.seen & bit != 0 {
                return None;
            }
            top.seen |= bit;
            match key {
                "type" => top.event_type = Some(self.string()?),
                "ts_event" => top.ts_event = Some(self.value(1)?),
                "source" => top.source = Some(self.string()?),
                "actor" => top.actor = Some(self.string()?),
                "event_id" => {
                    let s = self.string()?;
                    // The hyphenated form only (as the reference path).
                    top.event_id = Some(Uuid::try_parse(s).ok().filter(|_| s.len() == 36)?);
                }
                "entity" => top.entity = Some(self.entity()?),
                "refs" => top.n_refs = self.members(&mut top.refs)?,
                "data" => top.n_data = self.members(&mut top.data)?,
                _ => {
                    let at = IDS.iter().position(|k| *k == key)?;
                    *top.ids.get_mut(at)? = Some(self.string()?);
                }
            }
            if !self.next_member(b'}')? {
                break;
            }
        }
        self.ws();
        (self.i == self.b.len()).then_some(())
    }

    /// `{"kind": .., "id": ..}`, in either order.
    fn entity(&mut self) -> Option<(&'a str, &'a str)> {
        self.eat(b'{')?;
        self.ws();
        let (mut kind, mut id) = (None, None);
        loop {
            let slot = match self.key()? {
                "kind" => &mut kind,
                "id" => &mut id,
                _ => return None,
            };
            if slot.is_some() {
                return None;
            }
            *slot = Some(self.string()?);
            if !self.next_member(b'}')? {
                break;
            }
        }
        Some((kind?, id?))
    }

    /// An object's members into `into`, in order; how many.
    fn members<const N: usize>(&mut self, into: &mut [(&'a str, Val<'a>); N]) -> Option<usize> {
        self.eat(b'{')?;
        self.ws();
        if self.eat(b'}').is_some() {
            return Some(0);
        }
        let mut n = 0;
        loop {
            let key = self.key()?;
            if into.get(..n)?.iter().any(|(k, _)| *k == key) {
                return None;
            }
            let value = self.value(1)?;
            *into.get_mut(n)? = (key, value);
            n += 1;
            if !self.next_member(b'}')? {
                return Some(n);
            }
        }
    }
}
