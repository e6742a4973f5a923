//! `DIR/tradetrail.toml`: the configuration of one data directory.
//!
//! ```toml
//! origin = "tradetrail.local/desk-1/3f9c2a10"
//!
//! [journal]
//! segment_max_bytes = 67108864   # seal a segment and start the next past this size
//! rotate_daily = true            # and at the first record of each UTC day
//!
//! [durability]
//! default = "os"                 # "os": acknowledged when written to the OS; "fsync": when on disk
//! fsync = ["order.*", "position.*", "account.*", "approval.*", "trading.*"]
//! os = []                        # patterns that stay "os" even when the default is "fsync"
//!
//! [retention]
//! hot_window = "90d"             # archived JSONL segments older than this leave journal/
//!
//! [retention.keep]               # how long the archive keeps each type; no rule: forever
//! "order.*" = "6y"
//! "log.*" = "90d"
//!
//! [log]                          # operational log lines (log.<level> records)
//! level = "info"                 # the minimum level of every category
//!
//! [log.categories]               # per category, beating `level`
//! order = "debug"
//! connection = "warning"
//! ```
//! Patterns are an exact type (`order.filled`) or a family (`order.*`). A type matching
//! both lists takes the more specific pattern (exact beats family); on a tie `fsync` wins.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use tradetrail_journal::Durability;

use crate::Error;

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The journal's origin: the first line of its checkpoints, unique per journal.
    pub origin: String,
    /// Segment rotation.
    #[serde(default)]
    pub journal: JournalConfig,
    /// When appends are acknowledged, per event type.
    #[serde(default)]
    pub durability: DurabilityPolicy,
    /// When signed checkpoints are taken without being asked.
    #[serde(default)]
    pub checkpoints: CheckpointPolicy,
    /// Tolerances of `tradetrail reconcile` (docs/books.md); absent means the defaults.
    #[serde(default)]
    pub reconciliation: ReconciliationConfig,
    /// How long records are kept (docs/archive.md).
    #[serde(default)]
    pub retention: RetentionPolicy,
    /// The default time zone and the venues' trading sessions (docs/configuration.md).
    #[serde(default)]
    pub time: TimeConfig,
    /// The minimum levels of operational log lines, per category.
    #[serde(default)]
    pub log: LogConfig,
    /// Where the Parquet archive is kept besides `DIR/archive` (docs/archive.md).
    #[serde(default)]
    pub archive: ArchiveConfig,
}

/// `[log]`: the minimum level of the operational log lines (`log.<level>` records) that
/// the Python `LogHandler` and the Rust `tracing` layer (`tradetrail-tracing`) record,
/// overall and per category. A line below its category's minimum is not recorded.
/// Without this section every level is recorded.
///
/// ```toml
/// [log]
/// level = "info"
///
/// [log.categories]
/// order = "debug"
/// connection = "warning"
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// The minimum level of every category without its own (`"debug"` ... `"critical"`);
    /// absent: every level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// Category -> its minimum level.
    pub categories: BTreeMap<String, String>,
}

impl LogConfig {
    /// The minimum level of `category` (a name of [`tradetrail_model::LOG_LEVELS`]): its
    /// own, else `level`; `None`: every level is recorded.
    pub fn minimum(&self, category: &str) -> Option<&str> {
        self.categories
            .get(category)
            .or(self.level.as_ref())
            .map(String::as_str)
    }

    /// Checks every level name and category, naming the setting that is wrong
    /// (`log.categories."order": use one of debug, ...`).
    pub fn check(&self) -> Result<(), String> {
        let check = |field: String, v: &str| {
            tradetrail_model::log_level_rank(v)
                .map(drop)
                .ok_or_else(|| {
                    format!(
                        "{field}: use one of {}, not {v:?}",
                        tradetrail_model::LOG_LEVELS.join(", ")
                    )
                })
        };
        if let Some(l) = &self.level {
            check("log.level".into(), l)?;
        }
        for (c, l) in &self.categories {
            if c.is_empty() || c.chars().count() > 128 || c.chars().any(char::is_control) {
                return Err(format!(
                    "log.categories.{c:?}: a category is 1 to 128 characters, no control characters"
                ));
            }
            check(format!("log.categories.{c:?}"), l)?;
        }
        Ok(())
    }

