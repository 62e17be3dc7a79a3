//! The host's normal floor from its recent days, read from the datasource
//! when the watcher first sees a host ([`crate::detect::history`]).
//!
//! The detector learns a host's floor day by day: per UTC day the lowest
//! headroom ratio while nothing fired, a day with a critical dropped. The
//! agent keeps those days in its state file; a watcher has the datasource
//! instead, which holds every host's recent days. So when a host is first
//! seen (at start, or when it appears mid-run) the watcher asks, for all
//! such hosts at once, three instant queries of a 1-day-step subquery over
//! the last `history.days` full UTC days (`HISTORY` = the
//! `(MemAvailable + SwapFree) / (MemTotal + SwapTotal)` of the detector's
//! headroom ratio):
//!
//! ```text
//! min_over_time((HISTORY)[1d:1m])[14d:1d]                  the day's lowest ratio
//! increase(node_vmstat_oom_kill{sel}[1d])[14d:1d]          its OOM kills
//! count_over_time(node_memory_MemAvailable_bytes{sel}[1d])[14d:1d]   its samples
//! ```
//!
//! at `time` = the start of today (UTC): both Prometheus and
//! VictoriaMetrics align a subquery's steps to multiples of its step, so
//! each point is one UTC day's end and covers that day. The first one
//! evaluates the ratio every minute, `(days + 1) x 1440` points per host,
//! and VictoriaMetrics refuses more than 30,000 a series by default: more
//! than [`CHUNK_DAYS`] days are asked in several such queries, one after
//! the other. Its cost is most of the three's (docs/watch.md, "The
//! host's floor"). A day is clean as
//! far as the data can tell when it had no OOM kill and at least
//! [`MIN_DAY_SAMPLES`] samples; its minimum then seeds the host's floor
//! ([`crate::detect::Detector::seed_history`]), up to yesterday: today the
//! detector closes itself.
//!
//! What the data cannot show, and what it costs: a day the detector would
//! have dropped for a critical other than an OOM kill
//! (`exhaustion_imminent`, `thrashing`, `went_dark`) counts here, and so do
//! the samples while a warning fired (the detector skips them); both only
//! lower the floor, and a floor below the default gate plus the margin
//! leaves the gate where it is (lead lost, no alarm added). The 1-minute
//! subquery steps read every fourth sample of a 15 s scrape: a dip shorter
//! than a minute may be missed (the detector's median-of-three spike
//! filter drops a one-sample dip anyway), which raises the floor a little.
//!
//! Off the cycle's path: [`FloorAsk`] says when to ask and for whom, the
//! live loop asks on a thread of its own, and a failed or slow answer
//! leaves the hosts on the default gate until it is asked again
//! ([`RETRY_MS`] later).

use super::answer::Points;
use crate::detect::history::{DayMin, DAY_MS};
use crate::signal::node_exporter::{Field, MEM_AVAILABLE, OOM_KILL};
use std::collections::HashMap;

/// A day with fewer samples than this says too little of the host's
/// normal: the host was not reporting (down, or added that day). Eight
/// samples are 2 min at a 15 s scrape.
pub const MIN_DAY_SAMPLES: f64 = 8.0;

/// A failed history query is asked again this much later.
pub const RETRY_MS: i64 = 5 * 60_000;

/// The resolution of the day's minimum: the headroom ratio every minute.
pub const STEP: &str = "1m";

/// The most days one [`Ask::MinRatio`] query covers: its subquery
/// evaluates `(days + 1) x 1440` points per host, and VictoriaMetrics
/// refuses more than `-search.maxPointsPerTimeseries` (30,000 by default).
/// Longer `history.days` are asked in several queries of this many days.
pub const CHUNK_DAYS: u32 = 14;

/// What one history query is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// The day's lowest headroom ratio.
    MinRatio,
    /// The day's OOM kills.
    OomKills,
    /// The day's MemAvailable samples.
    Samples,
}

impl Ask {
    /// Every query, in the order asked.
    pub const ALL: [Ask; 3] = [Ask::MinRatio, Ask::OomKills, Ask::Samples];

    /// The signal whose name the answer's errors carry.
    pub fn field(self) -> Field {
        match self {
            Ask::MinRatio | Ask::Samples => Field::MemAvailable,
            Ask::OomKills => Field::OomKill,
        }
    }
}

/// The PromQL of `ask` over the `days` days before its time.
pub fn query(ask: Ask, selector: &str, days: u32) -> String {
    let sel = selector.trim();
    let per_day = match ask {
        Ask::MinRatio => {
            // `[watch] selector` is checked to be one `{...}` at load.
            let matchers = super::narrow::matchers(sel).unwrap_or_default();
            let ratio = crate::rules::build::headroom_ratio().render(matchers);
            format!("min_over_time(({ratio})[1d:{STEP}])")
        }
        Ask::OomKills => format!("increase({OOM_KILL}{sel}[1d])"),
        Ask::Samples => format!("count_over_time({MEM_AVAILABLE}{sel}[1d])"),
    };
    format!("{per_day}[{days}d:1d]")
}

/// One history request: the hosts, and the days before `at_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPlan {
    /// The hosts it is for (the answer may hold more: kept to these).
    pub hosts: Vec<String>,
    /// The query time: the start of a UTC day, ms.
    pub at_ms: i64,
    /// How many days before it (`detector.history.days`).
    pub days: u32,
}

