//! What can go wrong reading the kernel's text files, and the small number
//! helpers the parsers share.
//!
//! Errors name the 1-based line and the key so a log line points straight at
//! the bad spot. Parsing never panics: every number goes through checked
//! arithmetic.

/// Which kernel file a [`ParseError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcFile {
    /// `/proc/meminfo` (or a cgroup's equivalent).
    Meminfo,
    /// `/proc/vmstat`.
    Vmstat,
    /// `/proc/pressure/memory` or a cgroup's `memory.pressure`.
    Psi,
}

impl ProcFile {
    /// The file's usual name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            ProcFile::Meminfo => "meminfo",
            ProcFile::Vmstat => "vmstat",
            ProcFile::Psi => "pressure/memory",
        }
    }
}

/// What is wrong with a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// The text does not end with a newline: the read was cut short.
    Truncated,
    /// A field every kernel has is missing.
    Missing,
    /// The line has no `key: value` / `key value` shape.
    Malformed,
    /// The value is not a non-negative integer (or decimal for PSI averages).
    BadNumber(String),
    /// The unit is not the expected one (`kB` in meminfo).
    BadUnit(String),
    /// The value times its unit does not fit in 64 bits.
    Overflow,
}

impl std::fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseErrorKind::Truncated => f.write_str("text ends mid-line (truncated read)"),
            ParseErrorKind::Missing => f.write_str("required field missing"),
            ParseErrorKind::Malformed => f.write_str("malformed line"),
            ParseErrorKind::BadNumber(v) => write!(f, "not a number: {v:?}"),
            ParseErrorKind::BadUnit(u) => write!(f, "unexpected unit {u:?} (want kB)"),
            ParseErrorKind::Overflow => f.write_str("value overflows 64 bits"),
        }
    }
}

/// A kernel text file that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: line {line}, key {key:?}: {kind}", file = .file.name())]
pub struct ParseError {
    /// Which file.
    pub file: ProcFile,
    /// 1-based line number (0 when the error is about the whole file).
    pub line: usize,
    /// The key on that line (or the missing key).
    pub key: String,
    /// What is wrong.
    pub kind: ParseErrorKind,
}

impl ParseError {
    pub(crate) fn new(file: ProcFile, line: usize, key: &str, kind: ParseErrorKind) -> Self {
        // Keys come from untrusted text: keep errors bounded.
        let key: String = key.chars().take(64).collect();
        ParseError {
            file,
            line,
            key,
            kind,
        }
    }
}

/// Fails unless `text` is empty or ends with a newline.
pub(crate) fn check_complete(file: ProcFile, text: &str) -> Result<(), ParseError> {
    if text.is_empty() || text.ends_with('\n') {
        return Ok(());
    }
    let line = text.lines().count();
    let key = text
        .lines()
        .last()
        .and_then(|l| l.split([':', ' ']).next())
        .unwrap_or("");
    Err(ParseError::new(file, line, key, ParseErrorKind::Truncated))
}

/// `text`'s lines with their 0-based numbers, like `text.lines().enumerate()`
/// but found with the `memchr` crate's vectorised search: the agent splits
/// a few hundred lines of kernel text every second, and per-line overhead
/// is most of a sample's cost.
pub(crate) fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let ends = memchr::memchr_iter(b'\n', text.as_bytes()).chain(
        // A last line without its newline (a truncated read) still counts.
        (!text.is_empty() && !text.ends_with('\n')).then_some(text.len()),
    );
    let mut start = 0;
    ends.enumerate().map(move |(i, end)| {
        // `end` is at a '\n' (ASCII) or at the end: both are char boundaries.
        let line = text.get(start..end).unwrap_or("");
        start = end + 1;
        (i, line)
    })
}

/// Parses a non-negative decimal integer.
pub(crate) fn parse_u64(value: &str) -> Result<u64, ParseErrorKind> {
    value
        .parse::<u64>()
        .map_err(|_| ParseErrorKind::BadNumber(value.chars().take(32).collect()))
}

/// Parses a non-negative finite decimal (PSI averages such as `12.34`).
///
/// The kernel prints these as `%lu.%02lu`: such a value is read as an
/// integer over a power of ten, one exact division, which gives exactly
/// `str::parse::<f64>`'s answer without its code (the agent reads PSI every
/// second, with cold caches: less code is less time). Longer or odd forms
/// take `str::parse`.
pub(crate) fn parse_f64(value: &str) -> Result<f64, ParseErrorKind> {
    let bad = || ParseErrorKind::BadNumber(value.chars().take(32).collect());
    let (mut n, mut digits, mut frac, mut dot) = (0u64, 0u32, 0u32, false);
    for b in value.bytes() {
        match b {
            b'0'..=b'9' => {
                n = n.wrapping_mul(10).wrapping_add(u64::from(b - b'0'));
                digits += 1;
                frac += u32::from(dot);
            }
            b'.' if !dot => dot = true,
            _ => return Err(bad()),
        }
    }
    if digits == 0 {
        return Err(bad());
    }
    // Up to 15 digits the integer is exact in an f64, as is 10^frac; the
    // quotient of two exact values is correctly rounded.
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    if digits <= 15 {
        return Ok(n as f64 / POW10[frac as usize]);
    }
    value.parse::<f64>().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_is_detected_and_names_the_last_key() {
        let e = check_complete(ProcFile::Meminfo, "MemTotal: 1 kB\nMemFr").unwrap_err();
        assert_eq!(e.line, 2);
        assert_eq!(e.key, "MemFr");
        assert_eq!(e.kind, ParseErrorKind::Truncated);
        assert!(check_complete(ProcFile::Meminfo, "a 1\n").is_ok());
    }

    #[test]
    fn numbered_lines_match_std_lines() {
        for text in ["", "a\n", "a\nb", "a\n\nb\n", "\n", "é 1\nü 2\n"] {
            let ours: Vec<_> = numbered_lines(text).collect();
            let std: Vec<_> = text.lines().enumerate().collect();
            assert_eq!(ours, std, "{text:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parse_f64_is_str_parse_on_decimals(v in "[0-9]{0,18}(\\.[0-9]{0,18})?|[0-9.]{0,8}") {
            let want = v.parse::<f64>().ok();
            let got = parse_f64(&v).ok();
            proptest::prop_assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits), "{:?}", v);
        }
    }

    #[test]
    fn numbers_reject_signs_and_garbage() {
        assert_eq!(parse_u64("42"), Ok(42));
        assert!(parse_u64("-1").is_err());
        assert!(parse_u64("1e3").is_err());
        assert!(parse_u64("99999999999999999999999").is_err());
        assert_eq!(parse_f64("12.50"), Ok(12.5));
        assert!(parse_f64("NaN").is_err());
        assert!(parse_f64("inf").is_err());
        assert!(parse_f64("-1.0").is_err());
    }

    #[test]
    fn error_message_names_file_line_and_key() {
        let e = ParseError::new(ProcFile::Vmstat, 7, "pgmajfault", ParseErrorKind::Malformed);
        assert_eq!(
            e.to_string(),
            "vmstat: line 7, key \"pgmajfault\": malformed line"
        );
    }
}
