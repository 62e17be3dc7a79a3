//! `[agent]`: how the on-host daemon samples, protects itself and reports.
//!
//! Stage one of the config pipeline: serde structs with
//! `deny_unknown_fields` and defaults that work on a fresh machine with no
//! setup; [`AgentConfig::validate`] is stage two (pure checks naming the key).

use crate::detect::Dur;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

pub use crate::notify::heartbeat::HeartbeatConfig;

/// The agent's settings (`[agent]` in the config file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentConfig {
    /// Where procfs is mounted (a DaemonSet mounts the host's at `/host/proc`).
    pub proc_root: PathBuf,
    /// Watch one memory cgroup instead of the whole host: its directory, e.g.
    /// `/sys/fs/cgroup/system.slice/coily-update.service` (v2) or
    /// `/sys/fs/cgroup/memory/foo` (v1).
    pub cgroup: Option<PathBuf>,
    /// Base sampling interval.
    pub interval: Dur,
    /// Sampling interval while pressure is elevated (a rule pending or
    /// firing, PSI above `fast_above_psi_ratio`, a PSI trigger fired, or the
    /// forecast shorter than `fast_below_eta`).
    pub fast_interval: Dur,
    /// PSI "some" ratio (over the detector's rate window) that switches to
    /// fast sampling.
    pub fast_above_psi_ratio: f64,
    /// Forecast time to exhaustion that switches to fast sampling (0s..1d).
    pub fast_below_eta: Dur,
    /// While calm (sampling at `interval`), `/proc/vmstat` (major faults,
    /// swap-ins, OOM kills) is re-read at most this often; at the fast
    /// interval, every sample. `"0s"`: every sample always. Capped at half
    /// of `detector.rate_window`.
    pub calm_vmstat_interval: Dur,
    /// While calm and with a kernel PSI trigger armed, the pressure file is
    /// re-read at most this often (the trigger wakes the agent if the stall
    /// rises in between); at the fast interval, on a trigger wake-up, or
    /// without a trigger, every sample. `"0s"`: every sample always. Capped
    /// at half of `detector.rate_window`.
    pub calm_psi_interval: Dur,
    /// Kernel PSI trigger (`/proc/pressure/memory`, POLLPRI).
    pub psi_trigger: PsiTriggerConfig,
    /// Loop lateness (woke later than asked) above this raises the agent's own
    /// `loop_stalled` warning: the daemon itself is being starved (100ms..1h).
    pub stall_after: Dur,
    /// No usable sample for this long (meminfo unreadable, the watched
    /// cgroup gone, samples refused) raises the agent's own
    /// `memcanary_blind` warning through the sinks; it resolves with the
    /// next usable sample (1s..1h, and at least `interval`).
    pub blind_after: Dur,
    /// `/metrics` listen address; empty disables the endpoint.
    pub metrics_listen: String,
    /// Black box: JSON state file written (and fsynced) when a warning fires.
    pub state_file: PathBuf,
    /// Notification spool (pending deliveries survive a restart); `None`: in
    /// memory only. Without write access the agent runs without a spool.
    pub spool_dir: Option<PathBuf>,
    /// Black box: seconds of 1 s samples kept in the ring buffer.
    pub ring_seconds: u32,
    /// Top-consumer snapshot limits.
    pub snapshot: SnapshotConfig,
    /// Memory locking: `all` (every mapped page now, later pages on fault),
    /// `touched` (only pages already used, and later pages on fault: smaller
    /// RSS, but code first run under pressure must be faulted in), `off`.
    pub lock_memory: LockMode,
    /// `/proc/self/oom_score_adj` to set (-1000 = never OOM-killed; needs
    /// CAP_SYS_RESOURCE); `None` leaves it alone.
    pub oom_score_adj: Option<i32>,
    /// Nice value to set (negative needs CAP_SYS_NICE); `None` leaves it.
    pub nice: Option<i32>,
    /// Instance name in alerts; default: the host name.
    pub instance: Option<String>,
    /// Dead-man heartbeat: pinged every `every` while the agent is alive.
    pub heartbeat: Option<HeartbeatConfig>,
}

/// How much of the process `mlockall` pins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LockMode {
    /// `mlockall(MCL_CURRENT)` then `mlockall(MCL_FUTURE | MCL_ONFAULT)`:
    /// the whole binary is resident and locked.
    All,
    /// `mlockall(MCL_CURRENT | MCL_ONFAULT)` then `MCL_FUTURE | MCL_ONFAULT`
    /// after a warm-up turn: what has run is locked, the rest only when first
    /// used.
    Touched,
    /// No locking.
    Off,
}

/// Kernel PSI trigger settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PsiTriggerConfig {
    /// Use a kernel trigger at all (otherwise plain polling).
    pub enabled: bool,
    /// Stall time within `window` that wakes the agent ("some" stall).
    pub stall: Dur,
    /// Trigger window. 1 s needs CAP_SYS_RESOURCE on kernels >= 6.5; the
    /// agent falls back to 2 s windows (stall scaled) when refused.
    pub window: Dur,
}

