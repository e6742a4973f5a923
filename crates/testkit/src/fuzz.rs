//! A small fuzzing harness for stable Rust: a seeded generator, byte mutations of valid
//! samples, and a driver that runs a fixed number of cases or, with
//! `TRADETRAIL_FUZZ_SECS=N`, as many as fit in N seconds.
//!
//! There is no coverage feedback (that needs `cargo fuzz` and a nightly toolchain);
//! instead the mutations are structure-aware: they start from valid inputs and splice in
//! the tokens each format is made of, huge numbers, deep nesting, invalid UTF-8 and NULs,
//! so most cases get past the first check of the parser under test.
//!
//! A case that panics fails the test; before the panic unwinds out of [`run`], the
//! failing input is printed (escaped, ready to paste into a regression test) and
//! written in full to a file under the temporary directory, with the seed and case
//! number that reproduce it (`TRADETRAIL_FUZZ_SEED`).

use std::fmt::{self, Debug};
use std::time::{Duration, Instant};

/// Environment variable: run each fuzz test for this many seconds instead of a fixed
/// number of cases.
pub const SECS_VAR: &str = "TRADETRAIL_FUZZ_SECS";
/// Environment variable: the seed (decimal); default a fixed one, so plain runs repeat.
pub const SEED_VAR: &str = "TRADETRAIL_FUZZ_SEED";

const DEFAULT_SEED: u64 = 0x7472_6164_6574_7261;

/// A xorshift64* generator: deterministic, dependency-free, good enough for fuzzing.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value, including 0).
    pub fn new(seed: u64) -> Rng {
        // splitmix64 scrambles the seed so nearby seeds give unrelated streams.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    /// The next 64 random bits.
    pub fn u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.u64() % n as u64) as usize
    }

    /// True one time in `n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A u64 that is often an edge case (0, 1, powers of two and their neighbours,
    /// `u64::MAX`), else uniform.
    pub fn edgy_u64(&mut self) -> u64 {
        match self.below(6) {
            0 => *self.pick(&[0, 1, 2, 3, u64::MAX, u64::MAX - 1, i64::MAX as u64]),
            1 => {
                let p = 1u64 << self.below(64);
                match self.below(3) {
                    0 => p,
                    1 => p - 1,
                    _ => p.wrapping_add(1),
                }
            }
            2 => self.u64() % 64,
            3 => self.u64() % 100_000,
            _ => self.u64(),
        }
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.u64() as u8).collect()
    }
}

/// Bytes that print as an escaped byte string (`b"..."`), so a failing input can be
/// pasted into a regression test as it is.
#[derive(Clone, PartialEq, Eq)]
pub struct Input(pub Vec<u8>);

impl Debug for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", escape(&self.0))
    }
}

/// The bytes as the inside of a Rust byte string literal.
pub fn escape(bytes: &[u8]) -> String {
    bytes
        .iter()
        .flat_map(|&b| std::ascii::escape_default(b))
        .map(char::from)
        .collect()
}

/// Values that break parsers: huge and tiny numbers, exponents, signs.
pub const HUGE_NUMBERS: &[&[u8]] = &[
    b"18446744073709551615",
    b"18446744073709551616",
    b"99999999999999999999999999999999999999999",
    b"9223372036854775807",
    b"9223372036854775808",
    b"-9223372036854775808",
    b"-9223372036854775809",
    b"-0",
    b"1e308",
    b"1e999999999",
    b"-1e-999999999",
    b"0.0000000000000000000000000000000000000001",
    b"79228162514264337593543950335",
    b"79228162514264337593543950336",
    b"-79228162514264337593543950336.5",
    b"1.7976931348623157e309",
    b"NaN",
    b"-inf",
    b"4294967296",
    b"2147483648",
    b"-2147483649",
];

/// Byte sequences that are not UTF-8, or are NULs and control characters.
pub const BAD_BYTES: &[&[u8]] = &[
    b"\0",
    b"\0\0\0\0\0\0\0\0",
    b"\xff",
    b"\xfe\xff",
    b"\xc3",
    b"\xc0\x80",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xe2\x80",
    b"\x80",
    b"\r",
    b"\n",
    b"\r\n",
    b"\t",
    b"\x1b",
    b"\x7f",
    "\u{2014}".as_bytes(),
    "\u{feff}".as_bytes(),
    "\u{202e}".as_bytes(),
];

/// The kinds of change [`mutate`] makes.
const MUTATIONS: usize = 14;

/// Returns `seed` changed by 1–4 random mutations: bit flips, interesting bytes,
/// insertions, deletions, duplications, splices from `others`, tokens from `dict`,
/// huge numbers in place of digit runs, deep nesting, invalid UTF-8, NULs, truncation.
pub fn mutate(rng: &mut Rng, seed: &[u8], others: &[&[u8]], dict: &[&[u8]]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..=rng.below(4) {
        mutate_once(rng, &mut v, others, dict);
    }
    v
}

