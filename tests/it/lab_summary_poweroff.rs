//! `scripts/lab-summary.sh` on what the probe records after the lab powers the
//! guest off: `scripts/lab-agent.sh` probes until `run-scenario.sh` ends, so
//! its last scrape can fail on a guest that was merely switched off.

use crate::lab_summary::{run_dir, summary};

/// The summary of a run whose guest started its workload at 1000 s and was
/// powered off at 1009.5 s (host-events.log), with these logs.
fn powered_off_at_1009_5(received: &str, scrapes: &str) -> String {
    let d = run_dir(received, scrapes, "1000.000 workload_start\n");
    let events =
        "990.000 host_start scenario=build-plateau\n1009.500 power_off (kill qemu pid=1)\n";
    std::fs::write(d.path().join("host-events.log"), events).unwrap();
    summary(d.path())
}

#[test]
fn a_scrape_after_the_power_off_is_not_a_failed_scrape() {
    let s = powered_off_at_1009_5("", "1000000 ok\n1005000 ok\n1010000 fail\n");
    assert!(s.contains("first failed scrape none"), "{s}");
    assert!(s.contains("0 failed scrapes"), "{s}");
}

#[test]
fn a_failed_scrape_before_the_power_off_still_counts() {
    let s = powered_off_at_1009_5(
        "1002000 firing headroom_forecast warning\n",
        "1000000 ok\n1005000 fail\n1010000 fail\n",
    );
    assert!(s.contains("first failed scrape +5.0 s, margin 3 s"), "{s}");
    assert!(s.contains("1 failed scrapes"), "{s}");
}
