//! Waiting: one `epoll_wait` until the next deadline, a PSI trigger or a
//! signal.
//!
//! SIGTERM/SIGINT set `term`, SIGHUP sets `hup`; all three also write to a
//! socket in the wait set, so a signal wakes the loop at once. The trigger's
//! fd and that socket are registered once: a wait is one system call that
//! does not add and remove wait-queue entries on every fd each time, as
//! `poll` does (docs/agent.md, "Where it goes").

use crate::agent::trigger::PsiTrigger;
use crate::agent::AgentError;
use crate::clock::mono_ns;
use rustix::event::epoll::{self, EventData, EventFlags};
use rustix::event::Timespec;
use rustix::fd::OwnedFd;
use std::io::Read;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What ended a wait.
pub(super) enum Wake {
    /// The deadline passed.
    Timer,
    /// The PSI trigger fired.
    Trigger,
    /// A signal came (or the wait was interrupted): look at the flags.
    Signal,
}

/// `epoll` data: which fd woke the loop.
const WAKE_SIGNAL: u64 = 0;
const WAKE_TRIGGER: u64 = 1;

/// The wait set and what it waits on.
pub(super) struct Waiter {
    /// `wake` and the trigger's fd, registered once.
    epoll: OwnedFd,
    trigger: PsiTrigger,
    wake: UnixStream,
    term: Arc<AtomicBool>,
    hup: Arc<AtomicBool>,
}

/// The loop's wait set, with the PSI trigger if one is armed (a trigger
/// epoll refuses is dropped, with the reason, for polling); the signal
/// socket joins it in [`Waiter::new`], once the handlers are in place.
pub(super) fn wait_set(trigger: &mut PsiTrigger) -> Result<OwnedFd, AgentError> {
    let ep = epoll::create(epoll::CreateFlags::CLOEXEC).map_err(epoll_err)?;
    if let Some(fd) = trigger.fd() {
        let data = EventData::new_u64(WAKE_TRIGGER);
        if let Err(e) = epoll::add(&ep, fd, data, EventFlags::PRI) {
            tracing::warn!(error = %e, "cannot wait on the PSI trigger with epoll; falling back to polling");
            trigger.disarm("epoll refused the trigger fd");
        }
    }
    Ok(ep)
}

impl Waiter {
    /// Installs the signal handlers and adds their socket to `epoll` (from
    /// [`wait_set`], which holds the trigger's fd).
    pub(super) fn new(epoll: OwnedFd, trigger: PsiTrigger) -> Result<Waiter, AgentError> {
        let (wake, term, hup) = signals()?;
        let data = EventData::new_u64(WAKE_SIGNAL);
        epoll::add(&epoll, &wake, data, EventFlags::IN).map_err(epoll_err)?;
        Ok(Waiter {
            epoll,
            trigger,
            wake,
            term,
            hup,
        })
    }

    /// Whether SIGTERM or SIGINT came.
    #[inline]
    pub(super) fn term(&self) -> bool {
        self.term.load(Ordering::Relaxed)
    }

    /// Whether SIGHUP came since the last call.
    #[inline]
    pub(super) fn take_hup(&self) -> bool {
        self.hup.swap(false, Ordering::Relaxed)
    }

    /// Whether a kernel PSI trigger watches the stall between samples.
    #[inline]
    pub(super) fn trigger_armed(&self) -> bool {
        self.trigger.fd().is_some()
    }

    /// Waits for `deadline` (monotonic ns), a PSI trigger or a signal. The
    /// timeout is whole milliseconds, rounded up.
    #[inline]
    pub(super) fn wait(&mut self, deadline: i64) -> Wake {
        let left = (deadline - mono_ns()).max(0);
        let ts = Timespec {
            tv_sec: left / 1_000_000_000,
            tv_nsec: left % 1_000_000_000,
        };
        let none = epoll::Event {
            flags: EventFlags::empty(),
            data: EventData::new_u64(0),
        };
        let mut ready = [none; 2];
        let Ok(n) = epoll::wait(&self.epoll, &mut ready, Some(&ts)) else {
            return Wake::Signal; // EINTR: look at the flags, then wait again
        };
        let (mut sig, mut pri, mut err) = (false, false, false);
        for ev in ready.into_iter().take(n) {
            let flags = ev.flags;
            if ev.data.u64() == WAKE_SIGNAL {
                sig = true;
            } else {
                pri |= flags.contains(EventFlags::PRI);
                err |= flags.intersects(EventFlags::ERR | EventFlags::HUP);
            }
        }
        if sig {
            let mut buf = [0u8; 16];
            let _ = (&self.wake).read(&mut buf);
            return Wake::Signal;
        }
        if err {
            self.trigger_failed();
        }
        if pri {
            return Wake::Trigger;
        }
        Wake::Timer
    }

    #[cold]
    #[inline(never)]
    fn trigger_failed(&mut self) {
        tracing::warn!(
            "PSI trigger fd reported an error (cgroup removed?); falling back to polling"
        );
        if let Some(fd) = self.trigger.fd() {
            // Out of the set before the fd closes.
            let _ = epoll::delete(&self.epoll, fd);
        }
        self.trigger.disarm("trigger fd error");
    }
}

fn epoll_err(e: rustix::io::Errno) -> AgentError {
    AgentError::Setup {
        what: "the loop's epoll set",
        source: e.into(),
    }
}

/// The signal socket's read end and the two flags.
type Signals = (UnixStream, Arc<AtomicBool>, Arc<AtomicBool>);

/// SIGTERM/SIGINT set `term`, SIGHUP sets `hup`; all three write to a
/// socket the loop waits on, so a signal wakes it at once.
fn signals() -> Result<Signals, AgentError> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let (rx, tx) = UnixStream::pair().map_err(super::setup_err("the signal pipe"))?;
    rx.set_nonblocking(true)
        .map_err(super::setup_err("the signal pipe"))?;
    let term = Arc::new(AtomicBool::new(false));
    let hup = Arc::new(AtomicBool::new(false));
    for (sig, flag) in [(SIGTERM, &term), (SIGINT, &term), (SIGHUP, &hup)] {
        signal_hook::flag::register(sig, flag.clone())
            .map_err(super::setup_err("signal handlers"))?;
        let w = tx
            .try_clone()
            .map_err(super::setup_err("the signal pipe"))?;
        signal_hook::low_level::pipe::register(sig, w)
            .map_err(super::setup_err("signal handlers"))?;
    }
    Ok((rx, term, hup))
}
