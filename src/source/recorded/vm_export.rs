//! VictoriaMetrics `/api/v1/export` JSON lines: one series per line.
//!
//! Lines are independent, so they are parsed on a few threads while the
//! calling thread reads the next batch of them (a year of one host is ~11
//! lines of ~40 MB each; a fleet's day, thousands of lines of a few kB). Errors stay deterministic: a worker that fails records its
//! line, lines after the first failure are skipped, and the earliest failing
//! line is the one reported.
//!
//! All series of a host scraped together share one timestamps array, byte
//! for byte; [`TsCache`] parses it once per host and shares the result.

use super::assemble::{Chunk, Collector, HostKey};
use super::error::{Pos, Problem, RecordedError};
use super::lines::{split_lines, LineReader};
use super::vm_line::{last_timestamp, parse_timestamps, parse_values, scan, LineError};
use super::HostSeries;
use crate::signal::node_exporter::Field;
use std::collections::HashMap;
use std::io::{BufRead, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};

/// Parses VictoriaMetrics export JSON lines (one series per line).
///
/// `origin` names the input in messages (usually the file path).
pub fn parse_vm_export(
    reader: impl BufRead,
    origin: &str,
) -> Result<Vec<HostSeries>, RecordedError> {
    parse_vm_export_with(reader, origin, super::MAX_LINE_BYTES, &mut || {})
}

/// What one line contributed.
#[derive(Debug)]
enum Parsed {
    /// A series that fills a sample field.
    Field {
        key: HostKey,
        field: Field,
        chunk: Chunk,
    },
    /// Any other series: only when the host was last seen.
    Other { key: HostKey, last_ms: Option<i64> },
}

/// [`parse_vm_export`] refusing lines longer than `max_line` bytes, calling
/// `tick` after each batch of lines is read.
pub(super) fn parse_vm_export_with<R: BufRead>(
    reader: R,
    origin: &str,
    max_line: usize,
    tick: &mut dyn FnMut(),
) -> Result<Vec<HostSeries>, RecordedError> {
    let mut reader = reader;
    let mut lines = LineReader::new(&mut reader as &mut dyn Read, origin, max_line);
    let (read, outs) = parse_on_workers(&mut lines, origin, tick);
    let mut parsed = Vec::new();
    let (mut first_err, mut nonblank) = (None::<(u64, RecordedError)>, 0);
    for out in outs {
        parsed.extend(out.parsed);
        nonblank += out.nonblank;
        if let Some((line, e)) = out.error {
            if first_err.as_ref().is_none_or(|(l, _)| line < *l) {
                first_err = Some((line, e));
            }
        }
    }
    // A worker's error is on a line before any the reader failed on.
    if let Some((_, e)) = first_err {
        return Err(e);
    }
    read?;
    if nonblank == 0 {
        return Err(RecordedError::Empty {
            origin: origin.to_string(),
        });
    }
    collect(origin, parsed)
}

/// Reads on this thread while the workers parse; what each worker found.
fn parse_on_workers(
    lines: &mut LineReader<'_, &mut dyn Read>,
    origin: &str,
    tick: &mut dyn FnMut(),
) -> (Result<(), RecordedError>, Vec<WorkerOut>) {
    let shared = Shared {
        cache: TsCache::default(),
        stop_at: AtomicU64::new(u64::MAX),
    };
    let (job_tx, job_rx) = mpsc::sync_channel::<Job>(0);
    let (buf_tx, buf_rx) = mpsc::channel::<Vec<u8>>();
    let job_rx = Mutex::new(job_rx);
    std::thread::scope(|s| {
        let (jobs, shared) = (&job_rx, &shared);
        let handles: Vec<_> = (0..worker_count())
            .map(|_| {
                let recycle = buf_tx.clone();
                s.spawn(move || worker(jobs, shared, origin, recycle))
            })
            .collect();
        let read = read_lines(lines, job_tx, &buf_rx, shared, tick);
        let outs = handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect();
        (read, outs)
    })
}

