//! `/proc/meminfo`: [`Meminfo::parse`], kB converted to bytes on the way in.
//!
//! Fields every kernel since 2.6 has are required (`MemTotal`, `MemFree`,
//! `Buffers`, `Cached`, `SwapTotal`, `SwapFree`); newer ones are `Option`.
//! `MemTotal` 0 and `MemAvailable` above `MemTotal` are errors (a lying
//! file, never clamped: see [`ParseErrorKind::AboveTotal`]).
//! Unknown keys are ignored (lines that cannot hold a wanted key are not
//! looked at) so a new kernel never breaks the parser, and
//! parsing allocates nothing on success (the daemon parses every second).
//!
//! `MemAvailable` appeared in 3.14. On older kernels
//! [`Meminfo::available_or_estimate`] estimates it as
//! `MemFree + Buffers + Cached - Shmem`: the kernel's own estimate
//! (`si_mem_available`) also subtracts the low watermarks and only counts half
//! of the page cache and reclaimable slab as reclaimable, which needs
//! `/proc/zoneinfo`; ours is therefore an over-estimate by up to half the page
//! cache. That errs late, not noisy; the detector's trend still works.

use super::parse::{
    check_complete, find_newline, lossy, numbered_lines, parse_u64, split_once, LineOffsets,
    ParseError, ParseErrorKind, ProcFile,
};

/// The fields of `/proc/meminfo` memcanary uses, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Meminfo {
    /// `MemTotal`.
    pub mem_total_bytes: u64,
    /// `MemFree`.
    pub mem_free_bytes: u64,
    /// `MemAvailable` (3.14+).
    pub mem_available_bytes: Option<u64>,
    /// `Buffers`.
    pub buffers_bytes: u64,
    /// `Cached`.
    pub cached_bytes: u64,
    /// `SwapTotal` (0 without swap).
    pub swap_total_bytes: u64,
    /// `SwapFree`.
    pub swap_free_bytes: u64,
    /// `Shmem` (2.6.32+): in `Cached` but not reclaimable without swap.
    pub shmem_bytes: Option<u64>,
    /// `AnonPages`.
    pub anon_pages_bytes: Option<u64>,
    /// `SReclaimable`.
    pub sreclaimable_bytes: Option<u64>,
}

/// The keys memcanary reads, in the kernel's order.
const KEYS: [&[u8]; 10] = [
    b"MemTotal",
    b"MemFree",
    b"MemAvailable",
    b"Buffers",
    b"Cached",
    b"SwapTotal",
    b"SwapFree",
    b"Shmem",
    b"AnonPages",
    b"SReclaimable",
];

/// Bits of [`KEYS`] every kernel since 2.6 has.
const REQUIRED: u16 = 0b111_1011;

/// The index of `key` in [`KEYS`].
fn key_index(key: &[u8]) -> Option<usize> {
    KEYS.iter().position(|k| *k == key)
}

/// Stores a value for [`KEYS`]`[k]`.
fn set(m: &mut Meminfo, k: usize, v: u64) {
    match k {
        0 => m.mem_total_bytes = v,
        1 => m.mem_free_bytes = v,
        2 => m.mem_available_bytes = Some(v),
        3 => m.buffers_bytes = v,
        4 => m.cached_bytes = v,
        5 => m.swap_total_bytes = v,
        6 => m.swap_free_bytes = v,
        7 => m.shmem_bytes = Some(v),
        8 => m.anon_pages_bytes = Some(v),
        _ => m.sreclaimable_bytes = Some(v),
    }
}

/// Where each wanted line began in the last text parsed, for
/// [`Meminfo::parse_with_layout`].
///
/// The kernel prints `/proc/meminfo` in a fixed order with numbers padded to
/// a fixed width, so a second read almost always has every wanted line at
/// the same offset. Checking those ten lines where they were is a few
/// hundred instructions; splitting all ~55 lines is ten thousand, the
/// biggest part of an idle agent's turn. When a line has moved (a value
/// outgrew its width) the check fails and the full parse runs and learns
/// the new offsets.
///
/// With nothing learned (the default) the `REQUIRED` keys are absent, so the
/// check always fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MeminfoLayout {
    /// Where each [`KEYS`] line began.
    offsets: LineOffsets<{ KEYS.len() }>,
}

