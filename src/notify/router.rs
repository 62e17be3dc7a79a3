//! The router thread: dedupes alerts to one notification per (host, rule,
//! state change), routes them by severity, hands a job per target to that
//! target's worker and then to the [spool writer](super::spool_writer),
//! which persists it beside the first attempt; it also sends reminders while
//! an alert keeps firing. Nothing here waits for an fsync. Its dedupe state
//! is replaced in the spool (`state.json`) right after the hand-off, without
//! an fsync (the writer makes it durable; confirmed values of a firing
//! that changed no state are written at most [`CONFIRMED_SAVE_AFTER_MS`]
//! later, once for a whole burst), so a
//! restarted agent whose detector fires again for the same condition does not
//! notify twice; that firing's values are what later reminders show. An
//! alert the detector of the restarted agent does not confirm is resolved by
//! the agent ([`super::Dispatcher::restored_firing`]).

use super::alert::{Alert, State};
use super::spool::{Job, Spool, Ticket};
use super::spool_writer::SpoolWriter;
use super::stats::Counters;
use super::worker::WorkerMsg;
use crate::clock::Clock;
use crate::detect::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::Duration;

/// Messages to the router.
#[derive(Debug)]
pub(crate) enum RouterMsg {
    /// A new alert from the caller.
    Alert(Box<Alert>),
    /// Stop; workers finish until this time (ms).
    Shutdown(i64),
    /// An alert went to the inbox spool: drain it now, not at the next
    /// reminder (up to a minute later).
    Wake,
}

/// The router's view of one target.
pub(crate) struct Route {
    pub name: String,
    pub repeat_ms: i64,
    pub tx: Sender<WorkerMsg>,
    /// The target's counters: jobs sent to the worker count as pending
    /// until it takes them.
    pub counters: Arc<Counters>,
}

/// Last notified state of one (host, rule).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub alert: Alert,
    /// When each target last got a notification for it, ms.
    pub last_ms: BTreeMap<String, i64>,
    /// Seen from this process's detector. An entry loaded from a previous
    /// run is not, until the detector reports the same state again: until
    /// then it gets no reminders, so a condition that cleared while the
    /// agent was down is not reminded about forever.
    #[serde(skip)]
    pub confirmed: bool,
}

/// Everything the router owns.
pub(crate) struct Router {
    pub routes: Vec<Route>,
    pub warning: Vec<usize>,
    pub critical: Vec<usize>,
    pub state: BTreeMap<String, Entry>,
    /// Persists jobs and the state (with a spool directory).
    pub writer: Option<SpoolWriter>,
    pub inbox: Option<Spool>,
    pub inbox_dirty: Arc<AtomicBool>,
    pub seq: Arc<AtomicU64>,
    pub clock: Arc<dyn Clock>,
    /// Since when the state holds confirmed values not yet on disk (ms).
    pub unsaved_since_ms: Option<i64>,
}

/// How long confirmed values may wait before the state is written: a
/// watcher's refresh confirms every firing rule of the fleet at once, and
/// one write then covers them all instead of one per rule. Nothing is lost
/// by the wait: a restarted process re-confirms with fresh values anyway.
pub(crate) const CONFIRMED_SAVE_AFTER_MS: i64 = 2_000;

impl Router {
    pub fn run(mut self, rx: Receiver<RouterMsg>) {
        self.drain_inbox();
        loop {
            let wait = self.next_reminder_in().min(self.next_save_in());
            let msg = rx.recv_timeout(wait);
            if self.inbox_dirty.swap(false, Relaxed) {
                self.drain_inbox();
            }
            match msg {
                Ok(RouterMsg::Alert(a)) => self.handle(*a),
                Ok(RouterMsg::Shutdown(deadline)) => return self.stop(deadline),
                Ok(RouterMsg::Wake) => {}
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return self.stop(self.clock.now_ms()),
            }
            self.remind();
            if self.next_save_in().is_zero() {
                self.save_state();
            }
        }
    }

    /// Until the confirmed values not yet on disk are due to be written.
    fn next_save_in(&self) -> Duration {
        let Some(since) = self.unsaved_since_ms else {
            return Duration::MAX;
        };
        let left = since + CONFIRMED_SAVE_AFTER_MS - self.clock.now_ms();
        Duration::from_millis(left.max(0) as u64)
    }

