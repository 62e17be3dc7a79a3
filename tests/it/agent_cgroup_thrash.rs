//! Issue 16, item 3: a cgroup thrashing at its own limit while the host has
//! ample headroom is a warning scoped to that cgroup, naming it, not a
//! host-wide `thrashing` critical.
//!
//! On the real kernel (root): a swapfile, a 64 MiB memory cgroup (v1 here,
//! v2 where that is the hierarchy), and the hog re-touching 128 MiB inside
//! it, so it swaps at its limit while the host keeps most of its memory. The
//! real agent watches the whole host. Needs root; skips otherwise
//! (`common::skip`), and without swap (the hog would be OOM-killed at once
//! instead of thrashing).

#![allow(clippy::disallowed_methods)] // a test of a real process waits on the real clock

use crate::common::Swapfile;
use crate::fault::harness::{Agent, RealCgroup, Receiver};
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MIB: u64 = 1 << 20;
const LIMIT: u64 = 64 * MIB;
const HOG_MIB: u64 = 128;

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// The hog, killed (and reaped) on drop, before its cgroup is removed.
struct Hog(Child);

impl Hog {
    fn start_in(cg: &RealCgroup) -> Hog {
        // target/<profile>/deps/it-<hash> -> target/<profile>/examples/hog
        let exe = std::env::current_exe().unwrap();
        let path = exe.parent().unwrap().parent().unwrap().join("examples/hog");
        assert!(
            path.exists(),
            "{} missing: cargo test --all-targets builds it",
            path.display()
        );
        let child = Command::new(path)
            .args(["8", "100", &HOG_MIB.to_string()])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let mut hog = Hog(child);
        std::fs::write(cg.dir().join("cgroup.procs"), hog.0.id().to_string()).unwrap();
        writeln!(hog.0.stdin.as_mut().unwrap(), "go").unwrap();
        hog
    }
}

