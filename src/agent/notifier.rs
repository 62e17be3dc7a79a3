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

use super::blackbox::Latest;
use super::daemon::MEMCANARY_BLIND;
use super::metrics::Metrics;
use crate::clock::{mono, wall_ms};
use crate::detect::Event;
use crate::notify::heartbeat::{Heartbeat, HeartbeatConfig};
use crate::notify::{Alert, Consumer, Dispatcher};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::Mutex;
use std::time::Duration;

/// Snapshots older than this are not attached to a notification.
const SNAPSHOT_MAX_AGE_MS: i64 = 120_000;

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
        let h = crate::thread::spawn("notifier".into(), 256 * 1024, 64 * 1024, move || {
            let _heartbeat = heartbeat;
            self.run(rx)
        })?;
        Ok((tx, h))
    }

    fn run(self, rx: Receiver<Event>) {
        let mut copied = Copied::default();
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
                    self.deliver(&ev);
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
    fn deliver(&self, ev: &Event) {
        let Some(mut alert) = Alert::try_from_event(ev, &self.instance) else {
            return;
        };
        if alert.is_firing() {
            alert.consumers = self.top_consumers();
        }
        if alert.rule == MEMCANARY_BLIND {
            alert.detail = self.blind_why.lock().ok().and_then(|w| w.clone());
        }
        self.dispatcher.send(alert);
    }

    fn top_consumers(&self) -> Vec<Consumer> {
        let Ok(guard) = self.latest.lock() else {
            return Vec::new();
        };
        let Some((at, snap)) = guard.as_ref() else {
            return Vec::new();
        };
        if wall_ms() - at >= SNAPSHOT_MAX_AGE_MS {
            return Vec::new();
        }
        snap.groups
            .iter()
            .map(|g| Consumer {
                group: g.unit.clone(),
                processes: g.processes,
                command: g.top_command.clone(),
                bytes: g.rss_bytes + g.swap_bytes,
            })
            .collect()
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
