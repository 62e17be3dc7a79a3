//! Alerts a previous run left firing: the dispatcher's dedupe state (in
//! `spool_dir`) says they were notified as firing, per host and rule.
//!
//! A restarted watcher backfills every host, so a condition that still
//! holds fires again from the data and the router takes that firing for the
//! old one (not notified twice). One that no longer holds would otherwise
//! stay firing forever: the first sight of a host reports only what its
//! history shows, and an incident that began before the backfill and
//! cleared inside it shows nothing. So each restored alert is judged on the
//! host's samples: it is resolved, with the current values, once the host
//! has a sample newer than this run's first good cycle (fresh, not history),
//! its detector has seen a full warm-up of samples, and the rule is neither
//! firing nor pending. A host with no fresh sample keeps its alert: nothing
//! resolves without fresh samples showing recovery. `datasource_down`
//! resolves on this run's first good answer.
//!
//! Pure, like the [`Watcher`](super::Watcher) that calls it.

use super::fleet::{Fleet, Host, HostEvent, HOST_SILENT};
use super::watcher::DATASOURCE_DOWN;
use crate::detect::{AlertState, Event, RuleStatus, Severity, WENT_DARK};

/// What is left to judge.
#[derive(Debug, Clone, Default)]
pub struct Restored {
    /// (host, rule, severity) notified as firing by the previous run.
    due: Vec<(String, &'static str, Severity)>,
    /// The horizon of this run's first good cycle: samples after it are fresh.
    first_horizon: Option<i64>,
}

impl Restored {
    /// The `(instance, rule)` pairs the dispatcher restored, kept for the
    /// rules this watcher knows (others are logged and left).
    pub fn new(firing: &[(String, String)], fleet: &Fleet, datasource: &str) -> Restored {
        let mut due = Vec::new();
        for (host, rule) in firing {
            match known(fleet, rule, host == datasource) {
                Some((rule, severity)) => due.push((host.clone(), rule, severity)),
                None => {
                    tracing::warn!(host = %host, rule = %rule, "the previous run left an alert firing for a rule this watcher does not have; it will not be resolved")
                }
            }
        }
        if !due.is_empty() {
            tracing::info!(
                alerts = due.len(),
                "alerts left firing by the previous run: resolved on fresh samples unless they hold"
            );
        }
        Restored {
            due,
            first_horizon: None,
        }
    }

    /// Whether nothing is left to judge.
    pub fn is_empty(&self) -> bool {
        self.due.is_empty()
    }

    /// After a good cycle up to `horizon_ms`: resolves what is due.
    pub fn judge(&mut self, fleet: &Fleet, horizon_ms: i64, out: &mut Vec<HostEvent>) {
        let first = *self.first_horizon.get_or_insert(horizon_ms);
        let warm_ms = fleet.detector_config().warm_up_ms();
        self.due.retain(|(host, rule, severity)| {
            let verdict = if *rule == DATASOURCE_DOWN {
                Verdict::Resolve(None)
            } else {
                fleet
                    .hosts()
                    .get(host)
                    .map_or(Verdict::Wait, |h| judge_host(h, rule, first, warm_ms))
            };
            match verdict {
                Verdict::Wait => true,
                Verdict::Holds => false,
                Verdict::Resolve(host_state) => {
                    tracing::info!(host = %host, rule = *rule, "an alert the previous run left firing no longer holds: resolving it");
                    let evidence = host_state.unwrap_or_default();
                    let at_ms = horizon_ms;
                    let state = AlertState::Resolved;
                    let (rule, severity) = (*rule, *severity);
                    out.push((host.clone(), Event { at_ms, rule, severity, state, evidence }));
                    false
                }
            }
        });
    }
}

/// One restored alert's fate this cycle.
enum Verdict {
    /// No fresh, warm evidence yet.
    Wait,
    /// It still holds (firing again: the router has confirmed it).
    Holds,
    /// It cleared: resolve with these values.
    Resolve(Option<crate::detect::Evidence>),
}

fn judge_host(h: &Host, rule: &str, first_horizon: i64, warm_ms: i64) -> Verdict {
    let d = h.detector();
    let Some(f) = d.features() else {
        return Verdict::Wait;
    };
    if f.at_ms <= first_horizon || h.history_ms() < warm_ms {
        return Verdict::Wait;
    }
    let state = d
        .rules()
        .iter()
        .find(|(s, _)| s.name == rule)
        .map(|(_, st)| st);
    let holds = match state {
        Some(RuleStatus::Firing { .. }) => return Verdict::Holds,
        Some(RuleStatus::Pending { .. }) => true,
        Some(RuleStatus::Inactive) => false,
        None if rule == WENT_DARK => d.is_dark(),
        None => h.is_silent(),
    };
    if holds {
        Verdict::Wait
    } else {
        Verdict::Resolve(Some(d.evidence(f, None)))
    }
}

/// `rule` as this watcher names it, with its severity.
fn known(fleet: &Fleet, rule: &str, is_datasource: bool) -> Option<(&'static str, Severity)> {
    if is_datasource {
        return (rule == DATASOURCE_DOWN).then_some((DATASOURCE_DOWN, Severity::Critical));
    }
    let own = [
        (WENT_DARK, Severity::Critical),
        (HOST_SILENT, Severity::Warning),
    ];
    fleet
        .rules()
        .specs()
        .iter()
        .map(|s| (s.name, s.severity))
        .chain(own)
        .find(|(name, _)| *name == rule)
}

#[cfg(test)]
mod tests;
