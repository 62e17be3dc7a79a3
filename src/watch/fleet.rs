//! [`Fleet`]: one detector per host, fed from a cycle's answers. Pure: the
//! horizon (the time up to which the datasource's data counts as complete)
//! comes in as an argument.
//!
//! A host's samples are joined from the per-metric answers by exact
//! timestamp (one scrape writes every series with the same time), as the
//! replay joins recorded series. Only samples newer than the host's last
//! one are fed, so overlapping windows never feed a sample twice.
//!
//! - A host seen for the first time is fed its history, and only each
//!   rule's last state change is reported: a firing that still holds, or
//!   the resolve of one that cleared (sent only if it was notified, e.g.
//!   before a restart). The dispatcher's dedupe, kept in `spool_dir`,
//!   keeps a restart from paging again; what it left firing and the
//!   history no longer shows is [`super::restored`]'s.
//! - Silence is the detector's own: every host's clock is advanced to the
//!   horizon with [`Detector::advance_to`], so a host that stops while
//!   under pressure raises `went_dark` (critical), whether the host or the
//!   datasource on it stopped. Nothing resolves without a fresh sample.
//! - A silent host that did not go dark raises the warning `host_silent`
//!   after `silent_after`, unless the datasource itself is failing (then
//!   every host is silent and that is one alert, `datasource_down`).
//! - A host silent for `forget_after` is dropped.
//! - A new host's recent days, once read from the datasource, seed its
//!   floor ([`Fleet::seed`], [`super::floor`]); until then it is
//!   [`Fleet::unseeded`] and its forecast gate the default one.

use super::answer::Points;
use crate::detect::history::DayMin;
use crate::detect::{AlertState, Detector, DetectorConfig, Event, Severity};
use crate::signal::node_exporter::Field;
use crate::signal::Sample;
use std::collections::{BTreeMap, HashMap};

/// The warning for a host silent without pressure: the detector's own rule
/// of that name (raised there when a rule was pending at the last sample;
/// here, for a calm host, after `silent_after`). One name, one alert.
pub use crate::detect::HOST_SILENT;

/// One cycle's answers: each field's points per host (`None`: not asked).
#[derive(Debug, Default)]
pub struct Batch {
    fields: [Option<HashMap<String, Points>>; 10],
}

impl Batch {
    /// Stores the answer for `field`.
    pub fn set(&mut self, field: Field, hosts: HashMap<String, Points>) {
        self.fields[index(field)] = Some(hosts);
    }

    fn points(&self, field: Field, host: &str) -> &[(i64, f64)] {
        self.fields[index(field)]
            .as_ref()
            .and_then(|m| m.get(host))
            .map_or(&[], Vec::as_slice)
    }

    /// Keeps only the hosts for which `keep` is true, in every field.
    pub fn retain_hosts(&mut self, mut keep: impl FnMut(&str) -> bool) {
        for m in self.fields.iter_mut().flatten() {
            m.retain(|h, _| keep(h));
        }
    }

    /// Hosts with any MemAvailable point (the one series a sample needs most).
    pub fn hosts(&self) -> impl Iterator<Item = &String> {
        self.fields[index(Field::MemAvailable)]
            .iter()
            .flat_map(HashMap::keys)
    }

    /// `host`'s samples: every time at which all required fields have a
    /// point, the optional ones filled where they have one at that time.
    pub fn samples(&self, host: &str) -> Vec<Sample> {
        // Each field's points looked up once per host, not once per time
        // (a backfill has 240 times a host at a 15 s scrape).
        let points = Field::ALL.map(|field| self.points(field, host));
        let total = points[index(Field::MemTotal)];
        let mut out = Vec::with_capacity(total.len());
        'times: for &(t, _) in total {
            let mut s = Sample {
                at_ms: t,
                ..Sample::default()
            };
            for (field, points) in Field::ALL.into_iter().zip(points) {
                let v = value_at(points, t);
                if v.is_none() && field.required() {
                    continue 'times;
                }
                set_field(&mut s, field, v);
            }
            out.push(s);
        }
        out
    }
}

fn index(field: Field) -> usize {
    Field::ALL.iter().position(|f| *f == field).unwrap_or(0)
}

fn value_at(points: &[(i64, f64)], t: i64) -> Option<f64> {
    points
        .binary_search_by_key(&t, |p| p.0)
        .ok()
        .map(|i| points[i].1)
}

