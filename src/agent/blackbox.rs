//! The black-box thread: top-consumer snapshots and the state file, off the
//! alert path.
//!
//! The loop posts a [`Note`] with `try_send` (never blocks, never allocates:
//! the channel's buffer is allocated at start). When a rule turns pending
//! the thread takes a bounded snapshot of the top consumers (at most once
//! per [`MIN_SNAPSHOT_GAP_MS`]) so it is usually ready when the rule fires
//! and the notifier can attach it; when a rule fires it keeps the snapshot
//! the notifier attached (one younger than [`SNAPSHOT_MAX_AGE_MS`]; an
//! older one is retaken) and, [`STATE_FILE_AFTER`] later, writes snapshot +
//! ring buffer to the state file (fsync). The wait lets the alert's own disk writes
//! (the notification's dedupe state, its spool file) go first: on ext4 a
//! write can wait behind another thread's fsync (docs/agent.md, "Run G").

use super::config::SnapshotConfig;
use super::notifier::SNAPSHOT_MAX_AGE_MS;
use super::ring::{Ring, Row};
use super::snapshot::{self, Snapshot};
use super::statefile::{self, StateDoc};
use crate::clock::wall_ms;
use crate::detect::history::DayMin;
use crate::detect::{AlertState, Event};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, Mutex};

/// Snapshots are not retaken more often than this.
pub const MIN_SNAPSHOT_GAP_MS: i64 = 30_000;

/// How long after a firing the state file is written.
pub const STATE_FILE_AFTER: std::time::Duration = std::time::Duration::from_millis(250);

/// What the loop tells the black box.
// Boxing the event would allocate on the alert path; the channel's slots
// are allocated at start, so a small `DayClosed` in a large slot costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy)]
pub enum Note {
    /// A rule's event: pending takes a snapshot, firing writes the state file.
    Event(Event),
    /// A day closed (the detector's clean days changed) with no alert:
    /// write the days alone ([`statefile::write_history`]).
    DayClosed,
}

/// The latest snapshot, shared with the notifier.
pub type Latest = Arc<Mutex<Option<(i64, Arc<Snapshot>)>>>;

/// Everything the thread needs.
pub struct Blackbox {
    /// Where /proc is.
    pub proc_root: PathBuf,
    /// Snapshot limits.
    pub limits: SnapshotConfig,
    /// The cgroup the snapshot is limited to (the agent's scope), as
    /// `/proc/[pid]/cgroup` names it; `None`: the whole host.
    pub within: Option<String>,
    /// State file path.
    pub state_file: PathBuf,
    /// Instance name.
    pub instance: String,
    /// The ring buffer (shared with the loop).
    pub ring: Arc<Mutex<Ring>>,
    /// Latest snapshot (shared with the notifier).
    pub latest: Latest,
    /// The detector's clean days (shared with the loop), for the state file.
    pub history: History,
}

/// The detector's clean days, as the loop last shared them.
pub type History = Arc<Mutex<Vec<DayMin>>>;

impl Blackbox {
    /// Starts the thread; returns the sender the loop uses.
    pub fn spawn(self) -> std::io::Result<(SyncSender<Note>, std::thread::JoinHandle<()>)> {
        let (tx, rx) = std::sync::mpsc::sync_channel(8);
        // The snapshot, the cgroup probe and the state file work on the
        // heap: 10 KiB of stack at most (measured, see crate::thread).
        let hot = crate::thread::HOT_SHALLOW;
        let h = crate::thread::spawn("blackbox".into(), 256 * 1024, hot, move || self.run(rx))?;
        Ok((tx, h))
    }

    fn run(self, rx: Receiver<Note>) {
        for note in rx {
            let ev = match note {
                Note::Event(ev) => ev,
                Note::DayClosed => {
                    self.write_history();
                    continue;
                }
            };
            match ev.state {
                AlertState::Pending => {
                    self.refresh(MIN_SNAPSHOT_GAP_MS);
                }
                AlertState::Firing => {
                    // The notifier attaches the latest snapshot while it is
                    // younger than its limit: the state file keeps that
                    // same one, so the two never disagree on who was
                    // eating memory or which cgroup stalled.
                    let snap = self.refresh(SNAPSHOT_MAX_AGE_MS);
                    std::thread::sleep(STATE_FILE_AFTER);
                    self.write_state(&ev, &snap);
                }
                AlertState::Resolved => {}
            }
        }
    }

