//! Arbitrary bytes into `parse_prom_query_range`: it must never panic, and what it accepts
//! must satisfy the invariants in `check.rs`.
#![no_main]

mod check;

use libfuzzer_sys::fuzz_target;
use memcanary::source::recorded::parse_prom_query_range;

fuzz_target!(|data: &[u8]| {
    check::check(parse_prom_query_range(data, "fuzz"));
});
