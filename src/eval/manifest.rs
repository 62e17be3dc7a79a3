//! The labelled corpus's manifest: which recording is what, and where its
//! workload started and its cliff came, from ground truth.
//!
//! ```toml
//! [[trace]]
//! file = "swarm-2g/export-swarm-2g-15s.jsonl"   # relative to the manifest
//! run = "swarm-2g"
//! kind = "incident"            # incident | benign | borderline
//! set = "evaluation"           # tuning | evaluation
//! workload_start = "2026-12-01T10:20:00Z"
//! cliff = "2026-12-01T10:28:00Z"
//! ```
//!
//! A recording spanning days (a night per day, `tests/fixtures/corpus/composed/`)
//! is replayed whole, so the detector learns the host's own floor from the
//! nights before; each night is an entry of its own, scored only between
//! its `scored_from` and `scored_until` (and named by `name`).
//!
//! Stage one is serde ([`RawEntry`]); [`Manifest::parse`] checks each entry
//! and names it (`trace[3].cliff`) in its errors.

use crate::detect::Dur;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What a recording is, from its ground truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Ran out of memory: livelock, OOM kill or scrape gap.
    Incident,
    /// A normal run: any alert on it is a false alarm.
    Benign,
    /// Touched the edge and recovered by itself: a warning is fair, a
    /// critical is a false page.
    Borderline,
}

/// Which half of the corpus a recording belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Set {
    /// Defaults may be chosen on these.
    Tuning,
    /// Held out: results are reported on these, never tuned on.
    Evaluation,
}

impl Set {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Set::Tuning => "tuning",
            Set::Evaluation => "evaluation",
        }
    }
}

/// One `[[trace]]` table as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEntry {
    /// The recording, relative to the manifest.
    pub file: PathBuf,
    /// The run it comes from (its 5 s and 15 s files share it).
    pub run: Option<String>,
    /// What it is.
    pub kind: Kind,
    /// Tuning or evaluation.
    pub set: Set,
    /// When the workload started (RFC 3339).
    pub workload_start: String,
    /// Incidents: the first failed scrape or OOM kill (RFC 3339).
    pub cliff: Option<String>,
    /// Replay as a scraper with this interval would have seen it.
    pub downsample: Option<Dur>,
    /// The recording's own scrape interval (informative).
    pub scrape: Option<Dur>,
    /// Guest memory, MiB (informative).
    pub guest_mib: Option<u64>,
    /// Only this instance of the file.
    pub instance: Option<String>,
    /// Its name in reports (default: the file's stem).
    pub name: Option<String>,
    /// Score only what happened from this time on (RFC 3339); the replay
    /// still starts at the file's first sample.
    pub scored_from: Option<String>,
    /// Score only what happened before this time (RFC 3339).
    pub scored_until: Option<String>,
    /// Free text.
    pub notes: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    #[serde(default)]
    trace: Vec<RawEntry>,
}

/// One checked entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The recording's path (resolved against the manifest's folder).
    pub file: PathBuf,
    /// Its name in reports: `run` and the interval, or the file's stem.
    pub name: String,
    /// The run.
    pub run: String,
    /// What it is.
    pub kind: Kind,
    /// Tuning or evaluation.
    pub set: Set,
    /// Workload start, ms.
    pub start_ms: i64,
    /// Cliff, ms (incidents always; borderline runs may have one).
    pub cliff_ms: Option<i64>,
    /// Replay downsampled to this interval.
    pub downsample: Option<Dur>,
    /// Only this instance.
    pub instance: Option<String>,
    /// Only events and samples within `from..until` (ms) are scored.
    pub scored: Scored,
}

/// The part of a recording that is scored, ms: `from..until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scored {
    /// First scored time.
    pub from_ms: i64,
    /// First time no longer scored.
    pub until_ms: i64,
}

impl Default for Scored {
    fn default() -> Self {
        Scored {
            from_ms: i64::MIN,
            until_ms: i64::MAX,
        }
    }
}

impl Scored {
    /// Whether `at_ms` is scored.
    pub fn contains(&self, at_ms: i64) -> bool {
        (self.from_ms..self.until_ms).contains(&at_ms)
    }
}

/// A checked manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// Its entries, in file order.
    pub entries: Vec<Entry>,
}

/// Why a manifest cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("cannot read the manifest {path}")]
    Read {
        /// The manifest.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Not TOML of the right shape (the message has line and column).
    #[error("{path}: {message}")]
    Syntax {
        /// The manifest.
        path: PathBuf,
        /// What toml said.
        message: String,
    },
    /// An entry's value is wrong.
    #[error("{path}: trace[{index}].{key}: {why}")]
    Entry {
        /// The manifest.
        path: PathBuf,
        /// Which `[[trace]]` (0-based).
        index: usize,
        /// The key.
        key: &'static str,
        /// What is wrong, quoting the value.
        why: String,
    },
}

