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
fn secrets_come_from_env_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("tok");
    std::fs::write(&f, "tk_FROM_FILE\n").unwrap();
    let s = resolve_secret("k", None, None, Some(&f)).unwrap().unwrap();
    assert_eq!(s.expose(), "tk_FROM_FILE");
    let e = resolve_secret("k", None, Some("MEMCANARY_TEST_SURELY_UNSET_VAR"), None).unwrap_err();
    assert!(e.to_string().contains("k_env"), "{e}");
    let missing = dir.path().join("missing");
    let e = resolve_secret("k", None, None, Some(&missing)).unwrap_err();
    assert!(e.to_string().starts_with("k_file"), "{e}");
}
