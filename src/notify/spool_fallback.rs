//! The notification pipeline (the agent's and the watcher's): with the spool when its directory is
//! usable, in memory otherwise. A spool that cannot be created or opened is
//! logged and skipped, never a reason to start without notifications.

use super::config::NotifyConfig;
use super::dispatcher::Dispatcher;
use super::error::NotifyError;
use std::path::Path;

/// [`Dispatcher::build`] on `spool_dir`, falling back to no spool (logged)
/// when the directory cannot be created or the spool in it cannot be used.
pub fn build(cfg: &NotifyConfig, spool_dir: Option<&Path>) -> Result<Dispatcher, NotifyError> {
    let spool = spool_dir.filter(|d| match std::fs::create_dir_all(d) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(dir = %d.display(), error = %e, "cannot create the spool directory; notifications are kept in memory only");
            false
        }
    });
    match Dispatcher::build(cfg, spool) {
        Err(e) if spool.is_some() => {
            tracing::warn!(error = %e, "notification spool unusable; retrying without it");
            Dispatcher::build(cfg, None)
        }
        other => other,
    }
}
