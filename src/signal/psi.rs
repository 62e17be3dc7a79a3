//! Pressure stall information: [`Psi::parse`] for `/proc/pressure/memory`
//! and a cgroup v2 `memory.pressure` (same format, kernel 4.20+).
//!
//! ```text
//! some avg10=0.00 avg60=0.00 avg300=0.00 total=0
//! full avg10=0.00 avg60=0.00 avg300=0.00 total=0
//! ```
//!
//! `total` is cumulative stall time in microseconds, and the only value
//! memcanary reads: the detector takes its own rates over its own windows
//! from it, as node_exporter's `..._seconds_total` counters are used. The
//! kernel's fixed 10/60/300 s averages are not read (nor checked). The
//! `full` line is optional (the cpu file lacked it before 5.13; memory always
//! has it, but we do not insist). Unknown lines and pairs are ignored; no
//! allocation on success.

use super::parse::{
    check_complete, fields, numbered_lines, parse_u64, split_once, ParseError, ParseErrorKind,
    ProcFile,
};

/// One PSI line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PsiLine {
    /// `total`: cumulative stall time, microseconds.
    pub total_us: u64,
}

/// A parsed pressure file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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
            let (kind, rest) = split_once(line, b' ').unwrap_or((line, b""));
            let (dst, kind) = match kind {
                b"some" => (&mut some, "some"),
                b"full" => (&mut full, "full"),
                _ => continue,
            };
            let total_us = total(rest).map_err(|k| line_error(i, kind, k))?;
            *dst = Some(PsiLine { total_us });
        }
        let some =
            some.ok_or_else(|| ParseError::new(ProcFile::Psi, 0, "some", ParseErrorKind::Missing))?;
        Ok(Psi { some, full })
    }
}

#[cold]
#[inline(never)]
fn line_error(i: usize, kind: &str, k: ParseErrorKind) -> ParseError {
    ParseError::new(ProcFile::Psi, i + 1, &format!("{kind} total"), k)
}

/// The value of a line's `total=` pair. Every kernel so far prints it last,
/// so that field is looked at first; anywhere else on the line is found too.
#[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
#[link_section = "memcanary_hot"]
fn total(rest: &[u8]) -> Result<u64, ParseErrorKind> {
    const KEY: &[u8] = b"total=";
    let last = match rest.iter().rposition(|&b| b == b' ') {
        Some(p) => &rest[p + 1..],
        None => rest,
    };
    let value = match last.strip_prefix(KEY) {
        Some(v) => v,
        None => fields(rest)
            .find_map(|f| f.strip_prefix(KEY))
            .ok_or(ParseErrorKind::Missing)?,
    };
    parse_u64(value)
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
        assert_eq!(p.some.total_us, 123456);
        assert_eq!(p.full.map(|f| f.total_us), Some(654));
    }

    #[test]
    fn full_is_optional_unknown_lines_and_pairs_ignored() {
        let p = Psi::parse("some avg10=0.00 avg60=0.00 avg300=0.00 total=7 avg1=3\n").unwrap();
        assert_eq!((p.some.total_us, p.full), (7, None));
        // A tab does not end the kind: that "full" line is not one.
        let p = Psi::parse("\ncpu total=1\nsome total=9 \nfull\ttotal=3 avg10=x\n").unwrap();
        assert_eq!((p.some.total_us, p.full), (9, None));
        let p = Psi::parse("some x total=5 \t\n").unwrap();
        assert_eq!(p.some.total_us, 5);
    }

    #[test]
    fn errors_name_line_and_key() {
        let e = Psi::parse("some avg10=0.00 total=1\nfull avg10=0.00 total=x1\n").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (2, "full total"));
        assert_eq!(e.kind, ParseErrorKind::BadNumber("x1".into()));
        let e = Psi::parse("some avg10=0.00 avg60=0.00 avg300=0.00\n").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (1, "some total"));
        assert_eq!(e.kind, ParseErrorKind::Missing);
        let e = Psi::parse("some total=-1\n").unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::BadNumber("-1".into()));
        let e = Psi::parse("some avg10=0.00 avg60=0.00 avg300=0.00 tot").unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::Truncated);
        assert_eq!(Psi::parse("").unwrap_err().kind, ParseErrorKind::Missing);
        assert_eq!(
            Psi::parse("full total=1\n").unwrap_err().key.as_str(),
            "some"
        );
    }

    proptest::proptest! {
        /// Wherever `total=` sits among other pairs and spaces, it is found
        /// and read as `str::parse` reads it.
        #[test]
        fn total_is_found_anywhere(
            before in proptest::collection::vec("[a-su-z0-9]{1,6}=[0-9.]{1,5}", 0..4),
            after in proptest::collection::vec("[a-su-z0-9]{1,6}=[0-9.]{1,5}", 0..3),
            value in "[0-9]{1,20}|[0-9x-]{0,3}",
            pad in "[ ]{0,2}",
        ) {
            let mut pairs = before.clone();
            pairs.push(format!("total={value}"));
            pairs.extend(after.iter().cloned());
            let text = format!("some {}{pad}\n", pairs.join(" "));
            let want = value.parse::<u64>().ok();
            let got = Psi::parse(&text).ok().map(|p| p.some.total_us);
            proptest::prop_assert_eq!(got, want, "{:?}", text);
        }
    }
}
