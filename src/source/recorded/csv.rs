//! CSV: one row per host per instant, one column per metric.
//!
//! The simplest format anyone can write by hand or from a spreadsheet:
//! a header row, a `timestamp` column (unix seconds, unix milliseconds or
//! RFC 3339), an optional `instance` column, and columns named by
//! node_exporter metric (in its unit: PSI in seconds) or by `Sample` field
//! (in the field's unit: PSI in microseconds). An empty cell is a missing
//! value. The lab's ground-truth layout (`host_ts,guest_ts,MemTotal,...`,
//! kB and microseconds) is recognised by its header, so the 1 s truth can
//! be replayed as an on-host agent would have seen it.

use super::assemble::{Chunk, Collector, HostKey};
use super::error::{Pos, Problem, RecordedError};
use super::lines::{split_lines, LineReader};
use super::number::{check_value, secs_to_ms, slow_f64};
use super::HostSeries;
use crate::signal::node_exporter::Field;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::sync::Arc;

/// Parses CSV (see the module docs); the lab's ground-truth layout too.
///
/// Without an `instance` column every row belongs to one host named after
/// the file (`gt` for the ground truth).
pub fn parse_csv(reader: impl BufRead, origin: &str) -> Result<Vec<HostSeries>, RecordedError> {
    parse_csv_with(reader, origin, super::MAX_CSV_ROW_BYTES)
}

/// [`parse_csv`] refusing rows longer than `max_row` bytes.
fn parse_csv_with(
    reader: impl BufRead,
    origin: &str,
    max_row: usize,
) -> Result<Vec<HostSeries>, RecordedError> {
    let mut rows = Rows::default();
    let mut layout: Option<Layout> = None;
    let mut lines = LineReader::new(reader, origin, max_row);
    let mut batch = Vec::new();
    while let Some(first) = lines.next_batch(&mut batch)? {
        for (line_no, line) in (first..).zip(split_lines(&batch)) {
            read_row(line, line_no, origin, &mut layout, &mut rows)?;
        }
    }
    let Some(layout) = layout else {
        return Err(RecordedError::Empty {
            origin: origin.to_string(),
        });
    };
    rows.finish(&layout, origin)
}

/// One line: the header if none came yet, else a data row.
fn read_row(
    line: &[u8],
    line_no: u64,
    origin: &str,
    layout: &mut Option<Layout>,
    rows: &mut Rows,
) -> Result<(), RecordedError> {
    let line = std::str::from_utf8(line)
        .map_err(|_| RecordedError::at(origin, Pos::Line(line_no), None, syntax("not UTF-8 text")))?
        .trim_end_matches(['\n', '\r']);
    // Spreadsheets like to start UTF-8 files with a byte-order mark.
    let line = line.strip_prefix('\u{feff}').unwrap_or(line);
    if line.trim().is_empty() || line.starts_with('#') {
        return Ok(());
    }
    let cells = split(line).map_err(|p| RecordedError::at(origin, Pos::Line(line_no), None, p))?;
    match layout {
        None => *layout = Some(Layout::from_header(&cells, origin, line_no)?),
        Some(l) => rows
            .add(l, &cells, line_no)
            .map_err(|(series, p)| RecordedError::at(origin, Pos::Line(line_no), series, p))?,
    }
    Ok(())
}

fn syntax(msg: &str) -> Problem {
    Problem::Syntax(msg.to_string())
}

/// Splits a CSV line; double quotes may enclose a cell (`""` is a quote).
fn split(line: &str) -> Result<Vec<String>, Problem> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            ('"', true) => quoted = false,
            ('"', false) if cell.trim().is_empty() => {
                cell.clear();
                quoted = true;
            }
            (',', false) => cells.push(std::mem::take(&mut cell)),
            _ => cell.push(c),
        }
    }
    if quoted {
        return Err(syntax("unterminated quoted cell"));
    }
    cells.push(cell);
    Ok(cells.into_iter().map(|c| c.trim().to_string()).collect())
}

/// What each column means.
#[derive(Debug)]
struct Layout {
    width: usize,
    timestamp: usize,
    instance: Option<usize>,
    /// Column, field, multiplier to the field's unit.
    fields: Vec<(usize, Field, f64)>,
    /// Host name when there is no `instance` column.
    default_instance: String,
    ignored: Vec<String>,
    /// The header, for messages.
    names: Vec<String>,
}

