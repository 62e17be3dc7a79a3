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
}