impl MeminfoLayout {
    /// The values at the learned offsets, or `None` if any wanted line is
    /// not exactly where it was (or is bad: the full parse names the error).
    #[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
    #[link_section = "memcanary_hot"]
    fn read(&self, text: &[u8]) -> Option<Meminfo> {
        if !text.ends_with(b"\n") {
            return None;
        }
        let mut m = Meminfo::default();
        let mut seen = 0u16;
        for (k, off) in self.offsets.learned() {
            if off > 0 && text.get(off - 1) != Some(&b'\n') {
                return None;
            }
            let rest = text.get(off..)?.strip_prefix(KEYS[k])?.strip_prefix(b":")?;
            let end = find_newline(rest)?;
            set(&mut m, k, kb_value(&rest[..end]).ok()?);
            seen |= 1 << k;
        }
        // An implausible file is the full parse's to name (line and key).
        (seen & REQUIRED == REQUIRED && m.plausible()).then_some(m)
    }
}

impl Meminfo {
    /// Parses the text of `/proc/meminfo`.
    pub fn parse(text: &str) -> Result<Meminfo, ParseError> {
        Meminfo::parse_bytes(text.as_bytes())
    }

    /// [`Meminfo::parse`] on the file's raw bytes, as read: no UTF-8
    /// validation (the text is ASCII; a stray byte in a wanted line is a
    /// bad number, elsewhere it is ignored).
    pub fn parse_bytes(text: &[u8]) -> Result<Meminfo, ParseError> {
        Meminfo::parse_learning(text, &mut MeminfoLayout::default())
    }

    /// [`Meminfo::parse_bytes`] for a file read again and again: the wanted
    /// lines are first looked for where `layout` says they were last time
    /// (see [`MeminfoLayout`]); otherwise the full parse runs and updates
    /// `layout`. Same answer as [`Meminfo::parse_bytes`] for text in which
    /// each key appears once, as the kernel prints it.
    #[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
    #[link_section = "memcanary_hot"]
    pub fn parse_with_layout(
        text: &[u8],
        layout: &mut MeminfoLayout,
    ) -> Result<Meminfo, ParseError> {
        match layout.read(text) {
            Some(m) => Ok(m),
            None => Meminfo::parse_learning(text, layout),
        }
    }

    /// The full parse; on success `layout` holds where each line was.
    #[inline(never)]
    fn parse_learning(text: &[u8], layout: &mut MeminfoLayout) -> Result<Meminfo, ParseError> {
        check_complete(ProcFile::Meminfo, text)?;
        let mut m = Meminfo::default();
        let mut learned = MeminfoLayout::default();
        let mut seen = 0u16;
        let mut lines = [0usize; 3];
        for (i, line) in numbered_lines(text) {
            // Every key we want starts with one of these: skip the other
            // ~45 lines of a modern kernel's meminfo without splitting them.
            // A line with no colon cannot hold one either.
            if !matches!(line.first(), Some(b'M' | b'B' | b'C' | b'S' | b'A')) {
                continue;
            }
            let Some((key, rest)) = split_once(line, b':') else {
                continue;
            };
            let Some(k) = key_index(key) else {
                continue;
            };
            let bytes = kb_value(rest)
                .map_err(|kind| ParseError::at(ProcFile::Meminfo, i + 1, key, kind))?;
            set(&mut m, k, bytes);
            seen |= 1 << k;
            if let Some(l) = lines.get_mut(k) {
                *l = i + 1;
            }
            learned.offsets.note(k, text, line);
        }
        if let Some(k) = (0..KEYS.len()).find(|k| REQUIRED & !seen & (1 << k) != 0) {
            let key = std::str::from_utf8(KEYS[k]).unwrap_or_default();
            return Err(ParseError::new(
                ProcFile::Meminfo,
                0,
                key,
                ParseErrorKind::Missing,
            ));
        }
        if !m.plausible() {
            return Err(m.implausible(lines[0], lines[2]));
        }
        *layout = learned;
        Ok(m)
    }