impl Layout {
    fn from_header(cells: &[String], origin: &str, line: u64) -> Result<Layout, RecordedError> {
        let err =
            |msg: String| RecordedError::at(origin, Pos::Line(line), None, Problem::Format(msg));
        let gt = cells.len() > 2 && cells[0] == "host_ts" && cells[1] == "guest_ts";
        let mut layout = Layout {
            width: cells.len(),
            timestamp: usize::MAX,
            instance: None,
            fields: Vec::new(),
            default_instance: default_instance(origin, gt),
            ignored: Vec::new(),
            names: cells.to_vec(),
        };
        for (i, name) in cells.iter().enumerate() {
            let meaning = if gt { gt_column(name) } else { column(name) };
            match meaning {
                Column::Timestamp if layout.timestamp == usize::MAX => layout.timestamp = i,
                Column::Instance if layout.instance.is_none() => layout.instance = Some(i),
                Column::Field(f, scale) if !layout.fields.iter().any(|c| c.1 == f) => {
                    layout.fields.push((i, f, scale));
                }
                Column::Ignored => layout.ignored.push(name.clone()),
                _ => {
                    return Err(err(format!(
                        "column {name:?} appears twice (or names a field twice)"
                    )))
                }
            }
        }
        if layout.timestamp == usize::MAX {
            return Err(err("no \"timestamp\" column in the header".into()));
        }
        if layout.fields.is_empty() {
            return Err(RecordedError::NoMemoryMetrics {
                origin: origin.to_string(),
            });
        }
        if gt {
            layout.ignored.clear();
        }
        Ok(layout)
    }
}

fn default_instance(origin: &str, gt: bool) -> String {
    if gt {
        return "gt".into();
    }
    let stem = std::path::Path::new(origin).file_stem();
    stem.map_or_else(|| origin.to_string(), |s| s.to_string_lossy().into_owned())
}

enum Column {
    Timestamp,
    Instance,
    Field(Field, f64),
    Ignored,
}

/// A generic CSV column: metric names in the metric's unit, field names in
/// the field's.
fn column(name: &str) -> Column {
    const FIELD_NAMES: [&str; 10] = [
        "mem_total_bytes",
        "mem_available_bytes",
        "swap_total_bytes",
        "swap_free_bytes",
        "psi_some_total_us",
        "psi_full_total_us",
        "pgmajfault",
        "pswpin",
        "pswpout",
        "oom_kill",
    ];
    match name {
        "timestamp" => return Column::Timestamp,
        "instance" => return Column::Instance,
        _ => {}
    }
    if let Some(f) = Field::from_metric(name) {
        return Column::Field(f, f.scale());
    }
    match FIELD_NAMES.iter().position(|n| *n == name) {
        Some(i) => Column::Field(Field::ALL[i], 1.0),
        None => Column::Ignored,
    }
}

/// The lab ground truth: `host_ts` (s), meminfo in kB, PSI totals in us.
fn gt_column(name: &str) -> Column {
    const KB: f64 = 1024.0;
    match name {
        "host_ts" => Column::Timestamp,
        "MemTotal" => Column::Field(Field::MemTotal, KB),
        "MemAvailable" => Column::Field(Field::MemAvailable, KB),
        "SwapTotal" => Column::Field(Field::SwapTotal, KB),
        "SwapFree" => Column::Field(Field::SwapFree, KB),
        "psi_some_total_us" => Column::Field(Field::PsiSome, 1.0),
        "psi_full_total_us" => Column::Field(Field::PsiFull, 1.0),
        "pgmajfault" => Column::Field(Field::Pgmajfault, 1.0),
        "pswpin" => Column::Field(Field::Pswpin, 1.0),
        "pswpout" => Column::Field(Field::Pswpout, 1.0),
        "oom_kill" => Column::Field(Field::OomKill, 1.0),
        _ => Column::Ignored,
    }
}

/// A timestamp cell: unix seconds (fraction allowed), unix milliseconds
/// when above 1e11, or RFC 3339.
fn parse_time(cell: &str) -> Result<i64, Problem> {
    let bad = || Problem::BadTimestamp(cell.to_string());
    if let Ok(v) = cell.parse::<f64>() {
        let ms = if v.abs() > 1e11 {
            secs_to_ms(v / 1000.0)
        } else {
            secs_to_ms(v)
        };
        return ms.filter(|_| v.is_finite()).ok_or_else(bad);
    }
    let t: jiff::Timestamp = cell.parse().map_err(|_| bad())?;
    Ok(t.as_millisecond())
}

