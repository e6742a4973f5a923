//! Counters and histograms for `/metrics`, written in the Prometheus text format by
//! hand: a handful of series does not need a metrics framework.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Upper bounds (seconds) of the append latency buckets.
const LATENCY_BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];
/// Upper bounds of the batch size buckets (events per request).
const BATCH_BUCKETS: [f64; 8] = [1.0, 2.0, 5.0, 10.0, 50.0, 100.0, 1000.0, 10000.0];

#[derive(Debug)]
struct Histogram {
    bounds: &'static [f64],
    counts: Vec<AtomicU64>,
    count: AtomicU64,
    /// Sum in millionths of the unit, to stay in an integer atomic.
    sum_micros: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            counts: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }

    fn observe(&self, v: f64) {
        for (b, c) in self.bounds.iter().zip(&self.counts) {
            if v <= *b {
                c.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add((v * 1e6) as u64, Ordering::Relaxed);
    }

    fn write(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (b, c) in self.bounds.iter().zip(&self.counts) {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{b}\"}} {}",
                c.load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
    }
}

/// The server's metrics. Shared by every request.
#[derive(Debug)]
pub struct Metrics {
    appended: Mutex<BTreeMap<String, u64>>,
    duplicates: AtomicU64,
    rejected: Mutex<BTreeMap<&'static str, u64>>,
    latency: Histogram,
    batch: Histogram,
    reconciliations: Mutex<BTreeMap<&'static str, u64>>,
    reconcile_passes: Mutex<BTreeMap<String, u64>>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            appended: Mutex::new(BTreeMap::new()),
            duplicates: AtomicU64::new(0),
            rejected: Mutex::new(BTreeMap::new()),
            latency: Histogram::new(&LATENCY_BUCKETS),
            batch: Histogram::new(&BATCH_BUCKETS),
            reconciliations: Mutex::new(BTreeMap::from([("ok", 0), ("rejected", 0)])),
            reconcile_passes: Mutex::new(BTreeMap::new()),
        }
    }
}

/// Figures read from the data directory at scrape time.
#[derive(Debug, Default)]
pub struct Gauges {
    /// Records in the journal.
    pub records: u64,
    /// Bytes across the journal's segments.
    pub bytes: u64,
    /// 1 when the journal takes writes.
    pub writable: bool,
    /// Tree size of the latest saved checkpoint.
    pub checkpoint_size: Option<u64>,
    /// Seconds since the latest checkpoint was saved.
    pub checkpoint_age_seconds: Option<f64>,
}

impl Metrics {
    /// Counts an acknowledged batch: its new events as (type, count) pairs (a type may
    /// come more than once), duplicates, its size and the time from submission to
    /// acknowledgement.
    pub fn appended<'a>(
        &self,
        types: impl Iterator<Item = (&'a str, u64)>,
        duplicates: u64,
        size: usize,
        seconds: f64,
    ) {
        {
            let mut m = self.appended.lock().expect("metrics lock");
            for (t, n) in types {
                match m.get_mut(t) {
                    Some(c) => *c += n,
                    None => {
                        m.insert(t.to_string(), n);
                    }
                }
            }
        }
        self.duplicates.fetch_add(duplicates, Ordering::Relaxed);
        self.batch.observe(size as f64);
        self.latency.observe(seconds);
    }

    /// Counts a rejected request.
    pub fn rejected(&self, reason: &'static str) {
        *self
            .rejected
            .lock()
            .expect("metrics lock")
            .entry(reason)
            .or_insert(0) += 1;
    }

    /// Counts a statement taken from the inbox, by result (`ok`, `rejected`,
    /// `skipped`, `failed`).
    pub fn reconciliation(&self, result: &'static str) {
        *self
            .reconciliations
            .lock()
            .expect("metrics lock")
            .entry(result)
            .or_insert(0) += 1;
    }

