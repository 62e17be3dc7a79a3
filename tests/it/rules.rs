//! `memcanary rules` checked by the real tools: vmalert, promtool, amtool,
//! and a real VictoriaMetrics replaying recorded traces through vmalert.
//!
//! scripts/test.d/40-rules.sh installs the tools and starts VictoriaMetrics
//! (MEMCANARY_RULES_VM_URL); without them a test skips (`common::skip`) and returns.

use crate::common::{fixture, lab_trace, memcanary};
use memcanary::rules::build;
use memcanary::rules::model::TestFile;
use std::path::{Path, PathBuf};
use std::process::Command;

const TRACES: [&str; 4] = ["incident", "fast-spike", "benign-high", "cache-heavy"];

/// The tool's path, or None after printing why the test skips.
fn need(tool: &str, test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        crate::common::skip(
            test,
            &format!("`{tool}` not found (scripts/test.d/40-rules.sh installs it)"),
        );
    }
    found
}

/// Runs `memcanary rules ARGS -o OUT`.
fn memcanary_rules(args: &[&str], out: &Path) {
    memcanary()
        .arg("rules")
        .args(args)
        .arg("-o")
        .arg(out)
        .assert()
        .success();
}

/// Runs a tool; returns success and its combined output.
fn run(tool: &Path, args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new(tool)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn custom_config() -> String {
    fixture("rules/custom.toml").display().to_string()
}

#[test]
fn vmalert_dry_run_accepts_the_vmalert_rules() {
    let Some(vmalert) = need("vmalert", "vmalert_dry_run_accepts_the_vmalert_rules") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = custom_config();
    let cases: [&[&str]; 3] = [
        &["--target", "vmalert"],
        &[
            "--target",
            "vmalert",
            "--config",
            &cfg,
            "--selector",
            r#"{job="node"}"#,
        ],
        &[
            "--target",
            "vmalert",
            "--interval",
            "30s",
            "--scrape-interval",
            "30s",
        ],
    ];
    for (i, args) in cases.iter().enumerate() {
        let f = dir.path().join(format!("rules-{i}.yml"));
        memcanary_rules(args, &f);
        let rule = format!("-rule={}", f.display());
        let (ok, out) = run(&vmalert, &["-dryRun", &rule], dir.path());
        assert!(ok, "vmalert -dryRun rejected {args:?}:\n{out}");
    }
}

#[test]
fn keep_firing_for_is_what_old_vmalert_rejects() {
    let Some(vmalert) = need("vmalert", "keep_firing_for_is_what_old_vmalert_rejects") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("rules.yml");
    memcanary_rules(&["--target", "vmalert", "--target-version", "1.90.0"], &f);
    assert!(std::fs::read_to_string(&f)
        .unwrap()
        .contains("keep_firing_for"));
    let (ok, out) = run(
        &vmalert,
        &["-dryRun", &format!("-rule={}", f.display())],
        dir.path(),
    );
    if ok {
        eprintln!("note: this vmalert accepts keep_firing_for (>= 1.90)");
    } else {
        assert!(out.contains("keep_firing_for"), "{out}");
    }
}

#[test]
fn promtool_check_rules_on_both_targets() {
    let Some(promtool) = need("promtool", "promtool_check_rules_on_both_targets") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = custom_config();
    let cases: [&[&str]; 3] = [
        &["--target", "prometheus"],
        &["--target", "vmalert"],
        &[
            "--target",
            "prometheus",
            "--config",
            &cfg,
            "--selector",
            r#"{job="node"}"#,
        ],
    ];
    for (i, args) in cases.iter().enumerate() {
        let f = dir.path().join(format!("rules-{i}.yml"));
        memcanary_rules(args, &f);
        let path = f.display().to_string();
        let (ok, out) = run(&promtool, &["check", "rules", &path], dir.path());
        assert!(ok, "promtool check rules rejected {args:?}:\n{out}");
    }
}

/// Writes rules + tests for one trace into `dir`; returns the test file.
fn rules_and_tests(dir: &Path, trace: &Path, extra: &[&str], scrape: &str) -> PathBuf {
    let rules = dir.join("memcanary-rules.yml");
    let mut args = vec!["--target", "prometheus", "--scrape-interval", scrape];
    args.extend_from_slice(extra);
    memcanary_rules(&args, &rules);
    let tests = dir.join("memcanary-tests.yml");
    let trace = trace.display().to_string();
    args.extend_from_slice(&["--tests", "--trace", &trace]);
    memcanary_rules(&args, &tests);
    tests
}

#[test]
fn promtool_test_rules_on_every_trace() {
    let Some(promtool) = need("promtool", "promtool_test_rules_on_every_trace") else {
        return;
    };
    let cfg = custom_config();
    for run_name in TRACES {
        for (interval, extra) in [
            ("15s", vec![]),
            ("5s", vec![]),
            ("15s", vec!["--config", cfg.as_str()]),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let trace = lab_trace(run_name, interval);
            let tests = rules_and_tests(dir.path(), &trace, &extra, interval);
            let (ok, out) = run(
                &promtool,
                &["test", "rules", "memcanary-tests.yml"],
                dir.path(),
            );
            assert!(
                ok,
                "promtool test rules failed on {} {extra:?} ({}):\n{out}",
                trace.display(),
                tests.display()
            );
        }
    }
    // Every run as the user's 30 s scraper would have recorded it.
    for run_name in TRACES {
        let dir = tempfile::tempdir().unwrap();
        let slow = dir.path().join("trace-30s.jsonl");
        crate::rules_parity::downsample_30s(&lab_trace(run_name, "15s"), &slow);
        rules_and_tests(dir.path(), &slow, &[], "30s");
        let (ok, out) = run(
            &promtool,
            &["test", "rules", "memcanary-tests.yml"],
            dir.path(),
        );
        assert!(
            ok,
            "promtool test rules failed on {run_name} at 30 s:\n{out}"
        );
    }
    // The reconstruction of the user's incident: 5 hours, a 4-hour gap.
    let dir = tempfile::tempdir().unwrap();
    let kai = fixture("incident-184/export-kai-server-15s.jsonl");
    rules_and_tests(dir.path(), &kai, &[], "15s");
    let (ok, out) = run(
        &promtool,
        &["test", "rules", "memcanary-tests.yml"],
        dir.path(),
    );
    assert!(
        ok,
        "promtool test rules failed on {}:\n{out}",
        kai.display()
    );
}

#[test]
fn promtool_fails_a_test_that_expects_the_forecast_too_early() {
    let Some(promtool) = need(
        "promtool",
        "promtool_fails_a_test_that_expects_the_forecast_too_early",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let tests = rules_and_tests(dir.path(), &lab_trace("incident", "15s"), &[], "15s");
    let mut file: TestFile =
        serde_saphyr::from_str(&std::fs::read_to_string(&tests).unwrap()).unwrap();
    let checks = &mut file.tests[0].alert_rule_test;
    let i = checks
        .iter()
        .position(|c| c.alertname == build::FORECAST && !c.exp_alerts.is_empty())
        .unwrap();
    assert!(
        checks[i - 1].exp_alerts.is_empty(),
        "the check before the first firing"
    );
    checks[i - 1].exp_alerts = checks[i].exp_alerts.clone();
    std::fs::write(&tests, serde_saphyr::to_string(&file).unwrap()).unwrap();
    let (ok, out) = run(
        &promtool,
        &["test", "rules", "memcanary-tests.yml"],
        dir.path(),
    );
    assert!(
        !ok,
        "promtool accepted a forecast one interval early:\n{out}"
    );
    assert!(out.contains(build::FORECAST), "{out}");
}

#[test]
fn amtool_check_config_accepts_the_alertmanager_snippet() {
    let Some(amtool) = need(
        "amtool",
        "amtool_check_config_accepts_the_alertmanager_snippet",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("alertmanager.yml");
    memcanary_rules(&["--alertmanager"], &f);
    let text = std::fs::read_to_string(&f).unwrap();
    assert!(text.contains("group_wait: 0s"), "{text}");
    let (ok, out) = run(&amtool, &["check-config", "alertmanager.yml"], dir.path());
    assert!(ok, "amtool check-config rejected the snippet:\n{out}");
}

#[test]
fn amtool_routes_memcanary_alerts_to_discord() {
    let Some(amtool) = need("amtool", "amtool_routes_memcanary_alerts_to_discord") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    memcanary_rules(&["--alertmanager"], &dir.path().join("am.yml"));
    let route = |labels: &[&str], receiver: &str| {
        let mut args = vec!["config", "routes", "test", "--config.file=am.yml"];
        let verify = format!("--verify.receivers={receiver}");
        args.push(&verify);
        args.extend_from_slice(labels);
        let (ok, out) = run(&amtool, &args, dir.path());
        assert!(ok, "{labels:?} should go to {receiver}:\n{out}");
    };
    route(
        &["alertname=MemcanaryThrashing", "severity=critical"],
        "memcanary-discord",
    );
    route(
        &["alertname=MemcanaryHeadroomForecast", "severity=warning"],
        "memcanary-discord",
    );
    route(&["alertname=NodeDown", "severity=critical"], "default");
    let (_, tree) = run(
        &amtool,
        &["config", "routes", "--config.file=am.yml"],
        dir.path(),
    );
    assert!(
        tree.contains(r#"{severity="critical"}  receiver: memcanary-discord"#),
        "{tree}"
    );
}

/// A real Alertmanager with the generated config (the placeholder webhook
/// replaced, as a user does) delivers a critical memcanary alert to a local
/// stand-in for Discord's webhook endpoint.
#[test]
fn alertmanager_delivers_a_critical_alert_to_discord() {
    use memcanary::rules::alertmanager::{AmConfig, PLACEHOLDER_URL};
    use std::time::Duration;
    let test = "alertmanager_delivers_a_critical_alert_to_discord";
    let Some(am) = need("prometheus-alertmanager", test) else {
        return;
    };
    let discord = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let discord_port = discord.server_addr().to_ip().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = dir.path().join("am.yml");
    memcanary_rules(&["--alertmanager"], &cfg_path);
    let text = std::fs::read_to_string(&cfg_path).unwrap();
    let mut cfg: AmConfig = serde_saphyr::from_str(&text).unwrap();
    for r in &mut cfg.receivers {
        for d in &mut r.discord_configs {
            assert_eq!(d.webhook_url.as_deref(), Some(PLACEHOLDER_URL));
            d.webhook_url = Some(format!("http://127.0.0.1:{discord_port}/api/webhooks/1/t"));
        }
    }
    std::fs::write(&cfg_path, serde_saphyr::to_string(&cfg).unwrap()).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(am)
        .arg(format!("--config.file={}", cfg_path.display()))
        .arg(format!(
            "--storage.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    // Wait up to 60 s for it to come up (a readiness poll, not a timing claim).
    let ready = (0..600).any(|_| {
        let up = ureq::get(&format!("{base}/-/ready")).call().is_ok();
        if !up {
            std::thread::sleep(Duration::from_millis(100));
        }
        up
    });
    assert!(ready, "Alertmanager did not start");
    let alert = r#"[{"labels":{"alertname":"MemcanaryThrashing","severity":"critical","rule":"thrashing","instance":"kai-server:9100","job":"node"},"annotations":{"summary":"kai-server:9100 is thrashing"}}]"#;
    ureq::post(&format!("{base}/api/v2/alerts"))
        .header("Content-Type", "application/json")
        .send(alert)
        .unwrap();
    let got = discord.recv_timeout(Duration::from_secs(60)).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let mut req = got.expect("no Discord webhook call within 60 s");
    assert_eq!(req.url(), "/api/webhooks/1/t");
    let mut body = String::new();
    std::io::Read::read_to_string(req.as_reader(), &mut body).unwrap();
    let _ = req.respond(tiny_http::Response::empty(204));
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let title = v["embeds"][0]["title"].as_str().unwrap_or_default();
    assert!(
        title.contains("FIRING") && title.contains("MemcanaryThrashing"),
        "{body}"
    );
}

#[test]
fn rules_into_a_closed_pipe_exit_0_quietly() {
    let (code, err) = crate::common::with_stdout_closed(&["rules".as_ref()]);
    assert_eq!((code, err.as_str()), (Some(0), ""));
}

#[test]
fn rules_into_a_full_disk_says_the_reason_once() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = crate::common::memcanary_process()
        .arg("rules")
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.matches("No space left").count(), 1, "{err}");
}
