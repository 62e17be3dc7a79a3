//! Issue 14, item 2: the watched cgroup removed and recreated at the same
//! path while the agent runs. Its kept fds used to fail forever and the
//! samples froze; now the scope is reopened once it is back, and the agent
//! says that it vanished and came back.

use super::harness::{count_lines, Agent, FakeCgroup, FakeProc};

const MIB: u64 = 1 << 20;

#[test]
fn a_scope_removed_and_recreated_is_reopened_and_said() {
    let d = tempfile::tempdir().unwrap();
    let proc = FakeProc::new(&d.path().join("proc"));
    let cg = FakeCgroup::new(
        &d.path().join("cg/app.service"),
        300 * MIB,
        512 * MIB,
        12 * MIB,
    );
    let extra = format!(
        "cgroup = \"{}\"\n\n[agent.psi_trigger]\nenabled = false\n",
        cg.dir().display()
    );
    let mut agent = Agent::start(d.path(), proc.root(), &extra);
    let avail = |usage: u64| ((512 - usage + 12) * MIB) as f64;
    agent.wait_metric(20, "memcanary_mem_available_bytes", avail(300));

    cg.remove();
    std::thread::sleep(std::time::Duration::from_millis(700));
    cg.create(400 * MIB, 512 * MIB, 12 * MIB);
    // The samples follow the new cgroup (they froze at 300 MiB before).
    agent.wait_metric(20, "memcanary_mem_available_bytes", avail(400));
    agent.wait_metric(5, "memcanary_scope_vanished", 0.0);
    agent.wait_metric(5, "memcanary_source_ok{source=\"cgroup\"}", 1.0);
    let errors = agent.metric("memcanary_source_errors_total{source=\"cgroup\"}");
    assert!(errors >= Some(1.0), "{errors:?}");

    // Gone again, and it stays gone for a while: said once, exported.
    cg.remove();
    agent.wait_metric(20, "memcanary_scope_vanished", 1.0);
    agent.wait_metric(5, "memcanary_source_ok{source=\"cgroup\"}", 0.0);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    cg.create(200 * MIB, 512 * MIB, 12 * MIB);
    agent.wait_metric(20, "memcanary_mem_available_bytes", avail(200));
    let log = agent.stop();
    assert!(count_lines(&log, &["scope back"]) == 2, "{log}");
    // Each disappearance: its first failure (the emptied file) and then the
    // missing directory, a different error, are both said (a read racing
    // the re-creation may say one more); never once per retry.
    let gone = count_lines(&log, &["scope vanished"]) + count_lines(&log, &["scope unreadable"]);
    assert!((2..=6).contains(&gone), "{log}");
}
