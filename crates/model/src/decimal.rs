//! Decimals: money and quantities, read exactly from JSON text, never through `f64`.
//!
//! A decimal field accepts a JSON string or a JSON number. With serde_json's
//! `arbitrary_precision` a number keeps its source text, so both are parsed from text by
//! the same grammar:
//!
//! ```text
//! -? digits ( . digits )? ( [eE] [+-]? digits )?
//! ```
//!
//! No `+`, no leading or trailing `.`, no spaces or `_`, no `NaN`/`inf`. Exponents are
//! accepted when the value is exact in a `rust_decimal::Decimal` (at most 28 fractional
//! digits and within ±79,228,162,514,264,337,593,543,950,335): `1.5e2` is `150`,
//! `2.50e-1` is `0.250`, `1e400` is an error. Nothing is ever rounded.
//!
//! The normalized (canonical) form is `Decimal`'s `Display`: the scale the producer
//! wrote is kept (`10.50` stays `10.50`), leading zeros and exponents go, and `-0` is `0`.

use rust_decimal::Decimal;
use serde_json::Value;

/// The largest magnitude of a quantity or a price in a known type's `data`
/// (`quantity`, `price`, `stop_price`, `fill_qty`, `fill_price`, `cum_qty`,
/// `leaves_qty`, a position's `quantity` and `avg_price`, a signal's `price`): 10^12.
///
/// Why: the books multiply these (`quantity × price × multiplier`) and add the products
/// up over every fill, and a `rust_decimal::Decimal` ends at ±7.9 × 10^28. With both
/// factors at most 10^12 a fill's notional is at most 10^24, which leaves a factor of
/// 79,000 for contract multipliers and sums over many fills before anything can overflow.
/// 10^15 would not do: 10^15 × 10^15 already overflows on one fill. 10^12 is still far
/// above any real quantity (a trillion units) or price (a trillion per unit, in any
/// currency). Larger values are refused naming the field.
pub const MAX_QUANTITY_OR_PRICE: Decimal = Decimal::from_parts(0xD4A5_1000, 0xE8, 0, false, 0);

/// The largest magnitude of any other decimal of a known type's `data` (commissions,
/// P&L, cash, equity, slippage in bps, signal strength): 10^18.
///
/// Why: the books and reports only add these up (a commission is also shared pro rata
/// over the quantity it paid for), so 10^18 leaves a factor of 79 billion before a sum
/// can overflow a `rust_decimal::Decimal` (±7.9 × 10^28), while a quintillion still
/// exceeds any real balance in any currency. Larger values are refused naming the field.
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(0xA764_0000, 0x0DE0_B6B3, 0, false, 0);

/// A parsed decimal and whether its text already was the canonical form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub value: Decimal,
    /// True when the input text equals `value.to_string()`.
    pub canonical: bool,
}

/// Parses decimal text by the grammar of this module.
///
/// ```
/// use tradetrail_model::parse_decimal;
/// assert_eq!(parse_decimal("10.50").unwrap().to_string(), "10.50");
/// assert_eq!(parse_decimal("1.5e2").unwrap().to_string(), "150");
/// assert!(parse_decimal("1e400").is_err());
/// assert!(parse_decimal("NaN").is_err());
/// ```
pub fn parse_decimal(s: &str) -> Result<Decimal, String> {
    parse_text(s).map(|p| p.value)
}

/// The decimal in a JSON value (string or number).
pub(crate) fn from_value(v: &Value) -> Result<Parsed, String> {
    match v {
        Value::String(s) => parse_text(s),
        // A number is canonical only once it is written as a string.
        Value::Number(n) => parse_text(n.as_str()).map(|p| Parsed {
            canonical: false,
            ..p
        }),
        other => Err(format!(
            "must be a decimal (a string like \"10.50\" or a number), not {}",
            crate::validate::json_kind(other)
        )),
    }
}

pub(crate) fn parse_text(s: &str) -> Result<Parsed, String> {
    let invalid = || format!("{s:?} is not a decimal number");
    let b = s.as_bytes();
    let (negative, mut i) = match b.first() {
        Some(b'-') => (true, 1),
        _ => (false, 0),
    };
    let mut mantissa: i128 = 0;
    let mut too_big = false;
    let mut push = |d: u8| match mantissa.checked_mul(10) {
        Some(m) => mantissa = m + i128::from(d - b'0'),
        None => too_big = true,
    };

    let int_start = i;
    while let Some(&d @ b'0'..=b'9') = b.get(i) {
        push(d);
        i += 1;
    }
    let int_digits = i - int_start;
    if int_digits == 0 {
        return Err(invalid());
    }
    let mut frac_digits = 0usize;
    if b.get(i) == Some(&b'.') {
        i += 1;
        while let Some(&d @ b'0'..=b'9') = b.get(i) {
            push(d);
            i += 1;
            frac_digits += 1;
        }
        if frac_digits == 0 {
            return Err(invalid());
        }
    }
    let mut exponent: i64 = 0;
    let has_exponent = matches!(b.get(i), Some(b'e' | b'E'));
    if has_exponent {
        i += 1;
        let exp_negative = match b.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let start = i;
        while let Some(&d @ b'0'..=b'9') = b.get(i) {
            // Saturate: any exponent this large is out of range anyway.
            exponent = (exponent * 10 + i64::from(d - b'0')).min(1_000_000);
            i += 1;
        }
        if i == start {
            return Err(invalid());
        }
        if exp_negative {
            exponent = -exponent;
        }
    }
    if i != b.len() {
        return Err(invalid());
    }
    if too_big {
        return Err(format!("{s:?} has too many digits for a decimal"));
    }

    // value = mantissa × 10^(exponent − frac_digits)
    let shift = exponent - frac_digits as i64;
    let (mantissa, scale) = if shift >= 0 {
        let factor = u32::try_from(shift)
            .ok()
            .and_then(|k| 10i128.checked_pow(k));
        match factor.and_then(|f| mantissa.checked_mul(f)) {
            Some(m) => (m, 0),
            None if mantissa == 0 => (0, 0),
            None => return Err(out_of_range(s)),
        }
    } else {
        let scale = u32::try_from(-shift).unwrap_or(u32::MAX);
        if scale > Decimal::MAX_SCALE {
            return Err(format!(
                "{s:?} has more than {} decimal places",
                Decimal::MAX_SCALE
            ));
        }
        (mantissa, scale)
    };
    let mantissa = if negative { -mantissa } else { mantissa };
    let value = Decimal::try_from_i128_with_scale(mantissa, scale).map_err(|_| out_of_range(s))?;

    // Canonical text: no exponent, no leading zero before another digit, no `-0`.
    let leading_zero = int_digits > 1 && b[int_start] == b'0';
    let negative_zero = negative && mantissa == 0;
    let canonical = !(has_exponent || leading_zero || negative_zero);
    Ok(Parsed { value, canonical })
}

