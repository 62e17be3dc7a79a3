use super::notify_table;
use super::*;

fn parse(text: &str) -> NotifyConfig {
    notify_table(text).unwrap()
}

const FULL: &str = r#"
[notify]
reminder_interval = "30m"
[[notify.sinks]]
name = "discord"
kind = "discord"
url = "https://discord.com/api/webhooks/123/tok-INLINE-SECRET"
mention = "<@&42>"
[[notify.sinks]]
name = "phone"
kind = "ntfy"
url = "http://ntfy.lan/memcanary-topic-SECRET"
token = "tk_TOKEN-SECRET"
[[notify.sinks]]
name = "am"
kind = "alertmanager"
urls = ["http://am1:9093", "http://am2:9093"]
[notify.routes]
warning = ["discord", "phone"]
critical = ["discord", "phone", "am"]
"#;

#[test]
fn a_full_config_parses_and_validates() {
    let c = parse(FULL);
    c.validate().unwrap();
    assert_eq!(c.sinks.len(), 3);
    assert_eq!(c.reminder_interval, Dur::from_secs(1800));
    assert!(c.has_inline_secrets());
}

#[test]
fn debug_of_a_config_shows_no_secret() {
    let text = format!("{:?}", parse(FULL));
    for secret in [
        "tok-INLINE-SECRET",
        "memcanary-topic-SECRET",
        "tk_TOKEN-SECRET",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert!(text.contains("https://discord.com/api/webhooks/123/***"));
}

#[test]
fn unknown_keys_are_rejected() {
    let e =
        notify_table("[notify]\n[[notify.sinks]]\nname = \"x\"\nkind = \"stdout\"\nurll = \"a\"\n")
            .unwrap_err();
    assert!(e.to_string().contains("urll"), "{e}");
}

fn invalid(text: &str) -> String {
    parse(text).validate().unwrap_err().to_string()
}

#[test]
fn validation_names_the_key() {
    let e = invalid("[notify]\n[[notify.sinks]]\nname = \"d\"\nkind = \"discord\"\n");
    assert!(e.starts_with("notify.sinks[0].url"), "{e}");
    let e = invalid("[notify]\n[[notify.sinks]]\nname = \"d\"\nkind = \"stdout\"\n[[notify.sinks]]\nname = \"d\"\nkind = \"stdout\"\n");
    assert!(e.starts_with("notify.sinks[1].name"), "{e}");
    let e = invalid("[notify]\n[[notify.sinks]]\nname = \"s\"\nkind = \"stdout\"\n[notify.routes]\ncritical = [\"nope\"]\n");
    assert!(
        e.starts_with("notify.routes.critical") && e.contains("nope"),
        "{e}"
    );
    let e = invalid("[notify]\nrequest_timeout = \"0\"\n");
    assert!(e.starts_with("notify.request_timeout"), "{e}");
    let e = invalid("[notify]\n[[notify.sinks]]\nname = \"d\"\nkind = \"discord\"\nurl = \"https://discord.com/api/webhooks/1/x\"\nmention = \"boss\"\n");
    assert!(e.starts_with("notify.sinks[0].mention"), "{e}");
    let e = invalid("[notify]\n[[notify.sinks]]\nname = \"n\"\nkind = \"ntfy\"\nurl = \"ftp://secret-host/SECRET-PATH\"\n");
    assert!(
        e.starts_with("notify.sinks[0].url") && !e.contains("SECRET-PATH"),
        "{e}"
    );
    let e = invalid("[notify]\n[[notify.sinks]]\nname = \"n\"\nkind = \"discord\"\nurl = \"https://x\"\ntoken = \"t\"\n");
    assert!(e.starts_with("notify.sinks[0].token"), "{e}");
}

#[test]
fn durations_are_bounded_and_zero_reminders_mean_never() {
    assert_eq!(
        invalid("[notify]\nreminder_interval = \"1ms\"\n"),
        "notify.reminder_interval: must be 0s (never) or between 1m and 7d, got 1ms"
    );
    let e = invalid("[notify]\nreminder_interval = \"8d\"\n");
    assert!(
        e.starts_with("notify.reminder_interval") && e.contains("192h"),
        "{e}"
    );
    let e = invalid("[notify]\nrequest_timeout = \"3h\"\n");
    assert_eq!(
        e,
        "notify.request_timeout: must be between 100ms and 5m, got 3h"
    );
    let e = invalid("[notify]\nconnect_timeout = \"10ms\"\n");
    assert!(e.starts_with("notify.connect_timeout"), "{e}");
    let e = invalid("[notify]\nretry_initial = \"2h\"\nretry_max = \"3h\"\n");
    assert!(e.starts_with("notify.retry_initial"), "{e}");
    let sink = "[[notify.sinks]]\nname = \"a\"\nkind = \"alertmanager\"\nurl = \"http://127.0.0.1:9093\"\n";
    let e = invalid(&format!("{sink}repeat_interval = \"100ms\"\n"));
    assert!(
        e.starts_with("notify.sinks[0].repeat_interval") && e.contains("100ms"),
        "{e}"
    );
    let e = invalid(&format!("{sink}ends_after = \"10s\"\n"));
    assert!(
        e.starts_with("notify.sinks[0].ends_after") && e.contains("10s"),
        "{e}"
    );
    let ok = parse(&format!(
        "[notify]\nreminder_interval = \"0s\"\n{sink}repeat_interval = \"7d\"\n"
    ));
    assert!(ok.validate().is_ok());
    // What the dispatcher checks leaves the ranges to the loader.
    let fast = parse(&format!(
        "[notify]\nretry_initial = \"20ms\"\n{sink}repeat_interval = \"100ms\"\n"
    ));
    assert!(fast.validate_sinks().is_ok());
}

#[test]
fn secrets_come_from_env_and_files() {
    use crate::notify::secret::resolve;
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("tok");
    std::fs::write(&f, "tk_FROM_FILE\n").unwrap();
    let s = resolve("k", None, None, Some(&f)).unwrap().unwrap();
    assert_eq!(s.expose(), "tk_FROM_FILE");
    let e = resolve("k", None, Some("MEMCANARY_TEST_SURELY_UNSET_VAR"), None).unwrap_err();
    assert!(e.to_string().contains("k_env"), "{e}");
    let missing = dir.path().join("missing");
    let e = resolve("k", None, None, Some(&missing)).unwrap_err();
    assert!(e.to_string().starts_with("k_file"), "{e}");
}
