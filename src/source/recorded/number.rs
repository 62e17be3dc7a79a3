//! Number parsing for the hot path, and the checks every measurement passes.
//!
//! A year of one host is tens of millions of numbers, so the common shapes
//! that exporters write (`874844160`, `35.973205`, `1795820229727`) take a
//! fast path that is still exact: at most 19 significant digits and a
//! mantissa below 2^53 divided by an exact power of ten is correctly rounded
//! (Clinger's fast path). Anything else (exponents, long fractions, signs,
//! `NaN`) falls back to the standard library's parser.

use super::error::Problem;
use crate::signal::node_exporter::Field;

const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The first value that no longer fits a `u64` counter.
const U64_LIMIT: f64 = 18_446_744_073_709_551_616.0;

/// Whether all eight bytes of `v` (little-endian) are ASCII digits.
#[inline]
fn eight_digits(v: u64) -> bool {
    const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    ((v & HIGH) | (((v.wrapping_add(0x0606_0606_0606_0606)) & HIGH) >> 4)) == 0x3333_3333_3333_3333
}

/// The value of eight ASCII digits (little-endian in `v`), by SWAR: three
/// multiplications instead of eight dependent ones.
#[inline]
fn eight_value(v: u64) -> u64 {
    let v = (v & 0x0F0F_0F0F_0F0F_0F0F).wrapping_mul(2561) >> 8;
    let v = (v & 0x00FF_00FF_00FF_00FF).wrapping_mul(6_553_601) >> 16;
    (v & 0x0000_FFFF_0000_FFFF).wrapping_mul(42_949_672_960_001) >> 32
}

/// Digits at the start of `s`: (value, digit count). Wraps past 19 digits;
/// callers reject those.
#[inline]
fn digits(s: &[u8], mut acc: u64) -> (u64, usize) {
    let mut n = 0;
    while let Some(chunk) = s.get(n..n + 8) {
        let Ok(bytes) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let v = u64::from_le_bytes(bytes);
        if !eight_digits(v) {
            break;
        }
        acc = acc.wrapping_mul(100_000_000).wrapping_add(eight_value(v));
        n += 8;
    }
    while let Some(&b) = s.get(n) {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        acc = acc.wrapping_mul(10).wrapping_add(u64::from(d));
        n += 1;
    }
    (acc, n)
}

/// An unsigned decimal (`123`, `0.5`) at the start of `s`, exactly, or
/// `None` when the slow path must decide. Returns the bytes consumed.
#[inline]
pub(super) fn fast_decimal(s: &[u8]) -> Option<(f64, usize)> {
    let (mant, int_len) = digits(s, 0);
    if int_len == 0 {
        return None;
    }
    let mut len = int_len;
    let (mant, frac_len) = if s.get(len) == Some(&b'.') {
        let (m, f) = digits(&s[len + 1..], mant);
        if f == 0 {
            return None;
        }
        len += 1 + f;
        (m, f)
    } else {
        (mant, 0)
    };
    if int_len + frac_len > 19 || mant > (1u64 << 53) || matches!(s.get(len), Some(b'e' | b'E')) {
        return None;
    }
    let v = mant as f64;
    Some((
        if frac_len == 0 {
            v
        } else {
            v / POW10[frac_len]
        },
        len,
    ))
}

/// A non-negative integer of at most 18 digits at the start of `s`.
#[inline]
pub(super) fn fast_int(s: &[u8]) -> Option<(i64, usize)> {
    let (v, n) = digits(s, 0);
    if n == 0 || n > 18 || matches!(s.get(n), Some(b'.' | b'e' | b'E')) {
        return None;
    }
    Some((v as i64, n))
}

/// Any float the standard library accepts (`-1e3`, `NaN`, `inf`).
pub(super) fn slow_f64(tok: &[u8]) -> Option<f64> {
    std::str::from_utf8(tok).ok()?.trim().parse().ok()
}

/// A timestamp token in milliseconds: an integer, or a float with no
/// fractional part (`1.7e12`).
pub(super) fn slow_ms(tok: &[u8]) -> Result<i64, Problem> {
    let text = String::from_utf8_lossy(tok).into_owned();
    if let Ok(v) = text.trim().parse::<i64>() {
        return Ok(v);
    }
    match slow_f64(tok) {
        Some(v) if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.2e18 => Ok(v as i64),
        _ => Err(Problem::BadTimestamp(text)),
    }
}

