//! One turn of the alert path: read a sample, run the detector, keep the
//! ring and the gauges, check the loop's own lateness and whether it sees
//! memory at all, fan out the events.

use super::blind::{BlindChange, MEMCANARY_BLIND};
use super::stall::{StallChange, LOOP_STALLED};
use super::Daemon;
use crate::agent::ring::Row;
use crate::clock::wall_ms;
use crate::detect::{AlertState, Event, Evidence, ObserveError, RuleStatus, Severity};
use crate::signal::Sample;
use std::time::Duration;

/// How often firing rules' current values go to the router (for reminders).
const REFRESH_EVERY_MS: i64 = crate::notify::Dispatcher::REFRESH_EVERY_MS;

impl Daemon {
    /// One sample through the detector, and the hand-offs.
    #[inline]
    pub(super) fn turn(&mut self, lateness: Duration) {
        let at = wall_ms().max(self.last_at_ms + 1);
        self.last_at_ms = at;
        self.note_lateness(lateness);
        let sample = self.read(at);
        let observed = self.det.turn(at, sample.as_ref(), &mut self.events);
        let seeing = sample.is_some() && observed.is_ok();
        if let Some(s) = &sample {
            self.on_sample(s, observed, lateness);
        }
        self.check_stall(lateness, at);
        self.check_blind(at, seeing);
        self.fanout.note_day_closed(&self.det);
        // Rule states change only with an event (pending, firing, resolved,
        // went dark, stalled, blind): no event, nothing to copy.
        if !self.events.is_empty() {
            self.fanout.dispatch(&mut self.events, &self.metrics);
            let own = (self.stall.is_stalled(), self.blind.is_blind());
            self.fanout
                .update_rule_gauges(&self.det, own, &self.metrics);
        }
        if seeing && at - self.refreshed_at_ms >= REFRESH_EVERY_MS {
            self.refresh_firing(at);
        }
    }

    /// Every [`REFRESH_EVERY_MS`] while rules fire, their current values go
    /// to the notifier as a repeated firing: the router notifies nothing for
    /// it (already notified as firing) but keeps its values, so a reminder
    /// says how things stand now, not at the first firing.
    #[cold]
    #[inline(never)]
    fn refresh_firing(&mut self, at: i64) {
        self.refreshed_at_ms = at;
        let evidence = self.evidence();
        for (spec, st) in self.det.rules().iter() {
            if let RuleStatus::Firing { since } = st {
                self.events.push(Event {
                    at_ms: since,
                    rule: spec.name,
                    severity: spec.severity,
                    state: AlertState::Firing,
                    evidence,
                });
            }
        }
        if !self.events.is_empty() {
            self.fanout.refresh(&mut self.events);
        }
    }

    fn note_lateness(&mut self, lateness: Duration) {
        let late_s = lateness.as_secs_f64();
        self.metrics.loop_lateness_seconds.set(late_s);
        if late_s > self.max_lateness_s {
            self.max_lateness_s = late_s;
            self.metrics.loop_lateness_max_seconds.set(late_s);
        }
    }

    /// The sample at `at`, re-reading the files the pace asks for.
    fn read(&mut self, at: i64) -> Option<Sample> {
        let armed = self.waiter.trigger_armed();
        let rate_window_ms = self.cfg.detector.rate_window.as_millis();
        let refresh = self
            .pacer
            .refresh(at, armed, &self.cfg.agent, rate_window_ms);
        let read = self.src.read_calm(at, refresh);
        if self.src.health().eventful() {
            self.on_source_trouble();
        }
        match read {
            Ok(s) => {
                self.metrics.samples.inc();
                Some(s)
            }
            Err(_) => {
                self.metrics.sample_errors.inc();
                None
            }
        }
    }

