//! `memcanary eval` through the real binary: a manifest of the lab traces,
//! its totals and envelope, a sweep, and bad manifests and sweeps.

use crate::common::{lab_trace, memcanary};
use std::path::Path;

/// A manifest of the four lab runs (5 s files): two incidents, two benign.
fn manifest(dir: &Path) -> std::path::PathBuf {
    let entry = |run: &str, kind: &str, start: &str, cliff: Option<&str>| {
        let cliff = cliff
            .map(|c| format!("cliff = \"{c}\"\n"))
            .unwrap_or_default();
        format!(
            "[[trace]]\nfile = {:?}\nrun = \"{run}\"\nkind = \"{kind}\"\nset = \"{set}\"\nworkload_start = \"{start}\"\n{cliff}\n",
            lab_trace(run, "5s"),
            set = if kind == "benign" { "tuning" } else { "evaluation" },
        )
    };
    let text = [
        entry(
            "incident",
            "incident",
            "2026-11-27T22:57:54.775Z",
            Some("2026-11-27T23:06:01.344Z"),
        ),
        entry(
            "fast-spike",
            "incident",
            "2026-11-27T23:07:30.616Z",
            Some("2026-11-27T23:09:05.825Z"),
        ),
        entry("benign-high", "benign", "2026-11-27T22:58:23.492Z", None),
        entry("cache-heavy", "benign", "2026-11-27T23:18:11.842Z", None),
    ]
    .concat();
    let path = dir.join("manifest.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `memcanary eval MANIFEST --json ARGS`, which must succeed.
fn eval_json(manifest: &Path, args: &[&str]) -> serde_json::Value {
    let out = memcanary()
        .arg("eval")
        .arg(manifest)
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn eval_scores_every_recording_and_each_set() {
    let dir = tempfile::tempdir().unwrap();
    let v = eval_json(&manifest(dir.path()), &[]);
    let row = &v[0];
    assert_eq!(row["traces"].as_array().unwrap().len(), 4);
    let sets: Vec<_> = row["totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["set"].clone())
        .collect();
    assert_eq!(
        sets,
        [
            serde_json::json!("tuning"),
            serde_json::json!("evaluation"),
            serde_json::Value::Null
        ]
    );
    // The whole manifest: two incidents; the lab incident is warned minutes
    // ahead (its replay warns 2m55s before the 5 s job's first failed scrape:
    // the forecast waits for headroom below `max_headroom_ratio`).
    let all = &row["totals"][2];
    assert_eq!(all["memcanary"]["incidents"], 2);
    let incident = &row["traces"][0];
    let lead = incident["first_alert"]["lead_seconds"].as_f64().unwrap();
    assert!(lead > 150.0, "{incident}");
    // The envelope needs benign runs: the evaluation set alone has none.
    assert!(row["totals"][1]["envelope"].is_null());
    assert!(all["envelope"]["benign_floor_ratio"].as_f64().unwrap() > 0.0);
}

#[test]
fn eval_sweep_prints_one_row_per_setting() {
    let dir = tempfile::tempdir().unwrap();
    let out = memcanary()
        .arg("eval")
        .arg(manifest(dir.path()))
        .args(["--sweep", "headroom_forecast.horizon=5m,30m"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("headroom_forecast.horizon=\"5m\""), "{text}");
    assert!(text.contains("headroom_forecast.horizon=\"30m\""), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with('*')),
        "no Pareto row: {text}"
    );
}

#[test]
fn eval_names_the_bad_entry_key_or_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[trace]]\nfile = \"x.jsonl\"\nkind = \"incident\"\nset = \"tuning\"\nworkload_start = \"2026-11-27T22:57:54Z\"\n",
    )
    .unwrap();
    let out = memcanary().arg("eval").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml: trace[0].cliff: an incident needs its cliff"),
        "{err}"
    );

    let out = memcanary()
        .arg("eval")
        .arg(manifest(dir.path()))
        .args(["--sweep", "headroom_forecast.horizn=5m"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("\"headroom_forecast.horizn\" is not a [detector] setting"),
        "{err}"
    );
}

#[test]
fn the_shipped_corpus_manifest_loads_and_scores() {
    let v = eval_json(&crate::common::fixture("corpus/manifest.toml"), &[]);
    let traces = v[0]["traces"].as_array().unwrap();
    assert!(traces.len() >= 24, "{} recordings", traces.len());
    for set in ["tuning", "evaluation"] {
        for kind in ["incident", "benign", "borderline"] {
            assert!(
                traces.iter().any(|t| t["set"] == set && t["kind"] == kind),
                "no {kind} recording in the {set} set"
            );
        }
    }
}

#[test]
fn eval_into_a_closed_pipe_exits_0_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let m = manifest(dir.path());
    let (code, err) = crate::common::with_stdout_closed(&["eval".as_ref(), m.as_ref()]);
    assert_eq!((code, err.as_str()), (Some(0), ""));
}

#[test]
fn eval_set_scores_only_that_set() {
    let dir = tempfile::tempdir().unwrap();
    let v = eval_json(&manifest(dir.path()), &["--set", "evaluation"]);
    let traces = v[0]["traces"].as_array().unwrap();
    assert_eq!(traces.len(), 2, "the two incidents of the evaluation set");
    assert!(traces.iter().all(|t| t["set"] == "evaluation"));
    assert_eq!(v[0]["totals"].as_array().unwrap().len(), 1);
    let bad = memcanary()
        .arg("eval")
        .arg(manifest(dir.path()))
        .args(["--set", "holdout"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("expected tuning or evaluation"), "{err}");
}

/// Issue 16's acceptance on the shipped corpus's evaluation set, with the
/// defaults (chosen on the tuning set): no alert on a benign run, no
/// critical on a borderline one, a median lead at least the envelope limit.
#[test]
fn the_defaults_hold_on_the_evaluation_set() {
    let v = eval_json(
        &crate::common::fixture("corpus/manifest.toml"),
        &["--set", "evaluation"],
    );
    let t = &v[0]["totals"][0];
    let m = &t["memcanary"];
    assert_eq!(m["benign_alarms"], 0, "{m}");
    assert_eq!(m["borderline_criticals"], 0, "{m}");
    let median = m["median_lead_fraction"].as_f64().unwrap();
    let limit = t["envelope"]["median_lead_fraction"].as_f64().unwrap();
    assert!(
        median >= limit,
        "median {median} below the envelope {limit}"
    );
}
