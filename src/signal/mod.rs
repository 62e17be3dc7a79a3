//! Pure signal types: what one host's memory looked like at one instant.
//!
//! Everything here is plain data with units in the names. Parsers for the
//! kernel's text formats (meminfo, vmstat, PSI) live beside these types and
//! parse from `&str`, never from files: I/O happens at the edges (`source`).
//! So do the parsers of `/proc/[pid]` texts the agent's top-consumer
//! snapshot reads ([`pid_status`], [`cgroup_path`]) and of the memory
//! cgroup files it probes ([`cgroup_mem`]).

pub mod cgroup_mem;
pub mod cgroup_path;
mod meminfo;
pub mod node_exporter;
mod parse;
pub mod pid_status;
mod psi;
mod sample;
pub mod units;
mod vmstat;

pub use meminfo::{Meminfo, MeminfoLayout};
pub use parse::{ParseError, ParseErrorKind, ProcFile};
pub use psi::{Psi, PsiLine};
pub use sample::{Sample, SampleError};
pub use vmstat::{Vmstat, VmstatLayout};
