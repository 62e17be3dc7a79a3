//! Rules: a condition on [`Features`] plus Prometheus' pending -> firing ->
//! resolved life cycle, with a `for` duration and optional hysteresis.
//!
//! memcanary's own rules and the published rules it is compared with are all
//! [`RuleSpec`]s evaluated by the same [`RuleSet`] on the same features, so a
//! backtest compares like with like.
//!
//! | rule | severity | holds while | clears when |
//! |---|---|---|---|
//! | `swap_low` | warning | SwapFree/SwapTotal < `below_ratio` | ratio > `clear_ratio` |
//! | `psi_rising` | warning | PSI some over `rate_window` > `above_ratio` | < `clear_ratio` |
//! | `mem_available_collapse` | warning | MemAvailable/MemTotal < `below_ratio` and fell by >= `drop_ratio` of MemTotal within `trend_window` | ratio > `clear_ratio` |
//! | `headroom_forecast` | warning | robust slope < -`min_drain_ratio_per_min`, ETA < `horizon`, headroom ratio <= `max_headroom_ratio`, still falling over `recent_window` at >= `min_recent_fraction` of the trend's pace | (ETA >= `clear_horizon` or no drain) and headroom ratio >= `exhaustion_imminent.clear_headroom_ratio` |
//! | `exhaustion_imminent` | critical | headroom ratio < `below_headroom_ratio` and (ETA < `eta` or PSI some > `psi_rising.above_ratio`), for `for` (30 s: a dip that recovers within seconds is no page) | headroom ratio > `clear_headroom_ratio` |
//! | `oom_kill` | critical | `oom_kill` counter rose within `rate_window` | no kill within `rate_window` |
//! | `thrashing` | critical | PSI full > `psi_full_above_ratio` with >= `min_corroborating` of: major faults, swap-in, headroom below `exhaustion_imminent.below_headroom_ratio`, an OOM kill; host headroom ratio <= `max_headroom_ratio` (above it, a cgroup at its own limit) | PSI full < `clear_ratio` |
//! | `cgroup_thrashing` | warning | the same stall (`thrashing.*` thresholds) while host headroom ratio > `thrashing.max_headroom_ratio`: a cgroup at its own limit, not the host | PSI full < `thrashing.clear_ratio` or host headroom ratio <= `thrashing.max_headroom_ratio` |

use super::config::DetectorConfig;
use super::event::{AlertState, Event, Evidence, Severity};
use super::features::Features;

/// Name of the rule for a cgroup thrashing at its own memory limit while
/// the host has headroom to spare (the agent names the cgroup).
pub const CGROUP_THRASHING: &str = "cgroup_thrashing";

