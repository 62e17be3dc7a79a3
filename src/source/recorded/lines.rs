//! Whole lines from any reader, in batches, with a cap on their length.
//!
//! An export holds lines of every length: a year of one series is one line
//! of ~50 MB, a fleet's day is hundreds of thousands of lines of a few kB.
//! [`LineReader`] reads 8 MB at a time into its own buffer and hands out
//! batches of whole lines (about [`BATCH`] bytes each) copied out of it. A
//! line that outgrows one read is read straight into the caller's buffer
//! instead, so a long line is copied once. Nothing moves per line: the rest
//! of the buffer moves to its front only when a partial line must wait for
//! the next read, once per read at most.
//!
//! A line longer than the cap is an error naming the file and the line, so
//! no input (`/dev/zero`, a gzip bomb, a binary file) makes a reader grow
//! without bound: one buffer holds at most the cap plus two reads.

use super::error::{Pos, Problem, RecordedError};
use std::io::Read;

/// Bytes read at once: lines of a long export are tens of megabytes.
const CHUNK: usize = 8 << 20;

/// Short lines are handed out together, up to about this many bytes: one
/// hand-over per batch, not per line.
pub(super) const BATCH: usize = 1 << 20;

/// Splits a reader into batches of whole lines.
pub(super) struct LineReader<'a, R> {
    inner: R,
    /// The input's name in errors.
    origin: &'a str,
    /// The longest line accepted (bytes, without its `\n`).
    max_line: usize,
    /// Read but not handed out: `buf[start..]`.
    buf: Vec<u8>,
    start: usize,
    eof: bool,
    /// Lines handed out so far.
    lines: u64,
    /// Bytes copied by the reader itself (hand-outs and moves): stays
    /// within a small multiple of the input, whatever its line lengths.
    copied: u64,
}

impl<'a, R: Read> LineReader<'a, R> {
    /// A reader of `inner` (named `origin` in errors) refusing lines longer
    /// than `max_line` bytes.
    pub fn new(inner: R, origin: &'a str, max_line: usize) -> Self {
        LineReader {
            inner,
            origin,
            max_line,
            buf: Vec::new(),
            start: 0,
            eof: false,
            lines: 0,
            copied: 0,
        }
    }

    /// Replaces `out` with the next whole lines, each with its `\n` (the
    /// input's last line perhaps without); returns the 1-based number of
    /// the first of them, `None` at the end of the input.
    pub fn next_batch(&mut self, out: &mut Vec<u8>) -> Result<Option<u64>, RecordedError> {
        out.clear();
        loop {
            let rest = self.buf.len() - self.start;
            if let Some(end) = batch_end(&self.buf[self.start..]) {
                return self.hand_out(end, out).map(Some);
            }
            if self.eof {
                return match rest {
                    0 => Ok(None),
                    _ => self.hand_out(rest, out).map(Some),
                };
            }
            if rest > self.max_line {
                return Err(self.too_long());
            }
            if rest >= CHUNK {
                return self.long_line(out).map(Some);
            }
            self.compact();
            let n = self.read_into_buf()?;
            self.eof = n == 0;
        }
    }

    /// Copies the lines in `buf[start..start + end]` to `out`: all of them,
    /// or those before one that is too long (an error if that is the first).
    fn hand_out(&mut self, end: usize, out: &mut Vec<u8>) -> Result<u64, RecordedError> {
        let bytes = &self.buf[self.start..self.start + end];
        let (n, end) = lines_within(bytes, self.max_line);
        if n == 0 {
            return Err(self.too_long());
        }
        out.extend_from_slice(&bytes[..end]);
        self.copied += end as u64;
        self.start += end;
        let first = self.lines + 1;
        self.lines += n;
        Ok(first)
    }

