//! What can be wrong with a recorded file, always naming where.

use std::fmt;

/// Where in a file a problem was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Pos {
    /// A 1-based line.
    Line(u64),
    /// A 1-based line and 1-based byte column.
    LineCol(u64, u64),
    /// The n-th (0-based) series of a response that is one JSON document.
    Item(u64),
}

impl Pos {
    /// The 1-based line, if the position is a line.
    pub fn line(self) -> Option<u64> {
        match self {
            Pos::Line(l) | Pos::LineCol(l, _) => Some(l),
            Pos::Item(_) => None,
        }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pos::Line(l) => write!(f, "line {l}"),
            Pos::LineCol(l, c) => write!(f, "line {l} column {c}"),
            Pos::Item(i) => write!(f, "result[{i}]"),
        }
    }
}

/// What is wrong at a [`Pos`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// The text is not the expected JSON/CSV shape.
    #[error("malformed input: {0}")]
    Syntax(String),
    /// A value that is not a number (the offending text is quoted).
    #[error("value {0:?} is not a number")]
    NotANumber(String),
    /// NaN or an infinity where a measurement must be finite.
    #[error("value {0:?} is not finite (NaN or infinite)")]
    NotFinite(String),
    /// A negative value for a quantity that cannot be negative.
    #[error("value {0} is negative")]
    Negative(String),
    /// A value too large for a 64-bit counter.
    #[error("value {0} is too large")]
    TooLarge(String),
    /// A timestamp that cannot be read as a time.
    #[error("timestamp {0:?} is not a valid time")]
    BadTimestamp(String),
    /// `values` and `timestamps` of one series differ in length.
    #[error("{values} values but {timestamps} timestamps")]
    LengthMismatch {
        /// Number of values.
        values: usize,
        /// Number of timestamps.
        timestamps: usize,
    },
    /// A timestamp earlier than the one before it.
    #[error("timestamp {ts_ms} comes after {prev_ms}: timestamps out of order")]
    OutOfOrder {
        /// The earlier-in-file, later-in-time timestamp (ms).
        prev_ms: i64,
        /// The offending timestamp (ms).
        ts_ms: i64,
    },
    /// The same timestamp twice with different values.
    #[error(
        "timestamp {ts_ms} appears twice with different values: {first} ({first_at}) and {second}"
    )]
    Conflict {
        /// The duplicated timestamp (ms).
        ts_ms: i64,
        /// The value seen first.
        first: f64,
        /// Where the first value was.
        first_at: Pos,
        /// The value seen second (at the error's position).
        second: f64,
    },
    /// A line longer than the reader accepts (so that no input makes it
    /// grow without bound; see `MAX_LINE_BYTES` and `MAX_CSV_ROW_BYTES`).
    #[error("line longer than {limit_bytes} bytes, the most this format allows")]
    LineTooLong {
        /// The cap, bytes.
        limit_bytes: u64,
    },
    /// A `query_range` response larger than `MAX_RESPONSE_BYTES` (it is
    /// read whole); the position is the line where the cap was reached.
    #[error(
        "response larger than {limit_bytes} bytes, the most read at once: \
         split the query (a shorter range or fewer hosts per file)"
    )]
    ResponseTooLarge {
        /// The cap, bytes.
        limit_bytes: u64,
    },
    /// Anything else about the layout (CSV header, query result type...).
    #[error("{0}")]
    Format(String),
}

/// Why a recorded file could not be read into host series.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordedError {
    /// Reading (or decompressing) the file failed.
    #[error("cannot read {origin}")]
    Io {
        /// The file.
        origin: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file holds nothing but whitespace.
    #[error("{origin}: file is empty")]
    Empty {
        /// The file.
        origin: String,
    },
    /// A problem at a known place in the file.
    #[error("{origin}: {at}: {}{problem}", series_prefix(.series))]
    At {
        /// The file.
        origin: String,
        /// Where.
        at: Pos,
        /// The series concerned (`name{labels}`), when known.
        series: Option<String>,
        /// What is wrong.
        problem: Problem,
    },
    /// Not one memory series in the file.
    #[error("no node_memory_* series found in {origin}")]
    NoMemoryMetrics {
        /// The file.
        origin: String,
    },
    /// A host with memory series that lacks one the detector needs.
    #[error("{origin}: instance {instance} has memory series but no {metric} (required)")]
    MissingRequired {
        /// The file.
        origin: String,
        /// The host.
        instance: String,
        /// The missing metric's node_exporter name.
        metric: &'static str,
    },
    /// The Prometheus API answered `"status":"error"`.
    #[error("{origin}: the query failed on the server: {error_type}: {error}")]
    ServerError {
        /// The file.
        origin: String,
        /// `errorType`.
        error_type: String,
        /// `error`.
        error: String,
    },
}

fn series_prefix(series: &Option<String>) -> String {
    series
        .as_ref()
        .map(|s| format!("{s}: "))
        .unwrap_or_default()
}

impl RecordedError {
    /// A problem at `at`, for `series` if known.
    pub(crate) fn at(origin: &str, at: Pos, series: Option<String>, problem: Problem) -> Self {
        RecordedError::At {
            origin: origin.to_string(),
            at,
            series,
            problem,
        }
    }

    /// The line the error is on, when it is about one place.
    pub fn line(&self) -> Option<u64> {
        match self {
            RecordedError::At { at, .. } => at.line(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_file_line_series_and_problem() {
        let e = RecordedError::at(
            "x.jsonl",
            Pos::LineCol(7, 42),
            Some("node_memory_SwapFree_bytes{instance=\"a\"}".into()),
            Problem::NotANumber("abc".into()),
        );
        assert_eq!(
            e.to_string(),
            "x.jsonl: line 7 column 42: node_memory_SwapFree_bytes{instance=\"a\"}: value \"abc\" is not a number"
        );
        assert_eq!(e.line(), Some(7));
        let e = RecordedError::at("y.csv", Pos::Line(3), None, Problem::Negative("-1".into()));
        assert_eq!(e.to_string(), "y.csv: line 3: value -1 is negative");
    }
}
