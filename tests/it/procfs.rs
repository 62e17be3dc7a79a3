//! `ProcSource` over the fixture /proc trees (several kernels' formats), the
//! real /proc, and fake cgroup directories.

use crate::alloc_count::allocations;
use crate::common::fixture;
use memcanary::signal::{Meminfo, ParseErrorKind, Psi, Vmstat};
use memcanary::source::{CgroupScope, CgroupVersion, Part, ProcError, ProcSource, Refresh};
use std::fs;
use std::path::Path;

fn copy_tree(case: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = fixture(&format!("proc/{case}"));
    for name in ["meminfo", "vmstat", "pressure/memory"] {
        if src.join(name).exists() {
            fs::create_dir_all(dir.path().join(name).parent().unwrap()).unwrap();
            fs::copy(src.join(name), dir.path().join(name)).unwrap();
        }
    }
    dir
}

#[test]
fn linux_3_10_estimates_available_and_has_no_psi() {
    let mut src = ProcSource::open(&fixture("proc/linux-3.10")).unwrap();
    let s = src.read(1000).unwrap();
    assert!(src.estimated_available());
    assert!(!src.has_psi());
    // MemFree + Buffers + Cached - Shmem = 512340 + 102400 + 2048000 - 200000 kB
    assert_eq!(s.mem_available_bytes, 2_462_740 * 1024);
    assert_eq!(s.psi_some_total_us, None);
    assert_eq!(s.oom_kill, None);
    assert_eq!(s.pgmajfault, Some(12345));
    assert_eq!(s.at_ms, 1000);
}

#[test]
fn linux_4_19_without_swap_or_psi() {
    let mut src = ProcSource::open(&fixture("proc/linux-4.19-noswap")).unwrap();
    let s = src.read(0).unwrap();
    assert!(!src.estimated_available());
    assert_eq!((s.swap_total_bytes, s.swap_free_bytes), (0, 0));
    assert_eq!(s.mem_available_bytes, 1_500_000 * 1024);
    assert_eq!(s.psi_some_total_us, None);
    assert_eq!(s.oom_kill, Some(1));
}

#[test]
fn linux_5_15_with_swap_and_psi() {
    let mut src = ProcSource::open(&fixture("proc/linux-5.15-swap")).unwrap();
    let s = src.read(0).unwrap();
    assert_eq!(s.psi_some_total_us, Some(98_765_432));
    assert_eq!(s.psi_full_total_us, Some(12_345_678));
    assert_eq!(s.swap_free_bytes, 734_003 * 1024);
    assert_eq!(s.pswpin, Some(90_000));
    assert!(s.validate().is_ok());
}

#[test]
fn linux_6_18_fixture_parses_field_by_field() {
    let dir = fixture("proc/linux-6.18");
    let m = Meminfo::parse(&fs::read_to_string(dir.join("meminfo")).unwrap()).unwrap();
    assert!(m.mem_available_bytes.is_some());
    assert!(m.mem_free_bytes <= m.mem_total_bytes);
    let v = Vmstat::parse(&fs::read_to_string(dir.join("vmstat")).unwrap()).unwrap();
    assert!(v.oom_kill.is_some() && v.pgmajfault.is_some());
    let p = Psi::parse(&fs::read_to_string(dir.join("pressure/memory")).unwrap()).unwrap();
    assert!(p.full.is_some());
}

#[test]
fn truncated_meminfo_is_an_error_naming_the_file() {
    let mut src = ProcSource::open(&fixture("proc/truncated")).unwrap();
    let err = src.read(0).unwrap_err();
    let ProcError::Parse { path, source } = &err else {
        panic!("want a parse error, got {err:?}");
    };
    assert!(path.ends_with("meminfo"));
    assert_eq!(source.kind, ParseErrorKind::Truncated);
}

#[test]
fn memtotal_0_and_memavailable_above_memtotal_are_errors_naming_the_file() {
    let good = fs::read_to_string(fixture("proc/linux-5.15-swap/meminfo")).unwrap();
    let total = good
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .unwrap()
        .trim()
        .trim_end_matches(" kB")
        .to_string();
    let zero = good.replacen(&format!("{total} kB"), "0 kB", 1);
    let avail_line = good
        .lines()
        .find(|l| l.starts_with("MemAvailable:"))
        .unwrap();
    let above = good.replacen(avail_line, &format!("MemAvailable:   {}1 kB", total), 1);
    for (text, key) in [(zero, "MemTotal"), (above, "MemAvailable")] {
        let dir = copy_tree("linux-5.15-swap");
        fs::write(dir.path().join("meminfo"), text).unwrap();
        let mut src = ProcSource::open(dir.path()).unwrap();
        let err = src.read(0).unwrap_err();
        let msg = format!("{err}: {}", std::error::Error::source(&err).unwrap());
        let file = dir.path().join("meminfo");
        assert!(
            msg.contains(&file.display().to_string()) && msg.contains(key),
            "{msg}"
        );
    }
}

