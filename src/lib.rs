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
//! - [`config`]: the TOML config file (`[detector]`, `[agent]`, `[watch]`, `[notify]`).
//! - [`replay`]: the backtest: memcanary beside the published rules.
//! - [`eval`]: the detector scored over a labelled corpus (lead fractions,
//!   false alarms, the envelope limit, sweeps).
//! - [`watch`]: the fleet watcher (`memcanary watch`): the detector per host
//!   over node_exporter series in VictoriaMetrics or Prometheus.
//! - [`notify`]: alerts out to Discord, Alertmanager, ntfy, webhooks: retries, spool.
//! - [`rules`]: the same rules for vmalert / Prometheus / Alertmanager.
//! - [`cli`]: the commands (`agent`, `watch`, `check-config`, `notify-test`,
//!   `rules`, `replay`, `eval`) for both binaries; the only module that uses `anyhow`.
//! - The edge, one of each: [`clock`] (the only reader of time),
//!   [`durable`] (the atomic file writer), [`host`] (the host name),
//!   [`http`] (the `/metrics` server of the agent and the watcher),
//!   [`logging`] (the one logging setup and error-chain flattener).
//!
//! One detector, fed three ways: the on-host daemon, the fleet watcher and the
//! backtest all run the same code.
//!
//! # The hot section
//!
//! The agent wakes once a second on a calm host and runs one sample through
//! the parsers and the detector. At that rate every cache line and TLB
//! entry it needs has gone cold since the last turn, so the cost of a turn
//! follows the number of distinct pages it touches more than the number of
//! instructions it runs (`docs/agent.md`, "Pages touched per wake-up").
//! The functions on that path that the compiler keeps out of line carry
//! `#[link_section = "memcanary_hot"]`: the linker gathers them into one
//! run of pages instead of leaving them wherever they fell among 1.9 MB of
//! code. Their error paths are `#[cold]` functions, outside it. That
//! attribute is the crate's only exception to `unsafe_code = "deny"`
//! (rustc counts a chosen link section as unsafe because a wrong one could
//! put code where it cannot run; this one is an ordinary code section,
//! placed by the linker after `.text`). There is no `unsafe` block.

#![deny(missing_docs)]

pub mod agent;
pub mod cli;
pub mod clock;
pub mod config;
pub mod detect;
pub mod durable;
pub mod eval;
pub mod host;
pub mod http;
pub mod logging;
pub mod notify;
pub mod replay;
pub mod rules;
pub mod signal;
pub mod source;
#[cfg(test)]
mod testing;
pub mod thread;
pub mod watch;
