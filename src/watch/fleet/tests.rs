use super::*;
use crate::detect::WENT_DARK;
use crate::watch::fake::{calm, draining, FakeSource};

const T0: i64 = 1_700_000_000_000;

fn times() -> FleetTimes {
    FleetTimes {
        silent_after_ms: 300_000,
        forget_after_ms: 3_600_000,
    }
}

fn batch(src: &FakeSource, window_ms: i64, at_ms: i64) -> Batch {
    let mut b = Batch::default();
    for f in Field::ALL {
        b.set(f, src.fetch(f, window_ms, at_ms));
    }
    b
}

/// The fleet driven every 15 s from `from` to `to` over `src`, the first
/// cycle reading `backfill_ms`.
fn drive(
    fleet: &mut Fleet,
    src: &FakeSource,
    from: i64,
    to: i64,
    backfill_ms: i64,
) -> Vec<HostEvent> {
    let mut out = Vec::new();
    let mut window = backfill_ms;
    let mut t = from;
    while t <= to {
        fleet.apply(&batch(src, window, t), t, &mut out);
        window = 30_000;
        t += 15_000;
    }
    out
}

fn firing(out: &[HostEvent], host: &str, rule: &str) -> Option<i64> {
    out.iter()
        .find(|(h, e)| h == host && e.rule == rule && e.state == AlertState::Firing)
        .map(|(_, e)| e.at_ms)
}

#[test]
fn samples_join_fields_by_time_and_need_the_required_ones() {
    let mut src = FakeSource::default();
    let mut s = calm(T0, 15_000, 3);
    s[1].psi_some_total_us = None;
    src.hosts.insert("a".into(), s);
    let mut b = batch(&src, 60_000, T0 + 30_000);
    let got = b.samples("a");
    assert_eq!(got.len(), 3);
    assert_eq!(got[1].psi_some_total_us, None);
    assert_eq!(got[2].psi_some_total_us, Some(0));
    // A time without SwapFree is no sample.
    let mut free = src.fetch(Field::SwapFree, 60_000, T0 + 30_000);
    free.get_mut("a").unwrap().remove(0);
    b.set(Field::SwapFree, free);
    assert_eq!(
        b.samples("a").iter().map(|s| s.at_ms).collect::<Vec<_>>(),
        vec![T0 + 15_000, T0 + 30_000]
    );
}

#[test]
fn the_fleet_fires_what_one_detector_fed_the_same_samples_fires() {
    let samples = draining(T0, 60);
    let mut alone = Detector::new(&DetectorConfig::default());
    let mut want = Vec::new();
    for s in &samples {
        alone.feed(s, &mut want).unwrap();
    }
    let want: Vec<_> = want
        .into_iter()
        .filter(|e| e.state != AlertState::Pending)
        .collect();
    assert!(!want.is_empty(), "the trace fires");
    let mut src = FakeSource::default();
    src.hosts.insert("h".into(), samples.clone());
    let mut fleet = Fleet::new(&DetectorConfig::default(), times());
    let end = samples.last().unwrap().at_ms;
    let got = drive(&mut fleet, &src, T0, end, 15_000);
    let got: Vec<_> = got
        .into_iter()
        .map(|(_, e)| e)
        .filter(|e| e.state != AlertState::Pending)
        .collect();
    assert_eq!(got, want);
}

#[test]
fn a_host_first_seen_while_firing_is_reported_once_and_history_is_not_replayed() {
    let samples = draining(T0, 60);
    let mut src = FakeSource::default();
    src.hosts.insert("h".into(), samples.clone());
    let mut fleet = Fleet::new(&DetectorConfig::default(), times());
    let end = samples.last().unwrap().at_ms;
    let mut out = Vec::new();
    fleet.apply(&batch(&src, 3_600_000, end), end, &mut out);
    assert!(!out.is_empty());
    assert!(
        out.iter()
            .all(|(h, e)| h == "h" && e.state == AlertState::Firing),
        "{out:?}"
    );
    let mut rules: Vec<_> = out.iter().map(|(_, e)| e.rule).collect();
    rules.dedup();
    assert_eq!(rules.len(), out.len(), "each rule once");
    let mut again = Vec::new();
    fleet.apply(&batch(&src, 30_000, end), end, &mut again);
    assert!(again.is_empty(), "{again:?}");
}

