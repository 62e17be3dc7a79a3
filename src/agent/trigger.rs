//! Kernel PSI triggers: let the kernel wake us when memory stall crosses a
//! threshold, instead of finding out at the next 1 s tick.
//!
//! Writing `some <stall_us> <window_us>` to a pressure file opened
//! `O_RDWR|O_NONBLOCK` arms a trigger; the fd then polls `POLLPRI` when the
//! "some" stall within any window exceeds the threshold (at most once per
//! window). Windows under 2 s, or not a multiple of 2 s, need
//! CAP_SYS_RESOURCE on kernels >= 6.5; unprivileged we retry with the window
//! rounded up to 2 s and the stall scaled with it. If that fails too (no PSI,
//! `psi=0`, an old kernel, a read-only mount) the agent just polls on its
//! timer. [`TriggerMode`] says which, and the agent logs it at start.

use super::config::PsiTriggerConfig;
use rustix::fd::{AsFd, BorrowedFd};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// How the agent learns about pressure between timer ticks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriggerMode {
    /// A kernel trigger is armed with this stall and window (microseconds).
    Kernel {
        /// Stall threshold within the window.
        stall_us: u64,
        /// Window length.
        window_us: u64,
    },
    /// No trigger: timer polling only, and why.
    Polling {
        /// Why no trigger could be armed.
        reason: String,
    },
}

impl TriggerMode {
    /// Short label for `/metrics`: `kernel_1s`, `kernel_2s`, `polling`.
    pub fn label(&self) -> &'static str {
        match self {
            TriggerMode::Kernel { window_us, .. } if *window_us < 2_000_000 => {
                "kernel_subsecond_or_1s"
            }
            TriggerMode::Kernel { .. } => "kernel_2s_multiple",
            TriggerMode::Polling { .. } => "polling",
        }
    }
}

/// An armed trigger (or none).
#[derive(Debug)]
pub struct PsiTrigger {
    file: Option<File>,
    mode: TriggerMode,
}

impl PsiTrigger {
    /// Arms a trigger on `path` (a pressure file), falling back as described
    /// in the module doc. Never fails: the fallback is polling.
    pub fn arm(path: Option<&Path>, cfg: &PsiTriggerConfig) -> PsiTrigger {
        let polling = |reason: String| PsiTrigger {
            file: None,
            mode: TriggerMode::Polling { reason },
        };
        if !cfg.enabled {
            return polling("disabled by agent.psi_trigger.enabled".into());
        }
        let Some(path) = path else {
            return polling("no PSI file (kernel < 4.20 or psi=0)".into());
        };
        let stall = cfg.stall.as_millis().max(1) as u64 * 1000;
        let window = cfg.window.as_millis().max(1) as u64 * 1000;
        let first = try_arm(path, stall, window);
        let err = match first {
            Ok(t) => return t,
            Err(e) => e,
        };
        let window2 = window.div_ceil(2_000_000).max(1) * 2_000_000;
        if window2 != window {
            let stall2 = stall * window2 / window;
            tracing::info!(error = %err, window_us = window, "PSI trigger window refused (needs CAP_SYS_RESOURCE); retrying with a 2s-multiple window");
            if let Ok(t) = try_arm(path, stall2, window2) {
                return t;
            }
        }
        polling(format!(
            "cannot arm a PSI trigger on {}: {err}",
            path.display()
        ))
    }

    /// Which mode is active.
    pub fn mode(&self) -> &TriggerMode {
        &self.mode
    }

    /// The fd to poll for `POLLPRI`, if a trigger is armed.
    pub fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.file.as_ref().map(|f| f.as_fd())
    }

    /// Drops the trigger after the fd reported an error (e.g. the cgroup was
    /// removed): the agent continues on its timer.
    pub fn disarm(&mut self, reason: &str) {
        self.file = None;
        self.mode = TriggerMode::Polling {
            reason: reason.into(),
        };
    }
}

fn try_arm(path: &Path, stall_us: u64, window_us: u64) -> std::io::Result<PsiTrigger> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)?;
    // The kernel overwrites the last byte written with NUL (psi_write), so
    // the terminator must be part of the write or the window loses a digit.
    file.write_all(format!("some {stall_us} {window_us}\0").as_bytes())?;
    Ok(PsiTrigger {
        file: Some(file),
        mode: TriggerMode::Kernel {
            stall_us,
            window_us,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Dur;

    #[test]
    fn missing_file_falls_back_to_polling_with_a_reason() {
        let t = PsiTrigger::arm(None, &PsiTriggerConfig::default());
        assert_eq!(t.mode().label(), "polling");
        assert!(t.fd().is_none());
    }

    #[test]
    fn a_plain_file_refuses_nothing_but_is_not_a_trigger_so_disabled_config_polls() {
        let cfg = PsiTriggerConfig {
            enabled: false,
            ..PsiTriggerConfig::default()
        };
        let t = PsiTrigger::arm(Some(Path::new("/proc/pressure/memory")), &cfg);
        assert!(matches!(t.mode(), TriggerMode::Polling { reason } if reason.contains("disabled")));
    }

    #[test]
    fn real_kernel_trigger_arms_when_psi_exists() {
        let path = Path::new("/proc/pressure/memory");
        if !path.exists() {
            eprintln!("SKIP: no /proc/pressure/memory on this kernel");
            return;
        }
        let cfg = PsiTriggerConfig {
            enabled: true,
            stall: Dur::from_millis(150),
            window: Dur::from_secs(1),
        };
        let t = PsiTrigger::arm(Some(path), &cfg);
        // As root (CI) the 1 s window is accepted; unprivileged on >= 6.5 the
        // 2 s fallback is. Either way a kernel trigger must be armed.
        assert!(
            matches!(t.mode(), TriggerMode::Kernel { .. }),
            "{:?}",
            t.mode()
        );
        assert!(t.fd().is_some());
    }
}
