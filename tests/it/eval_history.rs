//! The host's own history through `memcanary eval`: the composed multi-day
//! traces (tests/fixtures/corpus/composed/: four benign nights of one guest
//! size, then an incident or borderline night), scored night by night.

use crate::common::{fixture, memcanary};
use std::path::Path;

/// `memcanary eval` on the composed manifest with `config`, as JSON.
fn eval(config: &Path) -> serde_json::Value {
    let out = memcanary()
        .arg("eval")
        .arg(fixture("corpus/composed/manifest.toml"))
        .arg("--config")
        .arg(config)
        .arg("--json")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The config file with `[detector.history] enabled = on`.
fn history(dir: &Path, on: bool) -> std::path::PathBuf {
    let path = dir.join(format!("history-{on}.toml"));
    std::fs::write(&path, format!("[detector.history]\nenabled = {on}\n")).unwrap();
    path
}

/// Each night's first alert's lead fraction (incidents), or whether it
/// alerted at all (-1: no alert), by name.
fn leads(v: &serde_json::Value) -> Vec<(String, String, f64)> {
    v[0]["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let lead = match &t["first_alert"] {
                serde_json::Value::Null => -1.0,
                a => a["fraction"].as_f64().unwrap_or(0.0),
            };
            let name = t["name"].as_str().unwrap_or_default().to_string();
            (
                name,
                t["kind"].as_str().unwrap_or_default().to_string(),
                lead,
            )
        })
        .collect()
}

#[test]
fn history_warns_an_idle_host_leaving_its_envelope_earlier_and_benign_nights_stay_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let off = leads(&eval(&history(dir.path(), false)));
    let on = leads(&eval(&history(dir.path(), true)));
    assert_eq!(off.len(), on.len());
    for ((name, kind, lead_off), (_, _, lead_on)) in off.iter().zip(&on) {
        if kind == "benign" {
            assert_eq!((*lead_off, *lead_on), (-1.0, -1.0), "{name} alerted");
        }
        if kind == "incident" {
            assert!(lead_on >= lead_off, "{name}: {lead_on} < {lead_off}");
        }
    }
    let swarm = |v: &[(String, String, f64)]| {
        v.iter()
            .find(|t| t.0 == "t1g-idle-swarm-n5-swarm-1g")
            .map(|t| t.2)
            .unwrap()
    };
    // Four idle nights at 86 % headroom: with history the swarm is warned
    // when it leaves them (gate 81 %), not at the 45 % every host gets.
    assert!(swarm(&off) < 0.2, "{}", swarm(&off));
    assert!(swarm(&on) > 0.5, "{}", swarm(&on));
}

#[test]
fn a_night_is_scored_alone_with_no_history_before_it() {
    // The first nights of a composition see no floor yet: scored alone,
    // each is what the standalone recording gives (here: quiet).
    let dir = tempfile::tempdir().unwrap();
    let v = eval(&history(dir.path(), true));
    let traces = v[0]["traces"].as_array().unwrap();
    assert_eq!(traces.len(), 90, "18 compositions of 5 nights");
    let n1 = traces
        .iter()
        .find(|t| t["name"] == "t1g-idle-swarm-n1-idle-1g")
        .unwrap();
    assert!(n1["first_alert"].is_null());
    let floor = n1["min_headroom_ratio"].as_f64().unwrap();
    assert!((0.8..0.9).contains(&floor), "{floor}");
}
