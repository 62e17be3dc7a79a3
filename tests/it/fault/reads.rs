//! The same faults one level down, on [`ProcSource`] itself: which part a
//! failure is charged to, when a lost scope is reopened, and that a lost
//! scope costs no allocation between reopenings.

use super::harness::{FakeCgroup, FakeProc};
use crate::alloc_count::allocations;
use memcanary::source::{CgroupScope, Part, ProcSource, Refresh};

const MIB: u64 = 1 << 20;

fn scoped(proc: &FakeProc, cg: &FakeCgroup) -> ProcSource {
    let mut src = ProcSource::open(proc.root())
        .unwrap()
        .with_scope(CgroupScope::open(cg.dir()).unwrap());
    src.set_retry(std::time::Duration::from_millis(1000));
    src
}

#[test]
fn a_lost_scope_is_reopened_once_per_interval_and_allocates_nothing_between() {
    let d = tempfile::tempdir().unwrap();
    let proc = FakeProc::new(&d.path().join("proc"));
    let cg = FakeCgroup::new(&d.path().join("cg"), 100 * MIB, 200 * MIB, 0);
    let mut src = scoped(&proc, &cg);
    let read = |src: &mut ProcSource, at| src.read_calm(at, Refresh::ALL);
    assert_eq!(read(&mut src, 0).unwrap().mem_available_bytes, 100 * MIB);
    cg.remove();
    assert_eq!(read(&mut src, 100), Err(Part::Cgroup));
    assert!(src.scope_lost());
    let first = src.health().error(Part::Cgroup).unwrap().to_string();
    assert!(first.contains("cg/memory."), "{first}");
    // Before the retry time: no reopening, no new error, no allocation.
    let before = allocations();
    for at in (200..1100).step_by(100) {
        assert_eq!(read(&mut src, at), Err(Part::Cgroup));
        assert!(!src.health().eventful(), "at {at}");
    }
    assert_eq!(allocations() - before, 0, "a lost scope allocated");
    // At the retry time: reopened, still gone (another error: said again).
    assert_eq!(read(&mut src, 1100), Err(Part::Cgroup));
    assert_eq!(src.health().changed().collect::<Vec<_>>(), [Part::Cgroup]);
    assert!(src.health().error(Part::Cgroup).unwrap().is_gone());
    cg.create(50 * MIB, 200 * MIB, 0);
    assert_eq!(read(&mut src, 1500), Err(Part::Cgroup), "not due yet");
    let back = read(&mut src, 2100).unwrap();
    assert_eq!(back.mem_available_bytes, 150 * MIB);
    assert!(!src.scope_lost());
    assert_eq!(src.health().changed().collect::<Vec<_>>(), [Part::Cgroup]);
    assert!(src.health().error(Part::Cgroup).is_none());
}

#[test]
fn only_meminfo_is_essential_on_the_host() {
    let d = tempfile::tempdir().unwrap();
    let proc = FakeProc::new(&d.path().join("proc"));
    let mut src = ProcSource::open(proc.root()).unwrap();
    proc.corrupt("vmstat", "pgmajfault lots\n");
    proc.corrupt("pressure/memory", "some avg10=oops\n");
    let s = src.read(0).unwrap();
    assert_eq!(
        s.mem_available_bytes as f64,
        FakeProc::mem_available_bytes()
    );
    assert_eq!(
        (s.pgmajfault, s.oom_kill, s.psi_some_total_us),
        (None, None, None)
    );
    let failed: Vec<Part> = src.health().failed().collect();
    assert_eq!(failed, [Part::Vmstat, Part::Pressure]);
    proc.corrupt("meminfo", "MemTotal: 1 kB\n");
    let e = src.read(1).unwrap_err().to_string();
    assert!(e.contains("meminfo"), "{e}");
}

#[test]
fn a_scope_s_swap_and_pressure_files_are_not_essential() {
    let d = tempfile::tempdir().unwrap();
    let proc = FakeProc::new(&d.path().join("proc"));
    let cg = FakeCgroup::new(&d.path().join("cg"), 100 * MIB, 200 * MIB, 0);
    let w = |name: &str, text: &str| super::harness::write_in_place(&cg.dir().join(name), text);
    w("memory.swap.current", "0\n");
    w("memory.swap.max", "max\n");
    w(
        "memory.pressure",
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=5\n",
    );
    let mut src = scoped(&proc, &cg);
    assert_eq!(src.read(0).unwrap().psi_some_total_us, Some(5));
    w("memory.swap.max", "lots\n");
    w("memory.pressure", "");
    let s = src.read(1).unwrap();
    assert_eq!(s.mem_available_bytes, 100 * MIB);
    assert_eq!(s.psi_some_total_us, None, "the scope's PSI, not the host's");
    let failed: Vec<Part> = src.health().failed().collect();
    assert_eq!(failed, [Part::CgroupSwap, Part::CgroupPressure]);
    assert!(src.parts().contains(&Part::CgroupPressure));
}
