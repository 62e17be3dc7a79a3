//! `memcanary check-config` and `memcanary agent` through the real binary:
//! valid and invalid configs, /metrics, SIGHUP with a broken then a good
//! file, SIGTERM, the heartbeat.

use rustix::process::{kill_process, Pid, Signal};
use std::io::Read;
use std::process::Stdio;
use std::time::Duration;

use crate::common::{
    free_port, memcanary, memcanary_agent, memcanary_process, root, test_agent_table,
};

#[test]
fn check_config_without_file_prints_defaults_and_advice() {
    let out = memcanary()
        .arg("check-config")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("[agent]") && text.contains("interval = \"1s\""),
        "{text}"
    );
    assert!(text.contains("# valid"));
    assert!(text.contains("advice: no [agent.heartbeat]"));
}

#[test]
fn check_config_rejects_unknown_key_naming_file_and_key() {
    let err = check_config_rejects("[agent]\nintervall = \"1s\"\n");
    assert!(err.contains("b.toml") && err.contains("intervall"), "{err}");
}

#[test]
fn check_config_rejects_out_of_range_value() {
    let err = check_config_rejects("[agent]\nfast_interval = \"5s\"\n");
    assert!(err.contains("agent.fast_interval = 5s"), "{err}");
}

/// `check-config -c FILE` with `text` in FILE: exit 2 and the message.
fn check_config_rejects(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("b.toml");
    std::fs::write(&f, text).unwrap();
    let out = memcanary()
        .args(["check-config", "-c"])
        .arg(&f)
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    String::from_utf8(out).unwrap()
}

#[test]
fn check_config_rejects_values_that_break_the_detector_or_the_notifier() {
    for (text, want) in [
        (
            "[detector]\nstale_after_intervals = 1e15\n",
            "detector.stale_after_intervals = 1000000000000000: must be between 1 and 1000",
        ),
        (
            "[detector]\ntrend_window = \"30d\"\n",
            "detector.trend_window = \"720h\": must be between 1s and 1d",
        ),
        (
            "[detector.swap_low]\nfor = \"400d\"\n",
            "detector.swap_low.for = \"9600h\": must be between 0s and 1d",
        ),
        (
            "[notify]\nreminder_interval = \"1ms\"\n",
            "notify.reminder_interval: must be 0s (never) or between 1m and 7d, got 1ms",
        ),
        (
            "[notify]\nrequest_timeout = \"3h\"\n",
            "notify.request_timeout: must be between",
        ),
        (
            "[agent]\nstall_after = \"2d\"\n",
            "agent.stall_after = 48h: must be between 100ms and 1h",
        ),
    ] {
        let err = check_config_rejects(text);
        assert!(
            err.contains("b.toml") && err.contains(want),
            "{text}: {err}"
        );
    }
}

