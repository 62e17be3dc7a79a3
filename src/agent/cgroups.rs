//! Which cgroup is thrashing at its own limit: the name `cgroup_thrashing`
//! carries.
//!
//! The host's PSI says that something stalls; when the host has room to
//! spare (the detector's `cgroup_thrashing`), it is a cgroup at its own
//! memory limit. The top-consumer snapshot ([`super::snapshot`]) already
//! knows every process group's cgroup; [`probe`] reads those cgroups' files
//! twice, [`PROBE_GAP`] apart, and [`judge`] picks the one at its limit that
//! stalls most: its PSI "full" share (v2), its major faults, its limit hits
//! (v2 `memory.events` `max`, v1 `memory.failcnt`).
//!
//! Runs on the black-box thread with the snapshot, never on the alert path:
//! it opens files and allocates. The parsing is pure
//! ([`crate::signal::cgroup_mem`]); this module reads files and judges.

use crate::signal::cgroup_mem::{CgroupMem, CgroupMemError, V1Texts, V2Texts};
use crate::signal::cgroup_path::cgroup_dir_in;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Time between the two readings of each cgroup: long enough that a
/// cgroup thrashing at its limit shows faults and limit hits, short enough
/// for the snapshot the alert waits for.
pub const PROBE_GAP: Duration = Duration::from_millis(250);

/// Cgroups read per probe at most (the snapshot's groups and their parents).
pub const MAX_CGROUPS: usize = 64;

/// A cgroup at its limit, stalling, between two readings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CgroupStall {
    /// The cgroup, as `/proc/[pid]/cgroup` names it.
    pub cgroup: String,
    /// Its usage at the second reading, bytes.
    pub usage_bytes: u64,
    /// Its limit, bytes.
    pub limit_bytes: u64,
    /// Limit hits between the readings.
    pub limit_hits: u64,
    /// Major faults between the readings.
    pub major_faults: u64,
    /// OOM kills between the readings.
    pub oom_kills: u64,
    /// Its PSI "full" share of the time between the readings (v2 only).
    pub full_ratio: Option<f64>,
    /// Time between the readings, ms.
    pub over_ms: u64,
}

impl std::fmt::Display for CgroupStall {
    /// `cgroup="/build" at 64.0 MiB of its 64.0 MiB limit: 120 limit hits,
    /// 340 major faults in 250 ms`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = crate::signal::units::bytes;
        write!(
            f,
            "cgroup={:?} at {} of its {} limit: {} limit hits, {} major faults",
            self.cgroup,
            b(self.usage_bytes),
            b(self.limit_bytes),
            self.limit_hits,
            self.major_faults
        )?;
        if self.oom_kills > 0 {
            write!(f, ", {} OOM kills", self.oom_kills)?;
        }
        if let Some(r) = self.full_ratio {
            write!(f, ", PSI full {:.0}%", r * 100.0)?;
        }
        write!(f, " in {} ms", self.over_ms)
    }
}

/// Whether `after` (read `over` after `before`) shows a cgroup at its limit
/// and stalling there, and how: at its limit is usage within 10 % of the
/// limit, a limit hit or an OOM kill; stalling is a major fault, an OOM kill
/// or PSI "full" time.
pub fn judge(
    cgroup: &str,
    before: &CgroupMem,
    after: &CgroupMem,
    over: Duration,
) -> Option<CgroupStall> {
    let limit = after.limit_bytes?;
    let d = |a: u64, b: u64| a.saturating_sub(b);
    let hits = d(after.limit_hits, before.limit_hits);
    let faults = d(after.major_faults, before.major_faults);
    let ooms = d(after.oom_kills, before.oom_kills);
    let over_us = over.as_micros().max(1) as f64;
    let full_ratio = match (before.full_stall_us, after.full_stall_us) {
        (Some(b), Some(a)) => Some((d(a, b) as f64 / over_us).min(1.0)),
        _ => None,
    };
    let at_limit = after.usage_bytes as f64 >= 0.9 * limit as f64 || hits > 0 || ooms > 0;
    let stalling = faults > 0 || ooms > 0 || full_ratio.is_some_and(|r| r > 0.0);
    (at_limit && stalling).then(|| CgroupStall {
        cgroup: cgroup.to_string(),
        usage_bytes: after.usage_bytes,
        limit_bytes: limit,
        limit_hits: hits,
        major_faults: faults,
        oom_kills: ooms,
        full_ratio,
        over_ms: over.as_millis() as u64,
    })
}

