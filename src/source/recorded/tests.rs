//! Readers against the recorded traces and against every kind of bad input.

use super::*;
use crate::signal::node_exporter::{self as ne, Field};
use crate::testing::{fixture, gzipped_copy};
use std::io::Read;
use std::path::PathBuf;

pub(crate) fn trace(rel: &str) -> PathBuf {
    fixture(&format!("traces/{rel}"))
}

fn vm_line(name: &str, instance: &str, vals: &str, ts: &str) -> String {
    format!(
        r#"{{"metric":{{"__name__":"{name}","instance":"{instance}","job":"node"}},"values":[{vals}],"timestamps":[{ts}]}}"#
    )
}

/// A host with the four required metrics at 1 s, 2 s, 3 s.
fn required_lines(instance: &str) -> Vec<String> {
    ne::REQUIRED
        .iter()
        .map(|m| vm_line(m, instance, "100,200,300", "1000,2000,3000"))
        .collect()
}

fn vm(lines: &[String]) -> Result<Vec<HostSeries>, RecordedError> {
    parse_vm_export(lines.join("\n").as_bytes(), "t.jsonl")
}

fn vm_err(lines: &[String]) -> String {
    vm(lines).unwrap_err().to_string()
}

#[test]
fn incident_15s_is_one_host_with_every_scraped_sample() {
    let hosts = load(&trace("incident/export-incident-15s.jsonl")).unwrap();
    assert_eq!(hosts.len(), 1);
    let h = &hosts[0];
    assert_eq!(h.instance, "127.0.0.1:19101");
    // 41 MemAvailable points, 2 of them staleness markers (counted by hand).
    assert_eq!(h.samples.len(), 39);
    assert!(h.samples.windows(2).all(|w| w[0].at_ms < w[1].at_ms));
    // `up` keeps being written through the blackout; its last timestamp:
    assert_eq!(h.end_ms, 1_795_821_444_727);
    assert_eq!(h.samples.last().unwrap().at_ms, 1_795_820_814_727);
    assert!(h.warnings.is_empty(), "{:?}", h.warnings);
}

#[test]
fn psi_seconds_are_converted_to_microseconds() {
    let hosts = load(&trace("incident/export-incident-15s.jsonl")).unwrap();
    let last = hosts[0].samples.last().unwrap();
    // node_pressure_memory_waiting_seconds_total = 47.379897 at that instant.
    assert_eq!(last.psi_some_total_us, Some(47_379_897));
    assert_eq!(last.psi_full_total_us, Some(34_809_215));
    assert_eq!(last.mem_total_bytes, 1_007_075_328);
    assert_eq!(last.swap_free_bytes, 0);
    assert_eq!(last.oom_kill, Some(1));
    assert_eq!(last.pgmajfault, Some(8990));
}

/// Counts the non-null MemAvailable values and the last timestamp of every
/// series with serde_json, independently of the fast reader.
fn reference_counts(path: &Path) -> (usize, i64) {
    let text = std::fs::read_to_string(path).unwrap();
    let (mut avail, mut end) = (0, i64::MIN);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let ts = v["timestamps"].as_array().unwrap();
        end = end.max(ts.last().unwrap().as_i64().unwrap());
        if v["metric"]["__name__"] == ne::MEM_AVAILABLE {
            avail = v["values"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|x| !x.is_null())
                .count();
        }
    }
    (avail, end)
}

#[test]
fn every_recorded_trace_parses_to_one_complete_host() {
    let mut n = 0;
    for dir in std::fs::read_dir(trace("")).unwrap() {
        let dir = dir.unwrap().path();
        for f in std::fs::read_dir(&dir).into_iter().flatten() {
            let f = f.unwrap().path();
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            if !(name.starts_with("export-") && name.ends_with(".jsonl")) {
                continue;
            }
            let hosts = load(&f).unwrap();
            let (avail, end) = reference_counts(&f);
            assert_eq!(hosts.len(), 1, "{name}");
            assert_eq!(hosts[0].samples.len(), avail, "{name}");
            assert_eq!(hosts[0].end_ms, end, "{name}");
            assert!(hosts[0]
                .samples
                .iter()
                .all(|s| s.psi_some_total_us.is_some()));
            n += 1;
        }
    }
    assert_eq!(n, 8);
}

