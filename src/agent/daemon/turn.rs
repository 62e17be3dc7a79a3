//! One turn of the alert path: read a sample, run the detector, keep the
//! ring and the gauges, check the loop's own lateness, fan out the events.

use super::stall::{StallChange, LOOP_STALLED};
use super::Daemon;
use crate::agent::ring::Row;
use crate::clock::wall_ms;
use crate::detect::{AlertState, Event, Evidence, ObserveError, Severity};
use crate::signal::Sample;
use crate::source::ProcError;
use std::time::Duration;

/// Samples skipped for bad /proc content, and the kind of the latest error
/// (each kind is logged once until reads recover).
#[derive(Debug, Default)]
pub(super) struct ReadErrors {
    last: Option<std::mem::Discriminant<ProcError>>,
    skipped: u64,
}

impl ReadErrors {
    /// A read failed; whether its kind differs from the previous failure's
    /// (then it is worth a log line).
    fn note(&mut self, e: &ProcError) -> bool {
        self.skipped += 1;
        let kind = std::mem::discriminant(e);
        let new = self.last != Some(kind);
        self.last = Some(kind);
        new
    }

    /// A read succeeded: the samples skipped so far, if it ends a failure.
    #[inline]
    fn recovered(&mut self) -> Option<u64> {
        self.last.take().map(|_| self.skipped)
    }
}

impl Daemon {
    /// One sample through the detector, and the hand-offs.
    #[inline]
    pub(super) fn turn(&mut self, lateness: Duration) {
        let at = wall_ms().max(self.last_at_ms + 1);
        self.last_at_ms = at;
        self.note_lateness(lateness);
        let sample = self.read(at);
        let observed = self.det.turn(at, sample.as_ref(), &mut self.events);
        if let Some(s) = &sample {
            self.on_sample(s, observed, lateness);
        }
        self.check_stall(lateness, at);
        // Rule states change only with an event (pending, firing, resolved,
        // went dark, stalled): no event, nothing to copy.
        if !self.events.is_empty() {
            self.fanout.dispatch(&mut self.events, &self.metrics);
            let stalled = self.stall.is_stalled();
            self.fanout
                .update_rule_gauges(&self.det, stalled, &self.metrics);
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
        match self.src.read_calm(at, refresh) {
            Ok(s) => {
                self.metrics.samples.inc();
                if let Some(skipped) = self.errors.recovered() {
                    tracing::info!(skipped, "samples readable again");
                }
                Some(s)
            }
            Err(e) => {
                self.on_read_error(e);
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

    /// Bad /proc content: logged once per kind of error, sample skipped.
    #[cold]
    #[inline(never)]
    fn on_read_error(&mut self, e: ProcError) {
        self.metrics.sample_errors.inc();
        if self.errors.note(&e) {
            tracing::warn!(error = %crate::logging::error_chain(&e), "sample skipped (logged once until it recovers)");
        }
    }

    fn check_stall(&mut self, lateness: Duration, at: i64) {
        let limit = Duration::from_millis(self.cfg.agent.stall_after.as_millis().max(1) as u64);
        match self.stall.observe(lateness, limit) {
            Some(StallChange::Began) => self.stall_began(lateness, at),
            Some(StallChange::Ended) => self.events.push(self.own_event(at, AlertState::Resolved)),
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
        self.events.push(self.own_event(at, AlertState::Firing));
    }

    #[cold]
    #[inline(never)]
    fn own_event(&self, at_ms: i64, state: AlertState) -> Event {
        Event {
            at_ms,
            rule: LOOP_STALLED,
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