/// Limits of the top-consumer snapshot (taken off the alert path).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SnapshotConfig {
    /// Read at most this many processes.
    pub max_processes: u32,
    /// Stop scanning after this long (10ms..10s: it runs off the alert path,
    /// but a long scan delays the snapshot the alert is waiting to carry).
    pub max_time: Dur,
    /// Groups listed in the notification and state file.
    pub top: u32,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            proc_root: PathBuf::from("/proc"),
            cgroup: None,
            interval: Dur::from_secs(1),
            fast_interval: Dur::from_millis(250),
            fast_above_psi_ratio: 0.02,
            fast_below_eta: Dur::from_secs(600),
            calm_vmstat_interval: Dur::from_secs(5),
            calm_psi_interval: Dur::from_secs(5),
            psi_trigger: PsiTriggerConfig::default(),
            stall_after: Dur::from_secs(2),
            blind_after: Dur::from_secs(30),
            metrics_listen: "127.0.0.1:9559".into(),
            state_file: PathBuf::from("/var/lib/memcanary/state.json"),
            spool_dir: Some(PathBuf::from("/var/lib/memcanary/spool")),
            ring_seconds: 900,
            snapshot: SnapshotConfig::default(),
            lock_memory: LockMode::All,
            oom_score_adj: Some(-1000),
            nice: None,
            instance: None,
            heartbeat: None,
        }
    }
}

impl Default for PsiTriggerConfig {
    fn default() -> Self {
        PsiTriggerConfig {
            enabled: true,
            stall: Dur::from_millis(150),
            window: Dur::from_secs(1),
        }
    }
}

impl Default for SnapshotConfig {
    fn default() -> Self {
        SnapshotConfig {
            max_processes: 4096,
            max_time: Dur::from_millis(500),
            top: 5,
        }
    }
}

/// An `[agent]` value out of range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("agent.{key} = {value}: {why}")]
pub struct AgentConfigError {
    /// Key path below `agent.`.
    pub key: &'static str,
    /// The value as configured.
    pub value: String,
    /// What is wrong.
    pub why: &'static str,
}

/// One day in milliseconds: the longest duration of `[agent]`.
const DAY_MS: i64 = 86_400_000;

fn check(
    ok: bool,
    key: &'static str,
    value: impl ToString,
    why: &'static str,
) -> Result<(), AgentConfigError> {
    if ok {
        return Ok(());
    }
    Err(AgentConfigError {
        key,
        value: value.to_string(),
        why,
    })
}

impl AgentConfig {
    /// Range and cross-field checks.
    pub fn validate(&self) -> Result<(), AgentConfigError> {
        let ms = |d: Dur| d.as_millis();
        check(
            ms(self.interval) >= 50,
            "interval",
            self.interval,
            "must be at least 50ms",
        )?;
        check(
            ms(self.interval) <= 60_000,
            "interval",
            self.interval,
            "must be at most 60s",
        )?;
        check(
            ms(self.fast_interval) >= 50 && ms(self.fast_interval) <= ms(self.interval),
            "fast_interval",
            self.fast_interval,
            "must be between 50ms and agent.interval",
        )?;
        check(
            (0.0..=1.0).contains(&self.fast_above_psi_ratio),
            "fast_above_psi_ratio",
            self.fast_above_psi_ratio,
            "must be a fraction between 0 and 1",
        )?;
        check(
            ms(self.calm_vmstat_interval) <= 60_000,
            "calm_vmstat_interval",
            self.calm_vmstat_interval,
            "must be at most 60s (0s: every sample)",
        )?;
        check(
            ms(self.calm_psi_interval) <= 60_000,
            "calm_psi_interval",
            self.calm_psi_interval,
            "must be at most 60s (0s: every sample)",
        )?;
        self.validate_trigger()?;
        check(
            ms(self.fast_below_eta) <= DAY_MS,
            "fast_below_eta",
            self.fast_below_eta,
            "must be between 0s and 1d",
        )?;
        check(
            (100..=3_600_000).contains(&ms(self.stall_after)),
            "stall_after",
            self.stall_after,
            "must be between 100ms and 1h",
        )?;
        check(
            (1000..=3_600_000).contains(&ms(self.blind_after)),
            "blind_after",
            self.blind_after,
            "must be between 1s and 1h",
        )?;
        check(
            ms(self.blind_after) >= ms(self.interval),
            "blind_after",
            self.blind_after,
            "must be at least agent.interval",
        )?;
        check(
            (10..=10_000).contains(&ms(self.snapshot.max_time)),
            "snapshot.max_time",
            self.snapshot.max_time,
            "must be between 10ms and 10s",
        )?;
        if !self.metrics_listen.is_empty() {
            let ok = self.metrics_listen.parse::<std::net::SocketAddr>().is_ok();
            check(
                ok,
                "metrics_listen",
                &self.metrics_listen,
                "must be IP:PORT (or empty to disable)",
            )?;
        }
        check(
            (10..=86_400).contains(&self.ring_seconds),
            "ring_seconds",
            self.ring_seconds,
            "must be between 10 and 86400",
        )?;
        check(
            self.snapshot.max_processes >= 1,
            "snapshot.max_processes",
            self.snapshot.max_processes,
            "must be at least 1",
        )?;
        check(
            self.snapshot.top >= 1,
            "snapshot.top",
            self.snapshot.top,
            "must be at least 1",
        )?;
        if let Some(adj) = self.oom_score_adj {
            check(
                (-1000..=1000).contains(&adj),
                "oom_score_adj",
                adj,
                "must be between -1000 and 1000",
            )?;
        }
        if let Some(n) = self.nice {
            check(
                (-20..=19).contains(&n),
                "nice",
                n,
                "must be between -20 and 19",
            )?;
        }
        if let Some(hb) = &self.heartbeat {
            let ok = hb.url.starts_with("http://") || hb.url.starts_with("https://");
            check(
                ok,
                "heartbeat.url",
                "<redacted>",
                "must be an http:// or https:// URL",
            )?;
            check(
                (1000..=DAY_MS).contains(&ms(hb.every)),
                "heartbeat.every",
                hb.every,
                "must be between 1s and 1d",
            )?;
        }
        Ok(())
    }