#[test]
fn garbage_number_is_an_error_and_the_next_read_recovers() {
    let dir = copy_tree("garbage");
    let mut src = ProcSource::open(dir.path()).unwrap();
    let err = src.read(0).unwrap_err();
    let msg = format!("{err}: {}", std::error::Error::source(&err).unwrap());
    assert!(msg.contains("line 2") && msg.contains("MemFree"), "{msg}");
    // The kernel's next read is fine again: same fds, no reopen.
    fs::copy(
        fixture("proc/linux-5.15-swap/meminfo"),
        dir.path().join("meminfo"),
    )
    .unwrap();
    assert!(src.read(1).is_ok());
}

#[test]
fn swap_added_after_start_is_seen_on_the_next_sample() {
    let dir = copy_tree("linux-4.19-noswap");
    let mut src = ProcSource::open(dir.path()).unwrap();
    assert_eq!(src.read(0).unwrap().swap_total_bytes, 0);
    let text = fs::read_to_string(dir.path().join("meminfo")).unwrap();
    let text = text
        .replace("SwapTotal:             0 kB", "SwapTotal:        262140 kB")
        .replace("SwapFree:              0 kB", "SwapFree:         262140 kB");
    // Rewrite in place (same inode, as the kernel's file stays the same).
    fs::write(dir.path().join("meminfo"), text).unwrap();
    let s = src.read(1000).unwrap();
    assert_eq!(s.swap_total_bytes, 262_140 * 1024);
    assert_eq!(s.swap_free_bytes, 262_140 * 1024);
}

#[test]
fn calm_reads_repeat_the_counters_and_the_next_full_read_catches_up() {
    let dir = copy_tree("linux-4.19-noswap");
    let mut src = ProcSource::open(dir.path()).unwrap();
    assert_eq!(src.read(0).unwrap().pgmajfault, Some(900));
    let bump = |file: &str, from: &str, to: &str| {
        let text = fs::read_to_string(dir.path().join(file)).unwrap();
        assert!(text.contains(from), "{file} has no {from:?}");
        fs::write(dir.path().join(file), text.replace(from, to)).unwrap();
    };
    bump("vmstat", "pgmajfault 900", "pgmajfault 950");
    bump(
        "meminfo",
        "MemAvailable:    1500000 kB",
        "MemAvailable:    1400000 kB",
    );
    let calm = src
        .read_calm(
            1000,
            Refresh {
                vmstat: false,
                psi: true,
            },
        )
        .unwrap();
    assert_eq!(calm.pgmajfault, Some(900), "a calm read keeps the counters");
    assert_eq!(
        calm.mem_available_bytes,
        1_400_000 * 1024,
        "but reads meminfo"
    );
    assert_eq!(src.read(2000).unwrap().pgmajfault, Some(950));
    // With nothing read yet, a calm read is a full one.
    let mut fresh = ProcSource::open(dir.path()).unwrap();
    let none = Refresh {
        vmstat: false,
        psi: false,
    };
    assert_eq!(fresh.read_calm(0, none).unwrap().pgmajfault, Some(950));
}

#[test]
fn calm_reads_can_repeat_the_psi_totals_too() {
    let dir = copy_tree("linux-5.15-swap");
    let calm = |psi| Refresh { vmstat: false, psi };
    let mut src = ProcSource::open(dir.path()).unwrap();
    // Nothing read yet: the first calm read reads the pressure file anyway.
    let first = src.read_calm(0, calm(false)).unwrap();
    assert_eq!(first.psi_some_total_us, Some(98765432));
    let path = dir.path().join("pressure/memory");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, text.replace("total=98765432", "total=98800000")).unwrap();
    let repeated = src.read_calm(1000, calm(false)).unwrap();
    assert_eq!(repeated.psi_some_total_us, Some(98765432));
    assert_eq!(repeated.psi_full_total_us, first.psi_full_total_us);
    let fresh = src.read_calm(2000, calm(true)).unwrap();
    assert_eq!(fresh.psi_some_total_us, Some(98800000));
    // A broken pressure file is an error only when it is read, and then
    // one of the pressure file alone: the sample stands, without PSI.
    fs::write(&path, "some total=oops\n").unwrap();
    assert!(src.read_calm(3000, calm(false)).is_ok());
    assert!(src.health().error(Part::Pressure).is_none());
    let s = src.read(4000).unwrap();
    assert_eq!((s.psi_some_total_us, s.psi_full_total_us), (None, None));
    assert!(s.mem_available_bytes > 0 && s.pgmajfault.is_some());
    let e = src.health().error(Part::Pressure).unwrap().to_string();
    assert!(e.contains("pressure/memory"), "{e}");
}

