//! The dedupe state on disk under a fleet's refresh: a watcher hands the
//! router every firing rule's current values at once (every 30 s); the
//! state is written once for the whole burst, not once per rule (with
//! 300 firing rules that was 300 rewrites of a 300-entry file every 30 s),
//! and a shutdown right after the burst still writes it.

#![allow(clippy::disallowed_methods)] // the router's own timing, on the real clock

use super::delivery::{alert, config};
use super::receiver::Receiver;
use memcanary::detect::Severity;
use memcanary::notify::{Alert, Dispatcher, State};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

const RULES: u64 = 300;

fn firing(i: u64, available: u64) -> Alert {
    let mut a = alert(
        &format!("rule_{i}"),
        Severity::Warning,
        State::Firing,
        1_000,
    );
    a.instance = format!("host-{i}");
    a.values.mem_available_bytes = available;
    a
}

fn mtime(p: &Path) -> SystemTime {
    std::fs::metadata(p).unwrap().modified().unwrap()
}

/// How many of the saved entries show `available`.
fn saved_with(p: &Path, available: u64) -> usize {
    let text = std::fs::read_to_string(p).unwrap();
    let state: serde_json::Value = serde_json::from_str(&text).unwrap();
    state
        .as_object()
        .unwrap()
        .values()
        .filter(|e| e["alert"]["values"]["mem_available_bytes"] == available)
        .count()
}

#[test]
fn a_burst_of_confirmed_values_is_written_once() {
    let spool = tempfile::tempdir().unwrap();
    let state = spool.path().join("state.json");
    let rx = Receiver::start(false);
    let cfg = config(&format!(
        "[[notify.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n",
        rx.url("/")
    ));
    let d = Dispatcher::build(&cfg, Some(spool.path())).unwrap();
    for i in 0..RULES {
        d.send(firing(i, 1));
    }
    rx.wait_for("every firing", |r| r.len() as u64 >= RULES);
    let settled = Instant::now() + Duration::from_secs(10);
    while saved_with(&state, 1) < RULES as usize && Instant::now() < settled {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let before = mtime(&state);

    // The refresh: every firing rule again, with current values.
    for i in 0..RULES {
        d.send(firing(i, 2));
    }
    let mut writes = Vec::new();
    let end = Instant::now() + Duration::from_secs(6);
    let mut last = before;
    while Instant::now() < end {
        let m = mtime(&state);
        if m != last {
            writes.push(Instant::now());
            last = m;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        writes.len(),
        1,
        "one write for {RULES} confirmed values, seen {}",
        writes.len()
    );
    assert_eq!(saved_with(&state, 2), RULES as usize, "all of them saved");
    assert_eq!(rx.received().len() as u64, RULES, "nothing notified again");

    // A shutdown right after a burst writes what is not yet on disk.
    for i in 0..RULES {
        d.send(firing(i, 3));
    }
    d.shutdown(Duration::from_secs(5));
    assert_eq!(saved_with(&state, 3), RULES as usize, "saved at shutdown");
}
