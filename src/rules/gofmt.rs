//! Go's `%.4g` and the Prometheus template functions built on it
//! (`humanize1024`, `humanizeDuration`, `humanizePercentage`), so expected
//! annotations in generated unit tests read exactly as promtool renders them.
//! Written from the documented behaviour of Go's `strconv` 'g' format.

/// Go's `fmt.Sprintf("%.4g", v)`.
pub fn g4(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sign = if v < 0.0 { "-" } else { "" };
    let sci = format!("{:.3e}", v.abs());
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    let nd = digits.iter().rposition(|&d| d != b'0').map_or(1, |i| i + 1);
    let digits = &digits[..nd];
    let (nd, dp) = (nd as i32, exp + 1);
    let mut eprec = 4;
    if eprec > nd && nd >= dp {
        eprec = nd;
    }
    let body = if exp < -4 || exp >= eprec {
        exp_form(digits, exp)
    } else {
        let prec = if 4 > dp { nd } else { 4 };
        fixed_form(digits, dp, (prec - dp).max(0))
    };
    format!("{sign}{body}")
}

fn exp_form(digits: &[u8], exp: i32) -> String {
    let mut s = String::new();
    s.push(digits[0] as char);
    if digits.len() > 1 {
        s.push('.');
        s.extend(digits[1..].iter().map(|&d| d as char));
    }
    let sign = if exp < 0 { '-' } else { '+' };
    s.push_str(&format!("e{sign}{:02}", exp.abs()));
    s
}

fn fixed_form(digits: &[u8], dp: i32, decimals: i32) -> String {
    let digit = |i: i32| -> char {
        if i >= 0 && (i as usize) < digits.len() {
            digits[i as usize] as char
        } else {
            '0'
        }
    };
    let mut s = String::new();
    if dp > 0 {
        (0..dp).for_each(|i| s.push(digit(i)));
    } else {
        s.push('0');
    }
    if decimals > 0 {
        s.push('.');
        (0..decimals).for_each(|i| s.push(digit(dp + i)));
    }
    s
}

/// Prometheus' `humanize1024`: binary prefixes, 4 significant digits.
pub fn humanize1024(mut v: f64) -> String {
    if v.abs() <= 1.0 || !v.is_finite() {
        return g4(v);
    }
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", g4(v))
}

/// Prometheus' `humanizePercentage`: `0.1234` -> `12.34%`.
pub fn humanize_percentage(v: f64) -> String {
    format!("{}%", g4(v * 100.0))
}

/// Prometheus' `humanizeDuration`: seconds -> `1d 2h 3m 4s`, `12.5s`, `250ms`.
pub fn humanize_duration(mut v: f64) -> String {
    if !v.is_finite() {
        return g4(v);
    }
    if v == 0.0 {
        return format!("{}s", g4(v));
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        v = v.abs();
        let d = v as i64;
        let (secs, mins, hours, days) = (d % 60, (d / 60) % 60, (d / 3600) % 24, d / 86400);
        return if days != 0 {
            format!("{sign}{days}d {hours}h {mins}m {secs}s")
        } else if hours != 0 {
            format!("{sign}{hours}h {mins}m {secs}s")
        } else if mins != 0 {
            format!("{sign}{mins}m {secs}s")
        } else {
            format!("{sign}{}s", g4(v))
        };
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", g4(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g4_matches_go() {
        // Expected strings are Go's fmt.Sprintf("%.4g", v).
        for (v, go) in [
            (1800.0, "1800"),
            (12340.0, "1.234e+04"),
            (0.0123, "0.0123"),
            (0.00001234, "1.234e-05"),
            (1.5, "1.5"),
            (100.0, "100"),
            (-666.6666, "-666.7"),
            (0.1, "0.1"),
            (9999.5, "1e+04"),
            (123.456, "123.5"),
            (0.0, "0"),
        ] {
            assert_eq!(g4(v), go, "{v}");
        }
    }

    #[test]
    fn humanizers_match_prometheus() {
        assert_eq!(humanize1024(60.0), "60");
        assert_eq!(humanize1024(1536.0), "1.5ki");
        assert_eq!(humanize1024(1_006_632_960.0), "960Mi");
        assert_eq!(humanize_percentage(0.1), "10%");
        assert_eq!(humanize_percentage(0.123456), "12.35%");
        assert_eq!(humanize_duration(0.0), "0s");
        assert_eq!(humanize_duration(-0.6666667), "-666.7ms");
        assert_eq!(humanize_duration(42.5), "42.5s");
        assert_eq!(humanize_duration(1234.9), "20m 34s");
        assert_eq!(humanize_duration(90061.0), "1d 1h 1m 1s");
    }
}