/// The TOML blocks of a Markdown file (fenced with a `toml` info string).
fn toml_blocks(md: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut open: Option<String> = None;
    for line in md.lines() {
        match (&mut open, line.trim_start()) {
            (None, l) if l.starts_with("```toml") => open = Some(String::new()),
            (Some(b), l) if l.starts_with("```") => {
                blocks.push(std::mem::take(b));
                open = None;
            }
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn check_config_accepts_every_toml_example_of_docs_config_md() {
    let md = std::fs::read_to_string(root().join("docs/config.md")).unwrap();
    let blocks = toml_blocks(&md);
    assert!(!blocks.is_empty(), "docs/config.md has no ```toml block");
    let dir = tempfile::tempdir().unwrap();
    for (i, block) in blocks.iter().enumerate() {
        let f = dir.path().join(format!("example-{i}.toml"));
        std::fs::write(&f, block).unwrap();
        let out = memcanary()
            .args(["check-config", "-c"])
            .arg(&f)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "docs/config.md example {i} rejected:\n{block}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn check_config_never_prints_a_heartbeat_or_sink_secret() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("s.toml");
    std::fs::write(
        &f,
        "[agent.heartbeat]\nurl = \"https://hc.example/ping/s3cr3t-hb\"\n\n[[notify.sinks]]\nname = \"d\"\nkind = \"webhook\"\nurl = \"https://hooks.example/t0k3n\"\n",
    )
    .unwrap();
    let out = memcanary()
        .args(["check-config", "-c"])
        .arg(&f)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(
        !text.contains("s3cr3t-hb") && !text.contains("t0k3n"),
        "{text}"
    );
}

#[test]
fn agent_serves_metrics_survives_a_broken_sighup_reloads_a_good_one_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = dir.path().join("a.toml");
    let good = test_agent_table(dir.path(), &format!("127.0.0.1:{port}"));
    std::fs::write(&cfg, &good).unwrap();
    let mut child = memcanary_process()
        .args(["agent", "--config"])
        .arg(&cfg)
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = Pid::from_child(&child);
    let body = (0..100)
        .find_map(|_| {
            std::thread::sleep(Duration::from_millis(100));
            ureq::get(&format!("http://127.0.0.1:{port}/metrics"))
                .call()
                .ok()?
                .body_mut()
                .read_to_string()
                .ok()
        })
        .expect("/metrics never answered");
    // `memcanary agent` replaced itself with the lean binary (same pid).
    let exe = std::fs::read_link(format!("/proc/{}/exe", child.id())).unwrap();
    assert_eq!(
        exe.file_name().and_then(|n| n.to_str()),
        Some("memcanary-agent"),
        "{exe:?}"
    );
    for m in [
        "memcanary_headroom_bytes",
        "memcanary_alert_state{rule=\"headroom_forecast\"}",
        "memcanary_loop_lateness_seconds",
        "memcanary_build_info",
    ] {
        assert!(body.contains(m), "{m} missing from:\n{body}");
    }
    std::fs::write(&cfg, "[agent]\nbogus = 1\n").unwrap();
    kill_process(pid, Signal::HUP).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    // A valid file: the detector change applies live, the listener change
    // is reported as needing a restart.
    let changed = good.replace(&port.to_string(), &free_port().to_string())
        + "\n[detector.psi_rising]\nabove_ratio = 0.2\n";
    std::fs::write(&cfg, changed).unwrap();
    kill_process(pid, Signal::HUP).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    kill_process(pid, Signal::TERM).unwrap();
    let status = child.wait().unwrap();
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(status.success(), "exit {status:?}\n{log}");
    assert!(
        log.contains("SIGHUP: config not reloaded") && log.contains("bogus"),
        "{log}"
    );
    assert!(
        log.contains("need a restart") && log.contains("metrics_listen"),
        "{log}"
    );
    assert!(log.contains("SIGHUP: config reloaded"), "{log}");
    assert!(log.contains("stopping"), "{log}");
}

#[test]
fn heartbeat_pings_the_dead_man_url_and_never_logs_it() {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}/ping/s3cr3t-token", server.server_addr());
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("hb.toml");
    let table = test_agent_table(dir.path(), "");
    std::fs::write(
        &cfg,
        format!("{table}\n[agent.heartbeat]\nurl = \"{url}\"\nevery = \"1s\"\n"),
    )
    .unwrap();
    let mut child = memcanary_process()
        .args(["agent", "--config"])
        .arg(&cfg)
        .env("MEMCANARY_LOG", "debug")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut paths = Vec::new();
    while paths.len() < 2 {
        let req = server
            .recv_timeout(Duration::from_secs(30))
            .unwrap()
            .expect("no heartbeat within 30 s");
        paths.push(req.url().to_string());
        let _ = req.respond(tiny_http::Response::empty(200));
    }
    assert!(paths.iter().all(|p| p == "/ping/s3cr3t-token"), "{paths:?}");
    kill_process(Pid::from_child(&child), Signal::TERM).unwrap();
    assert!(child.wait().unwrap().success());
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(!log.contains("s3cr3t"), "secret in log:\n{log}");
}

#[test]
fn in_process_agent_stays_in_the_memcanary_binary() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("a.toml");
    std::fs::write(&cfg, test_agent_table(dir.path(), "")).unwrap();
    let mut child = memcanary_process()
        .args(["agent", "--in-process", "--config"])
        .arg(&cfg)
        .stderr(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let exe = std::fs::read_link(format!("/proc/{}/exe", child.id())).unwrap();
    kill_process(Pid::from_child(&child), Signal::TERM).unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(exe.file_name().and_then(|n| n.to_str()), Some("memcanary"));
}

/// Both binaries reject a log filter that does not parse the same way: exit
/// 2 and a message naming the flag, the variable and the value (the full
/// binary once fell back to `info` without a word).
#[test]
fn a_bad_log_filter_exits_2_in_both_binaries_naming_flag_and_value() {
    let lean = memcanary_agent;
    let runs = [
        memcanary()
            .args(["--log", "memcanary=loud", "check-config"])
            .output(),
        memcanary()
            .args(["check-config", "--log=memcanary=loud"])
            .output(),
        memcanary()
            .arg("check-config")
            .env("MEMCANARY_LOG", "memcanary=loud")
            .output(),
        memcanary()
            .args(["agent", "--log", "memcanary=loud"])
            .output(),
        memcanary()
            .args(["agent", "--in-process"])
            .env("MEMCANARY_LOG", "memcanary=loud")
            .output(),
        lean().args(["--log", "memcanary=loud"]).output(),
        lean().env("MEMCANARY_LOG", "memcanary=loud").output(),
    ];
    for out in runs {
        let out = out.unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("invalid log filter \"memcanary=loud\" (--log / MEMCANARY_LOG)"),
            "{err}"
        );
    }
}

/// `memcanary agent` takes exactly the lean binary's flags: one parser.
#[test]
fn memcanary_agent_and_the_lean_binary_share_help_and_flags() {
    let lean = memcanary_agent;
    let help = lean().arg("--help").output().unwrap();
    for args in [
        &["agent", "--help"][..],
        &["agent", "-h"],
        &["help", "agent"],
    ] {
        let out = memcanary().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim_end(),
            String::from_utf8_lossy(&help.stdout).trim_end(),
            "{args:?}"
        );
    }
    let out = memcanary().args(["agent", "--confg"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unexpected argument \"--confg\""));
}

