//! `memcanary rules`: the detector's rules as vmalert / Prometheus alerting
//! rules, an Alertmanager route for them, and promtool unit tests.
//!
//! Many users keep their vmalert or Prometheus and Alertmanager. This module
//! gives them memcanary's logic as files they can drop in, generated from
//! the same [`DetectorConfig`] the detector runs, so thresholds cannot drift.
//! Renderers build data ([`model`] structs, an [`expr::Expr`] tree), never
//! string templates, and write YAML to any `io::Write`.
//!
//! PromQL cannot say everything the detector does (hysteresis, the median of
//! pairwise slopes, "silent since"); [`build`] documents each gap beside
//! the rule, and docs/rules.md measures what it costs.

pub mod alertmanager;
pub mod build;
pub mod expr;
pub mod funcs;
pub mod gofmt;
pub mod model;
pub mod series;
pub mod target;
pub mod template;
pub mod unittest;

use crate::detect::DetectorConfig;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What can go wrong writing rules.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The config file could not be read, parsed or validated.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigFileError),
    /// The `--selector` is not `{label="value",...}`.
    #[error("invalid selector {0:?}: write e.g. '{{job=\"node\"}}'")]
    Selector(String),
    /// The trace could not be read.
    #[error("reading trace {path}")]
    ReadTrace {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The trace is malformed.
    #[error("trace {path}")]
    Trace {
        /// The file.
        path: PathBuf,
        /// Which line, what.
        #[source]
        source: series::TraceError,
    },
    /// YAML could not be written.
    #[error("writing YAML")]
    Yaml(#[from] serde_saphyr::ser::Error),
    /// The output could not be written.
    #[error("writing output")]
    Write(#[from] std::io::Error),
}

/// Reads the memcanary config file (the one the agent and `replay` read)
/// and returns its validated `[detector]` table.
pub fn load_config(path: &Path) -> Result<DetectorConfig, RulesError> {
    Ok(crate::config::Config::load(path)?.detector)
}

/// The matchers inside `{...}`: `{job="node"}` -> `job="node"`.
pub fn parse_selector(s: &str) -> Result<String, RulesError> {
    let t = s.trim();
    let inner = t
        .strip_prefix('{')
        .and_then(|x| x.strip_suffix('}'))
        .unwrap_or(t)
        .trim();
    let ok = inner.is_empty()
        || (inner.contains('=')
            && !inner.contains(['{', '}'])
            && inner.matches('"').count() % 2 == 0);
    if ok {
        Ok(inner.to_string())
    } else {
        Err(RulesError::Selector(s.to_string()))
    }
}

fn write_yaml<T: serde::Serialize>(v: &T, mut w: impl Write) -> Result<(), RulesError> {
    serde_saphyr::to_io_writer(&mut w, v)?;
    w.flush()?;
    Ok(())
}

/// Writes the rule file.
pub fn write_rules(
    cfg: &DetectorConfig,
    o: &build::Options,
    w: impl Write,
) -> Result<(), RulesError> {
    let specs = build::alert_specs(cfg, o);
    write_yaml(&build::rule_file(&specs, o), w)
}

/// Writes the Alertmanager config.
pub fn write_alertmanager(o: &alertmanager::AmOptions, w: impl Write) -> Result<(), RulesError> {
    write_yaml(&alertmanager::config(o), w)
}

/// Writes a promtool unit-test file for `trace`.
pub fn write_tests(
    cfg: &DetectorConfig,
    o: &build::Options,
    trace: &series::Trace,
    rule_file: &str,
    name: &str,
    w: impl Write,
) -> Result<(), RulesError> {
    let specs = build::alert_specs(cfg, o);
    let file = unittest::test_file(&specs, trace, o.interval_ms, rule_file, name);
    write_yaml(&file, w)
}

/// Reads a VictoriaMetrics export trace from a file (plain or `.gz`).
pub fn load_trace(path: &Path) -> Result<series::Trace, RulesError> {
    let read_err = |source| RulesError::ReadTrace {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let mut text = Vec::new();
    if path.extension().is_some_and(|e| e == "gz") {
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(file), &mut text)
    } else {
        std::io::Read::read_to_end(&mut std::io::BufReader::new(file), &mut text)
    }
    .map_err(read_err)?;
    series::parse_export(&text).map_err(|source| RulesError::Trace {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests;
