//! `/proc/vmstat`: [`Vmstat::parse`], the counters memcanary uses.
//!
//! Every field is `Option`: `oom_kill` is 4.13+, and a kernel may lack any of
//! them. Unknown keys are ignored whatever their lines hold; a wanted key
//! with a bad value is an error naming the line. No allocation on success.
//!
//! [`Vmstat::parse_with_layout`] reads the file again and again as the agent
//! does: the four wanted lines are looked for near where the last read found
//! them ([`VmstatLayout`]) instead of splitting all ~180 lines.

use super::parse::{
    check_complete, fields, find_newline, numbered_lines, parse_u64, LineOffsets, ParseError,
    ParseErrorKind, ProcFile,
};

/// The `/proc/vmstat` counters memcanary uses (raw cumulative counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Vmstat {
    /// `pgmajfault`: major page faults.
    pub pgmajfault: Option<u64>,
    /// `pswpin`: pages swapped in.
    pub pswpin: Option<u64>,
    /// `pswpout`: pages swapped out.
    pub pswpout: Option<u64>,
    /// `oom_kill`: OOM kills (4.13+).
    pub oom_kill: Option<u64>,
}

/// The keys memcanary reads, in the kernel's order.
const KEYS: [&[u8]; 4] = [b"pswpin", b"pswpout", b"pgmajfault", b"oom_kill"];

/// Stores a value for [`KEYS`]`[k]`.
fn set(v: &mut Vmstat, k: usize, n: u64) {
    let dst = match k {
        0 => &mut v.pswpin,
        1 => &mut v.pswpout,
        2 => &mut v.pgmajfault,
        _ => &mut v.oom_kill,
    };
    *dst = Some(n);
}

/// Where each wanted line began in the last text parsed, for
/// [`Vmstat::parse_with_layout`].
///
/// Unlike meminfo, vmstat's numbers are not padded: a line moves whenever a
/// value before it gains or loses a digit. It does not move far between two
/// reads, and the keys come in a fixed order, so each wanted line is looked
/// for where the last one was, shifted by how far the line before it moved,
/// and else among the lines within 256 bytes of there (`NEAR`). A
/// line not found, or not a plain `key value` line, falls back to the full
/// parse, which answers and relearns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VmstatLayout {
    /// Where each [`KEYS`] line began.
    offsets: LineOffsets<{ KEYS.len() }>,
}

impl VmstatLayout {
    /// How far from where it is expected a line is looked for.
    const NEAR: usize = 256;

    /// The values near the learned offsets, or `None` if nothing is learned
    /// or any wanted line is not found there as `key value` (the full
    /// parse then answers, or names the error).
    #[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
    #[link_section = "memcanary_hot"]
    fn read(&self, text: &[u8]) -> Option<Vmstat> {
        if !text.ends_with(b"\n") {
            return None;
        }
        let mut v = Vmstat::default();
        let mut moved = 0isize;
        let mut found = false;
        for (k, off) in self.offsets.learned() {
            let key = KEYS[k];
            let want = (off as isize + moved).clamp(0, text.len() as isize) as usize;
            let start = line_near(text, want, key)?;
            moved = start as isize - off as isize;
            let rest = &text[start + key.len() + 1..];
            let end = find_newline(rest)?;
            set(&mut v, k, parse_u64(&rest[..end]).ok()?);
            found = true;
        }
        found.then_some(v)
    }
}

/// The start of the line `key` + `' '` at `want`, else of the first such
/// line that starts within [`VmstatLayout::NEAR`] bytes of it.
#[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
#[link_section = "memcanary_hot"]
fn line_near(text: &[u8], want: usize, key: &[u8]) -> Option<usize> {
    let starts = |s: usize| {
        (s == 0 || text[s - 1] == b'\n')
            && text[s..].starts_with(key)
            && text.get(s + key.len()) == Some(&b' ')
    };
    if starts(want) {
        return Some(want);
    }
    let lo = want.saturating_sub(VmstatLayout::NEAR);
    let hi = (want + VmstatLayout::NEAR).min(text.len());
    if starts(lo) {
        return Some(lo);
    }
    let mut at = lo;
    while let Some(i) = find_newline(&text[at..hi]) {
        at += i + 1;
        if starts(at) {
            return Some(at);
        }
    }
    None
}

