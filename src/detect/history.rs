//! The host's own history: its normal floor, learned day by day.
//!
//! Mid-ramp, an incident and a benign plateau look alike until the
//! incident leaves the range of headroom benign runs reach. Across hosts
//! that range is wide (a build host goes to 20 %, an idle one stays at
//! 80 %); for one host it is its own. [`Floor`] keeps, per UTC day, the
//! lowest headroom ratio the host reached while no alert was firing, and
//! forgets a day that saw a critical (an OOM kill, `exhaustion_imminent`,
//! `thrashing`, `went_dark`): an incident is not the host's normal.
//! Once [`HistoryConfig::min_clean_days`] such days are known, the floor is
//! the lowest of the last [`HistoryConfig::days`] of them, and the
//! forecast's headroom gate becomes `floor - margin_ratio` instead of
//! `headroom_forecast.max_headroom_ratio`: a host that leaves its own
//! envelope is warned earlier when its floor is high, and a host draining
//! to where it always goes stays quiet.
//!
//! Pure like the rest of the detector: days come from the samples' times.
//! A day closes at the first sample of a later day, so the floor changes
//! at most once a day and the gate is rewritten then, not per sample.

use super::config::ConfigError;
use super::event::{AlertState, Event, Severity};
use serde::{Deserialize, Serialize};

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// Most days kept (the longest `history.days`).
pub const MAX_DAYS: u32 = 60;

/// `[detector.history]`: the host's own floor.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HistoryConfig {
    /// Learn the floor and let it move the forecast's headroom gate.
    /// Without enough clean days the gate is `max_headroom_ratio`, as with
    /// this off.
    pub enabled: bool,
    /// Clean days needed before the floor is used (1..`days`).
    pub min_clean_days: u32,
    /// The floor is the lowest of the last this many clean days (1..60).
    pub days: u32,
    /// The forecast's headroom gate becomes `floor - margin_ratio` (0..1)...
    pub margin_ratio: f64,
    /// ...when that is above `headroom_forecast.max_headroom_ratio` (a host
    /// whose normal is high is warned earlier when it leaves it). `true`:
    /// also when it is below, so a host draining to where it always goes
    /// stays quiet, at the cost of lead on its incidents (docs/eval.md,
    /// "The host's own history").
    pub lower_gate: bool,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            enabled: true,
            min_clean_days: 3,
            days: 14,
            margin_ratio: 0.05,
            lower_gate: false,
        }
    }
}

impl HistoryConfig {
    /// Range checks; errors name `detector.history.KEY`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |key: &str, value: String, why: String| ConfigError {
            key: format!("history.{key}"),
            value,
            why,
        };
        if !(1..=MAX_DAYS).contains(&self.days) {
            let why = format!("must be between 1 and {MAX_DAYS}");
            return Err(err("days", self.days.to_string(), why));
        }
        if !(1..=self.days).contains(&self.min_clean_days) {
            let why = format!("must be between 1 and history.days ({})", self.days);
            return Err(err("min_clean_days", self.min_clean_days.to_string(), why));
        }
        if !(0.0..=1.0).contains(&self.margin_ratio) {
            let why = "must be a fraction between 0 and 1".into();
            return Err(err("margin_ratio", self.margin_ratio.to_string(), why));
        }
        Ok(())
    }
}

/// One clean day: its UTC day number and the lowest headroom ratio of its
/// samples while no alert fired.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DayMin {
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    /// The lowest headroom ratio, fraction of capacity.
    pub min_headroom_ratio: f64,
}

/// The floor's state: the day being watched and the clean days behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Floor {
    cfg: HistoryConfig,
    /// The day being watched (`None` before the first sample).
    day: Option<i64>,
    /// The first millisecond of the next day.
    next_day_ms: i64,
    /// Its lowest headroom ratio while nothing fired.
    day_min: f64,
    /// Whether a critical fired on it.
    day_tainted: bool,
    /// Rules firing now.
    firing: u32,
    /// Clean days, oldest first, at most `cfg.days`.
    days: Vec<DayMin>,
    /// Days up to this one were judged elsewhere ([`Floor::seed`]): the
    /// floor does not close them again from its own samples.
    seeded_through: Option<i64>,
}