#[test]
fn real_proc_reads_without_allocating_on_the_steady_path() {
    let mut src = ProcSource::open(Path::new("/proc")).unwrap();
    src.read(0).unwrap(); // warm-up: buffers may grow once
    let before = allocations();
    for i in 0..50 {
        let s = src.read(i).unwrap();
        assert!(s.mem_total_bytes > 0);
    }
    assert_eq!(allocations() - before, 0, "steady-path reads allocated");
}

fn write(dir: &Path, name: &str, text: &str) {
    fs::write(dir.join(name), text).unwrap();
}

#[test]
fn cgroup_v2_scope_uses_limit_usage_inactive_file_swap_and_own_psi() {
    let cg = tempfile::tempdir().unwrap();
    let d = cg.path();
    write(d, "memory.current", "400000000\n");
    write(d, "memory.max", "536870912\n");
    write(
        d,
        "memory.stat",
        "anon 390000000\nfile 10000000\ninactive_file 4096000\n",
    );
    write(d, "memory.swap.current", "1048576\n");
    write(d, "memory.swap.max", "max\n");
    write(d, "memory.pressure", "some avg10=1.00 avg60=0.00 avg300=0.00 total=42\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=7\n");
    let scope = CgroupScope::open(d).unwrap();
    assert_eq!(scope.version(), CgroupVersion::V2);
    let mut src = ProcSource::open(&fixture("proc/linux-5.15-swap"))
        .unwrap()
        .with_scope(scope);
    let s = src.read(0).unwrap();
    assert_eq!(s.mem_total_bytes, 536_870_912);
    assert_eq!(s.mem_available_bytes, 536_870_912 - 400_000_000 + 4_096_000);
    // "max" -> the host's total, and never more free than the host has left.
    assert_eq!(s.swap_total_bytes, 2_097_148 * 1024);
    assert_eq!(s.swap_free_bytes, 734_003 * 1024);
    assert_eq!(
        (s.psi_some_total_us, s.psi_full_total_us),
        (Some(42), Some(7))
    );
    assert!(src.psi_path().unwrap().ends_with("memory.pressure"));
}

#[test]
fn cgroup_v1_scope_uses_memsw_and_host_psi() {
    let cg = tempfile::tempdir().unwrap();
    let d = cg.path();
    write(d, "memory.usage_in_bytes", "500000000\n");
    write(d, "memory.limit_in_bytes", "536870912\n");
    write(d, "memory.stat", "cache 0\ntotal_inactive_file 0\n");
    write(d, "memory.memsw.usage_in_bytes", "600000000\n");
    write(d, "memory.memsw.limit_in_bytes", "805306368\n");
    let scope = CgroupScope::open(d).unwrap();
    assert_eq!(scope.version(), CgroupVersion::V1);
    let mut src = ProcSource::open(&fixture("proc/linux-5.15-swap"))
        .unwrap()
        .with_scope(scope);
    let s = src.read(0).unwrap();
    assert_eq!(s.mem_available_bytes, 36_870_912);
    assert_eq!(s.swap_total_bytes, 268_435_456);
    assert_eq!(s.swap_free_bytes, 268_435_456 - 100_000_000);
    assert_eq!(s.psi_some_total_us, Some(98_765_432)); // host PSI
}

#[test]
fn cgroup_v1_unlimited_falls_back_to_host_total() {
    let cg = tempfile::tempdir().unwrap();
    let d = cg.path();
    write(d, "memory.usage_in_bytes", "1000\n");
    write(d, "memory.limit_in_bytes", "9223372036854771712\n");
    let mut src = ProcSource::open(&fixture("proc/linux-4.19-noswap"))
        .unwrap()
        .with_scope(CgroupScope::open(d).unwrap());
    let s = src.read(0).unwrap();
    assert_eq!(s.mem_total_bytes, 4_030_656 * 1024);
    assert_eq!(s.swap_total_bytes, 0);
}

#[test]
fn not_a_cgroup_is_refused_with_its_path() {
    let d = tempfile::tempdir().unwrap();
    let err = CgroupScope::open(d.path()).unwrap_err();
    assert!(err.to_string().contains("not a memory cgroup"));
}