    fn to_toml(&self) -> String {
        if self.level.is_none() && self.categories.is_empty() {
            return "\n# [log]               # minimum levels of operational log lines (log.* records)\n\
                    # level = \"info\"      # every category; absent: every level is recorded\n\
                    # [log.categories]\n\
                    # connection = \"warning\"\n"
                .into();
        }
        let mut out = String::from(
            "\n[log]\n# The minimum level of operational log lines (log.* records) in every category.\n",
        );
        if let Some(l) = &self.level {
            out.push_str(&format!("level = {l:?}\n"));
        }
        if !self.categories.is_empty() {
            out.push_str("\n[log.categories]\n# Per category, beating `level`.\n");
            for (c, l) in &self.categories {
                out.push_str(&format!("{c:?} = {l:?}\n"));
            }
        }
        out
    }
}

/// `[archive]`: the archive's copy on object storage.
///
/// ```toml
/// [archive]
/// # `tradetrail archive` uploads here after archiving; a Parquet file no longer in
/// # DIR/archive is read from here (checked against its manifest) by trail, query,
/// # prove, verify and retention.
/// remote = "s3://bucket/prefix/"
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArchiveConfig {
    /// `s3://bucket/prefix/`, connected through the standard `AWS_*` variables.
    pub remote: Option<String>,
}

impl ArchiveConfig {
    fn validate(&self) -> Result<(), String> {
        match &self.remote {
            Some(r) if !r.starts_with("s3://") || r.len() <= "s3://".len() => Err(format!(
                "archive.remote: {r:?} is not an object storage location (use s3://bucket/prefix/)"
            )),
            _ => Ok(()),
        }
    }
}

/// `[time]`: the zone `--from`, `--to`, `--at`, `--date` and report days are read in
/// when no `--tz` is given, and the venues' trading sessions for `--session`.
///
/// ```toml
/// [time]
/// zone = "America/New_York"
/// session = "XNYS"            # reports group by this venue's trading days by default
///
/// [[time.sessions]]
/// venue = "XNYS"
/// zone = "America/New_York"
/// open = "09:30"
/// close = "16:00"
/// # day_ends = "16:00"        # where the trading day rolls; default the close
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeConfig {
    /// `UTC`, an IANA name or a fixed offset like `+02:00`.
    pub zone: String,
    /// The venue whose trading days reports group by when neither `--tz` nor
    /// `--session` is given; absent: calendar days in `zone`.
    pub session: Option<String>,
    /// The venues' sessions.
    pub sessions: Vec<SessionConfig>,
}

impl Default for TimeConfig {
    fn default() -> Self {
        TimeConfig {
            zone: "UTC".into(),
            session: None,
            sessions: Vec::new(),
        }
    }
}

/// `[[time.sessions]]`: one venue's trading session, in local times of its zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionConfig {
    /// The venue, as `--session` names it (`XNYS`, `FX`).
    pub venue: String,
    /// The venue's zone (an IANA name).
    pub zone: String,
    /// The open, `HH:MM`.
    pub open: String,
    /// The close, `HH:MM`.
    pub close: String,
    /// Where the trading day ends, `HH:MM` (default: the close). Day D runs from the
    /// end of the previous trading day (Friday's for a Monday) to this time on D.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day_ends: Option<String>,
}

impl TimeConfig {
    /// The checked settings; the error names the key (`time.zone: ...`).
    pub fn settings(&self) -> Result<tradetrail_model::TimeSettings, String> {
        let zone =
            tradetrail_model::Zone::parse(&self.zone).map_err(|r| format!("time.zone: {r}"))?;
        let mut sessions: Vec<tradetrail_model::Session> = Vec::new();
        for (i, s) in self.sessions.iter().enumerate() {
            let at = format!("time.sessions[{i}]");
            let session = tradetrail_model::Session::parse(
                &at,
                &s.venue,
                &s.zone,
                &s.open,
                &s.close,
                s.day_ends.as_deref(),
            )?;
            if sessions.iter().any(|o| o.venue == session.venue) {
                return Err(format!(
                    "{at}.venue: {:?} is configured twice",
                    session.venue
                ));
            }
            sessions.push(session);
        }
        let settings = tradetrail_model::TimeSettings {
            zone,
            sessions,
            default_session: self.session.clone(),
        };
        if let Some(v) = &self.session {
            settings
                .session(v)
                .map_err(|r| format!("time.session: {r}"))?;
        }
        Ok(settings)
    }

