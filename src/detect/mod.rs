//! The detector: a deterministic state machine, samples in, events out.
//!
//! No clock, sleep, I/O, environment or randomness in here: time arrives
//! inside each [`Sample`]. When a host goes silent the detector cannot notice
//! by itself, so it says when it next needs to be woken
//! ([`Detector::poll_timeout`]) and the caller, the daemon's loop or the
//! replay's virtual clock, calls [`Detector::handle_timeout`] then. The
//! loops that do so, shared by every caller, are in [`drive`].
//!
//! Inside: [`features`] turns samples into ratios, rates, a robust slope and
//! an ETA; [`rules`] runs each rule's pending -> firing -> resolved cycle;
//! [`history`] learns the host's own floor across days and moves the
//! forecast's headroom gate with it.
//! Silence is handled here, and freezes every other rule, since missing data
//! is never recovery. Its severity follows what the host looked like at its
//! last sample: `went_dark` (critical) on evidence of pressure (a rule
//! firing, headroom low, PSI high), `host_silent` (warning) when only a rule
//! was pending (a forecast that had not yet held for its `for`), nothing for
//! a calm host.

pub mod config;
pub mod drive;
pub mod duration;
pub mod event;
pub mod features;
pub mod history;
pub mod rules;
pub mod window;

pub use config::DetectorConfig;
pub use duration::Dur;
pub use event::{AlertState, Event, Evidence, Severity, Signal, Signals};
pub use features::Features;
pub use rules::{Cond, RuleSet, RuleSpec, RuleStatus};

use crate::signal::Sample;
use features::{FeatureState, Spans};
use history::{DayMin, Floor};

/// Name of the silence rule under pressure (critical).
pub const WENT_DARK: &str = "went_dark";

/// Name of the silence rule without evidence of pressure (warning): a rule
/// was pending, none firing, headroom and PSI fine.
pub const HOST_SILENT: &str = "host_silent";

/// Why a sample was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ObserveError {
    /// The sample is not newer than the previous one.
    #[error("sample at {at_ms} ms is not after the previous sample at {prev_ms} ms")]
    OutOfOrder {
        /// The refused sample's time.
        at_ms: i64,
        /// The previous sample's time.
        prev_ms: i64,
    },
    /// The sample itself is unusable.
    #[error(transparent)]
    Invalid(#[from] crate::signal::SampleError),
}

/// The leading-edge detector for one host.
#[derive(Debug, Clone)]
pub struct Detector {
    cfg: DetectorConfig,
    state: FeatureState,
    rules: RuleSet,
    last: Option<Features>,
    intervals: [i64; 5],
    n_intervals: usize,
    typical_ms: Option<i64>,
    /// [`Detector::stale_after_ms`], recomputed when `typical_ms` changes.
    stale_ms: i64,
    dark: Dark,
    /// The host's own floor across days ([`history`]).
    floor: Floor,
}

/// Silence tracking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dark {
    /// Samples are arriving.
    No,
    /// Silent, but the host was calm: no alert.
    Quiet,
    /// Silent: `went_dark` (critical) or `host_silent` (warning) is firing.
    Firing(&'static str, Severity),
}

impl Detector {
    /// A detector running memcanary's rules with the given (validated) config.
    pub fn new(cfg: &DetectorConfig) -> Detector {
        Detector::build(cfg, false)
    }

    /// A detector whose [`Features`] also carry what the published baselines
    /// need (for the backtest, which evaluates them on the same features).
    pub fn with_baseline_features(cfg: &DetectorConfig) -> Detector {
        Detector::build(cfg, true)
    }

    fn build(cfg: &DetectorConfig, baseline_features: bool) -> Detector {
        Detector {
            cfg: cfg.clone(),
            state: FeatureState::new(Spans {
                rate_ms: cfg.rate_window.as_millis(),
                trend_ms: cfg.trend_window.as_millis(),
                recent_ms: cfg.recent_window.as_millis(),
                baseline_features,
            }),
            rules: RuleSet::memcanary(cfg),
            last: None,
            intervals: [0; 5],
            n_intervals: 0,
            typical_ms: None,
            stale_ms: stale_after(cfg, None),
            dark: Dark::No,
            floor: Floor::new(&cfg.history),
        }
    }

    /// The clean days the host's floor is learned from, oldest first (what
    /// the agent keeps in its state file).
    pub fn history(&self) -> &[DayMin] {
        self.floor.days()
    }

    /// Starts the floor from clean days kept elsewhere (the agent's state
    /// file); the forecast's gate follows at once.
    pub fn restore_history(&mut self, days: &[DayMin]) {
        self.floor.restore(days);
        follow_floor(&self.floor, &self.cfg, &mut self.rules);
    }

