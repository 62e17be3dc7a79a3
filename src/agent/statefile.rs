//! The black box on disk: one JSON document written when a warning fires, so
//! the post-mortem sees the last minutes even if the host then went dark
//! and was power-cycled.
//!
//! Written by [`crate::durable`] (`<path>.tmp`, fsync, rename over `<path>`,
//! fsync of the directory): after a power cut the file is either the old or
//! the new complete document, never a torn one. Format (`version` 1):
//!
//! ```json
//! { "version": 1, "written_at_ms": 1764290000000, "instance": "host1",
//!   "trigger": { <Event: at_ms, rule, severity, state, evidence> },
//!   "snapshot": { "groups": [ { "unit", "cgroup", "processes", "top_command",
//!                 "top_command_count", "rss_bytes", "swap_bytes" } ],
//!                 "processes_read", "truncated", "elapsed_ms" },
//!   "samples": [ { "at_ms", "mem_total_bytes", "mem_available_bytes",
//!                  "swap_total_bytes", "swap_free_bytes", "psi_some_total_us",
//!                  "psi_full_total_us", "pgmajfault", "pswpin", "pswpout",
//!                  "oom_kill", "lateness_ms" }, ... oldest first, ~1 s apart ],
//!   "history": [ { "day", "min_headroom_ratio" }, ... the detector's clean
//!                days, oldest first (src/detect/history.rs) ] }
//! ```
//!
//! When a day closes with no alert the black box writes the clean days
//! alone to a file beside it ([`history_path`]: `state.history.json`,
//! `{ "version": 1, "written_at_ms", "history": [...] }`), so a host that
//! never alerts keeps its floor too. At start the agent reads the newer of
//! the two back ([`load_history`]) and feeds it to its detector, so the
//! host's own floor survives a restart.

use super::ring::Row;
use super::snapshot::Snapshot;
use crate::detect::history::DayMin;
use crate::detect::Event;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The document.
#[derive(Debug, Serialize)]
pub struct StateDoc<'a> {
    /// Format version.
    pub version: u32,
    /// When it was written.
    pub written_at_ms: i64,
    /// Instance name.
    pub instance: &'a str,
    /// The event that caused the write.
    pub trigger: &'a Event,
    /// Top consumers at that moment.
    pub snapshot: &'a Snapshot,
    /// The ring buffer, oldest first.
    pub samples: &'a [Row],
    /// The detector's clean days, oldest first.
    pub history: &'a [DayMin],
}

/// The clean days alone, written when a day closes with no alert.
#[derive(Debug, Serialize)]
pub struct DaysDoc<'a> {
    /// Format version.
    pub version: u32,
    /// When it was written.
    pub written_at_ms: i64,
    /// The detector's clean days, oldest first.
    pub history: &'a [DayMin],
}

/// The part of either file read back at start.
#[derive(Debug, Deserialize)]
struct Kept {
    #[serde(default)]
    written_at_ms: i64,
    #[serde(default)]
    history: Vec<DayMin>,
}

/// The clean days in a state file's text (none in an older version's file).
pub fn history_of(text: &str) -> Result<Vec<DayMin>, serde_json::Error> {
    serde_json::from_str::<Kept>(text).map(|k| k.history)
}

/// The file the clean days are written to between alerts: `state.json`'s
/// sibling `state.history.json`.
pub fn history_path(state_file: &Path) -> PathBuf {
    state_file.with_extension("history.json")
}

/// Writes the clean days beside the state file, atomically and durably.
pub fn write_history(
    state_file: &Path,
    written_at_ms: i64,
    days: &[DayMin],
) -> std::io::Result<()> {
    let doc = DaysDoc {
        version: 1,
        written_at_ms,
        history: days,
    };
    crate::durable::write_json(&history_path(state_file), &doc)
}

