//! No secret reaches a log line at any level, an error's text, or the Debug
//! of a config: every path (render, deliver, retry, give up, disable, bad
//! URL, connection refused) runs with secret-bearing URLs and tokens while a
//! TRACE subscriber (with the `log` bridge, as `main` sets it up, so the HTTP
//! client's own logs are captured too) writes everything to a buffer.

use super::delivery::{alert, config};
use super::receiver::{Receiver, Reply};
use memcanary::detect::Severity;
use memcanary::notify::{Dispatcher, State};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The process-wide TRACE capture (one per test binary).
fn capture() -> &'static Buffer {
    static BUF: OnceLock<Buffer> = OnceLock::new();
    BUF.get_or_init(|| {
        use tracing_subscriber::util::SubscriberInitExt;
        let buf = Buffer::default();
        let writer = buf.clone();
        let filter = tracing_subscriber::EnvFilter::new(format!(
            "trace,{}",
            memcanary::notify::QUIET_HTTP_LOGS
        ));
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish()
            .try_init()
            .expect("first subscriber in this test binary");
        buf
    })
}

const SECRETS: [&str; 6] = [
    "SECRETdiscordTOKEN",
    "SECRETntfyTOPIC",
    "tk_SECRETntfyTOKEN",
    "SECRETwebhookPATH",
    "SECRETpassword",
    "dXNlcjpTRUNSRVRwYXNzd29yZA",
];

#[test]
fn no_secret_in_any_log_line_error_or_debug() {
    let buf = capture();
    let discord = Receiver::start(true);
    let ntfy = Receiver::start(false);
    let hook = Receiver::start(false);
    // Servers that echo what they got (URL path, auth header) in their errors.
    discord.script([
        Reply::json(
            500,
            r#"{"message":"boom at /api/webhooks/99/SECRETdiscordTOKEN"}"#,
        ),
        Reply::json(
            429,
            r#"{"message":"slow down","retry_after":0.01,"global":true}"#,
        ),
        Reply::json(200, "{}"),
        Reply::json(
            404,
            r#"{"message":"Unknown Webhook /api/webhooks/99/SECRETdiscordTOKEN","code":10015}"#,
        ),
    ]);
    ntfy.script([
        Reply::json(
            503,
            r#"{"error":"auth Bearer tk_SECRETntfyTOKEN for /SECRETntfyTOPIC"}"#,
        ),
        Reply::json(400, r#"{"error":"bad: /SECRETntfyTOPIC"}"#),
    ]);
    hook.script([Reply::json(
        401,
        "Basic dXNlcjpTRUNSRVRwYXNzd29yZA== rejected for /SECRETwebhookPATH",
    )]);
    let refused = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = config(&format!(
        r#"
[[notify.sinks]]
name = "discord"
kind = "discord"
url = "{d}"
mention = "@here"
[[notify.sinks]]
name = "phone"
kind = "ntfy"
url = "{n}"
token = "tk_SECRETntfyTOKEN"
[[notify.sinks]]
name = "hook"
kind = "webhook"
url = "{h}"
username = "user"
password = "SECRETpassword"
[[notify.sinks]]
name = "down"
kind = "webhook"
url = "http://127.0.0.1:{refused}/SECRETwebhookPATH"
[[notify.sinks]]
name = "badurl"
kind = "slack"
url = "http://exa mple.invalid/SECRETwebhookPATH"
"#,
        d = discord.url("/api/webhooks/99/SECRETdiscordTOKEN"),
        n = ntfy.url("/SECRETntfyTOPIC"),
        h = hook.url("/SECRETwebhookPATH"),
    ));
    let debug = format!("{cfg:?} {cfg:#?}");
    let d = Dispatcher::build(&cfg, None).unwrap();
    d.send(alert("swap_low", Severity::Warning, State::Firing, 1_000));
    d.send(alert("thrashing", Severity::Critical, State::Firing, 2_000));
    discord.wait_for("the 404", |r| r.iter().any(|x| x.status == 404));
    let stats = d.shutdown(Duration::from_millis(1500));
    let errors: Vec<String> = stats
        .sinks
        .iter()
        .filter_map(|s| s.last_error.clone())
        .collect();
    assert!(errors.len() >= 4, "every failure path ran: {stats:#?}");
    assert!(
        stats.sinks.iter().any(|s| s.disabled),
        "the disable path ran"
    );

    // An error from config validation that quotes a URL.
    let bad = memcanary::notify::config::notify_table("[notify]\n[[notify.sinks]]\nname = \"x\"\nkind = \"ntfy\"\nurl = \"ftp://h/SECRETntfyTOPIC\"\n").unwrap();
    let validate_err = bad.validate().unwrap_err().to_string();

    let logs = String::from_utf8_lossy(&buf.0.lock().unwrap()).into_owned();
    assert!(
        logs.contains("delivery failed; will retry"),
        "retry path logged"
    );
    assert!(logs.contains("giving up"), "give-up path logged");
    assert!(logs.contains("sink disabled"), "disable path logged");
    assert!(
        logs.contains("notification delivered"),
        "success path logged"
    );
    assert!(logs.contains("TRACE"), "trace level captured");
    for s in SECRETS {
        assert!(
            !logs.contains(s),
            "secret {s} in logs:\n{}",
            logs.lines()
                .filter(|l| l.contains(s))
                .collect::<Vec<_>>()
                .join("\n")
        );
        for e in &errors {
            assert!(!e.contains(s), "secret {s} in error {e}");
        }
        assert!(!debug.contains(s), "secret {s} in config Debug");
        assert!(!validate_err.contains(s), "secret {s} in {validate_err}");
    }
}