    /// `MemTotal` > 0 and `MemAvailable` (when present) <= `MemTotal`.
    fn plausible(&self) -> bool {
        self.mem_total_bytes > 0
            && self
                .mem_available_bytes
                .is_none_or(|a| a <= self.mem_total_bytes)
    }

    /// Why [`Meminfo::plausible`] said no, naming the line and key. A
    /// monitoring agent must not silently clamp a lying file: the error is
    /// logged, exported and names the file, where a clamp would report a
    /// full, calm host that may be neither.
    #[cold]
    #[inline(never)]
    fn implausible(&self, total_line: usize, avail_line: usize) -> ParseError {
        let (line, key, kind) = match self.mem_available_bytes {
            Some(a) if self.mem_total_bytes > 0 => (
                avail_line,
                "MemAvailable",
                ParseErrorKind::AboveTotal {
                    value_kb: a / 1024,
                    total_kb: self.mem_total_bytes / 1024,
                },
            ),
            _ => (total_line, "MemTotal", ParseErrorKind::Zero),
        };
        ParseError::new(ProcFile::Meminfo, line, key, kind)
    }

    /// `MemAvailable`, or on kernels before 3.14 an estimate (see the module
    /// doc); the flag says whether it was estimated.
    pub fn available_or_estimate(&self) -> (u64, bool) {
        match self.mem_available_bytes {
            Some(v) => (v, false),
            None => {
                let cache = self.buffers_bytes.saturating_add(self.cached_bytes);
                let cache = cache.saturating_sub(self.shmem_bytes.unwrap_or(0));
                let est = self.mem_free_bytes.saturating_add(cache);
                (est.min(self.mem_total_bytes), true)
            }
        }
    }
}

/// `"   1234 kB"` -> bytes. (What splitting on ASCII whitespace would give,
/// field by field, without an iterator: ten of these run every second.)
#[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
#[link_section = "memcanary_hot"]
fn kb_value(rest: &[u8]) -> Result<u64, ParseErrorKind> {
    let t = rest.trim_ascii();
    if t.is_empty() {
        return Err(ParseErrorKind::Malformed);
    }
    let (number, after) = split_field(t);
    let value = parse_u64(number)?;
    let (unit, after) = split_field(after.trim_ascii_start());
    match unit {
        b"kB" if after.is_empty() => value.checked_mul(1024).ok_or(ParseErrorKind::Overflow),
        _ => Err(ParseErrorKind::BadUnit(lossy(unit, 16))),
    }
}

