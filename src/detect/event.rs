//! What the detector says: [`Event`]s with their [`Evidence`].
//!
//! Events are small `Copy` values with no heap data, so the agent can produce
//! and queue them on the alert path without allocating.

use serde::{Deserialize, Serialize};

/// How urgent an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The leading edge: act now and the box survives.
    Warning,
    /// Exhaustion imminent, already thrashing, or gone dark under pressure.
    Critical,
}

impl Severity {
    /// Lower-case name, as used in labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// Where a rule is in its life cycle (Prometheus' alert states).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// The condition holds but not yet for the rule's `for` duration.
    Pending,
    /// The condition has held for `for`: notify.
    Firing,
    /// A firing alert cleared on fresh samples that show recovery.
    Resolved,
}

impl AlertState {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }
}

/// The numbers behind an event, taken at the sample that caused it.
///
/// Fields a host does not report are `None`. Serialized as the `values` of
/// a notification (webhook, stdout JSON, the spool), signals as names.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Evidence {
    /// `MemTotal`.
    pub mem_total_bytes: u64,
    /// `MemAvailable`.
    pub mem_available_bytes: u64,
    /// `SwapTotal`.
    pub swap_total_bytes: u64,
    /// `SwapFree`.
    pub swap_free_bytes: u64,
    /// `MemAvailable + SwapFree`.
    pub headroom_bytes: u64,
    /// Headroom as a fraction of `MemTotal + SwapTotal`.
    pub headroom_ratio: f64,
    /// Robust slope of headroom, bytes per second (negative: draining).
    pub headroom_slope_bytes_per_s: Option<f64>,
    /// Forecast seconds until headroom reaches zero at the current slope.
    pub eta_seconds: Option<f64>,
    /// PSI memory "some" stall, fraction of wall time over the PSI window.
    pub psi_some_ratio: Option<f64>,
    /// PSI memory "full" stall, fraction of wall time over the PSI window.
    pub psi_full_ratio: Option<f64>,
    /// Major page faults per second over the PSI window.
    pub pgmajfault_per_s: Option<f64>,
    /// Pages swapped in per second over the PSI window.
    pub pswpin_per_s: Option<f64>,
    /// OOM kills seen since the detector started.
    pub oom_kills: u64,
    /// Which corroborating signals agreed, a bit per [`Signal`].
    pub signals: Signals,
    /// For "went dark": seconds since the last sample.
    pub silent_seconds: Option<f64>,
}

/// A signal that can corroborate an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// Swap free below its threshold.
    SwapLow,
    /// PSI "some" above its threshold.
    PsiSome,
    /// PSI "full" above its threshold.
    PsiFull,
    /// Major faults above their threshold.
    MajorFaults,
    /// Swap-in above its threshold.
    SwapIn,
    /// MemAvailable below its threshold.
    MemAvailableLow,
    /// Headroom forecast to run out within the horizon.
    Forecast,
    /// The OOM killer fired.
    OomKill,
}

impl Signal {
    /// Every signal, in bit order.
    pub const ALL: [Signal; 8] = [
        Signal::SwapLow,
        Signal::PsiSome,
        Signal::PsiFull,
        Signal::MajorFaults,
        Signal::SwapIn,
        Signal::MemAvailableLow,
        Signal::Forecast,
        Signal::OomKill,
    ];

    /// snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::SwapLow => "swap_low",
            Signal::PsiSome => "psi_some",
            Signal::PsiFull => "psi_full",
            Signal::MajorFaults => "major_faults",
            Signal::SwapIn => "swap_in",
            Signal::MemAvailableLow => "mem_available_low",
            Signal::Forecast => "forecast",
            Signal::OomKill => "oom_kill",
        }
    }
}

/// A set of [`Signal`]s, as bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Signals(u16);

impl Signals {
    /// Adds a signal.
    pub fn insert(&mut self, s: Signal) {
        self.0 |= 1 << s as u16;
    }

    /// Whether the set holds a signal.
    pub fn contains(self, s: Signal) -> bool {
        self.0 & (1 << s as u16) != 0
    }

    /// How many signals are in the set.
    pub fn len(self) -> u32 {
        self.0.count_ones()
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The signals in the set, in bit order.
    pub fn iter(self) -> impl Iterator<Item = Signal> {
        Signal::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

impl Serialize for Signals {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.collect_seq(self.iter())
    }
}

impl FromIterator<Signal> for Signals {
    fn from_iter<I: IntoIterator<Item = Signal>>(signals: I) -> Signals {
        let mut set = Signals::default();
        for s in signals {
            set.insert(s);
        }
        set
    }
}

impl<'de> Deserialize<'de> for Signals {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        Ok(Vec::<Signal>::deserialize(de)?.into_iter().collect())
    }
}

/// One state change of one rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Event {
    /// When, milliseconds since the Unix epoch (the sample's time, or the
    /// timeout's time for "went dark").
    pub at_ms: i64,
    /// Which rule (stable snake_case name, e.g. `headroom_forecast`).
    pub rule: &'static str,
    /// The rule's severity.
    pub severity: Severity,
    /// The new state.
    pub state: AlertState,
    /// The numbers behind it.
    pub evidence: Evidence,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_set_behaves_like_a_set() {
        let mut s = Signals::default();
        assert!(s.is_empty());
        s.insert(Signal::PsiFull);
        s.insert(Signal::SwapLow);
        s.insert(Signal::PsiFull);
        assert_eq!(s.len(), 2);
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            vec![Signal::SwapLow, Signal::PsiFull]
        );
        assert_eq!(
            serde_json::to_string(&s).ok().as_deref(),
            Some(r#"["swap_low","psi_full"]"#)
        );
        let back: Signals = serde_json::from_str(r#"["psi_full","swap_low"]"#).unwrap();
        assert_eq!(back, s);
    }
}
