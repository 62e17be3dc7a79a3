//! node_exporter metric names and how they map onto [`Sample`](super::Sample) fields.
//!
//! One table, used by every reader of recorded series, by the fleet watcher and
//! by the rule exporter, so the names are spelled once.

/// `MemTotal` in bytes.
pub const MEM_TOTAL: &str = "node_memory_MemTotal_bytes";
/// `MemAvailable` in bytes.
pub const MEM_AVAILABLE: &str = "node_memory_MemAvailable_bytes";
/// `SwapTotal` in bytes.
pub const SWAP_TOTAL: &str = "node_memory_SwapTotal_bytes";
/// `SwapFree` in bytes.
pub const SWAP_FREE: &str = "node_memory_SwapFree_bytes";
/// PSI memory "some" total, seconds.
pub const PSI_SOME: &str = "node_pressure_memory_waiting_seconds_total";
/// PSI memory "full" total, seconds.
pub const PSI_FULL: &str = "node_pressure_memory_stalled_seconds_total";
/// Major page faults counter.
pub const PGMAJFAULT: &str = "node_vmstat_pgmajfault";
/// Pages swapped in counter.
pub const PSWPIN: &str = "node_vmstat_pswpin";
/// Pages swapped out counter.
pub const PSWPOUT: &str = "node_vmstat_pswpout";
/// OOM kills counter.
pub const OOM_KILL: &str = "node_vmstat_oom_kill";
/// The scrape health series that Prometheus and VictoriaMetrics write.
pub const UP: &str = "up";

/// The metrics a [`Sample`](super::Sample) cannot do without.
pub const REQUIRED: [&str; 4] = [MEM_TOTAL, MEM_AVAILABLE, SWAP_TOTAL, SWAP_FREE];

/// The optional metrics; a missing one degrades the detector.
pub const OPTIONAL: [&str; 6] = [PSI_SOME, PSI_FULL, PGMAJFAULT, PSWPIN, PSWPOUT, OOM_KILL];

/// Which [`Sample`](super::Sample) field a node_exporter metric fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// `mem_total_bytes`.
    MemTotal,
    /// `mem_available_bytes`.
    MemAvailable,
    /// `swap_total_bytes`.
    SwapTotal,
    /// `swap_free_bytes`.
    SwapFree,
    /// `psi_some_total_us` (the metric is in seconds).
    PsiSome,
    /// `psi_full_total_us` (the metric is in seconds).
    PsiFull,
    /// `pgmajfault`.
    Pgmajfault,
    /// `pswpin`.
    Pswpin,
    /// `pswpout`.
    Pswpout,
    /// `oom_kill`.
    OomKill,
}

impl Field {
    /// This field's value in `s` (`None`: the host does not report it).
    pub fn of(self, s: &super::Sample) -> Option<u64> {
        match self {
            Field::MemTotal => Some(s.mem_total_bytes),
            Field::MemAvailable => Some(s.mem_available_bytes),
            Field::SwapTotal => Some(s.swap_total_bytes),
            Field::SwapFree => Some(s.swap_free_bytes),
            Field::PsiSome => s.psi_some_total_us,
            Field::PsiFull => s.psi_full_total_us,
            Field::Pgmajfault => s.pgmajfault,
            Field::Pswpin => s.pswpin,
            Field::Pswpout => s.pswpout,
            Field::OomKill => s.oom_kill,
        }
    }

    /// Every field, in a fixed order.
    pub const ALL: [Field; 10] = [
        Field::MemTotal,
        Field::MemAvailable,
        Field::SwapTotal,
        Field::SwapFree,
        Field::PsiSome,
        Field::PsiFull,
        Field::Pgmajfault,
        Field::Pswpin,
        Field::Pswpout,
        Field::OomKill,
    ];

    /// The field a node_exporter metric name maps to, if any.
    pub fn from_metric(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.metric() == name)
    }

    /// The node_exporter metric name of this field.
    pub fn metric(self) -> &'static str {
        match self {
            Field::MemTotal => MEM_TOTAL,
            Field::MemAvailable => MEM_AVAILABLE,
            Field::SwapTotal => SWAP_TOTAL,
            Field::SwapFree => SWAP_FREE,
            Field::PsiSome => PSI_SOME,
            Field::PsiFull => PSI_FULL,
            Field::Pgmajfault => PGMAJFAULT,
            Field::Pswpin => PSWPIN,
            Field::Pswpout => PSWPOUT,
            Field::OomKill => OOM_KILL,
        }
    }

    /// Whether a sample needs this field.
    pub fn required(self) -> bool {
        matches!(
            self,
            Field::MemTotal | Field::MemAvailable | Field::SwapTotal | Field::SwapFree
        )
    }

    /// Multiplier from the metric's unit to the sample field's unit
    /// (seconds to microseconds for PSI, 1 otherwise).
    pub fn scale(self) -> f64 {
        match self {
            Field::PsiSome | Field::PsiFull => 1e6,
            _ => 1.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_round_trips_through_its_metric_name() {
        for f in Field::ALL {
            assert_eq!(Field::from_metric(f.metric()), Some(f));
        }
        assert_eq!(Field::from_metric("node_load1"), None);
    }

    #[test]
    fn required_fields_match_the_required_list() {
        let req: Vec<_> = Field::ALL
            .iter()
            .filter(|f| f.required())
            .map(|f| f.metric())
            .collect();
        assert_eq!(req, REQUIRED);
    }
}
