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
    /// The value is not a non-negative integer.
    BadNumber(String),
    /// The unit is not the expected one (`kB` in meminfo).
    BadUnit(String),
    /// The value times its unit does not fit in 64 bits.
    Overflow,
    /// A value that must be positive is 0 (`MemTotal`).
    Zero,
    /// `MemAvailable` above `MemTotal`: the file lies (a broken LXCFS or fake
    /// procfs); headroom from it would exceed capacity and hide every alert.
    AboveTotal {
        /// The value, in kB as written.
        value_kb: u64,
        /// `MemTotal`, in kB as written.
        total_kb: u64,
    },
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
            ParseErrorKind::Zero => f.write_str("must be more than 0"),
            ParseErrorKind::AboveTotal { value_kb, total_kb } => {
                write!(f, "{value_kb} kB is more than MemTotal ({total_kb} kB)")
            }
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

// Error construction is out of line and cold: the parsers' success path is
// what the agent runs every second, and it stays small (docs/agent.md,
// "Pages touched per wake-up").
impl ParseError {
    #[cold]
    #[inline(never)]
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

    /// Like [`ParseError::new`] with the key as the file's raw bytes.
    #[cold]
    #[inline(never)]
    pub(crate) fn at(file: ProcFile, line: usize, key: &[u8], kind: ParseErrorKind) -> Self {
        ParseError::new(file, line, &lossy(key, 64), kind)
    }
}

/// Up to `max` characters of untrusted bytes, for a message (only ever on
/// an error path: the parsers work on bytes, /proc text being ASCII, and
/// never validate UTF-8 on the way).
#[cold]
#[inline(never)]
pub(crate) fn lossy(b: &[u8], max: usize) -> String {
    let b = &b[..b.len().min(max * 4)];
    String::from_utf8_lossy(b).chars().take(max).collect()
}

/// Fails unless `text` is empty or ends with a newline.
#[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
#[link_section = "memcanary_hot"]
pub(crate) fn check_complete(file: ProcFile, text: &[u8]) -> Result<(), ParseError> {
    if text.is_empty() || text.ends_with(b"\n") {
        return Ok(());
    }
    let line = numbered_lines(text).count();
    let last = text.rsplit(|&b| b == b'\n').next().unwrap_or_default();
    let key = last
        .split(|&b| b == b':' || b == b' ')
        .next()
        .unwrap_or_default();
    Err(ParseError::at(file, line, key, ParseErrorKind::Truncated))
}

/// Where each of `N` wanted lines began in the last text a full parse
/// read: what an in-place reader ([`super::MeminfoLayout`],
/// [`super::VmstatLayout`]) remembers between two reads of its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineOffsets<const N: usize>([u32; N]);

const ABSENT: u32 = u32::MAX;

impl<const N: usize> Default for LineOffsets<N> {
    /// Nothing learned: every line absent.
    fn default() -> Self {
        LineOffsets([ABSENT; N])
    }
}

impl<const N: usize> LineOffsets<N> {
    /// Notes that wanted line `k` is `line`, a subslice of `text`.
    pub(crate) fn note(&mut self, k: usize, text: &[u8], line: &[u8]) {
        // Where it starts is a difference of addresses (no unsafe: the
        // pointers are only compared).
        let start = line.as_ptr() as usize - text.as_ptr() as usize;
        self.0[k] = u32::try_from(start).unwrap_or(ABSENT);
    }

    /// The lines learned, as (wanted line, byte offset), in wanted order.
    pub(crate) fn learned(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let present = self.0.iter().enumerate().filter(|(_, &off)| off != ABSENT);
        present.map(|(k, &off)| (k, off as usize))
    }
}