impl Drop for Hog {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Lets the cgroup swap: v1 `memsw` (memory + swap), v2 `swap.max`.
fn allow_swap(cg: &RealCgroup) {
    let swap = HOG_MIB * MIB;
    let v1 = cg.dir().join("memory.memsw.limit_in_bytes");
    let _ = if v1.exists() {
        std::fs::write(v1, (LIMIT + swap).to_string())
    } else {
        std::fs::write(cg.dir().join("memory.swap.max"), swap.to_string())
    };
}

/// How often the cgroup hit its limit: v1 `memory.failcnt`, v2
/// `memory.events` `max`.
fn limit_hits(cg: &RealCgroup) -> u64 {
    let read = |f: &str| std::fs::read_to_string(cg.dir().join(f)).unwrap_or_default();
    let v1 = read("memory.failcnt");
    let v2 = read("memory.events");
    let v2 = v2.lines().find_map(|l| l.strip_prefix("max "));
    v2.unwrap_or(&v1).trim().parse().unwrap_or(0)
}

/// The detector's thrashing thresholds lowered so that the host-wide PSI
/// "full" of one hog on a busy 2-core machine counts: the test is about the
/// headroom gate and the naming, not about the thresholds.
const DETECTOR: &str = r#"
[detector]
rate_window = "10s"

[detector.thrashing]
psi_full_above_ratio = 0.001
clear_ratio = 0.0005
major_faults_per_s = 10.0
swap_in_pages_per_s = 10.0
"#;

#[test]
fn a_cgroup_thrashing_at_its_limit_is_a_warning_naming_it_not_a_host_page() {
    const TEST: &str = "agent_cgroup_thrash";
    if !is_root() {
        crate::common::skip(TEST, "needs root (a memory cgroup, swapon)");
        return;
    }
    let _pressure = crate::common::host_pressure();
    let swap = match Swapfile::enable("thrash", 256) {
        Ok(s) => s,
        Err(e) => {
            crate::common::skip(
                TEST,
                &format!(
                    "swapon refused ({e}): without swap the hog is OOM-killed instead of thrashing"
                ),
            );
            return;
        }
    };
    let Some(cg) = RealCgroup::create("thrash", LIMIT) else {
        crate::common::skip(
            TEST,
            "no writable memory cgroup (v1 /sys/fs/cgroup/memory or v2 with memory enabled)",
        );
        return;
    };
    allow_swap(&cg);
    let name = cg.dir().file_name().unwrap().to_str().unwrap().to_string();
    let rx = Receiver::start();
    let d = tempfile::tempdir().unwrap();
    let extra = format!("\n{}{DETECTOR}", rx.notify_table());
    // The hog first, thrashing before the agent starts: its first snapshot
    // (when any rule turns pending) then sees it, even when another test's
    // hog on this machine made the host's PSI rise already.
    let hog = Hog::start_in(&cg);
    let start = Instant::now();
    while limit_hits(&cg) < 100 && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(limit_hits(&cg) >= 100, "the hog never reached its limit");
    let mut agent = Agent::start(d.path(), Path::new("/proc"), &extra);
    agent.wait_for(150, "a cgroup_thrashing notification", |_| {
        !rx.about("cgroup_thrashing", "firing").is_empty()
    });
    eprintln!(
        "RESULT {TEST}: hog start (agent started once it thrashed) -> cgroup_thrashing {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let fired = rx.about("cgroup_thrashing", "firing").remove(0);
    let alert = &fired["alert"];
    eprintln!("RESULT {TEST}: {}", alert["summary"]);
    assert_eq!(alert["severity"], "warning", "{fired}");
    let mine = |c: &str| c.ends_with(&format!("/{name}"));
    let cgroup = alert["cgroup"].as_str().unwrap_or_default();
    assert!(!cgroup.is_empty(), "a cgroup label: {fired}");
    if !mine(cgroup) {
        // Another test's hog (agent_kernel's, say) stalls worse at its own
        // limit on this machine: the label names the worst; ours must
        // still be named in the consumers and the black box.
        eprintln!("NOTE {TEST}: the label names {cgroup}, stalling worse than {name}");
    }
    let summary = alert["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains(&format!("cgroup=\"{cgroup}\"")),
        "{summary}"
    );
    assert!(
        alert["values"]["headroom_ratio"].as_f64().unwrap_or(0.0) > 0.5,
        "{fired}"
    );
    let consumers = alert["consumers"].as_array().cloned().unwrap_or_default();
    assert!(
        consumers.iter().any(|c| c["group"]
            .as_str()
            .is_some_and(|g| g.contains(&name) && g.ends_with("(at its memory limit)"))),
        "the top consumers name the cgroup: {fired}"
    );
    // The black box (written when the rule fired) names every cgroup
    // stalling at its limit, ours among them.
    let names_mine = |stalling: &[serde_json::Value]| {
        stalling
            .iter()
            .any(|s| s["cgroup"].as_str().is_some_and(mine))
    };
    let mut stalling = Vec::new();
    for _ in 0..100 {
        let state = std::fs::read_to_string(d.path().join("state.json")).unwrap_or_default();
        let state: serde_json::Value = serde_json::from_str(&state).unwrap_or_default();
        stalling = state["snapshot"]["stalling"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if names_mine(&stalling) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        names_mine(&stalling),
        "the black box names {name}: {stalling:?}"
    );
    eprintln!("RESULT {TEST}: black box {stalling:?}");
    // Let the stall go on a little: the host-wide critical must stay quiet.
    std::thread::sleep(Duration::from_secs(5));
    drop(hog);
    // `oom_kill` is left out: it is host-wide by nature, and other tests on
    // the machine may OOM-kill their own hogs meanwhile.
    let host_pages: Vec<_> = rx
        .bodies()
        .into_iter()
        .filter(|v| {
            let a = &v["alert"];
            a["rule"] == "thrashing" || (a["severity"] == "critical" && a["rule"] != "oom_kill")
        })
        .collect();
    assert!(host_pages.is_empty(), "no host-wide page: {host_pages:?}");
    agent.stop();
    drop(cg);
    drop(swap);
}
