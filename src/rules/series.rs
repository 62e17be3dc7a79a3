//! Recorded series for the unit-test generator: VictoriaMetrics export JSON
//! lines (read by [`recorded::parse_vm_series`]), per host, put on the
//! regular grid promtool's notation needs.
//!
//! promtool input series are values at `0, interval, 2*interval, ...`; real
//! scrapes jitter by milliseconds. Each sample goes to the nearest slot of a
//! grid anchored at the trace's first sample, with the grid step the median
//! scrape interval; the evaluator then reads the very series promtool reads.

use crate::signal::node_exporter as ne;
use crate::source::recorded::{self, Problem, RecordedError};
use std::collections::BTreeMap;

/// One sample on the grid; `v: None` is a staleness marker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Time in ms since the trace's origin.
    pub t: i64,
    /// Value, or `None` for a staleness marker.
    pub v: Option<f64>,
}

/// The series of one host (`instance`, `job`), by metric name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostSeries {
    /// `instance` label.
    pub instance: String,
    /// `job` label.
    pub job: String,
    /// Points per metric, sorted by time.
    pub series: BTreeMap<&'static str, Vec<Point>>,
}

impl HostSeries {
    /// The points of `metric` (empty when the host lacks it).
    pub fn points(&self, metric: &str) -> &[Point] {
        self.series.get(metric).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// A recorded trace on a grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// Hosts, sorted by (instance, job).
    pub hosts: Vec<HostSeries>,
    /// Wall-clock ms of grid time 0.
    pub origin_ms: i64,
    /// Grid step in ms (median scrape interval, whole seconds).
    pub interval_ms: i64,
    /// Last grid time holding a sample.
    pub end_ms: i64,
}

/// A line of the export that could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TraceError {
    /// Malformed JSON or fields.
    #[error("line {line}")]
    Line {
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        #[source]
        problem: Problem,
    },

    /// No memory series at all.
    #[error("no {} series in the trace", ne::MEM_AVAILABLE)]
    NoMemory,
}

/// The metrics the rules read.
const USED: [&str; 11] = [
    ne::MEM_TOTAL,
    ne::MEM_AVAILABLE,
    ne::SWAP_TOTAL,
    ne::SWAP_FREE,
    ne::PSI_SOME,
    ne::PSI_FULL,
    ne::PGMAJFAULT,
    ne::PSWPIN,
    ne::PSWPOUT,
    ne::OOM_KILL,
    ne::UP,
];

type Raw = BTreeMap<(String, String), BTreeMap<&'static str, Vec<(i64, Option<f64>)>>>;

/// Parses VictoriaMetrics `/api/v1/export` JSON lines.
pub fn parse_export(text: &[u8]) -> Result<Trace, TraceError> {
    let mut raw: Raw = BTreeMap::new();
    for s in recorded::parse_vm_series(text, "trace", &USED).map_err(line_error)? {
        let Some(&name) = USED.iter().find(|n| **n == s.name) else {
            continue;
        };
        let host = raw.entry((s.instance, s.job)).or_default();
        host.entry(name).or_default().extend(s.points);
    }
    grid(raw)
}

/// The line and problem of a parse error (text in memory fails only at a
/// place in it).
fn line_error(e: RecordedError) -> TraceError {
    match e {
        RecordedError::At { at, problem, .. } => TraceError::Line {
            line: at.line().unwrap_or(0),
            problem,
        },
        other => TraceError::Line {
            line: 0,
            problem: Problem::Format(other.to_string()),
        },
    }
}

