//! The sample's sources in `/metrics`: which files read cleanly, how often
//! they failed, whether the watched scope is there, and when the last
//! usable sample was.
//!
//! | metric | type | meaning |
//! | --- | --- | --- |
//! | `memcanary_source_ok{source}` | gauge | 1 while the part reads cleanly, 0 while it fails (`meminfo`, `vmstat`, `pressure`, `cgroup`, `cgroup_swap`, `cgroup_pressure`; only the parts the agent reads) |
//! | `memcanary_source_errors_total{source}` | counter | failed reads of that part |
//! | `memcanary_scope_vanished` | gauge | 1 while the watched cgroup's files are closed, waiting to be reopened (only with `agent.cgroup`) |
//! | `memcanary_last_sample_timestamp_seconds` | gauge | wall-clock time of the last usable sample |
//!
//! Like the rest of [`Metrics`](super::metrics::Metrics), every series is
//! created at start and the loop only stores into atomics.

use crate::source::{Part, PARTS};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

type FGauge = Gauge<f64, AtomicU64>;
type Labels = Vec<(String, String)>;

/// Handles the loop writes into, one per [`Part`] (by [`Part::index`]).
#[derive(Debug, Clone, Default)]
pub struct SourceMetrics {
    /// `memcanary_source_ok{source}`.
    pub ok: [FGauge; PARTS],
    /// `memcanary_source_errors_total{source}`.
    pub errors: [Counter; PARTS],
    /// `memcanary_scope_vanished`.
    pub scope_vanished: FGauge,
    /// `memcanary_last_sample_timestamp_seconds`.
    pub last_sample_timestamp: FGauge,
}

impl SourceMetrics {
    /// Registers the series of `parts` (the ones the agent reads, each
    /// starting as ok) and the scope gauge when `scoped`.
    pub fn register(reg: &mut Registry, parts: &[Part], scoped: bool) -> SourceMetrics {
        let mut m = SourceMetrics::default();
        let ok = Family::<Labels, FGauge>::default();
        let errors = Family::<Labels, Counter>::default();
        for p in parts {
            let labels = vec![("source".to_string(), p.label().to_string())];
            m.ok[p.index()] = ok.get_or_create_owned(&labels);
            m.ok[p.index()].set(1.0);
            m.errors[p.index()] = errors.get_or_create_owned(&labels);
        }
        reg.register(
            "source_ok",
            "1 while this part of the sample reads cleanly, 0 while it fails",
            ok,
        );
        reg.register(
            "source_errors",
            "Failed reads of this part of the sample",
            errors,
        );
        if scoped {
            reg.register(
                "scope_vanished",
                "1 while the watched cgroup's files are closed, waiting to be reopened",
                m.scope_vanished.clone(),
            );
        }
        reg.register(
            "last_sample_timestamp_seconds",
            "Wall-clock time of the last usable sample",
            m.last_sample_timestamp.clone(),
        );
        m
    }
}
