//! `memcanary eval`: replay a labelled corpus and score the detector's
//! judgement against ground truth.
//!
//! A manifest ([`manifest`]) labels each recording (incident, benign,
//! borderline), its workload start and its cliff, and puts it in a tuning
//! or an evaluation set. [`Corpus::load`] reads every recording,
//! [`Corpus::score`] replays each through the same detector and baselines
//! as `memcanary replay`, and [`score`] turns what they said into lead
//! fractions, false alarms and the envelope limit.
//! [`sweep`] tries several detector settings on the same recordings.
//!
//! Loading files is the only I/O here; scoring is pure.

pub mod manifest;
pub mod report;
pub mod score;
pub mod sweep;

use crate::detect::{AlertState, DetectorConfig, Event, Severity};
use crate::replay::{self, Recording, Replay};
use crate::source::recorded::{self, HostSeries, RecordedError};
pub use manifest::{Entry, Kind, Manifest, ManifestError, Scored, Set};
pub use score::{Observed, Totals, TraceScore};
use std::collections::HashMap;
use std::path::PathBuf;

/// Why a manifest's recordings cannot be scored.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A recording could not be read (the source names the file).
    #[error("{name}")]
    Load {
        /// The entry.
        name: String,
        /// Why.
        #[source]
        source: Box<RecordedError>,
    },
    /// The file has no such instance, or several and the entry names none.
    #[error("{name}: {file}: {why}")]
    Instance {
        /// The entry.
        name: String,
        /// Its file.
        file: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// The detector refused a sample.
    #[error("{name}")]
    Replay {
        /// The entry.
        name: String,
        /// Why.
        #[source]
        source: Box<replay::ReplayError>,
    },
}

/// The recordings of a manifest, loaded once, for any number of settings.
#[derive(Debug)]
pub struct Corpus {
    /// The manifest's entries with their host's series (downsampled as asked).
    pub recordings: Vec<(Entry, HostSeries)>,
}

impl Corpus {
    /// Loads every entry's file (each file once).
    pub fn load(m: &Manifest) -> Result<Corpus, EvalError> {
        let mut files: HashMap<PathBuf, Vec<HostSeries>> = HashMap::new();
        let mut recordings = Vec::with_capacity(m.entries.len());
        for e in &m.entries {
            if !files.contains_key(&e.file) {
                let hosts = recorded::load(&e.file).map_err(|source| EvalError::Load {
                    name: e.name.clone(),
                    source: Box::new(source),
                })?;
                files.insert(e.file.clone(), hosts);
            }
            let host = pick(e, &files[&e.file])?;
            let host = match e.downsample {
                Some(d) => host.downsample(d.as_millis()),
                None => host.clone(),
            };
            recordings.push((e.clone(), host));
        }
        Ok(Corpus { recordings })
    }

    /// Replays every recording with `cfg` and scores it.
    pub fn score(&self, cfg: &DetectorConfig) -> Result<Vec<TraceScore>, EvalError> {
        self.recordings
            .iter()
            .map(|(e, h)| {
                let rec = Recording {
                    instance: &h.instance,
                    samples: &h.samples,
                    end_ms: h.end_ms,
                };
                let r = replay::run(&rec, cfg, true).map_err(|source| EvalError::Replay {
                    name: e.name.clone(),
                    source: Box::new(source),
                })?;
                Ok(score::score(e, observed(&r, e.scored)))
            })
            .collect()
    }
}

fn pick<'a>(e: &Entry, hosts: &'a [HostSeries]) -> Result<&'a HostSeries, EvalError> {
    let why = |why: String| EvalError::Instance {
        name: e.name.clone(),
        file: e.file.clone(),
        why,
    };
    match (&e.instance, hosts) {
        (Some(i), _) => hosts
            .iter()
            .find(|h| h.instance == *i)
            .ok_or_else(|| why(format!("no instance {i:?}"))),
        (None, [one]) => Ok(one),
        (None, []) => Err(why("no instance with samples".into())),
        (None, _) => Err(why(format!(
            "{} instances: name one with `instance`",
            hosts.len()
        ))),
    }
}

/// What scoring needs from a replay, within the scored part `within`.
pub fn observed(r: &Replay, within: Scored) -> Observed {
    let first = |sev: Option<Severity>| {
        first_firing(&r.events, within, |e| sev.is_none_or(|s| s == e.severity))
    };
    Observed {
        first_alert_ms: first(None),
        first_critical_ms: first(Some(Severity::Critical)),
        headroom: r
            .trace
            .iter()
            .filter(|t| within.contains(t.at_ms))
            .map(|t| (t.at_ms, t.headroom_ratio))
            .collect(),
        baselines: replay::baselines::PUBLISHED
            .iter()
            .map(|b| {
                let at = first_firing(&r.baseline_events, within, |e| e.rule == b.spec.name);
                (b.spec.name, at)
            })
            .collect(),
    }
}

/// The first firing event within the scored part that `pick` accepts.
fn first_firing(events: &[Event], within: Scored, pick: impl Fn(&Event) -> bool) -> Option<i64> {
    events
        .iter()
        .find(|e| e.state == AlertState::Firing && within.contains(e.at_ms) && pick(e))
        .map(|e| e.at_ms)
}

/// The totals of each set present, then of the whole manifest.
pub fn all_totals(scores: &[TraceScore]) -> Vec<Totals> {
    let mut sets: Vec<Set> = scores.iter().map(|s| s.set).collect();
    sets.sort();
    sets.dedup();
    let mut out: Vec<Totals> = sets
        .iter()
        .map(|s| score::totals(scores, Some(*s)))
        .collect();
    if sets.len() > 1 {
        out.push(score::totals(scores, None));
    }
    out
}