/// The condition of a rule. A missing signal makes a condition false, as a
/// missing series does in PromQL.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cond {
    /// `SwapFree / SwapTotal < below` (hysteresis: clears above `clear`).
    SwapLow {
        /// Fire below this ratio.
        below: f64,
        /// Clear above this ratio.
        clear: f64,
    },
    /// PSI some > `above` (clears below `clear`).
    PsiRising {
        /// Fire above this ratio.
        above: f64,
        /// Clear below this ratio.
        clear: f64,
    },
    /// MemAvailable low after a fast fall.
    MemCollapse {
        /// MemAvailable/MemTotal below this...
        below: f64,
        /// ...having fallen by this fraction of MemTotal.
        drop: f64,
        /// Clear above this ratio.
        clear: f64,
    },
    /// Headroom forecast to run out.
    Forecast {
        /// ETA below this many seconds.
        horizon_s: f64,
        /// Clear once the ETA is beyond this.
        clear_horizon_s: f64,
        /// Minimum drain, fraction of capacity per second.
        min_drain_ratio_per_s: f64,
        /// Only below this headroom ratio.
        max_headroom_ratio: f64,
        /// The recent slope must be at least this fraction of the trend slope.
        min_recent_fraction: f64,
        /// Once firing, hold while headroom is below this ratio.
        hold_below_ratio: f64,
    },
    /// Little headroom left and going fast (or already stalling).
    Imminent {
        /// Headroom ratio below this.
        below: f64,
        /// ETA below this many seconds...
        eta_s: f64,
        /// ...or PSI some above this.
        psi_above: f64,
        /// Clear above this headroom ratio.
        clear: f64,
    },
    /// PSI full high, corroborated, with the host's headroom at most
    /// `max_headroom`.
    Thrashing {
        /// The stall and what corroborates it.
        stall: Stall,
        /// Only at or below this host headroom ratio (above it, a cgroup
        /// is thrashing at its own limit, not the host).
        max_headroom: f64,
    },
    /// The same stall while the host has more headroom than `min_headroom`:
    /// one cgroup at its own memory limit (PSI full counts every cgroup's
    /// stalls), not the host. Clears once either no longer holds.
    CgroupThrashing {
        /// The stall and what corroborates it.
        stall: Stall,
        /// Only above this host headroom ratio.
        min_headroom: f64,
    },
    /// The OOM killer fired within the rate window.
    OomKill,
    /// `MemAvailable / MemTotal < ratio`.
    MemAvailableBelow {
        /// Threshold.
        ratio: f64,
    },
    /// `1 - SwapFree / SwapTotal > ratio` (never without swap).
    SwapUsedAbove {
        /// Threshold.
        ratio: f64,
    },
    /// `1 - MemAvailable / MemTotal > ratio`.
    MemUsedAbove {
        /// Threshold.
        ratio: f64,
    },
    /// `rate(pgmajfault[5m]) > per_s`.
    MajorFaults5mAbove {
        /// Threshold.
        per_s: f64,
    },
    /// earlyoom: MemAvailable <= `mem_ratio` and SwapFree <= `swap_ratio`
    /// (a host without swap meets the swap part).
    EarlyOom {
        /// Memory threshold.
        mem_ratio: f64,
        /// Swap threshold.
        swap_ratio: f64,
    },
    /// PSI full over the shortest window (between samples) > `ratio`.
    PsiFullShortAbove {
        /// Threshold.
        ratio: f64,
    },
    /// `predict_linear(headroom[trend], horizon) < 0` with a least-squares
    /// slope and no gating.
    PredictLinear {
        /// Look-ahead in seconds.
        horizon_s: f64,
    },
}

/// A stall in reclaim: PSI full high, corroborated (the evidence both
/// thrashing rules share; they differ only in the host's headroom).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stall {
    /// PSI full above this.
    pub full_above: f64,
    /// Clear below this.
    pub clear: f64,
    /// Corroborating signals needed.
    pub min_corr: u32,
    /// Major faults/s that corroborate.
    pub majfault: f64,
    /// Swap-in pages/s that corroborate.
    pub swapin: f64,
    /// Headroom ratio below which low headroom corroborates.
    pub headroom_below: f64,
}

impl Stall {
    /// Whether the stall holds at `f`: PSI full above the fire threshold
    /// (the clear one once `firing`), corroborated when it starts.
    fn holds(&self, f: &Features, firing: bool) -> bool {
        let t = if firing { self.clear } else { self.full_above };
        f.psi_full.is_some_and(|r| r > t) && (firing || self.corroboration(f) >= self.min_corr)
    }

    /// How many corroborating signals agree.
    pub fn corroboration(&self, f: &Features) -> u32 {
        [
            f.pgmajfault_rate.is_some_and(|r| r > self.majfault),
            f.pswpin_rate.is_some_and(|r| r > self.swapin),
            f.headroom_ratio < self.headroom_below,
            f.oom_kills_recent > 0.0,
        ]
        .into_iter()
        .filter(|b| *b)
        .count() as u32
    }
}