    fn to_toml(&self) -> String {
        let mut out = format!(
            "[time]\n\
             # The zone --from/--to/--at/--date values without an offset and report days are read\n\
             # in when no --tz is given: \"UTC\", an IANA name (\"America/New_York\") or \"+02:00\".\n\
             zone = {:?}\n",
            self.zone
        );
        match &self.session {
            Some(s) => out.push_str(&format!(
                "# Reports group by this venue's trading days unless --tz or --session is given.\n\
                 session = {s:?}\n"
            )),
            None => out.push_str(
                "# session = \"XNYS\"   # group reports by a venue's trading days (see [[time.sessions]])\n",
            ),
        }
        for (i, s) in self.sessions.iter().enumerate() {
            if i == 0 {
                out.push_str(
                    "\n# Venues' sessions, local times in their zones: trading day D runs from the\n\
                     # end of the previous trading day to day_ends (default the close) on D,\n\
                     # Monday to Friday. `tradetrail report --session VENUE` groups by them.\n",
                );
            }
            out.push_str(&format!(
                "[[time.sessions]]\nvenue = {:?}\nzone = {:?}\nopen = {:?}\nclose = {:?}\n",
                s.venue, s.zone, s.open, s.close
            ));
            if let Some(d) = &s.day_ends {
                out.push_str(&format!("day_ends = {d:?}\n"));
            }
            out.push('\n');
        }
        out
    }
}

/// Tolerances of a reconciliation against a broker statement (docs/books.md). A
/// difference at or below a `*_minor` bound is minor (corrected by an appended
/// `reconciliation.correction`); above it, major (a `review.requested`). Decimals are
/// TOML strings, read exactly: `price_minor = "0.01"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReconciliationConfig {
    /// Price difference of a matched trade, in price units.
    pub price_minor: rust_decimal::Decimal,
    /// Quantity difference of a matched trade.
    pub quantity_minor: rust_decimal::Decimal,
    /// Commission difference of a matched trade.
    pub commission_minor: rust_decimal::Decimal,
    /// Unexplained cash difference per account and currency.
    pub cash_minor: rust_decimal::Decimal,
    /// Unexplained realized P&L difference per account and instrument.
    pub realized_pnl_minor: rust_decimal::Decimal,
    /// Trades without a common id match on instrument, side and quantity when the
    /// prices are within this many basis points ...
    pub match_price_bps: rust_decimal::Decimal,
    /// ... and the times within this many seconds.
    pub match_time_seconds: u64,
    /// UTC offset of the times in IBKR Flex statements, `+HH:MM` or `-HH:MM`.
    pub flex_utc_offset: String,
    /// When `tradetrail serve` reconciles the statements dropped in an inbox.
    pub schedule: ReconciliationSchedule,
}

/// `[reconciliation.schedule]`: when `tradetrail serve` reconciles the broker
/// statements dropped in its inbox (docs/books.md). Everything is off by default;
/// an admin can still run the inbox at any time with `POST /v1/reconcile`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReconciliationSchedule {
    /// The directory statements are dropped in (`.xml` IBKR Flex, `.csv`, `.json`);
    /// relative to the data directory. Reconciled files move to `../processed/`,
    /// bad ones to `../rejected/`. Default `statements/inbox`.
    pub inbox: std::path::PathBuf,
    /// Reconcile the inbox every this many seconds (3600: hourly). 0: off.
    pub every_seconds: u64,
    /// And once a day at this UTC time, `"HH:MM"` (after the close, e.g. `"21:30"`).
    pub daily_at: Option<String>,
    /// And after `order.filled` events are appended, once the fills pause for
    /// `on_fill_debounce_seconds`: a burst of fills makes one run.
    pub on_fill: bool,
    /// The pause that ends a burst of fills, in seconds (at least 1).
    pub on_fill_debounce_seconds: u64,
}

impl Default for ReconciliationSchedule {
    fn default() -> Self {
        ReconciliationSchedule {
            inbox: "statements/inbox".into(),
            every_seconds: 0,
            daily_at: None,
            on_fill: false,
            on_fill_debounce_seconds: 5,
        }
    }
}

impl ReconciliationSchedule {
    /// `daily_at` in seconds after UTC midnight.
    pub fn daily_at_seconds(&self) -> Result<Option<u32>, String> {
        let Some(s) = &self.daily_at else {
            return Ok(None);
        };
        let bad = || {
            format!(
                "reconciliation.schedule.daily_at: {s:?} is not a UTC time like \"21:30\" (HH:MM, 00:00 to 23:59)"
            )
        };
        let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if h > 23 || m > 59 {
            return Err(bad());
        }
        Ok(Some(h * 3600 + m * 60))
    }

    fn validate(&self) -> Result<(), String> {
        if self.inbox.as_os_str().is_empty() {
            return Err("reconciliation.schedule.inbox: must name a directory".into());
        }
        if self.on_fill_debounce_seconds == 0 {
            return Err("reconciliation.schedule.on_fill_debounce_seconds: must be at least 1, so a burst of fills makes one run".into());
        }
        self.daily_at_seconds().map(|_| ())
    }
}

