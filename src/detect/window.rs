//! Fixed-capacity, time-decimated windows of recent points.
//!
//! A window keeps at most [`CAP`] points covering the last `span` of time: a
//! new sample replaces the newest point while it is closer than `span / (CAP-3)`
//! to the one before, so the newest point is always the newest sample and the
//! memory use does not depend on the sample rate (1 Hz agent or 30 s scrape).
//! Nothing here allocates after construction.
//!
//! A window holds only what its features read: [`Level`]s for the trend
//! (slope, MemAvailable's fall), [`Totals`] for rates. The rate and trend
//! windows are two windows, not one shared one, because their spacings
//! differ: with samples closer than the trend's spacing they keep different
//! points, and sharing would change the slope.

/// Points kept per window (a power of two: indexing is a mask).
pub const CAP: usize = 32;
const MASK: usize = CAP - 1;

/// Counters tracked per point (see [`Totals::acc`]).
pub const COUNTERS: usize = 5;

/// What a window holds: anything with a time. Each window keeps only what
/// its features read, so a push copies no more than it must.
pub trait Timed: Copy + Default {
    /// Time, ms since the epoch.
    fn at_ms(&self) -> i64;
}

/// Headroom levels at one time: what the trend features read.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Level {
    /// Time, ms since the epoch.
    pub at_ms: i64,
    /// Spike-filtered headroom, bytes.
    pub headroom: f64,
    /// `MemAvailable`, bytes.
    pub mem_available: f64,
}

/// Counter totals at one time: what rates read.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Totals {
    /// Time, ms since the epoch.
    pub at_ms: i64,
    /// Reset-corrected running totals of the counters (PSI some, PSI full,
    /// pgmajfault, pswpin, oom_kill), `NaN` where the sample lacked one.
    pub acc: [f64; COUNTERS],
}

impl Timed for Level {
    fn at_ms(&self) -> i64 {
        self.at_ms
    }
}

impl Timed for Totals {
    fn at_ms(&self) -> i64 {
        self.at_ms
    }
}

/// A ring of points spanning at least `span_ms` (when data allows).
#[derive(Debug, Clone)]
pub struct Window<P> {
    span_ms: i64,
    spacing_ms: i64,
    buf: [P; CAP],
    start: usize,
    len: usize,
}

impl<P: Timed> Window<P> {
    /// An empty window over `span_ms`.
    pub fn new(span_ms: i64) -> Window<P> {
        let span_ms = span_ms.max(1);
        Window {
            span_ms,
            spacing_ms: (span_ms / (CAP as i64 - 3)).max(1),
            buf: [P::default(); CAP],
            start: 0,
            len: 0,
        }
    }

    /// The span this window covers.
    pub fn span_ms(&self) -> i64 {
        self.span_ms
    }

    /// Number of points held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the window is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Drops every point (after a gap or a time jump backwards).
    pub fn clear(&mut self) {
        self.len = 0;
        self.start = 0;
    }

    /// The `i`-th point, oldest first.
    pub fn get(&self, i: usize) -> P {
        self.buf[(self.start + i) & MASK]
    }

    /// The newest point.
    pub fn newest(&self) -> Option<P> {
        (self.len > 0).then(|| self.get(self.len - 1))
    }

    /// Adds a point (time must not go backwards; the caller ensures it).
    #[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
    #[link_section = "memcanary_hot"]
    pub fn push(&mut self, p: P) {
        if self.len >= 2 && p.at_ms() - self.get(self.len - 2).at_ms() < self.spacing_ms {
            let last = (self.start + self.len - 1) & MASK;
            self.buf[last] = p;
        } else if self.len == CAP {
            self.buf[self.start] = p;
            self.start = (self.start + 1) & MASK;
        } else {
            let idx = (self.start + self.len) & MASK;
            self.buf[idx] = p;
            self.len += 1;
        }
        self.evict(p.at_ms());
    }

    /// Drops points no longer needed to cover `span_ms` before `now_ms`:
    /// keeps the newest point at or before the window's start.
    fn evict(&mut self, now_ms: i64) {
        let cutoff = now_ms - self.span_ms;
        while self.len >= 2 && self.get(1).at_ms() <= cutoff {
            self.start = (self.start + 1) & MASK;
            self.len -= 1;
        }
    }

    /// Index of the oldest point at or after `since_ms`, if any besides the
    /// newest.
    pub fn first_since(&self, since_ms: i64) -> Option<usize> {
        (0..self.len.saturating_sub(1)).find(|&i| self.get(i).at_ms() >= since_ms)
    }
}

