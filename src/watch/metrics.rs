//! `/metrics` and `/health` of the watcher.
//!
//! | metric | type | meaning |
//! | --- | --- | --- |
//! | `memcanary_watch_cycle_duration_seconds` | gauge | wall time of the last cycle (queries, parsing, detectors) |
//! | `memcanary_watch_cycles_total{outcome}` | counter | cycles: `ok`, `failed` (skipped on a bad answer), `waiting` (backing off) |
//! | `memcanary_watch_query_errors_total` | counter | failed queries |
//! | `memcanary_watch_datasource_up` | gauge | 1 when the last query was answered |
//! | `memcanary_watch_last_success_timestamp_seconds` | gauge | wall time of the last good cycle |
//! | `memcanary_watch_hosts` | gauge | hosts tracked |
//! | `memcanary_watch_rule_hosts{rule,state}` | gauge | hosts per rule in `pending` / `firing` (`went_dark`: firing) |
//! | `memcanary_notifications_sent_total`, `memcanary_notifications_failed_total` | counter | deliveries |
//! | `memcanary_metrics_listen_errors_total` | counter | failed binds of `metrics_listen` (retried every 5 s) |
//!
//! `/health` (and `/-/healthy`) answers 200 while the loop completes cycles
//! (within three intervals), 503 otherwise; the body says whether the
//! datasource answers. The server is [`crate::http`]'s, the agent's: many
//! clients at once with deadlines, `HEAD`, a taken port retried.

use super::watcher::{Outcome, Watcher};
use crate::detect::{RuleStatus, WENT_DARK};
use crate::http::{Pages, Reply, Spawn};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

type FGauge = Gauge<f64, AtomicU64>;
type Labels = Vec<(String, String)>;

/// Handles the loop writes into.
#[derive(Debug, Clone, Default)]
pub struct WatchMetrics {
    cycle_seconds: FGauge,
    cycles: Family<Labels, Counter>,
    query_errors: Counter,
    datasource_up: FGauge,
    last_success: FGauge,
    hosts: FGauge,
    rule_hosts: Family<Labels, FGauge>,
    sent: Counter,
    failed: Counter,
    listen_errors: Counter,
    /// Wall ms of the last completed cycle (for /health).
    last_cycle_ms: Arc<AtomicI64>,
    copied: Arc<(AtomicU64, AtomicU64)>,
}

impl WatchMetrics {
    /// Every metric, registered.
    pub fn new() -> (WatchMetrics, Registry) {
        let mut reg = Registry::with_prefix("memcanary");
        let m = WatchMetrics::default();
        reg.register(
            "watch_cycle_duration_seconds",
            "Wall time of the last cycle",
            m.cycle_seconds.clone(),
        );
        reg.register("watch_cycles", "Cycles by outcome", m.cycles.clone());
        reg.register(
            "watch_query_errors",
            "Failed datasource queries",
            m.query_errors.clone(),
        );
        reg.register(
            "watch_datasource_up",
            "1 when the datasource answered the last query",
            m.datasource_up.clone(),
        );
        reg.register(
            "watch_last_success_timestamp_seconds",
            "Wall time of the last good cycle",
            m.last_success.clone(),
        );
        reg.register("watch_hosts", "Hosts tracked", m.hosts.clone());
        reg.register(
            "watch_rule_hosts",
            "Hosts per rule and state",
            m.rule_hosts.clone(),
        );
        reg.register(
            "notifications_sent",
            "Notifications delivered",
            m.sent.clone(),
        );
        reg.register(
            "notifications_failed",
            "Notifications given up",
            m.failed.clone(),
        );
        reg.register(
            "metrics_listen_errors",
            "Failed binds of metrics_listen (retried)",
            m.listen_errors.clone(),
        );
        (m, reg)
    }

