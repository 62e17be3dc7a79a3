//! `memcanary watch` end to end on this machine (issue 15): a real
//! node_exporter (Debian `prometheus-node-exporter`,
//! `MEMCANARY_TEST_NODE_EXPORTER_BIN`) scraped every 5 s by a real
//! VictoriaMetrics of the test's own (`MEMCANARY_TEST_VM_BIN`); real memory
//! pressure from a hog in a memory cgroup at its limit, swapping to a
//! swapfile of the test's own, so the host's own PSI, major faults, swap-in
//! and SwapFree move (host headroom stays high: the hog is small next to
//! the host). The real `memcanary watch` notifies a webhook receiver on
//! 127.0.0.1.
//!
//! 1. Under that pressure `psi_rising` fires, naming the host; node_exporter
//!    is then stopped mid-alert: `went_dark` (critical, a warning was
//!    firing) names the host, the datasource still answers (its staleness
//!    markers are no error), and nothing resolves.
//! 2. With a new node_exporter, VictoriaMetrics and watcher, the pressure
//!    rises again and VictoriaMetrics is stopped as soon as the watcher
//!    sees it (`psi_rising` pending): the critical `went_dark` names the
//!    host, not the datasource.
//!
//! Needs root (cgroup, swapon); `common::skip` says why otherwise, and in
//! CI (root, every package installed) it runs.

#![allow(clippy::disallowed_methods)] // a test of real processes waits on the real clock