fn set_field(s: &mut Sample, field: Field, v: Option<f64>) {
    let int = v.map(|v| v as u64);
    match field {
        Field::MemTotal => s.mem_total_bytes = int.unwrap_or(0),
        Field::MemAvailable => s.mem_available_bytes = int.unwrap_or(0),
        Field::SwapTotal => s.swap_total_bytes = int.unwrap_or(0),
        Field::SwapFree => s.swap_free_bytes = int.unwrap_or(0),
        Field::PsiSome => s.psi_some_total_us = int,
        Field::PsiFull => s.psi_full_total_us = int,
        Field::Pgmajfault => s.pgmajfault = int,
        Field::Pswpin => s.pswpin = int,
        Field::Pswpout => s.pswpout = int,
        Field::OomKill => s.oom_kill = int,
    }
}

/// One host's state.
#[derive(Debug, Clone)]
pub struct Host {
    detector: Detector,
    /// `host_silent` is firing.
    silent: bool,
    /// The time of the first sample fed (how much history the detector has).
    since_ms: i64,
    /// Its recent days were read from the datasource (or it needs none).
    seeded: bool,
}

impl Host {
    /// The host's detector.
    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    /// The time of its newest sample fed.
    pub fn last_ms(&self) -> Option<i64> {
        self.detector.features().map(|f| f.at_ms)
    }

    /// How much of its history the detector has seen, ms.
    pub fn history_ms(&self) -> i64 {
        self.last_ms().map_or(0, |t| t - self.since_ms)
    }

    /// Whether the watcher's own `host_silent` is firing.
    pub fn is_silent(&self) -> bool {
        self.silent || self.detector.is_silent()
    }
}

/// Timings of the fleet, from `[watch]`.
#[derive(Debug, Clone, Copy)]
pub struct FleetTimes {
    /// `silent_after`, ms (0: never).
    pub silent_after_ms: i64,
    /// `forget_after`, ms.
    pub forget_after_ms: i64,
}

/// Every host's detector.
#[derive(Debug, Clone)]
pub struct Fleet {
    cfg: DetectorConfig,
    times: FleetTimes,
    hosts: BTreeMap<String, Host>,
}

/// A host's name and one of its events.
pub type HostEvent = (String, Event);

impl Fleet {
    /// An empty fleet judged with `cfg` (validated).
    pub fn new(cfg: &DetectorConfig, times: FleetTimes) -> Fleet {
        Fleet {
            cfg: cfg.clone(),
            times,
            hosts: BTreeMap::new(),
        }
    }

