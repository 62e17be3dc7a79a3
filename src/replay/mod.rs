//! The backtest: replay recorded series through the detector, beside the
//! published rules, and report lead times before the data gap.
//!
//! Replay drives the very detector the daemon runs, on a virtual clock: each
//! sample's time is "now", and when samples stop the detector's
//! `poll_timeout` is honoured up to the end of the recording
//! ([`Detector::feed`], [`Detector::advance_to`]), so a trailing
//! blackout raises `went_dark` exactly as it would live. The baselines are
//! [`RuleSet`]s evaluated on the same features.

pub mod baselines;
pub mod cliff;
#[cfg(feature = "plot")]
pub mod plot;
pub mod report;
pub mod table;

use crate::detect::{Detector, DetectorConfig, Event, ObserveError, RuleSet};
use crate::signal::Sample;
pub use cliff::{Cliff, CliffKind};

/// One host's recorded series.
#[derive(Debug, Clone, Copy)]
pub struct Recording<'a> {
    /// The host (`instance` label).
    pub instance: &'a str,
    /// Its samples, in time order.
    pub samples: &'a [Sample],
    /// When the recording ends (the last timestamp of any series of the
    /// host, staleness markers included), ms.
    pub end_ms: i64,
}

/// What a replay saw, per sample, for plots.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TracePoint {
    /// Time, ms.
    pub at_ms: i64,
    /// Headroom / capacity.
    pub headroom_ratio: f64,
    /// MemAvailable / MemTotal.
    pub mem_available_ratio: f64,
    /// SwapFree / SwapTotal.
    pub swap_free_ratio: Option<f64>,
    /// PSI some stall ratio.
    pub psi_some: Option<f64>,
    /// PSI full stall ratio.
    pub psi_full: Option<f64>,
}

/// The result of replaying one host.
#[derive(Debug, Clone)]
pub struct Replay {
    /// The host.
    pub instance: String,
    /// Number of samples.
    pub samples: usize,
    /// First and last sample time, ms.
    pub span_ms: Option<(i64, i64)>,
    /// Median sample interval, ms.
    pub interval_ms: Option<i64>,
    /// memcanary's events.
    pub events: Vec<Event>,
    /// The baselines' events.
    pub baseline_events: Vec<Event>,
    /// Where the data ends.
    pub cliff: Option<Cliff>,
    /// Per-sample trace (only when asked for).
    pub trace: Vec<TracePoint>,
}

/// A sample the detector refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("instance {instance}: sample {index} (at {at_ms} ms): {source}")]
pub struct ReplayError {
    /// The host.
    pub instance: String,
    /// Index of the sample.
    pub index: usize,
    /// Its time.
    pub at_ms: i64,
    /// Why.
    pub source: ObserveError,
}

/// Replays one recording through memcanary's detector and the baselines.
pub fn run(
    rec: &Recording<'_>,
    cfg: &DetectorConfig,
    keep_trace: bool,
) -> Result<Replay, ReplayError> {
    let mut det = Detector::with_baseline_features(cfg);
    let mut base = RuleSet::new(baselines::specs());
    let mut events = Vec::new();
    let mut baseline_events = Vec::new();
    let mut trace = Vec::with_capacity(if keep_trace { rec.samples.len() } else { 0 });
    for (index, s) in rec.samples.iter().enumerate() {
        det.feed(s, &mut events).map_err(|source| ReplayError {
            instance: rec.instance.to_string(),
            index,
            at_ms: s.at_ms,
            source,
        })?;
        let Some(f) = det.features().copied() else {
            continue;
        };
        base.eval(&f, || det.evidence(&f, None), &mut baseline_events);
        if keep_trace {
            trace.push(TracePoint {
                at_ms: f.at_ms,
                headroom_ratio: f.headroom_ratio,
                mem_available_ratio: f.mem_available_ratio,
                swap_free_ratio: f.swap_free_ratio,
                psi_some: f.psi_some,
                psi_full: f.psi_full,
            });
        }
    }
    det.advance_to(rec.end_ms, &mut events);
    Ok(Replay {
        instance: rec.instance.to_string(),
        samples: rec.samples.len(),
        span_ms: rec
            .samples
            .first()
            .zip(rec.samples.last())
            .map(|(a, b)| (a.at_ms, b.at_ms)),
        interval_ms: cliff::median_interval_ms(rec.samples),
        events,
        baseline_events,
        cliff: cliff::find(rec.samples, rec.end_ms),
        trace,
    })
}

impl Replay {
    /// Time of the first firing event of any memcanary rule.
    pub fn first_alert_ms(&self) -> Option<i64> {
        first_firing(&self.events, None)
    }

    /// Time of the first firing of the named baseline.
    pub fn baseline_first_ms(&self, name: &str) -> Option<i64> {
        first_firing(&self.baseline_events, Some(name))
    }
}

fn first_firing(events: &[Event], rule: Option<&str>) -> Option<i64> {
    events
        .iter()
        .filter(|e| rule.is_none_or(|r| r == e.rule))
        .find(|e| e.state == crate::detect::AlertState::Firing)
        .map(|e| e.at_ms)
}