    /// Records a finished cycle.
    pub fn cycle(&self, w: &Watcher, outcome: &Outcome, now_ms: i64, took: Duration) {
        self.cycle_seconds.set(took.as_secs_f64());
        let name = match outcome {
            Outcome::Ok { .. } => "ok",
            Outcome::Failed { .. } => "failed",
            Outcome::Waiting => "waiting",
        };
        self.cycles
            .get_or_create(&vec![("outcome".into(), name.into())])
            .inc();
        match outcome {
            Outcome::Ok { .. } => {
                self.datasource_up.set(1.0);
                self.last_success.set(now_ms as f64 / 1000.0);
            }
            Outcome::Failed { .. } => {
                self.query_errors.inc();
                self.datasource_up.set(0.0);
            }
            Outcome::Waiting => {}
        }
        self.hosts.set(w.fleet().hosts().len() as f64);
        self.rules(w);
        self.last_cycle_ms.store(now_ms, Relaxed);
    }

    fn rules(&self, w: &Watcher) {
        let mut counts: BTreeMap<(&'static str, &'static str), u64> = BTreeMap::new();
        for spec in w.fleet().rule_names() {
            counts.insert((spec, "pending"), 0);
            counts.insert((spec, "firing"), 0);
        }
        counts.insert((WENT_DARK, "firing"), 0);
        for host in w.fleet().hosts().values() {
            let d = host.detector();
            for (spec, st) in d.rules().iter() {
                let state = match st {
                    RuleStatus::Inactive => continue,
                    RuleStatus::Pending { .. } => "pending",
                    RuleStatus::Firing { .. } => "firing",
                };
                *counts.entry((spec.name, state)).or_default() += 1;
            }
            if d.is_dark() {
                *counts.entry((WENT_DARK, "firing")).or_default() += 1;
            }
        }
        for ((rule, state), n) in counts {
            let labels = vec![("rule".into(), rule.into()), ("state".into(), state.into())];
            self.rule_hosts.get_or_create(&labels).set(n as f64);
        }
    }

    /// Copies the dispatcher's delivery totals (monotonic) into the counters.
    pub fn deliveries(&self, sent: u64, failed: u64) {
        let (s, f) = &*self.copied;
        self.sent
            .inc_by(sent.saturating_sub(s.swap(sent.max(s.load(Relaxed)), Relaxed)));
        self.failed
            .inc_by(failed.saturating_sub(f.swap(failed.max(f.load(Relaxed)), Relaxed)));
    }
}

/// What the watcher's server shows.
struct WatchPages {
    registry: Registry,
    metrics: WatchMetrics,
    stale_ms: i64,
}

impl Pages for WatchPages {
    fn page(&self, path: &str) -> Option<Reply> {
        match path {
            "/metrics" | "/" => {
                let mut body = String::with_capacity(8192);
                Some(Reply::metrics(
                    encode(&mut body, &self.registry).map(|()| body),
                ))
            }
            "/health" | "/-/healthy" => Some(health(&self.metrics, self.stale_ms)),
            _ => None,
        }
    }

    fn bind_failed(&self) {
        self.metrics.listen_errors.inc();
    }
}

/// Serves `/metrics` and `/health` on `listen` ([`crate::http`]: many
/// clients at once, deadlines, `HEAD`, a taken port retried); `stale_ms`:
/// how long without a completed cycle /health still says ok.
pub fn serve(
    listen: &str,
    registry: Registry,
    metrics: WatchMetrics,
    stale_ms: i64,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let pages = WatchPages {
        registry,
        metrics,
        stale_ms,
    };
    let at = Spawn {
        listen,
        thread: "watch-http",
        stack: (256 * 1024, 64 * 1024),
        what: "/metrics and /health",
    };
    crate::http::serve(at, pages)
}

fn health(m: &WatchMetrics, stale_ms: i64) -> Reply {
    let last = m.last_cycle_ms.load(Relaxed);
    let age = crate::clock::wall_ms() - last;
    let ds = if m.datasource_up.get() > 0.0 {
        "up"
    } else {
        "down"
    };
    if last > 0 && age <= stale_ms {
        let body = format!("ok: last cycle {}s ago, datasource {ds}\n", age / 1000);
        Reply::ok("text/plain", body)
    } else {
        Reply {
            status: "503 Service Unavailable",
            content_type: "text/plain",
            body: format!("stalled: no cycle for {}s\n", age / 1000).into_bytes(),
        }
    }
}
