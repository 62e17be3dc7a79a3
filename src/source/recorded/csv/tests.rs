use super::*;
use crate::signal::node_exporter as ne;

const HEAD: &str =
    "timestamp,instance,mem_total_bytes,mem_available_bytes,swap_total_bytes,swap_free_bytes";

fn csv(text: &str) -> Result<Vec<HostSeries>, RecordedError> {
    parse_csv(text.as_bytes(), "dir/m.csv")
}

fn err(text: &str) -> String {
    csv(text).unwrap_err().to_string()
}

#[test]
fn the_lab_ground_truth_is_read_in_bytes_and_microseconds() {
    let path = super::super::tests::trace("incident/gt.csv");
    let hosts = super::super::load(&path).unwrap();
    assert_eq!(hosts.len(), 1);
    let h = &hosts[0];
    assert_eq!(h.instance, "gt");
    assert_eq!(h.samples.len(), 1208);
    // First data row: 1795820214.746,...,983472,938404,873240,...,65532,65532,...
    let s = h.samples[0];
    assert_eq!(s.at_ms, 1_795_820_214_746);
    assert_eq!(s.mem_total_bytes, 983_472 * 1024);
    assert_eq!(s.mem_available_bytes, 873_240 * 1024);
    assert_eq!(
        (s.swap_total_bytes, s.swap_free_bytes),
        (65_532 * 1024, 65_532 * 1024)
    );
    assert_eq!((s.pgmajfault, s.psi_some_total_us), (Some(31), Some(0)));
    assert!(h
        .samples
        .iter()
        .any(|s| s.psi_some_total_us > Some(1_000_000)));
    assert!(h.warnings.is_empty(), "{:?}", h.warnings);
}

#[test]
fn timestamps_in_seconds_milliseconds_and_rfc3339_agree() {
    let text = format!(
        "{HEAD}\n1700000000.5,a,10,5,4,2\n1700000001500,a,10,5,4,2\n2023-11-14T22:13:22.5Z,a,10,5,4,2\n"
    );
    let h = &csv(&text).unwrap()[0];
    let t: Vec<_> = h.samples.iter().map(|s| s.at_ms).collect();
    assert_eq!(t, [1_700_000_000_500, 1_700_000_001_500, 1_700_000_002_500]);
}

#[test]
fn metric_columns_use_metric_units_and_field_columns_field_units() {
    let text = format!(
        "timestamp,{},{},{},{},{},psi_full_total_us,extra\n1,10,5,4,2,1.5,250,x\n",
        ne::MEM_TOTAL,
        ne::MEM_AVAILABLE,
        ne::SWAP_TOTAL,
        ne::SWAP_FREE,
        ne::PSI_SOME
    );
    let h = &csv(&text).unwrap()[0];
    assert_eq!(h.instance, "m");
    let s = h.samples[0];
    assert_eq!(
        (s.psi_some_total_us, s.psi_full_total_us),
        (Some(1_500_000), Some(250))
    );
    assert!(
        h.warnings
            .iter()
            .any(|w| w == "dir/m.csv: columns ignored: extra"),
        "{:?}",
        h.warnings
    );
    assert!(h
        .warnings
        .iter()
        .any(|w| w.contains("no node_vmstat_oom_kill series")));
}

#[test]
fn empty_cells_are_missing_values_and_quotes_are_allowed() {
    let text = format!("{HEAD}\n1,\"a,b\",10,5,4,2\n2,\"a,b\",10,,4,2\n3,\"a,b\",10,5,4,2\n");
    let h = &csv(&text).unwrap()[0];
    assert_eq!(h.instance, "a,b");
    assert_eq!(h.samples.len(), 2);
    assert_eq!(h.end_ms, 3000);
}

#[test]
fn a_byte_order_mark_before_the_header_is_ignored() {
    let text = format!("\u{feff}{HEAD}\n1,a,10,5,4,2\n");
    assert_eq!(csv(&text).unwrap()[0].samples.len(), 1);
}

#[test]
fn rows_of_several_hosts_may_interleave() {
    let text = format!("{HEAD}\n1,a,10,5,4,2\n1,b,10,5,4,2\n2,a,10,5,4,2\n");
    let hosts = csv(&text).unwrap();
    assert_eq!(
        hosts.iter().map(|h| h.samples.len()).collect::<Vec<_>>(),
        [2, 1]
    );
}

