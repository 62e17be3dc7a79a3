//! memcanary's integration tests: one binary, one module per area.

// Helpers outside #[test] functions panic on broken test setup, by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod agent_cli;
mod agent_kernel;
mod agent_restart;
mod alloc_count;
mod common;
mod deploy;
mod eval;
mod notify;
mod procfs;
mod recorded;
mod replay;
mod rules;
mod rules_parity;
mod watch;
