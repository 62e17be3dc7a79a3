//! What `memcanary replay` prints: a JSON report per instance and a readable
//! timeline. Both are built from [`Replay`] as data first.

use super::baselines::PUBLISHED;
use super::{CliffKind, Replay};
use crate::detect::{AlertState, Event, Evidence, Severity};
use serde::Serialize;
use std::fmt::Write as _;
use std::io;

/// The JSON report of one instance.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceReport {
    /// The host.
    pub instance: String,
    /// Number of samples replayed.
    pub samples: usize,
    /// Median sample interval, seconds.
    pub interval_seconds: Option<f64>,
    /// memcanary's events.
    pub events: Vec<EventReport>,
    /// First firing event of any memcanary rule (RFC 3339).
    pub first_alert: Option<String>,
    /// Where the data ends.
    pub cliff: Option<CliffReport>,
    /// `cliff - first_alert`, seconds.
    pub lead_time_seconds: Option<f64>,
    /// The published rules on the same samples.
    pub baselines: Vec<BaselineReport>,
}

/// One event.
#[derive(Debug, Clone, Serialize)]
pub struct EventReport {
    /// When (RFC 3339).
    pub at: String,
    /// Rule name.
    pub rule: &'static str,
    /// Severity.
    pub severity: Severity,
    /// New state.
    pub state: AlertState,
    /// The numbers behind it.
    pub evidence: Evidence,
}

/// The cliff.
#[derive(Debug, Clone, Serialize)]
pub struct CliffReport {
    /// When (RFC 3339).
    pub at: String,
    /// Data gap or OOM kill.
    pub kind: CliffKind,
    /// Gap length, seconds.
    pub gap_seconds: Option<f64>,
}

/// One baseline's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct BaselineReport {
    /// Rule name.
    pub name: &'static str,
    /// Where it comes from.
    pub source: &'static str,
    /// First firing (RFC 3339), or null.
    pub first_firing: Option<String>,
    /// `cliff - first_firing`, seconds.
    pub lead_time_seconds: Option<f64>,
}

/// RFC 3339 with the seconds' fraction only when there is one.
pub fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| format!("{ms}ms"), |t| t.to_string())
}

fn lead(cliff: Option<i64>, at: Option<i64>) -> Option<f64> {
    Some((cliff? - at?) as f64 / 1000.0)
}

impl InstanceReport {
    /// Builds the report of one replay.
    pub fn new(r: &Replay) -> InstanceReport {
        let cliff_ms = r.cliff.map(|c| c.at_ms);
        let first = r.first_alert_ms();
        InstanceReport {
            instance: r.instance.clone(),
            samples: r.samples,
            interval_seconds: r.interval_ms.map(|ms| ms as f64 / 1000.0),
            events: r.events.iter().map(EventReport::new).collect(),
            first_alert: first.map(rfc3339),
            cliff: r.cliff.map(|c| CliffReport {
                at: rfc3339(c.at_ms),
                kind: c.kind,
                gap_seconds: c.gap_ms.map(|g| g as f64 / 1000.0),
            }),
            lead_time_seconds: lead(cliff_ms, first),
            baselines: PUBLISHED
                .iter()
                .map(|b| {
                    let at = r.baseline_first_ms(b.spec.name);
                    BaselineReport {
                        name: b.spec.name,
                        source: b.source,
                        first_firing: at.map(rfc3339),
                        lead_time_seconds: lead(cliff_ms, at),
                    }
                })
                .collect(),
        }
    }
}

impl EventReport {
    fn new(e: &Event) -> EventReport {
        EventReport {
            at: rfc3339(e.at_ms),
            rule: e.rule,
            severity: e.severity,
            state: e.state,
            evidence: e.evidence,
        }
    }
}

/// `1h2m3s` style, for humans.
pub fn human_duration(secs: f64) -> String {
    let neg = secs < 0.0;
    let mut s = secs.abs().round() as i64;
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    for (unit, len) in [("h", 3600), ("m", 60)] {
        if s >= len {
            let _ = write!(out, "{}{unit}", s / len);
            s %= len;
        }
    }
    if s > 0 || out.is_empty() || out == "-" {
        let _ = write!(out, "{s}s");
    }
    out
}

