//! Detector configuration: every threshold lives here, with its default.
//!
//! Stage one of the config pipeline: plain serde structs with
//! `deny_unknown_fields`, whose doc comments are the reference
//! (`docs/config.md`). [`DetectorConfig::validate`] is stage two: pure range
//! and cross-field checks whose errors name the key path and quote the value.

use super::duration::Dur;
use super::event::Severity;
pub use super::history::HistoryConfig;
use serde::{Deserialize, Serialize};

/// The detector's settings (`[detector]` in the config file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorConfig {
    /// Window for rates of PSI stall time, major faults and swap-in
    /// (PromQL's `rate(x[1m])`). 1s..1d, like every window.
    pub rate_window: Dur,
    /// Window for the robust slope of headroom (`MemAvailable + SwapFree`).
    pub trend_window: Dur,
    /// Window over which "recent drain" is judged: the forecast only counts
    /// while headroom is still falling over this last stretch.
    pub recent_window: Dur,
    /// A host is silent once no sample came for this many median sample
    /// intervals (1..1000)...
    pub stale_after_intervals: f64,
    /// ...but never sooner than this (0s..1d).
    pub stale_after_min: Dur,
    /// The user's rule 1: swap nearly used up.
    pub swap_low: SwapLowRule,
    /// The user's rule 2: PSI memory "some" stall rate rising.
    pub psi_rising: PsiRisingRule,
    /// The user's rule 3: MemAvailable collapsing.
    pub mem_available_collapse: MemCollapseRule,
    /// The leading edge: headroom forecast to run out.
    pub headroom_forecast: ForecastRule,
    /// Critical: headroom all but gone and the forecast says seconds.
    pub exhaustion_imminent: ImminentRule,
    /// Critical: the kernel is thrashing in reclaim.
    pub thrashing: ThrashingRule,
    /// Warning: a cgroup thrashing at its own limit while the host has room.
    pub cgroup_thrashing: CgroupThrashingRule,
    /// Critical: the kernel's OOM killer fired.
    pub oom_kill: OomKillRule,
    /// The host stopped reporting: critical under pressure, else a warning
    /// or nothing.
    pub went_dark: WentDarkRule,
    /// The host's own floor, learned across days: moves the forecast's
    /// headroom gate once enough clean days are known.
    pub history: HistoryConfig,
}

/// `swap_low`: `SwapFree < ratio * SwapTotal` for `for`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SwapLowRule {
    /// Turn the rule off.
    pub enabled: bool,
    /// Fires below this fraction of SwapTotal free.
    pub below_ratio: f64,
    /// Clears only above this fraction (hysteresis; >= `below_ratio`).
    pub clear_ratio: f64,
    /// How long the condition must hold before firing (0s..1d, every `for`).
    #[serde(rename = "for")]
    pub for_: Dur,
    /// Severity of the alert.
    pub severity: Severity,
}

/// `psi_rising`: PSI "some" stall ratio over `rate_window` above a threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PsiRisingRule {
    /// Turn the rule off.
    pub enabled: bool,
    /// Fires above this fraction of wall time stalled (0.10 = 10 %).
    pub above_ratio: f64,
    /// Clears only below this fraction.
    pub clear_ratio: f64,
    /// How long the condition must hold.
    #[serde(rename = "for")]
    pub for_: Dur,
    /// Severity of the alert.
    pub severity: Severity,
}

/// `mem_available_collapse`: MemAvailable low *and* fell fast to get there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MemCollapseRule {
    /// Turn the rule off.
    pub enabled: bool,
    /// MemAvailable below this fraction of MemTotal...
    pub below_ratio: f64,
    /// ...having dropped by at least this fraction of MemTotal within
    /// `trend_window`.
    pub drop_ratio: f64,
    /// Clears once MemAvailable is back above this fraction.
    pub clear_ratio: f64,
    /// How long the condition must hold.
    #[serde(rename = "for")]
    pub for_: Dur,
    /// Severity of the alert.
    pub severity: Severity,
}

