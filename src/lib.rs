//! memcanary: catch Linux memory exhaustion on its leading edge and get a
//! notification out before the host livelocks and goes dark.
//!
//! # Layout
//!
//! ```text
//! source (procfs | prometheus API | recorded file) -> Sample -> Detector -> Event -> notify
//!                                                                   |
//!                                                 replay / backtest, rule export, plots, /metrics
//! ```
//!
//! - [`signal`]: pure data types and parsers (`Sample`, node_exporter names).
//! - [`detect`]: the pure, deterministic detector: samples in, events out.
//! - [`source`]: I/O adapters that produce samples (`/proc`, recorded files).
//! - [`agent`]: the on-host daemon (`memcanary agent`): procfs -> detector ->
//!   notifications, built to stay alive under the pressure it watches.
//! - [`config`]: the TOML config file (`[detector]`, `[agent]`, `[notify]`).
//! - [`replay`]: the backtest: memcanary beside the published rules.
//! - [`notify`]: alerts out to Discord, Alertmanager, ntfy, webhooks: retries, spool.
//! - [`rules`]: the same rules for vmalert / Prometheus / Alertmanager.
//!
//! One detector, fed three ways: the on-host daemon, the fleet watcher and the
//! backtest all run the same code.

#![deny(missing_docs)]

pub mod agent;
pub mod config;
pub mod detect;
pub mod notify;
pub mod replay;
pub mod rules;
pub mod signal;
pub mod source;
pub mod thread;
