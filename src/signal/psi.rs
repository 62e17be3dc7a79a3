//! Pressure stall information: [`Psi::parse`] for `/proc/pressure/memory`
//! and a cgroup v2 `memory.pressure` (same format, kernel 4.20+).
//!
//! ```text
//! some avg10=0.00 avg60=0.00 avg300=0.00 total=0
//! full avg10=0.00 avg60=0.00 avg300=0.00 total=0
//! ```
//!
//! `total` is cumulative stall time in microseconds; the averages are
//! percentages. The `full` line is optional (the cpu file lacked it before
//! 5.13; memory always has it, but we do not insist). Unknown `key=value`
//! pairs are ignored; no allocation on success.

use super::parse::{
    check_complete, fields, is_blank, lossy, numbered_lines, parse_f64, parse_u64, split_once,
    ParseError, ParseErrorKind, ProcFile,
};

/// One PSI line.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PsiLine {
    /// `avg10`, percent of wall time stalled over 10 s.
    pub avg10_pct: f64,
    /// `avg60`, percent.
    pub avg60_pct: f64,
    /// `avg300`, percent.
    pub avg300_pct: f64,
    /// `total`: cumulative stall time, microseconds.
    pub total_us: u64,
}

/// A parsed pressure file.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Psi {
    /// Some task stalled on memory.
    pub some: PsiLine,
    /// All non-idle tasks stalled at once.
    pub full: Option<PsiLine>,
}

impl Psi {
    /// Parses the text of a pressure file.
    pub fn parse(text: &str) -> Result<Psi, ParseError> {
        Psi::parse_bytes(text.as_bytes())
    }

    /// [`Psi::parse`] on the file's raw bytes, as read (no UTF-8
    /// validation, as [`super::Meminfo::parse_bytes`]).
    #[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
    #[link_section = "memcanary_hot"]
    pub fn parse_bytes(text: &[u8]) -> Result<Psi, ParseError> {
        check_complete(ProcFile::Psi, text)?;
        let mut some = None;
        let mut full = None;
        for (i, line) in numbered_lines(text) {
            if is_blank(line) {
                continue;
            }
            let (kind, rest) = split_once(line, b' ').unwrap_or((line, b""));
            let (dst, kind) = match kind {
                b"some" => (&mut some, "some"),
                b"full" => (&mut full, "full"),
                _ => continue,
            };
            *dst = Some(parse_line(rest).map_err(|(key, k)| line_error(i, kind, key, k))?);
        }
        let some =
            some.ok_or_else(|| ParseError::new(ProcFile::Psi, 0, "some", ParseErrorKind::Missing))?;
        Ok(Psi { some, full })
    }
}

#[cold]
#[inline(never)]
fn line_error(i: usize, kind: &str, key: &[u8], k: ParseErrorKind) -> ParseError {
    let key = format!("{kind} {}", lossy(key, 32));
    ParseError::new(ProcFile::Psi, i + 1, &key, k)
}

/// `avg10=.. avg60=.. avg300=.. total=..`; every one of the four required.
#[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
#[link_section = "memcanary_hot"]
fn parse_line(rest: &[u8]) -> Result<PsiLine, (&[u8], ParseErrorKind)> {
    let mut l = PsiLine::default();
    let mut seen = 0u8;
    for pair in fields(rest) {
        let (key, value) = split_once(pair, b'=').ok_or((pair, ParseErrorKind::Malformed))?;
        let bit = match key {
            b"avg10" => {
                l.avg10_pct = parse_f64(value).map_err(|k| (key, k))?;
                0
            }
            b"avg60" => {
                l.avg60_pct = parse_f64(value).map_err(|k| (key, k))?;
                1
            }
            b"avg300" => {
                l.avg300_pct = parse_f64(value).map_err(|k| (key, k))?;
                2
            }
            b"total" => {
                l.total_us = parse_u64(value).map_err(|k| (key, k))?;
                3
            }
            _ => continue,
        };
        seen |= 1 << bit;
    }
    const NAMES: [&[u8]; 4] = [b"avg10", b"avg60", b"avg300", b"total"];
    match (0..4).find(|b| seen & (1 << b) == 0) {
        Some(b) => Err((NAMES[b], ParseErrorKind::Missing)),
        None => Ok(l),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_lines() {
        let p = Psi::parse(
            "some avg10=1.50 avg60=0.20 avg300=0.00 total=123456\n\
             full avg10=0.50 avg60=0.10 avg300=0.00 total=654\n",
        )
        .unwrap();
        assert!((p.some.avg10_pct - 1.5).abs() < 1e-9);
        assert_eq!(p.some.total_us, 123456);
        assert_eq!(p.full.map(|f| f.total_us), Some(654));
    }

    #[test]
    fn full_is_optional_unknown_pairs_ignored() {
        let p = Psi::parse("some avg10=0.00 avg60=0.00 avg300=0.00 total=7 avg1=3\n").unwrap();
        assert_eq!((p.some.total_us, p.full), (7, None));
    }

    #[test]
    fn errors_name_line_and_key() {
        let e = Psi::parse("some avg10=0.00 avg60=0.00 avg300=0.00 total=1\nfull avg10=x avg60=0 avg300=0 total=1\n")
            .unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (2, "full avg10"));
        let e = Psi::parse("some avg10=0.00 avg60=0.00 total=1\n").unwrap_err();
        assert_eq!(
            (e.key.as_str(), e.kind),
            ("some avg300", ParseErrorKind::Missing)
        );
        let e = Psi::parse("some avg10=0.00 avg60=0.00 avg300=0.00 tot").unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::Truncated);
        assert_eq!(Psi::parse("").unwrap_err().kind, ParseErrorKind::Missing);
    }
}
