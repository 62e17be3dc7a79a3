//! memcanary's integration tests: one binary, one module per area.

// Helpers outside #[test] functions panic on broken test setup, by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod agent_cgroup_thrash;
mod agent_cli;
mod agent_history;
mod agent_kernel;
mod agent_refresh;
mod agent_restart;
mod agent_restart_deliver;
mod alloc_count;
mod common;
mod deploy;
mod eval;
mod eval_history;
mod fault;
mod harden;
mod lab_summary;
mod lab_summary_poweroff;
mod notify;
mod notify_deliver;
mod procfs;
mod recorded;
mod replay;
mod rules;
mod rules_corpus;
mod rules_parity;
mod rules_parity_corpus;
mod watch;
mod watch_e2e;
mod watch_floor;
mod watch_real;
mod watch_reminder;
mod watch_state;
