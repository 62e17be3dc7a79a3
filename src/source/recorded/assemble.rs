//! From per-metric series to per-host samples: the part every format shares.
//!
//! Readers hand over [`Chunk`]s (one metric of one host, strictly increasing
//! timestamps, `NaN` where a value is missing). The [`Collector`] merges the
//! chunks of a series that a file splits over several lines, joins the
//! metrics of each host by exact timestamp into [`Sample`]s, and decides what
//! is fatal (a required metric missing) and what is only a warning.

use super::error::{Pos, Problem, RecordedError};
use super::number::to_u64;
use super::HostSeries;
use crate::signal::node_exporter::Field;
use crate::signal::Sample;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// A host as the labels name it. Kept apart by `job` too, so one instance
/// scraped by two jobs does not mix its samples.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct HostKey {
    /// The `instance` label.
    pub instance: Option<String>,
    /// The `job` label.
    pub job: Option<String>,
}

impl HostKey {
    /// `metric{instance="..",job=".."}`, for messages.
    pub fn describe(&self, metric: &str) -> String {
        let mut labels = Vec::new();
        if let Some(i) = &self.instance {
            labels.push(format!("instance={i:?}"));
        }
        if let Some(j) = &self.job {
            labels.push(format!("job={j:?}"));
        }
        format!("{metric}{{{}}}", labels.join(","))
    }
}

/// Part of one metric's series for one host.
#[derive(Debug, Clone)]
pub(super) struct Chunk {
    /// Where it came from (for conflicts between chunks).
    pub at: Pos,
    /// Strictly increasing timestamps, ms. Shared when several metrics of a
    /// host were scraped together.
    pub ts: Arc<Vec<i64>>,
    /// One value per timestamp, in the sample field's unit; `NaN` = no value.
    pub vals: Vec<f64>,
}

#[derive(Debug, Default)]
struct HostAcc {
    fields: [Vec<Chunk>; 10],
    end_ms: Option<i64>,
}

/// Gathers chunks from a reader, then builds the host series.
#[derive(Debug)]
pub(super) struct Collector {
    origin: String,
    hosts: BTreeMap<HostKey, HostAcc>,
    notes: Vec<String>,
}

impl Collector {
    pub fn new(origin: &str) -> Self {
        Collector {
            origin: origin.to_string(),
            hosts: BTreeMap::new(),
            notes: Vec::new(),
        }
    }

    /// Adds part of `field`'s series for `host`.
    pub fn add_chunk(&mut self, host: HostKey, field: Field, chunk: Chunk) {
        let acc = self.hosts.entry(host).or_default();
        if let Some(&last) = chunk.ts.last() {
            acc.end_ms = acc.end_ms.max(Some(last));
        }
        acc.fields[field as usize].push(chunk);
    }

    /// Records that `host` had some series (any metric) up to `last_ms`.
    pub fn add_end(&mut self, host: HostKey, last_ms: i64) {
        let acc = self.hosts.entry(host).or_default();
        acc.end_ms = acc.end_ms.max(Some(last_ms));
    }

    /// A file-level warning, given to every host.
    pub fn note(&mut self, warning: String) {
        self.notes.push(warning);
    }

    /// Joins each host's metrics into samples.
    pub fn finish(self) -> Result<Vec<HostSeries>, RecordedError> {
        let origin = self.origin;
        let hosts: Vec<_> = (self.hosts.into_iter())
            .filter(|(_, acc)| acc.fields.iter().any(|c| !c.is_empty()))
            .collect();
        if hosts.is_empty() {
            return Err(RecordedError::NoMemoryMetrics { origin });
        }
        let mut jobs: HashMap<Option<String>, usize> = HashMap::new();
        for (key, _) in &hosts {
            *jobs.entry(key.instance.clone()).or_default() += 1;
        }
        let mut out = Vec::with_capacity(hosts.len());
        for (key, acc) in hosts {
            let name = display_name(&key, jobs[&key.instance] > 1);
            let mut host = build_host(&origin, &key, name, acc)?;
            host.warnings.extend(self.notes.iter().cloned());
            out.push(host);
        }
        Ok(out)
    }
}

/// The instance label, with the job added when the instance alone is ambiguous.
fn display_name(key: &HostKey, ambiguous: bool) -> String {
    let job = key.job.as_deref().unwrap_or("");
    match (&key.instance, ambiguous) {
        (Some(i), false) => i.clone(),
        (Some(i), true) => format!("{i}{{job={job:?}}}"),
        (None, _) => format!("{{job={job:?}}}"),
    }
}

