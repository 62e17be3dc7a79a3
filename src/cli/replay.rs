//! `memcanary replay`: arguments and the command's body.

use crate::detect::{DetectorConfig, Dur};
use crate::replay::report::{write_timeline, InstanceReport};
use crate::source::recorded::{self, HostSeries, Progress};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `memcanary replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Recorded series: VictoriaMetrics `/api/v1/export` JSON lines (plain or
    /// .gz), Prometheus `/api/v1/query_range` JSON, or CSV
    /// (docs/replay-formats.md). Each `instance` is replayed separately.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Config file (TOML); its `[detector]` table sets the thresholds.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Print the JSON report (one object per instance, in an array).
    #[arg(long)]
    pub json: bool,
    /// Draw headroom, swap and PSI with every rule's firing and the cliff
    /// into this file (`.svg`, or `.png`).
    #[arg(long, value_name = "FILE.svg|FILE.png")]
    pub plot: Option<PathBuf>,
    /// Keep only the first sample of each interval, as a scraper with this
    /// interval would have seen the host (e.g. `30s`). Repeat it to replay
    /// each recording at several intervals.
    #[arg(long, value_name = "DURATION", value_parser = parse_dur)]
    pub downsample: Vec<Dur>,
    /// Print a Markdown table of lead times (memcanary beside every
    /// published rule), one row per recording and interval.
    #[arg(long, conflicts_with = "json")]
    pub table: bool,
    /// Replay only this instance.
    #[arg(long)]
    pub instance: Option<String>,
}

fn parse_dur(s: &str) -> Result<Dur, String> {
    Dur::parse(s).map_err(|e| e.to_string())
}

/// Runs `memcanary replay`.
pub fn run(args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    if cfg!(not(feature = "plot")) && args.plot.is_some() {
        anyhow::bail!("--plot: this memcanary was built without the `plot` feature (plotters, resvg); rebuild with default features");
    }
    let cfg = match &args.config {
        Some(p) => crate::config::Config::load(p)?.detector,
        None => DetectorConfig::default(),
    };
    let mut runs = Vec::new();
    for file in &args.files {
        let ramp_start_ms = ramp_start(file);
        for host in load(file)? {
            if args.instance.as_ref().is_some_and(|i| *i != host.instance) {
                continue;
            }
            for w in &host.warnings {
                tracing::warn!(file = %file.display(), "{w}");
            }
            let intervals: Vec<Option<Dur>> = if args.downsample.is_empty() {
                vec![None]
            } else {
                args.downsample.iter().copied().map(Some).collect()
            };
            for every in intervals {
                let h = match every {
                    Some(d) => host.downsample(d.as_millis()),
                    None => host.clone(),
                };
                let rec = crate::replay::Recording {
                    instance: &h.instance,
                    samples: &h.samples,
                    end_ms: h.end_ms,
                };
                let replay = crate::replay::run(&rec, &cfg, args.plot.is_some())?;
                let label = every.map_or_else(
                    || {
                        replay
                            .interval_ms
                            .map_or_else(|| "-".into(), |i| Dur::from_millis(i).to_string())
                    },
                    |d| d.to_string(),
                );
                runs.push((recording_name(file), label, ramp_start_ms, replay));
            }
        }
    }
    if runs.is_empty() {
        anyhow::bail!(
            "no instance to replay{}",
            args.instance
                .as_ref()
                .map(|i| format!(" (no instance {i:?} in the input)"))
                .unwrap_or_default()
        );
    }
    if args.table {
        let rows: Vec<_> = runs
            .iter()
            .map(|(name, interval, ramp, replay)| crate::replay::table::Row {
                name: name.clone(),
                interval: interval.clone(),
                ramp_start_ms: *ramp,
                replay,
            })
            .collect();
        write!(
            std::io::stdout().lock(),
            "{}",
            crate::replay::table::render(&rows)
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let replays: Vec<_> = runs.into_iter().map(|r| r.3).collect();
    let mut out = std::io::stdout().lock();
    if args.json {
        let reports: Vec<_> = replays.iter().map(InstanceReport::new).collect();
        serde_json::to_writer_pretty(&mut out, &reports)?;
        writeln!(out)?;
    } else {
        for r in &replays {
            write_timeline(&mut out, r)?;
            writeln!(out)?;
        }
    }
    if let Some(p) = &args.plot {
        write_plot(&replays, p)?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "plot")]
fn write_plot(replays: &[crate::replay::Replay], p: &Path) -> anyhow::Result<()> {
    crate::replay::plot::write(replays, p)?;
    eprintln!("plot written to {}", p.display());
    Ok(())
}

/// Without the `plot` feature `--plot` is refused before any replay runs.
#[cfg(not(feature = "plot"))]
fn write_plot(_: &[crate::replay::Replay], _: &Path) -> anyhow::Result<()> {
    Ok(())
}

/// A recording's name: its directory for lab traces (`incident`), else the
/// file stem.
fn recording_name(file: &Path) -> String {
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("?");
    match file
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|s| s.to_str())
    {
        Some(dir) if !dir.is_empty() => format!("{dir}/{stem}"),
        _ => stem.to_string(),
    }
}

/// When the workload started, from a `summary.json` beside the file
/// (`workload_start`, unix seconds), as the lab's recordings have.
fn ramp_start(file: &Path) -> Option<i64> {
    let text = std::fs::read_to_string(file.with_file_name("summary.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some((v.get("workload_start")?.as_f64()? * 1000.0) as i64)
}

/// Loads one file, reporting progress on stderr when it is large.
fn load(file: &Path) -> anyhow::Result<Vec<HostSeries>> {
    let big = std::fs::metadata(file)
        .map(|m| m.len() > 64 << 20)
        .unwrap_or(false);
    let mut last_pct = 0;
    let mut progress = |p: Progress| {
        if big && p.bytes_total > 0 {
            let pct = p.bytes_done * 100 / p.bytes_total;
            if pct >= last_pct + 10 {
                last_pct = pct;
                eprintln!("{}: {pct}% read", file.display());
            }
        }
    };
    // Every RecordedError names the file: no context that would repeat it.
    Ok(recorded::load_with_progress(file, &mut progress)?)
}
