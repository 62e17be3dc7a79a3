//! Which rule engine the file is for, and what that version accepts.
//!
//! The one difference that matters today is `keep_firing_for`: Prometheus
//! accepts it from 2.42, vmalert from 1.90; vmalert 1.79.5 (Debian
//! bookworm's package) rejects a rule file that has it.

use std::fmt;
use std::str::FromStr;

/// The rule engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// VictoriaMetrics' vmalert (MetricsQL).
    Vmalert,
    /// Prometheus (PromQL).
    Prometheus,
}

/// A `major.minor.patch` version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

/// A version string that is not `X.Y` or `X.Y.Z`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid version {0:?}: write e.g. 2.42 or 1.79.5")]
pub struct VersionError(String);

impl FromStr for Version {
    type Err = VersionError;
    fn from_str(s: &str) -> Result<Version, VersionError> {
        let err = || VersionError(s.to_string());
        let t = s.trim().trim_start_matches('v');
        let parts: Vec<&str> = t.split('.').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(err());
        }
        let num = |i: usize| -> Result<u32, VersionError> {
            parts.get(i).map_or(Ok(0), |p| p.parse().map_err(|_| err()))
        };
        Ok(Version(num(0)?, num(1)?, num(2)?))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// An engine at a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// The engine.
    pub engine: Engine,
    /// Its version.
    pub version: Version,
}

impl Target {
    /// The engine at the version Debian bookworm ships (vmalert 1.79.5,
    /// Prometheus 2.42.0), or at `version`.
    pub fn new(engine: Engine, version: Option<Version>) -> Target {
        let default = match engine {
            Engine::Vmalert => Version(1, 79, 5),
            Engine::Prometheus => Version(2, 42, 0),
        };
        Target {
            engine,
            version: version.unwrap_or(default),
        }
    }

    /// Whether alerting rules may carry `keep_firing_for`.
    pub fn keep_firing_for(self) -> bool {
        match self.engine {
            Engine::Vmalert => self.version >= Version(1, 90, 0),
            Engine::Prometheus => self.version >= Version(2, 42, 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_firing_for_follows_the_version() {
        let v = |s: &str| Some(s.parse::<Version>().unwrap());
        assert!(!Target::new(Engine::Vmalert, None).keep_firing_for());
        assert!(Target::new(Engine::Vmalert, v("1.90")).keep_firing_for());
        assert!(Target::new(Engine::Prometheus, None).keep_firing_for());
        assert!(!Target::new(Engine::Prometheus, v("v2.41.0")).keep_firing_for());
        assert!("2".parse::<Version>().is_err());
        assert!("2.x".parse::<Version>().is_err());
    }
}
