//! The one integration test binary: a module per area.

// Test helpers outside #[test] fns may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod agent_kernel;
mod alloc_count;
mod deploy;
mod procfs;
