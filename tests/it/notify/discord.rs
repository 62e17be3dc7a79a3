//! The Discord sink against a local Discord-compatible receiver that enforces
//! Discord's documented limits and can answer 429 / 500 / 404.

use super::delivery::{alert, config};
use super::receiver::{Receiver, Reply};
use memcanary::detect::{Severity, Signal};
use memcanary::notify::{Alert, Consumer, Dispatcher, State};
use std::time::Duration;

fn discord_config(rx: &Receiver) -> memcanary::notify::NotifyConfig {
    config(&format!(
        "[[notify.sinks]]\nname = \"discord\"\nkind = \"discord\"\nurl = \"{}\"\nmention = \"<@&42>\"\n",
        rx.url("/api/webhooks/1234/FAKE-token")
    ))
}

fn huge(rule: &str) -> Alert {
    let mut a = alert(rule, Severity::Critical, State::Firing, 5_000);
    a.instance = "ノード-über-".repeat(700);
    a.values.signals = Signal::ALL.into_iter().collect();
    a.consumers = (0..40)
        .map(|i| Consumer {
            group: format!("ünit-{i}-{}.service", "名".repeat(100)),
            processes: i,
            command: "cc1plus".into(),
            bytes: 1 << 30,
        })
        .collect();
    a
}

#[test]
fn everything_deliverable_arrives_exactly_once_through_429_and_500() {
    let rx = Receiver::start(true);
    rx.script([
        Reply::json(
            429,
            r#"{"message":"You are being rate limited.","retry_after":0.2,"global":false}"#,
        )
        .header("Retry-After", "1")
        .header("X-RateLimit-Reset-After", "0.2")
        .header("X-RateLimit-Scope", "user"),
        Reply::json(500, r#"{"message":"500: Internal Server Error","code":0}"#),
        Reply::json(
            429,
            r#"{"message":"You are being rate limited.","retry_after":0.1,"global":true}"#,
        )
        .header("X-RateLimit-Global", "true"),
    ]);
    let d = Dispatcher::build(&discord_config(&rx), None).unwrap();
    d.send(alert("swap_low", Severity::Warning, State::Firing, 1_000));
    d.send(huge("thrashing"));
    d.send(alert(
        "psi_rising",
        Severity::Critical,
        State::Firing,
        2_000,
    ));
    d.send(alert("swap_low", Severity::Warning, State::Resolved, 3_000));
    let stats = d.shutdown(Duration::from_secs(30));
    let got = rx.received();
    assert!(
        got.iter().all(|r| r.status != 400),
        "a payload broke Discord's limits: {:#?}",
        got.iter()
            .map(|r| String::from_utf8_lossy(&r.body)
                .chars()
                .take(300)
                .collect::<String>())
            .collect::<Vec<_>>()
    );
    let accepted: Vec<(String, String)> = rx
        .accepted()
        .iter()
        .map(|r| {
            let e = &r.json()["embeds"][0];
            (
                e["footer"]["text"].as_str().unwrap().to_string(),
                e["title"].as_str().unwrap().chars().take(10).collect(),
            )
        })
        .collect();
    assert_eq!(accepted.len(), 4, "{accepted:?}");
    assert_eq!(accepted[0].0, "memcanary · rule swap_low");
    assert_eq!(accepted[1].0, "memcanary · rule thrashing");
    assert_eq!(accepted[2].0, "memcanary · rule psi_rising");
    assert!(accepted[3].1.starts_with("[RESOLVED]"), "{accepted:?}");
    let s = &stats.sinks[0];
    assert_eq!(
        (s.sent, s.failed, s.retries, s.disabled),
        (4, 0, 3, false),
        "{s:?}"
    );
    // The critical one mentions the role, and only that role may ping.
    let crit = rx.accepted()[1].json();
    assert_eq!(crit["content"], "<@&42>");
    assert_eq!(crit["allowed_mentions"]["roles"][0], "42");
}

#[test]
fn the_429_wait_is_honoured() {
    let rx = Receiver::start(true);
    // retry_after in the body (2 s) is the longest hint. Without it the retry
    // would come after the backoff's first ceiling (20 ms); the 1 s margin
    // only absorbs the first request's own latency (measured server-side).
    rx.script([Reply::json(
        429,
        r#"{"message":"You are being rate limited.","retry_after":2.0,"global":false}"#,
    )
    .header("X-RateLimit-Reset-After", "0.1")]);
    let d = Dispatcher::build(&discord_config(&rx), None).unwrap();
    d.send(alert("swap_low", Severity::Warning, State::Firing, 1_000));
    d.shutdown(Duration::from_secs(20));
    let got = rx.received();
    assert_eq!(got.len(), 2);
    let gap = got[1].at_ms - got[0].at_ms;
    assert!(
        gap >= 1000,
        "retried after {gap} ms, Discord asked for 2000"
    );
}

#[test]
fn a_deleted_webhook_disables_the_sink_without_retrying() {
    let rx = Receiver::start(true);
    rx.script([Reply::json(
        404,
        r#"{"message": "Unknown Webhook", "code": 10015}"#,
    )]);
    let d = Dispatcher::build(&discord_config(&rx), None).unwrap();
    d.send(alert("swap_low", Severity::Warning, State::Firing, 1_000));
    rx.wait_for("the first attempt", |r| !r.is_empty());
    std::thread::sleep(Duration::from_millis(100));
    d.send(alert("thrashing", Severity::Critical, State::Firing, 2_000));
    let stats = d.shutdown(Duration::from_secs(10));
    assert_eq!(
        rx.received().len(),
        1,
        "no retry and nothing more after 10015"
    );
    let s = &stats.sinks[0];
    assert!(s.disabled);
    assert_eq!((s.sent, s.failed, s.retries), (0, 2, 0));
    let err = s.last_error.clone().unwrap_or_default();
    assert!(
        err.contains("10015") || err.contains("sink is disabled"),
        "{err}"
    );
    assert!(!err.contains("FAKE-token"));
}

#[test]
fn an_invalid_token_disables_the_sink() {
    let rx = Receiver::start(true);
    rx.script([Reply::json(
        401,
        r#"{"message": "Invalid Webhook Token", "code": 50027}"#,
    )]);
    let d = Dispatcher::build(&discord_config(&rx), None).unwrap();
    d.send(alert("swap_low", Severity::Warning, State::Firing, 1_000));
    let stats = d.shutdown(Duration::from_secs(10));
    assert!(stats.sinks[0].disabled);
    assert!(stats.sinks[0]
        .last_error
        .as_deref()
        .unwrap_or("")
        .contains("50027"));
    assert_eq!(rx.received().len(), 1);
}

#[test]
fn the_receiver_rejects_what_discord_rejects() {
    // The stand-in must itself enforce the limits, or the tests above prove nothing.
    let over = serde_json::json!({"embeds": [{"title": "é".repeat(257)}]}).to_string();
    assert!(super::receiver::discord_violation("/x?wait=true", over.as_bytes()).is_some());
    let fields: Vec<_> = (0..6)
        .map(|_| serde_json::json!({"name": "n", "value": "v".repeat(1024)}))
        .collect();
    let total = serde_json::json!({"embeds": [{"title": "t", "fields": fields}]}).to_string();
    assert!(super::receiver::discord_violation("/x?wait=true", total.as_bytes()).is_some());
    let ok = serde_json::json!({"embeds": [{"title": "é".repeat(256)}]}).to_string();
    assert_eq!(
        super::receiver::discord_violation("/x?wait=true", ok.as_bytes()),
        None
    );
    assert!(super::receiver::discord_violation("/x", ok.as_bytes()).is_some());
}
