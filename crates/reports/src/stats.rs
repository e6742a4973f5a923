//! The few statistics the reports use, each with its formula.

use rust_decimal::Decimal;
use serde::Serialize;

/// Latency percentiles in ns, by the nearest-rank method: the p-th percentile of `n`
/// sorted values is the value at rank `ceil(p/100 · n)` (1-based). No interpolation,
/// so every figure is a latency that was observed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Percentiles {
    /// How many values.
    pub count: u64,
    /// Median.
    pub p50_ns: Option<i64>,
    /// 90th percentile.
    pub p90_ns: Option<i64>,
    /// 99th percentile.
    pub p99_ns: Option<i64>,
    /// Largest.
    pub max_ns: Option<i64>,
}

/// The nearest-rank `p`-th percentile (0 < p <= 100) of sorted values.
pub fn nearest_rank(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len() as u64;
    // ceil(p * n / 100), at least 1.
    let rank = (u64::from(p) * n).div_ceil(100).max(1);
    sorted.get(rank as usize - 1).copied()
}

impl Percentiles {
    /// The percentiles of `values` (any order).
    pub fn of(mut values: Vec<i64>) -> Percentiles {
        values.sort_unstable();
        Percentiles {
            count: values.len() as u64,
            p50_ns: nearest_rank(&values, 50),
            p90_ns: nearest_rank(&values, 90),
            p99_ns: nearest_rank(&values, 99),
            max_ns: values.last().copied(),
        }
    }
}

/// A weighted mean `Σ wᵢ·xᵢ / Σ wᵢ`, accumulated exactly.
#[derive(Debug, Clone, Copy, Default)]
pub struct WeightedMean {
    sum: Decimal,
    weight: Decimal,
    n: u64,
}

impl WeightedMean {
    /// Adds `x` with weight `w`, taken from record `seq`; [`crate::Error::Overflow`]
    /// naming it (and nothing added) when the sums overflow a decimal.
    pub fn add(&mut self, x: Decimal, w: Decimal, seq: u64) -> crate::Result<()> {
        use crate::error::{add, mul};
        let what = "weighted mean: Σ value × weight";
        let sum = add(self.sum, mul(x, w, seq, what)?, seq, what)?;
        let weight = add(self.weight, w, seq, "weighted mean: Σ weight")?;
        self.sum = sum;
        self.weight = weight;
        self.n += 1;
        Ok(())
    }
    /// Values added.
    pub fn count(&self) -> u64 {
        self.n
    }
    /// The mean, rounded to `dp` places; `None` with no weight.
    pub fn mean(&self, dp: u32) -> Option<Decimal> {
        // A weighted mean lies within the values added: the division cannot overflow,
        // but it is checked all the same.
        self.sum.checked_div(self.weight).map(|m| fixed(m, dp))
    }
}

/// `d` rounded (half to even, the banker's rounding of `rust_decimal`) to exactly `dp`
/// places, so figures print with a fixed scale (`1.0000`).
pub fn fixed(d: rust_decimal::Decimal, dp: u32) -> rust_decimal::Decimal {
    let mut d = d.round_dp(dp);
    d.rescale(dp);
    d
}

/// Latency in ns as milliseconds with three decimals, for tables.
pub fn ms(ns: Option<i64>) -> String {
    match ns {
        Some(ns) => format!(
            "{:.3}",
            (Decimal::from(ns) / Decimal::from(1_000_000)).round_dp(3)
        ),
        None => "-".into(),
    }
}

/// A duration in ns as seconds with three decimals, for tables.
pub fn secs(ns: i64) -> String {
    format!(
        "{:.3}",
        (Decimal::from(ns) / Decimal::from(1_000_000_000)).round_dp(3)
    )
}

/// A decimal, or `-` for none.
pub fn dec(d: Option<Decimal>) -> String {
    d.map_or_else(|| "-".into(), |d| d.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_by_hand() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(nearest_rank(&v, 50), Some(5));
        assert_eq!(nearest_rank(&v, 90), Some(9));
        assert_eq!(nearest_rank(&v, 99), Some(10));
        assert_eq!(nearest_rank(&v, 100), Some(10));
        assert_eq!(nearest_rank(&[7], 50), Some(7));
        assert_eq!(nearest_rank(&[], 50), None);
        let p = Percentiles::of(vec![30, 10, 20]);
        assert_eq!(
            (p.p50_ns, p.p90_ns, p.max_ns),
            (Some(20), Some(30), Some(30))
        );
    }

    #[test]
    fn weighted_mean_is_exact() {
        let mut m = WeightedMean::default();
        m.add(Decimal::new(10, 0), Decimal::new(1, 0), 1).unwrap();
        m.add(Decimal::new(40, 0), Decimal::new(2, 0), 2).unwrap();
        assert_eq!(m.mean(2), Some(Decimal::new(30, 0)));
        assert_eq!(WeightedMean::default().mean(2), None);
        assert_eq!(ms(Some(1_234_567)), "1.235");
    }
}
