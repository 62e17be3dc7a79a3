//! Who is eating the memory: a bounded scan of `/proc/[pid]` grouped by
//! systemd unit / cgroup, e.g. `coily-update.service: 16 x cc1plus, 15.8 GiB`.
//!
//! Taken on the black-box thread when a warning fires, never on the alert
//! path: a full `/proc` walk opens thousands of files, allocates, and under
//! thrash each open can stall. The scan stops after `max_processes` or
//! `max_time`, whichever comes first, and says whether it was cut short.
//! RSS and swap come from `/proc/[pid]/status` (`VmRSS`, `VmSwap`), the group
//! from `/proc/[pid]/cgroup`. With a cgroup scope (`agent.cgroup`), only the
//! processes inside that cgroup (or below it) count: [`cgroup_path`] turns
//! the scope's directory into the path `/proc/[pid]/cgroup` shows. The
//! parsing is pure and lives with the other parsers
//! ([`crate::signal::pid_status`], [`crate::signal::cgroup_path`]); this
//! module walks the files.

use super::cgroups::{self, CgroupStall};
use super::config::SnapshotConfig;
use crate::signal::cgroup_path::{cgroup_of, cgroup_path_in, is_within, unit_cgroup, unit_name};
use crate::signal::pid_status::parse_status;
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

/// One group of processes (a unit or cgroup).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// The systemd unit (last `.service` / `.scope` / `.slice` component of
    /// the cgroup path) or the cgroup path.
    pub unit: String,
    /// The group's cgroup, as `/proc/[pid]/cgroup` names it: the unit's own
    /// cgroup (processes in cgroups below it count in it), else the cgroup.
    pub cgroup: String,
    /// Processes seen in the group.
    pub processes: u32,
    /// The most common command name and how many processes run it.
    pub top_command: String,
    /// Processes running `top_command`.
    pub top_command_count: u32,
    /// Sum of RSS, bytes.
    pub rss_bytes: u64,
    /// Sum of swapped-out memory, bytes.
    pub swap_bytes: u64,
    /// Whether the group lies in a cgroup found stalling at its own memory
    /// limit ([`Snapshot::stalling`]).
    pub at_limit: bool,
}

impl std::fmt::Display for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let total = human_bytes(self.rss_bytes + self.swap_bytes);
        if self.top_command_count == self.processes {
            write!(
                f,
                "{}: {} x {}, {}",
                self.unit, self.processes, self.top_command, total
            )?;
        } else {
            write!(
                f,
                "{}: {} processes ({} x {}), {}",
                self.unit, self.processes, self.top_command_count, self.top_command, total
            )?;
        }
        if self.at_limit {
            f.write_str(" (at its memory limit, stalling)")?;
        }
        Ok(())
    }
}

/// The result of one scan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// Biggest groups first, at most `top`, then the biggest group of each
    /// `stalling` cgroup that none of those is in.
    pub groups: Vec<Group>,
    /// Processes read.
    pub processes_read: u32,
    /// Whether a limit cut the scan short.
    pub truncated: bool,
    /// How long the scan took, ms.
    pub elapsed_ms: u64,
    /// The cgroup the scan was limited to (as `/proc/[pid]/cgroup` names
    /// it), or `None` for the whole host.
    pub within: Option<String>,
    /// The cgroups at their own memory limit and stalling there, worst
    /// first.
    pub stalling: Vec<CgroupStall>,
}

/// `1.5 GiB`, `300.0 MiB`.
pub fn human_bytes(b: u64) -> String {
    let gib = b as f64 / (1u64 << 30) as f64;
    if gib >= 1.0 {
        format!("{gib:.1} GiB")
    } else {
        format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64)
    }
}

#[derive(Default)]
struct Acc {
    processes: u32,
    rss: u64,
    swap: u64,
    commands: HashMap<String, u32>,
}

