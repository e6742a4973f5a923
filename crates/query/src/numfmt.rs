//! Numbers for people: the one place where figures get thousands separators and a
//! fixed number of decimals, for text tables, HTML pages and chart axes. Machine
//! outputs (JSONL, JSON, CSV, the HTTP API's JSON) never come through here: they keep
//! the exact decimals.
//!
//! The rules, per kind of figure:
//!
//! | kind | rule | example |
//! |---|---|---|
//! | money | 2 places, rounded half to even | `1242369902.225` → `1,242,369,902.22` |
//! | price | the instrument's decimals (see [`price`]) | `62.9` at 2 → `62.90` |
//! | quantity | exact, trailing zeros dropped | `1500.500` → `1,500.5` |
//! | bps | 2 places | `-0.0712` → `-0.07` |
//! | percent | a ratio × 100, 2 places, `%` | `0.77652` → `77.65%` |
//! | count | an integer | `1234567` → `1,234,567` |
//!
//! Separators group the integer part by three with `,`; the fraction is never
//! grouped; negative figures start with `-`; a figure that rounds to zero shows no
//! sign (`-0.001` as money is `0.00`). Rounding is half to even (banker's rounding,
//! `rust_decimal`'s default, as the reports use for every derived figure).

use rust_decimal::{Decimal, RoundingStrategy};

/// Digits grouped by three from the right: `"1234567"` → `"1,234,567"`. `digits`
/// must be ASCII digits only (no sign, no point).
fn group(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `n` with thousands separators: `1234567` → `1,234,567`.
pub fn count(n: u64) -> String {
    group(&n.to_string())
}

/// A signed integer with thousands separators: `-1234` → `-1,234`.
pub fn signed_count(n: i64) -> String {
    let g = group(&n.unsigned_abs().to_string());
    if n < 0 {
        format!("-{g}")
    } else {
        g
    }
}

/// Decimal text (`-1234.5`, as `Decimal`'s `Display` writes it) with the integer part
/// grouped; `-0`, `-0.00` lose their sign.
fn group_text(text: &str) -> String {
    let (neg, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text),
    };
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let zero = int.bytes().all(|b| b == b'0') && frac.is_none_or(|f| f.bytes().all(|b| b == b'0'));
    let mut out = String::with_capacity(text.len() + text.len() / 3);
    if neg && !zero {
        out.push('-');
    }
    out.push_str(&group(int));
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// `d` rounded half to even to exactly `dp` places, integer part grouped:
/// `fixed(1234.5, 2)` → `1,234.50`.
pub fn fixed(d: Decimal, dp: u32) -> String {
    let mut r = d.round_dp_with_strategy(dp, RoundingStrategy::MidpointNearestEven);
    r.rescale(dp);
    group_text(&r.to_string())
}

/// Money: 2 places. `-1242369902.225` → `-1,242,369,902.22`.
pub fn money(d: Decimal) -> String {
    fixed(d, 2)
}

/// A price with the instrument's decimals `dp`: the number of decimals its prices are
/// recorded with (the reports take the most seen among the instrument's prices in
/// the table; see `tradetrail_reports::table`). A price recorded with fewer decimals
/// is padded (`62.9` → `62.90`), a derived one with more is rounded half to even.
pub fn price(d: Decimal, dp: u32) -> String {
    fixed(d, dp)
}

/// A quantity: exact, without trailing zeros. `1500.500` → `1,500.5`, `100.00` → `100`.
pub fn quantity(d: Decimal) -> String {
    group_text(&d.normalize().to_string())
}

/// Basis points: 2 places.
pub fn bps(d: Decimal) -> String {
    fixed(d, 2)
}

/// A ratio as a percentage with 2 places: `0.77652` → `77.65%`.
pub fn percent(ratio: Decimal) -> String {
    match ratio.checked_mul(Decimal::ONE_HUNDRED) {
        Some(p) => format!("{}%", fixed(p, 2)),
        None => ratio.to_string(),
    }
}

/// The number of decimals `d` was written with (`62.90` → 2, `100` → 0).
pub fn decimals(d: Decimal) -> u32 {
    d.scale()
}

/// A chart axis value: `v` with `dp` places and thousands separators
/// (`-2500000.0`, 0 → `-2,500,000`). Axis values are floats because they only place
/// marks; a value that is not finite is written as Rust writes it.
pub fn axis(v: f64, dp: u32) -> String {
    match Decimal::from_f64_retain(v) {
        Some(d) => fixed(d, dp),
        None => format!("{v}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn thousands_and_signs() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(u64::MAX), "18,446,744,073,709,551,615");
        assert_eq!(signed_count(-1234), "-1,234");
        assert_eq!(signed_count(i64::MIN), "-9,223,372,036,854,775,808");
        assert_eq!(money(d("1242369902.23")), "1,242,369,902.23");
        assert_eq!(money(d("-958814.61")), "-958,814.61");
        assert_eq!(money(d("-100")), "-100.00");
        assert_eq!(money(d("0")), "0.00");
        assert_eq!(money(d("999.999")), "1,000.00");
        assert_eq!(money(d("-0.001")), "0.00", "no negative zero");
        assert_eq!(quantity(d("-0.000")), "0");
    }

    #[test]
    fn money_rounds_half_to_even() {
        assert_eq!(money(d("0.125")), "0.12");
        assert_eq!(money(d("0.135")), "0.14");
        assert_eq!(money(d("-0.125")), "-0.12");
        assert_eq!(money(d("2.5")), "2.50");
        assert_eq!(fixed(d("2.5"), 0), "2");
        assert_eq!(fixed(d("3.5"), 0), "4");
        assert_eq!(money(d("1234567.891")), "1,234,567.89");
    }

    #[test]
    fn prices_keep_the_instruments_decimals() {
        assert_eq!(price(d("62.9"), 2), "62.90");
        assert_eq!(price(d("1.08345"), 5), "1.08345");
        assert_eq!(price(d("1.1"), 5), "1.10000");
        assert_eq!(price(d("5012.25"), 2), "5,012.25");
        assert_eq!(price(d("100"), 0), "100");
        // A derived price (an average) with more places is rounded to the quote's.
        assert_eq!(price(d("146.38500"), 2), "146.38");
        assert_eq!(decimals(d("62.90")), 2);
        assert_eq!(decimals(d("100")), 0);
    }

    #[test]
    fn quantities_lose_trailing_zeros_only() {
        assert_eq!(quantity(d("40223742")), "40,223,742");
        assert_eq!(quantity(d("1500.500")), "1,500.5");
        assert_eq!(quantity(d("100.00")), "100");
        assert_eq!(quantity(d("0.00012500")), "0.000125");
        assert_eq!(quantity(d("-2500")), "-2,500");
    }

    #[test]
    fn bps_percent_and_axes() {
        assert_eq!(bps(d("-0.0712")), "-0.07");
        assert_eq!(bps(d("12345.678")), "12,345.68");
        assert_eq!(percent(d("0.7765")), "77.65%");
        assert_eq!(percent(d("1.0000")), "100.00%");
        assert_eq!(percent(d("0.52415")), "52.42%");
        assert_eq!(axis(-2_500_000.0, 0), "-2,500,000");
        assert_eq!(axis(1.5, 1), "1.5");
        assert_eq!(axis(40_000.0, 0), "40,000");
        assert_eq!(axis(f64::NAN, 0), "NaN");
    }
}
