//! `memcanary watch`'s `/metrics` and `/health`: the agent's server
//! (`src/http.rs`), so a slow client does not block a scrape, `HEAD` is
//! answered, and a taken port is retried instead of ending the watcher.
//! The datasource is a port nobody listens on: cycles fail, the server
//! serves.
//!
//! And against a real VictoriaMetrics (`MEMCANARY_TEST_VM_URL`, from
//! `scripts/test.d/50-watch.sh`): a host that appears mid-run is
//! backfilled in the cycle that sees it, by a query narrowed to it.

use crate::common::{self, skip};
use crate::watch::{import, receiver, rewrite, spawn_watch, wait_for, OwnVm, Watch, TRACE};
use memcanary::clock;
use memcanary::detect::{DetectorConfig, Dur};
use memcanary::signal::node_exporter::Field;
use memcanary::watch::{Answer, Datasource, Outcome, Plan, WatchConfig, Watcher};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The real `memcanary watch` with `/metrics` on `listen`, its datasource
/// refusing connections (nothing fires, nothing is sent).
fn watch_without_datasource(dir: &Path, listen: &str) -> Watch {
    let dead = format!("http://127.0.0.1:{}", common::free_port());
    let extra = format!("timeout = \"200ms\"\nmetrics_listen = \"{listen}\"\n");
    spawn_watch(dir, &dead, "none", "http://127.0.0.1:9/hook", &extra)
}

