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
    /// Score the detector on a labelled corpus: lead before each incident's
    /// cliff, false alarms, the envelope limit; sweep settings.
    Eval(cli::eval::EvalArgs),
    /// Run the on-host early-warning daemon (defaults + stdout without a config).
    #[command(disable_help_flag = true, override_help = cli::agent::USAGE)]
    Agent(cli::agent::AgentArgs),
    /// Watch a fleet: the detector over node_exporter series already in
    /// VictoriaMetrics or Prometheus, one query per signal for every host.
    Watch(cli::watch::WatchArgs),
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
    let log = cli.log.as_str();
    let result = match &cli.command {
        // The agent's own flags, logging and exec of the lean binary.
        Command::Agent(args) => return cli::agent::memcanary_main(args, log),
        Command::Replay(args) => logged(log, || cli::replay::run(args)),
        Command::Eval(args) => logged(log, || cli::eval::run(args)),
        Command::Watch(args) => logged(log, || cli::watch::run(args)),
        Command::CheckConfig(args) => logged(log, || cli::check_config::run(args)),
        Command::NotifyTest(args) => logged(log, || cli::notify_test::run(args)),
        Command::Rules(args) => logged(log, || cli::rules::run(args)),
    };
    cli::finish("memcanary", result)
}

/// Sets up logging at `filter` (a bad one is an error), then runs `command`.
fn logged(
    filter: &str,
    command: impl FnOnce() -> anyhow::Result<ExitCode>,
) -> anyhow::Result<ExitCode> {
    memcanary::logging::init(memcanary::logging::filter(filter)?);
    command()
}