/// `headroom_forecast`: the leading edge.
///
/// Headroom (`MemAvailable + SwapFree`) is projected forward along its robust
/// slope over `trend_window`; the rule holds while the projection reaches zero
/// within `horizon`, the drain is still going on over `recent_window`, and the
/// drain is faster than `min_drain_ratio_per_min`. A host sitting high but
/// stable has no slope and stays quiet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ForecastRule {
    /// Turn the rule off.
    pub enabled: bool,
    /// Fires when headroom is forecast to run out within this time (1s..1d).
    pub horizon: Dur,
    /// Clears once the forecast is beyond this time (or the drain stopped);
    /// `horizon`..7d.
    pub clear_horizon: Dur,
    /// Ignore drains slower than this fraction of `MemTotal + SwapTotal` per
    /// minute (noise floor).
    pub min_drain_ratio_per_min: f64,
    /// Ignore forecasts while headroom is above this fraction of capacity.
    pub max_headroom_ratio: f64,
    /// The drain over `recent_window` must keep at least this fraction of
    /// the trend's pace (a job that ramped up and settled has a steep trend
    /// but a flat recent slope).
    pub min_recent_fraction: f64,
    /// How long the forecast must hold: what separates a sustained drain from
    /// a job that ramps up and settles.
    #[serde(rename = "for")]
    pub for_: Dur,
    /// Severity of the alert.
    pub severity: Severity,
}

/// `exhaustion_imminent`: little headroom left and a short forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImminentRule {
    /// Turn the rule off.
    pub enabled: bool,
    /// Headroom below this fraction of capacity...
    pub below_headroom_ratio: f64,
    /// ...and forecast to run out within this time (or already draining
    /// with PSI "some" above `psi_rising.above_ratio`); 1s..1d.
    pub eta: Dur,
    /// Clears once headroom is back above this fraction.
    pub clear_headroom_ratio: f64,
    /// How long the condition must hold: a dip that recovers within seconds
    /// with nothing stalled (a transient touching swap) is not a page, an
    /// exhaustion stays.
    #[serde(rename = "for")]
    pub for_: Dur,
}

/// `thrashing`: PSI "full" high, corroborated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThrashingRule {
    /// Turn the rule off.
    pub enabled: bool,
    /// PSI "full" (every task stalled) above this fraction of wall time...
    pub psi_full_above_ratio: f64,
    /// ...with at least this many corroborating signals: major faults above
    /// `major_faults_per_s`, swap-in above `swap_in_pages_per_s`, headroom
    /// below `exhaustion_imminent.below_headroom_ratio`, an OOM kill (0..4).
    pub min_corroborating: u32,
    /// Major faults per second that count as corroboration.
    pub major_faults_per_s: f64,
    /// Swap-in pages per second that count as corroboration.
    pub swap_in_pages_per_s: f64,
    /// Clears once PSI "full" is below this fraction.
    pub clear_ratio: f64,
    /// Only while the host's headroom is at most this fraction of capacity:
    /// PSI "full" counts every cgroup's stalls, and one cgroup thrashing at
    /// its own memory limit while the host has room to spare is not a
    /// host-wide page.
    pub max_headroom_ratio: f64,
    /// How long the condition must hold.
    #[serde(rename = "for")]
    pub for_: Dur,
}

/// `cgroup_thrashing`: the stall `thrashing` looks for (its thresholds:
/// `thrashing.psi_full_above_ratio`, `min_corroborating`, ...) while the
/// host's headroom is above `thrashing.max_headroom_ratio`: one cgroup is
/// thrashing at its own memory limit (PSI "full" counts every cgroup's
/// stalls) and the host has room to spare. Scoped to that cgroup, never a
/// host-wide page: the agent names the cgroup (`cgroup` label); a source
/// without cgroup data (node_exporter) cannot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CgroupThrashingRule {
    /// Turn the rule off.
    pub enabled: bool,
    /// How long the stall must hold: a cgroup brushing its limit for a few
    /// seconds (a build step) is no alert.
    #[serde(rename = "for")]
    pub for_: Dur,
    /// Severity of the alert.
    pub severity: Severity,
}