impl Cond {
    /// Whether the condition holds; `firing` selects the clear thresholds.
    #[inline(always)]
    pub fn holds(&self, f: &Features, firing: bool) -> bool {
        match *self {
            Cond::SwapLow { below, clear } => f
                .swap_free_ratio
                .is_some_and(|r| r < if firing { clear } else { below }),
            Cond::PsiRising { above, clear } => f
                .psi_some
                .is_some_and(|r| r > if firing { clear } else { above }),
            Cond::MemCollapse { below, drop, clear } => mem_collapse(f, firing, below, drop, clear),
            Cond::Forecast { .. } => forecast(f, firing, *self),
            Cond::Imminent {
                below,
                eta_s,
                psi_above,
                clear,
            } => imminent(f, firing, below, eta_s, psi_above, clear),
            Cond::Thrashing {
                stall,
                max_headroom,
            } => {
                // Host-wide only: above `max_headroom` a cgroup is at its own limit.
                stall.holds(f, firing) && (firing || f.headroom_ratio <= max_headroom)
            }
            Cond::CgroupThrashing {
                stall,
                min_headroom,
            } => stall.holds(f, firing) && f.headroom_ratio > min_headroom,
            Cond::OomKill => f.oom_kills_recent > 0.0,
            Cond::MemAvailableBelow { ratio } => f.mem_available_ratio < ratio,
            Cond::SwapUsedAbove { ratio } => f.swap_free_ratio.is_some_and(|r| 1.0 - r > ratio),
            Cond::MemUsedAbove { ratio } => 1.0 - f.mem_available_ratio > ratio,
            Cond::MajorFaults5mAbove { per_s } => f.pgmajfault_rate_5m.is_some_and(|r| r > per_s),
            Cond::EarlyOom {
                mem_ratio,
                swap_ratio,
            } => {
                f.mem_available_ratio <= mem_ratio
                    && f.swap_free_ratio.is_none_or(|r| r <= swap_ratio)
            }
            Cond::PsiFullShortAbove { ratio } => f.psi_full_short.is_some_and(|r| r > ratio),
            Cond::PredictLinear { horizon_s } => f
                .slope_lsq
                .is_some_and(|s| f.headroom + s * horizon_s < 0.0),
        }
    }

    /// How many corroborating signals agree (the thrashing rules only).
    pub fn corroboration(&self, f: &Features) -> u32 {
        match self {
            Cond::Thrashing { stall, .. } | Cond::CgroupThrashing { stall, .. } => {
                stall.corroboration(f)
            }
            _ => 0,
        }
    }
}

fn mem_collapse(f: &Features, firing: bool, below: f64, drop: f64, clear: f64) -> bool {
    if firing {
        f.mem_available_ratio < clear
    } else {
        f.mem_available_ratio < below && f.mem_available_drop_ratio >= drop
    }
}

fn forecast(f: &Features, firing: bool, c: Cond) -> bool {
    let Cond::Forecast {
        horizon_s,
        clear_horizon_s,
        min_drain_ratio_per_s,
        max_headroom_ratio,
        min_recent_fraction,
        hold_below_ratio,
    } = c
    else {
        return false;
    };
    if firing && f.headroom_ratio < hold_below_ratio {
        // Nearly out of headroom is not recovery, whatever the slope says.
        return true;
    }
    let (Some(slope), Some(eta)) = (f.slope, f.eta_s) else {
        return false;
    };
    if firing {
        return eta < clear_horizon_s;
    }
    // Still draining now, at a good part of the trend's pace: a job that
    // ramped up and settled has a steep trend but a flat recent slope.
    let recent = f
        .recent_slope
        .is_some_and(|r| r <= min_recent_fraction * slope);
    slope < -min_drain_ratio_per_s * f.capacity
        && eta < horizon_s
        && f.headroom_ratio <= max_headroom_ratio
        && recent
}

fn imminent(
    f: &Features,
    firing: bool,
    below: f64,
    eta_s: f64,
    psi_above: f64,
    clear: f64,
) -> bool {
    if firing {
        return f.headroom_ratio < clear;
    }
    f.headroom_ratio < below
        && (f.eta_s.is_some_and(|e| e < eta_s) || f.psi_some.is_some_and(|p| p > psi_above))
}

/// A named rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RuleSpec {
    /// Stable snake_case name.
    pub name: &'static str,
    /// Severity of its alerts.
    pub severity: Severity,
    /// How long the condition must hold before firing, ms.
    pub for_ms: i64,
    /// The condition.
    pub cond: Cond,
}

/// Where one rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RuleStatus {
    /// Condition false.
    #[default]
    Inactive,
    /// Condition true since `since`, not yet for `for`.
    Pending {
        /// When the condition became true.
        since: i64,
    },
    /// Firing since `since`.
    Firing {
        /// When the rule started firing.
        since: i64,
    },
}

/// Rules and their states, evaluated together on each sample's features.
#[derive(Debug, Clone)]
pub struct RuleSet {
    specs: Vec<RuleSpec>,
    status: Vec<RuleStatus>,
}

