//! [`Health`]: which of a sample's files read cleanly, and why the others
//! did not.
//!
//! One bad file must not blind the agent: a sample is built from several
//! [`Part`]s and only the essential ones (`/proc/meminfo`, and a scope's
//! memory files) decide whether there is a sample at all. A failing optional
//! part leaves its fields `None` (the detector then sees PSI, or the vmstat
//! counters, as absent) and the rest of the sample stands. Each part keeps
//! its latest error, so the daemon can log a failure once, again when its
//! kind changes, and once more when it recovers, and export it.

use super::error::ProcError;
use std::mem::discriminant;

/// One group of files a sample is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// `/proc/meminfo`: essential.
    Meminfo,
    /// `/proc/vmstat` (major faults, swap-ins, OOM kills).
    Vmstat,
    /// The host's `/proc/pressure/memory`.
    Pressure,
    /// The scope's memory files (`memory.current`, `memory.max`,
    /// `memory.stat`, or v1's): essential when a scope is configured.
    Cgroup,
    /// The scope's swap files (the host's swap figures stand in).
    CgroupSwap,
    /// The scope's own `memory.pressure`.
    CgroupPressure,
}

/// How many parts there are.
pub const PARTS: usize = 6;

impl Part {
    /// Every part, in the order of [`Part::index`].
    pub const ALL: [Part; PARTS] = [
        Part::Meminfo,
        Part::Vmstat,
        Part::Pressure,
        Part::Cgroup,
        Part::CgroupSwap,
        Part::CgroupPressure,
    ];

    /// The `source` label value in `/metrics` and in logs.
    pub fn label(self) -> &'static str {
        match self {
            Part::Meminfo => "meminfo",
            Part::Vmstat => "vmstat",
            Part::Pressure => "pressure",
            Part::Cgroup => "cgroup",
            Part::CgroupSwap => "cgroup_swap",
            Part::CgroupPressure => "cgroup_pressure",
        }
    }

    /// Without this part there is no sample.
    pub fn is_essential(self) -> bool {
        matches!(self, Part::Meminfo | Part::Cgroup)
    }

    /// What the sample lacks while this part fails.
    pub fn degrades(self) -> &'static str {
        match self {
            Part::Meminfo | Part::Cgroup => "no sample",
            Part::Vmstat => "major faults, swap-ins and OOM kills absent",
            Part::Pressure | Part::CgroupPressure => "PSI absent",
            Part::CgroupSwap => "the host's swap figures used",
        }
    }

    /// Position in [`Part::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    fn bit(self) -> u8 {
        1 << self.index()
    }
}

/// Each part's latest error, and what the latest sample changed.
#[derive(Debug, Default)]
pub struct Health {
    errors: [Option<ProcError>; PARTS],
    /// Parts whose read failed during the latest sample (a bit per part).
    failed: u8,
    /// Parts that began failing, failed differently or recovered during
    /// the latest sample.
    changed: u8,
}

impl Health {
    /// The part's latest error; `None` while it reads cleanly.
    pub fn error(&self, part: Part) -> Option<&ProcError> {
        self.errors[part.index()].as_ref()
    }

    /// Whether any read failed, or any part changed state, in the latest
    /// sample (one compare on the steady path).
    #[inline]
    pub fn eventful(&self) -> bool {
        self.failed | self.changed != 0
    }

    /// The parts whose read failed during the latest sample.
    pub fn failed(&self) -> impl Iterator<Item = Part> + '_ {
        Part::ALL.into_iter().filter(|p| self.failed & p.bit() != 0)
    }

    /// The parts that began failing, failed differently or recovered during
    /// the latest sample.
    pub fn changed(&self) -> impl Iterator<Item = Part> + '_ {
        Part::ALL
            .into_iter()
            .filter(|p| self.changed & p.bit() != 0)
    }

    /// A new sample begins.
    #[inline]
    pub(crate) fn begin(&mut self) {
        self.failed = 0;
        self.changed = 0;
    }

    /// `part` read cleanly.
    #[inline]
    pub(crate) fn pass(&mut self, part: Part) {
        if self.errors[part.index()].is_some() {
            self.recovered(part);
        }
    }

    #[cold]
    #[inline(never)]
    fn recovered(&mut self, part: Part) {
        self.errors[part.index()] = None;
        self.changed |= part.bit();
    }

    /// `part` failed with `e`; a change when it was clean or failed with
    /// another kind of error.
    #[cold]
    #[inline(never)]
    pub(crate) fn fail(&mut self, part: Part, e: ProcError) {
        self.failed |= part.bit();
        let slot = &mut self.errors[part.index()];
        if slot.as_ref().map(discriminant) != Some(discriminant(&e)) {
            self.changed |= part.bit();
        }
        *slot = Some(e);
    }

    /// Takes the part's error out (for one-shot reads that return it).
    pub(crate) fn take(&mut self, part: Part) -> Option<ProcError> {
        self.errors[part.index()].take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn bad(value: &str) -> ProcError {
        ProcError::BadValue {
            path: PathBuf::from("/x"),
            value: value.into(),
        }
    }

    #[test]
    fn a_failure_is_a_change_once_per_kind_and_again_on_recovery() {
        let mut h = Health::default();
        h.begin();
        h.pass(Part::Pressure);
        assert!(!h.eventful());
        h.fail(Part::Pressure, bad("a"));
        assert_eq!(h.changed().collect::<Vec<_>>(), vec![Part::Pressure]);
        h.begin();
        h.fail(Part::Pressure, bad("b"));
        assert!(h.eventful(), "a failure is counted");
        assert_eq!(h.changed().count(), 0, "same kind: not a change");
        h.begin();
        h.fail(Part::Pressure, ProcError::NotUtf8 { path: "/x".into() });
        assert_eq!(h.changed().count(), 1, "another kind");
        h.begin();
        h.pass(Part::Pressure);
        assert_eq!(h.changed().collect::<Vec<_>>(), vec![Part::Pressure]);
        assert!(h.error(Part::Pressure).is_none());
        assert_eq!(h.failed().count(), 0);
    }
}