/// One raw request: the whole answer, or `None` if it fails.
fn request(listen: &str, head: &str) -> Option<String> {
    let mut s = TcpStream::connect(listen).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(head.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// Waits up to 10 s for `/metrics` to answer.
fn wait_up(listen: &str) -> String {
    for _ in 0..100 {
        if let Some(a) = request(listen, "GET /metrics HTTP/1.1\r\n\r\n") {
            return a;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no /metrics on {listen}");
}

#[test]
fn watch_metrics_answer_beside_a_slow_client_and_answer_head() {
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", common::free_port());
    let _w = watch_without_datasource(dir.path(), &listen);
    let get = wait_up(&listen);
    assert!(get.starts_with("HTTP/1.1 200 OK\r\n"), "{get}");
    assert!(get.contains("memcanary_watch_cycles_total"), "{get}");

    // A client that sends its request a byte at a time, slowly.
    let mut slow = TcpStream::connect(&listen).unwrap();
    slow.write_all(b"G").unwrap();
    let dripping = std::thread::spawn(move || {
        for b in b"ET /metrics HTTP/1.1\r\n" {
            std::thread::sleep(Duration::from_millis(300));
            if slow.write_all(&[*b]).is_err() {
                break;
            }
        }
    });
    std::thread::sleep(Duration::from_millis(200));
    let started = memcanary::clock::mono();
    let health = request(&listen, "GET /health HTTP/1.1\r\n\r\n").expect("/health answers");
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(1000),
        "a scrape waited {took:?} behind a slow client"
    );
    assert!(health.starts_with("HTTP/1.1 200 OK\r\n"), "{health}");
    assert!(health.contains("datasource down"), "{health}");

    let head = request(&listen, "HEAD /metrics HTTP/1.1\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.ends_with("\r\n\r\n") && !head.contains("memcanary_"),
        "{head}"
    );
    assert!(head.contains("Content-Length: "), "{head}");
    let _ = dripping.join();
}

#[test]
fn watch_waits_for_a_taken_metrics_port_instead_of_exiting() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let mut w = watch_without_datasource(dir.path(), &listen);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        w.0.try_wait().unwrap().is_none(),
        "the watcher exited over a taken metrics port"
    );
    drop(taken);
    // The bind is retried every 5 s.
    let get = wait_up(&listen);
    assert!(
        get.contains("memcanary_metrics_listen_errors_total"),
        "{get}"
    );
}

/// The recorded trace with `job` set, its times moved by `shift_ms`, its
/// host renamed to `instance` and the staleness markers dropped.
fn trace_as(job: &str, instance: &str, shift_ms: i64) -> String {
    let text = std::fs::read_to_string(common::fixture(TRACE)).unwrap();
    let recorded = "\"instance\":\"127.0.0.1:19101\"";
    assert!(text.contains(recorded), "the trace's host");
    rewrite(&text, job, shift_ms, false).replace(recorded, &format!("\"instance\":\"{instance}\""))
}

/// One cycle as `memcanary watch` runs it (src/watch/run.rs): every
/// signal, then the new hosts' narrowed backfill. The backfill's plan.
fn cycle(w: &mut Watcher, ds: &Datasource, t: i64) -> Option<Plan> {
    let mut out = Vec::new();
    let plan = w.plan(t, &mut out)?;
    let ask = |p: &Plan| -> Vec<(Field, Answer)> {
        Field::ALL
            .into_iter()
            .map(|f| (f, ds.fetch_hosts(f, p.window_ms, p.at_ms, &p.hosts)))
            .collect()
    };
    let outcome = w.finish(t, &plan, ask(&plan), &mut out);
    assert!(matches!(outcome, Outcome::Ok { .. }), "{outcome:?}");
    let backfill = w.backfill_plan()?;
    w.finish_backfill(&backfill, ask(&backfill), &mut out);
    Some(backfill)
}

#[test]
fn a_host_appearing_mid_run_is_backfilled_from_victoriametrics() {
    let test = "a_host_appearing_mid_run_is_backfilled_from_victoriametrics";
    let Some(vm) = crate::watch::vm_url(test) else {
        return;
    };
    let job = format!("watch-state-{}-{}", std::process::id(), clock::wall_ms());
    // The trace ends 10 minutes ago, a sample every 15 s for 10 minutes.
    let first = {
        let body = trace_as(&job, "10.0.0.1:9100", 0);
        let t0 = body
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v["timestamps"][0].as_i64())
            .min()
            .unwrap();
        t0
    };
    let shift = clock::wall_ms() - 1_200_000 - first;
    let first = first + shift;
    import(&vm, &trace_as(&job, "10.0.0.1:9100", shift));
    let cfg = WatchConfig {
        url: vm.clone(),
        selector: format!("{{job=\"{job}\"}}"),
        latency_offset: Dur::from_secs(0),
        ..WatchConfig::default()
    };
    let ds = Datasource::build(&cfg).unwrap();
    let mut w = Watcher::new(&cfg, &DetectorConfig::default(), ds.name(), 1);
    let mut t = first + 60_000;
    while t <= first + 300_000 {
        assert_eq!(cycle(&mut w, &ds, t), None, "no new host");
        t += 15_000;
    }
    // A second host's series, the same five minutes and more, appear at once.
    import(&vm, &trace_as(&job, "10.0.0.12:9100", shift));
    let plan = cycle(&mut w, &ds, t).expect("the new host is backfilled");
    assert_eq!(plan.hosts, vec!["10.0.0.12:9100".to_string()]);
    let late = &w.fleet().hosts()["10.0.0.12:9100"];
    let old = &w.fleet().hosts()["10.0.0.1:9100"];
    assert!(late.history_ms() > 240_000, "{}", late.history_ms());
    assert_eq!(
        (late.history_ms(), late.last_ms()),
        (old.history_ms(), old.last_ms()),
        "its whole history at once, as the host backfilled at start"
    );
    // The narrowed query asks for that host only (the dots are escaped:
    // 10.0.0.1 must not match 10.0.0.12's regex, nor the reverse).
    let narrowed = ds
        .fetch_hosts(Field::MemAvailable, 600_000, t, &["10.0.0.1:9100".into()])
        .unwrap();
    assert_eq!(
        narrowed.keys().collect::<Vec<_>>(),
        vec!["10.0.0.1:9100"],
        "{narrowed:?}"
    );
    let all = ds.fetch(Field::MemAvailable, 600_000, t).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(narrowed["10.0.0.1:9100"], all["10.0.0.1:9100"]);
}

