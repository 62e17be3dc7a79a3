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
    /// Jobs in the worker's queue...
    pub pending: AtomicU64,
    /// ...and how many of them have their spool file (the rest are lost at exit).
    pub pending_on_disk: AtomicU64,
    /// Jobs sent to the worker that it has not taken yet (it may be blocked
    /// in a request), and how many of them are on disk.
    pub unread: AtomicU64,
    pub unread_on_disk: AtomicU64,
    pub disabled: AtomicBool,
    pub last_error: Mutex<Option<String>>,
}

impl Counters {
    /// The router sent the worker a job.
    pub fn sent_to_worker(&self, on_disk: bool) {
        self.unread.fetch_add(1, Relaxed);
        self.unread_on_disk.fetch_add(u64::from(on_disk), Relaxed);
    }

    /// The worker took a job from its channel.
    pub fn taken_by_worker(&self, on_disk: bool) {
        self.unread.fetch_sub(1, Relaxed);
        self.unread_on_disk.fetch_sub(u64::from(on_disk), Relaxed);
    }

    /// Jobs waiting, queued or not yet taken, and how many are on disk.
    pub fn waiting(&self) -> (u64, u64) {
        let all = self.pending.load(Relaxed) + self.unread.load(Relaxed);
        let on_disk = self.pending_on_disk.load(Relaxed) + self.unread_on_disk.load(Relaxed);
        (all, on_disk.min(all))
    }

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
            pending: self.waiting().0,
            spooled: self.waiting().1,
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
    /// Of `pending`, those whose spool file was written (the others are
    /// lost if the agent stops before delivering them).
    pub spooled: u64,
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