#[test]
fn a_host_under_pressure_that_goes_silent_goes_dark_and_never_resolves_without_samples() {
    let samples = draining(T0, 40);
    let last = samples.last().unwrap().at_ms;
    let mut src = FakeSource::default();
    src.hosts.insert("h".into(), samples);
    let mut fleet = Fleet::new(&DetectorConfig::default(), times());
    let out = drive(&mut fleet, &src, T0, last + 600_000, 15_000);
    let dark = firing(&out, "h", WENT_DARK).expect("went dark");
    assert!(dark > last && dark <= last + 60_000, "{}", dark - last);
    assert!(
        out.iter().all(|(_, e)| e.state != AlertState::Resolved),
        "{out:?}"
    );
    assert_eq!(
        firing(&out, "h", HOST_SILENT),
        None,
        "dark, not merely silent"
    );
}

#[test]
fn a_calm_host_that_goes_silent_raises_host_silent_and_resolves_on_its_next_sample() {
    let mut src = FakeSource::default();
    src.hosts.insert("calm".into(), calm(T0, 15_000, 20));
    let mut fleet = Fleet::new(&DetectorConfig::default(), times());
    let last = T0 + 19 * 15_000;
    let out = drive(&mut fleet, &src, T0, last + 400_000, 15_000);
    let at = firing(&out, "calm", HOST_SILENT).expect("silent");
    assert!(at - last >= 300_000 && at - last < 315_000, "{}", at - last);
    assert_eq!(firing(&out, "calm", WENT_DARK), None);
    // It comes back.
    let back = calm(last + 420_000, 15_000, 2);
    src.hosts.get_mut("calm").unwrap().extend(back);
    let mut out = Vec::new();
    fleet.apply(
        &batch(&src, 30_000, last + 435_000),
        last + 435_000,
        &mut out,
    );
    assert!(
        out.iter()
            .any(|(_, e)| e.rule == HOST_SILENT && e.state == AlertState::Resolved),
        "{out:?}"
    );
}

#[test]
fn a_tick_without_an_answer_never_raises_host_silent_and_a_long_silence_is_forgotten() {
    let mut src = FakeSource::default();
    src.hosts.insert("calm".into(), calm(T0, 15_000, 4));
    let mut fleet = Fleet::new(&DetectorConfig::default(), times());
    let mut out = Vec::new();
    fleet.apply(&batch(&src, 60_000, T0 + 45_000), T0 + 45_000, &mut out);
    fleet.tick(T0 + 1_000_000, &mut out);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(fleet.hosts().len(), 1);
    fleet.tick(T0 + 45_000 + 3_600_000, &mut out);
    assert!(fleet.hosts().is_empty());
}

#[test]
fn hosts_appear_beside_others_and_each_keeps_its_own_state() {
    let mut src = FakeSource::default();
    src.hosts.insert("a".into(), calm(T0, 15_000, 60));
    let mut fleet = Fleet::new(&DetectorConfig::default(), times());
    let mut out = drive(&mut fleet, &src, T0, T0 + 300_000, 15_000);
    src.hosts.insert("b".into(), draining(T0 + 300_000, 40));
    out.extend(drive(&mut fleet, &src, T0 + 315_000, T0 + 885_000, 15_000));
    assert_eq!(fleet.hosts().len(), 2);
    assert!(out.iter().all(|(h, _)| h == "b"), "{out:?}");
    assert!(!out.is_empty());
}

/// Regression: a watcher restarted after an incident cleared while it was
/// down warmed the host silently, so the resolve never went out (the
/// dispatcher sends a resolve only for a firing it notified).
#[test]
fn a_host_first_seen_after_its_alerts_cleared_reports_the_resolves() {
    let mut samples = draining(T0, 45);
    samples.extend(calm(T0 + 45 * 15_000, 15_000, 40));
    let end = samples.last().unwrap().at_ms;
    let mut src = FakeSource::default();
    src.hosts.insert("h".into(), samples);
    let mut fleet = Fleet::new(&DetectorConfig::default(), times());
    let mut out = Vec::new();
    fleet.apply(&batch(&src, 3_600_000, end), end, &mut out);
    assert!(!out.is_empty(), "the resolves are reported");
    assert!(
        out.iter().all(|(_, e)| e.state == AlertState::Resolved),
        "{out:?}"
    );
}