impl Default for CgroupThrashingRule {
    fn default() -> Self {
        CgroupThrashingRule {
            enabled: true,
            for_: Dur::from_secs(30),
            severity: Severity::Warning,
        }
    }
}

/// `oom_kill`: the kernel had to kill a process (`node_vmstat_oom_kill`
/// increased). Fires on the sample that shows it, resolves after a
/// `rate_window` without another kill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OomKillRule {
    /// Turn the rule off.
    pub enabled: bool,
}

impl Default for OomKillRule {
    fn default() -> Self {
        OomKillRule { enabled: true }
    }
}

/// `went_dark`: silence while under pressure is the worst case, not recovery.
///
/// Its severity follows the host's last sample: `went_dark` (critical) when
/// any memcanary rule was firing, PSI "some" was above
/// `psi_rising.above_ratio` or headroom below `below_headroom_ratio`;
/// otherwise `host_silent` (warning) when a rule was pending (see `silent`);
/// otherwise nothing (a calm host powered off).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WentDarkRule {
    /// Turn silence detection off (both `went_dark` and `host_silent`).
    pub enabled: bool,
    /// Counts as "under pressure" (critical) when silence starts: any
    /// memcanary rule firing, PSI "some" above `psi_rising.above_ratio`, or
    /// headroom below this fraction of capacity.
    pub below_headroom_ratio: f64,
    /// Raise `host_silent` (warning) for a silence that follows only a
    /// pending rule; `false`: such a silence says nothing.
    pub silent: bool,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            rate_window: Dur::from_secs(60),
            trend_window: Dur::from_secs(120),
            recent_window: Dur::from_secs(30),
            stale_after_intervals: 3.0,
            stale_after_min: Dur::from_secs(10),
            swap_low: SwapLowRule::default(),
            psi_rising: PsiRisingRule::default(),
            mem_available_collapse: MemCollapseRule::default(),
            headroom_forecast: ForecastRule::default(),
            exhaustion_imminent: ImminentRule::default(),
            thrashing: ThrashingRule::default(),
            cgroup_thrashing: CgroupThrashingRule::default(),
            oom_kill: OomKillRule::default(),
            went_dark: WentDarkRule::default(),
            history: HistoryConfig::default(),
        }
    }
}

impl Default for SwapLowRule {
    fn default() -> Self {
        SwapLowRule {
            enabled: true,
            below_ratio: 0.15,
            clear_ratio: 0.20,
            for_: Dur::from_secs(300),
            severity: Severity::Warning,
        }
    }
}

impl Default for PsiRisingRule {
    fn default() -> Self {
        PsiRisingRule {
            enabled: true,
            above_ratio: 0.10,
            clear_ratio: 0.05,
            for_: Dur::from_secs(60),
            severity: Severity::Warning,
        }
    }
}

impl Default for MemCollapseRule {
    fn default() -> Self {
        MemCollapseRule {
            enabled: true,
            below_ratio: 0.10,
            drop_ratio: 0.20,
            clear_ratio: 0.15,
            for_: Dur::from_secs(60),
            severity: Severity::Warning,
        }
    }
}

impl Default for ForecastRule {
    fn default() -> Self {
        ForecastRule {
            enabled: true,
            horizon: Dur::from_secs(30 * 60),
            clear_horizon: Dur::from_secs(45 * 60),
            min_drain_ratio_per_min: 0.002,
            max_headroom_ratio: 0.45,
            min_recent_fraction: 0.5,
            for_: Dur::from_secs(60),
            severity: Severity::Warning,
        }
    }
}

impl Default for ImminentRule {
    fn default() -> Self {
        ImminentRule {
            enabled: true,
            below_headroom_ratio: 0.05,
            eta: Dur::from_secs(180),
            clear_headroom_ratio: 0.10,
            for_: Dur::from_secs(30),
        }
    }
}