use crate::common::{self, skip, Swapfile};
use crate::fault::harness::{metric, RealCgroup, Receiver};
use crate::watch_real::Proc;
use serde_json::Value;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TEST: &str = "watch_e2e";
/// The hog's cgroup limit: small next to the host, so only the cgroup is
/// short of memory and host headroom stays high.
const LIMIT: u64 = 256 << 20;
/// Swap the cgroup may use beyond its limit (v1 memsw, v2 swap.max).
const SWAP_EXTRA: u64 = 224 << 20;
/// The hog's size: 128 MiB more than the limit, re-touched every 100 ms,
/// so it keeps swapping without being OOM-killed.
const HOG_MIB: u64 = 384;
/// How fast the hog grows: this many MiB every 100 ms. On this project's
/// machine (kernel 6.18, cgroup v1) the kernel sometimes OOM-kills the hog
/// at its memory limit as it grows, all its pages active and reclaim unable
/// to swap them out in time (dmesg: memsw 269-321 of 480 MiB used): at 16
/// MiB a step in 2 runs of about ten (one of them a CI run), at 4 MiB in 6
/// of 6. A killed hog leaves no pressure to alert on, so a phase whose hog
/// is killed before its alert is run again ([`phase`]).
const HOG_STEP_MIB: u64 = 16;
const SWAPFILE_MIB: usize = 256;
/// The scrape interval.
const SCRAPE: &str = "5s";

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Waits up to `secs` for `ok`.
pub(crate) fn wait(secs: u64, mut ok: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < until {
        if ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

pub(crate) fn get(url: &str) -> Option<String> {
    ureq::get(url)
        .call()
        .ok()
        .and_then(|mut r| r.body_mut().read_to_string().ok())
}

/// A node_exporter on a free port with only what a [`memcanary::signal::Sample`]
/// reads: meminfo, vmstat, pressure.
fn node_exporter(bin: &Path) -> (Proc, String) {
    let addr = format!("127.0.0.1:{}", common::free_port());
    (node_exporter_on(bin, &addr), addr)
}

/// [`node_exporter`] on `addr`.
pub(crate) fn node_exporter_on(bin: &Path, addr: &str) -> Proc {
    let child = Command::new(bin)
        .args([
            "--collector.disable-defaults",
            "--collector.meminfo",
            "--collector.vmstat",
            "--collector.pressure",
        ])
        .arg(format!("--web.listen-address={addr}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let p = Proc(child);
    let url = format!("http://{addr}/metrics");
    assert!(
        wait(20, || get(&url).is_some()),
        "node_exporter did not answer on {addr}"
    );
    let text = get(&url).unwrap_or_default();
    for m in [
        "node_memory_MemAvailable_bytes",
        "node_memory_SwapFree_bytes",
        "node_pressure_memory_waiting_seconds_total",
        "node_vmstat_pswpin",
    ] {
        assert!(text.contains(m), "node_exporter on {addr} lacks {m}");
    }
    p
}

/// A VictoriaMetrics of the test's own, scraping `target` every
/// [`SCRAPE`] as `job`, its storage in `dir`.
fn victoria_metrics(bin: &Path, dir: &Path, job: &str, target: &str) -> (Proc, String) {
    let scrape = dir.join("scrape.yml");
    let text = format!(
        "global:\n  scrape_interval: {SCRAPE}\nscrape_configs:\n  - job_name: {job}\n    static_configs:\n      - targets: [\"{target}\"]\n"
    );
    std::fs::write(&scrape, text).unwrap();
    let url = format!("http://127.0.0.1:{}", common::free_port());
    let child = Command::new(bin)
        .arg(format!(
            "-httpListenAddr={}",
            url.trim_start_matches("http://")
        ))
        .arg(format!("-storageDataPath={}", dir.join("data").display()))
        .arg(format!("-promscrape.config={}", scrape.display()))
        .arg("-search.latencyOffset=1s")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("vm.log")).unwrap())
        .spawn()
        .unwrap();
    let p = Proc(child);
    assert!(
        wait(30, || get(&format!("{url}/health")).is_some()),
        "VictoriaMetrics did not start on {url}"
    );
    (p, url)
}

/// The memory cgroup `name` the hog runs in, allowed [`SWAP_EXTRA`] of
/// swap. Each phase has its own, so nothing phase 1 left charged (its swap
/// cache, a late-exiting hog) can limit phase 2's hog.
fn cgroup(name: &str) -> Option<RealCgroup> {
    let cg = RealCgroup::create(name, LIMIT)?;
    let v1 = cg.dir().join("memory.memsw.limit_in_bytes");
    let (file, v) = if v1.exists() {
        (v1, LIMIT + SWAP_EXTRA)
    } else {
        (cg.dir().join("memory.swap.max"), SWAP_EXTRA)
    };
    // Absent (swapaccount=0): swap is unbounded, the hog still fits the swapfile.
    let _ = std::fs::write(file, v.to_string());
    Some(cg)
}

/// What the hog and its cgroup are doing now, for a failed wait: alive or
/// exited, and the cgroup's memory, swap, limit hits and OOM kills.
fn hog_state(hog: &mut Proc, cg: &RealCgroup) -> String {
    let alive = match hog.0.try_wait() {
        Ok(None) => "running".to_string(),
        Ok(Some(status)) => format!("exited: {status}"),
        Err(e) => format!("unknown: {e}"),
    };
    let files = [
        "memory.usage_in_bytes",
        "memory.memsw.usage_in_bytes",
        "memory.memsw.max_usage_in_bytes",
        "memory.failcnt",
        "memory.oom_control",
        "memory.current",
        "memory.swap.current",
        "memory.events",
    ];
    let stats: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let v = std::fs::read_to_string(cg.dir().join(f)).ok()?;
            Some(format!(
                "{f}: {}",
                v.split_whitespace().collect::<Vec<_>>().join(" ")
            ))
        })
        .collect();
    format!("hog {alive}; {}", stats.join("; "))
}

/// The kernel OOM-killed a phase's hog before what the phase waits for
/// (the watcher's `oom_kill` fired); what the run showed, for the log.
struct HogKilled(String);

/// Waits up to 120 s of the hog's run for `ok`, or until the hog is
/// OOM-killed: then there is no pressure left to alert on, and the test's
/// premise, not the watcher, failed.
fn wait_hog(
    w: &Watch,
    rx: &Receiver,
    (hog, cg): (&mut Proc, &RealCgroup),
    what: &str,
    mut ok: impl FnMut() -> bool,
) -> Result<(), HogKilled> {
    let killed = || !rx.about("oom_kill", "firing").is_empty();
    let done = wait(120, || ok() || killed());
    let mut state = || format!("{}\n{}", hog_state(hog, cg), w.context(rx));
    if killed() {
        return Err(HogKilled(format!(
            "{what}: the hog was OOM-killed first\n{}",
            state()
        )));
    }
    if !done {
        panic!("{what}: not within 120 s of the hog's start\n{}", state());
    }
    Ok(())
}

