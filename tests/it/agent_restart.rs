//! Issue 4's fault test with the real binary: the receiver is down while the
//! agent fires, the agent is killed (SIGKILL, no clean shutdown) and started
//! again on the same spool; once the receiver is back, the notification
//! arrives, exactly once.

#![allow(clippy::disallowed_methods)] // a test of a real process waits on the real clock

use rustix::process::{kill_process, Pid, Signal};
use std::io::Write;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::{fixture, free_port, memcanary_process, test_agent_table};

/// A /proc tree the test can change: the agent's `proc_root` (single-digit
/// counts keep the file's length).
pub(crate) fn fake_proc(dir: &Path, oom_kills: u32) {
    let src = fixture("proc/linux-6.18");
    std::fs::create_dir_all(dir.join("pressure")).unwrap();
    std::fs::copy(src.join("meminfo"), dir.join("meminfo")).unwrap();
    std::fs::copy(src.join("pressure/memory"), dir.join("pressure/memory")).unwrap();
    let vmstat = std::fs::read_to_string(src.join("vmstat")).unwrap();
    let vmstat = vmstat.replace("oom_kill 0", &format!("oom_kill {oom_kills}"));
    // The agent keeps its fds open (as it must): rewrite the same inode, in
    // place and at the same length, so it never reads a half-written file.
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("vmstat"))
        .unwrap();
    f.write_all(vmstat.as_bytes()).unwrap();
}

fn start(config: &Path) -> Child {
    memcanary_process()
        .args(["agent", "--config"])
        .arg(config)
        .env("MEMCANARY_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn spool_files(dir: &Path) -> usize {
    walk(dir)
}

fn walk(p: &Path) -> usize {
    std::fs::read_dir(p).map_or(0, |rd| {
        rd.flatten()
            .map(|e| {
                let p = e.path();
                if p.is_dir() {
                    walk(&p)
                } else {
                    usize::from(
                        p.extension().is_some_and(|x| x == "json") && !p.ends_with("state.json"),
                    )
                }
            })
            .sum()
    })
}

#[test]
fn a_notification_survives_a_down_receiver_and_a_killed_agent_and_arrives_once() {
    let d = tempfile::tempdir().unwrap();
    let proc_dir = d.path().join("proc");
    fake_proc(&proc_dir, 0);
    let port = free_port();
    let config = d.path().join("m.toml");
    std::fs::write(
        &config,
        format!(
            "{table}proc_root = \"{p}\"\ninterval = \"250ms\"\n\n[agent.psi_trigger]\nenabled = false\n\n\
             [notify]\nretry_initial = \"200ms\"\nretry_max = \"1s\"\nconnect_timeout = \"1s\"\n\n\
             [[notify.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:{port}/hook\"\n",
            table = test_agent_table(d.path(), ""),
            p = proc_dir.display(),
        ),
    )
    .unwrap();

    // 1. The receiver is down; the kernel kills something; the agent fires.
    let mut first = start(&config);
    std::thread::sleep(Duration::from_millis(1500));
    fake_proc(&proc_dir, 1);
    let spool = d.path().join("spool");
    let deadline = Instant::now() + Duration::from_secs(20);
    while spool_files(&spool) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        spool_files(&spool) > 0,
        "the undeliverable alert was not spooled"
    );

    // 2. The agent dies hard, with the alert undelivered.
    kill_process(Pid::from_child(&first), Signal::KILL).unwrap();
    first.wait().unwrap();

    // 3. The receiver comes back, and so does the agent, on the same spool.
    let server = tiny_http::Server::http(("127.0.0.1", port)).unwrap();
    let mut second = start(&config);
    let mut bodies = Vec::new();
    let until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < until {
        if let Ok(Some(mut rq)) = server.recv_timeout(Duration::from_millis(200)) {
            let mut body = String::new();
            rq.as_reader().read_to_string(&mut body).unwrap();
            rq.respond(tiny_http::Response::empty(200)).unwrap();
            bodies.push(body);
        }
        // Once it arrived, keep listening a while for a duplicate.
        if !bodies.is_empty() && until - Instant::now() > Duration::from_secs(5) {
            std::thread::sleep(Duration::from_secs(4));
            while let Ok(Some(mut rq)) = server.recv_timeout(Duration::from_millis(200)) {
                let mut body = String::new();
                rq.as_reader().read_to_string(&mut body).unwrap();
                rq.respond(tiny_http::Response::empty(200)).unwrap();
                bodies.push(body);
            }
            break;
        }
    }
    kill_process(Pid::from_child(&second), Signal::TERM).unwrap();
    second.wait().unwrap();

    let oom: Vec<serde_json::Value> = bodies
        .iter()
        .map(|b| serde_json::from_str::<serde_json::Value>(b).unwrap())
        .filter(|v| v["alert"]["rule"] == "oom_kill" && v["status"] == "firing" && v["repeat"] == 0)
        .collect();
    assert_eq!(
        oom.len(),
        1,
        "expected the oom_kill alert exactly once, got {bodies:#?}"
    );
    assert_eq!(oom[0]["alert"]["severity"], "critical");
    assert_eq!(
        spool_files(&spool),
        0,
        "delivered notifications stay spooled"
    );
}
