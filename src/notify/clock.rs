//! The dispatcher's clock, injected so tests can control time.

use std::fmt::Debug;

/// Wall-clock milliseconds since the Unix epoch.
pub trait Clock: Send + Sync + Debug {
    /// Now, ms since the epoch.
    fn now_ms(&self) -> i64;
}

/// The system's real-time clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one place notify reads the clock
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }
}
