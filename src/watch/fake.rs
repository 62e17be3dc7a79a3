//! A datasource in memory for the tests: recorded samples per host,
//! answered as the real one answers a range selector at a time.

use super::answer::Points;
use crate::signal::node_exporter::Field;
use crate::signal::Sample;
use std::collections::{BTreeMap, HashMap};

/// Samples per host.
#[derive(Debug, Default, Clone)]
pub struct FakeSource {
    pub hosts: BTreeMap<String, Vec<Sample>>,
}

impl FakeSource {
    /// Every host's points of `field` in `(at_ms - window_ms, at_ms]`.
    pub fn fetch(&self, field: Field, window_ms: i64, at_ms: i64) -> HashMap<String, Points> {
        let mut out = HashMap::new();
        for (host, samples) in &self.hosts {
            let points: Points = samples
                .iter()
                .filter(|s| s.at_ms > at_ms - window_ms && s.at_ms <= at_ms)
                .filter_map(|s| field.of(s).map(|v| (s.at_ms, v as f64)))
                .collect();
            if !points.is_empty() {
                out.insert(host.clone(), points);
            }
        }
        out
    }
}

const MIB: u64 = 1 << 20;

/// A calm host: 800 of 1000 MiB available, a sample every `every_ms` from `start`.
pub fn calm(start: i64, every_ms: i64, n: i64) -> Vec<Sample> {
    (0..n)
        .map(|i| Sample {
            at_ms: start + i * every_ms,
            mem_total_bytes: 1000 * MIB,
            mem_available_bytes: 800 * MIB,
            psi_some_total_us: Some(0),
            ..Sample::default()
        })
        .collect()
}

/// A host draining 1 MiB/s from 900 MiB (no swap), a sample every 15 s.
pub fn draining(start: i64, n: i64) -> Vec<Sample> {
    (0..n)
        .map(|i| Sample {
            at_ms: start + i * 15_000,
            mem_total_bytes: 1000 * MIB,
            mem_available_bytes: (900 - i as u64 * 15) * MIB,
            psi_some_total_us: Some(0),
            ..Sample::default()
        })
        .collect()
}
