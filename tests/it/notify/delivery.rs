//! Delivery through the real dispatcher: webhook and stdout sinks, dedupe,
//! reminders, retries, and a restart while the receiver is down.

use super::receiver::{Receiver, Reply};
use memcanary::detect::Severity;
use memcanary::notify::{Alert, Dispatcher, NotifyConfig, State};
use std::time::Duration;

pub fn config(sinks: &str) -> NotifyConfig {
    let text = format!("[notify]\nretry_initial = \"20ms\"\nretry_max = \"200ms\"\nrequest_timeout = \"5s\"\n{sinks}");
    memcanary::notify::config::notify_table(&text).unwrap()
}

pub fn alert(rule: &str, severity: Severity, state: State, at_ms: i64) -> Alert {
    let mut a = Alert::test("web-1", at_ms);
    a.is_test = false;
    a.rule = rule.into();
    a.severity = severity;
    a.state = state;
    a
}

#[test]
fn webhook_gets_the_versioned_document_once_per_state_change() {
    let rx = Receiver::start(false);
    let cfg = config(&format!(
        "[[notify.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n",
        rx.url("/hook")
    ));
    let d = Dispatcher::build(&cfg, None).unwrap();
    d.send(alert("swap_low", Severity::Warning, State::Firing, 1_000));
    d.send(alert("swap_low", Severity::Warning, State::Firing, 2_000)); // same state: deduped
    d.send(alert("swap_low", Severity::Warning, State::Resolved, 3_000));
    let stats = d.shutdown(Duration::from_secs(10));
    let got = rx.accepted();
    assert_eq!(got.len(), 2, "{got:#?}");
    let first = got[0].json();
    assert_eq!(first["version"], 1);
    assert_eq!(first["status"], "firing");
    assert_eq!(first["alert"]["alertname"], "MemcanarySwapLow");
    assert_eq!(first["alert"]["instance"], "web-1");
    assert_eq!(first["alert"]["at_ms"], 1_000);
    assert_eq!(got[1].json()["status"], "resolved");
    assert_eq!(stats.sinks[0].sent, 2);
    assert_eq!(stats.sinks[0].failed, 0);
}

#[test]
fn server_errors_are_retried_until_delivered_exactly_once() {
    let rx = Receiver::start(false);
    rx.script([
        Reply::status(500),
        Reply::status(503).header("Retry-After", "0"),
        Reply::status(408),
        Reply::status(429).header("Retry-After", "0.05"),
    ]);
    let cfg = config(&format!(
        "[[notify.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n",
        rx.url("/hook")
    ));
    let d = Dispatcher::build(&cfg, None).unwrap();
    d.send(alert("thrashing", Severity::Critical, State::Firing, 1_000));
    let stats = d.shutdown(Duration::from_secs(20));
    assert_eq!(rx.received().len(), 5, "{stats:?} {:?}", rx.received());
    assert_eq!(rx.accepted().len(), 1);
    assert_eq!(
        (
            stats.sinks[0].sent,
            stats.sinks[0].retries,
            stats.sinks[0].failed
        ),
        (1, 4, 0)
    );
}

