//! `scripts/lab-summary.sh`: the lab run's one-line summary, also for runs in
//! which something never happened (a benign run receives nothing).

use crate::common::root;
use std::fs;

/// A run directory as `scripts/lab-agent.sh` leaves it.
pub(crate) fn run_dir(received: &str, scrapes: &str, serial: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    fs::write(d.path().join("received.log"), received).unwrap();
    fs::write(d.path().join("scrapes.log"), scrapes).unwrap();
    fs::write(d.path().join("serial.log"), serial).unwrap();
    fs::write(
        d.path().join("run.log"),
        "host_start scenario=build-plateau job=x\n",
    )
    .unwrap();
    d
}

pub(crate) fn summary(dir: &std::path::Path) -> String {
    let out = std::process::Command::new("bash")
        .arg(root().join("scripts/lab-summary.sh"))
        .arg(dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "lab-summary.sh failed: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_benign_run_that_received_nothing_is_reported() {
    let d = run_dir(
        "",
        "1000000 ok\n1005000 ok\n1010000 ok\n",
        "1000.000 workload_start\n",
    );
    let s = summary(d.path());
    assert!(s.contains("scenario build-plateau"), "{s}");
    assert!(
        s.contains("0 firing notifications received (0 warning, 0 critical)"),
        "{s}"
    );
    assert!(s.contains("warning none, critical none"), "{s}");
    assert!(s.contains("first failed scrape none"), "{s}");
    assert!(s.contains("0 failed scrapes"), "{s}");
}

#[test]
fn a_run_with_a_warning_and_no_critical_is_reported_with_its_margin() {
    let d = run_dir(
        "1100000 firing headroom_forecast warning\n1150000 resolved headroom_forecast warning\n",
        "1000000 ok\n1200000 fail\n1205000 fail\n",
        "1000.000 workload_start\n",
    );
    let s = summary(d.path());
    assert!(
        s.contains("1 firing notifications received (1 warning, 0 critical)"),
        "{s}"
    );
    assert!(
        s.contains("warning +100.0 s (headroom_forecast), critical none"),
        "{s}"
    );
    assert!(
        s.contains("first failed scrape +200.0 s, margin 100 s (critical none)"),
        "{s}"
    );
    assert!(s.contains("2 failed scrapes"), "{s}");
}
