//! Fan-out: the loop's events go to the notifier and black-box threads
//! (`try_send`: never blocks; a full queue drops the event and counts it),
//! and the rule-state gauges follow them.

use super::blind::MEMCANARY_BLIND;
use super::stall::LOOP_STALLED;
use crate::agent::blackbox::{History, Note};
use crate::agent::metrics::{state_value, Metrics};
use crate::agent::notifier::BlindWhy;
use crate::detect::{AlertState, Detector, Event, RuleSet, HOST_SILENT, WENT_DARK};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::thread::JoinHandle;

/// The threads the loop hands off to, and the gauges it names.
pub(super) struct FanOut {
    pub(super) notify_tx: SyncSender<Event>,
    pub(super) blackbox_tx: SyncSender<Note>,
    /// Every thread started (the notifier, the black box, /metrics).
    pub(super) threads: Vec<JoinHandle<()>>,
    /// The rule names, in the order of `Metrics::alert_state`.
    pub(super) rule_names: Vec<&'static str>,
    /// Why the agent is blind, for the notifier's `memcanary_blind` alert.
    pub(super) blind_why: BlindWhy,
    /// The detector's clean days, for the black box's state file.
    pub(super) history: History,
    /// The clean days last seen ([`days_key`]): a change is a day closed.
    pub(super) days_seen: (usize, i64),
}

/// How many clean days the detector keeps and the last one's number: it
/// changes only when a day closes.
pub(super) fn days_key(det: &Detector) -> (usize, i64) {
    let days = det.history();
    (days.len(), days.last().map_or(i64::MIN, |d| d.day))
}

impl FanOut {
    /// When a day closed since the last call, shares the clean days and
    /// asks the black box to write them: a host that never alerts keeps its
    /// floor across a restart too. Once a day; no allocation here.
    pub(super) fn note_day_closed(&mut self, det: &Detector) {
        let key = days_key(det);
        if key != self.days_seen {
            self.days_seen = key;
            self.share_history(det);
            let _ = self.blackbox_tx.try_send(Note::DayClosed);
        }
    }

    /// Shares the detector's clean days with the black box (which writes
    /// them with the state file). Only when a day closes
    /// ([`Self::note_day_closed`]): the days change at no other time, so
    /// the alert path takes no lock for them. Allocation-free: the vector
    /// was made with room for every day kept.
    pub(super) fn share_history(&self, det: &Detector) {
        let days = det.history();
        if let Ok(mut h) = self.history.lock() {
            if h.as_slice() != days {
                h.clear();
                h.extend_from_slice(days);
            }
        }
    }
}

/// Every rule name the gauges cover: the detector's, `went_dark`, ours.
pub(super) fn all_rule_names(det: &Detector) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = RuleSet::memcanary(&crate::detect::DetectorConfig::default())
        .specs()
        .iter()
        .chain(det.rules().specs())
        .map(|s| s.name)
        .collect();
    v.push(WENT_DARK);
    v.push(HOST_SILENT);
    v.push(LOOP_STALLED);
    v.push(MEMCANARY_BLIND);
    let mut seen = Vec::new();
    v.retain(|n| {
        let new = !seen.contains(n);
        seen.push(*n);
        new
    });
    v
}

impl FanOut {
    /// Hands `events` to the notifier and the black box without blocking.
    #[cold]
    #[inline(never)]
    pub(super) fn dispatch(&self, events: &mut Vec<Event>, metrics: &Metrics) {
        for ev in events.drain(..) {
            tracing::info!(
                rule = ev.rule,
                severity = ev.severity.as_str(),
                state = ev.state.as_str(),
                headroom_bytes = ev.evidence.headroom_bytes,
                "alert state change"
            );
            if let Err(TrySendError::Full(_)) = self.notify_tx.try_send(ev) {
                metrics.notifications_failed.inc();
                tracing::warn!(rule = ev.rule, "notifier queue full; event dropped");
            }
            if matches!(ev.state, AlertState::Pending | AlertState::Firing) {
                let _ = self.blackbox_tx.try_send(Note::Event(ev));
            }
        }
    }

    /// Hands repeated firings (current values for reminders) to the
    /// notifier only: they are no state change, so no log line at info, no
    /// black-box note, and a full queue just skips this refresh.
    #[cold]
    #[inline(never)]
    pub(super) fn refresh(&self, events: &mut Vec<Event>) {
        for ev in events.drain(..) {
            tracing::debug!(
                rule = ev.rule,
                "current values of a firing alert, for its reminders"
            );
            let _ = self.notify_tx.try_send(ev);
        }
    }

