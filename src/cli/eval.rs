//! `memcanary eval`: arguments and the command's body.

use crate::eval::sweep::{settings, Sweep};
use crate::eval::{all_totals, report, Corpus, Manifest, Set, Totals, TraceScore};
use serde::Serialize;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `memcanary eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// The labelled corpus: a TOML manifest of `[[trace]]` entries
    /// (docs/eval.md).
    pub manifest: PathBuf,
    /// Config file (TOML); its `[detector]` table is the setting judged.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Try these values of one `[detector]` key, e.g.
    /// `headroom_forecast.horizon=10m,20m`; repeat for every combination.
    #[arg(long, value_name = "KEY=V1,V2,...")]
    pub sweep: Vec<Sweep>,
    /// Score only this set's recordings (`tuning` or `evaluation`): choose
    /// settings with `--set tuning`, then report `--set evaluation`.
    #[arg(long, value_parser = parse_set)]
    pub set: Option<Set>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_set(s: &str) -> Result<Set, String> {
    match s {
        "tuning" => Ok(Set::Tuning),
        "evaluation" => Ok(Set::Evaluation),
        _ => Err(format!("{s:?}: expected tuning or evaluation")),
    }
}

#[derive(Serialize)]
struct JsonSetting<'a> {
    setting: &'a str,
    pareto: bool,
    traces: &'a [TraceScore],
    totals: &'a [Totals],
}

/// Runs `memcanary eval`.
pub fn run(args: &EvalArgs) -> anyhow::Result<ExitCode> {
    let base = super::load_config(args.config.as_deref())?.detector;
    let mut manifest = Manifest::load(&args.manifest)?;
    if let Some(set) = args.set {
        manifest.entries.retain(|e| e.set == set);
    }
    anyhow::ensure!(
        !manifest.entries.is_empty(),
        "{}: no [[trace]] entry{}",
        args.manifest.display(),
        args.set
            .map_or(String::new(), |s| format!(" in the {} set", s.as_str()))
    );
    let corpus = Corpus::load(&manifest)?;
    let mut rows = Vec::new();
    for s in settings(&base, &args.sweep)? {
        let scores = corpus.score(&s.config)?;
        let totals = all_totals(&scores);
        rows.push((s.label, scores, totals));
    }
    let verdicts: Vec<_> = rows.iter().map(|r| &r.2[0].memcanary).collect();
    let pareto = crate::eval::score::pareto(&verdicts);
    let mut out = std::io::stdout().lock();
    if args.json {
        let json: Vec<_> = rows
            .iter()
            .zip(&pareto)
            .map(|((label, scores, totals), p)| JsonSetting {
                setting: label,
                pareto: *p,
                traces: scores,
                totals,
            })
            .collect();
        serde_json::to_writer_pretty(&mut out, &json)?;
        writeln!(out)?;
    } else if let [(_, scores, totals)] = rows.as_slice() {
        report::write_scores(&mut out, scores, totals)?;
    } else {
        let table: Vec<_> = rows.into_iter().map(|(l, _, t)| (l, t)).collect();
        report::write_sweep(&mut out, &table, &pareto)?;
    }
    Ok(ExitCode::SUCCESS)
}