/// Runs a phase with a memory cgroup of its own until its hog lives long
/// enough for its alert, at most three times; each run makes its whole
/// stack afresh (node_exporter, VictoriaMetrics, watcher, receiver).
fn phase(name: &str, mut run: impl FnMut(&RealCgroup) -> Result<(), HogKilled>) {
    for attempt in 1..=3 {
        let cg = cgroup(&format!("{name}-{attempt}")).expect("the first memory cgroup was made");
        match run(&cg) {
            Ok(()) => return,
            Err(HogKilled(why)) => eprintln!(
                "NOTE watch_e2e: {name}, run {attempt}: the kernel OOM-killed the hog before \
                 the alert; the phase runs again on a fresh stack\n{why}"
            ),
        }
    }
    panic!("watch_e2e {name}: the hog was OOM-killed in each of 3 runs");
}

/// `examples/hog` in `cg`, growing to [`HOG_MIB`] and re-touching it all.
fn hog(cg: &RealCgroup) -> Proc {
    // target/<profile>/deps/it-<hash> -> target/<profile>/examples/hog
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("examples/hog");
    assert!(
        bin.exists(),
        "{} missing: `cargo build --example hog` (scripts/test.d/30-kernel.sh does)",
        bin.display()
    );
    let mut p = Proc(
        Command::new(bin)
            .args([&HOG_STEP_MIB.to_string(), "100", &HOG_MIB.to_string()])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    std::fs::write(cg.dir().join("cgroup.procs"), p.0.id().to_string()).unwrap();
    writeln!(p.0.stdin.as_mut().unwrap(), "go").unwrap();
    p
}

/// The real `memcanary watch` with its log in a file.
struct Watch {
    _proc: Proc,
    log: PathBuf,
    metrics: String,
}

impl Watch {
    /// Watches `job` on `vm` every 2 s, alerts to `rx`. The detector's
    /// windows are shortened to the test's time scale (5 s scrapes, a
    /// pressure that lasts a minute); the thresholds are the defaults.
    fn start(dir: &Path, vm: &str, job: &str, rx: &Receiver) -> Watch {
        let listen = format!("127.0.0.1:{}", common::free_port());
        let config = dir.join("watch.toml");
        let text = format!(
            "[watch]\nurl = \"{vm}\"\nselector = '{{job=\"{job}\"}}'\ninterval = \"2s\"\n\
             latency_offset = \"1s\"\ntimeout = \"1500ms\"\ndatasource_alert_after = \"30s\"\n\
             metrics_listen = \"{listen}\"\nspool_dir = \"{spool}\"\n\n\
             [detector]\nrate_window = \"20s\"\ntrend_window = \"30s\"\nrecent_window = \"10s\"\n\n\
             [detector.psi_rising]\nfor = \"10s\"\n\n{notify}",
            spool = dir.join("spool").display(),
            notify = rx.notify_table(),
        );
        std::fs::write(&config, text).unwrap();
        let log = dir.join("watch.log");
        let child = common::spawn_logged(
            &["watch".as_ref(), "--config".as_ref(), config.as_ref()],
            &log,
        );
        Watch {
            _proc: Proc(child),
            log,
            metrics: format!("http://{listen}/metrics"),
        }
    }

    /// The value of `series` in `/metrics`.
    fn metric(&self, series: &str) -> Option<f64> {
        metric(&get(&self.metrics)?, series)
    }

    /// What a failed wait shows: the receiver's bodies, the log's end and
    /// the host's pressure and swap now (was the hog still making any?).
    fn context(&self, rx: &Receiver) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        let bodies: Vec<String> = rx.bodies().iter().map(brief).collect();
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_else(|e| format!("{p}: {e}\n"));
        format!(
            "received:\n  {}\nwatch log (last lines, newest first):\n  {}\n\
             /proc/pressure/memory:\n{}/proc/swaps:\n{}",
            bodies.join("\n  "),
            tail.join("\n  "),
            read("/proc/pressure/memory"),
            read("/proc/swaps"),
        )
    }

    /// Waits up to `secs` for `ok`, else panics with `what` and the context.
    fn wait(&self, rx: &Receiver, secs: u64, what: &str, ok: impl FnMut() -> bool) {
        if !wait(secs, ok) {
            panic!("{what}: not within {secs} s\n{}", self.context(rx));
        }
    }

    /// Waits for a firing of `rule` about `host`.
    fn firing(&self, rx: &Receiver, secs: u64, rule: &str, host: &str) -> Value {
        self.wait(rx, secs, &format!("{rule} firing about {host}"), || {
            firing_about(rx, rule, host).is_some()
        });
        firing_about(rx, rule, host).unwrap()
    }
}

