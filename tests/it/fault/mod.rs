//! Fault injection against the real agent: a fake `/proc` and memory
//! cgroup under a tempdir that a test corrupts, removes and recreates while
//! the agent runs, and the agent's `/metrics`, log and notifications read
//! back ([`harness`], for every fault test to reuse).

pub mod harness;

mod blind_alert;
mod reads;
mod scope;
mod scope_kernel;
mod sources;
