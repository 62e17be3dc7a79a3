//! memcanary's integration tests: one binary, one module per area.

// Helpers outside #[test] functions panic on broken test setup, by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod agent_cli;
mod agent_kernel;
mod agent_restart;
mod alloc_count;
mod deploy;
mod notify;
mod procfs;
mod recorded;
mod replay;
mod rules;
mod rules_parity;

/// A TCP port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An `[agent]` table for a test agent: state and spool under `dir`, no
/// memory locking, no `oom_score_adj` (the test runs unprivileged too).
pub fn test_agent_table(dir: &std::path::Path, metrics_listen: &str) -> String {
    format!(
        "[agent]\nmetrics_listen = \"{metrics_listen}\"\nstate_file = \"{d}/state.json\"\nspool_dir = \"{d}/spool\"\nlock_memory = \"off\"\noom_score_adj = 0\n",
        d = dir.display()
    )
}

/// The arguments `scripts/lead-times.sh` passes to `memcanary`.
pub fn replay_table_args() -> Vec<String> {
    let script = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/lead-times.sh"
    ))
    .unwrap();
    let line = script
        .lines()
        .find(|l| l.contains("replay --table"))
        .unwrap();
    let cmd = line
        .trim()
        .trim_start_matches("exec ")
        .trim_start_matches("\"$BIN\" ");
    cmd.split_whitespace().map(str::to_string).collect()
}
