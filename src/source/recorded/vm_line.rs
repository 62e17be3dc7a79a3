//! One line of VictoriaMetrics `/api/v1/export` JSON: find its parts, and
//! parse only what memcanary uses.
//!
//! A line of a year-long export holds millions of numbers, most of them in
//! series memcanary ignores. So the line is scanned, not deserialized: the
//! small `metric` object goes through serde, the two arrays are located with
//! `memchr` and only parsed (by hand, see [`super::number`]) when the series
//! maps to a sample field. Of an ignored series only the last timestamp is
//! read, because every series of a host tells when the host was last seen.

use super::error::Problem;
use super::number::{check_value, fast_decimal, fast_int, slow_f64, slow_ms};
use crate::signal::node_exporter::Field;
use serde::de::IgnoredAny;
use serde::Deserialize;

/// A problem at a byte offset in the line.
pub(super) type LineError = (usize, Problem);

/// The labels memcanary keys on.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Labels {
    /// `__name__`.
    #[serde(rename = "__name__")]
    pub name: Option<String>,
    /// `instance`.
    pub instance: Option<String>,
    /// `job`.
    pub job: Option<String>,
}

/// The parts of a line: labels, and the insides of its two arrays with
/// their byte offsets in the line.
#[derive(Debug, Default)]
pub(super) struct RawLine<'a> {
    pub labels: Option<Labels>,
    pub values: Option<(usize, &'a [u8])>,
    pub timestamps: Option<(usize, &'a [u8])>,
}

#[inline]
fn ws(s: &[u8], mut i: usize) -> usize {
    while matches!(s.get(i), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        i += 1;
    }
    i
}

fn syntax(at: usize, msg: &str) -> LineError {
    (at, Problem::Syntax(msg.to_string()))
}

fn expect(s: &[u8], i: usize, c: u8) -> Result<(), LineError> {
    match s.get(i) {
        Some(&b) if b == c => Ok(()),
        _ => Err(syntax(i, &format!("expected '{}'", char::from(c)))),
    }
}

/// Deserializes one JSON value at `i` with serde; returns it and the end.
fn serde_at<'a, T: Deserialize<'a>>(s: &'a [u8], i: usize) -> Result<(T, usize), LineError> {
    let mut it = serde_json::Deserializer::from_slice(&s[i..]).into_iter::<T>();
    match it.next() {
        Some(Ok(v)) => Ok((v, i + it.byte_offset())),
        Some(Err(e)) => {
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            Err((i + e.column().saturating_sub(1), Problem::Syntax(msg)))
        }
        None => Err(syntax(i, "expected a value")),
    }
}

/// An object key at `i` (plain keys are compared without copying).
fn key_at(s: &[u8], i: usize) -> Result<(std::borrow::Cow<'_, [u8]>, usize), LineError> {
    expect(s, i, b'"')?;
    let end = memchr::memchr(b'"', &s[i + 1..]).ok_or_else(|| syntax(i, "unterminated string"))?;
    let raw = &s[i + 1..i + 1 + end];
    if !raw.contains(&b'\\') {
        return Ok((raw.into(), i + end + 2));
    }
    let (k, next): (String, usize) = serde_at(s, i)?;
    Ok((k.into_bytes().into(), next))
}

/// The inside of an array of numbers at `i`, found without parsing it.
fn array_at(s: &[u8], i: usize) -> Result<((usize, &[u8]), usize), LineError> {
    expect(s, i, b'[')?;
    let end = memchr::memchr(b']', &s[i + 1..]).ok_or_else(|| syntax(i, "unterminated array"))?;
    Ok(((i + 1, &s[i + 1..i + 1 + end]), i + end + 2))
}

/// Splits a line into labels and arrays; other keys are skipped.
pub(super) fn scan(s: &[u8]) -> Result<RawLine<'_>, LineError> {
    let mut raw = RawLine::default();
    let mut i = ws(s, 0);
    expect(s, i, b'{')?;
    i = ws(s, i + 1);
    if s.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            let (key, next) = key_at(s, i)?;
            i = ws(s, next);
            expect(s, i, b':')?;
            i = ws(s, i + 1);
            i = match &*key {
                b"metric" => {
                    let (labels, next) = serde_at(s, i)?;
                    raw.labels = Some(labels);
                    next
                }
                b"values" => {
                    let (array, next) = array_at(s, i)?;
                    raw.values = Some(array);
                    next
                }
                b"timestamps" => {
                    let (array, next) = array_at(s, i)?;
                    raw.timestamps = Some(array);
                    next
                }
                _ => serde_at::<IgnoredAny>(s, i)?.1,
            };
            i = ws(s, i);
            match s.get(i) {
                Some(b',') => i = ws(s, i + 1),
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => return Err(syntax(i, "expected ',' or '}'")),
            }
        }
    }
    i = ws(s, i);
    if i != s.len() {
        return Err(syntax(i, "unexpected text after the object"));
    }
    Ok(raw)
}

