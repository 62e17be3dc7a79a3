//! Where the data ends: the cliff a replay measures lead time against.
//!
//! The cliff is the earlier of the start of the first data gap longer than
//! three median sample intervals (a trailing gap up to the end of the
//! recording counts) and the first sample showing an increase of the OOM-kill
//! counter. The gap "starts" at the last sample before it: that is the last
//! moment the monitoring stack saw the host.
//!
//! A recording that merely ends (the export window closes a few scrapes
//! after the last sample) is not a blackout: silence at the very end counts
//! only when it is also longer than [`MIN_TRAILING_MS`].

use crate::signal::Sample;
use serde::Serialize;

/// What ended the usable data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CliffKind {
    /// Samples stopped (scrapes timing out, host dark).
    DataGap,
    /// The kernel's OOM killer fired.
    OomKill,
}

/// The cliff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cliff {
    /// When, ms since the epoch.
    pub at_ms: i64,
    /// What.
    pub kind: CliffKind,
    /// For a gap: its length, ms.
    pub gap_ms: Option<i64>,
}

/// Shortest trailing silence that counts as a data gap.
pub const MIN_TRAILING_MS: i64 = 120_000;

/// Median interval between consecutive samples.
pub fn median_interval_ms(samples: &[Sample]) -> Option<i64> {
    let mut d: Vec<i64> = samples
        .windows(2)
        .map(|w| w[1].at_ms - w[0].at_ms)
        .collect();
    if d.is_empty() {
        return None;
    }
    let mid = d.len() / 2;
    Some(*d.select_nth_unstable(mid).1)
}

/// Finds the cliff in `samples` (sorted by time), with the recording
/// running until `end_ms`.
pub fn find(samples: &[Sample], end_ms: i64) -> Option<Cliff> {
    let gap = first_gap(samples, end_ms);
    let oom = first_oom(samples);
    match (gap, oom) {
        (Some(g), Some(o)) => Some(if o.at_ms < g.at_ms { o } else { g }),
        (g, o) => g.or(o),
    }
}

fn first_gap(samples: &[Sample], end_ms: i64) -> Option<Cliff> {
    let limit = 3 * median_interval_ms(samples)?;
    let last = samples.last()?;
    let end = end_ms.max(last.at_ms);
    let trailing = (end - last.at_ms > MIN_TRAILING_MS).then_some((last.at_ms, end));
    samples
        .windows(2)
        .map(|w| (w[0].at_ms, w[1].at_ms))
        .chain(trailing)
        .find(|(a, b)| b - a > limit)
        .map(|(a, b)| Cliff {
            at_ms: a,
            kind: CliffKind::DataGap,
            gap_ms: Some(b - a),
        })
}

fn first_oom(samples: &[Sample]) -> Option<Cliff> {
    let mut prev: Option<u64> = None;
    for s in samples {
        if let Some(v) = s.oom_kill {
            if prev.is_some_and(|p| v > p) {
                return Some(Cliff {
                    at_ms: s.at_ms,
                    kind: CliffKind::OomKill,
                    gap_ms: None,
                });
            }
            prev = Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ts: &[i64], oom: &[u64]) -> Vec<Sample> {
        ts.iter()
            .zip(oom.iter().chain(std::iter::repeat(&0)))
            .map(|(&t, &o)| Sample {
                at_ms: t * 1000,
                mem_total_bytes: 1,
                oom_kill: Some(o),
                ..Sample::default()
            })
            .collect()
    }

    #[test]
    fn a_gap_longer_than_three_intervals_is_the_cliff() {
        let s = at(&[0, 15, 30, 45, 60, 120, 135], &[]);
        let c = find(&s, 135_000).expect("cliff");
        assert_eq!(
            (c.at_ms, c.kind, c.gap_ms),
            (60_000, CliffKind::DataGap, Some(60_000))
        );
    }

    #[test]
    fn a_gap_of_exactly_three_intervals_is_not() {
        let s = at(&[0, 15, 30, 45, 90, 105], &[]);
        assert_eq!(find(&s, 105_000), None);
    }

    #[test]
    fn a_recording_that_merely_ends_has_no_cliff() {
        let s = at(&[0, 5, 10, 15], &[]);
        assert_eq!(find(&s, 45_000), None);
    }

    #[test]
    fn the_trailing_silence_counts() {
        let s = at(&[0, 15, 30, 45], &[]);
        let c = find(&s, 600_000).expect("cliff");
        assert_eq!((c.at_ms, c.kind), (45_000, CliffKind::DataGap));
    }

    #[test]
    fn an_earlier_oom_kill_wins_and_a_reset_is_not_one() {
        let s = at(&[0, 15, 30, 45, 60, 75], &[3, 0, 0, 1, 1, 1]);
        let c = find(&s, 75_000).expect("cliff");
        assert_eq!((c.at_ms, c.kind), (45_000, CliffKind::OomKill));
    }

    #[test]
    fn no_data_no_cliff() {
        assert_eq!(find(&[], 0), None);
        assert_eq!(find(&at(&[0], &[]), 10_000_000), None);
    }
}
