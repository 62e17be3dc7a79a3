//! `memcanary replay --table`: lead times of memcanary and every published
//! rule, one row per recording and scrape interval, as a Markdown table.
//!
//! A cell is the lead time before the cliff ("4m15s"), "after" when the rule
//! first fired only once the cliff had come, "never", or, on a recording
//! without a cliff (a benign run), "quiet" or "FIRED" (a false alarm).

use super::baselines::PUBLISHED;
use super::report::{human_duration, rfc3339};
use super::Replay;
use crate::detect::{AlertState, Severity};
use std::fmt::Write as _;

/// One row: a replay and what it is.
#[derive(Debug, Clone)]
pub struct Row<'a> {
    /// Recording name (file stem).
    pub name: String,
    /// Scrape interval label (`5s`, `15s`, `30s`).
    pub interval: String,
    /// When the workload started, if known (lab recordings say so), ms.
    pub ramp_start_ms: Option<i64>,
    /// The replay.
    pub replay: &'a Replay,
}

fn cell(first: Option<i64>, cliff: Option<i64>) -> String {
    match (first, cliff) {
        (None, None) => "quiet".into(),
        (Some(_), None) => "FIRED".into(),
        (None, Some(_)) => "never".into(),
        (Some(f), Some(c)) if f <= c => human_duration((c - f) as f64 / 1000.0),
        (Some(_), Some(_)) => "after".into(),
    }
}

fn first_of(r: &Replay, severity: Severity) -> Option<i64> {
    r.events
        .iter()
        .find(|e| e.state == AlertState::Firing && e.severity == severity)
        .map(|e| e.at_ms)
}

/// Renders the table.
pub fn render(rows: &[Row<'_>]) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "| recording | scrape | cliff | memcanary warning | % of ramp | memcanary critical |"
    );
    for b in PUBLISHED {
        let _ = write!(out, " {} |", b.spec.name);
    }
    out.push('\n');
    out.push_str("|---|---|---|---|---|---|");
    for _ in PUBLISHED {
        out.push_str("---|");
    }
    out.push('\n');
    for row in rows {
        let r = row.replay;
        let cliff = r.cliff.map(|c| c.at_ms);
        let warn = first_of(r, Severity::Warning);
        let crit = first_of(r, Severity::Critical);
        let ramp = match (row.ramp_start_ms, cliff, warn) {
            (Some(s), Some(c), Some(w)) if c > s => {
                format!("{:.0}%", (w - s) as f64 * 100.0 / (c - s) as f64)
            }
            _ => "-".into(),
        };
        let cliff_txt = r.cliff.map_or_else(
            || "none".into(),
            |c| {
                let kind = match c.kind {
                    super::CliffKind::DataGap => "gap",
                    super::CliffKind::OomKill => "OOM kill",
                };
                format!("{kind} {}", &rfc3339(c.at_ms)[11..19])
            },
        );
        let _ = write!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            row.name,
            row.interval,
            cliff_txt,
            cell(warn, cliff),
            ramp,
            cell(crit, cliff)
        );
        for b in PUBLISHED {
            let _ = write!(out, " {} |", cell(r.baseline_first_ms(b.spec.name), cliff));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_say_lead_never_after_quiet_or_fired() {
        assert_eq!(cell(Some(0), Some(90_000)), "1m30s");
        assert_eq!(cell(None, Some(1)), "never");
        assert_eq!(cell(Some(5), Some(1)), "after");
        assert_eq!(cell(None, None), "quiet");
        assert_eq!(cell(Some(1), None), "FIRED");
    }
}
