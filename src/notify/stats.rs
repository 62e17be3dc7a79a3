//! Delivery counters per target, shared between the worker threads and
//! whoever reads them (the agent's /metrics, `notify-test`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

/// Live counters of one target.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub sent: AtomicU64,
    pub failed: AtomicU64,
    pub retries: AtomicU64,
    pub dropped: AtomicU64,
    pub pending: AtomicU64,
    pub disabled: AtomicBool,
    pub last_error: Mutex<Option<String>>,
}

impl Counters {
    pub fn set_error(&self, e: &str) {
        if let Ok(mut g) = self.last_error.lock() {
            *g = Some(e.to_string());
        }
    }

    pub fn snapshot(&self, name: &str, kind: &'static str) -> SinkStats {
        SinkStats {
            name: name.to_string(),
            kind,
            sent: self.sent.load(Relaxed),
            failed: self.failed.load(Relaxed),
            retries: self.retries.load(Relaxed),
            dropped: self.dropped.load(Relaxed),
            pending: self.pending.load(Relaxed),
            disabled: self.disabled.load(Relaxed),
            last_error: self.last_error.lock().ok().and_then(|g| g.clone()),
        }
    }
}

/// A snapshot of one target's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkStats {
    /// Target name (sink name, or `NAME.N` for an HA instance).
    pub name: String,
    /// Sink kind.
    pub kind: &'static str,
    /// Notifications delivered.
    pub sent: u64,
    /// Notifications given up (rejected, or the sink was disabled).
    pub failed: u64,
    /// Failed attempts that were retried.
    pub retries: u64,
    /// Notifications dropped because the sink's queue was full.
    pub dropped: u64,
    /// Notifications waiting (in memory and spool).
    pub pending: u64,
    /// The sink was disabled (deleted webhook, bad token).
    pub disabled: bool,
    /// The last error, with secrets redacted.
    pub last_error: Option<String>,
}

/// A snapshot of every target's counters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stats {
    /// Per target, in config order.
    pub sinks: Vec<SinkStats>,
    /// Alerts dropped before routing (queue full and no spool).
    pub dropped_intake: u64,
}