/// The rows of each host, checked for order as they come.
#[derive(Default)]
struct Rows {
    hosts: BTreeMap<String, HostRows>,
}

struct HostRows {
    ts: Vec<i64>,
    /// One column of values per layout field, in the field's unit.
    cols: Vec<Vec<f64>>,
    last_line: u64,
}

type RowError = (Option<String>, Problem);

impl Rows {
    fn add(&mut self, l: &Layout, cells: &[String], line: u64) -> Result<(), RowError> {
        if cells.len() != l.width {
            let msg = format!("{} cells, but the header has {}", cells.len(), l.width);
            return Err((None, Problem::Format(msg)));
        }
        let t = parse_time(&cells[l.timestamp]).map_err(|p| (None, p))?;
        let mut values = Vec::with_capacity(l.fields.len());
        for &(col, field, scale) in &l.fields {
            values.push(
                cell_value(&cells[col], field, scale)
                    .map_err(|p| (Some(format!("column {:?}", l.names[col])), p))?,
            );
        }
        let instance = match l.instance {
            Some(i) => cells[i].clone(),
            None => l.default_instance.clone(),
        };
        let host = self
            .hosts
            .entry(instance.clone())
            .or_insert_with(|| HostRows {
                ts: Vec::new(),
                cols: vec![Vec::new(); l.fields.len()],
                last_line: line,
            });
        let series = || Some(format!("instance {instance}"));
        match host.ts.last() {
            Some(&prev) if t < prev => Err((
                series(),
                Problem::OutOfOrder {
                    prev_ms: prev,
                    ts_ms: t,
                },
            )),
            Some(&prev) if t == prev => host.merge_duplicate(t, values).map_err(|p| (series(), p)),
            _ => {
                host.ts.push(t);
                host.cols
                    .iter_mut()
                    .zip(values)
                    .for_each(|(c, v)| c.push(v));
                host.last_line = line;
                Ok(())
            }
        }
    }

    fn finish(self, l: &Layout, origin: &str) -> Result<Vec<HostSeries>, RecordedError> {
        if self.hosts.is_empty() {
            let p = Problem::Format("a header but no data rows".into());
            return Err(RecordedError::at(origin, Pos::Line(1), None, p));
        }
        let mut c = Collector::new(origin);
        if !l.ignored.is_empty() {
            c.note(format!(
                "{origin}: columns ignored: {}",
                l.ignored.join(", ")
            ));
        }
        for (instance, rows) in self.hosts {
            let key = HostKey {
                instance: Some(instance),
                job: None,
            };
            let ts = Arc::new(rows.ts);
            for (&(_, field, _), vals) in l.fields.iter().zip(rows.cols) {
                let chunk = Chunk {
                    at: Pos::Line(1),
                    ts: ts.clone(),
                    vals,
                };
                c.add_chunk(key.clone(), field, chunk);
            }
        }
        c.finish()
    }
}

impl HostRows {
    /// A second row at the same instant: agreeing cells are fine, an empty
    /// cell takes the other row's value, disagreeing cells are an error.
    fn merge_duplicate(&mut self, t: i64, values: Vec<f64>) -> Result<(), Problem> {
        for (col, v) in self.cols.iter_mut().zip(values) {
            let Some(prev) = col.last_mut() else { continue };
            if prev.is_nan() {
                *prev = v;
            } else if !v.is_nan() && *prev != v {
                return Err(Problem::Conflict {
                    ts_ms: t,
                    first: *prev,
                    first_at: Pos::Line(self.last_line),
                    second: v,
                });
            }
        }
        Ok(())
    }
}

/// A value cell: empty is missing (`NaN`), else a checked number.
fn cell_value(cell: &str, field: Field, scale: f64) -> Result<f64, Problem> {
    if cell.is_empty() {
        return Ok(f64::NAN);
    }
    let v = slow_f64(cell.as_bytes()).ok_or_else(|| Problem::NotANumber(cell.to_string()))?;
    let v = v * scale;
    // `check_value` applies the metric's scale; ours is already applied.
    check_value(v / field.scale(), field, cell.as_bytes())?;
    Ok(v)
}

#[cfg(test)]
mod tests;
