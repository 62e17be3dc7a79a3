//! I/O adapters that produce [`Sample`](crate::signal::Sample)s.
//!
//! Sources are the only place that touches files or the network; they hand
//! the pure parsers in [`crate::signal`] text and the detector plain samples.
//!
//! - [`procfs`]: this host's `/proc` (and optionally one memory cgroup), read
//!   with `pread` on fds opened once: the on-host agent's source.
//! - [`recorded`]: series recorded by a monitoring stack (VictoriaMetrics
//!   export, Prometheus `query_range`, CSV), for `memcanary replay`.

mod cgroup;
mod error;
mod health;
mod kept_file;
pub mod procfs;
pub mod recorded;
mod scope;

pub use cgroup::{CgroupScope, CgroupVersion};
pub use error::ProcError;
pub use health::{Health, Part, PARTS};
pub use procfs::{ProcSource, Refresh};
