//! Issue 14, item 1: one bad file degrades only what needs it. A pressure
//! file that is `/dev/null`, empty or garbage (or a garbage vmstat) used to
//! make every sample be skipped, MemAvailable and swap included.

use super::harness::{count_lines, Agent, FakeProc};

const PSI_OFF: &str = "\n[agent.psi_trigger]\nenabled = false\n";

#[test]
fn a_dev_null_pressure_file_leaves_psi_absent_and_the_rest_of_the_sample() {
    let d = tempfile::tempdir().unwrap();
    let proc = FakeProc::new(&d.path().join("proc"));
    proc.link("pressure/memory", std::path::Path::new("/dev/null"));
    let mut agent = Agent::start(d.path(), proc.root(), PSI_OFF);
    let avail = FakeProc::mem_available_bytes();
    agent.wait_metric(20, "memcanary_mem_available_bytes", avail);
    agent.wait_for(20, "samples counted", |a| {
        a.metric("memcanary_samples_total")
            .is_some_and(|n| n >= 5.0)
    });
    let body = agent.metrics();
    let m = |s| super::harness::metric(&body, s);
    assert_eq!(m("memcanary_headroom_bytes"), Some(avail), "{body}");
    assert_eq!(m("memcanary_source_ok{source=\"pressure\"}"), Some(0.0));
    assert_eq!(m("memcanary_source_ok{source=\"meminfo\"}"), Some(1.0));
    assert!(m("memcanary_source_errors_total{source=\"pressure\"}") >= Some(5.0));
    assert_eq!(m("memcanary_sample_errors_total"), Some(0.0), "{body}");
    assert!(
        m("memcanary_psi_some_ratio").is_some_and(f64::is_nan),
        "{body}"
    );
    let log = agent.stop();
    let said = count_lines(&log, &["source unreadable", "pressure/memory"]);
    assert_eq!(said, 1, "logged once:\n{log}");
}

#[test]
fn garbage_psi_and_vmstat_mid_run_degrade_and_recover_and_say_so() {
    let d = tempfile::tempdir().unwrap();
    let proc = FakeProc::new(&d.path().join("proc"));
    let mut agent = Agent::start(d.path(), proc.root(), PSI_OFF);
    let avail = FakeProc::mem_available_bytes();
    agent.wait_metric(20, "memcanary_mem_available_bytes", avail);
    let samples = |a: &Agent| a.metric("memcanary_samples_total").unwrap_or(0.0);
    for (rel, garbage) in [
        ("pressure/memory", "garbage\n"),
        ("pressure/memory", ""),
        ("vmstat", "pgmajfault lots\n"),
    ] {
        proc.corrupt(rel, garbage);
        let source = if rel == "vmstat" {
            "vmstat"
        } else {
            "pressure"
        };
        let ok = format!("memcanary_source_ok{{source=\"{source}\"}}");
        agent.wait_metric(20, &ok, 0.0);
        let before = samples(&agent);
        agent.wait_for(20, "samples go on", |a| samples(a) >= before + 3.0);
        assert_eq!(agent.metric("memcanary_mem_available_bytes"), Some(avail));
        proc.restore(rel);
        agent.wait_metric(20, &ok, 1.0);
    }
    let log = agent.stop();
    assert!(
        count_lines(&log, &["source unreadable", "vmstat", "major faults"]) == 1,
        "{log}"
    );
    // Garbage, then empty: both a parse error, one line; then back twice.
    let psi = count_lines(
        &log,
        &["source unreadable", "pressure/memory", "PSI absent"],
    );
    assert_eq!(psi, 2, "once per failure:\n{log}");
    assert_eq!(count_lines(&log, &["source readable again"]), 3, "{log}");
    assert_eq!(count_lines(&log, &["sample skipped"]), 0, "{log}");
}
