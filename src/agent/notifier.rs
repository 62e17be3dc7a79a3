//! The notifier thread: turns detector events into notifications, and pings
//! the dead-man heartbeat.
//!
//! It runs beside the loop so a slow or failing endpoint never delays
//! sampling; the loop hands events over a bounded channel with `try_send`.
//! Until the notification sinks (`crate::notify`) are merged the only sink is
//! stdout: one JSON line per event. The heartbeat's HTTP client is built at
//! start (prepared ahead), not when the host is already short of memory.

use super::blackbox::Latest;
use super::clock::{mono, wall_ms};
use super::config::HeartbeatConfig;
use super::metrics::Metrics;
use crate::detect::{AlertState, Event};
use serde::Serialize;
use std::io::Write;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

/// Snapshots older than this are not attached to a notification.
const SNAPSHOT_MAX_AGE_MS: i64 = 120_000;

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
}

/// One stdout notification.
#[derive(Serialize)]
struct Line<'a> {
    instance: &'a str,
    #[serde(flatten)]
    event: &'a Event,
    top_consumers: Vec<String>,
}

impl Notifier {
    /// Starts the thread; returns the sender the loop uses.
    pub fn spawn(self) -> std::io::Result<(SyncSender<Event>, std::thread::JoinHandle<()>)> {
        let (tx, rx) = std::sync::mpsc::sync_channel(64);
        let h = std::thread::Builder::new()
            .name("notifier".into())
            .stack_size(512 * 1024) // TLS handshakes (heartbeat over https) need room
            .spawn(move || self.run(rx))?;
        Ok((tx, h))
    }

    fn run(self, rx: Receiver<Event>) {
        let client = self.heartbeat.as_ref().map(|_| http_client());
        let mut next_beat = mono();
        loop {
            let wait = next_beat.saturating_duration_since(mono());
            let msg = match &self.heartbeat {
                Some(_) => rx.recv_timeout(wait),
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match msg {
                Ok(ev) => self.deliver(&ev),
                Err(RecvTimeoutError::Timeout) => {
                    if let (Some(hb), Some(c)) = (&self.heartbeat, &client) {
                        next_beat = beat(c, hb, next_beat);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    fn deliver(&self, ev: &Event) {
        let top = if ev.state == AlertState::Firing {
            self.top_consumers()
        } else {
            Vec::new()
        };
        let line = Line {
            instance: &self.instance,
            event: ev,
            top_consumers: top,
        };
        let mut out = std::io::stdout().lock();
        let ok = serde_json::to_writer(&mut out, &line).is_ok()
            && out.write_all(b"\n").is_ok()
            && out.flush().is_ok();
        if ok {
            self.metrics.notifications_sent.inc();
        } else {
            self.metrics.notifications_failed.inc();
        }
    }

    fn top_consumers(&self) -> Vec<String> {
        let Ok(guard) = self.latest.lock() else {
            return Vec::new();
        };
        match guard.as_ref() {
            Some((at, snap)) if wall_ms() - at < SNAPSHOT_MAX_AGE_MS => {
                snap.groups.iter().map(|g| g.to_string()).collect()
            }
            _ => Vec::new(),
        }
    }
}

fn http_client() -> ureq::Agent {
    let cfg = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(true)
        .build();
    ureq::Agent::new_with_config(cfg)
}

/// Pings the heartbeat URL; returns when the next ping is due.
fn beat(client: &ureq::Agent, hb: &HeartbeatConfig, due: Instant) -> Instant {
    match client.get(&hb.url).call() {
        Ok(_) => tracing::debug!("heartbeat sent"),
        // The error text may quote the URL (and its token): log the kind only.
        Err(e) => tracing::warn!(error = error_kind(&e), "heartbeat failed"),
    }
    let every = Duration::from_millis(hb.every.as_millis().max(1000) as u64);
    let next = due + every;
    if next < mono() {
        mono() + every
    } else {
        next
    }
}

fn error_kind(e: &ureq::Error) -> String {
    match e {
        ureq::Error::StatusCode(c) => format!("HTTP status {c}"),
        ureq::Error::Timeout(_) => "timeout".into(),
        ureq::Error::Io(io) => format!("I/O: {}", io.kind()),
        _ => "request failed".into(),
    }
}
