//! The alert path: wait (timer, PSI trigger, signals), read, detect, hand off.
//!
//! Each turn: `epoll_wait` until the next deadline or a PSI trigger / signal;
//! read one sample with `pread`; feed the detector; push the ring; store metrics
//! into atomics; hand events to the notifier and black-box threads with
//! `try_send`. Lateness (woke later than the deadline) is measured every turn:
//! above `agent.stall_after` the agent raises its own `loop_stalled` warning,
//! since an agent that cannot get scheduled is itself evidence of thrash.

use super::blackbox::{Blackbox, Latest, Note};
use super::clock::{mono_ns, wall_ms};
use super::config::AgentConfig;
use super::metrics::{state_value, Metrics};
use super::notifier::Notifier;
use super::ring::{Ring, Row};
use super::trigger::PsiTrigger;
use super::{instance_name, open_source, protect, reload, AgentError};
use crate::config::Config;
use crate::detect::{AlertState, Detector, Dur, Event, Evidence, RuleSet, Severity, WENT_DARK};
use crate::notify::Dispatcher;
use crate::signal::Sample;
use crate::source::{ProcError, ProcSource, Refresh};
use rustix::event::epoll::{self, EventData, EventFlags};
use rustix::event::Timespec;
use rustix::fd::OwnedFd;
use std::io::Read;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The agent's own rule: the sampling loop woke much later than it asked.
pub const LOOP_STALLED: &str = "loop_stalled";

/// Calm turns before `loop_stalled` resolves.
const STALL_CALM_TURNS: u32 = 10;

/// After a PSI trigger wake-up, sample fast for this long.
const TRIGGER_BOOST: Duration = Duration::from_secs(10);

enum Wake {
    Timer,
    Trigger,
    Signal,
}

pub(super) struct Agent {
    cfg: Config,
    config_path: Option<PathBuf>,
    src: ProcSource,
    det: Detector,
    trigger: PsiTrigger,
    ring: Arc<Mutex<Ring>>,
    events: Vec<Event>,
    metrics: Metrics,
    rule_names: Vec<&'static str>,
    notify_tx: Option<SyncSender<Event>>,
    blackbox_tx: Option<SyncSender<Note>>,
    threads: Vec<std::thread::JoinHandle<()>>,
    wake: UnixStream,
    /// `wake` and the trigger's fd, registered once.
    epoll: OwnedFd,
    term: Arc<AtomicBool>,
    hup: Arc<AtomicBool>,
    last_at_ms: i64,
    last_error: Option<std::mem::Discriminant<ProcError>>,
    bad_samples: u64,
    stalled: bool,
    calm_turns: u32,
    /// Until when (monotonic ns) a PSI trigger keeps sampling fast.
    boost_until: Option<i64>,
    max_lateness_s: f64,
    /// Sampling at the fast interval (set by [`Agent::interval`]).
    fast: bool,
    /// When the files a calm sample may skip were last read.
    last_read: LastRead,
}

/// When the files a calm sample may skip (`/proc/vmstat`, the pressure
/// file) were last read.
#[derive(Debug, Clone, Copy)]
struct LastRead {
    vmstat_ms: i64,
    psi_ms: i64,
}

impl LastRead {
    const NEVER: LastRead = LastRead {
        vmstat_ms: i64::MIN / 2,
        psi_ms: i64::MIN / 2,
    };