fn collect(origin: &str, mut parsed: Vec<(u64, Parsed)>) -> Result<Vec<HostSeries>, RecordedError> {
    parsed.sort_by_key(|(line, _)| *line);
    let mut c = Collector::new(origin);
    for (_, p) in parsed {
        match p {
            Parsed::Field { key, field, chunk } => c.add_chunk(key, field, chunk),
            Parsed::Other { key, last_ms } => {
                if let Some(t) = last_ms {
                    c.add_end(key, t);
                }
            }
        }
    }
    c.finish()
}

/// Whole lines and the number of the first.
type Job = (u64, Vec<u8>);

struct Shared {
    cache: TsCache,
    /// The earliest failing line so far (`u64::MAX`: none).
    stop_at: AtomicU64,
}

#[derive(Default)]
struct WorkerOut {
    parsed: Vec<(u64, Parsed)>,
    error: Option<(u64, RecordedError)>,
    /// Lines that are not blank.
    nonblank: u64,
}

fn worker_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().clamp(1, 4))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Reads batches of lines and hands them to the workers.
fn read_lines(
    lines: &mut LineReader<'_, &mut dyn Read>,
    jobs: SyncSender<Job>,
    recycled: &Receiver<Vec<u8>>,
    shared: &Shared,
    tick: &mut dyn FnMut(),
) -> Result<(), RecordedError> {
    while shared.stop_at.load(Ordering::Relaxed) == u64::MAX {
        let mut buf = recycled.try_recv().unwrap_or_default();
        let Some(first) = lines.next_batch(&mut buf)? else {
            break;
        };
        tick();
        if jobs.send((first, buf)).is_err() {
            break;
        }
    }
    Ok(())
}

