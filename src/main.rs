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
    /// Write memcanary's rules for vmalert / Prometheus, an Alertmanager
    /// route, or promtool unit tests.
    Rules(memcanary::rules::cli::RulesArgs),
}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log);
    let result = match cli.command {
        Command::Replay(args) => memcanary::replay::cli::run(&args),
        Command::Rules(args) => memcanary::rules::cli::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("memcanary: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
