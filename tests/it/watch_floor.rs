//! `memcanary watch` learns each host's floor from its recent days in a
//! real VictoriaMetrics (`MEMCANARY_TEST_VM_URL`, started by
//! `scripts/test.d/50-watch.sh`).
//!
//! The composed trace `t1g-idle-swarm` (four idle nights at 86 % headroom,
//! then the 1 GiB swarm, each on its own UTC day) is imported shifted by
//! whole days so that its incident night is the latest past one. `replay`
//! feeds all five nights, so its detector learns the floor itself and
//! warns early (docs/eval.md: lead 0.55 instead of 0.10). The watcher,
//! driven cycle by cycle on a virtual clock over the incident night with
//! its normal 1 h backfill, must warn at the same sample once it has read
//! the host's days from the datasource, and later with `history = false`.

use crate::common::fixture;
use crate::watch::{import, rewrite};
use memcanary::detect::history::DAY_MS;
use memcanary::detect::{AlertState, Detector, DetectorConfig, Dur, Event};
use memcanary::watch::{Datasource, Outcome, WatchConfig, Watcher};
use std::path::Path;

const TRACE: &str = "corpus/composed/t1g-idle-swarm.jsonl";

/// The first warning or critical of `events` at or after `from_ms`.
fn first_alert(events: &[Event], from_ms: i64) -> Option<(&'static str, i64)> {
    events
        .iter()
        .find(|e| e.state == AlertState::Firing && e.at_ms >= from_ms)
        .map(|e| (e.rule, e.at_ms))
}

/// Every event `replay` gives on the export at `path`, and the first
/// sample of its last UTC day (the incident night's).
fn replayed(path: &Path) -> (Vec<Event>, i64) {
    let hosts = memcanary::source::recorded::load(path).unwrap();
    let h = &hosts[0];
    let mut d = Detector::new(&DetectorConfig::default());
    let mut out = Vec::new();
    for s in &h.samples {
        d.feed(s, &mut out).unwrap();
    }
    let last_day = h.samples.last().unwrap().at_ms.div_euclid(DAY_MS);
    let night = h
        .samples
        .iter()
        .find(|s| s.at_ms.div_euclid(DAY_MS) == last_day)
        .unwrap()
        .at_ms;
    (out, night)
}

/// The watcher over the incident night from its first sample to `end_ms`,
/// every 15 s, asking the history after each cycle as the live loop does
/// (here at once): every event with the cycle time it came out at.
fn watched(cfg: &WatchConfig, from_ms: i64, end_ms: i64) -> Vec<(i64, Event)> {
    let ds = Datasource::build(cfg).unwrap();
    let mut w = Watcher::new(cfg, &DetectorConfig::default(), ds.name(), 1);
    let mut got = Vec::new();
    let mut t = from_ms;
    while t <= end_ms {
        let mut out = Vec::new();
        let outcome = w.cycle(t, |f, win, at| ds.fetch(f, win, at), &mut out);
        assert!(matches!(outcome, Outcome::Ok { .. }), "{outcome:?}");
        got.extend(out.into_iter().map(|(_, e)| (t, e)));
        if let Some(o) = w.history_with(t, |plan| ds.fetch_days(plan)) {
            eprintln!("history at {t}: {o:?}");
        }
        t += 15_000;
    }
    got
}

#[test]
fn watch_reads_a_hosts_recent_days_and_warns_as_replay_with_history_does() {
    let name = "watch_reads_a_hosts_recent_days_and_warns_as_replay_with_history_does";
    let Some(vm) = crate::watch::vm_url(name) else {
        return;
    };
    let src = std::fs::read_to_string(fixture(TRACE)).unwrap();
    let recorded = memcanary::source::recorded::load(&fixture(TRACE)).unwrap();
    let last = recorded[0].samples.last().unwrap().at_ms;
    // Whole days, so each night stays on its own UTC day.
    let now = memcanary::clock::wall_ms();
    let shift = (now - 600_000 - last).div_euclid(DAY_MS) * DAY_MS;
    let job = format!("watch-floor-{}-{now}", std::process::id());
    import(&vm, &rewrite(&src, &job, shift, false));
    let dir = tempfile::tempdir().unwrap();
    let shifted = dir.path().join("shifted.jsonl");
    std::fs::write(&shifted, rewrite(&src, &job, shift, true)).unwrap();

    let (events, night) = replayed(&shifted);
    let want = first_alert(&events, night).expect("replay warns on the incident night");
    assert_eq!(want.0, "headroom_forecast", "{events:?}");

    let cfg = WatchConfig {
        url: vm.clone(),
        selector: format!("{{job=\"{job}\"}}"),
        latency_offset: Dur::from_secs(0),
        ..WatchConfig::default()
    };
    assert_eq!(cfg.backfill, Dur::from_secs(3600), "the normal backfill");
    let end = last + shift + 180_000;
    let with = watched(&cfg, night, end);
    let cycle = with
        .iter()
        .find(|(_, e)| e.state == AlertState::Firing)
        .map(|(t, _)| *t);
    let with: Vec<Event> = with.into_iter().map(|(_, e)| e).collect();
    let got = first_alert(&with, night);
    assert_eq!(got, Some(want), "watch with history warns as replay does");
    assert!(
        cycle.is_some_and(|c| c >= want.1 && c - want.1 < 15_000),
        "within one cycle: {cycle:?}"
    );

    let off = WatchConfig {
        history: false,
        ..cfg
    };
    let without: Vec<Event> = watched(&off, night, end)
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    let late = first_alert(&without, night).expect("warned without history too");
    assert!(
        late.1 > want.1,
        "without history the warning comes later: {late:?} vs {want:?}"
    );
    eprintln!(
        "{name}: with history {} at {} ms, without {} {} s later",
        want.0,
        want.1,
        late.0,
        (late.1 - want.1) / 1000
    );
}
