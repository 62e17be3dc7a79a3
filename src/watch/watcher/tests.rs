use super::*;
use crate::detect::{Dur, WENT_DARK};
use crate::watch::answer::AnswerError;
use crate::watch::fake::{calm, draining, FakeSource};
use crate::watch::fleet::HOST_SILENT;

const T0: i64 = 1_700_000_000_000;

fn cfg() -> WatchConfig {
    WatchConfig {
        url: "http://vm:8428".into(),
        latency_offset: Dur::from_secs(0),
        ..WatchConfig::default()
    }
}

fn watcher() -> Watcher {
    Watcher::new(&cfg(), &DetectorConfig::default(), "http://vm:8428", 7)
}

fn ok(
    src: &FakeSource,
) -> impl FnMut(Field, i64, i64) -> Result<HashMap<String, Points>, QueryError> + '_ {
    move |f, w, t| Ok(src.fetch(f, w, t))
}

fn rules(out: &[HostEvent]) -> Vec<(String, &'static str, AlertState)> {
    out.iter()
        .map(|(h, e)| (h.clone(), e.rule, e.state))
        .collect()
}

/// Every bad answer the datasource can give, as the client reports it.
fn bad_answers() -> Vec<QueryError> {
    let not_json = |why: &str| {
        QueryError::Answer(AnswerError::NotJson {
            why: why.into(),
            head: "<html>".into(),
        })
    };
    vec![
        not_json("expected value"),
        not_json("EOF while parsing an object"),
        QueryError::Answer(AnswerError::Value {
            metric: "node_memory_MemAvailable_bytes",
            label: "instance".into(),
            host: "a".into(),
            at_ms: T0,
            value: "NaN".into(),
        }),
        QueryError::Answer(AnswerError::Server {
            error_type: "timeout".into(),
            error: "query timed out".into(),
        }),
        QueryError::Answer(AnswerError::Partial),
        QueryError::Status {
            status: 503,
            head: "Service Unavailable".into(),
        },
        QueryError::Unreachable("timed out (Global)".into()),
    ]
}

#[test]
fn the_first_cycle_backfills_then_each_reads_since_the_last() {
    let src = FakeSource::default();
    let mut w = watcher();
    let mut out = Vec::new();
    let mut windows = Vec::new();
    let mut fetch = |f: Field, win: i64, t: i64| {
        windows.push(win);
        Ok(src.fetch(f, win, t))
    };
    assert_eq!(
        w.cycle(T0, &mut fetch, &mut out),
        Outcome::Ok {
            window_ms: 3_600_000
        }
    );
    assert_eq!(
        w.cycle(T0 + 15_000, &mut fetch, &mut out),
        Outcome::Ok { window_ms: 30_000 }
    );
    assert_eq!(windows.len(), 20, "one query per signal per cycle");
}

#[test]
fn every_bad_answer_skips_the_cycle_and_keeps_every_state() {
    for bad in bad_answers() {
        let mut src = FakeSource::default();
        src.hosts.insert("a".into(), draining(T0, 30));
        let mut w = watcher();
        let mut out = Vec::new();
        let t = T0 + 29 * 15_000;
        w.cycle(t, ok(&src), &mut out);
        let before = w.fleet().hosts()["a"].detector().features().copied();
        let rules_before: Vec<_> = w.fleet().hosts()["a"]
            .detector()
            .rules()
            .iter()
            .map(|(_, s)| s)
            .collect();
        src.hosts
            .get_mut("a")
            .unwrap()
            .extend(draining(t + 15_000, 1));
        let mut calls = 0;
        let outcome = w.cycle(
            t + 15_000,
            |f, win, at| {
                calls += 1;
                if f == Field::SwapFree {
                    Err(bad.clone())
                } else {
                    Ok(src.fetch(f, win, at))
                }
            },
            &mut out,
        );
        assert!(
            matches!(&outcome, Outcome::Failed { metric, error } if *metric == Field::SwapFree.metric() && *error == bad),
            "{outcome:?}"
        );
        let d = w.fleet().hosts()["a"].detector();
        assert_eq!(
            d.features().copied(),
            before,
            "{bad}: no sample fed from half an answer"
        );
        let rules_after: Vec<_> = d.rules().iter().map(|(_, s)| s).collect();
        assert_eq!(rules_after, rules_before, "{bad}");
        assert!(!w.datasource_ok());
    }
}

