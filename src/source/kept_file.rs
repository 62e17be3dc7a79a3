//! One kernel text file kept open and re-read with `pread` into a buffer
//! allocated once.
//!
//! Opening a file allocates kernel memory (dentry, file struct) and, for
//! `/proc`, may block on locks a thrashing kernel holds; Android's lmkd keeps
//! its fds open and re-reads them with `pread` for that reason, and so do we.
//! The buffer only grows if a file outgrows it (once, never on the steady
//! path), up to a hard cap.

use super::error::ProcError;
use crate::signal::{ParseError, Psi};
use std::fs::File;
use std::path::{Path, PathBuf};

/// Files larger than this are refused (a /proc file this big is broken).
const MAX_BYTES: usize = 1 << 20;

/// An open kernel file and its read buffer.
#[derive(Debug)]
pub(crate) struct KeptFile {
    path: PathBuf,
    file: File,
    buf: Vec<u8>,
}

impl KeptFile {
    /// Opens `path` read-only with a buffer of `capacity` bytes.
    pub(crate) fn open(path: &Path, capacity: usize) -> Result<KeptFile, ProcError> {
        let file = File::open(path).map_err(|source| ProcError::Open {
            path: path.to_owned(),
            source,
        })?;
        Ok(KeptFile {
            path: path.to_owned(),
            file,
            buf: vec![0; capacity.max(64)],
        })
    }

    /// Opens `path` if it exists; `Ok(None)` when it does not.
    pub(crate) fn open_optional(
        path: &Path,
        capacity: usize,
    ) -> Result<Option<KeptFile>, ProcError> {
        match KeptFile::open(path, capacity) {
            Ok(f) => Ok(Some(f)),
            Err(ProcError::Open { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The file's path, for messages.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Re-reads the whole file from offset 0; returns its text.
    pub(crate) fn read(&mut self) -> Result<&str, ProcError> {
        let len = self.fill()?;
        std::str::from_utf8(&self.buf[..len]).map_err(|_| ProcError::NotUtf8 {
            path: self.path.clone(),
        })
    }

    /// Re-reads the whole file from offset 0; returns its bytes, unchecked
    /// (the kernel's own files are ASCII; the parsers take bytes).
    #[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
    #[link_section = "memcanary_hot"]
    pub(crate) fn read_bytes(&mut self) -> Result<&[u8], ProcError> {
        let len = self.fill()?;
        Ok(&self.buf[..len])
    }

    /// Reads the whole file into the buffer; returns its length.
    #[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
    #[link_section = "memcanary_hot"]
    fn fill(&mut self) -> Result<usize, ProcError> {
        let mut len = 0;
        loop {
            if len == self.buf.len() {
                self.grow()?;
            }
            let n = match rustix::io::pread(&self.file, &mut self.buf[len..], len as u64) {
                Ok(n) => n,
                Err(e) => return Err(self.read_error(e)),
            };
            len += n;
            // A short read is the end for procfs/sysfs/cgroupfs (seq_file
            // fills the buffer while it has data). Asking again would make
            // the kernel regenerate the whole file to find the offset.
            if n == 0 || len < self.buf.len() {
                break;
            }
        }
        Ok(len)
    }

    /// Re-reads a one-number file such as `memory.current` or `max`.
    /// `Ok(None)` means "max" (no limit).
    pub(crate) fn read_u64_or_max(&mut self) -> Result<Option<u64>, ProcError> {
        let text = self.read()?.trim();
        if text == "max" {
            return Ok(None);
        }
        match text.parse::<u64>() {
            Ok(v) => Ok(Some(v)),
            Err(_) => {
                let value = text.chars().take(32).collect();
                Err(ProcError::BadValue {
                    path: self.path.clone(),
                    value,
                })
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn read_error(&self, e: rustix::io::Errno) -> ProcError {
        ProcError::Read {
            path: self.path.clone(),
            source: e.into(),
        }
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self) -> Result<(), ProcError> {
        let new_len = self.buf.len() * 2;
        if new_len > MAX_BYTES {
            return Err(ProcError::TooBig {
                path: self.path.clone(),
            });
        }
        self.buf.resize(new_len, 0);
        Ok(())
    }
}

/// Reads `f` and parses its bytes with `parse`; a parse error names the file.
pub(crate) fn parse_with<T>(
    f: &mut KeptFile,
    parse: impl FnOnce(&[u8]) -> Result<T, ParseError>,
) -> Result<T, ProcError> {
    let text = f.read_bytes()?;
    match parse(text) {
        Ok(v) => Ok(v),
        Err(source) => Err(parse_error(f, source)),
    }
}

#[cold]
#[inline(never)]
fn parse_error(f: &KeptFile, source: ParseError) -> ProcError {
    ProcError::Parse {
        path: f.path().to_owned(),
        source,
    }
}

#[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
#[link_section = "memcanary_hot"]
/// Reads and parses a PSI file (`/proc/pressure/memory`, `memory.pressure`).
pub(crate) fn parse_psi(f: &mut KeptFile) -> Result<Psi, ProcError> {
    parse_with(f, Psi::parse_bytes)
}
