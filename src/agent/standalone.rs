//! `memcanary-agent`: the agent as a binary of its own.
//!
//! `mlockall(MCL_CURRENT)` pins every page the process has mapped, and the
//! full `memcanary` binary maps replay, plotting, font handling and rule
//! export the daemon never runs (about 10 MB). The `memcanary-agent` binary
//! links only the daemon, so the linker drops the rest and what gets locked
//! is what can run. `memcanary agent` execs it when it sits next to the
//! `memcanary` binary (see [`exec_sibling`]), so both spellings run the same
//! small process.
//!
//! Argument parsing is by hand (no clap) and logging uses a
//! [`Targets`](tracing_subscriber::filter::Targets) filter (no regex engine):
//! both would otherwise be linked, mapped and locked for four flags.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

/// The lean binary's file name, next to `memcanary`.
pub const BINARY: &str = "memcanary-agent";

const USAGE: &str = "\
memcanary-agent: the on-host early-warning daemon (same as `memcanary agent`)

Usage: memcanary-agent [--config FILE] [--log FILTER]

Options:
  -c, --config FILE   config file (TOML); without it: defaults, alerts on stdout
                      [env: MEMCANARY_CONFIG]
      --log FILTER    log filter: a level or `target=level` list, e.g. `info,memcanary=debug`
                      [env: MEMCANARY_LOG] [default: info]
  -h, --help          print this help
  -V, --version       print the version
";

/// What the command line asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// Run the agent.
    Run {
        /// `--config`.
        config: Option<PathBuf>,
        /// `--log`.
        log: String,
    },
    /// `--help`.
    Help,
    /// `--version`.
    Version,
}

/// A command-line mistake, with the word it is about.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UsageError {
    /// An option that needs a value came last.
    #[error("{0} needs a value")]
    MissingValue(String),
    /// Anything else.
    #[error("unexpected argument {0:?} (try --help)")]
    Unexpected(String),
}

/// Parses the arguments after the program name; `env` looks up
/// `MEMCANARY_CONFIG` and `MEMCANARY_LOG` (flags win).
pub fn parse(
    args: impl IntoIterator<Item = OsString>,
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<Invocation, UsageError> {
    let mut config = env("MEMCANARY_CONFIG").map(PathBuf::from);
    let mut log = env("MEMCANARY_LOG").and_then(|s| s.into_string().ok());
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let text = arg.to_string_lossy().into_owned();
        let (name, inline) = match text.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (text.clone(), None),
        };
        let value = |it: &mut dyn Iterator<Item = OsString>| match &inline {
            Some(v) => Ok(OsString::from(v)),
            None => it
                .next()
                .ok_or_else(|| UsageError::MissingValue(name.clone())),
        };
        match name.as_str() {
            "-c" | "--config" => config = Some(PathBuf::from(value(&mut it)?)),
            "--log" => log = Some(value(&mut it)?.to_string_lossy().into_owned()),
            "-h" | "--help" => return Ok(Invocation::Help),
            "-V" | "--version" => return Ok(Invocation::Version),
            _ => return Err(UsageError::Unexpected(text)),
        }
    }
    Ok(Invocation::Run {
        config,
        log: log.unwrap_or_else(|| "info".into()),
    })
}

