//! Issue 14, the real agent restarted while an alert fires (items 4, 5) and
//! stopped while a receiver hangs (item 9): a kill -9 while `oom_kill`
//! fires, then a second agent on the same spool whose detector no longer
//! holds it.

#![allow(clippy::disallowed_methods)] // a test of a real process waits on the real clock

use crate::agent_restart::fake_proc;
use crate::common::{memcanary_process, test_agent_table};
use crate::notify::faults::Hang;
use crate::notify::receiver::{Received, Receiver};
use rustix::process::{kill_process, Pid, Signal};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A config for an agent on `proc` sending to `url`; windows short, so the
/// warm-up after a restart is 5 s.
fn write_config(d: &Path, url: &str) -> PathBuf {
    let config = d.join("m.toml");
    std::fs::write(
        &config,
        format!(
            "{table}proc_root = \"{p}\"\ninterval = \"250ms\"\n\n[agent.psi_trigger]\nenabled = false\n\n\
             [detector]\nrate_window = \"5s\"\ntrend_window = \"2s\"\nrecent_window = \"2s\"\n\n\
             [notify]\nretry_initial = \"200ms\"\nretry_max = \"1s\"\nconnect_timeout = \"1s\"\n\n\
             [[notify.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{url}\"\n",
            table = test_agent_table(d, ""),
            p = d.join("proc").display(),
        ),
    )
    .unwrap();
    config
}

fn start(config: &Path, log: &Path) -> Child {
    memcanary_process()
        .args(["agent", "--config"])
        .arg(config)
        .env("MEMCANARY_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

fn oom(r: &Received) -> Option<(String, u64, i64)> {
    let v = r.json();
    (v["alert"]["rule"] == "oom_kill").then(|| {
        (
            v["status"].as_str().unwrap().to_string(),
            v["repeat"].as_u64().unwrap(),
            v["alert"]["at_ms"].as_i64().unwrap(),
        )
    })
}

fn ooms(rx: &Receiver) -> Vec<(String, u64, i64)> {
    rx.accepted().iter().filter_map(oom).collect()
}

fn now_ms() -> i64 {
    memcanary::notify::Clock::now_ms(&memcanary::notify::SystemClock)
}

/// The first agent fires `oom_kill`, delivers it and is killed (-9) before
/// it resolves; returns the receiver and the temp dir.
fn killed_while_firing() -> (Receiver, tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    fake_proc(&d.path().join("proc"), 0);
    let rx = Receiver::start(false);
    let config = write_config(d.path(), &rx.url("/hook"));
    let mut first = start(&config, &d.path().join("first.log"));
    std::thread::sleep(Duration::from_millis(1500));
    fake_proc(&d.path().join("proc"), 1);
    rx.wait_for("the firing", |r| r.iter().any(|r| oom(r).is_some()));
    // The router records what it notified right after the hand-off to the
    // worker, not before the attempt (docs/notifications.md, "The spool"):
    // a kill in the moment between is a window this test does not cover.
    let state = d.path().join("spool/state.json");
    let recorded = |s: &Path| std::fs::read_to_string(s).is_ok_and(|t| t.contains("oom_kill"));
    let end = Instant::now() + Duration::from_secs(5);
    while !recorded(&state) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        recorded(&state),
        "{} never recorded the firing",
        state.display()
    );
    kill_process(Pid::from_child(&first), Signal::KILL).unwrap();
    first.wait().unwrap();
    assert_eq!(ooms(&rx).len(), 1, "{:?}", ooms(&rx));
    (rx, d, config)
}

#[test]
fn a_restart_resolves_an_alert_that_no_longer_holds_with_current_values() {
    let (rx, d, config) = killed_while_firing();
    let restarted_ms = now_ms();
    let mut second = start(&config, &d.path().join("second.log"));
    let t = Instant::now();
    let end = t + Duration::from_secs(20);
    while ooms(&rx).len() < 2 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "resolve after the restart: {:?} after {:?}",
        ooms(&rx),
        t.elapsed()
    );
    let log = std::fs::read_to_string(d.path().join("second.log")).unwrap();
    for l in log
        .lines()
        .filter(|l| l.contains("state change") || l.contains("previous run"))
    {
        eprintln!("second run: {l}");
    }
    kill_process(Pid::from_child(&second), Signal::TERM).unwrap();
    second.wait().unwrap();
    let got = ooms(&rx);
    assert_eq!(got.len(), 2, "no resolve after the restart: {got:?}");
    assert_eq!((got[1].0.as_str(), got[1].1), ("resolved", 0));
    assert!(
        got[1].2 >= restarted_ms,
        "the resolve carries the old run's time: {got:?}"
    );
}

#[test]
fn after_a_restart_the_next_incident_is_a_new_firing_with_current_values() {
    let (rx, d, config) = killed_while_firing();
    let mut second = start(&config, &d.path().join("second.log"));
    // Past the warm-up (5 s): the old alert no longer holds...
    std::thread::sleep(Duration::from_secs(7));
    // ...and the kernel kills again: a new incident.
    let incident_ms = now_ms();
    fake_proc(&d.path().join("proc"), 2);
    let end = Instant::now() + Duration::from_secs(15);
    let new_firing = |g: &[(String, u64, i64)]| {
        g.iter()
            .any(|(s, _, at)| s == "firing" && *at >= incident_ms)
    };
    while !new_firing(&ooms(&rx)) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    kill_process(Pid::from_child(&second), Signal::TERM).unwrap();
    second.wait().unwrap();
    let got = ooms(&rx);
    eprintln!("notifications: {got:?}");
    let fresh: Vec<_> = got
        .iter()
        .filter(|(s, _, at)| s == "firing" && *at >= incident_ms)
        .collect();
    assert_eq!(fresh.len(), 1, "the new incident was not notified: {got:?}");
    assert_eq!(fresh[0].1, 0, "sent as a reminder: {got:?}");
}

#[test]
fn sigterm_with_a_hung_receiver_exits_within_the_grace_period_and_says_what_is_kept() {
    let d = tempfile::tempdir().unwrap();
    fake_proc(&d.path().join("proc"), 0);
    let hang = Hang::start();
    let config = write_config(d.path(), &hang.url("/hook"));
    let log = d.path().join("agent.log");
    let mut agent = start(&config, &log);
    std::thread::sleep(Duration::from_millis(1500));
    fake_proc(&d.path().join("proc"), 1);
    hang.wait_accepted(1); // the firing is in flight, hung (10 s timeout)
    let t = Instant::now();
    kill_process(Pid::from_child(&agent), Signal::TERM).unwrap();
    let end = t + Duration::from_secs(30);
    while agent.try_wait().unwrap().is_none() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = t.elapsed();
    let _ = agent.kill();
    agent.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    eprintln!("SIGTERM to exit with a hung request in flight: {took:?}");
    assert!(
        took < Duration::from_secs(5),
        "took {took:?}, past a DaemonSet's 5 s grace period"
    );
    assert_eq!(hang.accepted(), 1, "an attempt started after the deadline");
    let line = text
        .lines()
        .find(|l| l.contains("stopping with undelivered notifications"))
        .unwrap_or_else(|| panic!("no account of what was left:\n{text}"));
    assert!(
        line.contains("1 kept in the spool") || line.contains("all 1 kept"),
        "{line}"
    );
}
