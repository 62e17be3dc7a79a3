//! The fault harness: [`FakeProc`] and [`FakeCgroup`] to break, [`Agent`]
//! (the real binary, its log in a file), [`Receiver`] (a webhook sink on
//! 127.0.0.1 that keeps what it is sent).
//!
//! The agent keeps its fds open, as it must, so a fake file is changed in
//! place (same inode); a removed cgroup's files are emptied first, because
//! a kept fd of a removed regular file would still read the old text where
//! the kernel's cgroupfs answers `ENODEV`.

#![allow(clippy::disallowed_methods)] // a test of a real process waits on the real clock

use crate::common::{fixture, free_port, memcanary_process, test_agent_table};
use rustix::process::{kill_process, Pid, Signal};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Writes `text` into `path` in place: the same inode, so a kept fd sees it.
pub fn write_in_place(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f.set_len(text.len() as u64).unwrap();
}

/// A `/proc` tree (meminfo, vmstat, pressure/memory) copied from
/// `tests/fixtures/proc/linux-6.18`.
pub struct FakeProc {
    dir: PathBuf,
}

impl FakeProc {
    /// The fixture's files under `dir`.
    pub fn new(dir: &Path) -> FakeProc {
        std::fs::create_dir_all(dir.join("pressure")).unwrap();
        let p = FakeProc {
            dir: dir.to_owned(),
        };
        for rel in ["meminfo", "vmstat", "pressure/memory"] {
            p.restore(rel);
        }
        p
    }

    /// The `proc_root`.
    pub fn root(&self) -> &Path {
        &self.dir
    }

    /// The fixture's text of `rel`.
    pub fn original(rel: &str) -> String {
        std::fs::read_to_string(fixture("proc/linux-6.18").join(rel)).unwrap()
    }

    /// Puts `text` in `rel`, in place.
    pub fn corrupt(&self, rel: &str, text: &str) {
        write_in_place(&self.dir.join(rel), text);
    }

    /// Puts the fixture's text back in `rel`, in place.
    pub fn restore(&self, rel: &str) {
        self.corrupt(rel, &FakeProc::original(rel));
    }

    /// Replaces `rel` by a symlink to `target` (before the agent starts).
    pub fn link(&self, rel: &str, target: &Path) {
        let p = self.dir.join(rel);
        let _ = std::fs::remove_file(&p);
        std::os::unix::fs::symlink(target, p).unwrap();
    }

    /// The fixture's MemAvailable, bytes.
    pub fn mem_available_bytes() -> f64 {
        let text = FakeProc::original("meminfo");
        let kb: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("MemAvailable:"))
            .unwrap()
            .trim()
            .trim_end_matches(" kB")
            .parse()
            .unwrap();
        kb * 1024.0
    }
}

/// A cgroup v2 directory with `memory.current`, `memory.max` and
/// `memory.stat`.
pub struct FakeCgroup {
    dir: PathBuf,
}

impl FakeCgroup {
    /// Creates it with `usage` and `limit` bytes and `inactive` inactive
    /// file bytes.
    pub fn new(dir: &Path, usage: u64, limit: u64, inactive: u64) -> FakeCgroup {
        let c = FakeCgroup {
            dir: dir.to_owned(),
        };
        c.create(usage, limit, inactive);
        c
    }

    /// The directory (the agent's `cgroup`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// (Re)creates the directory and its files.
    pub fn create(&self, usage: u64, limit: u64, inactive: u64) {
        std::fs::create_dir_all(&self.dir).unwrap();
        let stat = format!("anon {usage}\nfile {inactive}\ninactive_file {inactive}\n");
        for (name, text) in [
            ("memory.current", format!("{usage}\n")),
            ("memory.max", format!("{limit}\n")),
            ("memory.stat", stat),
        ] {
            write_in_place(&self.dir.join(name), &text);
        }
    }

    /// Removes it as the kernel does: the kept fds stop reading (here:
    /// emptied), the directory goes.
    pub fn remove(&self) {
        for e in std::fs::read_dir(&self.dir).unwrap().flatten() {
            write_in_place(&e.path(), "");
        }
        std::fs::remove_dir_all(&self.dir).unwrap();
    }
}

/// A running `memcanary agent` with its log in a file.
pub struct Agent {
    child: Child,
    log: PathBuf,
    port: u16,
}

