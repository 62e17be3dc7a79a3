//! Parse speed of the recorded-series readers on the shapes a monitoring
//! stack really writes; prints numbers (plain `std::time`, best of a few runs).
//!
//! - `plain`, `distinct`, `gz`: a year of one host at a 15 s scrape interval
//!   (2.1 M points in each of the ten memory/PSI/vmstat series and `up`,
//!   ~530 MB of VictoriaMetrics export): one line of ~50 MB per series;
//!   `distinct` writes the timestamp arrays differently per series (nothing
//!   shared, every array parsed), `gz` is the same file gzip-compressed.
//! - `fleet`: an export of many hosts and series over a week at 15 s, ~500 MB
//!   of lines of every length: a quarter of the hosts with one line per
//!   memory series (~500 kB), the others split into blocks of 1-8,192 points
//!   as VictoriaMetrics splits long ranges, plus per host 150 other series
//!   of 1 point to the whole week and 1,000 short-lived ones of 1-120 points
//!   (median line ~2 kB).
//! - `prom`: a Prometheus `query_range` response, 50 hosts x 11 series x
//!   11,000 points (Prometheus' cap per series), on one line as Prometheus
//!   writes it.
//!
//! Run: `cargo bench --bench recorded`; MEMCANARY_BENCH_ONLY=plain|distinct|
//! gz|fleet|prom runs one shape, MEMCANARY_BENCH_DAYS=30 shortens the year,
//! MEMCANARY_BENCH_DIR=/tmp/mcbench keeps the generated files (for reruns and
//! for timing `memcanary replay` on them).

#![allow(clippy::disallowed_methods)] // a benchmark reads the clock

use memcanary::signal::node_exporter::Field;
use memcanary::source::recorded::{load, HostSeries};
use std::error::Error;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const STEP_MS: i64 = 15_000;
const START_MS: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const DAY_MS: u64 = 86_400_000;

type Res<T> = Result<T, Box<dyn Error>>;
type Out = BufWriter<std::fs::File>;

/// A plausible value of `field` at point `i` (bytes and counters as
/// integers, PSI seconds with microsecond decimals; `None`: `up`).
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

/// The ten sample fields and `up`, by metric name.
fn memory_series() -> Vec<(&'static str, Option<Field>)> {
    let fields = Field::ALL.iter().map(|f| (f.metric(), Some(*f)));
    fields.chain([("up", None)]).collect()
}

/// A scrape time: 15 s steps with a few ms of jitter, as a scraper has.
fn ts_ms(i: u64) -> i64 {
    START_MS + i as i64 * STEP_MS + (i as i64 * 13) % 7
}

/// One export line: `labels` (the inside of `metric`), points `from..to`.
fn vm_line(w: &mut Out, labels: &str, from: u64, to: u64, field: Option<Field>) -> Res<()> {
    vm_line_sep(w, labels, (from, to), field, ",")
}

