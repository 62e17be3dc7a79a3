//! Range functions as Prometheus 2.42 computes them (`promql/functions.go`):
//! the extrapolated rate, the least-squares `deriv`, and the `_over_time`
//! family. Same arithmetic in the same order, so the values that end up in
//! expected annotations match promtool's to the last digit.

/// Functions over a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    /// `rate`
    Rate,
    /// `increase`
    Increase,
    /// `delta`
    Delta,
    /// `deriv`
    Deriv,
    /// `max_over_time`
    MaxOverTime,
    /// `min_over_time`
    MinOverTime,
    /// `last_over_time`
    LastOverTime,
    /// `present_over_time`
    PresentOverTime,
    /// `quantile_over_time(0.5, ...)`: the median.
    MedianOverTime,
}

impl Func {
    /// The PromQL function name.
    pub(super) fn name(self) -> &'static str {
        match self {
            Func::Rate => "rate",
            Func::Increase => "increase",
            Func::Delta => "delta",
            Func::Deriv => "deriv",
            Func::MaxOverTime => "max_over_time",
            Func::MinOverTime => "min_over_time",
            Func::LastOverTime => "last_over_time",
            Func::PresentOverTime => "present_over_time",
            Func::MedianOverTime => "quantile_over_time",
        }
    }
}

/// Applies `f` to the samples `(t_ms, value)` of a range
/// `[range_start, range_end]` that spans `range_ms`.
pub fn apply(
    f: Func,
    pts: &[(i64, f64)],
    range_start: i64,
    range_end: i64,
    range_ms: i64,
) -> Option<f64> {
    match f {
        Func::Rate => extrapolated(pts, range_start, range_end, range_ms, true, true),
        Func::Increase => extrapolated(pts, range_start, range_end, range_ms, true, false),
        Func::Delta => extrapolated(pts, range_start, range_end, range_ms, false, false),
        Func::Deriv => deriv(pts),
        Func::MaxOverTime => max_over_time(pts),
        Func::MinOverTime => min_over_time(pts),
        Func::LastOverTime => pts.last().map(|p| p.1),
        Func::PresentOverTime => (!pts.is_empty()).then_some(1.0),
        Func::MedianOverTime => median(pts),
    }
}

/// `quantile_over_time(0.5, ...)`: between two middle samples, their
/// weighted average, as Prometheus' `quantile` computes it.
fn median(pts: &[(i64, f64)]) -> Option<f64> {
    let mut v: Vec<f64> = pts.iter().map(|p| p.1).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len() as f64;
    let rank = 0.5 * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    Some(v[lower as usize] * (1.0 - weight) + v[upper as usize] * weight)
}

fn max_over_time(pts: &[(i64, f64)]) -> Option<f64> {
    let mut it = pts.iter().map(|p| p.1);
    let first = it.next()?;
    Some(it.fold(first, |m, v| if v > m || m.is_nan() { v } else { m }))
}

fn min_over_time(pts: &[(i64, f64)]) -> Option<f64> {
    let mut it = pts.iter().map(|p| p.1);
    let first = it.next()?;
    Some(it.fold(first, |m, v| if v < m || m.is_nan() { v } else { m }))
}

/// `rate`, `increase` and `delta`: the change over the samples, corrected
/// for counter resets, extrapolated towards the range's ends.
fn extrapolated(
    pts: &[(i64, f64)],
    range_start: i64,
    range_end: i64,
    range_ms: i64,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    if pts.len() < 2 {
        return None;
    }
    let (first, last) = (pts[0], pts[pts.len() - 1]);
    let mut result = last.1 - first.1;
    if is_counter {
        let mut prev = 0.0;
        for &(_, v) in pts {
            if v < prev {
                result += prev;
            }
            prev = v;
        }
    }
    let mut to_start = (first.0 - range_start) as f64 / 1000.0;
    let to_end = (range_end - last.0) as f64 / 1000.0;
    let sampled = (last.0 - first.0) as f64 / 1000.0;
    let avg = sampled / (pts.len() - 1) as f64;
    if is_counter && result > 0.0 && first.1 >= 0.0 {
        let to_zero = sampled * (first.1 / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    let threshold = avg * 1.1;
    let mut interval = sampled;
    interval += if to_start < threshold {
        to_start
    } else {
        avg / 2.0
    };
    interval += if to_end < threshold {
        to_end
    } else {
        avg / 2.0
    };
    result *= interval / sampled;
    if is_rate {
        result /= range_ms as f64 / 1000.0;
    }
    Some(result)
}

/// `deriv`: least-squares slope per second, times taken relative to the
/// first sample.
fn deriv(pts: &[(i64, f64)]) -> Option<f64> {
    if pts.len() < 2 {
        return None;
    }
    let t0 = pts[0].0;
    let init = pts[0].1;
    if pts.iter().all(|p| p.1 == init) {
        return Some(0.0);
    }
    let (mut n, mut sx, mut sy, mut sxy, mut sx2) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(t, v) in pts {
        n += 1.0;
        let x = (t - t0) as f64 / 1e3;
        sx += x;
        sy += v;
        sxy += x * v;
        sx2 += x * x;
    }
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    Some(cov / var)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_of_a_steady_counter_is_its_slope() {
        let pts: Vec<_> = (0..5)
            .map(|i| (i * 15_000, 100.0 + 15.0 * i as f64))
            .collect();
        let r = apply(Func::Rate, &pts, 0, 60_000, 60_000).unwrap();
        assert!((r - 1.0).abs() < 1e-12, "{r}");
    }

    #[test]
    fn a_counter_reset_is_not_a_drop() {
        let pts = [(0, 100.0), (15_000, 115.0), (30_000, 5.0), (45_000, 20.0)];
        let r = apply(Func::Increase, &pts, 0, 45_000, 45_000).unwrap();
        assert!(r > 0.0, "{r}");
    }

    #[test]
    fn deriv_of_a_line_and_of_a_constant() {
        let pts: Vec<_> = (0..9).map(|i| (i * 15_000, 1e9 - 1e6 * i as f64)).collect();
        let d = apply(Func::Deriv, &pts, 0, 120_000, 120_000).unwrap();
        assert!((d + 1e6 / 15.0).abs() < 1e-3, "{d}");
        let flat = [(0, 5.0), (15_000, 5.0)];
        assert_eq!(apply(Func::Deriv, &flat, 0, 15_000, 15_000), Some(0.0));
        assert_eq!(apply(Func::Deriv, &flat[..1], 0, 15_000, 15_000), None);
    }

    #[test]
    fn over_time_family() {
        let pts = [(0, 3.0), (1, 7.0), (2, 5.0)];
        assert_eq!(apply(Func::MaxOverTime, &pts, 0, 2, 2), Some(7.0));
        assert_eq!(apply(Func::LastOverTime, &pts, 0, 2, 2), Some(5.0));
        assert_eq!(apply(Func::PresentOverTime, &[], 0, 2, 2), None);
        assert_eq!(apply(Func::MedianOverTime, &pts, 0, 2, 2), Some(5.0));
        assert_eq!(apply(Func::MedianOverTime, &pts[..2], 0, 2, 2), Some(5.0));
        assert_eq!(apply(Func::MedianOverTime, &[], 0, 2, 2), None);
    }
}
