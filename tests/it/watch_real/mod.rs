//! `memcanary watch` against the real components its users have beside
//! VictoriaMetrics (`scripts/test.d/56-watch-real.sh` installs them; each
//! test starts its own instances on free 127.0.0.1 ports):
//!
//! - `ha`: two watchers behind one real Alertmanager page once, and a
//!   watcher stopped mid-incident leaves the alert standing.
//! - `prometheus`: a real Prometheus scraping a real node_exporter as the
//!   datasource; a stopped exporter is a silent host, not a recovered one.
//! - `tls`: a VictoriaMetrics serving HTTPS (a CA of the test's own) with
//!   basic auth; a missing CA and a wrong password each fail with one clear
//!   line, and the password is never shown.

#![allow(clippy::disallowed_methods)] // tests of real processes wait on the real clock

mod ha;
mod prometheus;
mod tls;

use crate::common;
use std::path::{Path, PathBuf};
use std::process::Child;

/// A child process killed (and reaped) on drop.
pub(crate) struct Proc(pub(crate) Child);

impl Proc {
    pub(crate) fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    /// SIGTERM, as `systemctl stop` sends, then waits for the exit.
    pub(crate) fn terminate(&mut self) {
        let pid = rustix::process::Pid::from_child(&self.0);
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let _ = self.0.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

pub(crate) use crate::watch_e2e::{get, wait};

/// The environment variable `var` as a path, or `None` after a
/// `common::skip` of `test` naming the script that sets it.
pub(crate) fn bin(test: &str, var: &str, script: &str) -> Option<PathBuf> {
    let got = std::env::var_os(var).map(PathBuf::from);
    if got.is_none() {
        common::skip(
            test,
            &format!("{var} unset (scripts/test.d/{script} sets it)"),
        );
    }
    got
}

/// A server of the Prometheus family (Prometheus, Alertmanager): `bin`
/// with `--config.file=CONFIG`, `--web.listen-address` on a free port and
/// `args`, its stderr in `dir/NAME.log`, once its `/-/ready` answers; its URL.
pub(crate) fn prom_server(
    bin: &Path,
    dir: &Path,
    name: &str,
    config: &Path,
    args: &[String],
) -> (Proc, String) {
    let addr = format!("127.0.0.1:{}", common::free_port());
    let child = std::process::Command::new(bin)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--web.listen-address={addr}"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("{name}.log"))).unwrap())
        .spawn()
        .unwrap();
    let p = Proc(child);
    let ready = format!("http://{addr}/-/ready");
    assert!(
        wait(30, || get(&ready).is_some()),
        "{name} not ready on {addr}"
    );
    (p, format!("http://{addr}"))
}

/// A running `memcanary watch` with its info log in a file and `/metrics`
/// on a free port.
pub(crate) struct Watch {
    pub(crate) proc: Proc,
    log: PathBuf,
    metrics: String,
}

impl Watch {
    /// `memcanary watch` with `config` (its `[watch]` table gets
    /// `metrics_listen` appended as the first key) written to
    /// `dir/NAME.toml`, logging to `dir/NAME.log`.
    pub(crate) fn start(dir: &Path, name: &str, config: &str) -> Watch {
        let listen = format!("127.0.0.1:{}", common::free_port());
        let text = config.replacen(
            "[watch]\n",
            &format!("[watch]\nmetrics_listen = \"{listen}\"\n"),
            1,
        );
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(&path, text).unwrap();
        let log = dir.join(format!("{name}.log"));
        let child = common::spawn_logged(
            &["watch".as_ref(), "--config".as_ref(), path.as_ref()],
            &log,
        );
        Watch {
            proc: Proc(child),
            log,
            metrics: format!("http://{listen}/metrics"),
        }
    }

    /// `/metrics` now (empty if it does not answer).
    pub(crate) fn metrics(&self) -> String {
        get(&self.metrics).unwrap_or_default()
    }

    /// The value of `series` in `/metrics`.
    pub(crate) fn metric(&self, series: &str) -> Option<f64> {
        crate::fault::harness::metric(&self.metrics(), series)
    }

    /// The log so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits up to `secs` for `ok`, else panics with `what`, the metrics
    /// and the log's end.
    pub(crate) fn wait(&self, secs: u64, what: &str, mut ok: impl FnMut(&Watch) -> bool) {
        if !wait(secs, || ok(self)) {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            panic!(
                "{what}: not within {secs} s\n/metrics:\n{}\nlog (newest first):\n  {}",
                self.metrics(),
                tail.join("\n  ")
            );
        }
    }

    /// Cycles that ended with `outcome` (`ok`, `failed`, `waiting`).
    pub(crate) fn cycles(&self, outcome: &str) -> f64 {
        let series = format!("memcanary_watch_cycles_total{{outcome=\"{outcome}\"}}");
        self.metric(&series).unwrap_or(0.0)
    }
}
