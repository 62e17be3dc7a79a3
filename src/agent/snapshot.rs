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
//! the scope's directory into the path `/proc/[pid]/cgroup` shows.

use super::config::SnapshotConfig;
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
}

impl std::fmt::Display for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let total = human_bytes(self.rss_bytes + self.swap_bytes);
        if self.top_command_count == self.processes {
            write!(
                f,
                "{}: {} x {}, {}",
                self.unit, self.processes, self.top_command, total
            )
        } else {
            write!(
                f,
                "{}: {} processes ({} x {}), {}",
                self.unit, self.processes, self.top_command_count, self.top_command, total
            )
        }
    }
}

/// The result of one scan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// Biggest groups first, at most `top`.
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
    let start = super::clock::mono();
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
        let acc = groups.entry(unit_name(&path).to_string()).or_default();
        acc.processes += 1;
        acc.rss += rss;
        acc.swap += swap;
        *acc.commands.entry(comm).or_default() += 1;
    }
    Snapshot {
        groups: top_groups(groups, cfg.top as usize),
        processes_read: read,
        truncated,
        elapsed_ms: start.elapsed().as_millis() as u64,
        within: within.map(str::to_string),
    }
}

/// Whether cgroup `path` is `within` or below it.
fn is_within(path: &str, within: &str) -> bool {
    let w = within.trim_end_matches('/');
    path == w || w.is_empty() || path.strip_prefix(w).is_some_and(|r| r.starts_with('/'))
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

/// [`cgroup_path`] on a given mountinfo text.
pub fn cgroup_path_in(mountinfo: &str, dir: &Path) -> Option<String> {
    let mut best: Option<(usize, String)> = None;
    for line in mountinfo.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let pre: Vec<&str> = pre.split(' ').collect();
        let post: Vec<&str> = post.split(' ').collect();
        let (Some(root), Some(mnt), Some(fstype)) = (pre.get(3), pre.get(4), post.first()) else {
            continue;
        };
        let memory_v1 = *fstype == "cgroup"
            && post
                .get(2)
                .is_some_and(|o| o.split(',').any(|x| x == "memory"));
        if *fstype != "cgroup2" && !memory_v1 {
            continue;
        }
        let Ok(rel) = dir.strip_prefix(mnt) else {
            continue;
        };
        // The innermost mount wins (a v1 memory mount under a tmpfs, say).
        if best.as_ref().is_some_and(|(len, _)| *len >= mnt.len()) {
            continue;
        }
        let mut path = root.trim_end_matches('/').to_string();
        for c in rel.components() {
            path.push('/');
            path.push_str(&c.as_os_str().to_string_lossy());
        }
        if path.is_empty() {
            path.push('/');
        }
        best = Some((mnt.len(), path));
    }
    best.map(|(_, p)| p)
}

fn top_groups(groups: HashMap<String, Acc>, top: usize) -> Vec<Group> {
    let mut out: Vec<Group> = groups
        .into_iter()
        .map(|(unit, a)| {
            let (cmd, n) = a
                .commands
                .into_iter()
                .max_by(|x, y| x.1.cmp(&y.1).then_with(|| y.0.cmp(&x.0)))
                .unwrap_or_default();
            Group {
                unit,
                processes: a.processes,
                top_command: cmd,
                top_command_count: n,
                rss_bytes: a.rss,
                swap_bytes: a.swap,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        (b.rss_bytes + b.swap_bytes)
            .cmp(&(a.rss_bytes + a.swap_bytes))
            .then_with(|| a.unit.cmp(&b.unit))
    });
    out.truncate(top);
    out
}

/// `(Name, VmRSS bytes, VmSwap bytes)`; `None` for kernel threads (no VmRSS).
fn read_status(dir: &Path) -> Option<(String, u64, u64)> {
    let text = std::fs::read_to_string(dir.join("status")).ok()?;
    parse_status(&text)
}

/// Parses the fields of `/proc/[pid]/status` the snapshot needs.
pub fn parse_status(text: &str) -> Option<(String, u64, u64)> {
    let mut name = None;
    let mut rss = None;
    let mut swap = 0;
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let kb = || {
            v.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
                .map(|x| x * 1024)
        };
        match k {
            "Name" => name = Some(v.trim().to_string()),
            "VmRSS" => rss = kb(),
            "VmSwap" => swap = kb().unwrap_or(0),
            _ => {}
        }
    }
    Some((name?, rss?, swap))
}