impl Default for ReconciliationConfig {
    fn default() -> Self {
        ReconciliationConfig {
            price_minor: rust_decimal::Decimal::new(1, 2),
            quantity_minor: rust_decimal::Decimal::ZERO,
            commission_minor: rust_decimal::Decimal::new(100, 2),
            cash_minor: rust_decimal::Decimal::new(2500, 2),
            realized_pnl_minor: rust_decimal::Decimal::new(100, 2),
            match_price_bps: rust_decimal::Decimal::from(50),
            match_time_seconds: 120,
            flex_utc_offset: "+00:00".into(),
            schedule: ReconciliationSchedule::default(),
        }
    }
}

impl ReconciliationConfig {
    /// `flex_utc_offset` in seconds east of UTC.
    pub fn flex_offset_seconds(&self) -> Result<i32, String> {
        let s = self.flex_utc_offset.trim();
        let bad = || {
            format!(
                "reconciliation.flex_utc_offset: {s:?} is not an offset like \"-05:00\" or \"+01:00\""
            )
        };
        let (sign, rest) = match s.as_bytes().first() {
            Some(b'+') => (1, &s[1..]),
            Some(b'-') => (-1, &s[1..]),
            _ => return Err(bad()),
        };
        let (h, m) = rest.split_once(':').ok_or_else(bad)?;
        let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if h > 23 || m > 59 || h < 0 || m < 0 {
            return Err(bad());
        }
        Ok(sign * (h * 3600 + m * 60))
    }

    fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("price_minor", self.price_minor),
            ("quantity_minor", self.quantity_minor),
            ("commission_minor", self.commission_minor),
            ("cash_minor", self.cash_minor),
            ("realized_pnl_minor", self.realized_pnl_minor),
            ("match_price_bps", self.match_price_bps),
        ] {
            if v.is_sign_negative() {
                return Err(format!("reconciliation.{name}: must not be negative"));
            }
        }
        self.flex_offset_seconds()?;
        self.schedule.validate()
    }
}

/// Retention: how long archived JSONL segments stay in `journal/`, and how long the
/// Parquet archive keeps each type. A type that matches no `keep` pattern is kept
/// forever: nothing is ever purged without a rule that allows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionPolicy {
    /// Archived segments whose last record is older than this leave `journal/`.
    #[serde(default = "default_hot_window")]
    pub hot_window: String,
    /// Type pattern -> period (`"6y"`, `"18m"`, `"13w"`, `"90d"`).
    #[serde(default)]
    pub keep: BTreeMap<String, String>,
}

fn default_hot_window() -> String {
    "90d".into()
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            hot_window: default_hot_window(),
            keep: BTreeMap::new(),
        }
    }
}

/// A calendar period: `<n>d`, `<n>w`, `<n>m` (months) or `<n>y`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// Days.
    Days(u32),
    /// Calendar months.
    Months(u32),
    /// Calendar years.
    Years(u32),
}

impl std::str::FromStr for Period {
    type Err = String;
    fn from_str(s: &str) -> Result<Period, String> {
        let bad = || format!("{s:?} is not a period like \"90d\", \"13w\", \"18m\" or \"6y\"");
        let (num, unit) = s.split_at(s.len().saturating_sub(1));
        let n: u32 = num.parse().map_err(|_| bad())?;
        if n == 0 || n > 1000 {
            return Err(format!("{s:?}: the number must be between 1 and 1000"));
        }
        match unit {
            "d" => Ok(Period::Days(n)),
            "w" => Ok(Period::Days(n * 7)),
            "m" => Ok(Period::Months(n)),
            "y" => Ok(Period::Years(n)),
            _ => Err(bad()),
        }
    }
}

impl RetentionPolicy {
    /// The hot window.
    pub fn hot_window(&self) -> Period {
        self.hot_window
            .parse()
            .expect("checked when the configuration was loaded")
    }

    /// How long records of `ty` are kept; `None`: forever (no rule).
    pub fn keep_for(&self, ty: &str) -> Option<(&str, Period)> {
        if ty.starts_with("journal.") {
            return None;
        }
        self.keep
            .iter()
            .filter_map(|(p, v)| specificity(p, ty).map(|s| (s, p, v)))
            .max_by_key(|(s, _, _)| *s)
            .map(|(_, p, v)| {
                (
                    p.as_str(),
                    v.parse()
                        .expect("checked when the configuration was loaded"),
                )
            })
    }