/// Scans `proc_root` within the limits; with `within` (a cgroup path as
/// [`cgroup_path`] gives it), only processes in that cgroup or below.
pub fn take(proc_root: &Path, cfg: &SnapshotConfig, within: Option<&str>) -> Snapshot {
    let start = crate::clock::mono();
    let budget = Duration::from_millis(cfg.max_time.as_millis().max(0) as u64);
    let mut groups: HashMap<String, Acc> = HashMap::new();
    let mut read = 0u32;
    let mut truncated = false;
    let entries = std::fs::read_dir(proc_root).into_iter().flatten().flatten();
    for entry in entries {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        if read >= cfg.max_processes || start.elapsed() > budget {
            truncated = true;
            break;
        }
        read += 1;
        let dir = proc_root.join(pid);
        let path = read_cgroup(&dir);
        if within.is_some_and(|w| !is_within(&path, w)) {
            continue;
        }
        let Some((comm, rss, swap)) = read_status(&dir) else {
            continue; // gone, or a kernel thread
        };
        let acc = groups.entry(unit_cgroup(&path).to_string()).or_default();
        acc.processes += 1;
        acc.rss += rss;
        acc.swap += swap;
        *acc.commands.entry(comm).or_default() += 1;
    }
    let names = cgroups::candidates(groups.keys().map(String::as_str));
    let stalling = cgroups::probe(proc_root, &names, cgroups::PROBE_GAP);
    Snapshot {
        groups: top_groups(groups, cfg.top as usize, &stalling),
        processes_read: read,
        truncated,
        elapsed_ms: start.elapsed().as_millis() as u64,
        within: within.map(str::to_string),
        stalling,
    }
}

/// The cgroup path (as `/proc/[pid]/cgroup` shows it) of the cgroup
/// directory `dir`, from `proc_root/self/mountinfo`: the cgroup2 mount, or
/// the v1 mount with the memory controller, that holds `dir`, and that
/// mount's root (not `/` inside a cgroup namespace). `None` when no such
/// mount holds `dir`.
pub fn cgroup_path(proc_root: &Path, dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(proc_root.join("self/mountinfo")).ok()?;
    cgroup_path_in(&text, dir)
}

