//! [`Watcher`]: one cycle of the fleet loop, with the datasource's health.
//! Pure: the time and the query function are passed in, so tests drive it
//! on a virtual clock with canned answers.
//!
//! A cycle asks one query per signal for every host at once. Any unusable
//! answer skips the whole cycle (one log line, every state kept): half an
//! answer would feed samples without their optional signals. While the
//! datasource fails, queries back off (up to `max_backoff`) but the
//! hosts' clocks still advance each cycle, so a host whose pressure was
//! rising when the datasource went away (the datasource on the host that
//! livelocks) goes dark and pages as itself; after
//! `datasource_alert_after` the watcher raises `datasource_down` about the
//! datasource. The first answer after an outage reads everything since the
//! last good one (up to `backfill`), so nothing in between is missed.
//! Hosts first seen mid-run get a backfill of their own in the same cycle
//! (`newcomers`).
//! After a good cycle the alerts a previous run left firing are judged
//! ([`super::restored`]), and every 30 s the firing rules' current values
//! are handed out for reminders ([`Watcher::refresh`]).
//! Beside the cycles, each new host's recent days are asked once to seed
//! its floor (`history`, [`Watcher::history_plan`]).

use super::answer::Points;
use super::client::QueryError;
use super::config::WatchConfig;
use super::fleet::{Batch, Fleet, FleetTimes, HostEvent};
use super::floor::FloorAsk;
use super::restored::Restored;
use crate::detect::{AlertState, DetectorConfig, Event, Evidence, RuleSet, Severity};
use crate::notify::Backoff;
use crate::signal::node_exporter::Field;
use std::collections::HashMap;
use std::time::Duration;

/// The watcher's own alert: the datasource has not answered for
/// `datasource_alert_after`.
pub const DATASOURCE_DOWN: &str = "datasource_down";

/// How often firing rules' current values go to the dispatcher (for
/// reminders), the agent's period.
pub const REFRESH_EVERY_MS: i64 = crate::notify::Dispatcher::REFRESH_EVERY_MS;

/// What one cycle did, for logs and /metrics.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Every query answered.
    Ok {
        /// The window asked for, ms (the backfill on the first cycle).
        window_ms: i64,
    },
    /// A query failed: the cycle was skipped.
    Failed {
        /// Which metric's query.
        metric: &'static str,
        /// Why.
        error: QueryError,
    },
    /// The datasource is backing off: no query this cycle.
    Waiting,
}

/// One signal's answer.
pub type Answer = Result<HashMap<String, Points>, QueryError>;

/// What a cycle asks: every signal's raw samples in the `window_ms`
/// before `at_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// How far back, ms.
    pub window_ms: i64,
    /// The query time (now - latency_offset), ms.
    pub at_ms: i64,
    /// Only these hosts (a backfill of hosts new to a running watcher);
    /// empty: every host.
    pub hosts: Vec<String>,
}

/// The datasource's health.
#[derive(Debug, Clone, Default)]
struct Health {
    /// The horizon of the last good cycle.
    last_ok_horizon: Option<i64>,
    /// When the current run of failures began.
    failing_since: Option<i64>,
    /// Failures in a row.
    attempt: u32,
    /// No query before this time.
    next_try_ms: i64,
    /// `datasource_down` is firing.
    alerted: bool,
}

/// The fleet loop's state.
#[derive(Debug, Clone)]
pub struct Watcher {
    fleet: Fleet,
    health: Health,
    backoff: Backoff,
    name: String,
    interval_ms: i64,
    latency_ms: i64,
    backfill_ms: i64,
    alert_after_ms: i64,
    restored: Restored,
    refreshed_at_ms: i64,
    /// Hosts first seen in a normal cycle, awaiting their backfill.
    newcomers: Vec<String>,
    /// When to ask for new hosts' recent days (`None`: history off).
    floor_ask: Option<FloorAsk>,
}

