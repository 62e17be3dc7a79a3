//! [`Dispatcher`]: the notification pipeline as the agent sees it.
//!
//! Threads, each with one job:
//! - the caller's thread only does a non-blocking `try_send` into a bounded
//!   channel ([`Dispatcher::send`]); when it is full the alert goes to the
//!   spool's inbox (or is dropped and counted, without a spool);
//! - the router thread dedupes, routes and sends reminders;
//! - one worker thread per target delivers, retries and removes spool files;
//! - with a spool, the spool writer thread persists each job beside its
//!   first attempt, and the dedupe state: no fsync on the way to an attempt.
//!
//! Everything is std threads and channels: no async runtime.

use super::alert::Alert;
use super::config::NotifyConfig;
use super::error::NotifyError;
use super::retry::Backoff;
use super::router::{self, Route, Router, RouterMsg};
use super::spool::{Job, Spool};
use super::spool_writer::SpoolWriter;
use super::stats::{Counters, Stats};
use super::targets::{self, Target};
use super::transport::Transport;
use super::worker::{Worker, WorkerMsg};
use crate::clock::{Clock, SystemClock};
use crate::detect::Severity;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Stack reservation of the router thread, and the part kept resident.
const ROUTER_STACK: (usize, usize) = (256 * 1024, 64 * 1024);
/// Stack reservation of delivery threads (TLS handshakes need some room),
/// and the part kept resident (see [`crate::thread`]).
const WORKER_STACK: (usize, usize) = (1024 * 1024, HOT_TLS_STACK);
/// Stack depth to keep resident in a thread that may do a TLS handshake.
pub const HOT_TLS_STACK: usize = 128 * 1024;
/// ...and in a stdout worker, which renders and writes a line (what it
/// touches beyond is locked as it is touched).
const HOT_STDOUT_STACK: usize = 32 * 1024;

/// Sends alerts to the configured sinks from background threads.
#[derive(Debug)]
pub struct Dispatcher {
    intake: Option<SyncSender<RouterMsg>>,
    router: Option<JoinHandle<()>>,
    workers: Vec<JoinHandle<()>>,
    counters: Vec<(String, &'static str, Arc<Counters>)>,
    inbox: Option<Spool>,
    inbox_dirty: Arc<AtomicBool>,
    seq: Arc<AtomicU64>,
    dropped_intake: AtomicU64,
    clock: Arc<dyn Clock>,
    restored_firing: Vec<String>,
    restored_alerts: Vec<(String, String)>,
}

impl Dispatcher {
    /// How often a caller hands its firing rules' current values to
    /// [`Dispatcher::send`] as repeated firings (the router notifies
    /// nothing for them; its reminders show them): the agent's and the
    /// watcher's period.
    pub const REFRESH_EVERY_MS: i64 = 30_000;

    /// Validates `cfg`, builds every sink's client and starts the threads.
    /// With `spool_dir`, pending notifications and dedupe state are kept
    /// there and picked up again by the next dispatcher on the same dir.
    pub fn build(cfg: &NotifyConfig, spool_dir: Option<&Path>) -> Result<Dispatcher, NotifyError> {
        let clock = Arc::new(SystemClock);
        let seed = clock.now_ms() as u64 ^ u64::from(std::process::id()) << 32;
        Dispatcher::build_with(cfg, spool_dir, clock, seed)
    }