    /// The names of the detector's rules.
    pub fn rule_names(&self) -> Vec<&'static str> {
        self.rules().specs().iter().map(|r| r.name).collect()
    }

    /// The detector's rules (all inactive).
    pub fn rules(&self) -> crate::detect::RuleSet {
        crate::detect::RuleSet::memcanary(&self.cfg)
    }

    /// The detector config every host is judged with.
    pub fn detector_config(&self) -> &DetectorConfig {
        &self.cfg
    }

    /// The hosts, by name.
    pub fn hosts(&self) -> &BTreeMap<String, Host> {
        &self.hosts
    }

    /// Feeds a successful cycle's answers up to `horizon_ms`.
    pub fn apply(&mut self, batch: &Batch, horizon_ms: i64, out: &mut Vec<HostEvent>) {
        for name in batch.hosts() {
            let samples = batch.samples(name);
            let fresh: Vec<Sample> = samples
                .into_iter()
                .filter(|s| s.at_ms <= horizon_ms)
                .collect();
            if fresh.is_empty() {
                continue;
            }
            match self.hosts.get_mut(name) {
                Some(host) => feed(host, name, &fresh, out),
                None => {
                    let host = self.first_sight(name, &fresh, out);
                    self.hosts.insert(name.clone(), host);
                }
            }
        }
        self.advance(horizon_ms, true, out);
    }

    /// A cycle without an answer: clocks advance to `horizon_ms` (so hosts
    /// under pressure go dark), `host_silent` is not judged.
    pub fn tick(&mut self, horizon_ms: i64, out: &mut Vec<HostEvent>) {
        self.advance(horizon_ms, false, out);
    }

    /// A new host's detector, fed its history. Of the events that history
    /// gives, only each rule's last state change is reported: a firing
    /// that still holds, or the resolve of one that cleared (which the
    /// dispatcher sends only if it notified the firing, e.g. before a
    /// restart); an incident of an hour ago is not news.
    fn first_sight(&self, name: &str, history: &[Sample], out: &mut Vec<HostEvent>) -> Host {
        let mut detector = Detector::new(&self.cfg);
        let mut events = Vec::new();
        for s in history {
            if let Err(e) = detector.feed(s, &mut events) {
                tracing::debug!(host = %name, error = %e, "sample refused");
            }
        }
        let mut last: Vec<Event> = Vec::new();
        for e in events
            .into_iter()
            .filter(|e| e.state != AlertState::Pending)
        {
            last.retain(|l| l.rule != e.rule);
            last.push(e);
        }
        out.extend(last.into_iter().map(|e| (name.to_string(), e)));
        Host {
            detector,
            silent: false,
            since_ms: history.first().map_or(0, |s| s.at_ms),
            seeded: false,
        }
    }

    /// The hosts whose recent days have not been read yet, by name.
    pub fn unseeded(&self) -> Vec<String> {
        let hosts = self.hosts.iter().filter(|(_, h)| !h.seeded);
        hosts.map(|(name, _)| name.clone()).collect()
    }

    /// Seeds `name`'s floor with its clean days up to day `through`
    /// ([`Detector::seed_history`]); returns whether it now has a floor
    /// (`false` too for a host no longer tracked).
    pub fn seed(&mut self, name: &str, days: &[DayMin], through: i64) -> bool {
        let Some(host) = self.hosts.get_mut(name) else {
            return false;
        };
        host.seeded = true;
        host.detector.seed_history(days, through);
        host.detector.history().len() >= self.cfg.history.min_clean_days as usize
    }

    /// Every firing rule of every host that is not silent, as a repeated
    /// firing with the current values (for reminders: the router notifies
    /// nothing for it, but keeps its values).
    pub fn firing_now(&self, out: &mut Vec<HostEvent>) {
        for (name, host) in &self.hosts {
            let d = &host.detector;
            let Some(f) = d.features().filter(|_| !host.is_silent()) else {
                continue;
            };
            for (spec, st) in d.rules().iter() {
                if let crate::detect::RuleStatus::Firing { since } = st {
                    let ev = Event {
                        at_ms: since,
                        rule: spec.name,
                        severity: spec.severity,
                        state: AlertState::Firing,
                        evidence: d.evidence(f, None),
                    };
                    out.push((name.clone(), ev));
                }
            }
        }
    }

    fn advance(&mut self, horizon_ms: i64, judge_silence: bool, out: &mut Vec<HostEvent>) {
        let mut events = Vec::new();
        let forget = self.times.forget_after_ms;
        self.hosts.retain(|name, host| {
            host.detector.advance_to(horizon_ms, &mut events);
            out.extend(events.drain(..).map(|e| (name.clone(), e)));
            let silent_ms = host.last_ms().map_or(0, |t| horizon_ms - t);
            if judge_silence {
                if let Some(ev) = silence(host, silent_ms, self.times.silent_after_ms, horizon_ms) {
                    out.push((name.clone(), ev));
                }
            }
            let keep = silent_ms < forget;
            if !keep {
                tracing::info!(host = %name, silent_s = silent_ms / 1000, "host forgotten after its silence");
            }
            keep
        });
    }
}

/// Feeds a known host its new samples.
fn feed(host: &mut Host, name: &str, samples: &[Sample], out: &mut Vec<HostEvent>) {
    let last = host.last_ms().unwrap_or(i64::MIN);
    let mut events = Vec::new();
    for s in samples.iter().filter(|s| s.at_ms > last) {
        if let Err(e) = host.detector.feed(s, &mut events) {
            tracing::debug!(host = %name, error = %e, "sample refused");
        }
    }
    let newest = samples.last().map_or(last, |s| s.at_ms);
    if host.silent && newest > last {
        host.silent = false;
        if let Some(f) = host.detector.features() {
            events.push(silent_event(host, f.at_ms, AlertState::Resolved, None));
        }
    }
    out.extend(events.into_iter().map(|e| (name.to_string(), e)));
}

/// `host_silent` firing when a host that is not dark has been silent for
/// `after_ms`.
fn silence(host: &mut Host, silent_ms: i64, after_ms: i64, now_ms: i64) -> Option<Event> {
    if after_ms == 0 || host.silent || host.detector.is_silent() || silent_ms < after_ms {
        return None;
    }
    host.silent = true;
    Some(silent_event(
        host,
        now_ms,
        AlertState::Firing,
        Some(silent_ms as f64 / 1000.0),
    ))
}

fn silent_event(host: &Host, at_ms: i64, state: AlertState, silent_s: Option<f64>) -> Event {
    let d = &host.detector;
    let evidence = d
        .features()
        .map(|f| d.evidence(f, silent_s))
        .unwrap_or_default();
    Event {
        at_ms,
        rule: HOST_SILENT,
        severity: Severity::Warning,
        state,
        evidence,
    }
}

#[cfg(test)]
mod tests;