#[test]
fn gzip_and_plain_give_identical_results() {
    let plain = trace("incident/export-incident-5s.jsonl");
    let dir = tempfile::tempdir().unwrap();
    let gz = gzipped_copy(&plain, dir.path(), "x.jsonl.gz");
    let (a, b) = (load(&plain).unwrap(), load(&gz).unwrap());
    assert_eq!(a, b);
    assert_eq!(a[0].samples.len(), 116);
}

#[test]
fn progress_reaches_the_file_size() {
    let path = trace("incident/export-incident-5s.jsonl");
    let mut last = None;
    load_with_progress(&path, &mut |p| last = Some(p)).unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    assert_eq!(
        last,
        Some(Progress {
            bytes_done: size,
            bytes_total: size
        })
    );
}

#[test]
fn downsampling_the_5s_trace_keeps_one_sample_per_bucket() {
    let h = &load(&trace("incident/export-incident-5s.jsonl")).unwrap()[0];
    let (d15, d30) = (h.downsample(15_000), h.downsample(30_000));
    // Distinct 15 s / 30 s buckets of the 116 sample times (counted by hand).
    assert_eq!((d15.samples.len(), d30.samples.len()), (41, 22));
    assert_eq!(d15.end_ms, h.end_ms);
    assert_eq!(d15.samples[0], h.samples[0]);
    for d in [&d15, &d30] {
        assert!(d
            .samples
            .windows(2)
            .all(|w| w[1].at_ms - w[0].at_ms >= 5_000));
    }
    assert!(d30
        .samples
        .windows(2)
        .all(|w| w[0].at_ms / 30_000 < w[1].at_ms / 30_000));
    assert_eq!(h.downsample(0), *h);
}

#[test]
fn staleness_markers_are_not_samples_but_advance_the_end() {
    let mut lines = required_lines("a");
    lines[1] = vm_line(
        ne::MEM_AVAILABLE,
        "a",
        "100,null,300,null",
        "1000,2000,3000,9000",
    );
    lines.push(vm_line("up", "a", "1,1,0", "1000,2000,12000"));
    let h = &vm(&lines).unwrap()[0];
    assert_eq!(
        h.samples.iter().map(|s| s.at_ms).collect::<Vec<_>>(),
        [1000, 3000]
    );
    assert_eq!(h.end_ms, 12000);
}

#[test]
fn missing_optional_metrics_are_warnings_naming_the_file() {
    let h = &vm(&required_lines("a")).unwrap()[0];
    assert_eq!(h.samples.len(), 3);
    assert_eq!(h.warnings.len(), 6);
    assert!(h.warnings[0].starts_with("t.jsonl: instance a has no node_pressure_memory_waiting"));
}

#[test]
fn counter_resets_are_kept_raw() {
    let mut lines = required_lines("a");
    lines.push(vm_line(ne::PGMAJFAULT, "a", "500,7,9", "1000,2000,3000"));
    let h = &vm(&lines).unwrap()[0];
    let v: Vec<_> = h.samples.iter().map(|s| s.pgmajfault).collect();
    assert_eq!(v, [Some(500), Some(7), Some(9)]);
}