impl Floor {
    /// No history yet.
    pub fn new(cfg: &HistoryConfig) -> Floor {
        Floor {
            cfg: *cfg,
            day: None,
            next_day_ms: i64::MIN,
            day_min: f64::INFINITY,
            day_tainted: false,
            firing: 0,
            // Room for every day kept: closing a day never allocates.
            days: Vec::with_capacity(cfg.days as usize),
            seeded_through: None,
        }
    }

    /// Adds the clean days up to day `through` judged elsewhere (the
    /// watcher reads them from the datasource): they replace what the floor
    /// closed itself up to `through` (a backfill's partial first day), and
    /// a day up to `through` is not closed again later. Days after
    /// `through` stay the floor's own; the most recent `days` are kept.
    pub fn seed(&mut self, days: &[DayMin], through: i64) {
        let theirs = days
            .iter()
            .filter(|d| d.day <= through && d.min_headroom_ratio.is_finite());
        let own = self.days.iter().filter(|d| d.day > through);
        self.set_days(theirs.chain(own).copied().collect());
        self.seeded_through = self.seeded_through.max(Some(through));
    }

    /// Starts from clean days kept elsewhere (the agent's state file),
    /// oldest first; the most recent `days` are kept.
    pub fn restore(&mut self, days: &[DayMin]) {
        let finite = days.iter().filter(|d| d.min_headroom_ratio.is_finite());
        self.set_days(finite.copied().collect());
    }

    /// `v` sorted, one per day, the most recent `days` kept, as the days.
    fn set_days(&mut self, mut v: Vec<DayMin>) {
        v.sort_by_key(|d| d.day);
        v.dedup_by_key(|d| d.day);
        let keep = self.cfg.days as usize;
        self.days.clear();
        self.days
            .extend_from_slice(&v[v.len().saturating_sub(keep)..]);
    }

    /// The clean days known, oldest first.
    pub fn days(&self) -> &[DayMin] {
        &self.days
    }

    /// The floor, once `min_clean_days` clean days are known.
    pub fn floor(&self) -> Option<f64> {
        if !self.cfg.enabled || self.days.len() < self.cfg.min_clean_days as usize {
            return None;
        }
        self.days
            .iter()
            .map(|d| d.min_headroom_ratio)
            .reduce(f64::min)
    }

    /// The forecast's headroom gate, given the configured one: the floor's
    /// (`floor - margin_ratio`) where the config lets it move the gate.
    pub fn gate(&self, configured: f64) -> f64 {
        let Some(floor) = self.floor() else {
            return configured;
        };
        let g = (floor - self.cfg.margin_ratio).clamp(0.0, 1.0);
        if self.cfg.lower_gate {
            g
        } else {
            g.max(configured)
        }
    }

    /// A sample at `at_ms` with headroom `ratio`, before the rules see it.
    /// Returns whether a day closed (the gate may have changed).
    #[inline]
    pub fn sample(&mut self, at_ms: i64, ratio: f64) -> bool {
        let closed = at_ms >= self.next_day_ms && self.roll(at_ms);
        if self.firing == 0 && ratio < self.day_min {
            self.day_min = ratio;
        }
        closed
    }

    /// The events the rules (or the silence) just emitted.
    #[inline]
    pub fn events(&mut self, events: &[Event]) {
        for e in events {
            match e.state {
                AlertState::Firing => {
                    self.firing += 1;
                    self.day_tainted |= e.severity == Severity::Critical;
                }
                AlertState::Resolved => self.firing = self.firing.saturating_sub(1),
                AlertState::Pending => {}
            }
        }
    }

