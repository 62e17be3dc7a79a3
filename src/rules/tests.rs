//! Snapshot and round-trip tests of the generated files.

use super::alertmanager::{self, AmOptions};
use super::build::{self, Options};
use super::model::{RuleFile, TestFile};
use super::target::{Engine, Target, Version};
use super::*;
use crate::testing::{fixture, gzipped_copy};

fn options(engine: Engine, selector: &str) -> Options {
    Options {
        target: Target::new(engine, None),
        selector: parse_selector(selector).unwrap(),
        interval_ms: 15_000,
        scrape_interval_ms: 15_000,
    }
}

fn rules_yaml(cfg: &DetectorConfig, o: &Options) -> String {
    let mut out = Vec::new();
    write_rules(cfg, o, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn default_config_prometheus() {
    let o = options(Engine::Prometheus, "");
    let yaml = rules_yaml(&DetectorConfig::default(), &o);
    insta::assert_snapshot!(yaml);
    let back: RuleFile = serde_saphyr::from_str(&yaml).unwrap();
    let specs = build::alert_specs(&DetectorConfig::default(), &o);
    assert_eq!(back, build::rule_file(&specs, &o));
    assert_eq!(back.groups[0].rules.len(), 9);
    assert!(back.groups[0]
        .rules
        .iter()
        .any(|r| r.keep_firing_for.is_some()));
}

#[test]
fn custom_config_vmalert_with_selector() {
    let cfg = load_config(&fixture("rules/custom.toml")).unwrap();
    let mut o = options(Engine::Vmalert, r#"{job="node",env="prod"}"#);
    o.scrape_interval_ms = 30_000;
    let yaml = rules_yaml(&cfg, &o);
    insta::assert_snapshot!(yaml);
    let back: RuleFile = serde_saphyr::from_str(&yaml).unwrap();
    let rules = &back.groups[0].rules;
    assert!(rules.iter().all(|r| r.keep_firing_for.is_none()));
    assert!(!rules
        .iter()
        .any(|r| r.alert == "MemcanaryMemAvailableCollapse"));
    assert!(rules
        .iter()
        .all(|r| r.expr.contains(r#"{job="node",env="prod"}"#)));
    let swap = rules
        .iter()
        .find(|r| r.alert == "MemcanarySwapLow")
        .unwrap();
    assert!(swap.expr.contains("< 0.1)"), "{}", swap.expr);
    assert_eq!(swap.for_.as_deref(), Some("3m"));
}

#[test]
fn keep_firing_for_only_where_the_version_takes_it() {
    let cfg = DetectorConfig::default();
    let mut o = options(Engine::Vmalert, "");
    o.target = Target::new(Engine::Vmalert, Some(Version(1, 93, 0)));
    assert!(rules_yaml(&cfg, &o).contains("keep_firing_for"));
    o.target = Target::new(Engine::Prometheus, Some(Version(2, 41, 0)));
    assert!(!rules_yaml(&cfg, &o).contains("keep_firing_for"));
}

#[test]
fn alertmanager_snippet() {
    let old = AmOptions {
        version: Version(0, 25, 0),
        webhook_url_file: "/etc/alertmanager/discord-webhook-url".into(),
    };
    let mut out = Vec::new();
    write_alertmanager(&old, &mut out).unwrap();
    let yaml = String::from_utf8(out).unwrap();
    insta::assert_snapshot!(yaml);
    let back: alertmanager::AmConfig = serde_saphyr::from_str(&yaml).unwrap();
    assert_eq!(back, alertmanager::config(&old));
    let new = AmOptions {
        version: Version(0, 28, 1),
        ..old
    };
    let c = alertmanager::config(&new);
    let d = &c.receivers[1].discord_configs[0];
    assert_eq!(d.webhook_url, None);
    assert_eq!(
        d.webhook_url_file.as_deref(),
        Some("/etc/alertmanager/discord-webhook-url")
    );
}

#[test]
fn config_errors_name_the_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.toml");
    std::fs::write(&p, "[detector.swap_low]\nbelow_ratio = 2.0\n").unwrap();
    let e = crate::logging::error_chain(&(load_config(&p).unwrap_err()));
    assert!(e.contains("bad.toml: detector.swap_low.below_ratio"), "{e}");
    assert!(e.contains("detector.swap_low.below_ratio = 2"), "{e}");
    std::fs::write(&p, "[detector.swap_low]\nbelow = 2.0\n").unwrap();
    let e = crate::logging::error_chain(&(load_config(&p).unwrap_err()));
    assert!(e.contains("unknown field `below`"), "{e}");
}

#[test]
fn selectors() {
    assert_eq!(parse_selector("").unwrap(), "");
    assert_eq!(parse_selector(r#"{job="node"}"#).unwrap(), r#"job="node""#);
    assert_eq!(parse_selector(r#"job=~"n.*""#).unwrap(), r#"job=~"n.*""#);
    assert!(parse_selector("{job}").is_err());
    assert!(parse_selector(r#"{job="a"}}"#).is_err());
}

#[test]
fn incident_trace_test_file_round_trips_and_warns_before_the_gap() {
    let trace = load_trace(&fixture("traces/incident/export-incident-15s.jsonl")).unwrap();
    let o = options(Engine::Prometheus, "");
    let cfg = DetectorConfig::default();
    let mut out = Vec::new();
    write_tests(&cfg, &o, &trace, "rules.yml", "incident", &mut out).unwrap();
    let back: TestFile = serde_saphyr::from_str(std::str::from_utf8(&out).unwrap()).unwrap();
    assert_eq!(back.rule_files, ["rules.yml"]);
    let specs = build::alert_specs(&cfg, &o);
    let first = unittest::first_firing(&unittest::simulate(&specs, &trace, 15_000));
    // The 15 s job's first failed scrape is at 23:06:09, t = 9m29s.
    let gap = 9 * 60_000 + 29_000;
    // Minutes ahead: the forecast now waits for headroom below
    // `max_headroom_ratio` (the detector warns 2m36s ahead on this trace).
    let forecast = first["MemcanaryHeadroomForecast"];
    assert!(forecast + 2 * 60_000 <= gap, "forecast at {forecast} ms");
    assert!(first["MemcanaryWentDark"] >= gap, "{first:?}");
}

#[test]
fn benign_trace_stays_quiet() {
    let trace = load_trace(&fixture("traces/benign-high/export-benign-high-15s.jsonl")).unwrap();
    let o = options(Engine::Prometheus, "");
    let specs = build::alert_specs(&DetectorConfig::default(), &o);
    let first = unittest::first_firing(&unittest::simulate(&specs, &trace, 15_000));
    assert!(first.is_empty(), "{first:?}");
}

#[test]
fn gzipped_traces_read_like_plain_ones() {
    let plain = fixture("traces/benign-high/export-benign-high-15s.jsonl");
    let dir = tempfile::tempdir().unwrap();
    let gz = gzipped_copy(&plain, dir.path(), "trace.jsonl.gz");
    assert_eq!(load_trace(&gz).unwrap(), load_trace(&plain).unwrap());
    let e = load_trace(&dir.path().join("missing.jsonl")).unwrap_err();
    assert!(e.to_string().contains("missing.jsonl"), "{e}");
}

#[test]
fn top_level_clauses_get_a_line_each() {
    let o = options(Engine::Prometheus, "");
    let specs = build::alert_specs(&DetectorConfig::default(), &o);
    let forecast = specs.iter().find(|s| s.name == build::FORECAST).unwrap();
    let pretty = forecast.expr.render_pretty("");
    assert_eq!(pretty.lines().count(), 7, "{pretty}");
    // `and` is left-associative: the flat chain is the nested one without
    // its grouping parentheses.
    let strip = |s: &str| s.replace(['(', ')'], "").replace('\n', " ");
    assert_eq!(strip(&pretty), strip(&forecast.expr.render("")));
}