#[test]
fn hosts_are_kept_apart_and_a_series_may_span_lines() {
    let mut lines = required_lines("b");
    lines.extend(required_lines("a"));
    lines.push(vm_line(ne::MEM_TOTAL, "a", "100", "4000"));
    lines.push(vm_line(ne::MEM_AVAILABLE, "a", "100", "4000"));
    lines.push(vm_line(ne::SWAP_TOTAL, "a", "100", "4000"));
    lines.push(vm_line(ne::SWAP_FREE, "a", "300,100", "3000,4000"));
    let hosts = vm(&lines).unwrap();
    let names: Vec<_> = hosts.iter().map(|h| h.instance.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(hosts[0].samples.len(), 4);
    assert_eq!(hosts[1].samples.len(), 3);
}

#[test]
fn malformed_json_names_line_and_column() {
    let mut lines = required_lines("a");
    lines.insert(
        1,
        r#"{"metric":{"__name__":"up"},"values":[1],"#.to_string(),
    );
    let e = vm_err(&lines);
    assert!(
        e.starts_with("t.jsonl: line 2 column 42: malformed input"),
        "{e}"
    );
}

#[test]
fn a_non_numeric_value_names_line_series_and_value() {
    let mut lines = required_lines("a");
    lines[2] = vm_line(ne::SWAP_TOTAL, "a", r#"1,"abc",3"#, "1000,2000,3000");
    let e = vm_err(&lines);
    assert!(e.starts_with("t.jsonl: line 3 column "), "{e}");
    assert!(e.contains(r#"node_memory_SwapTotal_bytes{instance="a",job="node"}: value "\"abc\"" is not a number"#), "{e}");
}

#[test]
fn nan_and_infinity_are_rejected() {
    for bad in ["NaN", "Infinity", "-Inf", "1e999"] {
        let mut lines = required_lines("a");
        lines[3] = vm_line(ne::SWAP_FREE, "a", &format!("1,2,{bad}"), "1000,2000,3000");
        let e = vm_err(&lines);
        assert!(e.starts_with("t.jsonl: line 4 column "), "{e}");
        assert!(e.contains("is not finite"), "{bad}: {e}");
    }
}

#[test]
fn negative_values_are_rejected() {
    let mut lines = required_lines("a");
    lines[0] = vm_line(ne::MEM_TOTAL, "a", "1,-2,3", "1000,2000,3000");
    let e = vm_err(&lines);
    assert!(
        e.starts_with("t.jsonl: line 1 column ") && e.ends_with("value -2 is negative"),
        "{e}"
    );
}

#[test]
fn values_and_timestamps_must_match_in_length() {
    let mut lines = required_lines("a");
    lines[1] = vm_line(ne::MEM_AVAILABLE, "a", "1,2", "1000,2000,3000");
    let e = vm_err(&lines);
    assert!(
        e.starts_with("t.jsonl: line 2: ") && e.ends_with("2 values but 3 timestamps"),
        "{e}"
    );
}

#[test]
fn out_of_order_timestamps_name_line_and_both_times() {
    let mut lines = required_lines("a");
    lines[3] = vm_line(ne::SWAP_FREE, "a", "1,2,3", "1000,3000,2000");
    let e = vm_err(&lines);
    assert!(e.starts_with("t.jsonl: line 4 column "), "{e}");
    assert!(
        e.ends_with("timestamp 2000 comes after 3000: timestamps out of order"),
        "{e}"
    );
}

#[test]
fn duplicate_timestamps_equal_are_dropped_different_are_errors() {
    let mut lines = required_lines("a");
    lines[3] = vm_line(ne::SWAP_FREE, "a", "1,2,2,3", "1000,2000,2000,3000");
    assert_eq!(vm(&lines).unwrap()[0].samples.len(), 3);
    lines[3] = vm_line(ne::SWAP_FREE, "a", "1,2,5,3", "1000,2000,2000,3000");
    let e = vm_err(&lines);
    assert!(e.starts_with("t.jsonl: line 4: "), "{e}");
    assert!(
        e.contains("timestamp 2000 appears twice with different values: 2 (line 4) and 5"),
        "{e}"
    );
}

#[test]
fn a_file_without_memory_metrics_says_so() {
    let lines = vec![
        vm_line("up", "a", "1", "1000"),
        vm_line("node_load1", "a", "1", "1000"),
    ];
    assert_eq!(vm_err(&lines), "no node_memory_* series found in t.jsonl");
}

#[test]
fn a_missing_required_metric_names_instance_and_metric() {
    let mut lines = required_lines("10.0.0.1:9100");
    lines.pop();
    assert_eq!(
        vm_err(&lines),
        "t.jsonl: instance 10.0.0.1:9100 has memory series but no node_memory_SwapFree_bytes (required)"
    );
}

#[test]
fn empty_files_are_an_error() {
    for text in ["", "\n  \n"] {
        let e = parse_vm_export(text.as_bytes(), "e.jsonl").unwrap_err();
        assert_eq!(e.to_string(), "e.jsonl: file is empty");
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("empty.jsonl");
    std::fs::write(&p, "").unwrap();
    assert!(matches!(load(&p), Err(RecordedError::Empty { .. })));
}

#[test]
fn the_earliest_bad_line_is_reported() {
    let mut lines = required_lines("a");
    for _ in 0..50 {
        lines.push("garbage".into());
    }
    lines.insert(2, "{".into());
    let e = vm_err(&lines);
    assert!(e.starts_with("t.jsonl: line 3 column 2: "), "{e}");
}

/// Lines are handed to the workers in batches of ~1 MiB: the earliest bad
/// line still wins when the bad lines are in different batches.
#[test]
fn the_earliest_bad_line_is_reported_across_batches() {
    let mut lines = required_lines("a");
    let other = vm_line(
        "node_load1",
        "a",
        "1,".repeat(40).trim_end_matches(','),
        "5000",
    );
    lines.extend(std::iter::repeat_n(other, 40_000)); // ~6 MB
    lines[30_000] = "{".into();
    lines[20_000] = "[".into();
    let e = vm_err(&lines);
    assert!(e.starts_with("t.jsonl: line 20001 column 1: "), "{e}");
}

/// Regression (issue 14): no cap on line length. A line over the cap is an
/// error naming the file and the line, and an endless one stops there.
#[test]
fn an_export_line_over_the_cap_names_file_and_line() {
    let mut lines = required_lines("a");
    lines.insert(2, vm_line("node_load1", "a", &"1,".repeat(999), "5000"));
    let text = lines.join("\n");
    let e = vm_export::parse_vm_export_with(text.as_bytes(), "t.jsonl", 1000, &mut || {});
    let e = e.unwrap_err().to_string();
    assert!(
        e.starts_with("t.jsonl: line 3: line longer than 1000 bytes"),
        "{e}"
    );
    let endless = std::io::BufReader::new((&b"{\"metric\":"[..]).chain(std::io::repeat(b' ')));
    let e = vm_export::parse_vm_export_with(endless, "zero", 20 << 20, &mut || {});
    let e = e.unwrap_err().to_string();
    assert!(
        e.starts_with("zero: line 1: line longer than 20971520 bytes"),
        "{e}"
    );
}

/// Regression (issue 14): `/dev/zero` (no line break and not whitespace,
/// so read as CSV) grew to gigabytes; now its first row is too long.
#[test]
fn dev_zero_is_a_too_long_row_not_a_growing_buffer() {
    let e = load(Path::new("/dev/zero")).unwrap_err().to_string();
    let want = format!("/dev/zero: line 1: line longer than {MAX_CSV_ROW_BYTES} bytes");
    assert!(e.starts_with(&want), "{e}");
}

#[test]
fn unrelated_series_are_not_validated_but_count_for_the_end() {
    let mut lines = required_lines("a");
    lines.push(vm_line("node_load1", "a", "-1,abc", "5000,7000"));
    let h = &vm(&lines).unwrap()[0];
    assert_eq!(h.end_ms, 7000);
}

#[test]
fn field_table_covers_every_sample_field() {
    let mut lines = required_lines("a");
    for f in Field::ALL.into_iter().filter(|f| !f.required()) {
        lines.push(vm_line(f.metric(), "a", "1,2,3", "1000,2000,3000"));
    }
    let h = &vm(&lines).unwrap()[0];
    assert!(h.warnings.is_empty());
    let s = h.samples[1];
    assert_eq!(
        (
            s.psi_some_total_us,
            s.psi_full_total_us,
            s.pgmajfault,
            s.pswpin,
            s.pswpout,
            s.oom_kill
        ),
        (
            Some(2_000_000),
            Some(2_000_000),
            Some(2),
            Some(2),
            Some(2),
            Some(2)
        )
    );
}

#[test]
fn the_three_formats_of_one_recording_give_the_same_samples() {
    let export = load(&trace("incident/export-incident-15s.jsonl")).unwrap();
    let prom = load(&fixture("recorded/query_range-incident-15s.json")).unwrap();
    let csv = load(&fixture("recorded/incident-15s.csv")).unwrap();
    assert_eq!(export[0].samples.len(), 39);
    assert_eq!(prom[0].samples, export[0].samples);
    assert_eq!(csv[0].samples, export[0].samples);
    assert_eq!(prom[0].instance, export[0].instance);
    assert_eq!(csv[0].instance, export[0].instance);
    // `up` in the query_range result carries the blackout's end too.
    assert_eq!(prom[0].end_ms, export[0].end_ms);
}

#[test]
fn formats_are_told_apart_by_content() {
    assert_eq!(sniff(b"  {\"metric\":{}}"), Some(Format::VmExport));
    assert_eq!(
        sniff(b"{ \"status\":\"success\"}"),
        Some(Format::PromQueryRange)
    );
    assert_eq!(sniff(b"timestamp,instance\n"), Some(Format::Csv));
    assert_eq!(sniff(b" \n\t"), None);
}

mod roundtrip {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> impl Strategy<Value = (i64, Sample)> {
        let opt = || proptest::option::of(0u64..1 << 50);
        (
            1i64..100_000,
            (0u64..1 << 50, 0u64..1 << 50, 0u64..1 << 50, 0u64..1 << 50),
            (opt(), opt(), opt(), opt(), opt(), opt()),
        )
            .prop_map(|(gap, (mt, ma, st, sf), (ps, pf, mj, si, so, oo))| {
                let s = Sample {
                    at_ms: 0,
                    mem_total_bytes: mt,
                    mem_available_bytes: ma,
                    swap_total_bytes: st,
                    swap_free_bytes: sf,
                    psi_some_total_us: ps,
                    psi_full_total_us: pf,
                    pgmajfault: mj,
                    pswpin: si,
                    pswpout: so,
                    oom_kill: oo,
                };
                (gap, s)
            })
    }

    /// Export JSON as VictoriaMetrics writes it (PSI in seconds).
    fn export(samples: &[Sample]) -> String {
        let ts: Vec<String> = samples.iter().map(|s| s.at_ms.to_string()).collect();
        let mut out = String::new();
        for f in Field::ALL {
            let vals: Vec<String> = (samples.iter())
                .map(|s| match f.of(s) {
                    None => "null".into(),
                    Some(v) if f.scale() != 1.0 => (v as f64 / f.scale()).to_string(),
                    Some(v) => v.to_string(),
                })
                .collect();
            out += &vm_line(f.metric(), "h", &vals.join(","), &ts.join(","));
            out.push('\n');
        }
        out
    }

    proptest! {
        #[test]
        fn well_formed_samples_parse_back_identically(points in prop::collection::vec(sample(), 1..40), start in 0i64..2_000_000_000_000) {
            let mut t = start;
            let samples: Vec<Sample> = points.into_iter().map(|(gap, s)| { t += gap; Sample { at_ms: t, ..s } }).collect();
            let hosts = parse_vm_export(export(&samples).as_bytes(), "p.jsonl").unwrap();
            prop_assert_eq!(hosts.len(), 1);
            prop_assert_eq!(&hosts[0].samples, &samples);
            prop_assert_eq!(hosts[0].end_ms, t);
        }
    }
}
