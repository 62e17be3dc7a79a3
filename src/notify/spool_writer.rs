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
//! The router replaces the dedupe state (`state.json`) itself, right after
//! the hand-off and without an fsync ([`crate::durable::replace`]), so that
//! an agent killed just after a delivery still knows what it notified; this
//! thread then fsyncs it, after the job files queued before it. Several
//! syncs queued at once are one.

use super::spool::{Spool, Ticket};
use crate::clock::mono;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Stack reservation of the writer thread, and the part kept resident: it
/// serializes a job and makes a few system calls (6 KiB measured, see
/// [`crate::thread`]).
const STACK: (usize, usize) = (256 * 1024, crate::thread::HOT_SHALLOW);

/// Messages to the writer.
enum WriterMsg {
    /// Persist this job in the spool of route `route`.
    Job { route: usize, ticket: Arc<Ticket> },
    /// The router replaced its dedupe state: make it durable.
    SyncState,
    /// This inbox job was routed: remove its file (after the jobs it became).
    Drained(u64),
}

/// The router's handle on the writer thread.
pub(crate) struct SpoolWriter {
    tx: Sender<WriterMsg>,
    thread: JoinHandle<()>,
    state_path: PathBuf,
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
            state_path: state_path.clone(),
        };
        let (tx, rx) = mpsc::channel();
        let (reserve, hot) = STACK;
        let thread =
            crate::thread::spawn("notify-spool".into(), reserve, hot, move || files.run(rx))?;
        Ok(SpoolWriter {
            tx,
            thread,
            state_path,
        })
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

    /// Queues an fsync of the dedupe state (replaced by the router).
    pub fn sync_state(&self) {
        let _ = self.tx.send(WriterMsg::SyncState);
    }

    /// Where the dedupe state is.
    pub fn state_path(&self) -> &std::path::Path {
        &self.state_path
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
            let mut state = false;
            self.handle(msg, &mut state);
            while let Ok(msg) = rx.try_recv() {
                self.handle(msg, &mut state);
            }
            self.sync_state(state);
        }
    }

    /// Handles one message; a state sync waits in `state` until the queue
    /// is empty (or an inbox removal must follow it).
    fn handle(&self, msg: WriterMsg, state: &mut bool) {
        match msg {
            WriterMsg::Job { route, ticket } => self.write_job(route, &ticket),
            WriterMsg::SyncState => *state = true,
            WriterMsg::Drained(seq) => {
                self.sync_state(std::mem::take(state));
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

    fn sync_state(&self, due: bool) {
        let path = &self.state_path;
        if let (true, Err(e)) = (due, crate::durable::sync(path)) {
            tracing::warn!(file = %path.display(), error = %e, "could not sync notification state");
        }
    }
}
