//! Recorded series for `memcanary replay`: files a monitoring stack wrote,
//! read into one [`HostSeries`] per host.
//!
//! Three formats, told apart by content (see `docs/replay-formats.md`):
//! VictoriaMetrics `/api/v1/export` JSON lines ([`parse_vm_export`]),
//! Prometheus `/api/v1/query_range` JSON ([`parse_prom_query_range`]) and CSV,
//! including the lab's 1 s ground-truth layout ([`parse_csv`]). Any of them
//! may be gzip-compressed; [`load`] sniffs the magic bytes.
//!
//! [`parse_vm_series`] reads an export series by series instead, as
//! written (staleness markers, `up` and `job` kept), for the rule tests.
//!
//! Each reader turns its format into per-metric chunks; the shared
//! `assemble` step joins a host's metrics by exact timestamp into
//! [`Sample`]s. Bad input is an error naming the file and line, never a
//! panic; the parsers are fuzzed (`fuzz/`).
//!
//! Memory is bounded on any input: no reader holds a line longer than
//! [`MAX_LINE_BYTES`] (CSV: [`MAX_CSV_ROW_BYTES`]) or a `query_range`
//! response larger than [`MAX_RESPONSE_BYTES`]; past that, the error names
//! the file and the line. What remains is what the file holds: the parsed
//! series grow with the valid samples in it.

mod assemble;
mod csv;
mod error;
mod lines;
mod number;
mod prom;
mod vm_export;
mod vm_line;
mod vm_series;

pub use self::csv::parse_csv;
pub use error::{Pos, Problem, RecordedError};
pub use prom::parse_prom_query_range;
pub use vm_export::parse_vm_export;
pub use vm_series::{parse_vm_series, VmSeries};

/// The longest export line read, bytes (512 MiB). The longest real line is
/// one series over the whole range: a year at a 5 s scrape interval is
/// 6.3 M points, at most 14 bytes per timestamp (13 digits and a comma) and
/// 23 per value (17 significant digits and an exponent), 234 MB; ~165 MB
/// with the integers node_exporter's memory series hold. So the cap is 2x
/// the worst case of such a year, and an input without line breaks
/// (`/dev/zero`) stops there instead of filling memory.
pub const MAX_LINE_BYTES: usize = 512 << 20;

/// The longest CSV row read, bytes (1 MiB): a row is one instant of one host,
/// tens of cells.
pub const MAX_CSV_ROW_BYTES: usize = 1 << 20;

/// The largest `query_range` response read, bytes (512 MiB). It is parsed
/// whole; Prometheus caps a query at 11,000 points per series (~330 KB of
/// JSON), so this is ~140 hosts of the 11 series replay reads, each at full
/// resolution. Split larger queries over several files.
pub const MAX_RESPONSE_BYTES: usize = 512 << 20;

use crate::signal::Sample;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek};
use std::path::Path;

/// The samples of one host, in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct HostSeries {
    /// The `instance` label; `inst{job="x"}` when one instance appears under
    /// several jobs.
    pub instance: String,
    /// Strictly increasing `at_ms`, one per timestamp where every required
    /// field has a value.
    pub samples: Vec<Sample>,
    /// The last timestamp seen for this host in any series (staleness
    /// markers and `up` included), so replay can see a trailing blackout.
    /// `i64::MIN` if the host had no timestamp at all.
    pub end_ms: i64,
    /// Non-fatal notes (an optional metric missing...), each naming the file.
    pub warnings: Vec<String>,
}

impl HostSeries {
    /// What a scraper with a longer interval would have seen: the first
    /// sample of each `every_ms` bucket (buckets aligned to multiples of
    /// `every_ms` since the epoch). `end_ms` is unchanged. An `every_ms` of 0
    /// or less keeps every sample.
    pub fn downsample(&self, every_ms: i64) -> HostSeries {
        let mut samples = Vec::with_capacity(self.samples.len());
        let mut last_bucket = None;
        for s in &self.samples {
            let bucket = if every_ms > 0 {
                s.at_ms.div_euclid(every_ms)
            } else {
                s.at_ms
            };
            if last_bucket != Some(bucket) {
                samples.push(*s);
                last_bucket = Some(bucket);
            }
        }
        HostSeries {
            samples,
            ..self.clone()
        }
    }
}

/// How far [`load_with_progress`] has read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes of the file read so far (compressed bytes for gzip).
    pub bytes_done: u64,
    /// Size of the file.
    pub bytes_total: u64,
}

/// Reads a recorded file of any supported format, gzip or not.
pub fn load(path: &Path) -> Result<Vec<HostSeries>, RecordedError> {
    load_with_progress(path, &mut |_| {})
}

/// The input formats [`load`] recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    VmExport,
    PromQueryRange,
    Csv,
}

/// Progress is reported at most this often (bytes), plus once at the end.
const PROGRESS_STEP: u64 = 4 << 20;

/// [`load`], reporting progress to `progress` as the file is read: every
/// 4 MiB for VictoriaMetrics exports (the big ones), and once at the end for
/// every format.
pub fn load_with_progress(
    path: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<HostSeries>, RecordedError> {
    let origin = path.display().to_string();
    let io = |source| RecordedError::Io {
        origin: origin.clone(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let bytes_total = file.metadata().map_err(io)?.len();
    // A second handle on the same open file shares its offset: how far the
    // readers got, without a counting wrapper in the way of large reads.
    let position = file.try_clone().map_err(io)?;
    let done = || {
        let mut handle = &position;
        handle.stream_position().unwrap_or(0)
    };
    let mut raw = BufReader::with_capacity(1 << 20, file);
    let gz = raw.fill_buf().map_err(io)?.starts_with(&[0x1f, 0x8b]);
    let mut reader: Box<dyn BufRead> = if gz {
        Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::bufread::MultiGzDecoder::new(raw),
        ))
    } else {
        Box::new(raw)
    };
    let format = sniff(reader.fill_buf().map_err(io)?);
    let mut reported = 0u64;
    let mut tick = || {
        let bytes_done = done();
        if bytes_done >= reported + PROGRESS_STEP {
            reported = bytes_done;
            progress(Progress {
                bytes_done,
                bytes_total,
            });
        }
    };
    let hosts = match format {
        None => Err(RecordedError::Empty {
            origin: origin.clone(),
        }),
        Some(Format::VmExport) => {
            vm_export::parse_vm_export_with(reader, &origin, MAX_LINE_BYTES, &mut tick)
        }
        Some(Format::Csv) => parse_csv(reader, &origin),
        Some(Format::PromQueryRange) => {
            let bytes = prom::read_response(reader, &origin, MAX_RESPONSE_BYTES)?;
            parse_prom_query_range(&bytes, &origin)
        }
    }?;
    progress(Progress {
        bytes_done: done(),
        bytes_total,
    });
    Ok(hosts)
}

/// Tells the format from the first bytes; `None` for an empty start.
fn sniff(head: &[u8]) -> Option<Format> {
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let head = &head[start..];
    if !head.starts_with(b"{") {
        return Some(Format::Csv);
    }
    let key_start = head[1..]
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map_or(1, |p| p + 1);
    let key = &head[key_start..];
    let prom = [&b"\"status\""[..], b"\"data\"", b"\"error"]
        .iter()
        .any(|k| key.starts_with(k));
    Some(if prom {
        Format::PromQueryRange
    } else {
        Format::VmExport
    })
}

#[cfg(test)]
mod tests;