    /// Which files the sample at `at` re-reads (noted as read now): all of
    /// them when sampling fast, else each once its calm interval has passed.
    /// Calm intervals are capped at half the rate window, so every rate
    /// still spans at least two fresh readings. Between calm reads of PSI
    /// an armed kernel trigger watches the stall; without one nothing
    /// would, so then every sample reads it.
    fn refresh(
        &mut self,
        at: i64,
        fast: bool,
        trigger_armed: bool,
        a: &AgentConfig,
        rate_window_ms: i64,
    ) -> Refresh {
        let cap = rate_window_ms / 2;
        // Whether a file is read now; if so, `last` becomes now.
        let read = |last: &mut i64, now: bool, every: Dur| {
            let read = now || at - *last >= every.as_millis().min(cap);
            if read {
                *last = at;
            }
            read
        };
        Refresh {
            vmstat: read(&mut self.vmstat_ms, fast, a.calm_vmstat_interval),
            psi: read(
                &mut self.psi_ms,
                fast || !trigger_armed,
                a.calm_psi_interval,
            ),
        }
    }
}

/// Every rule name the gauges cover: the detector's, `went_dark`, ours.
fn all_rule_names(det: &Detector) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = RuleSet::memcanary(&crate::detect::DetectorConfig::default())
        .specs()
        .iter()
        .chain(det.rules().specs())
        .map(|s| s.name)
        .collect();
    v.push(WENT_DARK);
    v.push(LOOP_STALLED);
    let mut seen = Vec::new();
    v.retain(|n| {
        let new = !seen.contains(n);
        seen.push(*n);
        new
    });
    v
}

fn setup_err(what: &'static str) -> impl FnOnce(std::io::Error) -> AgentError {
    move |source| AgentError::Setup { what, source }
}

impl Agent {
    /// Sets everything up. Not inlined, and the agent is boxed, so the loop
    /// runs in a small stack frame with its state in one allocation: a calm
    /// turn touches a few pages of stack, not the tens of kilobytes of
    /// start-up locals (each page touched once a second is a TLB and cache
    /// miss; see `docs/agent.md`, "Pages touched per wake-up").
    #[inline(never)]
    pub(super) fn start(
        cfg: Config,
        config_path: Option<PathBuf>,
    ) -> Result<Box<Agent>, AgentError> {
        let a = &cfg.agent;
        let src = open_source(a)?;
        let det = Detector::new(&cfg.detector);
        let mut trigger = PsiTrigger::arm(src.psi_path(), &a.psi_trigger);
        // Before the log line and the gauges that name the trigger's mode.
        let epoll = wait_set(&mut trigger)?;
        log_start(a, &src, &trigger);
        let rule_names = all_rule_names(&det);
        let (metrics, registry) = Metrics::new(&rule_names, trigger.mode().label());
        let ring = Arc::new(Mutex::new(Ring::new(a.ring_seconds as usize, 900)));
        let latest: Latest = Arc::default();
        let instance = instance_name(a);
        // Lock before any thread exists: MCL_CURRENT pins the image, the
        // ring and the buffers; stacks are then locked as they are touched
        // (each thread faults in its working depth at start: crate::thread).
        let mut src = src;
        warm_up(&mut src, &det);
        let p = protect::apply(a, &a.proc_root);
        metrics.memory_locked.set(if p.locked { 1.0 } else { 0.0 });
        let mut threads = Vec::new();
        if !a.metrics_listen.is_empty() {
            let h = super::metrics::serve(
                &a.metrics_listen,
                registry,
                metrics.clone(),
                a.proc_root.clone(),
            )
            .map_err(|source| AgentError::Metrics {
                listen: a.metrics_listen.clone(),
                source,
            })?;
            threads.push(h);
        }
        if let Some(dir) = a.state_file.parent() {
            if let Err(e) = std::fs::create_dir_all(dir) {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot create the state file's directory; the black box will not be written");
            }
        }
        let bb = Blackbox {
            proc_root: a.proc_root.clone(),
            limits: a.snapshot.clone(),
            within: snapshot_scope(a),
            state_file: a.state_file.clone(),
            instance: instance.clone(),
            ring: ring.clone(),
            latest: latest.clone(),
        };
        let (blackbox_tx, h) = bb.spawn().map_err(setup_err("the blackbox thread"))?;
        threads.push(h);
        let dispatcher = build_dispatcher(&cfg)?;
        let nt = Notifier {
            instance,
            metrics: metrics.clone(),
            latest,
            heartbeat: a.heartbeat.clone(),
            dispatcher,
        };
        let (notify_tx, h) = nt.spawn().map_err(setup_err("the notifier thread"))?;
        threads.push(h);
        let (wake, term, hup) = signals()?;
        epoll::add(
            &epoll,
            &wake,
            EventData::new_u64(WAKE_SIGNAL),
            EventFlags::IN,
        )
        .map_err(epoll_err)?;
        Ok(Box::new(Agent {
            src,
            det,
            trigger,
            ring,
            events: Vec::with_capacity(64),
            metrics,
            rule_names,
            notify_tx: Some(notify_tx),
            blackbox_tx: Some(blackbox_tx),
            threads,
            wake,
            epoll,
            term,
            hup,
            last_at_ms: 0,
            last_error: None,
            bad_samples: 0,
            stalled: false,
            calm_turns: 0,
            boost_until: None,
            max_lateness_s: 0.0,
            fast: false,
            last_read: LastRead::NEVER,
            cfg,
            config_path,
        }))
    }

