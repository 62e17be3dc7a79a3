//! From raw samples to the quantities rules test: ratios, rates, slope, ETA.
//!
//! [`FeatureState`] holds the little history the rules need (three
//! fixed-size [`Window`]s and the counters' reset-corrected totals) and turns
//! each [`Sample`] into a [`Features`] value. Counter resets (reboot, exporter
//! restart) count the new value as the increase, as PromQL's `rate()` does.

use super::window::{max, min, rate_between, Level, Totals, Window, COUNTERS};
use crate::signal::Sample;

/// Counter slots in [`Totals::acc`].
const PSI_SOME: usize = 0;
const PSI_FULL: usize = 1;
const PGMAJFAULT: usize = 2;
const PSWPIN: usize = 3;
const OOM_KILL: usize = 4;

/// The window published rules use for major-fault rates (`rate(x[5m])`).
pub const LONG_WINDOW_MS: i64 = 300_000;

/// What the rules see at one sample. Ratios are fractions (0.1 = 10 %).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Features {
    /// The sample's time.
    pub at_ms: i64,
    /// The raw sample.
    pub sample: Sample,
    /// `MemAvailable + SwapFree`, spike-filtered (median of the last three).
    pub headroom: f64,
    /// `MemTotal + SwapTotal`.
    pub capacity: f64,
    /// `headroom / capacity`.
    pub headroom_ratio: f64,
    /// `MemAvailable / MemTotal`.
    pub mem_available_ratio: f64,
    /// `SwapFree / SwapTotal`; `None` without swap.
    pub swap_free_ratio: Option<f64>,
    /// Fall of MemAvailable from its maximum over the trend window, as a
    /// fraction of MemTotal.
    pub mem_available_drop_ratio: f64,
    /// Robust headroom slope over the trend window, bytes/s.
    pub slope: Option<f64>,
    /// Least-squares headroom slope over the trend window (PromQL `deriv`),
    /// bytes/s: what a plain `predict_linear` rule uses (baselines only).
    pub slope_lsq: Option<f64>,
    /// Seconds until headroom reaches zero at `slope`; `None` unless draining.
    pub eta_s: Option<f64>,
    /// Headroom slope over the recent window (at least the last interval),
    /// bytes/s: is the drain still going on right now?
    pub recent_slope: Option<f64>,
    /// PSI "some" stall fraction over the rate window.
    pub psi_some: Option<f64>,
    /// PSI "full" stall fraction over the rate window.
    pub psi_full: Option<f64>,
    /// PSI "full" stall fraction since the previous sample (short window).
    pub psi_full_short: Option<f64>,
    /// Major faults per second over the rate window.
    pub pgmajfault_rate: Option<f64>,
    /// Major faults per second over 5 minutes (baselines only).
    pub pgmajfault_rate_5m: Option<f64>,
    /// Pages swapped in per second over the rate window.
    pub pswpin_rate: Option<f64>,
    /// OOM kills within the rate window.
    pub oom_kills_recent: f64,
    /// OOM kills since the detector started.
    pub oom_kills_total: u64,
}

/// A counter's reset-corrected running total.
#[derive(Debug, Clone, Copy, Default)]
struct Acc {
    last: Option<u64>,
    total: f64,
}

impl Acc {
    /// Adds a raw reading; returns the running total, or `NaN` when the
    /// sample has no value.
    fn add(&mut self, raw: Option<u64>) -> f64 {
        let Some(v) = raw else { return f64::NAN };
        if let Some(prev) = self.last {
            // A decrease is a reset: the counter restarted from zero.
            self.total += if v >= prev { v - prev } else { v } as f64;
        }
        self.last = Some(v);
        self.total
    }
}

/// Windows the feature computation needs, in milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct Spans {
    /// Rate window.
    pub rate_ms: i64,
    /// Trend window.
    pub trend_ms: i64,
    /// Recent-drain window.
    pub recent_ms: i64,
    /// Also compute what only the published baselines need (a 5-minute
    /// major-fault rate, a least-squares slope); off in the agent.
    pub baseline_features: bool,
}

/// The history behind [`Features`].
#[derive(Debug, Clone)]
pub struct FeatureState {
    spans: Spans,
    rate_w: Window<Totals>,
    trend_w: Window<Level>,
    long_w: Window<Totals>,
    acc: [Acc; COUNTERS],
    raw_headroom: [f64; 3],
    raw_len: usize,
    prev: Option<Totals>,
    inv: Reciprocals,
}

/// `1/MemTotal`, `1/capacity`, `1/SwapTotal`, recomputed only when those
/// change (they almost never do): divisions are the detector's main cost.
#[derive(Debug, Clone, Copy, Default)]
struct Reciprocals {
    mem_total: u64,
    swap_total: u64,
    mem: f64,
    cap: f64,
    swap: f64,
}

