//! The agent's clock: the only place it reads time (the detector never does).

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Wall-clock milliseconds since the Unix epoch (sample timestamps).
#[allow(clippy::disallowed_methods)] // the agent loop is the edge that owns the clock
pub fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Monotonic now (scheduling, lateness).
#[allow(clippy::disallowed_methods)] // the agent loop is the edge that owns the clock
pub fn mono() -> Instant {
    Instant::now()
}
