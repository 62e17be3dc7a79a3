//! Detector behaviour on synthetic series.

use super::*;
use proptest::prelude::*;

const MIB: u64 = 1 << 20;

/// A host with 1000 MiB RAM and 100 MiB swap; `avail(t)` and `swap_free(t)`
/// in MiB, PSI "some" accumulating at `psi(t)` stalled seconds per second.
fn series(
    n: i64,
    step_s: i64,
    avail: impl Fn(i64) -> f64,
    psi: impl Fn(i64) -> f64,
) -> Vec<Sample> {
    let mut psi_total = 0.0;
    (0..n)
        .map(|i| {
            let t = i * step_s;
            psi_total += psi(t) * step_s as f64;
            let a = avail(t).max(0.0);
            Sample {
                at_ms: 1_700_000_000_000 + t * 1000,
                mem_total_bytes: 1000 * MIB,
                mem_available_bytes: (a.min(1000.0) * MIB as f64) as u64,
                swap_total_bytes: 100 * MIB,
                swap_free_bytes: (((a - 0.0).min(0.0) + 100.0).max(0.0) * MIB as f64) as u64,
                psi_some_total_us: Some((psi_total * 1e6) as u64),
                psi_full_total_us: Some((psi_total * 0.5e6) as u64),
                pgmajfault: Some(0),
                pswpin: Some(0),
                pswpout: Some(0),
                oom_kill: Some(0),
            }
        })
        .collect()
}

fn run(samples: &[Sample]) -> Vec<Event> {
    let mut d = Detector::new(&DetectorConfig::default());
    let mut out = Vec::new();
    for s in samples {
        d.feed(s, &mut out).expect("valid sample");
    }
    out
}

fn first(events: &[Event], rule: &str, state: AlertState) -> Option<i64> {
    events
        .iter()
        .find(|e| e.rule == rule && e.state == state)
        .map(|e| (e.at_ms - 1_700_000_000_000) / 1000)
}

#[test]
fn a_host_sitting_high_but_stable_stays_quiet() {
    // 95 % used, flat, with noise: no rule may fire.
    let s = series(2000, 15, |t| 50.0 + ((t * 7919) % 13) as f64 / 4.0, |_| 0.0);
    let events = run(&s);
    assert!(
        events.iter().all(|e| e.state != AlertState::Firing),
        "{events:?}"
    );
}

#[test]
fn a_sustained_drain_warns_with_an_eta_long_before_exhaustion() {
    // Falls 1 MiB/s from 900 MiB after t=300: exhausted at t=1300 (+100 swap).
    let s = series(
        120,
        15,
        |t| {
            if t < 300 {
                900.0
            } else {
                900.0 - (t - 300) as f64
            }
        },
        |_| 0.0,
    );
    let events = run(&s);
    // Headroom reaches `max_headroom_ratio` (0.45 of 1100 MiB) at t=805;
    // the warning follows `for` later, still minutes before exhaustion.
    let at = first(&events, "headroom_forecast", AlertState::Firing).expect("forecast fires");
    assert!(at < 900, "fired at {at}");
    let e = events
        .iter()
        .find(|e| e.rule == "headroom_forecast")
        .expect("event");
    assert!(e.evidence.eta_seconds.is_some());
    assert!(e.evidence.signals.contains(Signal::Forecast));
}

#[test]
fn a_short_ramp_that_settles_does_not_fire_the_forecast() {
    // 600 MiB in 100 s, then flat at 300 MiB.
    let s = series(
        80,
        15,
        |t| {
            if t < 300 {
                900.0
            } else {
                (900.0 - 6.0 * (t - 300) as f64).max(300.0)
            }
        },
        |_| 0.0,
    );
    let events = run(&s);
    assert_eq!(
        first(&events, "headroom_forecast", AlertState::Firing),
        None,
        "{events:?}"
    );
}

#[test]
fn silence_under_pressure_is_its_own_critical_event_not_a_resolve() {
    let mut s = series(
        60,
        15,
        |t| 900.0 - t as f64,
        |t| if t > 600 { 0.5 } else { 0.0 },
    );
    let before = run(&s);
    assert!(first(&before, "headroom_forecast", AlertState::Firing).is_some());
    // The host goes silent for 10 minutes, then comes back.
    let last = s[s.len() - 1];
    let mut back = last;
    back.at_ms += 600_000;
    s.push(back);
    let events = run(&s);
    let dark = events
        .iter()
        .find(|e| e.rule == WENT_DARK)
        .expect("went_dark");
    assert_eq!(dark.state, AlertState::Firing);
    assert_eq!(dark.severity, Severity::Critical);
    assert!(dark.evidence.silent_seconds.unwrap_or(0.0) >= 45.0);
    // Nothing resolved during the silence.
    assert!(events
        .iter()
        .filter(|e| e.at_ms > last.at_ms && e.at_ms < back.at_ms)
        .all(|e| e.rule == WENT_DARK));
    assert_eq!(
        events.iter().filter(|e| e.rule == WENT_DARK).count(),
        2,
        "fires once, resolves when data returns"
    );
}