/// Length of the token at the start of `s` (up to a comma or whitespace).
fn token_len(s: &[u8]) -> usize {
    s.iter()
        .position(|b| matches!(b, b',' | b' ' | b'\t' | b'\r' | b'\n'))
        .unwrap_or(s.len())
}

/// Runs `each` on every element of the array inside `s`; `each` gets the
/// element's offset and returns where the element ends.
#[inline]
fn elements(
    s: &[u8],
    mut each: impl FnMut(usize) -> Result<usize, LineError>,
) -> Result<(), LineError> {
    let mut i = ws(s, 0);
    if i == s.len() {
        return Ok(());
    }
    loop {
        i = each(i)?;
        match s.get(i) {
            Some(b',') => i += 1,
            None => return Ok(()),
            Some(_) => {
                i = ws(s, i);
                match s.get(i) {
                    None => return Ok(()),
                    Some(b',') => i += 1,
                    Some(_) => return Err(syntax(i, "expected ',' between array elements")),
                }
            }
        }
        i = ws(s, i);
        if i == s.len() {
            return Err(syntax(i, "expected a value after ','"));
        }
    }
}

/// Parses timestamps (ms), which must not decrease. Returns them and whether
/// any timestamp repeats.
pub(super) fn parse_timestamps(s: &[u8]) -> Result<(Vec<i64>, bool), LineError> {
    let mut out: Vec<i64> = Vec::with_capacity(s.len() / 14 + 1);
    let mut dups = false;
    elements(s, |i| {
        let rest = &s[i..];
        let (t, n) = match fast_int(rest) {
            Some(x) => x,
            None => {
                let n = token_len(rest);
                (slow_ms(&rest[..n]).map_err(|p| (i, p))?, n)
            }
        };
        if let Some(&prev) = out.last() {
            if t < prev {
                return Err((
                    i,
                    Problem::OutOfOrder {
                        prev_ms: prev,
                        ts_ms: t,
                    },
                ));
            }
            dups |= t == prev;
        }
        out.push(t);
        Ok(i + n)
    })?;
    Ok((out, dups))
}

/// Parses the values of `field` (`null` becomes `NaN`), checking each.
pub(super) fn parse_values(s: &[u8], field: Field, expected: usize) -> Result<Vec<f64>, LineError> {
    values_with(s, expected, |v, tok| check_value(v, field, tok))
}

/// Parses values as written (`null` becomes `NaN`), of any sign and size:
/// for series that fill no sample field.
pub(super) fn parse_any_values(s: &[u8], expected: usize) -> Result<Vec<f64>, LineError> {
    values_with(s, expected, |_, _| Ok(()))
}

/// Parses an array of numbers and `null`s (`NaN`), running `check` on each
/// number with its text.
#[inline]
fn values_with(
    s: &[u8],
    expected: usize,
    check: impl Fn(f64, &[u8]) -> Result<(), Problem>,
) -> Result<Vec<f64>, LineError> {
    let mut out = Vec::with_capacity(expected);
    elements(s, |i| {
        let rest = &s[i..];
        if let Some((v, n)) = fast_decimal(rest) {
            check(v, &rest[..n]).map_err(|p| (i, p))?;
            out.push(v);
            return Ok(i + n);
        }
        if rest.starts_with(b"null") {
            out.push(f64::NAN);
            return Ok(i + 4);
        }
        let n = token_len(rest);
        let tok = &rest[..n];
        let v = slow_f64(tok).ok_or_else(|| {
            (
                i,
                Problem::NotANumber(String::from_utf8_lossy(tok).into_owned()),
            )
        })?;
        check(v, tok).map_err(|p| (i, p))?;
        out.push(v);
        Ok(i + n)
    })?;
    Ok(out)
}