impl Default for ThrashingRule {
    fn default() -> Self {
        ThrashingRule {
            enabled: true,
            psi_full_above_ratio: 0.10,
            min_corroborating: 1,
            major_faults_per_s: 50.0,
            swap_in_pages_per_s: 50.0,
            clear_ratio: 0.05,
            max_headroom_ratio: 0.5,
            for_: Dur::default(),
        }
    }
}

impl Default for WentDarkRule {
    fn default() -> Self {
        WentDarkRule {
            enabled: true,
            below_headroom_ratio: 0.10,
            silent: true,
        }
    }
}

/// A config value out of range, naming the key and quoting the value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("detector.{key} = {value}: {why}")]
pub struct ConfigError {
    /// Key path below `detector.`.
    pub key: String,
    /// The offending value as written.
    pub value: String,
    /// What is wrong with it.
    pub why: String,
}

fn ratio(key: &str, v: f64) -> Result<(), ConfigError> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(ConfigError {
            key: key.into(),
            value: v.to_string(),
            why: "must be a fraction between 0 and 1".into(),
        })
    }
}

fn order(key: &str, lo: f64, hi: f64, v: f64, why: &str) -> Result<(), ConfigError> {
    if lo <= hi {
        Ok(())
    } else {
        Err(ConfigError {
            key: key.into(),
            value: v.to_string(),
            why: why.into(),
        })
    }
}

/// One day: the longest window, `for` or forecast horizon accepted. Longer
/// ones make the detector keep (and PromQL range over) more than a day of
/// samples per host, which no memory alarm needs.
const DAY: Dur = Dur::from_secs(86_400);

/// Longest `stale_after_intervals`: beyond it the silence threshold
/// (intervals x median interval) overflows into nonsense (1e15 wrapped:
/// `went_dark` on every sample, alerts at negative times).
pub const MAX_STALE_AFTER_INTERVALS: f64 = 1000.0;

/// `d` within `lo..=hi`, else an error naming `key` and quoting `d`.
fn within(key: &str, d: Dur, lo: Dur, hi: Dur) -> Result<(), ConfigError> {
    if lo <= d && d <= hi {
        Ok(())
    } else {
        Err(ConfigError {
            key: key.into(),
            value: format!("\"{d}\""),
            why: format!("must be between {lo} and {}", day_name(hi)),
        })
    }
}

/// `24h` written the way the docs say it: `1d`.
fn day_name(d: Dur) -> String {
    if d == DAY {
        "1d".into()
    } else {
        d.to_string()
    }
}

/// A window of samples: 1s..1d.
fn window(key: &str, d: Dur) -> Result<(), ConfigError> {
    within(key, d, Dur::from_secs(1), DAY)
}

/// A rule's `for`: 0s (fire on the first sample) ..1d.
fn hold(key: &str, d: Dur) -> Result<(), ConfigError> {
    within(key, d, Dur::default(), DAY)
}

impl DetectorConfig {
    /// The longest of the detector's windows, ms: the history a judgement
    /// needs before it means anything (its warm-up).
    pub fn warm_up_ms(&self) -> i64 {
        [self.rate_window, self.trend_window, self.recent_window]
            .iter()
            .map(|d| d.as_millis())
            .max()
            .unwrap_or(0)
    }

