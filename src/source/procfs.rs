//! [`ProcSource`]: this host's `/proc` as a stream of [`Sample`]s.
//!
//! `/proc/meminfo`, `/proc/vmstat` and `/proc/pressure/memory` are opened once
//! at start and re-read with `pread` into buffers allocated once, so the
//! steady path (one read per second, faster under pressure) allocates nothing
//! and opens nothing: both can stall or fail when the host is the one running
//! out of memory. `SwapTotal` is re-read with everything else, so swap added
//! or removed after start is seen on the next sample.
//!
//! `root` is `/proc` in production and a fixture tree in tests
//! (`tests/fixtures/proc/<case>/`). PSI is optional (kernel 4.20+, and off
//! with `psi=0`). An optional [`CgroupScope`] turns the sample into the view
//! of one memory cgroup; one that vanishes is reopened (see `scope.rs`).
//!
//! Only meminfo (and a scope's memory files) is essential: a vmstat or
//! pressure file that fails or holds garbage leaves its fields `None` in an
//! otherwise whole sample, and [`ProcSource::health`] says which file
//! failed and why.

use super::cgroup::CgroupScope;
pub use super::error::ProcError;
use super::health::{Health, Part};
use super::kept_file::{parse_psi, parse_with, KeptFile};
use super::scope::Scope;
use crate::signal::{Meminfo, MeminfoLayout, Psi, Sample, Vmstat, VmstatLayout};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often a lost scope is reopened unless [`ProcSource::set_retry`]
/// says otherwise.
const RETRY_MS: i64 = 1000;

/// The host's memory files, open.
#[derive(Debug)]
pub struct ProcSource {
    root: PathBuf,
    meminfo: KeptFile,
    /// Where meminfo's wanted lines were last time.
    meminfo_layout: MeminfoLayout,
    vmstat: KeptFile,
    /// Where vmstat's wanted lines were last time.
    vmstat_layout: VmstatLayout,
    psi: Option<KeptFile>,
    scope: Option<Scope>,
    /// How often a lost scope is reopened, ms.
    retry_ms: i64,
    /// Which files the latest sample read cleanly.
    health: Health,
    estimated_available: bool,
    /// The last `/proc/vmstat` counters read, for [`ProcSource::read_calm`].
    counters: Option<Vmstat>,
    /// The last PSI totals read, for [`ProcSource::read_calm`].
    last_psi: Option<Psi>,
}

/// Which files a [`ProcSource::read_calm`] re-reads; meminfo always is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refresh {
    /// Re-read `/proc/vmstat`, else repeat its last counters.
    pub vmstat: bool,
    /// Re-read the pressure file, else repeat its last totals.
    pub psi: bool,
}

impl Refresh {
    /// Every file (what [`ProcSource::read`] does).
    pub const ALL: Refresh = Refresh {
        vmstat: true,
        psi: true,
    };
}

impl ProcSource {
    /// Opens `root/meminfo`, `root/vmstat` and (if present)
    /// `root/pressure/memory`.
    pub fn open(root: &Path) -> Result<ProcSource, ProcError> {
        Ok(ProcSource {
            root: root.to_owned(),
            meminfo: KeptFile::open(&root.join("meminfo"), 8192)?,
            meminfo_layout: MeminfoLayout::default(),
            vmstat: KeptFile::open(&root.join("vmstat"), 16384)?,
            vmstat_layout: VmstatLayout::default(),
            psi: KeptFile::open_optional(&root.join("pressure/memory"), 256)?,
            scope: None,
            retry_ms: RETRY_MS,
            health: Health::default(),
            estimated_available: false,
            counters: None,
            last_psi: None,
        })
    }

    /// Restricts the view to one memory cgroup (see [`CgroupScope`]).
    pub fn with_scope(mut self, scope: CgroupScope) -> ProcSource {
        self.scope = Some(Scope::new(scope));
        self
    }

    /// A lost scope is reopened at most once per `every` (the agent's
    /// `interval`); 1 s until set.
    pub fn set_retry(&mut self, every: Duration) {
        self.retry_ms = every.as_millis().clamp(1, i64::MAX as u128) as i64;
    }

    /// Which files the latest sample read cleanly, and the errors of the
    /// others.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// Forgets every part's error: the next sample reports each failing
    /// part as a change (after a warm-up read whose errors nobody saw).
    pub fn reset_health(&mut self) {
        self.health = Health::default();
    }

    /// The parts this source reads (the `source` labels it can report).
    pub fn parts(&self) -> Vec<Part> {
        let mut v = vec![Part::Meminfo, Part::Vmstat];
        if self.psi.is_some() {
            v.push(Part::Pressure);
        }
        if let Some(scope) = &self.scope {
            v.push(Part::Cgroup);
            let files = scope.files();
            if files.is_some_and(|f| f.has_swap()) {
                v.push(Part::CgroupSwap);
            }
            if files.is_some_and(|f| f.has_pressure()) {
                v.push(Part::CgroupPressure);
            }
        }
        v
    }

    /// Whether a scope is configured and its files are closed, waiting to
    /// be reopened.
    pub fn scope_lost(&self) -> bool {
        self.scope.as_ref().is_some_and(|s| s.files().is_none())
    }

    /// The `/proc` root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The cgroup scope's open files, if a scope is configured and not lost.
    pub fn scope(&self) -> Option<&CgroupScope> {
        self.scope.as_ref().and_then(Scope::files)
    }

