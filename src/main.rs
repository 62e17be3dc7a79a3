//! The `memcanary` command line: parse, set up logging, dispatch.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Catch Linux memory exhaustion on its leading edge and get a push
/// notification out before the host livelocks and goes dark.
#[derive(Debug, Parser)]
#[command(name = "memcanary", version, about, long_about = None)]
struct Cli {
    /// Log filter (tracing EnvFilter syntax), e.g. `info`, `memcanary=debug`.
    #[arg(long, global = true, env = "MEMCANARY_LOG", default_value = "info")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Backtest recorded series: memcanary beside the published rules.
    Replay(memcanary::replay::cli::ReplayArgs),
    /// Score the detector on a labelled corpus: lead before each incident's
    /// cliff, false alarms, the envelope limit; sweep settings.
    Eval(memcanary::eval::cli::EvalArgs),
    /// Run the on-host early-warning daemon (defaults + stdout without a config).
    Agent(memcanary::agent::cli::AgentArgs),
    /// Print the effective config, validate it, and give advice.
    CheckConfig(memcanary::agent::cli::CheckConfigArgs),
    /// Send a test notification to every configured sink and report per sink.
    NotifyTest(memcanary::notify::cli::NotifyTestArgs),
    /// Write memcanary's rules for vmalert / Prometheus, an Alertmanager
    /// route, or promtool unit tests.
    Rules(memcanary::rules::cli::RulesArgs),
}

fn init_logging(filter: &str) {
    // The HTTP client's debug/trace logs print request URLs and bytes, which
    // carry webhook tokens: keep them quiet whatever the user's filter says.
    let quiet = memcanary::notify::QUIET_HTTP_LOGS;
    let filter = tracing_subscriber::EnvFilter::try_new(format!("{filter},{quiet}"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("info,{quiet}")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Agent(a) = &cli.command {
        if !a.in_process {
            // Returns only if the lean binary cannot be run.
            let why = memcanary::agent::standalone::exec_sibling(a.config.as_deref(), &cli.log);
            init_logging(&cli.log);
            tracing::info!(reason = %why, "running the agent inside the full memcanary binary (more memory to lock than memcanary-agent)");
            return finish(memcanary::agent::cli::run(a));
        }
    }
    init_logging(&cli.log);
    let result = match cli.command {
        Command::Replay(args) => memcanary::replay::cli::run(&args),
        Command::Eval(args) => memcanary::eval::cli::run(&args),
        Command::Agent(args) => memcanary::agent::cli::run(&args),
        Command::CheckConfig(args) => memcanary::agent::cli::check_config(&args),
        Command::NotifyTest(args) => memcanary::notify::cli::run(&args),
        Command::Rules(args) => memcanary::rules::cli::run(&args),
    };
    finish(result)
}

fn finish(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("memcanary: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