/// `text`'s lines with their 0-based numbers, like `str::lines().enumerate()`
/// on bytes. A last line without its newline (a truncated read) still counts.
#[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
#[link_section = "memcanary_hot"]
pub(crate) fn numbered_lines(text: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut rest = text;
    (0..).map_while(move |i| {
        if rest.is_empty() {
            return None;
        }
        let (line, next) = match find_newline(rest) {
            Some(p) => (&rest[..p], &rest[p + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        // `str::lines` drops a line's trailing '\r' too.
        Some((i, line.strip_suffix(b"\r").unwrap_or(line)))
    })
}

/// The first `'\n'`, eight bytes at a time (the classic zero-byte test on
/// `word ^ 0x0a0a..`). The agent splits ~60 lines of meminfo every second
/// with cold caches: this is a few instructions in the hot section, where
/// the `memchr` crate's vectorised search was two more pages to fault in
/// (its code and its dispatch pointer) for 1.5 KB of text.
#[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
#[link_section = "memcanary_hot"]
pub(crate) fn find_newline(hay: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const NL: u64 = LO * b'\n' as u64;
    let mut chunks = hay.chunks_exact(8);
    let mut at = 0;
    for chunk in chunks.by_ref() {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ NL;
        // The lowest byte flagged here is the first zero byte of `x`
        // (borrows only flag bytes above a real zero).
        let found = x.wrapping_sub(LO) & !x & HI;
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let tail = chunks.remainder();
    tail.iter().position(|&b| b == b'\n').map(|p| at + p)
}

/// Splits at the first `sep`.
pub(crate) fn split_once(b: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    let i = b.iter().position(|&c| c == sep)?;
    Some((&b[..i], &b[i + 1..]))
}

/// The ASCII-whitespace-separated fields (`str::split_ascii_whitespace`).
pub(crate) fn fields(b: &[u8]) -> impl Iterator<Item = &[u8]> {
    b.split(u8::is_ascii_whitespace).filter(|f| !f.is_empty())
}

#[cold]
#[inline(never)]
fn bad_number(value: &[u8]) -> ParseErrorKind {
    ParseErrorKind::BadNumber(lossy(value, 32))
}

/// Parses a non-negative decimal integer: what `str::parse::<u64>` takes
/// (digits, an optional leading `+`), from bytes.
#[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
#[link_section = "memcanary_hot"]
pub(crate) fn parse_u64(value: &[u8]) -> Result<u64, ParseErrorKind> {
    let bad = || bad_number(value);
    let digits = value.strip_prefix(b"+").unwrap_or(value);
    if digits.is_empty() {
        return Err(bad());
    }
    let mut n = 0u64;
    for &b in digits {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return Err(bad());
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d)))
            .ok_or_else(bad)?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Just;

    #[test]
    fn truncation_is_detected_and_names_the_last_key() {
        let e = check_complete(ProcFile::Meminfo, b"MemTotal: 1 kB\nMemFr").unwrap_err();
        assert_eq!(e.line, 2);
        assert_eq!(e.key, "MemFr");
        assert_eq!(e.kind, ParseErrorKind::Truncated);
        assert!(check_complete(ProcFile::Meminfo, b"a 1\n").is_ok());
    }

    #[test]
    fn numbered_lines_match_std_lines() {
        for text in [
            "",
            "a\n",
            "a\nb",
            "a\n\nb\n",
            "\n",
            "é 1\nü 2\n",
            "a\r\nb\r\n",
        ] {
            let ours: Vec<_> = numbered_lines(text.as_bytes()).collect();
            let std: Vec<_> = text.lines().map(str::as_bytes).enumerate().collect();
            assert_eq!(ours, std, "{text:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parse_u64_is_str_parse(v in "[+-]?[0-9]{0,22}|[0-9a-z+ .-]{0,6}") {
            proptest::prop_assert_eq!(parse_u64(v.as_bytes()).ok(), v.parse::<u64>().ok(), "{:?}", v);
        }

        #[test]
        fn find_newline_is_position(v in proptest::collection::vec(
            proptest::prop_oneof![Just(b'\n'), Just(0u8), Just(0x0bu8), Just(0x8au8), Just(b'a')],
            0..40,
        )) {
            let want = v.iter().position(|&b| b == b'\n');
            proptest::prop_assert_eq!(find_newline(&v), want);
        }

        #[test]
        fn fields_are_split_ascii_whitespace(v in "[a1 \t\r\n\x0c]{0,12}") {
            let want: Vec<&[u8]> = v.split_ascii_whitespace().map(str::as_bytes).collect();
            let got: Vec<&[u8]> = fields(v.as_bytes()).collect();
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn numbers_reject_signs_and_garbage() {
        assert_eq!(parse_u64(b"42"), Ok(42));
        assert!(parse_u64(b"-1").is_err());
        assert!(parse_u64(b"1e3").is_err());
        assert!(parse_u64(b"99999999999999999999999").is_err());
        // Garbage bytes are named (lossily), never a panic.
        assert_eq!(
            parse_u64(b"1\xff2"),
            Err(ParseErrorKind::BadNumber("1\u{fffd}2".into()))
        );
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