    #[inline(never)]
    #[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
    #[link_section = "memcanary_hot"]
    pub(super) fn run(mut self: Box<Self>) -> Result<(), AgentError> {
        let mut deadline = mono_ns();
        loop {
            let woke = self.wait(deadline);
            if self.term.load(Ordering::Relaxed) {
                break;
            }
            if self.hup.swap(false, Ordering::Relaxed) {
                self.reload();
            }
            let now = mono_ns();
            let lateness = match woke {
                Wake::Timer => Duration::from_nanos((now - deadline).max(0) as u64),
                Wake::Trigger => {
                    self.metrics.psi_trigger_wakeups.inc();
                    let woke_s = wall_ms() as f64 / 1000.0;
                    self.metrics.psi_trigger_last_wakeup.set(woke_s);
                    self.boost_until = Some(now + TRIGGER_BOOST.as_nanos() as i64);
                    self.fast = true; // this very sample reads everything
                    Duration::ZERO
                }
                Wake::Signal => continue,
            };
            self.turn(lateness);
            let interval = self.interval(now);
            self.metrics
                .sampling_interval_seconds
                .set(interval.as_secs_f64());
            deadline = now + interval.as_nanos() as i64;
        }
        self.stop();
        Ok(())
    }

    /// Waits for the deadline, a PSI trigger or a signal, in `epoll_wait`:
    /// the two fds stay registered, so a wait is one system call that does
    /// not add and remove wait-queue entries on every fd each time, as
    /// `poll` does (docs/agent.md, "Where it goes"). The timeout is whole
    /// milliseconds, rounded up.
    fn wait(&mut self, deadline: i64) -> Wake {
        let left = (deadline - mono_ns()).max(0);
        let ts = Timespec {
            tv_sec: left / 1_000_000_000,
            tv_nsec: left % 1_000_000_000,
        };
        let none = epoll::Event {
            flags: EventFlags::empty(),
            data: EventData::new_u64(0),
        };
        let mut ready = [none; 2];
        let Ok(n) = epoll::wait(&self.epoll, &mut ready, Some(&ts)) else {
            return Wake::Signal; // EINTR: look at the flags, then wait again
        };
        let (mut sig, mut pri, mut err) = (false, false, false);
        for ev in ready.into_iter().take(n) {
            let flags = ev.flags;
            if ev.data.u64() == WAKE_SIGNAL {
                sig = true;
            } else {
                pri |= flags.contains(EventFlags::PRI);
                err |= flags.intersects(EventFlags::ERR | EventFlags::HUP);
            }
        }
        if sig {
            let mut buf = [0u8; 16];
            let _ = (&self.wake).read(&mut buf);
            return Wake::Signal;
        }
        if err {
            self.trigger_failed();
        }
        if pri {
            return Wake::Trigger;
        }
        Wake::Timer
    }

