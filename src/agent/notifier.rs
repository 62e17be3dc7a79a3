//! The notifier thread: turns detector events into [`Alert`]s for the
//! [`Dispatcher`] (which owns the sinks, retries and spool), attaches the
//! top memory consumers, and starts the dead-man
//! [heartbeat](crate::notify::heartbeat) on its own thread (a hung ping
//! endpoint must not hold up an alert).
//!
//! It runs beside the loop so building an alert (owned strings) never
//! happens on the alert path: the loop hands the `Copy` event over a bounded
//! channel with `try_send`, and this thread only hands the alert on to the
//! dispatcher (never blocking: nothing here does network I/O). The
//! dispatcher's HTTP clients and the heartbeat's are built at start (prepared
//! ahead), not when the host is already short of memory. Without `[notify]`
//! sinks the dispatcher prints to stdout.
//!
//! `cgroup_thrashing` names its cgroup from the snapshot's `stalling`
//! cgroup (found by [`super::cgroups`] on the black-box thread): the
//! `cgroup` label and the detail. The resolve carries the cgroup the firing
//! named, so Alertmanager matches the two.

use super::blackbox::Latest;
use super::daemon::MEMCANARY_BLIND;
use super::metrics::Metrics;
use super::snapshot::Snapshot;
use crate::clock::{mono, wall_ms};
use crate::detect::rules::CGROUP_THRASHING;
use crate::detect::Event;
use crate::notify::heartbeat::{Heartbeat, HeartbeatConfig};
use crate::notify::{Alert, Consumer, Dispatcher};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::Mutex;
use std::time::Duration;

/// Snapshots older than this are not attached to a notification (nor kept
/// for a firing's state file: the black box then takes a new one).
pub(crate) const SNAPSHOT_MAX_AGE_MS: i64 = 120_000;

/// How often delivery counters are copied to /metrics while deliveries may
/// be under way (after an event, or for a minute after start, when the
/// spool is replayed)...
const STATS_BUSY_EVERY: Duration = Duration::from_secs(1);
/// ...for this long (retries included)...
const STATS_BUSY_FOR: Duration = Duration::from_secs(600);
/// ...and otherwise: nothing moves them, so the thread mostly sleeps (each
/// wake-up of an idle agent costs CPU that earlyoom does not spend).
const STATS_IDLE_EVERY: Duration = Duration::from_secs(60);

/// How long pending deliveries may take at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Everything the thread needs.
pub struct Notifier {
    /// Instance name.
    pub instance: String,
    /// Counters.
    pub metrics: Metrics,
    /// Latest top-consumer snapshot.
    pub latest: Latest,
    /// Optional heartbeat.
    pub heartbeat: Option<HeartbeatConfig>,
    /// The sinks.
    pub dispatcher: Dispatcher,
    /// Why the agent is blind, written by the loop when `memcanary_blind`
    /// fires (before it queues the event), read into the alert's `detail`.
    pub blind_why: BlindWhy,
}

/// The words behind `memcanary_blind`, shared by the loop and the notifier.
pub type BlindWhy = std::sync::Arc<Mutex<Option<String>>>;

/// Sent/failed totals already copied to the metrics counters.
#[derive(Default)]
struct Copied {
    sent: u64,
    failed: u64,
}

impl Notifier {
    /// Starts the thread (and the heartbeat's); returns the sender the loop
    /// uses.
    pub fn spawn(self) -> std::io::Result<(SyncSender<Event>, std::thread::JoinHandle<()>)> {
        let (tx, rx) = std::sync::mpsc::sync_channel(64);
        // Stops with this thread (the handle is dropped when `run` returns).
        let heartbeat = self.heartbeat.as_ref().map(Heartbeat::spawn).transpose()?;
        // It builds an alert and hands it on: 9 KiB of stack (crate::thread).
        let hot = crate::thread::HOT_SHALLOW;
        let h = crate::thread::spawn("notifier".into(), 256 * 1024, hot, move || {
            let _heartbeat = heartbeat;
            self.run(rx)
        })?;
        Ok((tx, h))
    }

