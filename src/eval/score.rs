//! Scoring, pure: what each recording's replay said against its label, the
//! totals over a set, and the envelope limit.
//!
//! A *lead fraction* places an alert on an incident's ramp: 1 at the
//! workload's start, 0 at the cliff, `(cliff - t) / (cliff - start)`. An
//! incident warned only at or after its cliff, or never, counts 0.
//!
//! The *envelope limit* is the best a detector that never alarms on a benign
//! run could do from headroom alone: for each incident, the lead fraction at
//! the first sample whose headroom is below the lowest headroom any benign
//! run of the same set reaches. Mid-ramp, an incident and a benign plateau
//! look alike until then.

use super::manifest::{Entry, Kind, Set};
use serde::Serialize;

/// What one recording's replay said, reduced to what scoring needs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// memcanary's first firing event of any severity, ms.
    pub first_alert_ms: Option<i64>,
    /// memcanary's first firing critical, ms.
    pub first_critical_ms: Option<i64>,
    /// Headroom (fraction of capacity) per sample: `(at_ms, ratio)`.
    pub headroom: Vec<(i64, f64)>,
    /// Each baseline's first firing, ms.
    pub baselines: Vec<(&'static str, Option<i64>)>,
}

/// An alert's place on the recording.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Lead {
    /// When, ms.
    pub at_ms: i64,
    /// Seconds before the cliff (negative: after it); incidents only.
    pub lead_seconds: Option<f64>,
    /// The lead fraction; incidents only, 0 when at or after the cliff.
    pub fraction: Option<f64>,
}

/// One recording, scored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceScore {
    /// Its name.
    pub name: String,
    /// Its run.
    pub run: String,
    /// Its label.
    pub kind: Kind,
    /// Its set.
    pub set: Set,
    /// memcanary's first alert.
    pub first_alert: Option<Lead>,
    /// memcanary's first critical.
    pub first_critical: Option<Lead>,
    /// The lowest headroom of the recording, fraction of capacity.
    pub min_headroom_ratio: Option<f64>,
    /// The baselines' first firings, by name.
    pub baselines: Vec<(&'static str, Option<Lead>)>,
    #[serde(skip)]
    headroom: Vec<(i64, f64)>,
    #[serde(skip)]
    start_ms: i64,
    #[serde(skip)]
    cliff_ms: Option<i64>,
}

/// How one detector (memcanary, or a baseline) did over a set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// Incidents in the set.
    pub incidents: usize,
    /// Of them, warned before the cliff.
    pub warned_before_cliff: usize,
    /// Median lead fraction over the incidents (missed ones count 0).
    pub median_lead_fraction: Option<f64>,
    /// The smallest lead fraction.
    pub min_lead_fraction: Option<f64>,
    /// Benign recordings with any alert.
    pub benign_alarms: usize,
    /// Benign recordings with a critical (memcanary only).
    pub benign_criticals: usize,
    /// Borderline recordings with a critical (memcanary only).
    pub borderline_criticals: usize,
}

impl Verdict {
    /// False alarms that count against a setting: any alert on a benign
    /// run, a critical on a borderline one.
    pub fn false_alarms(&self) -> usize {
        self.benign_alarms + self.borderline_criticals
    }
}

/// The envelope limit of a set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Envelope {
    /// The lowest headroom any benign recording of the set reaches.
    pub benign_floor_ratio: f64,
    /// Median over the incidents of the lead fraction at which headroom
    /// first drops below the floor.
    pub median_lead_fraction: f64,
    /// The smallest of those.
    pub min_lead_fraction: f64,
}

/// A set's totals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Totals {
    /// Which set (`None`: the whole manifest).
    pub set: Option<Set>,
    /// Recordings scored.
    pub recordings: usize,
    /// memcanary.
    pub memcanary: Verdict,
    /// The envelope limit (`None` without a benign run or an incident).
    pub envelope: Option<Envelope>,
    /// Each baseline.
    pub baselines: Vec<(&'static str, Verdict)>,
}

/// Scores one recording against its label.
pub fn score(entry: &Entry, obs: Observed) -> TraceScore {
    let lead = |at: Option<i64>| at.map(|t| place(t, entry.start_ms, entry.cliff_ms, entry.kind));
    TraceScore {
        name: entry.name.clone(),
        run: entry.run.clone(),
        kind: entry.kind,
        set: entry.set,
        first_alert: lead(obs.first_alert_ms),
        first_critical: lead(obs.first_critical_ms),
        min_headroom_ratio: obs.headroom.iter().map(|h| h.1).reduce(f64::min),
        baselines: obs
            .baselines
            .iter()
            .map(|(n, at)| (*n, lead(*at)))
            .collect(),
        headroom: obs.headroom,
        start_ms: entry.start_ms,
        cliff_ms: entry.cliff_ms,
    }
}

