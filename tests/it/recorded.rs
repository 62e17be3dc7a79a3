//! The recorded-series readers through the public API, on files: every
//! trace and format the project ships, and every kind of bad file.

use crate::common::fixture;
use memcanary::source::recorded::{load, HostSeries, RecordedError};
use std::path::Path;

fn one_host(path: &Path) -> HostSeries {
    let mut hosts = load(path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(hosts.len(), 1, "{}", path.display());
    hosts.remove(0)
}

#[test]
fn every_trace_loads_in_every_shipped_format() {
    for run in ["incident", "fast-spike", "benign-high", "cache-heavy"] {
        let dir = fixture("traces").join(run);
        let s5 = one_host(&dir.join(format!("export-{run}-5s.jsonl")));
        let s15 = one_host(&dir.join(format!("export-{run}-15s.jsonl")));
        let gt = one_host(&dir.join("gt.csv"));
        assert_eq!(
            (s5.instance.as_str(), gt.instance.as_str()),
            (s15.instance.as_str(), "gt")
        );
        // The 1 s ground truth has ~3x the 5 s samples, which have ~3x the 15 s ones.
        assert!(gt.samples.len() > 2 * s5.samples.len(), "{run}");
        assert!(s5.samples.len() > 2 * s15.samples.len(), "{run}");
        for h in [&s5, &s15, &gt] {
            assert!(
                h.samples.windows(2).all(|w| w[0].at_ms < w[1].at_ms),
                "{run}"
            );
            assert!(h.end_ms >= h.samples.last().unwrap().at_ms, "{run}");
            assert!(
                h.samples.iter().all(|s| s.mem_total_bytes > 900 << 20),
                "{run}"
            );
        }
        // A 30 s scraper of the 5 s recording sees one sample per 30 s bucket
        // (a partial bucket at each end).
        let d = s5.downsample(30_000);
        let span_s = (s5.samples.last().unwrap().at_ms - s5.samples[0].at_ms) / 1000;
        assert!(d.samples.len() as i64 <= span_s / 30 + 2, "{run}");
    }
}

#[test]
fn the_incident_blackout_is_visible_as_end_after_the_last_sample() {
    let h = one_host(&fixture("traces/incident/export-incident-5s.jsonl"));
    let last = h.samples.last().unwrap().at_ms;
    // Memory series stop at T+612 s; `up` keeps being written until power-off.
    assert!(h.end_ms - last > 500_000, "{} - {last}", h.end_ms);
}

fn error_of(name: &str) -> (String, RecordedError) {
    let path = fixture("recorded/bad").join(name);
    let e = load(&path).expect_err(name);
    (e.to_string(), e)
}

#[test]
fn bad_files_are_errors_that_name_file_and_line() {
    let cases = [
        ("non-numeric.jsonl", 3, "node_memory_MemAvailable_bytes{instance=\"127.0.0.1:19101\",job=\"incident-15s\"}: value \"\\\"abc\\\"\" is not a number"),
        ("negative.jsonl", 5, "value -4096 is negative"),
        ("out-of-order.jsonl", 5, "comes after 1795820259727: timestamps out of order"),
        ("length-mismatch.jsonl", 2, "4 values but 3 timestamps"),
        ("truncated.jsonl", 3, "malformed input"),
        ("nan.csv", 3, "column \"mem_available_bytes\": value \"NaN\" is not finite"),
        ("duplicate.csv", 3, "appears twice with different values: 874844160 (line 2) and 874844161"),
    ];
    for (name, line, want) in cases {
        let (msg, e) = error_of(name);
        assert!(
            msg.contains(&format!("{name}: line {line}")),
            "{name}: {msg}"
        );
        assert!(msg.contains(want), "{name}: {msg}");
        assert_eq!(e.line(), Some(line), "{name}");
    }
}

#[test]
fn whole_file_problems_name_the_file() {
    let (msg, _) = error_of("missing-swapfree.jsonl");
    assert!(msg.ends_with("missing-swapfree.jsonl: instance 127.0.0.1:19101 has memory series but no node_memory_SwapFree_bytes (required)"), "{msg}");
    let (msg, _) = error_of("no-memory.jsonl");
    assert!(
        msg.starts_with("no node_memory_* series found in ") && msg.ends_with("no-memory.jsonl"),
        "{msg}"
    );
    let (msg, _) = error_of("empty.jsonl");
    assert!(msg.ends_with("empty.jsonl: file is empty"), "{msg}");
    let (msg, _) = error_of("server-error.json");
    assert!(msg.ends_with("the query failed on the server: bad_data: invalid parameter \"query\": 1:6: parse error: unexpected end of input"), "{msg}");
    let (msg, e) = error_of("does-not-exist.jsonl");
    assert!(
        matches!(e, RecordedError::Io { .. }) && msg.contains("does-not-exist.jsonl"),
        "{msg}"
    );
}
