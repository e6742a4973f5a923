//! Chart axes: where the ticks go and what they say. The charts (`html.rs`) give
//! plotters these ticks rather than letting it pick its own, so that
//!
//! - a value axis has round steps (1, 2 or 5 × 10ⁿ), and a count axis only whole
//!   numbers (never `1.5` discrepancies or `2500.0` fills);
//! - a time axis has one label per day when there are few days, then every few days,
//!   months or years — never the same label twice — and always labels the last day;
//!   a range within one UTC day is labelled in hours and minutes.

use time::{Date, Month, OffsetDateTime};

use tradetrail_query::numfmt;

const NS_PER_MIN: i64 = 60 * 1_000_000_000;
const NS_PER_DAY: i64 = 86_400 * 1_000_000_000;

/// Ticks of a value axis.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueTicks {
    /// The axis range, widened to whole steps.
    pub lo: f64,
    /// See `lo`.
    pub hi: f64,
    /// Tick positions, ascending, one step apart.
    pub ticks: Vec<f64>,
    /// Decimals the labels need (0 for a step of 1 or more).
    pub dp: u32,
}

impl ValueTicks {
    /// The label of a tick: `dp` places, thousands separators.
    pub fn label(&self, v: f64) -> String {
        numfmt::axis(v, self.dp)
    }
}

/// Round ticks covering `[lo, hi]`, at most about `max` of them; `integer`: counts,
/// so the step is a whole number (at least 1).
pub fn value_ticks(lo: f64, hi: f64, max: usize, integer: bool) -> ValueTicks {
    let (mut lo, mut hi) = if lo.is_finite() && hi.is_finite() {
        (lo.min(hi), lo.max(hi))
    } else {
        (0.0, 1.0)
    };
    if hi - lo < f64::EPSILON * lo.abs().max(1.0) {
        lo -= 1.0;
        hi += 1.0;
    }
    // Some headroom, so the tallest bar or the peak does not touch the frame.
    let span = hi - lo;
    if hi > 0.0 {
        hi += span * 0.04;
    }
    if lo < 0.0 {
        lo -= span * 0.04;
    }
    let raw = (hi - lo) / max.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let mut step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    if integer {
        step = step.max(1.0).round();
    }
    let first = (lo / step).floor();
    let last = (hi / step).ceil();
    let ticks: Vec<f64> = (0..=((last - first) as i64).max(1))
        .map(|k| (first + k as f64) * step)
        .collect();
    let dp = if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()) as u32
    };
    ValueTicks {
        lo: first * step,
        hi: ticks.last().copied().unwrap_or(hi),
        ticks,
        dp,
    }
}

/// Ticks of a time axis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeTicks {
    /// The axis range in ns since the epoch: whole UTC days when the points span more
    /// than one day (so the last day has room and a label), else the points' span.
    pub lo: i64,
    /// See `lo`.
    pub hi: i64,
    /// (ns, label), ascending, labels all different.
    pub ticks: Vec<(i64, String)>,
}

impl TimeTicks {
    /// The label of a tick position (empty for a position that is not a tick).
    pub fn label(&self, ns: i64) -> String {
        self.ticks
            .iter()
            .find(|t| t.0 == ns)
            .map(|t| t.1.clone())
            .unwrap_or_default()
    }
}

fn date_of(ns: i64) -> Date {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns))
        .map(|t| t.date())
        .unwrap_or(Date::MIN)
}