impl Vmstat {
    /// Parses the text of `/proc/vmstat`.
    pub fn parse(text: &str) -> Result<Vmstat, ParseError> {
        Vmstat::parse_bytes(text.as_bytes())
    }

    /// [`Vmstat::parse`] on the file's raw bytes, as read (no UTF-8
    /// validation, as [`super::Meminfo::parse_bytes`]).
    pub fn parse_bytes(text: &[u8]) -> Result<Vmstat, ParseError> {
        Vmstat::parse_learning(text, &mut VmstatLayout::default())
    }

    /// [`Vmstat::parse_bytes`] for a file read again and again: the wanted
    /// lines are first looked for near where `layout` says they were (see
    /// [`VmstatLayout`]); otherwise the full parse runs and updates
    /// `layout`. Same answer as [`Vmstat::parse_bytes`] for text in which
    /// each key appears once, as the kernel prints it.
    #[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
    #[link_section = "memcanary_hot"]
    pub fn parse_with_layout(text: &[u8], layout: &mut VmstatLayout) -> Result<Vmstat, ParseError> {
        match layout.read(text) {
            Some(v) => Ok(v),
            None => Vmstat::parse_learning(text, layout),
        }
    }

    /// The full parse; on success `layout` holds where each line was.
    // Not inlined into the sample path, and not in the hot section: it runs
    // at the first read and when a line has moved too far.
    #[inline(never)]
    fn parse_learning(text: &[u8], layout: &mut VmstatLayout) -> Result<Vmstat, ParseError> {
        check_complete(ProcFile::Vmstat, text)?;
        let mut v = Vmstat::default();
        let mut learned = VmstatLayout::default();
        for (i, line) in numbered_lines(text) {
            // ~180 lines, four keys wanted: skip the others on their first
            // byte before splitting.
            if !matches!(line.first(), Some(b'p' | b'o')) {
                continue;
            }
            let mut parts = fields(line);
            let Some(k) = parts
                .next()
                .and_then(|key| KEYS.iter().position(|k| *k == key))
            else {
                continue;
            };
            let err = |kind| ParseError::at(ProcFile::Vmstat, i + 1, KEYS[k], kind);
            let (Some(value), None) = (parts.next(), parts.next()) else {
                return Err(err(ParseErrorKind::Malformed));
            };
            set(&mut v, k, parse_u64(value).map_err(err)?);
            learned.offsets.note(k, text, line);
        }
        *layout = learned;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TEXT: &str = "nr_free_pages 5\nnr_dirty 12\nworkingset_refault_anon 3\npgpgin 10\n\
pswpin 1\npswpout 2\npgalloc_normal 99\npgfault 1000\npgmajfault 443\nallocstall_normal 7\n\
oom_kill 2\nunevictable_pgs_culled 0\n";

    #[test]
    fn reads_the_four_counters() {
        let v = Vmstat::parse(TEXT).unwrap();
        assert_eq!(
            v,
            Vmstat {
                pgmajfault: Some(443),
                pswpin: Some(1),
                pswpout: Some(2),
                oom_kill: Some(2),
            }
        );
    }

    #[test]
    fn old_kernel_lacks_oom_kill() {
        let v = Vmstat::parse("pgmajfault 10\nallocstall 3\nworkingset_refault 9\n").unwrap();
        assert_eq!(v.oom_kill, None);
        assert_eq!(v.pgmajfault, Some(10));
    }

    #[test]
    fn bad_value_names_line_and_key() {
        let e = Vmstat::parse("nr_free_pages 1\npswpin x1\n").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (2, "pswpin"));
        let e = Vmstat::parse("pswpin 1 2\n").unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::Malformed);
        let e = Vmstat::parse("pswpin 1\npgmaj").unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::Truncated);
    }

    #[test]
    fn garbage_in_unknown_keys_is_ignored() {
        let v = Vmstat::parse("nr_new_thing banana\npgnew 1 2 3\npgmajfault 1\n").unwrap();
        assert_eq!(v.pgmajfault, Some(1));
    }

    #[test]
    fn layout_finds_lines_that_moved_and_relearns_when_they_moved_far() {
        let mut layout = VmstatLayout::default();
        assert_eq!(layout.read(TEXT.as_bytes()), None, "nothing learned yet");
        let first = Vmstat::parse_with_layout(TEXT.as_bytes(), &mut layout).unwrap();
        assert_eq!(first, Vmstat::parse(TEXT).unwrap());
        // Values before and between the wanted lines change width: found
        // in place, with the new values.
        let moved = TEXT
            .replace("nr_dirty 12", "nr_dirty 1")
            .replace("pgalloc_normal 99", "pgalloc_normal 100000")
            .replace("pgmajfault 443", "pgmajfault 4430");
        let v = layout.read(moved.as_bytes()).unwrap();
        assert_eq!(v, Vmstat::parse(&moved).unwrap());
        assert_eq!(v.pgmajfault, Some(4430));
        // Lines that moved further than NEAR: the full parse answers and
        // learns where they are now.
        let far = TEXT
            .replace("pgpgin 10", &format!("pgpgin {}", "9".repeat(19)))
            .replace("nr_free_pages 5\n", &"nr_x 1\n".repeat(60));
        assert_eq!(layout.read(far.as_bytes()), None);
        let v = Vmstat::parse_with_layout(far.as_bytes(), &mut layout).unwrap();
        assert_eq!(v, Vmstat::parse(&far).unwrap());
        assert_eq!(layout.read(far.as_bytes()), Some(v));
    }

    #[test]
    fn layout_leaves_errors_to_the_full_parse() {
        let mut layout = VmstatLayout::default();
        Vmstat::parse_with_layout(TEXT.as_bytes(), &mut layout).unwrap();
        let learned = layout;
        for bad in [
            TEXT.replace("pswpout 2", "pswpout 2x"),
            TEXT.replace("pswpout 2", "pswpout 2 3"),
            TEXT[..TEXT.len() - 3].to_string(),
        ] {
            let e = Vmstat::parse_with_layout(bad.as_bytes(), &mut layout).unwrap_err();
            assert_eq!(e, Vmstat::parse(&bad).unwrap_err());
            assert_eq!(layout, learned, "a failed parse keeps the old layout");
        }
    }

    proptest::proptest! {
        /// Any sequence of reads, each of the same keys in the same order
        /// with values of any width (or bad ones), answers as the full
        /// parse, error for error.
        #[test]
        fn layout_reads_answer_as_the_full_parse(
            fillers in proptest::collection::vec(0usize..40, 5),
            reads in proptest::collection::vec(
                proptest::collection::vec(
                    proptest::prop_oneof![
                        8 => (0u64..u64::MAX).prop_map(|n| n.to_string()),
                        8 => (0u64..1000).prop_map(|n| n.to_string()),
                        1 => Just("x".to_string()),
                        1 => Just("1 2".to_string()),
                    ],
                    4 + 5 * 40,
                ),
                1..6,
            ),
        ) {
            let mut layout = VmstatLayout::default();
            for values in &reads {
                // Filler lines around and between the four keys, in order.
                let mut text = String::new();
                let mut vals = values.iter();
                for (g, &n) in fillers.iter().enumerate() {
                    for j in 0..n {
                        let v = vals.next().unwrap();
                        text.push_str(&format!("nr_filler_{g}_{j} {v}\n"));
                    }
                    if let Some(key) = KEYS.get(g) {
                        let v = vals.next().unwrap();
                        text.push_str(&format!("{} {v}\n", std::str::from_utf8(key).unwrap()));
                    }
                }
                let want = Vmstat::parse(&text);
                let got = Vmstat::parse_with_layout(text.as_bytes(), &mut layout);
                prop_assert_eq!(got, want, "{}", text);
            }
        }
    }
}