    /// [`Dispatcher::build`] with the clock and the jitter seed given.
    pub fn build_with(
        cfg: &NotifyConfig,
        spool_dir: Option<&Path>,
        clock: Arc<dyn Clock>,
        seed: u64,
    ) -> Result<Dispatcher, NotifyError> {
        // The ranges are the config loader's (`NotifyConfig::validate`).
        cfg.validate_sinks()?;
        let targets = targets::build(cfg)?;
        if let Some(d) = spool_dir {
            super::spool::remove_stale_tmp(d);
        }
        let state_path = spool_dir.map(|d| d.join("state.json"));
        let inbox = spool_dir.map(|d| Spool::open(d, "inbox")).transpose()?;
        let mut spools = Vec::new();
        for t in &targets {
            spools.push(spool_dir.map(|d| Spool::open(d, &t.name)).transpose()?);
        }
        let max_seq = spools
            .iter()
            .chain(std::iter::once(&inbox))
            .flatten()
            .map(Spool::max_seq)
            .max()
            .unwrap_or(0);
        let seq = Arc::new(AtomicU64::new(max_seq));
        let mut d = Dispatcher {
            intake: None,
            router: None,
            workers: Vec::new(),
            counters: Vec::new(),
            inbox: inbox.clone(),
            inbox_dirty: Arc::new(AtomicBool::new(false)),
            seq: seq.clone(),
            dropped_intake: AtomicU64::new(0),
            clock: clock.clone(),
            restored_firing: Vec::new(),
            restored_alerts: Vec::new(),
        };
        let mut routes = Vec::new();
        for (i, (t, spool)) in targets.iter().zip(&spools).enumerate() {
            let initial = spool.as_ref().map(Spool::jobs).transpose()?;
            let initial = initial.into_iter().flatten();
            let tx = d.start_worker(cfg, t, spool.clone(), initial, seed.wrapping_add(i as u64))?;
            routes.push(Route {
                name: t.name.clone(),
                repeat_ms: t.repeat_ms,
                tx,
                counters: d.counters[i].2.clone(),
            });
        }
        let state = state_path
            .as_deref()
            .map(router::load_state)
            .unwrap_or_default();
        d.restored_firing = router::firing_rules(&state);
        d.restored_alerts = state
            .values()
            .filter(|e| e.alert.state == super::alert::State::Firing && !e.alert.is_test)
            .map(|e| (e.alert.instance.clone(), e.alert.rule.clone()))
            .collect();
        let router = Router {
            routes,
            warning: targets::route(cfg, &targets, Severity::Warning),
            critical: targets::route(cfg, &targets, Severity::Critical),
            state,
            writer: start_writer(spools, &inbox, state_path)?,
            inbox,
            inbox_dirty: d.inbox_dirty.clone(),
            seq,
            clock,
            unsaved_since_ms: None,
        };
        let (tx, rx) = mpsc::sync_channel(cfg.queue_capacity);
        let (reserve, hot) = ROUTER_STACK;
        let handle =
            crate::thread::spawn("notify-router".into(), reserve, hot, move || router.run(rx))
                .map_err(NotifyError::Thread)?;
        d.intake = Some(tx);
        d.router = Some(handle);
        for t in &targets {
            tracing::info!(sink = %t.name, kind = t.sink.kind().as_str(), endpoint = %t.sink.endpoint(), "notification sink ready");
        }
        Ok(d)
    }

    fn start_worker(
        &mut self,
        cfg: &NotifyConfig,
        t: &Target,
        spool: Option<Spool>,
        initial: impl IntoIterator<Item = Job>,
        seed: u64,
    ) -> Result<mpsc::Sender<WorkerMsg>, NotifyError> {
        let ms = |d: crate::detect::Dur| Duration::from_millis(d.as_millis() as u64);
        let counters = Arc::new(Counters::default());
        self.counters
            .push((t.name.clone(), t.sink.kind().as_str(), counters.clone()));
        let transport = Transport::new(ms(cfg.connect_timeout), ms(cfg.request_timeout));
        let backoff = Backoff::new(ms(cfg.retry_initial), ms(cfg.retry_max), seed);
        let worker = Worker::new(
            t.clone(),
            transport,
            spool,
            cfg.spool_capacity,
            backoff,
            counters,
            self.clock.clone(),
            initial,
        );
        let (tx, rx) = mpsc::channel();
        let (reserve, mut hot) = WORKER_STACK;
        if matches!(t.sink, crate::notify::sink::Sink::Stdout(_)) {
            hot = HOT_STDOUT_STACK;
        }
        let handle = crate::thread::spawn(format!("notify-{}", t.name), reserve, hot, move || {
            worker.run(rx)
        })
        .map_err(NotifyError::Thread)?;
        self.workers.push(handle);
        Ok(tx)
    }

    /// The rules the spool's state says were notified as firing by a
    /// previous run (not yet confirmed by this one). The caller resolves
    /// those its detector does not hold once it has warmed up, by sending
    /// their resolve; a firing confirms one (not notified again).
    pub fn restored_firing(&self) -> &[String] {
        &self.restored_firing
    }

    /// [`Dispatcher::restored_firing`] with each alert's instance:
    /// `(instance, rule)`, for a caller that watches many hosts.
    pub fn restored_firing_alerts(&self) -> &[(String, String)] {
        &self.restored_alerts
    }

    /// Queues `alert` for delivery without blocking: when the queue is
    /// full the alert is spooled to disk (or, without a spool, dropped and
    /// counted in [`Stats::dropped_intake`]).
    pub fn send(&self, alert: Alert) {
        let Some(intake) = &self.intake else { return };
        match intake.try_send(RouterMsg::Alert(Box::new(alert))) {
            Ok(()) => {}
            Err(TrySendError::Full(RouterMsg::Alert(a))) => self.overflow(*a),
            Err(_) => tracing::warn!("notification dispatcher has stopped; alert not sent"),
        }
    }

    fn overflow(&self, alert: Alert) {
        let Some(inbox) = &self.inbox else {
            self.dropped_intake.fetch_add(1, Relaxed);
            return tracing::warn!(rule = %alert.rule, instance = %alert.instance, "notification queue full and no spool: alert dropped");
        };
        let job = Job {
            seq: self.seq.fetch_add(1, Relaxed) + 1,
            alert,
        };
        match inbox.put(&job) {
            Ok(()) => {
                self.inbox_dirty.store(true, Relaxed);
                // The router checks the flag after each message: a full
                // queue already holds one for it; otherwise this wakes it.
                if let Some(intake) = &self.intake {
                    let _ = intake.try_send(RouterMsg::Wake);
                }
            }
            Err(e) => {
                self.dropped_intake.fetch_add(1, Relaxed);
                tracing::warn!(error = %e, "notification queue full and spool write failed: alert dropped");
            }
        }
    }