impl Reciprocals {
    fn update(&mut self, s: &Sample) {
        if s.mem_total_bytes != self.mem_total
            || s.swap_total_bytes != self.swap_total
            || self.mem == 0.0
        {
            self.mem_total = s.mem_total_bytes;
            self.swap_total = s.swap_total_bytes;
            self.mem = 1.0 / s.mem_total_bytes.max(1) as f64;
            let cap = s.capacity_bytes();
            self.cap = if cap > 0 { 1.0 / cap as f64 } else { 0.0 };
            self.swap = if s.swap_total_bytes > 0 {
                1.0 / s.swap_total_bytes as f64
            } else {
                0.0
            };
        }
    }
}

impl FeatureState {
    /// Empty history for the given windows.
    pub fn new(spans: Spans) -> FeatureState {
        FeatureState {
            spans,
            rate_w: Window::new(spans.rate_ms),
            trend_w: Window::new(spans.trend_ms),
            long_w: Window::new(LONG_WINDOW_MS),
            acc: [Acc::default(); COUNTERS],
            raw_headroom: [0.0; 3],
            raw_len: 0,
            prev: None,
            inv: Reciprocals::default(),
        }
    }

    /// Forgets the headroom history after a gap: a slope or a spike filter
    /// must not bridge a blackout. Counter windows are kept: a rate across a
    /// short gap still tells what happened in it (an OOM kill, the stall).
    pub fn reset_trend(&mut self) {
        self.trend_w.clear();
        self.raw_len = 0;
    }

    /// Median-of-three spike filter over raw headroom.
    fn filtered_headroom(&mut self, raw: f64) -> f64 {
        let [_, b, c] = self.raw_headroom;
        self.raw_headroom = [b, c, raw];
        self.raw_len = (self.raw_len + 1).min(3);
        match self.raw_len {
            1 => raw,
            2 => (c + raw) / 2.0,
            _ => max(min(max(b, c), raw), min(b, c)),
        }
    }

    /// Takes one sample and computes its features into `out`.
    #[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
    #[link_section = "memcanary_hot"]
    pub fn update(&mut self, s: &Sample, out: &mut Features) {
        let raw = [
            s.psi_some_total_us,
            s.psi_full_total_us,
            s.pgmajfault,
            s.pswpin,
            s.oom_kill,
        ];
        let mut acc = [0.0; COUNTERS];
        for (i, r) in raw.into_iter().enumerate() {
            acc[i] = self.acc[i].add(r);
        }
        let headroom = self.filtered_headroom(s.headroom_bytes() as f64);
        let level = Level {
            at_ms: s.at_ms,
            headroom,
            mem_available: s.mem_available_bytes as f64,
        };
        let totals = Totals {
            at_ms: s.at_ms,
            acc,
        };
        self.rate_w.push(totals);
        self.trend_w.push(level);
        if self.spans.baseline_features {
            self.long_w.push(totals);
        }
        self.inv.update(s);
        *out = self.compute(s, level, totals);
        self.prev = Some(totals);
    }

    #[inline(always)]
    #[allow(unsafe_code)] // only a link section: see lib.rs, "The hot section"
    #[link_section = "memcanary_hot"]
    fn compute(&self, s: &Sample, p: Level, t: Totals) -> Features {
        let capacity = s.capacity_bytes() as f64;
        let inv = self.inv;
        let slope = self.trend_w.headroom_slope(4);
        let eta_s = slope.filter(|v| *v < 0.0).map(|v| p.headroom / -v);
        let base = self.rate_w.rate_base(self.spans.rate_ms);
        let psi = |c| rate_between(base, c).map(|us| us * 1e-6);
        let short = self.prev.and_then(|q| {
            let dt = (t.at_ms - q.at_ms) as f64 * 0.001;
            let d = t.acc[PSI_FULL] - q.acc[PSI_FULL];
            (dt > 0.0 && d.is_finite()).then(|| d * 1e-6 / dt)
        });
        // Kills within the rate window, or since the previous sample when
        // a gap longer than the window left no base: a kill during the gap
        // is still a kill (missing data is no recovery).
        let kills = |old: &Totals| {
            let d = t.acc[OOM_KILL] - old.acc[OOM_KILL];
            if d.is_finite() {
                d
            } else {
                0.0
            }
        };
        let oom_recent = max(
            base.map_or(0.0, |b| kills(&b.old)),
            self.prev.as_ref().map_or(0.0, kills),
        );
        Features {
            at_ms: s.at_ms,
            sample: *s,
            headroom: p.headroom,
            capacity,
            headroom_ratio: p.headroom * inv.cap,
            mem_available_ratio: s.mem_available_bytes as f64 * inv.mem,
            swap_free_ratio: (s.swap_total_bytes > 0)
                .then_some(s.swap_free_bytes as f64 * inv.swap),
            mem_available_drop_ratio: self
                .trend_w
                .max_mem_available()
                .map_or(0.0, |m| (m - p.mem_available).max(0.0) * inv.mem),
            slope,
            slope_lsq: self
                .spans
                .baseline_features
                .then(|| self.lsq_slope())
                .flatten(),
            eta_s,
            recent_slope: self.recent_slope(p),
            psi_some: psi(PSI_SOME),
            psi_full: psi(PSI_FULL),
            psi_full_short: short,
            pgmajfault_rate: rate_between(base, PGMAJFAULT),
            pgmajfault_rate_5m: self
                .spans
                .baseline_features
                .then(|| self.long_w.rate(PGMAJFAULT, LONG_WINDOW_MS))
                .flatten(),
            pswpin_rate: rate_between(base, PSWPIN),
            oom_kills_recent: oom_recent,
            oom_kills_total: if t.acc[OOM_KILL].is_finite() {
                t.acc[OOM_KILL] as u64
            } else {
                self.acc[OOM_KILL].total as u64
            },
        }
    }

