//! The daemon: wait (timer, PSI trigger, signals), read, detect, hand off.
//!
//! Each turn: `epoll_wait` until the next deadline or a PSI trigger / signal;
//! read one sample with `pread`; feed the detector; push the ring; store metrics
//! into atomics; hand events to the notifier and black-box threads with
//! `try_send`. Lateness (woke later than the deadline) is measured every turn:
//! above `agent.stall_after` the agent raises its own `loop_stalled` warning,
//! since an agent that cannot get scheduled is itself evidence of thrash.
//!
//! Each part decides one thing:
//! - [`start`]: start-up (source, trigger, locking, threads, in that order);
//! - [`wait`]: waiting, in one `epoll_wait`, and the signal flags;
//! - [`pace`]: the next interval and which files a calm sample re-reads;
//! - [`stall`]: the `loop_stalled` rule, a pure state machine;
//! - [`blind`]: the `memcanary_blind` rule (no usable sample for
//!   `agent.blind_after`), a pure state machine;
//! - [`sources`]: which files of the sample fail, logged and exported;
//! - [`turn`]: one sample through the detector ([`crate::detect::drive`]);
//! - [`fanout`]: events to the notifier and the black box, rule gauges;
//! - [`reload`]: SIGHUP, what may change live and applying it;
//! - [`restored`]: alerts a previous run left firing, resolved after the
//!   warm-up unless they fire again.

mod blind;
mod fanout;
mod pace;
mod reload;
mod restored;
mod sources;
mod stall;
mod start;
mod turn;
mod wait;

pub use blind::MEMCANARY_BLIND;
pub use stall::LOOP_STALLED;

use super::metrics::Metrics;
use super::ring::Ring;
use super::AgentError;
use crate::config::Config;
use crate::detect::{Detector, Event};
use crate::source::ProcSource;
use blind::BlindRule;
use fanout::FanOut;
use pace::Pacer;
use restored::Restored;
use stall::StallRule;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wait::{Waiter, Wake};

/// The running daemon: the parts above and the state they share.
pub(super) struct Daemon {
    cfg: Config,
    config_path: Option<PathBuf>,
    src: ProcSource,
    det: Detector,
    ring: Arc<Mutex<Ring>>,
    /// The turn's events, allocated once.
    events: Vec<Event>,
    metrics: Metrics,
    fanout: FanOut,
    waiter: Waiter,
    pacer: Pacer,
    stall: StallRule,
    blind: BlindRule,
    /// The latest sample's time (each turn's is later).
    last_at_ms: i64,
    max_lateness_s: f64,
    /// Alerts the previous run left firing, to resolve if they no longer hold.
    restored: Restored,
    /// When firing rules' values last went to the router (see `turn`).
    refreshed_at_ms: i64,
}

fn setup_err(what: &'static str) -> impl FnOnce(std::io::Error) -> AgentError {
    move |source| AgentError::Setup { what, source }
}

impl Daemon {
    /// Sets up (see [`Daemon::start`]) and runs until SIGTERM/SIGINT.
    pub(super) fn run(cfg: Config, config_path: Option<PathBuf>) -> Result<(), AgentError> {
        Daemon::start(cfg, config_path)?.run_loop();
        Ok(())
    }

    #[inline(never)]
    #[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
    #[link_section = "memcanary_hot"]
    fn run_loop(mut self: Box<Self>) {
        let mut deadline = crate::clock::mono_ns();
        loop {
            let woke = self.waiter.wait(deadline);
            if self.waiter.term() {
                break;
            }
            if self.waiter.take_hup() {
                self.reload();
            }
            let now = crate::clock::mono_ns();
            let lateness = match woke {
                Wake::Timer => Duration::from_nanos((now - deadline).max(0) as u64),
                Wake::Trigger => {
                    self.trigger_woke(now);
                    Duration::ZERO
                }
                Wake::Signal => continue,
            };
            self.turn(lateness);
            if !self.restored.is_empty() {
                self.resolve_restored();
            }
            let stalled = self.stall.is_stalled();
            let interval = self
                .pacer
                .interval(now, &self.cfg.agent, &self.det, stalled);
            self.metrics
                .sampling_interval_seconds
                .set(interval.as_secs_f64());
            deadline = now + interval.as_nanos() as i64;
        }
        self.stop();
    }

    /// A PSI trigger woke the loop at `now` (monotonic ns).
    fn trigger_woke(&mut self, now: i64) {
        self.metrics.psi_trigger_wakeups.inc();
        let woke_s = crate::clock::wall_ms() as f64 / 1000.0;
        self.metrics.psi_trigger_last_wakeup.set(woke_s);
        self.pacer.boost(now);
    }

    fn stop(self: Box<Self>) {
        tracing::info!("stopping");
        self.fanout.stop();
    }
}