    /// Delivery counters per target (for /metrics).
    pub fn stats(&self) -> Stats {
        Stats {
            sinks: self
                .counters
                .iter()
                .map(|(n, k, c)| c.snapshot(n, k))
                .collect(),
            dropped_intake: self.dropped_intake.load(Relaxed),
        }
    }

    /// Delivered and failed-or-dropped totals over every sink, read from
    /// the counters without allocating (for a poller such as `/metrics`).
    pub fn totals(&self) -> (u64, u64) {
        let (mut sent, mut failed) = (0, self.dropped_intake.load(Relaxed));
        for (_, _, c) in &self.counters {
            sent += c.sent.load(Relaxed);
            failed += c.failed.load(Relaxed) + c.dropped.load(Relaxed);
        }
        (sent, failed)
    }

    /// Stops: workers keep delivering what is pending until `deadline` has
    /// passed; no attempt starts after it, and a request still in flight
    /// then is abandoned (its job stays in the spool). Logs, per sink, how
    /// many notifications were left and how many of them are on disk.
    /// Returns the final counters.
    pub fn shutdown(mut self, deadline: Duration) -> Stats {
        self.stop(deadline);
        self.stats()
    }

    fn stop(&mut self, deadline: Duration) {
        if self.intake.is_none() && self.workers.is_empty() {
            return;
        }
        let until = self
            .clock
            .now_ms()
            .saturating_add(deadline.as_millis().min(i64::MAX as u128) as i64);
        if let Some(intake) = self.intake.take() {
            // A blocking send: the router is draining, and shutdown is allowed to wait.
            let _ = intake.send(RouterMsg::Shutdown(until));
        }
        if let Some(r) = self.router.take() {
            let _ = r.join();
        }
        let left_ms = (until - self.clock.now_ms()).max(0) as u64;
        let busy = self.join_workers(Duration::from_millis(left_ms) + JOIN_GRACE);
        self.log_left(&busy);
    }

    /// Joins the workers that finish within `wait`; the names of those still
    /// busy (blocked in a request), which are left to the process exit.
    fn join_workers(&mut self, wait: Duration) -> Vec<String> {
        let end = crate::clock::mono() + wait;
        let mut workers: Vec<JoinHandle<()>> = self.workers.drain(..).collect();
        while workers.iter().any(|w| !w.is_finished()) && crate::clock::mono() < end {
            std::thread::sleep(JOIN_POLL);
        }
        let (done, busy): (Vec<_>, Vec<_>) = workers.drain(..).partition(|w| w.is_finished());
        for w in done {
            let _ = w.join();
        }
        busy.iter()
            .filter_map(|w| w.thread().name())
            .map(|n| n.trim_start_matches("notify-").to_string())
            .collect()
    }

    /// Says, per sink, what was left undelivered: kept in the spool (sent
    /// after the restart) or not persisted (lost).
    fn log_left(&self, busy: &[String]) {
        for (name, _, c) in &self.counters {
            let (pending, on_disk) = c.waiting();
            let in_flight = busy.contains(name);
            if pending == 0 && !in_flight {
                continue;
            }
            let lost = pending - on_disk;
            if lost > 0 {
                tracing::warn!(sink = %name, pending, kept_in_spool = on_disk, not_persisted = lost, in_flight, "stopping with undelivered notifications: {on_disk} kept in the spool, {lost} not persisted (lost)");
            } else {
                tracing::info!(sink = %name, pending, kept_in_spool = on_disk, not_persisted = 0, in_flight, "stopping with undelivered notifications: all {on_disk} kept in the spool");
            }
        }
    }
}

/// The spool writer, with a spool (`spools`: one per target, in order).
fn start_writer(
    spools: Vec<Option<Spool>>,
    inbox: &Option<Spool>,
    state_path: Option<std::path::PathBuf>,
) -> Result<Option<SpoolWriter>, NotifyError> {
    let (Some(inbox), Some(state_path)) = (inbox, state_path) else {
        return Ok(None);
    };
    let spools = spools.into_iter().flatten().collect();
    SpoolWriter::spawn(spools, inbox.clone(), state_path)
        .map(Some)
        .map_err(NotifyError::Thread)
}

/// After the shutdown deadline, how long an idle worker may take to notice
/// it; a worker blocked in a request longer than that is abandoned.
const JOIN_GRACE: Duration = Duration::from_millis(200);
/// How often the shutdown checks whether the workers have finished.
const JOIN_POLL: Duration = Duration::from_millis(10);

impl Drop for Dispatcher {
    fn drop(&mut self) {
        self.stop(Duration::ZERO);
    }
}
