//! `--sweep KEY=V1,V2,...`: detector settings to try, one row each.
//!
//! A key is a path in `[detector]` (`headroom_forecast.horizon`, with or
//! without a leading `detector.`); each value is a TOML value (`0.5`,
//! `"10m"`, `true`) or, failing that, a string (`10m`). Several sweeps give
//! every combination. Each setting goes through the detector's own
//! validation, so a sweep can only try what a config file could say.

use crate::detect::DetectorConfig;

/// One `--sweep` argument.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// Path below `[detector]`, split on `.`.
    pub key: Vec<String>,
    /// The values to try.
    pub values: Vec<toml::Value>,
}

/// One setting: the overrides, and the config they give.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    /// `key=value`, in sweep order (empty: the config as given).
    pub label: String,
    /// The detector config.
    pub config: DetectorConfig,
}

/// A sweep that cannot be applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SweepError {
    /// Not `KEY=V1,V2`.
    #[error("--sweep {0:?}: expected KEY=V1,V2,... (e.g. headroom_forecast.horizon=10m,20m)")]
    Syntax(String),
    /// The key is not a detector setting.
    #[error("--sweep: {0:?} is not a [detector] setting")]
    UnknownKey(String),
    /// The value does not fit the key, or the config it gives is invalid.
    #[error("--sweep {label}: {why}")]
    Invalid {
        /// `key=value`.
        label: String,
        /// What the config said.
        why: String,
    },
}

impl std::str::FromStr for Sweep {
    type Err = SweepError;

    fn from_str(s: &str) -> Result<Sweep, SweepError> {
        let bad = || SweepError::Syntax(s.to_string());
        let (key, values) = s.split_once('=').ok_or_else(bad)?;
        let key = key.trim().strip_prefix("detector.").unwrap_or(key.trim());
        if key.is_empty() || values.trim().is_empty() {
            return Err(bad());
        }
        Ok(Sweep {
            key: key.split('.').map(str::to_string).collect(),
            values: values.split(',').map(|v| value(v.trim())).collect(),
        })
    }
}

fn value(v: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {v}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(v.to_string()))
}

/// Every combination of the sweeps over `base` (just `base` without any).
pub fn settings(base: &DetectorConfig, sweeps: &[Sweep]) -> Result<Vec<Setting>, SweepError> {
    let mut out = vec![(String::new(), table(base))];
    for sw in sweeps {
        let mut next = Vec::with_capacity(out.len() * sw.values.len());
        for (label, t) in &out {
            for v in &sw.values {
                let mut t = t.clone();
                set(&mut t, &sw.key, v.clone())?;
                let item = format!("{}={v}", sw.key.join("."));
                let label = if label.is_empty() {
                    item
                } else {
                    format!("{label} {item}")
                };
                next.push((label, t));
            }
        }
        out = next;
    }
    out.into_iter().map(|(label, t)| build(label, t)).collect()
}

fn table(cfg: &DetectorConfig) -> toml::Table {
    toml::Table::try_from(cfg).unwrap_or_default()
}

fn set(t: &mut toml::Table, key: &[String], v: toml::Value) -> Result<(), SweepError> {
    let unknown = || SweepError::UnknownKey(key.join("."));
    let (last, path) = key.split_last().ok_or_else(unknown)?;
    let mut at = t;
    for k in path {
        at = at
            .get_mut(k)
            .and_then(toml::Value::as_table_mut)
            .ok_or_else(unknown)?;
    }
    let slot = at
        .get_mut(last)
        .filter(|s| !s.is_table())
        .ok_or_else(unknown)?;
    *slot = v;
    Ok(())
}

fn build(label: String, t: toml::Table) -> Result<Setting, SweepError> {
    let invalid = |why: String| SweepError::Invalid {
        label: label.clone(),
        why,
    };
    let config: DetectorConfig = t
        .try_into()
        .map_err(|e: toml::de::Error| invalid(e.message().to_string()))?;
    config.validate().map_err(|e| invalid(e.to_string()))?;
    Ok(Setting { label, config })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweeps(args: &[&str]) -> Vec<Sweep> {
        args.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn every_combination_in_sweep_order() {
        let s = settings(
            &DetectorConfig::default(),
            &sweeps(&[
                "headroom_forecast.horizon=10m,20m",
                "detector.swap_low.below_ratio=0.1,0.2",
            ]),
        )
        .unwrap();
        let labels: Vec<_> = s.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "headroom_forecast.horizon=\"10m\" swap_low.below_ratio=0.1",
                "headroom_forecast.horizon=\"10m\" swap_low.below_ratio=0.2",
                "headroom_forecast.horizon=\"20m\" swap_low.below_ratio=0.1",
                "headroom_forecast.horizon=\"20m\" swap_low.below_ratio=0.2",
            ]
        );
        assert_eq!(s[3].config.swap_low.below_ratio, 0.2);
        assert_eq!(s[3].config.headroom_forecast.horizon.to_string(), "20m");
    }

    #[test]
    fn no_sweep_is_the_base_config() {
        let s = settings(&DetectorConfig::default(), &[]).unwrap();
        assert_eq!(
            s,
            vec![Setting {
                label: String::new(),
                config: DetectorConfig::default()
            }]
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let base = DetectorConfig::default();
        let e = settings(&base, &sweeps(&["headroom_forecast.horizn=10m"])).unwrap_err();
        assert_eq!(e, SweepError::UnknownKey("headroom_forecast.horizn".into()));
        let e = settings(&base, &sweeps(&["headroom_forecast=1"])).unwrap_err();
        assert_eq!(e, SweepError::UnknownKey("headroom_forecast".into()));
        let e = settings(&base, &sweeps(&["swap_low.below_ratio=7"])).unwrap_err();
        assert!(
            matches!(e, SweepError::Invalid { ref label, .. } if label == "swap_low.below_ratio=7"),
            "{e}"
        );
        assert!("nokey".parse::<Sweep>().is_err());
        assert!("a=".parse::<Sweep>().is_err());
    }
}
