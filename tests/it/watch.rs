//! `memcanary watch` against a real VictoriaMetrics (Debian's
//! `victoria-metrics`, started by `scripts/test.d/50-watch.sh`).
//!
//! - Parity: a recorded trace imported with `/api/v1/import` (shifted to
//!   end before now), the watcher driven cycle by cycle on a virtual clock
//!   with real queries at explicit times: it fires what `replay` fires on
//!   the same trace, each within one cycle, at 15 s and 30 s scrapes.
//! - End to end: the real `memcanary watch` over a trace unfolding in real
//!   time (imported ahead of now, read as time passes) notifies a local
//!   receiver; then its VictoriaMetrics is killed while the host's
//!   pressure is rising, and the critical that follows names the host.

use crate::common::{self, fixture, skip};
use memcanary::detect::{AlertState, Detector, DetectorConfig, Dur, Event};
use memcanary::watch::{Datasource, WatchConfig, Watcher};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) const TRACE: &str = "traces/incident/export-incident-15s.jsonl";

/// `text` (an export) with `job` set, times moved by `shift_ms`, and,
/// unless `nulls`, the staleness markers dropped (the import refuses them).
pub(crate) fn rewrite(text: &str, job: &str, shift_ms: i64, nulls: bool) -> String {
    let mut out = String::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut v: Value = serde_json::from_str(line).unwrap();
        let vals = v["values"].as_array().cloned().unwrap();
        let ts = v["timestamps"].as_array().cloned().unwrap();
        let (vals, ts): (Vec<Value>, Vec<Value>) = vals
            .into_iter()
            .zip(ts)
            .filter(|(x, _)| nulls || !x.is_null())
            .map(|(x, t)| (x, Value::from(t.as_i64().unwrap() + shift_ms)))
            .unzip();
        if vals.is_empty() {
            continue;
        }
        v["values"] = vals.into();
        v["timestamps"] = ts.into();
        v["metric"]["job"] = job.into();
        out.push_str(&v.to_string());
        out.push('\n');
    }
    out
}

