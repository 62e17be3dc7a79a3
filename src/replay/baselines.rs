//! The published rules memcanary is measured against, as [`RuleSpec`]s for
//! the same engine, so they judge exactly the same samples.
//!
//! Each is written as its source publishes it (thresholds and `for`); where a
//! rule needs a signal node_exporter lacks (earlyoom and systemd-oomd read
//! /proc and cgroups directly), the closest host-level equivalent is used and
//! said so in [`Baseline::source`].

use crate::detect::{Cond, RuleSpec, Severity};

/// A published rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Baseline {
    /// The rule, named after its source.
    pub spec: RuleSpec,
    /// Where it comes from and what it says.
    pub source: &'static str,
}

const fn rule(name: &'static str, for_s: i64, cond: Cond, source: &'static str) -> Baseline {
    Baseline {
        spec: RuleSpec {
            name,
            severity: Severity::Warning,
            for_ms: for_s * 1000,
            cond,
        },
        source,
    }
}

/// Every baseline, in report order.
pub const PUBLISHED: [Baseline; 10] = [
    rule(
        "user_swap_free_below_15pct_5m",
        300,
        Cond::SwapLow { below: 0.15, clear: 0.15 },
        "the user's rule as written (incident-184): node_memory_SwapFree_bytes < 15% of SwapTotal for 5m",
    ),
    rule(
        "apa_host_out_of_memory",
        120,
        Cond::MemAvailableBelow { ratio: 0.10 },
        "awesome-prometheus-alerts HostOutOfMemory: MemAvailable / MemTotal < 10% for 2m",
    ),
    rule(
        "apa_host_swap_is_filling_up",
        120,
        Cond::SwapUsedAbove { ratio: 0.80 },
        "awesome-prometheus-alerts HostSwapIsFillingUp: swap used > 80% for 2m",
    ),
    rule(
        "apa_host_memory_under_memory_pressure",
        120,
        Cond::MajorFaults5mAbove { per_s: 1000.0 },
        "awesome-prometheus-alerts HostMemoryUnderMemoryPressure: rate(node_vmstat_pgmajfault[5m]) > 1000 for 2m",
    ),
    rule(
        "node_mixin_memory_high_utilization",
        900,
        Cond::MemUsedAbove { ratio: 0.90 },
        "node-mixin NodeMemoryHighUtilization: 100 - MemAvailable / MemTotal * 100 > 90 for 15m",
    ),
    rule(
        "node_mixin_memory_major_pages_faults",
        900,
        Cond::MajorFaults5mAbove { per_s: 500.0 },
        "node-mixin NodeMemoryMajorPagesFaults: rate(node_vmstat_pgmajfault[5m]) > 500 for 15m",
    ),
    rule(
        "earlyoom_default",
        0,
        Cond::EarlyOom {
            mem_ratio: 0.10,
            swap_ratio: 0.10,
        },
        "earlyoom's default action point (-m 10 -s 10): MemAvailable <= 10% and SwapFree <= 10%",
    ),
    rule(
        "systemd_oomd_memory_pressure",
        30,
        Cond::PsiFullShortAbove { ratio: 0.60 },
        "systemd-oomd defaults (DefaultMemoryPressureLimit=60%, DefaultMemoryPressureDurationSec=30s), \
         host-level: PSI full between samples > 60% for 30s",
    ),
    rule(
        "systemd_oomd_swap_used",
        0,
        Cond::SwapUsedAbove { ratio: 0.90 },
        "systemd-oomd default SwapUsedLimit=90%: swap used > 90%",
    ),
    rule(
        "plain_predict_linear_30m",
        0,
        Cond::PredictLinear { horizon_s: 1800.0 },
        "a plain forecast rule: predict_linear(MemAvailable + SwapFree [2m], 30m) < 0, no gating",
    ),
];

/// The baselines' rule specs.
pub fn specs() -> Vec<RuleSpec> {
    PUBLISHED.iter().map(|b| b.spec).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_sources_given() {
        let mut names: Vec<_> = PUBLISHED.iter().map(|b| b.spec.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), PUBLISHED.len());
        assert!(PUBLISHED.iter().all(|b| !b.source.is_empty()));
    }
}
