//! The deploy files: the systemd unit passes `systemd-analyze verify`.

use crate::common::root;
use std::process::Command;

#[test]
fn systemd_unit_verifies() {
    let ok = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        crate::common::skip(
            "deploy",
            "systemd-analyze not installed (scripts/test.d/30-kernel.sh installs systemd)",
        );
        return;
    }
    let unit = std::fs::read_to_string(root().join("deploy/systemd/memcanary.service")).unwrap();
    // verify checks that ExecStart exists: point it at the binary under test.
    let unit = unit.replace(
        "/usr/local/bin/memcanary-agent",
        // Built by `cargo test` of the workspace (crates/memcanary-agent).
        &std::path::Path::new(env!("CARGO_BIN_EXE_memcanary"))
            .with_file_name("memcanary-agent")
            .display()
            .to_string(),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("memcanary.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "systemd-analyze verify failed: {stderr}"
    );
    // verify also warns on unknown or misspelled settings without failing.
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("memcanary.service"))
        .collect();
    assert!(ours.is_empty(), "warnings: {ours:#?}");
}

#[test]
fn daemonset_keeps_the_settings_the_agent_needs() {
    let y = std::fs::read_to_string(root().join("deploy/kubernetes/daemonset.yaml")).unwrap();
    for needle in [
        "hostPID: true",
        "priorityClassName: system-node-critical",
        "IPC_LOCK",
        "SYS_RESOURCE",
        "path: /proc",
        "proc_root = \"/host/proc\"",
    ] {
        assert!(y.contains(needle), "daemonset.yaml lost {needle:?}");
    }
}

#[test]
fn systemd_unit_does_not_restart_on_a_config_error() {
    let unit = std::fs::read_to_string(root().join("deploy/systemd/memcanary.service")).unwrap();
    let prevent: Vec<&str> = unit
        .lines()
        .filter_map(|l| l.strip_prefix("RestartPreventExitStatus="))
        .flat_map(str::split_whitespace)
        .collect();
    // The exit status the agent gives a missing config file, as the unit runs it.
    let dir = tempfile::tempdir().unwrap();
    let out = crate::common::memcanary_agent()
        .arg("--config")
        .arg(dir.path().join("memcanary.toml"))
        .output()
        .unwrap();
    let code = out.status.code().unwrap().to_string();
    assert!(
        prevent.contains(&code.as_str()),
        "a missing config exits {code}; the unit restarts on it every second (RestartPreventExitStatus={prevent:?})"
    );
}
