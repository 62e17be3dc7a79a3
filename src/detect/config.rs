//! Detector configuration: every threshold lives here, with its default.
//!
//! Stage one of the config pipeline: plain serde structs with
//! `deny_unknown_fields`, whose doc comments are the reference
//! (`docs/config.md`). [`DetectorConfig::validate`] is stage two: pure range
//! and cross-field checks whose errors name the key path and quote the value.

use super::duration::Dur;
use super::event::Severity;
use serde::{Deserialize, Serialize};

/// The detector's settings (`[detector]` in the config file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorConfig {
    /// Window for rates of PSI stall time, major faults and swap-in
    /// (PromQL's `rate(x[1m])`).
    pub rate_window: Dur,
    /// Window for the robust slope of headroom (`MemAvailable + SwapFree`).
    pub trend_window: Dur,
    /// Window over which "recent drain" is judged: the forecast only counts
    /// while headroom is still falling over this last stretch.
    pub recent_window: Dur,
    /// A host is silent once no sample came for this many median sample
    /// intervals...
    pub stale_after_intervals: f64,
    /// ...but never sooner than this.
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
    /// Critical: the kernel's OOM killer fired.
    pub oom_kill: OomKillRule,
    /// Critical: the host stopped reporting while under pressure.
    pub went_dark: WentDarkRule,
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
    /// How long the condition must hold before firing.
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
    /// Fires when headroom is forecast to run out within this time.
    pub horizon: Dur,
    /// Clears once the forecast is beyond this time (or the drain stopped).
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
    /// with PSI "some" above `psi_rising.above_ratio`).
    pub eta: Dur,
    /// Clears once headroom is back above this fraction.
    pub clear_headroom_ratio: f64,
    /// How long the condition must hold.
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
    /// below `exhaustion_imminent.below_headroom_ratio`, an OOM kill.
    pub min_corroborating: u32,
    /// Major faults per second that count as corroboration.
    pub major_faults_per_s: f64,
    /// Swap-in pages per second that count as corroboration.
    pub swap_in_pages_per_s: f64,
    /// Clears once PSI "full" is below this fraction.
    pub clear_ratio: f64,
    /// How long the condition must hold.
    #[serde(rename = "for")]
    pub for_: Dur,
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WentDarkRule {
    /// Turn the rule off.
    pub enabled: bool,
    /// Counts as "under pressure" when silence starts: any memcanary rule
    /// firing, the forecast pending, PSI "some" above
    /// `psi_rising.above_ratio`, or headroom below this fraction of capacity.
    pub below_headroom_ratio: f64,
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
            oom_kill: OomKillRule::default(),
            went_dark: WentDarkRule::default(),
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
            max_headroom_ratio: 1.0,
            min_recent_fraction: 0.3,
            for_: Dur::from_secs(120),
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
            for_: Dur::default(),
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
            for_: Dur::default(),
        }
    }
}

impl Default for WentDarkRule {
    fn default() -> Self {
        WentDarkRule {
            enabled: true,
            below_headroom_ratio: 0.10,
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

fn positive(key: &str, d: Dur) -> Result<(), ConfigError> {
    if d.as_millis() > 0 {
        Ok(())
    } else {
        Err(ConfigError {
            key: key.into(),
            value: format!("\"{d}\""),
            why: "must be longer than 0s".into(),
        })
    }
}

impl DetectorConfig {
    /// Range and cross-field checks. Pure; the first problem found is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        positive("rate_window", self.rate_window)?;
        positive("trend_window", self.trend_window)?;
        positive("recent_window", self.recent_window)?;
        if !(self.stale_after_intervals >= 1.0 && self.stale_after_intervals.is_finite()) {
            return Err(ConfigError {
                key: "stale_after_intervals".into(),
                value: self.stale_after_intervals.to_string(),
                why: "must be a number >= 1".into(),
            });
        }
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
        positive("headroom_forecast.horizon", f.horizon)?;
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
        let t = &self.thrashing;
        ratio("thrashing.psi_full_above_ratio", t.psi_full_above_ratio)?;
        ratio("thrashing.clear_ratio", t.clear_ratio)?;
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
        Ok(())
    }
}

/// A config file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Unreadable.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not valid TOML or unknown keys.
    #[error("config {path}: {source}")]
    Parse {
        /// The file.
        path: String,
        /// Why (names the key and line).
        source: toml::de::Error,
    },
    /// Out of range.
    #[error("config {path}: {source}")]
    Invalid {
        /// The file.
        path: String,
        /// Which key and why.
        source: ConfigError,
    },
}

/// Reads the `[detector]` table of a config file (other tables are left to
/// their owners), validated.
pub fn load_detector_config(path: &std::path::Path) -> Result<DetectorConfig, LoadError> {
    let p = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: p.clone(),
        source,
    })?;
    #[derive(Deserialize)]
    struct File {
        #[serde(default)]
        detector: DetectorConfig,
    }
    let file: File = toml::from_str(&text).map_err(|source| LoadError::Parse {
        path: p.clone(),
        source,
    })?;
    file.detector
        .validate()
        .map_err(|source| LoadError::Invalid { path: p, source })?;
    Ok(file.detector)
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