fn build_host(
    origin: &str,
    key: &HostKey,
    instance: String,
    acc: HostAcc,
) -> Result<HostSeries, RecordedError> {
    let mut series: [Option<Chunk>; 10] = Default::default();
    for (field, chunks) in Field::ALL.into_iter().zip(acc.fields) {
        series[field as usize] = merge(origin, &key.describe(field.metric()), chunks)?;
    }
    let mut warnings = Vec::new();
    for field in Field::ALL {
        if series[field as usize].is_some() {
            continue;
        }
        if field.required() {
            return Err(RecordedError::MissingRequired {
                origin: origin.to_string(),
                instance,
                metric: field.metric(),
            });
        }
        warnings.push(format!(
            "{origin}: instance {instance} has no {} series; the detector runs without it",
            field.metric()
        ));
    }
    let samples = join(&series);
    if samples.is_empty() {
        warnings.push(format!(
            "{origin}: instance {instance}: no timestamp where every required metric has a value"
        ));
    }
    Ok(HostSeries {
        instance,
        samples,
        end_ms: acc.end_ms.unwrap_or(i64::MIN),
        warnings,
    })
}

/// One series from its chunks: concatenated when they do not overlap, else
/// merged point by point (equal duplicates dropped, different ones an error).
fn merge(origin: &str, series: &str, chunks: Vec<Chunk>) -> Result<Option<Chunk>, RecordedError> {
    let mut chunks: Vec<Chunk> = chunks.into_iter().filter(|c| !c.ts.is_empty()).collect();
    if chunks.len() <= 1 {
        return Ok(chunks.pop());
    }
    chunks.sort_by_key(|c| c.ts[0]);
    let disjoint = chunks.windows(2).all(|w| w[0].ts.last() < w[1].ts.first());
    if disjoint {
        let at = chunks[0].at;
        let ts = chunks.iter().flat_map(|c| c.ts.iter().copied()).collect();
        let vals = chunks.iter().flat_map(|c| c.vals.iter().copied()).collect();
        return Ok(Some(Chunk {
            at,
            ts: Arc::new(ts),
            vals,
        }));
    }
    merge_overlapping(origin, series, chunks).map(Some)
}

fn merge_overlapping(
    origin: &str,
    series: &str,
    chunks: Vec<Chunk>,
) -> Result<Chunk, RecordedError> {
    let mut points: Vec<(i64, f64, Pos)> = chunks
        .iter()
        .flat_map(|c| c.ts.iter().zip(&c.vals).map(|(&t, &v)| (t, v, c.at)))
        .collect();
    points.sort_by_key(|&(t, _, at)| (t, at));
    let mut ts: Vec<i64> = Vec::with_capacity(points.len());
    let mut vals: Vec<f64> = Vec::with_capacity(points.len());
    let mut last_at = chunks[0].at;
    for (t, v, at) in points {
        if ts.last() != Some(&t) {
            ts.push(t);
            vals.push(v);
            last_at = at;
            continue;
        }
        let Some(prev) = vals.last_mut() else {
            continue;
        };
        if prev.is_nan() {
            *prev = v;
            last_at = at;
        } else if !v.is_nan() && *prev != v {
            let problem = Problem::Conflict {
                ts_ms: t,
                first: *prev,
                first_at: last_at,
                second: v,
            };
            return Err(RecordedError::at(
                origin,
                at,
                Some(series.to_string()),
                problem,
            ));
        }
    }
    Ok(Chunk {
        at: chunks[0].at,
        ts: Arc::new(ts),
        vals,
    })
}

/// The value of `s` at exactly `t`, moving `cur` forward (timestamps rise).
#[inline]
fn value_at(s: Option<&Chunk>, cur: &mut usize, t: i64) -> Option<f64> {
    let s = s?;
    while s.ts.get(*cur).is_some_and(|&x| x < t) {
        *cur += 1;
    }
    match s.ts.get(*cur) {
        Some(&x) if x == t => Some(s.vals[*cur]).filter(|v| !v.is_nan()),
        _ => None,
    }
}