impl Watcher {
    /// A watcher with no hosts yet; `name` is the datasource's, used as
    /// the instance of `datasource_down`.
    pub fn new(cfg: &WatchConfig, detector: &DetectorConfig, name: &str, seed: u64) -> Watcher {
        let ms = |d: crate::detect::Dur| d.as_millis();
        let times = FleetTimes {
            silent_after_ms: ms(cfg.silent_after),
            forget_after_ms: ms(cfg.forget_after),
        };
        let base = Duration::from_millis(ms(cfg.interval) as u64);
        let cap = Duration::from_millis(ms(cfg.max_backoff) as u64);
        Watcher {
            fleet: Fleet::new(detector, times),
            health: Health::default(),
            backoff: Backoff::new(base, cap, seed),
            name: name.to_string(),
            interval_ms: ms(cfg.interval),
            latency_ms: ms(cfg.latency_offset),
            backfill_ms: backfill_ms(ms(cfg.backfill), detector),
            alert_after_ms: ms(cfg.datasource_alert_after),
            restored: Restored::default(),
            refreshed_at_ms: i64::MIN,
            newcomers: Vec::new(),
            floor_ask: (cfg.history && detector.history.enabled).then(FloorAsk::default),
        }
    }

    /// The `(instance, rule)` alerts a previous run notified as firing
    /// ([`crate::notify::Dispatcher::restored_firing_alerts`]): each is
    /// resolved once fresh samples show it cleared (see [`super::restored`]).
    pub fn restore(&mut self, firing: &[(String, String)]) {
        self.restored = Restored::new(firing, &self.fleet, &self.name);
    }

    /// Every [`REFRESH_EVERY_MS`], the firing rules' current values as
    /// repeated firings into `out` (the router notifies nothing for them
    /// but its reminders show them); call after a good cycle.
    pub fn refresh(&mut self, now_ms: i64, out: &mut Vec<HostEvent>) {
        if now_ms.saturating_sub(self.refreshed_at_ms) < REFRESH_EVERY_MS {
            return;
        }
        self.refreshed_at_ms = now_ms;
        self.fleet.firing_now(out);
    }

    /// The hosts and their detectors.
    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    /// Whether the datasource answered the last query.
    pub fn datasource_ok(&self) -> bool {
        self.health.failing_since.is_none()
    }

    /// The cycle at wall time `now_ms`: `fetch(field, window_ms, at_ms)`
    /// asks the datasource, one signal after the other. Events go to `out`.
    pub fn cycle(
        &mut self,
        now_ms: i64,
        mut fetch: impl FnMut(Field, i64, i64) -> Result<HashMap<String, Points>, QueryError>,
        out: &mut Vec<HostEvent>,
    ) -> Outcome {
        let Some(plan) = self.plan(now_ms, out) else {
            return Outcome::Waiting;
        };
        let mut answers = Vec::with_capacity(Field::ALL.len());
        fetch_in_order(&plan, &mut fetch, &mut answers);
        let outcome = self.finish(now_ms, &plan, answers, out);
        // `fetch` asks for every host: the backfill keeps the newcomers'.
        self.backfill_with(&mut fetch, out);
        outcome
    }

    /// The first half of a cycle at `now_ms`: what to ask for, or `None`
    /// while the datasource is backing off (the hosts' clocks advance).
    /// The caller asks every signal (in parallel if it likes), then calls
    /// [`Watcher::finish`].
    pub fn plan(&mut self, now_ms: i64, out: &mut Vec<HostEvent>) -> Option<Plan> {
        let horizon = now_ms - self.latency_ms;
        if now_ms < self.health.next_try_ms {
            self.alert_if_down(now_ms, out);
            self.fleet.tick(horizon, out);
            return None;
        }
        Some(Plan {
            window_ms: self.window(horizon),
            at_ms: horizon,
            hosts: Vec::new(),
        })
    }

    /// The second half: the answers, one per signal; the first error (in
    /// [`Field::ALL`] order) skips the cycle.
    pub fn finish(
        &mut self,
        now_ms: i64,
        plan: &Plan,
        answers: Vec<(Field, Answer)>,
        out: &mut Vec<HostEvent>,
    ) -> Outcome {
        let batch = match into_batch(answers) {
            Ok(batch) => batch,
            Err((metric, error)) => {
                self.failed(now_ms, out);
                self.fleet.tick(plan.at_ms, out);
                return Outcome::Failed { metric, error };
            }
        };
        let batch = self.hold_newcomers(batch);
        self.answered(now_ms, plan.at_ms, out);
        self.fleet.apply(&batch, plan.at_ms, out);
        if !self.restored.is_empty() {
            self.restored.judge(&self.fleet, plan.at_ms, out);
        }
        Outcome::Ok {
            window_ms: plan.window_ms,
        }
    }

