//! Backfills: of hosts new to a running watcher, and of the gap after an
//! outage of the datasource.

use crate::detect::{AlertState, DetectorConfig, Dur, WENT_DARK};
use crate::watch::fake::{calm, draining, FakeSource};
use crate::watch::fleet::HostEvent;
use crate::watch::{Outcome, QueryError, WatchConfig, Watcher};

const T0: i64 = 1_700_000_000_000;

fn watcher() -> Watcher {
    let cfg = WatchConfig {
        url: "http://vm:8428".into(),
        latency_offset: Dur::from_secs(0),
        ..WatchConfig::default()
    };
    Watcher::new(&cfg, &DetectorConfig::default(), "http://vm:8428", 7)
}

/// One cycle at `t` over `src`: its events and how many queries it made.
fn cycle(w: &mut Watcher, src: &FakeSource, t: i64) -> (Vec<HostEvent>, usize) {
    let mut out = Vec::new();
    let mut asked = 0;
    w.cycle(
        t,
        |f, win, at| {
            asked += 1;
            Ok(src.fetch(f, win, at))
        },
        &mut out,
    );
    (out, asked)
}

fn fired(out: &[HostEvent]) -> Vec<(&str, &'static str, i64)> {
    out.iter()
        .filter(|(_, e)| e.state == AlertState::Firing)
        .map(|(h, e)| (h.as_str(), e.rule, e.at_ms))
        .collect()
}

/// Regression: a host that appeared while the watcher ran was fed only a
/// normal cycle's window, so its trend and rates were blind for minutes.
#[test]
fn a_host_appearing_mid_run_is_backfilled_in_the_cycle_that_sees_it() {
    let mut src = FakeSource::default();
    src.hosts.insert("a".into(), calm(T0, 15_000, 200));
    let mut w = watcher();
    let mut t = T0 + 60 * 15_000;
    while t < T0 + 100 * 15_000 {
        cycle(&mut w, &src, t);
        t += 15_000;
    }
    // Host b's samples of the last 10 minutes arrive at once (a scraper's
    // buffer flushed late, a host newly matching the selector).
    let b = draining(t - 40 * 15_000, 41);
    src.hosts.insert("b".into(), b);
    let (out, asked) = cycle(&mut w, &src, t);
    assert_eq!(asked, 20, "one more query per signal, in the same cycle");
    let history = w.fleet().hosts()["b"].history_ms();
    assert_eq!(history, 40 * 15_000, "b's detector has its whole history");
    // What a watcher starting now would report for b.
    let mut fresh = watcher();
    let (want, _) = cycle(&mut fresh, &src, t);
    let want: Vec<_> = fired(&want).into_iter().filter(|f| f.0 == "b").collect();
    assert!(!want.is_empty(), "b fires on its history");
    assert_eq!(fired(&out), want);
    let (next, asked) = cycle(&mut w, &src, t + 15_000);
    assert_eq!(asked, 10, "no backfill once known");
    assert!(fired(&next).is_empty(), "{next:?}");
}

#[test]
fn after_an_outage_the_gap_is_read_at_once_and_judged_in_order() {
    let mut src = FakeSource::default();
    src.hosts.insert("h".into(), draining(T0, 60));
    let end = T0 + 59 * 15_000;
    // Without the outage.
    let mut whole = watcher();
    let mut want = Vec::new();
    let mut t = T0;
    while t <= end {
        want.extend(cycle(&mut whole, &src, t).0);
        t += 15_000;
    }
    // With the datasource gone from `down` for three minutes.
    // (The forecast goes pending at the 31st sample and fires at the 35th.)
    let down = T0 + 26 * 15_000;
    let mut w = watcher();
    let mut got = Vec::new();
    let mut back_at = None;
    let mut t = T0;
    while t <= end {
        let mut out = Vec::new();
        let outcome = if t >= down && t < down + 180_000 {
            let refused = |_, _, _| Err(QueryError::Unreachable("refused".into()));
            w.cycle(t, refused, &mut out)
        } else {
            w.cycle(t, |f, win, at| Ok(src.fetch(f, win, at)), &mut out)
        };
        if t >= down && back_at.is_none() && matches!(outcome, Outcome::Ok { .. }) {
            back_at = Some(t);
        }
        got.extend(out.into_iter().map(|e| (t, e)));
        t += 15_000;
    }
    let back_at = back_at.expect("the datasource came back");
    let key = |v: &[HostEvent]| -> Vec<(&'static str, &'static str, i64)> {
        v.iter()
            .filter(|(_, e)| e.rule != WENT_DARK && e.rule != "datasource_down")
            .filter(|(_, e)| e.state != AlertState::Pending)
            .map(|(_, e)| (e.rule, e.state.as_str(), e.at_ms))
            .collect()
    };
    let events: Vec<HostEvent> = got.iter().map(|(_, e)| e.clone()).collect();
    assert_eq!(
        key(&events),
        key(&want),
        "the outage's samples judged in order, as without it"
    );
    let in_gap: Vec<_> = got
        .iter()
        .filter(|(_, (_, e))| e.rule != WENT_DARK && e.rule != "datasource_down")
        .filter(|(_, (_, e))| e.at_ms >= down && e.at_ms < back_at)
        .collect();
    assert!(!in_gap.is_empty(), "something fired during the outage");
    assert!(
        in_gap.iter().all(|(t, _)| *t == back_at),
        "reported at the first answer after the outage: {in_gap:?}"
    );
}
