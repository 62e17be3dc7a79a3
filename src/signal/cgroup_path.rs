//! Cgroup paths, as `/proc/[pid]/cgroup` shows them: which cgroup a process
//! is in ([`cgroup_of`]), which systemd unit that is ([`unit_cgroup`],
//! [`unit_name`]), whether it lies within another ([`is_within`]), and
//! which path a mounted cgroup directory is ([`cgroup_path_in`], from
//! `/proc/self/mountinfo`). Pure: texts in, paths out.

use std::path::Path;

/// The memory controller's path (v1) or the unified path (v2) in a
/// `/proc/[pid]/cgroup` text; `/` when it names neither.
pub fn cgroup_of(cgroup_text: &str) -> &str {
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

/// Whether a cgroup path component is a systemd unit.
fn is_unit(component: &str) -> bool {
    [".service", ".scope", ".slice"]
        .iter()
        .any(|s| component.ends_with(s))
}

/// A cgroup path shortened to its innermost systemd unit, if it has one.
pub fn unit_name(path: &str) -> &str {
    path.rsplit('/').find(|c| is_unit(c)).unwrap_or(path)
}

/// A cgroup path cut after its innermost systemd unit (the unit's own
/// cgroup), or the whole path when it has none.
pub fn unit_cgroup(path: &str) -> &str {
    let mut end = path.len();
    while end > 0 {
        let start = path[..end].rfind('/').map_or(0, |i| i + 1);
        if is_unit(&path[start..end]) {
            return &path[..end];
        }
        if start == 0 {
            break;
        }
        end = start - 1;
    }
    path
}

/// The group name for a `/proc/[pid]/cgroup` text: the memory controller's
/// path (v1) or the unified path (v2), shortened to its systemd unit.
pub fn unit_of(cgroup_text: &str) -> String {
    unit_name(cgroup_of(cgroup_text)).to_string()
}

/// Whether cgroup `path` is `within` or below it.
pub fn is_within(path: &str, within: &str) -> bool {
    let w = within.trim_end_matches('/');
    path == w || w.is_empty() || path.strip_prefix(w).is_some_and(|r| r.starts_with('/'))
}

/// The cgroup path (as `/proc/[pid]/cgroup` shows it) of the cgroup
/// directory `dir`, from a `/proc/self/mountinfo` text: the cgroup2 mount,
/// or the v1 mount with the memory controller, that holds `dir`, and that
/// mount's root (not `/` inside a cgroup namespace). `None` when no such
/// mount holds `dir`.
pub fn cgroup_path_in(mountinfo: &str, dir: &Path) -> Option<String> {
    let mut best: Option<(usize, String)> = None;
    for m in memory_mounts(mountinfo) {
        let Ok(rel) = dir.strip_prefix(m.dir) else {
            continue;
        };
        // The innermost mount wins (a v1 memory mount under a tmpfs, say).
        if best.as_ref().is_some_and(|(len, _)| *len >= m.dir.len()) {
            continue;
        }
        let mut path = m.root.trim_end_matches('/').to_string();
        for c in rel.components() {
            path.push('/');
            path.push_str(&c.as_os_str().to_string_lossy());
        }
        if path.is_empty() {
            path.push('/');
        }
        best = Some((m.dir.len(), path));
    }
    best.map(|(_, p)| p)
}

/// The directory of cgroup `path` (as `/proc/[pid]/cgroup` names it, see
/// [`cgroup_of`]) from a `/proc/self/mountinfo` text, and whether it is
/// cgroup v2. The v1 memory mount is preferred: where it exists,
/// [`cgroup_of`] gave its path. `None` when no mount holds `path`.
pub fn cgroup_dir_in(mountinfo: &str, path: &str) -> Option<(std::path::PathBuf, bool)> {
    let mounts: Vec<MemoryMount<'_>> = memory_mounts(mountinfo).collect();
    let v1 = mounts.iter().any(|m| !m.v2);
    mounts.into_iter().filter(|m| m.v2 != v1).find_map(|m| {
        let root = m.root.trim_end_matches('/');
        let rel = path.strip_prefix(root)?;
        if !(rel.is_empty() || rel.starts_with('/')) {
            return None;
        }
        let rel = rel.trim_start_matches('/');
        let dir = Path::new(m.dir);
        Some((
            if rel.is_empty() {
                dir.into()
            } else {
                dir.join(rel)
            },
            m.v2,
        ))
    })
}

/// A mount of memory cgroups in `/proc/self/mountinfo`: the cgroup2 mount,
/// or a v1 mount with the memory controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryMount<'a> {
    /// The cgroup the mount shows at its top (`/` outside a namespace).
    pub root: &'a str,
    /// Where it is mounted.
    pub dir: &'a str,
    /// cgroup v2 (else v1 with the memory controller).
    pub v2: bool,
}

/// The memory cgroup mounts of a `/proc/self/mountinfo` text, in order.
pub fn memory_mounts(mountinfo: &str) -> impl Iterator<Item = MemoryMount<'_>> {
    mountinfo.lines().filter_map(|line| {
        let (pre, post) = line.split_once(" - ")?;
        let mut pre = pre.split(' ').skip(3);
        let (root, dir) = (pre.next()?, pre.next()?);
        let mut post = post.split(' ');
        let fstype = post.next()?;
        let memory_v1 = fstype == "cgroup"
            && post
                .nth(1)
                .is_some_and(|o| o.split(',').any(|x| x == "memory"));
        (fstype == "cgroup2" || memory_v1).then_some(MemoryMount {
            root,
            dir,
            v2: fstype == "cgroup2",
        })
    })
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

    #[test]
    fn a_units_cgroup_ends_at_the_innermost_unit() {
        let session = "/user.slice/user-1000.slice/session-2.scope";
        let pod = "/kubepods/besteffort/pod123/abc";
        for (path, cgroup) in [
            (
                "/system.slice/nightly.service/build",
                "/system.slice/nightly.service",
            ),
            (session, session),
            (pod, pod),
            ("/", "/"),
            ("system.slice", "system.slice"),
        ] {
            assert_eq!(unit_cgroup(path), cgroup, "{path}");
        }
        for p in ["/system.slice/a.service/x", "/kubepods/x", "/"] {
            assert_eq!(unit_name(unit_cgroup(p)), unit_name(p), "{p}");
        }
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
    fn cgroup_dir_of_a_path_prefers_the_v1_memory_mount() {
        let d = |m: &str, p: &str| cgroup_dir_in(m, p).map(|(d, v2)| (d.display().to_string(), v2));
        assert_eq!(
            d(MOUNTINFO, "/nightly"),
            Some(("/sys/fs/cgroup/memory/nightly".into(), false))
        );
        assert_eq!(
            d(MOUNTINFO, "/"),
            Some(("/sys/fs/cgroup/memory".into(), false))
        );
        let v2 = "40 22 0:40 /kubepods/pod1 /host/cg rw - cgroup2 cgroup2 rw\n";
        assert_eq!(
            d(v2, "/kubepods/pod1/c1"),
            Some(("/host/cg/c1".into(), true))
        );
        // Outside the namespace's root, a name prefix, or no mount at all.
        assert_eq!(d(v2, "/kubepods/pod2"), None);
        assert_eq!(d(v2, "/kubepods/pod10"), None);
        assert_eq!(d("", "/x"), None);
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
}