    #[cold]
    #[inline(never)]
    fn trigger_failed(&mut self) {
        tracing::warn!(
            "PSI trigger fd reported an error (cgroup removed?); falling back to polling"
        );
        if let Some(fd) = self.trigger.fd() {
            // Out of the set before the fd closes.
            let _ = epoll::delete(&self.epoll, fd);
        }
        self.trigger.disarm("trigger fd error");
    }

    /// One sample through the detector, and the hand-offs.
    fn turn(&mut self, lateness: Duration) {
        let at = wall_ms().max(self.last_at_ms + 1);
        self.last_at_ms = at;
        let late_s = lateness.as_secs_f64();
        self.metrics.loop_lateness_seconds.set(late_s);
        if late_s > self.max_lateness_s {
            self.max_lateness_s = late_s;
            self.metrics.loop_lateness_max_seconds.set(late_s);
        }
        let rate_window_ms = self.cfg.detector.rate_window.as_millis();
        let armed = self.trigger.fd().is_some();
        let refresh = self
            .last_read
            .refresh(at, self.fast, armed, &self.cfg.agent, rate_window_ms);
        let read = self.src.read_calm(at, refresh);
        match read {
            Ok(s) => self.on_sample(&s, lateness),
            Err(e) => self.on_read_error(e),
        }
        if self.det.poll_timeout().is_some_and(|t| at >= t) {
            self.det.handle_timeout(at, &mut self.events);
        }
        self.check_stall(lateness, at);
        // Rule states change only with an event (pending, firing, resolved,
        // went dark, stalled): no event, nothing to copy.
        if !self.events.is_empty() {
            self.dispatch();
            self.update_rule_gauges();
        }
    }

    fn on_sample(&mut self, s: &Sample, lateness: Duration) {
        self.metrics.samples.inc();
        if self.last_error.take().is_some() {
            tracing::info!(skipped = self.bad_samples, "samples readable again");
        }
        if let Err(e) = self.det.observe(s, &mut self.events) {
            tracing::warn!(error = %e, "sample refused by the detector");
            return;
        }
        if let Ok(mut r) = self.ring.lock() {
            r.push(Row {
                sample: *s,
                lateness_ms: lateness.as_millis().min(u32::MAX as u128) as u32,
            });
        }
        let m = &self.metrics;
        m.mem_available_bytes.set(s.mem_available_bytes as f64);
        m.swap_free_bytes.set(s.swap_free_bytes as f64);
        m.headroom_bytes.set(s.headroom_bytes() as f64);
        if let Some(f) = self.det.features() {
            m.headroom_ratio.set(f.headroom_ratio);
            m.forecast_seconds.set(f.eta_s.unwrap_or(f64::NAN));
            m.psi_some_ratio.set(f.psi_some.unwrap_or(f64::NAN));
            m.psi_full_ratio.set(f.psi_full.unwrap_or(f64::NAN));
        }
    }

    /// Bad /proc content: logged once per kind of error, sample skipped.
    #[cold]
    #[inline(never)]
    fn on_read_error(&mut self, e: ProcError) {
        self.metrics.sample_errors.inc();
        self.bad_samples += 1;
        let kind = std::mem::discriminant(&e);
        if self.last_error != Some(kind) {
            self.last_error = Some(kind);
            tracing::warn!(error = %error_chain(&e), "sample skipped (logged once until it recovers)");
        }
    }

