//! Issue 14's delivery faults through the real dispatcher: a full spool
//! keeps state changes over reminders (item 7), a full disk says what was
//! not persisted and leaves no temporary files (item 8), shutdown honours
//! its deadline against a hung receiver (item 9), and the spool is read back
//! with bounded memory (item 15).

#![allow(clippy::disallowed_methods)] // these tests wait on the real clock

use crate::notify::faults::Hang;
use memcanary::detect::Severity;
use memcanary::notify::{Alert, Dispatcher, NotifyConfig, State};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn config(notify: &str, url: &str) -> NotifyConfig {
    let text = format!(
        "[notify]\n{notify}\n[[notify.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{url}\"\n"
    );
    memcanary::notify::config::notify_table(&text).unwrap()
}

fn alert(rule: &str, state: State, at_ms: i64) -> Alert {
    let mut a = Alert::test("web-1", at_ms);
    a.is_test = false;
    a.rule = rule.into();
    a.severity = Severity::Warning;
    a.state = state;
    a
}

/// A URL nobody listens on (connection refused).
fn down_url() -> String {
    format!("http://127.0.0.1:{}/hook", crate::common::free_port())
}

/// The jobs in a spool directory, as (state, repeat), oldest first (a job
/// delivered or evicted between the listing and its read is gone: skipped).
fn spooled(dir: &Path) -> Vec<(String, u64)> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    names
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .map(|bytes| {
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            let a = &v["alert"];
            (
                a["state"].as_str().unwrap().to_string(),
                a["repeat"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let end = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_full_spool_evicts_reminders_before_the_firing_and_the_resolve() {
    let spool = tempfile::tempdir().unwrap();
    let cfg = config(
        "spool_capacity = 3\nretry_initial = \"50ms\"\nretry_max = \"200ms\"",
        &format!("{}\"\nrepeat_interval = \"50ms", down_url()),
    );
    let d = Dispatcher::build(&cfg, Some(spool.path())).unwrap();
    d.send(alert("swap_low", State::Firing, 1_000));
    // Reminders pile up behind the undeliverable firing and overflow.
    wait_until("reminders to overflow the spool", || {
        d.stats().sinks[0].dropped >= 4
    });
    d.send(alert("swap_low", State::Resolved, 2_000));
    wait_until("the resolve", || {
        spooled(&spool.path().join("hook"))
            .iter()
            .any(|(s, _)| s == "resolved")
    });
    let stats = d.shutdown(Duration::ZERO);
    let left = spooled(&spool.path().join("hook"));
    eprintln!(
        "left in the spool: {left:?}; dropped {}",
        stats.sinks[0].dropped
    );
    assert!(
        left.contains(&("firing".to_string(), 0)),
        "the original firing was evicted: {left:?}"
    );
    assert!(left.contains(&("resolved".to_string(), 0)), "{left:?}");
    assert!(left.len() <= 3, "{left:?}");
}

#[test]
fn shutdown_abandons_a_hung_request_at_its_deadline_and_keeps_the_job() {
    let hang = Hang::start();
    let spool = tempfile::tempdir().unwrap();
    let cfg = config("request_timeout = \"10s\"", &hang.url("/hook"));
    let d = Dispatcher::build(&cfg, Some(spool.path())).unwrap();
    d.send(alert("thrashing", State::Firing, 1_000));
    d.send(alert("swap_low", State::Firing, 1_001));
    hang.wait_accepted(1);
    let t = Instant::now();
    let stats = d.shutdown(Duration::from_secs(1));
    let took = t.elapsed();
    eprintln!(
        "shutdown with a 1 s deadline and a hung 10 s request took {took:?}; {:?}",
        stats.sinks[0]
    );
    assert!(
        took < Duration::from_secs(3),
        "shutdown waited out the hung request: {took:?}"
    );
    assert_eq!(hang.accepted(), 1, "an attempt started after the deadline");
    assert_eq!(
        (stats.sinks[0].pending, stats.sinks[0].spooled),
        (2, 2),
        "{stats:?}"
    );
    assert_eq!(spooled(&spool.path().join("hook")).len(), 2);
}

#[test]
fn stale_temporary_files_are_removed_at_start() {
    let spool = tempfile::tempdir().unwrap();
    let hook = spool.path().join("hook");
    std::fs::create_dir_all(&hook).unwrap();
    std::fs::write(hook.join("00000000000000000007.json.tmp"), b"").unwrap();
    std::fs::write(spool.path().join("state.json.tmp"), b"{").unwrap();
    let d = Dispatcher::build(&config("", &down_url()), Some(spool.path())).unwrap();
    d.shutdown(Duration::ZERO);
    assert!(!hook.join("00000000000000000007.json.tmp").exists());
    assert!(!spool.path().join("state.json.tmp").exists());
}

#[test]
fn a_huge_spool_file_is_set_aside_unread() {
    let spool = tempfile::tempdir().unwrap();
    let hook = spool.path().join("hook");
    std::fs::create_dir_all(&hook).unwrap();
    // 300 MB of nothing, sparse: reading it whole is the fault.
    let big = hook.join("00000000000000000001.json");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(300 << 20)
        .unwrap();
    let before = peak_rss_kib();
    let d = Dispatcher::build(&config("", &down_url()), Some(spool.path())).unwrap();
    let stats = d.shutdown(Duration::ZERO);
    let grew_mib = (peak_rss_kib() - before) / 1024;
    eprintln!("loading a spool with a 300 MB file raised the peak RSS by {grew_mib} MiB");
    assert!(
        grew_mib < 100,
        "the 300 MB file was read whole ({grew_mib} MiB)"
    );
    assert_eq!(stats.sinks[0].pending, 0);
    assert!(!big.exists() && big.with_extension("bad").exists());
}

/// This process's peak resident set (VmHWM), KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A tmpfs of `kib` KiB mounted on `dir` (root only), unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, kib: u32) -> Option<Tmpfs> {
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// Fills the filesystem holding `dir` until a write fails.
fn fill(dir: &Path) {
    use std::io::Write as _;
    let mut f = std::fs::File::create(dir.join("filler")).unwrap();
    while f
        .write_all(&[0u8; 4096])
        .and_then(|()| f.sync_all())
        .is_ok()
    {}
}

#[test]
fn on_a_full_disk_the_stats_say_what_was_not_persisted_and_no_tmp_leaks() {
    let test = "on_a_full_disk_the_stats_say_what_was_not_persisted_and_no_tmp_leaks";
    let d = tempfile::tempdir().unwrap();
    let Some(_fs) = Tmpfs::mount(d.path(), 64) else {
        return crate::common::skip(test, "cannot mount a tmpfs (needs root)");
    };
    let cfg = config(
        "retry_initial = \"50ms\"\nretry_max = \"200ms\"",
        &down_url(),
    );
    let disp = Dispatcher::build(&cfg, Some(d.path())).unwrap();
    disp.send(alert("swap_low", State::Firing, 1_000));
    wait_until("the first job on disk", || {
        spooled(&d.path().join("hook")).len() == 1
    });
    fill(d.path());
    for i in 0..5 {
        disp.send(alert(&format!("rule_{i}"), State::Firing, 2_000 + i));
    }
    wait_until("six pending", || disp.stats().sinks[0].pending == 6);
    let stats = disp.shutdown(Duration::ZERO);
    let s = &stats.sinks[0];
    eprintln!("full disk: pending {}, spooled {}", s.pending, s.spooled);
    assert_eq!((s.pending, s.spooled), (6, 1), "{s:?}");
    let tmp: Vec<_> = walk(d.path())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "tmp"))
        .collect();
    assert!(tmp.is_empty(), "temporary files leaked: {tmp:?}");
}

fn walk(p: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(p).map_or(Vec::new(), |rd| {
        rd.flatten()
            .flat_map(|e| {
                let p = e.path();
                if p.is_dir() {
                    walk(&p)
                } else {
                    vec![p]
                }
            })
            .collect()
    })
}

#[test]
fn after_a_restart_reminders_carry_the_values_of_the_confirming_firing() {
    use crate::notify::receiver::Receiver;
    let spool = tempfile::tempdir().unwrap();
    let rx = Receiver::start(false);
    let cfg = config(
        "",
        &format!("{}\"\nrepeat_interval = \"100ms", rx.url("/hook")),
    );
    let d = Dispatcher::build(&cfg, Some(spool.path())).unwrap();
    let mut old = alert("swap_low", State::Firing, 1_000);
    old.values.headroom_bytes = 111;
    d.send(old);
    rx.wait_for("the firing", |r| !r.is_empty());
    d.shutdown(Duration::ZERO);
    let before = rx.received().len();

    // Restarted: the detector finds the condition still there, now.
    let d = Dispatcher::build(&cfg, Some(spool.path())).unwrap();
    let mut now = alert("swap_low", State::Firing, 5_000);
    now.values.headroom_bytes = 222;
    d.send(now);
    let got = rx.wait_for("a reminder", |r| r.len() > before);
    d.shutdown(Duration::ZERO);
    let reminder = got[before].json();
    assert!(reminder["repeat"].as_u64().unwrap() > 0, "{reminder}");
    assert_eq!(
        reminder["alert"]["values"]["headroom_bytes"], 222,
        "the reminder shows the old run's numbers"
    );
}
