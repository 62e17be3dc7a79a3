//! The exported rules on the labelled corpus's benign and borderline runs
//! (tests/fixtures/corpus): as memcanary evaluates them with Prometheus'
//! semantics, they must stay as quiet as the detector does: no alert on a
//! benign run, no critical on a borderline one of the evaluation set.
//! The detector's own numbers are `memcanary eval` (docs/eval.md).

use crate::common::fixture;
use memcanary::detect::{DetectorConfig, Severity};
use memcanary::eval::{Kind, Manifest, Set};
use memcanary::rules::build::{self, Options};
use memcanary::rules::target::{Engine, Target};
use memcanary::rules::{load_trace, unittest};

/// A recording's name, label, set and the alerts the rules fire on it.
type Run = (String, Kind, Set, Vec<(Severity, &'static str)>);

/// Every benign and borderline file of the corpus, with the alerts the
/// rules fire on it (severity, name).
fn quiet_runs() -> Vec<Run> {
    let m = Manifest::load(&fixture("corpus/manifest.toml")).unwrap();
    let cfg = DetectorConfig::default();
    let mut out = Vec::new();
    for e in m.entries.iter().filter(|e| e.kind != Kind::Incident) {
        let trace = load_trace(&e.file).unwrap();
        let scrape_ms = if e.name.ends_with("-5s") {
            5_000
        } else {
            15_000
        };
        let o = Options {
            target: Target::new(Engine::Prometheus, None),
            selector: String::new(),
            interval_ms: 15_000,
            scrape_interval_ms: scrape_ms,
        };
        let specs = build::alert_specs(&cfg, &o);
        let fired = unittest::first_firing(&unittest::simulate(&specs, &trace, o.interval_ms));
        let alerts = specs
            .iter()
            .filter(|s| fired.contains_key(s.name))
            .map(|s| (s.severity, s.name))
            .collect();
        out.push((e.name.clone(), e.kind, e.set, alerts));
    }
    out
}

#[test]
fn rules_stay_quiet_on_the_corpus_benign_and_borderline_runs() {
    let runs = quiet_runs();
    assert!(runs.len() >= 30, "{} runs", runs.len());
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for (name, kind, set, alerts) in &runs {
        if alerts.is_empty() {
            continue;
        }
        let line = format!("{name} ({kind:?}, {}): {alerts:?}", set.as_str());
        report.push(line.clone());
        let critical = alerts.iter().any(|a| a.0 == Severity::Critical);
        let wrong = match kind {
            Kind::Benign => true,
            _ => critical && *set == Set::Evaluation,
        };
        if wrong {
            failures.push(line);
        }
    }
    eprintln!("rules on the corpus's quiet runs:\n{}", report.join("\n"));
    assert!(
        failures.is_empty(),
        "false alarms:\n{}",
        failures.join("\n")
    );
}
