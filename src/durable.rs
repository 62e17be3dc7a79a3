//! The one durable file writer: after a crash or a power cut a file written
//! here is either the old or the new complete content, never a torn one.
//!
//! The content goes to `<path>.tmp`, which is fsynced and renamed over
//! `<path>`; then the directory is fsynced so the rename itself survives.
//! Used by the notification spool (jobs and dedupe state) and the agent's
//! black box (`state_file`). [`remove_stale_tmp`] clears what a crash left
//! behind, and [`read_bounded`] reads such a file back with a size cap.

use serde::Serialize;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// Writes what `fill` produces to `path` atomically and durably. The file is
/// readable by its owner only (0600, whatever the umask: alerts, state and
/// spool name hosts and processes). On any error the temporary file is
/// removed and `path` keeps its old content.
pub fn write(path: &Path, fill: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    replace_with(path, fill, true)?;
    sync_dir(parent(path))
}

/// Replaces `path` with what `fill` produces (temporary file, rename) but
/// does not wait for the disk: a process restarted after a crash reads the
/// new content at once, and [`sync`] then makes it durable. Meant for a file
/// replaced in place (the notification dedupe state): after a power cut
/// before [`sync`] it holds the old or the new content on filesystems that
/// write a replacing rename's data first (ext4's `auto_da_alloc`, xfs,
/// btrfs).
pub fn replace(path: &Path, fill: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    replace_with(path, fill, false)
}

/// fsyncs `path` and its directory (after [`replace`]).
pub fn sync(path: &Path) -> io::Result<()> {
    #[cfg(test)]
    slow::wait(path);
    File::open(path)?.sync_all()?;
    sync_dir(parent(path))
}

/// The temporary file, fsynced first if `sync`, renamed over `path`; on
/// any error the temporary file is removed and `path` keeps its content.
fn replace_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    sync: bool,
) -> io::Result<()> {
    let tmp = tmp_path(path);
    let written = write_tmp(&tmp, fill, sync).and_then(|()| fs::rename(&tmp, path));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

fn write_tmp(
    tmp: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    sync: bool,
) -> io::Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(tmp)?;
    // An existing temporary file (left by an older version) keeps its mode.
    f.set_permissions(fs::Permissions::from_mode(0o600))?;
    let mut w = BufWriter::new(&mut f);
    fill(&mut w)?;
    w.flush()?;
    drop(w);
    if !sync {
        return Ok(());
    }
    #[cfg(test)]
    slow::wait(tmp);
    f.sync_all()
}

/// Writes `value` as one line of JSON to `path` atomically and durably.
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> io::Result<()> {
    write(path, |w| {
        serde_json::to_writer(&mut *w, value).map_err(io::Error::other)?;
        w.write_all(b"\n")
    })
}

/// Removes the temporary files (`*.tmp`) a crash or a full disk left in
/// `dir`, returning how many; called at start, before anything writes there.
pub fn remove_stale_tmp(dir: &Path) -> io::Result<usize> {
    let mut removed = 0;
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|x| x == "tmp") && path.is_file() {
            fs::remove_file(&path)?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Reads `path` whole if it is at most `max` bytes; `Ok(None)` (nothing
/// read) when it is larger, so a huge or endless file cannot fill memory.
pub fn read_bounded(path: &Path, max: u64) -> io::Result<Option<Vec<u8>>> {
    use std::io::Read as _;
    let f = File::open(path)?;
    if f.metadata()?.len() > max {
        return Ok(None);
    }
    let mut buf = Vec::new();
    f.take(max + 1).read_to_end(&mut buf)?;
    Ok((buf.len() as u64 <= max).then_some(buf))
}

/// fsyncs a directory so a rename in it is durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// `<path>.tmp`: beside the file, so the rename stays on one filesystem.
fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

/// The directory holding `path` (`.` for a bare file name).
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// A test seam: durable writes under a registered directory take longer, as
/// on a disk whose journal commit waits behind other writes. Compiled for
/// the library's own tests only.
#[cfg(test)]
pub(crate) mod slow {
    use std::path::{Path, PathBuf};
    use std::sync::Mutex;
    use std::time::Duration;

    static SLOW: Mutex<Vec<(PathBuf, Duration)>> = Mutex::new(Vec::new());

    /// While this lives, each write under its directory waits before its fsync.
    pub(crate) struct Slow(PathBuf);

    /// Makes every durable write under `dir` wait `by` before its fsync.
    pub(crate) fn under(dir: &Path, by: Duration) -> Slow {
        SLOW.lock().unwrap().push((dir.to_path_buf(), by));
        Slow(dir.to_path_buf())
    }

    impl Drop for Slow {
        fn drop(&mut self) {
            if let Ok(mut v) = SLOW.lock() {
                v.retain(|(d, _)| d != &self.0);
            }
        }
    }

    /// Waits as registered for `path`, if at all.
    pub(super) fn wait(path: &Path) {
        let by = SLOW.lock().ok().and_then(|v| {
            v.iter()
                .find(|(d, _)| path.starts_with(d))
                .map(|&(_, by)| by)
        });
        if let Some(by) = by {
            std::thread::sleep(by);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_old_content_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        fs::write(&path, "old").unwrap();
        write_json(&path, &[1, 2]).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "[1,2]\n");
        assert!(!dir.path().join("state.json.tmp").exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn replace_shows_the_new_content_at_once_and_sync_makes_it_durable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        fs::write(&path, "old").unwrap();
        replace(&path, |w| w.write_all(b"new")).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert!(!tmp_path(&path).exists());
        sync(&path).unwrap();
        assert!(sync(&dir.path().join("absent")).is_err());
    }

    #[test]
    fn a_failed_fill_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, "old").unwrap();
        let e = write(&path, |_| Err(io::Error::other("no"))).unwrap_err();
        assert_eq!(e.to_string(), "no");
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
    }

    #[test]
    fn a_bare_file_name_syncs_the_current_directory() {
        assert_eq!(parent(Path::new("state.json")), Path::new("."));
        assert_eq!(tmp_path(Path::new("a/b.json")), Path::new("a/b.json.tmp"));
    }

    #[test]
    fn files_are_owner_only_whatever_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        fs::write(path.with_extension("json.tmp"), "stale").unwrap();
        fs::set_permissions(
            path.with_extension("json.tmp"),
            fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        write_json(&path, &1).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn a_failed_write_leaves_no_temporary_file_and_the_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.json");
        fs::write(&path, "old").unwrap();
        let full = || io::Error::new(io::ErrorKind::StorageFull, "disk full");
        assert!(write(&path, |_| Err(full())).is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
        assert!(!tmp_path(&path).exists(), "the .tmp file leaked");
    }

    #[test]
    fn stale_temporary_files_are_removed_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("1.json.tmp"), "").unwrap();
        fs::write(dir.path().join("state.json.tmp"), "{").unwrap();
        fs::write(dir.path().join("2.json"), "{}").unwrap();
        assert_eq!(remove_stale_tmp(dir.path()).unwrap(), 2);
        let left: Vec<_> = fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(left.len(), 1);
        assert_eq!(remove_stale_tmp(dir.path()).unwrap(), 0);
    }

    #[test]
    fn a_file_over_the_cap_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        fs::write(&path, vec![b'x'; 100]).unwrap();
        assert_eq!(
            read_bounded(&path, 100).unwrap().map(|b| b.len()),
            Some(100)
        );
        assert_eq!(read_bounded(&path, 99).unwrap(), None);
    }
}