    /// The latest snapshot, retaken if it is `max_age_ms` old or older.
    fn refresh(&self, max_age_ms: i64) -> Arc<Snapshot> {
        let now = wall_ms();
        if let Ok(guard) = self.latest.lock() {
            if let Some((at, s)) = guard.as_ref() {
                if now - at < max_age_ms {
                    return s.clone();
                }
            }
        }
        let within = self.within.as_deref();
        let snap = Arc::new(snapshot::take(&self.proc_root, &self.limits, within));
        let top: Vec<String> = snap.groups.iter().map(|g| g.to_string()).collect();
        tracing::info!(processes = snap.processes_read, truncated = snap.truncated, elapsed_ms = snap.elapsed_ms, top = ?top, "top memory consumers");
        if let Ok(mut guard) = self.latest.lock() {
            *guard = Some((now, snap.clone()));
        }
        snap
    }

    fn write_history(&self) {
        let days = match self.history.lock() {
            Ok(h) => h.clone(),
            Err(_) => return,
        };
        match statefile::write_history(&self.state_file, wall_ms(), &days) {
            Ok(()) => tracing::info!(days = days.len(), "clean days written"),
            Err(e) => {
                let path = statefile::history_path(&self.state_file);
                tracing::warn!(path = %path.display(), error = %e, "cannot write the clean days")
            }
        }
    }

    fn write_state(&self, ev: &Event, snap: &Snapshot) {
        let rows: Vec<Row> = match self.ring.lock() {
            Ok(r) => r.iter().copied().collect(),
            Err(_) => Vec::new(),
        };
        let history = match self.history.lock() {
            Ok(h) => h.clone(),
            Err(_) => Vec::new(),
        };
        let doc = StateDoc {
            version: 1,
            written_at_ms: wall_ms(),
            instance: &self.instance,
            trigger: ev,
            snapshot: snap,
            samples: &rows,
            history: &history,
        };
        match statefile::write(&self.state_file, &doc) {
            Ok(()) => {
                tracing::info!(path = %self.state_file.display(), samples = rows.len(), "state file written")
            }
            Err(e) => {
                tracing::warn!(path = %self.state_file.display(), error = %e, "cannot write state file")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{Evidence, Severity};

    fn firing() -> Event {
        Event {
            at_ms: wall_ms(),
            rule: "cgroup_thrashing",
            severity: Severity::Warning,
            state: AlertState::Firing,
            evidence: Evidence::default(),
        }
    }

    /// The state file a firing writes when the latest snapshot is `age_ms`
    /// old and says it read `marker` processes (the /proc here is empty: a
    /// snapshot taken anew reads none).
    fn state_after_firing(age_ms: i64, marker: u32) -> serde_json::Value {
        let dir = tempfile::tempdir().unwrap();
        let old = Snapshot {
            groups: Vec::new(),
            processes_read: marker,
            truncated: false,
            elapsed_ms: 0,
            within: None,
            stalling: Vec::new(),
        };
        let latest: Latest = Arc::new(Mutex::new(Some((wall_ms() - age_ms, Arc::new(old)))));
        let bb = Blackbox {
            proc_root: dir.path().join("proc"),
            limits: SnapshotConfig::default(),
            within: None,
            state_file: dir.path().join("state.json"),
            instance: "h".into(),
            ring: Arc::new(Mutex::new(Ring::new(4, 1000))),
            latest,
            history: History::default(),
        };
        std::fs::create_dir(dir.path().join("proc")).unwrap();
        let (tx, h) = bb.spawn().unwrap();
        tx.send(Note::Event(firing())).unwrap();
        drop(tx);
        h.join().unwrap();
        let text = std::fs::read_to_string(dir.path().join("state.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn a_firing_keeps_the_snapshot_the_notifier_attached() {
        // Taken at pending, 31 s before the firing: past the gap between
        // snapshots, but the notifier attaches it, so the state file does too.
        let state = state_after_firing(31_000, 4242);
        assert_eq!(state["snapshot"]["processes_read"], 4242);
    }

    #[test]
    fn a_firing_retakes_a_snapshot_too_old_to_be_notified() {
        let state = state_after_firing(SNAPSHOT_MAX_AGE_MS + 1_000, 4242);
        assert_eq!(state["snapshot"]["processes_read"], 0, "taken anew");
    }
}
