//! Criticals only on evidence: a dip that recovers by itself, a silence
//! after a mere pending forecast, a cgroup thrashing at its own limit.

use super::*;

const MIB: u64 = 1 << 20;
const T0: i64 = 1_700_000_000_000;

/// One sample of a host with 1000 MiB RAM and 100 MiB swap: MemAvailable
/// and SwapFree in MiB, PSI totals (some, full) and major faults so far.
fn host(at_s: i64, avail: u64, swap_free: u64, psi_s: (f64, f64), majflt: u64) -> Sample {
    Sample {
        at_ms: T0 + at_s * 1000,
        mem_total_bytes: 1000 * MIB,
        mem_available_bytes: avail * MIB,
        swap_total_bytes: 100 * MIB,
        swap_free_bytes: swap_free * MIB,
        psi_some_total_us: Some((psi_s.0 * 1e6) as u64),
        psi_full_total_us: Some((psi_s.1 * 1e6) as u64),
        pgmajfault: Some(majflt),
        pswpin: Some(0),
        pswpout: Some(0),
        oom_kill: Some(0),
    }
}

/// Feeds `samples`, then lets the clock run to `end_s` (seconds after T0).
fn run_until(samples: &[Sample], end_s: i64) -> Vec<Event> {
    let mut d = Detector::new(&DetectorConfig::default());
    let mut out = Vec::new();
    for s in samples {
        d.feed(s, &mut out).expect("valid sample");
    }
    d.advance_to(T0 + end_s * 1000, &mut out);
    out
}

fn fired(events: &[Event], rule: &str) -> bool {
    events
        .iter()
        .any(|e| e.rule == rule && e.state == AlertState::Firing)
}

/// Every 5 s: a ramp down to 20 % headroom (0.6 MiB/s), a fall to `low`
/// MiB available with swap nearly gone at t=600 for `dip_s` seconds, then
/// back to 20 %, flat.
fn dip(low: u64, dip_s: i64) -> Vec<Sample> {
    (0..200)
        .map(|i| {
            let t = i * 5;
            if (600..600 + dip_s).contains(&t) {
                host(t, low, 10, (0.0, 0.0), 0)
            } else {
                let ramp = (600 - t).max(0) as f64 * 0.6;
                host(t, 120 + ramp as u64, 100, (0.0, 0.0), 0)
            }
        })
        .collect()
}

#[test]
fn a_dip_that_recovers_within_seconds_without_a_stall_pages_nothing() {
    // 20 s at 2.7 % headroom, nothing stalled: the transient of issue 16.
    let events = run_until(&dip(20, 20), 1000);
    assert!(!fired(&events, "exhaustion_imminent"), "{events:?}");
    assert!(
        events
            .iter()
            .all(|e| e.severity != Severity::Critical || e.state != AlertState::Firing),
        "{events:?}"
    );
}

#[test]
fn an_exhaustion_that_stays_still_pages() {
    let events = run_until(&dip(20, 300), 1000);
    let imminent = events
        .iter()
        .find(|e| e.rule == "exhaustion_imminent" && e.state == AlertState::Firing)
        .expect("exhaustion_imminent fires");
    assert_eq!(imminent.severity, Severity::Critical);
}

/// Every 15 s: headroom falls 2 MiB/s from 600 MiB available at t=0, and
/// the host goes silent at `off_s`.
fn drain_then_silence(off_s: i64) -> Vec<Sample> {
    (0..off_s / 15)
        .map(|i| host(i * 15, 600 - 2 * (i * 15) as u64, 100, (0.0, 0.0), 0))
        .collect()
}

#[test]
fn silence_after_only_a_pending_forecast_is_a_warning_not_a_page() {
    // Headroom crosses 45 % (495 MiB) at t=102: the forecast is pending,
    // not yet for its minute, when the host stops at t=135 (40 %).
    let events = run_until(&drain_then_silence(135), 600);
    assert!(!fired(&events, WENT_DARK), "{events:?}");
    let silent = events
        .iter()
        .find(|e| e.rule == "host_silent" && e.state == AlertState::Firing)
        .expect("host_silent fires");
    assert_eq!(silent.severity, Severity::Warning);
    assert!(silent.evidence.silent_seconds.unwrap_or(0.0) >= 45.0);
}

#[test]
fn silence_after_a_firing_warning_is_critical() {
    // The forecast fired at t=165; the host stops at t=240.
    let events = run_until(&drain_then_silence(240), 900);
    assert!(fired(&events, "headroom_forecast"), "{events:?}");
    let dark = events
        .iter()
        .find(|e| e.rule == WENT_DARK && e.state == AlertState::Firing)
        .expect("went_dark fires");
    assert_eq!(dark.severity, Severity::Critical);
    assert!(!fired(&events, "host_silent"));
}