/// The last timestamp in the array, read without parsing the others.
pub(super) fn last_timestamp(s: &[u8]) -> Result<Option<(usize, i64)>, LineError> {
    let end = s
        .iter()
        .rposition(|b| !b" \t\r\n".contains(b))
        .map_or(0, |p| p + 1);
    let start = memchr::memrchr(b',', &s[..end]).map_or(0, |p| p + 1);
    let start = ws(s, start);
    if start >= end {
        return Ok(None);
    }
    let t = slow_ms(&s[start..end]).map_err(|p| (start, p))?;
    Ok(Some((start, t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_finds_labels_and_arrays_in_any_key_order() {
        let line = br#" { "timestamps" : [1, 2] , "x": {"a":[1]}, "metric":{"__name__":"up","instance":"h\u0031","job":"j","k":"v"},"values":[1,null]} "#;
        let raw = scan(line).unwrap();
        let l = raw.labels.unwrap();
        assert_eq!(l.name.as_deref(), Some("up"));
        assert_eq!(l.instance.as_deref(), Some("h1"));
        assert_eq!(raw.values.unwrap().1, b"1,null");
        assert_eq!(raw.timestamps.unwrap().1, b"1, 2");
    }

    #[test]
    fn scan_reports_the_offset_of_malformed_json() {
        let (at, p) = scan(br#"{"metric":{"__name__":"up"},"values":[1]"#).unwrap_err();
        assert_eq!(at, 40);
        assert!(matches!(p, Problem::Syntax(_)));
        let (at, _) = scan(br#"{"metric":{"__name__":1}}"#).unwrap_err();
        assert!(at >= 10, "{at}");
        assert!(scan(br#"{"metric":{}} x"#).is_err());
    }

    #[test]
    fn arrays_parse_with_whitespace_nulls_and_the_slow_path() {
        let v = parse_values(b" 1, null ,2.5e0,3 ", Field::MemTotal, 4).unwrap();
        assert_eq!(v[0], 1.0);
        assert!(v[1].is_nan());
        assert_eq!(&v[2..], [2.5, 3.0]);
        assert_eq!(
            parse_values(b"", Field::MemTotal, 0).unwrap(),
            Vec::<f64>::new()
        );
        assert_eq!(
            parse_timestamps(b"1,2,2,3").unwrap(),
            (vec![1, 2, 2, 3], true)
        );
    }

    #[test]
    fn bad_elements_are_located() {
        let (at, p) = parse_values(b"1,\"abc\",3", Field::MemTotal, 3).unwrap_err();
        assert_eq!((at, p), (2, Problem::NotANumber("\"abc\"".into())));
        let (at, p) = parse_values(b"1,NaN", Field::MemTotal, 2).unwrap_err();
        assert_eq!((at, p), (2, Problem::NotFinite("NaN".into())));
        let (at, p) = parse_values(b"1,-4", Field::SwapFree, 2).unwrap_err();
        assert_eq!((at, p), (2, Problem::Negative("-4".into())));
        let (at, _) = parse_values(b"1,", Field::SwapFree, 2).unwrap_err();
        assert_eq!(at, 2);
        let (at, p) = parse_timestamps(b"10,20,15").unwrap_err();
        assert_eq!(
            (at, p),
            (
                6,
                Problem::OutOfOrder {
                    prev_ms: 20,
                    ts_ms: 15
                }
            )
        );
    }

    #[test]
    fn last_timestamp_reads_only_the_tail() {
        assert_eq!(last_timestamp(b"1,2, 37 ").unwrap(), Some((5, 37)));
        assert_eq!(last_timestamp(b"42").unwrap(), Some((0, 42)));
        assert_eq!(last_timestamp(b"  ").unwrap(), None);
        assert!(last_timestamp(b"1,x").is_err());
    }
}