fn top_groups(groups: HashMap<String, Acc>, top: usize, stalling: &[CgroupStall]) -> Vec<Group> {
    let mut out: Vec<Group> = groups
        .into_iter()
        .map(|(cgroup, a)| {
            let (cmd, n) = a
                .commands
                .into_iter()
                .max_by(|x, y| x.1.cmp(&y.1).then_with(|| y.0.cmp(&x.0)))
                .unwrap_or_default();
            Group {
                unit: unit_name(&cgroup).to_string(),
                cgroup,
                processes: a.processes,
                top_command: cmd,
                top_command_count: n,
                rss_bytes: a.rss,
                swap_bytes: a.swap,
                at_limit: false,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        (b.rss_bytes + b.swap_bytes)
            .cmp(&(a.rss_bytes + a.swap_bytes))
            .then_with(|| a.unit.cmp(&b.unit))
            .then_with(|| a.cgroup.cmp(&b.cgroup))
    });
    for g in &mut out {
        g.at_limit = stalling.iter().any(|s| is_within(&g.cgroup, &s.cgroup));
    }
    let mut rest = out.split_off(top.min(out.len()));
    for s in stalling {
        if out.iter().any(|g| is_within(&g.cgroup, &s.cgroup)) {
            continue;
        }
        if let Some(i) = rest.iter().position(|g| is_within(&g.cgroup, &s.cgroup)) {
            out.push(rest.remove(i));
        }
    }
    out
}

/// `(Name, VmRSS bytes, VmSwap bytes)`; `None` for kernel threads (no VmRSS).
fn read_status(dir: &Path) -> Option<(String, u64, u64)> {
    let text = std::fs::read_to_string(dir.join("status")).ok()?;
    parse_status(&text)
}

fn read_cgroup(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("cgroup")).unwrap_or_default();
    cgroup_of(&text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scoped_scan_counts_only_the_scope() {
        let root = tempfile::tempdir().unwrap();
        let proc_ = |pid: u32, cg: &str, rss_kb: u64| {
            let d = root.path().join(pid.to_string());
            std::fs::create_dir_all(&d).unwrap();
            let status = format!("Name:\tcc1plus\nVmRSS:\t{rss_kb} kB\nVmSwap:\t0 kB\n");
            std::fs::write(d.join("status"), status).unwrap();
            std::fs::write(d.join("cgroup"), format!("0::{cg}\n")).unwrap();
        };
        proc_(10, "/system.slice/coily-update.service", 1024);
        proc_(11, "/system.slice/coily-update.service/make", 2048);
        proc_(12, "/user.slice/user-1000.slice/session-2.scope", 4 << 20);
        let cfg = SnapshotConfig::default();
        let s = take(
            root.path(),
            &cfg,
            Some("/system.slice/coily-update.service"),
        );
        assert_eq!(s.groups.len(), 1, "{:?}", s.groups);
        assert_eq!(s.groups[0].unit, "coily-update.service");
        assert_eq!(s.groups[0].cgroup, "/system.slice/coily-update.service");
        assert_eq!(s.groups[0].processes, 2);
        assert_eq!(s.groups[0].rss_bytes, 3 << 20);
        let host = take(root.path(), &cfg, None);
        assert_eq!(host.groups[0].unit, "session-2.scope");
    }

    #[test]
    fn the_stalling_cgroup_is_marked_and_listed_even_when_small() {
        let acc = |mib: u64| Acc {
            processes: 1,
            rss: mib << 20,
            commands: [("hog".to_string(), 1)].into_iter().collect(),
            ..Acc::default()
        };
        let groups = || -> HashMap<String, Acc> {
            [
                ("/big.service".to_string(), acc(900)),
                ("/mid.service".to_string(), acc(500)),
                ("/memcanary-thrash/hog".to_string(), acc(64)),
                ("/other-test".to_string(), acc(32)),
            ]
            .into_iter()
            .collect()
        };
        let stall = CgroupStall {
            cgroup: "/memcanary-thrash".into(),
            usage_bytes: 64 << 20,
            limit_bytes: 64 << 20,
            limit_hits: 10,
            major_faults: 30,
            oom_kills: 0,
            full_ratio: None,
            over_ms: 250,
        };
        let other = CgroupStall {
            cgroup: "/other-test".into(),
            ..stall.clone()
        };
        let top = top_groups(groups(), 2, &[other, stall]);
        let units: Vec<(&str, bool)> = top.iter().map(|g| (g.unit.as_str(), g.at_limit)).collect();
        // Every stalling cgroup is listed, worst first, after the top.
        assert_eq!(
            units,
            [
                ("big.service", false),
                ("mid.service", false),
                ("/other-test", true),
                ("/memcanary-thrash/hog", true)
            ]
        );
        let plain = top_groups(groups(), 2, &[]);
        assert_eq!(plain.len(), 2);
        assert!(plain.iter().all(|g| !g.at_limit));
    }

    #[test]
    fn groups_render_like_the_incident_report() {
        let g = Group {
            unit: "coily-update.service".into(),
            cgroup: "/system.slice/coily-update.service".into(),
            processes: 16,
            top_command: "cc1plus".into(),
            top_command_count: 16,
            rss_bytes: 15 * (1 << 30),
            swap_bytes: 858_993_459,
            at_limit: false,
        };
        assert_eq!(
            g.to_string(),
            "coily-update.service: 16 x cc1plus, 15.8 GiB"
        );
        let at_limit = Group {
            at_limit: true,
            ..g
        };
        assert_eq!(
            at_limit.to_string(),
            "coily-update.service: 16 x cc1plus, 15.8 GiB (at its memory limit, stalling)"
        );
    }

    #[test]
    fn real_proc_scan_respects_the_process_bound() {
        let cfg = SnapshotConfig {
            max_processes: 3,
            ..SnapshotConfig::default()
        };
        let s = take(Path::new("/proc"), &cfg, None);
        assert!(s.processes_read <= 3);
        assert!(s.truncated, "this machine runs more than 3 processes");
        assert!(!s.groups.is_empty());
    }
}
