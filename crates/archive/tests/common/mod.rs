//! A data directory whose records span several days, written through the library
//! with a clock the test sets.

#![allow(dead_code)]

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use tradetrail_core::{DataDir, InitOptions, Recorder};
use tradetrail_journal::Clock;
use tradetrail_model::Event;

/// ns per day.
pub const DAY: i64 = 86_400 * 1_000_000_000;
/// 2030-01-01T00:00:00Z: after the real time `init` writes record 0 at, since
/// `ts_recorded` never goes back.
pub const T0: i64 = 1_893_456_000 * 1_000_000_000;

/// A clock the test moves.
#[derive(Debug, Default)]
pub struct TestClock(pub AtomicI64);

impl Clock for TestClock {
    fn now_ns(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl TestClock {
    pub fn set(&self, ns: i64) {
        self.0.store(ns, Ordering::SeqCst);
    }
}

pub struct Fixture {
    pub _tmp: tempfile::TempDir,
    pub dir: DataDir,
    pub clock: Arc<TestClock>,
}

impl Fixture {
    /// An initialized data directory with small segments; record 0 written on day 0.
    pub fn new() -> Fixture {
        Fixture::with_segment_bytes(16 * 1024)
    }

    /// [`Fixture::new`] with segments of `bytes` (an archive file per segment and day).
    pub fn with_segment_bytes(bytes: u64) -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path().join("data"));
        Recorder::init(
            &dir,
            InitOptions {
                origin: Some("test.example/archive".into()),
                segment_max_bytes: Some(bytes),
                created_at: None,
            },
        )
        .unwrap();
        let clock = Arc::new(TestClock::default());
        clock.set(T0);
        Fixture {
            _tmp: tmp,
            dir,
            clock,
        }
    }

    /// Opens the recorder with the test clock.
    pub fn open(&self) -> Recorder {
        let c = self.clock.clone();
        Recorder::open_with(&self.dir, move |o| o.with_clock(c))
            .unwrap()
            .0
    }

    /// Writes `n` events on day `day` (the clock is set to that day, hour by hour).
    pub fn write_day(&self, day: i64, n: usize, make: impl Fn(usize, i64) -> Event) {
        let rec = self.open();
        for i in 0..n {
            let ts = T0 + day * DAY + (i as i64 % 20) * 3_600_000_000_000 + i as i64;
            self.clock.set(ts.max(self.clock.now_ns()));
            let ev = make(i, ts - 5_000_000);
            rec.record(&ev).unwrap();
        }
    }

    /// Moves the clock to day `day` and writes one event on the day before and one on
    /// the day, sealing every earlier day's segments (the newest sealed segment, which
    /// retention never removes, is then the day before's).
    pub fn seal_until(&self, day: i64) {
        self.write_day(day - 1, 1, |i, ts| custom(i, ts, "T-0"));
        self.write_day(day, 1, |i, ts| custom(i, ts, "T-0"));
    }
}

/// An `order.submitted` for trader `trader` about order `O-<i>`.
pub fn order(i: usize, ts: i64, trader: &str) -> Event {
    Event::new("order.submitted", ts, "oms", &format!("trader:{trader}"))
        .with_trader(trader)
        .with_instrument(if i.is_multiple_of(2) {
            "AAPL.XNAS"
        } else {
            "MSFT.XNAS"
        })
        .with_entity("order", &format!("O-{i}"))
        .with_data("side", "buy")
        .with_data("quantity", "100")
        .with_data("order_type", "market")
}

/// A `custom.log` event with free data.
pub fn custom(i: usize, ts: i64, trader: &str) -> Event {
    Event::new("custom.log", ts, "engine", "system")
        .with_trader(trader)
        .with_data(
            "message",
            format!("line {i} with some text to make it longer"),
        )
        .with_ref("order_id", format!("O-{i}").as_str())
}

/// Sets `[retention]` in the configuration file.
pub fn set_retention(dir: &DataDir, hot_window: &str, keep: &[(&str, &str)]) {
    let mut c = tradetrail_core::Config::load(&dir.config()).unwrap();
    c.retention.hot_window = hot_window.into();
    c.retention.keep = keep
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    std::fs::write(dir.config(), c.to_toml()).unwrap();
}

/// Every journal line by seq (from the journal's first segment on).
pub fn journal_lines(dir: &DataDir) -> Vec<(u64, Vec<u8>)> {
    let jdir = dir.journal();
    let first = tradetrail_journal::list_segments(&tradetrail_journal::FsStorage, &jdir).unwrap()
        [0]
    .first_seq;
    let mut v = Vec::new();
    tradetrail_journal::for_each_line(
        &tradetrail_journal::FsStorage,
        &jdir,
        first,
        None,
        |s, l| {
            v.push((s, l.to_vec()));
            Ok(true)
        },
    )
    .unwrap();
    v
}

/// Runs a Python script; what it printed, trimmed (a failure shows its stderr).
pub fn python(script: &str) -> String {
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Installs a Python package with pip when it is missing (as `.ci/run` does), or
/// fails saying how.
pub fn ensure_python_module(m: &str) {
    let has = |m: &str| {
        std::process::Command::new("python3")
            .args(["-c", &format!("import {m}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if has(m) {
        return;
    }
    let ok = std::process::Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            m,
        ])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok && has(m),
        "{m} is needed: python3 -m pip install {m} (.ci/run does)"
    );
}
