//! Shared by the query tests: journals of generated records (raw bodies, so odd shapes
//! are possible), and a brute-force reading of a filter over every line — the oracle
//! the index is checked against.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};
use tradetrail_journal::{for_each_line, Durability, Entry, FsStorage, Journal, JournalOptions};
use tradetrail_query::{glob_match, Clock, Filter};

/// A small deterministic generator (xorshift64*), so a failing seed reproduces.
pub struct Gen(u64);

impl Gen {
    pub fn new(seed: u64) -> Gen {
        Gen(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

pub const TYPES: &[&str] = &[
    "order.submitted",
    "order.filled",
    "order.cancelled",
    "risk.evaluated",
    "signal.generated",
    "position.updated",
    "custom.x.y",
    "account.snapshot",
];
pub const SOURCES: &[&str] = &["oms", "risk_engine", "broker_gateway", "gw\"quoted\u{e9}"];
pub const ACTORS: &[&str] = &["system", "trader:T-1", "trader:T-2", "algo:m", "operator:o"];
pub const TRADERS: &[&str] = &["T-1", "T-2", "T-3"];
pub const STRATEGIES: &[&str] = &["mom", "rev"];
pub const ACCOUNTS: &[&str] = &["U1", "U2"];
pub const INSTRUMENTS: &[&str] = &["AAPL.XNAS", "MSFT.XNAS", "ES.XCME", "EUR\nUSD"];
pub const KINDS: &[&str] = &["order", "position", "signal", "account"];
/// Ids: a small pool so ids repeat across records.
pub const IDS: &[&str] = &[
    "O-1", "O-2", "O-3", "R-1", "R-2", "P-U1", "S-9", "x\"y", "17",
];
pub const T0: i64 = 1_795_700_000_000_000_000;
pub const SEC: i64 = 1_000_000_000;

/// One generated body.
pub fn body(g: &mut Gen, i: u64) -> Vec<u8> {
    let mut m = Map::new();
    m.insert("type".into(), json!(g.pick(TYPES)));
    if !g.chance(3) {
        // Roughly increasing, with jitter and the odd outlier; whole seconds, so
        // many records share a time and range bounds fall exactly on some.
        let ts = if g.chance(2) {
            T0 + g.below(4000) as i64 * SEC
        } else {
            T0 + (i + g.below(30)) as i64 * SEC
        };
        m.insert("ts_event".into(), json!(ts));
    }
    m.insert("source".into(), json!(g.pick(SOURCES)));
    m.insert("actor".into(), json!(g.pick(ACTORS)));
    for (key, pool, p) in [
        ("trader_id", TRADERS, 70),
        ("strategy_id", STRATEGIES, 50),
        ("account_id", ACCOUNTS, 50),
        ("instrument_id", INSTRUMENTS, 70),
    ] {
        if g.chance(p) {
            m.insert(key.into(), json!(g.pick(pool)));
        }
    }
    if g.chance(85) {
        m.insert(
            "entity".into(),
            json!({"kind": g.pick(KINDS), "id": g.pick(IDS)}),
        );
    }
    if g.chance(70) {
        let mut refs = Map::new();
        for k in 0..g.below(4) {
            let key = ["order_id", "recommendation_id", "signal_id", "n"][k as usize];
            if key == "n" {
                refs.insert(key.into(), json!(g.below(20)));
            } else {
                refs.insert(key.into(), json!(g.pick(IDS)));
            }
        }
        if g.chance(10) && i > 1 {
            refs.insert("correction_of".into(), json!(g.below(i)));
        }
        m.insert("refs".into(), Value::Object(refs));
    }
    m.insert("data".into(), json!({"i": i, "nested": {"a": [1, "two"]}}));
    serde_json::to_vec(&Value::Object(m)).unwrap()
}

/// Journal options: small segments, so records span many files.
pub fn opts() -> JournalOptions {
    JournalOptions::default()
        .with_segment_max_bytes(16 * 1024)
        .with_rotate_daily(false)
}

/// Creates a journal under `dir/journal`.
pub fn create(dir: &Path) -> Journal {
    Journal::create(&dir.join("journal"), "test", opts())
        .unwrap()
        .0
}

/// Appends `n` generated records.
pub fn fill(j: &Journal, g: &mut Gen, n: u64) {
    let start = j.status().unwrap().records;
    let entries: Vec<Entry> = (start..start + n)
        .map(|i| Entry::new(body(g, i), Durability::Os).unwrap())
        .collect();
    j.append_batch(entries).unwrap();
}

/// Appends one raw body.
pub fn append(j: &Journal, body: &str) -> u64 {
    j.append(Entry::new(body.as_bytes().to_vec(), Durability::Os).unwrap())
        .unwrap()
        .seq
}

/// Every line of a journal directory, in order.
pub fn lines(journal_dir: &Path) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    for_each_line(&FsStorage, journal_dir, 0, None, |_, l| {
        v.push(l.to_vec());
        Ok(true)
    })
    .unwrap();
    v
}

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    cur.as_str()
}

/// The filter, applied to one parsed record by hand.
pub fn matches(v: &Value, f: &Filter) -> bool {
    if f.from.is_some() || f.to.is_some() {
        let key = match f.clock {
            Clock::Event => "ts_event",
            Clock::Recorded => "ts_recorded",
        };
        let Some(ts) = v.get(key).and_then(Value::as_i64) else {
            return false;
        };
        if f.from.is_some_and(|x| ts < x) || f.to.is_some_and(|x| ts >= x) {
            return false;
        }
    }
    let dims: [(&[String], Option<&str>); 8] = [
        (&f.types, s(v, &["type"])),
        (&f.sources, s(v, &["source"])),
        (&f.actors, s(v, &["actor"])),
        (&f.traders, s(v, &["trader_id"])),
        (&f.strategies, s(v, &["strategy_id"])),
        (&f.accounts, s(v, &["account_id"])),
        (&f.instruments, s(v, &["instrument_id"])),
        (&f.kinds, s(v, &["entity", "kind"])),
    ];
    for (pats, val) in dims {
        if pats.is_empty() {
            continue;
        }
        match val {
            Some(x) if pats.iter().any(|p| glob_match(p, x)) => {}
            _ => return false,
        }
    }
    if let Some(t) = &f.text {
        let data = v.get("data").map(Value::to_string).unwrap_or_default();
        if !data.to_ascii_lowercase().contains(&t.to_ascii_lowercase()) {
            return false;
        }
    }
    let ent = s(v, &["entity", "id"]);
    if let Some(id) = &f.entity {
        if ent != Some(id.as_str()) {
            return false;
        }
    }
    if let Some(id) = &f.mentions {
        let in_refs = v.get("refs").and_then(Value::as_object).is_some_and(|m| {
            m.iter().any(|(k, x)| {
                k != "correction_of"
                    && match x {
                        Value::String(s) => s == id,
                        Value::Number(n) => n.to_string() == *id,
                        _ => false,
                    }
            })
        });
        if ent != Some(id.as_str()) && !in_refs {
            return false;
        }
    }
    true
}

/// The seqs of every record that matches, by brute force.
pub fn brute(lines: &[Vec<u8>], f: &Filter) -> Vec<u64> {
    brute_parsed(&parse_all(lines), f)
}

/// Every line, parsed.
pub fn parse_all(lines: &[Vec<u8>]) -> Vec<Value> {
    lines
        .iter()
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

/// [`brute`] over lines parsed once.
pub fn brute_parsed(values: &[Value], f: &Filter) -> Vec<u64> {
    values
        .iter()
        .enumerate()
        .filter(|(_, v)| matches(v, f))
        .map(|(i, _)| i as u64)
        .collect()
}

/// `DIR/index/query` of a scratch directory.
pub fn index_dir(dir: &Path) -> PathBuf {
    dir.join("index").join("query")
}
