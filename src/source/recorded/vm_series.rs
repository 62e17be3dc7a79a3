//! VictoriaMetrics export lines read series by series, as written: for a
//! reader that needs each series' own points (staleness markers, `up`, the
//! `job` label) rather than samples joined by timestamp. `memcanary rules
//! --tests` reads its trace this way.
//!
//! The lines are split by the same scanner as [`super::parse_vm_export`]
//! (`vm_line`), and a series not asked for is only checked for shape.

use super::error::{Pos, Problem, RecordedError};
use super::vm_line::{parse_any_values, parse_timestamps, scan, LineError};

/// One series of an export.
#[derive(Debug, Clone, PartialEq)]
pub struct VmSeries {
    /// The metric name (`__name__`).
    pub name: String,
    /// The `instance` label, empty when absent.
    pub instance: String,
    /// The `job` label, empty when absent.
    pub job: String,
    /// `(ms, value)` in file order; `None` for `null`, a staleness marker.
    pub points: Vec<(i64, Option<f64>)>,
}

/// The series of `text` (export JSON lines) whose name is in `names`, in file
/// order. `origin` names the input in errors.
pub fn parse_vm_series(
    text: &[u8],
    origin: &str,
    names: &[&str],
) -> Result<Vec<VmSeries>, RecordedError> {
    let mut out = Vec::new();
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let at = |off: usize| Pos::LineCol(i as u64 + 1, off as u64 + 1);
        let wanted =
            series(line, names).map_err(|(off, p)| RecordedError::at(origin, at(off), None, p))?;
        out.extend(wanted);
    }
    Ok(out)
}

/// One line's series, if its name is in `names`.
fn series(line: &[u8], names: &[&str]) -> Result<Option<VmSeries>, LineError> {
    let raw = scan(line)?;
    let labels = raw.labels.ok_or_else(|| missing("metric"))?;
    let name = labels.name.ok_or_else(|| missing("__name__"))?;
    if !names.contains(&name.as_str()) {
        return Ok(None);
    }
    let (toff, tsb) = raw.timestamps.ok_or_else(|| missing("timestamps"))?;
    let (voff, vb) = raw.values.ok_or_else(|| missing("values"))?;
    let (ts, _) = parse_timestamps(tsb).map_err(|(o, p)| (toff + o, p))?;
    let vals = parse_any_values(vb, ts.len()).map_err(|(o, p)| (voff + o, p))?;
    if vals.len() != ts.len() {
        let p = Problem::LengthMismatch {
            values: vals.len(),
            timestamps: ts.len(),
        };
        return Err((0, p));
    }
    let values = vals.into_iter().map(|v| (!v.is_nan()).then_some(v));
    Ok(Some(VmSeries {
        name,
        instance: labels.instance.unwrap_or_default(),
        job: labels.job.unwrap_or_default(),
        points: ts.into_iter().zip(values).collect(),
    }))
}

fn missing(what: &str) -> LineError {
    (0, Problem::Syntax(format!("no \"{what}\" in the line")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wanted_series_keep_their_nulls_and_labels() {
        let text = br#"{"metric":{"__name__":"up","instance":"a","job":"node"},"values":[1,null,0],"timestamps":[1,2,3]}
{"metric":{"__name__":"other"},"values":[x],"timestamps":[1]}
"#;
        let got = parse_vm_series(text, "t", &["up"]).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].instance.as_str(), got[0].job.as_str()),
            ("a", "node")
        );
        assert_eq!(got[0].points, [(1, Some(1.0)), (2, None), (3, Some(0.0))]);
        let e = parse_vm_series(br#"{"metric":{}}"#, "t", &["up"]).unwrap_err();
        assert_eq!(e.line(), Some(1));
    }
}
