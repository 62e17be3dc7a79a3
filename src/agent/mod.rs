//! `memcanary agent`: the on-host early-warning daemon.
//!
//! In-host telemetry goes dark at the cliff; this agent is built to stay up
//! through the pressure it watches and push the warning while the box can
//! still talk. Shape (threads, each with a small stack):
//!
//! ```text
//! main loop (alert path) --try_send Event--> notifier thread -> notify::Dispatcher (sinks)
//!                                             heartbeat thread (its own: a hung ping waits alone)
//!   | ProcSource (pread)   --try_send Note---> blackbox thread (snapshot, state file)
//!   | Detector             <--atomics-------- metrics-http thread (/metrics, poll: http.rs)
//!   | poll(PSI trigger, signal pipe, timer)
//! ```
//!
//! The loop opens nothing, forks nothing and scans no `/proc/[pid]`; its
//! buffers (file reads, the event vector, the ring buffer, the channels) are
//! allocated before `mlockall`. See `docs/agent.md` for what still allocates.

pub mod blackbox;
pub mod cgroups;
// The one clock, at its old path until the loop files import `crate::clock`.
pub mod config;
mod daemon;
pub mod http;
pub mod metrics;
pub mod notifier;
pub mod protect;
pub mod ring;
pub mod snapshot;
pub mod source_metrics;
pub mod statefile;
pub mod trigger;

pub use config::AgentConfig;
pub use daemon::{LOOP_STALLED, MEMCANARY_BLIND};

use crate::config::Config;
use crate::source::{CgroupScope, ProcError, ProcSource};
use std::path::PathBuf;

/// Why the agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// /proc or the cgroup could not be opened.
    #[error("cannot open the memory source")]
    Source(#[from] ProcError),
    /// The /metrics thread could not start (a failed bind is not an
    /// error: the server logs it and retries).
    #[error("cannot start the /metrics server for {listen}")]
    Metrics {
        /// The address.
        listen: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The notification sinks could not be built.
    #[error("cannot set up notifications")]
    Notify(#[source] crate::notify::NotifyError),
    /// A thread, signal handler or pipe could not be set up.
    #[error("cannot set up {what}")]
    Setup {
        /// What.
        what: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// Opens the configured source: `/proc`, optionally scoped to a cgroup.
pub fn open_source(cfg: &AgentConfig) -> Result<ProcSource, ProcError> {
    let src = ProcSource::open(&cfg.proc_root)?;
    match &cfg.cgroup {
        Some(dir) => Ok(src.with_scope(CgroupScope::open(dir)?)),
        None => Ok(src),
    }
}

/// The instance name: configured, else the host name.
pub fn instance_name(cfg: &AgentConfig) -> String {
    if let Some(i) = &cfg.instance {
        return i.clone();
    }
    crate::host::hostname(&cfg.proc_root)
}

/// Runs the daemon until SIGTERM/SIGINT. `config_path` is re-read on SIGHUP.
pub fn run(cfg: Config, config_path: Option<PathBuf>) -> Result<(), AgentError> {
    daemon::Daemon::run(cfg, config_path)
}
