//! What `memcanary eval` prints: per recording its first alert and critical,
//! then each set's totals beside the envelope limit and every baseline; with
//! a sweep, one row of totals per setting.

use super::score::{Lead, Totals, TraceScore, Verdict};
use super::Kind;
use crate::detect::Dur;
use std::io::{self, Write};

/// The per-recording lines and each set's totals.
pub fn write_scores(
    out: &mut impl Write,
    scores: &[TraceScore],
    totals: &[Totals],
) -> io::Result<()> {
    let width = scores
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(9)
        .max(9);
    writeln!(
        out,
        "{:width$}  {:10}  {:10}  {:>21}  {:>21}  lowest headroom",
        "recording", "kind", "set", "first alert", "first critical"
    )?;
    for s in scores {
        writeln!(
            out,
            "{:width$}  {:10}  {:10}  {:>21}  {:>21}  {}",
            s.name,
            kind(s.kind),
            s.set.as_str(),
            cell(s.kind, s.first_alert),
            cell(s.kind, s.first_critical),
            s.min_headroom_ratio.map_or("-".into(), pct),
        )?;
    }
    for t in totals {
        writeln!(out)?;
        write_totals(out, t)?;
    }
    Ok(())
}

fn kind(k: Kind) -> &'static str {
    match k {
        Kind::Incident => "incident",
        Kind::Benign => "benign",
        Kind::Borderline => "borderline",
    }
}

/// An alert's cell: lead before the cliff and fraction on incidents,
/// `ALERT` on a benign or borderline run, `-` for none.
fn cell(k: Kind, l: Option<Lead>) -> String {
    match (k, l) {
        (_, None) if k == Kind::Incident => "never".into(),
        (_, None) => "-".into(),
        (Kind::Incident, Some(l)) => match (l.lead_seconds, l.fraction) {
            (Some(s), Some(f)) if s > 0.0 => {
                format!("{} ({f:.2})", Dur::from_millis(s.round() as i64 * 1000))
            }
            _ => "after the cliff".into(),
        },
        (_, Some(_)) => "ALERT".into(),
    }
}

fn pct(r: f64) -> String {
    format!("{:.1}%", r * 100.0)
}

fn frac(f: Option<f64>) -> String {
    f.map_or("-".into(), |f| format!("{f:.2}"))
}

fn write_totals(out: &mut impl Write, t: &Totals) -> io::Result<()> {
    let set = t.set.map_or("all recordings", |s| s.as_str());
    writeln!(out, "{set}: {} recordings", t.recordings)?;
    let m = &t.memcanary;
    writeln!(
        out,
        "  memcanary: {}/{} incidents warned before the cliff, median lead fraction {} (min {}); \
         false alarms: {} benign runs alerted ({} critical), {} borderline runs paged critical",
        m.warned_before_cliff,
        m.incidents,
        frac(m.median_lead_fraction),
        frac(m.min_lead_fraction),
        m.benign_alarms,
        m.benign_criticals,
        m.borderline_criticals,
    )?;
    match &t.envelope {
        Some(e) => writeln!(
            out,
            "  envelope limit: median lead fraction {:.2} (min {:.2}): where each incident's headroom first \
             drops below {}, the lowest any benign run of the set reaches",
            e.median_lead_fraction,
            e.min_lead_fraction,
            pct(e.benign_floor_ratio),
        )?,
        None => writeln!(out, "  envelope limit: - (needs a benign run and an incident)")?,
    }
    let width = t.baselines.iter().map(|b| b.0.len()).max().unwrap_or(0);
    for (name, v) in &t.baselines {
        writeln!(
            out,
            "  {name:width$}  {}/{} warned, median {}, {} benign runs alerted",
            v.warned_before_cliff,
            v.incidents,
            frac(v.median_lead_fraction),
            v.benign_alarms
        )?;
    }
    Ok(())
}

/// One row per setting: its totals on each set, Pareto rows marked `*`
/// (judged on the first set: the tuning set when there is one).
pub fn write_sweep(
    out: &mut impl Write,
    rows: &[(String, Vec<Totals>)],
    pareto: &[bool],
) -> io::Result<()> {
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(7).max(7);
    write!(out, "  {:width$}", "setting")?;
    for t in rows.first().map(|r| r.1.as_slice()).unwrap_or_default() {
        write!(out, "  {:>34}", t.set.map_or("all", |s| s.as_str()))?;
    }
    writeln!(out)?;
    for ((label, totals), best) in rows.iter().zip(pareto) {
        let label = if label.is_empty() {
            "(as configured)"
        } else {
            label
        };
        write!(out, "{} {label:width$}", if *best { '*' } else { ' ' })?;
        for t in totals {
            write!(out, "  {:>34}", summary(&t.memcanary))?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "(warned/incidents, median lead fraction, false alarms; * = Pareto set)"
    )
}

fn summary(v: &Verdict) -> String {
    format!(
        "{}/{} warned, {} median, {} false",
        v.warned_before_cliff,
        v.incidents,
        frac(v.median_lead_fraction),
        v.false_alarms()
    )
}
