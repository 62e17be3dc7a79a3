use super::*;
use crate::clock::mono;
use crate::detect::history::DAY_MS;
use crate::detect::{DetectorConfig, Dur};
use crate::watch::fake::{calm, FakeSource};
use std::time::Duration;

/// Noon of day 20,003 (UTC).
const T0: i64 = 20_003 * DAY_MS + DAY_MS / 2;

/// Four idle days at 88 % for host `a`, as each history query's answer.
fn body(url: &str) -> String {
    let value = if url.contains("min_over_time") {
        "0.88"
    } else if url.contains("count_over_time") {
        "5760"
    } else {
        "0"
    };
    let points: Vec<String> = (0..4)
        .map(|k| format!("[{},\"{value}\"]", (20_003 - k) * DAY_MS / 1000))
        .collect();
    format!(
        r#"{{"status":"success","data":{{"resultType":"matrix","result":[{{"metric":{{"instance":"a"}},"values":[{}]}}]}}}}"#,
        points.join(",")
    )
}

/// A datasource answering the history's queries after `delay`, and the
/// URLs it was asked.
fn serve(delay: Duration) -> (String, std::sync::mpsc::Receiver<String>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let url = format!("http://{}", server.server_addr());
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for req in server.incoming_requests() {
            let answer = body(req.url());
            let _ = tx.send(req.url().to_string());
            std::thread::sleep(delay);
            let _ = req.respond(tiny_http::Response::from_string(answer));
        }
    });
    (url, rx)
}

fn setup(url: &str) -> (Watcher, HistoryAsker, FakeSource) {
    let cfg = WatchConfig {
        url: url.into(),
        latency_offset: Dur::from_secs(0),
        history_timeout: Dur::from_secs(1),
        ..WatchConfig::default()
    };
    let w = Watcher::new(&cfg, &DetectorConfig::default(), "ds", 1);
    let asker = HistoryAsker::build(&cfg).unwrap_or_else(|e| panic!("{e}"));
    let mut src = FakeSource::default();
    src.hosts
        .insert("a".into(), calm(T0 - 600_000, 15_000, 200));
    (w, asker, src)
}

fn cycle(w: &mut Watcher, src: &FakeSource, t: i64) {
    w.cycle(t, |f, win, at| Ok(src.fetch(f, win, at)), &mut Vec::new());
}

fn gate(w: &Watcher) -> f64 {
    w.fleet().hosts()["a"].detector().forecast_gate()
}

#[test]
fn the_answer_seeds_the_floor_at_the_first_step_after_it_came() {
    let (url, asked) = serve(Duration::ZERO);
    let (mut w, mut asker, src) = setup(&url);
    cycle(&mut w, &src, T0);
    asker.step(&mut w, T0);
    let urls: Vec<String> = (0..3)
        .map(|_| {
            asked
                .recv_timeout(Duration::from_secs(5))
                .unwrap_or_default()
        })
        .collect();
    let midnight = format!("time={}.000", 20_003 * DAY_MS / 1000);
    assert!(urls.iter().all(|u| u.contains(&midnight)), "{urls:?}");
    assert!(urls[0].contains("min_over_time"), "{urls:?}");
    let mut t = T0;
    let deadline = mono() + Duration::from_secs(5);
    while gate(&w) == 0.45 && mono() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        t += 15_000;
        cycle(&mut w, &src, t);
        asker.step(&mut w, t);
    }
    assert!(
        (gate(&w) - 0.83).abs() < 1e-9,
        "floor 0.88 - 0.05: {}",
        gate(&w)
    );
}

#[test]
fn a_slow_history_never_holds_up_a_cycle_and_its_failure_is_asked_again_later() {
    let (url, _asked) = serve(Duration::from_secs(3));
    let (mut w, mut asker, src) = setup(&url);
    let mut t = T0;
    let started = mono();
    let mut longest = Duration::ZERO;
    // Past the 1 s history_timeout: the answer comes back as a failure.
    while started.elapsed() < Duration::from_millis(1_800) {
        let step = mono();
        cycle(&mut w, &src, t);
        asker.step(&mut w, t);
        longest = longest.max(step.elapsed());
        std::thread::sleep(Duration::from_millis(50));
        t += 15_000;
    }
    assert!(
        longest < Duration::from_millis(500),
        "a cycle took {longest:?}"
    );
    assert_eq!(gate(&w), 0.45, "the default gate meanwhile");
    assert_eq!(w.history_plan(t), None, "retried only later");
    assert!(w.history_plan(t + crate::watch::floor::RETRY_MS).is_some());
}