/// The first field of `t` (up to ASCII whitespace) and what follows it.
fn split_field(t: &[u8]) -> (&[u8], &[u8]) {
    let end = t
        .iter()
        .position(u8::is_ascii_whitespace)
        .unwrap_or(t.len());
    t.split_at(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    const MODERN: &str = "MemTotal:       24684092 kB\nMemFree:        22064924 kB\n\
MemAvailable:   23990616 kB\nBuffers:           44504 kB\nCached:          2062336 kB\n\
SwapTotal:             0 kB\nSwapFree:              0 kB\nShmem:              8856 kB\n\
HugePages_Total:       0\nSomethingNew:   12 MB\n";

    #[test]
    fn converts_kb_to_bytes_and_ignores_unknown_keys() {
        let m = Meminfo::parse(MODERN).unwrap();
        assert_eq!(m.mem_total_bytes, 24684092 * 1024);
        assert_eq!(m.mem_available_bytes, Some(23990616 * 1024));
        assert_eq!(m.swap_total_bytes, 0);
        assert_eq!(m.shmem_bytes, Some(8856 * 1024));
        assert_eq!(m.anon_pages_bytes, None);
        assert_eq!(m.available_or_estimate(), (23990616 * 1024, false));
    }

    #[test]
    fn estimates_available_without_memavailable() {
        let text = "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 10 kB\nCached: 300 kB\n\
SwapTotal: 0 kB\nSwapFree: 0 kB\nShmem: 50 kB\n";
        let m = Meminfo::parse(text).unwrap();
        assert_eq!(
            m.available_or_estimate(),
            ((100 + 10 + 300 - 50) * 1024, true)
        );
    }

    #[test]
    fn missing_required_key_is_named() {
        let e = Meminfo::parse("MemTotal: 1 kB\n").unwrap_err();
        assert_eq!(
            (e.key.as_str(), e.kind),
            ("MemFree", ParseErrorKind::Missing)
        );
    }

    #[test]
    fn truncated_text_is_an_error() {
        let cut = &MODERN[..MODERN.find("SwapFree").unwrap() + 14];
        let e = Meminfo::parse(cut).unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::Truncated);
        assert_eq!(e.line, 7);
    }

    #[test]
    fn garbage_number_names_line_and_key() {
        let text = MODERN.replace("22064924", "22O64924");
        let e = Meminfo::parse(&text).unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (2, "MemFree"));
        assert!(matches!(e.kind, ParseErrorKind::BadNumber(_)));
    }

    /// A real 6.x meminfo, every line.
    const FULL: &str = include_str!("../../tests/fixtures/proc/linux-6.18/meminfo");

    #[test]
    fn layout_reads_in_place_and_relearns_when_a_line_moves() {
        let mut layout = MeminfoLayout::default();
        let first = Meminfo::parse_with_layout(FULL.as_bytes(), &mut layout).unwrap();
        assert_eq!(first, Meminfo::parse(FULL).unwrap());
        assert_ne!(layout, MeminfoLayout::default(), "learned");
        // Same widths, new values: read in place.
        let free = first.mem_free_bytes / 1024;
        let same = FULL.replacen(&free.to_string(), &(free - 1).to_string(), 1);
        let learned = layout;
        assert_eq!(
            layout.read(same.as_bytes()).unwrap().mem_free_bytes,
            (free - 1) * 1024
        );
        // A value one digit wider moves every later line: the in-place read
        // refuses, the full parse answers and learns the new offsets.
        let wider = FULL.replacen(&free.to_string(), &(free * 10).to_string(), 1);
        assert_eq!(layout.read(wider.as_bytes()), None);
        let m = Meminfo::parse_with_layout(wider.as_bytes(), &mut layout).unwrap();
        assert_eq!(m, Meminfo::parse(&wider).unwrap());
        assert_ne!(layout, learned);
        assert!(layout.read(wider.as_bytes()).is_some());
    }

    #[test]
    fn layout_leaves_errors_to_the_full_parse() {
        let mut layout = MeminfoLayout::default();
        Meminfo::parse_with_layout(FULL.as_bytes(), &mut layout).unwrap();
        let learned = layout;
        let bad = FULL.replacen(" kB\nMemFree", " kX\nMemFree", 1);
        let e = Meminfo::parse_with_layout(bad.as_bytes(), &mut layout).unwrap_err();
        assert_eq!(e, Meminfo::parse(&bad).unwrap_err());
        assert_eq!(layout, learned, "a failed parse keeps the old layout");
        let cut = &FULL[..FULL.len() - 3];
        let e = Meminfo::parse_with_layout(cut.as_bytes(), &mut layout).unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::Truncated);
    }

    proptest::proptest! {
        /// `kb_value` is the field-splitting definition, case for case.
        #[test]
        fn kb_value_is_split_ascii_whitespace(v in "[ \t]{0,3}[0-9x]{0,4}[ \t]{0,3}(kB|MB|k)?[ \t]{0,2}[a-z]{0,2}[ \t]{0,2}") {
            let mut parts = v.split_ascii_whitespace();
            let want = match parts.next() {
                None => Err(ParseErrorKind::Malformed),
                Some(n) => super::super::parse::parse_u64(n.as_bytes()).and_then(|value| {
                    match parts.next() {
                        Some("kB") if parts.next().is_none() => {
                            value.checked_mul(1024).ok_or(ParseErrorKind::Overflow)
                        }
                        Some(unit) => Err(ParseErrorKind::BadUnit(unit.into())),
                        None => Err(ParseErrorKind::BadUnit(String::new())),
                    }
                }),
            };
            proptest::prop_assert_eq!(kb_value(v.as_bytes()), want, "{:?}", v);
        }

        /// Any sequence of reads of one kernel's meminfo (each value any
        /// width, or garbage): in place or not, the answer is the full
        /// parse's, error for error.
        #[test]
        fn layout_answers_as_the_full_parse(
            reads in proptest::collection::vec(
                proptest::collection::vec(
                    proptest::prop_oneof![
                        8 => (0u64..2_000_000_000).prop_map(|v| v.to_string()),
                        1 => "[0-9a-z ]{0,3}",
                    ],
                    60,
                ),
                1..6,
            )
        ) {
            let mut layout = MeminfoLayout::default();
            for values in reads {
                let text: String = FULL
                    .lines()
                    .zip(values.iter().cycle())
                    .map(|(line, v)| match line.split_once(':') {
                        Some((key, rest)) if rest.ends_with(" kB") => format!("{key}: {v} kB\n"),
                        _ => format!("{line}\n"),
                    })
                    .collect();
                let want = Meminfo::parse(&text);
                let got = Meminfo::parse_with_layout(text.as_bytes(), &mut layout);
                proptest::prop_assert_eq!(got, want);
                // The same widths, other digits: the in-place read's case.
                let again: String = text
                    .chars()
                    .map(|c| c.to_digit(10).map_or(c, |d| char::from(b'0' + ((d + 3) % 10) as u8)))
                    .collect();
                let want = Meminfo::parse(&again);
                if let Some(m) = layout.read(again.as_bytes()) {
                    proptest::prop_assert_eq!(Ok(m), want.clone());
                }
                let got = Meminfo::parse_with_layout(again.as_bytes(), &mut layout);
                proptest::prop_assert_eq!(got, want);
            }
        }
    }

    #[test]
    fn memtotal_0_is_an_error() {
        let e = Meminfo::parse(&MODERN.replace("24684092 kB", "0 kB")).unwrap_err();
        assert_eq!(
            (e.key.as_str(), e.kind.clone()),
            ("MemTotal", ParseErrorKind::Zero)
        );
        assert_eq!(
            e.to_string(),
            "meminfo: line 1, key \"MemTotal\": must be more than 0"
        );
    }

    #[test]
    fn memavailable_above_memtotal_is_an_error_in_place_too() {
        let mut layout = MeminfoLayout::default();
        Meminfo::parse_with_layout(MODERN.as_bytes(), &mut layout).unwrap();
        let lying = MODERN.replace("23990616 kB", "24684093 kB");
        for e in [
            Meminfo::parse(&lying).unwrap_err(),
            Meminfo::parse_with_layout(lying.as_bytes(), &mut layout).unwrap_err(),
        ] {
            assert_eq!(
                e.to_string(),
                "meminfo: line 3, key \"MemAvailable\": 24684093 kB is more than MemTotal (24684092 kB)"
            );
        }
        let equal = MODERN.replace("23990616 kB", "24684092 kB");
        assert!(Meminfo::parse(&equal).is_ok());
    }

    #[test]
    fn wrong_unit_and_overflow_are_errors() {
        let e = Meminfo::parse(&MODERN.replace("44504 kB", "44504 MB")).unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::BadUnit("MB".into()));
        let huge = MODERN.replace("44504 kB", "18446744073709551615 kB");
        assert_eq!(
            Meminfo::parse(&huge).unwrap_err().kind,
            ParseErrorKind::Overflow
        );
    }
}
