//! Alerts a previous run left firing: the notification state in the spool
//! says they were notified as firing, but nothing in this run has said so
//! yet. Each is given the time a condition still true would take to fire
//! again in this run (the detector's windows to warm up from fresh samples,
//! plus the rule's `for`); if by then the agent does not hold it firing, it
//! is resolved, with the current values. Otherwise a restart after a
//! livelock leaves the alert firing forever: no resolve, and the next
//! incident's firing taken for a repeat of the old one.
//!
//! A rule the agent does hold firing by then needs nothing: its firing event
//! already told the router that the old notification still stands.

use super::Daemon;
use crate::detect::{AlertState, Detector, Event, Severity};

/// What is firing per the previous run, and when each must be judged.
#[derive(Debug, Default)]
pub(super) struct Restored {
    /// (rule, severity, judge at this time, ms), in no particular order.
    due: Vec<(&'static str, Severity, i64)>,
}

impl Restored {
    /// The rules in `firing` (from the spool's state) this agent knows among
    /// `rule_names`, each due a warm-up plus its `for` after `start_ms`.
    /// Rules it does not know (from another version) are logged and left.
    pub(super) fn new(
        firing: &[String],
        rule_names: &[&'static str],
        det: &Detector,
        start_ms: i64,
    ) -> Restored {
        let warm_ms = det.config().warm_up_ms();
        let mut due = Vec::new();
        for name in firing {
            let Some(&rule) = rule_names.iter().find(|n| **n == name.as_str()) else {
                tracing::warn!(rule = %name, "the previous run left an alert firing for a rule this agent does not have; it will not be resolved");
                continue;
            };
            let spec = det.rules().specs().iter().find(|s| s.name == rule);
            let for_ms = spec.map_or(0, |s| s.for_ms);
            let severity = spec.map_or(Severity::Critical, |s| s.severity);
            due.push((rule, severity, start_ms + warm_ms + for_ms));
        }
        if !due.is_empty() {
            tracing::info!(rules = ?due.iter().map(|d| d.0).collect::<Vec<_>>(), "alerts left firing by the previous run: resolved unless they fire again after the warm-up");
        }
        Restored { due }
    }

    /// Whether nothing is left to judge (the loop's check, every turn).
    #[inline]
    pub(super) fn is_empty(&self) -> bool {
        self.due.is_empty()
    }

    /// Takes the rules due at `now_ms`.
    fn take_due(&mut self, now_ms: i64) -> Vec<(&'static str, Severity)> {
        let mut out = Vec::new();
        self.due.retain(|&(rule, severity, at)| {
            let due = now_ms >= at;
            if due {
                out.push((rule, severity));
            }
            !due
        });
        out
    }
}

impl Daemon {
    /// Resolves, with the current values, each restored alert that is due
    /// and that the agent does not hold firing (its gauge says so: the
    /// gauges follow every rule, the detector's and the agent's own).
    #[cold]
    #[inline(never)]
    pub(super) fn resolve_restored(&mut self) {
        // Judged only on this turn's own sample: not on old features while
        // reads fail.
        let Some(f) = self.det.features().filter(|f| f.at_ms == self.last_at_ms) else {
            return;
        };
        let (at_ms, evidence) = (self.last_at_ms, self.det.evidence(f, None));
        let mut events = Vec::new();
        for (rule, severity) in self.restored.take_due(at_ms) {
            let i = self.fanout.rule_names.iter().position(|n| *n == rule);
            let firing = i.is_some_and(|i| self.metrics.alert_state[i].get() >= 2.0);
            if firing {
                continue;
            }
            tracing::info!(
                rule,
                "an alert the previous run left firing no longer holds: resolving it"
            );
            events.push(Event {
                at_ms,
                rule,
                severity,
                state: AlertState::Resolved,
                evidence,
            });
        }
        if !events.is_empty() {
            self.fanout.dispatch(&mut events, &self.metrics);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::DetectorConfig;

    #[test]
    fn each_restored_rule_is_due_after_the_warm_up_and_its_for() {
        let det = Detector::new(&DetectorConfig::default());
        let firing = ["oom_kill".to_string(), "swap_low".into(), "gone".into()];
        let names = ["oom_kill", "swap_low"];
        let mut r = Restored::new(&firing, &names, &det, 1_000);
        // Default windows: the longest is trend_window, 120 s.
        assert!(r.take_due(120_999).is_empty());
        assert_eq!(r.take_due(121_000), vec![("oom_kill", Severity::Critical)]);
        assert!(!r.is_empty(), "swap_low also waits its 300 s `for`");
        assert_eq!(r.take_due(421_000), vec![("swap_low", Severity::Warning)]);
        assert!(r.is_empty(), "an unknown rule is not waited for");
    }
}