/// Sorts stalls worst first: more PSI "full", then more major faults, then
/// more limit hits; on a tie the inner cgroup (its limit is the one hit).
pub fn worst_first(stalls: &mut [CgroupStall]) {
    let key = |s: &CgroupStall| {
        (
            s.full_ratio.unwrap_or(0.0),
            s.major_faults,
            s.limit_hits,
            s.cgroup.len(),
        )
    };
    stalls.sort_by(|a, b| {
        key(b)
            .partial_cmp(&key(a))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
}

/// The cgroups to read for `groups` (cgroup paths): each and its parents
/// below the root, once each, at most [`MAX_CGROUPS`].
pub fn candidates<'a>(groups: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for g in groups {
        let mut path = g.trim_end_matches('/');
        while !path.is_empty() && out.len() < MAX_CGROUPS {
            if !out.iter().any(|p| p == path) {
                out.push(path.to_string());
            }
            path = path.rfind('/').map_or("", |i| &path[..i]);
        }
    }
    out
}

/// A cgroup's directory and hierarchy.
struct Dir {
    cgroup: String,
    path: PathBuf,
    v2: bool,
}

/// Reads `cgroups` (paths as `/proc/[pid]/cgroup` names them, found through
/// `proc_root/self/mountinfo`) twice, `gap` apart, and returns those at
/// their limit and stalling, worst first. The wait is skipped when no
/// cgroup has a limit. Unreadable cgroups (gone, no permission, malformed) are logged at
/// debug and left out.
pub fn probe(proc_root: &Path, cgroups: &[String], gap: Duration) -> Vec<CgroupStall> {
    let Ok(mountinfo) = std::fs::read_to_string(proc_root.join("self/mountinfo")) else {
        return Vec::new();
    };
    let dirs: Vec<Dir> = cgroups
        .iter()
        .filter_map(|c| {
            let (path, v2) = cgroup_dir_in(&mountinfo, c)?;
            Some(Dir {
                cgroup: c.clone(),
                path,
                v2,
            })
        })
        .collect();
    let before: Vec<(&Dir, CgroupMem)> = dirs
        .iter()
        .filter_map(|d| Some((d, read_logged(d)?)))
        .filter(|(_, m)| m.limit_bytes.is_some())
        .collect();
    if before.is_empty() {
        return Vec::new();
    }
    let start = crate::clock::mono();
    std::thread::sleep(gap);
    let mut found: Vec<CgroupStall> = before
        .iter()
        .filter_map(|(d, b)| judge(&d.cgroup, b, &read_logged(d)?, start.elapsed()))
        .collect();
    worst_first(&mut found);
    found
}

fn read_logged(d: &Dir) -> Option<CgroupMem> {
    read(&d.path, d.v2)
        .map_err(|e| tracing::debug!(cgroup = %d.cgroup, error = %e, "cannot read cgroup"))
        .ok()
}

/// Why a cgroup could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CgroupReadError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file's text is not what the kernel writes.
    #[error("{dir}/{source}")]
    Parse {
        /// The cgroup's directory.
        dir: PathBuf,
        /// What is wrong, naming the file.
        source: CgroupMemError,
    },
}

