//! Issue 14, item 3: after `agent.blind_after` without a usable sample the
//! agent raises its own `memcanary_blind` warning through the sinks, and
//! resolves it when samples come back; `/metrics` shows it.

use super::harness::{count_lines, Agent, FakeProc, Receiver};

#[test]
fn an_agent_that_cannot_read_meminfo_alerts_through_the_sinks_and_resolves() {
    let d = tempfile::tempdir().unwrap();
    let proc = FakeProc::new(&d.path().join("proc"));
    let hook = Receiver::start();
    let extra = format!(
        "blind_after = \"1s\"\n\n[agent.psi_trigger]\nenabled = false\n\n{}",
        hook.notify_table()
    );
    let mut agent = Agent::start(d.path(), proc.root(), &extra);
    let rule = "memcanary_alert_state{rule=\"memcanary_blind\"}";
    agent.wait_metric(20, rule, 0.0);
    agent.wait_metric(20, "memcanary_source_ok{source=\"meminfo\"}", 1.0);

    proc.corrupt("meminfo", "MemTotal: lots\n");
    agent.wait_for(20, "a firing memcanary_blind", |_| {
        !hook.about("memcanary_blind", "firing").is_empty()
    });
    assert_eq!(agent.metric(rule), Some(2.0));
    assert_eq!(
        agent.metric("memcanary_source_ok{source=\"meminfo\"}"),
        Some(0.0)
    );
    let firing = &hook.about("memcanary_blind", "firing")[0];
    assert_eq!(firing["alert"]["severity"], "warning", "{firing}");
    assert_eq!(firing["alert"]["alertname"], "MemcanaryBlind", "{firing}");
    let silent = firing["alert"]["values"]["silent_seconds"].as_f64();
    assert!(silent.is_some_and(|s| s >= 1.0), "{firing}");
    // The notification itself says why: the file and what is wrong with it.
    let summary = firing["alert"]["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains("memcanary cannot see memory")
            && summary.contains("meminfo")
            && summary.contains("MemTotal"),
        "{firing}"
    );
    assert_eq!(
        firing["alert"]["detail"]
            .as_str()
            .map(|d| summary.contains(d)),
        Some(true),
        "{firing}"
    );

    proc.restore("meminfo");
    agent.wait_for(20, "the resolve", |_| {
        !hook.about("memcanary_blind", "resolved").is_empty()
    });
    agent.wait_metric(5, rule, 0.0);
    let log = agent.stop();
    assert!(
        count_lines(&log, &["memcanary cannot see memory", "meminfo"]) == 1,
        "the why, once:\n{log}"
    );
    assert_eq!(hook.about("memcanary_blind", "firing").len(), 1);
}
