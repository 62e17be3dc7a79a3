//! The real thing on a real kernel: a swapfile, a memory cgroup with a limit,
//! a growing workload inside it, and the real `memcanary agent` binary
//! scoped to that cgroup. The warning must arrive before the workload is
//! OOM-killed; the test prints the time from pressure onset (usage first above
//! 50 % of the limit) to the notification's arrival.
//!
//! Needs root and a memory cgroup (v1 or v2); skips otherwise (`common::skip`).
//! `scripts/test.sh` runs it as root in CI.

use crate::common::memcanary_process;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The test is an edge like the agent loop: it owns a clock.
#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

const LIMIT: u64 = 512 << 20;
/// Swap the cgroup may use beyond its memory limit (memsw / swap.max).
const SWAP_EXTRA: u64 = 96 << 20;
/// How long the workload may take to be OOM-killed. Not a speed target:
/// swapping 96 MiB out to a file took 100-220 s on the 2-core CI machine
/// depending on its load (221.6 s with two qemu guests and a build beside it).
const WORKLOAD_DEADLINE_S: u64 = 480;

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// A memory cgroup removed on drop.
struct Cgroup {
    dir: PathBuf,
    v2: bool,
}

impl Cgroup {
    fn create() -> Option<Cgroup> {
        let name = format!("memcanary-test-{}", std::process::id());
        let v1 = Path::new("/sys/fs/cgroup/memory");
        if v1.join("memory.limit_in_bytes").exists() {
            let dir = v1.join(&name);
            std::fs::create_dir(&dir).ok()?;
            let cg = Cgroup { dir, v2: false };
            cg.write("memory.limit_in_bytes", LIMIT)?;
            // memsw may be absent (swapaccount=0): then swap is unbounded.
            let _ = cg.write("memory.memsw.limit_in_bytes", LIMIT + SWAP_EXTRA);
            return Some(cg);
        }
        for root in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] {
            let root = Path::new(root);
            let ctl =
                std::fs::read_to_string(root.join("cgroup.subtree_control")).unwrap_or_default();
            if !ctl.split_whitespace().any(|c| c == "memory") {
                continue;
            }
            let dir = root.join(&name);
            std::fs::create_dir(&dir).ok()?;
            let cg = Cgroup { dir, v2: true };
            cg.write("memory.max", LIMIT)?;
            let _ = cg.write("memory.swap.max", SWAP_EXTRA);
            return Some(cg);
        }
        None
    }

    fn write(&self, file: &str, v: u64) -> Option<()> {
        std::fs::write(self.dir.join(file), v.to_string()).ok()
    }

    fn usage(&self) -> u64 {
        let f = if self.v2 {
            "memory.current"
        } else {
            "memory.usage_in_bytes"
        };
        std::fs::read_to_string(self.dir.join(f))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    fn oom_kills(&self) -> u64 {
        let f = if self.v2 {
            "memory.events"
        } else {
            "memory.oom_control"
        };
        let text = std::fs::read_to_string(self.dir.join(f)).unwrap_or_default();
        text.lines()
            .find_map(|l| l.strip_prefix("oom_kill "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    fn add(&self, pid: u32) {
        std::fs::write(self.dir.join("cgroup.procs"), pid.to_string()).unwrap();
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        for _ in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!("warning: could not remove {}", self.dir.display());
    }
}

/// A swapfile, swapped off and deleted on drop.
struct Swapfile(PathBuf);

impl Swapfile {
    fn enable(dir: &Path) -> Result<Swapfile, String> {
        // Unique per process: two test runs on one host must not share a swapfile.
        let path = dir.join(format!("memcanary-test-{}.swap", std::process::id()));
        let mut f = std::fs::File::create(&path).map_err(|e| e.to_string())?;
        let mib = vec![0u8; 1 << 20];
        for _ in 0..256 {
            f.write_all(&mib).map_err(|e| e.to_string())?;
        }
        f.sync_all().map_err(|e| e.to_string())?;
        drop(f);
        let sw = Swapfile(path.clone());
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .map_err(|e| e.to_string())?;
        run_ok(Command::new("mkswap").arg(&path))?;
        run_ok(Command::new("swapon").arg(&path))?;
        Ok(sw)
    }
}

impl Drop for Swapfile {
    fn drop(&mut self) {
        let _ = Command::new("swapoff").arg(&self.0).status();
        let _ = std::fs::remove_file(&self.0);
    }
}

fn run_ok(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    ))
}

fn hog_path() -> PathBuf {
    // target/<profile>/deps/it-<hash> -> target/<profile>/examples/hog
    let exe = std::env::current_exe().unwrap();
    let p = exe.parent().unwrap().parent().unwrap().join("examples/hog");
    assert!(
        p.exists(),
        "{} missing: run `cargo test --all-targets` (builds examples)",
        p.display()
    );
    p
}

struct Killer(Child);
impl Drop for Killer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn agent_config(dir: &Path, cg: &Cgroup, hook: &str) -> PathBuf {
    let cfg = format!(
        r#"[agent]
cgroup = "{cg}"
metrics_listen = ""
state_file = "{dir}/state.json"
spool_dir = "{dir}/spool"
lock_memory = "all"

[[notify.sinks]]
name = "receiver"
kind = "webhook"
url = "{hook}"

[detector]
trend_window = "20s"
recent_window = "5s"
rate_window = "10s"

[detector.headroom_forecast]
for = "3s"
horizon = "10m"

[detector.psi_rising]
for = "5s"
"#,
        cg = cg.dir.display(),
        dir = dir.display()
    );
    let path = dir.join("agent.toml");
    std::fs::write(&path, cfg).unwrap();
    path
}

/// A local HTTP receiver standing in for the off-host endpoint: the agent's
/// webhook sink posts there; sends (arrival, body) of firing notifications.
fn receiver() -> (String, mpsc::Receiver<(Instant, String)>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", server.server_addr());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for mut req in server.incoming_requests() {
            let arrived = now();
            let mut body = String::new();
            let _ = std::io::Read::read_to_string(req.as_reader(), &mut body);
            let _ = req.respond(tiny_http::Response::empty(200));
            if body.contains("\"status\":\"firing\"") {
                let _ = tx.send((arrived, body));
            }
        }
    });
    (url, rx)
}