    fn validate_trigger(&self) -> Result<(), AgentConfigError> {
        let t = &self.psi_trigger;
        // The kernel accepts windows of 500ms..10s and stall <= window.
        let (w, s) = (t.window.as_millis(), t.stall.as_millis());
        check(
            (500..=10_000).contains(&w),
            "psi_trigger.window",
            t.window,
            "must be between 500ms and 10s (kernel limit)",
        )?;
        check(
            s > 0 && s <= w,
            "psi_trigger.stall",
            t.stall,
            "must be > 0 and <= psi_trigger.window",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate() {
        assert_eq!(AgentConfig::default().validate(), Ok(()));
    }

    #[test]
    fn blind_after_is_bounded_and_at_least_the_interval() {
        let err = |blind_after: Dur, interval: Dur| {
            let c = AgentConfig {
                blind_after,
                interval,
                fast_interval: Dur::from_millis(50),
                ..AgentConfig::default()
            };
            c.validate().map_err(|e| e.to_string()).err()
        };
        let s = Dur::from_secs;
        assert_eq!(err(s(30), s(1)), None);
        assert_eq!(
            err(Dur::from_millis(500), Dur::from_millis(100)).as_deref(),
            Some("agent.blind_after = 500ms: must be between 1s and 1h")
        );
        assert!(err(s(7200), s(1)).is_some_and(|e| e.contains("between 1s and 1h")));
        assert_eq!(
            err(s(5), s(10)).as_deref(),
            Some("agent.blind_after = 5s: must be at least agent.interval")
        );
    }

    #[test]
    fn durations_are_bounded_above_and_below() {
        let err = |f: fn(&mut AgentConfig)| {
            let mut c = AgentConfig::default();
            f(&mut c);
            c.validate()
                .map_err(|e| e.to_string())
                .err()
                .unwrap_or_default()
        };
        assert_eq!(
            err(|c| c.stall_after = Dur::from_secs(2 * 86_400)),
            "agent.stall_after = 48h: must be between 100ms and 1h"
        );
        assert!(
            err(|c| c.stall_after = Dur::from_millis(10)).starts_with("agent.stall_after = 10ms")
        );
        assert!(err(|c| c.fast_below_eta = Dur::from_secs(90_000))
            .starts_with("agent.fast_below_eta = 25h"));
        assert!(err(|c| c.snapshot.max_time = Dur::from_secs(60))
            .starts_with("agent.snapshot.max_time = 1m"));
        assert!(err(|c| c.snapshot.max_time = Dur::from_millis(1))
            .starts_with("agent.snapshot.max_time = 1ms"));
    }

    #[test]
    fn errors_name_the_key_and_value() {
        let cfg = AgentConfig {
            fast_interval: Dur::from_secs(5),
            ..AgentConfig::default()
        };
        let e = cfg.validate().unwrap_err();
        assert_eq!(
            e.to_string(),
            "agent.fast_interval = 5s: must be between 50ms and agent.interval"
        );
        let cfg = AgentConfig {
            metrics_listen: "localhost".into(),
            ..AgentConfig::default()
        };
        assert_eq!(cfg.validate().unwrap_err().key, "metrics_listen");
    }

    #[test]
    fn heartbeat_url_never_shows_in_debug_or_serialized_form() {
        let hb = HeartbeatConfig {
            url: "https://hc.example/ping/s3cr3t".into(),
            every: Dur::from_secs(30),
        };
        assert!(!format!("{hb:?}").contains("s3cr3t"));
        let text = toml::to_string(&hb).unwrap();
        assert!(!text.contains("s3cr3t"), "{text}");
        let bad = AgentConfig {
            heartbeat: Some(HeartbeatConfig {
                url: "ftp://s3cr3t".into(),
                every: Dur::from_secs(30),
            }),
            ..AgentConfig::default()
        };
        assert!(!bad.validate().unwrap_err().to_string().contains("s3cr3t"));
    }
}