    /// A line longer than one read: the start read so far moves to `out`,
    /// the rest is read into `out` directly, what follows the line moves back.
    fn long_line(&mut self, out: &mut Vec<u8>) -> Result<u64, RecordedError> {
        out.extend_from_slice(&self.buf[self.start..]);
        self.copied += (self.buf.len() - self.start) as u64;
        self.buf.clear();
        self.start = 0;
        let mut searched = 0;
        loop {
            if let Some(p) = memchr::memchr(b'\n', &out[searched..]) {
                let end = searched + p + 1;
                if end - 1 > self.max_line {
                    return Err(self.too_long());
                }
                self.buf.extend_from_slice(&out[end..]);
                self.copied += (out.len() - end) as u64;
                out.truncate(end);
                break;
            }
            if out.len() > self.max_line {
                return Err(self.too_long());
            }
            if self.eof {
                break;
            }
            searched = out.len();
            let n = read_chunk(&mut self.inner, out).map_err(|e| self.io(e))?;
            self.eof = n == 0;
        }
        self.lines += 1;
        Ok(self.lines)
    }

    /// Moves the unread rest to the front of the buffer.
    fn compact(&mut self) {
        if self.start > 0 {
            self.buf.copy_within(self.start.., 0);
            self.copied += (self.buf.len() - self.start) as u64;
            self.buf.truncate(self.buf.len() - self.start);
            self.start = 0;
        }
    }

    fn read_into_buf(&mut self) -> Result<usize, RecordedError> {
        read_chunk(&mut self.inner, &mut self.buf).map_err(|e| self.io(e))
    }

    /// The line after the last one handed out is too long.
    fn too_long(&self) -> RecordedError {
        let p = Problem::LineTooLong {
            limit_bytes: self.max_line as u64,
        };
        RecordedError::at(self.origin, Pos::Line(self.lines + 1), None, p)
    }

    fn io(&self, source: std::io::Error) -> RecordedError {
        RecordedError::Io {
            origin: self.origin.to_string(),
            source,
        }
    }
}

/// Appends up to one [`CHUNK`] of `inner` to `buf`; 0 at the end.
fn read_chunk(inner: &mut impl Read, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    buf.reserve(CHUNK);
    inner.take(CHUNK as u64).read_to_end(buf)
}

/// Where a batch of whole lines at the start of `rest` ends: after the last
/// `\n` within [`BATCH`] bytes, else after the first `\n`; `None` if none.
fn batch_end(rest: &[u8]) -> Option<usize> {
    let window = rest.len().min(BATCH);
    memchr::memrchr(b'\n', &rest[..window])
        .or_else(|| memchr::memchr(b'\n', &rest[window..]).map(|p| window + p))
        .map(|p| p + 1)
}

/// How many lines `bytes` holds (a last one without `\n` included) and
/// where they end; if one is longer than `max_line`, those before it.
fn lines_within(bytes: &[u8], max_line: usize) -> (u64, usize) {
    let (mut n, mut from) = (0u64, 0usize);
    for nl in memchr::memchr_iter(b'\n', bytes) {
        if nl - from > max_line {
            return (n, from);
        }
        n += 1;
        from = nl + 1;
    }
    if from < bytes.len() && bytes.len() - from <= max_line {
        return (n + 1, bytes.len());
    }
    (n, from)
}