fn place(at_ms: i64, start_ms: i64, cliff_ms: Option<i64>, kind: Kind) -> Lead {
    let cliff = cliff_ms.filter(|_| kind == Kind::Incident);
    Lead {
        at_ms,
        lead_seconds: cliff.map(|c| (c - at_ms) as f64 / 1000.0),
        fraction: cliff.map(|c| fraction(at_ms, start_ms, c)),
    }
}

/// `(cliff - t) / (cliff - start)`, within 0..=1 (an alert before the
/// workload started counts 1).
fn fraction(at_ms: i64, start_ms: i64, cliff_ms: i64) -> f64 {
    if at_ms >= cliff_ms {
        return 0.0;
    }
    ((cliff_ms - at_ms) as f64 / (cliff_ms - start_ms) as f64).min(1.0)
}

/// Totals over the scores of one set (or all of them, with `set: None`).
pub fn totals(scores: &[TraceScore], set: Option<Set>) -> Totals {
    let mine: Vec<&TraceScore> = scores
        .iter()
        .filter(|s| set.is_none_or(|x| x == s.set))
        .collect();
    let names: Vec<&'static str> = mine
        .first()
        .map(|s| s.baselines.iter().map(|b| b.0).collect())
        .unwrap_or_default();
    Totals {
        set,
        recordings: mine.len(),
        memcanary: verdict(&mine, |s| (s.first_alert, s.first_critical)),
        envelope: envelope(&mine),
        baselines: names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                (
                    *n,
                    verdict(&mine, |s| (s.baselines.get(i).and_then(|b| b.1), None)),
                )
            })
            .collect(),
    }
}

type Firsts = (Option<Lead>, Option<Lead>);

fn verdict(scores: &[&TraceScore], firsts: impl Fn(&TraceScore) -> Firsts) -> Verdict {
    let of = |k: Kind| {
        scores
            .iter()
            .filter(move |s| s.kind == k)
            .map(|s| firsts(s))
    };
    let leads: Vec<f64> = of(Kind::Incident)
        .map(|(a, _)| a.and_then(|l| l.fraction).unwrap_or(0.0))
        .collect();
    Verdict {
        incidents: leads.len(),
        warned_before_cliff: leads.iter().filter(|f| **f > 0.0).count(),
        median_lead_fraction: median(&leads),
        min_lead_fraction: leads.iter().copied().reduce(f64::min),
        benign_alarms: of(Kind::Benign)
            .filter(|(a, c)| a.is_some() || c.is_some())
            .count(),
        benign_criticals: of(Kind::Benign).filter(|(_, c)| c.is_some()).count(),
        borderline_criticals: of(Kind::Borderline).filter(|(_, c)| c.is_some()).count(),
    }
}

fn envelope(scores: &[&TraceScore]) -> Option<Envelope> {
    let floor = scores
        .iter()
        .filter(|s| s.kind == Kind::Benign)
        .filter_map(|s| s.min_headroom_ratio)
        .reduce(f64::min)?;
    let leads: Vec<f64> = scores
        .iter()
        .filter(|s| s.kind == Kind::Incident)
        .map(|s| {
            let cliff = s.cliff_ms.unwrap_or(i64::MAX);
            s.headroom
                .iter()
                .find(|(at, h)| *h < floor && *at < cliff)
                .map_or(0.0, |(at, _)| fraction(*at, s.start_ms, cliff))
        })
        .collect();
    Some(Envelope {
        benign_floor_ratio: floor,
        median_lead_fraction: median(&leads)?,
        min_lead_fraction: leads.iter().copied().reduce(f64::min)?,
    })
}

