//! A memory cgroup as a "host": its limit is the total, its usage eats the
//! headroom.
//!
//! Watching the slice of one service (a nightly build, a k8s pod) catches it
//! running into its own limit, where the host-wide view sees nothing. Both
//! hierarchies are supported:
//!
//! | Sample field | cgroup v2 | cgroup v1 |
//! | --- | --- | --- |
//! | `mem_total_bytes` | `memory.max` | `memory.limit_in_bytes` |
//! | `mem_available_bytes` | `max - memory.current + inactive_file` | `limit - usage_in_bytes + total_inactive_file` |
//! | swap total/free | `memory.swap.max` / `.current` | `memsw.limit - limit` / `memsw.usage - usage` |
//! | PSI | the cgroup's `memory.pressure` | the host's (v1 has no per-cgroup PSI) |
//!
//! Unlimited values ("max", or v1's huge page-rounded `LONG_MAX`) fall back to
//! the host's MemTotal / SwapTotal, and swap is never more than the host has.
//! Inactive file pages count as available (the kernel reclaims them first;
//! kubelet's "working set" makes the same cut). Without `memsw` files (v1
//! booted without swap accounting) the host's swap figures are used.
//! vmstat counters (major faults, swap-in, OOM kills) stay host-wide.
//!
//! The usage, limit and `memory.stat` files make the scope's view and are
//! essential; its swap and pressure files are not (see [`Part`]): when they
//! fail the host's swap figures stand in, and PSI is absent.

use super::error::ProcError;
use super::health::{Health, Part};
use super::kept_file::{parse_psi, KeptFile};
use crate::signal::{Meminfo, Sample};
use std::path::{Path, PathBuf};

/// Which cgroup hierarchy a scope lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupVersion {
    /// Legacy hierarchy (`memory.usage_in_bytes`).
    V1,
    /// Unified hierarchy (`memory.current`).
    V2,
}

/// The open files of one memory cgroup.
#[derive(Debug)]
pub struct CgroupScope {
    version: CgroupVersion,
    dir: PathBuf,
    usage: KeptFile,
    limit: KeptFile,
    stat: Option<KeptFile>,
    swap_usage: Option<KeptFile>,
    swap_limit: Option<KeptFile>,
    pressure: Option<KeptFile>,
}

const NUM_BUF: usize = 64;

impl CgroupScope {
    /// Opens the cgroup directory `dir`, detecting its version.
    pub fn open(dir: &Path) -> Result<CgroupScope, ProcError> {
        if let Err(source) = std::fs::metadata(dir) {
            return Err(ProcError::Open {
                path: dir.to_owned(),
                source,
            });
        }
        let version = if dir.join("memory.current").exists() {
            CgroupVersion::V2
        } else if dir.join("memory.usage_in_bytes").exists() {
            CgroupVersion::V1
        } else {
            return Err(ProcError::NotACgroup {
                path: dir.to_owned(),
            });
        };
        let names = match version {
            CgroupVersion::V2 => [
                "memory.current",
                "memory.max",
                "memory.swap.current",
                "memory.swap.max",
            ],
            CgroupVersion::V1 => [
                "memory.usage_in_bytes",
                "memory.limit_in_bytes",
                "memory.memsw.usage_in_bytes",
                "memory.memsw.limit_in_bytes",
            ],
        };
        let pressure = match version {
            CgroupVersion::V2 => KeptFile::open_optional(&dir.join("memory.pressure"), 256)?,
            CgroupVersion::V1 => None,
        };
        Ok(CgroupScope {
            version,
            dir: dir.to_owned(),
            usage: KeptFile::open(&dir.join(names[0]), NUM_BUF)?,
            limit: KeptFile::open(&dir.join(names[1]), NUM_BUF)?,
            stat: KeptFile::open_optional(&dir.join("memory.stat"), 4096)?,
            swap_usage: KeptFile::open_optional(&dir.join(names[2]), NUM_BUF)?,
            swap_limit: KeptFile::open_optional(&dir.join(names[3]), NUM_BUF)?,
            pressure,
        })
    }

