//! Parse speed of the recorded-series readers on a year of one host.
//!
//! Generates a VictoriaMetrics export of one host at a 15 s scrape interval
//! for 365 days (2.1 M points in each of the ten memory/PSI/vmstat series
//! and `up`, ~420 MB), then times `load()` on it: plain, with the timestamp
//! arrays written differently per series (so nothing is shared and every
//! array is parsed), and gzip-compressed.
//!
//! Run: `cargo bench --bench recorded` (MEMCANARY_BENCH_DAYS=30 for a
//! quicker run). Plain `std::time` measurement, best of a few runs.

#![allow(clippy::disallowed_methods)] // a benchmark reads the clock

use memcanary::signal::node_exporter::Field;
use memcanary::source::recorded::{load, HostSeries};
use std::error::Error;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

const STEP_MS: i64 = 15_000;
const START_MS: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

type Res<T> = Result<T, Box<dyn Error>>;

/// A plausible value of `field` at point `i` (bytes and counters as
/// integers, PSI seconds with microsecond decimals).
fn value(field: Option<Field>, i: u64) -> String {
    let wave = (i * 7919) % 1_000_003;
    match field {
        Some(Field::MemTotal) => "33474719744".into(),
        Some(Field::MemAvailable) => (9_000_000_000 + wave * 12_345).to_string(),
        Some(Field::SwapTotal) => "2147479552".into(),
        Some(Field::SwapFree) => (1_000_000_000 + wave * 911).to_string(),
        Some(Field::PsiSome) => format!("{}.{:06}", i / 40, (i * 37) % 1_000_000),
        Some(Field::PsiFull) => format!("{}.{:06}", i / 90, (i * 17) % 1_000_000),
        Some(Field::Pgmajfault) => (1_000_000 + i * 3).to_string(),
        Some(Field::Pswpin) => (200_000 + i).to_string(),
        Some(Field::Pswpout) => (400_000 + i * 2).to_string(),
        Some(Field::OomKill) => (i / 500_000).to_string(),
        None => "1".into(),
    }
}

/// Writes the year; `distinct_ts` puts a space after the commas of every
/// other series' timestamps (same values, different bytes).
fn generate(path: &Path, points: u64, distinct_ts: bool) -> Res<()> {
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let series: Vec<(&str, Option<Field>)> = Field::ALL
        .iter()
        .map(|f| (f.metric(), Some(*f)))
        .chain([("up", None)])
        .collect();
    for (n, (name, field)) in series.into_iter().enumerate() {
        write!(
            w,
            r#"{{"metric":{{"__name__":"{name}","job":"node","instance":"db1:9100"}},"values":["#
        )?;
        for i in 0..points {
            let sep = if i == 0 { "" } else { "," };
            write!(w, "{sep}{}", value(field, i))?;
        }
        w.write_all(br#"],"timestamps":["#)?;
        let sep = if distinct_ts && n % 2 == 1 { ", " } else { "," };
        for i in 0..points {
            let t = START_MS + i as i64 * STEP_MS + (i as i64 * 13) % 7;
            if i > 0 {
                w.write_all(sep.as_bytes())?;
            }
            write!(w, "{t}")?;
        }
        w.write_all(b"]}\n")?;
    }
    w.flush()?;
    Ok(())
}

fn gzip(src: &Path, dst: &Path) -> Res<()> {
    let mut enc = flate2::write::GzEncoder::new(
        BufWriter::new(std::fs::File::create(dst)?),
        flate2::Compression::fast(),
    );
    std::io::copy(&mut std::fs::File::open(src)?, &mut enc)?;
    enc.finish()?.flush()?;
    Ok(())
}

fn time(path: &Path, runs: usize) -> Res<(Duration, Vec<HostSeries>)> {
    let mut best = Duration::MAX;
    let mut hosts = Vec::new();
    for _ in 0..runs {
        drop(hosts);
        let t0 = Instant::now();
        hosts = load(path)?;
        best = best.min(t0.elapsed());
    }
    Ok((best, hosts))
}

fn report(what: &str, path: &Path, runs: usize, points: u64) -> Res<()> {
    let size = std::fs::metadata(path)?.len() as f64;
    let (t, hosts) = time(path, runs)?;
    let samples = hosts.first().map_or(0, |h| h.samples.len());
    if samples as u64 != points {
        return Err(format!("{what}: {samples} samples, expected {points}").into());
    }
    let s = t.as_secs_f64();
    println!(
        "{what:<28} {:>7.0} MB  {:>6.3} s  {:>7.0} MB/s  {:>5.2} M samples/s",
        size / 1e6,
        s,
        size / 1e6 / s,
        samples as f64 / 1e6 / s
    );
    Ok(())
}

fn main() -> Res<()> {
    let days: u64 = std::env::var("MEMCANARY_BENCH_DAYS")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(365);
    let points = days * 86_400_000 / STEP_MS as u64;
    // MEMCANARY_BENCH_DIR keeps the generated file between runs.
    let tmp = tempfile::tempdir()?;
    let dir = std::env::var_os("MEMCANARY_BENCH_DIR").map_or(tmp.path().to_path_buf(), Into::into);
    std::fs::create_dir_all(&dir)?;
    let plain = dir.join(format!("year-{days}d.jsonl"));
    let distinct = dir.join("year-distinct-ts.jsonl");
    let gz = dir.join("year.jsonl.gz");
    println!(
        "one host, {days} days at 15 s: {points} points x 11 series; {} threads available",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    // MEMCANARY_BENCH_ONLY=plain|distinct|gz runs one variant.
    let only = std::env::var("MEMCANARY_BENCH_ONLY").unwrap_or_default();
    let run = |v: &str| only.is_empty() || only == v;
    if !plain.exists() {
        generate(&plain, points, false)?;
    }
    if run("plain") {
        report("export JSON", &plain, 5, points)?;
    }
    if run("distinct") {
        generate(&distinct, points, true)?;
        report("export JSON, distinct ts", &distinct, 3, points)?;
        std::fs::remove_file(&distinct)?;
    }
    if run("gz") {
        gzip(&plain, &gz)?;
        report("export JSON .gz", &gz, 2, points)?;
    }
    Ok(())
}
