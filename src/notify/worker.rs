//! One delivery thread per target: takes jobs oldest-first, renders into a
//! reused request, sends, and retries with backoff until delivered, given up
//! or the sink is disabled. It never waits on the disk: a new job's spool
//! file is written beside its first attempt (see [`Ticket`]), and removed
//! only when the job is finished, so a restart resumes where this left off.
//!
//! A full queue evicts reminders first (oldest first), then the oldest state
//! change: a firing or a resolve outranks any reminder about it. At shutdown
//! no attempt starts after the deadline; what is left is counted as kept in
//! the spool or not persisted (see [`super::stats::Counters`]).

use super::request::Request;
use super::retry::{classify_transport_error, Backoff, RetryAction};
use super::spool::{Job, Spool, Ticket};
use super::stats::Counters;
use super::targets::Target;
use super::transport::Transport;
use crate::clock::Clock;
use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

/// Messages to a worker.
#[derive(Debug)]
pub(crate) enum WorkerMsg {
    /// Deliver this job; `on_disk`: its spool file is written or queued.
    Job {
        /// The job (shared with the spool writer).
        job: Arc<Ticket>,
        /// Whether it goes to the spool (survives a restart).
        on_disk: bool,
    },
    /// Finish pending work until this time (ms), then exit.
    Shutdown(i64),
}

struct Pending {
    ticket: Arc<Ticket>,
    attempts: u32,
    next_ms: i64,
}

impl Pending {
    fn job(&self) -> &Job {
        &self.ticket.job
    }
}

/// The delivery loop of one target.
pub(crate) struct Worker {
    pub target: Target,
    pub transport: Transport,
    pub spool: Option<Spool>,
    pub capacity: usize,
    pub backoff: Backoff,
    pub counters: Arc<Counters>,
    pub clock: Arc<dyn Clock>,
    queue: VecDeque<Pending>,
    req: Request,
    disabled: bool,
}