fn grid(raw: Raw) -> Result<Trace, TraceError> {
    let interval_ms = median_interval(&raw).ok_or(TraceError::NoMemory)?;
    let origin_ms = raw
        .values()
        .flat_map(|h| h.values().flatten().map(|p| p.0))
        .min()
        .ok_or(TraceError::NoMemory)?;
    let mut end_ms = 0;
    let mut hosts = Vec::new();
    for ((instance, job), metrics) in raw {
        let mut series = BTreeMap::new();
        for (name, mut pts) in metrics {
            pts.sort_by_key(|p| p.0);
            let mut out: Vec<Point> = Vec::with_capacity(pts.len());
            for (t, v) in pts {
                let slot = ((t - origin_ms) as f64 / interval_ms as f64).round() as i64;
                let p = Point {
                    t: slot * interval_ms,
                    v,
                };
                match out.last_mut() {
                    Some(last) if last.t == p.t => *last = p,
                    _ => out.push(p),
                }
            }
            end_ms = end_ms.max(out.last().map_or(0, |p| p.t));
            series.insert(name, out);
        }
        hosts.push(HostSeries {
            instance,
            job,
            series,
        });
    }
    Ok(Trace {
        hosts,
        origin_ms,
        interval_ms,
        end_ms,
    })
}

/// Median spacing of `MemAvailable` samples over all hosts, rounded to
/// whole seconds.
fn median_interval(raw: &Raw) -> Option<i64> {
    let mut gaps: Vec<i64> = raw
        .values()
        .filter_map(|h| h.get(ne::MEM_AVAILABLE))
        .flat_map(|pts| {
            let mut ts: Vec<i64> = pts.iter().map(|p| p.0).collect();
            ts.sort_unstable();
            ts.windows(2).map(|w| w[1] - w[0]).collect::<Vec<_>>()
        })
        .filter(|&g| g > 0)
        .collect();
    if gaps.is_empty() {
        return None;
    }
    gaps.sort_unstable();
    let m = gaps[gaps.len() / 2];
    Some(((m + 500) / 1000).max(1) * 1000)
}

/// promtool's notation for a series on the grid: one value per slot from 0
/// to `end_ms`, `_` where there is none, `stale` for staleness markers.
pub fn promtool_values(points: &[Point], interval_ms: i64, end_ms: i64) -> String {
    let mut out = Vec::new();
    let mut it = points.iter().peekable();
    let mut t = 0;
    while t <= end_ms {
        let text = match it.peek() {
            Some(p) if p.t == t => match it.next().and_then(|p| p.v) {
                Some(v) => v.to_string(),
                None => "stale".to_string(),
            },
            _ => "_".to_string(),
        };
        out.push(text);
        t += interval_ms;
    }
    while out.last().is_some_and(|s| s == "_") {
        out.pop();
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = r#"{"metric":{"__name__":"node_memory_MemAvailable_bytes","instance":"a:9100","job":"node"},"values":[10,9,null,7],"timestamps":[1000,16010,30990,61000]}
{"metric":{"__name__":"node_load1","instance":"a:9100","job":"node"},"values":[1],"timestamps":[1000]}
"#;

    #[test]
    fn samples_land_on_the_nearest_slot() {
        let t = parse_export(TWO.as_bytes()).unwrap();
        assert_eq!(t.interval_ms, 15_000);
        assert_eq!(t.origin_ms, 1000);
        let pts = t.hosts[0].points(ne::MEM_AVAILABLE);
        let ts: Vec<i64> = pts.iter().map(|p| p.t).collect();
        assert_eq!(ts, [0, 15_000, 30_000, 60_000]);
        assert_eq!(
            promtool_values(pts, t.interval_ms, t.end_ms),
            "10 9 stale _ 7"
        );
        assert!(t.hosts[0].points("node_load1").is_empty());
    }

    #[test]
    fn bad_lines_are_named() {
        let e = parse_export(b"{\"metric\":{}}\n").unwrap_err();
        assert!(
            crate::logging::error_chain(&(e.clone())).starts_with("line 1: "),
            "{e}"
        );
        let e = parse_export(br#"{"metric":{"__name__":"up"},"values":[1],"timestamps":[]}"#)
            .unwrap_err();
        assert_eq!(
            crate::logging::error_chain(&(e)),
            "line 1: 1 values but 0 timestamps"
        );
        assert_eq!(parse_export(b"").unwrap_err(), TraceError::NoMemory);
    }
}
