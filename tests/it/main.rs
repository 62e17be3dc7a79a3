//! memcanary's integration tests: one binary, one module per area.

// Helpers outside #[test] functions panic on broken test setup, by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod agent_kernel;
mod alloc_count;
mod deploy;
mod notify;
mod procfs;
mod rules;
mod rules_parity;