impl Window<Totals> {
    /// The oldest and newest points within the last `span_ms`, for rates.
    #[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
    #[link_section = "memcanary_hot"]
    pub fn rate_base(&self, span_ms: i64) -> Option<RateBase> {
        let new = self.newest()?;
        let old = self.get(self.first_since(new.at_ms - span_ms)?);
        let dt = (new.at_ms - old.at_ms) as f64 * 0.001;
        (dt > 0.0).then(|| RateBase {
            old,
            new,
            inv_dt: 1.0 / dt,
        })
    }

    /// Per-second rate of counter `c` over the last `span_ms`: the
    /// difference between the newest point and the oldest point inside the
    /// span, PromQL `rate()` without extrapolation. `None` with fewer than
    /// two points or a missing counter at either end.
    pub fn rate(&self, c: usize, span_ms: i64) -> Option<f64> {
        rate_between(self.rate_base(span_ms), c)
    }
}

impl Window<Level> {
    /// The largest `mem_available` in the window.
    pub fn max_mem_available(&self) -> Option<f64> {
        // `mem_available` comes from a `u64`: never NaN.
        (0..self.len).map(|i| self.get(i).mem_available).reduce(max)
    }

    /// Robust slope of headroom, bytes per second: the median of the slopes
    /// between each point and the one half the window later. A single bad
    /// point moves at most two of those slopes, so the median stays put.
    /// `None` with fewer than `min_points` points.
    #[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
    #[link_section = "memcanary_hot"]
    pub fn headroom_slope(&self, min_points: usize) -> Option<f64> {
        if self.len < min_points.max(3) {
            return None;
        }
        let half = self.len / 2;
        let pairs = self.len - half;
        // Scrapes are usually evenly spaced: then every pair spans the same
        // time, and the median of the slopes is the median of the
        // differences over that one span (one division instead of many).
        let span0 = self.get(half).at_ms - self.get(0).at_ms;
        let mut keys = [0i64; CAP];
        let mut even = true;
        for (i, k) in keys[..pairs].iter_mut().enumerate() {
            let (a, b) = (self.get(i), self.get(i + half));
            even &= b.at_ms - a.at_ms == span0;
            *k = total_order_key(b.headroom - a.headroom);
        }
        if even {
            let m = median_of_keys(&mut keys[..pairs])?;
            return (span0 > 0).then(|| m / (span0 as f64 * 0.001));
        }
        let mut n = 0;
        for i in 0..pairs {
            let (a, b) = (self.get(i), self.get(i + half));
            let dt = (b.at_ms - a.at_ms) as f64 * 0.001;
            if dt > 0.0 {
                keys[n] = total_order_key((b.headroom - a.headroom) / dt);
                n += 1;
            }
        }
        median_of_keys(&mut keys[..n])
    }
}

/// Two points a rate is taken between, with the reciprocal of their
/// distance in seconds (several counters share one division).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateBase {
    /// The older point.
    pub old: Totals,
    /// The newest point.
    pub new: Totals,
    /// `1 / (new - old)` in 1/s.
    pub inv_dt: f64,
}

/// Per-second rate of counter `c` over a base.
pub fn rate_between(base: Option<RateBase>, c: usize) -> Option<f64> {
    let b = base?;
    let dv = b.new.acc[c] - b.old.acc[c];
    dv.is_finite().then_some(dv * b.inv_dt)
}

/// `f64::max` for values that are never NaN (levels come from `u64`s): a
/// plain comparison, without the NaN checks.
pub(super) fn max(a: f64, b: f64) -> f64 {
    if a >= b {
        a
    } else {
        b
    }
}

/// `f64::min` for values that are never NaN.
pub(super) fn min(a: f64, b: f64) -> f64 {
    if a <= b {
        a
    } else {
        b
    }
}

/// Median of values given as [`total_order_key`]s (reorders them); `None`
/// when empty. Sorting integer keys orders the values as
/// [`f64::total_cmp`] would, with one bit twiddle per value instead of two
/// per comparison.
#[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
#[link_section = "memcanary_hot"]
fn median_of_keys(keys: &mut [i64]) -> Option<f64> {
    if keys.is_empty() {
        return None;
    }
    sort_few(keys);
    let m = keys.len() / 2;
    let at = |i: usize| from_total_order_key(keys[i]);
    Some(if keys.len() % 2 == 1 {
        at(m)
    } else {
        (at(m - 1) + at(m)) / 2.0
    })
}

/// Sorts a few keys (at most `CAP / 2`) without branching on their values:
/// each key is carried down the sorted prefix by compare-exchanges, which
/// compile to conditional moves. A comparison sort of noisy slopes
/// mispredicts at almost every step; this costs n²/2 cheap steps instead.
/// (A selection by rank, n² comparisons, measured slower.)
#[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
#[link_section = "memcanary_hot"]
fn sort_few(keys: &mut [i64]) {
    for i in 1..keys.len() {
        let mut carry = keys[i];
        for j in (0..i).rev() {
            let k = keys[j];
            keys[j + 1] = k.max(carry);
            carry = k.min(carry);
        }
        keys[0] = carry;
    }
}