    /// Seeds the floor with the clean days up to day `through` judged
    /// elsewhere (the watcher reads them from the datasource,
    /// [`history::Floor::seed`]); the forecast's gate follows at once.
    pub fn seed_history(&mut self, days: &[DayMin], through: i64) {
        self.floor.seed(days, through);
        follow_floor(&self.floor, &self.cfg, &mut self.rules);
    }

    /// The forecast's headroom gate now: `headroom_forecast.max_headroom_ratio`,
    /// moved by the host's floor once it has one ([`history`]).
    pub fn forecast_gate(&self) -> f64 {
        forecast_gate(&self.floor, &self.cfg)
    }

    /// The config in force.
    pub fn config(&self) -> &DetectorConfig {
        &self.cfg
    }

    /// Features of the latest sample.
    pub fn features(&self) -> Option<&Features> {
        self.last.as_ref()
    }

    /// memcanary's rules and their states.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Whether `went_dark` is firing.
    pub fn is_dark(&self) -> bool {
        matches!(self.dark, Dark::Firing(WENT_DARK, _))
    }

    /// Whether a silence rule (`went_dark` or `host_silent`) is firing.
    pub fn is_silent(&self) -> bool {
        matches!(self.dark, Dark::Firing(..))
    }

    /// Feeds one sample; state changes are appended to `out`. Allocation-free
    /// when `out` has room for a handful of events.
    #[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
    #[link_section = "memcanary_hot"]
    pub fn observe(&mut self, sample: &Sample, out: &mut Vec<Event>) -> Result<(), ObserveError> {
        sample.validate()?;
        if let Some(prev) = &self.last {
            if sample.at_ms <= prev.at_ms {
                return Err(ObserveError::OutOfOrder {
                    at_ms: sample.at_ms,
                    prev_ms: prev.at_ms,
                });
            }
            let gap = sample.at_ms - prev.at_ms;
            if self.n_intervals >= 3 && gap > self.stale_after_ms() {
                // Slopes and filters must not bridge a blackout.
                self.state.reset_trend();
            } else {
                self.note_interval(gap);
            }
        }
        // Features are computed in place: no copy of the (large) struct.
        let f = self.last.get_or_insert_with(Features::default);
        self.state.update(sample, f);
        if self.floor.sample(f.at_ms, f.headroom_ratio) {
            follow_floor(&self.floor, &self.cfg, &mut self.rules);
        }
        let n = out.len();
        let (rules, cfg, f) = (&mut self.rules, &self.cfg, &*f);
        if let Dark::Firing(rule, severity) = std::mem::replace(&mut self.dark, Dark::No) {
            out.push(Event {
                at_ms: f.at_ms,
                rule,
                severity,
                state: AlertState::Resolved,
                evidence: evidence(cfg, f, None),
            });
        }
        rules.eval(f, || evidence(cfg, f, None), out);
        self.floor.events(&out[n..]);
        Ok(())
    }

    /// When the detector next needs [`Detector::handle_timeout`], if ever:
    /// the moment the host counts as silent.
    pub fn poll_timeout(&self) -> Option<i64> {
        if !self.cfg.went_dark.enabled || self.dark != Dark::No {
            return None;
        }
        let last = self.last.as_ref()?;
        Some(last.at_ms + self.stale_after_ms())
    }

    /// Tells the detector that time `now_ms` has come with no new sample.
    pub fn handle_timeout(&mut self, now_ms: i64, out: &mut Vec<Event>) {
        let Some(deadline) = self.poll_timeout() else {
            return;
        };
        let Some(f) = self.last else { return };
        if now_ms < deadline {
            return;
        }
        match self.silence_severity(&f) {
            Some(severity) => {
                let rule = match severity {
                    Severity::Critical => WENT_DARK,
                    Severity::Warning => HOST_SILENT,
                };
                self.dark = Dark::Firing(rule, severity);
                let silent = (now_ms - f.at_ms) as f64 / 1000.0;
                let ev = self.evidence(&f, Some(silent));
                let e = Event {
                    at_ms: now_ms,
                    rule,
                    severity,
                    state: AlertState::Firing,
                    evidence: ev,
                };
                self.floor.events(std::slice::from_ref(&e));
                out.push(e);
            }
            None => self.dark = Dark::Quiet,
        }
    }

    /// What silence after `f` is: critical on evidence of pressure (a rule
    /// firing, PSI "some" high, headroom low), a warning when a rule was only
    /// pending (and `went_dark.silent` is on), else nothing.
    fn silence_severity(&self, f: &Features) -> Option<Severity> {
        let firing = self
            .rules
            .iter()
            .any(|(_, st)| matches!(st, RuleStatus::Firing { .. }));
        let evidence = firing
            || self.signals(f).contains(Signal::PsiSome)
            || f.headroom_ratio < self.cfg.went_dark.below_headroom_ratio;
        if evidence {
            Some(Severity::Critical)
        } else if self.cfg.went_dark.silent && self.rules.any_active() {
            Some(Severity::Warning)
        } else {
            None
        }
    }

