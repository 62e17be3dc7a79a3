//! SIGHUP: re-read the config file and apply what can change live.
//!
//! Detector thresholds and sampling settings apply at once: a fresh detector
//! is fed the ring buffer's history (events from that replay are dropped, so
//! nothing is re-notified) and carries on. Settings that shape fds, threads
//! or locked memory (`proc_root`, `cgroup`, `metrics_listen`, `lock_memory`,
//! `ring_seconds`, `state_file`, `spool_dir`, `snapshot`, `psi_trigger`, `instance`,
//! `heartbeat`, `oom_score_adj`, `nice`, and all of `[notify]`) need a
//! restart; the agent logs
//! which ones changed and keeps the old values. A file that does not load or
//! validate is logged with its error and ignored.
//!
//! What may change live is decided here, purely ([`restart_only_changes`],
//! [`live_part`]); [`Daemon::reload`] applies it.

use super::Daemon;
use crate::agent::config::AgentConfig;
use crate::config::Config;
use crate::detect::{Detector, DetectorConfig};
use std::path::Path;

impl Daemon {
    /// SIGHUP: re-reads the config file and applies what can change live.
    #[cold]
    #[inline(never)]
    pub(super) fn reload(&mut self) {
        let new = match load(self.config_path.as_deref()) {
            Ok(c) => c,
            Err(msg) => {
                tracing::warn!(reason = %msg, "SIGHUP: config not reloaded, keeping the running one");
                return;
            }
        };
        let mut restart = restart_only_changes(&self.cfg.agent, &new.agent);
        if new.notify != self.cfg.notify {
            restart.push("notify");
        }
        if !restart.is_empty() {
            tracing::warn!(keys = ?restart, "SIGHUP: these settings need a restart; keeping their old values");
        }
        self.cfg.agent = live_part(&self.cfg.agent, &new.agent);
        let interval = self.cfg.agent.interval.as_millis().max(1) as u64;
        self.src
            .set_retry(std::time::Duration::from_millis(interval));
        if new.detector != self.cfg.detector {
            self.det = self.warmed_detector(&new.detector);
            self.cfg.detector = new.detector;
            // The replay's events are dropped, so copy its rule states now:
            // turns only copy them when an event comes.
            let own = (self.stall.is_stalled(), self.blind.is_blind());
            self.fanout
                .update_rule_gauges(&self.det, own, &self.metrics);
        }
        tracing::info!("SIGHUP: config reloaded");
    }

    /// A detector with the new config, warmed on the ring's history; the
    /// replay's events are dropped so nothing is notified twice.
    fn warmed_detector(&self, cfg: &DetectorConfig) -> Detector {
        let mut det = Detector::new(cfg);
        det.restore_history(self.det.history());
        if let Ok(r) = self.ring.lock() {
            det.warm(r.iter().map(|row| &row.sample));
        }
        det
    }
}

/// Loads `path`; `Err` carries the message to log.
pub fn load(path: Option<&Path>) -> Result<Config, String> {
    let Some(path) = path else {
        return Err("no --config file was given at start: nothing to reload".into());
    };
    Config::load(path).map_err(|e| crate::logging::error_chain(&e))
}

/// Keys whose change needs a restart.
pub fn restart_only_changes(old: &AgentConfig, new: &AgentConfig) -> Vec<&'static str> {
    let mut v = Vec::new();
    let mut diff = |changed: bool, key| {
        if changed {
            v.push(key);
        }
    };
    diff(old.proc_root != new.proc_root, "proc_root");
    diff(old.cgroup != new.cgroup, "cgroup");
    diff(old.metrics_listen != new.metrics_listen, "metrics_listen");
    diff(old.lock_memory != new.lock_memory, "lock_memory");
    diff(old.ring_seconds != new.ring_seconds, "ring_seconds");
    diff(old.state_file != new.state_file, "state_file");
    diff(old.spool_dir != new.spool_dir, "spool_dir");
    diff(old.snapshot != new.snapshot, "snapshot");
    diff(old.psi_trigger != new.psi_trigger, "psi_trigger");
    diff(old.instance != new.instance, "instance");
    diff(old.heartbeat != new.heartbeat, "heartbeat");
    diff(old.oom_score_adj != new.oom_score_adj, "oom_score_adj");
    diff(old.nice != new.nice, "nice");
    v
}

/// `new` with the restart-only keys taken from `old` (what is applied live).
pub fn live_part(old: &AgentConfig, new: &AgentConfig) -> AgentConfig {
    AgentConfig {
        interval: new.interval,
        fast_interval: new.fast_interval,
        fast_above_psi_ratio: new.fast_above_psi_ratio,
        fast_below_eta: new.fast_below_eta,
        calm_vmstat_interval: new.calm_vmstat_interval,
        calm_psi_interval: new.calm_psi_interval,
        stall_after: new.stall_after,
        blind_after: new.blind_after,
        ..old.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Dur;

    #[test]
    fn restart_only_keys_are_reported_and_kept() {
        let old = AgentConfig::default();
        let new = AgentConfig {
            interval: Dur::from_secs(2),
            metrics_listen: "127.0.0.1:1".into(),
            ..AgentConfig::default()
        };
        assert_eq!(restart_only_changes(&old, &new), vec!["metrics_listen"]);
        let live = live_part(&old, &new);
        assert_eq!(live.interval, Dur::from_secs(2));
        assert_eq!(live.metrics_listen, old.metrics_listen);
    }

    #[test]
    fn reload_without_a_file_says_why() {
        assert!(load(None).unwrap_err().contains("no --config"));
    }
}
