//! Detector benchmarks: `cargo bench --bench detector`.
//!
//! Prints samples per second for (1) the detector alone on one core and
//! (2) a replay (detector + the ten published baselines on the same
//! features). Inputs are synthetic but shaped like real hosts: long flat
//! stretches with noise, drains, plateaus, PSI and counters moving.
//! Throughput is the best of several runs (this machine is shared and noisy).

#![allow(clippy::disallowed_methods, clippy::expect_used)] // a benchmark reads the clock and may panic

use memcanary::detect::{Detector, DetectorConfig};
use memcanary::replay::{self, Recording};
use memcanary::signal::Sample;
use std::hint::black_box;
use std::time::Instant;

const GIB: u64 = 1 << 30;

/// `n` samples every `step_ms`: a 31 GiB host that drains and recovers
/// every few hours.
fn synthetic(n: usize, step_ms: i64) -> Vec<Sample> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut psi = 0u64;
    let mut maj = 0u64;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let noise = (x % (64 << 20)) as f64;
            let phase = (i % 2000) as f64 / 2000.0;
            let used = if phase < 0.7 {
                0.4
            } else {
                0.4 + (phase - 0.7) * 1.9
            };
            let avail = ((1.0 - used) * 31.0 * GIB as f64 + noise).max(0.0) as u64;
            psi += if phase > 0.9 { 300_000 } else { x % 2000 };
            maj += x % 50;
            Sample {
                at_ms: 1_700_000_000_000 + i as i64 * step_ms,
                mem_total_bytes: 31 * GIB,
                mem_available_bytes: avail.min(31 * GIB),
                swap_total_bytes: 2 * GIB,
                swap_free_bytes: if phase > 0.95 { GIB } else { 2 * GIB },
                psi_some_total_us: Some(psi),
                psi_full_total_us: Some(psi / 2),
                pgmajfault: Some(maj),
                pswpin: Some(maj / 3),
                pswpout: Some(maj / 2),
                oom_kill: Some(0),
            }
        })
        .collect()
}

fn best_of<F: FnMut() -> usize>(runs: usize, mut f: F) -> (f64, usize) {
    let mut best = f64::MAX;
    let mut events = 0;
    for _ in 0..runs {
        let t = Instant::now();
        events = f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    (best, events)
}

fn main() {
    let n = 10_000_000;
    let samples = synthetic(n, 15_000);
    let cfg = DetectorConfig::default();

    let (secs, events) = best_of(5, || {
        let mut d = Detector::new(&cfg);
        let mut out = Vec::with_capacity(64);
        let mut count = 0;
        for s in &samples {
            d.observe(black_box(s), &mut out).expect("valid");
            count += out.len();
            out.clear();
        }
        count
    });
    println!(
        "detector alone: {n} samples in {secs:.3} s = {:.1} M samples/s on one core ({events} events)",
        n as f64 / secs / 1e6
    );

    let year = 2_102_400;
    let (secs, events) = best_of(5, || {
        let rec = Recording {
            instance: "bench",
            samples: &samples[..year],
            end_ms: samples[year - 1].at_ms,
        };
        let r = replay::run(&rec, &cfg, false).expect("replay");
        r.events.len() + r.baseline_events.len()
    });
    println!(
        "replay (detector + 10 baselines): {year} samples (a year at 15 s) in {secs:.3} s = {:.1} M samples/s ({events} events)",
        year as f64 / secs / 1e6
    );
}