    /// Silence threshold: `stale_after_intervals` typical intervals, at
    /// least `stale_after_min`.
    pub fn stale_after_ms(&self) -> i64 {
        self.stale_ms
    }

    /// Median of the last few sample intervals.
    pub fn typical_interval_ms(&self) -> Option<i64> {
        self.typical_ms
    }

    fn note_interval(&mut self, dt: i64) {
        let i = self.n_intervals % self.intervals.len();
        let same = self.n_intervals >= self.intervals.len() && self.intervals[i] == dt;
        self.intervals[i] = dt;
        self.n_intervals += 1;
        if !same {
            // Steady scraping repeats one interval: re-sort only on change.
            let n = self.n_intervals.min(self.intervals.len());
            let mut v = self.intervals;
            v[..n].sort_unstable();
            self.typical_ms = Some(v[n / 2]);
            self.stale_ms = stale_after(&self.cfg, self.typical_ms);
        }
    }

    /// The evidence for an event at `f` (`silent`: seconds without data).
    pub fn evidence(&self, f: &Features, silent: Option<f64>) -> Evidence {
        evidence(&self.cfg, f, silent)
    }

    /// Which signals agree at `f`, judged by the config's thresholds.
    pub fn signals(&self, f: &Features) -> Signals {
        signals(&self.cfg, f)
    }
}

/// The forecast's headroom gate: the floor's, else the configured one.
fn forecast_gate(floor: &Floor, cfg: &DetectorConfig) -> f64 {
    floor.gate(cfg.headroom_forecast.max_headroom_ratio)
}

/// A day closed or days were restored: the forecast's gate follows the floor.
#[cold]
#[inline(never)]
fn follow_floor(floor: &Floor, cfg: &DetectorConfig, rules: &mut RuleSet) {
    rules.set_forecast_gate(forecast_gate(floor, cfg));
}

/// Silence threshold for a typical sample interval of `typical_ms`.
fn stale_after(cfg: &DetectorConfig, typical_ms: Option<i64>) -> i64 {
    let typical = typical_ms.unwrap_or(0) as f64;
    let by_interval = (typical * cfg.stale_after_intervals) as i64;
    by_interval.max(cfg.stale_after_min.as_millis())
}

/// The evidence for an event at `f`. Cold: events are rare, samples are
/// not, and the calm path stays small (see `docs/agent.md`).
#[cold]
#[inline(never)]
fn evidence(cfg: &DetectorConfig, f: &Features, silent: Option<f64>) -> Evidence {
    let s = &f.sample;
    Evidence {
        mem_total_bytes: s.mem_total_bytes,
        mem_available_bytes: s.mem_available_bytes,
        swap_total_bytes: s.swap_total_bytes,
        swap_free_bytes: s.swap_free_bytes,
        headroom_bytes: f.headroom as u64,
        headroom_ratio: f.headroom_ratio,
        headroom_slope_bytes_per_s: f.slope,
        eta_seconds: f.eta_s,
        psi_some_ratio: f.psi_some,
        psi_full_ratio: f.psi_full,
        pgmajfault_per_s: f.pgmajfault_rate,
        pswpin_per_s: f.pswpin_rate,
        oom_kills: f.oom_kills_total,
        signals: signals(cfg, f),
        silent_seconds: silent,
    }
}

/// Which signals agree at `f`.
fn signals(c: &DetectorConfig, f: &Features) -> Signals {
    let mut s = Signals::default();
    let checks = [
        (
            Signal::SwapLow,
            f.swap_free_ratio
                .is_some_and(|r| r < c.swap_low.below_ratio),
        ),
        (
            Signal::PsiSome,
            f.psi_some.is_some_and(|r| r > c.psi_rising.above_ratio),
        ),
        (
            Signal::PsiFull,
            f.psi_full
                .is_some_and(|r| r > c.thrashing.psi_full_above_ratio),
        ),
        (
            Signal::MajorFaults,
            f.pgmajfault_rate
                .is_some_and(|r| r > c.thrashing.major_faults_per_s),
        ),
        (
            Signal::SwapIn,
            f.pswpin_rate
                .is_some_and(|r| r > c.thrashing.swap_in_pages_per_s),
        ),
        (
            Signal::MemAvailableLow,
            f.mem_available_ratio < c.mem_available_collapse.below_ratio,
        ),
        (
            Signal::Forecast,
            f.eta_s
                .is_some_and(|e| e < c.headroom_forecast.horizon.as_secs_f64()),
        ),
        (Signal::OomKill, f.oom_kills_recent > 0.0),
    ];
    for (sig, on) in checks {
        if on {
            s.insert(sig);
        }
    }
    s
}

#[cfg(test)]
mod evidence_tests;
#[cfg(test)]
mod tests;
