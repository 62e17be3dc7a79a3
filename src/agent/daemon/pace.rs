//! Pacing: how long the loop sleeps, and which files a calm sample re-reads.
//!
//! Fast (`fast_interval`) while pressure is elevated, the loop is stalled,
//! any rule is active, or for [`TRIGGER_BOOST`] after a PSI trigger woke
//! the loop; else the base `interval`. Times are passed in (monotonic ns for
//! the boost, wall ms for the reads): nothing here reads a clock.

use crate::agent::config::AgentConfig;
use crate::detect::{Detector, Dur};
use crate::source::Refresh;
use std::time::Duration;

/// After a PSI trigger wake-up, sample fast for this long.
const TRIGGER_BOOST: Duration = Duration::from_secs(10);

/// The sampling pace.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pacer {
    /// Until when (monotonic ns) a PSI trigger keeps sampling fast.
    boost_until: Option<i64>,
    /// Sampling at the fast interval (set by [`Pacer::interval`]).
    fast: bool,
    /// When the files a calm sample may skip were last read.
    last_read: LastRead,
}

impl Pacer {
    pub(super) const START: Pacer = Pacer {
        boost_until: None,
        fast: false,
        last_read: LastRead::NEVER,
    };

    /// A PSI trigger woke the loop at `now_ns`: sample fast for a while,
    /// starting with this very sample (it reads everything).
    pub(super) fn boost(&mut self, now_ns: i64) {
        self.boost_until = Some(now_ns + TRIGGER_BOOST.as_nanos() as i64);
        self.fast = true;
    }

    /// Which files the sample at `at_ms` re-reads (see [`LastRead::refresh`]).
    #[inline]
    pub(super) fn refresh(
        &mut self,
        at_ms: i64,
        trigger_armed: bool,
        a: &AgentConfig,
        rate_window_ms: i64,
    ) -> Refresh {
        self.last_read
            .refresh(at_ms, self.fast, trigger_armed, a, rate_window_ms)
    }

    /// The next interval, decided at `now_ns` after the detector saw the
    /// latest sample: fast while pressure is elevated, else the base one.
    #[inline]
    pub(super) fn interval(
        &mut self,
        now_ns: i64,
        a: &AgentConfig,
        det: &Detector,
        stalled: bool,
    ) -> Duration {
        let boosted = self.boost_until.is_some_and(|t| now_ns < t);
        let f = det.features();
        let psi = f
            .and_then(|f| f.psi_some)
            .is_some_and(|p| p >= a.fast_above_psi_ratio);
        let eta = f
            .and_then(|f| f.eta_s)
            .is_some_and(|e| e < a.fast_below_eta.as_secs_f64());
        let fast = boosted || psi || eta || stalled || det.rules().any_active();
        self.fast = fast;
        let d = if fast { a.fast_interval } else { a.interval };
        Duration::from_millis(d.as_millis().max(1) as u64)
    }
}

/// When the files a calm sample may skip (`/proc/vmstat`, the pressure
/// file) were last read.
#[derive(Debug, Clone, Copy)]
struct LastRead {
    vmstat_ms: i64,
    psi_ms: i64,
}

impl LastRead {
    const NEVER: LastRead = LastRead {
        vmstat_ms: i64::MIN / 2,
        psi_ms: i64::MIN / 2,
    };

    /// Which files the sample at `at` re-reads (noted as read now): all of
    /// them when sampling fast, else each once its calm interval has passed.
    /// Calm intervals are capped at half the rate window, so every rate
    /// still spans at least two fresh readings. Between calm reads of PSI
    /// an armed kernel trigger watches the stall; without one nothing
    /// would, so then every sample reads it.
    fn refresh(
        &mut self,
        at: i64,
        fast: bool,
        trigger_armed: bool,
        a: &AgentConfig,
        rate_window_ms: i64,
    ) -> Refresh {
        let cap = rate_window_ms / 2;
        // Whether a file is read now; if so, `last` becomes now.
        let read = |last: &mut i64, now: bool, every: Dur| {
            let read = now || at - *last >= every.as_millis().min(cap);
            if read {
                *last = at;
            }
            read
        };
        Refresh {
            vmstat: read(&mut self.vmstat_ms, fast, a.calm_vmstat_interval),
            psi: read(
                &mut self.psi_ms,
                fast || !trigger_armed,
                a.calm_psi_interval,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Dur;

    #[test]
    fn calm_samples_reread_vmstat_and_psi_every_calm_interval() {
        let a = AgentConfig::default(); // both calm intervals 5 s
        let mut last = LastRead::NEVER;
        let mut read = |at, fast, armed| {
            let r = last.refresh(at, fast, armed, &a, 60_000);
            (r.vmstat, r.psi)
        };
        assert_eq!(read(0, false, true), (true, true), "first sample");
        for at in [1000, 2000, 3000, 4999] {
            assert_eq!(read(at, false, true), (false, false), "at {at}");
        }
        assert_eq!(read(5000, false, true), (true, true));
        // Without a trigger nothing watches PSI: every sample reads it.
        assert_eq!(read(6000, false, false), (false, true));
        // Sampling fast (pressure, or a trigger wake-up): every file.
        assert_eq!(read(6250, true, true), (true, true));
        assert_eq!(read(7000, false, true), (false, false));
    }

    #[test]
    fn calm_intervals_are_capped_at_half_the_rate_window() {
        let a = AgentConfig {
            calm_vmstat_interval: Dur::from_secs(60),
            calm_psi_interval: Dur::from_secs(0),
            ..AgentConfig::default()
        };
        let mut last = LastRead::NEVER;
        let mut read = |at| {
            let r = last.refresh(at, false, true, &a, 4000);
            (r.vmstat, r.psi)
        };
        assert_eq!(read(0), (true, true));
        assert_eq!(read(1000), (false, true), "0s: PSI every sample");
        assert_eq!(read(2000), (true, true), "60s capped at 2s");
    }
}
