use super::*;
use crate::detect::history::DAY_MS;
use crate::detect::{AlertState, DetectorConfig, Dur};
use crate::signal::Sample;
use crate::watch::config::WatchConfig;
use crate::watch::fake::{calm, FakeSource};
use crate::watch::floor::RETRY_MS;
use crate::watch::Outcome;

/// Noon of day 20,003 (UTC).
const T0: i64 = 20_003 * DAY_MS + DAY_MS / 2;
const MIB: u64 = 1 << 20;

fn cfg(history: bool) -> WatchConfig {
    WatchConfig {
        url: "http://vm:8428".into(),
        latency_offset: Dur::from_secs(0),
        history,
        ..WatchConfig::default()
    }
}

fn watcher(history: bool) -> Watcher {
    Watcher::new(
        &cfg(history),
        &DetectorConfig::default(),
        "http://vm:8428",
        7,
    )
}

/// A 1000 MiB host at 900 MiB for `calm_n` samples, then draining 3 MiB/s
/// to 18 %, one sample every 15 s from `start`.
fn leaving_its_floor(start: i64, calm_n: i64) -> Vec<Sample> {
    (0..calm_n + 40)
        .map(|i| Sample {
            at_ms: start + i * 15_000,
            mem_total_bytes: 1000 * MIB,
            mem_available_bytes: (900 - 45 * (i - calm_n).clamp(0, 16) as u64) * MIB,
            psi_some_total_us: Some(0),
            ..Sample::default()
        })
        .collect()
}

/// Four idle days at 88 % for every host asked.
fn idle_days(plan: &HistoryPlan) -> DaysAnswer {
    let days = (1..=4)
        .map(|k| DayMin {
            day: plan.through() + 1 - k,
            min_headroom_ratio: 0.88,
        })
        .collect::<Vec<_>>();
    Ok(plan
        .hosts
        .iter()
        .map(|h| (h.clone(), days.clone()))
        .collect())
}

/// The headroom at which the forecast fired, driving cycles every 15 s
/// and asking the history after each.
fn fired_at(
    w: &mut Watcher,
    src: &FakeSource,
    mut history: impl FnMut(&HistoryPlan) -> DaysAnswer,
) -> Option<f64> {
    let mut t = T0;
    while t <= T0 + 60 * 15_000 {
        let mut out = Vec::new();
        let outcome = w.cycle(t, |f, win, at| Ok(src.fetch(f, win, at)), &mut out);
        assert!(matches!(outcome, Outcome::Ok { .. }), "{outcome:?}");
        if let Some((_, e)) = out
            .iter()
            .find(|(_, e)| e.rule == "headroom_forecast" && e.state == AlertState::Firing)
        {
            return Some(e.evidence.headroom_ratio);
        }
        w.history_with(t, &mut history);
        t += 15_000;
    }
    None
}

#[test]
fn a_new_hosts_recent_days_move_its_gate_to_its_own_floor() {
    let mut src = FakeSource::default();
    src.hosts
        .insert("a".into(), leaving_its_floor(T0 - 600_000, 50));
    let with = fired_at(&mut watcher(true), &src, idle_days).unwrap_or_default();
    let without = fired_at(&mut watcher(false), &src, |_| panic!("history is off"));
    assert!(with > 0.45 && with <= 0.83, "with its days: {with}");
    assert!(without.is_some_and(|h| h <= 0.45), "without: {without:?}");
}

#[test]
fn the_plan_asks_for_the_full_days_before_today_for_every_new_host_once() {
    let mut src = FakeSource::default();
    src.hosts.insert("a".into(), calm(T0 - 600_000, 15_000, 41));
    let mut w = watcher(true);
    assert_eq!(w.history_plan(T0), None, "no host yet");
    w.cycle(T0, |f, win, at| Ok(src.fetch(f, win, at)), &mut Vec::new());
    let plan = w.history_plan(T0);
    let want = HistoryPlan {
        hosts: vec!["a".into()],
        at_ms: 20_003 * DAY_MS,
        days: 14,
    };
    assert_eq!(plan.as_ref(), Some(&want));
    src.hosts.insert("b".into(), calm(T0, 15_000, 2));
    w.cycle(
        T0 + 15_000,
        |f, win, at| Ok(src.fetch(f, win, at)),
        &mut Vec::new(),
    );
    assert_eq!(
        w.history_plan(T0 + 15_000),
        None,
        "one request out at a time"
    );
    let outcome = w.finish_history(T0 + 15_000, &want, idle_days(&want));
    let seeded = HistoryOutcome::Seeded {
        hosts: 1,
        with_floor: 1,
    };
    assert_eq!(outcome, seeded);
    let gate = w.fleet().hosts()["a"].detector().forecast_gate();
    assert!(
        (gate - 0.83).abs() < 1e-9,
        "floor 0.88 - margin 0.05: {gate}"
    );
    let next = w.history_plan(T0 + 15_000).map(|p| p.hosts);
    assert_eq!(next, Some(vec!["b".to_string()]), "only the host new since");
}

#[test]
fn a_failed_history_keeps_the_default_gate_and_is_asked_again_later() {
    let mut src = FakeSource::default();
    src.hosts.insert("a".into(), calm(T0 - 600_000, 15_000, 80));
    let mut w = watcher(true);
    let down = || Err(QueryError::Unreachable("timed out (Global)".into()));
    let mut outcomes = Vec::new();
    let mut t = T0;
    while t < T0 + RETRY_MS + 30_000 {
        let outcome = w.cycle(t, |f, win, at| Ok(src.fetch(f, win, at)), &mut Vec::new());
        assert!(
            matches!(outcome, Outcome::Ok { .. }),
            "the cycle runs: {outcome:?}"
        );
        if let Some(o) = w.history_with(t, |_| down()) {
            outcomes.push((t, o));
        }
        t += 15_000;
    }
    let firsts: Vec<_> = outcomes
        .iter()
        .map(|(t, o)| (*t, matches!(o, HistoryOutcome::Failed { first: true, .. })))
        .collect();
    assert_eq!(firsts, [(T0, true), (T0 + RETRY_MS, false)], "{outcomes:?}");
    let gate = w.fleet().hosts()["a"].detector().forecast_gate();
    assert_eq!(gate, 0.45, "the default gate");
    let o = w.history_with(T0 + 2 * RETRY_MS, idle_days);
    assert!(
        matches!(o, Some(HistoryOutcome::Seeded { with_floor: 1, .. })),
        "{o:?}"
    );
}

#[test]
fn nothing_is_asked_with_the_detectors_history_off() {
    let mut src = FakeSource::default();
    src.hosts.insert("a".into(), calm(T0 - 600_000, 15_000, 41));
    let mut det = DetectorConfig::default();
    det.history.enabled = false;
    let mut w = Watcher::new(&cfg(true), &det, "ds", 1);
    w.cycle(T0, |f, win, at| Ok(src.fetch(f, win, at)), &mut Vec::new());
    assert_eq!(w.history_plan(T0), None);
}