    /// What to ask for: the backfill at first, then everything since the
    /// last good horizon plus one interval for late samples.
    fn window(&self, horizon: i64) -> i64 {
        match self.health.last_ok_horizon {
            None => self.backfill_ms,
            Some(prev) => {
                (horizon - prev + self.interval_ms).clamp(self.interval_ms, self.backfill_ms)
            }
        }
    }

    fn failed(&mut self, now_ms: i64, out: &mut Vec<HostEvent>) {
        let h = &mut self.health;
        h.failing_since.get_or_insert(now_ms);
        let wait = self.backoff.delay(h.attempt, None).as_millis() as i64;
        h.attempt = h.attempt.saturating_add(1);
        h.next_try_ms = now_ms + wait.max(self.interval_ms);
        self.alert_if_down(now_ms, out);
    }

    /// `datasource_down` once the failures have lasted long enough: judged
    /// every cycle, so a long backoff does not delay it.
    fn alert_if_down(&mut self, now_ms: i64, out: &mut Vec<HostEvent>) {
        let h = &mut self.health;
        let Some(since) = h.failing_since else { return };
        if !h.alerted && now_ms - since >= self.alert_after_ms {
            h.alerted = true;
            let silent = Some((now_ms - since) as f64 / 1000.0);
            out.push((
                self.name.clone(),
                self_alert(now_ms, AlertState::Firing, silent),
            ));
        }
    }

    fn answered(&mut self, now_ms: i64, horizon: i64, out: &mut Vec<HostEvent>) {
        let h = &mut self.health;
        if h.alerted {
            out.push((
                self.name.clone(),
                self_alert(now_ms, AlertState::Resolved, None),
            ));
        }
        *h = Health {
            last_ok_horizon: Some(horizon),
            ..Health::default()
        };
    }
}

/// The history a first cycle reads: `backfill`, but at least the longest
/// `for` plus the detector's longest window, so a timer that was running
/// when a previous run stopped is rebuilt from the samples (a shorter read
/// would restart it, and a rule about to fire would wait its whole `for`
/// again).
fn backfill_ms(configured: i64, detector: &DetectorConfig) -> i64 {
    let rules = RuleSet::memcanary(detector);
    let longest_for = rules.specs().iter().map(|s| s.for_ms).max().unwrap_or(0);
    configured.max(longest_for + detector.warm_up_ms())
}

/// Asks every signal of `plan` in [`Field::ALL`] order, up to the first error.
fn fetch_in_order(
    plan: &Plan,
    fetch: &mut impl FnMut(Field, i64, i64) -> Answer,
    answers: &mut Vec<(Field, Answer)>,
) {
    for field in Field::ALL {
        let answer = fetch(field, plan.window_ms, plan.at_ms);
        let failed = answer.is_err();
        answers.push((field, answer));
        if failed {
            break;
        }
    }
}

/// The answers as one batch, or the first error with its metric.
fn into_batch(answers: Vec<(Field, Answer)>) -> Result<Batch, (&'static str, QueryError)> {
    let mut batch = Batch::default();
    for (field, answer) in answers {
        batch.set(field, answer.map_err(|e| (field.metric(), e))?);
    }
    Ok(batch)
}

fn self_alert(at_ms: i64, state: AlertState, silent_s: Option<f64>) -> Event {
    Event {
        at_ms,
        rule: DATASOURCE_DOWN,
        severity: Severity::Critical,
        state,
        evidence: Evidence {
            silent_seconds: silent_s,
            ..Evidence::default()
        },
    }
}

mod history;
mod newcomers;
pub use history::DaysAnswer;
pub use newcomers::MAX_NAMED;
#[cfg(test)]
mod tests;
