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
//!
//! `/health` answers 200 while the loop completes cycles (within three
//! intervals), 503 otherwise; the body says whether the datasource answers.

use super::watcher::{Outcome, Watcher};
use crate::detect::{RuleStatus, WENT_DARK};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
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

/// Serves `GET /metrics` and `GET /health` on `listen`; `stale_ms`: how
/// long without a completed cycle /health still says ok.
pub fn serve(
    listen: &str,
    registry: Registry,
    metrics: WatchMetrics,
    stale_ms: i64,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let listener = TcpListener::bind(listen)?;
    tracing::info!(listen = %listener.local_addr()?, "serving /metrics and /health");
    let registry = Arc::new(registry);
    crate::thread::spawn("watch-http".into(), 256 * 1024, 64 * 1024, move || {
        for conn in listener.incoming().flatten() {
            if let Err(e) = answer(conn, &registry, &metrics, stale_ms) {
                tracing::debug!(error = %e, "metrics request failed");
            }
        }
    })
}

fn answer(
    mut conn: TcpStream,
    reg: &Registry,
    m: &WatchMetrics,
    stale_ms: i64,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(2)))?;
    conn.set_write_timeout(Some(Duration::from_secs(2)))?;
    let mut buf = [0u8; 2048];
    let mut n = 0;
    while n < buf.len() {
        let k = conn.read(&mut buf[n..])?;
        if k == 0 {
            break;
        }
        n += k;
        if buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let head = std::str::from_utf8(&buf[..n]).unwrap_or("");
    let path = head.split_ascii_whitespace().nth(1).unwrap_or("");
    let (status, kind, body) = match (head.starts_with("GET "), path) {
        (true, "/metrics" | "/") => {
            let mut body = String::with_capacity(8192);
            encode(&mut body, reg).map_err(std::io::Error::other)?;
            (
                "200 OK",
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                body,
            )
        }
        (true, "/health") => health(m, stale_ms),
        _ => ("404 Not Found", "text/plain", String::new()),
    };
    let header = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(header.as_bytes())?;
    conn.write_all(body.as_bytes())
}

fn health(m: &WatchMetrics, stale_ms: i64) -> (&'static str, &'static str, String) {
    let last = m.last_cycle_ms.load(Relaxed);
    let age = crate::clock::wall_ms() - last;
    let ds = if m.datasource_up.get() > 0.0 {
        "up"
    } else {
        "down"
    };
    if last > 0 && age <= stale_ms {
        (
            "200 OK",
            "text/plain",
            format!("ok: last cycle {}s ago, datasource {ds}\n", age / 1000),
        )
    } else {
        (
            "503 Service Unavailable",
            "text/plain",
            format!("stalled: no cycle for {}s\n", age / 1000),
        )
    }
}