impl RuleSet {
    /// A rule set, every rule inactive.
    pub fn new(specs: Vec<RuleSpec>) -> RuleSet {
        let status = vec![RuleStatus::Inactive; specs.len()];
        RuleSet { specs, status }
    }

    /// memcanary's rules from the detector config (disabled rules left out).
    pub fn memcanary(cfg: &DetectorConfig) -> RuleSet {
        RuleSet::new(memcanary_rules(cfg))
    }

    /// The rules.
    pub fn specs(&self) -> &[RuleSpec] {
        &self.specs
    }

    /// Each rule with its status.
    pub fn iter(&self) -> impl Iterator<Item = (&RuleSpec, RuleStatus)> {
        self.specs.iter().zip(self.status.iter().copied())
    }

    /// Whether any rule is pending or firing.
    pub fn any_active(&self) -> bool {
        self.status.iter().any(|s| *s != RuleStatus::Inactive)
    }

    /// Sets the forecast's headroom gate (`Cond::Forecast`'s
    /// `max_headroom_ratio`): the host's own floor moves it ([`super::history`]).
    pub fn set_forecast_gate(&mut self, ratio: f64) {
        for s in &mut self.specs {
            if let Cond::Forecast {
                max_headroom_ratio, ..
            } = &mut s.cond
            {
                *max_headroom_ratio = ratio;
            }
        }
    }

    /// Evaluates every rule on `f`; state changes go to `out`, with the
    /// evidence made by `evidence` (called only when there is an event).
    #[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
    #[link_section = "memcanary_hot"]
    pub fn eval(&mut self, f: &Features, evidence: impl Fn() -> Evidence, out: &mut Vec<Event>) {
        for (spec, st) in self.specs.iter().zip(self.status.iter_mut()) {
            let firing = matches!(st, RuleStatus::Firing { .. });
            let holds = spec.cond.holds(f, firing);
            let (next, state) = step(*st, holds, f.at_ms, spec.for_ms);
            *st = next;
            if let Some(state) = state {
                out.push(Event {
                    at_ms: f.at_ms,
                    rule: spec.name,
                    severity: spec.severity,
                    state,
                    evidence: evidence(),
                });
            }
        }
    }
}

/// One step of the life cycle: the new status and the event to emit, if any.
fn step(st: RuleStatus, holds: bool, now: i64, for_ms: i64) -> (RuleStatus, Option<AlertState>) {
    use RuleStatus::*;
    match (st, holds) {
        (Inactive, true) if for_ms == 0 => (Firing { since: now }, Some(AlertState::Firing)),
        (Inactive, true) => (Pending { since: now }, Some(AlertState::Pending)),
        (Pending { since }, true) if now - since >= for_ms => {
            (Firing { since: now }, Some(AlertState::Firing))
        }
        (Pending { .. }, false) => (Inactive, None),
        (Firing { .. }, false) => (Inactive, Some(AlertState::Resolved)),
        (st, _) => (st, None),
    }
}