/// An integer whose order is [`f64::total_cmp`]'s order (the same bit
/// twiddle the standard library uses): negative floats get their magnitude
/// bits flipped.
fn total_order_key(x: f64) -> i64 {
    let bits = x.to_bits() as i64;
    bits ^ (((bits >> 63) as u64) >> 1) as i64
}

/// The inverse of [`total_order_key`] (the twiddle is its own inverse: it
/// keeps the sign bit it depends on).
fn from_total_order_key(k: i64) -> f64 {
    f64::from_bits((k ^ (((k >> 63) as u64) >> 1) as i64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn level(at_s: i64, headroom: f64) -> Level {
        Level {
            at_ms: at_s * 1000,
            headroom,
            mem_available: headroom,
        }
    }

    fn totals(at_s: i64) -> Totals {
        Totals {
            at_ms: at_s * 1000,
            acc: [at_s as f64 * 0.5; COUNTERS],
        }
    }

    #[test]
    fn keeps_the_span_with_bounded_points_at_any_rate() {
        for step_ms in [100, 1000, 15_000] {
            let mut w = Window::new(120_000);
            for i in 0..10_000 {
                w.push(Level {
                    at_ms: i * step_ms,
                    ..Level::default()
                });
            }
            let span = w.newest().map(|n| n.at_ms - w.get(0).at_ms).unwrap_or(0);
            assert!(span >= 120_000, "step {step_ms}: span {span}");
            assert!(
                span <= 120_000 + 2 * step_ms.max(120_000 / 23),
                "step {step_ms}: span {span}"
            );
            assert!(w.len() <= CAP);
        }
    }

    #[test]
    fn rate_is_the_counter_slope_over_the_span() {
        let mut w = Window::new(300_000);
        for s in (0..600).step_by(15) {
            w.push(totals(s));
        }
        let r = w.rate(0, 60_000).unwrap_or(f64::NAN);
        assert!((r - 0.5).abs() < 1e-9, "{r}");
    }

    #[test]
    fn slope_ignores_a_single_spike() {
        let mut w = Window::new(120_000);
        for s in (0..=120).step_by(15) {
            let v = 1000.0 - 2.0 * s as f64;
            w.push(level(s, if s == 60 { 0.0 } else { v }));
        }
        let slope = w.headroom_slope(4).unwrap_or(f64::NAN);
        assert!((slope + 2.0).abs() < 1e-9, "{slope}");
    }

    #[test]
    fn median_of_even_and_odd() {
        let median = |v: &[f64]| {
            let mut keys: Vec<i64> = v.iter().map(|x| total_order_key(*x)).collect();
            median_of_keys(&mut keys)
        };
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[-3.0, 5.0, -1.0, -7.5, 0.0]), Some(-1.0));
    }

    proptest! {
        #[test]
        fn median_of_keys_is_the_total_cmp_sorted_median(
            v in proptest::collection::vec(
                prop_oneof![
                    (-4i32..4).prop_map(f64::from),
                    proptest::num::f64::NORMAL,
                    Just(-0.0),
                ],
                1..=CAP / 2,
            )
        ) {
            let mut sorted = v.clone();
            sorted.sort_by(f64::total_cmp);
            let m = sorted.len() / 2;
            let want = if sorted.len() % 2 == 1 {
                sorted[m]
            } else {
                (sorted[m - 1] + sorted[m]) / 2.0
            };
            let mut keys: Vec<i64> = v.iter().map(|x| total_order_key(*x)).collect();
            let got = median_of_keys(&mut keys).unwrap_or(f64::NAN);
            prop_assert_eq!(got.to_bits(), want.to_bits(), "{:?}", v);
        }
    }

    #[test]
    fn sort_few_sorts() {
        for v in [
            vec![],
            vec![3],
            vec![2, 1],
            vec![5, -1, 5, 0, -7, 2, 2],
            (0..16).rev().collect(),
        ] {
            let mut got = v.clone();
            sort_few(&mut got);
            let mut want = v;
            want.sort_unstable();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn total_order_keys_round_trip_and_order_like_total_cmp() {
        let xs = [
            -f64::INFINITY,
            -2.5,
            -1e-300,
            -0.0,
            0.0,
            1e-300,
            3.0,
            f64::MAX,
        ];
        for (i, a) in xs.iter().enumerate() {
            assert_eq!(
                from_total_order_key(total_order_key(*a)).to_bits(),
                a.to_bits()
            );
            for b in &xs[i..] {
                let by_key = total_order_key(*a).cmp(&total_order_key(*b));
                assert_eq!(by_key, a.total_cmp(b), "{a} vs {b}");
            }
        }
    }
}