    fn on_sample(&mut self, s: &Sample, observed: Result<(), ObserveError>, lateness: Duration) {
        if let Err(e) = observed {
            tracing::warn!(error = %e, "sample refused by the detector");
            return;
        }
        if let Ok(mut r) = self.ring.lock() {
            r.push(Row {
                sample: *s,
                lateness_ms: lateness.as_millis().min(u32::MAX as u128) as u32,
            });
        }
        let m = &self.metrics;
        m.sources.last_sample_timestamp.set(s.at_ms as f64 / 1000.0);
        m.mem_available_bytes.set(s.mem_available_bytes as f64);
        m.swap_free_bytes.set(s.swap_free_bytes as f64);
        m.headroom_bytes.set(s.headroom_bytes() as f64);
        if let Some(f) = self.det.features() {
            m.headroom_ratio.set(f.headroom_ratio);
            m.forecast_seconds.set(f.eta_s.unwrap_or(f64::NAN));
            m.psi_some_ratio.set(f.psi_some.unwrap_or(f64::NAN));
            m.psi_full_ratio.set(f.psi_full.unwrap_or(f64::NAN));
        }
    }

    fn check_stall(&mut self, lateness: Duration, at: i64) {
        let limit = Duration::from_millis(self.cfg.agent.stall_after.as_millis().max(1) as u64);
        match self.stall.observe(lateness, limit) {
            Some(StallChange::Began) => self.stall_began(lateness, at),
            Some(StallChange::Ended) => {
                let ev = self.own_event(LOOP_STALLED, at, AlertState::Resolved);
                self.events.push(ev);
            }
            None => {}
        }
    }

    #[cold]
    #[inline(never)]
    fn stall_began(&mut self, lateness: Duration, at: i64) {
        tracing::warn!(
            lateness_ms = lateness.as_millis() as u64,
            "sampling loop stalled: the agent itself is starved"
        );
        self.events
            .push(self.own_event(LOOP_STALLED, at, AlertState::Firing));
    }

    fn check_blind(&mut self, at: i64, seeing: bool) {
        let after_ms = self.cfg.agent.blind_after.as_millis();
        match self.blind.observe(at, seeing, after_ms) {
            Some(BlindChange::Began { blind_for_ms }) => self.blind_began(at, blind_for_ms),
            Some(BlindChange::Ended { blind_for_ms }) => self.blind_ended(at, blind_for_ms),
            None => {}
        }
    }

    #[cold]
    #[inline(never)]
    fn blind_began(&mut self, at: i64, blind_for_ms: i64) {
        let why = self.why_blind();
        tracing::warn!(
            why = %why,
            blind_for_s = blind_for_ms / 1000,
            "memcanary cannot see memory: no usable sample; alerting through the sinks"
        );
        if let Ok(mut slot) = self.fanout.blind_why.lock() {
            *slot = Some(why);
        }
        self.push_blind(at, blind_for_ms, AlertState::Firing);
    }

    #[cold]
    #[inline(never)]
    fn blind_ended(&mut self, at: i64, blind_for_ms: i64) {
        tracing::info!(
            blind_for_s = blind_for_ms / 1000,
            "memcanary sees memory again"
        );
        self.push_blind(at, blind_for_ms, AlertState::Resolved);
    }

    fn push_blind(&mut self, at: i64, blind_for_ms: i64, state: AlertState) {
        let mut ev = self.own_event(MEMCANARY_BLIND, at, state);
        ev.evidence.silent_seconds = Some(blind_for_ms as f64 / 1000.0);
        self.events.push(ev);
    }

    #[cold]
    #[inline(never)]
    fn own_event(&self, rule: &'static str, at_ms: i64, state: AlertState) -> Event {
        Event {
            at_ms,
            rule,
            severity: Severity::Warning,
            state,
            evidence: self.evidence(),
        }
    }

    /// Evidence from the latest features (for the agent's own events).
    fn evidence(&self) -> Evidence {
        self.det
            .features()
            .map(|f| self.det.evidence(f, None))
            .unwrap_or_default()
    }
}