#[test]
fn bad_cells_name_line_and_column() {
    let cases = [
        (
            "3,a,10,abc,4,2",
            "line 3: column \"mem_available_bytes\": value \"abc\" is not a number",
        ),
        (
            "3,a,10,NaN,4,2",
            "line 3: column \"mem_available_bytes\": value \"NaN\" is not finite (NaN or infinite)",
        ),
        (
            "3,a,10,5,inf,2",
            "line 3: column \"swap_total_bytes\": value \"inf\" is not finite (NaN or infinite)",
        ),
        (
            "3,a,10,5,4,-2",
            "line 3: column \"swap_free_bytes\": value -2 is negative",
        ),
        ("3,a,10,5,4", "line 3: malformed input? "),
        (
            "yesterday,a,10,5,4,2",
            "line 3: timestamp \"yesterday\" is not a valid time",
        ),
        (
            "1,\"a,10,5,4,2",
            "line 3: malformed input: unterminated quoted cell",
        ),
    ];
    for (row, want) in cases {
        let e = err(&format!("{HEAD}\n2,a,10,5,4,2\n{row}\n"));
        let want = want.replace("malformed input? ", "5 cells, but the header has 6");
        assert_eq!(e, format!("dir/m.csv: {want}"), "{row}");
    }
}

#[test]
fn out_of_order_rows_name_the_line_and_both_times() {
    let e = err(&format!(
        "{HEAD}\n2,a,10,5,4,2\n1,b,10,5,4,2\n1,a,10,5,4,2\n"
    ));
    assert_eq!(
        e,
        "dir/m.csv: line 4: instance a: timestamp 1000 comes after 2000: timestamps out of order"
    );
}

#[test]
fn duplicate_rows_equal_are_dropped_different_are_errors() {
    let h = &csv(&format!(
        "{HEAD}\n1,a,10,5,4,2\n1,a,10,5,4,2\n2,a,10,5,4,2\n"
    ))
    .unwrap()[0];
    assert_eq!(h.samples.len(), 2);
    let e = err(&format!("{HEAD}\n1,a,10,5,4,2\n\n1,a,10,6,4,2\n"));
    assert_eq!(
        e,
        "dir/m.csv: line 4: instance a: timestamp 1000 appears twice with different values: 5 (line 2) and 6"
    );
}

#[test]
fn header_problems_are_errors() {
    assert_eq!(
        err("instance,mem_total_bytes\na,1\n"),
        "dir/m.csv: line 1: no \"timestamp\" column in the header"
    );
    assert_eq!(
        err("timestamp,cpu\n1,2\n"),
        "no node_memory_* series found in dir/m.csv"
    );
    assert_eq!(
        err("timestamp,mem_total_bytes,node_memory_MemTotal_bytes\n"),
        "dir/m.csv: line 1: column \"node_memory_MemTotal_bytes\" appears twice (or names a field twice)"
    );
    assert_eq!(
        err("timestamp,mem_total_bytes,mem_available_bytes,swap_total_bytes\n1,1,1,1\n"),
        "dir/m.csv: instance m has memory series but no node_memory_SwapFree_bytes (required)"
    );
    assert_eq!(err(""), "dir/m.csv: file is empty");
    assert_eq!(err("# only a comment\n\n"), "dir/m.csv: file is empty");
    assert!(err(&format!("{HEAD}\n")).contains("a header but no data rows"));
}

/// Regression (issue 14): rows were read with no cap on their length.
#[test]
fn a_row_over_the_cap_names_file_and_line() {
    let long = format!("{HEAD}\n1,a,1,1,1,1\n2,a,1,1,1,{}\n", "1".repeat(200));
    let e = parse_csv_with(long.as_bytes(), "m.csv", 100).unwrap_err();
    let e = e.to_string();
    assert!(
        e.starts_with("m.csv: line 3: line longer than 100 bytes"),
        "{e}"
    );
    let endless = std::io::BufReader::new(std::io::repeat(b'x'));
    let e = parse_csv(endless, "zero").unwrap_err().to_string();
    assert!(e.starts_with("zero: line 1: line longer than"), "{e}");
}
