//! `/proc/vmstat`: [`Vmstat::parse`], the reclaim counters memcanary uses.
//!
//! Every field is `Option`: vmstat's keys change between kernels
//! (`oom_kill` is 4.13+, `workingset_refault` split into `_anon`/`_file` in
//! 5.9, `allocstall` split per zone in 4.8). Split counters are summed so the
//! value means the same on every kernel. Unknown keys are ignored; a known key
//! with a bad value is an error naming the line; unknown lines are not looked
//! at. No allocation on success.

use super::parse::{
    check_complete, fields, numbered_lines, parse_u64, ParseError, ParseErrorKind, ProcFile,
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
    /// `workingset_refault` (before 5.9) or `_anon + _file` (5.9+).
    pub workingset_refault: Option<u64>,
    /// `allocstall` (before 4.8) or the sum of `allocstall_*`: direct reclaim
    /// entries.
    pub allocstall: Option<u64>,
}

fn add(dst: &mut Option<u64>, v: u64) {
    *dst = Some(dst.unwrap_or(0).wrapping_add(v));
}

impl Vmstat {
    /// Parses the text of `/proc/vmstat`.
    pub fn parse(text: &str) -> Result<Vmstat, ParseError> {
        Vmstat::parse_bytes(text.as_bytes())
    }

    /// [`Vmstat::parse`] on the file's raw bytes, as read (no UTF-8
    /// validation, as [`super::Meminfo::parse_bytes`]).
    // Not inlined into the sample path, and not in the hot section: the
    // agent reads vmstat every few seconds while calm, not every second.
    #[inline(never)]
    pub fn parse_bytes(text: &[u8]) -> Result<Vmstat, ParseError> {
        check_complete(ProcFile::Vmstat, text)?;
        let mut v = Vmstat::default();
        for (i, line) in numbered_lines(text) {
            // ~180 lines, six keys wanted: skip the others on their first
            // byte before splitting (the agent parses this every few seconds
            // while calm, every sample under pressure).
            if !matches!(line.first(), Some(b'p' | b'o' | b'w' | b'a')) {
                continue;
            }
            let err = |key: &[u8], kind| ParseError::at(ProcFile::Vmstat, i + 1, key, kind);
            let mut parts = fields(line);
            let (Some(key), Some(value), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(err(line, ParseErrorKind::Malformed));
            };
            let dst = match key {
                b"pgmajfault" => &mut v.pgmajfault,
                b"pswpin" => &mut v.pswpin,
                b"pswpout" => &mut v.pswpout,
                b"oom_kill" => &mut v.oom_kill,
                b"workingset_refault" | b"workingset_refault_anon" | b"workingset_refault_file" => {
                    &mut v.workingset_refault
                }
                k if k == b"allocstall" || k.starts_with(b"allocstall_") => &mut v.allocstall,
                _ => continue,
            };
            let n = parse_u64(value).map_err(|k| err(key, k))?;
            add(dst, n);
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_modern_split_counters_as_sums() {
        let text = "nr_free_pages 5\nworkingset_refault_anon 3\nworkingset_refault_file 4\n\
pswpin 1\npswpout 2\nallocstall_dma 0\nallocstall_normal 7\nallocstall_movable 1\n\
pgmajfault 443\noom_kill 2\n";
        let v = Vmstat::parse(text).unwrap();
        assert_eq!(v.workingset_refault, Some(7));
        assert_eq!(v.allocstall, Some(8));
        assert_eq!(v.pgmajfault, Some(443));
        assert_eq!(v.oom_kill, Some(2));
    }

    #[test]
    fn old_kernel_lacks_oom_kill() {
        let v = Vmstat::parse("pgmajfault 10\nallocstall 3\nworkingset_refault 9\n").unwrap();
        assert_eq!(v.oom_kill, None);
        assert_eq!(v.allocstall, Some(3));
        assert_eq!(v.workingset_refault, Some(9));
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
        let v = Vmstat::parse("nr_new_thing banana\npgmajfault 1\n").unwrap();
        assert_eq!(v.pgmajfault, Some(1));
    }
}