    /// Copies every rule's state into its gauge (`stalled` and `blind`: the
    /// agent's own rules).
    #[cold]
    #[inline(never)]
    pub(super) fn update_rule_gauges(
        &self,
        det: &Detector,
        (stalled, blind): (bool, bool),
        metrics: &Metrics,
    ) {
        for (spec, st) in det.rules().iter() {
            if let Some(i) = self.rule_names.iter().position(|n| *n == spec.name) {
                metrics.alert_state[i].set(state_value(st));
            }
        }
        let firing = |on: bool| if on { 2.0 } else { 0.0 };
        // A silence fires one of the two: `went_dark` after a firing rule,
        // `host_silent` after a pending one.
        let dark = det.is_dark();
        let own = [
            (WENT_DARK, firing(dark)),
            (HOST_SILENT, firing(det.is_silent() && !dark)),
            (LOOP_STALLED, firing(stalled)),
            (MEMCANARY_BLIND, firing(blind)),
        ];
        for (name, v) in own {
            if let Some(i) = self.rule_names.iter().position(|n| *n == name) {
                metrics.alert_state[i].set(v);
            }
        }
    }

    /// Closes the queues and waits for the threads that drain them.
    pub(super) fn stop(self) {
        drop(self.notify_tx);
        drop(self.blackbox_tx);
        // The metrics thread blocks in accept(); it ends with the process.
        for h in self
            .threads
            .into_iter()
            .filter(|h| h.thread().name() != Some("metrics-http"))
        {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::DetectorConfig;
    use crate::signal::Sample;

    const MIB: u64 = 1 << 20;

    /// A detector whose host went silent while a forecast was only pending
    /// (headroom falling 2 MiB/s from 600 of 1000 MiB, silent from t=135 s).
    fn silent_after_a_pending_forecast() -> Detector {
        let mut det = Detector::new(&DetectorConfig::default());
        let mut out = Vec::new();
        for i in 0..9 {
            let t = i * 15;
            let s = Sample {
                at_ms: 1_700_000_000_000 + t * 1000,
                mem_total_bytes: 1000 * MIB,
                mem_available_bytes: (600 - 2 * t as u64) * MIB,
                swap_total_bytes: 100 * MIB,
                swap_free_bytes: 100 * MIB,
                ..Sample::default()
            };
            det.feed(&s, &mut out).unwrap();
        }
        det.advance_to(1_700_000_600_000, &mut out);
        assert!(out.iter().any(|e| e.rule == HOST_SILENT), "{out:?}");
        det
    }

    #[test]
    fn the_host_silent_gauge_follows_the_detector() {
        let det = silent_after_a_pending_forecast();
        let rule_names = all_rule_names(&det);
        let (metrics, _) = Metrics::new(&rule_names, "off");
        let fanout = FanOut {
            notify_tx: std::sync::mpsc::sync_channel(1).0,
            blackbox_tx: std::sync::mpsc::sync_channel(1).0,
            threads: Vec::new(),
            rule_names,
            blind_why: BlindWhy::default(),
            history: Default::default(),
            days_seen: (0, i64::MIN),
        };
        fanout.update_rule_gauges(&det, (false, false), &metrics);
        let gauge = |rule| {
            let i = fanout.rule_names.iter().position(|n| *n == rule).unwrap();
            metrics.alert_state[i].get()
        };
        assert_eq!(
            gauge(HOST_SILENT),
            2.0,
            "host_silent fires: its gauge says so"
        );
        assert_eq!(gauge(WENT_DARK), 0.0);
    }

    #[test]
    fn a_closed_day_goes_to_the_black_box_once() {
        let mut det = Detector::new(&DetectorConfig::default());
        let (tx, rx) = std::sync::mpsc::sync_channel(4);
        let mut fanout = FanOut {
            notify_tx: std::sync::mpsc::sync_channel(1).0,
            blackbox_tx: tx,
            threads: Vec::new(),
            rule_names: Vec::new(),
            blind_why: BlindWhy::default(),
            history: Default::default(),
            days_seen: days_key(&det),
        };
        // A calm host, every 5 s from 23:50 to 00:10 UTC.
        let midnight = 20_000 * crate::detect::history::DAY_MS;
        let mut out = Vec::new();
        let mut closed_at = None;
        for i in 0..240 {
            let s = Sample {
                at_ms: midnight - 600_000 + i * 5_000,
                mem_total_bytes: 1000 * MIB,
                mem_available_bytes: 600 * MIB,
                ..Sample::default()
            };
            det.feed(&s, &mut out).unwrap();
            fanout.note_day_closed(&det);
            if let Ok(note) = rx.try_recv() {
                assert!(matches!(note, Note::DayClosed), "{note:?}");
                assert!(closed_at.is_none(), "a second note at {}", s.at_ms);
                closed_at = Some(s.at_ms);
            }
        }
        assert_eq!(closed_at, Some(midnight), "the day closes at midnight");
        assert_eq!(fanout.history.lock().unwrap().as_slice(), det.history());
        assert_eq!(det.history().len(), 1);
    }
}