/// One sample per MemAvailable timestamp at which every required metric has
/// a value; optional metrics are filled when they have one at that instant.
fn join(series: &[Option<Chunk>; 10]) -> Vec<Sample> {
    let Some(driver) = &series[Field::MemAvailable as usize] else {
        return Vec::new();
    };
    // Series scraped with the driver share its timestamps: index directly.
    let shared = series
        .each_ref()
        .map(|s| s.as_ref().is_some_and(|s| Arc::ptr_eq(&s.ts, &driver.ts)));
    let mut cur = [0usize; 10];
    let mut out = Vec::with_capacity(driver.ts.len());
    for (i, (&t, &avail)) in driver.ts.iter().zip(&driver.vals).enumerate() {
        if avail.is_nan() {
            continue;
        }
        let mut get = |f: Field| {
            let k = f as usize;
            let v = match (&series[k], shared[k]) {
                (Some(s), true) => Some(s.vals[i]).filter(|v| !v.is_nan()),
                (s, _) => value_at(s.as_ref(), &mut cur[k], t),
            };
            v.map(to_u64)
        };
        let (Some(total), Some(swap_total), Some(swap_free)) = (
            get(Field::MemTotal),
            get(Field::SwapTotal),
            get(Field::SwapFree),
        ) else {
            continue;
        };
        out.push(Sample {
            at_ms: t,
            mem_total_bytes: total,
            mem_available_bytes: to_u64(avail),
            swap_total_bytes: swap_total,
            swap_free_bytes: swap_free,
            psi_some_total_us: get(Field::PsiSome),
            psi_full_total_us: get(Field::PsiFull),
            pgmajfault: get(Field::Pgmajfault),
            pswpin: get(Field::Pswpin),
            pswpout: get(Field::Pswpout),
            oom_kill: get(Field::OomKill),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: &str, j: &str) -> HostKey {
        HostKey {
            instance: Some(i.into()),
            job: Some(j.into()),
        }
    }

    fn chunk(line: u64, ts: &[i64], vals: &[f64]) -> Chunk {
        Chunk {
            at: Pos::Line(line),
            ts: Arc::new(ts.to_vec()),
            vals: vals.to_vec(),
        }
    }

    fn full_host(c: &mut Collector, k: &HostKey, ts: &[i64]) {
        let v = vec![100.0; ts.len()];
        for f in Field::ALL.into_iter().filter(|f| f.required()) {
            c.add_chunk(k.clone(), f, chunk(1, ts, &v));
        }
    }

    #[test]
    fn samples_only_where_every_required_metric_has_a_value() {
        let mut c = Collector::new("f");
        let k = key("a", "j");
        full_host(&mut c, &k, &[1, 2, 3]);
        c.add_chunk(k.clone(), Field::SwapFree, chunk(2, &[4], &[1.0]));
        c.add_chunk(
            k.clone(),
            Field::PsiSome,
            chunk(3, &[2, 3], &[f64::NAN, 1.5e6]),
        );
        c.add_end(k.clone(), 10);
        let hosts = c.finish().unwrap();
        assert_eq!(hosts.len(), 1);
        let h = &hosts[0];
        assert_eq!(h.instance, "a");
        assert_eq!(
            h.samples.iter().map(|s| s.at_ms).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert_eq!(h.samples[1].psi_some_total_us, None);
        assert_eq!(h.samples[2].psi_some_total_us, Some(1_500_000));
        assert_eq!(h.end_ms, 10);
        assert_eq!(h.warnings.len(), 5, "{:?}", h.warnings);
    }

    #[test]
    fn one_instance_under_two_jobs_stays_two_hosts() {
        let mut c = Collector::new("f");
        full_host(&mut c, &key("a", "x"), &[1]);
        full_host(&mut c, &key("a", "y"), &[1]);
        full_host(&mut c, &key("b", "x"), &[1]);
        let names: Vec<_> = c
            .finish()
            .unwrap()
            .into_iter()
            .map(|h| h.instance)
            .collect();
        assert_eq!(names, ["a{job=\"x\"}", "a{job=\"y\"}", "b"]);
    }

    #[test]
    fn chunks_of_one_series_merge_and_conflicts_name_both_lines() {
        let ch = vec![
            chunk(5, &[3, 4], &[1.0, 2.0]),
            chunk(2, &[1, 2], &[0.0, 1.0]),
        ];
        let m = merge("f", "s", ch).unwrap().unwrap();
        assert_eq!(*m.ts, [1, 2, 3, 4]);
        let ch = vec![
            chunk(2, &[1, 2], &[0.0, 1.0]),
            chunk(5, &[2, 3], &[1.0, 2.0]),
        ];
        let m = merge("f", "s", ch).unwrap().unwrap();
        assert_eq!(
            (m.ts.to_vec(), m.vals),
            (vec![1, 2, 3], vec![0.0, 1.0, 2.0])
        );
        let ch = vec![
            chunk(2, &[1, 2], &[0.0, 1.0]),
            chunk(5, &[2, 3], &[7.0, 2.0]),
        ];
        let e = merge("f", "s", ch).unwrap_err().to_string();
        assert!(
            e.contains("line 5") && e.contains("line 2") && e.contains("timestamp 2"),
            "{e}"
        );
    }

    #[test]
    fn a_missing_required_metric_is_named() {
        let mut c = Collector::new("f.jsonl");
        let k = key("a", "j");
        c.add_chunk(k.clone(), Field::MemTotal, chunk(1, &[1], &[1.0]));
        let e = c.finish().unwrap_err().to_string();
        assert_eq!(
            e,
            "f.jsonl: instance a has memory series but no node_memory_MemAvailable_bytes (required)"
        );
    }

    #[test]
    fn no_memory_series_at_all_is_an_error() {
        let mut c = Collector::new("f.jsonl");
        c.add_end(key("a", "j"), 5);
        let e = c.finish().unwrap_err().to_string();
        assert_eq!(e, "no node_memory_* series found in f.jsonl");
    }
}