fn median(xs: &[f64]) -> Option<f64> {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// Which rows no other row beats: fewer false alarms, more incidents warned
/// and a larger median lead, none worse.
pub fn pareto(rows: &[&Verdict]) -> Vec<bool> {
    let key = |v: &Verdict| {
        (
            v.false_alarms(),
            v.warned_before_cliff,
            v.median_lead_fraction.unwrap_or(0.0),
        )
    };
    rows.iter()
        .map(|r| {
            let (fa, w, m) = key(r);
            !rows.iter().any(|o| {
                let (ofa, ow, om) = key(o);
                ofa <= fa && ow >= w && om >= m && (ofa < fa || ow > w || om > m)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    const MIN: i64 = 60_000;

    fn entry(kind: Kind, set: Set, cliff_min: Option<i64>) -> Entry {
        Entry {
            file: PathBuf::from("x"),
            name: format!("{kind:?}"),
            run: "r".into(),
            kind,
            set,
            start_ms: 0,
            cliff_ms: cliff_min.map(|m| m * MIN),
            downsample: None,
            instance: None,
            scored: Default::default(),
        }
    }

    /// Headroom falling linearly from `from` to `to` over `mins` minutes.
    fn ramp(from: f64, to: f64, mins: i64) -> Vec<(i64, f64)> {
        (0..=mins)
            .map(|m| (m * MIN, from + (to - from) * m as f64 / mins as f64))
            .collect()
    }

    #[test]
    fn lead_fraction_is_one_at_the_start_and_zero_at_the_cliff() {
        let e = entry(Kind::Incident, Set::Tuning, Some(10));
        let s = score(
            &e,
            Observed {
                first_alert_ms: Some(4 * MIN),
                first_critical_ms: Some(10 * MIN),
                ..Observed::default()
            },
        );
        let a = s.first_alert.unwrap();
        assert!((a.fraction.unwrap() - 0.6).abs() < 1e-12);
        assert_eq!(a.lead_seconds, Some(360.0));
        assert_eq!(s.first_critical.unwrap().fraction, Some(0.0));
    }

    #[test]
    fn totals_count_misses_as_zero_and_false_alarms_by_severity() {
        let inc = entry(Kind::Incident, Set::Evaluation, Some(10));
        let ben = entry(Kind::Benign, Set::Evaluation, None);
        let bord = entry(Kind::Borderline, Set::Evaluation, None);
        let scores = vec![
            score(
                &inc,
                Observed {
                    first_alert_ms: Some(5 * MIN),
                    ..Observed::default()
                },
            ),
            score(&inc, Observed::default()),
            score(
                &inc,
                Observed {
                    first_alert_ms: Some(2 * MIN),
                    ..Observed::default()
                },
            ),
            score(
                &ben,
                Observed {
                    first_alert_ms: Some(MIN),
                    ..Observed::default()
                },
            ),
            score(
                &ben,
                Observed {
                    first_alert_ms: Some(MIN),
                    first_critical_ms: Some(MIN),
                    ..Observed::default()
                },
            ),
            score(
                &bord,
                Observed {
                    first_alert_ms: Some(MIN),
                    ..Observed::default()
                },
            ),
            score(
                &bord,
                Observed {
                    first_critical_ms: Some(MIN),
                    ..Observed::default()
                },
            ),
        ];
        let v = totals(&scores, Some(Set::Evaluation)).memcanary;
        assert_eq!((v.incidents, v.warned_before_cliff), (3, 2));
        assert_eq!(v.median_lead_fraction, Some(0.5));
        assert_eq!(v.min_lead_fraction, Some(0.0));
        assert_eq!(
            (v.benign_alarms, v.benign_criticals, v.borderline_criticals),
            (2, 1, 1)
        );
        assert_eq!(v.false_alarms(), 3);
        assert_eq!(totals(&scores, Some(Set::Tuning)).recordings, 0);
    }

    #[test]
    fn the_envelope_is_where_an_incident_leaves_the_benign_range() {
        let inc = entry(Kind::Incident, Set::Tuning, Some(10));
        let ben = entry(Kind::Benign, Set::Tuning, None);
        let scores = vec![
            // Benign: down to 0.40 and plateau.
            score(
                &ben,
                Observed {
                    headroom: ramp(0.9, 0.4, 10),
                    ..Observed::default()
                },
            ),
            // Incident: 0.9 -> 0.0 over 10 min; below 0.40 after 5.56 min, first sample at 6 min.
            score(
                &inc,
                Observed {
                    headroom: ramp(0.9, 0.0, 10),
                    ..Observed::default()
                },
            ),
        ];
        let env = totals(&scores, None).envelope.unwrap();
        assert!((env.benign_floor_ratio - 0.4).abs() < 1e-12);
        assert!((env.median_lead_fraction - 0.4).abs() < 1e-12, "{env:?}");
    }

    #[test]
    fn no_benign_run_means_no_envelope() {
        let inc = entry(Kind::Incident, Set::Tuning, Some(10));
        let scores = vec![score(
            &inc,
            Observed {
                headroom: ramp(0.9, 0.0, 10),
                ..Observed::default()
            },
        )];
        assert_eq!(totals(&scores, None).envelope, None);
    }

    #[test]
    fn pareto_keeps_rows_no_other_beats() {
        let v = |fa: usize, w: usize, m: f64| Verdict {
            incidents: 3,
            warned_before_cliff: w,
            median_lead_fraction: Some(m),
            min_lead_fraction: None,
            benign_alarms: fa,
            benign_criticals: 0,
            borderline_criticals: 0,
        };
        let rows = [v(0, 3, 0.4), v(2, 3, 0.6), v(1, 3, 0.3), v(0, 3, 0.4)];
        let refs: Vec<&Verdict> = rows.iter().collect();
        assert_eq!(pareto(&refs), vec![true, true, false, true]);
    }
}