impl HistoryPlan {
    /// The last day asked (the one before `at_ms`), days since 1970.
    pub fn through(&self) -> i64 {
        self.at_ms.div_euclid(DAY_MS) - 1
    }

    /// The queries of `ask`: each its time and its days, newest first
    /// (several of [`CHUNK_DAYS`] for the day's minimum, one otherwise).
    pub fn chunks(&self, ask: Ask) -> Vec<(i64, u32)> {
        let step = if ask == Ask::MinRatio {
            CHUNK_DAYS
        } else {
            self.days
        };
        let mut out = Vec::new();
        let (mut at, mut left) = (self.at_ms, self.days);
        while left > 0 {
            let n = left.min(step.max(1));
            out.push((at, n));
            at -= i64::from(n) * DAY_MS;
            left -= n;
        }
        out
    }
}

/// The three answers, each host's points per day end.
#[derive(Debug, Default)]
pub struct DayAnswers {
    /// [`Ask::MinRatio`]'s.
    pub min_ratio: HashMap<String, Points>,
    /// [`Ask::OomKills`]'s.
    pub kills: HashMap<String, Points>,
    /// [`Ask::Samples`]'s.
    pub samples: HashMap<String, Points>,
}

impl DayAnswers {
    /// Adds an answer to `ask` (one of its chunks).
    pub fn add(&mut self, ask: Ask, hosts: HashMap<String, Points>) {
        let into = match ask {
            Ask::MinRatio => &mut self.min_ratio,
            Ask::OomKills => &mut self.kills,
            Ask::Samples => &mut self.samples,
        };
        for (host, points) in hosts {
            into.entry(host).or_default().extend(points);
        }
    }
}

/// Each planned host's clean days, oldest first (a host without any has
/// an empty list).
pub fn clean_days(answers: &DayAnswers, plan: &HistoryPlan) -> HashMap<String, Vec<DayMin>> {
    let first = plan.through() - i64::from(plan.days) + 1;
    let asked = first..=plan.through();
    let mut out = HashMap::with_capacity(plan.hosts.len());
    for host in &plan.hosts {
        let at = |m: &HashMap<String, Points>, day| value_on(m.get(host), day);
        let days: Vec<DayMin> = answers
            .min_ratio
            .get(host)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(|&(t, ratio)| (day_ending(t), ratio))
            .filter(|(day, _)| asked.contains(day))
            .filter(|(day, _)| at(&answers.samples, *day).unwrap_or(0.0) >= MIN_DAY_SAMPLES)
            .filter(|(day, _)| at(&answers.kills, *day).unwrap_or(0.0) < 0.5)
            .map(|(day, min_headroom_ratio)| DayMin {
                day,
                min_headroom_ratio,
            })
            .collect();
        out.insert(host.clone(), days);
    }
    out
}

/// The UTC day a point at a day's end (`(day + 1) * DAY_MS`) covers.
fn day_ending(t_ms: i64) -> i64 {
    (t_ms - 1).div_euclid(DAY_MS)
}

fn value_on(points: Option<&Points>, day: i64) -> Option<f64> {
    points?
        .iter()
        .find(|&&(t, _)| day_ending(t) == day)
        .map(|p| p.1)
}

/// What a history answer did, for the log.
#[derive(Debug, Clone, PartialEq)]
pub enum HistoryOutcome {
    /// The hosts were seeded.
    Seeded {
        /// Hosts asked for.
        hosts: usize,
        /// Of them, those with enough clean days for a floor.
        with_floor: usize,
    },
    /// The query failed: the hosts run without history until asked again.
    Failed {
        /// Why.
        error: super::QueryError,
        /// The first failure since the last success (logged at warn).
        first: bool,
    },
}

/// When to ask for the history of the hosts that have none yet.
#[derive(Debug, Clone, Default)]
pub struct FloorAsk {
    /// A request is out.
    in_flight: bool,
    /// No request before this time (after a failure).
    next_try_ms: i64,
    /// A failure was reported since the last success.
    failing: bool,
}

impl FloorAsk {
    /// A plan for `hosts` (those without history) at `horizon_ms`, unless
    /// one is out, a failure's retry time has not come or there is no host.
    pub fn plan(
        &mut self,
        now_ms: i64,
        horizon_ms: i64,
        days: u32,
        hosts: Vec<String>,
    ) -> Option<HistoryPlan> {
        if self.in_flight || now_ms < self.next_try_ms || hosts.is_empty() {
            return None;
        }
        self.in_flight = true;
        Some(HistoryPlan {
            hosts,
            at_ms: horizon_ms.div_euclid(DAY_MS) * DAY_MS,
            days,
        })
    }

    /// The request came back well.
    pub fn answered(&mut self) {
        *self = FloorAsk::default();
    }

    /// The request failed at `now_ms`: asked again [`RETRY_MS`] later.
    /// Returns whether this is the first failure since the last success.
    pub fn failed(&mut self, now_ms: i64) -> bool {
        let first = !self.failing;
        self.in_flight = false;
        self.failing = true;
        self.next_try_ms = now_ms + RETRY_MS;
        first
    }
}

#[cfg(test)]
mod tests;
