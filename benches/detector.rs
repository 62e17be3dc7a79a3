//! Detector benchmarks (filled in with the detector).

fn main() {}
