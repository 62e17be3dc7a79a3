//! `/proc/meminfo`: [`Meminfo::parse`], kB converted to bytes on the way in.
//!
//! Fields every kernel since 2.6 has are required (`MemTotal`, `MemFree`,
//! `Buffers`, `Cached`, `SwapTotal`, `SwapFree`); newer ones are `Option`.
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
    check_complete, numbered_lines, parse_u64, ParseError, ParseErrorKind, ProcFile,
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

/// Which field a line fills; `None` for keys we ignore.
fn slot<'a>(m: &'a mut Meminfo, key: &str) -> Option<Slot<'a>> {
    Some(match key {
        "MemTotal" => Slot::Req(&mut m.mem_total_bytes),
        "MemFree" => Slot::Req(&mut m.mem_free_bytes),
        "MemAvailable" => Slot::Opt(&mut m.mem_available_bytes),
        "Buffers" => Slot::Req(&mut m.buffers_bytes),
        "Cached" => Slot::Req(&mut m.cached_bytes),
        "SwapTotal" => Slot::Req(&mut m.swap_total_bytes),
        "SwapFree" => Slot::Req(&mut m.swap_free_bytes),
        "Shmem" => Slot::Opt(&mut m.shmem_bytes),
        "AnonPages" => Slot::Opt(&mut m.anon_pages_bytes),
        "SReclaimable" => Slot::Opt(&mut m.sreclaimable_bytes),
        _ => return None,
    })
}

enum Slot<'a> {
    Req(&'a mut u64),
    Opt(&'a mut Option<u64>),
}

/// Bit per required key, to report the first one missing.
const REQUIRED: [&str; 6] = [
    "MemTotal",
    "MemFree",
    "Buffers",
    "Cached",
    "SwapTotal",
    "SwapFree",
];

impl Meminfo {
    /// Parses the text of `/proc/meminfo`.
    pub fn parse(text: &str) -> Result<Meminfo, ParseError> {
        check_complete(ProcFile::Meminfo, text)?;
        let mut m = Meminfo::default();
        let mut seen = 0u8;
        for (i, line) in numbered_lines(text) {
            // Every key we want starts with one of these: skip the other
            // ~45 lines of a modern kernel's meminfo without splitting them.
            if !matches!(
                line.as_bytes().first(),
                Some(b'M' | b'B' | b'C' | b'S' | b'A')
            ) {
                continue;
            }
            let err = |key: &str, kind| ParseError::new(ProcFile::Meminfo, i + 1, key, kind);
            let Some((key, rest)) = line.split_once(':') else {
                if line.trim().is_empty() {
                    continue;
                }
                return Err(err(line, ParseErrorKind::Malformed));
            };
            let Some(dst) = slot(&mut m, key) else {
                continue;
            };
            let bytes = kb_value(rest).map_err(|k| err(key, k))?;
            if let Some(bit) = REQUIRED.iter().position(|r| *r == key) {
                seen |= 1 << bit;
            }
            match dst {
                Slot::Req(v) => *v = bytes,
                Slot::Opt(v) => *v = Some(bytes),
            }
        }
        if let Some(missing) = (0..REQUIRED.len()).find(|b| seen & (1 << b) == 0) {
            let e = ParseError::new(
                ProcFile::Meminfo,
                0,
                REQUIRED[missing],
                ParseErrorKind::Missing,
            );
            return Err(e);
        }
        Ok(m)
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

/// `"   1234 kB"` -> bytes.
fn kb_value(rest: &str) -> Result<u64, ParseErrorKind> {
    let mut parts = rest.split_ascii_whitespace();
    let number = parts.next().ok_or(ParseErrorKind::Malformed)?;
    let value = parse_u64(number)?;
    match parts.next() {
        Some("kB") if parts.next().is_none() => {
            value.checked_mul(1024).ok_or(ParseErrorKind::Overflow)
        }
        Some(unit) => Err(ParseErrorKind::BadUnit(unit.chars().take(16).collect())),
        None => Err(ParseErrorKind::BadUnit(String::new())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