fn worker(
    jobs: &Mutex<Receiver<Job>>,
    shared: &Shared,
    origin: &str,
    recycle: Sender<Vec<u8>>,
) -> WorkerOut {
    let mut out = WorkerOut::default();
    loop {
        let job = lock(jobs).recv();
        let Ok((first, buf)) = job else {
            return out;
        };
        for (line_no, line) in (first..).zip(split_lines(&buf)) {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            out.nonblank += 1;
            if line_no >= shared.stop_at.load(Ordering::Relaxed) {
                break;
            }
            match process_line(trim_eol(line), line_no, origin, &shared.cache) {
                Ok(p) => out.parsed.push((line_no, p)),
                Err(e) => {
                    shared.stop_at.fetch_min(line_no, Ordering::Relaxed);
                    if out.error.as_ref().is_none_or(|(l, _)| line_no < *l) {
                        out.error = Some((line_no, e));
                    }
                    break;
                }
            }
        }
        // The reader may be gone already; the buffer is then simply dropped.
        let _ = recycle.send(buf);
    }
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Parses one line into what it contributes.
fn process_line(
    line: &[u8],
    line_no: u64,
    origin: &str,
    cache: &TsCache,
) -> Result<Parsed, RecordedError> {
    let err = |series: Option<&str>, (off, p): LineError| {
        let at = Pos::LineCol(line_no, off as u64 + 1);
        RecordedError::at(origin, at, series.map(str::to_string), p)
    };
    let raw = scan(line).map_err(|e| err(None, e))?;
    let labels = raw
        .labels
        .ok_or_else(|| err(None, (0, missing("metric"))))?;
    let key = HostKey {
        instance: labels.instance,
        job: labels.job,
    };
    let Some(field) = labels.name.as_deref().and_then(Field::from_metric) else {
        let last_ms = match raw.timestamps {
            Some((off, ts)) => last_timestamp(ts).map_err(|(o, p)| err(None, (off + o, p)))?,
            None => None,
        };
        return Ok(Parsed::Other {
            key,
            last_ms: last_ms.map(|(_, t)| t),
        });
    };
    let series = key.describe(field.metric());
    let s = Some(series.as_str());
    let (toff, tsb) = raw
        .timestamps
        .ok_or_else(|| err(s, (0, missing("timestamps"))))?;
    let (voff, vb) = raw.values.ok_or_else(|| err(s, (0, missing("values"))))?;
    let (ts, dups) = (cache.get_or_parse(&key, tsb)).map_err(|(o, p)| err(s, (toff + o, p)))?;
    let vals = parse_values(vb, field, ts.len()).map_err(|(o, p)| err(s, (voff + o, p)))?;
    if vals.len() != ts.len() {
        let p = Problem::LengthMismatch {
            values: vals.len(),
            timestamps: ts.len(),
        };
        return Err(RecordedError::at(
            origin,
            Pos::Line(line_no),
            Some(series),
            p,
        ));
    }
    let at = Pos::Line(line_no);
    let (ts, vals) = if dups {
        dedupe(&ts, vals, at).map_err(|p| RecordedError::at(origin, at, Some(series), p))?
    } else {
        (ts, vals)
    };
    let vals = to_sample_unit(vals, field);
    Ok(Parsed::Field {
        key,
        field,
        chunk: Chunk { at, ts, vals },
    })
}

/// Values in the sample field's unit (PSI seconds become microseconds).
fn to_sample_unit(mut vals: Vec<f64>, field: Field) -> Vec<f64> {
    let scale = field.scale();
    if scale != 1.0 {
        vals.iter_mut().for_each(|v| *v *= scale);
    }
    vals
}

fn missing(what: &str) -> Problem {
    Problem::Syntax(format!("no \"{what}\" in the line"))
}

/// Drops repeated timestamps whose values agree (a missing value yields to a
/// present one); a repeated timestamp with a different value is an error.
fn dedupe(ts: &[i64], vals: Vec<f64>, at: Pos) -> Result<(Arc<Vec<i64>>, Vec<f64>), Problem> {
    let mut out_ts: Vec<i64> = Vec::with_capacity(ts.len());
    let mut out_v: Vec<f64> = Vec::with_capacity(ts.len());
    for (&t, v) in ts.iter().zip(vals) {
        match (out_ts.last() == Some(&t), out_v.last_mut()) {
            (true, Some(prev)) if prev.is_nan() => *prev = v,
            (true, Some(prev)) if v.is_nan() || *prev == v => {}
            (true, Some(prev)) => {
                return Err(Problem::Conflict {
                    ts_ms: t,
                    first: *prev,
                    first_at: at,
                    second: v,
                })
            }
            _ => {
                out_ts.push(t);
                out_v.push(v);
            }
        }
    }
    Ok((Arc::new(out_ts), out_v))
}

/// Parsed timestamp arrays per host, keyed by their exact bytes.
#[derive(Default)]
struct TsCache {
    map: Mutex<HashMap<HostKey, Vec<Arc<TsEntry>>>>,
}

struct TsEntry {
    raw: Vec<u8>,
    ts: Arc<Vec<i64>>,
    dups: bool,
}

/// Distinct timestamp arrays kept per host (scrape series, `up`, ...).
const CACHE_PER_HOST: usize = 4;

impl TsCache {
    fn get_or_parse(&self, key: &HostKey, raw: &[u8]) -> Result<(Arc<Vec<i64>>, bool), LineError> {
        let known = lock(&self.map).get(key).cloned().unwrap_or_default();
        if let Some(e) = known
            .iter()
            .find(|e| e.raw.len() == raw.len() && e.raw == raw)
        {
            return Ok((e.ts.clone(), e.dups));
        }
        let (ts, dups) = parse_timestamps(raw)?;
        let ts = Arc::new(ts);
        let entry = Arc::new(TsEntry {
            raw: raw.to_vec(),
            ts: ts.clone(),
            dups,
        });
        let mut map = lock(&self.map);
        let list = map.entry(key.clone()).or_default();
        if list.len() < CACHE_PER_HOST {
            list.push(entry);
        }
        Ok((ts, dups))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_duplicates_merge_and_a_missing_value_yields() {
        let (ts, v) = dedupe(
            &[1, 2, 2, 3, 3],
            vec![1.0, f64::NAN, 2.0, 3.0, 3.0],
            Pos::Line(1),
        )
        .unwrap();
        assert_eq!((ts.to_vec(), v), (vec![1, 2, 3], vec![1.0, 2.0, 3.0]));
    }
}