    fn run(self, rx: Receiver<Event>) {
        let mut copied = Copied::default();
        let mut named: Option<String> = None;
        let mut busy_until = mono() + STATS_IDLE_EVERY;
        loop {
            let now = mono();
            let every = if now < busy_until {
                STATS_BUSY_EVERY
            } else {
                STATS_IDLE_EVERY
            };
            match rx.recv_timeout(every) {
                Ok(ev) => {
                    self.deliver(&ev, &mut named);
                    busy_until = mono() + STATS_BUSY_FOR;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            self.copy_stats(&mut copied);
        }
        let stats = self.dispatcher.shutdown(SHUTDOWN_GRACE);
        tracing::info!(sinks = stats.sinks.len(), "notifications flushed");
    }

    /// Pending events are not notified; firing ones carry the top consumers.
    /// `named`: the cgroup the last `cgroup_thrashing` firing named.
    fn deliver(&self, ev: &Event, named: &mut Option<String>) {
        let Some(mut alert) = Alert::try_from_event(ev, &self.instance) else {
            return;
        };
        let snap = if alert.is_firing() {
            self.fresh_snapshot()
        } else {
            None
        };
        if let Some(snap) = &snap {
            alert.consumers = consumers(snap);
        }
        if alert.rule == MEMCANARY_BLIND {
            alert.detail = self.blind_why.lock().ok().and_then(|w| w.clone());
        }
        if alert.rule == CGROUP_THRASHING {
            name_cgroup(&mut alert, snap.as_deref(), named);
        }
        self.dispatcher.send(alert);
    }

    /// The latest snapshot, unless older than [`SNAPSHOT_MAX_AGE_MS`].
    fn fresh_snapshot(&self) -> Option<std::sync::Arc<Snapshot>> {
        let guard = self.latest.lock().ok()?;
        let (at, snap) = guard.as_ref()?;
        (wall_ms() - at < SNAPSHOT_MAX_AGE_MS).then(|| snap.clone())
    }

    /// Copies the dispatcher's delivery totals into the /metrics counters.
    fn copy_stats(&self, copied: &mut Copied) {
        let (sent, failed) = self.dispatcher.totals();
        self.metrics
            .notifications_sent
            .inc_by(sent.saturating_sub(copied.sent));
        self.metrics
            .notifications_failed
            .inc_by(failed.saturating_sub(copied.failed));
        copied.sent = copied.sent.max(sent);
        copied.failed = copied.failed.max(failed);
    }
}

/// The snapshot's groups as an alert's consumers; a group in the cgroup
/// stalling at its limit says so.
fn consumers(snap: &Snapshot) -> Vec<Consumer> {
    snap.groups
        .iter()
        .map(|g| Consumer {
            group: if g.at_limit {
                format!("{} (at its memory limit)", g.unit)
            } else {
                g.unit.clone()
            },
            processes: g.processes,
            command: g.top_command.clone(),
            bytes: g.rss_bytes + g.swap_bytes,
        })
        .collect()
}

/// `cgroup_thrashing` names the cgroup: when firing, the snapshot's worst
/// stalling cgroup (remembered in `named`); when resolved, the one the
/// firing named (the same label set, so Alertmanager resolves it).
fn name_cgroup(alert: &mut Alert, snap: Option<&Snapshot>, named: &mut Option<String>) {
    if !alert.is_firing() {
        alert.cgroup = named.take();
        alert.detail = None;
        return;
    }
    match snap.and_then(|s| s.stalling.first()) {
        Some(stall) => {
            alert.cgroup = Some(stall.cgroup.clone());
            alert.detail = Some(stall.to_string());
        }
        None => {
            alert.detail = Some(CGROUP_NOT_FOUND.into());
        }
    }
    named.clone_from(&alert.cgroup);
}

/// `cgroup_thrashing`'s detail when the agent's probe found no cgroup.
pub const CGROUP_NOT_FOUND: &str =
    "not named: no cgroup of the snapshot's processes was at its limit and stalling";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::cgroups::CgroupStall;
    use crate::detect::{AlertState, Evidence, Severity};

    fn event(state: AlertState) -> Event {
        Event {
            at_ms: 1,
            rule: CGROUP_THRASHING,
            severity: Severity::Warning,
            state,
            evidence: Evidence {
                headroom_ratio: 0.898,
                ..Evidence::default()
            },
        }
    }

    fn snapshot(stalling: Vec<CgroupStall>) -> Snapshot {
        Snapshot {
            groups: vec![],
            processes_read: 1,
            truncated: false,
            elapsed_ms: 0,
            within: None,
            stalling,
        }
    }

    #[test]
    fn cgroup_thrashing_names_its_cgroup_and_resolves_with_it() {
        let stall = CgroupStall {
            cgroup: "/system.slice/build.service".into(),
            usage_bytes: 64 << 20,
            limit_bytes: 64 << 20,
            limit_hits: 812,
            major_faults: 340,
            oom_kills: 0,
            full_ratio: None,
            over_ms: 250,
        };
        let mut named = None;
        let mut fire = Alert::from_event(&event(AlertState::Firing), "web-1");
        name_cgroup(&mut fire, Some(&snapshot(vec![stall])), &mut named);
        assert_eq!(fire.cgroup.as_deref(), Some("/system.slice/build.service"));
        let summary = crate::notify::text::summary(&fire);
        assert!(
            summary.starts_with(
                "web-1: a cgroup is stalling at its own memory limit while the host has room: \
                 cgroup=\"/system.slice/build.service\" at 64.0 MiB of its 64.0 MiB limit"
            ),
            "{summary}"
        );
        assert!(summary.ends_with("(89.8%)"), "{summary}");
        let mut resolve = Alert::from_event(&event(AlertState::Resolved), "web-1");
        name_cgroup(&mut resolve, None, &mut named);
        assert_eq!(
            resolve.cgroup.as_deref(),
            Some("/system.slice/build.service")
        );
        assert_eq!(named, None);
    }

    #[test]
    fn cgroup_thrashing_without_a_stalling_cgroup_says_it_is_not_named() {
        let mut named = None;
        let mut fire = Alert::from_event(&event(AlertState::Firing), "web-1");
        assert_eq!(
            fire.detail.as_deref(),
            Some(crate::notify::alert::CGROUP_NOT_NAMED)
        );
        name_cgroup(&mut fire, Some(&snapshot(vec![])), &mut named);
        assert_eq!(fire.cgroup, None);
        assert_eq!(fire.detail.as_deref(), Some(CGROUP_NOT_FOUND));
    }
}
