//! The host's floor across an agent restart, with the real binary: clean
//! days in the state file feed the detector at start (its forecast gate
//! moves), and the next state file the agent writes keeps them.

#![allow(clippy::disallowed_methods)] // a test of a real process waits on the real clock

use crate::agent_restart::fake_proc;
use crate::common::{memcanary_process, test_agent_table};
use rustix::process::{kill_process, Pid, Signal};
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn clean_days_in_the_state_file_move_the_agents_forecast_gate_and_are_kept() {
    let d = tempfile::tempdir().unwrap();
    let proc_dir = d.path().join("proc");
    fake_proc(&proc_dir, 0);
    let day = |n: i64, r: f64| format!(r#"{{"day":{n},"min_headroom_ratio":{r}}}"#);
    let days = [day(20_400, 0.9), day(20_401, 0.86), day(20_402, 0.88)].join(",");
    let state = d.path().join("state.json");
    std::fs::write(&state, format!(r#"{{"version":1,"history":[{days}]}}"#)).unwrap();
    let config = d.path().join("m.toml");
    let table = test_agent_table(d.path(), "");
    let p = proc_dir.display();
    let text = format!("{table}proc_root = \"{p}\"\ninterval = \"250ms\"\n\n[agent.psi_trigger]\nenabled = false\n");
    std::fs::write(&config, text).unwrap();
    let mut agent = memcanary_process()
        .args(["agent", "--config"])
        .arg(&config)
        .env("MEMCANARY_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = agent.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let wait_for = |what: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
                if line.contains(what) {
                    return Some(line);
                }
            }
        }
        None
    };
    let restored = wait_for("clean days restored");
    let line = restored.unwrap_or_default();
    assert!(line.contains("days=3"), "{line}");
    let gate: f64 = line
        .split("gate=")
        .nth(1)
        .and_then(|g| g.split_whitespace().next())
        .and_then(|g| g.parse().ok())
        .unwrap_or_default();
    assert!(
        (gate - 0.81).abs() < 1e-9,
        "floor 0.86 - margin 0.05: {line}"
    );
    // The kernel kills something: oom_kill fires and the state file is
    // written again, with the days it was given (after a few samples: the
    // first one is the counter's baseline).
    std::thread::sleep(Duration::from_millis(1500));
    fake_proc(&proc_dir, 1);
    let written = wait_for("state file written");
    let pid = Pid::from_child(&agent);
    let _ = kill_process(pid, Signal::KILL);
    let _ = agent.wait();
    assert!(
        written.is_some(),
        "no state file written after the OOM kill"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let kept: Vec<i64> = doc["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["day"].as_i64().unwrap())
        .collect();
    assert_eq!(kept, [20_400, 20_401, 20_402]);
}
