//! [`ProcError`]: why a kernel file could not be opened, read or parsed.
//!
//! One error for the whole procfs source: the kept-open files, the host's
//! `/proc` and the optional memory cgroup all report through it, and every
//! variant names the file.

use crate::signal::ParseError;
use std::path::PathBuf;

/// Why a sample could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    /// A file could not be opened (at start only).
    #[error("cannot open {path}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// `pread` failed.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not UTF-8 text.
    #[error("{path}: not UTF-8 text")]
    NotUtf8 {
        /// The file.
        path: PathBuf,
    },
    /// The file grew beyond any sane size.
    #[error("{path}: larger than 1 MiB")]
    TooBig {
        /// The file.
        path: PathBuf,
    },
    /// The text did not parse.
    #[error("{path}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Line, key and what is wrong.
        #[source]
        source: ParseError,
    },
    /// A one-number cgroup file held something else.
    #[error("{path}: not a number: {value:?}")]
    BadValue {
        /// The file.
        path: PathBuf,
        /// The text found (truncated).
        value: String,
    },
    /// The scope's files were closed after a failure and it has not been
    /// reopened yet (that is retried once per interval).
    #[error("{path}: the scope vanished (reopening it once per interval)")]
    Vanished {
        /// The directory.
        path: PathBuf,
    },
    /// The scope directory has no memory controller files.
    #[error("{path}: not a memory cgroup (no memory.current or memory.usage_in_bytes)")]
    NotACgroup {
        /// The directory.
        path: PathBuf,
    },
}

impl ProcError {
    /// Whether the file or directory is gone (removed, or a cgroup's kept fd
    /// answering `ENODEV`), rather than there and unreadable.
    pub fn is_gone(&self) -> bool {
        let gone = |e: &std::io::Error| {
            e.kind() == std::io::ErrorKind::NotFound
                || e.raw_os_error() == Some(rustix::io::Errno::NODEV.raw_os_error())
        };
        match self {
            ProcError::Open { source, .. } | ProcError::Read { source, .. } => gone(source),
            ProcError::Vanished { .. } | ProcError::NotACgroup { .. } => true,
            _ => false,
        }
    }
}
