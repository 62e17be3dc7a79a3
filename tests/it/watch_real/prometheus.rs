//! A real Prometheus (Debian `prometheus`) as the datasource: it scrapes a
//! real node_exporter every second; `memcanary watch` (every second,
//! `latency_offset = "0s"` as docs/watch.md says for Prometheus) sees the
//! host and completes its cycles, and a second host that appears later
//! (its exporter started late) is backfilled by a query narrowed to it
//! (Prometheus' query log shows it). When the node_exporter stops, Prometheus
//! marks its series stale and the host is judged silent: `went_dark` (the
//! test counts any headroom as pressure, `went_dark.below_headroom_ratio =
//! 1.0`, so silence is critical at once instead of `host_silent` minutes
//! later; `stale_after_min = "3s"`, three 1 s scrapes), no `datasource_down`, nothing resolved.
//! Beside it, a watcher whose selector Prometheus refuses logs the status
//! and Prometheus' reason (`bad_data: ... parse error ...`).

use super::{bin, prom_server, Proc, Watch};
use crate::common;
use crate::fault::harness::Receiver;
use crate::watch_e2e::node_exporter_on;
use std::path::Path;
use std::time::Duration;

const TEST: &str = "watch_over_a_real_prometheus_sees_a_stopped_exporter_go_silent";

/// Prometheus scraping `targets` every second as `job`, its queries logged
/// to `dir/queries.log`; its URL.
fn prometheus(bin: &Path, dir: &Path, job: &str, targets: &[&str]) -> (Proc, String) {
    let config = dir.join("prometheus.yml");
    let text = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  query_log_file: {log}\nscrape_configs:\n  - job_name: {job}\n    static_configs:\n      - targets: {targets:?}\n",
        log = dir.join("queries.log").display()
    );
    std::fs::write(&config, text).unwrap();
    let args = [format!(
        "--storage.tsdb.path={}",
        dir.join("data").display()
    )];
    prom_server(bin, dir, "prometheus", &config, &args)
}

#[test]
fn watch_over_a_real_prometheus_sees_a_stopped_exporter_go_silent() {
    let Some(ne_bin) = bin(
        TEST,
        "MEMCANARY_TEST_NODE_EXPORTER_BIN",
        "55-node-exporter.sh",
    ) else {
        return;
    };
    let Some(prom_bin) = bin(TEST, "MEMCANARY_TEST_PROMETHEUS_BIN", "56-watch-real.sh") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let host = format!("127.0.0.1:{}", common::free_port());
    let late = format!("127.0.0.1:{}", common::free_port());
    let mut ne = node_exporter_on(&ne_bin, &host);
    let job = format!("watch-prom-{}", std::process::id());
    let (_prom, url) = prometheus(&prom_bin, dir, &job, &[&host, &late]);
    let rx = Receiver::start();
    let config = format!(
        "[watch]\nurl = \"{url}\"\nselector = '{{job=\"{job}\"}}'\ninterval = \"1s\"\n\
         latency_offset = \"0s\"\ntimeout = \"900ms\"\ndatasource_alert_after = \"30s\"\n\n\
         [detector]\nstale_after_min = \"3s\"\n\n[detector.went_dark]\nbelow_headroom_ratio = 1.0\n\n{}",
        rx.notify_table()
    );
    let w = Watch::start(dir, "watch", &config);
    // A selector Prometheus refuses (a typo): the line says why.
    let typo = config.replacen(&format!("{{job=\"{job}\"}}"), "{job=~\"(\"}", 1);
    let bad = Watch::start(dir, "typo", &typo);
    w.wait(30, "the host seen over Prometheus", |w| {
        w.metric("memcanary_watch_hosts") == Some(1.0) && w.cycles("ok") >= 3.0
    });
    bad.wait(10, "the refused query's reason logged", |w| {
        w.cycles("failed") >= 1.0
    });
    let log = bad.log();
    let line = log
        .lines()
        .find(|l| l.contains("query failed"))
        .unwrap_or_default();
    assert!(
        line.contains("HTTP 400")
            && line.contains("bad_data")
            && line.contains("missing closing )"),
        "the status and Prometheus' reason in one line:\n{log}"
    );
    eprintln!("{TEST}: {line}");
    drop(bad);
    // A host whose exporter starts later is backfilled by a narrowed query.
    let _late = node_exporter_on(&ne_bin, &late);
    w.wait(20, "the late host seen", |w| {
        w.metric("memcanary_watch_hosts") == Some(2.0)
    });
    let queries = std::fs::read_to_string(dir.join("queries.log")).unwrap_or_default();
    let port = late.rsplit(':').next().unwrap();
    assert!(
        queries
            .lines()
            .any(|l| l.contains("instance=~") && l.contains(port)),
        "no query narrowed to the late host in Prometheus' query log"
    );
    // Fed for a few scrapes: fresh samples keep both from going dark.
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        rx.bodies().is_empty(),
        "alerts while scraped: {:?}",
        rx.bodies()
    );
    assert_eq!(
        w.cycles("failed"),
        0.0,
        "every cycle over Prometheus succeeds"
    );

    ne.stop();
    let stopped = std::time::Instant::now();
    w.wait(20, "went_dark after node_exporter stopped", |_| {
        !rx.about("went_dark", "firing").is_empty()
    });
    eprintln!(
        "{TEST}: went_dark {:.1} s after node_exporter stopped",
        stopped.elapsed().as_secs_f64()
    );
    let dark = &rx.about("went_dark", "firing")[0];
    assert_eq!(dark["alert"]["instance"], host.as_str(), "names the host");
    assert_eq!(dark["alert"]["severity"], "critical");
    std::thread::sleep(Duration::from_secs(3));
    let others: Vec<_> = rx
        .bodies()
        .into_iter()
        .filter(|v| v["alert"]["rule"] != "went_dark" || v["status"] != "firing")
        .collect();
    assert!(
        others.is_empty(),
        "only went_dark (no resolve, no datasource_down): {others:?}"
    );
    assert_eq!(w.metric("memcanary_watch_datasource_up"), Some(1.0));
    assert_eq!(
        w.cycles("failed"),
        0.0,
        "a stale target is no datasource error"
    );
    // The history's subqueries (`[14d:1d]`) answer from Prometheus too.
    let log = w.log();
    assert!(
        log.contains("history: new hosts' floors seeded")
            && !log.contains("history: the recent days could not be read"),
        "the history queries answered:\n{log}"
    );
}