/// The first and last timestamp of an export.
fn span(text: &str) -> (i64, i64) {
    let all: Vec<i64> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .flat_map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["timestamps"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_i64().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    (*all.iter().min().unwrap(), *all.iter().max().unwrap())
}

/// The suite's VictoriaMetrics (scripts/test.d/50-watch.sh), or `None`
/// with `test`'s skip said.
pub(crate) fn vm_url(test: &str) -> Option<String> {
    let url = std::env::var("MEMCANARY_TEST_VM_URL").ok();
    if url.is_none() {
        skip(
            test,
            "MEMCANARY_TEST_VM_URL unset (scripts/test.d/50-watch.sh starts VictoriaMetrics)",
        );
    }
    url
}

pub(crate) fn import(vm: &str, body: &str) {
    let resp = ureq::post(&format!("{vm}/api/v1/import"))
        .send(body)
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    ureq::get(&format!("{vm}/internal/force_flush"))
        .call()
        .unwrap();
}

/// A unique job name, so runs and scrape versions never see each other.
pub(crate) fn job(tag: &str) -> String {
    format!(
        "watch-it-{tag}-{}-{}",
        std::process::id(),
        memcanary::clock::wall_ms()
    )
}

/// What replay fires on the export at `path` (pending left out).
pub(crate) fn replayed(path: &Path) -> (String, Vec<Event>) {
    let hosts = memcanary::source::recorded::load(path).unwrap();
    let h = &hosts[0];
    let mut d = Detector::new(&DetectorConfig::default());
    let mut out = Vec::new();
    for s in &h.samples {
        d.feed(s, &mut out).unwrap();
    }
    d.advance_to(h.end_ms, &mut out);
    out.retain(|e| e.state != AlertState::Pending);
    (h.instance.clone(), out)
}

fn watch_cfg(vm: &str, job: &str, interval_ms: i64) -> WatchConfig {
    WatchConfig {
        url: vm.to_string(),
        selector: format!("{{job=\"{job}\"}}"),
        interval: Dur::from_millis(interval_ms),
        latency_offset: Dur::from_secs(0),
        ..WatchConfig::default()
    }
}

/// The trace at one scrape interval: imported under a fresh job, then the
/// watcher driven every `every_ms` over it; each event with the cycle time
/// it came out at.
fn parity(vm: &str, tag: &str, every_ms: i64, dir: &Path) {
    let mut src = std::fs::read_to_string(fixture(TRACE)).unwrap();
    if every_ms == 30_000 {
        let p = dir.join("30s.jsonl");
        crate::rules_parity::downsample_30s(&fixture(TRACE), &p);
        src = std::fs::read_to_string(&p).unwrap();
    }
    let (_, last) = span(&src);
    let shift = memcanary::clock::wall_ms() - 600_000 - last;
    let job = job(tag);
    import(vm, &rewrite(&src, &job, shift, false));
    let shifted = dir.join(format!("{tag}.jsonl"));
    std::fs::write(&shifted, rewrite(&src, &job, shift, true)).unwrap();
    let (instance, want) = replayed(&shifted);
    assert!(want.len() >= 5, "{tag}: the trace fires: {want:?}");

    let cfg = watch_cfg(vm, &job, every_ms);
    let ds = Datasource::build(&cfg).unwrap();
    let mut w = Watcher::new(&cfg, &DetectorConfig::default(), ds.name(), 1);
    let (first, last) = span(&rewrite(&src, &job, shift, true));
    let mut got = Vec::new();
    let mut t = first;
    while t <= last + 180_000 {
        let mut out = Vec::new();
        let outcome = w.cycle(t, |f, win, at| ds.fetch(f, win, at), &mut out);
        assert!(
            matches!(outcome, memcanary::watch::Outcome::Ok { .. }),
            "{tag}: {outcome:?}"
        );
        for (host, e) in out
            .into_iter()
            .filter(|(_, e)| e.state != AlertState::Pending)
        {
            assert_eq!(host, instance);
            got.push((t, e));
        }
        t += every_ms;
    }
    let key = |e: &Event| (e.rule, e.state.as_str(), e.at_ms);
    let got_keys: Vec<_> = got.iter().map(|(_, e)| key(e)).collect();
    let want_keys: Vec<_> = want.iter().map(key).collect();
    assert_eq!(got_keys, want_keys, "{tag}: watch fires what replay fires");
    for (cycle, e) in &got {
        assert!(
            *cycle >= e.at_ms && *cycle - e.at_ms < every_ms,
            "{tag}: {} {} at {} came out {} ms later, more than one cycle",
            e.rule,
            e.state.as_str(),
            e.at_ms,
            cycle - e.at_ms
        );
    }
    eprintln!(
        "{tag}: {} events, each within one cycle of its sample",
        got.len()
    );
}

#[test]
fn watch_fires_what_replay_fires_within_one_cycle_at_15s_and_30s() {
    let Some(vm) = vm_url("watch_fires_what_replay_fires_within_one_cycle_at_15s_and_30s") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    parity(&vm, "15s", 15_000, dir.path());
    parity(&vm, "30s", 30_000, dir.path());
}

/// A VictoriaMetrics of the test's own, to kill.
pub(crate) struct OwnVm {
    child: Child,
    pub(crate) url: String,
    _dir: tempfile::TempDir,
}

impl OwnVm {
    pub(crate) fn start(bin: &Path) -> OwnVm {
        let dir = tempfile::tempdir().unwrap();
        let port = common::free_port();
        let child = Command::new(bin)
            .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
            .arg(format!(
                "-storageDataPath={}",
                dir.path().join("data").display()
            ))
            .arg("-retentionPeriod=100y")
            .arg("-search.latencyOffset=1s")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let vm = OwnVm {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        };
        for _ in 0..100 {
            if ureq::get(&format!("{}/health", vm.url)).call().is_ok() {
                return vm;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("VictoriaMetrics did not start on {}", vm.url);
    }
}

impl Drop for OwnVm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The webhook bodies a tiny_http server received.
pub(crate) fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", server.server_addr().to_ip().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let keep = got.clone();
    std::thread::spawn(move || {
        for mut req in server.incoming_requests() {
            let mut body = String::new();
            let _ = req.as_reader().read_to_string(&mut body);
            if let Ok(v) = serde_json::from_str::<Value>(&body) {
                keep.lock().unwrap().push(v);
            }
            let _ = req.respond(tiny_http::Response::empty(200));
        }
    });
    (url, got)
}

/// Waits up to `secs` for an alert matching `pred`.
pub(crate) fn wait_for(
    got: &Arc<Mutex<Vec<Value>>>,
    secs: u64,
    pred: impl Fn(&Value) -> bool,
) -> Option<Value> {
    for _ in 0..secs * 10 {
        if let Some(v) = got.lock().unwrap().iter().find(|v| pred(v)) {
            return Some(v.clone());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

pub(crate) struct Watch(pub(crate) Child);

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn watch_notifies_live_and_names_the_host_when_its_datasource_dies_under_pressure() {
    let test = "watch_notifies_live_and_names_the_host_when_its_datasource_dies_under_pressure";
    let Some(bin) = std::env::var_os("MEMCANARY_TEST_VM_BIN").map(PathBuf::from) else {
        return skip(
            test,
            "MEMCANARY_TEST_VM_BIN unset (scripts/test.d/50-watch.sh installs victoria-metrics)",
        );
    };
    let vm = OwnVm::start(&bin);
    let src = std::fs::read_to_string(fixture(TRACE)).unwrap();
    let (instance, want) = replayed(&fixture(TRACE));
    let first_firing = want.iter().find(|e| e.state == AlertState::Firing).unwrap();
    // The first firing sample lands 20 s from now: the watcher reads the
    // trace as it unfolds.
    let shift = memcanary::clock::wall_ms() + 20_000 - first_firing.at_ms;
    let job = job("live");
    import(&vm.url, &rewrite(&src, &job, shift, false));

    let dir = tempfile::tempdir().unwrap();
    let (hook, got) = receiver();
    let extra = "datasource_alert_after = \"30s\"\ntimeout = \"500ms\"\n";
    let _watch = spawn_watch(dir.path(), &vm.url, &job, &hook, extra);

    let firing = wait_for(&got, 60, |v| {
        v["status"] == "firing" && v["alert"]["rule"] == first_firing.rule
    })
    .unwrap_or_else(|| panic!("no {} firing", first_firing.rule));
    assert_eq!(firing["alert"]["instance"], instance.as_str());
    assert_eq!(
        firing["alert"]["at_ms"],
        first_firing.at_ms + shift,
        "the same sample as replay"
    );
    let late = memcanary::clock::wall_ms() - (first_firing.at_ms + shift);
    assert!(
        late < 1_000 + 1_000 + 3_000,
        "within a cycle (+ latency offset, delivery): {late} ms"
    );

    // The host's pressure is rising; its datasource dies.
    let vm_url = vm.url.clone();
    drop(vm);
    let killed = memcanary::clock::wall_ms();
    let dark = wait_for(&got, 90, |v| v["alert"]["rule"] == "went_dark")
        .expect("went_dark after the datasource died");
    assert_eq!(
        dark["alert"]["instance"],
        instance.as_str(),
        "the critical names the host"
    );
    assert_eq!(dark["alert"]["severity"], "critical");
    assert_eq!(dark["status"], "firing");
    eprintln!(
        "went_dark {} s after the datasource died",
        (memcanary::clock::wall_ms() - killed) / 1000
    );
    let down = wait_for(&got, 30, |v| v["alert"]["rule"] == "datasource_down")
        .expect("datasource_down after datasource_alert_after");
    assert_eq!(
        down["alert"]["instance"],
        vm_url.as_str(),
        "the self-alert names the datasource"
    );
    let resolved: Vec<_> = got
        .lock()
        .unwrap()
        .iter()
        .filter(|v| v["status"] == "resolved")
        .cloned()
        .collect();
    assert!(
        resolved.is_empty(),
        "nothing resolves without fresh samples: {resolved:?}"
    );
}

/// `memcanary watch --config FILE` over `vm` for `job`, alerts to `hook`,
/// dedupe state in `dir/spool`, `extra` lines added to `[watch]`.
pub(crate) fn spawn_watch(dir: &Path, vm: &str, job: &str, hook: &str, extra: &str) -> Watch {
    spawn_watch_sink(dir, vm, job, hook, extra, "")
}

/// [`spawn_watch`] with `sink` lines added to the webhook sink's table.
pub(crate) fn spawn_watch_sink(
    dir: &Path,
    vm: &str,
    job: &str,
    hook: &str,
    extra: &str,
    sink: &str,
) -> Watch {
    let config = dir.join("watch.toml");
    let text = format!(
        "[watch]\nurl = \"{vm}\"\nselector = '{{job=\"{job}\"}}'\ninterval = \"1s\"\nlatency_offset = \"1s\"\n{extra}spool_dir = \"{}\"\n\n[[notify.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{hook}\"\n{sink}",
        dir.join("spool").display()
    );
    std::fs::write(&config, text).unwrap();
    let child = common::memcanary_process()
        .args(["watch", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    Watch(child)
}

#[test]
fn a_restarted_watch_does_not_page_again() {
    let test = "a_restarted_watch_does_not_page_again";
    let Some(vm) = crate::watch::vm_url(test) else {
        return;
    };
    let src = std::fs::read_to_string(fixture(TRACE)).unwrap();
    let (instance, want) = replayed(&fixture(TRACE));
    // The trace's last firing is 5 s old: the host is mid-incident.
    let last_firing = want
        .iter()
        .filter(|e| e.rule != "went_dark")
        .map(|e| e.at_ms)
        .max()
        .unwrap();
    let shift = memcanary::clock::wall_ms() - 5_000 - last_firing;
    let job = job("restart");
    import(&vm, &rewrite(&src, &job, shift, false));
    let dir = tempfile::tempdir().unwrap();
    let (hook, got) = receiver();
    let listen = format!("127.0.0.1:{}", common::free_port());
    let first = spawn_watch(dir.path(), &vm, &job, &hook, "");
    let firing =
        wait_for(&got, 20, |v| v["alert"]["rule"] == "thrashing").expect("thrashing fires");
    assert_eq!(firing["alert"]["instance"], instance.as_str());
    std::thread::sleep(Duration::from_secs(2));
    let before = got.lock().unwrap().len();
    drop(first);
    let metrics = format!("metrics_listen = \"{listen}\"\n");
    let _second = spawn_watch(dir.path(), &vm, &job, &hook, &metrics);
    std::thread::sleep(Duration::from_secs(6));
    let metrics = http_get(&format!("http://{listen}/metrics"));
    for want in [
        "memcanary_watch_hosts 1",
        "memcanary_watch_rule_hosts{rule=\"thrashing\",state=\"firing\"} 1",
        "memcanary_watch_datasource_up 1",
        "memcanary_watch_cycles_total{outcome=\"ok\"}",
        "memcanary_watch_cycle_duration_seconds ",
    ] {
        assert!(metrics.contains(want), "/metrics lacks {want}:\n{metrics}");
    }
    assert!(http_get(&format!("http://{listen}/health")).starts_with("ok: last cycle"));
    let after: Vec<Value> = got.lock().unwrap()[before..].to_vec();
    let again: Vec<_> = after
        .iter()
        .filter(|v| v["alert"]["rule"] != "went_dark")
        .collect();
    assert!(again.is_empty(), "paged again after a restart: {again:?}");
}

fn http_get(url: &str) -> String {
    ureq::get(url)
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap()
}

/// `memcanary COMMAND --config FILE` with `text` as the file: exit code,
/// stdout, stderr.
fn with_config(command: &str, text: &str) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.toml");
    std::fs::write(&path, text).unwrap();
    let out = common::memcanary()
        .args([command, "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn check_config_knows_watch_and_warns_about_a_local_datasource() {
    let local = "[watch]\nurl = \"http://localhost:8428\"\nselector = '{job=\"node\"}'\n";
    let (code, stdout, _) = with_config("check-config", local);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("# advice: watch.url \"localhost\" is on this machine"),
        "{stdout}"
    );
    let (code, _, stderr) = with_config(
        "check-config",
        "[watch]\nurl = \"http://vm:8428\"\ninterval = \"0s\"\n",
    );
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("watch.interval = 0s: must be between 1s and 10m"),
        "{stderr}"
    );
    let (code, _, stderr) = with_config("watch", "[watch]\nselector = '{job=\"node\"}'\n");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("watch.url = \"\": required"), "{stderr}");
}
