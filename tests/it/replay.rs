//! `memcanary replay` on the recorded incidents and benign runs, through the
//! real CLI: the acceptance of the foundation issue.

use crate::common::{fixture, memcanary, replay_table_args, root};
use serde_json::Value;
use std::path::Path;

fn replay_json(file: &Path, extra: &[&str]) -> Vec<Value> {
    let out = memcanary()
        .arg("replay")
        .arg("--json")
        .args(extra)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap()
}

fn ts(v: &Value) -> i64 {
    let s = v.as_str().unwrap_or_else(|| panic!("not a timestamp: {v}"));
    s.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

fn firing(rep: &Value, severity: &str) -> Option<i64> {
    rep["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["state"] == "firing" && e["severity"] == severity)
        .map(|e| ts(&e["at"]))
}

#[test]
fn incident_184_reconstruction_warns_at_least_ten_minutes_before_the_gap() {
    let reps = replay_json(&fixture("incident-184/export-kai-server-15s.jsonl"), &[]);
    assert_eq!(reps.len(), 1);
    let rep = &reps[0];
    assert_eq!(rep["instance"], "kai-server");
    assert_eq!(rep["cliff"]["kind"], "data_gap");
    // The report's 03:15 PDT: node_exporter's last sample.
    assert_eq!(rep["cliff"]["at"], "2026-05-30T10:15:00Z");
    let lead = rep["lead_time_seconds"].as_f64().unwrap();
    assert!(lead >= 600.0, "first warning only {lead} s before the gap");
    let warn = firing(rep, "warning").unwrap();
    assert_eq!(ts(&rep["first_alert"]), warn);
    // The first alert is the leading edge, with its ETA in the evidence.
    let first = rep["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["state"] == "firing")
        .unwrap();
    assert_eq!(first["rule"], "headroom_forecast");
    assert!(first["evidence"]["eta_seconds"].as_f64().unwrap() > 0.0);
    // Going silent under pressure pages; it does not resolve anything.
    let dark = rep["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["rule"] == "went_dark")
        .unwrap();
    assert_eq!(dark["state"], "firing");
    assert_eq!(dark["severity"], "critical");
    // Every baseline is reported; the user's own rule never fires before the gap.
    let names: Vec<_> = rep["baselines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 10);
    let user = &rep["baselines"][0];
    assert_eq!(user["name"], "user_swap_free_below_15pct_5m");
    assert!(user["first_firing"].is_null(), "{user}");
    for b in rep["baselines"].as_array().unwrap() {
        if let Some(l) = b["lead_time_seconds"].as_f64() {
            assert!(
                l < lead || b["name"] == "plain_predict_linear_30m",
                "{} beat memcanary: {b}",
                b["name"]
            );
        }
    }
}

/// The lab incidents: warned before the cliff at every scrape interval.
#[test]
fn lab_incident_warns_before_its_cliff_at_5_15_and_30_s() {
    for every in ["5s", "15s", "30s"] {
        let reps = replay_json(
            &fixture("traces/incident/export-incident-5s.jsonl"),
            &["--downsample", every],
        );
        let rep = &reps[0];
        let cliff = ts(&rep["cliff"]["at"]);
        let warn = firing(rep, "warning").unwrap_or(i64::MAX);
        assert!(
            warn < cliff - 120_000,
            "{every}: warning {warn} vs cliff {cliff}"
        );
        let crit = firing(rep, "critical").unwrap();
        assert!(crit <= cliff, "{every}: critical after the cliff");
    }
}

/// The benign runs stay quiet: no firing event of any memcanary rule.
#[test]
fn benign_runs_stay_quiet_at_5_15_and_30_s() {
    for run in [
        "benign-high/export-benign-high-5s.jsonl",
        "cache-heavy/export-cache-heavy-5s.jsonl",
    ] {
        for every in ["5s", "15s", "30s"] {
            let reps = replay_json(&fixture(&format!("traces/{run}")), &["--downsample", every]);
            let rep = &reps[0];
            assert!(
                rep["first_alert"].is_null(),
                "{run} at {every}: {}",
                rep["events"]
            );
            assert!(rep["cliff"].is_null(), "{run} at {every}: {}", rep["cliff"]);
        }
    }
}

/// The fast spike leaves nothing to see before the OOM kill; memcanary says
/// so the moment the data shows it.
#[test]
fn fast_spike_pages_critical_at_the_oom_kill() {
    let reps = replay_json(
        &fixture("traces/fast-spike/export-fast-spike-15s.jsonl"),
        &[],
    );
    let rep = &reps[0];
    assert_eq!(rep["cliff"]["kind"], "oom_kill");
    assert_eq!(firing(rep, "critical"), Some(ts(&rep["cliff"]["at"])));
}

/// Same data in the three formats gives the same report.
#[test]
fn formats_agree() {
    let a = replay_json(&fixture("traces/incident/export-incident-15s.jsonl"), &[]);
    let b = replay_json(&fixture("recorded/query_range-incident-15s.json"), &[]);
    assert_eq!(a[0]["events"], b[0]["events"]);
    assert_eq!(a[0]["first_alert"], b[0]["first_alert"]);
}

#[test]
fn timeline_and_plot_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("p.svg");
    let out = memcanary()
        .args(["replay", "--plot"])
        .arg(&svg)
        .arg(fixture("incident-184/export-kai-server-15s.jsonl"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("first memcanary alert: 2026-05-30T10:02:45Z, 12m15s before the cliff"),
        "{text}"
    );
    assert!(text.contains("user_swap_free_below_15pct_5m"));
    let picture = std::fs::read_to_string(&svg).unwrap();
    assert!(picture.starts_with("<svg"));
    assert!(picture.contains("memcanary headroom_forecast"));
    assert!(picture.contains("earlyoom_default"));

    let png = dir.path().join("p.png");
    let out = memcanary()
        .args(["replay", "--plot"])
        .arg(&png)
        .arg(fixture("incident-184/export-kai-server-15s.jsonl"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert!(bytes.len() > 20_000, "a 1200x620 chart, not an empty image");

    let bad = memcanary()
        .args(["replay", "--plot", "x.pdf"])
        .arg(fixture("incident-184/export-kai-server-15s.jsonl"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("x.pdf"));
}

#[test]
fn bad_input_names_the_file_and_line_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jsonl");
    let good =
        std::fs::read_to_string(fixture("traces/incident/export-incident-15s.jsonl")).unwrap();
    let mut lines: Vec<&str> = good.lines().collect();
    lines.insert(3, "{\"metric\":{\"__name__\":\"node_memory_MemAvailable_bytes\",\"instance\":\"x\"},\"values\":[1,\"oops\"],\"timestamps\":[1,2]}");
    std::fs::write(&bad, lines.join("\n")).unwrap();
    let out = memcanary().arg("replay").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.jsonl") && err.contains("line 4"), "{err}");

    let empty = dir.path().join("nomem.jsonl");
    std::fs::write(
        &empty,
        "{\"metric\":{\"__name__\":\"up\",\"instance\":\"x\"},\"values\":[1],\"timestamps\":[1]}\n",
    )
    .unwrap();
    let out = memcanary().arg("replay").arg(&empty).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no node_memory_"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The README's lead-time table is what the command prints today.
#[test]
fn readme_table_is_current() {
    let out = memcanary()
        .current_dir(root())
        .args(replay_table_args())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(
        readme.contains(&table),
        "README.md's lead-time table is stale: rerun scripts/lead-times.sh and paste its output:\n{table}"
    );
}

/// `memcanary replay FILE` failing: its stderr.
fn replay_error(file: &Path) -> String {
    let out = memcanary().arg("replay").arg(file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn replay_errors_name_the_file_and_the_reason_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("once-missing.jsonl");
    let err = replay_error(&missing);
    assert_eq!(err.matches("once-missing.jsonl").count(), 1, "{err}");
    assert_eq!(err.matches("No such file").count(), 1, "{err}");

    let bad = dir.path().join("once-bad.jsonl");
    std::fs::write(&bad, "{\"metric\":{\"__name__\":\"x\"},\"values\":[1,2\n").unwrap();
    let err = replay_error(&bad);
    assert_eq!(err.matches("once-bad.jsonl").count(), 1, "{err}");
    assert_eq!(err.matches("malformed input").count(), 1, "{err}");
}

#[test]
fn replay_into_a_closed_pipe_exits_0_quietly() {
    let file = fixture("incident-184/export-kai-server-15s.jsonl");
    for extra in [&[][..], &["--json"][..]] {
        let mut args: Vec<&std::ffi::OsStr> = vec!["replay".as_ref()];
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        args.push(file.as_ref());
        let (code, err) = crate::common::with_stdout_closed(&args);
        assert_eq!((code, err.as_str()), (Some(0), ""), "{extra:?}");
    }
}

#[test]
fn replay_of_all_null_values_says_the_instance_had_no_samples() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stale.jsonl");
    let series = ["MemAvailable", "MemTotal", "SwapTotal", "SwapFree"].map(|m| {
        format!(
            "{{\"metric\":{{\"__name__\":\"node_memory_{m}_bytes\",\"instance\":\"h:9100\",\"job\":\"node\"}},\"values\":[null,null],\"timestamps\":[1700000000000,1700000015000]}}\n"
        )
    });
    std::fs::write(&file, series.concat()).unwrap();
    let out = memcanary().arg("replay").arg(&file).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let head = text.lines().next().unwrap();
    assert_eq!(
        head,
        "h:9100: no samples (no time at which every required metric has a value)"
    );
}
