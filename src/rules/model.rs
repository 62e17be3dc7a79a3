//! The shapes of the files `memcanary rules` writes, as serde structs.
//!
//! Prometheus and vmalert read the same rule-file layout (`groups:` of
//! recording and alerting rules); promtool reads unit-test files; Alertmanager
//! reads its own config. Each struct here mirrors only the fields memcanary
//! writes, and derives `Deserialize` too so tests can parse the output back.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A rule file: `groups:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleFile {
    /// The rule groups.
    pub groups: Vec<RuleGroup>,
}

/// One rule group, evaluated every `interval`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleGroup {
    /// Group name.
    pub name: String,
    /// Evaluation interval (`15s`).
    pub interval: String,
    /// Rules, evaluated in order.
    pub rules: Vec<Rule>,
}

/// One alerting rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Alert name (`MemcanaryHeadroomForecast`).
    pub alert: String,
    /// The PromQL / MetricsQL expression.
    pub expr: String,
    /// How long the expression must hold before the alert fires.
    #[serde(rename = "for", default, skip_serializing_if = "Option::is_none")]
    pub for_: Option<String>,
    /// How long the alert keeps firing after the expression stops holding
    /// (Prometheus >= 2.42, vmalert >= 1.90).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_firing_for: Option<String>,
    /// Labels added to the alert (`severity`, `rule`).
    pub labels: BTreeMap<String, String>,
    /// Annotations (`summary`, `description`), Go templates.
    pub annotations: BTreeMap<String, String>,
}

/// A promtool unit-test file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestFile {
    /// Rule files under test, relative to the test file.
    pub rule_files: Vec<String>,
    /// Rule evaluation interval during the test.
    pub evaluation_interval: String,
    /// Test cases.
    pub tests: Vec<TestCase>,
}

/// One promtool test case: input series and the alerts expected at times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestCase {
    /// What the case is.
    pub name: String,
    /// Spacing of the input series' values.
    pub interval: String,
    /// The input series.
    pub input_series: Vec<InputSeries>,
    /// Alert checks.
    pub alert_rule_test: Vec<AlertTest>,
}

/// One input series in promtool's notation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputSeries {
    /// `name{label="value",...}`.
    pub series: String,
    /// Space-separated values; `_` missing, `stale` a staleness marker.
    pub values: String,
}

/// The alerts of one name expected firing at one evaluation time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertTest {
    /// Time since the start of the series (`5m15s`).
    pub eval_time: String,
    /// The alert name checked.
    pub alertname: String,
    /// Exactly the alerts firing then (empty: none).
    pub exp_alerts: Vec<ExpAlert>,
}

/// One expected firing alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpAlert {
    /// Labels, without `alertname`.
    pub exp_labels: BTreeMap<String, String>,
    /// Annotations, expanded.
    pub exp_annotations: BTreeMap<String, String>,
}