/// The whole `memcanary-agent` program.
pub fn main() -> ExitCode {
    let inv = parse(std::env::args_os().skip(1), |k| std::env::var_os(k));
    let (config, log) = match inv {
        Ok(Invocation::Run { config, log }) => (config, log),
        Ok(Invocation::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Invocation::Version) => {
            println!("{BINARY} {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{BINARY}: error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = init_logging(&log) {
        eprintln!("{BINARY}: error: --log {log:?}: {e}");
        return ExitCode::from(2);
    }
    let args = super::cli::AgentArgs {
        config,
        in_process: true,
    };
    match super::cli::run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{BINARY}: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn init_logging(filter: &str) -> Result<(), tracing_subscriber::filter::ParseError> {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;
    // As in `memcanary`: the HTTP client's debug logs carry webhook tokens.
    let targets: Targets = format!("{filter},{}", crate::notify::QUIET_HTTP_LOGS).parse()?;
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
        )
        .with(targets)
        .init();
    Ok(())
}

/// Replaces this process with `memcanary-agent` from the directory of the
/// running executable, passing `--config` and `--log` on. Returns only when
/// that is impossible (no such file, exec refused), with the reason; the
/// caller then runs the agent in this process. Runs before anything is
/// locked or spawned: not on the alert path.
pub fn exec_sibling(config: Option<&std::path::Path>, log: &str) -> std::io::Error {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Invocation, UsageError> {
        parse(args.iter().map(OsString::from), |_| None)
    }

    #[test]
    fn flags_values_and_defaults() {
        assert_eq!(
            p(&[]),
            Ok(Invocation::Run {
                config: None,
                log: "info".into()
            })
        );
        assert_eq!(
            p(&["-c", "/etc/m.toml", "--log=debug"]),
            Ok(Invocation::Run {
                config: Some("/etc/m.toml".into()),
                log: "debug".into()
            })
        );
        assert_eq!(
            p(&["--config=/x.toml"]),
            Ok(Invocation::Run {
                config: Some("/x.toml".into()),
                log: "info".into()
            })
        );
        assert_eq!(p(&["--log", "warn", "--help"]), Ok(Invocation::Help));
        assert_eq!(p(&["-V"]), Ok(Invocation::Version));
    }

    #[test]
    fn mistakes_name_the_argument() {
        assert_eq!(
            p(&["--config"]),
            Err(UsageError::MissingValue("--config".into()))
        );
        assert_eq!(p(&["agent"]), Err(UsageError::Unexpected("agent".into())));
        assert_eq!(
            p(&["--cofnig=x"]).map_err(|e| e.to_string()),
            Err("unexpected argument \"--cofnig=x\" (try --help)".into())
        );
    }

    #[test]
    fn flags_win_over_the_environment() {
        let env = |k: &str| match k {
            "MEMCANARY_CONFIG" => Some(OsString::from("/env.toml")),
            "MEMCANARY_LOG" => Some(OsString::from("trace")),
            _ => None,
        };
        assert_eq!(
            parse(vec![OsString::from("--log"), OsString::from("warn")], env),
            Ok(Invocation::Run {
                config: Some("/env.toml".into()),
                log: "warn".into()
            })
        );
    }

    /// The flags are spelled twice: clap's [`AgentArgs`] for `memcanary
    /// agent`, and the hand parser here. Every flag `memcanary agent` takes,
    /// except `--in-process` (which means "do not exec this binary"), must
    /// be accepted here, with the same short form and environment variable,
    /// and be in the usage text.
    #[test]
    fn lean_flags_cover_memcanary_agent_flags() {
        use crate::agent::cli::AgentArgs;
        use clap::Args as _;
        let cmd = AgentArgs::augment_args(clap::Command::new("agent"));
        let mut checked = 0;
        for arg in cmd.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if long == "in-process" {
                continue;
            }
            let flag = format!("--{long}");
            assert!(USAGE.contains(&flag), "{flag} missing from the usage text");
            assert!(p(&[&flag, "v"]).is_ok(), "{flag} refused");
            if let Some(short) = arg.get_short() {
                let short = format!("-{short}");
                assert!(
                    USAGE.contains(&format!("{short}, {flag}")),
                    "{short} missing"
                );
                assert_eq!(p(&[&short, "v"]), p(&[&flag, "v"]), "{short}");
            }
            if let Some(var) = arg.get_env() {
                let var = var.to_string_lossy().into_owned();
                assert!(USAGE.contains(&format!("[env: {var}]")), "{var} missing");
                let got = parse(Vec::<OsString>::new(), |k| {
                    (k == var).then(|| OsString::from("v"))
                });
                assert_ne!(got, p(&[]), "{var} ignored");
            }
            checked += 1;
        }
        assert!(checked >= 1, "no flag checked");
    }
}
