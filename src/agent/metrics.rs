//! `/metrics`: the agent's view in Prometheus exposition (OpenMetrics text),
//! so VictoriaMetrics/Prometheus can scrape it beside node_exporter.
//!
//! Every metric (including one gauge per rule) is created at start; the
//! alert loop only stores into atomics, which never allocates. Encoding
//! happens on the small HTTP thread ([`super::http`]), per scrape.
//!
//! | metric | type | meaning |
//! | --- | --- | --- |
//! | `memcanary_headroom_bytes` | gauge | MemAvailable + SwapFree (of the scope) |
//! | `memcanary_headroom_ratio` | gauge | headroom / (MemTotal + SwapTotal) |
//! | `memcanary_mem_available_bytes`, `memcanary_swap_free_bytes` | gauge | the parts |
//! | `memcanary_forecast_seconds` | gauge | seconds to exhaustion at the current drain; NaN when not draining |
//! | `memcanary_psi_some_ratio`, `memcanary_psi_full_ratio` | gauge | PSI stall share over the detector's rate window |
//! | `memcanary_alert_state{rule}` | gauge | 0 inactive, 1 pending, 2 firing |
//! | `memcanary_notifications_sent_total`, `memcanary_notifications_failed_total` | counter | deliveries |
//! | `memcanary_loop_lateness_seconds` | gauge | how late the loop woke, last sample |
//! | `memcanary_loop_lateness_max_seconds` | gauge | worst lateness since start |
//! | `memcanary_samples_total`, `memcanary_sample_errors_total` | counter | reads, and reads skipped as bad |
//! | `memcanary_psi_trigger_wakeups_total` | counter | kernel PSI trigger wake-ups |
//! | `memcanary_metrics_listen_errors_total` | counter | failed binds of this listener (retried) |
//! | `memcanary_notify_sinks_broken` | gauge | configured sinks skipped at start (secret unreadable, URL unusable) |
//! | `memcanary_psi_trigger_last_wakeup_timestamp_seconds` | gauge | wall-clock time of the last one (0: none yet) |
//! | `memcanary_sampling_interval_seconds` | gauge | current interval (fast under pressure) |
//! | `memcanary_psi_trigger_mode_info{mode}` | gauge | 1 for the active mode |
//! | `memcanary_memory_locked` | gauge | 1 if mlockall took effect |
//! | `memcanary_memory_locked_future` | gauge | 1 if later mappings are locked too (0: `RLIMIT_MEMLOCK` left no room) |
//! | `memcanary_process_resident_bytes`, `memcanary_process_locked_bytes` | gauge | the agent's own VmRSS / VmLck |
//! | `memcanary_build_info{version}` | info | build |
//! | `memcanary_source_ok{source}`, `memcanary_source_errors_total{source}`, `memcanary_scope_vanished`, `memcanary_last_sample_timestamp_seconds` | | the sample's files: see [`super::source_metrics`] |

use crate::detect::RuleStatus;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use std::path::Path;
use std::sync::atomic::AtomicU64;

type FGauge = Gauge<f64, AtomicU64>;
type Labels = Vec<(String, String)>;

/// Handles the loop writes into.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    /// Headroom, bytes.
    pub headroom_bytes: FGauge,
    /// Headroom ratio.
    pub headroom_ratio: FGauge,
    /// MemAvailable, bytes.
    pub mem_available_bytes: FGauge,
    /// SwapFree, bytes.
    pub swap_free_bytes: FGauge,
    /// Forecast seconds (NaN: none).
    pub forecast_seconds: FGauge,
    /// PSI some ratio.
    pub psi_some_ratio: FGauge,
    /// PSI full ratio.
    pub psi_full_ratio: FGauge,
    /// One gauge per rule, in the detector's rule order, then `loop_stalled`.
    pub alert_state: Vec<FGauge>,
    /// Notifications delivered.
    pub notifications_sent: Counter,
    /// Notifications that failed.
    pub notifications_failed: Counter,
    /// Last loop lateness, seconds.
    pub loop_lateness_seconds: FGauge,
    /// Worst loop lateness, seconds.
    pub loop_lateness_max_seconds: FGauge,
    /// Samples read.
    pub samples: Counter,
    /// Samples skipped.
    pub sample_errors: Counter,
    /// PSI trigger wake-ups.
    pub psi_trigger_wakeups: Counter,
    /// Failed binds of the /metrics listener (retried).
    pub metrics_listen_errors: Counter,
    /// Configured sinks skipped at start (secret unreadable, bad URL).
    pub notify_sinks_broken: FGauge,
    /// Unix time of the last PSI trigger wake-up, seconds.
    pub psi_trigger_last_wakeup: FGauge,
    /// Current sampling interval.
    pub sampling_interval_seconds: FGauge,
    /// 1 if memory is locked.
    pub memory_locked: FGauge,
    /// The sample's sources (see [`super::source_metrics`]); registered by
    /// [`super::source_metrics::SourceMetrics::register`] once the source is open.
    pub sources: super::source_metrics::SourceMetrics,
    /// 1 if later mappings are locked too (`RLIMIT_MEMLOCK` allowing).
    pub memory_locked_future: FGauge,
    resident_bytes: FGauge,
    locked_bytes: FGauge,
}

