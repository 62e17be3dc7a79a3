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
//! - [`floor`]: each new host's recent days from the datasource, to seed its floor.
//! - [`watcher`]: one cycle, the datasource's health, reminders' values.
//! - [`restored`]: alerts a previous run left firing, resolved on fresh samples.
//! - [`run`](mod@run): the live loop (clock, sleep, dispatcher, shutdown).
//! - `history_thread`: the history's requests on a thread beside the cycles.
//! - [`narrow`]: a selector narrowed to the hosts a backfill is for.
//! - [`metrics`]: `/metrics` and `/health`.
//!
//! Everything but [`run`](mod@run), `history_thread`, [`client`] and [`metrics`] is pure: times and
//! answers come in as arguments, so the tests drive it on a virtual clock.

pub mod answer;
pub mod client;
pub mod config;
pub mod fleet;
pub mod floor;
mod history_thread;
pub mod metrics;
pub mod narrow;
pub mod restored;
pub mod run;
pub mod watcher;

pub use client::{Datasource, QueryError};
pub use config::{WatchConfig, WatchConfigError};
pub use fleet::{Fleet, HOST_SILENT};
pub use run::{run, WatchError};
pub use watcher::{Answer, Outcome, Plan, Watcher, DATASOURCE_DOWN, REFRESH_EVERY_MS};

/// `check-config`'s advice about `[watch]`.
pub fn advice(cfg: &WatchConfig) -> Vec<String> {
    let mut v = Vec::new();
    if cfg.is_set() && cfg.is_local() {
        v.push(format!(
            "watch.url {:?} is on this machine: run `memcanary watch` on another one, or it goes down with the host it should report (docs/watch.md)",
            config::url_host(&cfg.url)
        ));
    }
    if cfg.is_set() && cfg.spool_dir.is_none() {
        v.push("watch.spool_dir is unset: a restart may page again for alerts already sent".into());
    }
    v
}

#[cfg(test)]
mod fake;