    /// Headroom slope over the recent window (at least the last two points
    /// when samples are sparser than the window).
    fn recent_slope(&self, p: Level) -> Option<f64> {
        let w = &self.trend_w;
        let n = w.len();
        if n < 2 {
            return None;
        }
        let since = p.at_ms - self.spans.recent_ms;
        let q = w.get(w.first_since(since).unwrap_or(n - 2).min(n - 2));
        let dt = (p.at_ms - q.at_ms) as f64 * 0.001;
        (dt > 0.0).then(|| (p.headroom - q.headroom) / dt)
    }

    /// Ordinary least-squares slope of headroom over the trend window.
    fn lsq_slope(&self) -> Option<f64> {
        let w = &self.trend_w;
        let n = w.len();
        if n < 2 {
            return None;
        }
        let t0 = w.get(0).at_ms;
        let (mut st, mut sv, mut stt, mut stv) = (0.0, 0.0, 0.0, 0.0);
        for i in 0..n {
            let q = w.get(i);
            let t = (q.at_ms - t0) as f64 * 0.001;
            st += t;
            sv += q.headroom;
            stt += t * t;
            stv += t * q.headroom;
        }
        let nf = n as f64;
        let den = nf * stt - st * st;
        (den > 0.0).then(|| (nf * stv - st * sv) / den)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn spans() -> Spans {
        Spans {
            rate_ms: 60_000,
            trend_ms: 120_000,
            recent_ms: 30_000,
            baseline_features: true,
        }
    }

    fn sample(at_s: i64, avail_mib: u64, psi_s: f64) -> Sample {
        Sample {
            at_ms: at_s * 1000,
            mem_total_bytes: 1000 * MIB,
            mem_available_bytes: avail_mib * MIB,
            swap_total_bytes: 100 * MIB,
            swap_free_bytes: 100 * MIB,
            psi_some_total_us: Some((psi_s * 1e6) as u64),
            ..Sample::default()
        }
    }

    #[test]
    fn steady_drain_gives_slope_and_eta() {
        let mut st = FeatureState::new(spans());
        let mut f = Features::default();
        for i in 0..20 {
            st.update(&sample(i * 15, 900 - (i as u64) * 15, 0.0), &mut f);
        }
        // 15 MiB per 15 s = 1 MiB/s; headroom = 615 + 100 MiB, seen one
        // sample late through the median-of-three spike filter: 730 MiB.
        let slope = f.slope.unwrap_or(0.0) / MIB as f64;
        assert!((slope + 1.0).abs() < 1e-9, "{slope}");
        let eta = f.eta_s.unwrap_or(0.0);
        assert!((eta - 730.0).abs() < 1e-6, "{eta}");
        assert!(f.recent_slope.unwrap_or(0.0) < 0.0);
    }

    #[test]
    fn psi_rate_survives_a_counter_reset() {
        let mut st = FeatureState::new(spans());
        let mut f = Features::default();
        // 0.2 s stalled per second, then the host reboots and the counter restarts.
        for i in 0..10 {
            st.update(&sample(i * 15, 500, 3.0 * i as f64 + 1000.0), &mut f);
        }
        assert!((f.psi_some.unwrap_or(0.0) - 0.2).abs() < 1e-6);
        for i in 10..20 {
            st.update(&sample(i * 15, 500, 3.0 * (i - 10) as f64), &mut f);
        }
        assert!(
            (f.psi_some.unwrap_or(0.0) - 0.2).abs() < 1e-6,
            "{:?}",
            f.psi_some
        );
    }

    #[test]
    fn missing_optional_counters_give_none_not_zero() {
        let mut st = FeatureState::new(spans());
        let mut f = Features::default();
        for i in 0..10 {
            let mut s = sample(i * 15, 500, 0.0);
            s.psi_some_total_us = None;
            st.update(&s, &mut f);
        }
        assert_eq!(f.psi_some, None);
        assert_eq!(f.pgmajfault_rate, None);
        assert_eq!(f.swap_free_ratio, Some(1.0));
    }

    #[test]
    fn a_single_dip_does_not_make_an_eta() {
        let mut st = FeatureState::new(spans());
        let mut f = Features::default();
        for i in 0..20 {
            let avail = if i == 15 { 10 } else { 600 };
            st.update(&sample(i * 15, avail, 0.0), &mut f);
            assert_eq!(f.eta_s, None, "sample {i}");
        }
        assert!(f.recent_slope.unwrap_or(0.0) >= 0.0);
    }
}