/// The first firing of `rule` about `host` received.
fn firing_about(rx: &Receiver, rule: &str, host: &str) -> Option<Value> {
    rx.about(rule, "firing")
        .into_iter()
        .find(|v| v["alert"]["instance"] == host)
}

/// One received body on a line.
fn brief(v: &Value) -> String {
    let a = &v["alert"];
    format!(
        "{} {} {} {} {}",
        v["status"], a["rule"], a["severity"], a["instance"], a["values"]
    )
}

/// The bodies with status `resolved`.
fn resolved(rx: &Receiver) -> Vec<String> {
    rx.bodies()
        .iter()
        .filter(|v| v["status"] == "resolved")
        .map(brief)
        .collect()
}

fn elapsed(since: Instant) -> f64 {
    since.elapsed().as_secs_f64()
}

#[test]
fn watch_pages_went_dark_for_a_real_host_under_real_pressure_when_its_exporter_or_datasource_stops()
{
    let need = |var: &str, script: &str| {
        let v = std::env::var_os(var).map(PathBuf::from);
        if v.is_none() {
            skip(TEST, &format!("{var} unset ({script} installs it)"));
        }
        v
    };
    if !is_root() {
        return skip(
            TEST,
            "needs root (memory cgroup, swapon); scripts/test.sh runs it as root in CI",
        );
    }
    let _pressure = crate::common::host_pressure();
    let Some(ne_bin) = need(
        "MEMCANARY_TEST_NODE_EXPORTER_BIN",
        "scripts/test.d/55-node-exporter.sh",
    ) else {
        return;
    };
    let Some(vm_bin) = need("MEMCANARY_TEST_VM_BIN", "scripts/test.d/50-watch.sh") else {
        return;
    };
    if cgroup("e2e").is_none() {
        return skip(
            TEST,
            "no writable memory cgroup (v1 /sys/fs/cgroup/memory or v2 with memory enabled)",
        );
    }
    let _swap = match Swapfile::enable("e2e", SWAPFILE_MIB) {
        Ok(s) => s,
        Err(e) => return skip(TEST, &format!("swapon refused on this machine: {e}")),
    };
    phase("exporter", |cg| {
        exporter_stops_mid_alert(&ne_bin, &vm_bin, cg)
    });
    phase("datasource", |cg| {
        datasource_stops_as_pressure_rises(&ne_bin, &vm_bin, cg)
    });
}

