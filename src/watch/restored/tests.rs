//! A restarted watcher: pending timers rebuilt from the backfill, restored
//! alerts resolved only on fresh samples, reminders' values refreshed.

use crate::detect::{AlertState, Dur};
use crate::watch::fake::{calm, draining, FakeSource};
use crate::watch::fleet::HostEvent;
use crate::watch::{WatchConfig, Watcher, DATASOURCE_DOWN, REFRESH_EVERY_MS};

const T0: i64 = 1_700_000_000_000;
const DS: &str = "http://vm:8428";

fn watcher() -> Watcher {
    let cfg = WatchConfig {
        url: DS.into(),
        latency_offset: Dur::from_secs(0),
        ..WatchConfig::default()
    };
    Watcher::new(&cfg, &crate::detect::DetectorConfig::default(), DS, 7)
}

/// `w` driven every 15 s over `src` from `from` to `to`: each event with
/// the cycle time it came out at.
fn drive(w: &mut Watcher, src: &FakeSource, from: i64, to: i64) -> Vec<(i64, HostEvent)> {
    let mut got = Vec::new();
    let mut t = from;
    while t <= to {
        let mut out = Vec::new();
        w.cycle(t, |f, win, at| Ok(src.fetch(f, win, at)), &mut out);
        got.extend(out.into_iter().map(|e| (t, e)));
        t += 15_000;
    }
    got
}

fn of(got: &[(i64, HostEvent)], state: AlertState) -> Vec<(i64, &'static str, i64)> {
    got.iter()
        .filter(|(_, (_, e))| e.state == state)
        .map(|(t, (_, e))| (*t, e.rule, e.at_ms))
        .collect()
}