/// A calm host's required series at `at_ms`, in the text import format.
fn calm_lines(job: &str, instance: &str, at_ms: i64) -> String {
    let gib = 1u64 << 30;
    let series = [
        ("node_memory_MemTotal_bytes", 8 * gib),
        ("node_memory_MemAvailable_bytes", 6 * gib),
        ("node_memory_SwapTotal_bytes", gib),
        ("node_memory_SwapFree_bytes", gib),
    ];
    series
        .iter()
        .map(|(m, v)| format!("{m}{{job=\"{job}\",instance=\"{instance}\"}} {v} {at_ms}\n"))
        .collect()
}

fn import_text(vm: &str, body: &str) {
    let resp = ureq::post(&format!("{vm}/api/v1/import/prometheus"))
        .send(body)
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let _ = ureq::get(&format!("{vm}/internal/force_flush")).call();
}

/// Regression: an alert notified before a restart, whose incident had
/// cleared beyond the restarted watcher's backfill, stayed firing forever
/// (no resolve: the backfill showed nothing to resolve).
#[test]
fn a_restarted_watch_resolves_what_cleared_on_fresh_samples_only() {
    let test = "a_restarted_watch_resolves_what_cleared_on_fresh_samples_only";
    let Some(bin) = std::env::var_os("MEMCANARY_TEST_VM_BIN").map(std::path::PathBuf::from) else {
        return skip(
            test,
            "MEMCANARY_TEST_VM_BIN unset (scripts/test.d/50-watch.sh installs victoria-metrics)",
        );
    };
    let vm = OwnVm::start(&bin);
    let job = format!("watch-restore-{}", std::process::id());
    let host = "10.0.0.7:9100";
    // The trace's incident ends four minutes ago.
    let plain = trace_as(&job, host, 0);
    let last = plain
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["timestamps"].as_array().and_then(|a| a.last()?.as_i64()))
        .max()
        .unwrap();
    let now = clock::wall_ms();
    import(&vm.url, &trace_as(&job, host, now - 240_000 - last));
    let dir = tempfile::tempdir().unwrap();
    let (hook, got) = receiver();
    let first = spawn_watch(dir.path(), &vm.url, &job, &hook, "");
    let fired = wait_for(&got, 20, |v| {
        v["status"] == "firing" && v["alert"]["rule"] == "thrashing"
    })
    .expect("thrashing fires from the backfill");
    assert_eq!(fired["alert"]["instance"], host);
    std::thread::sleep(Duration::from_secs(2));
    drop(first);
    // Since the incident: calm samples every 5 s, then one a second live.
    let mut calm = String::new();
    let mut t = now - 230_000;
    while t < clock::wall_ms() {
        calm.push_str(&calm_lines(&job, host, t));
        t += 5_000;
    }
    import_text(&vm.url, &calm);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let feeding = {
        let (stop, url, job) = (stop.clone(), vm.url.clone(), job.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                import_text(&url, &calm_lines(&job, host, clock::wall_ms()));
                std::thread::sleep(Duration::from_secs(1));
            }
        })
    };
    let before = got.lock().unwrap().len();
    // The incident is older than the restarted watcher's backfill.
    let _second = spawn_watch(dir.path(), &vm.url, &job, &hook, "backfill = \"3m\"\n");
    let resolved = wait_for(&got, 20, |v| {
        v["status"] == "resolved" && v["alert"]["rule"] == "thrashing"
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = feeding.join();
    let resolved = resolved.expect("the restored thrashing resolves on fresh calm samples");
    assert_eq!(resolved["alert"]["instance"], host);
    let after: Vec<Value> = got.lock().unwrap()[before..].to_vec();
    assert!(
        after.iter().all(|v| v["status"] != "firing"),
        "paged again after the restart: {after:?}"
    );
}
