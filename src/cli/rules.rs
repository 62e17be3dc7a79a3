//! `memcanary rules`: arguments and the command's body.

use crate::detect::{DetectorConfig, Dur};
use crate::rules::alertmanager::AmOptions;
use crate::rules::build::Options;
use crate::rules::target::{Engine, Target, Version};
use anyhow::Context;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `memcanary rules`.
#[derive(Debug, Clone, clap::Args)]
pub struct RulesArgs {
    /// The rule engine the file is for.
    #[arg(long, value_enum, default_value = "prometheus")]
    pub target: Engine,
    /// Its version: decides `keep_firing_for` (Prometheus >= 2.42, vmalert
    /// >= 1.90). Default: Debian bookworm's (Prometheus 2.42.0, vmalert 1.79.5).
    #[arg(long)]
    pub target_version: Option<Version>,
    /// memcanary config file; its `[detector]` table sets every threshold.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Label matchers added to every selector, e.g. '{job="node"}'.
    #[arg(long, default_value = "")]
    pub selector: String,
    /// Rule group evaluation interval (also the subquery step).
    #[arg(long, default_value = "15s", value_parser = Dur::parse)]
    pub interval: Dur,
    /// node_exporter's scrape interval (a host is silent after
    /// `stale_after_intervals` of them).
    #[arg(long, default_value = "15s", value_parser = Dur::parse)]
    pub scrape_interval: Dur,
    /// Write an Alertmanager route + Discord receiver instead of rules.
    #[arg(long, conflicts_with = "tests")]
    pub alertmanager: bool,
    /// Alertmanager version: >= 0.28 reads the webhook URL from a file.
    #[arg(long, default_value = "0.25.0")]
    pub alertmanager_version: Version,
    /// The file Alertmanager reads the Discord webhook URL from.
    #[arg(long, default_value = "/etc/alertmanager/discord-webhook-url")]
    pub webhook_url_file: String,
    /// Write a promtool unit-test file for the rules, from `--trace`.
    #[arg(long, requires = "trace")]
    pub tests: bool,
    /// Recorded trace (VictoriaMetrics export JSON lines) for `--tests`.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// The rule file the tests load, relative to the test file.
    #[arg(long, default_value = "memcanary-rules.yml")]
    pub rule_file: String,
    /// Output file (default: stdout).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

impl RulesArgs {
    /// The detector config (`--config`, or the defaults).
    pub fn detector_config(&self) -> anyhow::Result<DetectorConfig> {
        match &self.config {
            Some(p) => Ok(crate::rules::load_config(p)?),
            None => Ok(DetectorConfig::default()),
        }
    }

    /// The rule options.
    pub fn options(&self) -> anyhow::Result<Options> {
        anyhow::ensure!(self.interval.as_millis() > 0, "--interval must be > 0");
        anyhow::ensure!(
            self.scrape_interval.as_millis() > 0,
            "--scrape-interval must be > 0"
        );
        Ok(Options {
            target: Target::new(self.target, self.target_version),
            selector: crate::rules::parse_selector(&self.selector)?,
            interval_ms: self.interval.as_millis(),
            scrape_interval_ms: self.scrape_interval.as_millis(),
        })
    }
}

/// Runs `memcanary rules`.
pub fn run(args: &RulesArgs) -> anyhow::Result<ExitCode> {
    let mut out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(BufWriter::new(
            File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    if args.alertmanager {
        let o = AmOptions {
            version: args.alertmanager_version,
            webhook_url_file: args.webhook_url_file.clone(),
        };
        crate::rules::write_alertmanager(&o, &mut out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let cfg = args.detector_config()?;
    let opts = args.options()?;
    if args.tests {
        anyhow::ensure!(
            args.target == Engine::Prometheus,
            "--tests writes promtool unit tests: use --target prometheus"
        );
        let path = args.trace.as_ref().context("--tests needs --trace FILE")?;
        let trace = crate::rules::load_trace(path)?;
        let origin = jiff::Timestamp::from_millisecond(trace.origin_ms)
            .map(|t| t.to_string())
            .unwrap_or_default();
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = format!("memcanary rules on {file} (t=0 is {origin})");
        crate::rules::write_tests(&cfg, &opts, &trace, &args.rule_file, &name, &mut out)?;
    } else {
        crate::rules::write_rules(&cfg, &opts, &mut out)?;
    }
    Ok(ExitCode::SUCCESS)
}