/// What `path` keeps, `None` when there is no such file.
fn kept(path: &Path) -> std::io::Result<Option<Kept>> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The clean days kept for the state file at `path`: from whichever of it
/// and its [`history_path`] was written last; none when neither exists. An
/// unreadable or malformed file is an error for the caller to log (the
/// agent then starts without history).
pub fn load_history(path: &Path) -> std::io::Result<Vec<DayMin>> {
    let state = kept(path)?;
    let days = kept(&history_path(path))?;
    let newest = [state, days]
        .into_iter()
        .flatten()
        .max_by_key(|k| k.written_at_ms);
    Ok(newest.map(|k| k.history).unwrap_or_default())
}

/// Writes `doc` to `path` atomically and durably.
pub fn write(path: &Path, doc: &StateDoc<'_>) -> std::io::Result<()> {
    crate::durable::write_json(path, doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{AlertState, Evidence, Severity};

    #[test]
    fn writes_a_parseable_document_and_replaces_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, "old").unwrap();
        let ev = Event {
            at_ms: 5,
            rule: "headroom_forecast",
            severity: Severity::Warning,
            state: AlertState::Firing,
            evidence: Evidence::default(),
        };
        let snap = Snapshot {
            groups: vec![],
            processes_read: 1,
            truncated: false,
            elapsed_ms: 0,
            within: None,
            stalling: Vec::new(),
        };
        let rows = [
            Row {
                sample: crate::signal::Sample {
                    at_ms: 1,
                    ..Default::default()
                },
                ..Row::default()
            },
            Row {
                sample: crate::signal::Sample {
                    at_ms: 2,
                    ..Default::default()
                },
                ..Row::default()
            },
        ];
        let doc = StateDoc {
            version: 1,
            written_at_ms: 6,
            instance: "h",
            trigger: &ev,
            snapshot: &snap,
            samples: &rows,
            history: &[DayMin {
                day: 20_000,
                min_headroom_ratio: 0.5,
            }],
        };
        write(&path, &doc).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(v["trigger"]["rule"], "headroom_forecast");
        assert_eq!(v["samples"][1]["at_ms"], 2);
        assert!(!dir.path().join("state.json.tmp").exists());
        let days = load_history(&path).unwrap();
        assert_eq!(days.len(), 1);
        assert_eq!(days[0].min_headroom_ratio, 0.5);
    }

    #[test]
    fn the_newer_of_the_state_file_and_the_days_file_gives_the_history() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let day = |day, r| DayMin {
            day,
            min_headroom_ratio: r,
        };
        std::fs::write(
            &path,
            r#"{"version":1,"written_at_ms":10,"history":[{"day":1,"min_headroom_ratio":0.4}]}"#,
        )
        .unwrap();
        assert_eq!(load_history(&path).unwrap(), vec![day(1, 0.4)]);
        write_history(&path, 20, &[day(1, 0.4), day(2, 0.6)]).unwrap();
        assert_eq!(history_path(&path), dir.path().join("state.history.json"));
        assert_eq!(load_history(&path).unwrap(), vec![day(1, 0.4), day(2, 0.6)]);
        // A firing later rewrites the state file: it is the newer again.
        std::fs::write(
            &path,
            r#"{"version":1,"written_at_ms":30,"history":[{"day":3,"min_headroom_ratio":0.5}]}"#,
        )
        .unwrap();
        assert_eq!(load_history(&path).unwrap(), vec![day(3, 0.5)]);
        // A malformed days file is an error naming it, not a silent start.
        std::fs::write(history_path(&path), "{no").unwrap();
        let e = load_history(&path).unwrap_err().to_string();
        assert!(e.contains("state.history.json"), "{e}");
    }

    #[test]
    fn a_missing_file_has_no_history_and_an_older_one_none_either() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load_history(&dir.path().join("none.json"))
            .unwrap()
            .is_empty());
        assert!(history_of(r#"{"version":1,"samples":[]}"#)
            .unwrap()
            .is_empty());
        assert!(history_of("{not json").is_err());
    }
}
