//! The agent's own rule, `memcanary_blind`: no usable sample for
//! `agent.blind_after`. An agent that cannot read memory (meminfo broken,
//! the watched cgroup gone, every sample refused) watches nothing, and the
//! user must hear it, through the same sinks as any alert. Pure: each
//! turn's outcome comes in, a change of state comes out.

/// The rule's name.
pub const MEMCANARY_BLIND: &str = "memcanary_blind";

/// What one turn changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BlindChange {
    /// No usable sample for `blind_after`: the rule fires.
    Began {
        /// Since the first turn without one, ms.
        blind_for_ms: i64,
    },
    /// A usable sample again: the rule resolves.
    Ended {
        /// How long the agent was without one, ms.
        blind_for_ms: i64,
    },
}

/// Since when the agent has had no usable sample, and whether it said so.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct BlindRule {
    /// The first turn (wall ms) without a usable sample since the last one.
    since_ms: Option<i64>,
    firing: bool,
}

impl BlindRule {
    /// Whether `memcanary_blind` is firing.
    pub(super) fn is_blind(&self) -> bool {
        self.firing
    }

    /// A turn at `at_ms` had a usable sample (`seeing`) or not; `after_ms`
    /// is `agent.blind_after`.
    #[inline]
    pub(super) fn observe(
        &mut self,
        at_ms: i64,
        seeing: bool,
        after_ms: i64,
    ) -> Option<BlindChange> {
        if seeing {
            let since = self.since_ms.take()?;
            return self.firing.then(|| {
                self.firing = false;
                BlindChange::Ended {
                    blind_for_ms: at_ms - since,
                }
            });
        }
        let since = *self.since_ms.get_or_insert(at_ms);
        let blind_for_ms = at_ms - since;
        if self.firing || blind_for_ms < after_ms {
            return None;
        }
        self.firing = true;
        Some(BlindChange::Began { blind_for_ms })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_after_the_limit_without_a_sample_and_resolves_on_the_next_one() {
        let mut r = BlindRule::default();
        assert_eq!(r.observe(0, true, 3000), None);
        assert_eq!(r.observe(1000, false, 3000), None);
        assert_eq!(r.observe(3999, false, 3000), None, "2999 ms blind");
        assert_eq!(
            r.observe(4000, false, 3000),
            Some(BlindChange::Began { blind_for_ms: 3000 })
        );
        assert!(r.is_blind());
        assert_eq!(r.observe(9000, false, 3000), None, "already firing");
        assert_eq!(
            r.observe(10_000, true, 3000),
            Some(BlindChange::Ended { blind_for_ms: 9000 })
        );
        assert!(!r.is_blind());
        assert_eq!(r.observe(11_000, true, 3000), None);
    }

    #[test]
    fn a_sample_in_between_starts_the_count_again() {
        let mut r = BlindRule::default();
        r.observe(0, false, 3000);
        r.observe(2000, false, 3000);
        assert_eq!(r.observe(2500, true, 3000), None, "never fired: no resolve");
        assert_eq!(r.observe(3000, false, 3000), None);
        assert_eq!(r.observe(5999, false, 3000), None);
        assert!(r.observe(6000, false, 3000).is_some());
    }
}
