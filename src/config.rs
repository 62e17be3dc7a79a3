//! The config file: `[detector]`, `[agent]`, `[watch]` and `[notify]`, loaded from TOML.
//!
//! Unknown keys are errors (`deny_unknown_fields`) so a typo never silently
//! means "default". Every error names the file and the key: TOML syntax and
//! type errors carry the line and key from the `toml` crate; range errors come
//! from each section's `validate()`.

use crate::agent::config::{AgentConfig, AgentConfigError};
use crate::detect::config::ConfigError as DetectorConfigError;
use crate::detect::DetectorConfig;
use crate::notify::{NotifyConfig, NotifyError};
use crate::watch::{WatchConfig, WatchConfigError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The whole config file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Thresholds of the detector.
    pub detector: DetectorConfig,
    /// The on-host daemon.
    pub agent: AgentConfig,
    /// The fleet watcher (`memcanary watch`).
    pub watch: WatchConfig,
    /// Where notifications go. Not re-serialized by `check-config` (it holds
    /// secrets); `check-config` lists its sinks instead.
    #[serde(skip_serializing)]
    pub notify: NotifyConfig,
}

/// Why a config file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    /// The file could not be read.
    #[error("cannot read config file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// TOML syntax, an unknown key, or a wrong type (the message names the
    /// key and line).
    #[error("{path}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: toml::de::Error,
    },
    /// A `[detector]` value out of range.
    #[error("{path}")]
    Detector {
        /// The file.
        path: PathBuf,
        /// Which key and why.
        #[source]
        source: DetectorConfigError,
    },
    /// A `[notify]` value that is wrong.
    #[error("{path}")]
    Notify {
        /// The file.
        path: PathBuf,
        /// Which key and why.
        #[source]
        source: NotifyError,
    },
    /// An `[agent]` value out of range.
    #[error("{path}")]
    Agent {
        /// The file.
        path: PathBuf,
        /// Which key and why.
        #[source]
        source: AgentConfigError,
    },
    /// A `[watch]` value that cannot be used.
    #[error("{path}")]
    Watch {
        /// The file.
        path: PathBuf,
        /// Which key and why.
        #[source]
        source: WatchConfigError,
    },
}

impl Config {
    /// Reads, parses and validates `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigFileError::Read {
            path: path.to_owned(),
            source,
        })?;
        let cfg = Config::parse(&text, path)?;
        cfg.validate(path)?;
        Ok(cfg)
    }

    /// Parses TOML text (`path` is only for messages); no validation.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigFileError> {
        toml::from_str(text).map_err(|source| ConfigFileError::Parse {
            path: path.to_owned(),
            source,
        })
    }

    /// Range and cross-field checks of every section.
    pub fn validate(&self, path: &Path) -> Result<(), ConfigFileError> {
        self.detector
            .validate()
            .map_err(|source| ConfigFileError::Detector {
                path: path.to_owned(),
                source,
            })?;
        self.agent
            .validate()
            .map_err(|source| ConfigFileError::Agent {
                path: path.to_owned(),
                source,
            })?;
        self.watch
            .validate()
            .map_err(|source| ConfigFileError::Watch {
                path: path.to_owned(),
                source,
            })?;
        self.notify
            .validate()
            .map_err(|source| ConfigFileError::Notify {
                path: path.to_owned(),
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_defaults() {
        let cfg = Config::parse("", Path::new("x.toml")).unwrap();
        assert_eq!(cfg, Config::default());
        cfg.validate(Path::new("x.toml")).unwrap();
    }

    #[test]
    fn unknown_key_names_file_and_key() {
        let e =
            Config::parse("[agent]\nintervall = \"1s\"\n", Path::new("/etc/m.toml")).unwrap_err();
        let msg = crate::logging::error_chain(&(e));
        assert!(
            msg.contains("/etc/m.toml") && msg.contains("intervall"),
            "{msg}"
        );
    }

    #[test]
    fn range_error_names_file_and_key() {
        let cfg = Config::parse("[agent]\nring_seconds = 1\n", Path::new("m.toml")).unwrap();
        let msg = crate::logging::error_chain(&cfg.validate(Path::new("m.toml")).unwrap_err());
        assert_eq!(
            msg,
            "m.toml: agent.ring_seconds = 1: must be between 10 and 86400"
        );
    }

    #[test]
    fn notify_section_is_parsed_and_validated() {
        let text = "[[notify.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:1/x\"\n";
        let cfg = Config::parse(text, Path::new("m.toml")).unwrap();
        assert_eq!(cfg.notify.sinks.len(), 1);
        cfg.validate(Path::new("m.toml")).unwrap();
        let bad = Config::parse("[notify]\nqueue_capacity = 0\n", Path::new("m.toml")).unwrap();
        let msg = crate::logging::error_chain(&bad.validate(Path::new("m.toml")).unwrap_err());
        assert!(msg.starts_with("m.toml: notify.queue_capacity"), "{msg}");
    }

    #[test]
    fn effective_config_round_trips_through_toml() {
        let text = toml::to_string(&Config::default()).unwrap();
        let back = Config::parse(&text, Path::new("x")).unwrap();
        assert_eq!(back, Config::default());
    }
}