    /// Range and cross-field checks. Pure; the first problem found is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        window("rate_window", self.rate_window)?;
        window("trend_window", self.trend_window)?;
        window("recent_window", self.recent_window)?;
        let n = self.stale_after_intervals;
        if !(1.0..=MAX_STALE_AFTER_INTERVALS).contains(&n) {
            return Err(ConfigError {
                key: "stale_after_intervals".into(),
                value: n.to_string(),
                why: format!("must be between 1 and {MAX_STALE_AFTER_INTERVALS}"),
            });
        }
        hold("stale_after_min", self.stale_after_min)?;
        self.validate_holds()?;
        let s = &self.swap_low;
        ratio("swap_low.below_ratio", s.below_ratio)?;
        ratio("swap_low.clear_ratio", s.clear_ratio)?;
        order(
            "swap_low.clear_ratio",
            s.below_ratio,
            s.clear_ratio,
            s.clear_ratio,
            "must be >= swap_low.below_ratio",
        )?;
        let p = &self.psi_rising;
        ratio("psi_rising.above_ratio", p.above_ratio)?;
        ratio("psi_rising.clear_ratio", p.clear_ratio)?;
        order(
            "psi_rising.clear_ratio",
            p.clear_ratio,
            p.above_ratio,
            p.clear_ratio,
            "must be <= psi_rising.above_ratio",
        )?;
        let m = &self.mem_available_collapse;
        ratio("mem_available_collapse.below_ratio", m.below_ratio)?;
        ratio("mem_available_collapse.drop_ratio", m.drop_ratio)?;
        ratio("mem_available_collapse.clear_ratio", m.clear_ratio)?;
        order(
            "mem_available_collapse.clear_ratio",
            m.below_ratio,
            m.clear_ratio,
            m.clear_ratio,
            "must be >= mem_available_collapse.below_ratio",
        )?;
        let f = &self.headroom_forecast;
        window("headroom_forecast.horizon", f.horizon)?;
        within(
            "headroom_forecast.clear_horizon",
            f.clear_horizon,
            Dur::default(),
            Dur::from_secs(7 * 86_400),
        )?;
        if f.clear_horizon < f.horizon {
            return Err(ConfigError {
                key: "headroom_forecast.clear_horizon".into(),
                value: format!("\"{}\"", f.clear_horizon),
                why: format!("must be >= headroom_forecast.horizon (\"{}\")", f.horizon),
            });
        }
        ratio(
            "headroom_forecast.min_drain_ratio_per_min",
            f.min_drain_ratio_per_min,
        )?;
        ratio("headroom_forecast.max_headroom_ratio", f.max_headroom_ratio)?;
        ratio(
            "headroom_forecast.min_recent_fraction",
            f.min_recent_fraction,
        )?;
        let i = &self.exhaustion_imminent;
        ratio(
            "exhaustion_imminent.below_headroom_ratio",
            i.below_headroom_ratio,
        )?;
        ratio(
            "exhaustion_imminent.clear_headroom_ratio",
            i.clear_headroom_ratio,
        )?;
        order(
            "exhaustion_imminent.clear_headroom_ratio",
            i.below_headroom_ratio,
            i.clear_headroom_ratio,
            i.clear_headroom_ratio,
            "must be >= exhaustion_imminent.below_headroom_ratio",
        )?;
        window("exhaustion_imminent.eta", i.eta)?;
        let t = &self.thrashing;
        if t.min_corroborating > 4 {
            return Err(ConfigError {
                key: "thrashing.min_corroborating".into(),
                value: t.min_corroborating.to_string(),
                why: "must be between 0 and 4 (there are four signals)".into(),
            });
        }
        ratio("thrashing.psi_full_above_ratio", t.psi_full_above_ratio)?;
        ratio("thrashing.clear_ratio", t.clear_ratio)?;
        ratio("thrashing.max_headroom_ratio", t.max_headroom_ratio)?;
        order(
            "thrashing.clear_ratio",
            t.clear_ratio,
            t.psi_full_above_ratio,
            t.clear_ratio,
            "must be <= thrashing.psi_full_above_ratio",
        )?;
        for (key, v) in [
            ("thrashing.major_faults_per_s", t.major_faults_per_s),
            ("thrashing.swap_in_pages_per_s", t.swap_in_pages_per_s),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(ConfigError {
                    key: key.into(),
                    value: v.to_string(),
                    why: "must be a number >= 0".into(),
                });
            }
        }
        ratio(
            "went_dark.below_headroom_ratio",
            self.went_dark.below_headroom_ratio,
        )?;
        self.history.validate()
    }

    /// Every rule's `for`: 0s..1d.
    fn validate_holds(&self) -> Result<(), ConfigError> {
        hold("swap_low.for", self.swap_low.for_)?;
        hold("psi_rising.for", self.psi_rising.for_)?;
        hold(
            "mem_available_collapse.for",
            self.mem_available_collapse.for_,
        )?;
        hold("headroom_forecast.for", self.headroom_forecast.for_)?;
        hold("exhaustion_imminent.for", self.exhaustion_imminent.for_)?;
        hold("thrashing.for", self.thrashing.for_)?;
        hold("cgroup_thrashing.for", self.cgroup_thrashing.for_)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(DetectorConfig::default().validate(), Ok(()));
    }

    #[test]
    fn a_partial_toml_keeps_the_other_defaults() {
        let c: DetectorConfig =
            toml::from_str("[swap_low]\nbelow_ratio = 0.1\nfor = \"2m\"\n").unwrap_or_default();
        assert_eq!(c.swap_low.below_ratio, 0.1);
        assert_eq!(c.swap_low.for_, Dur::from_secs(120));
        assert_eq!(c.psi_rising, PsiRisingRule::default());
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let e = toml::from_str::<DetectorConfig>("[swap_low]\nbelow = 0.1\n")
            .err()
            .map(|e| e.to_string());
        assert!(e.unwrap_or_default().contains("unknown field `below`"));
    }

    #[test]
    fn durations_and_counts_that_break_the_detector_are_rejected() {
        let err = |f: fn(&mut DetectorConfig)| {
            let mut c = DetectorConfig::default();
            f(&mut c);
            c.validate()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert_eq!(
            err(|c| c.stale_after_intervals = 1e15),
            "detector.stale_after_intervals = 1000000000000000: must be between 1 and 1000"
        );
        assert!(err(|c| c.stale_after_intervals = f64::NAN).contains("between 1 and 1000"));
        assert_eq!(
            err(|c| c.rate_window = Dur::from_millis(500)),
            "detector.rate_window = \"500ms\": must be between 1s and 1d"
        );
        assert_eq!(
            err(|c| c.trend_window = Dur::from_secs(2 * 86_400)),
            "detector.trend_window = \"48h\": must be between 1s and 1d"
        );
        assert!(err(|c| c.stale_after_min = Dur::from_secs(2 * 86_400))
            .starts_with("detector.stale_after_min"));
        assert!(err(|c| c.psi_rising.for_ = Dur::from_secs(90_000))
            .starts_with("detector.psi_rising.for = \"25h\""));
        assert!(err(|c| c.exhaustion_imminent.eta = Dur::default())
            .starts_with("detector.exhaustion_imminent.eta"));
        assert!(err(|c| {
            c.headroom_forecast.clear_horizon = Dur::from_secs(8 * 86_400);
        })
        .starts_with("detector.headroom_forecast.clear_horizon = \"192h\""));
        assert!(err(|c| c.thrashing.min_corroborating = 5).contains("between 0 and 4"));
        let mut edge = DetectorConfig {
            stale_after_intervals: 1000.0,
            trend_window: DAY,
            ..DetectorConfig::default()
        };
        edge.swap_low.for_ = Dur::default();
        assert_eq!(edge.validate(), Ok(()));
    }

    #[test]
    fn errors_name_the_key_and_quote_the_value() {
        let mut c = DetectorConfig::default();
        c.swap_low.clear_ratio = 0.05;
        let e = c
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(
            e,
            "detector.swap_low.clear_ratio = 0.05: must be >= swap_low.below_ratio"
        );
        let mut c = DetectorConfig::default();
        c.headroom_forecast.clear_horizon = Dur::from_secs(60);
        let e = c
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.starts_with("detector.headroom_forecast.clear_horizon = \"1m\""),
            "{e}"
        );
    }
}
