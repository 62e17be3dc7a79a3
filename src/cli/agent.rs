//! `memcanary agent` and the `memcanary-agent` binary: one set of flags
//! ([`flags`]), one logging setup ([`crate::logging`]), one run.
//!
//! `mlockall(MCL_CURRENT)` pins every page the process has mapped, and the
//! full `memcanary` binary maps replay, plotting, font handling and rule
//! export the daemon never runs (about 10 MB). The `memcanary-agent` binary
//! links only the daemon, so the linker drops the rest and what gets locked
//! is what can run. `memcanary agent` execs it when it sits next to the
//! `memcanary` binary (see [`exec_sibling`]), so both spellings run the same
//! small process.

pub mod flags;

pub use flags::{parse, Invocation, UsageError, USAGE};

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The lean binary's file name, next to `memcanary`.
pub const BINARY: &str = "memcanary-agent";

/// `memcanary agent ARGS...`: the arguments, unparsed, for [`flags`].
#[derive(Debug, Clone, clap::Args)]
pub struct AgentArgs {
    /// The agent's flags (see `memcanary agent --help`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    pub args: Vec<OsString>,
}

/// The whole `memcanary-agent` program.
pub fn lean_main() -> ExitCode {
    let inv = parse(std::env::args_os().skip(1), |k| std::env::var_os(k));
    start(BINARY, inv, false)
}

/// `memcanary agent`: `log` is `memcanary`'s own `--log` (flag, environment
/// or default), which the agent's `--log` overrides.
pub fn memcanary_main(args: &AgentArgs, log: &str) -> ExitCode {
    let env = |k: &str| match k {
        "MEMCANARY_LOG" => Some(OsString::from(log)),
        _ => std::env::var_os(k),
    };
    start("memcanary", parse(args.args.iter().cloned(), env), true)
}

/// Runs what the command line asked for; `may_exec`: whether to replace
/// this process with the lean binary (unless `--in-process`).
fn start(program: &str, inv: Result<Invocation, UsageError>, may_exec: bool) -> ExitCode {
    let (config, log, in_process) = match inv {
        Ok(Invocation::Run {
            config,
            log,
            in_process,
        }) => (config, log, in_process),
        Ok(Invocation::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Invocation::Version) => {
            println!("{program} {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(e) => return usage_error(program, &e),
    };
    let filter = match crate::logging::filter(&log) {
        Ok(f) => f,
        Err(e) => return usage_error(program, &e),
    };
    if may_exec && !in_process {
        // Returns only if the lean binary cannot be run.
        let why = exec_sibling(config.as_deref(), &log);
        crate::logging::init(filter);
        tracing::info!(reason = %why, "running the agent inside the full memcanary binary (more memory to lock than memcanary-agent)");
    } else {
        crate::logging::init(filter);
    }
    super::finish(program, run(config))
}

fn usage_error(program: &str, e: &dyn std::error::Error) -> ExitCode {
    eprintln!("{program}: error: {}", crate::logging::error_chain(e));
    ExitCode::from(2)
}

/// Runs the agent in this process until SIGTERM.
pub fn run(config: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let cfg = super::load_config(config.as_deref())?;
    for w in crate::notify::advice::permission_warnings(config.as_deref(), &cfg.notify) {
        tracing::warn!("{w}");
    }
    crate::agent::run(cfg, config)?;
    Ok(ExitCode::SUCCESS)
}

/// Replaces this process with `memcanary-agent` from the directory of the
/// running executable, passing `--config` and `--log` on. Returns only when
/// that is impossible (no such file, exec refused), with the reason; the
/// caller then runs the agent in this process. Runs before anything is
/// locked or spawned: not on the alert path.
pub fn exec_sibling(config: Option<&Path>, log: &str) -> std::io::Error {
    use std::os::unix::process::CommandExt;
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => return e,
    };
    let sibling = exe.with_file_name(BINARY);
    if !sibling.is_file() {
        return std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{} not found", sibling.display()),
        );
    }
    let mut cmd = std::process::Command::new(&sibling);
    cmd.arg("--log").arg(log);
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    // Our own flags win over the environment in the child as they did here.
    cmd.env_remove("MEMCANARY_CONFIG")
        .env_remove("MEMCANARY_LOG");
    cmd.exec()
}