/// [`vm_line`] with `ts_sep` between timestamps.
fn vm_line_sep(
    w: &mut Out,
    labels: &str,
    (from, to): (u64, u64),
    field: Option<Field>,
    ts_sep: &str,
) -> Res<()> {
    write!(w, r#"{{"metric":{{{labels}}},"values":["#)?;
    for i in from..to {
        let sep = if i == from { "" } else { "," };
        write!(w, "{sep}{}", value(field, i))?;
    }
    w.write_all(br#"],"timestamps":["#)?;
    for i in from..to {
        let sep = if i == from { "" } else { ts_sep };
        write!(w, "{sep}{}", ts_ms(i))?;
    }
    w.write_all(b"]}\n")?;
    Ok(())
}

fn create(path: &Path) -> Res<Out> {
    Ok(BufWriter::with_capacity(
        1 << 20,
        std::fs::File::create(path)?,
    ))
}

/// The year of one host; `distinct_ts` puts a space after the commas of
/// every other series' timestamps (same values, different bytes).
fn year(path: &Path, points: u64, distinct_ts: bool) -> Res<()> {
    let mut w = create(path)?;
    for (n, (name, field)) in memory_series().into_iter().enumerate() {
        let labels = format!(r#""__name__":"{name}","job":"node","instance":"db1:9100""#);
        let sep = if distinct_ts && n % 2 == 1 { ", " } else { "," };
        vm_line_sep(&mut w, &labels, (0, points), field, sep)?;
    }
    w.flush()?;
    Ok(())
}

/// splitmix64: the same file on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// 1..=max, log-uniform: as many lengths of 1-10 as of 1,000-10,000.
    fn log_uniform(&mut self, max: u64) -> u64 {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((max as f64).powf(u) as u64).clamp(1, max)
    }
}

/// Series that replay does not read: only their last timestamp counts.
const OTHER: [&str; 8] = [
    "node_cpu_seconds_total",
    "node_network_receive_bytes_total",
    "node_filesystem_avail_bytes",
    "node_disk_io_time_seconds_total",
    "node_load1",
    "container_memory_working_set_bytes",
    "node_netstat_Tcp_CurrEstab",
    "process_resident_memory_bytes",
];

/// The fleet (see the module docs): `hosts` hosts, `points` per series.
fn fleet(path: &Path, hosts: u64, points: u64) -> Res<()> {
    let mut w = create(path)?;
    let mut rng = Rng(14);
    for h in 0..hosts {
        let host = format!(r#""instance":"node{h:03}:9100","job":"node""#);
        let mut blocks = vec![(0, points)];
        if h % 4 != 0 {
            blocks.clear();
            let mut at = 0;
            while at < points {
                let len = rng.log_uniform(8192).min(points - at);
                blocks.push((at, at + len));
                at += len;
            }
        }
        for (name, field) in memory_series() {
            for &(from, to) in &blocks {
                vm_line(
                    &mut w,
                    &format!(r#""__name__":"{name}",{host}"#),
                    from,
                    to,
                    field,
                )?;
            }
        }
        for k in 0..1150u64 {
            let max = if k < 150 { points } else { 120 };
            let len = rng.log_uniform(max);
            let from = rng.next() % (points - len + 1);
            let name = OTHER[(k % 8) as usize];
            let labels = format!(r#""__name__":"{name}",{host},"id":"{k}""#);
            vm_line(&mut w, &labels, from, from + len, Some(Field::Pgmajfault))?;
        }
    }
    w.flush()?;
    Ok(())
}

/// A `query_range` response: `hosts` x 11 series x `points`, one line.
fn prom(path: &Path, hosts: u64, points: u64) -> Res<()> {
    let mut w = create(path)?;
    w.write_all(br#"{"status":"success","data":{"resultType":"matrix","result":["#)?;
    for h in 0..hosts {
        for (n, (name, field)) in memory_series().into_iter().enumerate() {
            let sep = if h == 0 && n == 0 { "" } else { "," };
            write!(
                w,
                r#"{sep}{{"metric":{{"__name__":"{name}","instance":"node{h:03}:9100","job":"node"}},"values":["#
            )?;
            for i in 0..points {
                let sep = if i == 0 { "" } else { "," };
                let t = (START_MS + i as i64 * STEP_MS) / 1000;
                write!(w, r#"{sep}[{t},"{}"]"#, value(field, i))?;
            }
            w.write_all(b"]}")?;
        }
    }
    w.write_all(b"]}}\n")?;
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

/// Times `load` on `path`, checking it yields `samples` samples in all.
fn report(what: &str, path: &Path, runs: usize, samples: u64) -> Res<()> {
    let size = std::fs::metadata(path)?.len() as f64;
    let (t, hosts) = time(path, runs)?;
    let got: usize = hosts.iter().map(|h| h.samples.len()).sum();
    if got as u64 != samples {
        return Err(format!("{what}: {got} samples, expected {samples}").into());
    }
    let s = t.as_secs_f64();
    println!(
        "{what:<28} {:>7.0} MB  {:>6.3} s  {:>7.0} MB/s  {:>5.2} M samples/s",
        size / 1e6,
        s,
        size / 1e6 / s,
        got as f64 / 1e6 / s
    );
    Ok(())
}

/// How many lines `path` has and their median length.
fn line_stats(path: &Path) -> Res<(usize, usize)> {
    let bytes = std::fs::read(path)?;
    let mut lens: Vec<usize> = bytes.split(|&b| b == b'\n').map(<[u8]>::len).collect();
    lens.pop();
    lens.sort_unstable();
    Ok((lens.len(), lens.get(lens.len() / 2).copied().unwrap_or(0)))
}

/// Generates `path` with `make` unless it is there (MEMCANARY_BENCH_DIR).
fn ensure(path: &Path, make: impl FnOnce(&Path) -> Res<()>) -> Res<()> {
    if !path.exists() {
        make(path)?;
    }
    Ok(())
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(default)
}

fn year_shapes(dir: &Path, run: &dyn Fn(&str) -> bool) -> Res<()> {
    if !["plain", "distinct", "gz"].iter().any(|v| run(v)) {
        return Ok(());
    }
    let days = env_u64("MEMCANARY_BENCH_DAYS", 365);
    let points = days * DAY_MS / STEP_MS as u64;
    println!("one host, {days} days at 15 s: {points} points x 11 series, one line each");
    let plain = dir.join(format!("year-{days}d.jsonl"));
    if run("plain") || run("gz") {
        ensure(&plain, |p| year(p, points, false))?;
    }
    if run("plain") {
        report("export JSON", &plain, 5, points)?;
    }
    if run("distinct") {
        let distinct = dir.join("year-distinct-ts.jsonl");
        year(&distinct, points, true)?;
        report("export JSON, distinct ts", &distinct, 3, points)?;
        std::fs::remove_file(&distinct)?;
    }
    if run("gz") {
        let gz = dir.join("year.jsonl.gz");
        gzip(&plain, &gz)?;
        report("export JSON .gz", &gz, 2, points)?;
    }
    Ok(())
}

fn fleet_shapes(dir: &Path, run: &dyn Fn(&str) -> bool) -> Res<()> {
    if run("fleet") {
        let (hosts, points) = (20, 7 * DAY_MS / STEP_MS as u64);
        let path = dir.join(format!("fleet-{hosts}h.jsonl"));
        ensure(&path, |p| fleet(p, hosts, points))?;
        let (lines, median) = line_stats(&path)?;
        println!("fleet: {hosts} hosts, a week at 15 s: {lines} lines, median {median} bytes");
        report("export JSON, fleet", &path, 3, hosts * points)?;
    }
    if run("prom") {
        let (hosts, points) = (50, 11_000);
        let path = dir.join(format!("query_range-{hosts}h.json"));
        ensure(&path, |p| prom(p, hosts, points))?;
        println!("query_range: {hosts} hosts x 11 series x {points} points, one line");
        report("query_range JSON", &path, 3, hosts * points)?;
    }
    Ok(())
}

fn main() -> Res<()> {
    let tmp = tempfile::tempdir()?;
    let dir: PathBuf =
        std::env::var_os("MEMCANARY_BENCH_DIR").map_or(tmp.path().to_path_buf(), Into::into);
    std::fs::create_dir_all(&dir)?;
    println!(
        "{} threads available",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let only = std::env::var("MEMCANARY_BENCH_ONLY").unwrap_or_default();
    let run = |v: &str| only.is_empty() || only == v;
    year_shapes(&dir, &run)?;
    fleet_shapes(&dir, &run)?;
    Ok(())
}