/// Every 5 s: PSI full at `full` of wall time (some at 1.5x), major faults
/// at 200/s, MemAvailable at `avail` MiB.
fn stalled(avail: u64, full: f64) -> Vec<Sample> {
    (0..60)
        .map(|i| {
            let t = i * 5;
            let f = full * t as f64;
            host(t, avail, 100, (1.5 * f, f), 200 * t as u64)
        })
        .collect()
}

#[test]
fn a_cgroup_thrashing_at_its_limit_is_no_host_page() {
    // 890 MiB available (90 % headroom), yet PSI full at 30 %: one cgroup
    // at its own memory limit, as in the new user's test suite.
    let events = run_until(&stalled(890, 0.3), 300);
    assert!(!fired(&events, "thrashing"), "{events:?}");
}

#[test]
fn a_cgroup_thrashing_at_its_limit_is_a_scoped_warning() {
    let events = run_until(&stalled(890, 0.3), 300);
    let scoped = events
        .iter()
        .find(|e| e.rule == rules::CGROUP_THRASHING && e.state == AlertState::Firing)
        .expect("cgroup_thrashing fires");
    assert_eq!(scoped.severity, Severity::Warning);
    // After its `for` (30 s) of stall, with the host's headroom as evidence.
    assert_eq!(scoped.at_ms - T0, 35_000, "{events:?}");
    assert!(scoped.evidence.headroom_ratio > 0.8);
    assert!(scoped.evidence.signals.contains(Signal::PsiFull));
    assert!(events
        .iter()
        .all(|e| e.severity != Severity::Critical || e.state != AlertState::Firing));
}

#[test]
fn a_cgroup_stall_without_corroboration_or_brief_says_nothing() {
    // PSI full high but no major faults (nothing corroborates): no rule.
    let quiet: Vec<Sample> = stalled(890, 0.3)
        .into_iter()
        .map(|s| Sample {
            pgmajfault: Some(0),
            ..s
        })
        .collect();
    assert!(!fired(&run_until(&quiet, 300), rules::CGROUP_THRASHING));
    // A 5 s stall, far shorter than the rule's `for`, then calm: nothing.
    let brief: Vec<Sample> = stalled(890, 0.3)
        .into_iter()
        .take(2)
        .chain((2..60).map(|i| host(i * 5, 890, 100, (2.25, 1.5), 1000)))
        .collect();
    let events = run_until(&brief, 300);
    assert!(!fired(&events, rules::CGROUP_THRASHING), "{events:?}");
}

#[test]
fn a_host_thrashing_with_little_headroom_pages() {
    let events = run_until(&stalled(150, 0.3), 300);
    assert!(fired(&events, "thrashing"), "{events:?}");
    assert!(!fired(&events, rules::CGROUP_THRASHING), "{events:?}");
}

#[test]
fn a_cgroup_warning_clears_when_the_host_itself_runs_short() {
    // Scoped while the host has room; once headroom falls under the gate,
    // the host-wide rule takes over and the scoped one resolves.
    let s: Vec<Sample> = stalled(890, 0.3)
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let avail = if i < 30 { 890 } else { 150 };
            Sample {
                mem_available_bytes: avail * MIB,
                ..s
            }
        })
        .collect();
    let events = run_until(&s, 300);
    assert!(fired(&events, rules::CGROUP_THRASHING), "{events:?}");
    assert!(fired(&events, "thrashing"), "{events:?}");
    assert!(events
        .iter()
        .any(|e| e.rule == rules::CGROUP_THRASHING && e.state == AlertState::Resolved));
}

#[test]
fn an_oom_kill_inside_a_scrape_gap_longer_than_the_rate_window_still_pages() {
    // Every 5 s for 5 min, then 2 min without a sample (the scrapes timed
    // out in the livelock), then a sample whose oom_kill counter went 0 -> 1.
    let mut s: Vec<Sample> = (0..60)
        .map(|i| host(i * 5, 300, 50, (0.0, 0.0), 0))
        .collect();
    s.push(Sample {
        oom_kill: Some(1),
        ..host(420, 500, 60, (0.0, 0.0), 0)
    });
    let events = run_until(&s, 420);
    let kill = events
        .iter()
        .find(|e| e.rule == "oom_kill" && e.state == AlertState::Firing)
        .unwrap_or_else(|| panic!("oom_kill fires: {events:?}"));
    assert_eq!(kill.at_ms, T0 + 420_000);
    assert_eq!(kill.severity, Severity::Critical);
}