    /// Lets the writer finish what is queued (so the workers' last counts
    /// say what is on disk), then tells the workers to stop at `deadline`.
    fn stop(&mut self, deadline: i64) {
        if self.unsaved_since_ms.is_some() {
            self.save_state();
        }
        if let Some(w) = self.writer.take() {
            let left_ms = (deadline - self.clock.now_ms()).max(0) as u64;
            w.finish(Duration::from_millis(left_ms) + WRITER_GRACE);
        }
        for r in &self.routes {
            let _ = r.tx.send(WorkerMsg::Shutdown(deadline));
        }
    }

    fn key(a: &Alert) -> String {
        format!("{}\u{1f}{}", a.instance, a.rule)
    }

    /// Dedupes and routes one alert.
    pub fn handle(&mut self, alert: Alert) {
        let targets = self.targets(alert.severity);
        if alert.is_test {
            let tickets = self.enqueue(&alert, &targets);
            return self.spool(tickets);
        }
        let key = Router::key(&alert);
        let prev = self.state.get(&key).map(|e| e.alert.state);
        match (prev, alert.state) {
            (Some(State::Firing), State::Firing) => return self.confirm(&key, alert),
            (None | Some(State::Resolved), State::Resolved) => {
                tracing::debug!(rule = %alert.rule, instance = %alert.instance, "resolved without a notified firing; not sent");
                return;
            }
            _ => {}
        }
        let now = self.clock.now_ms();
        let last_ms = targets
            .iter()
            .map(|&i| (self.routes[i].name.clone(), now))
            .collect();
        let tickets = self.enqueue(&alert, &targets);
        self.state.insert(
            key,
            Entry {
                alert,
                last_ms,
                confirmed: true,
            },
        );
        self.save_state();
        self.spool(tickets);
    }

    /// A firing for an alert already notified as firing (the detector of a
    /// restarted agent found the condition still there, or the agent's
    /// periodic refresh of a firing rule's values): not notified again, but
    /// reminders from now on carry its current values.
    fn confirm(&mut self, key: &str, alert: Alert) {
        tracing::debug!(rule = %alert.rule, instance = %alert.instance, "already notified as firing; not repeated");
        let Some(e) = self.state.get_mut(key) else {
            return;
        };
        e.confirmed = true;
        e.alert.values = alert.values;
        // An agent refresh when the snapshot is old has no consumers: the
        // last known ones say more than none.
        if !alert.consumers.is_empty() {
            e.alert.consumers = alert.consumers;
        }
        if self.writer.is_some() {
            self.unsaved_since_ms.get_or_insert(self.clock.now_ms());
        }
    }

    fn targets(&self, severity: Severity) -> Vec<usize> {
        match severity {
            Severity::Warning => self.warning.clone(),
            Severity::Critical => self.critical.clone(),
        }
    }

    /// Hands a job per target to its worker; returns them for [`Router::spool`]
    /// (after the state is saved: the attempt waits for neither).
    fn enqueue(&self, alert: &Alert, targets: &[usize]) -> Vec<(usize, Arc<Ticket>)> {
        let mut tickets = Vec::with_capacity(targets.len());
        for &i in targets {
            let route = &self.routes[i];
            let job = Job {
                seq: self.seq.fetch_add(1, Relaxed) + 1,
                alert: alert.clone(),
            };
            let on_disk = self.writer.is_some();
            let job = Arc::new(match on_disk {
                true => Ticket::to_write(job),
                false => Ticket::in_memory(job),
            });
            route.counters.sent_to_worker(on_disk);
            let msg = WorkerMsg::Job {
                job: job.clone(),
                on_disk,
            };
            if route.tx.send(msg).is_err() {
                tracing::warn!(sink = %route.name, on_disk, "delivery thread is gone; notification not sent (on_disk: left in the spool)");
            }
            tickets.push((i, job));
        }
        tickets
    }

    /// Has the writer persist the jobs `enqueue` handed to the workers.
    fn spool(&self, tickets: Vec<(usize, Arc<Ticket>)>) {
        let Some(w) = &self.writer else { return };
        for (i, ticket) in tickets {
            w.job(i, ticket);
        }
    }

    /// Time until the next reminder is due (at most a minute).
    fn next_reminder_in(&self) -> Duration {
        let now = self.clock.now_ms();
        let next = self
            .reminders()
            .map(|(_, _, due_ms)| due_ms)
            .fold(now + 60_000, i64::min);
        Duration::from_millis((next - now).clamp(0, 60_000) as u64)
    }

