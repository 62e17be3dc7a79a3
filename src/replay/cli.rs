//! `memcanary replay`: arguments and the command's body.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `memcanary replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Recorded series: VictoriaMetrics export JSON lines (plain or .gz),
    /// Prometheus query_range JSON, or CSV.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Runs `memcanary replay`.
pub fn run(args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("replay is not built yet ({} files given)", args.files.len())
}