/// Checks a measurement for `field` (`tok` is its text, for the message):
/// finite, not negative, and small enough for a `u64` after scaling.
#[inline]
pub(super) fn check_value(v: f64, field: Field, tok: &[u8]) -> Result<(), Problem> {
    if v >= 0.0 && v * field.scale() < U64_LIMIT {
        return Ok(());
    }
    let text = String::from_utf8_lossy(tok).into_owned();
    Err(if v.is_nan() || v.is_infinite() {
        Problem::NotFinite(text)
    } else if v < 0.0 {
        Problem::Negative(text)
    } else {
        Problem::TooLarge(text)
    })
}

/// A checked value, already in the sample field's unit, as the field's integer.
#[inline]
pub(super) fn to_u64(v: f64) -> u64 {
    // Values are non-negative (checked), so adding a half and truncating
    // rounds; `as` saturates, and check_value bounded the range anyway.
    // (`f64::round` is a libm call, too slow for the hot loop.)
    (v + 0.5) as u64
}

/// Converts seconds (float) to milliseconds, if finite and in range.
pub(super) fn secs_to_ms(s: f64) -> Option<i64> {
    let ms = (s * 1000.0).round();
    (ms.is_finite() && ms.abs() < 9.2e18).then_some(ms as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_decimal_is_exact_for_exporter_shapes() {
        for text in [
            "0",
            "874844160",
            "35.973205",
            "0.00058878",
            "1007075328",
            "26.454738",
        ] {
            let (v, n) = fast_decimal(text.as_bytes()).unwrap();
            assert_eq!(n, text.len());
            assert_eq!(v, text.parse::<f64>().unwrap(), "{text}");
        }
    }

    #[test]
    fn swar_digits_match_the_byte_loop() {
        for text in [
            "12345678",
            "1795820229727",
            "00000000123",
            "9999999999999999",
            "1234567x9",
        ] {
            let want: String = text.chars().take_while(char::is_ascii_digit).collect();
            let (v, n) = digits(text.as_bytes(), 0);
            assert_eq!((v, n), (want.parse().unwrap(), want.len()), "{text}");
        }
        assert!(!eight_digits(u64::from_le_bytes(*b"1234/678")));
        assert!(!eight_digits(u64::from_le_bytes(*b"1234:678")));
    }

    #[test]
    fn fast_decimal_defers_the_unusual_to_the_slow_path() {
        for text in [
            "1e5",
            "-1",
            "NaN",
            "12345678901234567890",
            "1.",
            ".5",
            "9007199254740993",
        ] {
            assert_eq!(fast_decimal(text.as_bytes()), None, "{text}");
        }
        assert_eq!(slow_f64(b"1e5"), Some(1e5));
    }

    #[test]
    fn fast_decimal_stops_at_a_separator() {
        assert_eq!(fast_decimal(b"12,3"), Some((12.0, 2)));
        assert_eq!(fast_decimal(b"1.5]"), Some((1.5, 3)));
    }

    #[test]
    fn timestamps_must_be_whole_milliseconds() {
        assert_eq!(fast_int(b"1795820229727,"), Some((1795820229727, 13)));
        assert_eq!(fast_int(b"1.5"), None);
        assert_eq!(slow_ms(b"1.7e12"), Ok(1_700_000_000_000));
        assert_eq!(slow_ms(b"-5"), Ok(-5));
        assert!(matches!(slow_ms(b"1.5"), Err(Problem::BadTimestamp(_))));
        assert!(matches!(slow_ms(b"abc"), Err(Problem::BadTimestamp(_))));
    }

    #[test]
    fn values_are_checked_against_the_field() {
        assert!(check_value(0.0, Field::MemTotal, b"0").is_ok());
        assert!(matches!(
            check_value(f64::NAN, Field::MemTotal, b"NaN"),
            Err(Problem::NotFinite(_))
        ));
        assert!(matches!(
            check_value(-1.0, Field::SwapFree, b"-1"),
            Err(Problem::Negative(_))
        ));
        assert!(matches!(
            check_value(2e13, Field::PsiSome, b"2e13"),
            Err(Problem::TooLarge(_))
        ));
    }

    #[test]
    fn psi_seconds_become_whole_microseconds() {
        assert_eq!(to_u64(35.973205 * Field::PsiSome.scale()), 35_973_205);
        assert_eq!(to_u64(874844160.0), 874_844_160);
    }
}
