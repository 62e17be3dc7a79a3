//! This machine's host name, as the kernel reports it.

use std::path::Path;

/// `<proc_root>/sys/kernel/hostname`, trimmed; `localhost` when it is
/// missing or empty. The agent passes its configured `proc_root`; the
/// commands pass `/proc`.
pub fn hostname(proc_root: &Path) -> String {
    std::fs::read_to_string(proc_root.join("sys/kernel/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_trims_and_falls_back() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(hostname(dir.path()), "localhost");
        std::fs::create_dir_all(dir.path().join("sys/kernel")).unwrap();
        let file = dir.path().join("sys/kernel/hostname");
        std::fs::write(&file, "node1\n").unwrap();
        assert_eq!(hostname(dir.path()), "node1");
        std::fs::write(&file, "\n").unwrap();
        assert_eq!(hostname(dir.path()), "localhost");
    }
}
