//! Two `memcanary watch` processes over the same VictoriaMetrics, each with
//! an `alertmanager` sink to one real Alertmanager (Debian
//! `prometheus-alertmanager`, the test's own, its webhook receiver on
//! 127.0.0.1), as docs/watch.md's "Two watchers: HA behind Alertmanager"
//! sets them up; each sink lists a second Alertmanager that is down. The
//! incident trace unfolds in real time:
//!
//! 1. Both start mid-incident: the firings their backfills find, and the
//!    one that comes live, reach the receiver once each (both watchers sent
//!    them: Alertmanager holds one alert per rule, so the labels were the
//!    same).
//! 2. One watcher is stopped (SIGTERM) mid-incident: nothing resolves, and
//!    the next firing comes once, from the other.
//! 3. It is started again (same spool): what fired while it was down it
//!    sends too, and still one page each.
//! 4. The datasource is killed: `went_dark` and `datasource_down` (one
//!    alert, both name the same URL), one page each. Nothing resolves.

use super::{bin, get, prom_server, Proc, Watch};
use crate::common::{self, fixture};
use crate::watch::{import, job, replayed, rewrite, OwnVm, TRACE};
use memcanary::detect::AlertState;
use serde_json::Value;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TEST: &str = "two_watchers_behind_a_real_alertmanager_page_once";

/// What Alertmanager's webhook posted, one body per notification.
struct Hook(Arc<Mutex<Vec<Value>>>);

impl Hook {
    /// Listens on 127.0.0.1; its URL.
    fn start() -> (Hook, String) {
        let (url, got) = crate::watch::receiver();
        (Hook(got), url)
    }

    /// How many notifications carried `rule` with `status`.
    fn pages(&self, rule: &str, status: &str) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|b| {
                b["alerts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|a| a["labels"]["rule"] == rule && a["status"] == status)
            })
            .count()
    }

    /// Every (rule, status) received, for failure messages.
    fn summary(&self) -> Vec<String> {
        let bodies = self.0.lock().unwrap();
        let alerts = bodies
            .iter()
            .flat_map(|b| b["alerts"].as_array().cloned().unwrap_or_default());
        alerts
            .map(|a| {
                format!(
                    "{} {} {}",
                    a["labels"]["rule"], a["labels"]["instance"], a["status"]
                )
            })
            .collect()
    }

    /// Waits up to `secs` for a page of `rule` firing.
    fn wait_firing(&self, secs: u64, rule: &str) {
        assert!(
            super::wait(secs, || self.pages(rule, "firing") > 0),
            "no {rule} page within {secs} s; received: {:?}",
            self.summary()
        );
    }
}

/// A real Alertmanager whose one receiver is a webhook to `hook`; its URL.
fn alertmanager(bin: &Path, dir: &Path, hook: &str) -> (Proc, String) {
    let config = dir.join("alertmanager.yml");
    std::fs::write(
        &config,
        format!(
            "route:\n  receiver: hook\n  group_by: ['alertname', 'instance']\n  group_wait: 1s\n  \
             group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: hook\n    \
             webhook_configs:\n      - url: {hook}\n        send_resolved: true\n"
        ),
    )
    .unwrap();
    let args = [
        format!("--storage.path={}", dir.join("am-data").display()),
        "--cluster.listen-address=".to_string(),
    ];
    prom_server(bin, dir, "alertmanager", &config, &args)
}

/// The active alerts Alertmanager holds: each one's `rule` label.
fn active(am: &str) -> Vec<String> {
    let body = get(&format!("{am}/api/v2/alerts?active=true")).unwrap_or_default();
    let alerts: Vec<Value> = serde_json::from_str(&body).unwrap_or_default();
    let mut rules: Vec<String> = alerts
        .iter()
        .map(|a| a["labels"]["rule"].as_str().unwrap_or_default().to_string())
        .collect();
    rules.sort();
    rules
}

/// A watcher named `name` over `vm` for `job`, alerting to the pair of
/// Alertmanagers `am` and `down` (which does not answer).
fn watcher(dir: &Path, name: &str, vm: &str, job: &str, am: &str, down: &str) -> Watch {
    let config = format!(
        "[watch]\nurl = \"{vm}\"\nselector = '{{job=\"{job}\"}}'\ninterval = \"1s\"\n\
         latency_offset = \"1s\"\ntimeout = \"500ms\"\ndatasource_alert_after = \"30s\"\n\
         spool_dir = \"{}\"\n\n[detector]\nstale_after_intervals = 2\n\n[notify]\nretry_initial = \"200ms\"\nretry_max = \"1s\"\n\n\
         [[notify.sinks]]\nname = \"am\"\nkind = \"alertmanager\"\n\
         urls = [\"{am}\", \"{down}\"]\n",
        dir.join(format!("{name}-spool")).display()
    );
    Watch::start(dir, name, &config)
}

