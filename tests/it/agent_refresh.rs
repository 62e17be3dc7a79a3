//! Issue 14 item 4: a reminder re-renders current values. While a rule
//! fires, the agent hands its current values to the router every 30 s (no
//! notification for them), so the router's state, which reminders render,
//! follows the host instead of keeping the first firing's numbers.

#![allow(clippy::disallowed_methods)] // a test of a real process waits on the real clock

use crate::agent_restart::fake_proc;
use crate::common::{memcanary_process, test_agent_table};
use crate::notify::receiver::Receiver;
use rustix::process::{kill_process, Pid, Signal};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// `oom_kill`'s values in the router's saved state, if it holds the rule.
fn saved_oom_kills(spool: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(spool.join("state.json")).ok()?;
    let state: serde_json::Value = serde_json::from_str(&text).ok()?;
    state.as_object()?.values().find_map(|e| {
        (e["alert"]["rule"] == "oom_kill").then(|| e["alert"]["values"]["oom_kills"].as_u64())?
    })
}

#[test]
fn a_firing_alerts_saved_values_follow_the_host_so_reminders_show_them() {
    let d = tempfile::tempdir().unwrap();
    let proc = d.path().join("proc");
    fake_proc(&proc, 0);
    let rx = Receiver::start(false);
    let config = d.path().join("m.toml");
    std::fs::write(
        &config,
        format!(
            "{table}proc_root = \"{p}\"\ninterval = \"250ms\"\n\n[agent.psi_trigger]\nenabled = false\n\n\
             [detector]\nrate_window = \"60s\"\n\n\
             [[notify.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{url}\"\n",
            table = test_agent_table(d.path(), ""),
            p = proc.display(),
            url = rx.url("/hook"),
        ),
    )
    .unwrap();
    let mut agent = memcanary_process()
        .args(["agent", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    fake_proc(&proc, 1);
    rx.wait_for("the firing", |r| {
        r.iter().any(|r| r.json()["alert"]["rule"] == "oom_kill")
    });
    let spool = d.path().join("spool");
    assert_eq!(
        saved_oom_kills(&spool),
        Some(1),
        "the first firing's values"
    );
    // A second kill while the rule still fires (within rate_window): no new
    // notification, but the values a reminder would show are now 2 kills.
    fake_proc(&proc, 2);
    let t0 = Instant::now();
    while saved_oom_kills(&spool) != Some(2) && t0.elapsed() < Duration::from_secs(45) {
        std::thread::sleep(Duration::from_millis(250));
    }
    let saved = saved_oom_kills(&spool);
    kill_process(Pid::from_child(&agent), Signal::TERM).unwrap();
    agent.wait().unwrap();
    assert_eq!(saved, Some(2), "the router kept the first firing's values");
    let firings = rx
        .accepted()
        .iter()
        .filter(|r| r.json()["alert"]["rule"] == "oom_kill" && r.json()["status"] == "firing")
        .count();
    assert_eq!(
        firings, 1,
        "one firing notification, no repeat for the refresh"
    );
}
