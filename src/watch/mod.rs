//! The fleet watcher (`memcanary watch`): the same detector over the
//! node_exporter series already in VictoriaMetrics or Prometheus.
//!
//! # Layout
//!
//! ```text
//! [watch] config -> Datasource (one HTTP client)
//!   every interval: one query per signal for all hosts -> answer::parse
//!     -> Watcher::cycle (datasource health, backoff, self-alert)
//!        -> Fleet (a Detector per host: warm, feed, advance_to) -> events
//!   -> notify::Dispatcher (the agent's routes, spool, dedupe)
//! ```
//!
//! - [`config`]: `[watch]` and its checks.
//! - [`answer`]: the PromQL asked and the answer read, on bytes.
//! - [`client`]: the HTTP client (auth, headers, CA, timeout).
//! - [`fleet`]: per-host detectors, joined samples, silence.
//! - [`watcher`]: one cycle, the datasource's health.
//! - [`run`]: the live loop (clock, sleep, dispatcher, shutdown).
//! - [`metrics`]: `/metrics` and `/health`.
//!
//! Everything but [`run`], [`client`] and [`metrics`] is pure: times and
//! answers come in as arguments, so the tests drive it on a virtual clock.

pub mod answer;
pub mod client;
pub mod config;
pub mod fleet;
pub mod watcher;

pub use client::{Datasource, QueryError};
pub use config::{WatchConfig, WatchConfigError};
pub use fleet::{Fleet, HOST_SILENT};
pub use watcher::{Outcome, Watcher, DATASOURCE_DOWN};

#[cfg(test)]
mod fake;