    /// Counts a pass over the statement inbox, by trigger.
    pub fn reconcile_pass(&self, trigger: &str) {
        let mut m = self.reconcile_passes.lock().expect("metrics lock");
        match m.get_mut(trigger) {
            Some(n) => *n += 1,
            None => {
                m.insert(trigger.to_string(), 1);
            }
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self, g: &Gauges) -> String {
        let mut out = String::new();
        out.push_str("# HELP tradetrail_events_appended_total Events acknowledged, by type (duplicates excluded).\n# TYPE tradetrail_events_appended_total counter\n");
        for (t, n) in self.appended.lock().expect("metrics lock").iter() {
            let _ = writeln!(
                out,
                "tradetrail_events_appended_total{{type=\"{}\"}} {n}",
                escape(t)
            );
        }
        let _ = writeln!(
            out,
            "# HELP tradetrail_duplicate_events_total Events whose event_id was already recorded; nothing was written.\n# TYPE tradetrail_duplicate_events_total counter\ntradetrail_duplicate_events_total {}",
            self.duplicates.load(Ordering::Relaxed)
        );
        self.latency.write(
            &mut out,
            "tradetrail_append_latency_seconds",
            "Time from submitting a request's events to their acknowledgement under the durability policy.",
        );
        self.batch.write(
            &mut out,
            "tradetrail_batch_size",
            "Events per POST /v1/events request.",
        );
        out.push_str("# HELP tradetrail_rejected_requests_total Requests answered with an error, by reason.\n# TYPE tradetrail_rejected_requests_total counter\n");
        for (r, n) in self.rejected.lock().expect("metrics lock").iter() {
            let _ = writeln!(
                out,
                "tradetrail_rejected_requests_total{{reason=\"{r}\"}} {n}"
            );
        }
        out.push_str("# HELP tradetrail_reconciliations_total Broker statements taken from the inbox, by result (ok, rejected, skipped: already reconciled, failed: left in the inbox).\n# TYPE tradetrail_reconciliations_total counter\n");
        for (r, n) in self.reconciliations.lock().expect("metrics lock").iter() {
            let _ = writeln!(
                out,
                "tradetrail_reconciliations_total{{result=\"{r}\"}} {n}"
            );
        }
        out.push_str("# HELP tradetrail_reconcile_passes_total Passes over the statement inbox, by trigger (manual, interval, daily, fill).\n# TYPE tradetrail_reconcile_passes_total counter\n");
        for (t, n) in self.reconcile_passes.lock().expect("metrics lock").iter() {
            let _ = writeln!(
                out,
                "tradetrail_reconcile_passes_total{{trigger=\"{}\"}} {n}",
                escape(t)
            );
        }
        let _ = writeln!(
            out,
            "# HELP tradetrail_journal_records Records in the journal.\n# TYPE tradetrail_journal_records gauge\ntradetrail_journal_records {}",
            g.records
        );
        let _ = writeln!(
            out,
            "# HELP tradetrail_journal_bytes Bytes across the journal's segment files.\n# TYPE tradetrail_journal_bytes gauge\ntradetrail_journal_bytes {}",
            g.bytes
        );
        let _ = writeln!(
            out,
            "# HELP tradetrail_journal_writable 1 when the journal takes writes, 0 when poisoned or the disk is full.\n# TYPE tradetrail_journal_writable gauge\ntradetrail_journal_writable {}",
            u8::from(g.writable)
        );
        if let Some(size) = g.checkpoint_size {
            let _ = writeln!(
                out,
                "# HELP tradetrail_last_checkpoint_size Tree size of the latest saved checkpoint.\n# TYPE tradetrail_last_checkpoint_size gauge\ntradetrail_last_checkpoint_size {size}"
            );
        }
        if let Some(age) = g.checkpoint_age_seconds {
            let _ = writeln!(
                out,
                "# HELP tradetrail_last_checkpoint_age_seconds Seconds since the latest checkpoint was saved.\n# TYPE tradetrail_last_checkpoint_age_seconds gauge\ntradetrail_last_checkpoint_age_seconds {age:.3}"
            );
        }
        out
    }
}

/// Appends each component's numbers (`tradetrail_<component>_<gauge>`) and whether
/// it is healthy (`tradetrail_component_healthy{component="..."}`).
pub fn render_components(out: &mut String, reports: &[(&str, tradetrail_core::ComponentReport)]) {
    for (name, r) in reports {
        for g in &r.gauges {
            let kind = if g.counter { "counter" } else { "gauge" };
            let _ = writeln!(
                out,
                "# HELP tradetrail_{name}_{n} {help}\n# TYPE tradetrail_{name}_{n} {kind}\ntradetrail_{name}_{n} {v}",
                n = g.name,
                help = g.help,
                v = g.value
            );
        }
    }
    if reports.is_empty() {
        return;
    }
    out.push_str("# HELP tradetrail_component_healthy 1 when a component beside the journal can do its work.\n# TYPE tradetrail_component_healthy gauge\n");
    for (name, r) in reports {
        let _ = writeln!(
            out,
            "tradetrail_component_healthy{{component=\"{}\"}} {}",
            escape(name),
            u8::from(r.healthy)
        );
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.appended(
            [("order.submitted", 1), ("fill", 1), ("order.submitted", 1)].into_iter(),
            1,
            3,
            0.0003,
        );
        m.rejected("unauthorized");
        let text = m.render(&Gauges {
            records: 4,
            bytes: 100,
            writable: true,
            ..Default::default()
        });
        assert!(text.contains("tradetrail_events_appended_total{type=\"order.submitted\"} 2\n"));
        assert!(text.contains("tradetrail_append_latency_seconds_bucket{le=\"0.0005\"} 1\n"));
        assert!(text.contains("tradetrail_append_latency_seconds_bucket{le=\"0.00025\"} 0\n"));
        assert!(text.contains("tradetrail_batch_size_count 1\n"));
        assert!(text.contains("tradetrail_rejected_requests_total{reason=\"unauthorized\"} 1\n"));
        assert!(text.contains("tradetrail_journal_bytes 100\n"));
        assert!(!text.contains("tradetrail_last_checkpoint_size"));
        assert!(text.contains("tradetrail_reconciliations_total{result=\"rejected\"} 0\n"));
        m.reconciliation("ok");
        m.reconcile_pass("fill");
        let text = m.render(&Gauges::default());
        assert!(text.contains("tradetrail_reconciliations_total{result=\"ok\"} 1\n"));
        assert!(text.contains("tradetrail_reconcile_passes_total{trigger=\"fill\"} 1\n"));
    }
}
