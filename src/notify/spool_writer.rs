//! The spool writer thread: every fsync of the notification pipeline, off
//! the path to a delivery attempt.
//!
//! The router hands a new job to its worker first and to this thread beside
//! it, so the first attempt never waits on the disk (on ext4 an fsync can
//! wait a few hundred ms on a journal commit full of other writes, such as
//! the black box's state file while the host swaps: docs/agent.md, "Run G").
//! Here the job is written durably unless the worker has finished it first
//! ([`Ticket`]); either way a crash before delivery finds it on disk once
//! written, so a restart sends it.
//!
//! Messages are handled in order, so a job's file is always written before
//! the dedupe state that records it as notified: a crash never leaves a
//! state that says "notified" for a job that was neither sent nor spooled.
//! Of the states queued at once only the newest is written.

use super::spool::{Spool, Ticket};
use crate::clock::mono;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Stack reservation of the writer thread, and the part kept resident: it
/// serializes a job and makes a few system calls.
const STACK: (usize, usize) = (256 * 1024, 32 * 1024);

/// Messages to the writer.
enum WriterMsg {
    /// Persist this job in the spool of route `route`.
    Job { route: usize, ticket: Arc<Ticket> },
    /// The router's dedupe state, serialized (one line of JSON).
    State(Vec<u8>),
    /// This inbox job was routed: remove its file (after the jobs it became).
    Drained(u64),
}

/// The router's handle on the writer thread.
pub(crate) struct SpoolWriter {
    tx: Sender<WriterMsg>,
    thread: JoinHandle<()>,
}

/// What the thread writes to.
struct Files {
    /// One spool per route, in the router's order.
    spools: Vec<Spool>,
    inbox: Spool,
    state_path: PathBuf,
}

impl SpoolWriter {
    /// Starts the thread writing to route `i`'s jobs to `spools[i]`.
    pub fn spawn(
        spools: Vec<Spool>,
        inbox: Spool,
        state_path: PathBuf,
    ) -> std::io::Result<SpoolWriter> {
        let files = Files {
            spools,
            inbox,
            state_path,
        };
        let (tx, rx) = mpsc::channel();
        let (reserve, hot) = STACK;
        let thread =
            crate::thread::spawn("notify-spool".into(), reserve, hot, move || files.run(rx))?;
        Ok(SpoolWriter { tx, thread })
    }

    /// Queues `ticket` to be written to route `route`'s spool (if the
    /// thread is gone it stays in memory only, logged).
    pub fn job(&self, route: usize, ticket: Arc<Ticket>) {
        let msg = WriterMsg::Job {
            route,
            ticket: ticket.clone(),
        };
        if self.tx.send(msg).is_err() {
            ticket.not_written();
            tracing::warn!(
                seq = ticket.job.seq,
                "spool writer is gone; notification kept in memory only"
            );
        }
    }

    /// Queues the dedupe state to be saved.
    pub fn state(&self, json: Vec<u8>) {
        let _ = self.tx.send(WriterMsg::State(json));
    }

    /// Queues the removal of inbox job `seq`.
    pub fn drained(&self, seq: u64) {
        let _ = self.tx.send(WriterMsg::Drained(seq));
    }

    /// Lets the thread write what is queued, waiting up to `wait` for it
    /// (a thread stuck on a dead disk is left to the process exit).
    pub fn finish(self, wait: Duration) {
        drop(self.tx);
        let end = mono() + wait;
        while !self.thread.is_finished() && mono() < end {
            std::thread::sleep(Duration::from_millis(5));
        }
        if self.thread.is_finished() {
            let _ = self.thread.join();
        } else {
            tracing::warn!(
                waited_ms = wait.as_millis() as u64,
                "spool writer still busy at shutdown; left to the exit"
            );
        }
    }
}

impl Files {
    fn run(self, rx: Receiver<WriterMsg>) {
        while let Ok(msg) = rx.recv() {
            let mut state = None;
            self.handle(msg, &mut state);
            while let Ok(msg) = rx.try_recv() {
                self.handle(msg, &mut state);
            }
            self.save_state(state);
        }
    }

    /// Handles one message; a state is kept in `state` until the queue is
    /// empty (or an inbox removal must follow it).
    fn handle(&self, msg: WriterMsg, state: &mut Option<Vec<u8>>) {
        match msg {
            WriterMsg::Job { route, ticket } => self.write_job(route, &ticket),
            WriterMsg::State(json) => *state = Some(json),
            WriterMsg::Drained(seq) => {
                self.save_state(state.take());
                if let Err(e) = self.inbox.remove(seq) {
                    tracing::warn!(seq, error = %e, "could not remove a routed job from the spool inbox");
                }
            }
        }
    }

    fn write_job(&self, route: usize, ticket: &Ticket) {
        let Some(spool) = self.spools.get(route) else {
            return ticket.not_written();
        };
        if let Err(e) = ticket.write(spool) {
            tracing::warn!(dir = %spool.dir().display(), seq = ticket.job.seq, error = %e, "could not spool notification; keeping it in memory only");
        }
    }

    fn save_state(&self, json: Option<Vec<u8>>) {
        let Some(json) = json else { return };
        let path = &self.state_path;
        if let Err(e) = crate::durable::write(path, |w| w.write_all(&json)) {
            tracing::warn!(file = %path.display(), error = %e, "could not save notification state");
        }
    }
}
