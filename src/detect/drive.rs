//! Driving a detector through time: the loops the daemon, the replay and
//! the tests share, so each feeds samples and honours timeouts the same way.
//!
//! Pure, like the detector: times come in as arguments, never from a clock.
//! Two kinds of caller meet the detector's deadlines differently:
//! - a **virtual clock** (the replay, the tests) knows every time in
//!   advance, so it jumps to each deadline and honours it there
//!   ([`Detector::advance_to`], [`Detector::feed`]);
//! - the daemon's **live clock** learns the time only when it wakes, so a
//!   deadline that passed is honoured at the moment it noticed
//!   ([`Detector::turn`]). Its own late wake-ups are `loop_stalled`, not a
//!   silent host: a sample read on waking counts before any timeout.
//!
//! [`Detector::warm`] builds state from history (after a reload, or for a
//! host whose detector restarts), dropping the events it replays.

use super::{Detector, Event, ObserveError};
use crate::signal::Sample;

impl Detector {
    /// The clock has reached `now_ms` with no sample since the last one:
    /// every timeout due by then is honoured, each at its own deadline.
    pub fn advance_to(&mut self, now_ms: i64, out: &mut Vec<Event>) {
        while let Some(t) = self.poll_timeout() {
            if t > now_ms {
                break;
            }
            self.handle_timeout(t, out);
        }
    }

    /// Feeds the next sample of a recorded series: first the timeouts that
    /// fell due before it, at their deadlines, then the sample.
    pub fn feed(&mut self, sample: &Sample, out: &mut Vec<Event>) -> Result<(), ObserveError> {
        self.advance_to(sample.at_ms - 1, out);
        self.observe(sample, out)
    }

    /// The daemon's turn at `now_ms`: the sample read on waking (none when
    /// the read failed), then a timeout that fell due by now, honoured now.
    /// The sample's refusal, if any, is returned after the timeout ran.
    #[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
    #[link_section = "memcanary_hot"]
    pub fn turn(
        &mut self,
        now_ms: i64,
        sample: Option<&Sample>,
        out: &mut Vec<Event>,
    ) -> Result<(), ObserveError> {
        let observed = sample.map_or(Ok(()), |s| self.observe(s, out));
        if self.poll_timeout().is_some_and(|t| now_ms >= t) {
            self.handle_timeout(now_ms, out);
        }
        observed
    }

    /// Feeds `history` (oldest first) as [`Detector::feed`] does, dropping
    /// the events and the samples it refuses: the state a detector would
    /// have had, without notifying anything twice.
    pub fn warm<'a>(&mut self, history: impl IntoIterator<Item = &'a Sample>) {
        let mut sink = Vec::new();
        for s in history {
            let _ = self.feed(s, &mut sink);
            sink.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::detect::{Detector, DetectorConfig, WENT_DARK};
    use crate::signal::Sample;

    const MIB: u64 = 1 << 20;

    /// A host draining 1 MiB/s from 900 MiB, one sample every 15 s.
    fn draining(n: i64) -> Vec<Sample> {
        (0..n)
            .map(|i| Sample {
                at_ms: 1_000_000 + i * 15_000,
                mem_total_bytes: 1000 * MIB,
                mem_available_bytes: (900 - i as u64 * 15) * MIB,
                ..Sample::default()
            })
            .collect()
    }

    #[test]
    fn a_virtual_clock_honours_a_timeout_at_its_deadline() {
        let mut d = Detector::new(&DetectorConfig::default());
        let mut out = Vec::new();
        for s in &draining(50) {
            d.feed(s, &mut out).expect("valid");
        }
        let deadline = d.poll_timeout().expect("a deadline");
        d.advance_to(deadline + 3_600_000, &mut out);
        let dark = out.iter().find(|e| e.rule == WENT_DARK).expect("went dark");
        assert_eq!(dark.at_ms, deadline);
        assert_eq!(d.poll_timeout(), None, "dark: nothing more to wake for");
    }

    #[test]
    fn a_live_turn_honours_a_timeout_when_it_notices() {
        let mut d = Detector::new(&DetectorConfig::default());
        let mut out = Vec::new();
        let s = draining(50);
        for (i, s) in s.iter().enumerate() {
            d.turn(s.at_ms, Some(s), &mut out).expect("valid");
            assert!(out.iter().all(|e| e.rule != WENT_DARK), "sample {i}");
        }
        let deadline = d.poll_timeout().expect("a deadline");
        d.turn(deadline - 1, None, &mut out).expect("no sample");
        assert!(out.iter().all(|e| e.rule != WENT_DARK), "not yet due");
        d.turn(deadline + 500, None, &mut out).expect("no sample");
        let dark = out.iter().find(|e| e.rule == WENT_DARK).expect("went dark");
        assert_eq!(dark.at_ms, deadline + 500);
    }

    #[test]
    fn warming_gives_the_state_feeding_would() {
        let s = draining(40);
        let mut fed = Detector::new(&DetectorConfig::default());
        let mut out = Vec::new();
        for x in &s {
            fed.feed(x, &mut out).expect("valid");
        }
        let mut warm = Detector::new(&DetectorConfig::default());
        warm.warm(&s);
        assert_eq!(warm.features(), fed.features());
        assert_eq!(
            warm.rules().iter().map(|(_, st)| st).collect::<Vec<_>>(),
            fed.rules().iter().map(|(_, st)| st).collect::<Vec<_>>()
        );
    }
}