fn midnight(d: Date) -> i64 {
    i64::try_from(d.midnight().assume_utc().unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

fn first_of_month(y: i32, m0: i32) -> Option<Date> {
    // `m0` counts months from January of year `y`, any size.
    let y = y + m0.div_euclid(12);
    let m = Month::try_from(u8::try_from(m0.rem_euclid(12) + 1).ok()?).ok()?;
    Date::from_calendar_date(y, m, 1).ok()
}

/// Ticks for points from `x0` to `x1` (ns since the epoch, UTC days), about `max` of
/// them at most (plus the last day).
pub fn time_ticks(x0: i64, x1: i64, max: usize) -> TimeTicks {
    let (x0, x1) = (x0.min(x1), x0.max(x1));
    let max = max.max(2) as i64;
    let (d0, d1) = (date_of(x0), date_of(x1));
    if d0 == d1 {
        // Within one day: hours and minutes.
        let hi = x1.max(x0 + NS_PER_MIN);
        let span = hi - x0;
        let steps = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720].map(|m| m * NS_PER_MIN);
        let step = steps
            .iter()
            .copied()
            .find(|s| span / s < max)
            .unwrap_or(720 * NS_PER_MIN);
        let first = x0.div_euclid(step) * step + if x0.rem_euclid(step) == 0 { 0 } else { step };
        let mut ticks: Vec<(i64, String)> = (0..)
            .map(|k| first + k * step)
            .take_while(|t| *t <= hi)
            .map(|t| (t, hhmm(t)))
            .collect();
        if ticks.is_empty() {
            ticks.push((x0, hhmm(x0)));
        }
        return TimeTicks { lo: x0, hi, ticks };
    }
    let lo = midnight(d0);
    let hi = midnight(d1.next_day().unwrap_or(d1)).max(lo + NS_PER_DAY);
    let days = (d1 - d0).whole_days() + 1;
    let mut ticks: Vec<(i64, String)> = Vec::new();
    let step_days = [1, 2, 3, 7, 14]
        .into_iter()
        .find(|s| (days + *s - 1) / *s <= max);
    let spacing_days: i64;
    if let Some(s) = step_days {
        spacing_days = s;
        let mut d = d0;
        while d <= d1 {
            ticks.push((midnight(d), d.to_string()));
            match d.checked_add(time::Duration::days(s)) {
                Some(n) => d = n,
                None => break,
            }
        }
    } else {
        let months = (d1.year() - d0.year()) * 12 + i32::from(u8::from(d1.month()))
            - i32::from(u8::from(d0.month()))
            + 1;
        let step_m = [1, 2, 3, 6, 12, 24, 60, 120, 240, 600, 1200]
            .into_iter()
            .find(|s| (i64::from(months) + i64::from(*s) - 1) / i64::from(*s) <= max)
            .unwrap_or(1200);
        spacing_days = i64::from(step_m) * 30;
        let y0 = d0.year();
        let m0 = i32::from(u8::from(d0.month())) - 1;
        // Start at the first month boundary on or after d0 that is a multiple of the
        // step (January for yearly steps), so the labels are round.
        let mut k = if d0.day() == 1 { 0 } else { 1 };
        while (m0 + k).rem_euclid(step_m.min(12)) != 0 {
            k += 1;
        }
        while let Some(d) = first_of_month(y0, m0 + k) {
            if d > d1 {
                break;
            }
            let label = if step_m >= 12 {
                d.year().to_string()
            } else {
                format!("{:04}-{:02}", d.year(), u8::from(d.month()))
            };
            ticks.push((midnight(d), label));
            k += step_m;
        }
    }
    // The last day always has a label; a tick closer than half a step before it
    // would crowd it, so it goes (unless it is the only other one).
    let last = midnight(d1);
    if ticks.last().map(|t| t.0) != Some(last) {
        if ticks.len() > 1 {
            if let Some(prev) = ticks.last() {
                if (last - prev.0) * 2 < spacing_days * NS_PER_DAY {
                    ticks.pop();
                }
            }
        }
        ticks.push((last, d1.to_string()));
    }
    TimeTicks { lo, hi, ticks }
}

fn hhmm(ns: i64) -> String {
    let t = tradetrail_model::format_time(ns);
    t.get(11..16).unwrap_or(&t).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: i64 = NS_PER_DAY;
    /// 2026-11-26T00:00:00Z.
    const DAY0: i64 = 1_795_651_200_000_000_000;

    fn unique(t: &TimeTicks) {
        let mut labels: Vec<&str> = t.ticks.iter().map(|x| x.1.as_str()).collect();
        let n = labels.len();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), n, "{:?}", t.ticks);
        assert!(t.ticks.windows(2).all(|w| w[0].0 < w[1].0), "{:?}", t.ticks);
        assert!(t.ticks.iter().all(|x| x.0 >= t.lo && x.0 <= t.hi));
    }

    #[test]
    fn day0_is_the_26th() {
        assert_eq!(tradetrail_model::format_time(DAY0), "2026-11-26T00:00:00Z");
    }

    #[test]
    fn one_day_is_labelled_in_hours() {
        let t = time_ticks(
            DAY0 + 14 * 3600 * 1_000_000_000,
            DAY0 + 21 * 3600 * 1_000_000_000,
            8,
        );
        unique(&t);
        let labels: Vec<&str> = t.ticks.iter().map(|x| x.1.as_str()).collect();
        assert_eq!(labels.first(), Some(&"14:00"), "{labels:?}");
        assert_eq!(labels.last(), Some(&"21:00"), "{labels:?}");
        assert!(labels.len() >= 4 && labels.len() <= 8, "{labels:?}");
        // A single instant still gets a label.
        let t = time_ticks(DAY0 + 5, DAY0 + 5, 8);
        assert!(!t.ticks.is_empty());
        unique(&t);
    }

    #[test]
    fn three_days_get_one_label_each() {
        // The demo's days: 2026-11-26 14:30 to 2026-11-28 18:00.
        let t = time_ticks(
            DAY0 + 52_200 * 1_000_000_000,
            DAY0 + 2 * D + 64_800 * 1_000_000_000,
            8,
        );
        unique(&t);
        let labels: Vec<&str> = t.ticks.iter().map(|x| x.1.as_str()).collect();
        assert_eq!(labels, ["2026-11-26", "2026-11-27", "2026-11-28"]);
        assert_eq!((t.lo, t.hi), (DAY0, DAY0 + 3 * D));
    }

    #[test]
    fn thirty_and_four_hundred_days_stay_unique_and_end_on_the_last_day() {
        for (days, most) in [(30, 12), (400, 13), (4000, 13)] {
            let t = time_ticks(DAY0, DAY0 + (days - 1) * D + 1, 10);
            unique(&t);
            assert!(
                t.ticks.len() <= most && t.ticks.len() >= 3,
                "{days}: {:?}",
                t.ticks
            );
            let last = tradetrail_model::format_time(DAY0 + (days - 1) * D);
            assert_eq!(
                t.ticks.last().map(|x| x.1.as_str()),
                last.get(..10),
                "{days}: {:?}",
                t.ticks
            );
            // The labels cover the range: the first is within one step of the start.
            let gap = t.ticks[0].0 - t.lo;
            let step = t.ticks[1].0 - t.ticks[0].0;
            assert!(gap <= step, "{days}: {:?}", t.ticks);
        }
        let t = time_ticks(DAY0, DAY0 + 29 * D, 10);
        assert!(
            t.ticks.iter().all(|x| x.1.len() == 10),
            "days: {:?}",
            t.ticks
        );
        let t = time_ticks(DAY0, DAY0 + 399 * D, 10);
        assert!(
            t.ticks.iter().any(|x| x.1 == "2027-01"),
            "months: {:?}",
            t.ticks
        );
    }

    #[test]
    fn count_axes_tick_on_whole_numbers() {
        for (lo, hi) in [
            (0.0, 1.0),
            (0.0, 3.0),
            (0.0, 7.0),
            (0.0, 2500.0),
            (0.0, 1993.0),
        ] {
            let t = value_ticks(lo, hi, 6, true);
            assert!(
                t.ticks.iter().all(|v| v.fract() == 0.0),
                "{lo}..{hi}: {t:?}"
            );
            assert_eq!(t.dp, 0);
            assert!(t.lo <= lo && t.hi >= hi, "{t:?}");
            let labels: Vec<String> = t.ticks.iter().map(|v| t.label(*v)).collect();
            assert!(labels.iter().all(|l| !l.contains('.')), "{labels:?}");
        }
        let t = value_ticks(0.0, 1.0, 6, true);
        assert_eq!(t.ticks, [0.0, 1.0, 2.0]);
        let t = value_ticks(0.0, 7.0, 6, true);
        assert_eq!(t.ticks, [0.0, 2.0, 4.0, 6.0, 8.0]);
        let t = value_ticks(0.0, 2500.0, 6, true);
        assert_eq!(t.label(2000.0), "2,000");
    }

    #[test]
    fn money_axes_are_round() {
        let t = value_ticks(-2_740_000.0, 120_000.0, 8, false);
        assert_eq!(t.dp, 0);
        assert!(t.ticks.contains(&-2_500_000.0), "{t:?}");
        assert_eq!(t.label(-2_500_000.0), "-2,500,000");
        let t = value_ticks(0.0, 0.9, 8, false);
        assert_eq!(t.dp, 1);
        assert_eq!(t.label(0.5), "0.5");
        // Nothing to span: a range around the value.
        let t = value_ticks(5.0, 5.0, 8, false);
        assert!(t.lo < 5.0 && t.hi > 5.0);
    }
}