/// Bytes in binary units, for humans.
pub use crate::signal::units::bytes as human_bytes;

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |x| format!("{:.0}%", x * 100.0))
}

/// One event as a timeline line.
pub fn event_line(e: &Event) -> String {
    let ev = &e.evidence;
    let mut line = format!(
        "  {}  {:<8} {:<8} {:<24} headroom {} ({})",
        rfc3339(e.at_ms),
        e.state.as_str(),
        e.severity.as_str(),
        e.rule,
        human_bytes(ev.headroom_bytes),
        pct(Some(ev.headroom_ratio)),
    );
    if let Some(eta) = ev.eta_seconds {
        let _ = write!(line, ", ETA {}", human_duration(eta));
    }
    let _ = write!(line, ", PSI some {}", pct(ev.psi_some_ratio));
    if let Some(s) = ev.silent_seconds {
        let _ = write!(line, ", silent {}", human_duration(s));
    }
    line
}

/// The timeline's first line: the instance, its samples, span and interval,
/// or that it had none (e.g. an export of staleness markers only).
fn header(r: &Replay) -> String {
    if r.samples == 0 {
        return format!(
            "{}: no samples (no time at which every required metric has a value)",
            r.instance
        );
    }
    let mut line = format!("{}: {} samples", r.instance, r.samples);
    if let Some((a, b)) = r.span_ms {
        let _ = write!(line, ", {} .. {}", rfc3339(a), rfc3339(b));
    }
    if let Some(i) = r.interval_ms {
        let _ = write!(line, ", every {}", human_duration(i as f64 / 1000.0));
    }
    line
}

/// Writes the readable timeline of one replay.
pub fn write_timeline(w: &mut dyn io::Write, r: &Replay) -> io::Result<()> {
    let rep = InstanceReport::new(r);
    writeln!(w, "{}", header(r))?;
    for e in &r.events {
        writeln!(w, "{}", event_line(e))?;
    }
    match &rep.cliff {
        Some(c) => {
            let what = match c.kind {
                CliffKind::DataGap => format!(
                    "data gap ({} without samples)",
                    human_duration(c.gap_seconds.unwrap_or(0.0))
                ),
                CliffKind::OomKill => "OOM kill".into(),
            };
            writeln!(w, "  cliff: {} {what}", c.at)?;
        }
        None => writeln!(w, "  cliff: none (no data gap, no OOM kill)")?,
    }
    match (rep.first_alert.as_deref(), rep.lead_time_seconds) {
        (Some(at), Some(l)) => writeln!(
            w,
            "  first memcanary alert: {at}, {} before the cliff",
            human_duration(l)
        )?,
        (Some(at), None) => writeln!(w, "  first memcanary alert: {at}")?,
        (None, _) => writeln!(w, "  first memcanary alert: none")?,
    }
    writeln!(w, "  published rules on the same samples:")?;
    for b in &rep.baselines {
        let when = match (&b.first_firing, b.lead_time_seconds) {
            (Some(at), Some(l)) if l >= 0.0 => {
                format!("{at}  ({} before the cliff)", human_duration(l))
            }
            (Some(at), Some(l)) => format!("{at}  ({} after the cliff)", human_duration(-l)),
            (Some(at), None) => at.clone(),
            (None, _) => "never".into(),
        };
        writeln!(w, "    {:<40} {when}", b.name)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_prometheus() {
        assert_eq!(human_duration(0.0), "0s");
        assert_eq!(human_duration(59.6), "1m");
        assert_eq!(human_duration(3723.0), "1h2m3s");
        assert_eq!(human_duration(-90.0), "-1m30s");
    }

    #[test]
    fn bytes_in_binary_units() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(3 << 29), "1.5 GiB");
    }

    #[test]
    fn rfc3339_is_utc() {
        assert_eq!(rfc3339(1_780_131_600_000), "2026-05-30T09:00:00Z");
    }
}
