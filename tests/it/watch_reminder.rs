//! Issue 15: a watcher's reminder shows the host's current values, not the
//! first firing's. The real `memcanary watch` over a real VictoriaMetrics
//! reads a recorded incident as it unfolds in real time; while
//! `headroom_forecast` keeps firing, the watcher hands the firing rules'
//! current values to the router every 30 s, and the reminder a minute
//! after the firing renders those.

#![allow(clippy::disallowed_methods)] // a test of a real process waits on the real clock

use crate::common::fixture;
use crate::watch::{import, receiver, rewrite, spawn_watch_sink, wait_for, TRACE};
use memcanary::detect::{AlertState, Detector, DetectorConfig};

/// The trace's first `headroom_forecast` firing, ms.
fn first_forecast_firing() -> i64 {
    let hosts = memcanary::source::recorded::load(&fixture(TRACE)).unwrap();
    let mut d = Detector::new(&DetectorConfig::default());
    let mut out = Vec::new();
    for s in &hosts[0].samples {
        d.feed(s, &mut out).unwrap();
    }
    out.iter()
        .find(|e| e.rule == "headroom_forecast" && e.state == AlertState::Firing)
        .expect("the trace fires headroom_forecast")
        .at_ms
}

#[test]
fn a_watch_reminder_shows_the_current_values() {
    let test = "a_watch_reminder_shows_the_current_values";
    let Some(vm) = crate::watch::vm_url(test) else {
        return;
    };
    let src = std::fs::read_to_string(fixture(TRACE)).unwrap();
    // The forecast fires 5 s from now; the headroom keeps falling for 3 min.
    let shift = memcanary::clock::wall_ms() + 5_000 - first_forecast_firing();
    let job = format!("watch-it-reminder-{}-{}", std::process::id(), shift);
    import(&vm, &rewrite(&src, &job, shift, false));
    let dir = tempfile::tempdir().unwrap();
    let (hook, got) = receiver();
    let _watch = spawn_watch_sink(
        dir.path(),
        &vm,
        &job,
        &hook,
        "",
        "repeat_interval = \"1m\"\n",
    );
    let forecast = |repeat: u64| {
        move |v: &serde_json::Value| {
            v["alert"]["rule"] == "headroom_forecast"
                && v["status"] == "firing"
                && v["repeat"] == repeat
        }
    };
    let firing = wait_for(&got, 30, forecast(0)).expect("headroom_forecast fires");
    let reminder = wait_for(&got, 90, forecast(1)).expect("a reminder a minute later");
    let headroom = |v: &serde_json::Value| v["alert"]["values"]["headroom_bytes"].as_f64().unwrap();
    let (then, now) = (headroom(&firing), headroom(&reminder));
    eprintln!("headroom at the firing {then}, in the reminder {now}");
    assert!(
        now < then * 0.9,
        "the reminder shows the current headroom ({now}), not the firing's ({then})"
    );
    assert_eq!(
        reminder["alert"]["at_ms"], firing["alert"]["at_ms"],
        "the same alert: its state change time is kept"
    );
}
