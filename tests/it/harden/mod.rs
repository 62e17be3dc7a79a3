//! Issue 14's faults around the agent's own robustness, with the real
//! binary: a hung heartbeat endpoint, broken sink secrets, a small
//! `RLIMIT_MEMLOCK`, and a hostile `/metrics` client. The helpers here are a
//! fake `/proc`, an agent whose log goes to a file, and a webhook receiver
//! that records when each alert arrived.

#![allow(clippy::disallowed_methods)] // tests of a real process wait on the real clock

mod heartbeat;
mod memlock;
mod metrics_http;
mod secrets;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{fixture, test_agent_table};

/// A `/proc` tree the test changes in place: `oom_kill N` in vmstat is a
/// firing alert on the agent's next sample.
pub struct FakeProc {
    pub dir: PathBuf,
}

impl FakeProc {
    pub fn new(dir: &Path) -> FakeProc {
        let src = fixture("proc/linux-6.18");
        std::fs::create_dir_all(dir.join("pressure")).unwrap();
        for f in ["meminfo", "pressure/memory", "vmstat"] {
            std::fs::copy(src.join(f), dir.join(f)).unwrap();
        }
        FakeProc { dir: dir.into() }
    }

    /// Sets the OOM-kill counter (one digit: the file keeps its length and
    /// inode, since the agent keeps its fds open).
    pub fn oom_kills(&self, n: u8) {
        let text = std::fs::read_to_string(fixture("proc/linux-6.18/vmstat")).unwrap();
        let text = text.replace("oom_kill 0", &format!("oom_kill {}", n % 10));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(self.dir.join("vmstat"))
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }
}

/// A config: the test agent table on `proc`, sampling every 250 ms without
/// a PSI trigger (vmstat read every sample), more `[agent]` keys, then `tables` (`[notify]`, ...).
pub fn agent_config(
    dir: &Path,
    proc: &FakeProc,
    metrics: &str,
    keys: &str,
    tables: &str,
) -> PathBuf {
    let path = dir.join("memcanary.toml");
    let text = format!(
        "{table}proc_root = \"{p}\"\ninterval = \"250ms\"\ncalm_vmstat_interval = \"0s\"\n{keys}\n[agent.psi_trigger]\nenabled = false\n\n{tables}\n",
        table = test_agent_table(dir, metrics),
        p = proc.dir.display(),
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// The agent binary with its stderr in `log`; killed when dropped.
pub struct Agent {
    pub child: Child,
    pub log: PathBuf,
}

impl Agent {
    pub fn start(config: &Path) -> Agent {
        let mut cmd = std::process::Command::new(agent_bin());
        cmd.arg("agent");
        Agent::start_with(cmd, config)
    }

    /// Runs `cmd` (`memcanary agent`, or a wrapper ending in it) with
    /// `--config`.
    pub fn start_with(mut cmd: std::process::Command, config: &Path) -> Agent {
        let log = config.with_extension("log");
        let child = cmd
            .arg("--config")
            .arg(config)
            .env("MEMCANARY_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Agent { child, log }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits (at most `within`) for a log line containing `what`.
    pub fn wait_log(&self, what: &str, within: Duration) -> bool {
        let until = Instant::now() + within;
        while Instant::now() < until {
            if self.log_text().contains(what) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `memcanary` (its `agent` command runs the `memcanary-agent` beside it
/// when that was built, else the same daemon in process).
pub fn agent_bin() -> &'static str {
    env!("CARGO_BIN_EXE_memcanary")
}

/// A webhook receiver on loopback answering `status`, recording each body
/// with when it arrived.
pub struct Hook {
    pub url: String,
    got: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl Hook {
    pub fn start(path: &str, status: u16) -> Hook {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let url = format!("http://{}{path}", server.server_addr());
        let got = Arc::new(Mutex::new(Vec::new()));
        let g = got.clone();
        std::thread::spawn(move || {
            for mut rq in server.incoming_requests() {
                let mut body = String::new();
                let _ = rq.as_reader().read_to_string(&mut body);
                g.lock().unwrap().push((Instant::now(), body));
                let _ = rq.respond(tiny_http::Response::empty(status));
            }
        });
        Hook { url, got }
    }

    /// When the first firing `rule` alert arrived (waiting at most `within`).
    pub fn firing(&self, rule: &str, within: Duration) -> Option<Instant> {
        let until = Instant::now() + within;
        while Instant::now() < until {
            let hit = self.got.lock().unwrap().iter().find_map(|(at, body)| {
                let v: serde_json::Value = serde_json::from_str(body).ok()?;
                (v["alert"]["rule"] == rule && v["status"] == "firing").then_some(*at)
            });
            if hit.is_some() {
                return hit;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

/// `GET /metrics` of an agent on `port`.
pub fn metrics_text(port: u16) -> String {
    ureq::get(&format!("http://127.0.0.1:{port}/metrics"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap()
}