impl Worker {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        target: Target,
        transport: Transport,
        spool: Option<Spool>,
        capacity: usize,
        backoff: Backoff,
        counters: Arc<Counters>,
        clock: Arc<dyn Clock>,
        initial: impl IntoIterator<Item = Job>,
    ) -> Worker {
        let mut w = Worker {
            target,
            transport,
            spool,
            capacity,
            backoff,
            counters,
            clock,
            queue: VecDeque::new(),
            req: Request::default(),
            disabled: false,
        };
        w.resume(initial);
        w
    }

    /// Queues the jobs found in the spool at start, one at a time, so a
    /// spool larger than the queue never sits in memory whole.
    fn resume(&mut self, jobs: impl IntoIterator<Item = Job>) {
        let mut dropped = 0u64;
        for job in jobs {
            let ticket = Arc::new(Ticket::on_disk(job));
            dropped += u64::from(self.enqueue(ticket).is_some());
        }
        self.publish_pending();
        let (sink, pending) = (&self.target.name, self.queue.len());
        if dropped > 0 {
            tracing::warn!(sink = %sink, pending, dropped, capacity = self.capacity, "resuming spooled notifications: more than the queue holds, dropped reminders first, then the oldest");
        } else if pending > 0 {
            tracing::info!(sink = %sink, pending, "resuming spooled notifications");
        }
    }

    /// Runs until shut down (or the router goes away).
    pub fn run(mut self, rx: Receiver<WorkerMsg>) {
        let mut deadline: Option<i64> = None;
        let mut connected = true;
        loop {
            let now = self.clock.now_ms();
            if deadline.is_some_and(|d| self.queue.is_empty() || now >= d) {
                break;
            }
            let due = self.queue.front().map_or(i64::MAX, |p| p.next_ms);
            let until = deadline.map_or(due, |d| due.min(d));
            if until > now {
                let wait = Duration::from_millis((until - now).min(3_600_000) as u64);
                if !connected {
                    std::thread::sleep(wait);
                    continue;
                }
                match rx.recv_timeout(wait) {
                    Ok(msg) => self.handle(msg, &mut deadline),
                    Err(RecvTimeoutError::Timeout) => {}
                    // The router is gone: after a shutdown message that is
                    // expected (keep its deadline), otherwise stop now.
                    Err(RecvTimeoutError::Disconnected) => {
                        connected = false;
                        deadline.get_or_insert(now);
                    }
                }
                continue;
            }
            while let Ok(msg) = rx.try_recv() {
                self.handle(msg, &mut deadline);
            }
            // A shutdown read just now: no new attempt after its deadline.
            if deadline.is_some_and(|d| self.clock.now_ms() >= d) {
                break;
            }
            self.attempt();
        }
        self.publish_pending();
    }

    fn handle(&mut self, msg: WorkerMsg, deadline: &mut Option<i64>) {
        match msg {
            WorkerMsg::Job { job, on_disk } => {
                self.counters.taken_by_worker(on_disk);
                self.push(job)
            }
            WorkerMsg::Shutdown(d) => *deadline = Some(d),
        }
    }

    fn push(&mut self, ticket: Arc<Ticket>) {
        if self.disabled {
            self.finish_failed(&ticket, "sink is disabled");
            return;
        }
        if let Some(old) = self.enqueue(ticket) {
            let a = &old.job().alert;
            let what = if a.repeat > 0 {
                "reminder"
            } else {
                "state change"
            };
            let dropped = self.counters.dropped.load(Relaxed);
            tracing::warn!(sink = %self.target.name, seq = old.job().seq, rule = %a.rule, instance = %a.instance, state = a.state.as_str(), repeat = a.repeat, at_ms = a.at_ms, capacity = self.capacity, dropped_total = dropped, "queue full: dropped the oldest pending {what}");
        }
        self.publish_pending();
    }

    /// Queues `job`; when that overfills the queue, drops (counted, spool
    /// file removed) and returns the oldest reminder, or else the oldest job.
    fn enqueue(&mut self, ticket: Arc<Ticket>) -> Option<Pending> {
        self.queue.push_back(Pending {
            ticket,
            attempts: 0,
            next_ms: i64::MIN,
        });
        if self.queue.len() <= self.capacity {
            return None;
        }
        let old = self
            .queue
            .remove(victim(self.queue.iter().map(|p| p.job().alert.repeat)))?;
        self.counters.dropped.fetch_add(1, Relaxed);
        self.unspool(&old.ticket);
        Some(old)
    }

    /// Copies the queue's length, and how much of it is on disk (or queued
    /// to be), to the counters.
    fn publish_pending(&self) {
        let on_disk = self.queue.iter().filter(|p| p.ticket.persisted()).count();
        let c = &self.counters;
        c.pending.store(self.queue.len() as u64, Relaxed);
        c.pending_on_disk.store(on_disk as u64, Relaxed);
    }

    fn attempt(&mut self) {
        let now = self.clock.now_ms();
        let Some(p) = self.queue.front_mut() else {
            return;
        };
        self.target
            .sink
            .render(&p.ticket.job.alert, now, &mut self.req);
        let secrets = self.target.sink.secrets();
        let action = match self.transport.send(&self.req, &secrets) {
            Ok(resp) => self
                .target
                .sink
                .classify(resp.status, &resp.headers, &resp.body, now),
            Err(e) => classify_transport_error(&e),
        };
        // A server may echo the URL or a header in its error text.
        let action = scrub_action(action, |t| self.target.sink.scrub(t));
        tracing::trace!(sink = %self.target.name, seq = p.ticket.job.seq, attempt = p.attempts + 1, ?action, "delivery attempt");
        match action {
            RetryAction::Done => self.finish_sent(),
            RetryAction::Retry { after, reason } => {
                let delay = self.backoff.delay(p.attempts, after);
                p.attempts += 1;
                p.next_ms = now + delay.as_millis() as i64;
                tracing::warn!(sink = %self.target.name, endpoint = %self.target.sink.endpoint(), seq = p.ticket.job.seq, attempt = p.attempts, retry_in_ms = delay.as_millis() as u64, reason = %reason, "delivery failed; will retry");
                self.counters.retries.fetch_add(1, Relaxed);
                self.counters.set_error(&reason);
            }
            RetryAction::GiveUp(reason) => {
                if let Some(p) = self.queue.pop_front() {
                    self.finish_failed(&p.ticket, &reason);
                }
            }
            RetryAction::Disable(reason) => self.disable(&reason),
        }
        self.publish_pending();
    }

    fn finish_sent(&mut self) {
        if let Some(p) = self.queue.pop_front() {
            let a = &p.job().alert;
            tracing::info!(sink = %self.target.name, seq = p.job().seq, rule = %a.rule, instance = %a.instance, state = a.state.as_str(), repeat = a.repeat, attempts = p.attempts + 1, "notification delivered");
            self.counters.sent.fetch_add(1, Relaxed);
            self.unspool(&p.ticket);
        }
    }

    fn finish_failed(&mut self, ticket: &Ticket, reason: &str) {
        let job = &ticket.job;
        let a = &job.alert;
        tracing::warn!(sink = %self.target.name, endpoint = %self.target.sink.endpoint(), seq = job.seq, rule = %a.rule, instance = %a.instance, state = a.state.as_str(), reason = %reason, "delivery failed; giving up on this notification");
        self.counters.failed.fetch_add(1, Relaxed);
        self.counters.set_error(reason);
        self.unspool(ticket);
    }

    fn disable(&mut self, reason: &str) {
        tracing::error!(sink = %self.target.name, endpoint = %self.target.sink.endpoint(), reason = %reason, "sink disabled: no further notifications will be sent to it until the config is fixed");
        self.disabled = true;
        self.counters.disabled.store(true, Relaxed);
        while let Some(p) = self.queue.pop_front() {
            self.finish_failed(&p.ticket, reason);
        }
    }

    /// The job is finished: its file goes, if written (else the writer
    /// skips or removes it).
    fn unspool(&self, ticket: &Ticket) {
        let seq = ticket.job.seq;
        if let (true, Some(spool)) = (ticket.finish(), &self.spool) {
            if let Err(e) = spool.remove(seq) {
                tracing::warn!(sink = %self.target.name, seq, error = %e, "could not remove spool file");
            }
        }
    }
}

/// Which of a full queue's jobs to drop, given each one's `repeat` (oldest
/// first): the oldest reminder, or else the oldest job.
fn victim(repeats: impl Iterator<Item = u32>) -> usize {
    repeats
        .enumerate()
        .find(|&(_, r)| r > 0)
        .map_or(0, |(i, _)| i)
}

/// `action` with `scrub` applied to its reason text.
fn scrub_action(action: RetryAction, scrub: impl Fn(&str) -> String) -> RetryAction {
    match action {
        RetryAction::Done => RetryAction::Done,
        RetryAction::Retry { after, reason } => RetryAction::Retry {
            after,
            reason: scrub(&reason),
        },
        RetryAction::GiveUp(r) => RetryAction::GiveUp(scrub(&r)),
        RetryAction::Disable(r) => RetryAction::Disable(scrub(&r)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_drops_reminders_before_state_changes() {
        assert_eq!(victim([0, 1, 2, 0].into_iter()), 1);
        assert_eq!(victim([0, 0, 3].into_iter()), 2);
        assert_eq!(victim([0, 0].into_iter()), 0, "no reminder: the oldest");
        assert_eq!(victim(std::iter::empty()), 0);
    }
}
