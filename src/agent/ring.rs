//! The black box: the last N seconds of samples in a ring allocated once at
//! start (before `mlockall`, so it is locked and never faulted in under
//! pressure). The post-mortem reads it from the state file: it shows the
//! ramp up to the cliff even when nothing outside the host recorded it.

use crate::signal::Sample;
use serde::Serialize;

/// One second of history: the sample as the detector saw it, and how late
/// the loop woke for it. In the state file a row is the sample's fields
/// followed by `lateness_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Row {
    /// The sample.
    #[serde(flatten)]
    pub sample: Sample,
    /// How late the agent's loop woke for this sample, ms.
    pub lateness_ms: u32,
}

/// Fixed-capacity ring of [`Row`]s, at most one per `min_step_ms`.
#[derive(Debug, Clone)]
pub struct Ring {
    rows: Vec<Row>,
    head: usize,
    len: usize,
    min_step_ms: i64,
}

impl Ring {
    /// A ring of `capacity` rows (allocated and touched now), keeping at most
    /// one row per `min_step_ms`.
    pub fn new(capacity: usize, min_step_ms: i64) -> Ring {
        Ring {
            rows: vec![Row::default(); capacity.max(1)],
            head: 0,
            len: 0,
            min_step_ms,
        }
    }

    /// Adds a row unless the previous one is younger than the step (fast
    /// sampling keeps the ring at ~1 s resolution). Never allocates.
    #[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
    #[link_section = "memcanary_hot"]
    pub fn push(&mut self, row: Row) -> bool {
        if let Some(last) = self.last() {
            if row.sample.at_ms - last.sample.at_ms < self.min_step_ms {
                return false;
            }
        }
        self.rows[self.head] = row;
        self.head = (self.head + 1) % self.rows.len();
        self.len = (self.len + 1).min(self.rows.len());
        true
    }

    /// The newest row.
    pub fn last(&self) -> Option<&Row> {
        if self.len == 0 {
            return None;
        }
        let i = (self.head + self.rows.len() - 1) % self.rows.len();
        self.rows.get(i)
    }

    /// Rows oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Row> {
        let cap = self.rows.len();
        let start = (self.head + cap - self.len) % cap;
        (0..self.len).filter_map(move |k| self.rows.get((start + k) % cap))
    }

    /// Number of rows held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the ring is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(at_ms: i64) -> Row {
        Row {
            sample: Sample {
                at_ms,
                ..Sample::default()
            },
            ..Row::default()
        }
    }

    #[test]
    fn keeps_the_newest_rows_oldest_first() {
        let mut r = Ring::new(3, 0);
        for t in 1..=5 {
            r.push(row(t));
        }
        let times: Vec<i64> = r.iter().map(|r| r.sample.at_ms).collect();
        assert_eq!(times, vec![3, 4, 5]);
        assert_eq!(r.last().map(|r| r.sample.at_ms), Some(5));
    }

    #[test]
    fn fast_samples_are_thinned_to_the_step() {
        let mut r = Ring::new(10, 900);
        for t in [0, 250, 500, 750, 1000, 1250, 2000] {
            r.push(row(t));
        }
        let times: Vec<i64> = r.iter().map(|r| r.sample.at_ms).collect();
        assert_eq!(times, vec![0, 1000, 2000]);
    }

    #[test]
    fn a_row_serialises_as_the_sample_then_the_lateness() {
        let r = Row {
            sample: Sample {
                at_ms: 7,
                pswpout: Some(3),
                ..Sample::default()
            },
            lateness_ms: 2,
        };
        let v = serde_json::to_value(r).unwrap();
        assert_eq!(v["at_ms"], 7);
        assert_eq!(v["pswpout"], 3, "the ring keeps every field of the sample");
        assert_eq!(v["lateness_ms"], 2);
        assert!(v["psi_some_total_us"].is_null());
    }
}
