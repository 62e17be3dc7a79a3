//! [`Alert`]: an owned notification, built from a detector [`Event`].
//!
//! An [`Event`] is a small `Copy` value with `&'static` names; an alert owns
//! its data so it can cross threads, wait in the spool (serde) and carry what
//! the agent adds: the host name, the top memory consumers and a link. The
//! numbers are the event's [`Evidence`] itself.

use crate::detect::rules::CGROUP_THRASHING;
use crate::detect::{AlertState, Event, Evidence, Severity, Signal};
use serde::{Deserialize, Serialize};

/// One process group using memory, as the agent's snapshot saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consumer {
    /// cgroup or systemd unit, e.g. `coily-update.service`.
    pub group: String,
    /// How many processes of that command are in the group.
    pub processes: u32,
    /// Command name, e.g. `cc1plus`.
    pub command: String,
    /// RSS + swap of those processes, bytes.
    pub bytes: u64,
}

/// An owned notification about one state change (or reminder) of one rule on
/// one host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Host (or instance label) the alert is about.
    pub instance: String,
    /// Rule name, snake_case (e.g. `headroom_forecast`).
    pub rule: String,
    /// Severity of the rule.
    pub severity: Severity,
    /// New state: firing or resolved (pending is never notified).
    pub state: State,
    /// When the state changed, milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// The numbers behind it: the detector's evidence as it was.
    pub values: Evidence,
    /// Top memory consumers, biggest first (filled by the agent).
    #[serde(default)]
    pub consumers: Vec<Consumer>,
    /// A link for "click to see more" (dashboard, generatorURL).
    #[serde(default)]
    pub url: Option<String>,
    /// A test notification from `memcanary notify-test`.
    #[serde(default)]
    pub is_test: bool,
    /// 0 for the first notification of a state, n for the n-th reminder.
    #[serde(default)]
    pub repeat: u32,
    /// Why, in words, where the numbers cannot say it (e.g. which file the
    /// agent cannot read for `memcanary_blind`). Shown in the summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The cgroup a cgroup-scoped alert (`cgroup_thrashing`) is about, as
    /// `/proc/[pid]/cgroup` names it (filled by the agent): the `cgroup`
    /// label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
}

/// `cgroup_thrashing`'s detail where no cgroup data exists (node_exporter
/// series: watch, replay); the agent replaces it with the cgroup it found.
pub const CGROUP_NOT_NAMED: &str = "not named: node_exporter does not export cgroups";

/// The alert states that are notified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// The rule fires.
    Firing,
    /// The rule cleared on fresh samples.
    Resolved,
}

impl State {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Firing => "firing",
            State::Resolved => "resolved",
        }
    }
}

impl Alert {
    /// Builds an alert from a detector event. A pending event becomes a
    /// firing alert: pending is never notified, so callers skip pending
    /// events first, or use [`Alert::try_from_event`], which does.
    pub fn from_event(event: &Event, instance: &str) -> Alert {
        let state = match event.state {
            AlertState::Resolved => State::Resolved,
            AlertState::Firing | AlertState::Pending => State::Firing,
        };
        Alert {
            instance: instance.to_string(),
            rule: event.rule.to_string(),
            severity: event.severity,
            state,
            at_ms: event.at_ms,
            values: event.evidence,
            consumers: Vec::new(),
            url: None,
            is_test: false,
            repeat: 0,
            detail: (event.rule == CGROUP_THRASHING).then(|| CGROUP_NOT_NAMED.to_string()),
            cgroup: None,
        }
    }

    /// Like [`Alert::from_event`] but `None` for pending events, which are
    /// never notified.
    pub fn try_from_event(event: &Event, instance: &str) -> Option<Alert> {
        (event.state != AlertState::Pending).then(|| Alert::from_event(event, instance))
    }

    /// A test alert for `notify-test`: clearly marked, plausible numbers.
    pub fn test(instance: &str, at_ms: i64) -> Alert {
        let gib = 1u64 << 30;
        Alert {
            instance: instance.to_string(),
            rule: "headroom_forecast".to_string(),
            severity: Severity::Warning,
            state: State::Firing,
            at_ms,
            values: Evidence {
                mem_total_bytes: 16 * gib,
                mem_available_bytes: gib,
                swap_total_bytes: 4 * gib,
                swap_free_bytes: gib / 2,
                headroom_bytes: gib + gib / 2,
                headroom_ratio: 0.075,
                headroom_slope_bytes_per_s: Some(-(8 << 20) as f64),
                eta_seconds: Some(192.0),
                psi_some_ratio: Some(0.12),
                psi_full_ratio: Some(0.03),
                signals: [Signal::Forecast, Signal::PsiSome].into_iter().collect(),
                ..Evidence::default()
            },
            consumers: Vec::new(),
            url: None,
            is_test: true,
            repeat: 0,
            detail: None,
            cgroup: None,
        }
    }

    /// Whether the alert is firing.
    pub fn is_firing(&self) -> bool {
        self.state == State::Firing
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn from_event_copies_everything() {
        let ev = Event {
            at_ms: 1_700_000_000_000,
            rule: "thrashing",
            severity: Severity::Critical,
            state: AlertState::Firing,
            evidence: Evidence {
                headroom_bytes: 42,
                eta_seconds: Some(9.5),
                signals: [Signal::PsiFull].into_iter().collect(),
                ..Evidence::default()
            },
        };
        let a = Alert::from_event(&ev, "web-1");
        assert_eq!(a.instance, "web-1");
        assert_eq!(a.rule, "thrashing");
        assert_eq!(a.state, State::Firing);
        assert_eq!(a.values.headroom_bytes, 42);
        assert_eq!(a.values.eta_seconds, Some(9.5));
        let names: Vec<&str> = a.values.signals.iter().map(Signal::as_str).collect();
        assert_eq!(names, vec!["psi_full"]);
        let pending = Event {
            state: AlertState::Pending,
            ..ev
        };
        assert!(Alert::try_from_event(&pending, "web-1").is_none());
    }
}
