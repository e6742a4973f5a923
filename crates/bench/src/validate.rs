//! `tradetrail bench validate`: validation and normalization of one event per thread,
//! beside the memory floor (also a group of `tradetrail bench`'s journal figures).

use std::time::Instant;

use tradetrail_model::Event;

use crate::journal::{sample_body, BenchLine};

/// What a producer sends for the sample event: the canonical body of about
/// `event_size` bytes rewritten as producers write it (an RFC 3339 time, a quantity as
/// a JSON number, an `event_id`, keys in another order), so the validator has its
/// usual work to do.
pub fn sample_input(event_size: usize) -> Vec<u8> {
    let first = producer_form(event_size + 125);
    // The rewriting adds bytes; take them off the padding.
    let grown = first.len().saturating_sub(event_size);
    producer_form((event_size + 125).saturating_sub(grown))
}

fn producer_form(record_size: usize) -> Vec<u8> {
    let body = String::from_utf8_lossy(&sample_body(record_size)).into_owned();
    let body = body
        .replace(
            "\"ts_event\":1795700000123456789",
            "\"ts_event\":\"2026-11-26T10:13:20.123456789Z\"",
        )
        .replace("\"fill_qty\":\"100\"", "\"fill_qty\":100")
        .replace(
            "\"actor\":\"system\"",
            "\"event_id\":\"67e55044-10b1-426f-9247-bb680e5fe0c8\",\"actor\":\"system\"",
        );
    body.into_bytes()
}

/// Validation and normalization of one event, per thread: the machine's floor (reading
/// and copying the bytes once), the reference path (a generic JSON value, then the
/// body) and `normalize` (what every door calls).
pub fn model_lines(event_size: usize, n: u64) -> Vec<BenchLine> {
    let input = sample_input(event_size);
    let time = |f: &dyn Fn(&[u8]) -> usize| {
        let t0 = Instant::now();
        let mut bytes = 0usize;
        for _ in 0..n {
            bytes += f(std::hint::black_box(&input));
        }
        std::hint::black_box(bytes);
        n as f64 / t0.elapsed().as_secs_f64()
    };
    let floor = time(&|line| {
        let copy = line.to_vec();
        copy.len() + memchr::memchr_iter(b'"', &copy).count()
    });
    let reference = time(&|line| {
        Event::from_json(line)
            .map(|e| e.to_body().len())
            .unwrap_or(0)
    });
    let fast = time(&|line| {
        tradetrail_model::normalize(line)
            .map(|b| b.body().len())
            .unwrap_or(0)
    });
    let line = |name: String, per_sec: f64, note: String| BenchLine {
        group: "model",
        name,
        events: n,
        per_sec,
        p50_us: None,
        p99_us: None,
        p999_us: None,
        note,
    };
    vec![
        line(
            format!("floor: copy one {}-byte event and scan it", input.len()),
            floor,
            "the memory floor of this run".into(),
        ),
        line(
            "validate + normalize, reference path (generic JSON value)".into(),
            reference,
            format!("{:.3}x the floor", reference / floor),
        ),
        line(
            "validate + normalize (normalize: what every door runs)".into(),
            fast,
            format!(
                "{:.3}x the floor, {:.1}x the reference; per thread; target >= 1,500,000/s",
                fast / floor,
                fast / reference
            ),
        ),
    ]
}
