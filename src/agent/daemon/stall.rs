//! The agent's own rule, `loop_stalled`: the sampling loop woke much later
//! than it asked. An agent that cannot get scheduled is itself evidence of
//! thrash. Pure: each turn's lateness comes in, a change of state comes out.

use std::time::Duration;

/// The rule's name.
pub const LOOP_STALLED: &str = "loop_stalled";

/// Calm turns before `loop_stalled` resolves.
const STALL_CALM_TURNS: u32 = 10;

/// What one turn's lateness changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StallChange {
    /// Later than the limit: the rule fires.
    Began,
    /// [`STALL_CALM_TURNS`] turns under half the limit: it resolves.
    Ended,
}

/// Whether the loop is stalled, and how many calm turns it has had since.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct StallRule {
    stalled: bool,
    calm_turns: u32,
}

impl StallRule {
    /// Whether `loop_stalled` is firing.
    pub(super) fn is_stalled(&self) -> bool {
        self.stalled
    }

    /// One turn woke `lateness` after its deadline; `limit` is
    /// `agent.stall_after`. Fires above the limit; resolves after enough
    /// turns below half of it (a turn in between counts for neither).
    #[inline]
    pub(super) fn observe(&mut self, lateness: Duration, limit: Duration) -> Option<StallChange> {
        if lateness > limit && !self.stalled {
            self.stalled = true;
            self.calm_turns = 0;
            return Some(StallChange::Began);
        }
        if self.stalled && lateness < limit / 2 {
            self.calm_turns += 1;
            if self.calm_turns >= STALL_CALM_TURNS {
                self.stalled = false;
                return Some(StallChange::Ended);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: Duration = Duration::from_secs(2);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn fires_once_above_the_limit() {
        let mut r = StallRule::default();
        assert_eq!(
            r.observe(ms(2000), LIMIT),
            None,
            "at the limit is not above"
        );
        assert_eq!(r.observe(ms(2001), LIMIT), Some(StallChange::Began));
        assert!(r.is_stalled());
        assert_eq!(r.observe(ms(5000), LIMIT), None, "already firing");
    }

    #[test]
    fn resolves_after_ten_calm_turns_under_half_the_limit() {
        let mut r = StallRule::default();
        r.observe(ms(3000), LIMIT);
        for i in 0..9 {
            assert_eq!(r.observe(ms(999), LIMIT), None, "calm turn {i}");
        }
        // Between half the limit and the limit: neither calm nor stalled.
        assert_eq!(r.observe(ms(1500), LIMIT), None);
        assert!(r.is_stalled());
        assert_eq!(r.observe(ms(0), LIMIT), Some(StallChange::Ended));
        assert!(!r.is_stalled());
    }

    #[test]
    fn a_new_stall_starts_the_calm_count_again() {
        let mut r = StallRule::default();
        r.observe(ms(3000), LIMIT);
        for _ in 0..9 {
            r.observe(ms(0), LIMIT);
        }
        r.observe(ms(0), LIMIT);
        assert_eq!(r.observe(ms(3000), LIMIT), Some(StallChange::Began));
        for _ in 0..9 {
            assert_eq!(r.observe(ms(0), LIMIT), None);
        }
        assert_eq!(r.observe(ms(0), LIMIT), Some(StallChange::Ended));
    }
}