/// A run over `src` stopped one cycle after a rule's `for` timer
/// started, and a new run a cycle later, fire as one run without the
/// restart would have: the rule at the same sample and cycle, and every
/// later firing. `make` builds each run's watcher.
fn restarted_mid_pending_fires_as_without(src: &FakeSource, end: i64, make: impl Fn() -> Watcher) {
    let whole = drive(&mut make(), src, T0, end);
    let pending = of(&whole, AlertState::Pending);
    let firing = of(&whole, AlertState::Firing);
    // A rule that waits its `for`: pending at one cycle, firing a later one.
    let (rule, pend_t) = pending
        .iter()
        .find_map(|(t, r, _)| {
            firing
                .iter()
                .any(|(ft, fr, _)| fr == r && ft > &(t + 15_000))
                .then_some((*r, *t))
        })
        .expect("a rule goes pending before it fires");
    let want: Vec<_> = firing.iter().filter(|f| f.0 > pend_t).cloned().collect();
    let mut first = make();
    drive(&mut first, src, T0, pend_t + 15_000);
    let mut second = make();
    let again = drive(&mut second, src, pend_t + 30_000, end);
    let got: Vec<_> = of(&again, AlertState::Firing);
    let of_rule = |v: &[(i64, &'static str, i64)]| v.iter().find(|f| f.1 == rule).cloned();
    assert_eq!(
        of_rule(&got),
        of_rule(&want),
        "{rule}: the same sample, the same cycle"
    );
    assert_eq!(got, want, "every later firing as without the restart");
}

#[test]
fn a_watcher_restarted_mid_pending_fires_when_it_would_have() {
    let mut src = FakeSource::default();
    src.hosts.insert("h".into(), draining(T0, 60));
    restarted_mid_pending_fires_as_without(&src, T0 + 59 * 15_000, watcher);
}

#[test]
fn a_for_longer_than_the_backfill_keeps_its_timer_across_a_restart() {
    // Only the forecast, waiting 4 min, with 1 min of backfill: the
    // restarted run must still read back to where the timer started.
    let cfg = WatchConfig {
        url: DS.into(),
        latency_offset: Dur::from_secs(0),
        backfill: Dur::from_secs(60),
        ..WatchConfig::default()
    };
    let mut det = crate::detect::DetectorConfig::default();
    det.headroom_forecast.for_ = Dur::from_secs(240);
    for off in [
        &mut det.swap_low.enabled,
        &mut det.psi_rising.enabled,
        &mut det.mem_available_collapse.enabled,
        &mut det.exhaustion_imminent.enabled,
    ] {
        *off = false;
    }
    let mut src = FakeSource::default();
    src.hosts.insert("h".into(), draining(T0, 60));
    let make = || Watcher::new(&cfg, &det, DS, 7);
    restarted_mid_pending_fires_as_without(&src, T0 + 59 * 15_000, make);
}

#[test]
fn a_restored_alert_that_cleared_resolves_on_a_fresh_sample_only() {
    // The incident is older than the backfill: the history shows a calm host.
    let mut src = FakeSource::default();
    src.hosts.insert("h".into(), calm(T0, 15_000, 400));
    src.hosts.insert("gone".into(), calm(T0, 15_000, 240));
    let mut w = watcher();
    w.restore(&[
        ("h".into(), "headroom_forecast".into()),
        ("gone".into(), "headroom_forecast".into()),
        ("h".into(), "no_such_rule".into()),
    ]);
    let now = T0 + 300 * 15_000;
    let first = drive(&mut w, &src, now, now);
    assert!(
        of(&first, AlertState::Resolved).is_empty(),
        "history is not fresh: {first:?}"
    );
    let next = drive(&mut w, &src, now + 15_000, now + 600_000);
    let resolved: Vec<_> = next
        .iter()
        .filter(|(_, (_, e))| e.state == AlertState::Resolved)
        .collect();
    assert_eq!(resolved.len(), 1, "{next:?}");
    let (t, (host, e)) = resolved[0];
    assert_eq!(
        (host.as_str(), e.rule, *t),
        ("h", "headroom_forecast", now + 15_000)
    );
    assert!(
        e.evidence.mem_available_bytes > 0,
        "with the current values"
    );
}

#[test]
fn a_restored_alert_that_still_holds_is_not_resolved() {
    let mut src = FakeSource::default();
    src.hosts.insert("h".into(), draining(T0, 60));
    let end = T0 + 59 * 15_000;
    let whole = drive(&mut watcher(), &src, T0, end);
    let (_, rule, _) = *of(&whole, AlertState::Firing)
        .last()
        .expect("the trace fires");
    let mut w = watcher();
    w.restore(&[("h".into(), rule.into())]);
    let got = drive(&mut w, &src, end - 120_000, end);
    assert!(of(&got, AlertState::Resolved).is_empty(), "{got:?}");
    assert!(of(&got, AlertState::Firing).iter().any(|f| f.1 == rule));
}

#[test]
fn a_restored_datasource_down_resolves_on_the_first_answer() {
    let src = FakeSource::default();
    let mut w = watcher();
    w.restore(&[(DS.into(), DATASOURCE_DOWN.into())]);
    let got = drive(&mut w, &src, T0, T0 + 30_000);
    assert_eq!(
        of(&got, AlertState::Resolved),
        vec![(T0, DATASOURCE_DOWN, T0)]
    );
}

#[test]
fn reminders_get_the_current_values_every_refresh_period() {
    let mut src = FakeSource::default();
    src.hosts.insert("h".into(), draining(T0, 60));
    src.hosts.insert("calm".into(), calm(T0, 15_000, 60));
    let mut w = watcher();
    let end = T0 + 59 * 15_000;
    let mut refreshed = Vec::new();
    let mut t = T0;
    while t <= end {
        w.cycle(t, |f, win, at| Ok(src.fetch(f, win, at)), &mut Vec::new());
        let mut out = Vec::new();
        w.refresh(t, &mut out);
        refreshed.extend(out.into_iter().map(|e| (t, e)));
        t += 15_000;
    }
    assert!(!refreshed.is_empty(), "the trace fires");
    assert!(refreshed
        .iter()
        .all(|(_, (h, e))| h == "h" && e.state == AlertState::Firing));
    let times: Vec<i64> = refreshed.iter().map(|(t, _)| *t).collect();
    assert!(
        times
            .windows(2)
            .all(|p| p[1] == p[0] || p[1] - p[0] >= REFRESH_EVERY_MS),
        "{times:?}"
    );
    let first = &refreshed[0].1 .1;
    let last = &refreshed[refreshed.len() - 1].1 .1;
    assert!(
        last.evidence.mem_available_bytes < first.evidence.mem_available_bytes,
        "current values, not the first firing's"
    );
}
