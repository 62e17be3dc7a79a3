//! Issue 14, item 2 on the real kernel (root): a memory cgroup removed with
//! `rmdir` and made again at the same path while the agent watches it. The
//! kept fds answer `ENODEV` from then on; the agent must say the scope
//! vanished, reopen it, and follow the new cgroup.

use super::harness::{count_lines, Agent, RealCgroup};

const MIB: u64 = 1 << 20;

#[test]
fn a_real_cgroup_removed_and_made_again_is_reopened() {
    let Some(cg) = RealCgroup::create("scope", 256 * MIB) else {
        crate::common::skip(
            "fault_scope_kernel",
            "needs root and a writable memory cgroup (v1 /sys/fs/cgroup/memory or v2 with memory enabled)",
        );
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let extra = format!(
        "cgroup = \"{}\"\n\n[agent.psi_trigger]\nenabled = false\n",
        cg.dir().display()
    );
    let mut agent = Agent::start(d.path(), std::path::Path::new("/proc"), &extra);
    // An empty cgroup: available is about its limit.
    let near = |limit: u64| {
        move |a: &Agent| {
            a.metric("memcanary_mem_available_bytes")
                .is_some_and(|v| v <= limit as f64 && v > (limit - 16 * MIB) as f64)
        }
    };
    agent.wait_for(20, "the 256 MiB cgroup", near(256 * MIB));
    cg.remove();
    std::thread::sleep(std::time::Duration::from_millis(300));
    cg.make(128 * MIB).unwrap();
    // The samples follow the new cgroup (they froze at 256 MiB before).
    agent.wait_for(20, "the new 128 MiB cgroup", near(128 * MIB));
    agent.wait_metric(5, "memcanary_scope_vanished", 0.0);
    let errors = agent.metric("memcanary_source_errors_total{source=\"cgroup\"}");
    assert!(errors >= Some(1.0), "{errors:?}");
    let log = agent.stop();
    assert!(
        count_lines(&log, &["scope vanished", "No such device"]) == 1,
        "the kernel's ENODEV, said once:\n{log}"
    );
    assert_eq!(count_lines(&log, &["scope back"]), 1, "{log}");
}