/// Notifications `w` delivered.
fn sent(w: &Watch) -> f64 {
    w.metric("memcanary_notifications_sent_total")
        .unwrap_or(0.0)
}

#[test]
fn two_watchers_behind_a_real_alertmanager_page_once() {
    let Some(vm_bin) = bin(TEST, "MEMCANARY_TEST_VM_BIN", "50-watch.sh") else {
        return;
    };
    let Some(am_bin) = bin(TEST, "MEMCANARY_TEST_ALERTMANAGER_BIN", "56-watch-real.sh") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (hook, hook_url) = Hook::start();
    let (_am, am) = alertmanager(&am_bin, dir, &hook_url);
    // The second Alertmanager of the pair is down throughout.
    let down = format!("http://127.0.0.1:{}", common::free_port());
    let vm = OwnVm::start(&vm_bin);
    let (_, want) = replayed(&fixture(TRACE));
    let at = |rule: &str| {
        want.iter()
            .find(|e| e.rule == rule && e.state == AlertState::Firing)
            .unwrap_or_else(|| panic!("the trace fires {rule}"))
            .at_ms
    };
    // exhaustion_imminent fires 8 s from now: headroom_forecast and
    // mem_available_collapse already hold (the backfill finds them),
    // thrashing and oom_kill come 30 s later.
    let shift = memcanary::clock::wall_ms() + 8_000 - at("exhaustion_imminent");
    let job = job("ha");
    let src = std::fs::read_to_string(fixture(TRACE)).unwrap();
    import(&vm.url, &rewrite(&src, &job, shift, false));

    // 1. Both watchers up: one page per alert.
    let mut a = watcher(dir, "a", &vm.url, &job, &am, &down);
    let b = watcher(dir, "b", &vm.url, &job, &am, &down);
    hook.wait_firing(20, "mem_available_collapse");
    hook.wait_firing(40, "exhaustion_imminent");
    std::thread::sleep(Duration::from_secs(2));
    let so_far = [
        "exhaustion_imminent",
        "headroom_forecast",
        "mem_available_collapse",
    ];
    for rule in so_far {
        assert_eq!(
            hook.pages(rule, "firing"),
            1,
            "{rule}: {:?}",
            hook.summary()
        );
    }
    assert_eq!(
        active(&am),
        so_far,
        "one alert per rule: both sent the same labels"
    );
    for (w, name) in [(&a, "a"), (&b, "b")] {
        assert!(
            sent(w) >= 3.0,
            "watcher {name} sent each alert:\n{}",
            w.metrics()
        );
    }

    // 2. One stopped mid-incident: nothing resolves; the next firing comes once.
    a.proc.terminate();
    hook.wait_firing(45, "thrashing");
    hook.wait_firing(5, "oom_kill");

    // 3. Started again: what fired while it was down it sends too.
    let a = watcher(dir, "a", &vm.url, &job, &am, &down);
    a.wait(
        20,
        "the restarted watcher sends thrashing and oom_kill",
        |w| sent(w) >= 2.0,
    );

    // 4. The datasource dies: went_dark and datasource_down, both from two.
    drop(vm);
    let killed = std::time::Instant::now();
    hook.wait_firing(60, "went_dark");
    hook.wait_firing(40, "datasource_down");
    eprintln!(
        "{TEST}: went_dark and datasource_down {:.1} s after the kill",
        killed.elapsed().as_secs_f64()
    );
    std::thread::sleep(Duration::from_secs(2));
    for (w, name) in [(&a, "a"), (&b, "b")] {
        w.wait(10, &format!("watcher {name} sends datasource_down"), |w| {
            sent(w) >= 4.0
        });
    }
    for rule in ["thrashing", "oom_kill", "went_dark", "datasource_down"] {
        assert_eq!(
            hook.pages(rule, "firing"),
            1,
            "{rule}: {:?}",
            hook.summary()
        );
    }
    let resolved: Vec<String> = hook
        .summary()
        .into_iter()
        .filter(|s| s.ends_with("\"resolved\""))
        .collect();
    assert!(resolved.is_empty(), "nothing resolves: {resolved:?}");
    let held = active(&am);
    for rule in so_far
        .iter()
        .chain(&["datasource_down", "oom_kill", "thrashing", "went_dark"])
    {
        assert_eq!(
            held.iter().filter(|r| r == rule).count(),
            1,
            "{rule} stands once: {held:?}"
        );
    }
}