    fn validate(&self) -> Result<(), String> {
        self.hot_window
            .parse::<Period>()
            .map_err(|r| format!("retention.hot_window: {r}"))?;
        for (p, v) in &self.keep {
            check_pattern(p).map_err(|r| format!("retention.keep.{p:?}: {r}"))?;
            if p == "journal" || p.starts_with("journal.") {
                return Err(format!(
                    "retention.keep.{p:?}: journal.* records are the journal's own; their retention is fixed"
                ));
            }
            v.parse::<Period>()
                .map_err(|r| format!("retention.keep.{p:?}: {r}"))?;
        }
        Ok(())
    }
}

/// When a checkpoint is due (checked after each `append` and `demo`, and by
/// [`crate::checkpoints::checkpoint_if_due`]). Any one condition makes it due, as long
/// as records were added since the last checkpoint. 0 turns a condition off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointPolicy {
    /// After this many records.
    #[serde(default = "default_every_records")]
    pub every_records: u64,
    /// After this many seconds.
    #[serde(default = "default_every_seconds")]
    pub every_seconds: u64,
    /// When a segment was sealed since the last checkpoint.
    #[serde(default = "default_true")]
    pub at_seal: bool,
}

fn default_every_records() -> u64 {
    100_000
}

fn default_every_seconds() -> u64 {
    3600
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        CheckpointPolicy {
            every_records: default_every_records(),
            every_seconds: default_every_seconds(),
            at_seal: true,
        }
    }
}

/// Segment rotation settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalConfig {
    /// Seal the active segment once it would grow past this many bytes.
    #[serde(default = "default_segment_max_bytes")]
    pub segment_max_bytes: u64,
    /// Also start a new segment at each UTC midnight.
    #[serde(default = "default_true")]
    pub rotate_daily: bool,
}

fn default_segment_max_bytes() -> u64 {
    64 * 1024 * 1024
}

fn default_true() -> bool {
    true
}

impl Default for JournalConfig {
    fn default() -> Self {
        JournalConfig {
            segment_max_bytes: default_segment_max_bytes(),
            rotate_daily: true,
        }
    }
}

/// Durability by event type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DurabilityPolicy {
    /// For types that match no pattern.
    #[serde(default, with = "durability_name")]
    pub default: Durability,
    /// Types acknowledged only once fdatasync'd.
    #[serde(default = "default_fsync_patterns")]
    pub fsync: Vec<String>,
    /// Types acknowledged once written to the OS.
    #[serde(default)]
    pub os: Vec<String>,
}

fn default_fsync_patterns() -> Vec<String> {
    [
        "order.*",
        "position.*",
        "account.*",
        "approval.*",
        "trading.*",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

impl Default for DurabilityPolicy {
    fn default() -> Self {
        DurabilityPolicy {
            default: Durability::Os,
            fsync: default_fsync_patterns(),
            os: Vec::new(),
        }
    }
}

mod durability_name {
    use serde::{Deserialize, Deserializer, Serializer};
    use tradetrail_journal::Durability;

    pub fn serialize<S: Serializer>(d: &Durability, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(d.as_str())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Durability, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// How specifically a pattern matches a type: `None` no match, higher is more specific.
fn specificity(pattern: &str, ty: &str) -> Option<usize> {
    if pattern == ty {
        return Some(usize::MAX);
    }
    if pattern == "*" {
        return Some(0);
    }
    let family = pattern.strip_suffix(".*")?;
    let rest = ty.strip_prefix(family)?;
    rest.starts_with('.').then_some(family.len())
}

fn check_pattern(p: &str) -> Result<(), String> {
    let body = p.strip_suffix(".*").unwrap_or(p);
    let ok = p == "*"
        || (!body.is_empty()
            && body.split('.').all(|part| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
            }));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{p:?} is not an event type or a family pattern like \"order.*\""
        ))
    }
}

impl DurabilityPolicy {
    /// The durability for an event type.
    pub fn for_type(&self, ty: &str) -> Durability {
        let best = |list: &[String]| list.iter().filter_map(|p| specificity(p, ty)).max();
        match (best(&self.fsync), best(&self.os)) {
            (Some(f), Some(o)) if o > f => Durability::Os,
            (Some(_), _) => Durability::Fsync,
            (None, Some(_)) => Durability::Os,
            (None, None) => self.default,
        }
    }

    fn validate(&self) -> Result<(), String> {
        for (i, p) in self.fsync.iter().enumerate() {
            check_pattern(p).map_err(|r| format!("durability.fsync[{i}]: {r}"))?;
        }
        for (i, p) in self.os.iter().enumerate() {
            check_pattern(p).map_err(|r| format!("durability.os[{i}]: {r}"))?;
        }
        Ok(())
    }
}

