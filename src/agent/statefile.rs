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
//!                  "oom_kill", "lateness_ms" }, ... oldest first, ~1 s apart ] }
//! ```

use super::ring::Row;
use super::snapshot::Snapshot;
use crate::detect::Event;
use serde::Serialize;
use std::path::Path;

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
        };
        write(&path, &doc).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(v["trigger"]["rule"], "headroom_forecast");
        assert_eq!(v["samples"][1]["at_ms"], 2);
        assert!(!dir.path().join("state.json.tmp").exists());
    }
}