    /// A sample of a later day: the watched day closes. Returns whether a
    /// day was closed.
    #[cold]
    fn roll(&mut self, at_ms: i64) -> bool {
        let day = at_ms.div_euclid(DAY_MS);
        let closed = self.day.replace(day);
        let judged = |d: &i64| self.seeded_through.is_some_and(|t| *d <= t);
        if let Some(prev) =
            closed.filter(|d| !self.day_tainted && self.day_min.is_finite() && !judged(d))
        {
            if self.days.len() >= self.cfg.days as usize {
                self.days.remove(0);
            }
            self.days.push(DayMin {
                day: prev,
                min_headroom_ratio: self.day_min,
            });
        }
        self.next_day_ms = (day + 1) * DAY_MS;
        self.day_min = f64::INFINITY;
        self.day_tainted = false;
        closed.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Evidence;

    fn fire(severity: Severity, state: AlertState) -> Event {
        Event {
            at_ms: 0,
            rule: "r",
            severity,
            state,
            evidence: Evidence::default(),
        }
    }

    /// Feeds one sample a day at noon with the given ratios.
    fn days(f: &mut Floor, ratios: &[f64], from_day: i64) {
        for (i, r) in ratios.iter().enumerate() {
            f.sample((from_day + i as i64) * DAY_MS + DAY_MS / 2, *r);
        }
    }

    #[test]
    fn the_floor_is_the_lowest_of_the_last_clean_days_once_there_are_enough() {
        let mut f = Floor::new(&HistoryConfig::default());
        days(&mut f, &[0.5, 0.4], 100);
        assert_eq!(f.floor(), None, "one closed day of three");
        days(&mut f, &[0.6, 0.7], 102);
        assert_eq!(f.days().len(), 3);
        assert_eq!(f.floor(), Some(0.4));
        let g = f.gate(0.3);
        assert!((g - 0.35).abs() < 1e-12, "{g}");
        assert_eq!(
            f.gate(0.45),
            0.45,
            "by default the floor only raises the gate"
        );
        let mut lower = Floor::new(&HistoryConfig {
            lower_gate: true,
            ..HistoryConfig::default()
        });
        lower.restore(f.days());
        let g = lower.gate(0.45);
        assert!((g - 0.35).abs() < 1e-12, "{g}");
    }

    #[test]
    fn a_day_with_a_critical_is_not_the_hosts_normal() {
        let mut f = Floor::new(&HistoryConfig::default());
        days(&mut f, &[0.5], 100);
        f.events(&[fire(Severity::Critical, AlertState::Firing)]);
        f.sample(100 * DAY_MS + DAY_MS / 2 + 1, 0.01);
        f.events(&[fire(Severity::Critical, AlertState::Resolved)]);
        days(&mut f, &[0.6, 0.7, 0.8, 0.9], 101);
        assert_eq!(
            f.days().iter().map(|d| d.day).collect::<Vec<_>>(),
            [101, 102, 103]
        );
        assert_eq!(f.floor(), Some(0.6));
    }

    #[test]
    fn samples_while_a_warning_fires_do_not_lower_the_floor() {
        let mut f = Floor::new(&HistoryConfig::default());
        f.sample(DAY_MS, 0.5);
        f.events(&[fire(Severity::Warning, AlertState::Firing)]);
        f.sample(DAY_MS + 1, 0.1);
        f.events(&[fire(Severity::Warning, AlertState::Resolved)]);
        f.sample(DAY_MS + 2, 0.45);
        days(&mut f, &[0.6, 0.6, 0.6], 2);
        assert_eq!(f.days()[0].min_headroom_ratio, 0.45);
    }

    #[test]
    fn only_the_last_days_count_and_off_means_no_floor() {
        let cfg = HistoryConfig {
            days: 3,
            min_clean_days: 2,
            ..HistoryConfig::default()
        };
        let mut f = Floor::new(&cfg);
        days(&mut f, &[0.1, 0.5, 0.6, 0.7, 0.8], 10);
        assert_eq!(f.floor(), Some(0.5));
        let mut off = Floor::new(&HistoryConfig {
            enabled: false,
            ..cfg
        });
        days(&mut off, &[0.5, 0.6, 0.7], 10);
        assert_eq!(off.floor(), None);
    }

    #[test]
    fn out_of_range_keys_are_named() {
        let bad = HistoryConfig {
            min_clean_days: 20,
            ..HistoryConfig::default()
        };
        let e = bad
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(
            e,
            "detector.history.min_clean_days = 20: must be between 1 and history.days (14)"
        );
        assert_eq!(HistoryConfig::default().validate(), Ok(()));
    }

    const MIB: u64 = 1 << 20;

    /// A 1000 MiB host (no swap), one sample every 15 s for `n` samples
    /// from `at_ms`, MemAvailable `avail(i)` MiB.
    fn host(at_ms: i64, n: i64, avail: impl Fn(i64) -> u64) -> Vec<crate::signal::Sample> {
        (0..n)
            .map(|i| crate::signal::Sample {
                at_ms: at_ms + i * 15_000,
                mem_total_bytes: 1000 * MIB,
                mem_available_bytes: avail(i) * MIB,
                ..Default::default()
            })
            .collect()
    }

    /// Three idle nights at 90 %, then a night draining 3 MiB/s from 90 %:
    /// the headroom at which the forecast fires on the last night.
    fn fires_at(cfg: &crate::detect::DetectorConfig) -> Option<f64> {
        let mut d = crate::detect::Detector::new(cfg);
        let mut out = Vec::new();
        for day in 0..3 {
            for s in host(20_000 * DAY_MS + day * DAY_MS, 40, |i| 900 - (i % 3) as u64) {
                d.feed(&s, &mut out).ok()?;
            }
        }
        assert!(out.is_empty(), "idle nights are quiet: {out:?}");
        let night = host(20_003 * DAY_MS, 80, |i| 900 - 45 * i.min(19) as u64);
        for s in &night {
            d.feed(s, &mut out).ok()?;
            if let Some(e) = out
                .iter()
                .find(|e| e.rule == "headroom_forecast" && e.state == AlertState::Firing)
            {
                return Some(e.evidence.headroom_ratio);
            }
        }
        None
    }

    #[test]
    fn a_host_leaving_its_own_high_floor_is_warned_before_the_default_gate() {
        let on = crate::detect::DetectorConfig::default();
        let mut off = on.clone();
        off.history.enabled = false;
        let (with, without) = (fires_at(&on), fires_at(&off));
        let with = with.unwrap_or_default();
        assert!(with > 0.45 && with <= 0.85, "with history: {with}");
        assert!(without.is_some_and(|h| h <= 0.45), "without: {without:?}");
    }

    fn d(day: i64, min_headroom_ratio: f64) -> DayMin {
        DayMin {
            day,
            min_headroom_ratio,
        }
    }

    #[test]
    fn seeded_days_replace_the_floors_own_up_to_through_and_are_not_closed_twice() {
        let mut f = Floor::new(&HistoryConfig {
            days: 3,
            min_clean_days: 2,
            ..HistoryConfig::default()
        });
        // A backfill that starts late on day 9: the floor's own day 9 is partial.
        f.sample(9 * DAY_MS + DAY_MS - 60_000, 0.9);
        f.sample(10 * DAY_MS + 1, 0.8);
        assert_eq!(f.days(), [d(9, 0.9)]);
        f.seed(&[d(7, 0.6), d(8, 0.7), d(9, 0.5), d(10, 0.1)], 9);
        assert_eq!(
            f.days(),
            [d(7, 0.6), d(8, 0.7), d(9, 0.5)],
            "day 10 is today's"
        );
        assert_eq!(f.floor(), Some(0.5));
        // Today closes itself; the oldest day goes.
        f.sample(11 * DAY_MS + 1, 0.9);
        assert_eq!(f.days(), [d(8, 0.7), d(9, 0.5), d(10, 0.8)]);

        // Seeded first, then a backfill reaching into a seeded day: that
        // day is the seed's, not closed again from the partial samples.
        let mut g = Floor::new(&HistoryConfig::default());
        g.seed(&[d(8, 0.7), d(9, 0.5)], 9);
        g.sample(9 * DAY_MS + DAY_MS - 60_000, 0.9);
        g.sample(10 * DAY_MS + 1, 0.8);
        assert_eq!(g.days(), [d(8, 0.7), d(9, 0.5)]);
    }

    #[test]
    fn restored_days_are_sorted_deduplicated_and_trimmed() {
        let mut f = Floor::new(&HistoryConfig {
            days: 2,
            min_clean_days: 2,
            ..HistoryConfig::default()
        });
        f.restore(&[d(3, 0.3), d(1, 0.1), d(2, 0.2), d(3, 0.3), d(4, f64::NAN)]);
        assert_eq!(f.days(), [d(2, 0.2), d(3, 0.3)]);
        assert_eq!(f.floor(), Some(0.2));
    }
}