/// `memcanary check-config --config FILE` failing: its stderr.
fn check_config_error(f: &std::path::Path) -> String {
    let out = memcanary()
        .args(["check-config", "--config"])
        .arg(f)
        .assert()
        .failure()
        .get_output()
        .stderr
        .clone();
    String::from_utf8(out).unwrap()
}

#[test]
fn check_config_says_each_part_of_a_config_error_once() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("once-bad.toml");
    std::fs::write(&bad, "[agent]\nintervall = \"1s\"\n").unwrap();
    let err = check_config_error(&bad);
    assert_eq!(err.matches("once-bad.toml").count(), 1, "{err}");
    assert_eq!(err.matches("unknown field").count(), 1, "{err}");

    let range = dir.path().join("once-range.toml");
    std::fs::write(&range, "[agent]\nfast_interval = \"5s\"\n").unwrap();
    let err = check_config_error(&range);
    assert_eq!(err.matches("once-range.toml").count(), 1, "{err}");
    assert_eq!(err.matches("agent.fast_interval").count(), 1, "{err}");

    let missing = dir.path().join("once-missing.toml");
    let err = check_config_error(&missing);
    assert_eq!(err.matches("once-missing.toml").count(), 1, "{err}");
    assert_eq!(err.matches("No such file").count(), 1, "{err}");
}

#[test]
fn check_config_into_a_closed_pipe_exits_0_quietly() {
    let (code, err) = crate::common::with_stdout_closed(&["check-config".as_ref()]);
    assert_eq!((code, err.as_str()), (Some(0), ""));
}
