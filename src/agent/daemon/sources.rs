//! Which files of the sample fail: each failure counted, each change
//! (failing, failing differently, readable again) logged once and copied to
//! `memcanary_source_ok`; the watched scope's disappearance and return said
//! in so many words. Runs only in a turn where a file failed or recovered.

use super::Daemon;
use crate::logging::error_chain;
use crate::source::{Part, ProcError};

impl Daemon {
    /// A file failed, or one changed state, in this turn's read.
    #[cold]
    #[inline(never)]
    pub(super) fn on_source_trouble(&mut self) {
        let h = self.src.health();
        let m = &self.metrics.sources;
        for p in h.failed() {
            m.errors[p.index()].inc();
        }
        for p in h.changed() {
            let ok = match h.error(p) {
                Some(e) => {
                    log_failing(p, e);
                    0.0
                }
                None => {
                    log_back(p);
                    1.0
                }
            };
            m.ok[p.index()].set(ok);
        }
        let lost = self.src.scope_lost();
        m.scope_vanished.set(if lost { 1.0 } else { 0.0 });
    }

    /// Why there is no usable sample, for the `memcanary_blind` log line.
    pub(super) fn why_blind(&self) -> String {
        let h = self.src.health();
        match [Part::Meminfo, Part::Cgroup]
            .iter()
            .find_map(|p| h.error(*p))
        {
            Some(e) => error_chain(e),
            None => "the detector refuses the samples (see the log)".to_string(),
        }
    }
}

fn log_failing(p: Part, e: &ProcError) {
    let error = error_chain(e);
    match p {
        Part::Cgroup if e.is_gone() => tracing::warn!(
            error = %error,
            "scope vanished: no samples until it is back (reopened at most once per interval)"
        ),
        Part::Cgroup => tracing::warn!(
            error = %error,
            "scope unreadable: no samples until it reads again (reopened at most once per interval)"
        ),
        Part::Meminfo => tracing::warn!(
            error = %error,
            "sample skipped (logged once until it changes or recovers)"
        ),
        _ => tracing::warn!(
            source = p.label(),
            error = %error,
            degraded = p.degrades(),
            "source unreadable; the rest of the sample stands (logged once until it changes or recovers)"
        ),
    }
}

fn log_back(p: Part) {
    match p {
        Part::Cgroup => tracing::info!("scope back: its samples are read again"),
        Part::Meminfo => tracing::info!("samples readable again"),
        _ => tracing::info!(source = p.label(), "source readable again"),
    }
}
