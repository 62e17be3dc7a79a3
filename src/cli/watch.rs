//! `memcanary watch --config FILE`: the fleet watcher over a
//! Prometheus-compatible datasource ([`crate::watch`]), notifying through
//! the file's `[notify]` sinks, routes, spool and dedupe.

use crate::config::{Config, ConfigFileError};
use anyhow::Context as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// `memcanary watch --config FILE`.
#[derive(Debug, Clone, clap::Args)]
pub struct WatchArgs {
    /// Config file (TOML) with a `[watch]` table (and `[notify]` sinks;
    /// without them alerts go to stdout).
    #[arg(long, short = 'c', env = "MEMCANARY_CONFIG")]
    pub config: PathBuf,
}

/// Loads the config, starts the dispatcher and runs until SIGTERM/SIGINT.
pub fn run(args: &WatchArgs) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(&args.config)?;
    cfg.watch
        .require()
        .map_err(|source| ConfigFileError::Watch {
            path: args.config.clone(),
            source,
        })?;
    if cfg.watch.is_local() {
        tracing::warn!(
            "watch.url points at this machine: if the datasource shares a host with what it watches, run the watcher elsewhere (docs/watch.md)"
        );
    }
    let shutdown = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, shutdown.clone()).context("signal handlers")?;
    }
    let spool = cfg.watch.spool_dir.as_deref();
    // As the agent's: a spool that cannot be used is logged, never a reason
    // to watch without notifications.
    let dispatcher = crate::notify::spool_fallback::build(&cfg.notify, spool)
        .context("starting notifications")?;
    crate::watch::run(&cfg.watch, &cfg.detector, dispatcher, &shutdown)?;
    Ok(ExitCode::SUCCESS)
}
