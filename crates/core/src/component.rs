//! Parts that run beside a recorder — a PostgreSQL mirror, a stream ingest — and say
//! how they are doing, so that the server's `/metrics` and `/healthz` show them
//! without knowing what they are.

/// One number a component reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Gauge {
    /// The metric's name after `tradetrail_<component>_`: `lag_records`, `errors_total`.
    pub name: &'static str,
    /// What it means (the Prometheus `HELP` line).
    pub help: &'static str,
    /// Its value now.
    pub value: f64,
    /// A count that only grows (`counter`) rather than a level (`gauge`).
    pub counter: bool,
}

impl Gauge {
    /// A level.
    pub fn level(name: &'static str, help: &'static str, value: f64) -> Gauge {
        Gauge {
            name,
            help,
            value,
            counter: false,
        }
    }

    /// A count that only grows.
    pub fn count(name: &'static str, help: &'static str, value: u64) -> Gauge {
        Gauge {
            name,
            help,
            value: value as f64,
            counter: true,
        }
    }
}

/// How a component is doing.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentReport {
    /// False while it cannot do its work (the database is down, the stream unreachable).
    pub healthy: bool,
    /// One line for a person: what it did last, or what is wrong.
    pub detail: String,
    /// Its numbers.
    pub gauges: Vec<Gauge>,
}

/// A part that runs beside the recorder and reports on itself.
pub trait Component: Send + Sync + std::fmt::Debug {
    /// A short lowercase name, used in metric names and in `/healthz`: `pg_mirror`.
    fn name(&self) -> &'static str;
    /// How it is doing, given the journal's record count now (for lags).
    fn report(&self, journal_records: u64) -> ComponentReport;
}
