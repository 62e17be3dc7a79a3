//! The live loop of `memcanary watch`: the clock, the sleep, the
//! dispatcher and the shutdown around the pure [`Watcher`].
//!
//! One thread runs the cycles (each signal's query on a thread of its
//! own); a thread per history request reads new hosts' recent days
//! beside them (`history_thread`); the dispatcher's threads deliver; a small
//! HTTP thread serves `/metrics` and `/health`. SIGTERM or SIGINT ends the
//! loop after the current cycle, then pending notifications get a few
//! seconds to go out.

use super::client::{BuildError, Datasource, QueryError};
use super::config::WatchConfig;
use super::history_thread::HistoryAsker;
use super::metrics::{self, WatchMetrics};
use super::watcher::{Answer, Outcome, Plan, Watcher, MAX_NAMED};
use crate::clock::{mono, wall_ms};
use crate::detect::DetectorConfig;
use crate::notify::{Alert, Dispatcher};
use crate::signal::node_exporter::Field;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

/// How long pending deliveries may take at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
/// The longest sleep between looks at the shutdown flag.
const TICK: Duration = Duration::from_millis(200);

/// Why the watcher cannot start.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The datasource client.
    #[error(transparent)]
    Datasource(#[from] BuildError),
    /// The `/metrics` server could not start (a taken port is retried, not this).
    #[error("watch.metrics_listen = {listen:?}: cannot start its server")]
    Metrics {
        /// The address.
        listen: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Runs cycles every `watch.interval` until `shutdown` is set, sending
/// events through `dispatcher` (shut down on return).
pub fn run(
    cfg: &WatchConfig,
    detector: &DetectorConfig,
    dispatcher: Dispatcher,
    shutdown: &AtomicBool,
) -> Result<(), WatchError> {
    let ds = Datasource::build(cfg)?;
    let seed = wall_ms() as u64 ^ u64::from(std::process::id()) << 32;
    let mut w = Watcher::new(cfg, detector, ds.name(), seed);
    w.restore(dispatcher.restored_firing_alerts());
    let (m, registry) = WatchMetrics::new();
    let interval = Duration::from_millis(cfg.interval.as_millis() as u64);
    if !cfg.metrics_listen.is_empty() {
        let stale_ms = 3 * cfg.interval.as_millis() + cfg.timeout.as_millis() * 10;
        metrics::serve(&cfg.metrics_listen, registry, m.clone(), stale_ms).map_err(|source| {
            WatchError::Metrics {
                listen: cfg.metrics_listen.clone(),
                source,
            }
        })?;
    }
    tracing::info!(datasource = %ds.name(), selector = %cfg.selector, host_label = %cfg.host_label, interval = %cfg.interval, "watching");
    let mut history = HistoryAsker::build(cfg)?;
    while !shutdown.load(Relaxed) {
        let started = mono();
        let now = wall_ms();
        let mut events = Vec::new();
        let mut answered = Duration::ZERO;
        let outcome = match w.plan(now, &mut events) {
            Some(plan) => {
                let answers = fetch_all(&ds, &plan);
                answered = started.elapsed();
                let outcome = w.finish(now, &plan, answers, &mut events);
                if let Some(plan) = w.backfill_plan() {
                    let answers = fetch_all(&ds, &plan);
                    w.finish_backfill(&plan, answers, &mut events);
                }
                outcome
            }
            None => Outcome::Waiting,
        };
        let took = started.elapsed();
        log_outcome(&outcome, ds.name(), &w, answered, took);
        for (host, ev) in &events {
            tracing::info!(host = %host, rule = ev.rule, state = ev.state.as_str(), severity = ev.severity.as_str(), "alert state changed");
            if let Some(alert) = Alert::try_from_event(ev, host) {
                dispatcher.send(alert);
            }
        }
        if matches!(outcome, Outcome::Ok { .. }) {
            refresh(&mut w, now, &dispatcher);
        }
        history.step(&mut w, now);
        m.cycle(&w, &outcome, now, took);
        let (sent, failed) = dispatcher.totals();
        m.deliveries(sent, failed);
        sleep_until(started + interval, shutdown);
    }
    tracing::info!("shutting down");
    let stats = dispatcher.shutdown(SHUTDOWN_GRACE);
    tracing::info!(sinks = stats.sinks.len(), "notifications flushed");
    Ok(())
}

/// The firing rules' current values, as repeated firings: no state
/// change, so no log line at info; the router keeps them for reminders.
fn refresh(w: &mut Watcher, now: i64, dispatcher: &Dispatcher) {
    let mut firing = Vec::new();
    w.refresh(now, &mut firing);
    for (host, ev) in &firing {
        tracing::debug!(host = %host, rule = ev.rule, "current values of a firing alert, for its reminders");
        if let Some(alert) = Alert::try_from_event(ev, host) {
            dispatcher.send(alert);
        }
    }
}

/// Every signal asked at once, one thread each: the datasource's time per
/// query is the cycle's wall time, so in parallel it is the longest query's.
fn fetch_all(ds: &Datasource, plan: &Plan) -> Vec<(Field, Answer)> {
    std::thread::scope(|scope| {
        let asks: Vec<_> = Field::ALL
            .map(|f| (f, scope.spawn(move || fetch(ds, f, plan))))
            .into_iter()
            .collect();
        asks.into_iter()
            .map(|(f, h)| {
                let answer = h.join().unwrap_or_else(|_| {
                    Err(QueryError::Unreachable("the query thread panicked".into()))
                });
                (f, answer)
            })
            .collect()
    })
}

/// One signal of `plan`: named hosts (a few newcomers) narrow the query.
fn fetch(ds: &Datasource, f: Field, plan: &Plan) -> Answer {
    if plan.hosts.is_empty() || plan.hosts.len() > MAX_NAMED {
        ds.fetch(f, plan.window_ms, plan.at_ms)
    } else {
        ds.fetch_hosts(f, plan.window_ms, plan.at_ms, &plan.hosts)
    }
}

/// One line per cycle that did not go well; a debug line otherwise, with
/// where its time went: the answers all in (asked at once, each parsed in
/// its own thread), then joining and judging them, and any newcomers'
/// backfill (`took_ms` is the whole).
fn log_outcome(
    outcome: &Outcome,
    datasource: &str,
    w: &Watcher,
    answered: Duration,
    took: Duration,
) {
    match outcome {
        Outcome::Ok { window_ms } => tracing::debug!(
            hosts = w.fleet().hosts().len(),
            window_s = window_ms / 1000,
            answers_ms = answered.as_millis() as u64,
            took_ms = took.as_millis() as u64,
            "cycle done"
        ),
        Outcome::Failed { metric, error } => tracing::warn!(
            datasource = %datasource,
            metric = *metric,
            error = %error,
            "datasource query failed: cycle skipped, every host's state kept"
        ),
        Outcome::Waiting => tracing::debug!("datasource failing: backing off"),
    }
}

fn sleep_until(deadline: std::time::Instant, shutdown: &AtomicBool) {
    while !shutdown.load(Relaxed) {
        let left = deadline.saturating_duration_since(mono());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(TICK));
    }
}
