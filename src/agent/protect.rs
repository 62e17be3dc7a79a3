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
//!
//! `RLIMIT_MEMLOCK` is read before locking. Without `CAP_IPC_LOCK`,
//! `MCL_CURRENT` needs all of today's mappings (`VmSize`) under the limit,
//! and under `MCL_FUTURE` every later mapping counts in full (a thread's
//! whole stack reservation, each heap extension): a mapping past the limit
//! fails, and a failed allocation aborts the process (seen: `memory
//! allocation of 32 bytes failed` on the first alert under the default
//! `ulimit -l` of 8 MiB; twelve sinks could not even start their threads).
//! So [`plan`] locks future pages only when today's mappings, every thread
//! still to start ([`crate::thread::MAX_STACK`] each) and a heap margin fit;
//! else current pages only, else nothing; and says so once.

use super::config::{AgentConfig, LockMode};
use crate::config::Config;
use rustix::mm::{mlockall, MlockAllFlags};
use rustix::process::{getrlimit, Resource};
use std::path::Path;

/// Heap growth (and small mappings: TLS buffers, a scrape's body) allowed
/// for under `MCL_FUTURE` beyond the thread stacks.
pub const HEAP_MARGIN: u64 = 8 << 20;
/// Threads the agent starts after locking besides one per sink target:
/// notifier, heartbeat, blackbox, metrics-http, notify-router, notify-spool.
const FIXED_THREADS: u64 = 6;
/// `CAP_IPC_LOCK`: locking is not limited by `RLIMIT_MEMLOCK`.
const CAP_IPC_LOCK: u32 = 14;

/// What self-protection achieved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Protection {
    /// Current pages locked.
    pub locked: bool,
    /// Later mappings locked too (`MCL_FUTURE`).
    pub locked_future: bool,
    /// `oom_score_adj` in force, if we set it.
    pub oom_score_adj: Option<i32>,
    /// Nice value in force, if we set it.
    pub nice: Option<i32>,
}

/// Threads started after locking for `cfg`: the fixed ones and one
/// delivery worker per sink target (an Alertmanager HA pair is two).
pub fn expected_threads(cfg: &Config) -> u64 {
    let targets: usize = cfg.notify.sinks.iter().map(|s| s.urls.len().max(1)).sum();
    FIXED_THREADS + targets.max(1) as u64
}

/// How much locking fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Current and future pages.
    All,
    /// Current pages only: later mappings would pass the limit.
    CurrentOnly,
    /// Nothing: today's mappings alone pass the limit.
    Nothing,
}

/// Which locking fits `limit` bytes (`None`: unlimited, or `CAP_IPC_LOCK`)
/// with `current` bytes mapped and `future` more to come.
pub fn plan(limit: Option<u64>, current: u64, future: u64) -> Plan {
    match limit {
        None => Plan::All,
        Some(l) if current.saturating_add(future) <= l => Plan::All,
        Some(l) if current <= l => Plan::CurrentOnly,
        Some(_) => Plan::Nothing,
    }
}

/// Applies every configured protection, logging each result; `threads`
/// will start after it ([`expected_threads`]).
pub fn apply(cfg: &AgentConfig, proc_root: &Path, threads: u64) -> Protection {
    let current = match cfg.lock_memory {
        LockMode::All => MlockAllFlags::CURRENT,
        LockMode::Touched => MlockAllFlags::CURRENT | MlockAllFlags::ONFAULT,
        LockMode::Off => MlockAllFlags::empty(),
    };
    let (locked, locked_future) = if current.is_empty() {
        (false, false)
    } else {
        lock_within_limit(current, threads)
    };
    let mut p = Protection {
        locked,
        locked_future,
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

/// Locks what fits under `RLIMIT_MEMLOCK`: (current, future) locked.
fn lock_within_limit(current: MlockAllFlags, threads: u64) -> (bool, bool) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let limit = memlock_limit(&status);
    let mapped = status_kb(&status, "VmSize:").unwrap_or(0);
    let future = threads * crate::thread::MAX_STACK as u64 + HEAP_MARGIN;
    let kib = |b: u64| b >> 10;
    match plan(limit, mapped, future) {
        Plan::All => return lock_memory(current, true),
        Plan::CurrentOnly => tracing::warn!(
            limit_kib = limit.map(kib),
            mapped_kib = kib(mapped),
            future_kib = kib(future),
            "RLIMIT_MEMLOCK leaves no room for the thread stacks and heap to come: locking current pages only (later mappings stay unlocked; memcanary_memory_locked_future 0). Raise LimitMEMLOCK / ulimit -l or grant CAP_IPC_LOCK"
        ),
        Plan::Nothing => {
            tracing::warn!(
                limit_kib = limit.map(kib),
                mapped_kib = kib(mapped),
                "RLIMIT_MEMLOCK is below what the agent maps now: running unlocked (memcanary_memory_locked 0). Raise LimitMEMLOCK / ulimit -l or grant CAP_IPC_LOCK"
            );
            return (false, false);
        }
    }
    lock_memory(current, false)
}

/// The lock limit in bytes; `None` when unlimited or `CAP_IPC_LOCK` is
/// effective (both per `status`, `/proc/self/status`, and `getrlimit`).
fn memlock_limit(status: &str) -> Option<u64> {
    let cap_eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    if cap_eff >> CAP_IPC_LOCK & 1 == 1 {
        return None;
    }
    getrlimit(Resource::Memlock).current
}

fn lock_memory(current: MlockAllFlags, future: bool) -> (bool, bool) {
    if let Err(e) = mlockall(current) {
        tracing::warn!(error = %e, "mlockall(MCL_CURRENT) refused (needs CAP_IPC_LOCK or LimitMEMLOCK); running unlocked");
        return (false, false);
    }
    if !future {
        tracing::info!("memory locked: current pages only");
        return (true, false);
    }
    match mlockall(MlockAllFlags::FUTURE | MlockAllFlags::ONFAULT) {
        Ok(()) => {
            tracing::info!("memory locked: current pages, future pages on fault");
            (true, true)
        }
        Err(e) => {
            tracing::warn!(error = %e, "mlockall(MCL_FUTURE|MCL_ONFAULT) refused; current pages stay locked");
            (true, false)
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
    Some((status_kb(&text, "VmLck:")?, status_kb(&text, "VmRSS:")?))
}

/// A `kB` line of `/proc/self/status`, in bytes.
fn status_kb(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|v| v * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_future_pages_only_when_they_fit() {
        let mib = |n: u64| n << 20;
        assert_eq!(plan(None, mib(900), mib(900)), Plan::All);
        assert_eq!(plan(Some(mib(64)), mib(6), mib(20)), Plan::All);
        // The default `ulimit -l` (8 MiB) under the lean agent's 6 MiB.
        assert_eq!(plan(Some(mib(8)), mib(6), mib(14)), Plan::CurrentOnly);
        assert_eq!(plan(Some(mib(8)), mib(14), mib(14)), Plan::Nothing);
        assert_eq!(plan(Some(0), 0, 0), Plan::All);
    }

    #[test]
    fn cap_ipc_lock_means_no_limit() {
        assert_eq!(memlock_limit("CapEff:\t0000000000004000\n"), None);
        assert_eq!(
            status_kb("VmSize:\t   27700 kB\n", "VmSize:"),
            Some(27700 * 1024)
        );
    }
}