fn read_cgroup(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("cgroup")).unwrap_or_default();
    cgroup_of(&text).to_string()
}

/// The group name for a `/proc/[pid]/cgroup` text: the memory controller's
/// path (v1) or the unified path (v2), shortened to its systemd unit.
pub fn unit_of(cgroup_text: &str) -> String {
    unit_name(cgroup_of(cgroup_text)).to_string()
}

/// A cgroup path shortened to its innermost systemd unit, if it has one.
fn unit_name(path: &str) -> &str {
    let unit = path
        .rsplit('/')
        .find(|c| c.ends_with(".service") || c.ends_with(".scope") || c.ends_with(".slice"));
    unit.unwrap_or(path)
}

/// The memory controller's path (v1) or the unified path (v2) in a
/// `/proc/[pid]/cgroup` text.
fn cgroup_of(cgroup_text: &str) -> &str {
    let mut path = None;
    for line in cgroup_text.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, ctrls, p) = (
            parts.next(),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        if ctrls.split(',').any(|c| c == "memory") {
            path = Some(p);
            break;
        }
        if ctrls.is_empty() && path.is_none() {
            path = Some(p);
        }
    }
    path.unwrap_or("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_is_the_innermost_systemd_unit() {
        assert_eq!(
            unit_of("0::/system.slice/coily-update.service\n"),
            "coily-update.service"
        );
        assert_eq!(
            unit_of("12:pids:/x\n4:memory:/system.slice/nightly.service/build\n0::/whatever\n"),
            "nightly.service"
        );
        assert_eq!(
            unit_of("0::/kubepods/besteffort/pod123/abc\n"),
            "/kubepods/besteffort/pod123/abc"
        );
        assert_eq!(unit_of(""), "/");
    }

    const MOUNTINFO: &str = "\
22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 22 0:40 /kubepods/pod1 /host/cg rw - cgroup2 cgroup2 rw
";

    #[test]
    fn cgroup_path_of_a_scope_directory() {
        let p = |d: &str| cgroup_path_in(MOUNTINFO, Path::new(d));
        assert_eq!(
            p("/sys/fs/cgroup/memory/nightly").as_deref(),
            Some("/nightly")
        );
        assert_eq!(p("/sys/fs/cgroup/memory").as_deref(), Some("/"));
        // Not the memory controller's mount, or no cgroup mount at all.
        assert_eq!(p("/sys/fs/cgroup/pids/nightly"), None);
        assert_eq!(p("/var/tmp"), None);
        // A cgroup2 mount whose root is not "/" (cgroup namespace).
        assert_eq!(
            p("/host/cg/system.slice/coily-update.service").as_deref(),
            Some("/kubepods/pod1/system.slice/coily-update.service")
        );
    }

    #[test]
    fn within_means_the_cgroup_or_below_not_a_name_prefix() {
        assert!(is_within(
            "/system.slice/a.service",
            "/system.slice/a.service"
        ));
        assert!(is_within(
            "/system.slice/a.service/build",
            "/system.slice/a.service"
        ));
        assert!(!is_within(
            "/system.slice/a.service2",
            "/system.slice/a.service"
        ));
        assert!(!is_within("/user.slice", "/system.slice"));
        assert!(is_within("/anything", "/"));
    }

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
        assert_eq!(s.groups[0].processes, 2);
        assert_eq!(s.groups[0].rss_bytes, 3 << 20);
        let host = take(root.path(), &cfg, None);
        assert_eq!(host.groups[0].unit, "session-2.scope");
    }

    #[test]
    fn status_gives_name_rss_swap_and_skips_kernel_threads() {
        let t = "Name:\tcc1plus\nState:\tR\nVmRSS:\t  1024 kB\nVmSwap:\t     2 kB\n";
        assert_eq!(parse_status(t), Some(("cc1plus".into(), 1024 * 1024, 2048)));
        assert_eq!(parse_status("Name:\tkworker/0:1\nState:\tI\n"), None);
    }

    #[test]
    fn groups_render_like_the_incident_report() {
        let g = Group {
            unit: "coily-update.service".into(),
            processes: 16,
            top_command: "cc1plus".into(),
            top_command_count: 16,
            rss_bytes: 15 * (1 << 30),
            swap_bytes: 858_993_459,
        };
        assert_eq!(
            g.to_string(),
            "coily-update.service: 16 x cc1plus, 15.8 GiB"
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
