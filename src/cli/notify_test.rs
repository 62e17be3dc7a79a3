//! `memcanary notify-test`: send a test notification through the real path
//! (config, routing-free fan-out to every sink, transport, retries) and
//! report per sink whether it arrived.

use crate::clock::wall_ms;
use crate::detect::Dur;
use crate::host::hostname;
use crate::notify::advice::{advice, permission_warnings};
use crate::notify::{Alert, Dispatcher, NotifyConfig};
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `memcanary notify-test`.
#[derive(Debug, clap::Args)]
pub struct NotifyTestArgs {
    /// Config file (TOML); its `[notify]` table is used. Without it, stdout.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Only this sink (by name).
    #[arg(long)]
    pub sink: Option<String>,
    /// Host name shown in the test alert (default: this host's name).
    #[arg(long)]
    pub instance: Option<String>,
    /// How long to keep retrying before reporting.
    #[arg(long, default_value = "30s", value_parser = Dur::parse)]
    pub timeout: Dur,
}

fn load(args: &NotifyTestArgs) -> anyhow::Result<NotifyConfig> {
    let Some(path) = &args.config else {
        return Ok(NotifyConfig::default());
    };
    let cfg = super::load_config(Some(path))?.notify;
    for w in permission_warnings(Some(path), &cfg) {
        eprintln!("warning: {w}");
    }
    Ok(cfg)
}

/// Runs `memcanary notify-test`: exit 0 when every selected sink got it.
pub fn run(args: &NotifyTestArgs) -> anyhow::Result<ExitCode> {
    let mut cfg = load(args)?;
    if let Some(name) = &args.sink {
        let known: Vec<String> = cfg.sinks.iter().map(|s| s.name.clone()).collect();
        cfg.sinks.retain(|s| &s.name == name);
        anyhow::ensure!(
            !cfg.sinks.is_empty(),
            "no sink named {name:?} (configured: {})",
            known.join(", ")
        );
    }
    cfg.routes = Default::default();
    let this_host = hostname(Path::new("/proc"));
    let instance = args.instance.clone().unwrap_or_else(|| this_host.clone());
    for a in advice(&cfg, &this_host) {
        eprintln!("advice: {a}");
    }
    // Broken sinks are skipped by the dispatcher: report them here.
    let broken = crate::notify::targets::build_checked(&cfg).1;
    for b in &broken {
        let why = crate::logging::error_chain(&b.error);
        eprintln!("{:6} {} ({}): {why}", "FAILED", b.name, b.kind.as_str());
    }
    let dispatcher = Dispatcher::build(&cfg, None).context("starting the notifier")?;
    dispatcher.send(Alert::test(&instance, wall_ms()));
    let stats = dispatcher.shutdown(Duration::from_millis(args.timeout.as_millis() as u64));
    let mut all_ok = broken.is_empty();
    for s in &stats.sinks {
        let (word, detail) = match (s.sent, s.failed) {
            (1.., _) => ("ok", "delivered".to_string()),
            (0, 1..) => ("FAILED", s.last_error.clone().unwrap_or_default()),
            _ => (
                "FAILED",
                format!(
                    "not delivered within {}: {}",
                    args.timeout,
                    s.last_error.clone().unwrap_or_else(|| "no answer".into())
                ),
            ),
        };
        all_ok &= s.sent > 0;
        eprintln!("{word:6} {} ({}): {detail}", s.name, s.kind);
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
