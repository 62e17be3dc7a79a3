//! Start-up: open the source, arm the trigger, lock memory, start the
//! threads, in the order the locking needs (docs/agent.md, "Memory").

use super::blind::BlindRule;
use super::fanout::{all_rule_names, days_key, FanOut};
use super::pace::Pacer;
use super::restored::Restored;
use super::stall::StallRule;
use super::wait::{wait_set, Waiter};
use super::{setup_err, Daemon};
use crate::agent::blackbox::{Blackbox, History, Latest};
use crate::agent::config::AgentConfig;
use crate::agent::metrics::Metrics;
use crate::agent::notifier::{BlindWhy, Notifier};
use crate::agent::ring::Ring;
use crate::agent::source_metrics::SourceMetrics;
use crate::agent::trigger::{PsiTrigger, TriggerMode};
use crate::agent::{instance_name, open_source, protect, AgentError};
use crate::clock::wall_ms;
use crate::config::Config;
use crate::detect::history::MAX_DAYS;
use crate::detect::Detector;
use crate::notify::Dispatcher;
use crate::source::ProcSource;
use prometheus_client::registry::Registry;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

impl Daemon {
    /// Sets everything up. Not inlined, and the daemon is boxed, so the loop
    /// runs in a small stack frame with its state in one allocation: a calm
    /// turn touches a few pages of stack, not the tens of kilobytes of
    /// start-up locals (each page touched once a second is a TLB and cache
    /// miss; see `docs/agent.md`, "Pages touched per wake-up").
    #[inline(never)]
    pub(super) fn start(
        cfg: Config,
        config_path: Option<PathBuf>,
    ) -> Result<Box<Daemon>, AgentError> {
        let a = &cfg.agent;
        let mut src = open_source(a)?;
        let mut det = Detector::new(&cfg.detector);
        restore_history(&mut det, &a.state_file);
        let mut trigger = PsiTrigger::arm(src.psi_path(), &a.psi_trigger);
        // Before the log line and the gauges that name the trigger's mode.
        let epoll = wait_set(&mut trigger)?;
        log_start(a, &src, &trigger);
        let rule_names = all_rule_names(&det);
        let (mut metrics, mut registry) = Metrics::new(&rule_names, trigger.mode().label());
        let scoped = a.cgroup.is_some();
        metrics.sources = SourceMetrics::register(&mut registry, &src.parts(), scoped);
        src.set_retry(std::time::Duration::from_millis(
            a.interval.as_millis().max(1) as u64,
        ));
        let ring = Arc::new(Mutex::new(Ring::new(a.ring_seconds as usize, 900)));
        let latest: Latest = Arc::default();
        let instance = instance_name(a);
        // Lock before any thread exists: MCL_CURRENT pins the image, the
        // ring and the buffers; stacks are then locked as they are touched
        // (each thread faults in its working depth at start: crate::thread).
        warm_up(&mut src, &det);
        let p = protect::apply(a, &a.proc_root, protect::expected_threads(&cfg));
        metrics.memory_locked.set(if p.locked { 1.0 } else { 0.0 });
        let future = if p.locked_future { 1.0 } else { 0.0 };
        metrics.memory_locked_future.set(future);
        let broken = crate::notify::targets::build_checked(&cfg.notify).1.len();
        metrics.notify_sinks_broken.set(broken as f64);
        let threads = Threads {
            cfg: &cfg,
            metrics: &metrics,
            ring: &ring,
            latest,
            history: Arc::new(Mutex::new(shared_days(&det))),
            instance,
        };
        let (mut fanout, firing) = threads.spawn(registry, rule_names)?;
        // The days restored from disk need no write.
        fanout.days_seen = days_key(&det);
        let restored = Restored::new(&firing, &fanout.rule_names, &det, wall_ms());
        let waiter = Waiter::new(epoll, trigger)?;
        Ok(Box::new(Daemon {
            src,
            det,
            ring,
            events: Vec::with_capacity(64),
            metrics,
            fanout,
            waiter,
            pacer: Pacer::START,
            stall: StallRule::default(),
            blind: BlindRule::default(),
            last_at_ms: 0,
            max_lateness_s: 0.0,
            cfg,
            config_path,
            restored,
            refreshed_at_ms: 0,
        }))
    }
}

/// What the threads are started with.
struct Threads<'a> {
    cfg: &'a Config,
    metrics: &'a Metrics,
    ring: &'a Arc<Mutex<Ring>>,
    /// The latest snapshot, from the black box to the notifier.
    latest: Latest,
    /// The detector's clean days, from the loop to the black box.
    history: History,
    instance: String,
}