/// The lines of a batch, each with its `\n` (the last perhaps without).
pub(super) fn split_lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = memchr::memchr(b'\n', rest).map_or(rest.len(), |p| p + 1);
        let (line, tail) = rest.split_at(end);
        rest = tail;
        Some(line)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out one byte per call, like a slow pipe.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let Some((&b, rest)) = self.0.split_first() else {
                return Ok(0);
            };
            if buf.is_empty() {
                return Ok(0);
            }
            buf[0] = b;
            self.0 = rest;
            Ok(1)
        }
    }

    type Numbered = Vec<(u64, Vec<u8>)>;

    /// Every line with its number, and the reader's copy count.
    fn numbered(r: impl Read, max_line: usize) -> Result<(Numbered, u64), String> {
        let mut r = LineReader::new(r, "t", max_line);
        let (mut out, mut batch) = (Vec::new(), Vec::new());
        while let Some(first) = r.next_batch(&mut batch).map_err(|e| e.to_string())? {
            for (i, line) in split_lines(&batch).enumerate() {
                out.push((first + i as u64, line.to_vec()));
            }
        }
        Ok((out, r.copied))
    }

    fn lines(input: &[u8]) -> Vec<String> {
        let (got, _) = numbered(Trickle(input), usize::MAX).unwrap();
        for (i, (n, _)) in got.iter().enumerate() {
            assert_eq!(*n, i as u64 + 1);
        }
        got.into_iter()
            .map(|(_, l)| String::from_utf8(l).unwrap())
            .collect()
    }

    #[test]
    fn line_reader_splits_like_read_until() {
        assert_eq!(lines(b"ab\nc\n\nd"), ["ab\n", "c\n", "\n", "d"]);
        assert_eq!(lines(b"x\n"), ["x\n"]);
        assert!(lines(b"").is_empty());
    }

    /// Lines of every length across read boundaries, long ones included:
    /// the same lines as `split`, numbered in order.
    #[test]
    fn lines_of_every_length_come_out_whole_and_numbered() {
        let mut input = Vec::new();
        let mut want = Vec::new();
        for (i, len) in [10, CHUNK - 3, 1, 0, 3 * CHUNK + 5, 200, BATCH + 7, 5]
            .into_iter()
            .cycle()
            .take(20)
            .enumerate()
        {
            let mut line = vec![b'a' + (i % 26) as u8; len];
            line.push(b'\n');
            input.extend_from_slice(&line);
            want.push(line);
        }
        input.extend_from_slice(b"tail");
        want.push(b"tail".to_vec());
        let (got, _) = numbered(&input[..], usize::MAX).unwrap();
        let got: Vec<_> = got.into_iter().map(|(_, l)| l).collect();
        assert_eq!(got.len(), want.len());
        assert!(got == want);
    }

    /// Regression (issue 14): the reader copied the rest of its 8 MB read
    /// for every line, so short lines cost megabytes each. Now every byte
    /// is copied about once.
    #[test]
    fn short_lines_are_not_copied_per_line() {
        let line = [b"x".repeat(99), b"\n".to_vec()].concat();
        let input = line.repeat(300_000); // 30 MB, four reads
        let (got, copied) = numbered(&input[..], usize::MAX).unwrap();
        assert_eq!(got.len(), 300_000);
        assert!(
            copied <= input.len() as u64 * 11 / 10,
            "{copied} bytes copied"
        );
    }

    /// Regression (issue 14): no cap, so `/dev/zero` grew the buffer until
    /// memory ran out. An endless line is an error naming file and line.
    #[test]
    fn an_endless_line_is_an_error_not_a_growing_buffer() {
        let input = (&b"ok\n"[..]).chain(std::io::repeat(b'x'));
        let mut r = LineReader::new(input, "zero", 3 * CHUNK);
        let mut batch = Vec::new();
        assert_eq!(r.next_batch(&mut batch).unwrap(), Some(1));
        let e = r.next_batch(&mut batch).unwrap_err().to_string();
        let want = format!("zero: line 2: line longer than {} bytes", 3 * CHUNK);
        assert!(e.starts_with(&want), "{e}");
        assert!(
            batch.capacity() <= 3 * (3 * CHUNK + CHUNK),
            "{}",
            batch.capacity()
        );
    }

    #[test]
    fn a_long_line_among_short_ones_is_named_by_its_number() {
        let mut input = b"a\nbb\n".to_vec();
        input.extend_from_slice(&[b'y'; 101]);
        input.extend_from_slice(b"\nc\n");
        let e = numbered(&input[..], 100).unwrap_err();
        assert!(
            e.starts_with("t: line 3: line longer than 100 bytes"),
            "{e}"
        );
        // At the cap exactly is fine, the last line without `\n` too.
        let (got, _) = numbered(&[b'z'; 100][..], 100).unwrap();
        assert_eq!(got.len(), 1);
        assert!(numbered(&[b'z'; 101][..], 100).is_err());
    }
}