    fn check_stall(&mut self, lateness: Duration, at: i64) {
        let limit = Duration::from_millis(self.cfg.agent.stall_after.as_millis().max(1) as u64);
        if lateness > limit && !self.stalled {
            self.stall_began(lateness, at);
        } else if self.stalled && lateness < limit / 2 {
            self.calm_turns += 1;
            if self.calm_turns >= STALL_CALM_TURNS {
                self.stalled = false;
                self.events.push(self.own_event(at, AlertState::Resolved));
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn stall_began(&mut self, lateness: Duration, at: i64) {
        self.stalled = true;
        self.calm_turns = 0;
        tracing::warn!(
            lateness_ms = lateness.as_millis() as u64,
            "sampling loop stalled: the agent itself is starved"
        );
        self.events.push(self.own_event(at, AlertState::Firing));
    }

    #[cold]
    #[inline(never)]
    fn own_event(&self, at_ms: i64, state: AlertState) -> Event {
        Event {
            at_ms,
            rule: LOOP_STALLED,
            severity: Severity::Warning,
            state,
            evidence: self.evidence(),
        }
    }

    /// Evidence from the latest features (for the agent's own events).
    fn evidence(&self) -> Evidence {
        self.det
            .features()
            .map(|f| self.det.evidence(f, None))
            .unwrap_or_default()
    }

    /// Hands events to the notifier and the black box without blocking.
    #[cold]
    #[inline(never)]
    fn dispatch(&mut self) {
        for ev in self.events.drain(..) {
            tracing::info!(
                rule = ev.rule,
                severity = ev.severity.as_str(),
                state = ev.state.as_str(),
                headroom_bytes = ev.evidence.headroom_bytes,
                "alert state change"
            );
            if let Some(tx) = &self.notify_tx {
                if let Err(TrySendError::Full(_)) = tx.try_send(ev) {
                    self.metrics.notifications_failed.inc();
                    tracing::warn!(rule = ev.rule, "notifier queue full; event dropped");
                }
            }
            if matches!(ev.state, AlertState::Pending | AlertState::Firing) {
                if let Some(tx) = &self.blackbox_tx {
                    let _ = tx.try_send(Note(ev));
                }
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn update_rule_gauges(&self) {
        for (spec, st) in self.det.rules().iter() {
            if let Some(i) = self.rule_names.iter().position(|n| *n == spec.name) {
                self.metrics.alert_state[i].set(state_value(st));
            }
        }
        let dark = if self.det.is_dark() { 2.0 } else { 0.0 };
        let stalled = if self.stalled { 2.0 } else { 0.0 };
        for (name, v) in [(WENT_DARK, dark), (LOOP_STALLED, stalled)] {
            if let Some(i) = self.rule_names.iter().position(|n| *n == name) {
                self.metrics.alert_state[i].set(v);
            }
        }
    }

    /// Fast while pressure is elevated, else the base interval.
    fn interval(&mut self, now: i64) -> Duration {
        let a = &self.cfg.agent;
        let boosted = self.boost_until.is_some_and(|t| now < t);
        let f = self.det.features();
        let psi = f
            .and_then(|f| f.psi_some)
            .is_some_and(|p| p >= a.fast_above_psi_ratio);
        let eta = f
            .and_then(|f| f.eta_s)
            .is_some_and(|e| e < a.fast_below_eta.as_secs_f64());
        let fast = boosted || psi || eta || self.stalled || self.det.rules().any_active();
        self.fast = fast;
        let d = if fast { a.fast_interval } else { a.interval };
        Duration::from_millis(d.as_millis().max(1) as u64)
    }

    #[cold]
    #[inline(never)]
    fn reload(&mut self) {
        let new = match reload::load(self.config_path.as_deref()) {
            Ok(c) => c,
            Err(msg) => {
                tracing::warn!(reason = %msg, "SIGHUP: config not reloaded, keeping the running one");
                return;
            }
        };
        let mut restart = reload::restart_only_changes(&self.cfg.agent, &new.agent);
        if new.notify != self.cfg.notify {
            restart.push("notify");
        }
        if !restart.is_empty() {
            tracing::warn!(keys = ?restart, "SIGHUP: these settings need a restart; keeping their old values");
        }
        self.cfg.agent = reload::live_part(&self.cfg.agent, &new.agent);
        if new.detector != self.cfg.detector {
            self.det = self.replayed_detector(&new.detector);
            self.cfg.detector = new.detector;
            // The replay's events are dropped, so copy its rule states now:
            // turns only copy them when an event comes.
            self.update_rule_gauges();
        }
        tracing::info!("SIGHUP: config reloaded");
    }

    /// A detector with the new config, fed the ring's history; the replay's
    /// events are dropped so nothing is notified twice.
    fn replayed_detector(&self, cfg: &crate::detect::DetectorConfig) -> Detector {
        let mut det = Detector::new(cfg);
        let mut sink = Vec::new();
        if let Ok(r) = self.ring.lock() {
            for row in r.iter() {
                let _ = det.observe(&row.sample, &mut sink);
                sink.clear();
            }
        }
        det
    }

    fn stop(mut self: Box<Self>) {
        tracing::info!("stopping");
        self.notify_tx = None;
        self.blackbox_tx = None;
        // The metrics thread blocks in accept(); it ends with the process.
        let threads = std::mem::take(&mut self.threads);
        for h in threads
            .into_iter()
            .filter(|h| h.thread().name() != Some("metrics-http"))
        {
            let _ = h.join();
        }
    }
}

/// The cgroup path the top-consumer snapshot is limited to: the agent's
/// scope, when `/proc/self/mountinfo` shows where it is mounted.
fn snapshot_scope(a: &crate::agent::AgentConfig) -> Option<String> {
    let dir = a.cgroup.as_deref()?;
    let path = super::snapshot::cgroup_path(&a.proc_root, dir);
    match &path {
        Some(p) => tracing::info!(cgroup = %p, "top-consumer snapshots count only this cgroup"),
        None => {
            tracing::warn!(dir = %dir.display(), "cannot tell which cgroup path this directory is (not under a cgroup2 or v1 memory mount in mountinfo); top-consumer snapshots cover the whole host")
        }
    }
    path
}

/// Runs the sample path once before locking, so `lock_memory = "touched"`
/// locks its code and data (a throwaway detector: no state is kept).
fn warm_up(src: &mut ProcSource, det: &Detector) {
    let mut d = det.clone();
    let mut sink = Vec::with_capacity(16);
    if let Ok(s) = src.read(1) {
        let _ = d.observe(&s, &mut sink);
    }
}

/// The notification pipeline, with the spool if its directory is usable.
fn build_dispatcher(cfg: &Config) -> Result<Dispatcher, AgentError> {
    let spool = cfg.agent.spool_dir.as_deref().filter(|d| match std::fs::create_dir_all(d) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(dir = %d.display(), error = %e, "cannot create the spool directory; notifications are kept in memory only");
            false
        }
    });
    match Dispatcher::build(&cfg.notify, spool) {
        Ok(d) => Ok(d),
        Err(e) if spool.is_some() => {
            tracing::warn!(error = %e, "notification spool unusable; retrying without it");
            Dispatcher::build(&cfg.notify, None).map_err(AgentError::Notify)
        }
        Err(e) => Err(AgentError::Notify(e)),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

fn log_start(a: &super::AgentConfig, src: &ProcSource, trigger: &PsiTrigger) {
    let scope = src
        .scope()
        .map(|s| format!("{} ({:?})", s.dir().display(), s.version()));
    tracing::info!(
        proc_root = %a.proc_root.display(),
        scope = scope.as_deref().unwrap_or("host"),
        psi = src.has_psi(),
        interval = %a.interval,
        fast_interval = %a.fast_interval,
        "memcanary agent starting"
    );
    match trigger.mode() {
        super::trigger::TriggerMode::Kernel {
            stall_us,
            window_us,
        } => {
            tracing::info!(
                mode = trigger.mode().label(),
                stall_us,
                window_us,
                "PSI trigger armed: the kernel wakes us on stall"
            )
        }
        super::trigger::TriggerMode::Polling { reason } => {
            tracing::info!(mode = "polling", reason = %reason, "no PSI trigger: timer polling only")
        }
    }
}

/// `epoll` data: which fd woke the loop.
const WAKE_SIGNAL: u64 = 0;
const WAKE_TRIGGER: u64 = 1;

/// The loop's wait set, with the PSI trigger if one is armed (a trigger
/// epoll refuses is dropped, with the reason, for polling); the signal
/// socket joins it once the handlers are in place.
fn wait_set(trigger: &mut PsiTrigger) -> Result<OwnedFd, AgentError> {
    let ep = epoll::create(epoll::CreateFlags::CLOEXEC).map_err(epoll_err)?;
    if let Some(fd) = trigger.fd() {
        let data = EventData::new_u64(WAKE_TRIGGER);
        if let Err(e) = epoll::add(&ep, fd, data, EventFlags::PRI) {
            tracing::warn!(error = %e, "cannot wait on the PSI trigger with epoll; falling back to polling");
            trigger.disarm("epoll refused the trigger fd");
        }
    }
    Ok(ep)
}

fn epoll_err(e: rustix::io::Errno) -> AgentError {
    AgentError::Setup {
        what: "the loop's epoll set",
        source: e.into(),
    }
}

/// SIGTERM/SIGINT set `term`, SIGHUP sets `hup`; all three write to a
/// socket the loop waits on, so a signal wakes it at once.
fn signals() -> Result<(UnixStream, Arc<AtomicBool>, Arc<AtomicBool>), AgentError> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let (rx, tx) = UnixStream::pair().map_err(setup_err("the signal pipe"))?;
    rx.set_nonblocking(true)
        .map_err(setup_err("the signal pipe"))?;
    let term = Arc::new(AtomicBool::new(false));
    let hup = Arc::new(AtomicBool::new(false));
    for (sig, flag) in [(SIGTERM, &term), (SIGINT, &term), (SIGHUP, &hup)] {
        signal_hook::flag::register(sig, flag.clone()).map_err(setup_err("signal handlers"))?;
        let w = tx.try_clone().map_err(setup_err("the signal pipe"))?;
        signal_hook::low_level::pipe::register(sig, w).map_err(setup_err("signal handlers"))?;
    }
    Ok((rx, term, hup))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Dur;

    #[test]
    fn calm_samples_reread_vmstat_and_psi_every_calm_interval() {
        let a = AgentConfig::default(); // both calm intervals 5 s
        let mut last = LastRead::NEVER;
        let mut read = |at, fast, armed| {
            let r = last.refresh(at, fast, armed, &a, 60_000);
            (r.vmstat, r.psi)
        };
        assert_eq!(read(0, false, true), (true, true), "first sample");
        for at in [1000, 2000, 3000, 4999] {
            assert_eq!(read(at, false, true), (false, false), "at {at}");
        }
        assert_eq!(read(5000, false, true), (true, true));
        // Without a trigger nothing watches PSI: every sample reads it.
        assert_eq!(read(6000, false, false), (false, true));
        // Sampling fast (pressure, or a trigger wake-up): every file.
        assert_eq!(read(6250, true, true), (true, true));
        assert_eq!(read(7000, false, true), (false, false));
    }

    #[test]
    fn calm_intervals_are_capped_at_half_the_rate_window() {
        let a = AgentConfig {
            calm_vmstat_interval: Dur::from_secs(60),
            calm_psi_interval: Dur::from_secs(0),
            ..AgentConfig::default()
        };
        let mut last = LastRead::NEVER;
        let mut read = |at| {
            let r = last.refresh(at, false, true, &a, 4000);
            (r.vmstat, r.psi)
        };
        assert_eq!(read(0), (true, true));
        assert_eq!(read(1000), (false, true), "0s: PSI every sample");
        assert_eq!(read(2000), (true, true), "60s capped at 2s");
    }
}
