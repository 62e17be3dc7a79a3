//! `memcanary check-config`: the effective config, whether it is valid, and
//! advice about what is valid but probably not what the user wants.
//!
//! Valid means what the agent will need works too: every sink's secret can
//! be read (environment, file) and its URL is one the client can send to,
//! and the heartbeat URL. Each broken sink is named, its secret never
//! printed.

use crate::config::Config;
use crate::notify::secret::{check_url, Secret};
use crate::notify::targets;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// `memcanary check-config [--config FILE]`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckConfigArgs {
    /// Config file (TOML) to check; without it the defaults are shown.
    #[arg(long, short = 'c', env = "MEMCANARY_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Prints the effective config, the validation result and advice.
/// Exit 0 when valid, 2 when not (the error is printed), the code of every
/// other config error.
pub fn run(args: &CheckConfigArgs) -> anyhow::Result<ExitCode> {
    let cfg = match super::load_config(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("invalid: {e:#}");
            return Ok(ExitCode::from(2));
        }
    };
    for w in crate::notify::advice::permission_warnings(args.config.as_deref(), &cfg.notify) {
        eprintln!("warning: {w}");
    }
    let broken = unusable(&cfg);
    if !broken.is_empty() {
        for b in &broken {
            eprintln!("invalid: {b}");
        }
        return Ok(ExitCode::from(2));
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "# effective config ({})",
        args.config
            .as_deref()
            .map_or("defaults".into(), |p| p.display().to_string())
    )?;
    write!(out, "{}", toml::to_string(&cfg)?)?;
    writeln!(out, "\n# [notify]: secrets not shown")?;
    if cfg.notify.sinks.is_empty() {
        writeln!(out, "# no sinks: notifications go to stdout")?;
    }
    for s in &cfg.notify.sinks {
        writeln!(out, "# sink {:?}: kind {:?}", s.name, s.kind)?;
    }
    writeln!(out, "\n# valid")?;
    for line in advice(&cfg) {
        writeln!(out, "# advice: {line}")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// What the agent would find broken at start: each sink whose secret
/// cannot be read or whose URL cannot be sent to (the agent skips those),
/// and a heartbeat URL the client refuses.
pub fn unusable(cfg: &Config) -> Vec<String> {
    let (_, broken) = targets::build_checked(&cfg.notify);
    let mut out: Vec<String> = broken
        .iter()
        .map(|b| {
            let why = crate::logging::error_chain(&b.error);
            format!("sink {:?} ({}): {why}", b.name, b.kind.as_str())
        })
        .collect();
    if let Some(hb) = &cfg.agent.heartbeat {
        if let Err(e) = check_url("agent.heartbeat.url", &Secret::new(hb.url.clone())) {
            out.push(e.to_string());
        }
    }
    out
}

/// Things that are valid but probably not what the user wants.
pub fn advice(cfg: &Config) -> Vec<String> {
    let a = &cfg.agent;
    let host = crate::agent::instance_name(a);
    let mut v = crate::notify::advice::advice(&cfg.notify, &host);
    v.extend(crate::watch::advice(&cfg.watch));
    if a.heartbeat.is_none() {
        v.push(
            "no [agent.heartbeat]: if this host livelocks, nothing outside notices the silence"
                .into(),
        );
    }
    if a.lock_memory == crate::agent::config::LockMode::Off {
        v.push("lock_memory = \"off\": the agent's own pages can be evicted under the pressure it watches".into());
    }
    if a.metrics_listen.is_empty() {
        v.push("metrics_listen is empty: /metrics disabled".into());
    } else if !a.metrics_listen.starts_with("127.") && !a.metrics_listen.starts_with("[::1]") {
        v.push(format!(
            "/metrics listens on {} (not loopback): firewall it",
            a.metrics_listen
        ));
    }
    if !a.proc_root.join("pressure/memory").exists() {
        v.push(format!("{}/pressure/memory is missing: no PSI (kernel < 4.20 or psi=0); detection relies on headroom alone", a.proc_root.display()));
    }
    if let Some(cg) = &a.cgroup {
        if !cg.exists() {
            v.push(format!(
                "agent.cgroup {} does not exist (yet): the agent will refuse to start",
                cg.display()
            ));
        }
    }
    v
}
