//! The on-disk spool: pending notifications survive a restart or an outage.
//!
//! One directory per sink target under the spool root, one file per pending
//! notification, named by a sequence number so a directory listing sorted by
//! name is oldest-first. A file is written by [`crate::durable`] (temporary
//! name, fsync, rename, fsync of the directory), so after a crash a file is
//! either whole or absent. It is removed once the notification is delivered
//! or given up. The `inbox` directory holds alerts the caller could not queue
//! (channel full); `state.json` holds the dedupe state (last state per host
//! and rule, and what is firing for reminders).
//!
//! A new job is written beside its first delivery attempt, not before it
//! ([`super::spool_writer`]): its [`Ticket`] says whether the file is still
//! to be written, on disk, or not wanted any more (delivered first), so that
//! whichever of the writer and the worker comes last removes it.
//!
//! Opening a spool removes the `.tmp` files a crash or a full disk left.
//! Reading it back is bounded: jobs are read one file at a time
//! ([`Spool::jobs`], so the worker's queue cap applies while loading), and a
//! file larger than [`MAX_JOB_BYTES`] is set aside as `.bad`, unread.

use super::alert::Alert;
use super::error::NotifyError;
use serde::{Deserialize, Serialize};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering::AcqRel, Ordering::Acquire};

/// The largest spool file read back (an alert with its consumers is a few
/// kB); a larger one is set aside as `.bad` without being read.
pub const MAX_JOB_BYTES: u64 = 1 << 20;

/// A notification waiting for one sink target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Global sequence number (order of creation, also across restarts).
    pub seq: u64,
    /// The alert.
    pub alert: Alert,
}

/// A job on its way to one target, with the state of its spool file; shared
/// by the worker, which delivers it, and the spool writer, which persists it
/// meanwhile.
#[derive(Debug)]
pub(crate) struct Ticket {
    /// The job.
    pub job: Job,
    file: AtomicU8,
}

/// Not on disk and not to be: no spool, or its write failed.
const MEMORY_ONLY: u8 = 0;
/// Queued for the spool writer (or being written).
const WRITING: u8 = 1;
/// Its file is written.
const ON_DISK: u8 = 2;
/// Finished by the worker: its file is not wanted.
const FINISHED: u8 = 3;

impl Ticket {
    /// A job kept in memory only.
    pub fn in_memory(job: Job) -> Ticket {
        Ticket::with(job, MEMORY_ONLY)
    }

    /// A job the spool writer is to persist.
    pub fn to_write(job: Job) -> Ticket {
        Ticket::with(job, WRITING)
    }

    /// A job read back from the spool.
    pub fn on_disk(job: Job) -> Ticket {
        Ticket::with(job, ON_DISK)
    }

    fn with(job: Job, file: u8) -> Ticket {
        Ticket {
            job,
            file: AtomicU8::new(file),
        }
    }

    /// Whether a restart finds it: its file is written or about to be.
    pub fn persisted(&self) -> bool {
        matches!(self.file.load(Acquire), WRITING | ON_DISK)
    }

    /// The writer could not take it: it stays in memory only.
    pub fn not_written(&self) {
        let _ = self
            .file
            .compare_exchange(WRITING, MEMORY_ONLY, AcqRel, Acquire);
    }

    /// The worker is done with it (delivered, given up or dropped); whether
    /// its file is on disk, for the caller to remove. A file still being
    /// written is the writer's to remove.
    pub fn finish(&self) -> bool {
        self.file.swap(FINISHED, AcqRel) == ON_DISK
    }

    /// Writes the job to `spool`, unless it is finished already; a job
    /// finished while it was written has its file removed again.
    pub fn write(&self, spool: &Spool) -> io::Result<()> {
        if self.file.load(Acquire) == FINISHED {
            return Ok(());
        }
        let written = spool.put(&self.job);
        let next = if written.is_ok() {
            ON_DISK
        } else {
            MEMORY_ONLY
        };
        let finished = self
            .file
            .compare_exchange(WRITING, next, AcqRel, Acquire)
            .is_err();
        if finished && written.is_ok() {
            spool.remove(self.job.seq)?;
        }
        written
    }
}

/// One spool directory.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
}

fn spool_err<'a>(path: &'a Path, what: &'static str) -> impl FnOnce(io::Error) -> NotifyError + 'a {
    move |source| NotifyError::Spool {
        path: path.to_path_buf(),
        what,
        source,
    }
}