#[test]
fn silence_without_pressure_is_not_an_alert() {
    let mut s = series(20, 15, |_| 800.0, |_| 0.0);
    let mut back = s[s.len() - 1];
    back.at_ms += 3_600_000;
    s.push(back);
    assert!(run(&s).is_empty());
}

#[test]
fn stale_threshold_follows_the_sample_interval() {
    let mut d = Detector::new(&DetectorConfig::default());
    let mut out = Vec::new();
    for s in series(10, 15, |_| 800.0, |_| 0.0) {
        d.observe(&s, &mut out).expect("ok");
    }
    assert_eq!(d.stale_after_ms(), 45_000);
    let mut d = Detector::new(&DetectorConfig::default());
    for s in series(10, 1, |_| 800.0, |_| 0.0) {
        d.observe(&s, &mut out).expect("ok");
    }
    assert_eq!(d.stale_after_ms(), 10_000, "never below stale_after_min");
}

#[test]
fn out_of_order_and_zero_memtotal_samples_are_refused() {
    let s = series(3, 15, |_| 800.0, |_| 0.0);
    let mut d = Detector::new(&DetectorConfig::default());
    let mut out = Vec::new();
    d.observe(&s[1], &mut out).expect("ok");
    assert!(matches!(
        d.observe(&s[0], &mut out),
        Err(ObserveError::OutOfOrder { .. })
    ));
    assert!(matches!(
        d.observe(&Sample::default(), &mut out),
        Err(ObserveError::Invalid(_))
    ));
}

#[test]
fn missing_psi_degrades_instead_of_breaking() {
    let mut s = series(120, 15, |t| 900.0 - t as f64, |_| 0.3);
    for x in &mut s {
        x.psi_some_total_us = None;
        x.psi_full_total_us = None;
        x.pgmajfault = None;
    }
    let events = run(&s);
    assert!(first(&events, "headroom_forecast", AlertState::Firing).is_some());
    assert!(events
        .iter()
        .all(|e| e.rule != "psi_rising" && e.rule != "thrashing"));
}

/// Samples from proptest steps: (seconds since the previous sample,
/// MemAvailable MiB, SwapFree MiB, PSI some µs added).
fn from_steps(start_ms: i64, steps: &[(i64, u64, u64, u64)]) -> Vec<Sample> {
    let mut at = start_ms;
    let mut psi = 0u64;
    steps
        .iter()
        .map(|&(dt, avail, swap, dpsi)| {
            at += dt * 1000;
            psi += dpsi;
            Sample {
                at_ms: at,
                mem_total_bytes: 1000 * MIB,
                mem_available_bytes: avail * MIB,
                swap_total_bytes: 100 * MIB,
                swap_free_bytes: swap * MIB,
                psi_some_total_us: Some(psi),
                psi_full_total_us: Some(psi / 2),
                ..Sample::default()
            }
        })
        .collect()
}

proptest! {
    /// Feeding a series whole, or with timeouts polled at arbitrary points
    /// in between, gives the same events: the detector has no hidden clock.
    #[test]
    fn same_events_whole_or_in_chunks(
        steps in prop::collection::vec((1i64..60, 0u64..1000, 0u64..100, 0u64..5_000_000), 5..200),
        polls in prop::collection::vec(0usize..200, 0..20),
    ) {
        let samples = from_steps(1_700_000_000_000, &steps);
        let whole = run(&samples);
        // Same samples, but the caller also asks for timeouts at odd moments.
        let mut d = Detector::new(&DetectorConfig::default());
        let mut out = Vec::new();
        for (i, s) in samples.iter().enumerate() {
            if polls.contains(&i) {
                // An early wake-up must change nothing.
                if let Some(t) = d.poll_timeout() { d.handle_timeout(t - 1, &mut out); }
            }
            d.feed(s, &mut out).expect("valid");
        }
        prop_assert_eq!(whole, out);
    }

    /// Whatever the input, a rule never fires twice without resolving, and
    /// never resolves without having fired.
    #[test]
    fn alert_states_alternate(
        steps in prop::collection::vec((1i64..120, 0u64..1000, 0u64..100, 0u64..30_000_000), 5..300),
    ) {
        let samples = from_steps(0, &steps);
        let events = run(&samples);
        let mut firing = std::collections::HashMap::new();
        for e in &events {
            let f = firing.entry(e.rule).or_insert(false);
            match e.state {
                AlertState::Firing => { prop_assert!(!*f, "{} fired twice", e.rule); *f = true; }
                AlertState::Resolved => { prop_assert!(*f, "{} resolved unfired", e.rule); *f = false; }
                AlertState::Pending => prop_assert!(!*f),
            }
        }
    }
}