fn out_of_range(s: &str) -> String {
    format!("{s:?} is outside the range of a decimal (±7.9e28)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn canon(s: &str) -> String {
        parse_decimal(s).unwrap().to_string()
    }

    #[test]
    fn bounds_are_powers_of_ten() {
        assert_eq!(MAX_QUANTITY_OR_PRICE, Decimal::from(10u64.pow(12)));
        assert_eq!(MAX_AMOUNT, Decimal::from(10u64.pow(18)));
        // The largest notional of one fill leaves room for sums and multipliers.
        let notional = MAX_QUANTITY_OR_PRICE.checked_mul(MAX_QUANTITY_OR_PRICE);
        assert!(notional
            .and_then(|n| n.checked_mul(Decimal::from(10_000)))
            .is_some());
    }

    #[test]
    fn normalized_forms_keep_scale() {
        assert_eq!(canon("100"), "100");
        assert_eq!(canon("10.50"), "10.50");
        assert_eq!(canon("-0.001"), "-0.001");
        assert_eq!(canon("007.5"), "7.5");
        assert_eq!(canon("-0"), "0");
        assert_eq!(canon("-0.00"), "0.00");
        assert_eq!(canon("1.5e2"), "150");
        assert_eq!(canon("1.50E+1"), "15.0");
        assert_eq!(canon("2.50e-1"), "0.250");
        assert_eq!(canon("0e400"), "0");
        assert_eq!(
            canon("79228162514264337593543950335"),
            "79228162514264337593543950335"
        );
        assert_eq!(
            canon("0.0000000000000000000000000001"),
            "0.0000000000000000000000000001"
        );
    }

    #[test]
    fn rejects_what_is_not_an_exact_decimal() {
        for s in [
            "",
            "-",
            "abc",
            "NaN",
            "nan",
            "inf",
            "-inf",
            "Infinity",
            "+5",
            " 5",
            "5 ",
            "1_000",
            "1,5",
            ".5",
            "5.",
            "1e",
            "1e+",
            "0x10",
            "1.2.3",
            "--1",
            "1e400",
            "-1e400",
            "79228162514264337593543950336",
            "1e29",
            "0.00000000000000000000000000001",
            "1e-29",
            "123456789012345678901234567890123456789012345",
            "1.0000000000000000000000000000000000000000",
        ] {
            assert!(parse_text(s).is_err(), "{s:?} was accepted");
        }
    }

    #[test]
    fn from_value_takes_strings_and_numbers_but_nothing_else() {
        let n: Value = serde_json::from_str("10.50").unwrap();
        let p = from_value(&n).unwrap();
        assert_eq!(p.value.to_string(), "10.50");
        assert!(!p.canonical, "a number must be rewritten as a string");
        assert!(
            from_value(&Value::String("10.50".into()))
                .unwrap()
                .canonical
        );
        for bad in ["true", "null", "{}", "[1]"] {
            let v: Value = serde_json::from_str(bad).unwrap();
            assert!(from_value(&v).is_err(), "{bad} was accepted");
        }
    }

    proptest! {
        #[test]
        fn canonical_flag_agrees_with_display(
            int in "-?[0-9]{1,12}",
            frac in proptest::option::of("[0-9]{1,10}"),
            exp in proptest::option::of(-12i32..12),
        ) {
            let mut s = int;
            if let Some(f) = frac { s.push('.'); s.push_str(&f); }
            if let Some(e) = exp { s.push_str(&format!("e{e}")); }
            let p = parse_text(&s).unwrap();
            prop_assert_eq!(p.canonical, p.value.to_string() == s, "{}", s);
            // The canonical text parses back to itself.
            let c = p.value.to_string();
            let again = parse_text(&c).unwrap();
            prop_assert!(again.canonical);
            prop_assert_eq!(again.value.to_string(), c);
        }

        #[test]
        fn exact_against_integer_arithmetic(m in any::<i64>(), scale in 0u32..=18) {
            let d = Decimal::from_i128_with_scale(i128::from(m), scale);
            prop_assert_eq!(parse_decimal(&d.to_string()).unwrap(), d);
            // The same value with an exponent.
            let sci = format!("{m}e-{scale}");
            prop_assert_eq!(parse_decimal(&sci).unwrap(), d);
        }
    }
}