#[test]
fn agent_warns_before_the_oom_kill_in_a_real_memory_cgroup() {
    if !is_root() {
        crate::common::skip(
            "agent_kernel",
            "needs root (cgroup, swapon); scripts/test.sh runs it as root in CI",
        );
        return;
    }
    let _pressure = crate::common::host_pressure();
    let tmp = tempfile::tempdir().unwrap();
    let Some(cg) = Cgroup::create() else {
        crate::common::skip(
            "agent_kernel",
            "no writable memory cgroup (v1 /sys/fs/cgroup/memory or v2 with memory enabled)",
        );
        return;
    };
    let _swap = match Swapfile::enable(Path::new("/var/tmp")) {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!(
                "NOTE agent_kernel: swapon refused on this machine ({e}); running WITHOUT swap"
            );
            None
        }
    };
    let (hook, notes) = receiver();
    let cfg = agent_config(tmp.path(), &cg, &hook);
    let _agent = Killer(
        memcanary_process()
            .args(["agent", "--config"])
            .arg(&cfg)
            .env("MEMCANARY_LOG", "info")
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_secs(3)); // baseline samples
                                                // 4 MiB every 200 ms (20 MiB/s): the limit is reached in ~25 s.
    let mut hog = Killer(
        Command::new(hog_path())
            .args(["4", "200", "4096"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    cg.add(hog.0.id());
    let start = now();
    writeln!(hog.0.stdin.as_mut().unwrap(), "go").unwrap();

    let mut onset = None;
    let mut first_note: Option<(Instant, String)> = None;
    let died = loop {
        if onset.is_none() && cg.usage() > LIMIT / 2 {
            onset = Some(now());
        }
        while let Ok(n) = notes.try_recv() {
            first_note.get_or_insert(n);
        }
        if let Some(status) = hog.0.try_wait().unwrap() {
            break Some((now(), status));
        }
        if start.elapsed() > Duration::from_secs(WORKLOAD_DEADLINE_S) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Late notifications still count as "seen", but not as "before".
    std::thread::sleep(Duration::from_millis(300));
    while let Ok(n) = notes.try_recv() {
        first_note.get_or_insert(n);
    }
    let (died_at, status) = died.unwrap_or_else(|| {
        panic!("the workload was not OOM-killed within {WORKLOAD_DEADLINE_S} s")
    });
    let onset = onset.expect("usage never passed 50 % of the limit");
    eprintln!(
        "workload ended after {:.1} s: {status:?}; cgroup oom_kill count {}",
        died_at.duration_since(start).as_secs_f64(),
        cg.oom_kills()
    );
    let (arrived, line) = first_note.expect("no firing notification at all");
    eprintln!("first notification: {line}");
    assert!(
        arrived < died_at,
        "the warning arrived {:?} AFTER the OOM kill",
        arrived - died_at
    );
    let signed = |a: Instant, b: Instant| {
        if a >= b {
            a.duration_since(b).as_secs_f64()
        } else {
            -b.duration_since(a).as_secs_f64()
        }
    };
    eprintln!(
        "RESULT agent_kernel: workload start -> notification {:.2} s; pressure onset (usage > 50 % of limit) -> notification {:+.2} s (negative: before onset); notification -> OOM kill {:.2} s",
        signed(arrived, start),
        signed(arrived, onset),
        signed(died_at, arrived)
    );
    let state = std::fs::read_to_string(tmp.path().join("state.json"))
        .expect("state file written on warning");
    let v: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert!(v["samples"].as_array().is_some_and(|s| !s.is_empty()));
    // The top-consumer snapshot counts only the scope: the hog, if it is
    // still alive when the last warning's snapshot is taken (the state file
    // is rewritten at every warning, the last one may come after the kill;
    // the filtering itself is unit-tested on a fixture /proc).
    let snap = &v["snapshot"];
    let name = cg.dir.file_name().unwrap().to_str().unwrap();
    assert!(
        snap["within"].as_str().is_some_and(|w| w.ends_with(name)),
        "{snap}"
    );
    let groups = snap["groups"].as_array().unwrap();
    assert!(groups.len() <= 1, "{snap}");
    assert!(groups.iter().all(|g| g["top_command"] == "hog"), "{snap}");
    eprintln!("RESULT agent_kernel: last snapshot {snap}");
}
