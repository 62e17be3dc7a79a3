//! Self-protection: the agent must outlive the pressure it watches.
//!
//! - `mlockall(MCL_CURRENT)` pins what is mapped now (code, data, the ring
//!   buffer allocated before this call), then `mlockall(MCL_FUTURE |
//!   MCL_ONFAULT)` locks later mappings page by page as they are touched,
//!   so thread stacks and glibc arenas do not get locked in full up front.
//!   `lock_memory = "touched"` uses `MCL_CURRENT | MCL_ONFAULT` instead:
//!   only pages already resident (after a warm-up turn) are locked, which
//!   keeps the never-run parts of the binary (replay, plotting) out of RAM.
//!   The agent's own text can then never be evicted and refaulted, which is
//!   what freezes node_exporter in a reclaim livelock.
//! - `oom_score_adj = -1000`: the OOM killer never picks us (needs
//!   CAP_SYS_RESOURCE to lower it).
//! - An optional nice value.
//! - malloc arenas: limited with `MALLOC_ARENA_MAX=1` in the systemd unit and
//!   DaemonSet, not with `mallopt()`: glibc reads the variable at its first
//!   allocation, it needs no `unsafe`, and the agent has only a handful of
//!   threads, none of them allocation-heavy, so one arena costs nothing.
//!
//! Every step is best effort: a refusal is logged with its reason and the
//! agent runs on (an agent that refuses to start is worse than an unlocked
//! one). [`Protection`] records what took effect for logs and `/metrics`.

use super::config::{AgentConfig, LockMode};
use rustix::mm::{mlockall, MlockAllFlags};
use std::path::Path;

/// What self-protection achieved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Protection {
    /// Memory locked (current + future on fault).
    pub locked: bool,
    /// `oom_score_adj` in force, if we set it.
    pub oom_score_adj: Option<i32>,
    /// Nice value in force, if we set it.
    pub nice: Option<i32>,
}

/// Applies every configured protection, logging each result.
pub fn apply(cfg: &AgentConfig, proc_root: &Path) -> Protection {
    let locked = match cfg.lock_memory {
        LockMode::All => lock_memory(MlockAllFlags::CURRENT),
        LockMode::Touched => lock_memory(MlockAllFlags::CURRENT | MlockAllFlags::ONFAULT),
        LockMode::Off => false,
    };
    let mut p = Protection {
        locked,
        ..Protection::default()
    };
    if let Some(adj) = cfg.oom_score_adj {
        p.oom_score_adj = set_oom_score_adj(proc_root, adj).then_some(adj);
    }
    if let Some(n) = cfg.nice {
        match rustix::process::setpriority_process(None, n) {
            Ok(()) => p.nice = Some(n),
            Err(e) => tracing::warn!(nice = n, error = %e, "cannot set nice value"),
        }
    }
    p
}

fn lock_memory(current: MlockAllFlags) -> bool {
    if let Err(e) = mlockall(current) {
        tracing::warn!(error = %e, "mlockall(MCL_CURRENT) refused (needs CAP_IPC_LOCK or LimitMEMLOCK); running unlocked");
        return false;
    }
    match mlockall(MlockAllFlags::FUTURE | MlockAllFlags::ONFAULT) {
        Ok(()) => {
            tracing::info!("memory locked: current pages, future pages on fault");
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, "mlockall(MCL_FUTURE|MCL_ONFAULT) refused; current pages stay locked");
            true
        }
    }
}

fn set_oom_score_adj(proc_root: &Path, adj: i32) -> bool {
    let path = proc_root.join("self/oom_score_adj");
    // Our own /proc/self even when proc_root is a host mount: same procfs.
    match std::fs::write(&path, adj.to_string()) {
        Ok(()) => {
            tracing::info!(oom_score_adj = adj, "OOM killer told to spare us");
            true
        }
        Err(e) => {
            tracing::warn!(oom_score_adj = adj, error = %e, path = %path.display(), "cannot set oom_score_adj (needs CAP_SYS_RESOURCE to lower it)");
            false
        }
    }
}

/// `VmLck` and `VmRSS` of this process in bytes, from `/proc/self/status`
/// (for logs and `/metrics`; not on the alert path).
pub fn self_memory(proc_root: &Path) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(proc_root.join("self/status")).ok()?;
    let kb = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|v| v * 1024)
    };
    Some((kb("VmLck:")?, kb("VmRSS:")?))
}