    /// Each (key, target, when its next reminder is due, ms) of a confirmed
    /// firing alert, for targets that send reminders.
    fn reminders(&self) -> impl Iterator<Item = (&String, usize, i64)> {
        self.state
            .iter()
            .filter(|(_, e)| e.alert.state == State::Firing && e.confirmed)
            .flat_map(move |(key, e)| {
                self.targets(e.alert.severity)
                    .into_iter()
                    .filter_map(move |i| {
                        let r = &self.routes[i];
                        let last = e.last_ms.get(&r.name).copied().unwrap_or(e.alert.at_ms);
                        (r.repeat_ms > 0).then_some((key, i, last + r.repeat_ms))
                    })
            })
    }

    /// Sends reminders that are due.
    fn remind(&mut self) {
        let now = self.clock.now_ms();
        let due: Vec<(String, usize)> = self
            .reminders()
            .filter(|&(_, _, due_ms)| now >= due_ms)
            .map(|(key, i, _)| (key.clone(), i))
            .collect();
        if due.is_empty() {
            return;
        }
        let mut tickets = Vec::new();
        for (key, i) in due {
            let Some(entry) = self.state.get_mut(&key) else {
                continue;
            };
            entry.alert.repeat += 1;
            entry.last_ms.insert(self.routes[i].name.clone(), now);
            let alert = entry.alert.clone();
            tickets.extend(self.enqueue(&alert, &[i]));
        }
        self.save_state();
        self.spool(tickets);
    }

    fn drain_inbox(&mut self) {
        let Some(inbox) = self.inbox.clone() else {
            return;
        };
        let jobs = match inbox.jobs() {
            Ok(j) => j,
            Err(e) => return tracing::warn!(error = %e, "cannot read the spool inbox"),
        };
        for job in jobs {
            self.handle(job.alert);
            match &self.writer {
                Some(w) => w.drained(job.seq),
                None => drop(inbox.remove(job.seq)),
            }
        }
    }

    /// Replaces the dedupe state on disk now (no fsync: a crash right
    /// after a delivery finds it), and has the writer make it durable.
    fn save_state(&mut self) {
        self.unsaved_since_ms = None;
        let Some(w) = &self.writer else { return };
        let path = w.state_path();
        let saved = crate::durable::replace(path, |out| {
            serde_json::to_writer(&mut *out, &self.state).map_err(std::io::Error::other)?;
            out.write_all(b"\n")
        });
        match saved {
            Ok(()) => w.sync_state(),
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "could not save notification state")
            }
        }
    }
}

/// At shutdown, how long past the workers' deadline the writer may take to
/// finish what is queued.
const WRITER_GRACE: Duration = Duration::from_millis(500);

/// The rules of the firing (non-test) alerts in `state`, each once.
pub(crate) fn firing_rules(state: &BTreeMap<String, Entry>) -> Vec<String> {
    let mut rules: Vec<String> = state
        .values()
        .filter(|e| e.alert.state == State::Firing && !e.alert.is_test)
        .map(|e| e.alert.rule.clone())
        .collect();
    rules.sort();
    rules.dedup();
    rules
}

/// The largest `state.json` read back (one entry per rule: a few kB).
const MAX_STATE_BYTES: u64 = 4 << 20;

/// Loads `state.json` (absent, unreadable or oversized: empty, logged).
pub(crate) fn load_state(path: &std::path::Path) -> BTreeMap<String, Entry> {
    match crate::durable::read_bounded(path, MAX_STATE_BYTES) {
        Ok(Some(bytes)) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(file = %path.display(), error = %e, "notification state unreadable; starting afresh");
            BTreeMap::new()
        }),
        Ok(None) => {
            tracing::warn!(file = %path.display(), max_bytes = MAX_STATE_BYTES, "notification state too large to be real; starting afresh");
            BTreeMap::new()
        }
        Err(_) => BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_state_file_starts_afresh() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        assert!(load_state(&p).is_empty());
        std::fs::write(&p, b"{not json").unwrap();
        assert!(load_state(&p).is_empty());
        let mut state = BTreeMap::new();
        let alert = Alert::test("h", 1);
        state.insert(
            Router::key(&alert),
            Entry {
                alert,
                last_ms: BTreeMap::from([("d".to_string(), 5)]),
                confirmed: true,
            },
        );
        crate::durable::write_json(&p, &state).unwrap();
        let back = load_state(&p);
        assert_eq!(back.len(), 1);
        let e = back.values().next().unwrap();
        assert_eq!(e.last_ms.get("d"), Some(&5));
        assert!(
            !e.confirmed,
            "loaded entries wait for the detector to confirm them"
        );
    }
}
