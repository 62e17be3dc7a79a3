//! Issue 14 item 10: a missing or unreadable secret for one sink stopped
//! the whole agent (exit 2, no sampling) while `check-config` said valid; an
//! empty `url_file` or a malformed URL passed validation and was retried
//! forever as transient. And the warning for a world-readable secret was
//! given by `notify-test` only.

use super::{agent_config, Agent, FakeProc, Hook};
use crate::common::{free_port, memcanary};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

/// A webhook sink entry; `url_line` is its `url*` key and value.
fn sink(name: &str, url_line: &str) -> String {
    format!("[[notify.sinks]]\nname = \"{name}\"\nkind = \"webhook\"\n{url_line}\n")
}

/// `check-config -c FILE` with `text`: exit code, stdout, stderr.
fn check_config(dir: &Path, text: &str, envs: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let f = dir.join("c.toml");
    std::fs::write(&f, text).unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut cmd = memcanary();
    cmd.args(["check-config", "-c"]).arg(&f);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.code(), text(out.stdout), text(out.stderr))
}

#[test]
fn check_config_names_each_sink_the_agent_could_not_use() {
    let d = tempfile::tempdir().unwrap();
    let empty = d.path().join("empty-url");
    std::fs::write(&empty, "\n").unwrap();
    let missing = d.path().join("missing-url");
    let text = [
        sink("gone", &format!("url_file = \"{}\"", missing.display())),
        sink("blank", &format!("url_file = \"{}\"", empty.display())),
        sink("spaced", "url_env = \"MEMCANARY_HARDEN_URL\""),
        sink("fine", "url = \"http://127.0.0.1:9/ok\""),
    ]
    .concat();
    let env = [("MEMCANARY_HARDEN_URL", "http://h/x y/tok-SECRET-env")];
    let (code, out, err) = check_config(d.path(), &text, &env);
    assert_eq!(code, Some(2), "stdout:\n{out}\nstderr:\n{err}");
    for name in ["gone", "blank", "spaced"] {
        assert!(err.contains(&format!("sink \"{name}\"")), "{name}: {err}");
    }
    assert!(err.contains("is empty"), "{err}");
    assert!(
        !err.contains("tok-SECRET") && !out.contains("tok-SECRET"),
        "{err}"
    );
    assert!(!err.contains("sink \"fine\""), "{err}");
    // Inline too.
    let inline = sink("inline", "url = \"http://bad host/tok-SECRET-inline\"");
    let (code, _, err) = check_config(d.path(), &inline, &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("sink \"inline\"") && !err.contains("tok-SECRET"),
        "{err}"
    );
}

#[test]
fn one_broken_sink_is_skipped_and_exported_while_the_others_deliver() {
    let d = tempfile::tempdir().unwrap();
    let proc = FakeProc::new(&d.path().join("proc"));
    let hook = Hook::start("/hook", 200);
    let port = free_port();
    let missing = d.path().join("no-such-secret");
    let tables = [
        sink("gone", &format!("url_file = \"{}\"", missing.display())),
        sink("malformed", "url_env = \"MEMCANARY_HARDEN_BAD_URL\""),
        sink("hook", &format!("url = \"{}\"", hook.url)),
    ]
    .concat();
    let cfg = agent_config(d.path(), &proc, &format!("127.0.0.1:{port}"), "", &tables);
    let mut cmd = std::process::Command::new(super::agent_bin());
    cmd.arg("agent")
        .env("MEMCANARY_HARDEN_BAD_URL", "http://bad host/tok-SECRET");
    let mut agent = Agent::start_with(cmd, &cfg);
    assert!(
        agent.wait_log("memcanary agent starting", Duration::from_secs(10)),
        "{}",
        agent.log_text()
    );
    std::thread::sleep(Duration::from_millis(800));
    proc.oom_kills(1);
    let arrived = hook.firing("oom_kill", Duration::from_secs(10));
    assert!(arrived.is_some() && agent.running(), "{}", agent.log_text());
    let log = agent.log_text();
    for name in ["gone", "malformed"] {
        assert!(
            log.contains(&format!("sink={name}")) && log.contains("cannot be used"),
            "{name}: {log}"
        );
    }
    assert!(
        !log.contains("will retry") && !log.contains("tok-SECRET"),
        "{log}"
    );
    let metrics = super::metrics_text(port);
    assert!(
        metrics.contains("memcanary_notify_sinks_broken 2"),
        "{metrics}"
    );
}

#[test]
fn the_agent_and_check_config_warn_of_a_world_readable_secret() {
    let d = tempfile::tempdir().unwrap();
    let secret = d.path().join("url");
    std::fs::write(&secret, "http://127.0.0.1:9/tok-SECRET-file\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let text = sink("filed", &format!("url_file = \"{}\"", secret.display()));
    let (code, _, err) = check_config(d.path(), &text, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("readable by every user"), "{err}");
    assert!(!err.contains("tok-SECRET"), "{err}");

    let proc = FakeProc::new(&d.path().join("proc"));
    let inline = sink("inline", "url = \"http://127.0.0.1:9/tok-SECRET-inline\"");
    let cfg = agent_config(d.path(), &proc, "", "", &inline);
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o644)).unwrap();
    let agent = Agent::start(&cfg);
    assert!(
        agent.wait_log("readable by every user", Duration::from_secs(10)),
        "{}",
        agent.log_text()
    );
    assert!(!agent.log_text().contains("tok-SECRET"));
}
