//! The commands: `memcanary agent` (and `memcanary-agent`), `watch`, `check-config`,
//! `notify-test`, `rules`, `replay` and `eval`.
//!
//! Each turns its arguments into calls on the library and an exit code. The
//! library below returns typed errors; this is the one place, besides the
//! binaries' `main`, that uses `anyhow` to carry them to the user.
//!
//! - [`agent`]: the agent's flags (one hand-written parser for both
//!   binaries), the exec of the lean binary, the run.
//! - [`watch`]: the fleet watcher over a Prometheus-compatible datasource.
//! - [`check_config`]: the effective config, its validation and advice.
//! - [`notify_test`]: a test notification through every sink.
//! - [`rules`]: rule files for vmalert / Prometheus / Alertmanager.
//! - [`replay`]: the backtest of recorded series.
//! - [`eval`]: the detector scored over a labelled corpus.

pub mod agent;
pub mod check_config;
pub mod eval;
pub mod notify_test;
pub mod replay;
pub mod rules;
pub mod watch;

use crate::config::Config;
use std::path::Path;
use std::process::ExitCode;

/// Loads and validates `path`, or the defaults without one.
pub fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    match path {
        Some(p) => Ok(Config::load(p)?),
        None => Ok(Config::default()),
    }
}

/// A command's exit code; an error is printed as `program: error: ...`
/// with its whole chain (a cause whose text the message before it already
/// ends with, as some libraries' errors print their source, is said once),
/// and exits 2. A closed stdout (`memcanary rules |
/// head -1`) is not an error: the reader has all it wanted, so it exits 0
/// and prints nothing.
pub fn finish(program: &str, result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{program}: error: {}", chain(&e));
            ExitCode::from(2)
        }
    }
}

/// Whether `e` comes from writing to a pipe whose reader has gone.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    let pipe = |k: Option<std::io::ErrorKind>| k == Some(std::io::ErrorKind::BrokenPipe);
    e.chain().any(|c| {
        pipe(c.downcast_ref::<std::io::Error>().map(std::io::Error::kind))
            || pipe(
                c.downcast_ref::<serde_json::Error>()
                    .and_then(serde_json::Error::io_error_kind),
            )
    })
}

/// `e`'s messages joined by `": "`, each cause once.
fn chain(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if msg.ends_with(&text) {
            continue;
        }
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&text);
    }
    msg
}
