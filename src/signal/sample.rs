//! [`Sample`]: one host at one instant, as the detector sees it.

/// One observation of one host's memory state.
///
/// Byte values are bytes (the kernel's kB are converted while parsing).
/// Cumulative counters are raw counter values; they may reset (reboot,
/// exporter restart) and the detector handles that. Optional fields are the
/// signals a kernel or exporter may lack: a missing one degrades the
/// detector, it never breaks it.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct Sample {
    /// Wall-clock time of the observation, milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// `MemTotal`.
    pub mem_total_bytes: u64,
    /// `MemAvailable` (kernel 3.14+; estimated by the source on older kernels).
    pub mem_available_bytes: u64,
    /// `SwapTotal` (0 when the host has no swap; may change at run time).
    pub swap_total_bytes: u64,
    /// `SwapFree`.
    pub swap_free_bytes: u64,
    /// PSI memory "some" cumulative stall time in microseconds
    /// (`/proc/pressure/memory` `some total=`, node_exporter
    /// `node_pressure_memory_waiting_seconds_total`). Kernel 4.20+.
    pub psi_some_total_us: Option<u64>,
    /// PSI memory "full" cumulative stall time in microseconds
    /// (`node_pressure_memory_stalled_seconds_total`).
    pub psi_full_total_us: Option<u64>,
    /// `/proc/vmstat` `pgmajfault` counter.
    pub pgmajfault: Option<u64>,
    /// `/proc/vmstat` `pswpin` counter (pages swapped in).
    pub pswpin: Option<u64>,
    /// `/proc/vmstat` `pswpout` counter (pages swapped out).
    pub pswpout: Option<u64>,
    /// `/proc/vmstat` `oom_kill` counter (kernel 4.13+).
    pub oom_kill: Option<u64>,
}

/// Why a sample cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SampleError {
    /// `MemTotal` of zero: nothing can be computed relative to it.
    #[error("MemTotal is 0")]
    ZeroMemTotal,
}

impl Sample {
    /// Headroom: what can still be allocated before the kernel must thrash or
    /// kill, `MemAvailable + SwapFree`, in bytes.
    pub fn headroom_bytes(&self) -> u64 {
        self.mem_available_bytes
            .saturating_add(self.swap_free_bytes)
    }

    /// The headroom a fully idle host would have: `MemTotal + SwapTotal`.
    pub fn capacity_bytes(&self) -> u64 {
        self.mem_total_bytes.saturating_add(self.swap_total_bytes)
    }

    /// Checks the invariants the detector relies on.
    pub fn validate(&self) -> Result<(), SampleError> {
        if self.mem_total_bytes == 0 {
            return Err(SampleError::ZeroMemTotal);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headroom_adds_available_and_swap_free() {
        let s = Sample {
            mem_total_bytes: 1000,
            mem_available_bytes: 300,
            swap_total_bytes: 100,
            swap_free_bytes: 40,
            ..Sample::default()
        };
        assert_eq!(s.headroom_bytes(), 340);
        assert_eq!(s.capacity_bytes(), 1100);
    }

    #[test]
    fn zero_mem_total_is_rejected() {
        assert_eq!(Sample::default().validate(), Err(SampleError::ZeroMemTotal));
    }
}
