//! The detector: a deterministic state machine, samples in, events out.
//!
//! No clock, sleep, I/O, environment or randomness in here: time arrives
//! inside each [`Sample`]. When a host goes silent the detector cannot notice
//! by itself, so it says when it next needs to be woken
//! ([`Detector::poll_timeout`]) and the caller, the daemon's loop or the
//! replay's virtual clock, calls [`Detector::handle_timeout`] then.

pub mod config;
pub mod duration;
pub mod event;

pub use config::DetectorConfig;
pub use duration::Dur;
pub use event::{AlertState, Event, Evidence, Severity, Signal, Signals};

use crate::signal::Sample;

/// The leading-edge detector for one host.
#[derive(Debug, Clone)]
pub struct Detector {
    cfg: DetectorConfig,
}

impl Detector {
    /// A detector running memcanary's rules with the given (validated) config.
    pub fn new(cfg: &DetectorConfig) -> Detector {
        Detector { cfg: cfg.clone() }
    }

    /// Feeds one sample; state changes are appended to `out`.
    pub fn observe(&mut self, sample: &Sample, out: &mut Vec<Event>) {
        let _ = (sample, out, &self.cfg);
    }

    /// When the detector next needs [`Detector::handle_timeout`], if ever.
    pub fn poll_timeout(&self) -> Option<i64> {
        None
    }

    /// Tells the detector that time `now_ms` has come with no new sample.
    pub fn handle_timeout(&mut self, now_ms: i64, out: &mut Vec<Event>) {
        let _ = (now_ms, out);
    }
}
