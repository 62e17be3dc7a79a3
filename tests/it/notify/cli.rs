//! `memcanary notify-test` through the real binary, and ntfy through the
//! real dispatcher.

use super::delivery::{alert, config};
use super::receiver::{Receiver, Reply};
use crate::common::memcanary;
use memcanary::detect::Severity;
use memcanary::notify::{Dispatcher, State};
use std::time::Duration;

fn write_config(dir: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.path().join("memcanary.toml");
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

#[test]
fn notify_test_reports_each_sink() {
    let good = Receiver::start(false);
    let bad = Receiver::start(false);
    bad.script([Reply::json(
        401,
        r#"{"code":40101,"http":401,"error":"unauthorized"}"#,
    )]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        &dir,
        &format!(
            "[detector]\n[notify]\n[[notify.sinks]]\nname = \"good\"\nkind = \"webhook\"\nurl = \"{}\"\n[[notify.sinks]]\nname = \"phone\"\nkind = \"ntfy\"\nurl = \"{}\"\ntoken = \"tk_SECRETcli\"\n",
            good.url("/hook-SECRETpath"),
            bad.url("/topic")
        ),
    );
    let out = memcanary()
        .args([
            "notify-test",
            "--instance",
            "cli-host",
            "--timeout",
            "5s",
            "--config",
        ])
        .arg(&cfg)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("ok     good (webhook): delivered"),
        "{stderr}"
    );
    assert!(stderr.contains("FAILED phone (ntfy): HTTP 401"), "{stderr}");
    assert!(!stderr.contains("SECRET"), "{stderr}");
    let got = good.accepted();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["test"], true);
    assert_eq!(got[0].json()["alert"]["instance"], "cli-host");

    let only = memcanary()
        .args(["notify-test", "--sink", "good", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(
        only.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&only.stderr)
    );
    assert_eq!(good.accepted().len(), 2);
    assert_eq!(bad.received().len(), 1, "--sink good must not touch phone");

    let unknown = memcanary()
        .args(["notify-test", "--sink", "nope", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no sink named \"nope\""));
}

#[test]
fn notify_test_rejects_a_bad_config_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        &dir,
        "[notify]\n[[notify.sinks]]\nname = \"d\"\nkind = \"discord\"\n",
    );
    let out = memcanary()
        .args(["notify-test", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("notify.sinks[0].url"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn ntfy_gets_title_priority_tags_and_a_body_within_its_limit() {
    let rx = Receiver::start(false);
    let cfg = config(&format!("[[notify.sinks]]\nname = \"phone\"\nkind = \"ntfy\"\nurl = \"{}\"\ntoken = \"tk_abc\"\ntags = [\"k3s\"]\nclick = \"http://grafana.lan/\"\n", rx.url("/memcanary")));
    let d = Dispatcher::build(&cfg, None).unwrap();
    let mut big = alert("thrashing", Severity::Critical, State::Firing, 1_000);
    big.instance = "ノード".repeat(3000);
    d.send(big);
    d.send(alert("swap_low", Severity::Warning, State::Firing, 2_000));
    d.shutdown(Duration::from_secs(10));
    let got = rx.accepted();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].url, "/memcanary");
    assert_eq!(got[0].header("Priority"), Some("5"));
    assert_eq!(got[1].header("Priority"), Some("4"));
    assert_eq!(got[0].header("Tags"), Some("rotating_light,memcanary,k3s"));
    assert_eq!(got[0].header("Click"), Some("http://grafana.lan/"));
    assert_eq!(got[0].header("Authorization"), Some("Bearer tk_abc"));
    assert!(got[0].header("Title").unwrap().starts_with("=?UTF-8?B?"));
    assert!(got[0].body.len() <= 4096, "{}", got[0].body.len());
    assert!(std::str::from_utf8(&got[0].body).unwrap().ends_with('…'));
    assert!(std::str::from_utf8(&got[1].body)
        .unwrap()
        .contains("Headroom: 1.5 GiB"));
}