    /// The hierarchy.
    pub fn version(&self) -> CgroupVersion {
        self.version
    }

    /// The cgroup directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the scope has its own PSI file (v2).
    pub fn has_pressure(&self) -> bool {
        self.pressure.is_some()
    }

    /// The cgroup's `memory.pressure` file, if any (for PSI triggers).
    pub fn pressure_path(&self) -> Option<&Path> {
        self.pressure.as_ref().map(|p| p.path())
    }

    /// Overwrites the memory and swap fields of `s` (already filled from the
    /// host) with the cgroup's view; PSI too when the cgroup has its own.
    /// An error is an essential file's; the swap and pressure files report
    /// into `health` and leave the host's swap figures, and no PSI.
    /// (Out of line: the host-wide sample path does not carry it.)
    #[inline(never)]
    pub(crate) fn apply(
        &mut self,
        host: &Meminfo,
        s: &mut Sample,
        health: &mut Health,
    ) -> Result<(), ProcError> {
        let limit = clamp(self.limit.read_u64_or_max()?, host.mem_total_bytes);
        let usage = self.usage.read_u64_or_max()?.unwrap_or(0);
        let inactive_file = self.inactive_file()?;
        s.mem_total_bytes = limit;
        s.mem_available_bytes = limit
            .saturating_sub(usage)
            .saturating_add(inactive_file)
            .min(limit);
        match self.apply_swap(host, limit, usage, s) {
            Ok(()) => health.pass(Part::CgroupSwap),
            Err(e) => health.fail(Part::CgroupSwap, e),
        }
        if let Some(p) = self.pressure.as_mut() {
            let psi = parse_psi(p);
            s.psi_some_total_us = psi.as_ref().ok().map(|p| p.some.total_us);
            s.psi_full_total_us = psi.as_ref().ok().and_then(|p| p.full).map(|f| f.total_us);
            match psi {
                Ok(_) => health.pass(Part::CgroupPressure),
                Err(e) => health.fail(Part::CgroupPressure, e),
            }
        }
        Ok(())
    }

    /// Whether the scope has swap files (v2 `memory.swap.*`, v1 `memsw`).
    pub(crate) fn has_swap(&self) -> bool {
        self.swap_usage.is_some() && self.swap_limit.is_some()
    }

    fn apply_swap(
        &mut self,
        host: &Meminfo,
        limit: u64,
        usage: u64,
        s: &mut Sample,
    ) -> Result<(), ProcError> {
        let (Some(su), Some(sl)) = (self.swap_usage.as_mut(), self.swap_limit.as_mut()) else {
            return Ok(()); // host swap figures stay
        };
        let swap_limit = sl.read_u64_or_max()?;
        let swap_usage = su.read_u64_or_max()?.unwrap_or(0);
        let (total, used) = match self.version {
            CgroupVersion::V2 => (clamp(swap_limit, host.swap_total_bytes), swap_usage),
            CgroupVersion::V1 => {
                // memsw counts memory + swap together.
                let memsw = swap_limit.map(|l| l.saturating_sub(limit));
                (
                    clamp(memsw, host.swap_total_bytes),
                    swap_usage.saturating_sub(usage),
                )
            }
        };
        s.swap_total_bytes = total;
        s.swap_free_bytes = total.saturating_sub(used).min(host.swap_free_bytes);
        Ok(())
    }

    /// `inactive_file` (v2) / `total_inactive_file` (v1) from memory.stat, 0
    /// when absent.
    fn inactive_file(&mut self) -> Result<u64, ProcError> {
        let key = match self.version {
            CgroupVersion::V2 => "inactive_file",
            CgroupVersion::V1 => "total_inactive_file",
        };
        let Some(stat) = self.stat.as_mut() else {
            return Ok(0);
        };
        let text = stat.read()?;
        let value = text
            .lines()
            .filter_map(|l| l.split_once(' '))
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.trim().parse::<u64>().ok());
        Ok(value.unwrap_or(0))
    }
}

/// `None` ("max") or anything above the host's figure means the host's figure.
fn clamp(v: Option<u64>, host: u64) -> u64 {
    v.map_or(host, |v| v.min(host))
}