fn mutate_once(rng: &mut Rng, v: &mut Vec<u8>, others: &[&[u8]], dict: &[&[u8]]) {
    let pos = |rng: &mut Rng, v: &Vec<u8>| rng.below(v.len() + 1);
    match rng.below(MUTATIONS) {
        // Flip one bit.
        0 if !v.is_empty() => {
            let i = rng.below(v.len());
            v[i] ^= 1 << rng.below(8);
        }
        // Overwrite one byte with a syntax character or a random byte.
        1 if !v.is_empty() => {
            let i = rng.below(v.len());
            v[i] = if rng.one_in(3) {
                rng.u64() as u8
            } else {
                *rng.pick(b"\"{}[],:\\<>/=&;'-+.0123456789eE \n\r\0")
            };
        }
        // Insert random bytes.
        2 => {
            let at = pos(rng, v);
            let n = 1 + rng.below(8);
            let bytes = rng.bytes(n);
            v.splice(at..at, bytes);
        }
        // Delete a range.
        3 if !v.is_empty() => {
            let a = rng.below(v.len());
            let n = 1 + rng.below((v.len() - a).min(64));
            v.drain(a..a + n);
        }
        // Duplicate a range somewhere else.
        4 if !v.is_empty() => {
            let a = rng.below(v.len());
            let n = 1 + rng.below((v.len() - a).min(256));
            let chunk = v[a..a + n].to_vec();
            let at = pos(rng, v);
            v.splice(at..at, chunk);
        }
        // Splice a range of another sample in (replacing a range, or inserted).
        5 if !others.is_empty() => {
            let other = *rng.pick(others);
            if !other.is_empty() {
                let a = rng.below(other.len());
                let n = 1 + rng.below((other.len() - a).min(512));
                let chunk = other[a..a + n].to_vec();
                let at = pos(rng, v);
                let end = (at + rng.below(n + 1)).min(v.len());
                v.splice(at..end, chunk);
            }
        }
        // Insert a token of the format.
        6 if !dict.is_empty() => {
            let tok = rng.pick(dict).to_vec();
            let at = pos(rng, v);
            v.splice(at..at, tok);
        }
        // Replace a run of digits (or insert) with a huge number.
        7 => {
            let num = rng.pick(HUGE_NUMBERS).to_vec();
            let starts: Vec<usize> = (0..v.len())
                .filter(|&i| v[i].is_ascii_digit() && (i == 0 || !v[i - 1].is_ascii_digit()))
                .collect();
            if starts.is_empty() {
                let at = pos(rng, v);
                v.splice(at..at, num);
            } else {
                let a = *rng.pick(&starts);
                let e = a + v[a..].iter().take_while(|c| c.is_ascii_digit()).count();
                v.splice(a..e, num);
            }
        }
        // Deep nesting.
        8 => {
            let depth = *rng.pick(&[64, 200, 1_000, 10_000, 100_000]);
            let (open, close): (&[u8], &[u8]) = *rng.pick(&[
                (&b"["[..], &b"]"[..]),
                (b"{\"a\":", b"}"),
                (b"<a>", b"</a>"),
                (b"\"", b"\""),
            ]);
            let at = pos(rng, v);
            let mut nest = open.repeat(depth);
            if rng.one_in(2) {
                nest.extend_from_slice(&close.repeat(depth));
            }
            v.splice(at..at, nest);
        }
        // Invalid UTF-8, NULs, control characters.
        9 => {
            let b = rng.pick(BAD_BYTES).to_vec();
            let at = pos(rng, v);
            v.splice(at..at, b);
        }
        // Truncate.
        10 if !v.is_empty() => {
            let at = rng.below(v.len());
            v.truncate(at);
        }
        // Repeat a small range many times (length explosion).
        11 if !v.is_empty() => {
            let a = rng.below(v.len());
            let n = 1 + rng.below((v.len() - a).min(16));
            let chunk = v[a..a + n].repeat(1 + rng.below(2_000));
            v.splice(a..a + n, chunk);
        }
        // Swap two ranges' bytes (reorders fields).
        12 if v.len() > 2 => {
            let a = rng.below(v.len());
            let b = rng.below(v.len());
            v.swap(a, b);
        }
        // Replace a token of the format by another one.
        13 if !dict.is_empty() => {
            let from = *rng.pick(dict);
            let to = *rng.pick(dict);
            if let Some(i) = find(v, from) {
                v.splice(i..i + from.len(), to.iter().copied());
            }
        }
        _ => {
            let at = pos(rng, v);
            v.insert(at, rng.u64() as u8);
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Arbitrary input: random bytes, or a "soup" of the format's tokens, numbers and bad
/// bytes (random bytes alone rarely get past a parser's first check).
pub fn arbitrary(rng: &mut Rng, dict: &[&[u8]], max_len: usize) -> Vec<u8> {
    if rng.one_in(3) || dict.is_empty() {
        let n = rng.below(max_len + 1);
        return rng.bytes(n);
    }
    let mut v = Vec::new();
    while v.len() < max_len && !rng.one_in(40) {
        match rng.below(10) {
            0 => v.extend(rng.pick(HUGE_NUMBERS).iter()),
            1 => v.extend(rng.pick(BAD_BYTES).iter()),
            2 => {
                let n = rng.below(100);
                v.extend_from_slice(n.to_string().as_bytes());
            }
            3 => v.push(b'a' + rng.below(26) as u8),
            _ => v.extend(rng.pick(dict).iter()),
        }
    }
    v
}

/// How many cases [`run`] ran, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct Ran {
    /// Cases run.
    pub cases: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// Runs `check` on inputs from `generate`: `default_cases` of them, or as many as fit
/// in `TRADETRAIL_FUZZ_SECS` seconds when that is set. Case `i` draws from
/// `Rng::new(seed ^ i)`, so a failure is reproduced by the seed and case number printed.
///
/// A panic in `check` (or `generate`) fails the test; the input is printed first.
pub fn run<T: Debug>(
    name: &str,
    default_cases: u64,
    mut generate: impl FnMut(&mut Rng) -> T,
    mut check: impl FnMut(&T),
) -> Ran {
    let seed = std::env::var(SEED_VAR)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    let deadline = std::env::var(SECS_VAR)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .map(|s| Instant::now() + Duration::from_secs_f64(s));
    let start = Instant::now();
    let mut i = 0u64;
    let mut slowest = (Duration::ZERO, 0u64);
    loop {
        match deadline {
            Some(d) if Instant::now() >= d => break,
            None if i >= default_cases => break,
            _ => {}
        }
        let mut rng = Rng::new(seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let input = generate(&mut rng);
        let guard = Guard {
            name,
            seed,
            case: i,
            input: &input,
        };
        let t = Instant::now();
        check(&input);
        std::mem::forget(guard);
        if t.elapsed() > slowest.0 {
            slowest = (t.elapsed(), i);
        }
        i += 1;
    }
    let ran = Ran {
        cases: i,
        elapsed: start.elapsed(),
    };
    eprintln!(
        "fuzz {name}: {} cases in {:.1} s (seed {seed}; slowest: case {}, {:.1} ms)",
        ran.cases,
        ran.elapsed.as_secs_f64(),
        slowest.1,
        slowest.0.as_secs_f64() * 1e3,
    );
    ran
}

/// Prints the input when dropped during a panic (it is forgotten when the case passes).
struct Guard<'a, T: Debug> {
    name: &'a str,
    seed: u64,
    case: u64,
    input: &'a T,
}

impl<T: Debug> Drop for Guard<'_, T> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let text = format!("{:?}", self.input);
        let path = std::env::temp_dir().join(format!(
            "tradetrail-fuzz-{}-{}-{}.txt",
            self.name, self.seed, self.case
        ));
        let saved = std::fs::write(&path, &text).is_ok();
        const SHOW: usize = 4_000;
        let shown = if text.len() > SHOW {
            let mut end = SHOW;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}… ({} chars)", &text[..end], text.len())
        } else {
            text
        };
        eprintln!(
            "fuzz {}: case {} failed ({SEED_VAR}={} reproduces it); input{}:\n{shown}",
            self.name,
            self.case,
            self.seed,
            if saved {
                format!(" (in full in {})", path.display())
            } else {
                String::new()
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic_and_spread() {
        let a: Vec<u64> = (0..8)
            .map({
                let mut r = Rng::new(7);
                move |_| r.u64()
            })
            .collect();
        let b: Vec<u64> = (0..8)
            .map({
                let mut r = Rng::new(7);
                move |_| r.u64()
            })
            .collect();
        assert_eq!(a, b);
        let mut r = Rng::new(0);
        let mut seen = [false; 10];
        for _ in 0..1_000 {
            seen[r.below(10)] = true;
        }
        assert!(seen.iter().all(|&s| s), "{seen:?}");
    }

    #[test]
    fn mutations_change_the_input() {
        let seed = br#"{"type":"order.filled","qty":100}"#;
        let mut r = Rng::new(1);
        let changed = (0..200)
            .filter(|_| mutate(&mut r, seed, &[b"xyz"], &[b"\"type\""]) != seed)
            .count();
        assert!(changed > 150, "{changed}");
    }

    #[test]
    fn input_prints_as_a_byte_string() {
        assert_eq!(
            format!("{:?}", Input(b"a\"\0\xff\n".to_vec())),
            r#"b"a\"\x00\xff\n""#
        );
    }

    #[test]
    fn run_counts_cases_and_reports_the_failing_one() {
        if std::env::var_os(SECS_VAR).is_some() {
            return; // timed runs ignore the case count
        }
        let ran = run("selftest", 25, |r| r.u64(), |_| {});
        assert_eq!(ran.cases, 25);
        let failed = std::panic::catch_unwind(|| {
            run("selftest-fail", 10, |r| r.below(4), |&x| assert!(x < 3));
        });
        assert!(failed.is_err());
    }
}