#[test]
fn client_errors_give_up_with_the_reason() {
    let rx = Receiver::start(false);
    rx.script([Reply::json(400, r#"{"error":"bad field x"}"#)]);
    let cfg = config(&format!(
        "[[notify.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n",
        rx.url("/hook")
    ));
    let d = Dispatcher::build(&cfg, None).unwrap();
    d.send(alert("thrashing", Severity::Critical, State::Firing, 1_000));
    d.send(alert("swap_low", Severity::Warning, State::Firing, 1_000));
    let stats = d.shutdown(Duration::from_secs(10));
    let s = &stats.sinks[0];
    assert_eq!((s.sent, s.failed, s.retries), (1, 1, 0));
    assert!(
        s.last_error
            .as_deref()
            .unwrap_or("")
            .contains("bad field x"),
        "{s:?}"
    );
}

#[test]
fn routes_send_each_severity_to_its_sinks() {
    let (a, b) = (Receiver::start(false), Receiver::start(false));
    let cfg = config(&format!(
        "[[notify.sinks]]\nname = \"a\"\nkind = \"webhook\"\nurl = \"{}\"\n[[notify.sinks]]\nname = \"b\"\nkind = \"webhook\"\nurl = \"{}\"\n[notify.routes]\nwarning = [\"a\"]\ncritical = [\"a\", \"b\"]\n",
        a.url("/"),
        b.url("/")
    ));
    let d = Dispatcher::build(&cfg, None).unwrap();
    d.send(alert("swap_low", Severity::Warning, State::Firing, 1));
    d.send(alert("thrashing", Severity::Critical, State::Firing, 2));
    d.shutdown(Duration::from_secs(10));
    let rules = |r: &Receiver| {
        r.accepted()
            .iter()
            .map(|x| x.json()["alert"]["rule"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(rules(&a), vec!["swap_low", "thrashing"]);
    assert_eq!(rules(&b), vec!["thrashing"]);
}

#[test]
fn reminders_repeat_while_firing() {
    let rx = Receiver::start(false);
    let cfg = config(&format!("[[notify.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\nrepeat_interval = \"100ms\"\n", rx.url("/")));
    let d = Dispatcher::build(&cfg, None).unwrap();
    d.send(alert("swap_low", Severity::Warning, State::Firing, 1));
    let got = rx.wait_for("two reminders", |r| r.len() >= 3);
    d.send(alert("swap_low", Severity::Warning, State::Resolved, 2));
    d.shutdown(Duration::from_secs(10));
    let repeats: Vec<u64> = got
        .iter()
        .map(|r| r.json()["repeat"].as_u64().unwrap())
        .collect();
    assert_eq!(&repeats[..3], &[0, 1, 2]);
    assert_eq!(rx.accepted().last().unwrap().json()["status"], "resolved");
}

#[test]
fn restart_while_the_receiver_is_down_loses_nothing_and_sends_nothing_twice() {
    let spool = tempfile::tempdir().unwrap();
    // Reserve a port, then free it: the receiver is "down" (connection refused).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let cfg = config(&format!(
        "[[notify.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{url}\"\n"
    ));

    let d = Dispatcher::build(&cfg, Some(spool.path())).unwrap();
    d.send(alert("swap_low", Severity::Warning, State::Firing, 1_000));
    d.send(alert("thrashing", Severity::Critical, State::Firing, 2_000));
    for _ in 0..200 {
        if d.stats().sinks[0].retries >= 2 {
            break; // a few refused attempts
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let stats = d.shutdown(Duration::ZERO);
    assert_eq!(stats.sinks[0].sent, 0);
    assert!(stats.sinks[0].retries > 0, "{stats:?}");

    // Restart on the same spool, still down; the detector of the restarted
    // agent fires again for the same condition (must not duplicate) and a
    // resolve arrives.
    let d = Dispatcher::build(&cfg, Some(spool.path())).unwrap();
    d.send(alert("thrashing", Severity::Critical, State::Firing, 2_500));
    d.send(alert("swap_low", Severity::Warning, State::Resolved, 3_000));
    std::thread::sleep(Duration::from_millis(200));
    drop(d);

    // The receiver comes back; a third dispatcher delivers everything.
    let rx = Receiver::start_on(&format!("127.0.0.1:{port}"), false);
    let d = Dispatcher::build(&cfg, Some(spool.path())).unwrap();
    let stats = d.shutdown(Duration::from_secs(20));
    let got: Vec<(String, String, i64)> = rx
        .accepted()
        .iter()
        .map(|r| {
            let j = r.json();
            (
                j["alert"]["rule"].as_str().unwrap().into(),
                j["status"].as_str().unwrap().into(),
                j["alert"]["at_ms"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("swap_low".into(), "firing".into(), 1_000),
            ("thrashing".into(), "firing".into(), 2_000),
            ("swap_low".into(), "resolved".into(), 3_000)
        ]
    );
    assert_eq!(stats.sinks[0].pending, 0);
    let left: Vec<_> = std::fs::read_dir(spool.path().join("hook"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "spool should be empty: {left:?}");
}

#[test]
fn stdout_sink_delivers() {
    let cfg = config("[[notify.sinks]]\nname = \"out\"\nkind = \"stdout\"\nformat = \"json\"\n");
    let d = Dispatcher::build(&cfg, None).unwrap();
    d.send(alert("swap_low", Severity::Warning, State::Firing, 1));
    let stats = d.shutdown(Duration::from_secs(5));
    assert_eq!(stats.sinks[0].sent, 1);
}

#[test]
fn a_full_queue_without_spool_drops_and_counts_instead_of_blocking() {
    let rx = Receiver::start(false);
    let text = format!("[notify]\nqueue_capacity = 1\n[[notify.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n", rx.url("/"));
    let cfg = memcanary::notify::config::notify_table(&text).unwrap();
    let d = Dispatcher::build(&cfg, None).unwrap();
    for i in 0..200 {
        d.send(alert(
            &format!("rule_{i}"),
            Severity::Warning,
            State::Firing,
            i,
        ));
    }
    let stats = d.shutdown(Duration::from_secs(20));
    assert_eq!(stats.sinks[0].sent + stats.dropped_intake, 200, "{stats:?}");
}

#[test]
fn a_full_spool_drops_the_oldest_and_counts_it() {
    let spool = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = format!("[notify]\nspool_capacity = 2\nretry_initial = \"20ms\"\nretry_max = \"100ms\"\n[[notify.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:{port}/\"\n");
    let cfg = memcanary::notify::config::notify_table(&text).unwrap();
    let d = Dispatcher::build(&cfg, Some(spool.path())).unwrap();
    for i in 0..5 {
        d.send(alert(
            &format!("rule_{i}"),
            Severity::Warning,
            State::Firing,
            i,
        ));
    }
    for _ in 0..200 {
        if d.stats().sinks[0].dropped == 3 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // The allocation-free totals agree with the full stats (read between
    // two totals: retries may still be giving up meanwhile).
    let before = d.totals();
    let s = d.stats();
    let after = d.totals();
    let from_stats = (
        s.sinks[0].sent,
        s.sinks[0].failed + s.sinks[0].dropped + s.dropped_intake,
    );
    let within = |b: u64, x: u64, a: u64| b <= x && x <= a;
    assert!(
        within(before.0, from_stats.0, after.0),
        "{before:?} {from_stats:?} {after:?}"
    );
    assert!(
        within(before.1, from_stats.1, after.1),
        "{before:?} {from_stats:?} {after:?}"
    );
    assert!(before.1 >= 3, "{before:?}");
    let stats = d.shutdown(Duration::ZERO);
    assert_eq!(stats.sinks[0].dropped, 3, "{stats:?}");
    let rx = Receiver::start_on(&format!("127.0.0.1:{port}"), false);
    let d = Dispatcher::build(&cfg, Some(spool.path())).unwrap();
    d.shutdown(Duration::from_secs(10));
    let rules: Vec<String> = rx
        .accepted()
        .iter()
        .map(|r| r.json()["alert"]["rule"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(rules, vec!["rule_3", "rule_4"]);
}

#[test]
fn a_full_queue_with_a_spool_loses_nothing() {
    let spool = tempfile::tempdir().unwrap();
    let rx = Receiver::start(false);
    let text = format!("[notify]\nqueue_capacity = 1\n[[notify.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n", rx.url("/"));
    let cfg = memcanary::notify::config::notify_table(&text).unwrap();
    let d = Dispatcher::build(&cfg, Some(spool.path())).unwrap();
    for i in 0..100 {
        d.send(alert(
            &format!("rule_{i}"),
            Severity::Warning,
            State::Firing,
            i,
        ));
    }
    rx.wait_for("all 100", |r| r.len() >= 100);
    let stats = d.shutdown(Duration::from_secs(10));
    assert_eq!(
        (stats.sinks[0].sent, stats.dropped_intake),
        (100, 0),
        "{stats:?}"
    );
    let mut rules: Vec<String> = rx
        .accepted()
        .iter()
        .map(|r| r.json()["alert"]["rule"].as_str().unwrap().to_string())
        .collect();
    rules.sort();
    rules.dedup();
    assert_eq!(rules.len(), 100);
}

#[test]
fn after_a_restart_reminders_wait_until_the_detector_confirms() {
    let spool = tempfile::tempdir().unwrap();
    let rx = Receiver::start(false);
    let cfg = config(&format!("[[notify.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\nrepeat_interval = \"100ms\"\n", rx.url("/")));
    let d = Dispatcher::build(&cfg, Some(spool.path())).unwrap();
    d.send(alert("swap_low", Severity::Warning, State::Firing, 1));
    rx.wait_for("the firing", |r| !r.is_empty());
    d.shutdown(Duration::ZERO);
    let before = rx.received().len();

    // Restarted: the old firing is not confirmed, so no reminders...
    let d = Dispatcher::build(&cfg, Some(spool.path())).unwrap();
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        rx.received().len(),
        before,
        "no reminders for an unconfirmed alert"
    );
    // ...until the detector reports it firing again (not re-notified, but reminded).
    d.send(alert("swap_low", Severity::Warning, State::Firing, 5));
    let got = rx.wait_for("a reminder", |r| r.len() > before);
    d.shutdown(Duration::ZERO);
    assert!(
        got[before..]
            .iter()
            .all(|r| r.json()["repeat"].as_u64().unwrap() > 0),
        "only reminders after the restart"
    );
}