impl Agent {
    /// Starts the agent on `proc_root` with `extra` appended to its
    /// `[agent]` table (then any other tables), sampling every 100 ms.
    pub fn start(dir: &Path, proc_root: &Path, extra: &str) -> Agent {
        let port = free_port();
        let config = dir.join("agent.toml");
        let text = format!(
            "{table}proc_root = \"{p}\"\ninterval = \"100ms\"\nfast_interval = \"100ms\"\n{extra}\n",
            table = test_agent_table(dir, &format!("127.0.0.1:{port}")),
            p = proc_root.display(),
        );
        std::fs::write(&config, text).unwrap();
        let log = dir.join("agent.log");
        let child = memcanary_process()
            .args(["agent", "--config"])
            .arg(&config)
            .env("MEMCANARY_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Agent { child, log, port }
    }

    /// The `/metrics` text; empty while it does not answer.
    pub fn metrics(&self) -> String {
        let url = format!("http://127.0.0.1:{}/metrics", self.port);
        ureq::get(&url)
            .call()
            .ok()
            .and_then(|mut r| r.body_mut().read_to_string().ok())
            .unwrap_or_default()
    }

    /// The value of `series` (`name` or `name{labels}`) in `/metrics`.
    pub fn metric(&self, series: &str) -> Option<f64> {
        metric(&self.metrics(), series)
    }

    /// The log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits up to `secs` for `ok`; panics with `what`, the metrics and the
    /// log if it never holds (or the agent exited).
    pub fn wait_for(&mut self, secs: u64, what: &str, mut ok: impl FnMut(&Agent) -> bool) {
        let until = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < until {
            if ok(self) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{what}: the agent exited ({status})\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "{what}: not within {secs}s\n--- /metrics\n{}\n--- log\n{}",
            self.metrics(),
            self.log()
        );
    }

    /// Waits until `series` equals `want`.
    pub fn wait_metric(&mut self, secs: u64, series: &str, want: f64) {
        let what = format!("{series} == {want}");
        self.wait_for(secs, &what, |a| a.metric(series) == Some(want));
    }

    /// SIGTERM, then the whole log.
    pub fn stop(mut self) -> String {
        let _ = kill_process(Pid::from_child(&self.child), Signal::TERM);
        let _ = self.child.wait();
        self.log()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of `series` in a `/metrics` text.
pub fn metric(body: &str, series: &str) -> Option<f64> {
    body.lines().find_map(|l| {
        let rest = l.strip_prefix(series)?.strip_prefix(' ')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// How many lines of `log` contain every one of `parts`.
pub fn count_lines(log: &str, parts: &[&str]) -> usize {
    log.lines()
        .filter(|l| parts.iter().all(|p| l.contains(p)))
        .count()
}

/// A webhook receiver on 127.0.0.1 answering 200 and keeping each JSON body.
pub struct Receiver {
    port: u16,
    bodies: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Receiver {
    /// Listens on a free port, from a thread that ends with the test.
    pub fn start() -> Receiver {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let port = server.server_addr().to_ip().unwrap().port();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let kept = bodies.clone();
        std::thread::spawn(move || {
            for mut rq in server.incoming_requests() {
                let mut body = String::new();
                let _ = rq.as_reader().read_to_string(&mut body);
                let _ = rq.respond(tiny_http::Response::empty(200));
                if let Ok(v) = serde_json::from_str(&body) {
                    kept.lock().unwrap().push(v);
                }
            }
        });
        Receiver { port, bodies }
    }

    /// `[notify]` with this receiver as the only sink.
    pub fn notify_table(&self) -> String {
        format!(
            "[notify]\nretry_initial = \"200ms\"\nretry_max = \"1s\"\nconnect_timeout = \"1s\"\n\n\
             [[notify.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:{}/hook\"\n",
            self.port
        )
    }

    /// The bodies received so far.
    pub fn bodies(&self) -> Vec<serde_json::Value> {
        self.bodies.lock().unwrap().clone()
    }

    /// The bodies about `rule` with `status` (`firing`, `resolved`).
    pub fn about(&self, rule: &str, status: &str) -> Vec<serde_json::Value> {
        self.bodies()
            .into_iter()
            .filter(|v| v["alert"]["rule"] == rule && v["status"] == status)
            .collect()
    }
}

/// A real memory cgroup (v1 `/sys/fs/cgroup/memory`, or v2 with the memory
/// controller enabled) that a root test removes and makes again; removed on
/// drop. Its kept fds fail with the kernel's own `ENODEV` once it is gone.
pub struct RealCgroup {
    dir: PathBuf,
    limit_file: &'static str,
}

impl RealCgroup {
    /// Makes `memcanary-NAME-PID` with a `limit` in bytes; `None` without
    /// root or a writable memory hierarchy.
    pub fn create(name: &str, limit: u64) -> Option<RealCgroup> {
        let name = format!("memcanary-{name}-{}", std::process::id());
        let v1 = Path::new("/sys/fs/cgroup/memory");
        let cg = if v1.join("memory.limit_in_bytes").exists() {
            RealCgroup {
                dir: v1.join(name),
                limit_file: "memory.limit_in_bytes",
            }
        } else {
            let root = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
                .into_iter()
                .map(Path::new)
                .find(|r| {
                    std::fs::read_to_string(r.join("cgroup.subtree_control"))
                        .is_ok_and(|c| c.split_whitespace().any(|c| c == "memory"))
                })?;
            RealCgroup {
                dir: root.join(name),
                limit_file: "memory.max",
            }
        };
        cg.make(limit).ok()?;
        Some(cg)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// (Re)makes the directory with `limit` bytes.
    pub fn make(&self, limit: u64) -> std::io::Result<()> {
        std::fs::create_dir(&self.dir)?;
        std::fs::write(self.dir.join(self.limit_file), limit.to_string())
    }

    /// Removes the (empty) cgroup.
    pub fn remove(&self) {
        std::fs::remove_dir(&self.dir).unwrap();
    }
}

impl Drop for RealCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}