/// One reading of the cgroup directory `dir`.
pub fn read(dir: &Path, v2: bool) -> Result<CgroupMem, CgroupReadError> {
    let file = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|source| CgroupReadError::Io { path, source })
    };
    let parsed = if v2 {
        let (current, max) = (file("memory.current")?, file("memory.max")?);
        let (events, stat) = (file("memory.events")?, file("memory.stat")?);
        let pressure = file("memory.pressure").ok();
        CgroupMem::parse_v2(&V2Texts {
            current: &current,
            max: &max,
            events: &events,
            stat: &stat,
            pressure: pressure.as_deref(),
        })
    } else {
        let (usage, limit) = (
            file("memory.usage_in_bytes")?,
            file("memory.limit_in_bytes")?,
        );
        let (failcnt, stat) = (file("memory.failcnt")?, file("memory.stat")?);
        let oom_control = file("memory.oom_control").ok();
        CgroupMem::parse_v1(&V1Texts {
            usage: &usage,
            limit: &limit,
            failcnt: &failcnt,
            stat: &stat,
            oom_control: oom_control.as_deref(),
        })
    };
    parsed.map_err(|source| CgroupReadError::Parse {
        dir: dir.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn mem(usage: u64, hits: u64, faults: u64) -> CgroupMem {
        CgroupMem {
            usage_bytes: usage * MIB,
            limit_bytes: Some(64 * MIB),
            limit_hits: hits,
            major_faults: faults,
            ..CgroupMem::default()
        }
    }

    const GAP: Duration = Duration::from_millis(250);

    #[test]
    fn a_cgroup_at_its_limit_and_faulting_is_stalling() {
        let s = judge("/build", &mem(63, 100, 10), &mem(64, 900, 350), GAP).unwrap();
        assert_eq!((s.limit_hits, s.major_faults, s.over_ms), (800, 340, 250));
        assert_eq!(
            s.to_string(),
            "cgroup=\"/build\" at 64.0 MiB of its 64.0 MiB limit: 800 limit hits, \
             340 major faults in 250 ms"
        );
    }

    #[test]
    fn full_of_cache_or_far_from_its_limit_or_unlimited_is_not() {
        // At its limit, hitting it (reclaiming cache), but no major fault.
        assert_eq!(judge("/c", &mem(64, 0, 5), &mem(64, 50, 5), GAP), None);
        // Faulting, far below its limit, never hit it.
        assert_eq!(judge("/c", &mem(10, 3, 0), &mem(10, 3, 90), GAP), None);
        let open = CgroupMem {
            limit_bytes: None,
            ..mem(64, 900, 350)
        };
        assert_eq!(judge("/c", &mem(63, 0, 0), &open, GAP), None);
    }

    #[test]
    fn v2_psi_full_counts_as_stalling_and_ranks_first() {
        let psi = |mut m: CgroupMem, us| {
            m.full_stall_us = Some(us);
            m
        };
        let a = judge("/a", &mem(64, 0, 0), &mem(64, 10, 900), GAP).unwrap();
        let b = judge(
            "/b",
            &psi(mem(64, 0, 0), 0),
            &psi(mem(64, 10, 0), 100_000),
            GAP,
        )
        .unwrap();
        assert_eq!(b.full_ratio, Some(0.4));
        let mut v = [a.clone(), b.clone()];
        worst_first(&mut v);
        assert_eq!([v[0].cgroup.as_str(), v[1].cgroup.as_str()], ["/b", "/a"]);
        let mut v = [b, a];
        worst_first(&mut v);
        assert_eq!(v[0].cgroup, "/b");
    }

    #[test]
    fn candidates_are_each_group_and_its_parents_once() {
        let c = candidates(["/system.slice/a.service", "/system.slice/b.service", "/"]);
        assert_eq!(
            c,
            [
                "/system.slice/a.service",
                "/system.slice",
                "/system.slice/b.service"
            ]
        );
        let many: Vec<String> = (0..100).map(|i| format!("/g{i}")).collect();
        assert_eq!(
            candidates(many.iter().map(String::as_str)).len(),
            MAX_CGROUPS
        );
    }

    #[test]
    fn probe_reads_a_v1_tree_named_by_mountinfo() {
        let tmp = tempfile::tempdir().unwrap();
        let mnt = tmp.path().join("memory");
        let cg = mnt.join("build");
        std::fs::create_dir_all(&cg).unwrap();
        let proc_ = tmp.path().join("proc");
        std::fs::create_dir_all(proc_.join("self")).unwrap();
        std::fs::write(
            proc_.join("self/mountinfo"),
            format!(
                "35 31 0:32 / {} rw - cgroup cgroup rw,memory\n",
                mnt.display()
            ),
        )
        .unwrap();
        for (f, v) in [
            ("memory.usage_in_bytes", "67100000\n"),
            ("memory.limit_in_bytes", "67108864\n"),
            ("memory.failcnt", "7\n"),
            ("memory.stat", "total_pgmajfault 40\n"),
        ] {
            std::fs::write(cg.join(f), v).unwrap();
        }
        // Static counters: at its limit but nothing moved, so no stall...
        let none = probe(&proc_, &["/build".into()], Duration::from_millis(1));
        assert_eq!(none, []);
        // ...and a malformed file leaves the cgroup out, naming the file.
        std::fs::write(cg.join("memory.failcnt"), "x\n").unwrap();
        let e = read(&cg, false).unwrap_err().to_string();
        assert!(
            e.ends_with("build/memory.failcnt: not a number: \"x\""),
            "{e}"
        );
    }
}
