//! The clock: the only module that reads time (`clippy.toml` forbids
//! `Instant::now` and `SystemTime::now` everywhere else). The detector never
//! does; the agent loop, the notifier and the commands read it here, and the
//! dispatcher takes a [`Clock`] so its tests can control time.

use std::fmt::Debug;
use std::time::Instant;

/// Wall-clock milliseconds since the Unix epoch (sample timestamps).
#[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
#[link_section = "memcanary_hot"]
#[allow(clippy::disallowed_methods)] // the clock module owns the clock
pub fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Monotonic nanoseconds since the first call: the loop's deadlines. Plain
/// integers, so the loop's arithmetic is inline instead of std's `Instant`
/// operators, out of line on pages of their own (lib.rs, "The hot
/// section"). The clock itself stays std's (libc, which resolves the vDSO
/// at start): rustix's own vDSO lookup saved a few more pages but hung the
/// loop under valgrind, and a loop that silently stops is the one failure
/// this agent must not have.
#[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
#[link_section = "memcanary_hot"]
#[allow(clippy::disallowed_methods)] // the clock module owns the clock
pub fn mono_ns() -> i64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let start = *START.get_or_init(Instant::now);
    Instant::now().duration_since(start).as_nanos() as i64
}

/// Monotonic now (scheduling, lateness).
#[allow(clippy::disallowed_methods)] // the clock module owns the clock
pub fn mono() -> Instant {
    Instant::now()
}

/// Wall-clock milliseconds since the Unix epoch, injected where tests need
/// to control time (the notification dispatcher).
pub trait Clock: Send + Sync + Debug {
    /// Now, ms since the epoch.
    fn now_ms(&self) -> i64;
}

/// The system's real-time clock: [`wall_ms`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        wall_ms()
    }
}