impl Config {
    /// A configuration with defaults and the given origin.
    pub fn new(origin: String) -> Config {
        Config {
            origin,
            journal: JournalConfig::default(),
            durability: DurabilityPolicy::default(),
            checkpoints: CheckpointPolicy::default(),
            reconciliation: ReconciliationConfig::default(),
            retention: RetentionPolicy::default(),
            time: TimeConfig::default(),
            log: LogConfig::default(),
            archive: ArchiveConfig::default(),
        }
    }

    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text).map_err(|reason| Error::Config {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Parses and checks configuration text.
    pub fn parse(text: &str) -> Result<Config, String> {
        let cfg: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        if cfg.origin.trim().is_empty() || cfg.origin.contains('\n') {
            return Err("origin: must be a non-empty single line".into());
        }
        if cfg.journal.segment_max_bytes < 4096 {
            return Err("journal.segment_max_bytes: must be at least 4096".into());
        }
        cfg.durability.validate()?;
        cfg.reconciliation.validate()?;
        cfg.retention.validate()?;
        cfg.time.settings()?;
        cfg.log.check()?;
        cfg.archive.validate()?;
        Ok(cfg)
    }

    /// The file text, with comments explaining each setting.
    pub fn to_toml(&self) -> String {
        let list = |v: &[String]| {
            v.iter()
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "# tradetrail configuration. See docs/configuration.md.\n\
             # The journal's origin: first line of every checkpoint; unique per journal.\n\
             origin = {origin:?}\n\
             \n\
             [journal]\n\
             # Seal the active segment and start a new one once it would pass this size.\n\
             segment_max_bytes = {seg}\n\
             # Also start a new segment at the first record of each UTC day.\n\
             rotate_daily = {daily}\n\
             \n\
             [durability]\n\
             # \"os\": acknowledged once written to the OS (survives a process crash).\n\
             # \"fsync\": acknowledged once fdatasync'd (survives a machine crash).\n\
             default = {def:?}\n\
             fsync = [{fsync}]\n\
             os = [{os}]\n\
             \n\
             [checkpoints]\n\
             # A signed checkpoint is taken after append/demo when any of these is met\n\
             # (0 turns one off); `tradetrail checkpoint` takes one at any time.\n\
             every_records = {cp_records}\n\
             every_seconds = {cp_seconds}\n\
             at_seal = {cp_seal}\n\
             \n\
             [retention]\n\
             # Archived JSONL segments older than this leave journal/ at `tradetrail retention apply`\n\
             # (the Parquet archive keeps them). Periods: \"90d\", \"13w\", \"18m\", \"6y\".\n\
             hot_window = {hot:?}\n\
             \n\
             [retention.keep]\n\
             # How long the archive keeps each type pattern, e.g. \"order.*\" = \"6y\". A type that\n\
             # matches no pattern is kept forever; nothing is purged without a rule.\n\
             {keep}\n\
             {time}{log}{archive}",
            origin = self.origin,
            seg = self.journal.segment_max_bytes,
            daily = self.journal.rotate_daily,
            def = self.durability.default.as_str(),
            fsync = list(&self.durability.fsync),
            os = list(&self.durability.os),
            cp_records = self.checkpoints.every_records,
            cp_seconds = self.checkpoints.every_seconds,
            cp_seal = self.checkpoints.at_seal,
            hot = self.retention.hot_window,
            keep = self
                .retention
                .keep
                .iter()
                .map(|(p, v)| format!("{p:?} = {v:?}\n"))
                .collect::<String>(),
            time = self.time.to_toml(),
            log = self.log.to_toml(),
            archive = match &self.archive.remote {
                Some(r) => format!(
                    "\n[archive]\n\
                     # The archive's copy on object storage (AWS_* variables configure the\n\
                     # connection); Parquet files no longer in DIR/archive are read from it.\n\
                     remote = {r:?}\n"
                ),
                None => String::new(),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_matches_the_brief() {
        let p = DurabilityPolicy::default();
        for t in [
            "order.filled",
            "position.updated",
            "account.snapshot",
            "approval.expired",
            "trading.kill_switch",
        ] {
            assert_eq!(p.for_type(t), Durability::Fsync, "{t}");
        }
        for t in [
            "signal.generated",
            "risk.evaluated",
            "param.changed",
            "orders.x",
        ] {
            assert_eq!(p.for_type(t), Durability::Os, "{t}");
        }
    }

    #[test]
    fn exact_beats_family() {
        let p = DurabilityPolicy {
            default: Durability::Fsync,
            fsync: vec!["order.*".into()],
            os: vec!["order.modified".into(), "signal.*".into()],
        };
        assert_eq!(p.for_type("order.modified"), Durability::Os);
        assert_eq!(p.for_type("order.filled"), Durability::Fsync);
        assert_eq!(p.for_type("signal.generated"), Durability::Os);
        assert_eq!(p.for_type("risk.evaluated"), Durability::Fsync);
    }

    #[test]
    fn log_levels_per_category() {
        let c = Config::new("o/1".into());
        assert_eq!(c.log.minimum("order"), None);
        let text = format!(
            "{}\n[log]\nlevel = \"info\"\n[log.categories]\norder = \"debug\"\nconnection = \"warning\"\n",
            c.to_toml()
        );
        let parsed = Config::parse(&text).unwrap();
        assert_eq!(parsed.log.minimum("order"), Some("debug"));
        assert_eq!(parsed.log.minimum("connection"), Some("warning"));
        assert_eq!(parsed.log.minimum("system"), Some("info"));
        // The file init writes keeps the section.
        assert_eq!(Config::parse(&parsed.to_toml()).unwrap(), parsed);
        let bad = format!("{}\n[log.categories]\norder = \"loud\"\n", c.to_toml());
        assert_eq!(
            Config::parse(&bad).unwrap_err(),
            "log.categories.\"order\": use one of debug, info, warning, error, critical, not \"loud\""
        );
        let bad = format!("{}\n[log]\nlevel = \"warn\"\n", c.to_toml());
        assert!(Config::parse(&bad)
            .unwrap_err()
            .starts_with("log.level: use one of"));
        let bad = format!("{}\n[log]\nlevels = \"info\"\n", c.to_toml());
        assert!(Config::parse(&bad).unwrap_err().contains("levels"));
    }

    #[test]
    fn round_trip_and_errors() {
        let c = Config::new("o/1".into());
        assert_eq!(Config::parse(&c.to_toml()).unwrap(), c);
        let bad = c
            .to_toml()
            .replace("default = \"os\"", "default = \"sometimes\"");
        let e = Config::parse(&bad).unwrap_err();
        assert!(e.contains("sometimes"), "{e}");
        let bad = c.to_toml().replace("\"order.*\"", "\"Order*\"");
        assert!(Config::parse(&bad)
            .unwrap_err()
            .contains("durability.fsync[0]"));
        let bad = format!("{}\nsurprise = 1\n", c.to_toml());
        assert!(Config::parse(&bad).unwrap_err().contains("surprise"));
    }

    #[test]
    fn reconciliation_section_is_optional_and_checked() {
        let c = Config::new("o/1".into());
        assert_eq!(c.reconciliation, ReconciliationConfig::default());
        let text = format!(
            "{}\n[reconciliation]\nprice_minor = \"0.05\"\nflex_utc_offset = \"-05:00\"\n",
            c.to_toml()
        );
        let parsed = Config::parse(&text).unwrap();
        assert_eq!(
            parsed.reconciliation.price_minor,
            rust_decimal::Decimal::new(5, 2)
        );
        assert_eq!(
            parsed.reconciliation.cash_minor,
            rust_decimal::Decimal::new(2500, 2)
        );
        assert_eq!(parsed.reconciliation.flex_offset_seconds(), Ok(-5 * 3600));
        let bad = text.replace("-05:00", "EST");
        assert!(Config::parse(&bad).unwrap_err().contains("flex_utc_offset"));
        let bad = text.replace("\"0.05\"", "\"-1\"");
        assert!(Config::parse(&bad).unwrap_err().contains("price_minor"));
    }

    #[test]
    fn retention_defaults_rules_and_errors() {
        // A file from before the [retention] section still loads.
        let old = "origin = \"o/1\"\n";
        let c = Config::parse(old).unwrap();
        assert_eq!(c.retention, RetentionPolicy::default());
        assert_eq!(c.retention.hot_window(), Period::Days(90));
        assert_eq!(c.retention.keep_for("order.filled"), None);
        let mut c = Config::new("o/1".into());
        c.retention.keep.insert("order.*".into(), "6y".into());
        c.retention
            .keep
            .insert("order.rejected".into(), "18m".into());
        c.retention.keep.insert("log.*".into(), "13w".into());
        assert_eq!(Config::parse(&c.to_toml()).unwrap(), c);
        let r = &c.retention;
        assert_eq!(
            r.keep_for("order.filled"),
            Some(("order.*", Period::Years(6)))
        );
        assert_eq!(
            r.keep_for("order.rejected"),
            Some(("order.rejected", Period::Months(18)))
        );
        assert_eq!(r.keep_for("log.debug"), Some(("log.*", Period::Days(91))));
        assert_eq!(r.keep_for("signal.generated"), None);
        let bad = c.to_toml().replace("\"6y\"", "\"6 years\"");
        assert!(Config::parse(&bad)
            .unwrap_err()
            .contains("retention.keep.\"order.*\""));
        let bad = c.to_toml().replace("\"log.*\"", "\"journal.*\"");
        assert!(Config::parse(&bad)
            .unwrap_err()
            .contains("journal.* records"));
        let bad = c
            .to_toml()
            .replace("hot_window = \"90d\"", "hot_window = \"0d\"");
        assert!(Config::parse(&bad)
            .unwrap_err()
            .contains("retention.hot_window"));
    }

    #[test]
    fn time_zone_and_sessions_are_checked() {
        let c = Config::new("o/1".into());
        assert_eq!(c.time.settings().unwrap().zone.name(), "UTC");
        // A file from before the [time] section still loads, with UTC.
        assert_eq!(
            Config::parse("origin = \"o/1\"\n").unwrap().time,
            TimeConfig::default()
        );
        let mut c = Config::new("o/1".into());
        c.time.zone = "America/New_York".into();
        c.time.session = Some("XNYS".into());
        c.time.sessions.push(SessionConfig {
            venue: "XNYS".into(),
            zone: "America/New_York".into(),
            open: "09:30".into(),
            close: "16:00".into(),
            day_ends: None,
        });
        c.time.sessions.push(SessionConfig {
            venue: "FX".into(),
            zone: "America/New_York".into(),
            open: "17:00".into(),
            close: "17:00".into(),
            day_ends: Some("17:00".into()),
        });
        let text = c.to_toml();
        assert_eq!(Config::parse(&text).unwrap(), c);
        let s = c.time.settings().unwrap();
        assert_eq!(
            s.default_days().session().map(|s| s.venue.as_str()),
            Some("XNYS")
        );
        let e =
            Config::parse(&text.replacen("zone = \"America/New_York\"", "zone = \"Mars/Base\"", 1))
                .unwrap_err();
        assert!(
            e.starts_with("time.zone: \"Mars/Base\" is not a time zone"),
            "{e}"
        );
        let e =
            Config::parse(&text.replace("session = \"XNYS\"", "session = \"XLON\"")).unwrap_err();
        assert!(
            e.starts_with("time.session: no session \"XLON\"") && e.contains("XNYS, FX"),
            "{e}"
        );
        let e = Config::parse(&text.replace("close = \"16:00\"", "close = \"4pm\"")).unwrap_err();
        assert!(e.starts_with("time.sessions[0].close: "), "{e}");
        let e = Config::parse(&text.replace("venue = \"FX\"", "venue = \"XNYS\"")).unwrap_err();
        assert!(e.contains("configured twice"), "{e}");
    }

    #[test]
    fn schedule_is_off_by_default_and_checked() {
        let c = Config::new("o/1".into());
        let s = &c.reconciliation.schedule;
        assert_eq!(s.inbox, std::path::PathBuf::from("statements/inbox"));
        assert_eq!(
            (s.every_seconds, s.on_fill, s.daily_at_seconds()),
            (0, false, Ok(None))
        );
        let text = format!(
            "{}\n[reconciliation.schedule]\nevery_seconds = 3600\ndaily_at = \"21:30\"\non_fill = true\n",
            c.to_toml()
        );
        let parsed = Config::parse(&text).unwrap();
        let s = &parsed.reconciliation.schedule;
        assert_eq!(s.every_seconds, 3600);
        assert_eq!(s.daily_at_seconds(), Ok(Some(21 * 3600 + 30 * 60)));
        assert!(s.on_fill);
        assert_eq!(s.on_fill_debounce_seconds, 5);
        for bad_time in ["24:00", "9:30", "21:60", "half past nine"] {
            let bad = text.replace("21:30", bad_time);
            let e = Config::parse(&bad).unwrap_err();
            assert!(
                e.contains("reconciliation.schedule.daily_at") && e.contains(bad_time),
                "{e}"
            );
        }
        let bad = format!("{text}on_fill_debounce_seconds = 0\n");
        assert!(Config::parse(&bad)
            .unwrap_err()
            .contains("on_fill_debounce_seconds"));
        let bad = format!("{text}every = 5\n");
        assert!(Config::parse(&bad).unwrap_err().contains("every"));
    }
}
