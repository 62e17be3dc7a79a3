//! The `memcanary` command line: parse, set up logging, dispatch to
//! [`memcanary::cli`].

use clap::{Parser, Subcommand};
use memcanary::cli;
use std::process::ExitCode;

/// Catch Linux memory exhaustion on its leading edge and get a push
/// notification out before the host livelocks and goes dark.
#[derive(Debug, Parser)]
#[command(name = "memcanary", version, about, long_about = None)]
struct Cli {
    /// Log filter: a level or `target=level` list, e.g. `info`,
    /// `memcanary=debug,info`.
    #[arg(long, global = true, env = "MEMCANARY_LOG", default_value = "info")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Backtest recorded series: memcanary beside the published rules.
    Replay(cli::replay::ReplayArgs),
    /// Run the on-host early-warning daemon (defaults + stdout without a config).
    #[command(disable_help_flag = true, override_help = cli::agent::USAGE)]
    Agent(cli::agent::AgentArgs),
    /// Print the effective config, validate it, and give advice.
    CheckConfig(cli::check_config::CheckConfigArgs),
    /// Send a test notification to every configured sink and report per sink.
    NotifyTest(cli::notify_test::NotifyTestArgs),
    /// Write memcanary's rules for vmalert / Prometheus, an Alertmanager
    /// route, or promtool unit tests.
    Rules(cli::rules::RulesArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Agent(args) = &cli.command {
        // The agent's own flags, logging and exec of the lean binary.
        return cli::agent::memcanary_main(args, &cli.log);
    }
    match memcanary::logging::filter(&cli.log) {
        Ok(filter) => memcanary::logging::init(filter),
        Err(e) => {
            eprintln!("memcanary: error: {}", memcanary::logging::error_chain(&e));
            return ExitCode::from(2);
        }
    }
    let result = match &cli.command {
        Command::Replay(args) => cli::replay::run(args),
        Command::Agent(_) => unreachable!("handled above"),
        Command::CheckConfig(args) => cli::check_config::run(args),
        Command::NotifyTest(args) => cli::notify_test::run(args),
        Command::Rules(args) => cli::rules::run(args),
    };
    cli::finish("memcanary", result)
}