impl Threads<'_> {
    /// Starts /metrics (if configured), the black box and the notifier;
    /// also returns the rules the spool says a previous run left firing.
    fn spawn(
        self,
        registry: Registry,
        rule_names: Vec<&'static str>,
    ) -> Result<(FanOut, Vec<String>), AgentError> {
        let mut threads = Vec::new();
        threads.extend(self.serve_metrics(registry)?);
        let (blackbox_tx, h) = self.blackbox()?;
        threads.push(h);
        let blind_why = BlindWhy::default();
        let history = self.history.clone();
        let ((notify_tx, h), firing) = self.notifier(blind_why.clone())?;
        threads.push(h);
        let fanout = FanOut {
            notify_tx,
            blackbox_tx,
            threads,
            rule_names,
            history,
            blind_why,
            days_seen: (0, i64::MIN),
        };
        Ok((fanout, firing))
    }

    fn serve_metrics(
        &self,
        registry: Registry,
    ) -> Result<Option<std::thread::JoinHandle<()>>, AgentError> {
        let a = &self.cfg.agent;
        if a.metrics_listen.is_empty() {
            return Ok(None);
        }
        let m = self.metrics.clone();
        crate::agent::http::serve(&a.metrics_listen, registry, m, a.proc_root.clone())
            .map(Some)
            .map_err(|source| AgentError::Metrics {
                listen: a.metrics_listen.clone(),
                source,
            })
    }

    fn blackbox(&self) -> Result<Spawned<crate::agent::blackbox::Note>, AgentError> {
        let a = &self.cfg.agent;
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
            instance: self.instance.clone(),
            ring: self.ring.clone(),
            latest: self.latest.clone(),
            history: self.history.clone(),
        };
        bb.spawn().map_err(setup_err("the blackbox thread"))
    }

    fn notifier(
        self,
        blind_why: BlindWhy,
    ) -> Result<(Spawned<crate::detect::Event>, Vec<String>), AgentError> {
        let dispatcher = build_dispatcher(self.cfg)?;
        let firing = dispatcher.restored_firing().to_vec();
        let nt = Notifier {
            instance: self.instance,
            metrics: self.metrics.clone(),
            latest: self.latest,
            heartbeat: self.cfg.agent.heartbeat.clone(),
            dispatcher,
            blind_why,
        };
        let spawned = nt.spawn().map_err(setup_err("the notifier thread"))?;
        Ok((spawned, firing))
    }
}

/// A started thread and the queue into it.
type Spawned<T> = (std::sync::mpsc::SyncSender<T>, std::thread::JoinHandle<()>);

/// The cgroup path the top-consumer snapshot is limited to: the agent's
/// scope, when `/proc/self/mountinfo` shows where it is mounted.
fn snapshot_scope(a: &AgentConfig) -> Option<String> {
    let dir = a.cgroup.as_deref()?;
    let path = crate::agent::snapshot::cgroup_path(&a.proc_root, dir);
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
    // The loop's first turn reports every failing file afresh.
    src.reset_health();
}

/// The notification pipeline, with the spool if its directory is usable.
fn build_dispatcher(cfg: &Config) -> Result<Dispatcher, AgentError> {
    crate::notify::spool_fallback::build(&cfg.notify, cfg.agent.spool_dir.as_deref())
        .map_err(AgentError::Notify)
}

fn log_start(a: &AgentConfig, src: &ProcSource, trigger: &PsiTrigger) {
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
        TriggerMode::Kernel {
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
        TriggerMode::Polling { reason } => {
            tracing::info!(mode = "polling", reason = %reason, "no PSI trigger: timer polling only")
        }
    }
}

/// The black box's copy of the clean days, starting with those restored
/// from disk, with room for every day kept (a closed day then never
/// allocates: `FanOut::share_history`).
fn shared_days(det: &Detector) -> Vec<crate::detect::history::DayMin> {
    let mut v = Vec::with_capacity(MAX_DAYS as usize);
    v.extend_from_slice(det.history());
    v
}

/// Feeds the detector the clean days the previous run kept in the state
/// file, so the host's own floor survives a restart (detect::history).
fn restore_history(det: &mut Detector, state_file: &std::path::Path) {
    match crate::agent::statefile::load_history(state_file) {
        Ok(days) => {
            det.restore_history(&days);
            if !days.is_empty() {
                tracing::info!(
                    days = days.len(),
                    gate = det.forecast_gate(),
                    "history: clean days restored from the state file"
                );
            }
        }
        Err(e) => {
            tracing::warn!(path = %state_file.display(), error = %e, "cannot read the history in the state file; starting without it")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::DetectorConfig;

    #[test]
    fn a_state_file_with_clean_days_makes_the_detector_use_the_floor() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let day = |d: i64, r: f64| format!(r#"{{"day":{d},"min_headroom_ratio":{r}}}"#);
        let days = [day(20_400, 0.9), day(20_401, 0.85), day(20_402, 0.88)].join(",");
        std::fs::write(&path, format!(r#"{{"version":1,"history":[{days}]}}"#)).unwrap();
        let mut det = Detector::new(&DetectorConfig::default());
        assert_eq!(det.forecast_gate(), 0.45, "no history: the configured gate");
        restore_history(&mut det, &path);
        assert_eq!(det.history().len(), 3);
        let gate = det.forecast_gate();
        assert!(
            (gate - 0.80).abs() < 1e-9,
            "floor 0.85 - margin 0.05: {gate}"
        );
        let mut fresh = Detector::new(&DetectorConfig::default());
        restore_history(&mut fresh, &dir.path().join("missing.json"));
        assert_eq!(fresh.forecast_gate(), 0.45);
    }
}