/// Phase 1: `psi_rising` fires, node_exporter stops, `went_dark` follows
/// and nothing resolves.
fn exporter_stops_mid_alert(
    ne_bin: &Path,
    vm_bin: &Path,
    cg: &RealCgroup,
) -> Result<(), HogKilled> {
    let dir = tempfile::tempdir().unwrap();
    let job = format!("memcanary-e2e-{}", std::process::id());
    let (mut ne, host) = node_exporter(ne_bin);
    let (_vm, vm) = victoria_metrics(vm_bin, dir.path(), &job, &host);
    let rx = Receiver::start();
    let w = Watch::start(dir.path(), &vm, &job, &rx);
    w.wait(&rx, 30, "the watcher sees the host", || {
        w.metric("memcanary_watch_hosts") == Some(1.0)
    });
    std::thread::sleep(Duration::from_secs(10)); // calm samples first
    let start = Instant::now();
    let mut hog = hog(cg);
    wait_hog(&w, &rx, (&mut hog, cg), "psi_rising firing", || {
        firing_about(&rx, "psi_rising", &host).is_some()
    })?;
    let firing = firing_about(&rx, "psi_rising", &host).unwrap();
    eprintln!(
        "RESULT watch_e2e: hog start -> psi_rising firing {:.1} s: {}",
        elapsed(start),
        brief(&firing)
    );
    let values = &firing["alert"]["values"];
    assert!(
        values["headroom_ratio"].as_f64().unwrap() > 0.5,
        "host headroom stays high: only the cgroup is short: {values}"
    );
    assert!(
        values["swap_free_bytes"].as_u64() < values["swap_total_bytes"].as_u64(),
        "the cgroup swaps: {values}"
    );

    eprintln!("RESULT watch_e2e: {}", hog_state(&mut hog, cg));
    ne.stop();
    let stopped = Instant::now();
    let dark = w.firing(&rx, 60, "went_dark", &host);
    eprintln!(
        "RESULT watch_e2e: node_exporter stopped -> went_dark {:.1} s: {}",
        elapsed(stopped),
        brief(&dark)
    );
    assert_eq!(
        dark["alert"]["severity"], "critical",
        "a warning was firing: {dark}"
    );
    assert_eq!(
        w.metric("memcanary_watch_datasource_up"),
        Some(1.0),
        "VictoriaMetrics still answers: one host's staleness markers are no datasource error\n{}",
        w.context(&rx)
    );
    std::thread::sleep(Duration::from_secs(20));
    assert_eq!(
        resolved(&rx),
        Vec::<String>::new(),
        "nothing resolves without fresh samples"
    );
    assert!(
        rx.about("datasource_down", "firing").is_empty(),
        "the datasource answers\n{}",
        w.context(&rx)
    );
    assert_eq!(w.metric("memcanary_watch_datasource_up"), Some(1.0));
    Ok(())
}

/// Phase 2: the pressure rises again under a new stack; VictoriaMetrics is
/// stopped as soon as the watcher sees it; the critical names the host.
fn datasource_stops_as_pressure_rises(
    ne_bin: &Path,
    vm_bin: &Path,
    cg: &RealCgroup,
) -> Result<(), HogKilled> {
    let dir = tempfile::tempdir().unwrap();
    let job = format!("memcanary-e2e2-{}", std::process::id());
    let (_ne, host) = node_exporter(ne_bin);
    let (mut vm_proc, vm) = victoria_metrics(vm_bin, dir.path(), &job, &host);
    let rx = Receiver::start();
    let w = Watch::start(dir.path(), &vm, &job, &rx);
    let pending = "memcanary_watch_rule_hosts{rule=\"psi_rising\",state=\"pending\"}";
    let firing = "memcanary_watch_rule_hosts{rule=\"psi_rising\",state=\"firing\"}";
    let rising =
        |w: &Watch| w.metric(pending).unwrap_or(0.0) + w.metric(firing).unwrap_or(0.0) > 0.0;
    w.wait(&rx, 30, "the watcher sees the host", || {
        w.metric("memcanary_watch_hosts") == Some(1.0)
    });
    // Calm first, unless other work (another kernel test of this run) keeps
    // the host under pressure: then VictoriaMetrics stops while it lasts.
    if !wait(30, || !rising(&w)) {
        eprintln!("NOTE watch_e2e: the host is under pressure from other work before the hog");
    }
    let start = Instant::now();
    let mut hog = hog(cg);
    wait_hog(&w, &rx, (&mut hog, cg), "psi_rising pending", || rising(&w))?;
    vm_proc.stop();
    let stopped = Instant::now();
    eprintln!(
        "RESULT watch_e2e: hog start -> psi_rising pending {:.1} s; VictoriaMetrics stopped",
        stopped.duration_since(start).as_secs_f64()
    );
    let dark = w.firing(&rx, 60, "went_dark", &host);
    eprintln!(
        "RESULT watch_e2e: VictoriaMetrics stopped -> went_dark {:.1} s: {}",
        elapsed(stopped),
        brief(&dark)
    );
    assert_eq!(
        dark["alert"]["severity"], "critical",
        "the critical names the host: {dark}"
    );
    assert_eq!(
        resolved(&rx),
        Vec::<String>::new(),
        "nothing resolves without fresh samples"
    );
    drop(w);
    Ok(())
}