#[test]
fn a_failing_datasource_backs_off_alerts_after_its_time_and_resolves_on_an_answer() {
    let mut src = FakeSource::default();
    src.hosts.insert("a".into(), calm(T0, 15_000, 10));
    let mut w = watcher();
    let mut out = Vec::new();
    w.cycle(T0 + 135_000, ok(&src), &mut out);
    let mut asked = 0;
    let mut t = T0 + 150_000;
    while t < T0 + 150_000 + 300_000 {
        w.cycle(
            t,
            |_, _, _| {
                asked += 1;
                Err(QueryError::Unreachable(
                    "connection failed: ConnectionRefused".into(),
                ))
            },
            &mut out,
        );
        t += 15_000;
    }
    assert!(asked < 20, "backed off: {asked} tries in 20 cycles");
    let down: Vec<_> = rules(&out)
        .into_iter()
        .filter(|r| r.1 == DATASOURCE_DOWN)
        .collect();
    assert_eq!(
        down,
        vec![(
            "http://vm:8428".to_string(),
            DATASOURCE_DOWN,
            AlertState::Firing
        )]
    );
    let (_, ev) = out.iter().find(|(_, e)| e.rule == DATASOURCE_DOWN).unwrap();
    let after = ev.at_ms - (T0 + 150_000);
    assert!(
        (120_000..135_000).contains(&after),
        "datasource_down within a cycle of datasource_alert_after, backoff or not: {after} ms"
    );
    assert!(
        rules(&out).iter().all(|r| r.1 != HOST_SILENT),
        "no host_silent while the datasource is down"
    );
    // Back: the answer covers the outage, and the self-alert resolves.
    src.hosts
        .get_mut("a")
        .unwrap()
        .extend(calm(T0 + 150_000, 15_000, 22));
    out.clear();
    let mut windows = Vec::new();
    let mut tries = 0;
    while !w.datasource_ok() && tries < 40 {
        w.cycle(
            t,
            |f, win, at| {
                windows.push(win);
                Ok(src.fetch(f, win, at))
            },
            &mut out,
        );
        t += 15_000;
        tries += 1;
    }
    assert!(w.datasource_ok());
    assert!(
        windows[0] > 300_000,
        "the first answer reads the outage: {}",
        windows[0]
    );
    assert!(rules(&out).contains(&(
        "http://vm:8428".into(),
        DATASOURCE_DOWN,
        AlertState::Resolved
    )));
}

/// The datasource on the host that livelocks: it stops answering right
/// after that host's pressure rose. The page names the host.
#[test]
fn the_datasource_dying_while_a_host_is_under_pressure_pages_that_host() {
    let mut src = FakeSource::default();
    src.hosts.insert("busy".into(), draining(T0, 40));
    src.hosts.insert("idle".into(), calm(T0, 15_000, 40));
    let mut w = watcher();
    let mut out = Vec::new();
    let last = T0 + 39 * 15_000;
    w.cycle(last, ok(&src), &mut out);
    out.clear();
    let mut t = last + 15_000;
    while t <= last + 120_000 {
        w.cycle(
            t,
            |_, _, _| Err(QueryError::Unreachable("connection failed".into())),
            &mut out,
        );
        t += 15_000;
    }
    let dark: Vec<_> = rules(&out)
        .into_iter()
        .filter(|r| r.1 == WENT_DARK)
        .collect();
    assert_eq!(
        dark,
        vec![("busy".to_string(), WENT_DARK, AlertState::Firing)],
        "{out:?}"
    );
    let (_, ev) = out
        .iter()
        .find(|(h, e)| h == "busy" && e.rule == WENT_DARK)
        .unwrap();
    assert_eq!(ev.severity, Severity::Critical);
    assert!(
        ev.at_ms - last <= 60_000,
        "within the detector's silence threshold: {}",
        ev.at_ms - last
    );
    assert!(ev.evidence.silent_seconds.is_some());
    assert!(out.iter().all(|(_, e)| e.state != AlertState::Resolved));
}

#[test]
fn queries_are_made_at_now_minus_the_latency_offset() {
    let c = WatchConfig {
        latency_offset: Dur::from_secs(30),
        ..cfg()
    };
    let mut w = Watcher::new(&c, &DetectorConfig::default(), "ds", 1);
    let mut at = Vec::new();
    w.cycle(
        T0,
        |_, _, t| {
            at.push(t);
            Ok(HashMap::new())
        },
        &mut Vec::new(),
    );
    assert!(at.iter().all(|t| *t == T0 - 30_000), "{at:?}");
}
