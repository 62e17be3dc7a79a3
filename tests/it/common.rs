//! What the integration tests share: where the fixtures are, the binaries
//! under test, a free port, a test agent's config.

use std::path::{Path, PathBuf};

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A file or directory under `tests/fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    root().join("tests/fixtures").join(rel)
}

/// A lab trace: `tests/fixtures/traces/RUN/export-RUN-SCRAPE.jsonl`.
pub fn lab_trace(run: &str, scrape: &str) -> PathBuf {
    fixture(&format!("traces/{run}/export-{run}-{scrape}.jsonl"))
}

/// The `memcanary` binary under test, to run to completion.
pub fn memcanary() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("memcanary").unwrap()
}

/// The `memcanary-agent` binary under test, to run to completion.
pub fn memcanary_agent() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("memcanary-agent").unwrap()
}

/// The `memcanary` binary under test, to spawn and signal.
pub fn memcanary_process() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_memcanary"))
}

/// A TCP port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An `[agent]` table for a test agent: state and spool under `dir`, no
/// memory locking, no `oom_score_adj` (the test runs unprivileged too).
pub fn test_agent_table(dir: &std::path::Path, metrics_listen: &str) -> String {
    format!(
        "[agent]\nmetrics_listen = \"{metrics_listen}\"\nstate_file = \"{d}/state.json\"\nspool_dir = \"{d}/spool\"\nlock_memory = \"off\"\noom_score_adj = 0\n",
        d = dir.display()
    )
}

/// The arguments `scripts/lead-times.sh` passes to `memcanary`.
pub fn replay_table_args() -> Vec<String> {
    let script = std::fs::read_to_string(root().join("scripts/lead-times.sh")).unwrap();
    let line = script
        .lines()
        .find(|l| l.contains("replay --table"))
        .unwrap();
    let cmd = line
        .trim()
        .trim_start_matches("exec ")
        .trim_start_matches("\"$BIN\" ");
    cmd.split_whitespace().map(str::to_string).collect()
}

/// Skips the calling test for want of `why` (a tool, a server, root): says
/// so on stderr and in `$MEMCANARY_SKIP_LOG`, which `scripts/test.sh` counts
/// in its summary. Where the prerequisites must exist
/// (`MEMCANARY_FORBID_SKIP=1`, which the test script sets in CI), a skip is
/// a failure instead.
pub fn skip(test: &str, why: &str) {
    if std::env::var_os("MEMCANARY_FORBID_SKIP").is_some_and(|v| v == "1") {
        panic!("{test} cannot run: {why} (MEMCANARY_FORBID_SKIP=1: in CI every prerequisite is installed)");
    }
    eprintln!("SKIP {test}: {why}");
    if let Some(log) = std::env::var_os("MEMCANARY_SKIP_LOG") {
        use std::io::Write as _;
        let line = format!("{test}: {why}\n");
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = appended {
            panic!(
                "cannot record the skip of {test} in {}: {e}",
                Path::new(&log).display()
            );
        }
    }
}

/// Runs `memcanary ARGS` with stdout a pipe whose reader is already closed
/// (`memcanary ... | head -0`, without the race): its exit code and stderr.
pub fn with_stdout_closed(args: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
    let (reader, writer) = rustix::pipe::pipe().unwrap();
    let writer = std::fs::File::from(writer);
    drop(reader);
    let out = memcanary_process()
        .args(args)
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8(out.stderr).unwrap())
}

/// `memcanary ARGS` started with its info log (no colours) in the file
/// `log` and stdout discarded, to read back while it runs or after it fails.
pub fn spawn_logged(args: &[&std::ffi::OsStr], log: &Path) -> std::process::Child {
    memcanary_process()
        .args(args)
        .env("MEMCANARY_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// A swapfile of a test's own in /var/tmp (`memcanary-TAG-PID.swap`),
/// swapped off and deleted on drop (a panic included). Needs root.
pub struct Swapfile(PathBuf);

impl Swapfile {
    /// Writes `mib` MiB, `mkswap`, `swapon`; the error names the step.
    pub fn enable(tag: &str, mib: usize) -> Result<Swapfile, String> {
        use std::io::Write as _;
        let path = PathBuf::from(format!(
            "/var/tmp/memcanary-{tag}-{}.swap",
            std::process::id()
        ));
        let sw = Swapfile(path.clone());
        let mut f = std::fs::File::create(&path).map_err(|e| e.to_string())?;
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..mib {
            f.write_all(&chunk).map_err(|e| e.to_string())?;
        }
        f.sync_all().map_err(|e| e.to_string())?;
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .map_err(|e| e.to_string())?;
        for tool in ["mkswap", "swapon"] {
            let out = std::process::Command::new(tool)
                .arg(&path)
                .output()
                .map_err(|e| format!("{tool}: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "{tool}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
        }
        Ok(sw)
    }
}

impl Drop for Swapfile {
    fn drop(&mut self) {
        let _ = std::process::Command::new("swapoff").arg(&self.0).status();
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Held by each test that puts the whole host under memory pressure (a hog
/// swapping in a cgroup): the host's PSI, swap and major faults are shared,
/// so two such tests at once would each see, and assert on, the other's
/// stall (watch_e2e once fired `psi_rising` before its own hog swapped).
pub fn host_pressure() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}
