//! What every reader's output must satisfy, whatever the input.

use memcanary::source::recorded::{HostSeries, RecordedError};

/// Panics (a finding) when a successful parse breaks an invariant.
pub fn check(result: Result<Vec<HostSeries>, RecordedError>) {
    let Ok(hosts) = result else { return };
    assert!(!hosts.is_empty(), "Ok with no host");
    for h in &hosts {
        assert!(
            h.samples.windows(2).all(|w| w[0].at_ms < w[1].at_ms),
            "samples not strictly increasing"
        );
        if let Some(last) = h.samples.last() {
            assert!(h.end_ms >= last.at_ms, "end_ms before the last sample");
        }
        let d = h.downsample(30_000);
        assert!(d.samples.len() <= h.samples.len());
    }
}