impl Spool {
    /// Opens (creating) `root/name`, removing stale `.tmp` files (logged).
    pub fn open(root: &Path, name: &str) -> Result<Spool, NotifyError> {
        let dir = root.join(name);
        fs::create_dir_all(&dir).map_err(spool_err(&dir, "creating directory"))?;
        remove_stale_tmp(&dir);
        Ok(Spool { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:020}.json"))
    }

    /// Every readable job, oldest first (see [`Spool::jobs`]).
    pub fn load(&self) -> Result<Vec<Job>, NotifyError> {
        Ok(self.jobs()?.collect())
    }

    /// Every readable job, oldest first, read one file at a time as the
    /// iterator is consumed. Unreadable or oversized files are renamed to
    /// `*.bad` (and logged) so they are looked at once, not forever.
    pub fn jobs(&self) -> Result<impl Iterator<Item = Job>, NotifyError> {
        let mut names: Vec<PathBuf> = fs::read_dir(&self.dir)
            .map_err(spool_err(&self.dir, "listing"))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        Ok(names.into_iter().filter_map(|path| read_job(&path)))
    }

    /// Writes `job` durably.
    pub fn put(&self, job: &Job) -> io::Result<()> {
        crate::durable::write_json(&self.path(job.seq), job)
    }

    /// Removes the job with sequence `seq` (absent is fine).
    pub fn remove(&self, seq: u64) -> io::Result<()> {
        match fs::remove_file(self.path(seq)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// The highest sequence number in the directory, if any.
    pub fn max_seq(&self) -> u64 {
        fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .split('.')
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .max()
            .unwrap_or(0)
    }
}

/// The job in `path`, or `None` (the file set aside as `.bad`, logged).
fn read_job(path: &Path) -> Option<Job> {
    let bytes = crate::durable::read_bounded(path, MAX_JOB_BYTES);
    let why = match &bytes {
        Ok(Some(b)) => match serde_json::from_slice::<Job>(b) {
            Ok(job) => return Some(job),
            Err(_) => "not a notification",
        },
        Ok(None) => "larger than the 1 MiB a notification may take",
        Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
        Err(_) => "cannot be read",
    };
    tracing::warn!(file = %path.display(), why, "spool file set aside as .bad");
    let _ = fs::rename(path, path.with_extension("bad"));
    None
}

/// Removes the `.tmp` files in `dir` (logged; a failure too).
pub(crate) fn remove_stale_tmp(dir: &Path) {
    match crate::durable::remove_stale_tmp(dir) {
        Ok(0) => {}
        Ok(n) => {
            tracing::info!(dir = %dir.display(), removed = n, "removed temporary files left by an earlier run")
        }
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot remove temporary files left by an earlier run")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_round_trip_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), "discord").unwrap();
        for seq in [12, 3, 100] {
            spool
                .put(&Job {
                    seq,
                    alert: Alert::test("h", seq as i64),
                })
                .unwrap();
        }
        fs::write(spool.dir().join("00000000000000000050.json"), b"{garbage").unwrap();
        let jobs = spool.load().unwrap();
        assert_eq!(
            jobs.iter().map(|j| j.seq).collect::<Vec<_>>(),
            vec![3, 12, 100]
        );
        assert!(spool.dir().join("00000000000000000050.bad").exists());
        assert_eq!(spool.max_seq(), 100);
        spool.remove(12).unwrap();
        spool.remove(12).unwrap();
        assert_eq!(spool.load().unwrap().len(), 2);
    }

    #[test]
    fn opening_removes_stale_tmp_files_and_oversized_jobs_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), "hook").unwrap();
        spool
            .put(&Job {
                seq: 1,
                alert: Alert::test("h", 1),
            })
            .unwrap();
        fs::write(spool.dir().join("00000000000000000002.json.tmp"), b"").unwrap();
        let big = spool.dir().join("00000000000000000003.json");
        let f = fs::File::create(&big).unwrap();
        f.set_len(MAX_JOB_BYTES + 1).unwrap();
        let spool = Spool::open(dir.path(), "hook").unwrap();
        assert!(!spool.dir().join("00000000000000000002.json.tmp").exists());
        let jobs = spool.load().unwrap();
        assert_eq!(jobs.iter().map(|j| j.seq).collect::<Vec<_>>(), vec![1]);
        assert!(
            big.with_extension("bad").exists(),
            "the oversized file is set aside"
        );
    }

    fn ticket(seq: u64) -> Ticket {
        Ticket::to_write(Job {
            seq,
            alert: Alert::test("h", 1),
        })
    }

    #[test]
    fn a_ticket_file_is_removed_by_whichever_of_writer_and_worker_comes_last() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), "hook").unwrap();
        // Written, then finished: the worker removes it.
        let t = ticket(1);
        t.write(&spool).unwrap();
        assert!(t.persisted() && spool.path(1).exists());
        assert!(t.finish(), "the worker is told to remove the file");
        spool.remove(1).unwrap();
        // Finished before the writer got to it: never written.
        let t = ticket(2);
        assert!(!t.finish());
        t.write(&spool).unwrap();
        assert!(!spool.path(2).exists() && !t.persisted());
        // Finished while being written: the writer removes it.
        let t = std::sync::Arc::new(ticket(3));
        let slow = crate::durable::slow::under(spool.dir(), std::time::Duration::from_millis(300));
        let (w, s) = (t.clone(), spool.clone());
        let writing = std::thread::spawn(move || w.write(&s));
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(!t.finish(), "not on disk yet");
        writing.join().unwrap().unwrap();
        drop(slow);
        assert!(!spool.path(3).exists(), "a finished job's file was left");
        assert_eq!(spool.load().unwrap().len(), 0);
    }

    #[test]
    fn a_failed_write_leaves_the_ticket_in_memory_only() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), "hook").unwrap();
        std::fs::remove_dir(spool.dir()).unwrap();
        let t = ticket(1);
        assert!(t.write(&spool).is_err());
        assert!(!t.persisted());
        assert!(!t.finish());
    }
}