impl Manifest {
    /// Reads and checks a manifest; entries' files are resolved against its folder.
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Manifest::parse(&text, path, base)
    }

    /// Checks manifest text; `path` names it in errors, `base` resolves files.
    pub fn parse(text: &str, path: &Path, base: &Path) -> Result<Manifest, ManifestError> {
        let raw: RawManifest = toml::from_str(text).map_err(|e| ManifestError::Syntax {
            path: path.to_path_buf(),
            message: e.message().to_string() + &line_of(text, e.span()),
        })?;
        let entries = raw
            .trace
            .into_iter()
            .enumerate()
            .map(|(index, e)| {
                check(e, base).map_err(|(key, why)| ManifestError::Entry {
                    path: path.to_path_buf(),
                    index,
                    key,
                    why,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Manifest { entries })
    }
}

fn line_of(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    span.map(|s| {
        let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
        format!(" (line {line})")
    })
    .unwrap_or_default()
}

fn check(e: RawEntry, base: &Path) -> Result<Entry, (&'static str, String)> {
    let start_ms = timestamp(&e.workload_start).map_err(|w| ("workload_start", w))?;
    let cliff_ms = e
        .cliff
        .as_deref()
        .map(timestamp)
        .transpose()
        .map_err(|w| ("cliff", w))?;
    match (e.kind, cliff_ms) {
        (Kind::Incident, None) => return Err(("cliff", "an incident needs its cliff".into())),
        (Kind::Benign, Some(_)) => {
            return Err((
                "cliff",
                "a benign run has no cliff (label it borderline or incident)".into(),
            ))
        }
        (_, Some(c)) if c <= start_ms => {
            return Err((
                "cliff",
                format!(
                    "{:?} is not after workload_start",
                    e.cliff.unwrap_or_default()
                ),
            ))
        }
        _ => {}
    }
    let stem = e
        .file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("?")
        .to_string();
    let run = e.run.unwrap_or_else(|| stem.clone());
    let stem = e.name.unwrap_or(stem);
    let name = match e.downsample {
        Some(d) => format!("{stem}@{d}"),
        None => stem,
    };
    let scored = scored(e.scored_from.as_deref(), e.scored_until.as_deref())?;
    Ok(Entry {
        file: base.join(&e.file),
        name,
        run,
        kind: e.kind,
        set: e.set,
        start_ms,
        cliff_ms,
        downsample: e.downsample,
        instance: e.instance,
        scored,
    })
}

fn scored(from: Option<&str>, until: Option<&str>) -> Result<Scored, (&'static str, String)> {
    let all = Scored::default();
    let from_ms = from
        .map(timestamp)
        .transpose()
        .map_err(|w| ("scored_from", w))?;
    let until_ms = until
        .map(timestamp)
        .transpose()
        .map_err(|w| ("scored_until", w))?;
    let s = Scored {
        from_ms: from_ms.unwrap_or(all.from_ms),
        until_ms: until_ms.unwrap_or(all.until_ms),
    };
    if s.until_ms <= s.from_ms {
        return Err(("scored_until", "must be after scored_from".into()));
    }
    Ok(s)
}

fn timestamp(s: &str) -> Result<i64, String> {
    s.parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|e| format!("{s:?} is not an RFC 3339 time: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse(text, Path::new("m.toml"), Path::new("/c"))
    }

    #[test]
    fn entries_resolve_against_the_manifest_folder() {
        let m = parse(
            r#"
[[trace]]
file = "a/export-a-15s.jsonl"
run = "a"
kind = "incident"
set = "evaluation"
workload_start = "2026-12-01T10:00:00Z"
cliff = "2026-12-01T10:10:00Z"
downsample = "30s"
"#,
        )
        .unwrap();
        let e = &m.entries[0];
        assert_eq!(e.file, Path::new("/c/a/export-a-15s.jsonl"));
        assert_eq!(e.name, "export-a-15s@30s");
        assert_eq!(e.cliff_ms.unwrap() - e.start_ms, 600_000);
    }

    #[test]
    fn errors_name_the_entry_and_the_key() {
        let bad = r#"
[[trace]]
file = "a.jsonl"
kind = "benign"
set = "tuning"
workload_start = "2026-12-01T10:00:00Z"

[[trace]]
file = "b.jsonl"
kind = "incident"
set = "tuning"
workload_start = "2026-12-01T10:00:00Z"
"#;
        let e = parse(bad).unwrap_err().to_string();
        assert_eq!(e, "m.toml: trace[1].cliff: an incident needs its cliff");
        let e = parse(&bad.replace("10:00:00Z\"\n\n", "yesterday\"\n\n")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("m.toml: trace[0].workload_start: \"2026-12-01Tyesterday\""),
            "{e}"
        );
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_line() {
        let e = parse("[[trace]]\nfile = \"a\"\nkid = \"benign\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("kid") && e.contains("line 3"), "{e}");
    }

    #[test]
    fn a_night_of_a_multi_day_recording_is_named_and_scored_alone() {
        let m = parse(
            "[[trace]]\nfile = \"h.jsonl\"\nname = \"h-night2\"\nkind = \"benign\"\n\
             set = \"tuning\"\nworkload_start = \"2026-12-02T10:00:00Z\"\n\
             scored_from = \"2026-12-02T00:00:00Z\"\nscored_until = \"2026-12-03T00:00:00Z\"\n",
        )
        .unwrap();
        let e = &m.entries[0];
        assert_eq!(e.name, "h-night2");
        assert!(e.scored.contains(e.start_ms));
        assert!(!e.scored.contains(e.start_ms + 86_400_000));
        assert!(!e.scored.contains(e.start_ms - 86_400_000));
        let bad = parse(
            "[[trace]]\nfile = \"h.jsonl\"\nkind = \"benign\"\nset = \"tuning\"\n\
             workload_start = \"2026-12-02T10:00:00Z\"\n\
             scored_from = \"2026-12-02T00:00:00Z\"\nscored_until = \"2026-12-01T00:00:00Z\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(bad.contains("trace[0].scored_until"), "{bad}");
    }

    #[test]
    fn a_cliff_before_the_start_is_rejected() {
        let e = parse(
            "[[trace]]\nfile = \"a\"\nkind = \"incident\"\nset = \"tuning\"\n\
             workload_start = \"2026-12-01T10:00:00Z\"\ncliff = \"2026-12-01T09:00:00Z\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("trace[0].cliff") && e.contains("not after"),
            "{e}"
        );
    }
}
