//! Durations in config: `"90s"`, `"5m"`, `"1h30m"`, `"250ms"`, as in Prometheus.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A non-negative duration with millisecond resolution, written the way
/// Prometheus writes durations (`1h30m`, `90s`, `250ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Dur {
    ms: i64,
}

/// A duration string that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {text:?}: {why} (write e.g. \"90s\", \"5m\", \"1h30m\", \"250ms\")")]
pub struct DurError {
    text: String,
    why: &'static str,
}

impl Dur {
    /// From milliseconds (negative values clamp to zero).
    pub const fn from_millis(ms: i64) -> Dur {
        Dur {
            ms: if ms < 0 { 0 } else { ms },
        }
    }

    /// From whole seconds.
    pub const fn from_secs(s: i64) -> Dur {
        Dur::from_millis(s * 1000)
    }

    /// Milliseconds.
    pub const fn as_millis(self) -> i64 {
        self.ms
    }

    /// Seconds as a float.
    pub fn as_secs_f64(self) -> f64 {
        self.ms as f64 / 1000.0
    }

    /// Parses `1h30m`, `90s`, `250ms`, `2d`; a bare `0` is zero.
    pub fn parse(text: &str) -> Result<Dur, DurError> {
        let err = |why| DurError {
            text: text.to_string(),
            why,
        };
        let s = text.trim();
        if s == "0" {
            return Ok(Dur::default());
        }
        if s.is_empty() {
            return Err(err("empty"));
        }
        let mut total: i64 = 0;
        let mut rest = s;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(err("expected a number"));
            }
            let n: i64 = rest[..digits]
                .parse()
                .map_err(|_| err("number too large"))?;
            rest = &rest[digits..];
            let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
            let unit_ms = match &rest[..unit_len] {
                "ms" => 1,
                "s" => 1000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                "" => return Err(err("missing unit")),
                _ => return Err(err("unknown unit")),
            };
            rest = &rest[unit_len..];
            total = n
                .checked_mul(unit_ms)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(|| err("too large"))?;
        }
        Ok(Dur { ms: total })
    }
}

impl fmt::Display for Dur {
    /// Prometheus style: `1h30m`, `90s` is written `1m30s`, `250ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.ms;
        if ms == 0 {
            return f.write_str("0s");
        }
        for (unit, len) in [("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)] {
            if ms >= len {
                write!(f, "{}{}", ms / len, unit)?;
                ms %= len;
            }
        }
        Ok(())
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Dur, D::Error> {
        let s = String::deserialize(de)?;
        Dur::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prometheus_style_durations() {
        assert_eq!(Dur::parse("90s"), Ok(Dur::from_secs(90)));
        assert_eq!(Dur::parse("1h30m"), Ok(Dur::from_secs(5400)));
        assert_eq!(Dur::parse("250ms"), Ok(Dur::from_millis(250)));
        assert_eq!(Dur::parse("0"), Ok(Dur::default()));
    }

    #[test]
    fn rejects_garbage_and_names_it() {
        for bad in ["", "5", "m", "5x", "-5s", "99999999999999999999s"] {
            let e = Dur::parse(bad)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains(&format!("{bad:?}")), "{bad}: {e}");
        }
    }

    #[test]
    fn display_round_trips() {
        for ms in [0, 1, 999, 1000, 90_000, 5_400_000, 3_723_004] {
            let d = Dur::from_millis(ms);
            assert_eq!(Dur::parse(&d.to_string()), Ok(d), "{d}");
        }
    }
}
