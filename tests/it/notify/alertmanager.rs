//! Against a real Alertmanager (started by scripts/test.d/20-alertmanager.sh):
//! memcanary's firing and resolved alerts must come out of Alertmanager's
//! webhook receiver with the right labels and status.

use super::delivery::{alert, config};
use super::receiver::Receiver;
use memcanary::detect::Severity;
use memcanary::notify::{Dispatcher, State};
use std::time::Duration;

#[test]
fn firing_and_resolved_come_out_of_a_real_alertmanager() {
    let Ok(am) = std::env::var("MEMCANARY_TEST_ALERTMANAGER_URL") else {
        crate::common::skip(
            "firing_and_resolved_come_out_of_a_real_alertmanager",
            "MEMCANARY_TEST_ALERTMANAGER_URL is not set (scripts/test.sh starts Alertmanager)",
        );
        return;
    };
    let hook_addr = std::env::var("MEMCANARY_TEST_ALERTMANAGER_HOOK")
        .unwrap_or_else(|_| "127.0.0.1:19094".into());
    let hook = Receiver::start_on(&hook_addr, false);
    // Two URLs (an HA pair; here the same instance twice): each must receive.
    let cfg = config(&format!(
        "[[notify.sinks]]\nname = \"am\"\nkind = \"alertmanager\"\nurls = [\"{am}\", \"{am}/\"]\ngenerator_url = \"http://memcanary.test/\"\n[notify.sinks.labels]\ncluster = \"it\"\n"
    ));
    let instance = format!("am-test-{}", std::process::id());
    let d = Dispatcher::build(&cfg, None).unwrap();
    let mut firing = alert(
        "thrashing",
        Severity::Critical,
        State::Firing,
        memcanary::notify::Clock::now_ms(&memcanary::notify::SystemClock),
    );
    firing.instance = instance.clone();
    d.send(firing.clone());

    let ours = |r: &super::receiver::Received, status: &str| {
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
        v["status"] == status
            && v["alerts"].as_array().is_some_and(|a| {
                a.iter()
                    .any(|x| x["labels"]["instance"] == instance.as_str() && x["status"] == status)
            })
    };
    let got = hook.wait_for("a firing notification from Alertmanager", |rs| {
        rs.iter().any(|r| ours(r, "firing"))
    });
    let msg: serde_json::Value =
        serde_json::from_slice(&got.iter().find(|r| ours(r, "firing")).unwrap().body).unwrap();
    let a = &msg["alerts"][0];
    assert_eq!(a["labels"]["alertname"], "MemcanaryThrashing");
    assert_eq!(a["labels"]["severity"], "critical");
    assert_eq!(a["labels"]["rule"], "thrashing");
    assert_eq!(a["labels"]["cluster"], "it");
    assert_eq!(a["labels"]["source"], "memcanary");
    assert!(a["annotations"]["summary"]
        .as_str()
        .unwrap()
        .contains(&instance));
    assert!(a["annotations"]["description"]
        .as_str()
        .unwrap()
        .contains("Headroom:"));
    assert_eq!(a["generatorURL"], "http://memcanary.test/");

    let mut resolved = firing;
    resolved.state = State::Resolved;
    resolved.at_ms = memcanary::notify::Clock::now_ms(&memcanary::notify::SystemClock);
    d.send(resolved);
    hook.wait_for("a resolved notification from Alertmanager", |rs| {
        rs.iter().any(|r| ours(r, "resolved"))
    });
    let stats = d.shutdown(Duration::from_secs(10));
    for s in &stats.sinks {
        assert_eq!((s.sent, s.failed), (2, 0), "{s:?}");
    }
    assert_eq!(stats.sinks.len(), 2);
}