/// Numeric alert state for the gauge.
pub fn state_value(s: RuleStatus) -> f64 {
    match s {
        RuleStatus::Inactive => 0.0,
        RuleStatus::Pending { .. } => 1.0,
        RuleStatus::Firing { .. } => 2.0,
    }
}

impl Metrics {
    /// Creates every metric and registers it; `rules` are the rule names.
    pub fn new(rules: &[&'static str], trigger_mode: &'static str) -> (Metrics, Registry) {
        let mut reg = Registry::with_prefix("memcanary");
        let m = Metrics::default();
        let g = |reg: &mut Registry, name: &str, help: &str, v: &FGauge| {
            reg.register(name, help, v.clone())
        };
        g(
            &mut reg,
            "headroom_bytes",
            "MemAvailable + SwapFree of the watched scope, bytes",
            &m.headroom_bytes,
        );
        g(
            &mut reg,
            "headroom_ratio",
            "Headroom over MemTotal + SwapTotal",
            &m.headroom_ratio,
        );
        g(
            &mut reg,
            "mem_available_bytes",
            "MemAvailable, bytes",
            &m.mem_available_bytes,
        );
        g(
            &mut reg,
            "swap_free_bytes",
            "SwapFree, bytes",
            &m.swap_free_bytes,
        );
        g(
            &mut reg,
            "forecast_seconds",
            "Seconds until headroom runs out at the current drain (NaN: not draining)",
            &m.forecast_seconds,
        );
        g(
            &mut reg,
            "psi_some_ratio",
            "PSI memory some stall share over the rate window",
            &m.psi_some_ratio,
        );
        g(
            &mut reg,
            "psi_full_ratio",
            "PSI memory full stall share over the rate window",
            &m.psi_full_ratio,
        );
        g(
            &mut reg,
            "loop_lateness_seconds",
            "How late the sampling loop woke for the last sample",
            &m.loop_lateness_seconds,
        );
        g(
            &mut reg,
            "loop_lateness_max_seconds",
            "Worst loop lateness since start",
            &m.loop_lateness_max_seconds,
        );
        g(
            &mut reg,
            "psi_trigger_last_wakeup_timestamp_seconds",
            "Wall-clock time of the last kernel PSI trigger wake-up",
            &m.psi_trigger_last_wakeup,
        );
        g(
            &mut reg,
            "sampling_interval_seconds",
            "Current sampling interval",
            &m.sampling_interval_seconds,
        );
        g(
            &mut reg,
            "memory_locked",
            "1 if mlockall took effect",
            &m.memory_locked,
        );
        g(
            &mut reg,
            "memory_locked_future",
            "1 if later mappings are locked too (0: RLIMIT_MEMLOCK left no room, current pages only)",
            &m.memory_locked_future,
        );
        g(
            &mut reg,
            "process_resident_bytes",
            "The agent's own VmRSS",
            &m.resident_bytes,
        );
        g(
            &mut reg,
            "process_locked_bytes",
            "The agent's own VmLck",
            &m.locked_bytes,
        );
        reg.register(
            "notifications_sent",
            "Notifications delivered",
            m.notifications_sent.clone(),
        );
        reg.register(
            "notifications_failed",
            "Notifications that failed",
            m.notifications_failed.clone(),
        );
        reg.register("samples", "Samples read", m.samples.clone());
        reg.register(
            "sample_errors",
            "Samples skipped because /proc could not be read or parsed",
            m.sample_errors.clone(),
        );
        reg.register(
            "psi_trigger_wakeups",
            "Wake-ups by the kernel PSI trigger",
            m.psi_trigger_wakeups.clone(),
        );
        g(
            &mut reg,
            "notify_sinks_broken",
            "Configured notification sinks skipped at start (secret unreadable, URL unusable; see the log)",
            &m.notify_sinks_broken,
        );
        reg.register(
            "metrics_listen_errors",
            "Failed binds of the /metrics listener (retried every few seconds)",
            m.metrics_listen_errors.clone(),
        );
        let states = Family::<Labels, FGauge>::default();
        let alert_state = rules
            .iter()
            .map(|r| states.get_or_create_owned(&vec![("rule".to_string(), r.to_string())]))
            .collect();
        reg.register(
            "alert_state",
            "Alert state per rule: 0 inactive, 1 pending, 2 firing",
            states,
        );
        let mode = Family::<Labels, FGauge>::default();
        mode.get_or_create_owned(&vec![("mode".to_string(), trigger_mode.to_string())])
            .set(1.0);
        reg.register("psi_trigger_mode_info", "Active PSI wake-up mode", mode);
        let info = Info::new(vec![(
            "version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        )]);
        reg.register("build", "memcanary build", info);
        (Metrics { alert_state, ..m }, reg)
    }
}

impl Metrics {
    /// The exposition text of `reg`, with the agent's own VmRSS and VmLck
    /// read now (for the HTTP server, [`super::http`], per scrape).
    pub fn encode(&self, reg: &Registry, proc_root: &Path) -> Result<String, std::fmt::Error> {
        if let Some((locked, rss)) = super::protect::self_memory(proc_root) {
            self.locked_bytes.set(locked as f64);
            self.resident_bytes.set(rss as f64);
        }
        let mut body = String::with_capacity(8192);
        encode(&mut body, reg)?;
        Ok(body)
    }
}
