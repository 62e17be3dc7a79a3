//! Issue 14 item 11: as an unprivileged user under the default `ulimit -l`
//! (8 MiB), the deployed binary locked all future memory and then aborted
//! on the first alert (`memory allocation of 32 bytes failed`), or with
//! twelve webhook sinks did not start (their thread stacks count against the
//! limit). It must start, lock what fits, say so, and deliver.
//!
//! Runs the lean `memcanary-agent` of the `agent` profile (the debug build
//! maps more than 8 MiB, so it never gets to lock anything):
//! `$MEMCANARY_AGENT_PROFILE_BIN`, else `target/agent/memcanary-agent`
//! (`scripts/test.d/50-agent-profile.sh` builds it). Needs root to drop to
//! `nobody` with `setpriv`.

use super::{Agent, FakeProc, Hook};
use crate::common::{free_port, skip};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

const TEST: &str = "harden::memlock";

/// The agent-profile binary, if built.
fn lean_agent() -> Option<PathBuf> {
    let bin = std::env::var_os("MEMCANARY_AGENT_PROFILE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let debug = Path::new(env!("CARGO_BIN_EXE_memcanary")).parent().unwrap();
            debug.parent().unwrap().join("agent/memcanary-agent")
        });
    bin.exists().then_some(bin)
}

fn prerequisites() -> Option<PathBuf> {
    if !rustix::process::getuid().is_root() {
        skip(TEST, "not root: cannot drop to nobody with setpriv");
        return None;
    }
    for tool in ["setpriv", "prlimit"] {
        let found = std::process::Command::new(tool).arg("--version").output();
        if found.is_err() {
            skip(TEST, &format!("{tool} (util-linux) is not installed"));
            return None;
        }
    }
    let bin = lean_agent();
    if bin.is_none() {
        skip(
            TEST,
            "no agent-profile binary (cargo build --profile agent -p memcanary-agent, or set MEMCANARY_AGENT_PROFILE_BIN)",
        );
    }
    bin
}

/// A config for `nobody`: memory locked (the default), twelve webhook sinks.
fn config(dir: &Path, proc: &FakeProc, port: u16, hook: &Hook) -> PathBuf {
    let mut text = format!(
        "[agent]\nproc_root = \"{p}\"\ninterval = \"250ms\"\ncalm_vmstat_interval = \"0s\"\n\
         metrics_listen = \"127.0.0.1:{port}\"\nstate_file = \"{d}/state.json\"\n\
         spool_dir = \"{d}/spool\"\noom_score_adj = 0\n\n[agent.psi_trigger]\nenabled = false\n",
        p = proc.dir.display(),
        d = dir.display(),
    );
    for i in 1..=12 {
        text.push_str(&format!(
            "\n[[notify.sinks]]\nname = \"hook{i}\"\nkind = \"webhook\"\nurl = \"{}\"\n",
            hook.url
        ));
    }
    let path = dir.join("memcanary.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn as_nobody_under_the_default_memlock_limit_the_agent_starts_and_delivers() {
    let Some(bin) = prerequisites() else { return };
    let d = tempfile::tempdir().unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let proc = FakeProc::new(&d.path().join("proc"));
    let hook = Hook::start("/hook", 200);
    let port = free_port();
    let cfg = config(d.path(), &proc, port, &hook);
    let mut cmd = std::process::Command::new("prlimit");
    cmd.args(["--memlock=8388608:8388608", "setpriv", "--reuid=65534"])
        .args(["--regid=65534", "--clear-groups", "--"])
        .arg(bin)
        .env("MALLOC_ARENA_MAX", "1");
    let mut agent = Agent::start_with(cmd, &cfg);
    let started = agent.wait_log("memcanary agent starting", Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        started && agent.running(),
        "the agent did not start; log:\n{}",
        agent.log_text()
    );
    proc.oom_kills(1);
    let arrived = hook.firing("oom_kill", Duration::from_secs(15));
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        arrived.is_some() && agent.running(),
        "no alert, or the agent died (running: {}); log:\n{}",
        agent.running(),
        agent.log_text()
    );
    let metrics = super::metrics_text(port);
    assert!(
        metrics.contains("memcanary_memory_locked_future 0"),
        "{metrics}"
    );
    assert!(
        agent.log_text().contains("RLIMIT_MEMLOCK"),
        "{}",
        agent.log_text()
    );
}