    /// Whether PSI is available (host file, or the scope's own).
    pub fn has_psi(&self) -> bool {
        self.psi.is_some() || self.scope().is_some_and(|s| s.has_pressure())
    }

    /// The pressure file the PSI data comes from, if any.
    pub fn psi_path(&self) -> Option<&Path> {
        let scoped = self.scope().and_then(|s| s.pressure_path());
        scoped.or(self.psi.as_ref().map(|p| p.path()))
    }

    /// Whether the last sample's MemAvailable was estimated (kernel < 3.14).
    pub fn estimated_available(&self) -> bool {
        self.estimated_available
    }

    /// Reads one sample stamped `at_ms`, every file afresh (a lost scope is
    /// reopened now); the error of the essential file that failed. An
    /// optional file's failure is in [`ProcSource::health`] only.
    pub fn read(&mut self, at_ms: i64) -> Result<Sample, ProcError> {
        if let Some(scope) = self.scope.as_mut() {
            scope.retry_now();
        }
        match self.read_calm(at_ms, Refresh::ALL) {
            Ok(s) => Ok(s),
            Err(part) => Err(self.health.take(part).unwrap_or_else(|| self.vanished())),
        }
    }

    #[cold]
    fn vanished(&self) -> ProcError {
        let path = self.scope.as_ref().map_or(self.root.as_path(), |s| s.dir());
        ProcError::Vanished {
            path: path.to_owned(),
        }
    }

    /// Like [`ProcSource::read`], but repeats the last values of the files
    /// `refresh` leaves out instead of re-reading them (a file never read
    /// yet is read). For a calm host: `/proc/vmstat`'s counters (major
    /// faults, swap-ins, OOM kills) only matter under pressure, and
    /// generating its ~180 lines is the biggest part of a sample's cost;
    /// the pressure file costs the kernel about 10 µs a read (docs/agent.md,
    /// "Where it goes"), and between reads a kernel PSI trigger can watch
    /// the stall instead (the agent's choice: `agent.calm_psi_interval`). A counter or total
    /// that moved meanwhile shows up, in full, at the next read of its file.
    ///
    /// `Err` names the essential part that failed (its error is in
    /// [`ProcSource::health`]); an optional part that fails leaves its fields
    /// `None` and is re-read at the next sample.
    #[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
    #[link_section = "memcanary_hot"]
    pub fn read_calm(&mut self, at_ms: i64, refresh: Refresh) -> Result<Sample, Part> {
        let health = &mut self.health;
        health.begin();
        let layout = &mut self.meminfo_layout;
        let m = match parse_with(&mut self.meminfo, |t| Meminfo::parse_with_layout(t, layout)) {
            Ok(m) => m,
            Err(e) => {
                health.fail(Part::Meminfo, e);
                return Err(Part::Meminfo);
            }
        };
        health.pass(Part::Meminfo);
        let (vmstat, vlayout) = (&mut self.vmstat, &mut self.vmstat_layout);
        let v = optional(
            health,
            Part::Vmstat,
            &mut self.counters,
            refresh.vmstat,
            || parse_with(vmstat, |t| Vmstat::parse_with_layout(t, vlayout)),
        )
        .unwrap_or_default();
        let (available, estimated) = m.available_or_estimate();
        self.estimated_available = estimated;
        let mut s = Sample {
            at_ms,
            mem_total_bytes: m.mem_total_bytes,
            mem_available_bytes: available,
            swap_total_bytes: m.swap_total_bytes,
            swap_free_bytes: m.swap_free_bytes,
            pgmajfault: v.pgmajfault,
            pswpin: v.pswpin,
            pswpout: v.pswpout,
            oom_kill: v.oom_kill,
            ..Sample::default()
        };
        if let Some(p) = self.psi.as_mut() {
            let last = &mut self.last_psi;
            if let Some(psi) = optional(health, Part::Pressure, last, refresh.psi, || parse_psi(p))
            {
                s.psi_some_total_us = Some(psi.some.total_us);
                s.psi_full_total_us = psi.full.map(|f| f.total_us);
            }
        }
        if let Some(scope) = self.scope.as_mut() {
            scope.apply(&m, &mut s, at_ms, self.retry_ms, health)?;
        }
        Ok(s)
    }
}

/// An optional part through [`last_or_read`]: `None` when it failed (its
/// error goes to `health`, and nothing stale is kept to repeat).
#[inline]
fn optional<T: Copy>(
    health: &mut Health,
    part: Part,
    last: &mut Option<T>,
    fresh: bool,
    read: impl FnOnce() -> Result<T, ProcError>,
) -> Option<T> {
    match last_or_read(last, fresh, read) {
        Ok(v) => {
            health.pass(part);
            Some(v)
        }
        Err(e) => {
            *last = None;
            health.fail(part, e);
            None
        }
    }
}

/// `last` when there is one and `fresh` is not asked for; else reads, and
/// keeps what it read as the new `last`.
fn last_or_read<T: Copy>(
    last: &mut Option<T>,
    fresh: bool,
    read: impl FnOnce() -> Result<T, ProcError>,
) -> Result<T, ProcError> {
    match *last {
        Some(v) if !fresh => Ok(v),
        _ => {
            let v = read()?;
            *last = Some(v);
            Ok(v)
        }
    }
}