fn memcanary_rules(c: &DetectorConfig) -> Vec<RuleSpec> {
    let mut v = Vec::new();
    let mut add = |on: bool, name, severity, for_: super::Dur, cond| {
        if on {
            v.push(RuleSpec {
                name,
                severity,
                for_ms: for_.as_millis(),
                cond,
            });
        }
    };
    let s = &c.swap_low;
    add(
        s.enabled,
        "swap_low",
        s.severity,
        s.for_,
        Cond::SwapLow {
            below: s.below_ratio,
            clear: s.clear_ratio,
        },
    );
    let p = &c.psi_rising;
    add(
        p.enabled,
        "psi_rising",
        p.severity,
        p.for_,
        Cond::PsiRising {
            above: p.above_ratio,
            clear: p.clear_ratio,
        },
    );
    let m = &c.mem_available_collapse;
    add(
        m.enabled,
        "mem_available_collapse",
        m.severity,
        m.for_,
        Cond::MemCollapse {
            below: m.below_ratio,
            drop: m.drop_ratio,
            clear: m.clear_ratio,
        },
    );
    let f = &c.headroom_forecast;
    let i = &c.exhaustion_imminent;
    add(
        f.enabled,
        "headroom_forecast",
        f.severity,
        f.for_,
        Cond::Forecast {
            horizon_s: f.horizon.as_secs_f64(),
            clear_horizon_s: f.clear_horizon.as_secs_f64(),
            min_drain_ratio_per_s: f.min_drain_ratio_per_min / 60.0,
            max_headroom_ratio: f.max_headroom_ratio,
            min_recent_fraction: f.min_recent_fraction,
            hold_below_ratio: i.clear_headroom_ratio,
        },
    );
    add(
        i.enabled,
        "exhaustion_imminent",
        Severity::Critical,
        i.for_,
        Cond::Imminent {
            below: i.below_headroom_ratio,
            eta_s: i.eta.as_secs_f64(),
            psi_above: c.psi_rising.above_ratio,
            clear: i.clear_headroom_ratio,
        },
    );
    let t = &c.thrashing;
    let stall = Stall {
        full_above: t.psi_full_above_ratio,
        clear: t.clear_ratio,
        min_corr: t.min_corroborating,
        majfault: t.major_faults_per_s,
        swapin: t.swap_in_pages_per_s,
        headroom_below: i.below_headroom_ratio,
    };
    add(
        t.enabled,
        "thrashing",
        Severity::Critical,
        t.for_,
        Cond::Thrashing {
            stall,
            max_headroom: t.max_headroom_ratio,
        },
    );
    let g = &c.cgroup_thrashing;
    add(
        g.enabled,
        CGROUP_THRASHING,
        g.severity,
        g.for_,
        Cond::CgroupThrashing {
            stall,
            min_headroom: t.max_headroom_ratio,
        },
    );
    add(
        c.oom_kill.enabled,
        "oom_kill",
        Severity::Critical,
        super::Dur::default(),
        Cond::OomKill,
    );
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use RuleStatus::*;

    #[test]
    fn life_cycle_follows_prometheus() {
        assert_eq!(
            step(Inactive, true, 0, 60),
            (Pending { since: 0 }, Some(AlertState::Pending))
        );
        assert_eq!(
            step(Pending { since: 0 }, true, 59, 60),
            (Pending { since: 0 }, None)
        );
        assert_eq!(
            step(Pending { since: 0 }, true, 60, 60),
            (Firing { since: 60 }, Some(AlertState::Firing))
        );
        assert_eq!(step(Pending { since: 0 }, false, 30, 60), (Inactive, None));
        assert_eq!(
            step(Firing { since: 60 }, true, 90, 60),
            (Firing { since: 60 }, None)
        );
        assert_eq!(
            step(Firing { since: 60 }, false, 90, 60),
            (Inactive, Some(AlertState::Resolved))
        );
        assert_eq!(
            step(Inactive, true, 5, 0),
            (Firing { since: 5 }, Some(AlertState::Firing))
        );
    }

    #[test]
    fn swap_low_has_hysteresis() {
        let c = Cond::SwapLow {
            below: 0.15,
            clear: 0.20,
        };
        let f = |r| Features {
            swap_free_ratio: Some(r),
            ..Features::default()
        };
        assert!(c.holds(&f(0.10), false));
        assert!(!c.holds(&f(0.17), false));
        assert!(c.holds(&f(0.17), true));
        assert!(!c.holds(&f(0.25), true));
        assert!(!c.holds(&Features::default(), false), "no swap: never");
    }

    #[test]
    fn earlyoom_without_swap_judges_memory_alone() {
        let c = Cond::EarlyOom {
            mem_ratio: 0.10,
            swap_ratio: 0.10,
        };
        let f = Features {
            mem_available_ratio: 0.05,
            ..Features::default()
        };
        assert!(c.holds(&f, false));
        let with_swap = Features {
            swap_free_ratio: Some(0.5),
            ..f
        };
        assert!(!c.holds(&with_swap, false));
    }

    #[test]
    fn every_memcanary_rule_can_be_turned_off() {
        let mut c = DetectorConfig::default();
        assert_eq!(memcanary_rules(&c).len(), 8);
        c.swap_low.enabled = false;
        c.thrashing.enabled = false;
        c.cgroup_thrashing.enabled = false;
        let names: Vec<_> = memcanary_rules(&c).iter().map(|r| r.name).collect();
        assert!(!names.contains(&"swap_low") && !names.contains(&"thrashing"));
        assert!(!names.contains(&CGROUP_THRASHING));
    }
}
