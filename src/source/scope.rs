//! [`Scope`]: the configured memory cgroup, open or lost and reopened.
//!
//! A cgroup can be removed while the agent watches it (systemd stops and
//! starts a service, a pod is recreated) and made again at the same path.
//! The fds kept open on the old one then fail for good (the kernel answers
//! `ENODEV`), so the first failure of an essential scope file closes them
//! all, and the directory is opened afresh at most once per retry interval
//! until it reads again: only the reopening allocates, and a lost scope costs
//! nothing in between. Its samples are missing meanwhile (the scope's view
//! is not the host's), which the daemon reports as "scope vanished", and as
//! "scope back" once a sample reads.

use super::cgroup::CgroupScope;
use super::health::{Health, Part};
use crate::signal::{Meminfo, Sample};
use std::path::{Path, PathBuf};

/// The scope's directory and, while it reads, its open files.
#[derive(Debug)]
pub(crate) struct Scope {
    dir: PathBuf,
    open: Option<CgroupScope>,
    /// While lost: the earliest time (wall ms) of the next reopening.
    retry_at_ms: i64,
}

impl Scope {
    /// A scope whose files are open.
    pub(crate) fn new(open: CgroupScope) -> Scope {
        Scope {
            dir: open.dir().to_owned(),
            open: Some(open),
            retry_at_ms: i64::MIN,
        }
    }

    /// The open files; `None` while the scope is lost.
    pub(crate) fn files(&self) -> Option<&CgroupScope> {
        self.open.as_ref()
    }

    /// The directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Retry the reopening at the next read, whenever it comes.
    pub(crate) fn retry_now(&mut self) {
        self.retry_at_ms = i64::MIN;
    }

    /// Applies the scope's view to `s` (see [`CgroupScope::apply`]);
    /// reopens a lost scope when `at_ms` reached its retry time. `Err`:
    /// there is no view; its error is [`Health::error`] of [`Part::Cgroup`].
    #[inline(never)]
    pub(crate) fn apply(
        &mut self,
        host: &Meminfo,
        s: &mut Sample,
        at_ms: i64,
        retry_ms: i64,
        health: &mut Health,
    ) -> Result<(), Part> {
        if self.open.is_none() {
            self.reopen(at_ms, retry_ms, health)?;
        }
        let Some(files) = self.open.as_mut() else {
            return Err(Part::Cgroup);
        };
        match files.apply(host, s, health) {
            Ok(()) => {
                health.pass(Part::Cgroup);
                Ok(())
            }
            Err(e) => {
                self.lose(at_ms, retry_ms);
                health.fail(Part::Cgroup, e);
                Err(Part::Cgroup)
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn lose(&mut self, at_ms: i64, retry_ms: i64) {
        self.open = None;
        self.retry_at_ms = at_ms.saturating_add(retry_ms);
    }

    /// Opens the directory again if it is time to.
    #[cold]
    #[inline(never)]
    fn reopen(&mut self, at_ms: i64, retry_ms: i64, health: &mut Health) -> Result<(), Part> {
        if at_ms < self.retry_at_ms {
            return Err(Part::Cgroup);
        }
        match CgroupScope::open(&self.dir) {
            Ok(files) => {
                self.open = Some(files);
                Ok(())
            }
            Err(e) => {
                self.lose(at_ms, retry_ms);
                health.fail(Part::Cgroup, e);
                Err(Part::Cgroup)
            }
        }
    }
}
